package netboxsim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
)

// node is an XML element: its name, attributes, text and children.
type node struct {
	name  string
	attrs []xml.Attr
	text  string
	kids  []*node
}

func el(name, text string) *node { return &node{name: name, text: text} }

func (n *node) add(kids ...*node) *node {
	n.kids = append(n.kids, kids...)
	return n
}

func (n *node) attr(name string) string {
	for _, a := range n.attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// errTooDeep refuses documents nested beyond any NBAPI command.
var errTooDeep = errors.New("document nested too deeply")

// parseTree reads one XML document into a tree; text outside elements
// must be white space.
func parseTree(doc []byte) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	var stack []*node
	var root *node
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
			if len(stack) >= 16 {
				return nil, errTooDeep
			}
			n := &node{name: t.Name.Local, attrs: t.Copy().Attr}
			if len(stack) > 0 {
				stack[len(stack)-1].add(n)
			} else if root != nil {
				return nil, errors.New("more than one root element")
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("text outside the root element")
			}
		}
	}
	if root == nil {
		return nil, errors.New("no root element")
	}
	return root, nil
}

// command is one parsed NBAPI command.
type command struct {
	name, num, session string
	params             []*node
}

// parseCommand reads a <NETBOX-API> document. The int is the APIERROR to
// answer when the document is not a command (0 when it is).
func parseCommand(doc []byte) (*command, int) {
	root, err := parseTree(doc)
	if err != nil || root.name != "NETBOX-API" {
		return nil, 4
	}
	var cmds []*node
	for _, k := range root.kids {
		if k.name != "COMMAND" {
			return nil, 4
		}
		cmds = append(cmds, k)
	}
	switch {
	case len(cmds) == 0:
		return nil, 3
	case len(cmds) > 1:
		return nil, 4
	}
	c := &command{name: cmds[0].attr("name"), num: cmds[0].attr("num"), session: root.attr("sessionid")}
	if c.name == "" {
		return c, 3
	}
	for _, k := range cmds[0].kids {
		if k.name != "PARAMS" || c.params != nil {
			return c, 4
		}
		c.params = append([]*node{}, k.kids...)
	}
	return c, 0
}

// param returns the text of a plain parameter.
func (c *command) param(name string) (string, bool) {
	for _, p := range c.params {
		if p.name == name && len(p.kids) == 0 {
			return p.text, true
		}
	}
	return "", false
}

// checkParams refuses a parameter the command does not take, or one given
// twice, with the FAIL message to answer.
func (c *command) checkParams(allowed string) string {
	seen := map[string]bool{}
	for _, p := range c.params {
		ok := strings.Contains(" "+allowed+" ", " "+p.name+" ") ||
			strings.Contains(allowed, "UDFn") && isUDF(p.name)
		if !ok {
			return "Unknown parameter " + p.name
		}
		if seen[p.name] {
			return "Parameter " + p.name + " given twice"
		}
		seen[p.name] = true
	}
	return ""
}

func isUDF(name string) bool {
	n, err := strconv.Atoi(strings.TrimPrefix(name, "UDF"))
	return strings.HasPrefix(name, "UDF") && err == nil && n >= 1 && n <= 20
}

// logParams formats the parameters for the request log.
func (c *command) logParams() string {
	var b strings.Builder
	for i, p := range c.params {
		if i > 0 {
			b.WriteString("; ")
		}
		writeLogNode(&b, p)
	}
	return b.String()
}

func writeLogNode(b *strings.Builder, n *node) {
	b.WriteString(n.name)
	if len(n.kids) == 0 {
		b.WriteByte('=')
		if n.name == "PASSWORD" {
			b.WriteString("[REDACTED]")
		} else {
			b.WriteString(n.text)
		}
		return
	}
	b.WriteByte('[')
	for i, k := range n.kids {
		if i > 0 {
			b.WriteString(", ")
		}
		writeLogNode(b, k)
	}
	b.WriteByte(']')
}

// result is a command's answer.
type result struct {
	apiError   int
	code       string // SUCCESS, FAIL, NOT FOUND, DUPLICATE, …
	errmsg     string
	details    *node
	sessionID  string // Login: the new session
	httpStatus int    // a non-NBAPI answer
	rawBody    string
}

func ok(details *node) *result { return &result{code: "SUCCESS", details: details} }
func fail(msg string) *result  { return &result{code: "FAIL", errmsg: msg} }

func (r *result) summary() string {
	switch {
	case r.apiError != 0:
		return "APIERROR " + strconv.Itoa(r.apiError)
	case r.code == "FAIL":
		return "FAIL: " + r.errmsg
	}
	return r.code
}

// encode writes the <NETBOX> answer with encoding/xml.
func (s *Server) encode(r *result, cmd *command) ([]byte, error) {
	root := &node{name: "NETBOX"}
	if r.sessionID != "" {
		root.attrs = []xml.Attr{{Name: xml.Name{Local: "sessionid"}, Value: r.sessionID}}
	}
	resp := &node{name: "RESPONSE"}
	if cmd != nil {
		resp.attrs = []xml.Attr{{Name: xml.Name{Local: "command"}, Value: cmd.name}, {Name: xml.Name{Local: "num"}, Value: cmd.num}}
	}
	switch {
	case r.apiError != 0 && s.errAtRoot:
		root.add(el("APIERROR", strconv.Itoa(r.apiError)))
	case r.apiError != 0:
		root.add(resp.add(el("APIERROR", strconv.Itoa(r.apiError))))
	default:
		resp.add(el("CODE", r.code))
		if r.errmsg != "" {
			resp.add(el("ERRMSG", r.errmsg))
		}
		if r.details != nil {
			resp.add(r.details)
		}
		root.add(resp)
	}
	var buf bytes.Buffer
	e := xml.NewEncoder(&buf)
	if err := encodeNode(e, root); err != nil {
		return nil, err
	}
	if err := e.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func encodeNode(e *xml.Encoder, n *node) error {
	start := xml.StartElement{Name: xml.Name{Local: n.name}, Attr: n.attrs}
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	if n.text != "" {
		if err := e.EncodeToken(xml.CharData(n.text)); err != nil {
			return err
		}
	}
	for _, k := range n.kids {
		if err := encodeNode(e, k); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}
