package lenel

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
)

func logins(e *env) int { return count(e.requests(), "POST", "/authentication", "") }

func TestConcurrentCallersShareOneLogin(t *testing.T) {
	e := newEnv(t, envOpts{})
	const n = 64
	run := func(f func(context.Context) error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() { errs[i] = f(t.Context()) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	}
	run(e.p.Ping)
	if got := logins(e); got != 1 {
		t.Fatalf("%d concurrent callers made %d logins, want 1", n, got)
	}
	// The server forgets every session: all callers get refused at once and
	// still only one of them logs in again.
	e.sim.ExpireSessions()
	run(func(ctx context.Context) error { _, err := e.p.AccessLevels(ctx); return err })
	if got := logins(e); got != 2 {
		t.Fatalf("after the server dropped the session: %d logins in all, want 2", got)
	}
	tokens := map[string]bool{}
	for _, r := range e.requests() {
		if r.Status == 200 && r.SessionToken != "" {
			tokens[r.SessionToken] = true
		}
	}
	if len(tokens) != 2 {
		t.Errorf("successful requests used %d distinct tokens, want 2", len(tokens))
	}
}

func TestRefusedLoginBacksOff(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.Password = "wrong-password" }})
	err := e.p.Ping(t.Context())
	if acs.CodeOf(err) != acs.Unauthenticated {
		t.Fatalf("wrong password: %v (code %v), want unauthenticated", err, acs.CodeOf(err))
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 401 || ae.Code != lenelsim.CodeAuthenticationFailed {
		t.Errorf("APIError = %+v", ae)
	}
	var aerr *acs.Error
	if !errors.As(err, &aerr) || aerr.Op != "ping" || aerr.Provider != Name {
		t.Errorf("error does not name the op and provider: %v", err)
	}
	// Calls right after a refusal do not try again (account lockout) and
	// fail with the same code.
	for range 5 {
		if err := e.p.Ping(t.Context()); acs.CodeOf(err) != acs.Unauthenticated {
			t.Fatalf("during back-off: %v", err)
		}
	}
	if got := logins(e); got != 1 {
		t.Fatalf("%d logins during the back-off, want 1", got)
	}
	// After the back-off it tries again; each refusal doubles the wait.
	e.clock.Advance(31 * time.Second)
	_ = e.p.Ping(t.Context())
	e.clock.Advance(31 * time.Second)
	_ = e.p.Ping(t.Context())
	if got := logins(e); got != 2 {
		t.Errorf("%d logins, want 2 (the second back-off is a minute)", got)
	}
	e.clock.Advance(30 * time.Second)
	_ = e.p.Ping(t.Context())
	if got := logins(e); got != 3 {
		t.Errorf("%d logins, want 3", got)
	}
}

func TestUnlicensedApplicationID(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.ApplicationID = "OPEN_ACCESS_NON_PRODUCTION" }})
	err := e.p.Ping(t.Context())
	if acs.CodeOf(err) != acs.PermissionDenied {
		t.Fatalf("unlicensed application ID: %v, want permission denied", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "openaccess.general.invalidapplicationid" {
		t.Errorf("APIError = %+v", ae)
	}
}

func TestSessionExpiresMidProvision(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	// Warm up so the session exists, then let it expire exactly when the
	// badge is about to be created.
	if err := e.p.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	e.sim.AddFault(lenelsim.Fault{Method: "POST", TypeName: "Lnl_Badge", ExpireSession: true})
	g := e.grant(1, "1", "2")
	p, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	reqs := e.requests()
	if got := logins(e); got != 2 {
		t.Errorf("%d logins, want 2 (initial and after expiry)", got)
	}
	var badgePosts []int
	for _, r := range reqs {
		if r.Method == "POST" && r.TypeName == "Lnl_Badge" {
			badgePosts = append(badgePosts, r.Status)
		}
	}
	if len(badgePosts) != 2 || badgePosts[0] != 401 || badgePosts[1] != 200 {
		t.Errorf("badge creation answers %v, want [401 200]", badgePosts)
	}
	if c := e.sim.Census(); c.Visitors != 1 || c.Badges != 1 || c.Assignments != 2 {
		t.Errorf("census %+v, want exactly one visitor, one badge, two assignments", c)
	}
	for _, l := range []string{"1", "2"} {
		if !e.opens(p.Credential, l, e.clock.Now()) {
			t.Errorf("badge does not open level %s", l)
		}
	}
	if e.sim.PendingFaults() != 0 {
		t.Error("fault not used")
	}
}

func TestSessionIdleTimeoutIsTransparent(t *testing.T) {
	e := newEnv(t, envOpts{sim: []lenelsim.Option{lenelsim.WithIdleTimeout(15 * time.Minute)}})
	ctx := t.Context()
	if _, err := e.p.AccessLevels(ctx); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(20 * time.Minute) // idle past the server's timeout, token not expired
	if _, err := e.p.AccessLevels(ctx); err != nil {
		t.Fatal(err)
	}
	if got := logins(e); got != 2 {
		t.Errorf("%d logins, want 2", got)
	}
	refused := 0
	for _, r := range e.requests() {
		if r.Status == 401 {
			refused++
		}
	}
	if refused != 1 {
		t.Errorf("%d refused requests, want 1", refused)
	}
}

func TestSessionRenewedBeforeExpiry(t *testing.T) {
	e := newEnv(t, envOpts{sim: []lenelsim.Option{lenelsim.WithSessionTTL(time.Hour), lenelsim.WithIdleTimeout(0)}})
	ctx := t.Context()
	if err := e.p.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(54 * time.Minute) // more than 5 minutes left: same session
	if err := e.p.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if got := logins(e); got != 1 {
		t.Fatalf("%d logins before the renewal margin, want 1", got)
	}
	e.clock.Advance(2 * time.Minute) // 4 minutes left: renew first
	if err := e.p.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if got := logins(e); got != 2 {
		t.Fatalf("%d logins inside the renewal margin, want 2", got)
	}
	for _, r := range e.requests() {
		if r.Status == 401 {
			t.Errorf("request %s was refused; the session should have been renewed in time", shape(r))
		}
	}
}

func TestKeepAliveMethod(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	if err := e.p.KeepAlive(ctx); err != nil || len(e.requests()) != 0 {
		t.Fatalf("KeepAlive without a session: %v, %d requests", err, len(e.requests()))
	}
	if err := e.p.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	if err := e.p.KeepAlive(ctx); err != nil {
		t.Fatal(err)
	}
	checkRequests(t, e, e.requests(), []want{{method: "GET", path: "/keepalive"}})
	// A session the server dropped is forgotten quietly; the next call
	// logs in without first being refused.
	e.sim.ExpireSessions()
	e.sim.ResetRequests()
	if err := e.p.KeepAlive(ctx); err != nil {
		t.Fatalf("KeepAlive on a dropped session: %v", err)
	}
	if err := e.p.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	got := e.requests()
	if len(got) != 3 || got[0].Status != 401 || got[1].Path != "/authentication" || got[2].Status != 200 {
		for _, r := range got {
			t.Logf("%s → %d", shape(r), r.Status)
		}
		t.Error("want keepalive refused, login, ping")
	}
}

func TestKeepAliveLoop(t *testing.T) {
	ticks := make(chan time.Time)
	done := make(chan struct{})
	e := newEnv(t, envOpts{opts: []Option{WithKeepAlive(5 * time.Minute), withKeepAliveTicks(ticks)}})
	e.p.onTick = func() { done <- struct{}{} }
	ctx := t.Context()
	tick := func() {
		t.Helper()
		select {
		case ticks <- e.clock.Now():
		case <-time.After(10 * time.Second):
			t.Fatal("keepalive loop not running")
		}
		<-done
	}
	if err := e.p.Ping(ctx); err != nil { // logs in and starts the loop
		t.Fatal(err)
	}
	e.sim.ResetRequests()

	e.clock.Advance(2 * time.Minute)
	tick() // busy recently: nothing to do
	if n := len(e.requests()); n != 0 {
		t.Fatalf("%d requests on a tick while not idle", n)
	}
	e.clock.Advance(4 * time.Minute)
	tick() // idle for 6 minutes: keepalive
	checkRequests(t, e, e.requests(), []want{{method: "GET", path: "/keepalive"}})
	tick() // the keepalive itself counts as activity
	if n := len(e.requests()); n != 1 {
		t.Fatalf("%d requests, want still 1", n)
	}
	e.clock.Advance(50 * time.Minute) // 4 minutes before the token expires
	tick()
	if got := logins(e); got != 1 {
		t.Fatalf("tick inside the renewal margin made %d logins, want 1", got)
	}
	e.sim.ResetRequests()
	if err := e.p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	checkRequests(t, e, e.requests(), []want{{method: "DELETE", path: "/authentication"}})
	select {
	case ticks <- e.clock.Now():
		t.Fatal("loop still receiving ticks after Close")
	default:
	}
}
