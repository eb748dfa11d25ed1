package netbox

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// The APIERROR codes of the NBAPI.
const (
	apiInitFail       = 1 // the API failed to initialise
	apiDisabled       = 2 // the API is not enabled
	apiNoCommand      = 3 // no command in the request
	apiParseError     = 4 // the request did not parse
	apiAuthFailure    = 5 // authentication failure, also an expired session
	apiUnknownCommand = 6 // unknown command
)

// Error is an NBAPI answer other than SUCCESS, or an HTTP answer that is
// not the NBAPI's, reachable with errors.As from the *acs.Error the
// provider returns. Its text never holds the password or a session ID.
type Error struct {
	Command string // the NBAPI command, such as "AddCredential"
	// APIError is the <APIERROR> code (1–6 documented), 0 for a
	// command-level answer.
	APIError int
	// Code is the command-level <CODE> (FAIL, NOT FOUND, DUPLICATE, or
	// whatever the controller answered; empty when the answer had none).
	Code string
	// Message is the ERRMSG, or a description of an answer that was not
	// the NBAPI's.
	Message string
	// Status is the HTTP status of an answer that was not the NBAPI's
	// (the NBAPI answers everything with 200); 0 otherwise.
	Status int
}

// Error prints the controller's answer: the API error number or the
// command's code and message.
func (e *Error) Error() string {
	switch {
	case e.Status != 0:
		return fmt.Sprintf("NBAPI %s: HTTP %d: %s", e.Command, e.Status, e.Message)
	case e.APIError != 0:
		return fmt.Sprintf("NBAPI %s: APIERROR %d (%s)", e.Command, e.APIError, apiErrorText(e.APIError))
	case e.Message != "":
		return fmt.Sprintf("NBAPI %s: %s: %s", e.Command, e.Code, e.Message)
	}
	return fmt.Sprintf("NBAPI %s: %s", e.Command, e.Code)
}

func apiErrorText(n int) string {
	switch n {
	case apiInitFail:
		return "the API failed to initialise"
	case apiDisabled:
		return "the API is not enabled on the controller"
	case apiNoCommand:
		return "no command in the request"
	case apiParseError:
		return "the controller could not parse the request"
	case apiAuthFailure:
		return "authentication failure"
	case apiUnknownCommand:
		return "unknown command"
	}
	return "undocumented code"
}

// notFound reports whether the answer says the record or collection does
// not exist: CODE NOT FOUND, or FAIL with ERRMSG NOT FOUND (how 6.2.0
// answers an empty collection).
func (e *Error) notFound() bool {
	if e.Status != 0 || e.APIError != 0 {
		return false
	}
	return e.Code == "NOT FOUND" || e.Code == "FAIL" && strings.Contains(strings.ToUpper(e.Message), "NOT FOUND")
}

// code classifies the answer.
func (e *Error) code() acs.Code {
	switch {
	case e.Status != 0:
		return acshttp.CodeForStatus(e.Status)
	case e.APIError != 0:
		return apiErrorCode(e.APIError)
	case e.notFound():
		return acs.NotFound
	case e.Code == "DUPLICATE":
		return acs.AlreadyExists
	case e.Code == "FAIL":
		return failCode(e.Message)
	}
	return acs.Unknown
}

func apiErrorCode(n int) acs.Code {
	switch n {
	case apiInitFail:
		return acs.Unavailable
	case apiDisabled:
		return acs.PermissionDenied
	case apiNoCommand, apiParseError:
		return acs.InvalidArgument
	case apiAuthFailure:
		return acs.Unauthenticated
	case apiUnknownCommand:
		return acs.Unsupported
	}
	return acs.Unknown
}

// failCode classifies a FAIL by its ERRMSG. The texts are not documented:
// only words that can mean nothing else are read, and anything else is
// Unknown (never a success).
func failCode(msg string) acs.Code {
	m := strings.ToLower(msg)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(m, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("duplicate", "already exist", "in use"):
		return acs.AlreadyExists
	case has("permission", "privilege", "not authorized", "not allowed", "read-only", "read only"):
		return acs.PermissionDenied
	case has("invalid", "required", "unknown parameter", "too many", "format"):
		return acs.InvalidArgument
	}
	return acs.Unknown
}

// param is one element of a command's PARAMS: a value, or a block of
// elements.
type param struct {
	name  string
	value string
	kids  []param
}

func pv(name, value string) param            { return param{name: name, value: value} }
func block(name string, kids ...param) param { return param{name: name, kids: kids} }

// errNotXMLText refuses a value XML 1.0 cannot carry exactly.
var errNotXMLText = errors.New("holds a character XML cannot carry (invalid UTF-8, a control character or a non-character such as U+FFFE)")

// xmlText checks that s can travel as XML character data and be read back
// unchanged: valid UTF-8 of XML 1.0 characters, without the control
// characters XML would carry only as escapes that some parsers refuse.
func xmlText(s string) error {
	if !utf8.ValidString(s) {
		return errNotXMLText
	}
	for _, r := range s {
		switch {
		case r >= 0x20 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
		default:
			return errNotXMLText
		}
	}
	return nil
}

// marshalCommand writes <NETBOX-API sessionid><COMMAND name num><PARAMS>
// with encoding/xml, which escapes every value; a value XML cannot carry
// exactly is refused.
func marshalCommand(session, name string, num uint64, params []param) ([]byte, error) {
	var buf bytes.Buffer
	e := xml.NewEncoder(&buf)
	root := xml.StartElement{Name: xml.Name{Local: "NETBOX-API"}}
	if session != "" {
		root.Attr = []xml.Attr{{Name: xml.Name{Local: "sessionid"}, Value: session}}
	}
	cmd := xml.StartElement{Name: xml.Name{Local: "COMMAND"}, Attr: []xml.Attr{
		{Name: xml.Name{Local: "name"}, Value: name}, {Name: xml.Name{Local: "num"}, Value: strconv.FormatUint(num, 10)}}}
	toks := []xml.Token{root, cmd}
	if len(params) > 0 {
		toks = append(toks, xml.StartElement{Name: xml.Name{Local: "PARAMS"}})
	}
	for _, t := range toks {
		if err := e.EncodeToken(t); err != nil {
			return nil, err
		}
	}
	for _, p := range params {
		if err := encodeParam(e, p); err != nil {
			return nil, err
		}
	}
	var ends []xml.Token
	if len(params) > 0 {
		ends = append(ends, xml.EndElement{Name: xml.Name{Local: "PARAMS"}})
	}
	for _, t := range append(ends, cmd.End(), root.End()) {
		if err := e.EncodeToken(t); err != nil {
			return nil, err
		}
	}
	if err := e.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func encodeParam(e *xml.Encoder, p param) error {
	if err := xmlText(p.value); err != nil {
		return fmt.Errorf("%s %w", p.name, err)
	}
	start := xml.StartElement{Name: xml.Name{Local: p.name}}
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	if p.value != "" {
		if err := e.EncodeToken(xml.CharData(p.value)); err != nil {
			return err
		}
	}
	for _, k := range p.kids {
		if err := encodeParam(e, k); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// xnode is an element of an answer.
type xnode struct {
	name  string
	attrs []xml.Attr
	text  string
	kids  []*xnode
}

// child returns the first child named name (case-insensitively).
func (n *xnode) child(name string) *xnode {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if strings.EqualFold(k.name, name) {
			return k
		}
	}
	return nil
}

// children returns the children named name.
func (n *xnode) children(name string) []*xnode {
	if n == nil {
		return nil
	}
	var out []*xnode
	for _, k := range n.kids {
		if strings.EqualFold(k.name, name) {
			out = append(out, k)
		}
	}
	return out
}

// str returns the trimmed text of the child named name.
func (n *xnode) str(name string) string {
	if c := n.child(name); c != nil {
		return strings.TrimSpace(c.text)
	}
	return ""
}

// raw returns the text of the child named name as sent.
func (n *xnode) raw(name string) string {
	if c := n.child(name); c != nil {
		return c.text
	}
	return ""
}

func (n *xnode) attr(name string) string {
	for _, a := range n.attrs {
		if strings.EqualFold(a.Name.Local, name) {
			return a.Value
		}
	}
	return ""
}

// maxDepth bounds the nesting of an answer.
const maxDepth = 32

// parseXML reads an answer into a tree. Documents declaring ISO-8859-1 or
// US-ASCII are converted; entities other than XML's own are refused by
// encoding/xml, so an answer cannot make the parser fetch or expand
// anything.
func parseXML(body []byte) (*xnode, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.CharsetReader = charsetReader
	var stack []*xnode
	var root *xnode
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, errors.New("answer nested too deeply")
			}
			n := &xnode{name: t.Name.Local, attrs: t.Copy().Attr}
			switch {
			case len(stack) > 0:
				stack[len(stack)-1].kids = append(stack[len(stack)-1].kids, n)
			case root != nil:
				return nil, errors.New("more than one root element")
			default:
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("no XML element")
	}
	return root, nil
}

func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "iso-8859-1", "latin1", "iso_8859-1", "us-ascii", "ascii":
		data, err := io.ReadAll(in)
		if err != nil {
			return nil, err
		}
		out := make([]rune, len(data))
		for i, b := range data {
			out[i] = rune(b)
		}
		return strings.NewReader(string(out)), nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", label)
}

// answer is a parsed NBAPI answer.
type answer struct {
	session string // NETBOX's sessionid attribute
	details *xnode
	err     *Error // nil for SUCCESS
}

// readAnswer interprets the answer to command. APIERROR is read directly
// under NETBOX or inside RESPONSE (public clients disagree on where it
// sits); ERRMSG inside RESPONSE or its DETAILS. An answer without a
// RESPONSE or CODE, for another command, or with a CODE other than
// SUCCESS is an error: nothing unclassified passes for a success.
func readAnswer(command string, body []byte) (answer, error) {
	root, err := parseXML(body)
	if err != nil {
		return answer{}, fmt.Errorf("the answer is not XML: %w", err)
	}
	if !strings.EqualFold(root.name, "NETBOX") && !strings.EqualFold(root.name, "NETBOX-API") {
		return answer{}, fmt.Errorf("the answer's root element is <%.40s>, not <NETBOX>", root.name)
	}
	a := answer{session: root.attr("sessionid")}
	resp := root.child("RESPONSE")
	apiErr := root.child("APIERROR")
	if apiErr == nil {
		apiErr = resp.child("APIERROR")
	}
	if apiErr != nil {
		n, err := strconv.Atoi(strings.TrimSpace(apiErr.text))
		if err != nil {
			n = -1
		}
		a.err = &Error{Command: command, APIError: n}
		return a, nil
	}
	if resp == nil {
		return answer{}, errors.New("the answer has no RESPONSE")
	}
	if c := resp.attr("command"); c != "" && !strings.EqualFold(c, command) {
		return answer{}, fmt.Errorf("the answer is for command %.40q", c)
	}
	code := strings.ToUpper(strings.Join(strings.Fields(resp.str("CODE")), " "))
	a.details = resp.child("DETAILS")
	if code == "SUCCESS" {
		return a, nil
	}
	msg := resp.raw("ERRMSG")
	if msg == "" {
		msg = a.details.raw("ERRMSG")
	}
	if code == "" {
		code = "no CODE"
	}
	a.err = &Error{Command: command, Code: code, Message: strings.TrimSpace(msg)}
	return a, nil
}

// request is one NBAPI command to send.
type request struct {
	op      string
	command string
	params  []param
	// idempotent marks commands that are safe to send twice (reads, a
	// ModifyCredential or ModifyPerson setting a whole state, a removal,
	// Logout): only these are retried after a transport failure.
	idempotent bool
}

// send posts one command with the given session and reads the answer. The
// error is an *acs.Error for every outcome but SUCCESS.
func (p *Provider) send(ctx context.Context, r request, session string) (answer, error) {
	doc, err := marshalCommand(session, r.command, p.num.Add(1), r.params)
	if err != nil {
		return answer{}, acs.Errorf(r.op, Name, acs.InvalidArgument, "%s: %v", r.command, err)
	}
	h := http.Header{}
	h.Set("Accept", "text/xml")
	body := doc
	if p.cfg.FormEncoded {
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		body = []byte(url.Values{"APIcommand": {string(doc)}}.Encode())
	} else {
		h.Set("Content-Type", "text/xml; charset=utf-8")
	}
	resp, err := p.hc.Do(ctx, acshttp.Request{Op: r.op, Method: http.MethodPost, Header: h, Body: body, Idempotent: r.idempotent})
	if err != nil {
		if ctx.Err() != nil {
			return answer{}, acs.Wrap(r.op, Name, acs.Canceled, ctx.Err())
		}
		return answer{}, acshttp.TransportFailure(r.op, Name, err) // acshttp errors hold no secret
	}
	if resp.Status != http.StatusOK {
		return answer{}, p.httpError(r, resp)
	}
	a, err := readAnswer(r.command, resp.Body)
	if err != nil {
		return answer{}, &acs.Error{Op: r.op, Provider: Name, Code: acs.Unknown,
			Message: "the controller's answer is not an NBAPI answer", Err: errors.New(p.redactAll(err.Error(), session))}
	}
	if a.err != nil {
		a.err.Message = p.redactAll(clip(a.err.Message), session)
		return a, &acs.Error{Op: r.op, Provider: Name, Code: a.err.code(), Err: a.err}
	}
	return a, nil
}

// httpError classifies an answer other than HTTP 200, which the NBAPI
// never sends itself: a wrong path, a proxy, a web server error.
func (p *Provider) httpError(r request, resp *acshttp.Response) error {
	e := &Error{Command: r.command, Status: resp.Status, Message: http.StatusText(resp.Status)}
	code := acshttp.CodeForStatus(resp.Status)
	msg := ""
	switch resp.Status {
	case http.StatusGone:
		code = acs.Misconfigured
		msg = "the controller answers 410 Gone: NetBox 6.x serves the NBAPI at /nbws/goforms/nbapi, not /goforms/nbapi"
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		code = acs.Misconfigured
		msg = "no NBAPI at this URL: NetBox 6.x serves it at /nbws/goforms/nbapi (before 6.x, /goforms/nbapi)"
	}
	ae := acshttp.StatusError(r.op, Name, resp, code, msg).(*acs.Error)
	ae.Err = e
	return ae
}

// redactAll removes the password, the current session and the session a
// request used from s.
func (p *Provider) redactAll(s, session string) string {
	return p.hc.Redact(s, p.currentSession(), session)
}

// clip bounds text quoted from the controller.
func clip(s string) string {
	if len(s) > 300 {
		return strings.ToValidUTF8(s[:300], "") + "…"
	}
	return s
}

// truncate bounds a value quoted in an option's error.
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

// absent reports whether err is the controller's answer that the record
// or collection does not exist (never a transport failure or an HTTP 404).
func absent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.notFound()
}

// nbapiError returns the NBAPI answer inside err, if any.
func nbapiError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
