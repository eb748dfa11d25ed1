package brivosim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// PIN lengths the simulated account takes (Brivo's documented sample is
// "5678"; an account's PIN length is a setting).
const (
	minPINDigits = 4
	maxPINDigits = 8
)

// patchUser serves PATCH /users/{id}, the documented partial update: the
// fields present change, the others stay. It takes the names, pin (null
// or "" removes it) and effectiveFrom/effectiveTo (the PIN's validity;
// null or "" removes the bound). A PIN of the wrong length or not all
// digits, or one another user holds, is a 400 that does not quote it.
func (s *Server) patchUser(q url.Values, id string, body []byte) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	u, a, ok := s.lookupUser(id)
	if !ok {
		return a
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil || in == nil {
		return errAnswer(http.StatusBadRequest, "Malformed request body")
	}
	next := *u
	for k, raw := range in {
		if a, ok := s.patchField(&next, k, raw); !ok {
			return a
		}
	}
	if !next.pinTo.IsZero() && !next.pinFrom.IsZero() && !next.pinFrom.Before(next.pinTo) {
		return errAnswer(http.StatusBadRequest, "effectiveFrom must be before effectiveTo")
	}
	if next.pin != "" {
		for _, o := range s.users {
			if o.id != u.id && o.pin == next.pin {
				return errAnswer(http.StatusBadRequest, "PIN is already in use")
			}
		}
	}
	next.updated = s.now()
	*u = next
	return jsonAnswer(http.StatusOK, userJSON(u))
}

// patchField applies one field of a PATCH to u.
func (s *Server) patchField(u *user, k string, raw json.RawMessage) (answer, bool) {
	var str *string
	if err := json.Unmarshal(raw, &str); err != nil {
		return errAnswer(http.StatusBadRequest, "Invalid value for "+k), false
	}
	v := ""
	if str != nil {
		v = *str
	}
	switch k {
	case "firstName", "lastName":
		if v == "" {
			return errAnswer(http.StatusBadRequest, "firstName and lastName are required"), false
		}
		if k == "firstName" {
			u.first = v
		} else {
			u.last = v
		}
	case "middleName":
		u.middle = v
	case "pin":
		if v != "" && (len(v) < minPINDigits || len(v) > maxPINDigits || !digits(v)) {
			return errAnswer(http.StatusBadRequest, fmt.Sprintf("PIN must be %d to %d digits", minPINDigits, maxPINDigits)), false
		}
		u.pin = v
	case "effectiveFrom", "effectiveTo":
		var t time.Time
		if v != "" {
			var err error
			if t, err = parseTime(v); err != nil {
				return errAnswer(http.StatusBadRequest, "Invalid "+k), false
			}
		}
		if k == "effectiveFrom" {
			u.pinFrom = t
		} else {
			u.pinTo = t
		}
	default:
		return errAnswer(http.StatusBadRequest, "Unrecognized field '"+k+"'"), false
	}
	return answer{}, true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// SetDoorKeypad gives a door a keypad reader (on) or takes it away. A
// keypad door opens for a user's PIN (see PINOpensDoor).
func (s *Server) SetDoorKeypad(doorID int64, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.doors[doorID]
	if d == nil {
		return fmt.Errorf("brivosim: no door %d", doorID)
	}
	d.keypad = on
	return nil
}

// pinOpensLocked reports whether pin, entered at a keypad, lets its user
// through the doors of group gid at time at: a user holds the PIN, is not
// suspended, is a member of the group, and at lies in the PIN's
// [effectiveFrom, effectiveTo) (an unset bound is open). s.mu is held.
func (s *Server) pinOpensLocked(pin string, gid int64, at time.Time) bool {
	if pin == "" {
		return false
	}
	for _, u := range s.users {
		if u.pin != pin || u.suspended || !u.groups[gid] {
			continue
		}
		if (u.pinFrom.IsZero() || !at.Before(u.pinFrom)) && (u.pinTo.IsZero() || at.Before(u.pinTo)) {
			return true
		}
	}
	return false
}

// PINOpens is the keypad oracle per group (an acs access level): see
// pinOpensLocked. Brivo keeps a PIN on the user, with its own validity.
func (s *Server) PINOpens(pin, groupID string, at time.Time) bool {
	gid, err := strconv.ParseInt(groupID, 10, 64)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pinOpensLocked(pin, gid, at)
}

// PINOpensDoor reports whether pin opens the door's keypad at time at: the
// door has a keypad (SetDoorKeypad) and the PIN opens one of its groups.
func (s *Server) PINOpensDoor(pin string, doorID int64, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.doors[doorID]
	if d == nil || !d.keypad {
		return false
	}
	return slices.ContainsFunc(d.groups, func(g int64) bool { return s.pinOpensLocked(pin, g, at) })
}
