package altasim

import (
	"net/http"
	"slices"
	"time"
)

// checkUniquePIN refuses a pincode another live user holds: 409
// ConflictError. The notes do not say whether Alta keeps PINs unique
// within an organisation; a keypad PIN identifies its user, so the
// simulator does, and the adapter must handle the refusal.
func (s *Server) checkUniquePIN(c *credential) (answer, bool) {
	if t := s.credType(c.typeID); t == nil || t.ModelName != "pincode" {
		return answer{}, true
	}
	for _, other := range s.creds {
		if other.id == c.id || other.user == c.user || other.name != c.name {
			continue
		}
		if t := s.credType(other.typeID); t == nil || t.ModelName != "pincode" {
			continue
		}
		if u := s.users[other.user]; u == nil || u.archived {
			continue
		}
		return errAnswer(http.StatusConflict, "ConflictError", "pincode is already assigned to another user"), false
	}
	return answer{}, true
}

// pinOpensLocked reports whether pin, entered at a keypad, opens the doors
// of group gid at time at: a pincode credential carries it and opens the
// group then, by the rule of Opens (live user with status A, member of
// the group, inside the user's and the credential's windows).
func (s *Server) pinOpensLocked(pin string, gid int64, at time.Time) bool {
	if pin == "" {
		return false
	}
	for _, c := range s.creds {
		if t := s.credType(c.typeID); t == nil || t.ModelName != "pincode" || c.name != pin {
			continue
		}
		if s.opensLocked(c.id, gid, at) {
			return true
		}
	}
	return false
}

// PINOpens is the keypad oracle per group (an acs access level): whether
// entering pin at a keypad of a door of group groupID opens it at time at.
func (s *Server) PINOpens(pin, groupID string, at time.Time) bool {
	gid, ok := parseID(groupID)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pinOpensLocked(pin, gid, at)
}

// SetEntryKeypad gives an entry a keypad reader (on) or takes it away,
// and reports whether the entry exists.
func (s *Server) SetEntryKeypad(entryID int64, on bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[entryID]
	if e == nil {
		return false
	}
	e.Keypad = on
	return true
}

// PINOpensEntry reports whether entering pin at the entry's keypad opens
// it at time at: the entry has a keypad (SetEntryKeypad) and the PIN
// opens one of its groups.
func (s *Server) PINOpensEntry(pin string, entryID int64, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[entryID]
	if e == nil || !e.Keypad {
		return false
	}
	return slices.ContainsFunc(e.Groups, func(g int64) bool { return s.pinOpensLocked(pin, g, at) })
}
