package lenelsim

import (
	"reflect"
	"slices"
	"sort"
	"strings"
)

// kind is the value type of a property.
type kind int

const (
	kindInt kind = iota
	kindString
	kindTime
	kindBool
)

func (k kind) String() string {
	switch k {
	case kindInt:
		return "integer"
	case kindString:
		return "string"
	case kindTime:
		return "date-time"
	}
	return "boolean"
}

// propDef describes one property of a type.
type propDef struct {
	name     string // canonical upper-case name
	out      string // name as the server writes it in responses
	kind     kind
	key      bool // part of the key
	auto     bool // key assigned by the server
	required bool // needed on create
	readOnly bool // refused on create and modify
	maxLen   int  // strings only; 0 means 255
	// writeOnly properties are stored but never returned (Lnl_Badge.PIN).
	writeOnly bool
}

// typeDef describes one Lnl_* type.
type typeDef struct {
	name     string
	props    []propDef
	byName   map[string]*propDef // upper-case name → property
	keys     []string            // canonical key names, in order
	readOnly bool                // no create, modify or delete through the API
	person   bool                // Lnl_Cardholder and Lnl_Visitor share the person ID space
	// relational allows "<", "<=", ">" and ">=" and dates in filters
	// (logged events only).
	relational bool
}

func (t *typeDef) prop(name string) *propDef { return t.byName[strings.ToUpper(name)] }

// The casing of response property names follows what integrators observed:
// upper case for people and badges, "ID"/"Name" for lookup types, and
// camel case for access level assignments.
func newTypes() map[string]*typeDef {
	upper := func(name string, k kind) propDef { return propDef{name: name, out: name, kind: k} }
	personProps := func(extra ...propDef) []propDef {
		ps := []propDef{
			{name: "ID", out: "ID", kind: kindInt, key: true, auto: true},
			upper("FIRSTNAME", kindString),
			{name: "LASTNAME", out: "LASTNAME", kind: kindString, required: true},
			upper("MIDNAME", kindString),
			upper("EMAIL", kindString),
			upper("SSNO", kindString),
			upper("ADDR1", kindString),
			upper("CITY", kindString),
			upper("STATE", kindString),
			upper("ZIP", kindString),
			upper("PHONE", kindString),
			upper("OPHONE", kindString),
			upper("TITLE", kindInt),
			{name: "LASTCHANGED", out: "LASTCHANGED", kind: kindTime, readOnly: true},
		}
		return append(ps, extra...)
	}
	defs := []*typeDef{
		{name: "Lnl_Cardholder", person: true, props: personProps(upper("DEPT", kindInt), upper("BUILDING", kindInt), upper("FLOOR", kindInt))},
		{name: "Lnl_Visitor", person: true, props: personProps(upper("ORGANIZATION", kindString))},
		{name: "Lnl_Badge", props: []propDef{
			{name: "BADGEKEY", out: "BADGEKEY", kind: kindInt, key: true, auto: true},
			{name: "ID", out: "ID", kind: kindInt, required: true},
			{name: "PERSONID", out: "PERSONID", kind: kindInt, required: true},
			{name: "TYPE", out: "TYPE", kind: kindInt, required: true},
			{name: "STATUS", out: "STATUS", kind: kindInt, required: true},
			upper("ACTIVATE", kindTime),
			upper("DEACTIVATE", kindTime),
			upper("USELIMIT", kindInt),
			upper("ISSUECODE", kindInt),
			upper("APBEXEMPT", kindBool),
			{name: "PIN", out: "PIN", kind: kindString, maxLen: maxPINDigits, writeOnly: true},
			{name: "LASTCHANGED", out: "LASTCHANGED", kind: kindTime, readOnly: true},
		}},
		{name: "Lnl_BadgeType", readOnly: true, props: []propDef{
			{name: "ID", out: "ID", kind: kindInt, key: true, auto: true},
			{name: "NAME", out: "Name", kind: kindString, required: true},
			{name: "BADGETYPECLASS", out: "BadgeTypeClass", kind: kindInt},
		}},
		{name: "Lnl_BadgeStatus", readOnly: true, props: []propDef{
			{name: "ID", out: "ID", kind: kindInt, key: true, auto: true},
			{name: "NAME", out: "Name", kind: kindString, required: true},
		}},
		{name: "Lnl_AccessLevel", readOnly: true, props: []propDef{
			{name: "ID", out: "ID", kind: kindInt, key: true, auto: true},
			{name: "NAME", out: "Name", kind: kindString, required: true, maxLen: 64},
		}},
		{name: "Lnl_Reader", readOnly: true, props: []propDef{
			{name: "PANELID", out: "PanelID", kind: kindInt, key: true, required: true},
			{name: "READERID", out: "ReaderID", kind: kindInt, key: true, required: true},
			{name: "NAME", out: "Name", kind: kindString, required: true},
			{name: "TIMEATTENDANCETYPE", out: "TimeAttendanceType", kind: kindInt},
		}},
		{name: "Lnl_AccessLevelAssignment", props: []propDef{
			{name: "ACCESSLEVELID", out: "AccessLevelID", kind: kindInt, key: true, required: true},
			{name: "BADGEKEY", out: "BadgeKey", kind: kindInt, key: true, required: true},
			{name: "ACTIVATE", out: "Activate", kind: kindTime},
			{name: "DEACTIVATE", out: "Deactivate", kind: kindTime},
		}},
	}
	out := make(map[string]*typeDef, len(defs))
	for _, t := range defs {
		t.index()
		out[strings.ToLower(t.name)] = t
	}
	return out
}

// index fills byName and keys from props.
func (t *typeDef) index() {
	t.byName = make(map[string]*propDef, len(t.props))
	for i := range t.props {
		p := &t.props[i]
		t.byName[p.name] = p
		if p.key {
			t.keys = append(t.keys, p.name)
		}
	}
}

// instance is one stored record: canonical property name → value
// (int64, string, time.Time or bool). A zero time.Time means unset.
type instance map[string]any

func (in instance) int(name string) int64 {
	v, _ := in[name].(int64)
	return v
}

func (in instance) clone() instance {
	out := make(instance, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// table holds the instances of one type, keyed by their key string. Write
// rows through put and del, which keep the cached key order valid.
type table struct {
	def   *typeDef
	rows  map[string]instance
	order []instance                      // rows in key order; nil when stale
	index map[string]map[int64][]instance // by integer property; nil when stale
}

// put stores in under key. Replacing a row (a modification, in a new map)
// keeps the cached order and index, updated; a new key drops them.
func (t *table) put(key string, in instance) {
	old, existed := t.rows[key]
	t.rows[key] = in
	if !existed || reflect.ValueOf(old).UnsafePointer() == reflect.ValueOf(in).UnsafePointer() {
		t.order, t.index = nil, nil
		return
	}
	t.replaceInOrder(key, in)
	for name, idx := range t.index {
		t.reindex(idx, name, key, old, in)
	}
}

// replaceInOrder puts in, the new row of key, in place of the old one in
// the cached order, found by binary search (keys do not change).
func (t *table) replaceInOrder(key string, in instance) {
	if t.order == nil {
		return
	}
	i := sort.Search(len(t.order), func(i int) bool { return !t.less(t.order[i], in) })
	if i < len(t.order) && t.keyOf(t.order[i]) == key {
		t.order[i] = in
		return
	}
	t.order = nil // not where expected: rebuild on next use
}

// reindex moves key's row from old's value of the integer property name
// to in's in idx.
func (t *table) reindex(idx map[int64][]instance, name, key string, old, in instance) {
	if v, ok := old[name].(int64); ok {
		rows := idx[v]
		for i, r := range rows {
			if t.keyOf(r) == key {
				idx[v] = slices.Delete(rows, i, i+1)
				break
			}
		}
	}
	if v, ok := in[name].(int64); ok {
		idx[v] = append(idx[v], in)
	}
}

// del removes the row with key.
func (t *table) del(key string) {
	t.order, t.index = nil, nil
	delete(t.rows, key)
}

// changed records that rows were changed in place, which may stale the
// index.
func (t *table) changed() { t.order, t.index = nil, nil }

// byKey orders rows by their key properties, numerically.
func (t *table) byKey(rows []instance) {
	sort.Slice(rows, func(i, j int) bool { return t.less(rows[i], rows[j]) })
}

// less reports whether a's key comes before b's, numerically.
func (t *table) less(a, b instance) bool {
	for _, k := range t.def.keys {
		if x, y := a.int(k), b.int(k); x != y {
			return x < y
		}
	}
	return false
}

// withValues returns the rows whose integer property name holds one of
// the values in set, through an index built on first use.
func (t *table) withValues(name string, set map[int64]bool) []instance {
	if t.index == nil {
		t.index = map[string]map[int64][]instance{}
	}
	idx, ok := t.index[name]
	if !ok {
		idx = map[int64][]instance{}
		for _, r := range t.rows {
			if v, ok := r[name].(int64); ok {
				idx[v] = append(idx[v], r)
			}
		}
		t.index[name] = idx
	}
	var out []instance
	for v := range set {
		out = append(out, idx[v]...)
	}
	return out
}

func (t *table) keyOf(in instance) string {
	var b strings.Builder
	for i, k := range t.def.keys {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(formatInt(in.int(k)))
	}
	return b.String()
}

// sorted returns the rows matching f (nil: all) ordered by key,
// numerically. For nil the slice is the table's own: read it, never
// change it.
func (t *table) sorted(f filter) []instance {
	if set, name, ok := f.idSet(); ok {
		out := t.withValues(name, set)
		t.byKey(out)
		return out
	}
	if t.order == nil {
		t.order = make([]instance, 0, len(t.rows))
		for _, r := range t.rows {
			t.order = append(t.order, r)
		}
		t.byKey(t.order)
	}
	if f == nil { // every row: the table's own order, which put replaces rather than changes
		return t.order
	}
	var out []instance
	for _, r := range t.order {
		if f.match(r) {
			out = append(out, r)
		}
	}
	return out
}
