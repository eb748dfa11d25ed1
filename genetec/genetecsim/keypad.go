package genetecsim

import (
	"slices"
	"time"
)

// FormatKeypad is the format type the simulator reports for a keypad
// credential (Format=KeypadCredentialFormat(code)).
const FormatKeypad = "keypad"

// maxKeypadDigits is the longest keypad code the simulator takes.
const maxKeypadDigits = 16

// setKeypad sets a credential's Format to a keypad code. The refusal does
// not quote the code.
func setKeypad(e *entity, op Item) *sdkError {
	if len(op.Args) != 1 || !allDigits(op.Args[0]) || len(op.Args[0]) > maxKeypadDigits {
		return failf(codeInvalidOperation, "Invalid keypad credential: a code of 1 to %d digits is expected", maxKeypadDigits)
	}
	e.keypad, e.bits, e.raw, e.formatType = op.Args[0], 0, 0, FormatKeypad
	return nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkKeypad refuses a keypad code another credential holds, as Security
// Center refuses duplicate credential data (unless duplicates are
// allowed, see WithDuplicateCardData).
func (st *store) checkKeypad(e *entity) *sdkError {
	for _, o := range st.byGUID {
		if !st.dupCards && o.typ == TypeCredential && o.guid != e.guid && o.keypad == e.keypad {
			return failf(codeInvalidOperation, "A credential with the same keypad code already exists ('%s')", o.name)
		}
	}
	return nil
}

// SetKeypad gives a door a keypad reader (on) or takes it away, and
// reports whether the door exists. A keypad door opens for a PIN as a
// card reader does for a card (see PINOpensDoor).
func (s *Server) SetKeypad(door string, on bool) bool {
	dg, ok := ParseGUID(door)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.st.byGUID[dg]
	if d == nil || d.typ != TypeDoor {
		return false
	}
	if s.keypads == nil {
		s.keypads = map[string]bool{}
	}
	s.keypads[dg] = on
	return true
}

// keypadCreds returns the GUIDs of the credentials whose keypad code is
// pin; the caller holds Server.mu.
func (st *store) keypadCreds(pin string) []string {
	var out []string
	for _, e := range st.byGUID {
		if e.typ == TypeCredential && e.keypad != "" && e.keypad == pin {
			out = append(out, e.guid)
		}
	}
	slices.Sort(out)
	return out
}

// PINOpens is the keypad oracle: whether entering pin at a keypad lets
// its holder through the doors of the cardholder group at time at, by the
// rule of Opens applied to the keypad credential carrying the code.
func (s *Server) PINOpens(pin, group string, at time.Time) bool {
	gg, ok := ParseGUID(group)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cg := range s.st.keypadCreds(pin) {
		if s.st.opens(cg, gg, at) {
			return true
		}
	}
	return false
}

// PINOpensDoor reports whether entering pin at the door's keypad opens it
// at time at: the door has a keypad (SetKeypad) and a keypad credential
// carrying the code opens the door (see DoorOpens).
func (s *Server) PINOpensDoor(pin, door string, at time.Time) bool {
	dg, ok := ParseGUID(door)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.keypads[dg] {
		return false
	}
	for _, cg := range s.st.keypadCreds(pin) {
		if s.st.doorOpens(cg, dg, at) {
			return true
		}
	}
	return false
}
