package alta

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/alta/altasim"
)

// pingAll pings from n goroutines at once and fails on any error.
func pingAll(t *testing.T, p *Provider, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- p.Ping(t.Context())
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func countStatus(reqs []altasim.Request, status int) int {
	n := 0
	for _, r := range reqs {
		if r.Status == status {
			n++
		}
	}
	return n
}

func TestConcurrentCallersShareOneLoginAndOneRefresh(t *testing.T) {
	e := newEnv(t, nil) // tokens live 1 h; refreshed a minute early
	const n = 64
	pingAll(t, e.p, n)
	if got := logins(e.sim.Requests()); len(got) != 1 || got[0] != loginPath {
		t.Fatalf("first burst: %v, want one login", got)
	}

	e.clk.Advance(59*time.Minute + 30*time.Second)
	e.sim.ResetRequests()
	pingAll(t, e.p, n)
	reqs := e.sim.Requests()
	if got := logins(reqs); len(got) != 1 || got[0] != refreshPath {
		t.Fatalf("near expiry: %v, want one refresh", got)
	}
	if countStatus(reqs, 401) != 0 {
		t.Fatal("a request was refused although the token was refreshed early")
	}

	// The server forgets every token: each caller gets a 401, one login
	// serves them all (a refused token cannot be refreshed).
	e.sim.ExpireTokens()
	e.sim.ResetRequests()
	pingAll(t, e.p, n)
	if got := logins(e.sim.Requests()); len(got) != 1 || got[0] != loginPath {
		t.Fatalf("after server-side expiry: %v, want one login", got)
	}
}

func TestTokenLifetimeIsRead(t *testing.T) {
	e := newEnv(t, []altasim.Option{altasim.WithTokenLifetime(10 * time.Minute)})
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(8*time.Minute + 59*time.Second)
	e.sim.ResetRequests()
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := logins(e.sim.Requests()); len(got) != 0 {
		t.Errorf("refreshed too early: %v", got)
	}
	e.clk.Advance(2 * time.Second) // past 10 min minus a minute
	e.sim.ResetRequests()
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := logins(e.sim.Requests()); len(got) != 1 || got[0] != refreshPath {
		t.Errorf("%v: a 10-minute token was not refreshed after 9 minutes", got)
	}
}

func TestRefusedRefreshLogsInAgain(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(59*time.Minute + 30*time.Second)
	e.sim.AddFault(altasim.Fault{Path: refreshPath, Kind: altasim.FaultStatus, Status: 401})
	e.sim.ResetRequests()
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := logins(e.sim.Requests()); strings.Join(got, ",") != refreshPath+","+loginPath {
		t.Errorf("%v, want a refused refresh then a login", got)
	}
}

func TestTokenExpiresMidProvision(t *testing.T) {
	for _, step := range []struct{ method, path string }{
		{"GET", "/users"},
		{"GET", "/credentials"},
		{"POST", "/users"},
		{"PUT", "/users/*/groupIds"},
		{"POST", "/users/*/credentials"},
	} {
		t.Run(step.method+" "+step.path, func(t *testing.T) {
			e := newEnv(t, nil)
			if err := e.p.Ping(t.Context()); err != nil { // hold a token already
				t.Fatal(err)
			}
			e.sim.AddFault(altasim.Fault{Method: step.method, Path: step.path, Kind: altasim.FaultExpireToken})
			e.sim.ResetRequests()
			g := testGrant(0, e.clk.Now(), e.levels()[0])
			p, err := e.p.Provision(t.Context(), g)
			if err != nil {
				t.Fatal(err)
			}
			reqs := e.sim.Requests()
			if got := logins(reqs); len(got) != 1 || got[0] != loginPath {
				t.Errorf("%v, want one login", got)
			}
			creates := 0
			for i, r := range routes(reqs) {
				if (r == "POST /o/users" || r == "POST /o/users/*/credentials") && reqs[i].Status/100 == 2 {
					creates++
				}
			}
			if n := countStatus(reqs, 401); n != 1 {
				t.Errorf("%d requests refused, want 1", n)
			}
			if creates != 2 {
				t.Errorf("%d successful creates, want exactly 2 (user and credential)", creates)
			}
			if c := e.sim.Census(); c != (altasim.Census{Users: 1, Credentials: 1}) {
				t.Errorf("census %+v", c)
			}
			if !e.sim.Opens(p.Credential.ID, e.levels()[0], e.clk.Now()) {
				t.Error("credential does not open")
			}
		})
	}
}

// Whether Alta wants "Bearer <token>" or the bare token is open (§1.1,
// §6): the adapter tries Bearer, then the bare token with the same fresh
// token, and keeps what works.
func TestTokenSchemeProbe(t *testing.T) {
	for _, tc := range []struct {
		sim  altasim.TokenScheme
		want string
	}{{altasim.SchemeBearer, "bearer"}, {altasim.SchemeBare, "bare"}, {altasim.SchemeEither, "bearer"}} {
		t.Run(tc.want, func(t *testing.T) {
			e := newEnv(t, []altasim.Option{altasim.WithTokenScheme(tc.sim)})
			pingAll(t, e.p, 8)
			if _, err := e.p.Provision(t.Context(), testGrant(0, e.clk.Now(), e.levels()[0])); err != nil {
				t.Fatal(err)
			}
			reqs := e.sim.Requests()
			if got := logins(reqs); len(got) != 1 {
				t.Errorf("%v, want one login", got)
			}
			refused := countStatus(reqs, 401)
			if tc.sim == altasim.SchemeBare && (refused < 1 || refused > 8) || tc.sim != altasim.SchemeBare && refused != 0 {
				t.Errorf("%d requests refused", refused)
			}
			last := reqs[len(reqs)-1]
			if last.AuthScheme != tc.want {
				t.Errorf("settled on %q, want %q", last.AuthScheme, tc.want)
			}
			e.sim.ResetRequests()
			if err := e.p.Ping(t.Context()); err != nil {
				t.Fatal(err)
			}
			if r := e.sim.Requests(); len(r) != 1 || r[0].AuthScheme != tc.want {
				t.Errorf("after probing: %d requests, scheme %q", len(r), r[0].AuthScheme)
			}
		})
	}
}

func TestFixedTokenSchemeIsNotProbed(t *testing.T) {
	e := newEnv(t, []altasim.Option{altasim.WithTokenScheme(altasim.SchemeBearer)}, WithTokenScheme(SchemeBare))
	err := e.p.Ping(t.Context())
	if acs.CodeOf(err) != acs.Unauthenticated {
		t.Fatalf("got %v, want unauthenticated", err)
	}
	for _, r := range e.sim.Requests() {
		if r.AuthScheme == "bearer" {
			t.Errorf("%s %s sent Bearer although the scheme was fixed", r.Method, r.Path)
		}
	}
}

func TestBasicAuth(t *testing.T) {
	e := newEnv(t, nil, WithBasicAuth())
	if _, err := e.p.Provision(t.Context(), testGrant(0, e.clk.Now(), e.levels()[0])); err != nil {
		t.Fatal(err)
	}
	for _, r := range e.sim.Requests() {
		if strings.HasPrefix(r.Path, "/auth/") || r.AuthScheme != "basic" {
			t.Errorf("%s %s with auth %q: want HTTP Basic and no login", r.Method, r.Path, r.AuthScheme)
		}
	}
	off := newEnv(t, []altasim.Option{altasim.WithBasicAuth(false)}, WithBasicAuth())
	if err := off.p.Ping(t.Context()); acs.CodeOf(err) != acs.Unauthenticated {
		t.Errorf("Basic refused: %v, want unauthenticated", err)
	}
}

func TestLoginRefused(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.cfg
	cfg.Password = "wrong-Pa55word"
	p, err := New(cfg, testOptions(WithClock(e.clk.Now))...)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Ping(t.Context())
	if acs.CodeOf(err) != acs.Unauthenticated || !strings.HasPrefix(err.Error(), "alta ping: unauthenticated: the login e-mail or password was refused") {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), cfg.Password) {
		t.Error("error contains the password")
	}
	if got := routes(e.sim.Requests()); len(got) != 1 || got[0] != "POST /auth/login" {
		t.Errorf("requests %q: nothing but the login should be sent", got)
	}
}

// A base URL where Alta's API does not answer. Before: "alta ping:
// unauthenticated: the login e-mail or password was refused (an account
// with MFA cannot log in through the API): HTTP 404 NotFoundError: route
// not found". After: misconfigured, naming the URL, not the credentials.
func TestWrongBaseURLIsMisconfigured(t *testing.T) {
	e := newEnv(t, nil)
	for _, path := range []string{"/zzz", "/api/v1"} {
		cfg := e.cfg
		cfg.BaseURL = e.srv.URL + path
		p, err := New(cfg, testOptions(WithClock(e.clk.Now))...)
		if err != nil {
			t.Fatal(err)
		}
		err = p.Ping(t.Context())
		if acs.CodeOf(err) != acs.Misconfigured || acs.IsRetryable(err) {
			t.Fatalf("base URL %s: %v (code %v), want misconfigured", cfg.BaseURL, err, acs.CodeOf(err))
		}
		msg := err.Error()
		if !strings.Contains(msg, "does not point at the Alta API") || !strings.Contains(msg, DefaultBaseURL) {
			t.Errorf("message does not say which URL is wrong: %s", msg)
		}
		if strings.Contains(msg, "password") || strings.Contains(msg, "refused") {
			t.Errorf("a wrong URL described as refused credentials: %s", msg)
		}
		t.Logf("after: %s", msg)
	}
}

// Alta answering the login itself with a 404 (an unknown e-mail, say) is
// still a refusal: its API answers the probe with 401.
func TestLogin404FromAltaIsARefusal(t *testing.T) {
	e := newEnv(t, nil)
	e.sim.AddFault(altasim.Fault{Method: "POST", Path: "/auth/login", Kind: altasim.FaultStatus, Status: 404})
	err := e.p.Ping(t.Context())
	if acs.CodeOf(err) != acs.Unauthenticated {
		t.Fatalf("got %v (code %v), want unauthenticated", err, acs.CodeOf(err))
	}
}
