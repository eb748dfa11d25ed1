package alta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// Auth endpoints (§1.1).
const (
	loginPath   = "/auth/login"
	refreshPath = "/auth/accessTokens/refresh"
)

// defaultTokenLifetime is assumed when the login answer has no readable
// expiresAt: the token is used until a 401 says otherwise.
const defaultTokenLifetime = time.Hour

// tokenSource holds the login token, shared by concurrent callers: one
// login or refresh runs at a time, and callers arriving meanwhile wait
// for its result instead of starting their own. It also holds the token
// scheme while it is probed.
type tokenSource struct {
	p      *Provider
	shared acshttp.SharedLogin[issued]

	mu        sync.Mutex
	scheme    TokenScheme
	confirmed bool     // a request with scheme was accepted
	past      []string // the last tokens replaced, still redacted
}

func newTokenSource(p *Provider, scheme TokenScheme) *tokenSource {
	ts := &tokenSource{p: p, scheme: scheme}
	ts.shared.Usable = func(t issued) bool { return t.token != "" && p.now().Before(t.refreshAt) }
	return ts
}

// get returns a valid token and the scheme to send it with, logging in or
// refreshing as needed.
func (ts *tokenSource) get(ctx context.Context, op string) (string, TokenScheme, error) {
	if err := ctx.Err(); err != nil {
		return "", 0, acs.Wrap(op, Name, acs.Canceled, err)
	}
	t, err := ts.shared.Get(ctx, ts.renew)
	var ae *acs.Error
	switch {
	case err == nil:
		return t.token, ts.schemeNow(), nil
	case !errors.As(err, &ae): // ctx ended while another caller fetched
		return "", 0, acs.Wrap(op, Name, acs.Canceled, err)
	}
	e := *ae // shared with the other callers: each names its own op
	e.Op = op
	return "", 0, &e
}

// renew is the fetch of ts.shared: a refresh of prev while it is live
// and has not run out, else a login.
func (ts *tokenSource) renew(ctx context.Context, prev issued) (issued, error) {
	old := ""
	if _, live := ts.shared.Held(); live && prev.token != "" && ts.p.now().Before(prev.expiresAt) {
		old = prev.token // still valid: refresh rather than log in
	}
	t, err := ts.fetch(ctx, old, ts.schemeNow())
	if err != nil {
		return issued{}, err
	}
	if prev.token != "" {
		ts.mu.Lock()
		ts.past = append(ts.past, prev.token)
		ts.past = ts.past[max(0, len(ts.past)-8):]
		ts.mu.Unlock()
	}
	return t, nil
}

// currentScheme is the scheme to try first; ts.mu is held.
func (ts *tokenSource) currentScheme() TokenScheme {
	if ts.scheme == SchemeProbe {
		return SchemeBearer
	}
	return ts.scheme
}

func (ts *tokenSource) schemeNow() TokenScheme {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.currentScheme()
}

// retryScheme returns the scheme to try again with the same token after
// a 401 to a request sent with tried: the other scheme while the scheme is
// being probed, or the confirmed one when another caller confirmed a
// different scheme meanwhile.
func (ts *tokenSource) retryScheme(tried TokenScheme) (TokenScheme, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	switch {
	case ts.confirmed:
		return ts.scheme, ts.scheme != tried
	case ts.scheme != SchemeProbe:
		return 0, false // fixed by WithTokenScheme
	case tried == SchemeBearer:
		return SchemeBare, true
	}
	return SchemeBearer, true
}

// confirm records that a request sent with scheme was accepted.
func (ts *tokenSource) confirm(s TokenScheme) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.confirmed && ts.scheme == s {
		return
	}
	if !ts.confirmed {
		ts.p.log.LogAttrs(context.Background(), slog.LevelDebug, "alta: token scheme confirmed",
			slog.String("provider", Name), slog.String("scheme", schemeName(s)))
	}
	ts.scheme, ts.confirmed = s, true
}

func schemeName(s TokenScheme) string {
	if s == SchemeBare {
		return "bare"
	}
	return "bearer"
}

// invalidate marks tok as refused (the API answered 401), so the next get
// logs in again (a refused token is not refreshed). Tokens other than the
// current one are ignored: a newer token has already replaced them.
func (ts *tokenSource) invalidate(tok string) {
	ts.shared.Expire(func(t issued) bool { return t.token == tok })
}

// secrets returns the current token and the last ones replaced, for
// redaction (a request sent with an older token may fail after a refresh).
func (ts *tokenSource) secrets() []string {
	t, _ := ts.shared.Held()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string{t.token}, ts.past...)
}

// authHeader renders the Authorization value of a token.
func authHeader(tok string, s TokenScheme) string {
	if s == SchemeBare {
		return tok
	}
	return "Bearer " + tok
}

// issued is a token with the times computed on our clock.
type issued struct {
	token                string
	refreshAt, expiresAt time.Time
}

// tokenJSON is the data of the login and refresh answers (§1.1).
type tokenJSON struct {
	Token     string `json:"token"`
	CreatedAt string `json:"createdAt"`
	ExpiresAt string `json:"expiresAt"`
}

// fetch refreshes old when it is set and falls back to a full login when
// the refresh is refused.
func (ts *tokenSource) fetch(ctx context.Context, old string, s TokenScheme) (issued, *acs.Error) {
	if old != "" {
		t, err := ts.request(ctx, refreshPath, nil, authHeader(old, s))
		if err == nil {
			return t, nil
		}
		if err.Code != acs.Unauthenticated && err.Code != acs.InvalidArgument && err.Code != acs.NotFound && err.Code != acs.PermissionDenied {
			return issued{}, err
		}
		ts.p.log.LogAttrs(ctx, slog.LevelInfo, "alta: token refresh refused, logging in again",
			slog.String("provider", Name), slog.String("reason", err.Error()))
	}
	body, _ := json.Marshal(map[string]string{"email": ts.p.cfg.Username, "password": ts.p.cfg.Password})
	return ts.request(ctx, loginPath, body, "")
}

// request performs one login or refresh.
func (ts *tokenSource) request(ctx context.Context, path string, body []byte, auth string) (issued, *acs.Error) {
	p := ts.p
	h := http.Header{"Accept": {"application/json"}}
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	if auth != "" {
		h.Set("Authorization", auth)
	}
	// A login changes nothing worth protecting: safe to resend. A refresh
	// invalidates the old token, so it is not resent; a lost answer falls
	// back to a login.
	resp, err := p.api.Do(ctx, acshttp.Request{Op: "token", Method: http.MethodPost, Path: path, Header: h, Body: body,
		Idempotent: path == loginPath})
	if err != nil {
		var ae *acs.Error
		errors.As(acshttp.TransportFailure("", Name, err), &ae)
		if ae.Code == acs.Unavailable {
			ae.Message = "no answer from the Alta login"
		}
		return issued{}, ae
	}
	if !ok2xx(resp) {
		if path == loginPath && (resp.Status == http.StatusNotFound || resp.Status == http.StatusMethodNotAllowed) {
			if ae := p.noAPI(ctx); ae != nil {
				return issued{}, ae
			}
		}
		return issued{}, p.tokenRefusal(path, resp)
	}
	var env struct {
		Data *tokenJSON `json:"data"`
		tokenJSON
	}
	if err := json.Unmarshal(resp.Body, &env); err != nil {
		// Alta's API answers JSON: a web page means another server.
		return issued{}, &acs.Error{Provider: Name, Code: acs.Misconfigured,
			Message: "the base URL does not point at the Alta API: its answer to " + path + " is not JSON; the base URL is the API's host without a path, such as " + DefaultBaseURL}
	}
	t := env.tokenJSON
	if env.Data != nil {
		t = *env.Data
	}
	if t.Token == "" || strings.ContainsFunc(t.Token, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return issued{}, &acs.Error{Provider: Name, Code: acs.Unauthenticated, Message: "the login answered without a usable token"}
	}
	return ts.times(ctx, path, t), nil
}

// times computes when a token is refreshed: its lifetime is expiresAt −
// createdAt when both are given (both on Alta's clock, so clock skew does
// not matter), else expiresAt − now, else defaultTokenLifetime.
func (ts *tokenSource) times(ctx context.Context, path string, t tokenJSON) issued {
	now := ts.p.now()
	life := defaultTokenLifetime
	exp, okExp := parseWireTime(t.ExpiresAt)
	created, okCreated := parseWireTime(t.CreatedAt)
	switch {
	case okExp && okCreated && exp.After(created):
		life = exp.Sub(created)
	case okExp && exp.After(now):
		life = exp.Sub(now)
	}
	life = max(life, 10*time.Second)
	margin := min(life/5, time.Minute)
	ts.p.log.LogAttrs(ctx, slog.LevelDebug, "alta: token obtained", slog.String("provider", Name),
		slog.String("via", path), slog.Duration("lifetime", life))
	return issued{token: t.Token, refreshAt: now.Add(life - margin), expiresAt: now.Add(life)}
}

// noAPI settles a login answered 404 or 405, which Alta may send for an
// unknown e-mail address, and a server that is not Alta's API sends for
// any path: it asks for the organisation's users without a token, which
// Alta's API refuses (401 or 403) and any other server does not know
// either. It returns the Misconfigured error of a base URL where Alta's
// API does not answer, the error of a probe that got no usable answer,
// and nil when the API is there (the 404 was about the credentials).
func (p *Provider) noAPI(ctx context.Context) *acs.Error {
	resp, err := p.api.Do(ctx, acshttp.Request{Op: "token", Method: http.MethodGet, Path: p.org("/users"),
		Header: http.Header{"Accept": {"application/json"}}, Idempotent: true})
	var ae *acs.Error
	switch {
	case err != nil:
		errors.As(acshttp.TransportFailure("", Name, err), &ae)
		return ae
	case resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden:
		return nil
	case resp.Status != http.StatusNotFound && resp.Status != http.StatusMethodNotAllowed:
		ae, _ = p.responseError("", resp)
		return ae
	}
	ae, _ = p.responseError("", resp)
	ae.Code = acs.Misconfigured
	ae.Message = fmt.Sprintf("the base URL does not point at the Alta API: neither %s nor %s exists there; the base URL is the API's host without a path, such as %s",
		loginPath, p.orgPrefix+"/users", DefaultBaseURL)
	return ae
}

// tokenRefusal classifies a refused login or refresh.
func (p *Provider) tokenRefusal(path string, resp *acshttp.Response) *acs.Error {
	ae, _ := p.responseError("", resp)
	switch resp.Status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusUnprocessableEntity, http.StatusNotFound:
		if ae.Code == acs.RateLimited {
			break
		}
		ae.Code = acs.Unauthenticated
		ae.Message = "the login e-mail or password was refused (an account with MFA cannot log in through the API)"
		if path == refreshPath {
			ae.Message = "the token refresh was refused"
		}
	}
	return ae
}
