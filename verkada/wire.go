package verkada

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
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// APIError is an error answer from Verkada, the cause of the *acs.Error
// returned (reach it with errors.As). It holds no secret.
type APIError struct {
	Status int // HTTP status
	// ID is the "id" field of Verkada's error body, such as "0e2d" (token
	// expired); empty when absent.
	ID string
	// Message is the "message" field (or the body's text), redacted and at
	// most 300 bytes.
	Message string
}

// Error formats as "HTTP 401 (0e2d): Token expired".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("HTTP ")
	b.WriteString(strconv.Itoa(e.Status))
	if e.ID != "" {
		b.WriteString(" (")
		b.WriteString(e.ID)
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// redact removes the API key and the current token from s.
func (p *Provider) redact(s string) string {
	if p.tokens == nil {
		return p.api.Redact(s)
	}
	return p.api.Redact(s, p.tokens.current())
}

// clean makes vendor text safe for an error: secrets redacted, control
// characters replaced, at most 300 bytes.
func (p *Provider) clean(s string) string {
	s = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, p.redact(s)))
	if len(s) > 300 {
		cut := 300
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// vendorError reads Verkada's error body {"id","message","data"}, or takes
// the body's text when it is not JSON.
func (p *Provider) vendorError(resp *acshttp.Response) *APIError {
	ve := &APIError{Status: resp.Status}
	var j struct {
		ID      flexString `json:"id"`
		Message string     `json:"message"`
		Detail  string     `json:"detail"`
	}
	body := bytes.TrimSpace(resp.Body)
	switch {
	case len(body) > 0 && body[0] == '{' && json.Unmarshal(body, &j) == nil:
		ve.ID, ve.Message = p.clean(string(j.ID)), p.clean(j.Message)
		if ve.Message == "" {
			ve.Message = p.clean(j.Detail)
		}
	case len(body) > 0 && body[0] != '<' && utf8.Valid(body):
		ve.Message = p.clean(string(body))
	}
	return ve
}

// responseError classifies a non-2xx answer.
func (p *Provider) responseError(op string, resp *acshttp.Response) (*acs.Error, *APIError) {
	ve := p.vendorError(resp)
	ae := &acs.Error{Op: op, Provider: Name, Code: acshttp.CodeForStatus(resp.Status), Err: ve}
	switch {
	case resp.Status == http.StatusUnauthorized:
		ae.Message = "the API token was refused"
	case resp.Status == http.StatusForbidden:
		ae.Message = "the API key lacks a permission this needs (keys are scoped per product: Core and Access read/write)"
	case resp.Status == http.StatusTooManyRequests:
		ae.Message = "over Verkada's rate limit (300 requests a minute per organisation)"
	case ae.Code == acs.Unknown:
		ae.Message = "unexpected answer"
	}
	if d, ok := acshttp.RetryAfter(resp.Header, p.now()); ok {
		ae.RetryAfter = d
	}
	return ae, ve
}

// statusError is responseError for callers that only need the error.
func (p *Provider) statusError(op string, resp *acshttp.Response) error {
	ae, _ := p.responseError(op, resp)
	return ae
}

func ok2xx(resp *acshttp.Response) bool { return resp.Status >= 200 && resp.Status <= 299 }

// noAnswer reports whether err means the request got no answer at all
// (the change may or may not have been made).
func noAnswer(err error) bool {
	var te *acshttp.TransportError
	return errors.As(err, &te) && acs.CodeOf(err) == acs.Unavailable
}

// request is one API call.
type request struct {
	method     string
	path       string
	query      url.Values
	body       any // JSON-encoded when non-nil
	idempotent bool
}

// call sends an API request with the current token and returns the final
// answer whatever its status, or an *acs.Error when there was none. On a
// 401 (an expired or revoked token; Verkada tokens cannot be refreshed) it
// exchanges the API key again, once, and resends: the refused request
// changed nothing.
func (p *Provider) call(ctx context.Context, op string, r request) (*acshttp.Response, error) {
	var body []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
		body = b
	}
	tok, err := p.tokens.get(ctx, op)
	if err != nil {
		return nil, err
	}
	resp, err := p.roundTrip(ctx, op, r, body, p.apiHeader(tok, body != nil))
	if err != nil || resp.Status != http.StatusUnauthorized {
		return resp, err
	}
	p.tokens.invalidate(tok)
	if tok, err = p.tokens.get(ctx, op); err != nil {
		return nil, err
	}
	return p.roundTrip(ctx, op, r, body, p.apiHeader(tok, body != nil))
}

func (p *Provider) apiHeader(tok string, hasBody bool) http.Header {
	h := http.Header{"X-Verkada-Auth": {tok}, "Accept": {"application/json"}}
	if hasBody {
		h.Set("Content-Type", "application/json")
	}
	return h
}

// roundTrip sends one request through the rate-limit window, resending it
// after a 429 (Verkada refused it before doing anything), and, when it is
// idempotent, after a transport failure or a transient 5xx. It returns the
// last answer whatever its status.
func (p *Provider) roundTrip(ctx context.Context, op string, r request, body []byte, h http.Header) (*acshttp.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := p.send(ctx, op, r, body, h)
		var wait time.Duration
		switch {
		case err != nil && (!r.idempotent || !noAnswer(err)):
			return nil, err
		case err != nil:
			wait = p.backoff(attempt)
		case resp.Status == http.StatusTooManyRequests:
			d, ok := acshttp.RetryAfter(resp.Header, p.now())
			if !ok {
				d = max(p.backoff(attempt), time.Second)
			}
			if p.limiter != nil {
				p.limiter.Pause(p.now().Add(d))
			}
			if d > p.retryWaitMax {
				return resp, nil
			}
			wait = d
		case r.idempotent && transient(resp.Status):
			wait = p.backoff(attempt)
			if d, ok := acshttp.RetryAfter(resp.Header, p.now()); ok {
				wait = d
			}
		default:
			return resp, nil
		}
		if attempt >= p.retryMax || wait > p.retryWaitMax {
			return resp, err
		}
		if serr := p.sleep(ctx, wait); serr != nil {
			return nil, acs.Wrap(op, Name, acs.Canceled, serr)
		}
	}
}

func transient(status int) bool {
	switch status {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// backoff is the wait before retry number attempt+1: from retryWaitMin,
// doubling up to retryWaitMax, less a random part of up to a quarter.
func (p *Provider) backoff(attempt int) time.Duration {
	b := acshttp.Backoff{Min: p.retryWaitMin, Max: p.retryWaitMax}
	return b.Delay(attempt)
}

// send makes one attempt, after the rate-limit window allows it.
func (p *Provider) send(ctx context.Context, op string, r request, body []byte, h http.Header) (*acshttp.Response, error) {
	if p.limiter != nil {
		if err := p.limiter.Wait(ctx); err != nil {
			var pe *acshttp.PaceError
			if errors.As(err, &pe) {
				return nil, &acs.Error{Op: op, Provider: Name, Code: acs.RateLimited, RetryAfter: pe.Wait, Err: pe}
			}
			return nil, acs.Wrap(op, Name, acs.Canceled, err)
		}
	}
	resp, err := p.api.Do(ctx, acshttp.Request{
		Op: op, Method: r.method, Path: r.path, Query: r.query, Header: h, Body: body, Idempotent: r.idempotent,
	})
	if err != nil {
		return nil, acshttp.TransportFailure(op, Name, err)
	}
	return resp, nil
}

// decode unmarshals a 2xx body.
func (p *Provider) decode(op string, resp *acshttp.Response, v any) error {
	if err := json.Unmarshal(resp.Body, v); err != nil {
		return &acs.Error{Op: op, Provider: Name, Code: acs.Unknown,
			Message: fmt.Sprintf("unreadable answer (HTTP %d)", resp.Status), Err: errors.New(p.clean(err.Error()))}
	}
	return nil
}

// maxPages bounds a listing against a server that never stops paging.
const maxPages = 10000

// pages reads every page of a listing: it sends the previous answer's
// next_page_token as page_token until an answer has none (§2.5), and hands
// each page's body to fn. Listings whose answer carries no token are one
// page.
func (p *Provider) pages(ctx context.Context, op, path string, query url.Values, fn func(body []byte) error) error {
	token := ""
	seen := map[string]bool{}
	for range maxPages {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		if token != "" {
			q.Set("page_token", token)
		}
		resp, err := p.call(ctx, op, request{method: http.MethodGet, path: path, query: q, idempotent: true})
		if err != nil {
			return err
		}
		if !ok2xx(resp) {
			return p.statusError(op, resp)
		}
		var pg struct {
			Next flexString `json:"next_page_token"`
		}
		if err := p.decode(op, resp, &pg); err != nil {
			return err
		}
		if err := fn(resp.Body); err != nil {
			return err
		}
		token = string(pg.Next)
		if token == "" {
			return nil
		}
		if seen[token] {
			return acs.Errorf(op, Name, acs.Unknown, "listing %s repeated a page token", path)
		}
		seen[token] = true
	}
	return acs.Errorf(op, Name, acs.Unknown, "listing %s did not end after %d pages", path, maxPages)
}

// ---- JSON shapes ----

// flexString accepts a JSON string, number or null.
type flexString string

// UnmarshalJSON reads a string, a number (as its text) or null ("").
func (f *flexString) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*f = flexString(n.String())
	}
	return nil
}

// flexTime reads a start or end date: Unix seconds as a string or a
// number (§2.2), null or "" (unset), or, in case Verkada ever answers so,
// an RFC 3339 time. Anything else is an error.
type flexTime struct{ time.Time }

// UnmarshalJSON reads a date as described on flexTime.
func (t *flexTime) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	v := strings.TrimSpace(string(s))
	if v == "" {
		t.Time = time.Time{}
		return nil
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		t.Time = time.Unix(int64(n), 0).UTC()
		return nil
	}
	if tt, err := time.Parse(time.RFC3339Nano, v); err == nil {
		t.Time = tt.UTC()
		return nil
	}
	return fmt.Errorf("date %.40q is neither Unix seconds nor RFC 3339", v)
}

// groupRef is an access group in an access-user object or a listing:
// {"group_id","name"}, or a bare ID string.
type groupRef struct {
	GroupID flexString `json:"group_id"`
	Name    string     `json:"name"`
}

// UnmarshalJSON reads an object or a bare ID string.
func (g *groupRef) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &g.GroupID)
	}
	type plain groupRef
	return json.Unmarshal(b, (*plain)(g))
}

// cardJSON is Verkada's Card object (§2.3).
type cardJSON struct {
	CardID           flexString `json:"card_id"`
	Type             string     `json:"type"`
	FacilityCode     flexString `json:"facility_code"`
	CardNumber       flexString `json:"card_number"`
	CardNumberHex    flexString `json:"card_number_hex"`
	CardNumberBase36 flexString `json:"card_number_base36"`
	Active           bool       `json:"active"`
}

// accessUserJSON is the access-user object (§2.2).
type accessUserJSON struct {
	UserID       flexString `json:"user_id"`
	ExternalID   flexString `json:"external_id"`
	AccessGroups []groupRef `json:"access_groups"`
	Cards        []cardJSON `json:"cards"`
	StartDate    flexTime   `json:"start_date"`
	EndDate      flexTime   `json:"end_date"`
	// EntryCode is the user's keypad code; read only to compare it with
	// the one being provisioned.
	EntryCode flexString `json:"entry_code"`
}

// coreUserJSON is the Core user object (§2.2), as sent and as answered.
type coreUserJSON struct {
	UserID      flexString `json:"user_id,omitempty"`
	ExternalID  flexString `json:"external_id,omitempty"`
	FirstName   string     `json:"first_name,omitempty"`
	LastName    string     `json:"last_name,omitempty"`
	Email       string     `json:"email,omitempty"`
	CompanyName string     `json:"company_name,omitempty"`
	Department  string     `json:"department,omitempty"`
}

// createCardJSON is the body of POST /access/v1/credentials/card (§2.3).
type createCardJSON struct {
	Type         string `json:"type"`
	FacilityCode string `json:"facility_code,omitempty"`
	CardNumber   string `json:"card_number"`
	Active       bool   `json:"active"`
}

// dateJSON bodies set start_date or end_date: Unix seconds as a string.
type startDateJSON struct {
	StartDate string `json:"start_date"`
}

type endDateJSON struct {
	EndDate string `json:"end_date"`
}

// parseUint reads a decimal number, ignoring surrounding space.
func parseUint(s string) (uint64, bool) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	return n, err == nil
}

// ---- identifiers ----

// checkID validates an ID given by a caller or read from Verkada before it
// goes into a query: 1 to 128 ASCII letters, digits, '-' and '_' (Verkada
// IDs are UUIDs). what names the value in the error.
func checkID(op, what, s string) error {
	if s == "" || len(s) > 128 {
		return acs.Errorf(op, Name, acs.InvalidArgument, "%s %q is not a Verkada ID", what, truncate(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return acs.Errorf(op, Name, acs.InvalidArgument, "%s %q is not a Verkada ID", what, truncate(s))
		}
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 40 {
		cut := 40
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return s[:cut] + "…"
	}
	return s
}
