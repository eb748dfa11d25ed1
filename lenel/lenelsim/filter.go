package lenelsim

import (
	"fmt"
	"strconv"
	"strings"
)

// The simulator understands the part of OpenAccess's SQL-like filter
// language that adapters need, and refuses the rest with an error so that an
// adapter relying on anything more shows up in tests:
//
//	filter  := term { OR term }
//	term    := compare { AND compare }
//	compare := property ( "=" | "!=" ) literal
//	literal := integer | '"' characters other than '"' '"'
//
// Keywords and property names are case-insensitive. String comparison is
// case-insensitive too, as with SQL Server's default collation. There is no
// escape for a double quote inside a literal (none is documented), no LIKE,
// no parentheses and no comparison on dates or booleans.

// cond is one comparison.
type cond struct {
	prop   *propDef
	negate bool
	num    int64
	str    string
}

// filter is a disjunction of conjunctions; nil matches everything.
type filter [][]cond

func (f filter) match(in instance) bool {
	if f == nil {
		return true
	}
	for _, and := range f {
		ok := true
		for _, c := range and {
			if c.eval(in) == c.negate {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (c cond) eval(in instance) bool {
	switch c.prop.kind {
	case kindInt:
		v, ok := in[c.prop.name].(int64)
		return ok && v == c.num
	default:
		v, _ := in[c.prop.name].(string)
		return strings.EqualFold(v, c.str)
	}
}

type token struct {
	kind byte // 'i' identifier, 'n' number, 's' string, 'o' operator
	text string
	pos  int
}

func tokenize(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '_' || isLetter(c):
			j := i + 1
			for j < len(s) && (s[j] == '_' || isLetter(s[j]) || isDigit(s[j])) {
				j++
			}
			out = append(out, token{'i', s[i:j], i})
			i = j
		case isDigit(c) || c == '-' && i+1 < len(s) && isDigit(s[i+1]):
			j := i + 1
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			out = append(out, token{'n', s[i:j], i})
			i = j
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return nil, fmt.Errorf("unterminated string at position %d", i+1)
			}
			out = append(out, token{'s', s[i+1 : i+1+j], i})
			i += j + 2
		case c == '=':
			out = append(out, token{'o', "=", i})
			i++
		case c == '!' && i+1 < len(s) && s[i+1] == '=':
			out = append(out, token{'o', "!=", i})
			i += 2
		default:
			return nil, fmt.Errorf("unexpected character %q at position %d", c, i+1)
		}
	}
	return out, nil
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }

// parseFilter parses s for type t. An empty s matches everything.
func parseFilter(t *typeDef, s string) (filter, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	var f filter
	var and []cond
	i := 0
	for {
		if i+3 > len(toks) {
			return nil, fmt.Errorf("incomplete comparison at the end of the filter")
		}
		name, op, lit := toks[i], toks[i+1], toks[i+2]
		if name.kind != 'i' || isKeyword(name.text) {
			return nil, fmt.Errorf("expected a property name at position %d", name.pos+1)
		}
		p := t.prop(name.text)
		if p == nil {
			return nil, fmt.Errorf("%s has no property %s", t.name, name.text)
		}
		if op.kind != 'o' {
			return nil, fmt.Errorf("unsupported operator %q at position %d", op.text, op.pos+1)
		}
		c := cond{prop: p, negate: op.text == "!="}
		switch p.kind {
		case kindInt:
			if lit.kind != 'n' {
				return nil, fmt.Errorf("property %s needs an integer", name.text)
			}
			c.num, err = strconv.ParseInt(lit.text, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("integer %s out of range", lit.text)
			}
		case kindString:
			if lit.kind != 's' {
				return nil, fmt.Errorf("property %s needs a quoted string", name.text)
			}
			c.str = lit.text
		default:
			return nil, fmt.Errorf("filtering on %s property %s is not supported", p.kind, name.text)
		}
		and = append(and, c)
		i += 3
		if i == len(toks) {
			break
		}
		kw := toks[i]
		switch {
		case kw.kind == 'i' && strings.EqualFold(kw.text, "and"):
		case kw.kind == 'i' && strings.EqualFold(kw.text, "or"):
			f = append(f, and)
			and = nil
		default:
			return nil, fmt.Errorf("expected AND or OR at position %d", kw.pos+1)
		}
		i++
	}
	return append(f, and), nil
}

func isKeyword(s string) bool {
	switch strings.ToLower(s) {
	case "and", "or", "not", "like", "in", "is", "null":
		return true
	}
	return false
}
