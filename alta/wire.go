package alta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// APIError is an error answer from Alta, the cause of the *acs.Error
// returned (reach it with errors.As). It holds no secret.
type APIError struct {
	Status int // HTTP status
	// Name is the error object's name (such as "TokenExpiredError" or
	// "NotFoundError") when the body has one.
	Name string
	// Message is the vendor's text (redacted, at most 300 bytes).
	Message string
}

// Error formats as "HTTP 404 NotFoundError: user not found".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("HTTP ")
	b.WriteString(strconv.Itoa(e.Status))
	if e.Name != "" {
		b.WriteByte(' ')
		b.WriteString(e.Name)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// throttledBody reports whether a non-429 answer means "slow down": a 403
// whose message speaks of a rate limit, as a third-party client maps it
// (§1.8, [L]).
func throttledBody(status int, body []byte) bool {
	return status == http.StatusForbidden && bytes.Contains(bytes.ToLower(body), []byte("rate limit"))
}

func throttled(resp *acshttp.Response) bool {
	return resp.Status == http.StatusTooManyRequests || throttledBody(resp.Status, resp.Body)
}

// jwtLike matches a JSON Web Token (Alta's tokens are JWTs, §1.1), so that
// a token echoed by a server is redacted even when it is not one this
// provider holds.
var jwtLike = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]*)?`)

// redact removes every secret, the tokens included, from s.
func (p *Provider) redact(s string) string {
	var tokens []string
	if p.tokens != nil {
		tokens = p.tokens.secrets()
	}
	s = p.api.Redact(s, tokens...)
	return jwtLike.ReplaceAllString(s, "[REDACTED]")
}

// vendorMessage extracts the name and the human-readable part of an error
// body: {"name","message"}, {"error":{…}}, {"error":"…"}, or plain text.
func vendorMessage(body []byte) (name, msg string) {
	trimmed := bytes.TrimSpace(body)
	var j struct {
		Name    string          `json:"name"`
		Message string          `json:"message"`
		Error   json.RawMessage `json:"error"`
	}
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &j) == nil {
		if len(j.Error) > 0 && j.Error[0] == '{' {
			var inner struct{ Name, Message string }
			if json.Unmarshal(j.Error, &inner) == nil {
				return inner.Name, inner.Message
			}
		}
		if j.Message == "" && len(j.Error) > 0 && j.Error[0] == '"' {
			_ = json.Unmarshal(j.Error, &j.Message)
		}
		return j.Name, j.Message
	}
	if len(trimmed) > 0 && trimmed[0] != '<' && utf8.Valid(trimmed) {
		return "", string(trimmed)
	}
	return "", ""
}

// clean makes vendor text safe for an error: secrets redacted, control
// characters replaced, at most 300 bytes.
func (p *Provider) clean(s string) string {
	s = p.redact(s)
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		cut := 300
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// responseError classifies a non-2xx answer.
func (p *Provider) responseError(op string, resp *acshttp.Response) (*acs.Error, *APIError) {
	name, msg := vendorMessage(resp.Body)
	ve := &APIError{Status: resp.Status, Name: p.clean(name), Message: p.clean(msg)}
	ae := &acs.Error{Op: op, Provider: Name, Code: acshttp.CodeForStatus(resp.Status), Err: ve}
	switch {
	case throttled(resp):
		ae.Code, ae.Message = acs.RateLimited, "Alta asked to slow down"
	case resp.Status == http.StatusUnauthorized:
		ae.Message = "the token or credentials were refused"
	case resp.Status == http.StatusForbidden:
		ae.Message = "the login lacks the scope for this organisation or operation"
	case resp.Status == http.StatusUnsupportedMediaType:
		ae.Code = acs.InvalidArgument
	case ae.Code == acs.Unknown:
		ae.Message = "unexpected answer"
	}
	if d, ok := acshttp.RetryAfter(resp.Header, time.Now()); ok {
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

// refusal reports whether err is a definite refusal by Alta or by the
// adapter (the request was answered, and repeating it will not help), as
// opposed to a failure whose outcome is unknown or transient.
func refusal(err error) bool {
	switch acs.CodeOf(err) {
	case acs.Unavailable, acs.RateLimited, acs.Canceled:
		return false
	}
	return true
}

// request is one API call.
type request struct {
	method     string
	path       string // escaped, absolute ("/orgs/5231/users")
	query      url.Values
	body       any // JSON-encoded when non-nil
	idempotent bool
}

// org returns the path of a resource of the organisation.
func (p *Provider) org(rel string) string { return p.orgPrefix + rel }

// call sends an API request with the current token. A 401 is answered by
// trying the other token scheme while it is unknown, then by logging in
// again and resending once. A throttled non-idempotent request (refused
// before it was processed) is waited out and resent; acshttp does this for
// idempotent ones. It returns the final answer whatever its status, or an
// *acs.Error when there was none.
func (p *Provider) call(ctx context.Context, op string, r request) (*acshttp.Response, error) {
	var body []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
		body = b
	}
	resp, err := p.authed(ctx, op, r, body)
	if err != nil {
		return nil, err
	}
	for i := 0; !r.idempotent && i < p.retryMax && throttled(resp); i++ {
		d, ok := acshttp.RetryAfter(resp.Header, time.Now())
		if !ok {
			d = time.Second
		}
		if d > p.retryWaitMax {
			break
		}
		if err := p.sleep(ctx, d); err != nil {
			return nil, acs.Wrap(op, Name, acs.Canceled, err)
		}
		if resp, err = p.authed(ctx, op, r, body); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// authed sends r with credentials and handles a 401 as call describes.
func (p *Provider) authed(ctx context.Context, op string, r request, body []byte) (*acshttp.Response, error) {
	if p.basic != "" {
		return p.send(ctx, op, r, body, p.basic)
	}
	tok, sch, err := p.tokens.get(ctx, op)
	if err != nil {
		return nil, err
	}
	resp, _, err := p.sendToken(ctx, op, r, body, tok, sch)
	if err != nil || resp.Status != http.StatusUnauthorized {
		return resp, err
	}
	p.tokens.invalidate(tok)
	if tok, sch, err = p.tokens.get(ctx, op); err != nil {
		return nil, err
	}
	resp, _, err = p.sendToken(ctx, op, r, body, tok, sch)
	return resp, err
}

// sendToken sends with a token; a 401 while the scheme is unknown (or
// after another caller settled it) is followed by one try of the other
// scheme with the same token.
func (p *Provider) sendToken(ctx context.Context, op string, r request, body []byte, tok string, sch TokenScheme) (*acshttp.Response, TokenScheme, error) {
	resp, err := p.send(ctx, op, r, body, authHeader(tok, sch))
	if err != nil {
		return nil, sch, err
	}
	if resp.Status == http.StatusUnauthorized {
		alt, ok := p.tokens.retryScheme(sch)
		if !ok {
			return resp, sch, nil
		}
		if resp, err = p.send(ctx, op, r, body, authHeader(tok, alt)); err != nil {
			return nil, alt, err
		}
		if resp.Status == http.StatusUnauthorized {
			return resp, sch, nil
		}
		sch = alt
	}
	p.tokens.confirm(sch)
	return resp, sch, nil
}

func (p *Provider) send(ctx context.Context, op string, r request, body []byte, auth string) (*acshttp.Response, error) {
	h := http.Header{"Authorization": {auth}, "Accept": {"application/json"}}
	if body != nil {
		h.Set("Content-Type", "application/json")
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

// decodeData unmarshals the "data" of a single-object answer; a body
// without that envelope is read as the object itself.
func decodeData[T any](p *Provider, op string, resp *acshttp.Response) (T, error) {
	var env struct {
		Data *T `json:"data"`
	}
	var zero T
	if err := p.decode(op, resp, &env); err != nil {
		return zero, err
	}
	if env.Data != nil {
		return *env.Data, nil
	}
	var v T
	if err := p.decode(op, resp, &v); err != nil {
		return zero, err
	}
	return v, nil
}

// pageSize is the page the adapter asks for (the notes give no maximum).
const pageSize = 100

// maxPages bounds a listing against a server that never stops paging.
const maxPages = 10000

// listJSON is the list envelope (§1.8).
type listJSON[T any] struct {
	TotalCount    *int `json:"totalCount"`
	FilteredCount *int `json:"filteredCount"`
	Data          []T  `json:"data"`
}

// listAll reads every page of a listing with limit and offset, calling
// visit for each item; visit returning false stops early.
func listAll[T any](ctx context.Context, p *Provider, op, path string, query url.Values, visit func(T) bool) error {
	return listFrom(ctx, p, op, path, query, 0, visit)
}

// listFrom is listAll from offset on, one page after the other.
func listFrom[T any](ctx context.Context, p *Provider, op, path string, query url.Values, offset int, visit func(T) bool) error {
	for range maxPages {
		pg, err := listPage[T](ctx, p, op, path, query, offset)
		if err != nil {
			return err
		}
		for _, it := range pg.Data {
			if !visit(it) {
				return nil
			}
		}
		offset += len(pg.Data)
		if pg.last(offset) {
			return nil
		}
	}
	return acs.Errorf(op, Name, acs.Unknown, "listing %s did not end after %d pages", path, maxPages)
}

// listPage reads the page of a listing that starts at offset.
func listPage[T any](ctx context.Context, p *Provider, op, path string, query url.Values, offset int) (listJSON[T], error) {
	q := make(url.Values, len(query)+2)
	for k, v := range query {
		q[k] = v
	}
	q.Set("limit", strconv.Itoa(pageSize))
	q.Set("offset", strconv.Itoa(offset))
	var pg listJSON[T]
	resp, err := p.call(ctx, op, request{method: http.MethodGet, path: path, query: q, idempotent: true})
	if err != nil {
		return pg, err
	}
	if !ok2xx(resp) {
		return pg, p.statusError(op, resp)
	}
	err = p.decode(op, resp, &pg)
	return pg, err
}

// total is the count of the listing (filtered when a filter applied), or
// nil when the page does not give it.
func (pg *listJSON[T]) total() *int {
	if pg.FilteredCount != nil {
		return pg.FilteredCount
	}
	return pg.TotalCount
}

// last reports whether pg, ending at offset, is the last page: it is
// empty, reaches the count, or (without a count) is not full.
func (pg *listJSON[T]) last(offset int) bool {
	total := pg.total()
	return len(pg.Data) == 0 || total != nil && offset >= *total || total == nil && len(pg.Data) < pageSize
}

// collect gathers every item of a listing. When the first page is full and
// gives the count, the other pages are read concurrently
// (WithConcurrency) and kept in order; a listing without a count, a
// server serving fewer items than asked, or a listing that grew meanwhile
// is read on page after page. Any failure fails the listing.
func collect[T any](ctx context.Context, p *Provider, op, path string, query url.Values) ([]T, error) {
	first, err := listPage[T](ctx, p, op, path, query, 0)
	if err != nil {
		return nil, err
	}
	out, offset := first.Data, len(first.Data)
	if first.last(offset) {
		return out, nil
	}
	if total := first.total(); total != nil && offset == pageSize {
		n := (*total - offset + pageSize - 1) / pageSize
		if n >= maxPages {
			return nil, acs.Errorf(op, Name, acs.Unknown, "listing %s did not end after %d pages", path, maxPages)
		}
		rest, err := acshttp.FetchPages(ctx, n, p.concurrency, func(ctx context.Context, i int) (listJSON[T], error) {
			return listPage[T](ctx, p, op, path, query, pageSize*(i+1))
		})
		if err != nil {
			return nil, err
		}
		out = slices.Grow(out, n*pageSize)
		for _, r := range rest {
			out = append(out, r.Data...)
		}
		last := rest[n-1]
		if offset = pageSize*n + len(last.Data); last.last(offset) {
			return out, nil
		}
	}
	err = listFrom(ctx, p, op, path, query, offset, func(t T) bool { out = append(out, t); return true })
	return out, err
}

// ---- IDs and path segments ----

// altaID reads an Alta ID sent as a JSON number or a numeric string.
type altaID int64

// UnmarshalJSON accepts 123, 123.0 and "123"; anything else reads as 0.
func (a *altaID) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		*a = altaID(n)
		return nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 && f < 1<<53 && f == float64(int64(f)) {
		*a = altaID(int64(f))
		return nil
	}
	*a = 0
	return nil
}

// idSegment formats an Alta ID for a path.
func idSegment[T ~int64](id T) string { return strconv.FormatInt(int64(id), 10) }

// parseAltaID reads a decimal, positive Alta ID given by a caller.
func parseAltaID(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

// parseID is parseAltaID with an InvalidArgument error naming what.
func parseID(op, what, s string) (int64, error) {
	if n, ok := parseAltaID(s); ok {
		return n, nil
	}
	return 0, acs.Errorf(op, Name, acs.InvalidArgument, "%s %q is not an Alta ID (decimal digits)", what, truncate(s))
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

// ---- times ----

// wireTime is how windows are sent: ISO 8601 in UTC with milliseconds, as
// Alta writes its own timestamps (§1.3).
const wireTime = "2006-01-02T15:04:05.000Z"

// parseWireTime reads Alta timestamps (with or without fractional
// seconds, Z or an offset) and bare dates (midnight UTC).
func parseWireTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}
