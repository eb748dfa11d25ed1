package lenel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// Error codes OnGuard is known to send.
const (
	codeInvalidApplicationID = "openaccess.general.invalidapplicationid"
	codeInvalidRequestItem   = "openaccess.general.invalidrequestitem"
)

// APIError is an error answer from OpenAccess, reachable with errors.As
// from the *acs.Error the provider returns. Its message never holds the
// password or a session token.
type APIError struct {
	Status  int    // HTTP status
	Code    string // such as "openaccess.general.invalidrequestitem"; empty when the body had none
	Message string
}

// Error formats as "OpenAccess HTTP 400 openaccess.general.invalidrequestitem: message".
func (e *APIError) Error() string {
	s := "OpenAccess HTTP " + strconv.Itoa(e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// errorBody is OpenAccess's error shape.
type errorBody struct {
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// parseAPIError reads an error answer; the message is redacted.
func (p *Provider) parseAPIError(resp *acshttp.Response) *APIError {
	e := &APIError{Status: resp.Status}
	var b errorBody
	if json.Unmarshal(resp.Body, &b) == nil && b.Error != nil {
		e.Code = strings.ToLower(strings.TrimSpace(b.Error.Code))
		e.Message = b.Error.Message
	}
	if e.Message == "" && e.Code == "" {
		e.Message = http.StatusText(resp.Status)
	}
	if len(e.Message) > 500 {
		e.Message = strings.ToValidUTF8(e.Message[:500], "") + "…"
	}
	e.Message = p.redact(e.Message)
	e.Code = p.redact(e.Code)
	return e
}

// codeFor classifies an OpenAccess error.
func codeFor(e *APIError) acs.Code {
	c := e.Code
	switch {
	case c == codeInvalidApplicationID:
		return acs.PermissionDenied
	case c == codeInvalidRequestItem:
		return acs.InvalidArgument
	case isSessionCode(c):
		return acs.Unauthenticated
	case strings.Contains(c, "notfound") || strings.Contains(c, "doesnotexist"):
		return acs.NotFound
	case strings.Contains(c, "permission") || strings.Contains(c, "accessdenied") || strings.Contains(c, "notauthorized"):
		return acs.PermissionDenied
	}
	if code := acshttp.CodeForStatus(e.Status); code != acs.Unknown {
		return code
	}
	return acs.Unknown
}

func isSessionCode(c string) bool {
	return strings.Contains(c, "session") || strings.Contains(c, "token")
}

// isSessionError reports whether an answer to an authenticated request
// says the session is no longer valid. OnGuard's exact answer is not
// publicly documented, so any 401 other than a licence refusal, and any
// error code naming the session or token, counts.
func isSessionError(e *APIError) bool {
	if e.Code == codeInvalidApplicationID {
		return false
	}
	return e.Status == http.StatusUnauthorized || isSessionCode(e.Code)
}

// request is one OpenAccess call.
type request struct {
	op         string
	method     string
	path       string
	query      url.Values // without version
	rawQuery   string     // or this, encoded, without version
	versioned  bool       // rawQuery ends with version=1.0 already
	body       any        // JSON-encoded when non-nil
	inst       instance   // or this, when its TypeName is set
	idempotent bool
	anonymous  bool // no session (login, version)
	// token, when set, is sent instead of the shared session, and a
	// refused session is not renewed (keepalive, logout).
	token string
	gen   uint64
}

// do sends r with the session headers and version=1.0 and decodes a 2xx
// answer into out (when non-nil). An answer saying the session is invalid
// (isSessionError, or sessionDead after asking) makes it log in again once
// and resend; such a request was not carried out, so resending is safe for
// every method.
func (p *Provider) do(ctx context.Context, r request, out any) error {
	var body []byte
	var err error
	switch {
	case r.inst.TypeName != "":
		body, err = r.inst.appendJSON(make([]byte, 0, 256))
	case r.body != nil:
		body, err = json.Marshal(r.body)
	}
	if err != nil {
		return acs.Wrap(r.op, Name, acs.InvalidArgument, err)
	}
	q := withVersion(r)
	for attempt := 0; ; attempt++ {
		h, tok, gen, err := p.headers(ctx, r, body != nil)
		if err != nil {
			return err
		}
		resp, err := p.hc.Do(ctx, acshttp.Request{
			Op: r.op, Method: r.method, Path: r.path, RawQuery: q, Header: h, Body: body, Idempotent: r.idempotent,
		})
		if err != nil {
			if ctx.Err() != nil {
				return acs.Wrap(r.op, Name, acs.Canceled, ctx.Err())
			}
			return acshttp.TransportFailure(r.op, Name, err) // acshttp errors hold no secret
		}
		p.touch()
		if resp.Status >= 200 && resp.Status < 300 {
			if out == nil {
				return nil
			}
			if err := json.Unmarshal(resp.Body, out); err != nil {
				return &acs.Error{Op: r.op, Provider: Name, Code: acs.Unknown,
					Message: "malformed answer from OpenAccess", Err: errors.New(p.redact(err.Error()))}
			}
			return nil
		}
		ae := p.parseAPIError(resp)
		shared := !r.anonymous && r.token == ""
		if !r.anonymous && isSessionError(ae) || shared && attempt == 0 && p.sessionDead(ctx, r.op, ae, tok, gen) {
			p.invalidate(gen)
			if attempt == 0 && r.token == "" {
				p.log.LogAttrs(ctx, slog.LevelDebug, "lenel session refused; logging in again", slog.String("op", r.op))
				continue
			}
			return p.apiError(r.op, resp, ae, acs.Unauthenticated, "the session was refused again right after logging in")
		}
		return p.apiError(r.op, resp, ae, codeFor(ae), "")
	}
}

// withVersion returns r's query, encoded as url.Values.Encode would
// (keys sorted), with version=1.0.
func withVersion(r request) string {
	const version = "version=1.0"
	if r.versioned {
		return r.rawQuery
	}
	if r.rawQuery != "" {
		return r.rawQuery + "&" + version
	}
	if len(r.query) == 0 {
		return version
	}
	for k := range r.query {
		if k >= "version" { // sorted among the others
			q := url.Values{"version": {"1.0"}}
			for k, v := range r.query {
				q[k] = v
			}
			return q.Encode()
		}
	}
	return r.query.Encode() + "&" + version
}

var (
	acceptJSON  = []string{"application/json"}
	contentJSON = []string{"application/json"}
)

// headers are a request's headers, with the session it uses (none for an
// anonymous request) and that session's generation.
func (p *Provider) headers(ctx context.Context, r request, hasBody bool) (http.Header, string, uint64, error) {
	tok, gen := r.token, r.gen
	switch {
	case r.anonymous:
		h := make(http.Header, 3)
		h["Application-Id"] = p.appID
		h["Accept"] = acceptJSON // shared, never modified (acshttp.Request.Header)
		if hasBody {
			h["Content-Type"] = contentJSON
		}
		return h, "", 0, nil
	case tok == "":
		var err error
		if tok, gen, err = p.session(ctx, r.op); err != nil {
			return nil, "", 0, err
		}
	}
	sh := p.hdrs.Load()
	if sh == nil || sh.tok != tok {
		sh = newSessionHeaders(p.appID, tok)
		p.hdrs.Store(sh)
	}
	if hasBody {
		return sh.withBody, tok, gen, nil
	}
	return sh.plain, tok, gen, nil
}

// sessionHeaders are the headers of the requests made with one session
// token, built once and shared by those requests: acshttp sends a
// request's header map as it is and never modifies it, nor does net/http.
type sessionHeaders struct {
	tok             string
	plain, withBody http.Header
}

func newSessionHeaders(appID []string, tok string) *sessionHeaders {
	t := []string{tok}
	return &sessionHeaders{
		tok:      tok,
		plain:    http.Header{"Application-Id": appID, "Accept": acceptJSON, "Session-Token": t},
		withBody: http.Header{"Application-Id": appID, "Accept": acceptJSON, "Content-Type": contentJSON, "Session-Token": t},
	}
}

// sessionDead reports, for an error answer to a request made with the
// shared session tok, whether that session is no longer valid although the
// answer did not say so the way isSessionError expects. OnGuard's answer
// to an expired or unknown session is undocumented; a 400 or 403 with a
// code other than the two documented ones could be it, so for those the
// session is tested with GET /keepalive: a refusal there (a 4xx other than
// 429 and the licence code) means the session is gone.
func (p *Provider) sessionDead(ctx context.Context, op string, ae *APIError, tok string, gen uint64) bool {
	if ae.Status != http.StatusBadRequest && ae.Status != http.StatusForbidden ||
		ae.Code == codeInvalidRequestItem || ae.Code == codeInvalidApplicationID {
		return false
	}
	err := p.do(ctx, request{op: op, method: http.MethodGet, path: "/keepalive", idempotent: true, token: tok, gen: gen}, nil)
	return sessionRefused(err)
}

func (p *Provider) apiError(op string, resp *acshttp.Response, ae *APIError, code acs.Code, msg string) error {
	e := acshttp.StatusError(op, Name, resp, code, msg).(*acs.Error)
	e.Err = ae
	return e
}

// props is a property_value_map with upper-case keys, since response
// property casing differs from type to type. The records read on the
// provisioning path are decoded into typed structs instead (badgeRecord,
// person, keyRecord), whose fields encoding/json matches
// case-insensitively; props serves the properties named at run time.
type props map[string]json.RawMessage

// upperProps returns m with upper-case keys, m itself when they all are.
func upperProps(m map[string]json.RawMessage) props {
	upper := true
	for k := range m {
		if strings.ToUpper(k) != k {
			upper = false
			break
		}
	}
	if upper { // as OnGuard sends them: no copy
		return props(m)
	}
	out := make(props, len(m))
	for k, v := range m {
		out[strings.ToUpper(k)] = v
	}
	return out
}

// itemOf is one instance of an answer from /instances, its
// property_value_map decoded as T.
type itemOf[T any] struct {
	Props T `json:"property_value_map"`
}

// pageOf is the answer of GET /instances (field names are matched
// case-insensitively by encoding/json), its records decoded as T.
type pageOf[T any] struct {
	ItemList   []itemOf[T] `json:"item_list"`
	TotalPages int         `json:"total_pages"`
	TotalItems int         `json:"total_items"`
}

// rawMap is a property_value_map as sent, before upperProps.
type rawMap = map[string]json.RawMessage

// int reads an integer sent as a JSON number or a numeric string.
func (p props) int(name string) (int64, bool) { return rawInt(p[name]) }

// rawInt reads an integer sent as a JSON number or a numeric string.
func rawInt(raw []byte) (int64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0, false
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		raw = []byte(strings.TrimSpace(s))
	}
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return n, true
	}
	// 13426.0 and 1.3426e4 are integers too.
	if f, err := strconv.ParseFloat(string(raw), 64); err == nil && f == float64(int64(f)) {
		return int64(f), true
	}
	return 0, false
}

func (p props) str(name string) string { return rawStr(p[name]) }

// rawStr reads a JSON string; any other value, or none, reads as "".
func rawStr(raw []byte) string {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && plain(raw[1:len(raw)-1]) {
		return string(raw[1 : len(raw)-1]) // no escapes: no need for json.Unmarshal
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

// plain reports whether the inside of a JSON string holds no escape, quote,
// control or non-ASCII byte, so that it reads as it is.
func plain(in []byte) bool {
	for _, c := range in {
		if c == '\\' || c == '"' || c < 0x20 || c >= 0x80 {
			return false
		}
	}
	return true
}

// time reads a date; a missing, null or empty value is the zero time.
func (p props) time(name string) (time.Time, error) {
	t, err := rawTime(p[name])
	if errors.Is(err, errNotDate) {
		return time.Time{}, fmt.Errorf("property %s is not a date string", name)
	}
	return t, err
}

var errNotDate = errors.New("not a date string")

// rawTime reads a date sent as a JSON string (see parseTime); a missing,
// null or empty value is the zero time, any other value errNotDate.
func rawTime(raw []byte) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	if raw[0] != '"' {
		return time.Time{}, errNotDate
	}
	s := rawStr(raw)
	if s == "" && json.Unmarshal(raw, &s) != nil {
		return time.Time{}, errNotDate // a malformed string
	}
	return parseTime(s)
}

// optStr is a string property as rawStr reads it: "" unless the value
// is a JSON string. It never fails a decoding.
type optStr string

// UnmarshalJSON implements json.Unmarshaler.
func (s *optStr) UnmarshalJSON(b []byte) error {
	*s = optStr(rawStr(b))
	return nil
}

// optTime is a date property as rawTime reads it, a value that is not a
// date being the zero time (as every reader of a date here takes it). It
// never fails a decoding.
type optTime struct{ t time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (o *optTime) UnmarshalJSON(b []byte) error {
	o.t, _ = rawTime(b)
	return nil
}

// Date layouts seen from OpenAccess and its integrators: RFC 3339 with a
// numeric offset or Z (with or without fractional seconds), a local time
// without offset (read as UTC), and a date alone.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised date %q", s)
}

// formatTime writes t in UTC with the offset spelled "+00:00": OpenAccess
// refuses "Z".
func formatTime(t time.Time) string {
	var b [32]byte
	return string(t.UTC().AppendFormat(b[:0], "2006-01-02T15:04:05+00:00"))
}

// list fetches every instance of a type matching filter (all pages) as
// property maps.
func (p *Provider) list(ctx context.Context, op, typeName, filter string) ([]props, error) {
	items, err := listOf[props](ctx, p, op, typeName, filter)
	for i, it := range items {
		items[i] = upperProps(it)
	}
	return items, err
}

// listOf fetches every instance of a type matching filter (all pages),
// each property_value_map decoded as T.
func listOf[T any](ctx context.Context, p *Provider, op, typeName, filter string) ([]T, error) {
	l := lister[T]{p: p, op: op, typeName: typeName, filter: filter}
	first, err := l.page(ctx, 1)
	if err != nil {
		return nil, err
	}
	if first.TotalPages <= 1 || len(first.ItemList) == 0 {
		return appendItems(nil, first), nil
	}
	if first.TotalPages > maxPages {
		return nil, acs.Errorf(op, Name, acs.Unknown, "%s listing has more than %d pages", typeName, maxPages)
	}
	// The first page told how many follow: the others are read
	// concurrently and kept in order; any failure fails the listing.
	rest, err := acshttp.FetchPages(ctx, first.TotalPages-1, p.concurrency, l.next)
	if err != nil {
		return nil, err
	}
	n := len(first.ItemList)
	for _, r := range rest {
		n += len(r.ItemList)
	}
	out := appendItems(make([]T, 0, n), first)
	for _, r := range rest {
		out = appendItems(out, r)
	}
	return out, nil
}

// lister reads the pages of one listing.
type lister[T any] struct {
	p                    *Provider
	op, typeName, filter string
}

// page reads page n (from 1).
func (l lister[T]) page(ctx context.Context, n int) (*pageOf[T], error) {
	res := new(pageOf[T])
	err := l.p.do(ctx, request{op: l.op, method: http.MethodGet, path: "/instances",
		rawQuery: instancesQuery(l.filter, n, l.typeName), versioned: true, idempotent: true}, res)
	return res, err
}

// next reads page i+2: the pages after the first, for FetchPages.
func (l lister[T]) next(ctx context.Context, i int) (*pageOf[T], error) { return l.page(ctx, i+2) }

// instancesQuery is the query of GET /instances as url.Values.Encode
// writes it (keys sorted), with version=1.0.
func instancesQuery(filter string, n int, typeName string) string {
	var b strings.Builder
	b.Grow(len("filter=&page_number=&page_size=&type_name=&version=1.0") + 3*len(filter) + 20 + 3*len(typeName))
	if filter != "" {
		b.WriteString("filter=")
		b.WriteString(url.QueryEscape(filter))
		b.WriteByte('&')
	}
	var num [20]byte
	b.WriteString("page_number=")
	b.Write(strconv.AppendInt(num[:0], int64(n), 10))
	b.WriteString("&page_size=")
	b.Write(strconv.AppendInt(num[:0], pageSize, 10))
	b.WriteString("&type_name=")
	b.WriteString(url.QueryEscape(typeName))
	b.WriteString("&version=1.0")
	return b.String()
}

func appendItems[T any](out []T, res *pageOf[T]) []T {
	for _, it := range res.ItemList {
		out = append(out, it.Props)
	}
	return out
}

const (
	pageSize = 100 // the OpenAccess maximum
	maxPages = 10000
)

// instance is the JSON body of POST, PUT and DELETE /instances. do
// encodes it with appendJSON: the bytes json.Marshal writes for it, keys
// sorted, with fewer allocations.
type instance struct {
	PropertyValueMap map[string]any `json:"property_value_map"`
	TypeName         string         `json:"type_name"`
}

// appendJSON appends the instance as json.Marshal encodes it.
func (in instance) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"property_value_map":`...)
	if in.PropertyValueMap == nil {
		b = append(b, "null"...)
	} else {
		var arr [8]string // room for the bodies this package sends; more grow
		names := arr[:0]
		for k := range in.PropertyValueMap {
			names = append(names, k)
		}
		slices.Sort(names)
		b = append(b, '{')
		for i, k := range names {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSONValue(appendJSONString(b, k), in.PropertyValueMap[k]); err != nil {
				return nil, err
			}
		}
		b = append(b, '}')
	}
	b = append(b, `,"type_name":`...)
	return append(appendJSONString(b, in.TypeName), '}'), nil
}

// appendJSONString appends s as json.Marshal encodes it.
func appendJSONString(b []byte, s string) []byte {
	if !plainString(s) {
		q, _ := json.Marshal(s) // a string always encodes
		return append(b, q...)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSONValue appends ':' and v as json.Marshal encodes it.
func appendJSONValue(b []byte, v any) ([]byte, error) {
	b = append(b, ':')
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendJSONString(b, v), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	}
	q, err := json.Marshal(v)
	return append(b, q...), err
}

// plainString reports whether json.Marshal writes s as it is between
// quotes: printable ASCII without a quote, a backslash or the characters
// it escapes for HTML ('<', '>', '&').
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c >= 0x80, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// create adds an instance and returns the value of its key property.
func (p *Provider) create(ctx context.Context, op, typeName, key string, pm map[string]any) (int64, error) {
	var res itemOf[keyRecord]
	err := p.do(ctx, request{op: op, method: http.MethodPost, path: "/instances", inst: instance{pm, typeName}}, &res)
	if err != nil {
		return 0, err
	}
	k, ok := res.Props.int(key)
	if !ok {
		return 0, acs.Errorf(op, Name, acs.Unknown, "OpenAccess created a %s but its answer holds no %s", typeName, key)
	}
	return k, nil
}

func (p *Provider) modify(ctx context.Context, op, typeName string, pm map[string]any) error {
	return p.do(ctx, request{op: op, method: http.MethodPut, path: "/instances", inst: instance{pm, typeName}, idempotent: true}, nil)
}

// keys names one instance by its key properties, all numeric.
type keys map[string]int64

// body is the property_value_map of a DELETE.
func (k keys) body() map[string]any {
	m := make(map[string]any, len(k))
	for name, v := range k {
		m[name] = v
	}
	return m
}

// filter is "A = 1 AND B = 2", names in order.
func (k keys) filter() string {
	names := make([]string, 0, len(k))
	for name := range k {
		names = append(names, name)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = eqInt(name, k[name])
	}
	return strings.Join(parts, " AND ")
}

// in reports whether one of items carries every key.
func (k keys) in(items []props) bool {
	for _, it := range items {
		match := true
		for name, v := range k {
			if got, ok := it.int(name); !ok || got != v {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// remove deletes an instance by its keys. What OpenAccess answers for an
// instance that is already gone is undocumented, so a failed DELETE is
// settled by asking whether the instance still exists.
func (p *Provider) remove(ctx context.Context, op, typeName string, k keys) error {
	err := p.do(ctx, request{op: op, method: http.MethodDelete, path: "/instances", inst: instance{k.body(), typeName}, idempotent: true}, nil)
	if err == nil {
		return nil
	}
	return p.settle(ctx, op, typeName, k, err)
}

// settle decides what a failed change (PUT or DELETE) to the instance
// named by k means when its purpose is met once the instance is gone
// (revoking, deleting). OnGuard's answer for a missing instance is not
// documented, and a 400, a 404, a 500 and an answer that is not
// OpenAccess's own are all plausible, so no error code is trusted to mean
// "gone": the instance is looked up (a filter on its numeric keys). Absent,
// the change is moot and settle returns nil. Present, the original error
// stands, except that a not-found code becomes Unknown, since the record
// is there and a caller must not read the error as "gone". A lookup that
// fails, whatever its error, leaves the outcome open (see unsettled):
// until OnGuard can be asked, nothing is known.
func (p *Provider) settle(ctx context.Context, op, typeName string, k keys, err error) error {
	if acs.CodeOf(err) == acs.Canceled {
		return err
	}
	left, lerr := p.list(ctx, op, typeName, k.filter())
	return settled(typeName, k, err, left, lerr)
}

// settled is settle's decision once the lookup answered left (or lerr).
func settled(typeName string, k keys, err error, left []props, lerr error) error {
	switch {
	case lerr != nil:
		return unsettled(err, lerr, "whether the "+typeName+" still exists")
	case !k.in(left):
		return nil
	case acs.CodeOf(err) == acs.NotFound:
		return stillThere(err, typeName)
	}
	return err
}

// refused decides what a failed change (PUT) to an instance that must
// still exist afterwards (the visitor's badge, an assignment) means. A
// retryable or cancelled error stands. Otherwise the instance is looked
// up, since a refusal may only say that it is gone (OpenAccess's answer
// for a missing instance is not documented): present, err stands as the
// refusal it is; gone (removed meanwhile by someone else), the call did
// not fail for a reason of its own and is worth trying again, so the error
// becomes Unknown; a failed lookup leaves the outcome open (unsettled).
func (p *Provider) refused(ctx context.Context, op, typeName string, k keys, err error) error {
	if acs.CodeOf(err) == acs.Canceled || acs.IsRetryable(err) {
		return err
	}
	left, lerr := p.list(ctx, op, typeName, k.filter())
	switch {
	case lerr != nil:
		return unsettled(err, lerr, "whether the "+typeName+" still exists")
	case k.in(left):
		return err
	}
	var ae *acs.Error
	if !errors.As(err, &ae) {
		return err
	}
	cp := *ae
	cp.Code = acs.Unknown
	cp.Message = "the " + typeName + " was removed while it was being changed"
	return &cp
}

// unsettled is the error of a change that failed with err when the lookup
// meant to tell what err means (is the record gone, was it made after
// all) failed with lerr. err alone may say nothing certain: a refusal of a
// DELETE resent after its first answer was lost names a record that the
// first attempt removed, and a refused create may have been made by a
// replica. So neither error may stand as a definite refusal: a retryable
// or cancelled lookup error is returned as it is, any other becomes
// Unknown, which the caller tries again rather than giving up on the
// visitor's credential or revocation. what names the open question.
func unsettled(err, lerr error, what string) error {
	if acs.IsRetryable(lerr) || acs.CodeOf(lerr) == acs.Canceled {
		return lerr
	}
	var ae *acs.Error
	if !errors.As(err, &ae) {
		return lerr
	}
	why := lerr.Error()
	if le := (*acs.Error)(nil); errors.As(lerr, &le) {
		why = strings.TrimPrefix(why, le.Provider+" "+le.Op+": ")
	}
	cp := *ae
	cp.Code = acs.Unknown
	cp.Message = "OpenAccess refused the change, and " + what + " could not be read (" + why + ")"
	return &cp
}

// stillThere turns a not-found answer about a record that exists (or may)
// into an Unknown error that says so.
func stillThere(err error, typeName string) error {
	var ae *acs.Error
	if !errors.As(err, &ae) {
		return err
	}
	cp := *ae
	cp.Code = acs.Unknown
	cp.Message = "OpenAccess answered not found, but the " + typeName + " still exists"
	return &cp
}

// flexInt decodes an integer sent as a JSON number or a numeric string.
type flexInt int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *flexInt) UnmarshalJSON(b []byte) error {
	v, ok := rawInt(b)
	if !ok && string(bytes.TrimSpace(b)) != "null" {
		return fmt.Errorf("not an integer: %.40s", b)
	}
	*n = flexInt(v)
	return nil
}
