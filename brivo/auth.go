package brivo

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// tokens are the account's OAuth tokens: the access token every call
// sends, the refresh token that renews it, and when to renew it.
type tokens struct {
	access, refresh string
	refreshAt       time.Time
}

// tokenSource holds the OAuth tokens. One fetch runs at a time; callers
// arriving meanwhile wait for its result instead of starting their own.
type tokenSource struct {
	p      *Provider
	shared acshttp.SharedLogin[tokens]
}

func newTokenSource(p *Provider) *tokenSource {
	ts := &tokenSource{p: p}
	ts.shared.Usable = func(t tokens) bool { return t.access != "" && p.now().Before(t.refreshAt) }
	return ts
}

// get returns a valid access token, logging in or refreshing as needed.
func (ts *tokenSource) get(ctx context.Context, op string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", acs.Wrap(op, Name, acs.Canceled, err)
	}
	t, err := ts.shared.Get(ctx, ts.renew)
	if err == nil {
		return t.access, nil
	}
	var ae *acs.Error
	if !errors.As(err, &ae) { // ctx ended while another caller fetched
		return "", acs.Wrap(op, Name, acs.Canceled, err)
	}
	e := *ae // shared with the other callers: each names its own op
	e.Op = op
	return "", &e
}

// renew is the fetch of ts.shared: a refresh with the held refresh token,
// else a login.
func (ts *tokenSource) renew(ctx context.Context, prev tokens) (tokens, error) {
	tok, err := ts.fetch(ctx, prev.refresh)
	if err != nil {
		return tokens{}, err
	}
	return tokens{access: tok.AccessToken, refresh: tok.RefreshToken, refreshAt: tok.refreshAt}, nil
}

// invalidate marks access as no longer usable (the API answered 401), so the
// next get refreshes it. Tokens other than the current one are ignored: a
// newer token has already replaced them.
func (ts *tokenSource) invalidate(access string) {
	ts.shared.Expire(func(t tokens) bool { return t.access == access })
}

// secrets returns the current tokens, for redaction.
func (ts *tokenSource) secrets() (string, string) {
	t, _ := ts.shared.Held()
	return t.access, t.refresh
}

type tokenResponse struct {
	AccessToken  string      `json:"access_token"`
	TokenType    string      `json:"token_type"`
	RefreshToken string      `json:"refresh_token"`
	ExpiresIn    json.Number `json:"expires_in"`
	Scope        string      `json:"scope"`
	JTI          string      `json:"jti"`
	refreshAt    time.Time
}

// fetch refreshes with refresh when it is set and falls back to a full
// login when the refresh is refused.
func (ts *tokenSource) fetch(ctx context.Context, refresh string) (tokenResponse, *acs.Error) {
	if refresh != "" {
		tok, err := ts.grant(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
		if err == nil {
			return tok, nil
		}
		if err.Code != acs.Unauthenticated && err.Code != acs.InvalidArgument {
			return tokenResponse{}, err
		}
		ts.p.log.LogAttrs(ctx, slog.LevelInfo, "brivo: refresh token refused, logging in again",
			slog.String("provider", Name), slog.String("reason", err.Error()))
	}
	return ts.grant(ctx, url.Values{"grant_type": {"password"}, "username": {ts.p.cfg.Username}, "password": {ts.p.cfg.Password}})
}

// grant performs one token request.
func (ts *tokenSource) grant(ctx context.Context, form url.Values) (tokenResponse, *acs.Error) {
	p := ts.p
	kind := form.Get("grant_type")
	resp, err := p.auth.Do(ctx, acshttp.Request{
		Op:     "token",
		Method: http.MethodPost,
		Path:   "/oauth/token",
		Header: http.Header{
			"Authorization": {p.basic},
			"Api-Key":       {p.cfg.APIKey},
			"Content-Type":  {"application/x-www-form-urlencoded"},
			"Accept":        {"application/json"},
		},
		Body: []byte(form.Encode()),
		// A token request changes nothing worth protecting: safe to resend.
		Idempotent: true,
	})
	if err != nil {
		var ae *acs.Error
		errors.As(acshttp.TransportFailure("", Name, err), &ae)
		if ae.Code == acs.Unavailable {
			ae.Message = "no answer from the Brivo auth server"
		}
		return tokenResponse{}, ae
	}
	if resp.Status < 200 || resp.Status > 299 {
		ae, ve := p.responseError("", resp)
		if resp.Status != http.StatusForbidden && ae.Code != acs.RateLimited {
			// The gateway's own answers (throttling, an inactive key)
			// stand; anything else not from an OAuth server is the URL.
			if what := notOAuth(resp, ve); what != "" {
				return tokenResponse{}, p.authURLWrong(ae, what)
			}
		}
		if resp.Status == http.StatusUnauthorized || resp.Status == http.StatusBadRequest {
			ae.Code = acs.Unauthenticated
			switch {
			case kind == "refresh_token":
				ae.Message = "the refresh token was refused"
			case ve.OAuthError == "invalid_grant":
				ae.Message = "the Brivo admin ID or password was refused"
			case ve.OAuthError == "unauthorized":
				// Never "missing": every token request carries them.
				ae.Message = "the client ID or secret was refused (or a proxy removed the Authorization header)"
			case ve.OAuthError == "Unauthorized":
				ae.Message = "the client ID or secret was refused"
			default:
				ae.Message = "the token request was refused"
			}
		}
		return tokenResponse{}, ae
	}
	var tok tokenResponse
	if err := json.Unmarshal(resp.Body, &tok); err != nil || tok.AccessToken == "" {
		if what := tokenAnswerNotOAuth(resp.Body); what != "" {
			return tokenResponse{}, p.authURLWrong(&acs.Error{Provider: Name}, what)
		}
		return tokenResponse{}, &acs.Error{Provider: Name, Code: acs.Unauthenticated,
			Message: "the auth server answered without an access token"}
	}
	if tok.TokenType != "" && !strings.EqualFold(tok.TokenType, "bearer") {
		return tokenResponse{}, &acs.Error{Provider: Name, Code: acs.Unauthenticated,
			Message: "the auth server issued a token of type " + p.redact(tok.TokenType) + ", not bearer"}
	}
	lifetime := 60 * time.Second
	if n, err := tok.ExpiresIn.Float64(); err == nil && n > 0 {
		lifetime = time.Duration(n * float64(time.Second))
	}
	// Refresh a little early: a fifth of the lifetime, at most 30 s.
	margin := min(lifetime/5, 30*time.Second)
	tok.refreshAt = p.now().Add(lifetime - margin)
	if tok.RefreshToken == "" && kind == "refresh_token" {
		tok.RefreshToken = form.Get("refresh_token") // not rotated
	}
	p.log.LogAttrs(ctx, slog.LevelDebug, "brivo: token obtained",
		slog.String("provider", Name), slog.String("grant", kind), slog.Duration("lifetime", lifetime))
	return tok, nil
}
