package verkadasim

import (
	"net/http"
	"net/url"
	"slices"
	"time"
)

// Entry-code bounds the simulator takes (the notes give none).
const (
	minEntryCode = 4
	maxEntryCode = 16
)

func (s *Server) putEntryCode(q url.Values, body []byte) answer {
	if a, ok := onlyParams(q, accessUserKeys...); !ok {
		return a
	}
	u, a, ok := s.userByKeys(q, accessUserKeys...)
	if !ok {
		return a
	}
	var in struct {
		EntryCode *string `json:"entry_code"`
	}
	if err := decodeStrict(body, &in); err != nil || in.EntryCode == nil {
		return errAnswer(http.StatusBadRequest, "Body must be {\"entry_code\": \"<digits>\"}")
	}
	code := *in.EntryCode
	if len(code) < minEntryCode || len(code) > maxEntryCode || !allDigits(code) {
		return errAnswer(http.StatusBadRequest, "entry_code must be 4 to 16 digits")
	}
	for _, o := range s.users {
		if o.id != u.id && o.entryCode == code {
			return errAnswer(http.StatusBadRequest, "Entry code is already in use")
		}
	}
	u.entryCode = code
	return jsonAnswer(http.StatusOK, s.accessUserJSON(u))
}

func (s *Server) deleteEntryCode(q url.Values, _ []byte) answer {
	if a, ok := onlyParams(q, accessUserKeys...); !ok {
		return a
	}
	u, a, ok := s.userByKeys(q, accessUserKeys...)
	if !ok {
		return a
	}
	u.entryCode = ""
	return jsonAnswer(http.StatusOK, map[string]any{})
}

func allDigits(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return v != ""
}

// pinOpensLocked reports whether pin, entered at a keypad, opens the doors
// of group groupID at time at: a user holds it as its entry code, is a
// member of the group, and at lies within its start and end dates.
func (s *Server) pinOpensLocked(pin, groupID string, at time.Time) bool {
	if pin == "" {
		return false
	}
	for _, u := range s.users {
		if u.entryCode != pin || !u.groups[groupID] {
			continue
		}
		if (u.start == nil || !at.Before(*u.start)) && (u.end == nil || at.Before(*u.end)) {
			return true
		}
	}
	return false
}

// PINOpens is the keypad oracle per access group: whether entering pin at
// a keypad of a door of the group opens it at time at.
func (s *Server) PINOpens(pin, groupID string, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pinOpensLocked(pin, groupID, at)
}

// SetDoorKeypad gives a door a keypad reader (on) or takes it away, and
// reports whether the door exists.
func (s *Server) SetDoorKeypad(doorID string, on bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.doors[doorID]
	if d == nil {
		return false
	}
	d.Keypad = on
	return true
}

// PINOpensDoor reports whether entering pin at the door's keypad opens it
// at time at: the door has a keypad (SetDoorKeypad) and the PIN opens one
// of its groups.
func (s *Server) PINOpensDoor(pin, doorID string, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.doors[doorID]
	if d == nil || !d.Keypad {
		return false
	}
	return slices.ContainsFunc(d.Groups, func(g string) bool { return s.pinOpensLocked(pin, g, at) })
}
