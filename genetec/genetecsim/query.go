package genetecsim

import (
	"fmt"
	"strings"
)

// Kind classifies one comma-separated item of a q= expression.
type Kind int

// The item kinds the parser recognises.
const (
	KindEntity Kind = iota + 1 // entity=<reference>: starts a new entity segment
	KindRead                   // Prop: a projected field
	KindSet                    // Prop=value
	KindAdd                    // Prop@value[@value…]: add to a collection
	KindRemove                 // Prop-value: remove from a collection
	KindClear                  // Prop*: clear a collection
	KindCall                   // Method(args)
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case KindEntity:
		return "entity"
	case KindRead:
		return "read"
	case KindSet:
		return "set"
	case KindAdd:
		return "add"
	case KindRemove:
		return "remove"
	case KindClear:
		return "clear"
	case KindCall:
		return "call"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Item is one parsed element of a q= expression, with every backslash
// escape already resolved in Value, Values and Args.
type Item struct {
	Kind Kind
	// Name is the property or method name (for KindEntity: "entity").
	Name string
	// Value is the value of a set, the entity reference of KindEntity, or
	// the single operand of an add or remove.
	Value string
	// Values holds every operand of an add (EntityTypes@A@B gives two).
	Values []string
	// Func and Args describe a value written as a method call
	// (ActivationMode=SpecificActivationPeriod(a,b)), a call item
	// (AddCardholderIntoGroup(g)), a method call on a property
	// (TimeRange.SetTimeRange(a,b): Name is "TimeRange", Func
	// "SetTimeRange") or an entity reference such as
	// NewEntity(Cardholder). Func is empty for plain values.
	Func string
	Args []string
	// XML is true when Value is an XML literal (Format=<UndecodedWiegand>…).
	XML bool
	// Raw is the item as it appeared in q, escapes included.
	Raw string
}

// ParseError describes why a q= expression was not understood.
type ParseError struct {
	Pos int    // byte offset in q
	Msg string // what is wrong
}

// Error describes the parse failure and where it happened.
func (e *ParseError) Error() string {
	return fmt.Sprintf("q= parse error at byte %d: %s", e.Pos, e.Msg)
}

// ParseQuery parses the subset of the Web SDK query language that the
// simulator understands: comma-separated items, backslash escapes (a
// backslash makes the next character literal), parenthesised and braced
// arguments, and XML literals after '='. It is strict: an operator
// character that appears unescaped inside a plain value ('(', ')', '{',
// '}', '=', '@', '*', '#', '<', '>') is an error rather than being taken
// literally, so that a client which forgets to escape shows up.
//
// ParseQuery is exported so that tests of a client can check the
// structure their queries parse to.
func ParseQuery(q string) ([]Item, error) {
	raws, starts, err := splitItems(q)
	if err != nil {
		return nil, err
	}
	items := make([]Item, 0, len(raws))
	for i, raw := range raws {
		it, err := parseItem(raw)
		if err != nil {
			return nil, &ParseError{Pos: starts[i], Msg: fmt.Sprintf("item %q: %s", raw, err)}
		}
		items = append(items, it)
	}
	return items, nil
}

// splitItems splits q on commas that are unescaped, outside parentheses
// and braces, and outside XML literals.
func splitItems(q string) ([]string, []int, error) {
	if q == "" {
		return nil, nil, &ParseError{Pos: 0, Msg: "empty query"}
	}
	var (
		items  []string
		starts []int
		depth  []byte // stack of expected closers
		start  = 0
	)
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\\':
			if i+1 >= len(q) {
				return nil, nil, &ParseError{Pos: i, Msg: "backslash at the end of the query"}
			}
			i++
		case c == '#':
			return nil, nil, &ParseError{Pos: i, Msg: "'#' is an excluded character"}
		case c < 0x20 || c == 0x7f:
			return nil, nil, &ParseError{Pos: i, Msg: fmt.Sprintf("control character %#02x", c)}
		case c == '<' && i > 0 && q[i-1] == '=' && (i < 2 || q[i-2] != '\\'):
			end, err := xmlEnd(q, i)
			if err != nil {
				return nil, nil, err
			}
			i = end - 1
		case c == '(':
			depth = append(depth, ')')
		case c == '{':
			depth = append(depth, '}')
		case c == ')' || c == '}':
			if len(depth) == 0 || depth[len(depth)-1] != c {
				return nil, nil, &ParseError{Pos: i, Msg: fmt.Sprintf("unbalanced %q", c)}
			}
			depth = depth[:len(depth)-1]
		case c == ',' && len(depth) == 0:
			if i == start {
				return nil, nil, &ParseError{Pos: i, Msg: "empty item"}
			}
			items = append(items, q[start:i])
			starts = append(starts, start)
			start = i + 1
		}
	}
	if len(depth) != 0 {
		return nil, nil, &ParseError{Pos: len(q), Msg: fmt.Sprintf("missing %q", depth[len(depth)-1])}
	}
	if start >= len(q) {
		return nil, nil, &ParseError{Pos: len(q), Msg: "empty item at the end"}
	}
	items = append(items, q[start:])
	starts = append(starts, start)
	return items, starts, nil
}

// xmlEnd returns the offset just after the XML element starting at q[i].
func xmlEnd(q string, i int) (int, error) {
	j := i + 1
	for j < len(q) && isIdent(q[j]) {
		j++
	}
	if j == i+1 || j >= len(q) || q[j] != '>' {
		return 0, &ParseError{Pos: i, Msg: "malformed XML literal"}
	}
	closer := "</" + q[i+1:j] + ">"
	k := strings.Index(q[j:], closer)
	if k < 0 {
		return 0, &ParseError{Pos: i, Msg: "unterminated XML literal " + q[i:j+1]}
	}
	return j + k + len(closer), nil
}

func isIdent(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

func parseItem(raw string) (Item, error) {
	it := Item{Raw: raw}
	n := 0
	for n < len(raw) && isIdent(raw[n]) {
		n++
	}
	if n == 0 {
		return it, fmt.Errorf("expected a property or method name")
	}
	it.Name = raw[:n]
	rest := raw[n:]
	if rest == "" {
		it.Kind = KindRead
		return it, nil
	}
	switch rest[0] {
	case '=':
		v := rest[1:]
		if strings.EqualFold(it.Name, "entity") {
			it.Kind = KindEntity
			it.Name = "entity"
			return it, parseValue(&it, v)
		}
		it.Kind = KindSet
		return it, parseValue(&it, v)
	case '@':
		it.Kind = KindAdd
		ops, err := splitOperands(rest)
		if err != nil {
			return it, err
		}
		it.Values = ops
		it.Value = ops[0]
		return it, nil
	case '-':
		it.Kind = KindRemove
		ops, err := splitOperands(rest)
		if err != nil {
			return it, err
		}
		if len(ops) != 1 {
			return it, fmt.Errorf("a removal takes one operand")
		}
		it.Value = ops[0]
		return it, nil
	case '*':
		if rest != "*" {
			return it, fmt.Errorf("unexpected text after '*'")
		}
		it.Kind = KindClear
		return it, nil
	case '(':
		it.Kind = KindCall
		fn, args, err := parseCall(raw)
		if err != nil {
			return it, err
		}
		it.Func, it.Args = fn, args
		return it, nil
	case '.':
		// A method call on a property: TimeRange.SetTimeRange(a,b).
		m := 1
		for m < len(rest) && isIdent(rest[m]) {
			m++
		}
		if m == 1 || m >= len(rest) || rest[m] != '(' {
			return it, fmt.Errorf("expected a method call after %q", it.Name+".")
		}
		fn, args, err := parseCall(rest[1:])
		if err != nil {
			return it, err
		}
		it.Kind, it.Func, it.Args = KindCall, fn, args
		return it, nil
	}
	return it, fmt.Errorf("unexpected %q after %q", rest[0], it.Name)
}

// parseValue fills the value of a set or entity item: an XML literal, a
// method call, or a plain (escaped) value.
func parseValue(it *Item, v string) error {
	if v == "" {
		return nil
	}
	if v[0] == '<' {
		if end, err := xmlEnd(v, 0); err != nil || end != len(v) {
			return fmt.Errorf("malformed XML value")
		}
		it.XML = true
		it.Value = v
		return nil
	}
	n := 0
	for n < len(v) && isIdent(v[n]) {
		n++
	}
	if n > 0 && n < len(v) && v[n] == '(' {
		fn, args, err := parseCall(v)
		if err != nil {
			return err
		}
		it.Func, it.Args = fn, args
		it.Value = v
		return nil
	}
	s, err := unescapePlain(v)
	if err != nil {
		return err
	}
	it.Value = s
	return nil
}

// parseCall parses Name(arg, arg…) where the closing parenthesis ends s.
func parseCall(s string) (string, []string, error) {
	open := strings.IndexByte(s, '(')
	if open <= 0 || s[len(s)-1] != ')' {
		return "", nil, fmt.Errorf("malformed method call")
	}
	fn := s[:open]
	inner := s[open+1 : len(s)-1]
	if strings.TrimSpace(inner) == "" {
		return fn, nil, nil
	}
	var args []string
	depth, start := 0, 0
	for i := 0; i < len(inner); i++ {
		switch inner[i] {
		case '\\':
			i++
		case '(', '{':
			depth++
		case ')', '}':
			depth--
		case ',':
			if depth == 0 {
				args = append(args, inner[start:i])
				start = i + 1
			}
		}
	}
	args = append(args, inner[start:])
	for i, a := range args {
		a = strings.TrimSpace(a)
		u, err := unescapeArg(a)
		if err != nil {
			return "", nil, err
		}
		args[i] = u
	}
	return fn, args, nil
}

// splitOperands splits "@a@b" or "-a" into operands, each optionally
// enclosed in parentheses or braces.
func splitOperands(rest string) ([]string, error) {
	op := rest[0]
	var parts []string
	depth, start := 0, 1
	for i := 1; i < len(rest); i++ {
		switch c := rest[i]; {
		case c == '\\':
			i++
		case c == '(' || c == '{':
			depth++
		case c == ')' || c == '}':
			depth--
		case c == '@' && op == '@' && depth == 0:
			parts = append(parts, rest[start:i])
			start = i + 1
		}
	}
	parts = append(parts, rest[start:])
	out := make([]string, 0, len(parts))
	for _, o := range parts {
		if len(o) >= 2 && (o[0] == '(' && o[len(o)-1] == ')' || o[0] == '{' && o[len(o)-1] == '}') {
			o = o[1 : len(o)-1]
		}
		u, err := unescapePlain(o)
		if err != nil {
			return nil, err
		}
		if u == "" {
			return nil, fmt.Errorf("empty operand")
		}
		out = append(out, u)
	}
	return out, nil
}

// unescapePlain resolves backslash escapes and refuses operator
// characters left unescaped.
func unescapePlain(v string) (string, error) {
	if strings.HasPrefix(v, "$") {
		return "", fmt.Errorf("'$' variables (multipart form parts) are not supported by the simulator")
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' {
			if i+1 >= len(v) {
				return "", fmt.Errorf("dangling backslash")
			}
			i++
			b.WriteByte(v[i])
			continue
		}
		switch c {
		case '(', ')', '{', '}', '=', '@', '*', '#', '<', '>', ',':
			return "", fmt.Errorf("unescaped %q in a value", c)
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// unescapeArg resolves escapes in a method argument; nested calls and
// braces are kept verbatim.
func unescapeArg(v string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' {
			if i+1 >= len(v) {
				return "", fmt.Errorf("dangling backslash")
			}
			i++
			b.WriteByte(v[i])
			continue
		}
		switch c {
		case '=', '@', '*', '#', '<', '>':
			return "", fmt.Errorf("unescaped %q in a method argument", c)
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}
