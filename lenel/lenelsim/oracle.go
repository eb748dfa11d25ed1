package lenelsim

import (
	"strconv"
	"strings"
	"time"
)

// Opens reports whether the badge with the given BADGEKEY opens doors of
// the access level with the given ID at time at: the badge exists and
// belongs to an existing person, its status is named "Active", at lies
// within its ACTIVATE/DEACTIVATE window (an unset bound is open), and an
// assignment of the level to the badge exists whose own window, if set,
// contains at. Malformed keys report false.
func (s *Server) Opens(badgeKey, accessLevelID string, at time.Time) bool {
	bk, err1 := strconv.ParseInt(badgeKey, 10, 64)
	lid, err2 := strconv.ParseInt(accessLevelID, 10, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opensLocked(bk, lid, at)
}

// opensLocked is Opens with numeric keys; s.mu is held.
func (s *Server) opensLocked(bk, lid int64, at time.Time) bool {
	b, ok := s.tables["lnl_badge"].rows[formatInt(bk)]
	if !ok || !within(b, at) {
		return false
	}
	if _, ok := s.person(b.int("PERSONID")); !ok {
		return false
	}
	st, ok := s.tables["lnl_badgestatus"].rows[formatInt(b.int("STATUS"))]
	if name, _ := st["NAME"].(string); !ok || !strings.EqualFold(name, "Active") {
		return false
	}
	if _, ok := s.tables["lnl_accesslevel"].rows[formatInt(lid)]; !ok {
		return false
	}
	a, ok := s.tables["lnl_accesslevelassignment"].rows[formatInt(lid)+":"+formatInt(bk)]
	return ok && within(a, at)
}

func within(in instance, at time.Time) bool {
	a, _ := in["ACTIVATE"].(time.Time)
	d, _ := in["DEACTIVATE"].(time.Time)
	return (a.IsZero() || !at.Before(a)) && (d.IsZero() || at.Before(d))
}

// FindBadge returns the BADGEKEY of the badge with the given badge ID held
// by a person of personType ("Lnl_Visitor" or "Lnl_Cardholder") whose
// property prop equals value exactly (case-sensitive).
func (s *Server) FindBadge(personType, prop, value string, badgeID int64) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[strings.ToLower(personType)]
	if !ok || !t.def.person {
		return "", false
	}
	name := strings.ToUpper(prop)
	for _, p := range t.rows {
		if v, _ := p[name].(string); v != value {
			continue
		}
		for _, b := range s.tables["lnl_badge"].rows {
			if b.int("PERSONID") == p.int("ID") && b.int("ID") == badgeID {
				return formatInt(b.int("BADGEKEY")), true
			}
		}
	}
	return "", false
}

// Census counts the stored people, badges and assignments.
func (s *Server) Census() Census {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Census{
		Cardholders: len(s.tables["lnl_cardholder"].rows),
		Visitors:    len(s.tables["lnl_visitor"].rows),
		Badges:      len(s.tables["lnl_badge"].rows),
		Assignments: len(s.tables["lnl_accesslevelassignment"].rows),
	}
}

// Instances returns copies of every instance of a type, ordered by key,
// with canonical upper-case property names and values of type int64,
// string, bool or time.Time (the zero time for an unset date).
func (s *Server) Instances(typeName string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[strings.ToLower(typeName)]
	if !ok {
		return nil
	}
	var out []map[string]any
	for _, in := range t.sorted(nil) {
		m := make(map[string]any, len(in))
		for k, v := range in {
			m[k] = v
		}
		out = append(out, m)
	}
	return out
}
