package brivo

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
)

// Two VMS replicas are two processes: each has its own Provider, so the
// Provider's per-key locks do not serialise them. These tests run two
// separately constructed Providers against one simulator.

// gate is a simulator sleep function that holds the requests it is asked
// to delay (brivosim.FaultDelay) until n of them have arrived, or until
// release is called. It waits on channels, never on the clock.
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

func (g *gate) sleep(ctx context.Context, _ time.Duration) {
	g.mu.Lock()
	g.arrived++
	if g.arrived == g.n {
		close(g.open)
	}
	g.mu.Unlock()
	g.entered <- struct{}{}
	select {
	case <-g.open:
	case <-ctx.Done():
	}
}

func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.arrived < g.n {
		g.arrived = g.n
		close(g.open)
	}
}

// secondProvider is another process's Provider for the same simulator.
func (e *env) secondProvider(t *testing.T) *Provider {
	t.Helper()
	p, err := New(e.cfg, testOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sharedStyles are the plausible answers of a server that lets two users
// carry one external ID, and the documented server (0) that refuses it.
var sharedStyles = []struct {
	name  string
	style brivosim.SharedLookup
}{
	{"external IDs unique", 0},
	{"shared, lookup answers the oldest", brivosim.LookupOldest},
	{"shared, lookup answers the newest", brivosim.LookupNewest},
	{"shared, lookup answers 500", brivosim.LookupError},
}

func twinEnv(t *testing.T, style brivosim.SharedLookup, extra ...brivosim.Option) (*env, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	opts := append([]brivosim.Option{brivosim.WithClock(clk.Now)}, extra...)
	if style != 0 {
		opts = append(opts, brivosim.WithSharedExternalIDs(style))
	}
	return newEnv(t, opts), clk
}

// checkOne fails unless exactly one user carries the grant's external ID
// and the card is assigned to it, and to no one else.
func checkOne(t *testing.T, e *env, g acs.Grant, at time.Time) brivosim.UserInfo {
	t.Helper()
	us := e.sim.Users(g.Person.ExternalID)
	if len(us) != 1 {
		t.Fatalf("%d users carry %s, want 1: %+v", len(us), g.Person.ExternalID, us)
	}
	enc, err := encodeCard(g.Card)
	if err != nil {
		t.Fatal(err)
	}
	ci, ok := e.sim.FindCredential(g.Person.ExternalID, enc)
	if !ok || ci.UserID != us[0].ID {
		t.Fatalf("card credential %+v (found %v), the user is %d", ci, ok, us[0].ID)
	}
	if !e.sim.Opens(strconv.FormatInt(ci.ID, 10), g.AccessLevels[0], at) {
		t.Fatal("the card does not open")
	}
	return us[0]
}

// TestConcurrentProvisionTwoProcesses: two processes provision one visit
// at the same instant; both look the external ID up before either writes
// (the gate holds both credential creations until both have arrived).
// Whatever Brivo does with the second creation of the external ID, one
// user is left, holding the card, and both processes answer it.
func TestConcurrentProvisionTwoProcesses(t *testing.T) {
	for _, st := range sharedStyles {
		t.Run(st.name, func(t *testing.T) {
			gt := newGate(2)
			e, clk := twinEnv(t, st.style, brivosim.WithSleep(gt.sleep))
			g := testGrant(1, clk.Now(), e.levels()[0])
			// Catalogues first, so that both processes' first write is
			// the credential.
			ps := []*Provider{e.p, e.secondProvider(t)}
			for _, p := range ps {
				if _, err := p.CredentialFormats(t.Context()); err != nil {
					t.Fatal(err)
				}
				if _, err := p.AccessLevels(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			e.sim.AddFault(brivosim.Fault{Method: "POST", Path: "/credentials", Kind: brivosim.FaultDelay, Delay: time.Nanosecond, Times: 2})
			res := make([]acs.Provisioned, 2)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, p := range ps {
				wg.Go(func() { res[i], errs[i] = p.Provision(t.Context(), g) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("process %d: %v", i, err)
				}
			}
			u := checkOne(t, e, g, clk.Now())
			for i, r := range res {
				if r.Cardholder.ID != strconv.FormatInt(u.ID, 10) {
					t.Errorf("process %d answered user %s, the survivor is %d", i, r.Cardholder.ID, u.ID)
				}
			}
			if res[0].Credential.ID != res[1].Credential.ID {
				t.Errorf("the processes answered credentials %s and %s", res[0].Credential.ID, res[1].Credential.ID)
			}
		})
	}
}

// TestLaterProvisionSeesTheFirst: one process looks the external ID up
// and is held before it writes, while another provisions the visit
// completely; then the first finds the card assigned, to a user carrying
// the same external ID: not another visitor's card (no Conflict), and no
// second user is left.
func TestLaterProvisionSeesTheFirst(t *testing.T) {
	for _, st := range sharedStyles {
		t.Run(st.name, func(t *testing.T) {
			gt := newGate(2)
			e, clk := twinEnv(t, st.style, brivosim.WithSleep(gt.sleep))
			g := testGrant(1, clk.Now(), e.levels()[0])
			late := e.secondProvider(t)
			e.sim.AddFault(brivosim.Fault{Method: "POST", Path: "/credentials", Kind: brivosim.FaultDelay, Delay: time.Nanosecond})
			var lateRes acs.Provisioned
			var lateErr error
			done := make(chan struct{})
			go func() {
				defer close(done)
				lateRes, lateErr = late.Provision(t.Context(), g)
			}()
			<-gt.entered // the late process has looked and is about to write
			first, err := e.p.Provision(t.Context(), g)
			if err != nil {
				t.Fatal(err)
			}
			gt.release()
			<-done
			if lateErr != nil {
				t.Fatalf("the later provision: %v", lateErr)
			}
			u := checkOne(t, e, g, clk.Now())
			if lateRes.Cardholder != first.Cardholder || lateRes.Credential != first.Credential || first.Cardholder.ID != strconv.FormatInt(u.ID, 10) {
				t.Fatalf("first %+v, later %+v, survivor %d", first, lateRes, u.ID)
			}
		})
	}
}

// TestCreationFailureRecoveredInTheCall: two users are created at the
// same instant where Brivo accepts a shared external ID; the later
// creator's check for twins is refused (the listing answers 503, twice:
// the next look's listing too); the call looks again until it has checked,
// and converges: its lease may have passed to the other process, which
// will not provision the visit again.
func TestCreationFailureRecoveredInTheCall(t *testing.T) {
	gt := newGate(2)
	e, clk := twinEnv(t, brivosim.LookupNewest, brivosim.WithSleep(gt.sleep))
	g := testGrant(1, clk.Now(), e.levels()[0])
	late := e.secondProvider(t)
	// The late process's user is created while the first is held, so
	// that the first's own check sees it.
	e.sim.AddFault(brivosim.Fault{Method: "POST", Path: "/users", Kind: brivosim.FaultDelay, Delay: time.Nanosecond})
	var firstRes acs.Provisioned
	var firstErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		firstRes, firstErr = e.p.Provision(t.Context(), g)
	}()
	<-gt.entered // the first process is about to create its user
	e.sim.AddFault(brivosim.Fault{Method: "GET", Path: "/users", Kind: brivosim.FaultStatus, Status: 503, Times: 2})
	lateRes, err := late.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	gt.release()
	<-done
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	u := checkOne(t, e, g, clk.Now())
	for _, r := range []acs.Provisioned{firstRes, lateRes} {
		if r.Cardholder.ID != strconv.FormatInt(u.ID, 10) {
			t.Errorf("answered %+v, the survivor is %d", r.Cardholder, u.ID)
		}
	}
}

// twins plants two users carrying the grant's external ID, as two
// processes creating at the same instant leave them, and the card
// assigned to the newer one; it returns the users' IDs, the older first,
// and the credential's.
func twins(t *testing.T, e *env, g acs.Grant) (older, newer, cred int64) {
	t.Helper()
	var err error
	if older, err = e.sim.AddUser(g.Person.FirstName, g.Person.LastName, g.Person.ExternalID); err != nil {
		t.Fatal(err)
	}
	if newer, err = e.sim.AddUser(g.Person.FirstName, g.Person.LastName, g.Person.ExternalID); err != nil {
		t.Fatal(err)
	}
	level := mustID(g.AccessLevels[0])
	for _, u := range []int64{older, newer} {
		if err := e.sim.AddMember(level, u); err != nil {
			t.Fatal(err)
		}
	}
	if cred, err = e.sim.AddCredential(100, "", g.Card.Facility, g.Card.Number); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.AssignCredential(newer, cred, g.ValidFrom, g.ValidUntil); err != nil {
		t.Fatal(err)
	}
	return older, newer, cred
}

var twinStyles = sharedStyles[1:]

// TestProvisionConvergesPlantedTwins: the user with the smallest ID
// survives, the other is deleted, and the card it held (the same
// credential) is assigned to the survivor.
func TestProvisionConvergesPlantedTwins(t *testing.T) {
	for _, st := range twinStyles {
		t.Run(st.name, func(t *testing.T) {
			e, clk := twinEnv(t, st.style)
			g := testGrant(1, clk.Now(), e.levels()[0])
			older, newer, cred := twins(t, e, g)
			res, err := e.p.Provision(t.Context(), g)
			if err != nil {
				t.Fatal(err)
			}
			u := checkOne(t, e, g, clk.Now())
			if u.ID != older || res.Cardholder.ID != strconv.FormatInt(older, 10) {
				t.Fatalf("survivor %d, answered %s, want the older user %d", u.ID, res.Cardholder.ID, older)
			}
			if res.Credential.ID != strconv.FormatInt(cred, 10) {
				t.Errorf("credential %s, want the twin's %d given to the survivor", res.Credential.ID, cred)
			}
			for _, ui := range e.sim.Users(g.Person.ExternalID) {
				if ui.ID == newer {
					t.Fatal("the newer twin was kept")
				}
			}
		})
	}
}

// TestRevokeReachesEveryTwin: the card is revoked wherever it is held
// among the users carrying the external ID, whatever the reference names,
// and twins never make a revocation fail.
func TestRevokeReachesEveryTwin(t *testing.T) {
	refs := []struct {
		name string
		ref  func(older, newer, cred int64, g acs.Grant) acs.CredentialRef
	}{
		{"external ID and card", func(older, newer, cred int64, g acs.Grant) acs.CredentialRef {
			return acs.CredentialRef{CardholderExternalID: g.Person.ExternalID, Card: g.Card}
		}},
		{"the other twin's ID, external ID and card", func(older, newer, cred int64, g acs.Grant) acs.CredentialRef {
			return acs.CredentialRef{CardholderID: idSegment(older), CardholderExternalID: g.Person.ExternalID, Card: g.Card}
		}},
		{"the credential ID with the other twin's", func(older, newer, cred int64, g acs.Grant) acs.CredentialRef {
			return acs.CredentialRef{ID: idSegment(cred), CardholderID: idSegment(older), CardholderExternalID: g.Person.ExternalID, Card: g.Card}
		}},
		{"the credential ID and external ID", func(older, newer, cred int64, g acs.Grant) acs.CredentialRef {
			return acs.CredentialRef{ID: idSegment(cred), CardholderExternalID: g.Person.ExternalID, Card: g.Card}
		}},
	}
	for _, st := range twinStyles {
		for _, r := range refs {
			t.Run(st.name+"/"+r.name, func(t *testing.T) {
				e, clk := twinEnv(t, st.style)
				g := testGrant(1, clk.Now(), e.levels()[0])
				older, newer, cred := twins(t, e, g)
				id := idSegment(cred)
				if !e.sim.Opens(id, g.AccessLevels[0], clk.Now()) {
					t.Fatal("seeded card does not open")
				}
				ref := r.ref(older, newer, cred, g)
				if err := e.p.Revoke(t.Context(), ref); err != nil {
					t.Fatal(err)
				}
				if e.sim.Opens(id, g.AccessLevels[0], clk.Now()) {
					t.Fatal("the card still opens")
				}
				if err := e.p.Revoke(t.Context(), ref); err != nil {
					t.Fatalf("revoking again: %v", err)
				}
			})
		}
	}
}

// TestRemoveEveryTwin: RemoveCardholder by external ID, or by one twin's
// ID with the external ID, removes every user carrying it.
func TestRemoveEveryTwin(t *testing.T) {
	for _, st := range twinStyles {
		for _, byID := range []bool{false, true} {
			name := st.name + map[bool]string{false: "/by external ID", true: "/by one twin's ID"}[byID]
			t.Run(name, func(t *testing.T) {
				e, clk := twinEnv(t, st.style)
				g := testGrant(1, clk.Now(), e.levels()[0])
				older, _, cred := twins(t, e, g)
				ref := acs.CardholderRef{ExternalID: g.Person.ExternalID}
				if byID {
					ref.ID = idSegment(older)
				}
				if err := e.p.RemoveCardholder(t.Context(), ref); err != nil {
					t.Fatal(err)
				}
				if us := e.sim.Users(g.Person.ExternalID); len(us) != 0 {
					t.Fatalf("%d users left: %+v", len(us), us)
				}
				if _, ok := e.sim.Credential(cred); ok {
					t.Fatal("the twin's credential was kept")
				}
			})
		}
	}
}

// TestHoldingsListsTwins: each twin is its own holding, so that
// reconciliation sees them.
func TestHoldingsListsTwins(t *testing.T) {
	e, clk := twinEnv(t, brivosim.LookupOldest)
	g := testGrant(1, clk.Now(), e.levels()[0])
	older, newer, cred := twins(t, e, g)
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
	for _, id := range []int64{older, newer} {
		if h, ok := got[idSegment(id)]; !ok || h.Cardholder.ExternalID != g.Person.ExternalID {
			t.Fatalf("twin %d: %+v", id, h)
		}
	}
	if hc := got[idSegment(newer)].Credentials; len(hc) != 1 || hc[0].Ref.ID != idSegment(cred) || hc[0].Ref.Card != g.Card {
		t.Fatalf("the twin holding the card lists %+v", hc)
	}
	if n := len(got[idSegment(older)].Credentials); n != 0 {
		t.Fatalf("the other twin lists %d credentials", n)
	}
}
