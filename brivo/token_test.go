package brivo

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
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

func TestConcurrentCallersShareOneTokenAndOneRefresh(t *testing.T) {
	e, clk := clockEnv(t) // tokens live 300 s
	const n = 64
	pingAll(t, e.p, n)
	if got := tokenGrants(e.sim.Requests()); len(got) != 1 || got[0] != "password" {
		t.Fatalf("first burst: grants %v, want one password grant", got)
	}

	// Near the end of the lifetime the token is refreshed before use.
	clk.Advance(280 * time.Second)
	e.sim.ResetRequests()
	pingAll(t, e.p, n)
	reqs := e.sim.Requests()
	if got := tokenGrants(reqs); len(got) != 1 || got[0] != "refresh_token" {
		t.Fatalf("second burst: grants %v, want one refresh", got)
	}
	for _, r := range reqs {
		if r.Status == 401 {
			t.Fatalf("a request was refused (401) although the token was refreshed early")
		}
	}

	// The server drops the token: every caller gets a 401, one refresh
	// serves them all.
	e.sim.ExpireAccessTokens()
	e.sim.ResetRequests()
	pingAll(t, e.p, n)
	if got := tokenGrants(e.sim.Requests()); len(got) != 1 || got[0] != "refresh_token" {
		t.Fatalf("after server-side expiry: grants %v, want one refresh", got)
	}
}

func TestTokenLifetimeIsRead(t *testing.T) {
	e, clk := clockEnv(t, brivosim.WithTokenLifetime(60*time.Second))
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(49 * time.Second) // 60 s minus a fifth is 48 s
	e.sim.ResetRequests()
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := tokenGrants(e.sim.Requests()); len(got) != 1 || got[0] != "refresh_token" {
		t.Errorf("grants %v: a 60 s token was not refreshed after 49 s", got)
	}
}

func TestRefreshFailureLogsInAgain(t *testing.T) {
	e, _ := clockEnv(t)
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.sim.ExpireAccessTokens()
	e.sim.ExpireRefreshTokens()
	e.sim.ResetRequests()
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := tokenGrants(e.sim.Requests()); strings.Join(got, ",") != "refresh_token,password" {
		t.Errorf("grants %v, want a refused refresh then a password login", got)
	}
}

func TestTokenExpiresMidProvision(t *testing.T) {
	for _, step := range []struct{ method, path string }{
		{"GET", "/users/*/external"},
		{"POST", "/credentials"},
		{"POST", "/users"},
		{"PUT", "/users/*/credentials/*"},
		{"PUT", "/groups/*/users/*"},
	} {
		t.Run(step.method+" "+step.path, func(t *testing.T) {
			e, clk := clockEnv(t)
			if err := e.p.Ping(t.Context()); err != nil { // hold a token already
				t.Fatal(err)
			}
			e.sim.AddFault(brivosim.Fault{Method: step.method, Path: step.path, Kind: brivosim.FaultExpireToken})
			e.sim.ResetRequests()
			g := testGrant(0, clk.Now(), e.levels()[0])
			p, err := e.p.Provision(t.Context(), g)
			if err != nil {
				t.Fatal(err)
			}
			reqs := e.sim.Requests()
			if got := tokenGrants(reqs); len(got) != 1 || got[0] != "refresh_token" {
				t.Errorf("grants %v, want one refresh", got)
			}
			refused, creates := 0, 0
			for _, r := range reqs {
				if r.Status == 401 {
					refused++
				}
				if r.Method == "POST" && (strings.HasSuffix(r.Path, "/credentials") || strings.HasSuffix(r.Path, "/users")) && r.Status/100 == 2 {
					creates++
				}
			}
			if refused != 1 {
				t.Errorf("%d requests refused, want 1", refused)
			}
			if creates != 2 {
				t.Errorf("%d successful creates, want exactly 2 (user and credential)", creates)
			}
			if c := e.sim.Census(); c != (brivosim.Census{Users: 1, Credentials: 1}) {
				t.Errorf("census %+v, want exactly one user and one credential", c)
			}
			if !e.sim.Opens(p.Credential.ID, e.levels()[0], clk.Now()) {
				t.Error("credential does not open")
			}
		})
	}
}

func TestTokenRefusals(t *testing.T) {
	good := brivosim.DefaultCredentials()
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"password", func(c *Config) { c.Password = "wrong-password" }, "admin ID or password was refused"},
		{"client secret", func(c *Config) { c.ClientSecret = "wrong-secret" }, "client ID or secret was refused"},
		{"API key", func(c *Config) { c.APIKey = "wrong-key" }, "API key is missing, invalid or inactive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := clockEnv(t)
			cfg := simConfig(e.srv.URL)
			tc.mutate(&cfg)
			p, err := New(cfg, testOptions()...)
			if err != nil {
				t.Fatal(err)
			}
			err = p.Ping(t.Context())
			if acs.CodeOf(err) != acs.Unauthenticated || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want unauthenticated: %s", err, tc.want)
			}
			var ae *acs.Error
			if !strings.HasPrefix(err.Error(), "brivo ping: ") || !asAcs(err, &ae) || ae.Op != "ping" {
				t.Errorf("error does not name provider and op: %v", err)
			}
			for _, s := range []string{cfg.Password, cfg.ClientSecret, cfg.APIKey, good.Password, good.ClientSecret, good.APIKey} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error contains a secret")
				}
			}
			// Nothing but the token request was sent.
			if calls := apiCalls(e.sim.Requests()); len(calls) != 0 {
				t.Errorf("API requests without a token: %q", calls)
			}
		})
	}
}
