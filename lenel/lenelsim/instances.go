package lenelsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Accepted input date layouts: a numeric offset (OpenAccess wants
// "+00:00", not "Z"), optionally with fractional seconds, or a date alone.
var inputLayouts = []string{
	"2006-01-02T15:04:05-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02",
}

func (s *Server) typeOf(c call) (*typeDef, *table, *apiError) {
	if c.typeName == "" {
		return nil, nil, badItem("The type_name parameter is required.")
	}
	t, ok := s.types[strings.ToLower(c.typeName)]
	if !ok {
		return nil, nil, badItem("The type %s does not exist.", c.typeName)
	}
	return t, s.tables[strings.ToLower(c.typeName)], nil
}

func (s *Server) out(t *typeDef, in instance, keysOnly bool) map[string]any {
	m := make(map[string]any, len(t.props))
	for i := range t.props {
		p := &t.props[i]
		if keysOnly && !p.key || p.writeOnly {
			continue
		}
		v, ok := in[p.name]
		switch p.kind {
		case kindTime:
			tv, _ := v.(time.Time)
			m[p.out] = s.formatTime(tv)
		default:
			if ok {
				m[p.out] = v
			}
		}
	}
	return m
}

func (s *Server) getInstances(c call) (any, *apiError) {
	if c.hasProps {
		return nil, badItem("GET /instances takes no property_value_map.")
	}
	t, tab, aerr := s.typeOf(c)
	if aerr != nil {
		return nil, aerr
	}
	f, err := parseFilter(t, c.filter)
	if err != nil {
		return nil, badItem("The filter is invalid: %s.", err.Error())
	}
	page, aerr := intParam("page_number", c.pageNumber, 1, 1, 1<<30)
	if aerr != nil {
		return nil, aerr
	}
	size, aerr := intParam("page_size", c.pageSize, 20, 1, 100)
	if aerr != nil {
		return nil, aerr
	}
	all := tab.sorted(f)
	total := len(all)
	pages := (total + size - 1) / size
	lo := min((page-1)*size, total)
	hi := min(lo+size, total)
	items := make([]any, 0, hi-lo)
	for _, in := range all[lo:hi] {
		items = append(items, map[string]any{"type_name": t.name, "property_value_map": s.out(t, in, false)})
	}
	return map[string]any{
		"count":       len(items),
		"item_list":   items,
		"page_number": page,
		"page_size":   size,
		"total_items": total,
		"total_pages": pages,
		"type_name":   t.name,
		"version":     "1.0",
	}, nil
}

func intParam(name, v string, def, lo, hi int) (int, *apiError) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, badItem("The parameter %s must be an integer from %d to %d.", name, lo, hi)
	}
	return n, nil
}

func (s *Server) count(c call) (any, *apiError) {
	if c.pageNumber != "" || c.pageSize != "" || c.hasProps {
		return nil, badItem("GET /count takes only type_name and filter.")
	}
	t, tab, aerr := s.typeOf(c)
	if aerr != nil {
		return nil, aerr
	}
	f, err := parseFilter(t, c.filter)
	if err != nil {
		return nil, badItem("The filter is invalid: %s.", err.Error())
	}
	n := 0
	match := f.matcher()
	for _, in := range tab.rows {
		if match(in) {
			n++
		}
	}
	return map[string]any{"total_items": n, "version": "1.0"}, nil
}

// decodeProps turns a property_value_map into canonical values.
func decodeProps(t *typeDef, raw map[string]json.RawMessage) (instance, *apiError) {
	in := make(instance, len(raw))
	for k, v := range raw {
		p := t.prop(k)
		if p == nil {
			return nil, propError(k)
		}
		if _, dup := in[p.name]; dup {
			return nil, badItem("The property %s is given twice.", p.name)
		}
		val, ok := decodeValue(p, v)
		if !ok {
			return nil, propError(p.name)
		}
		in[p.name] = val
	}
	return in, nil
}

func decodeValue(p *propDef, raw json.RawMessage) (any, bool) {
	raw = bytes.TrimSpace(raw)
	var str string
	isStr := json.Unmarshal(raw, &str) == nil
	switch p.kind {
	case kindInt:
		if isStr {
			n, err := strconv.ParseInt(str, 10, 64)
			return n, err == nil
		}
		n, err := strconv.ParseInt(string(raw), 10, 64)
		return n, err == nil
	case kindString:
		max := p.maxLen
		if max == 0 {
			max = 255
		}
		return str, isStr && utf8.ValidString(str) && utf8.RuneCountInString(str) <= max
	case kindTime:
		if !isStr {
			return nil, false
		}
		if str == "" {
			return time.Time{}, true
		}
		for _, l := range inputLayouts {
			if t, err := time.Parse(l, str); err == nil {
				return t.UTC(), true
			}
		}
		return nil, false
	default:
		switch string(raw) {
		case "true", "1", `"true"`, `"1"`:
			return true, true
		case "false", "0", `"false"`, `"0"`:
			return false, true
		}
		return nil, false
	}
}

func (s *Server) person(id int64) (instance, bool) {
	for _, name := range []string{"lnl_cardholder", "lnl_visitor"} {
		if in, ok := s.tables[name].rows[formatInt(id)]; ok {
			return in, true
		}
	}
	return nil, false
}

// check applies the type's integrity rules to the full new state of an
// instance; self is its key string when modifying ("" when adding).
func (s *Server) check(t *typeDef, in instance, self string) *apiError {
	for i := range t.props {
		p := &t.props[i]
		if !p.required {
			continue
		}
		v, ok := in[p.name]
		if !ok {
			return propError(p.name)
		}
		if str, isStr := v.(string); isStr && strings.TrimSpace(str) == "" {
			return propError(p.name)
		}
	}
	a, _ := in["ACTIVATE"].(time.Time)
	d, _ := in["DEACTIVATE"].(time.Time)
	if !a.IsZero() && !d.IsZero() && d.Before(a) {
		return badItem("The deactivate date is before the activate date.")
	}
	switch strings.ToLower(t.name) {
	case "lnl_badge":
		if in.int("ID") <= 0 {
			return propError("ID")
		}
		if _, ok := s.person(in.int("PERSONID")); !ok {
			return propError("PERSONID")
		}
		if _, ok := s.tables["lnl_badgetype"].rows[formatInt(in.int("TYPE"))]; !ok {
			return propError("TYPE")
		}
		if _, ok := s.tables["lnl_badgestatus"].rows[formatInt(in.int("STATUS"))]; !ok {
			return propError("STATUS")
		}
		for k, b := range s.tables["lnl_badge"].rows {
			if k != self && b.int("ID") == in.int("ID") {
				return badItem("The badge ID %d is already in use.", in.int("ID"))
			}
		}
		if pin, _ := in["PIN"].(string); pin != "" && !numeric(pin) {
			return badItem("The PIN must be numeric.")
		}
	case "lnl_accesslevelassignment":
		if _, ok := s.tables["lnl_accesslevel"].rows[formatInt(in.int("ACCESSLEVELID"))]; !ok {
			return propError("ACCESSLEVELID")
		}
		if _, ok := s.tables["lnl_badge"].rows[formatInt(in.int("BADGEKEY"))]; !ok {
			return propError("BADGEKEY")
		}
	}
	return nil
}

func (s *Server) addInstance(c call) (any, *apiError) {
	t, tab, aerr := s.typeOf(c)
	if aerr != nil {
		return nil, aerr
	}
	if t.readOnly {
		return nil, badItem("Instances of %s cannot be added.", t.name)
	}
	if c.filter != "" || c.pageNumber != "" || c.pageSize != "" {
		return nil, badItem("POST /instances takes only type_name and property_value_map.")
	}
	if !c.hasProps {
		return nil, badItem("The property_value_map is required.")
	}
	in, aerr := decodeProps(t, c.props)
	if aerr != nil {
		return nil, aerr
	}
	for i := range t.props {
		p := &t.props[i]
		if _, given := in[p.name]; given && (p.auto || p.readOnly) {
			return nil, propError(p.name)
		}
	}
	if aerr := s.check(t, in, ""); aerr != nil {
		return nil, aerr
	}
	switch {
	case t.person:
		in["ID"] = s.nextSeq("person")
	case strings.EqualFold(t.name, "Lnl_Badge"):
		in["BADGEKEY"] = s.nextSeq("badge")
	}
	if t.prop("LASTCHANGED") != nil {
		in["LASTCHANGED"] = s.now().UTC()
	}
	key := tab.keyOf(in)
	if _, dup := tab.rows[key]; dup {
		return nil, badItem("An instance of %s with these keys already exists.", t.name)
	}
	tab.put(key, in)
	return map[string]any{"property_value_map": s.out(t, in, true), "type_name": t.name, "version": "1.0"}, nil
}

// lookup finds the instance named by the key properties of c.
func (s *Server) lookup(c call, verb string) (*typeDef, *table, instance, instance, *apiError) {
	t, tab, aerr := s.typeOf(c)
	if aerr != nil {
		return nil, nil, nil, nil, aerr
	}
	if t.readOnly {
		return nil, nil, nil, nil, badItem("Instances of %s cannot be %s.", t.name, verb)
	}
	if c.filter != "" || c.pageNumber != "" || c.pageSize != "" {
		return nil, nil, nil, nil, badItem("This operation takes only type_name and property_value_map.")
	}
	if !c.hasProps {
		return nil, nil, nil, nil, badItem("The property_value_map is required.")
	}
	in, aerr := decodeProps(t, c.props)
	if aerr != nil {
		return nil, nil, nil, nil, aerr
	}
	for _, k := range t.keys {
		if _, ok := in[k]; !ok {
			return nil, nil, nil, nil, propError(k)
		}
	}
	key := tab.keyOf(in)
	cur, ok := tab.rows[key]
	if !ok {
		// cur stays nil when the answer for a missing instance is success.
		return t, tab, in, nil, s.missingError(t.name, key)
	}
	return t, tab, in, cur, nil
}

func (s *Server) modifyInstance(c call) (any, *apiError) {
	t, tab, in, cur, aerr := s.lookup(c, "modified")
	if aerr != nil {
		return nil, aerr
	}
	if cur == nil {
		return version(), nil
	}
	next := cur.clone()
	for k, v := range in {
		if p := t.byName[k]; p.readOnly {
			return nil, propError(k)
		}
		next[k] = v
	}
	if aerr := s.checkReadOnly(t, cur); aerr != nil {
		return nil, aerr
	}
	key := tab.keyOf(next)
	if aerr := s.check(t, next, key); aerr != nil {
		return nil, aerr
	}
	if t.prop("LASTCHANGED") != nil {
		next["LASTCHANGED"] = s.now().UTC()
	}
	tab.put(key, next)
	return map[string]any{"property_value_map": s.out(t, next, false), "type_name": t.name, "version": "1.0"}, nil
}

func (s *Server) deleteInstance(c call) (any, *apiError) {
	t, tab, _, cur, aerr := s.lookup(c, "deleted")
	if aerr != nil {
		return nil, aerr
	}
	if cur == nil {
		return version(), nil
	}
	key := tab.keyOf(cur)
	switch {
	case t.person:
		for _, b := range s.tables["lnl_badge"].rows {
			if b.int("PERSONID") == cur.int("ID") {
				return nil, badItem("The person %s still has badges; delete them first.", key)
			}
		}
	case strings.EqualFold(t.name, "Lnl_Badge"):
		as := s.tables["lnl_accesslevelassignment"]
		for k, a := range as.rows {
			if a.int("BADGEKEY") == cur.int("BADGEKEY") {
				as.del(k)
			}
		}
	}
	tab.del(key)
	return version(), nil
}

var _ http.Handler = (*Server)(nil)
