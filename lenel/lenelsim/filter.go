package lenelsim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The simulator understands the part of OpenAccess's SQL-like filter
// language that adapters need, and refuses the rest with an error so that an
// adapter relying on anything more shows up in tests:
//
//	filter  := term { OR term }
//	term    := compare { AND compare }
//	compare := property operator literal
//	literal := integer | '"' characters other than '"' '"'
//
// On /instances and /count the operators are "=" and "!="; on
// /logged_events "<", "<=", ">" and ">=" are allowed too, on integer and
// date properties, and a date is a quoted literal with a numeric offset
// (such as "2025-01-02T10:00:00+00:00"; "Z" is refused as elsewhere).
// Keywords and property names are case-insensitive. String comparison is
// case-insensitive too, as with SQL Server's default collation. There is no
// escape for a double quote inside a literal (none is documented), no LIKE,
// no parentheses and no comparison on booleans. AND binds tighter than OR.

// cond is one comparison.
type cond struct {
	prop *propDef
	op   string // "=", "!=", "<", "<=", ">", ">="
	num  int64
	str  string
	when time.Time
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
			if !c.eval(in) {
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

// matcher returns f.match, or for a filter of the idSet shape a set
// lookup with the same answers. Build it once per request.
func (f filter) matcher() func(instance) bool {
	set, name, ok := f.idSet()
	if !ok {
		return f.match
	}
	return func(in instance) bool {
		v, has := in[name].(int64)
		return has && set[v]
	}
}

// idSet recognises a filter that is one equality, or a list of them, on
// one integer property ("BADGEKEY = 7", "PERSONID = 1 OR PERSONID = 2
// ..."), the shape adapters use to fetch records by key, and returns the
// values as a set, so that matching stays fast on large tables (through
// the table's index). It gives the same answers as the general
// evaluation.
func (f filter) idSet() (map[int64]bool, string, bool) {
	if len(f) == 0 {
		return nil, "", false
	}
	first := f[0]
	if len(first) != 1 || first[0].op != "=" || first[0].prop.kind != kindInt {
		return nil, "", false
	}
	name := first[0].prop.name
	set := make(map[int64]bool, len(f))
	for _, and := range f {
		if len(and) != 1 || and[0].op != "=" || and[0].prop.name != name {
			return nil, "", false
		}
		set[and[0].num] = true
	}
	return set, name, true
}

// eval applies the comparison. A missing integer or date (NULL) is
// unequal to everything and never ordered.
func (c cond) eval(in instance) bool {
	var cmp int
	switch c.prop.kind {
	case kindInt:
		v, ok := in[c.prop.name].(int64)
		if !ok {
			return c.op == "!="
		}
		cmp = compareInt(v, c.num)
	case kindTime:
		v, _ := in[c.prop.name].(time.Time)
		if v.IsZero() {
			return c.op == "!="
		}
		cmp = v.Compare(c.when)
	default:
		v, _ := in[c.prop.name].(string)
		if !strings.EqualFold(v, c.str) {
			cmp = 1
		}
	}
	switch c.op {
	case "=":
		return cmp == 0
	case "!=":
		return cmp != 0
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	case ">":
		return cmp > 0
	default: // ">="
		return cmp >= 0
	}
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type token struct {
	kind byte // 'i' identifier, 'n' number, 's' string, 'o' operator
	text string
	pos  int
}

// tokenize splits a filter into identifiers, numbers, quoted strings and
// operators. It is one switch over the character classes on purpose: that
// switch is the filter language's lexical grammar, read best in one place.
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
		case c == '<' || c == '>':
			op := string(c)
			if i+1 < len(s) && s[i+1] == '=' {
				op += "="
			}
			out = append(out, token{'o', op, i})
			i += len(op)
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
		c, err := parseComparison(t, toks[i], toks[i+1], toks[i+2])
		if err != nil {
			return nil, err
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

// parseComparison parses one "property operator literal" of a filter for
// type t: the property must exist, the operator suit it (= and != only,
// unless the type takes relational operators on numbers and dates), and
// the literal be of its kind.
func parseComparison(t *typeDef, name, op, lit token) (cond, error) {
	if name.kind != 'i' || isKeyword(name.text) {
		return cond{}, fmt.Errorf("expected a property name at position %d", name.pos+1)
	}
	p := t.prop(name.text)
	if p == nil {
		return cond{}, fmt.Errorf("%s has no property %s", t.name, name.text)
	}
	if op.kind != 'o' {
		return cond{}, fmt.Errorf("unsupported operator %q at position %d", op.text, op.pos+1)
	}
	c := cond{prop: p, op: op.text}
	if c.op != "=" && c.op != "!=" && (!t.relational || p.kind == kindString) {
		return cond{}, fmt.Errorf("unsupported operator %q at position %d", op.text, op.pos+1)
	}
	var err error
	switch p.kind {
	case kindInt:
		if lit.kind != 'n' {
			return cond{}, fmt.Errorf("property %s needs an integer", name.text)
		}
		if c.num, err = strconv.ParseInt(lit.text, 10, 64); err != nil {
			return cond{}, fmt.Errorf("integer %s out of range", lit.text)
		}
	case kindString:
		if lit.kind != 's' {
			return cond{}, fmt.Errorf("property %s needs a quoted string", name.text)
		}
		c.str = lit.text
	case kindTime:
		if !t.relational {
			return cond{}, fmt.Errorf("filtering on %s property %s is not supported", p.kind, name.text)
		}
		if lit.kind != 's' {
			return cond{}, fmt.Errorf("property %s needs a quoted date", name.text)
		}
		if c.when, err = parseInputTime(lit.text); err != nil {
			return cond{}, fmt.Errorf("property %s: %v", name.text, err)
		}
	default:
		return cond{}, fmt.Errorf("filtering on %s property %s is not supported", p.kind, name.text)
	}
	return c, nil
}

func isKeyword(s string) bool {
	switch strings.ToLower(s) {
	case "and", "or", "not", "like", "in", "is", "null":
		return true
	}
	return false
}
