package origo

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// token is an access token and when it is replaced, before it runs out.
type token struct {
	value    string
	useUntil time.Time
}

// accessToken returns a token that is still young enough, requesting one
// when there is none. Concurrent callers share one request.
func (i *Issuer) accessToken(ctx context.Context, op string) (string, error) {
	t, err := i.tokens.Get(ctx, i.fetchToken)
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

// expireToken drops tok after Origo refused it (401), so that the next
// accessToken requests a new one; a newer token is kept.
func (i *Issuer) expireToken(tok string) {
	i.tokens.Expire(func(t token) bool { return t.value == tok })
}

// currentToken returns the token held, for redaction.
func (i *Issuer) currentToken() string {
	t, _ := i.tokens.Held()
	return t.value
}

// fetchToken performs the client-credentials grant (§4.2):
// POST {auth}/authentication/customer/{org}/token with a form body, read
// {"access_token","expires_in"}. The token is used until tokenMargin
// before it expires.
func (i *Issuer) fetchToken(ctx context.Context, _ token) (token, error) {
	form := url.Values{"client_id": {i.cfg.ClientID}, "client_secret": {i.cfg.ClientSecret},
		"grant_type": {"client_credentials"}}
	r := request{method: http.MethodPost, path: "/authentication/customer/" + i.cfg.OrganizationID + "/token",
		form: form, idempotent: true, auth: true}
	resp, err := i.roundTrip(ctx, "token", r)
	if err != nil {
		ae := asError(err)
		if ae.Code == acs.Unavailable {
			ae.Message = "no answer from Origo's token endpoint"
		}
		return token{}, ae
	}
	if !ok2xx(resp.Status) {
		ae := i.responseError("", resp)
		switch resp.Status {
		case http.StatusBadRequest, http.StatusUnauthorized:
			ae.Code, ae.Message = acs.Unauthenticated, "the client credentials were refused (client ID, secret or organization)"
		}
		return token{}, ae
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(resp.Body, &tok); err != nil || tok.AccessToken == "" {
		return token{}, &acs.Error{Provider: Name, Code: acs.Unauthenticated, Message: "the token endpoint answered without an access token"}
	}
	life := time.Duration(tok.ExpiresIn) * time.Second
	if life <= 0 || life > 24*time.Hour {
		life = TokenLifetime
	}
	use := life - tokenMargin
	if use < life/2 {
		use = life / 2
	}
	i.log.LogAttrs(ctx, slog.LevelDebug, "origo: token obtained", slog.String("provider", Name), slog.Duration("use_for", use))
	return token{value: tok.AccessToken, useUntil: i.now().Add(use)}, nil
}

// asError returns the *acs.Error in err's chain (copied, without Op), or
// wraps err with its code.
func asError(err error) *acs.Error {
	var ae *acs.Error
	if errors.As(err, &ae) {
		c := *ae
		c.Op = ""
		return &c
	}
	return &acs.Error{Provider: Name, Code: acs.CodeOf(err), Err: err}
}
