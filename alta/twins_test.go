package alta

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/alta/altasim"
)

// Two VMS replicas are two processes: each has its own Provider, so the
// Provider's per-key locks do not serialise them. These tests run two
// separately constructed Providers against one simulator.

// gate is a simulator sleep function that holds the requests it is asked
// to delay (altasim.FaultDelay) until n of them have arrived. It waits on
// channels, never on the clock.
type gate struct {
	mu      sync.Mutex
	n       int
	arrived int
	open    chan struct{}
}

func newGate(n int) *gate { return &gate{n: n, open: make(chan struct{})} }

func (g *gate) sleep(ctx context.Context, _ time.Duration) {
	g.mu.Lock()
	g.arrived++
	if g.arrived == g.n {
		close(g.open)
	}
	g.mu.Unlock()
	select {
	case <-g.open:
	case <-ctx.Done():
	}
}

// secondProvider is another process's Provider for the same simulator.
func (e *env) secondProvider(t *testing.T) *Provider {
	t.Helper()
	p, err := New(e.cfg, testOptions(WithClock(e.clk.Now))...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// liveUsers returns the live users carrying an external ID.
func liveUsers(e *env, ext string) []altasim.UserInfo {
	var out []altasim.UserInfo
	for _, u := range e.sim.Users() {
		if !u.Archived && u.ExternalID == ext {
			out = append(out, u)
		}
	}
	return out
}

// cardCredentials returns the credentials carrying the grant's card on
// the live users of its external ID.
func cardCredentials(e *env, g acs.Grant) []altasim.CredentialInfo {
	var out []altasim.CredentialInfo
	for _, u := range liveUsers(e, g.Person.ExternalID) {
		for _, c := range e.sim.Credentials(u.ID) {
			if c.CardID == strconv.FormatUint(g.Card.Number, 10) && c.FacilityCode == strconv.FormatUint(g.Card.Facility, 10) {
				out = append(out, c)
			}
		}
	}
	return out
}

// checkConverged fails unless exactly one live user carries the grant's
// external ID and exactly one credential carries its card, on that user,
// opening the grant's doors; it returns the two.
func checkConverged(t *testing.T, e *env, g acs.Grant) (altasim.UserInfo, altasim.CredentialInfo) {
	t.Helper()
	us := liveUsers(e, g.Person.ExternalID)
	if len(us) != 1 {
		t.Fatalf("%d live users carry %s, want 1: %+v", len(us), g.Person.ExternalID, us)
	}
	cs := cardCredentials(e, g)
	if len(cs) != 1 || cs[0].UserID != us[0].ID {
		t.Fatalf("credentials with the card %+v, want one on user %d", cs, us[0].ID)
	}
	if !e.sim.Opens(strconv.FormatInt(cs[0].ID, 10), g.AccessLevels[0], e.clk.Now()) {
		t.Fatal("the card does not open")
	}
	return us[0], cs[0]
}

// TestConcurrentProvisionTwoProcesses: two processes provision one visit
// at the same instant, and both look it up before either writes (the gate
// holds both creations until both have arrived). Whether Alta refuses the
// second user with the visit's e-mail or not, one user is left holding
// one credential for the card, both processes answer them, and a revoke
// through either answer stops the card.
func TestConcurrentProvisionTwoProcesses(t *testing.T) {
	for _, tc := range []struct {
		name string
		sim  []altasim.Option
		gate string // the creation both processes reach before either is done
	}{
		{"e-mails unique, both create the credential", nil, "/users/*/credentials"},
		{"e-mails shared, both create the user", []altasim.Option{altasim.WithSharedEmails()}, "/users"},
		{"e-mails shared, unique cards, both create the user", []altasim.Option{altasim.WithSharedEmails(), altasim.WithUniqueCards()}, "/users"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gt := newGate(2)
			e := newEnv(t, append([]altasim.Option{altasim.WithSleep(gt.sleep)}, tc.sim...))
			g := testGrant(1, e.clk.Now(), e.levels()[0])
			e.sim.AddFault(altasim.Fault{Method: "POST", Path: tc.gate, Kind: altasim.FaultDelay, Delay: time.Nanosecond, Times: 2})
			ps := []*Provider{e.p, e.secondProvider(t)}
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
			u, c := checkConverged(t, e, g)
			for i, r := range res {
				if r.Cardholder.ID != strconv.FormatInt(u.ID, 10) || r.Credential.ID != strconv.FormatInt(c.ID, 10) {
					t.Errorf("process %d answered user %s credential %s, the survivors are %d and %d",
						i, r.Cardholder.ID, r.Credential.ID, u.ID, c.ID)
				}
			}
			if err := ps[1].Revoke(t.Context(), res[1].Credential); err != nil {
				t.Fatal(err)
			}
			if cs := cardCredentials(e, g); len(cs) != 0 {
				t.Errorf("after the revoke the card is still held: %+v", cs)
			}
		})
	}
}

// plantDuplicates gives the visit's user a second credential for its card
// and adds a twin of the user holding the card as well, as concurrent
// provisions might leave them.
func plantDuplicates(t *testing.T, e *env, g acs.Grant, p acs.Provisioned) {
	t.Helper()
	uid := mustID(p.Cardholder.ID)
	wf := g.Card.Format
	if _, err := e.sim.AddCard(uid, wf, g.Card.Facility, g.Card.Number); err != nil {
		t.Fatal(err)
	}
	twin, err := e.sim.AddTwin(uid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.AddCard(twin, wf, g.Card.Facility, g.Card.Number); err != nil {
		t.Fatal(err)
	}
	if n := len(cardCredentials(e, g)); n != 3 {
		t.Fatalf("planted %d credentials, want 3", n)
	}
}

// TestRevokeReachesDuplicates: whatever duplicates exist, a revoke leaves
// no credential for the card on any user of the visit, whichever form the
// reference takes, and never answers Conflict.
func TestRevokeReachesDuplicates(t *testing.T) {
	for _, tc := range []struct {
		name string
		ref  func(acs.Grant, acs.Provisioned) acs.CredentialRef
	}{
		{"with IDs", func(_ acs.Grant, p acs.Provisioned) acs.CredentialRef { return p.Credential }},
		{"by external ID and card", func(g acs.Grant, _ acs.Provisioned) acs.CredentialRef {
			return acs.CredentialRef{CardholderExternalID: g.Person.ExternalID, Card: g.Card}
		}},
		{"referenced credential already gone", func(_ acs.Grant, p acs.Provisioned) acs.CredentialRef { return p.Credential }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			g, p := provisioned(t, e, 0)
			plantDuplicates(t, e, g, p)
			if tc.name == "referenced credential already gone" {
				e.sim.DeleteCredential(mustID(p.Credential.ID))
			}
			if err := e.p.Revoke(t.Context(), tc.ref(g, p)); err != nil {
				t.Fatal(err)
			}
			if cs := cardCredentials(e, g); len(cs) != 0 {
				t.Errorf("the card is still held: %+v", cs)
			}
		})
	}
}

// TestRemoveCardholderRemovesTwins: every user of the visit goes, each
// after its credentials.
func TestRemoveCardholderRemovesTwins(t *testing.T) {
	for _, byID := range []bool{true, false} {
		t.Run("by ID "+strconv.FormatBool(byID), func(t *testing.T) {
			e := newEnv(t, nil)
			g, p := provisioned(t, e, 0)
			plantDuplicates(t, e, g, p)
			ref := p.Cardholder
			if !byID {
				ref.ID = ""
			}
			if err := e.p.RemoveCardholder(t.Context(), ref); err != nil {
				t.Fatal(err)
			}
			if us := liveUsers(e, g.Person.ExternalID); len(us) != 0 {
				t.Errorf("users left: %+v", us)
			}
			for _, u := range e.sim.Users() {
				if n := len(e.sim.Credentials(u.ID)); n != 0 {
					t.Errorf("user %d (archived %v) keeps %d credentials", u.ID, u.Archived, n)
				}
			}
		})
	}
}

// TestProvisionConvergesFoundDuplicates: a provision that finds twins and
// a doubled credential keeps the smallest IDs, removes the rest and
// answers them; the repeat then changes nothing.
func TestProvisionConvergesFoundDuplicates(t *testing.T) {
	e := newEnv(t, nil)
	g, p := provisioned(t, e, 0)
	plantDuplicates(t, e, g, p)
	p2, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	u, c := checkConverged(t, e, g)
	if p2.Cardholder.ID != p.Cardholder.ID || p2.Credential.ID != p.Credential.ID ||
		strconv.FormatInt(u.ID, 10) != p.Cardholder.ID || strconv.FormatInt(c.ID, 10) != p.Credential.ID {
		t.Errorf("answered %+v, kept user %d credential %d; want the smallest IDs %s and %s",
			p2.Credential, u.ID, c.ID, p.Cardholder.ID, p.Credential.ID)
	}
	e.sim.ResetRequests()
	if _, err := e.p.Provision(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	if got := routes(e.sim.Requests()); slices.ContainsFunc(got, func(r string) bool { return r[0] != 'G' }) {
		t.Errorf("the repeat wrote: %q", got)
	}
}
