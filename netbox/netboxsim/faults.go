package netboxsim

import "time"

// Fault is one injected misbehaviour. It applies to requests of Command
// (empty matches every command), skips the first Skip matches, then affects the next Times matches
// (Times ≤ 0 means once). When several faults match, the first added
// wins.
type Fault struct {
	Command string
	Skip    int
	Times   int

	// Latency delays the request (through the simulator's sleep) before
	// anything else happens.
	Latency time.Duration
	// Before, when set, runs just before the request is handled (after
	// Latency), without the simulator's lock held: it may call the
	// Server's methods, to change the state as a request arrives.
	Before func()
	// APIError answers <APIERROR>n</APIERROR> without doing anything.
	APIError int
	// Code answers this CODE (FAIL, NOT FOUND, DUPLICATE, or anything)
	// with ErrMsg, without doing anything.
	Code   string
	ErrMsg string
	// HTTPStatus answers a non-NBAPI HTTP answer (an HTML page, or
	// RawBody) without doing anything, as a proxy in front of the
	// controller would.
	HTTPStatus int
	RawBody    string
	// ExpireSession ends the caller's session just before the request is
	// handled, so it is answered APIERROR 5.
	ExpireSession bool
	// DropBefore closes the connection without doing anything.
	DropBefore bool
	// DropAfterCommit handles the request (the change is committed) and
	// then closes the connection without an answer.
	DropAfterCommit bool
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

// takeFault returns the fault for a command (the zero Fault when none).
func (s *Server) takeFault(name string) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, fs := range s.faults {
		f := fs.f
		if f.Command != "" && f.Command != name {
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

// answer is the fault's canned answer, or nil when it has none.
func (f Fault) answer() *result {
	switch {
	case f.HTTPStatus != 0:
		return &result{httpStatus: f.HTTPStatus, rawBody: f.RawBody}
	case f.APIError != 0:
		return &result{apiError: f.APIError}
	case f.Code != "":
		return &result{code: f.Code, errmsg: f.ErrMsg}
	}
	return nil
}
