package genetec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// SDKError is a Fail answer of the Web SDK, reachable with errors.As from
// the *acs.Error the adapter returns.
type SDKError struct {
	HTTPStatus int    // the HTTP status the Fail came with (usually 200)
	Code       string // Result.SdkErrorCode, e.g. "InvalidOperation"
	Message    string // Result.Message
}

// Error returns the Web SDK error code and message.
func (e *SDKError) Error() string {
	if e.Code == "" {
		return "Web SDK error: " + e.Message
	}
	return "Web SDK error (" + e.Code + "): " + e.Message
}

// Status values of the Rsp envelope.
const (
	statusOk             = "Ok"
	statusFail           = "Fail"
	statusTooManyResults = "TooManyResults"
	statusPartial        = "Partial"
)

// envelope is a decoded {"Rsp":{"Status":…,"Result":…}} answer.
type envelope struct {
	Status string
	Result json.RawMessage
}

var bom = []byte("\xEF\xBB\xBF")

// queryEncoding re-encodes the query string the way the Web SDK's own
// samples write it: the query language's operators (, = @ ( ) * : / ! ' $
// - . _ ~) stay literal and everything else is percent-encoded, a space as
// %20. net/url would encode the operators too (which the server also
// accepts, as it URL-decodes before parsing q) and a space as '+', which
// nothing public shows the Web SDK reading as a space. Doing it here keeps
// the query out of the HTTP layer's debug log, which records paths only.
type queryEncoding struct{ next http.RoundTripper }

func (t queryEncoding) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.RawQuery == "" {
		return t.next.RoundTrip(r)
	}
	var b strings.Builder
	for i, pair := range strings.Split(r.URL.RawQuery, "&") {
		k, v, _ := strings.Cut(pair, "=")
		dk, err1 := url.QueryUnescape(k)
		dv, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return t.next.RoundTrip(r)
		}
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(qEscape(dk))
		b.WriteByte('=')
		b.WriteString(qEscape(dv))
	}
	r2 := r.Clone(r.Context())
	u := *r.URL
	u.RawQuery = b.String()
	r2.URL = &u
	return t.next.RoundTrip(r2)
}

// qEscape percent-encodes s for a query string, keeping ASCII letters,
// digits and the characters ,=@()*:/!'$-._~ literal.
func qEscape(s string) string {
	const keep = ",=@()*:/!'$-._~"
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// call describes one request.
type call struct {
	op     string
	method string
	path   string // relative to the base URL: "/", "/entity", "/entity/<hex>", "/report/EntityConfiguration"
	q      string
}

// do sends c and decodes the envelope. Only GET and DELETE are retried by
// the HTTP layer: a POST may create entities and is repeated only through
// Provision's find-or-create path. A Fail envelope, a non-2xx status or an
// answer that is not a text/json envelope is an *acs.Error.
func (p *Provider) do(ctx context.Context, c call) (envelope, error) {
	req := acshttp.Request{
		Op:         c.op,
		Method:     c.method,
		Path:       c.path,
		Header:     p.header, // read only: Do copies the entries
		Idempotent: c.method == http.MethodGet || c.method == http.MethodDelete,
	}
	if c.q != "" {
		req.RawQuery = "q=" + qEscape(c.q) // as queryEncoding would write it
	}
	resp, err := p.http.Do(ctx, req)
	if err != nil {
		return envelope{}, acshttp.TransportFailure(c.op, Name, err)
	}
	return p.decode(c.op, resp)
}

// decode interprets an answer.
func (p *Provider) decode(op string, resp *acshttp.Response) (envelope, error) {
	body := bytes.TrimSpace(bytes.TrimPrefix(resp.Body, bom))
	env, isEnv, perr := parseEnvelope(body)
	if isEnv && strings.EqualFold(env.Status, statusFail) {
		return env, p.failError(op, resp.Status, env.Result)
	}
	if !isEnv && refusedAsTooLong(resp.Status, body) {
		return env, &acs.Error{Op: op, Provider: Name, Code: acs.InvalidArgument, Err: errTooLong,
			Message: fmt.Sprintf("the Web SDK's host refused the request as too long (HTTP %d)", resp.Status)}
	}
	switch st := resp.Status; {
	case st == http.StatusUnauthorized:
		return env, &acs.Error{Op: op, Provider: Name, Code: acs.Unauthenticated,
			Message: "the Web SDK refused the credentials of " + p.userRef + " (HTTP 401): check the user name, password and SDK application ID; Active Directory users cannot sign in to the Web SDK"}
	case st == http.StatusForbidden:
		return env, &acs.Error{Op: op, Provider: Name, Code: acs.PermissionDenied,
			Message: "the Web SDK answered 403 Forbidden: the SDK certificate's part number is missing from the Security Center licence, or the user lacks the \"Log on using the SDK\" privilege"}
	case st == http.StatusBadRequest && !isEnv:
		return env, &acs.Error{Op: op, Provider: Name, Code: acs.InvalidArgument,
			Message: "the Web SDK answered HTTP 400 with an HTML page" + htmlTitle(body) + ": it did not recognise an item name in the request (an unsupported Security Center version?)"}
	case st == http.StatusNotFound && !isEnv:
		return env, acshttp.StatusError(op, Name, resp, acs.Misconfigured,
			"no Web SDK endpoint at this URL (HTTP 404): check the base URL, port (default 4590) and Base URI (default WebSdk) of the Web-based SDK role")
	case st == http.StatusLengthRequired:
		return env, acshttp.StatusError(op, Name, resp, acs.InvalidArgument, "the Web SDK answered 411 Length Required")
	case st < 200 || st > 299:
		code := acshttp.CodeForStatus(st)
		msg := fmt.Sprintf("the Web SDK answered HTTP %d", st)
		if code == acs.Unavailable {
			msg += ": the Web-based SDK role or the Directory is unavailable"
		}
		return env, acshttp.StatusError(op, Name, resp, code, msg)
	}
	if isEnv {
		return env, nil
	}
	switch {
	case len(body) == 0:
		return env, acs.Errorf(op, Name, acs.Unknown, "the Web SDK sent an empty answer")
	case body[0] == '<':
		return env, acs.Errorf(op, Name, acs.Unsupported,
			"the Web SDK answered in XML although text/json was asked for: the adapter needs Security Center 5.8 or later")
	case perr == errLegacyJSON:
		return env, acs.Errorf(op, Name, acs.Unsupported,
			"the Web SDK answered in the legacy JSON format although text/json was asked for: the adapter needs Security Center 5.8 or later")
	}
	return env, acs.Errorf(op, Name, acs.Unknown, "the Web SDK sent an answer that is not a text/json envelope (%d bytes)", len(body))
}

var errLegacyJSON = fmt.Errorf("legacy JSON")

// errTooLong is the cause of an error for a request its server refused
// as too long (see refusedAsTooLong); reads answer it with smaller
// batches.
var errTooLong = errors.New("request too long")

// refusedAsTooLong reports whether a non-envelope answer refuses the
// request for its length: 414 URI Too Long, or the pages of Windows hosts
// that say so with another status (http.sys "Request Too Long" with 400,
// IIS request filtering "Query String Too Long" with 404.15).
func refusedAsTooLong(status int, body []byte) bool {
	switch status {
	case http.StatusRequestURITooLong:
		return true
	case http.StatusBadRequest, http.StatusNotFound:
		return bytes.Contains(bytes.ToLower(body), []byte("too long"))
	}
	return false
}

// parseEnvelope decodes {"Rsp":{"Status":…,"Result":…}} with the exact
// casing of the text/json serializer; the legacy lower-case {"rsp":…} is
// reported as errLegacyJSON.
func parseEnvelope(body []byte) (envelope, bool, error) {
	if len(body) == 0 || body[0] != '{' {
		return envelope{}, false, nil
	}
	if firstKeyIs(body, `"Rsp"`) {
		// The usual answer: decoded in one pass into a struct.
		var typed struct {
			Rsp struct {
				Status string          `json:"Status"`
				Result json.RawMessage `json:"Result"`
			} `json:"Rsp"`
		}
		if err := json.Unmarshal(body, &typed); err != nil {
			return envelope{}, false, err
		}
		if typed.Rsp.Status == "" {
			return envelope{}, false, nil
		}
		return envelope{Status: typed.Rsp.Status, Result: typed.Rsp.Result}, true, nil
	}
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(body, &outer); err != nil {
		return envelope{}, false, err
	}
	rsp, ok := outer["Rsp"]
	if !ok {
		if _, legacy := outer["rsp"]; legacy {
			return envelope{}, false, errLegacyJSON
		}
		return envelope{}, false, nil
	}
	var inner map[string]json.RawMessage
	if err := json.Unmarshal(rsp, &inner); err != nil {
		return envelope{}, false, err
	}
	var env envelope
	if err := json.Unmarshal(inner["Status"], &env.Status); err != nil || env.Status == "" {
		return envelope{}, false, nil
	}
	env.Result = inner["Result"]
	return env, true, nil
}

// firstKeyIs reports whether the JSON object in body starts with the key
// quoted (its quotes included), spelt exactly so.
func firstKeyIs(body []byte, quoted string) bool {
	rest := bytes.TrimLeft(body[1:], " \t\r\n")
	if !bytes.HasPrefix(rest, []byte(quoted)) {
		return false
	}
	rest = bytes.TrimLeft(rest[len(quoted):], " \t\r\n")
	return len(rest) > 0 && rest[0] == ':'
}

// failError classifies a Fail envelope. Public sources show one
// SdkErrorCode only, InvalidOperation, with the reason in the message, and
// do not show the HTTP status a Fail comes with (2xx is inferred). So the
// HTTP status is read first (a Fail with 401, 403, 429 or 5xx is
// classified like that status), then the message, then the code. The
// classification describes the failure; whether an entity is gone is
// never decided from it (see settle).
func (p *Provider) failError(op string, status int, result json.RawMessage) error {
	var r struct {
		SdkErrorCode json.RawMessage
		Message      string
	}
	_ = json.Unmarshal(result, &r)
	se := &SDKError{HTTPStatus: status, Code: p.http.Redact(rawString(r.SdkErrorCode)), Message: p.http.Redact(truncate(r.Message, 500))}
	code, hint := classifyFail(status, se.Code, se.Message)
	return &acs.Error{Op: op, Provider: Name, Code: code, Message: hint, Err: se}
}

func rawString(m json.RawMessage) string {
	var s string
	if json.Unmarshal(m, &s) == nil {
		return s
	}
	return strings.Trim(string(m), `"`)
}

// missingWords match a message saying an entity does not exist ("Unable
// to find entity <guid>"), and not one about a property or filter
// ("Could not find property 'Page' from filter: 'Page=1'").
var missingWords = regexp.MustCompile(`(?i)((unable to|could not|couldn't|cannot|can't|failed to) (find|locate|load|retrieve) (the |an |this )?entity|entity\b.{0,80}\b(was |is )?not found|entity\b.{0,80}\b(does not|doesn't) exist|no such entity|unknown entity)`)

func classifyFail(status int, code, message string) (acs.Code, string) {
	switch {
	case status == http.StatusUnauthorized:
		return acs.Unauthenticated, "the Web SDK refused the credentials"
	case status == http.StatusForbidden:
		return acs.PermissionDenied, "the Security Center user lacks a privilege or licence for this"
	case status == http.StatusTooManyRequests:
		return acs.RateLimited, "the Web SDK asked to slow down"
	case status >= 500:
		return acs.Unavailable, "Security Center failed to handle the request"
	case missingWords.MatchString(message):
		return acs.NotFound, "the Web SDK says an entity does not exist"
	}
	if c, hint := classifyWords(message); c != acs.Unknown {
		return c, hint
	}
	return classifySdkCode(code)
}

// classifyWords classifies a message by the words it is likely to contain.
func classifyWords(s string) (acs.Code, string) {
	s = strings.ToLower(s)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(s, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("privilege", "not authorized", "unauthorized", "permission", "access denied", "not allowed to"):
		return acs.PermissionDenied, "the Security Center user lacks a privilege or partition access for this"
	case has("licence", "license"):
		return acs.PermissionDenied, "the Security Center licence does not allow this"
	case has("timed out", "timeout", "temporarily unavailable", "not connected", "disconnected", "busy", "try again"):
		return acs.Unavailable, "Security Center is temporarily unavailable"
	}
	return acs.Unknown, ""
}

func classifySdkCode(code string) (acs.Code, string) {
	c := strings.ToLower(code)
	switch {
	case strings.Contains(c, "notfound") || strings.Contains(c, "unknownentity") || strings.Contains(c, "doesnotexist"):
		return acs.NotFound, "the Web SDK says an entity does not exist"
	case strings.Contains(c, "denied") || strings.Contains(c, "privilege") || strings.Contains(c, "unauthorized") || strings.Contains(c, "permission"):
		return acs.PermissionDenied, "the Security Center user lacks a privilege or partition access for this"
	case strings.Contains(c, "licen"):
		return acs.PermissionDenied, "the Security Center licence does not allow this"
	case strings.Contains(c, "timeout") || strings.Contains(c, "unavailable") || strings.Contains(c, "notconnected") || strings.Contains(c, "busy"):
		return acs.Unavailable, "Security Center is temporarily unavailable"
	case strings.Contains(c, "invalid"):
		return acs.InvalidArgument, "the Web SDK refused the request"
	}
	return acs.Unknown, "the Web SDK refused the request"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

var titleRE = regexp.MustCompile(`(?is)<title>\s*([^<]{1,120})`)

func htmlTitle(body []byte) string {
	if m := titleRE.FindSubmatch(body); m != nil {
		return " (" + strings.TrimSpace(string(m[1])) + ")"
	}
	return ""
}

// object is one entity of a result, keyed by field name.
type object map[string]json.RawMessage

// objects returns the entities of a Result: an object for a single entity,
// an array for several, nothing for null or an absent Result.
func objects(result json.RawMessage) ([]object, error) {
	result = bytes.TrimSpace(result)
	if len(result) == 0 || string(result) == "null" {
		return nil, nil
	}
	switch result[0] {
	case '{':
		var o object
		if err := json.Unmarshal(result, &o); err != nil {
			return nil, err
		}
		return []object{o}, nil
	case '[':
		var os []object
		if err := json.Unmarshal(result, &os); err != nil {
			return nil, err
		}
		return os, nil
	}
	return nil, fmt.Errorf("result is neither an object nor an array")
}

// resultGUIDs returns the Guid fields of the entities of a Result (see
// objects), decoded into a struct rather than a map per entity: a
// report's answer holds nothing else the caller needs.
func resultGUIDs(result json.RawMessage) ([]guid, error) {
	type row struct {
		Guid json.RawMessage // as object.str reads it: a value that is not a string is skipped
	}
	result = bytes.TrimSpace(result)
	if len(result) == 0 || string(result) == "null" {
		return nil, nil
	}
	var rows []row
	switch result[0] {
	case '{':
		var r row
		if err := json.Unmarshal(result, &r); err != nil {
			return nil, err
		}
		rows = []row{r}
	case '[':
		if err := json.Unmarshal(result, &rows); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("result is neither an object nor an array")
	}
	out := make([]guid, 0, len(rows))
	for _, r := range rows {
		if g, ok := parseGUID(rawStr(r.Guid)); ok {
			out = append(out, g)
		}
	}
	return out, nil
}

// field returns the raw value of a field, matching the name exactly first
// and then case-insensitively.
func (o object) field(name string) json.RawMessage {
	if v, ok := o[name]; ok {
		return v
	}
	for k, v := range o {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

func (o object) str(name string) string { return rawStr(o.field(name)) }

// rawStr reads a JSON string; anything else is "".
func rawStr(raw json.RawMessage) string {
	if s, ok := plainString(raw); ok {
		return s
	}
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// plainString reads a JSON string without escapes (a GUID, a name, a
// date) without the reflection of json.Unmarshal; ok is false for
// anything else, which json.Unmarshal then reads.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	in := raw[1 : len(raw)-1]
	for _, c := range in {
		if c == '\\' || c == '"' || c < 0x20 || c >= 0x80 {
			return "", false
		}
	}
	return string(in), true
}

func (o object) guid(name string) (guid, bool) {
	return parseGUID(o.str(name))
}

// guids reads a collection of entity references: an array of GUID strings
// or of objects with a Guid field (also inside a legacy {"item":[…]}).
func (o object) guids(name string) []guid {
	raw := bytes.TrimSpace(o.field(name))
	if len(raw) > 0 && raw[0] == '{' {
		var wrap struct{ Item json.RawMessage }
		if json.Unmarshal(raw, &wrap) == nil {
			raw = wrap.Item
		}
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	out := make([]guid, 0, len(items))
	for _, it := range items {
		var s string
		if json.Unmarshal(it, &s) != nil {
			var ob struct{ Guid string }
			if json.Unmarshal(it, &ob) != nil {
				continue
			}
			s = ob.Guid
		}
		if g, ok := parseGUID(s); ok {
			out = append(out, g)
		}
	}
	return out
}
