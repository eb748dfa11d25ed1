package lenelsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The methods in this file change badges behind the adapter's back, as an
// OnGuard administrator (System Administration, Front Desk) would. They
// take keys as strings, as CredentialRef.ID and access level IDs come to
// tests, and stamp LASTCHANGED like a change through the API.

// badgeLocked returns the badge with the given BADGEKEY; s.mu is held.
func (s *Server) badgeLocked(badgeKey string) (instance, error) {
	k, err := strconv.ParseInt(badgeKey, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("lenelsim: badge key %q is not an integer", badgeKey)
	}
	b, ok := s.tables["lnl_badge"].rows[formatInt(k)]
	if !ok {
		return nil, fmt.Errorf("lenelsim: no badge has BADGEKEY %d", k)
	}
	return b, nil
}

// assignmentsLocked returns the keys of the badge's assignments; s.mu is
// held.
func (s *Server) assignmentsLocked(bk int64) []string {
	var keys []string
	for k, a := range s.tables["lnl_accesslevelassignment"].rows {
		if a.int("BADGEKEY") == bk {
			keys = append(keys, k)
		}
	}
	return keys
}

// DeleteBadge deletes the badge with the given BADGEKEY and its access
// level assignments. It reports whether the badge existed.
func (s *Server) DeleteBadge(badgeKey string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.badgeLocked(badgeKey)
	if err != nil {
		return false
	}
	bk := b.int("BADGEKEY")
	as := s.tables["lnl_accesslevelassignment"]
	for _, k := range s.assignmentsLocked(bk) {
		as.del(k)
	}
	s.tables["lnl_badge"].del(formatInt(bk))
	return true
}

// SetBadgeWindow sets ACTIVATE and DEACTIVATE of the badge and of each of
// its access level assignments (a zero time clears that bound), as an
// administrator moving a visitor's badge dates would. It fails for an
// unknown badge or a window that ends before it starts.
func (s *Server) SetBadgeWindow(badgeKey string, from, until time.Time) error {
	if !from.IsZero() && !until.IsZero() && until.Before(from) {
		return fmt.Errorf("lenelsim: window ends before it starts")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.badgeLocked(badgeKey)
	if err != nil {
		return err
	}
	from, until = utcOrZero(from), utcOrZero(until)
	now := s.now().UTC()
	b["ACTIVATE"], b["DEACTIVATE"], b["LASTCHANGED"] = from, until, now
	as := s.tables["lnl_accesslevelassignment"]
	for _, k := range s.assignmentsLocked(b.int("BADGEKEY")) {
		as.rows[k]["ACTIVATE"], as.rows[k]["DEACTIVATE"] = from, until
	}
	s.tables["lnl_badge"].changed()
	as.changed()
	return nil
}

func utcOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Second)
}

// SetBadgeLevels replaces the badge's access level assignments with one
// per given access level ID, each with the badge's own window. It fails for
// an unknown badge or access level, and then changes nothing.
func (s *Server) SetBadgeLevels(badgeKey string, levelIDs ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.badgeLocked(badgeKey)
	if err != nil {
		return err
	}
	levels := make([]int64, 0, len(levelIDs))
	for _, l := range levelIDs {
		id, err := strconv.ParseInt(l, 10, 64)
		if _, ok := s.tables["lnl_accesslevel"].rows[formatInt(id)]; err != nil || !ok {
			return fmt.Errorf("lenelsim: no access level has ID %q", l)
		}
		levels = append(levels, id)
	}
	bk := b.int("BADGEKEY")
	as := s.tables["lnl_accesslevelassignment"]
	for _, k := range s.assignmentsLocked(bk) {
		as.del(k)
	}
	for _, l := range levels {
		a := instance{"ACCESSLEVELID": l, "BADGEKEY": bk, "ACTIVATE": b["ACTIVATE"], "DEACTIVATE": b["DEACTIVATE"]}
		as.put(as.keyOf(a), a)
	}
	b["LASTCHANGED"] = s.now().UTC()
	s.tables["lnl_badge"].changed()
	return nil
}

// SetBadgeStatus sets the badge's STATUS to the badge status with the given
// name (case-insensitive), such as "Active" or "Returned".
func (s *Server) SetBadgeStatus(badgeKey, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.badgeLocked(badgeKey)
	if err != nil {
		return err
	}
	for _, st := range s.tables["lnl_badgestatus"].sorted(nil) {
		if name, _ := st["NAME"].(string); strings.EqualFold(name, status) {
			b["STATUS"], b["LASTCHANGED"] = st.int("ID"), s.now().UTC()
			s.tables["lnl_badge"].changed()
			return nil
		}
	}
	return fmt.Errorf("lenelsim: no badge status is named %q", status)
}

// AddInstance adds an instance directly, with the checks of POST
// /instances, as an administrator or another integration would (it is not
// logged as a request). props maps property names (case-insensitive) to
// int, int64, string, bool or time.Time values (a zero time leaves a date
// unset). It returns the new instance's key properties, such as ID or
// BADGEKEY, as int64 values.
func (s *Server) AddInstance(typeName string, props map[string]any) (map[string]int64, error) {
	raw := make(map[string]json.RawMessage, len(props))
	for k, v := range props {
		if t, ok := v.(time.Time); ok {
			v = ""
			if !t.IsZero() {
				v = t.UTC().Format(DefaultDateLayout)
			}
		}
		data, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("lenelsim: property %s: %v", k, err)
		}
		raw[k] = data
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	res, aerr := s.addInstance(call{typeName: typeName, props: raw, hasProps: true})
	if aerr != nil {
		return nil, fmt.Errorf("lenelsim: %s", aerr.Error())
	}
	t := s.types[strings.ToLower(typeName)]
	out := map[string]int64{}
	for name, v := range res.(map[string]any)["property_value_map"].(map[string]any) {
		if p := t.prop(name); p != nil && p.key {
			out[p.name], _ = v.(int64)
		}
	}
	return out, nil
}

// CodeReadOnly is the error code the simulator answers a change to a
// person a directory keeps (SetReadOnly). OnGuard's real answer is not
// public.
const CodeReadOnly = "openaccess.instances.readonly"

// SetReadOnly marks a person (by ID) as kept by a directory
// synchronisation or not: while it is, modifying the person or one of its
// badges (PUT /instances) is refused with HTTP 400, code CodeReadOnly and
// a message saying so, while its access level assignments may still be
// added and deleted. It fails for an unknown person.
func (s *Server) SetReadOnly(personID int64, readOnly bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.person(personID); !ok {
		return fmt.Errorf("lenelsim: no person has ID %d", personID)
	}
	if readOnly {
		s.readOnly[personID] = true
	} else {
		delete(s.readOnly, personID)
	}
	return nil
}

// checkReadOnly refuses a change to a read-only person or its badge.
func (s *Server) checkReadOnly(t *typeDef, cur instance) *apiError {
	var pid int64
	switch {
	case t.person:
		pid = cur.int("ID")
	case strings.EqualFold(t.name, "Lnl_Badge"):
		pid = cur.int("PERSONID")
	}
	if pid == 0 || !s.readOnly[pid] {
		return nil
	}
	return &apiError{status: http.StatusBadRequest, code: CodeReadOnly,
		message: fmt.Sprintf("The cardholder %d is synchronized from a directory and is read-only.", pid)}
}
