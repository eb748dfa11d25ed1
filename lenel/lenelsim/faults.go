package lenelsim

import (
	"strings"
	"time"
)

// Fault is one injected misbehaviour. It applies to requests matching
// Method, Path and TypeName (each empty matches anything; TypeName is
// compared case-insensitively), skips the first Skip matches, then affects
// the next Times matches (Times ≤ 0 means once). When several faults match
// a request, the first added wins.
type Fault struct {
	Method   string // "GET", "POST", ...
	Path     string // relative to BasePath, such as "/instances"
	TypeName string // such as "Lnl_Badge"
	Skip     int
	Times    int

	// Latency delays the request (through the simulator's sleep) before
	// anything else happens.
	Latency time.Duration
	// Status answers with this status and an error body (Code and Message,
	// defaulting to CodeInternalError) without doing anything.
	Status  int
	Code    string
	Message string
	// RawBody, with Status, is sent as an HTML body instead of the JSON
	// error, as a proxy or web server in front of OpenAccess would answer.
	RawBody string
	// ExpireSession ends the caller's session just before the request is
	// handled, so it is answered with an invalid-session error.
	ExpireSession bool
	// DropBefore closes the connection without doing anything.
	DropBefore bool
	// DropAfterCommit handles the request (the change is committed) and
	// then closes the connection without an answer.
	DropAfterCommit bool
	// Before, when set, runs just before the request is handled (after
	// Latency), without the simulator's lock held: it may call the Server's
	// methods, to change the state at the moment a request arrives.
	Before func()
}

type faultState struct {
	f       Fault
	skipped int
	used    int
}

// AddFault injects a fault.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	s.faults = append(s.faults, &faultState{f: f})
	s.mu.Unlock()
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// PendingFaults returns how many injected faults have not been used up.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults)
}

// takeFault returns the fault for a request (the zero Fault when none).
func (s *Server) takeFault(method, path, typeName string) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, fs := range s.faults {
		f := fs.f
		if f.Method != "" && f.Method != method || f.Path != "" && f.Path != path ||
			f.TypeName != "" && !strings.EqualFold(f.TypeName, typeName) {
			continue
		}
		if fs.skipped < f.Skip {
			fs.skipped++
			continue
		}
		fs.used++
		if fs.used >= max(f.Times, 1) {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		return f
	}
	return Fault{}
}
