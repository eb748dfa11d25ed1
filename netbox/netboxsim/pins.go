package netboxsim

import (
	"slices"
	"time"
)

// PIN lengths the simulated controller takes.
const (
	minPINDigits = 4
	maxPINDigits = 12
)

// checkPIN refuses a malformed PIN (FAIL) or one another person not
// deleted holds (DUPLICATE); nil when p's PIN is acceptable or empty.
func (s *Server) checkPIN(p *person) *result {
	pin := p.fields["PIN"]
	if pin == "" {
		return nil
	}
	if len(pin) < minPINDigits || len(pin) > maxPINDigits || !digitsOnly(pin) {
		return fail("Invalid value for PIN")
	}
	for _, o := range s.people {
		if o.id != p.id && !o.deleted && o.fields["PIN"] == pin {
			return &result{code: "DUPLICATE", errmsg: "PIN already in use"}
		}
	}
	return nil
}

func digitsOnly(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

// pinOpensLocked reports whether pin, entered at a keypad, opens the doors
// of the level named levelName at time at: a person holds it, is not
// deleted, at lies within its ACTDATE/EXPDATE, and it holds the level.
func (s *Server) pinOpensLocked(pin, levelName string, at time.Time) bool {
	if pin == "" {
		return false
	}
	for _, p := range s.people {
		switch {
		case p.fields["PIN"] != pin || p.deleted:
		case !p.act.IsZero() && at.Before(p.act):
		case !p.exp.IsZero() && !at.Before(p.exp):
		case contains(p.levels, levelName):
			return true
		}
	}
	return false
}

// PINOpens is the keypad oracle per access level (by key): whether
// entering pin at a keypad reader serving the level opens it at time at.
func (s *Server) PINOpens(pin, levelKey string, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.levels {
		if l.key == levelKey {
			return s.pinOpensLocked(pin, l.name, at)
		}
	}
	return false
}

// SetReaderKeypad gives a reader a keypad (on) or takes it away, and
// reports whether the reader exists.
func (s *Server) SetReaderKeypad(readerKey string, on bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.readers {
		if s.readers[i].key == readerKey {
			s.readers[i].keypad = on
			return true
		}
	}
	return false
}

// PINOpensReader reports whether entering pin at the reader's keypad
// opens its door at time at: the reader has a keypad (SetReaderKeypad)
// and the PIN opens one of the levels it serves.
func (s *Server) PINOpensReader(pin, readerKey string, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.readers {
		if r.key == readerKey && r.keypad {
			return slices.ContainsFunc(r.levels, func(l string) bool { return s.pinOpensLocked(pin, l, at) })
		}
	}
	return false
}
