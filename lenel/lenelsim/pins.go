package lenelsim

import (
	"strconv"
	"time"
)

// maxPINDigits is the longest Lnl_Badge.PIN the simulator takes.
const maxPINDigits = 9

func numeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// badgesWithPIN returns the BADGEKEYs of the badges whose PIN is pin; s.mu
// is held.
func (s *Server) badgesWithPIN(pin string) []int64 {
	var out []int64
	if pin == "" {
		return nil
	}
	for _, b := range s.tables["lnl_badge"].rows {
		if p, _ := b["PIN"].(string); p == pin {
			out = append(out, b.int("BADGEKEY"))
		}
	}
	return out
}

// PINOpens is the keypad oracle: whether entering pin at a keypad of a
// reader of the access level opens it at time at, by the rule of Opens
// applied to the badge whose PIN it is (OnGuard keeps a PIN on a badge:
// Lnl_Badge.PIN, written but never returned by the simulator).
func (s *Server) PINOpens(pin, accessLevelID string, at time.Time) bool {
	lid, err := strconv.ParseInt(accessLevelID, 10, 64)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, bk := range s.badgesWithPIN(pin) {
		if s.opensLocked(bk, lid, at) {
			return true
		}
	}
	return false
}

// PINOpensDoor reports whether entering pin at the door's keypad opens it
// at time at: the door has a keypad (DoorSpec.Keypad) and the badge whose
// PIN it is opens one of the door's access levels then.
func (s *Server) PINOpensDoor(pin, doorID string, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.keypads[doorID] {
		return false
	}
	for _, bk := range s.badgesWithPIN(pin) {
		for _, l := range s.doorLevels[doorID] {
			if s.opensLocked(bk, l, at) {
				return true
			}
		}
	}
	return false
}
