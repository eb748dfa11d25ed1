package lenel

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
)

// loginAttempts counts POST requests to any path ending in /authentication
// (a wrong base URL sends them outside the API's path).
func loginAttempts(e *env) int {
	n := 0
	for _, r := range e.requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/authentication") {
			n++
		}
	}
	return n
}

// A base URL without OpenAccess's path answers the login with a 404.
// Reported at first as "unauthenticated: OnGuard refused the login (user
// name, password or directory)", with the login back-off; then as "not
// found: no OpenAccess API answers at the base URL's path "/"…", a code
// the outbox takes for a definite refusal. Now: misconfigured, naming the
// expected path, never the credentials, no back-off, not retryable.
func TestWrongBaseURLIsMisconfiguredWithoutBackOff(t *testing.T) {
	for name, path := range map[string]string{
		"host only":       "",
		"missing segment": "/api/access/onguard",
		"typo":            "/api/access/onguard/openacess",
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			cfg := e.cfg
			cfg.BaseURL = e.srv.URL + path
			p, err := New(cfg, WithClock(e.clock.Now), WithRetry(-1, 0, 0), WithKeepAlive(0))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Close(context.Background()) })
			for i := range 3 {
				err := p.Ping(t.Context())
				if acs.CodeOf(err) != acs.Misconfigured || acs.IsRetryable(err) {
					t.Fatalf("ping %d with base URL %q: %v (code %v), want misconfigured", i, cfg.BaseURL, err, acs.CodeOf(err))
				}
				msg := err.Error()
				if !strings.Contains(msg, lenelsim.BasePath) || !strings.Contains(msg, "does not point at the OnGuard OpenAccess API") {
					t.Errorf("error does not say the URL is wrong and name the expected path %s: %v", lenelsim.BasePath, err)
				}
				for _, wrong := range []string{"password", "refused", "credential"} {
					if strings.Contains(msg, wrong) {
						t.Errorf("a wrong URL described as a credentials problem (%q): %v", wrong, err)
					}
				}
				if i == 0 && name == "host only" {
					t.Logf("after: %s", msg)
				}
			}
			if got := loginAttempts(e); got != 3 {
				t.Errorf("%d login attempts for 3 calls, want 3 (a wrong URL must not start the login back-off)", got)
			}
		})
	}
}

func TestLoginRefusalsStillBackOff(t *testing.T) {
	// What OnGuard answers a wrong password is undocumented: a 401, a 403
	// or a 400 with an OpenAccess error, and even a 404 from OpenAccess
	// itself (its /version answers), are refusals of the login.
	cases := map[string]lenelsim.Fault{
		"401":            {Status: 401, Code: "openaccess.general.invalidcredentials"},
		"400":            {Status: 400, Code: "openaccess.general.invalidrequestitem"},
		"404-openaccess": {Status: 404, Code: "openaccess.general.usernotfound"},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOpts{opts: []Option{WithRetry(-1, 0, 0)}})
			f.Method, f.Path, f.Times = "POST", "/authentication", 10
			e.sim.AddFault(f)
			for range 3 {
				if err := e.p.Ping(t.Context()); acs.CodeOf(err) != acs.Unauthenticated {
					t.Fatalf("refused login: %v (code %v), want unauthenticated", err, acs.CodeOf(err))
				}
			}
			if got := logins(e); got != 1 {
				t.Errorf("%d logins during the back-off, want 1", got)
			}
		})
	}
}

func TestLoginServerErrorIsNotARefusal(t *testing.T) {
	e := newEnv(t, envOpts{opts: []Option{WithRetry(-1, 0, 0)}})
	e.sim.AddFault(lenelsim.Fault{Method: "POST", Path: "/authentication", Status: 502, RawBody: "<html>Bad Gateway</html>"})
	if err := e.p.Ping(t.Context()); !acs.IsRetryable(err) {
		t.Fatalf("login answered 502: %v, want a retryable error", err)
	}
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatalf("the next call must log in at once: %v", err)
	}
}

// waitClosed yields until Close has marked the provider closed.
func waitClosed(p *Provider) {
	for {
		p.smu.Lock()
		closed := p.closed
		p.smu.Unlock()
		if closed {
			return
		}
		runtime.Gosched()
	}
}

func TestCloseDuringLoginLogsTheNewSessionOut(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	sleep := func(ctx context.Context, d time.Duration) error {
		entered <- struct{}{}
		<-release
		return nil
	}
	e := newEnv(t, envOpts{sim: []lenelsim.Option{lenelsim.WithSleep(sleep)}})
	e.sim.AddFault(lenelsim.Fault{Method: "POST", Path: "/authentication", Latency: time.Second})
	pingErr := make(chan error, 1)
	go func() { pingErr <- e.p.Ping(context.Background()) }()
	<-entered // the login is at the server
	closeErr := make(chan error, 1)
	go func() { closeErr <- e.p.Close(context.Background()) }()
	waitClosed(e.p)
	close(release) // the server creates the session and answers
	if err := <-pingErr; err == nil {
		t.Error("ping succeeded on a closed provider")
	}
	if err := <-closeErr; err != nil {
		t.Errorf("close: %v", err)
	}
	if n := e.sim.Sessions(); n != 0 {
		t.Errorf("%d sessions left at OnGuard after Close", n)
	}
	if n := count(e.requests(), "DELETE", "/authentication", ""); n != 1 {
		t.Errorf("%d logouts, want 1", n)
	}
}

func TestCloseAfterRefusedLoginSendsNothing(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.Password = "wrong" }})
	if err := e.p.Ping(t.Context()); acs.CodeOf(err) != acs.Unauthenticated {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	if err := e.p.Close(t.Context()); err != nil || len(e.requests()) != 0 {
		t.Errorf("close: %v, %d requests", err, len(e.requests()))
	}
	if err := e.p.Ping(t.Context()); !errors.Is(err, acs.ErrUnavailable) {
		t.Errorf("ping after close: %v", err)
	}
}

// OnGuard's answer to an expired session is undocumented; whatever shape it
// takes, the provider finds out by asking and logs in again.
func TestExpiredSessionWhateverTheAnswer(t *testing.T) {
	for name, a := range map[string]struct {
		status int
		code   string
	}{
		"401-invalidsession": {401, lenelsim.CodeInvalidSession},
		"400-invalidrequest": {400, lenelsim.CodeInvalidRequest},
		"403-accessdenied":   {403, "openaccess.general.accessdenied"},
		"400-no-code":        {400, ""},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOpts{sim: []lenelsim.Option{lenelsim.WithInvalidSessionAnswer(a.status, a.code)}})
			ctx := t.Context()
			_, p := provisioned(t, e, 1)
			e.sim.ExpireSessions() // an OnGuard restart
			noError(t, "revoke after the session was dropped", e.p.Revoke(ctx, p.Credential))
			if got := logins(e); got != 2 {
				t.Errorf("%d logins, want 2", got)
			}
			e.sim.ExpireSessions()
			noError(t, "keepalive on a dropped session", e.p.KeepAlive(ctx))
			noError(t, "remove", e.p.RemoveCardholder(ctx, p.Cardholder))
			if got := logins(e); got != 3 {
				t.Errorf("%d logins, want 3", got)
			}
		})
	}
}

// A 400 with an undocumented code is tested against the session once, and
// keeps its own classification when the session is fine.
func TestUndocumentedRefusalAsksAboutTheSessionOnce(t *testing.T) {
	e := newEnv(t, envOpts{opts: []Option{WithRetry(-1, 0, 0)}})
	ctx := t.Context()
	if err := e.p.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	e.sim.AddFault(lenelsim.Fault{Method: "GET", Path: "/instances", Status: 400, Code: "openaccess.general.badfilter"})
	if _, err := e.p.AccessLevels(ctx); acs.CodeOf(err) != acs.InvalidArgument {
		t.Fatalf("400 with a live session: %v, want invalid argument", err)
	}
	if n, k := len(e.requests()), count(e.requests(), "GET", "/keepalive", ""); n != 2 || k != 1 || logins(e) != 0 {
		t.Errorf("%d requests, %d keepalives, %d logins; want the listing and one keepalive", n, k, logins(e))
	}
}

// A one-letter or common password leaves the refusal readable. Before,
// with the password "s": "OnGuard refu[REDACTED]ed the login
// (u[REDACTED]er name, pa[REDACTED][REDACTED]word or directory)".
func TestShortPasswordsDoNotMangleTheRefusal(t *testing.T) {
	for _, pw := range []string{"s", "a", "admin", "password"} {
		e := newEnv(t, envOpts{opts: []Option{WithRetry(-1, 0, 0)}, cfg: func(c *Config) { c.Password = pw }})
		err := e.p.Ping(t.Context())
		const want = "lenel ping: unauthenticated: OnGuard refused the login (user name, password or directory): OpenAccess HTTP 401"
		if !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "REDACTED") {
			t.Errorf("password %q:\n got %v\nwant %s…", pw, err, want)
		}
	}
}
