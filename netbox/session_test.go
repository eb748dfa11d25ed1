package netbox

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/netbox/netboxsim"
)

// expectSessions checks, after Close, that no session is left open at the
// controller.
func expectNoOpenSession(t *testing.T, e *env) {
	t.Helper()
	if err := e.p.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if open, logins, logouts := e.sim.Sessions(); open != 0 {
		t.Errorf("%d sessions left open after Close (%d logins, %d logouts)", open, logins, logouts)
	}
}

// The session expires while a provision is under way: the command
// answered APIERROR 5 is sent again after one new Login, and the refused
// session is logged out on the side.
func TestSessionExpiresMidProvision(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	if err := e.p.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	e.sim.AddFault(netboxsim.Fault{Command: "AddCredential", ExpireSession: true})
	e.sim.ResetRequests()
	g := e.grant(1)
	p, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	if !e.opens(p.Credential, netboxsim.LevelLobby, e.clock.Now()) {
		t.Error("the credential does not open")
	}
	want := []string{"GetAccessLevels", "GetCardFormats", "GetPerson", "AddPerson", "AddCredential", "Logout", "Login", "AddCredential"}
	var got []string
	for _, r := range e.sim.Requests() {
		got = append(got, r.Command)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("commands %v, want %v", got, want)
	}
	if c := e.sim.Census(); c.People != 1 || c.Credentials != 1 {
		t.Errorf("census %+v", c)
	}
	expectNoOpenSession(t, e)
}

// A controller whose Data Integration refuses API sessions: Login
// succeeds, every command is APIERROR 5. One re-login, then an
// Unauthenticated error that says what to change; both sessions are
// logged out.
func TestSessionsRefusedAfterLogin(t *testing.T) {
	e := newEnv(t, envOpts{sim: []netboxsim.Option{netboxsim.WithIntegrationAuthDisabled()}})
	err := e.p.Ping(t.Context())
	if acs.CodeOf(err) != acs.Unauthenticated || !strings.Contains(err.Error(), "Use login username/password") {
		t.Fatalf("Ping: %v", err)
	}
	var e5 *Error
	if !errors.As(err, &e5) || e5.APIError != 5 {
		t.Errorf("error does not carry APIERROR 5: %v", err)
	}
	if n := count(e.sim.Requests(), "Login"); n != 2 {
		t.Errorf("%d logins, want 2", n)
	}
	// The next call fails at once: no Login until the back-off passed.
	if err := e.p.Ping(t.Context()); acs.CodeOf(err) != acs.Unauthenticated || count(e.sim.Requests(), "Login") != 2 {
		t.Errorf("during the back-off: %v after %d logins", err, count(e.sim.Requests(), "Login"))
	}
	e.clock.Advance(minLoginBackoff)
	_ = e.p.Ping(t.Context())
	if n := count(e.sim.Requests(), "Login"); n != 4 {
		t.Errorf("%d logins after the back-off, want 4", n)
	}
	if e.p.sess.loginDelay != 2*minLoginBackoff {
		t.Errorf("back-off %s after two refusals, want %s", e.p.sess.loginDelay, 2*minLoginBackoff)
	}
	expectNoOpenSession(t, e)
	if _, logins, logouts := e.sim.Sessions(); logins != logouts {
		t.Errorf("%d logins, %d logouts", logins, logouts)
	}
}

// A wrong password is Unauthenticated; no new Login is tried during the
// back-off, and one is after it.
func TestLoginRefusedBacksOff(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.Password = "wrong-password" }})
	ctx := t.Context()
	err := e.p.Ping(ctx)
	if acs.CodeOf(err) != acs.Unauthenticated {
		t.Fatalf("Ping: %v", err)
	}
	if strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("the error shows the password: %v", err)
	}
	_, err = e.p.AccessLevels(ctx)
	if acs.CodeOf(err) != acs.Unauthenticated || count(e.sim.Requests(), "Login") != 1 {
		t.Errorf("during the back-off: %v after %d logins", err, count(e.sim.Requests(), "Login"))
	}
	e.clock.Advance(minLoginBackoff)
	_ = e.p.Ping(ctx)
	if n := count(e.sim.Requests(), "Login"); n != 2 {
		t.Errorf("%d logins after the back-off, want 2", n)
	}
}

// The API disabled on the controller (APIERROR 2 to Login) is
// PermissionDenied.
func TestAPIDisabled(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.sim.AddFault(netboxsim.Fault{Command: "Login", APIError: 2})
	if err := e.p.Ping(t.Context()); acs.CodeOf(err) != acs.PermissionDenied || !strings.Contains(err.Error(), "Enable V2") {
		t.Fatalf("Ping: %v", err)
	}
}

// Concurrent callers share one Login.
func TestConcurrentCallersShareOneLogin(t *testing.T) {
	e := newEnv(t, envOpts{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if err := e.p.Ping(t.Context()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := count(e.sim.Requests(), "Login"); n != 1 {
		t.Errorf("%d logins, want 1", n)
	}
	expectNoOpenSession(t, e)
	if _, logins, logouts := e.sim.Sessions(); logins != 1 || logouts != 1 {
		t.Errorf("%d logins, %d logouts", logins, logouts)
	}
}

// Close during a Login waits for it and logs the new session out; later
// calls fail with Unavailable; Close again returns the same result.
func TestCloseDuringLogin(t *testing.T) {
	e := newEnv(t, envOpts{})
	arrived, release := make(chan struct{}), make(chan struct{})
	e.sim.AddFault(netboxsim.Fault{Command: "Login", Before: func() { close(arrived); <-release }})
	pinged := make(chan error, 1)
	go func() { pinged <- e.p.Ping(context.Background()) }()
	<-arrived
	closed := make(chan error, 1)
	go func() { closed <- e.p.Close(context.Background()) }()
	for !e.closing() {
		time.Sleep(time.Millisecond) // until Close has marked the provider closed
	}
	close(release)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-pinged; acs.CodeOf(err) != acs.Unavailable {
		t.Errorf("Ping across Close: %v", err)
	}
	if open, logins, logouts := e.sim.Sessions(); open != 0 || logins != 1 || logouts != 1 {
		t.Errorf("open %d, logins %d, logouts %d", open, logins, logouts)
	}
	if err := e.p.Ping(context.Background()); acs.CodeOf(err) != acs.Unavailable {
		t.Errorf("Ping after Close: %v", err)
	}
	if err := e.p.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func (e *env) closing() bool {
	e.p.sess.mu.Lock()
	defer e.p.sess.mu.Unlock()
	return e.p.sess.closed
}

// A session the controller dropped (a restart) is replaced on the next
// call, and Close's Logout of an unknown session is not an error.
func TestControllerRestart(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	if err := e.p.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	e.sim.ExpireSessions()
	if _, err := e.p.AccessLevels(ctx); err != nil {
		t.Fatal(err)
	}
	e.sim.ExpireSessions()
	expectNoOpenSession(t, e)
}

// An idle session expires at the controller's idle timeout; the next call
// logs in again.
func TestIdleTimeout(t *testing.T) {
	e := newEnv(t, envOpts{sim: []netboxsim.Option{netboxsim.WithIdleTimeout(10 * time.Minute)}})
	ctx := t.Context()
	if err := e.p.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(11 * time.Minute)
	if err := e.p.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(e.sim.Requests(), "Login"); n != 2 {
		t.Errorf("%d logins, want 2", n)
	}
}
