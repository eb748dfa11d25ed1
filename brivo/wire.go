package brivo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// APIError is an error answer from Brivo or its gateway, the cause of the
// *acs.Error returned (reach it with errors.As). It holds no secret.
type APIError struct {
	Status int // HTTP status
	// Code is the "code" field of an API error body; 0 when absent.
	Code int
	// Message is the vendor's text: the "message" or "error_description"
	// field, or the heading of the gateway's HTML page (redacted, at most
	// 300 bytes).
	Message string
	// OAuthError is the "error" field of an OAuth-style body, such as
	// "invalid_token" or "invalid_grant".
	OAuthError string
	// Gateway is the X-Mashery-Error-Code header, such as
	// "ERR_403_DEVELOPER_OVER_QPS", when present.
	Gateway string
	// sure marks an answer that says by itself what happened to the
	// request, whatever its target: the gateway's throttling, quota and
	// inactive-key pages, 596 (no such service) and a refused token. Any
	// other error answer may mean that the target is gone (see settle).
	sure bool
}

// Error formats as "HTTP 404: Requested user not found".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("HTTP ")
	b.WriteString(strconv.Itoa(e.Status))
	if e.OAuthError != "" {
		b.WriteString(": ")
		b.WriteString(e.OAuthError)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// gatewayThrottled reports whether an answer is the Mashery gateway's
// "slow down": 403 "Developer Over Qps" (429 is handled by acshttp itself).
func gatewayThrottled(status int, body []byte) bool {
	return status == http.StatusForbidden && bytes.Contains(body, []byte("Over Qps"))
}

func throttledResponse(resp *acshttp.Response) bool {
	return resp.Status == http.StatusTooManyRequests || gatewayThrottled(resp.Status, resp.Body) ||
		resp.Status == http.StatusForbidden && resp.Header.Get("X-Mashery-Error-Code") == "ERR_403_DEVELOPER_OVER_QPS"
}

// redact removes every secret, the current tokens included, from s.
func (p *Provider) redact(s string) string {
	if p.tokens == nil {
		return p.api.Redact(s)
	}
	a, r := p.tokens.secrets()
	return p.api.Redact(s, a, r)
}

// vendorMessage extracts the human-readable part of an error body.
func vendorMessage(body []byte) (msg, oauth string, code int) {
	var j struct {
		Code             json.Number `json:"code"`
		Message          string      `json:"message"`
		Error            string      `json:"error"`
		ErrorDescription string      `json:"error_description"`
		Status           json.Number `json:"status"`
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &j) == nil {
		if n, err := j.Code.Int64(); err == nil {
			code = int(n)
		}
		msg = j.Message
		if msg == "" {
			msg = j.ErrorDescription
		}
		return msg, j.Error, code
	}
	lower := bytes.ToLower(body)
	if i := bytes.Index(lower, []byte("<h1>")); i >= 0 {
		rest := body[i+4:]
		if j := bytes.Index(bytes.ToLower(rest), []byte("</h1>")); j >= 0 {
			return string(rest[:j]), "", 0
		}
	}
	if len(trimmed) > 0 && trimmed[0] != '<' && utf8.Valid(trimmed) {
		return string(trimmed), "", 0
	}
	return "", "", 0
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
	msg, oauth, code := vendorMessage(resp.Body)
	ve := &APIError{Status: resp.Status, Code: code, Message: p.clean(msg), OAuthError: p.clean(oauth),
		Gateway: p.clean(resp.Header.Get("X-Mashery-Error-Code"))}
	ae := &acs.Error{Op: op, Provider: Name, Code: acshttp.CodeForStatus(resp.Status), Err: ve}
	ve.sure = true
	switch {
	case resp.Status == http.StatusNotFound && !brivoNotFound(resp):
		ae.Code, ve.sure = acs.Unknown, false
		ae.Message = "a 404 that is not Brivo's (no {\"code\":404} body): a proxy, or a wrong base URL?"
	case throttledResponse(resp):
		ae.Code, ae.Message = acs.RateLimited, "the Brivo API gateway asked to slow down"
	case resp.Status == http.StatusForbidden && (strings.Contains(ve.Message, "Over Rate") || ve.Gateway == "ERR_403_DEVELOPER_OVER_RATE"):
		ae.Code, ae.Message = acs.RateLimited, "the API key's request quota is used up"
	case resp.Status == http.StatusForbidden && (strings.Contains(ve.Message, "Developer Inactive") || ve.Gateway == "ERR_403_DEVELOPER_INACTIVE"):
		ae.Code, ae.Message = acs.Unauthenticated, "the API key is missing, invalid or inactive"
	case resp.Status == 596:
		ae.Code, ae.Message = acs.Unsupported, "service not found: check the base URL, the region and the /v1/api path"
	case resp.Status == http.StatusUnauthorized:
		ae.Message = "the access token was refused"
	case resp.Status == http.StatusPreconditionFailed:
		ae.Code, ve.sure = acs.Conflict, false
	case resp.Status == http.StatusUnsupportedMediaType:
		ae.Code, ve.sure = acs.InvalidArgument, false
	case ae.Code == acs.Unknown:
		ae.Message, ve.sure = "unexpected answer", false
	default:
		ve.sure = false
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

// request is one API call.
type request struct {
	method     string
	path       string // escaped, relative to the base URL
	query      url.Values
	rawQuery   string // the query string as sent, instead of query
	body       any    // JSON-encoded when non-nil
	idempotent bool
}

// call sends an API request with the current token. On a 401 it
// invalidates the token and resends once with a fresh one; a gateway
// throttle on a non-idempotent request (which the gateway refused before
// it reached Brivo) is waited out and resent (acshttp does this for
// idempotent requests). It returns the final answer whatever its status,
// or an *acs.Error when there was none.
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
	resp, err := p.send(ctx, op, r, body, tok)
	if err != nil {
		return nil, err
	}
	if resp.Status == http.StatusUnauthorized {
		p.tokens.invalidate(tok)
		if tok, err = p.tokens.get(ctx, op); err != nil {
			return nil, err
		}
		if resp, err = p.send(ctx, op, r, body, tok); err != nil {
			return nil, err
		}
	}
	for i := 0; !r.idempotent && i < p.retryMax && throttledResponse(resp); i++ {
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
		if resp, err = p.send(ctx, op, r, body, tok); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

func (p *Provider) send(ctx context.Context, op string, r request, body []byte, tok string) (*acshttp.Response, error) {
	// Maps shared by every request made with tok (acshttp.Request.Header
	// is never modified).
	h := p.hdr.forToken(tok, body != nil)
	resp, err := p.api.Do(ctx, acshttp.Request{
		Op: op, Method: r.method, Path: r.path, Query: r.query, RawQuery: r.rawQuery, Header: h, Body: body, Idempotent: r.idempotent,
	})
	if err != nil {
		return nil, acshttp.TransportFailure(op, Name, err)
	}
	return resp, nil
}

var jsonValue = []string{"application/json"}

// headerValues holds the headers of the requests made with the access
// token of the moment, with and without a body, so that a request builds
// none of them.
type headerValues struct {
	apiKey          []string
	mu              sync.Mutex
	tok             string
	plain, withBody http.Header
}

// forToken returns the headers of a request made with tok.
func (h *headerValues) forToken(tok string, hasBody bool) http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.plain == nil || h.tok != tok {
		auth := []string{"bearer " + tok}
		h.tok = tok
		h.plain = http.Header{"Api-Key": h.apiKey, "Authorization": auth, "Accept": jsonValue}
		h.withBody = http.Header{"Api-Key": h.apiKey, "Authorization": auth, "Accept": jsonValue, "Content-Type": jsonValue}
	}
	if hasBody {
		return h.withBody
	}
	return h.plain
}

// decode unmarshals a 2xx body.
func (p *Provider) decode(op string, resp *acshttp.Response, v any) error {
	if err := json.Unmarshal(resp.Body, v); err != nil {
		return &acs.Error{Op: op, Provider: Name, Code: acs.Unknown,
			Message: fmt.Sprintf("unreadable answer (HTTP %d)", resp.Status), Err: errors.New(p.clean(err.Error()))}
	}
	return nil
}

// ---- JSON shapes ----

// flexString accepts a JSON string or number (externalId was sent and
// returned both ways over the years).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if s, ok := plainJSONString(b); ok {
		*f = flexString(s)
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		*f = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}

// plainJSONString returns the text of a JSON string literal that needs
// no unquoting (no escape, no control character, valid UTF-8): what
// json.Unmarshal would give, copied once. ok is false for any other
// literal.
func plainJSONString(b []byte) (s string, ok bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	in := b[1 : len(b)-1]
	ascii := true
	for _, c := range in {
		switch {
		case c < 0x20 || c == '"' || c == '\\':
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}

type userJSON struct {
	ID         int64      `json:"id"`
	ExternalID flexString `json:"externalId"`
	FirstName  string     `json:"firstName"`
	LastName   string     `json:"lastName"`
	Suspended  bool       `json:"suspended"`
}

type emailJSON struct {
	Address string `json:"address"`
	Type    string `json:"type"`
}

type createUserJSON struct {
	FirstName  string      `json:"firstName"`
	LastName   string      `json:"lastName"`
	ExternalID string      `json:"externalId"`
	Emails     []emailJSON `json:"emails,omitempty"`
}

type idName struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type formatJSON struct {
	ID               int64    `json:"id"`
	Name             string   `json:"name"`
	CredentialFields []idName `json:"credentialFields"`
}

type fieldValueJSON struct {
	ID                int64      `json:"id,omitempty"`
	CredentialFieldID int64      `json:"credentialFieldId,omitempty"`
	Name              string     `json:"name,omitempty"`
	Value             flexString `json:"value"`
}

type credentialJSON struct {
	ID                int64            `json:"id"`
	CredentialFormat  idName           `json:"credentialFormat"`
	ReferenceID       flexString       `json:"referenceId"`
	EncodedCredential string           `json:"encodedCredential"`
	FieldValues       []fieldValueJSON `json:"fieldValues"`
	EffectiveFrom     string           `json:"effectiveFrom"`
	EffectiveTo       string           `json:"effectiveTo"`
	Size              int              `json:"size"`
}

type formatRef struct {
	ID int64 `json:"id"`
}

type fieldValueIn struct {
	ID    int64  `json:"id"`
	Value string `json:"value"`
}

type createCredentialJSON struct {
	CredentialFormat  formatRef      `json:"credentialFormat"`
	ReferenceID       string         `json:"referenceId"`
	EncodedCredential string         `json:"encodedCredential,omitempty"`
	FieldValues       []fieldValueIn `json:"fieldValues,omitempty"`
}

type assignJSON struct {
	EffectiveFrom string `json:"effectiveFrom,omitempty"`
	EffectiveTo   string `json:"effectiveTo,omitempty"`
}

type invitationJSON struct {
	ID           int64      `json:"id"`
	ReferenceID  flexString `json:"referenceId"`
	CredentialID int64      `json:"credentialId"`
	AccessCode   string     `json:"accessCode"`
	Status       string     `json:"status"`
	Expiration   string     `json:"expiration"`
}

type pageJSON[T any] struct {
	Data     []T  `json:"data"`
	Offset   int  `json:"offset"`
	PageSize int  `json:"pageSize"`
	Count    *int `json:"count"`
}

// wireTime is how dates are sent: ISO 8601 in UTC, whole seconds.
const wireTime = "2006-01-02T15:04:05Z"

// parseWireTime reads Brivo dates: with or without fractional seconds, with
// Z or an offset, or a bare date.
func parseWireTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// pageSize is the largest page Brivo serves.
const pageSize = 100

// maxPages bounds a listing against a server that never stops paging.
const maxPages = 10000

// listAll reads every page of a listing, narrowed by filter (a
// buildFilter value) unless it is empty. When the first page gives the
// count, the other pages are read concurrently (WithConcurrency) and kept
// in order; a listing without a count, or one that grew meanwhile, is
// read on page after page. Any failure fails the listing.
func listAll[T any](ctx context.Context, p *Provider, op, path, filter string) ([]T, error) {
	last, err := listPage[T](ctx, p, op, path, filter, 0)
	if err != nil {
		return nil, err
	}
	out := last.Data
	offset := len(last.Data)
	pages := 1
	if !last.done(offset) && last.Count != nil {
		n := (*last.Count - offset + pageSize - 1) / pageSize
		if n >= maxPages {
			return nil, acs.Errorf(op, Name, acs.Unknown, "listing %s did not end after %d pages", path, maxPages)
		}
		start := offset
		rest, err := acshttp.FetchPages(ctx, n, p.concurrency, func(ctx context.Context, i int) (pageJSON[T], error) {
			return listPage[T](ctx, p, op, path, filter, start+i*pageSize)
		})
		if err != nil {
			return nil, err
		}
		out = slices.Grow(out, n*pageSize)
		for _, r := range rest {
			out = append(out, r.Data...)
			last = r
		}
		offset, pages = start+(n-1)*pageSize+len(last.Data), pages+n
	}
	for ; !last.done(offset); pages++ {
		if pages >= maxPages {
			return nil, acs.Errorf(op, Name, acs.Unknown, "listing %s did not end after %d pages", path, maxPages)
		}
		if last, err = listPage[T](ctx, p, op, path, filter, offset); err != nil {
			return nil, err
		}
		out = append(out, last.Data...)
		offset += len(last.Data)
	}
	return out, nil
}

// listPage reads the page of a listing that starts at offset.
func listPage[T any](ctx context.Context, p *Provider, op, path, filter string, offset int) (pageJSON[T], error) {
	var pg pageJSON[T]
	resp, err := p.call(ctx, op, request{method: http.MethodGet, path: path, rawQuery: pageQuery(filter, offset), idempotent: true})
	if err != nil {
		return pg, err
	}
	if !ok2xx(resp) {
		return pg, p.statusError(op, resp)
	}
	err = p.decode(op, resp, &pg)
	return pg, err
}

// done reports whether pg, ending at offset, is a listing's last page.
func (pg *pageJSON[T]) done(offset int) bool {
	return len(pg.Data) == 0 || len(pg.Data) < pageSize || pg.Count != nil && offset >= *pg.Count
}

// firstPageQuery is pageQuery("", 0).
const firstPageQuery = "offset=0&pageSize=100"

// pageQuery is the query string of a listing's page: the filter (when
// not empty), the offset and the page size, escaped and ordered as
// url.Values.Encode would.
func pageQuery(filter string, offset int) string {
	if filter == "" && offset == 0 {
		return firstPageQuery
	}
	var buf [160]byte
	b := buf[:0]
	if filter != "" {
		b = append(b, "filter="...)
		b = append(b, url.QueryEscape(filter)...)
		b = append(b, '&')
	}
	b = append(b, "offset="...)
	b = strconv.AppendInt(b, int64(offset), 10)
	b = append(b, "&pageSize="...)
	b = strconv.AppendInt(b, pageSize, 10)
	return string(b)
}

// ---- path segments and filters ----

// idSegment formats a Brivo ID for a path.
func idSegment(id int64) string { return strconv.FormatInt(id, 10) }

// parseID reads a Brivo ID given by a caller: decimal digits, positive,
// fitting an int64. what names the value in the error.
func parseID(op, what, s string) (int64, error) {
	if s == "" || len(s) > 18 {
		return 0, acs.Errorf(op, Name, acs.InvalidArgument, "%s %q is not a Brivo ID (decimal digits)", what, truncate(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, acs.Errorf(op, Name, acs.InvalidArgument, "%s %q is not a Brivo ID (decimal digits)", what, truncate(s))
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, acs.Errorf(op, Name, acs.InvalidArgument, "%s %q is not a Brivo ID (decimal digits)", what, truncate(s))
	}
	return n, nil
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

// externalSegment checks an external ID and escapes it for a path. The
// acs rules already limit it to letters, digits, '-', '_' and '.'; the
// dot segments "." and "..", which a server or proxy would resolve, are
// refused.
func externalSegment(op, id string) (string, error) {
	if err := acs.ValidateExternalID(id); err != nil {
		return "", acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if id == "." || id == ".." {
		return "", acs.Errorf(op, Name, acs.InvalidArgument, "external ID %q is a path dot segment", id)
	}
	return url.PathEscape(id), nil
}

// term is one clause of a Brivo filter: field__op:v1,v2.
type term struct {
	field, op string
	values    []string
}

// buildFilter renders terms as a filter= value. Brivo's syntax has no
// escape for its separators, so a value holding ';', ',', ':' or '%', a
// control character, or nothing at all is refused rather than sent: it
// could otherwise add a clause or a value and widen the query.
func buildFilter(terms ...term) (string, error) {
	var b strings.Builder
	for i, t := range terms {
		if !validFilterName(t.field) {
			return "", fmt.Errorf("filter field %q is not allowed", t.field)
		}
		switch t.op {
		case "eq", "ne", "gt", "lt":
		default:
			return "", fmt.Errorf("filter operator %q is not allowed", t.op)
		}
		if len(t.values) == 0 {
			return "", fmt.Errorf("filter on %s has no value", t.field)
		}
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(t.field)
		b.WriteString("__")
		b.WriteString(t.op)
		b.WriteByte(':')
		for j, v := range t.values {
			if err := checkFilterValue(v); err != nil {
				return "", fmt.Errorf("filter on %s: %w", t.field, err)
			}
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(v)
		}
	}
	return b.String(), nil
}

func validFilterName(s string) bool {
	if s == "" || strings.Contains(s, "__") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// checkFilterValue refuses a value that cannot be placed in a filter.
func checkFilterValue(v string) error {
	switch {
	case v == "":
		return errors.New("empty value")
	case len(v) > 256:
		return errors.New("value longer than 256 bytes")
	case !utf8.ValidString(v):
		return errors.New("value is not valid UTF-8")
	case strings.ContainsAny(v, ";,:%"):
		return errors.New("value contains one of ; , : % which Brivo's filter syntax cannot escape")
	case strings.ContainsFunc(v, unicode.IsControl):
		return errors.New("value contains a control character")
	case strings.TrimSpace(v) != v:
		return errors.New("value has leading or trailing spaces")
	}
	return nil
}

// idPath is prefix, id in decimal, then suffix: idPath("/users/", 42,
// "/credentials") is "/users/42/credentials", built in one allocation.
func idPath(prefix string, id int64, suffix string) string {
	var buf [96]byte
	b := append(buf[:0], prefix...)
	b = strconv.AppendInt(b, id, 10)
	return string(append(b, suffix...))
}

// idPath2 is idPath with two IDs: prefix, id1, mid, id2.
func idPath2(prefix string, id1 int64, mid string, id2 int64) string {
	var buf [96]byte
	b := append(buf[:0], prefix...)
	b = strconv.AppendInt(b, id1, 10)
	b = append(b, mid...)
	b = strconv.AppendInt(b, id2, 10)
	return string(b)
}
