package alta

import (
	"context"
	"encoding/json"
	"errors"
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

// tokenSource holds the login token. One login or refresh runs at a time;
// callers arriving meanwhile wait for its result instead of starting their
// own.
type tokenSource struct {
	p *Provider

	mu        sync.Mutex
	token     string
	refreshAt time.Time // when the token should be refreshed
	expiresAt time.Time // when it stops working (on our clock)
	scheme    TokenScheme
	confirmed bool     // a request with scheme was accepted
	past      []string // the last tokens replaced, still redacted
	inflight  *tokenCall
}

type tokenCall struct {
	done  chan struct{}
	token string
	err   *acs.Error // without Op; each caller copies it with its own
}

// get returns a valid token and the scheme to send it with, logging in or
// refreshing as needed.
func (ts *tokenSource) get(ctx context.Context, op string) (string, TokenScheme, error) {
	for {
		if err := ctx.Err(); err != nil {
			return "", 0, acs.Wrap(op, Name, acs.Canceled, err)
		}
		ts.mu.Lock()
		now := ts.p.now()
		if ts.token != "" && now.Before(ts.refreshAt) {
			tok, sch := ts.token, ts.currentScheme()
			ts.mu.Unlock()
			return tok, sch, nil
		}
		if c := ts.inflight; c != nil {
			ts.mu.Unlock()
			select {
			case <-c.done:
			case <-ctx.Done():
				return "", 0, acs.Wrap(op, Name, acs.Canceled, ctx.Err())
			}
			if c.err == nil {
				return c.token, ts.schemeNow(), nil
			}
			if c.err.Code == acs.Canceled {
				continue // the leader's context ended, not ours: try again
			}
			e := *c.err
			e.Op = op
			return "", 0, &e
		}
		c := &tokenCall{done: make(chan struct{})}
		ts.inflight = c
		old, sch := "", ts.currentScheme()
		if ts.token != "" && now.Before(ts.expiresAt) {
			old = ts.token // still valid: refresh rather than log in
		}
		ts.mu.Unlock()

		t, err := ts.fetch(ctx, old, sch)

		ts.mu.Lock()
		if err == nil {
			if ts.token != "" {
				ts.past = append(ts.past, ts.token)
				ts.past = ts.past[max(0, len(ts.past)-8):]
			}
			ts.token, ts.refreshAt, ts.expiresAt = t.token, t.refreshAt, t.expiresAt
			c.token = t.token
		} else {
			c.err = err
		}
		ts.inflight = nil
		close(c.done)
		sch = ts.currentScheme()
		ts.mu.Unlock()
		if err != nil {
			e := *err
			e.Op = op
			return "", 0, &e
		}
		return t.token, sch, nil
	}
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
// logs in again. Tokens other than the current one are ignored: a newer
// token has already replaced them.
func (ts *tokenSource) invalidate(tok string) {
	ts.mu.Lock()
	if ts.token == tok {
		ts.refreshAt, ts.expiresAt = time.Time{}, time.Time{}
	}
	ts.mu.Unlock()
}

// secrets returns the current token and the last ones replaced, for
// redaction (a request sent with an older token may fail after a refresh).
func (ts *tokenSource) secrets() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string{ts.token}, ts.past...)
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
		return issued{}, p.tokenRefusal(path, resp)
	}
	var env struct {
		Data *tokenJSON `json:"data"`
		tokenJSON
	}
	if err := json.Unmarshal(resp.Body, &env); err != nil {
		return issued{}, &acs.Error{Provider: Name, Code: acs.Unauthenticated, Message: "the login answer is not JSON"}
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
