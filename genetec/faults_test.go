package genetec_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/wiegand"
)

func TestCredentialsRefused(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	for _, c := range []struct {
		name string
		cfg  func(*genetec.Config)
		code acs.Code
		hint string
	}{
		{"password", func(c *genetec.Config) { c.Password = "wrong" }, acs.Unauthenticated, "check the user name, password and SDK application ID"},
		{"user", func(c *genetec.Config) { c.Username = "nobody" }, acs.Unauthenticated, `user "nobody"`},
		{"application ID", func(c *genetec.Config) { c.ApplicationID = "not-licensed" }, acs.PermissionDenied, "part number"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(e.srv.URL)
			c.cfg(&cfg)
			p, err := genetec.New(cfg, genetec.WithRetry(2, time.Millisecond, time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			e.sim.ResetRequests()
			err = p.Ping(ctx)
			if acs.CodeOf(err) != c.code || !strings.Contains(err.Error(), c.hint) {
				t.Fatalf("got %v, want %v mentioning %q", err, c.code, c.hint)
			}
			if n := len(e.sim.Requests()); n != 1 {
				t.Fatalf("%d attempts, want 1 (no retry)", n)
			}
		})
	}
}

func TestAnswerMapping(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		fault genetecsim.Fault
		code  acs.Code
		hint  string
	}{
		{"forbidden", genetecsim.Fault{Status: 403}, acs.PermissionDenied, "Log on using the SDK"},
		{"unauthorized", genetecsim.Fault{Status: 401}, acs.Unauthenticated, "Active Directory"},
		{"fail envelope", genetecsim.Fault{Fail: &genetecsim.Failure{SdkErrorCode: "InvalidOperation", Message: "Could not find property 'Page' from filter: 'Page=1'"}},
			acs.InvalidArgument, "Could not find property 'Page'"},
		{"fail unknown code", genetecsim.Fault{Fail: &genetecsim.Failure{SdkErrorCode: "Weird", Message: "odd"}}, acs.Unknown, "Web SDK error (Weird): odd"},
		{"html 400", genetecsim.Fault{Status: 400}, acs.InvalidArgument, "HTML page (Bad Request)"},
		{"legacy xml", genetecsim.Fault{Status: 200, Body: `<rsp status="ok"></rsp>`, ContentType: "application/xml"}, acs.Unsupported, "5.8"},
		{"legacy json", genetecsim.Fault{Status: 200, Body: `{"rsp":{"status":"ok"}}`}, acs.Unsupported, "legacy JSON"},
		{"empty", genetecsim.Fault{Status: 200, Body: " "}, acs.Unknown, "empty"},
		{"too many requests", genetecsim.Fault{Status: 429, RetryAfter: "120"}, acs.RateLimited, "429"},
		{"server error", genetecsim.Fault{Status: 500, Times: 5}, acs.Unavailable, "500"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.sim.Inject(c.fault)
			err := e.p.Ping(ctx)
			var ae *acs.Error
			if !errors.As(err, &ae) || ae.Code != c.code || ae.Provider != genetec.Name || ae.Op != "ping" || !strings.Contains(err.Error(), c.hint) {
				t.Fatalf("got %v (code %v), want %v mentioning %q", err, acs.CodeOf(err), c.code, c.hint)
			}
			if c.fault.Fail != nil {
				var se *genetec.SDKError
				if !errors.As(err, &se) || se.Code != c.fault.Fail.SdkErrorCode || se.Message != c.fault.Fail.Message {
					t.Fatalf("SdkError not reachable: %#v", se)
				}
			}
			if c.fault.RetryAfter != "" {
				if d, ok := acs.RetryAfterOf(err); !ok || d != 120*time.Second {
					t.Fatalf("RetryAfter %v %v", d, ok)
				}
			}
		})
	}
}

func TestWrongBaseURI(t *testing.T) {
	e := newEnv(t, nil)
	cfg := testConfig(e.srv.URL)
	cfg.BaseURL = e.srv.URL + "/Wrong"
	p, err := genetec.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Ping(context.Background())
	if acs.CodeOf(err) != acs.Misconfigured || acs.IsRetryable(err) || !strings.Contains(err.Error(), "Base URI") {
		t.Fatalf("got %v", err)
	}
	// A revocation must never take an HTML 404 for "already gone".
	err = p.Revoke(context.Background(), acs.CredentialRef{ID: "5a3e1f0c-9b7d-4c2a-8e61-0d4f2b7a9c11"})
	if err == nil {
		t.Fatal("revoke against a wrong URL succeeded")
	}
}

func TestGetRetriedPostNot(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	e.sim.Inject(genetecsim.Fault{Method: "GET", Status: 503, Times: 2})
	if err := e.p.Ping(ctx); err != nil {
		t.Fatalf("ping after two 503s: %v", err)
	}
	if n := len(e.sim.Requests()); n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
	e.sim.ResetRequests()
	e.sim.Inject(genetecsim.Fault{Method: "POST", Status: 503, Times: 10})
	_, err := e.p.Provision(ctx, grant(1))
	if acs.CodeOf(err) != acs.Unavailable {
		t.Fatalf("got %v, want unavailable", err)
	}
	// A POST is never sent again as it was: the creation of a cardholder
	// whose answer is an error is followed by a fresh search (it may have
	// been made), eight looks in all while the cardholder may exist
	// unchecked (a twin of it would be converged by no one else).
	posts := 0
	var prev genetecsim.Request
	for _, r := range e.sim.Requests() {
		if r.Method == "POST" {
			posts++
			if posts > 1 && (prev.Method != "GET" || !strings.HasPrefix(prev.Q, "EntityTypes@") && !strings.HasPrefix(prev.Q, "entity=")) {
				t.Errorf("POST %d follows %s %s, not a fresh look", posts, prev.Method, prev.Q)
			}
		}
		prev = r
	}
	if posts != 8 {
		t.Fatalf("%d POST attempts, want 8 (one a look)", posts)
	}
	e.sim.ClearFaults()
	if _, err := e.p.Provision(ctx, grant(1)); err != nil {
		t.Fatal(err)
	}
	if c := e.sim.Census(); c != (genetecsim.Census{Cardholders: 1, Credentials: 1}) {
		t.Fatalf("census %+v", c)
	}
}

// TestLostResponses drops the connection after each write of a provision
// commits; provisioning again finds what exists and creates nothing twice.
func TestLostResponses(t *testing.T) {
	ctx := context.Background()
	for drop := 1; drop <= 2; drop++ {
		t.Run("write"+itoa(drop), func(t *testing.T) {
			e := newEnv(t, nil)
			g := grant(1)
			if drop == 2 {
				// Let the first write through.
				e.sim.Inject(genetecsim.Fault{Method: "POST", Path: "entity"})
			}
			e.sim.Inject(genetecsim.Fault{Method: "POST", Path: "entity", DropAfterCommit: true})
			p, err := e.p.Provision(ctx, g)
			if drop == 1 {
				// The cardholder's creation: recovered within the call,
				// whose next look finds the cardholder.
				if err != nil {
					t.Fatalf("provision with a lost creation answer: %v", err)
				}
			} else {
				// The final write: the caller calls again.
				if acs.CodeOf(err) != acs.Unavailable || !acs.IsRetryable(err) {
					t.Fatalf("got %v, want a retryable unavailable error", err)
				}
				if c := e.sim.Census(); c.Cardholders != 1 || c.Credentials != 1 {
					t.Fatalf("after the lost response: %+v", c)
				}
				if p, err = e.p.Provision(ctx, g); err != nil {
					t.Fatal(err)
				}
			}
			if p.Created != (drop == 1) {
				t.Fatalf("Created = %v", p.Created)
			}
			if c := e.sim.Census(); c != (genetecsim.Census{Cardholders: 1, Credentials: 1}) {
				t.Fatalf("census %+v, want one of each", c)
			}
			if !e.sim.Opens(p.Credential.ID, genetecsim.SeedLobbyGroup, t0) {
				t.Fatal("credential does not open the lobby")
			}
		})
	}
}

func TestLostDeleteResponseRetried(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	p, err := e.p.Provision(ctx, grant(1))
	if err != nil {
		t.Fatal(err)
	}
	e.sim.Inject(genetecsim.Fault{Method: "DELETE", DropAfterCommit: true})
	if err := e.p.Revoke(ctx, p.Credential); err != nil {
		t.Fatalf("revoke with a lost DELETE response: %v", err)
	}
	if c := e.sim.Census(); c.Credentials != 0 {
		t.Fatalf("census %+v", c)
	}
}

// blockingSleep is a simulator sleep that waits for the request's context
// and tells the test it has started.
type blockingSleep struct {
	entered chan time.Duration
}

func (b blockingSleep) sleep(ctx context.Context, d time.Duration) error {
	b.entered <- d
	<-ctx.Done()
	return ctx.Err()
}

func TestCancelWhileWaiting(t *testing.T) {
	b := blockingSleep{entered: make(chan time.Duration, 1)}
	e := newEnv(t, []genetecsim.Option{genetecsim.WithSleep(b.sleep)})
	e.sim.Inject(genetecsim.Fault{Delay: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.p.Ping(ctx) }()
	if d := <-b.entered; d != time.Hour {
		t.Fatalf("slept %v", d)
	}
	cancel()
	err := <-done
	if acs.CodeOf(err) != acs.Canceled || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want canceled", err)
	}
}

func TestColdSession(t *testing.T) {
	var mu sync.Mutex
	var slept []time.Duration
	sleep := func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		slept = append(slept, d)
		return nil
	}
	e := newEnv(t, []genetecsim.Option{genetecsim.WithSleep(sleep), genetecsim.WithColdStart(3 * time.Second)})
	ctx := context.Background()
	for range 3 {
		if err := e.p.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Set(t0.Add(6 * time.Minute)) // idle past the 5-minute session
	if err := e.p.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	e.sim.ExpireSessions()
	if err := e.p.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.sim.ColdStarts(); n != 3 {
		t.Fatalf("%d cold starts, want 3", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(slept) != 3 || slept[0] != 3*time.Second {
		t.Fatalf("slept %v", slept)
	}
}

func TestStaleCredentialReissued(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	g := grant(1)
	owner := e.sim.AddCardholder("Former Visitor", "Former", "Visitor")
	old, ok := e.sim.AddCredential("H10301 42/1001", wiegand.H10301, 42, 1001, "Inactive", owner, t0.Add(-48*time.Hour), t0.Add(-24*time.Hour))
	if !ok {
		t.Fatal("seeding failed")
	}
	e.sim.ResetRequests()
	p, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.sim.Credential(old); ok {
		t.Fatal("stale credential kept")
	}
	if n := len(e.sim.Requests()); n != 7 {
		t.Fatalf("%d round trips, want 7 (6 + the delete)", n)
	}
	if !e.sim.Opens(p.Credential.ID, genetecsim.SeedLobbyGroup, t0) {
		t.Fatal("reissued credential does not open")
	}
	if !strings.Contains(e.logs.String(), "deleting an inactive credential") {
		t.Fatal("replacement not logged")
	}
}

func TestCardHeldInFutureIsConflict(t *testing.T) {
	e := newEnv(t, nil)
	owner := e.sim.AddCardholder("Tomorrow", "To", "Morrow")
	if _, ok := e.sim.AddCredential("H10301 42/1001", wiegand.H10301, 42, 1001, "Inactive", owner, t0.Add(24*time.Hour), t0.Add(26*time.Hour)); !ok {
		t.Fatal("seeding failed")
	}
	before := e.sim.Census()
	_, err := e.p.Provision(context.Background(), grant(1))
	if acs.CodeOf(err) != acs.Conflict {
		t.Fatalf("got %v, want conflict", err)
	}
	if c := e.sim.Census(); c != before {
		t.Fatalf("census %+v, before %+v", c, before)
	}
}

func TestRevokeRefusesOtherEntities(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	err := e.p.Revoke(ctx, acs.CredentialRef{ID: genetecsim.SeedLobbyGroup})
	if acs.CodeOf(err) != acs.InvalidArgument {
		t.Fatalf("revoking a group: %v", err)
	}
	err = e.p.RemoveCardholder(ctx, acs.CardholderRef{ID: genetecsim.SeedLobbyGroup})
	if err == nil {
		t.Fatal("removing a group as a cardholder succeeded")
	}
	if len(e.sim.Groups()) != 2 {
		t.Fatal("a group was deleted")
	}
	// A cardholder that does not carry the external ID is not removed.
	other := e.sim.AddCardholder("Someone Else", "Someone", "Else")
	err = e.p.RemoveCardholder(ctx, acs.CardholderRef{ID: other, ExternalID: "visit-1"})
	if acs.CodeOf(err) != acs.Conflict {
		t.Fatalf("got %v, want conflict", err)
	}
	if _, ok := e.sim.Cardholder(other); !ok {
		t.Fatal("someone else was removed")
	}
}

func TestRevokeAfterCardMoved(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	p, err := e.p.Provision(ctx, grant(1))
	if err != nil {
		t.Fatal(err)
	}
	// An operator moves the credential to someone else.
	other := e.sim.AddCardholder("Staff Member", "Staff", "Member", genetecsim.SeedLobbyGroup)
	moveQ := "entity=" + hex(p.Credential.ID) + ",CardholderGuid=" + hex(other)
	if err := postRaw(e.srv.URL, moveQ); err != nil {
		t.Fatal(err)
	}
	if err := e.p.Revoke(ctx, p.Credential); err != nil {
		t.Fatal(err)
	}
	if !e.sim.Opens(p.Credential.ID, genetecsim.SeedLobbyGroup, t0) {
		t.Fatal("the staff member's credential was revoked")
	}
}

func TestCardFormats(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	g := grant(1)
	g.Card = acs.Card{Format: acs.H10302, Number: 123456789}
	p, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := e.sim.Credential(p.Credential.ID)
	if c.BitLength != 37 || c.FormatType != genetecsim.FormatH10302 {
		t.Fatalf("stored %+v", c)
	}
	e.sim.ResetRequests()
	for _, f := range []acs.CardFormat{acs.H10306, acs.H10304, acs.Corp1000_35, acs.Corp1000_48} {
		g := grant(2)
		g.Card = acs.Card{Format: f, Facility: 1, Number: 1}
		_, err := e.p.Provision(ctx, g)
		if acs.CodeOf(err) != acs.Unsupported || !strings.Contains(err.Error(), "H10301") {
			t.Fatalf("%s: got %v, want unsupported", f, err)
		}
	}
	g = grant(3)
	g.CredentialType = genetec.FormatH10302
	if _, err := e.p.Provision(ctx, g); acs.CodeOf(err) != acs.InvalidArgument {
		t.Fatalf("mismatched credential type: %v", err)
	}
	g.CredentialType = strings.ReplaceAll(genetec.FormatStandard26, "-", "")
	g.AccessLevels = []string{"not-a-guid"}
	if _, err := e.p.Provision(ctx, g); acs.CodeOf(err) != acs.InvalidArgument {
		t.Fatalf("non-GUID level: %v", err)
	}
	if n := len(e.sim.Requests()); n != 0 {
		t.Fatalf("%d requests for refused grants", n)
	}
}

func TestRevokeRefs(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	g := grant(1)
	p, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ref  acs.CredentialRef
	}{
		{"bad ID", acs.CredentialRef{ID: "nope"}},
		{"bad cardholder ID", acs.CredentialRef{ID: p.Credential.ID, CardholderID: "nope"}},
		{"nothing", acs.CredentialRef{}},
		{"bad external ID", acs.CredentialRef{CardholderExternalID: "a b", Card: g.Card}},
		{"bad card", acs.CredentialRef{CardholderExternalID: "visit-1", Card: acs.Card{Format: acs.H10301, Number: 1 << 20}}},
		{"bad holder ID, no ID", acs.CredentialRef{CardholderID: "nope", Card: g.Card}},
	} {
		if err := e.p.Revoke(ctx, c.ref); acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	for _, ref := range []acs.CardholderRef{{}, {ID: "nope"}, {ID: p.Cardholder.ID, ExternalID: "a b"}} {
		if err := e.p.RemoveCardholder(ctx, ref); acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("remove %+v: %v", ref, err)
		}
	}
	if n := len(e.sim.Requests()); n != 6 {
		t.Fatalf("%d requests, want only the provision's 6", n)
	}
	// A format the adapter never writes: nothing to revoke.
	if err := e.p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: "visit-1", Card: acs.Card{Format: acs.H10306, Facility: 1, Number: 1}}); err != nil {
		t.Fatal(err)
	}
	// Another visit's external ID with this cardholder's ID is refused.
	err = e.p.Revoke(ctx, acs.CredentialRef{CardholderID: p.Cardholder.ID, CardholderExternalID: "visit-2", Card: g.Card})
	if acs.CodeOf(err) != acs.Conflict {
		t.Fatalf("got %v, want conflict", err)
	}
	// By cardholder ID and card (no external ID).
	if err := e.p.Revoke(ctx, acs.CredentialRef{CardholderID: p.Cardholder.ID, Card: g.Card}); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.sim.Credential(p.Credential.ID); ok {
		t.Fatal("credential not deleted")
	}
	// Once the cardholder is gone too, the same succeeds.
	if err := e.p.RemoveCardholder(ctx, p.Cardholder); err != nil {
		t.Fatal(err)
	}
	if err := e.p.Revoke(ctx, acs.CredentialRef{CardholderID: p.Cardholder.ID, Card: g.Card}); err != nil {
		t.Fatal(err)
	}
	if err := e.p.RemoveCardholder(ctx, p.Cardholder); err != nil {
		t.Fatal(err)
	}
}

// TestEntityVanishesDuringLookup makes the read after the searches fail as
// if a found entity had just been deleted while the Web SDK says every
// entity exists (a stale cache): the read is repeated once, and a second
// refusal is a retryable error, not NotFound.
func TestEntityVanishesDuringLookup(t *testing.T) {
	ctx := context.Background()
	gone := &genetecsim.Failure{SdkErrorCode: "UnknownEntity", Message: "Entity '0badc0de-0000-4000-8000-00000000f00d' was not found"}
	e := newEnv(t, nil)
	// Existence checks pass through (faults apply in injection order).
	e.sim.Inject(genetecsim.Fault{Path: "entity/exists", Times: 100})
	e.sim.Inject(genetecsim.Fault{Method: "GET", Path: "entity", Fail: gone})
	p, err := e.p.Provision(ctx, grant(1))
	if err != nil {
		t.Fatalf("one vanished entity: %v", err)
	}
	e.sim.Inject(genetecsim.Fault{Method: "GET", Path: "entity", Fail: gone, Times: 2})
	_, err = e.p.Provision(ctx, grant(2, genetecsim.SeedFloor3Group)) // a group not yet confirmed: read
	if acs.CodeOf(err) != acs.Unavailable {
		t.Fatalf("got %v, want unavailable", err)
	}
	e.sim.Inject(genetecsim.Fault{Method: "GET", Path: "entity", Fail: gone})
	if err := e.p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: "visit-1", Card: grant(1).Card}); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.sim.Credential(p.Credential.ID); ok {
		t.Fatal("credential not revoked")
	}
}
