package genetec_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/wiegand"
)

// Two VMS replicas are two processes: each has its own Provider, so the
// Provider's per-key locks do not serialise them. These tests run two
// separately constructed Providers against one simulator.

// gate is a simulator sleep function that holds the requests it is asked
// to delay until n of them have arrived, or until release is called. It
// waits on channels, never on the clock.
type gate struct {
	mu      sync.Mutex
	n       int
	arrived int
	open    chan struct{}
	entered chan struct{} // receives once per arrival
}

func newGate(n int) *gate {
	return &gate{n: n, open: make(chan struct{}), entered: make(chan struct{}, 16)}
}

func (g *gate) sleep(ctx context.Context, _ time.Duration) error {
	g.mu.Lock()
	g.arrived++
	if g.arrived == g.n {
		close(g.open)
	}
	g.mu.Unlock()
	g.entered <- struct{}{}
	select {
	case <-g.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release opens the gate for whoever is waiting.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.arrived < g.n {
		g.arrived = g.n
		close(g.open)
	}
}

// secondProvider is another process's Provider for the same simulator.
func (e *env) secondProvider(t *testing.T) *genetec.Provider {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, err := genetec.New(testConfig(e.srv.URL), genetec.WithClock(e.clock.Now),
		genetec.WithRetry(2, time.Millisecond, 5*time.Millisecond), genetec.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// holdersOf returns the cardholders whose name carries the visit's
// marker.
func holdersOf(sim *genetecsim.Server, ext string) []genetecsim.CardholderInfo {
	var out []genetecsim.CardholderInfo
	for _, c := range sim.Cardholders() {
		if strings.HasSuffix(c.Name, "["+ext+"]") {
			out = append(out, c)
		}
	}
	return out
}

// liveCards returns the credentials carrying the card that open the lobby
// at t0, with their cardholders.
func liveCards(t *testing.T, sim *genetecsim.Server, card acs.Card) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, c := range sim.Cardholders() {
		for _, id := range c.Credentials {
			ci, ok := sim.Credential(id)
			if !ok || ci.Name != card.String() {
				continue
			}
			if sim.Opens(id, genetecsim.SeedLobbyGroup, t0) {
				out[id] = c.GUID
			}
		}
	}
	return out
}

// smallest returns the GUID the adapter keeps among twins.
func smallest(guids ...string) string {
	norm := make([]string, len(guids))
	for i, g := range guids {
		norm[i] = strings.ToLower(strings.ReplaceAll(g, "-", ""))
	}
	i := slices.Index(norm, slices.Min(norm))
	return guids[i]
}

// checkOneHolder fails unless exactly one cardholder carries the visit's
// marker and exactly one live credential carries the card, on it.
func checkOneHolder(t *testing.T, sim *genetecsim.Server, g acs.Grant) genetecsim.CardholderInfo {
	t.Helper()
	hs := holdersOf(sim, g.Person.ExternalID)
	if len(hs) != 1 {
		t.Fatalf("%d cardholders carry [%s], want 1: %+v", len(hs), g.Person.ExternalID, hs)
	}
	live := liveCards(t, sim, g.Card)
	if len(live) != 1 {
		t.Fatalf("%d live credentials for card %s, want 1: %v", len(live), g.Card, live)
	}
	for _, holder := range live {
		if holder != hs[0].GUID {
			t.Fatalf("the card is live on %s, the cardholder is %s", holder, hs[0].GUID)
		}
	}
	return hs[0]
}

// TestConcurrentProvisionTwoProcesses: two processes provision one visit
// at the same instant; both search before either creates (the gate holds
// both creations until both have arrived). Both create a cardholder; the
// later to finish its creation sees both and keeps the one with the
// smallest GUID (the earlier may see both too, and decides the same). One
// cardholder is left, holding the card. A process that finished before
// the other's twin appeared may have answered the cardholder that lost:
// revoking its answer still reaches the card on the survivor.
func TestConcurrentProvisionTwoProcesses(t *testing.T) {
	for _, dup := range []bool{false, true} {
		name := "card data refused twice"
		var opts []genetecsim.Option
		if dup {
			name = "card data accepted twice"
			opts = append(opts, genetecsim.WithDuplicateCardData())
		}
		t.Run(name, func(t *testing.T) {
			gt := newGate(2)
			e := newEnv(t, append(opts, genetecsim.WithSleep(gt.sleep)))
			e.sim.Inject(genetecsim.Fault{Method: "POST", Path: "entity", Times: 2, Delay: time.Nanosecond})
			ps := []*genetec.Provider{e.p, e.secondProvider(t)}
			g := grant(1)
			res := make([]acs.Provisioned, 2)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, p := range ps {
				wg.Go(func() { res[i], errs[i] = p.Provision(t.Context(), g) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("process %d: %v", i, err)
				}
			}
			var h genetecsim.CardholderInfo
			if dup {
				// Both processes may have issued the card on the
				// survivor (the server accepts it twice): never on two
				// cardholders, and a later provision keeps one.
				hs := holdersOf(e.sim, g.Person.ExternalID)
				if len(hs) != 1 {
					t.Fatalf("%d cardholders carry the marker", len(hs))
				}
				for id, holder := range liveCards(t, e.sim, g.Card) {
					if holder != hs[0].GUID {
						t.Fatalf("credential %s live on %s, the survivor is %s", id, holder, hs[0].GUID)
					}
				}
				if _, err := e.p.Provision(t.Context(), g); err != nil {
					t.Fatal(err)
				}
			}
			h = checkOneHolder(t, e.sim, g)
			for i, r := range res {
				if _, exists := e.sim.Cardholder(r.Cardholder.ID); r.Cardholder.ID != h.GUID && exists {
					t.Errorf("process %d answered cardholder %s, which is kept beside the survivor %s", i, r.Cardholder.ID, h.GUID)
				}
			}
			if !strings.Contains(e.logs.String(), "several cardholders carry the same external ID") {
				t.Error("the twin's deletion was not logged")
			}
			for _, r := range res {
				if err := e.p.Revoke(t.Context(), r.Credential); err != nil {
					t.Fatal(err)
				}
				if live := liveCards(t, e.sim, g.Card); len(live) != 0 {
					t.Fatalf("after revoking %+v the card is still live: %v", r.Credential, live)
				}
				if _, err := e.p.Provision(t.Context(), g); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestLaterCreatorConverges: one process searches and is held before its
// creation while another provisions the visit completely; then the first
// creates a second cardholder. Right after creating it sees the other's,
// and the one with the smallest GUID survives, holding the card. Both
// processes' references then revoke the card, although one of them names
// entities deleted by the convergence. When the check for twins fails
// (the Web SDK busy), the later creator looks again within the call: its
// lease may have passed to the other process, which will not provision
// the visit again.
func TestLaterCreatorConverges(t *testing.T) {
	for _, busy := range []bool{false, true} {
		t.Run(map[bool]string{false: "check answered", true: "check refused once"}[busy], func(t *testing.T) {
			gt := newGate(2)
			e := newEnv(t, []genetecsim.Option{genetecsim.WithSleep(gt.sleep)})
			e.sim.Inject(genetecsim.Fault{Method: "POST", Path: "entity", Delay: time.Nanosecond})
			late := e.secondProvider(t)
			g := grant(1)
			var lateRes acs.Provisioned
			var lateErr error
			done := make(chan struct{})
			go func() {
				defer close(done)
				lateRes, lateErr = late.Provision(t.Context(), g)
			}()
			<-gt.entered // the late process has searched and is about to create
			first, err := e.p.Provision(t.Context(), g)
			if err != nil {
				t.Fatal(err)
			}
			if busy {
				e.sim.Inject(genetecsim.Fault{Method: "GET", Path: "report/", Fail: &genetecsim.Failure{SdkErrorCode: "ServerBusy", Message: "The Directory is busy; try again."}})
			}
			gt.release()
			<-done
			if lateErr != nil {
				t.Fatal(lateErr)
			}
			h := checkOneHolder(t, e.sim, g)
			if h.GUID != smallest(first.Cardholder.ID, lateRes.Cardholder.ID) && lateRes.Cardholder.ID != first.Cardholder.ID {
				t.Errorf("survivor %s is not the smallest of %s and %s", h.GUID, first.Cardholder.ID, lateRes.Cardholder.ID)
			}
			if lateRes.Cardholder.ID != h.GUID {
				t.Errorf("the later creator answered cardholder %s, the survivor is %s", lateRes.Cardholder.ID, h.GUID)
			}
			// Whichever reference the VMS recorded, revoking it leaves
			// nothing live: the first process's may name a deleted
			// credential.
			for _, ref := range []acs.CredentialRef{first.Credential, lateRes.Credential} {
				if err := e.p.Revoke(t.Context(), ref); err != nil {
					t.Fatal(err)
				}
				if live := liveCards(t, e.sim, g.Card); len(live) != 0 {
					t.Fatalf("after revoking %+v the card is still live: %v", ref, live)
				}
				if _, err := e.p.Provision(t.Context(), g); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestLostCreationRecoveredInTheCall: the answer to the cardholder's
// creation is lost (or refused as busy); the call looks again, finds the
// cardholder if it was made, and completes without a twin.
func TestLostCreationRecoveredInTheCall(t *testing.T) {
	for _, f := range []genetecsim.Fault{
		{Method: "POST", Path: "entity", DropAfterCommit: true},
		{Method: "POST", Path: "entity", Status: 503},
		{Method: "POST", Path: "entity", Fail: &genetecsim.Failure{SdkErrorCode: "ServerBusy", Message: "The Directory is busy; try again."}},
	} {
		e := newEnv(t, nil)
		e.sim.Inject(f)
		g := grant(1)
		p, err := e.p.Provision(t.Context(), g)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		if h := checkOneHolder(t, e.sim, g); h.GUID != p.Cardholder.ID {
			t.Fatalf("%+v: answered %s, the cardholder is %s", f, p.Cardholder.ID, h.GUID)
		}
	}
}

// twins plants two cardholders carrying the visit's marker, as two
// processes provisioning at the same instant leave them, and returns
// their GUIDs, the smaller first.
func twins(e *env, g acs.Grant) (small, large string) {
	name := g.Person.FirstName + " " + g.Person.LastName + " [" + g.Person.ExternalID + "]"
	a := e.sim.AddCardholder(name, g.Person.FirstName, g.Person.LastName, genetecsim.SeedLobbyGroup)
	b := e.sim.AddCardholder(name, g.Person.FirstName, g.Person.LastName, genetecsim.SeedLobbyGroup)
	if smallest(a, b) == a {
		return a, b
	}
	return b, a
}

func addCard(t *testing.T, e *env, g acs.Grant, holder string) string {
	t.Helper()
	id, ok := e.sim.AddCredential(g.Card.String(), wiegand.H10301, g.Card.Facility, g.Card.Number, "Active", holder, g.ValidFrom, g.ValidUntil)
	if !ok {
		t.Fatal("seeding the credential failed")
	}
	return id
}

// TestProvisionConvergesPlantedTwins: whichever twin holds the card, a
// provision keeps the twin with the smallest GUID, deletes the other with
// its credentials, and issues the card on the survivor.
func TestProvisionConvergesPlantedTwins(t *testing.T) {
	for _, onLarge := range []bool{false, true} {
		t.Run(map[bool]string{false: "card on the survivor", true: "card on the extra"}[onLarge], func(t *testing.T) {
			e := newEnv(t, nil)
			g := grant(1)
			small, large := twins(e, g)
			holder := small
			if onLarge {
				holder = large
			}
			cred := addCard(t, e, g, holder)
			res, err := e.p.Provision(t.Context(), g)
			if err != nil {
				t.Fatal(err)
			}
			h := checkOneHolder(t, e.sim, g)
			if h.GUID != small || res.Cardholder.ID != small {
				t.Fatalf("survivor %s, answered %s, want the smaller GUID %s", h.GUID, res.Cardholder.ID, small)
			}
			if _, ok := e.sim.Cardholder(large); ok {
				t.Fatal("the extra cardholder was kept")
			}
			if _, ok := e.sim.Credential(cred); ok == onLarge {
				t.Fatalf("credential %s on the extra kept, or on the survivor deleted (kept=%v)", cred, ok)
			}
		})
	}
}

// TestRevokeReachesEveryTwin: the card is revoked wherever it is held
// among the cardholders carrying the external ID, whatever the reference
// names, and a duplicate never makes a revocation fail.
func TestRevokeReachesEveryTwin(t *testing.T) {
	cases := []struct {
		name string
		dup  bool // the card on both twins
		ref  func(small, large, credSmall, credLarge string, g acs.Grant) acs.CredentialRef
	}{
		{"external ID and card", false, func(small, large, cs, cl string, g acs.Grant) acs.CredentialRef {
			return acs.CredentialRef{CardholderExternalID: g.Person.ExternalID, Card: g.Card}
		}},
		{"the other twin's ID, external ID and card", false, func(small, large, cs, cl string, g acs.Grant) acs.CredentialRef {
			return acs.CredentialRef{CardholderID: small, CardholderExternalID: g.Person.ExternalID, Card: g.Card}
		}},
		{"a deleted credential's ID", false, func(small, large, cs, cl string, g acs.Grant) acs.CredentialRef {
			return acs.CredentialRef{ID: "0badc0de-0000-4000-8000-00000000beef", CardholderID: small, CardholderExternalID: g.Person.ExternalID, Card: g.Card}
		}},
		{"one of two live credentials by ID", true, func(small, large, cs, cl string, g acs.Grant) acs.CredentialRef {
			return acs.CredentialRef{ID: cs, CardholderID: small, CardholderExternalID: g.Person.ExternalID, Card: g.Card}
		}},
		{"both live, external ID and card", true, func(small, large, cs, cl string, g acs.Grant) acs.CredentialRef {
			return acs.CredentialRef{CardholderExternalID: g.Person.ExternalID, Card: g.Card}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var opts []genetecsim.Option
			if c.dup {
				opts = append(opts, genetecsim.WithDuplicateCardData())
			}
			e := newEnv(t, opts)
			g := grant(1)
			small, large := twins(e, g)
			credLarge := addCard(t, e, g, large)
			credSmall := ""
			if c.dup {
				credSmall = addCard(t, e, g, small)
			}
			if live := liveCards(t, e.sim, g.Card); len(live) == 0 {
				t.Fatal("seeded card does not open")
			}
			if err := e.p.Revoke(t.Context(), c.ref(small, large, credSmall, credLarge, g)); err != nil {
				t.Fatal(err)
			}
			if live := liveCards(t, e.sim, g.Card); len(live) != 0 {
				t.Fatalf("card still live on %v", live)
			}
			// Revoking again succeeds.
			if err := e.p.Revoke(t.Context(), c.ref(small, large, credSmall, credLarge, g)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRemoveEveryTwin: RemoveCardholder by external ID, or by one twin's
// ID, removes every cardholder carrying the external ID with their
// credentials.
func TestRemoveEveryTwin(t *testing.T) {
	for _, byID := range []bool{false, true} {
		t.Run(map[bool]string{false: "by external ID", true: "by one twin's ID"}[byID], func(t *testing.T) {
			e := newEnv(t, nil)
			g := grant(1)
			small, large := twins(e, g)
			cred := addCard(t, e, g, large)
			ref := acs.CardholderRef{ExternalID: g.Person.ExternalID}
			if byID {
				ref.ID = small
			}
			if err := e.p.RemoveCardholder(t.Context(), ref); err != nil {
				t.Fatal(err)
			}
			if hs := holdersOf(e.sim, g.Person.ExternalID); len(hs) != 0 {
				t.Fatalf("%d cardholders left", len(hs))
			}
			if _, ok := e.sim.Credential(cred); ok {
				t.Fatal("the twin's credential was kept")
			}
		})
	}
}

// TestHoldingsListsTwins: each twin is its own holding, so that
// reconciliation sees them.
func TestHoldingsListsTwins(t *testing.T) {
	e := newEnv(t, nil)
	g := grant(1)
	small, large := twins(e, g)
	cred := addCard(t, e, g, large)
	got := map[string]acs.Holding{}
	if err := e.p.Holdings(t.Context(), func(h acs.Holding) error {
		got[h.Cardholder.ID] = h
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d holdings, want the 2 twins: %+v", len(got), got)
	}
	for _, id := range []string{small, large} {
		if h, ok := got[id]; !ok || h.Cardholder.ExternalID != g.Person.ExternalID {
			t.Fatalf("twin %s: %+v", id, h)
		}
	}
	if hc := got[large].Credentials; len(hc) != 1 || hc[0].Ref.ID != cred || hc[0].Ref.Card != g.Card {
		t.Fatalf("the twin holding the card lists %+v", hc)
	}
	if len(got[small].Credentials) != 0 {
		t.Fatalf("the other twin lists %+v", got[small].Credentials)
	}
}

// TestProvisionKeepsOneCredentialOfTheCard: a server that accepts the
// same card data twice may leave one cardholder holding the card twice
// after concurrent provisions; a provision keeps the credential with the
// smallest GUID and deletes the other.
func TestProvisionKeepsOneCredentialOfTheCard(t *testing.T) {
	e := newEnv(t, []genetecsim.Option{genetecsim.WithDuplicateCardData()})
	g := grant(1)
	first, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	second := addCard(t, e, g, first.Cardholder.ID)
	res, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	checkOneHolder(t, e.sim, g)
	if keep := smallest(first.Credential.ID, second); res.Credential.ID != keep {
		t.Fatalf("kept %s, want the smaller GUID %s", res.Credential.ID, keep)
	}
}

// TestLaterCreatorKeepsLookingUntilChecked: one process searches and is
// held before its creation while another provisions the visit completely;
// then the first creates a second cardholder, and its check for twins and
// the next two looks are all refused (the Web SDK busy). The process that
// created the twin may be the only one still working on the visit (its
// lease passed to the other, which has finished), so it keeps looking past
// the usual three looks until it has checked its creation: one cardholder
// is left, holding the card.
func TestLaterCreatorKeepsLookingUntilChecked(t *testing.T) {
	gt := newGate(2)
	e := newEnv(t, []genetecsim.Option{genetecsim.WithSleep(gt.sleep)})
	e.sim.Inject(genetecsim.Fault{Method: "POST", Path: "entity", Delay: time.Nanosecond})
	late := e.secondProvider(t)
	g := grant(1)
	var lateRes acs.Provisioned
	var lateErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		lateRes, lateErr = late.Provision(t.Context(), g)
	}()
	<-gt.entered // the late process has searched and is about to create
	first, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	e.sim.Inject(genetecsim.Fault{Method: "GET", Path: "report/", Times: 3,
		Fail: &genetecsim.Failure{SdkErrorCode: "ServerBusy", Message: "The Directory is busy; try again."}})
	gt.release()
	<-done
	if lateErr != nil {
		t.Errorf("the later creator gave up: %v", lateErr)
	}
	h := checkOneHolder(t, e.sim, g)
	if lateRes.Cardholder.ID != h.GUID {
		t.Errorf("the later creator answered cardholder %s, the survivor is %s", lateRes.Cardholder.ID, h.GUID)
	}
	if first.Cardholder.ID != h.GUID {
		// The first process's answer names a deleted twin: revoking it
		// still reaches the card on the survivor.
		if err := e.p.Revoke(t.Context(), first.Credential); err != nil {
			t.Fatal(err)
		}
		if live := liveCards(t, e.sim, g.Card); len(live) != 0 {
			t.Fatalf("after revoking %+v the card is still live: %v", first.Credential, live)
		}
	}
}

// TestLaterCreatorKeepsConvergingItsTwin: as above, but the later
// creator's check sees both cardholders and the deletion of the twin is
// refused (the Web SDK unavailable), in that look and in the next one,
// which finds both cardholders again: the call keeps looking until the
// twin is gone.
func TestLaterCreatorKeepsConvergingItsTwin(t *testing.T) {
	gt := newGate(2)
	e := newEnv(t, []genetecsim.Option{genetecsim.WithSleep(gt.sleep)})
	e.sim.Inject(genetecsim.Fault{Method: "POST", Path: "entity", Delay: time.Nanosecond})
	late := e.secondProvider(t)
	g := grant(1)
	var lateErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, lateErr = late.Provision(t.Context(), g)
	}()
	<-gt.entered // the late process has searched and is about to create
	if _, err := e.p.Provision(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	// Two looks' deletions, each sent three times (two retries).
	e.sim.Inject(genetecsim.Fault{Method: "DELETE", Status: 503, Times: 6})
	gt.release()
	<-done
	if lateErr != nil {
		t.Errorf("the later creator gave up: %v", lateErr)
	}
	checkOneHolder(t, e.sim, g)
}
