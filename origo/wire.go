package origo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// APIError is an error answer from Origo, the cause of the *acs.Error
// returned (reach it with errors.As). It holds no secret.
type APIError struct {
	Status int // HTTP status
	// ScimType is the SCIM error's scimType ("invalidFilter", …), when
	// given.
	ScimType string
	// Detail is the SCIM error's detail (or message, or the body's text),
	// redacted and at most 300 bytes.
	Detail string
}

// Error formats as "HTTP 400 (invalidFilter): detail".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("HTTP ")
	b.WriteString(strconv.Itoa(e.Status))
	if e.ScimType != "" {
		b.WriteString(" (" + e.ScimType + ")")
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	return b.String()
}

// request is one API call.
type request struct {
	method string
	path   string // below the host, already escaped
	body   any    // JSON-encoded (as ContentType) when non-nil
	form   url.Values
	// idempotent requests are resent after a transport failure or a 5xx.
	idempotent bool
	// auth sends to the authentication host without a bearer token.
	auth bool
}

// apiPath returns the path of a Mobile Identities resource.
func (i *Issuer) apiPath(parts ...string) string {
	p := "/credential-management/customer/" + i.cfg.OrganizationID
	for _, s := range parts {
		p += "/" + url.PathEscape(s)
	}
	return p
}

// call sends an API request with the current token and returns the final
// answer whatever its status, or an *acs.Error when there was none. On a
// 401 it requests a new token, once, and resends: the refused request
// changed nothing.
func (i *Issuer) call(ctx context.Context, op string, r request) (*acshttp.Response, error) {
	tok, err := i.accessToken(ctx, op)
	if err != nil {
		return nil, err
	}
	resp, err := i.roundTripWith(ctx, op, r, tok)
	if err != nil || resp.Status != http.StatusUnauthorized {
		return resp, err
	}
	i.expireToken(tok)
	if tok, err = i.accessToken(ctx, op); err != nil {
		return nil, err
	}
	return i.roundTripWith(ctx, op, r, tok)
}

// roundTrip sends a request without a token (the token endpoint).
func (i *Issuer) roundTrip(ctx context.Context, op string, r request) (*acshttp.Response, error) {
	return i.roundTripWith(ctx, op, r, "")
}

// roundTripWith sends one request through the rate-limit window and, when
// it is idempotent, resends it after a transport failure or a transient
// 5xx. It returns the last answer whatever its status.
func (i *Issuer) roundTripWith(ctx context.Context, op string, r request, tok string) (*acshttp.Response, error) {
	body, h, err := i.encode(op, r, tok)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		resp, err := i.send(ctx, op, r, body, h)
		var wait time.Duration
		switch {
		case err != nil && (!r.idempotent || !noAnswer(err)):
			return nil, err
		case err != nil:
			wait = i.backoff(attempt)
		case r.idempotent && transient(resp.Status):
			wait = i.backoff(attempt)
			if d, ok := acshttp.RetryAfter(resp.Header, i.now()); ok {
				wait = d
			}
		default:
			i.noteAnswer(resp.Status)
			return resp, nil
		}
		if attempt >= i.retryMax || wait > i.retryWaitMax {
			return resp, err
		}
		if serr := i.sleep(ctx, wait); serr != nil {
			return nil, acs.Wrap(op, Name, acs.Canceled, serr)
		}
	}
}

// encode builds the body and headers of r.
func (i *Issuer) encode(op string, r request, tok string) ([]byte, http.Header, error) {
	h := http.Header{"Application-Id": {i.cfg.ApplicationID}, "Application-Version": {i.cfg.ApplicationVersion}}
	var body []byte
	switch {
	case r.form != nil:
		body = []byte(r.form.Encode())
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		h.Set("Accept", "application/json")
	case r.body != nil:
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, nil, acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
		body = b
		h.Set("Content-Type", ContentType)
	}
	if !r.auth {
		h.Set("Accept", ContentType)
		h.Set("Authorization", "Bearer "+tok)
	}
	return body, h, nil
}

func transient(status int) bool {
	switch status {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// noAnswer reports whether err means the request got no answer at all
// (the change may or may not have been made).
func noAnswer(err error) bool {
	var te *acshttp.TransportError
	return errors.As(err, &te) && acs.CodeOf(err) == acs.Unavailable
}

// backoff is the wait before retry number attempt+1.
func (i *Issuer) backoff(attempt int) time.Duration {
	b := acshttp.Backoff{Min: i.retryWaitMin, Max: i.retryWaitMax}
	return b.Delay(attempt)
}

// send makes one attempt, once the rate-limit window allows it.
func (i *Issuer) send(ctx context.Context, op string, r request, body []byte, h http.Header) (*acshttp.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, acs.Wrap(op, Name, acs.Canceled, err)
	}
	if i.window != nil {
		if err := i.window.Wait(ctx); err != nil {
			var pe *acshttp.PaceError
			if errors.As(err, &pe) {
				return nil, &acs.Error{Op: op, Provider: Name, Code: acs.RateLimited, RetryAfter: pe.Wait, Err: pe}
			}
			return nil, acs.Wrap(op, Name, acs.Canceled, err)
		}
	}
	client := i.api
	if r.auth {
		client = i.authAPI
	}
	resp, err := client.Do(ctx, acshttp.Request{Op: op, Method: r.method, Path: r.path, Header: h, Body: body, Idempotent: r.idempotent})
	if err != nil {
		return nil, acshttp.TransportFailure(op, Name, err)
	}
	return resp, nil
}

func ok2xx(status int) bool { return status >= 200 && status <= 299 }

// ---- errors ----

// forbidState tells Origo's two kinds of 403 apart. The notes say HID
// answers 403, not 429, when an organisation is over its rate limit (§4.4
// [L]); a 403 is also a refused permission. Nothing documented tells them
// apart, so a 403 counts as the rate limit (retryable) until 403s have
// lasted longer than a whole rate window with no other answer in between,
// which the rate limit cannot do: then it is a refused permission.
type forbidState struct {
	mu    sync.Mutex
	since time.Time // first 403 since the last other answer; zero when none
}

// noteAnswer records an answer that is not a 403 (the 403 streak ends).
func (i *Issuer) noteAnswer(status int) {
	if status == http.StatusForbidden {
		return
	}
	i.forbid.mu.Lock()
	i.forbid.since = time.Time{}
	i.forbid.mu.Unlock()
}

// forbiddenPause is how long every request waits after a 403 that may be
// the rate limit, unless the answer says how long.
const forbiddenPause = time.Minute

// classify403 classifies a 403 (see forbidState).
func (i *Issuer) classify403(ae *acs.Error, resp *acshttp.Response) {
	now := i.now()
	i.forbid.mu.Lock()
	if i.forbid.since.IsZero() {
		i.forbid.since = now
	}
	streak := now.Sub(i.forbid.since)
	i.forbid.mu.Unlock()
	if streak > RateWindow {
		ae.Code = acs.PermissionDenied
		ae.Message = fmt.Sprintf("Origo has answered 403 for %s, longer than its %s rate window: the system account lacks a permission for this (or the application ID is not certified)", streak.Round(time.Second), RateWindow)
		return
	}
	wait, ok := acshttp.RetryAfter(resp.Header, now)
	if !ok {
		wait = forbiddenPause
	}
	if i.window != nil {
		i.window.Pause(now.Add(wait))
	}
	ae.Code, ae.RetryAfter = acs.RateLimited, wait
	ae.Message = "Origo answered 403: over its limit of 50 requests in 5 minutes per organisation, or a refused permission (reported as such if it lasts beyond the rate window)"
}

// responseError classifies a non-2xx answer.
func (i *Issuer) responseError(op string, resp *acshttp.Response) *acs.Error {
	ae := &acs.Error{Op: op, Provider: Name, Code: acshttp.CodeForStatus(resp.Status), Err: i.apiError(resp)}
	switch {
	case resp.Status == http.StatusForbidden:
		i.classify403(ae, resp)
	case resp.Status == http.StatusUnauthorized:
		ae.Message = "the access token was refused"
	case resp.Status == http.StatusTooManyRequests:
		ae.Message = "over Origo's rate limit"
	case resp.Status == http.StatusUnsupportedMediaType:
		ae.Code, ae.Message = acs.Unsupported, "Origo refused the content type "+ContentType
	case ae.Code == acs.Unknown:
		ae.Message = "unexpected answer"
	}
	if d, ok := acshttp.RetryAfter(resp.Header, i.now()); ok && ae.RetryAfter == 0 {
		ae.RetryAfter = d
	}
	return ae
}

// apiError reads a SCIM error body ({"status","scimType","detail"}, or
// "message"), or takes the body's text when it is not JSON.
func (i *Issuer) apiError(resp *acshttp.Response) *APIError {
	e := &APIError{Status: resp.Status}
	var j struct {
		ScimType string `json:"scimType"`
		Detail   string `json:"detail"`
		Message  string `json:"message"`
		Error    string `json:"error"`
	}
	body := bytes.TrimSpace(resp.Body)
	switch {
	case len(body) > 0 && body[0] == '{' && json.Unmarshal(body, &j) == nil:
		e.ScimType = i.clean(j.ScimType)
		e.Detail = i.clean(cmpOr(cmpOr(j.Detail, j.Message), j.Error))
	case len(body) > 0 && body[0] != '<' && utf8.Valid(body):
		e.Detail = i.clean(string(body))
	}
	return e
}

// redact removes the client secret and the current token from s.
func (i *Issuer) redact(s string) string {
	s = i.api.Redact(s)
	if t := i.currentToken(); len(t) >= 4 {
		s = strings.ReplaceAll(s, t, "[REDACTED]")
	}
	return s
}

// clean makes vendor text safe for an error: secrets redacted, control
// characters replaced, at most 300 bytes.
func (i *Issuer) clean(s string) string {
	s = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, i.redact(s)))
	if len(s) > 300 {
		cut := 300
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// decode unmarshals a 2xx body.
func (i *Issuer) decode(op string, resp *acshttp.Response, v any) error {
	if err := json.Unmarshal(resp.Body, v); err != nil {
		return &acs.Error{Op: op, Provider: Name, Code: acs.Unknown,
			Message: fmt.Sprintf("unreadable answer (HTTP %d)", resp.Status), Err: errors.New(i.clean(err.Error()))}
	}
	return nil
}

// ---- JSON shapes (§4.3) ----

// flexID accepts a JSON string or number (Origo's IDs are numbers in some
// clients' models and strings in others) and null.
type flexID string

// UnmarshalJSON reads a string, a number (as its text) or null ("").
func (f *flexID) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexID(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*f = flexID(n.String())
	}
	return nil
}

// Schema URNs of the v2.2 API.
const (
	schemaUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	schemaSearch     = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	schemaUserAction = "urn:hid:scim:api:ma:2.2:UserAction"
)

type nameJSON struct {
	FamilyName string `json:"familyName,omitempty"`
	GivenName  string `json:"givenName,omitempty"`
}

type emailJSON struct {
	Value string `json:"value"`
}

type invitationJSON struct {
	ID             flexID `json:"id"`
	InvitationCode string `json:"invitationCode"`
	Status         string `json:"status"`
	CreatedDate    string `json:"createdDate"`
	ExpirationDate string `json:"expirationDate"`
}

type credentialJSON struct {
	ID         flexID `json:"id"`
	PartNumber string `json:"partNumber"`
	CardNumber flexID `json:"cardNumber"`
	Status     string `json:"status"`
}

type containerJSON struct {
	ID          flexID           `json:"id"`
	Status      string           `json:"status"`
	Credentials []credentialJSON `json:"urn:hid:scim:api:ma:2.2:Credential"`
}

// userJSON is a SCIM user as answered by GET …/users/{id} (with its
// invitations and credential containers) or in search results.
type userJSON struct {
	ID          flexID           `json:"id"`
	ExternalID  string           `json:"externalId"`
	Invitations []invitationJSON `json:"urn:hid:scim:api:ma:2.2:UserInvitation"`
	Containers  []containerJSON  `json:"urn:hid:scim:api:ma:2.2:CredentialContainer"`
}

// invitationAnswerJSON is the answer to POST …/users/{id}/invitation: one
// section ending "Invitation", one ending "Credential" (§4.3).
type invitationAnswerJSON struct {
	Invitations []invitationJSON `json:"urn:hid:scim:api:ma:2.2:UserInvitation"`
	Credentials []credentialJSON `json:"urn:hid:scim:api:ma:2.2:Credential"`
}
