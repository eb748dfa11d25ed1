package verkada

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/verkada/verkadasim"
)

// Two VMS replicas are two processes: each has its own Provider, so the
// Provider's per-key locks do not serialise them. These tests run two
// separately constructed Providers against one simulator.

// gate is a simulator sleep function that holds the requests it is asked
// to delay (verkadasim.FaultDelay) until n of them have arrived. It waits
// on channels, never on the clock.
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
	p, err := New(e.cfg, testOptions(e.clk)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// usersOf returns the users carrying an external ID, sorted by ID.
func usersOf(e *env, ext string) []verkadasim.UserInfo {
	var out []verkadasim.UserInfo
	for _, u := range e.sim.Users() {
		if u.ExternalID == ext {
			out = append(out, u)
		}
	}
	return out
}

// cardsOf returns the cards carrying the grant's card on the users of its
// external ID.
func cardsOf(e *env, g acs.Grant) []verkadasim.CardInfo {
	var out []verkadasim.CardInfo
	for _, u := range usersOf(e, g.Person.ExternalID) {
		for _, c := range u.Cards {
			if c.Number == strconv.FormatUint(g.Card.Number, 10) && c.Facility == strconv.FormatUint(g.Card.Facility, 10) {
				out = append(out, c)
			}
		}
	}
	return out
}

// checkConverged fails unless exactly one user carries the grant's
// external ID and exactly one card the grant's card, on that user,
// opening the grant's doors; it returns the two.
func checkConverged(t *testing.T, e *env, g acs.Grant) (verkadasim.UserInfo, verkadasim.CardInfo) {
	t.Helper()
	us := usersOf(e, g.Person.ExternalID)
	if len(us) != 1 {
		t.Fatalf("%d users carry %s, want 1: %+v", len(us), g.Person.ExternalID, us)
	}
	cs := cardsOf(e, g)
	if len(cs) != 1 || cs[0].UserID != us[0].ID {
		t.Fatalf("cards %+v, want one on user %s", cs, us[0].ID)
	}
	if !e.sim.Opens(cs[0].ID, g.AccessLevels[0], e.clk.Now()) {
		t.Fatal("the card does not open")
	}
	return us[0], cs[0]
}

// TestConcurrentProvisionTwoProcesses: two processes provision one visit
// at the same instant, and both look it up before either writes (the gate
// holds both creations until both have arrived). Whatever Verkada does
// with a second user of the external ID or a second card of the number,
// one user is left holding one card, both processes answer them, and a
// revoke through either answer stops the card.
func TestConcurrentProvisionTwoProcesses(t *testing.T) {
	for _, tc := range []struct {
		name string
		sim  []verkadasim.Option
		gate string // the creation both processes reach before either is done
	}{
		{"documented refusals, both create the card", nil, "/access/v1/credentials/card"},
		{"duplicate cards accepted, both create the card", []verkadasim.Option{verkadasim.WithDuplicateCards()}, "/access/v1/credentials/card"},
		{"shared external IDs, both create the user", []verkadasim.Option{verkadasim.WithSharedExternalIDs()}, "/core/v1/user"},
		{"shared external IDs and duplicate cards, both create the user",
			[]verkadasim.Option{verkadasim.WithSharedExternalIDs(), verkadasim.WithDuplicateCards()}, "/core/v1/user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gt := newGate(2)
			e := newEnv(t, append([]verkadasim.Option{verkadasim.WithSleep(gt.sleep)}, tc.sim...))
			g := testGrant(1, e.clk.Now(), e.levels()[0])
			e.sim.AddFault(verkadasim.Fault{Method: "POST", Path: tc.gate, Kind: verkadasim.FaultDelay, Delay: time.Nanosecond, Times: 2})
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
				if r.Cardholder.ID != u.ID || r.Credential.ID != c.ID {
					t.Errorf("process %d answered user %s card %s, the survivors are %s and %s",
						i, r.Cardholder.ID, r.Credential.ID, u.ID, c.ID)
				}
			}
			if err := ps[1].Revoke(t.Context(), res[1].Credential); err != nil {
				t.Fatal(err)
			}
			if cs := cardsOf(e, g); len(cs) != 0 {
				t.Errorf("after the revoke the card is still held: %+v", cs)
			}
		})
	}
}

// plantCard gives a user another card of the grant's.
func plantCard(t *testing.T, e *env, uid string, g acs.Grant) string {
	t.Helper()
	id, err := e.sim.AddCard(uid, "Standard 26-bit Wiegand", g.Card.Facility, g.Card.Number, true)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestRevokeReachesDuplicates: a revoke leaves no card of the reference on
// the users it can see: the user the external ID answers, the referenced
// user, and, when those two differ, every user the listing shows with the
// external ID. It never answers Conflict.
func TestRevokeReachesDuplicates(t *testing.T) {
	for _, tc := range []struct {
		name string
		// ref is the reference revoked, from the provision's answer and
		// the twin's IDs ("" when not planted).
		ref  func(g acs.Grant, p acs.Provisioned, twin, twinCard string) acs.CredentialRef
		twin bool
	}{
		{"card twice on the user, with IDs", func(_ acs.Grant, p acs.Provisioned, _, _ string) acs.CredentialRef {
			return p.Credential
		}, false},
		{"card twice on the user, by external ID and card", func(g acs.Grant, _ acs.Provisioned, _, _ string) acs.CredentialRef {
			return acs.CredentialRef{CardholderExternalID: g.Person.ExternalID, Card: g.Card}
		}, false},
		{"card on a twin too, the twin's IDs", func(g acs.Grant, _ acs.Provisioned, twin, twinCard string) acs.CredentialRef {
			return acs.CredentialRef{ID: twinCard, CardholderID: twin, CardholderExternalID: g.Person.ExternalID, Card: g.Card}
		}, true},
		{"card on a twin too, the twin's IDs, the twin's card gone", func(g acs.Grant, _ acs.Provisioned, twin, _ string) acs.CredentialRef {
			return acs.CredentialRef{ID: "63617264-0000-4000-8000-0000000000ff", CardholderID: twin, CardholderExternalID: g.Person.ExternalID, Card: g.Card}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, []verkadasim.Option{verkadasim.WithDuplicateCards()})
			g := testGrant(0, e.clk.Now(), e.levels()[0])
			p, err := e.p.Provision(t.Context(), g)
			if err != nil {
				t.Fatal(err)
			}
			plantCard(t, e, p.Cardholder.ID, g)
			var twin, twinCard string
			if tc.twin {
				if twin, err = e.sim.AddTwin(p.Cardholder.ID); err != nil {
					t.Fatal(err)
				}
				twinCard = plantCard(t, e, twin, g)
			}
			if err := e.p.Revoke(t.Context(), tc.ref(g, p, twin, twinCard)); err != nil {
				t.Fatal(err)
			}
			if cs := cardsOf(e, g); len(cs) != 0 {
				t.Errorf("the card is still held: %+v", cs)
			}
		})
	}
}

// TestRemoveCardholderRemovesTwins: every user carrying the external ID
// goes, each after its cards.
func TestRemoveCardholderRemovesTwins(t *testing.T) {
	for _, byID := range []bool{true, false} {
		t.Run("by ID "+strconv.FormatBool(byID), func(t *testing.T) {
			e := newEnv(t, []verkadasim.Option{verkadasim.WithDuplicateCards()})
			g := testGrant(0, e.clk.Now(), e.levels()[0])
			p, err := e.p.Provision(t.Context(), g)
			if err != nil {
				t.Fatal(err)
			}
			twin, err := e.sim.AddTwin(p.Cardholder.ID)
			if err != nil {
				t.Fatal(err)
			}
			plantCard(t, e, twin, g)
			ref := p.Cardholder
			if !byID {
				ref.ID = ""
			}
			if err := e.p.RemoveCardholder(t.Context(), ref); err != nil {
				t.Fatal(err)
			}
			if us := usersOf(e, g.Person.ExternalID); len(us) != 0 {
				t.Errorf("users left: %+v", us)
			}
			if c := e.sim.Census(); c != (verkadasim.Census{}) {
				t.Errorf("census %+v", c)
			}
		})
	}
}

// TestProvisionConvergesFoundCards: a provision that finds the card twice
// on the user keeps the smallest card ID and deletes the other; the repeat
// then changes nothing.
func TestProvisionConvergesFoundCards(t *testing.T) {
	e := newEnv(t, []verkadasim.Option{verkadasim.WithDuplicateCards()})
	g := testGrant(0, e.clk.Now(), e.levels()[0])
	p, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	plantCard(t, e, p.Cardholder.ID, g)
	p2, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	u, c := checkConverged(t, e, g)
	if p2.Cardholder.ID != u.ID || p2.Credential.ID != c.ID || c.ID != p.Credential.ID {
		t.Errorf("answered %+v, kept card %s; want the smallest ID %s", p2.Credential, c.ID, p.Credential.ID)
	}
	e.sim.ResetRequests()
	if _, err := e.p.Provision(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	if got := calls(e.sim.Requests()); slices.ContainsFunc(got, func(r string) bool { return r[0] != 'G' }) {
		t.Errorf("the repeat wrote: %q", got)
	}
}

// step orders one request of a process in a test of two processes: the
// nth request matching method, path and (when not empty) a query key
// waits for wait, when not nil, before it is sent, and done, when not
// nil, is closed once its answer has arrived (the simulator has then
// made the change).
type step struct {
	method, path, key string
	n                 int
	wait              <-chan struct{}
	done              chan struct{}
}

func (s *step) matches(r *http.Request) bool {
	return r.Method == s.method && r.URL.Path == s.path && (s.key == "" || r.URL.Query().Has(s.key))
}

// steppedTransport sends one process's requests, holding and announcing
// those its steps match. It waits on channels, never on the clock.
type steppedTransport struct {
	base  http.RoundTripper
	steps []*step
	mu    sync.Mutex
	seen  map[*step]int
}

func (t *steppedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.mu.Lock()
	var hit []*step
	for _, s := range t.steps {
		if s.matches(r) {
			t.seen[s]++
			if t.seen[s] == s.n {
				hit = append(hit, s)
			}
		}
	}
	t.mu.Unlock()
	for _, s := range hit {
		if s.wait == nil {
			continue
		}
		select {
		case <-s.wait:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	resp, err := t.base.RoundTrip(r)
	for _, s := range hit {
		if s.done != nil {
			close(s.done)
		}
	}
	return resp, err
}

// steppedProvider is a process's Provider whose requests follow steps.
func (e *env) steppedProvider(t *testing.T, steps ...*step) *Provider {
	t.Helper()
	tr := &steppedTransport{base: e.srv.Client().Transport, steps: steps, seen: map[*step]int{}}
	p, err := New(e.cfg, testOptions(e.clk, WithHTTPClient(&http.Client{Transport: tr}))...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestProvisionRefusedByARemovedTwin: the card is refused because the
// other process's user of the external ID holds it, and that process's
// own convergence removes its user, cards first, before the refused
// process reads the user listing, which then shows no other user. The
// refused process must still converge, never answer Conflict. Verkada
// accepts the second user of the external ID and refuses the second card.
// The order is forced: both processes look the visit up before either
// creates; process 0 creates the older, smaller user X, process 1 the
// user Y; Y gets the card; X's card is refused; only then does process 1
// look again, see X and remove Y; process 0 reads the listing after that.
func TestProvisionRefusedByARemovedTwin(t *testing.T) {
	const (
		lookup = "/access/v1/access_users/user"
		list   = "/access/v1/access_users"
		user   = "/core/v1/user"
		card   = "/access/v1/credentials/card"
	)
	for _, tc := range []struct {
		name string
		// survivorCardByOther: process 1, starting over on X, creates
		// the card there before process 0 sends its creation again;
		// otherwise process 0's second creation makes it.
		survivorCardByOther bool
	}{
		{"the card is free when sent again", false},
		{"the other process created the card on the survivor", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, []verkadasim.Option{verkadasim.WithSharedExternalIDs()})
			g := testGrant(1, e.clk.Now(), e.levels()[0])
			ch := func() chan struct{} { return make(chan struct{}) }
			looked1, created0, carded1, refused0, removed1, done0, done1 := ch(), ch(), ch(), ch(), ch(), ch(), ch()
			listWait := (<-chan struct{})(removed1)
			var again1 <-chan struct{} = done0
			if tc.survivorCardByOther {
				listWait, again1 = done1, nil
			}
			p0 := e.steppedProvider(t,
				&step{method: "POST", path: user, n: 1, wait: looked1, done: created0},
				&step{method: "POST", path: card, n: 1, wait: carded1, done: refused0},
				&step{method: "GET", path: list, n: 1, wait: listWait},
			)
			p1 := e.steppedProvider(t,
				&step{method: "GET", path: lookup, key: "external_id", n: 1, done: looked1},
				&step{method: "POST", path: user, n: 1, wait: created0},
				&step{method: "POST", path: card, n: 1, done: carded1},
				&step{method: "GET", path: lookup, key: "external_id", n: 2, wait: refused0},
				&step{method: "DELETE", path: user, n: 1, done: removed1},
				&step{method: "GET", path: lookup, key: "external_id", n: 3, wait: again1},
			)
			// A guard against a hang should the adapter not take the
			// steps; the order is set by the steps alone.
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			res := make([]acs.Provisioned, 2)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, p := range []*Provider{p0, p1} {
				wg.Go(func() {
					res[i], errs[i] = p.Provision(ctx, g)
					close([]chan struct{}{done0, done1}[i])
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("process %d: %v", i, err)
				}
			}
			u, c := checkConverged(t, e, g)
			if us := e.sim.Users(); len(us) != 1 || u.ID != us[0].ID {
				t.Fatalf("users %+v", us)
			}
			for i, r := range res {
				if r.Cardholder.ID != u.ID || r.Credential.ID != c.ID {
					t.Errorf("process %d answered user %s card %s, the survivors are %s and %s",
						i, r.Cardholder.ID, r.Credential.ID, u.ID, c.ID)
				}
			}
			if got := res[0].Created; !got {
				t.Error("process 0 created the surviving user, but answered Created false")
			}
		})
	}
}
