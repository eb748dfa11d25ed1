package verkada

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// tokenSource holds the API token. Verkada tokens live 30 minutes and
// cannot be refreshed (§2.1): a new one is obtained by exchanging the API
// key again. One exchange runs at a time; callers arriving meanwhile wait
// for its result instead of starting their own.
type tokenSource struct {
	p      *Provider
	shared acshttp.SharedLogin[token]
}

// token is an API token and when it is replaced, before it runs out.
type token struct {
	value    string
	useUntil time.Time
}

func newTokenSource(p *Provider) *tokenSource {
	ts := &tokenSource{p: p}
	ts.shared.Usable = func(t token) bool { return t.value != "" && p.now().Before(t.useUntil) }
	return ts
}

// get returns a token that is still young enough, exchanging the API key
// when there is none.
func (ts *tokenSource) get(ctx context.Context, op string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", acs.Wrap(op, Name, acs.Canceled, err)
	}
	t, err := ts.shared.Get(ctx, ts.renew)
	var ae *acs.Error
	switch {
	case err == nil:
		return t.value, nil
	case !errors.As(err, &ae): // ctx ended while another caller fetched
		return "", acs.Wrap(op, Name, acs.Canceled, err)
	}
	e := *ae // shared with the other callers: each names its own op
	e.Op = op
	return "", &e
}

// renew is the fetch of ts.shared: an exchange of the API key (the
// previous token cannot be refreshed).
func (ts *tokenSource) renew(ctx context.Context, _ token) (token, error) {
	tok, err := ts.exchange(ctx)
	if err != nil {
		return token{}, err
	}
	return token{value: tok, useUntil: ts.p.now().Add(ts.p.tokenMaxAge)}, nil
}

// invalidate drops tok after the API refused it (401), so that the next
// get exchanges the key again. A token other than the current one is
// ignored: a newer token has already replaced it.
func (ts *tokenSource) invalidate(tok string) {
	ts.shared.Expire(func(t token) bool { return t.value == tok })
}

// current returns the token held, for redaction.
func (ts *tokenSource) current() string {
	t, _ := ts.shared.Held()
	return t.value
}

// notVerkada says that the base URL leads to something other than
// Verkada's API.
const notVerkada = "the base URL does not point at the Verkada API: it has no token exchange (POST /token); the base URL is the regional API host without a path, such as " +
	USBaseURL + " or " + EUBaseURL

// exchange performs POST /token with the API key in x-api-key and reads
// {"token":"…"}.
func (ts *tokenSource) exchange(ctx context.Context) (string, *acs.Error) {
	p := ts.p
	h := http.Header{"X-Api-Key": {p.cfg.APIKey}, "Accept": {"application/json"}}
	// An exchange changes nothing worth protecting: safe to resend.
	resp, err := p.roundTrip(ctx, "token", request{method: http.MethodPost, path: "/token", idempotent: true}, nil, h)
	if err != nil {
		ae := asError(err)
		if ae.Code == acs.Unavailable {
			ae.Message = "no answer from Verkada's token exchange"
		}
		return "", ae
	}
	if !ok2xx(resp) {
		ae, _ := p.responseError("", resp)
		switch resp.Status {
		case http.StatusUnauthorized, http.StatusBadRequest:
			ae.Code, ae.Message = acs.Unauthenticated, "the API key was refused (missing, invalid, revoked, or of another region)"
		case http.StatusForbidden:
			ae.Message = "the API key may not obtain a token"
		case http.StatusNotFound, http.StatusMethodNotAllowed:
			// Verkada's API always has its token exchange: whatever
			// answered is not that API.
			ae.Code, ae.Message = acs.Misconfigured, notVerkada
		}
		return "", ae
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(resp.Body, &tok); err != nil {
		return "", &acs.Error{Provider: Name, Code: acs.Misconfigured, Message: notVerkada + " (the answer to POST /token is not JSON)"}
	}
	if tok.Token == "" {
		return "", &acs.Error{Provider: Name, Code: acs.Unauthenticated, Message: "the token exchange answered without a token"}
	}
	p.log.LogAttrs(ctx, slog.LevelDebug, "verkada: token obtained",
		slog.String("provider", Name), slog.Duration("use_for", p.tokenMaxAge))
	return tok.Token, nil
}

// asError returns the *acs.Error in err's chain (copied, without Op), or
// wraps err as Unknown.
func asError(err error) *acs.Error {
	var ae *acs.Error
	if errors.As(err, &ae) {
		c := *ae
		c.Op = ""
		return &c
	}
	return &acs.Error{Provider: Name, Code: acs.CodeOf(err), Err: err}
}
