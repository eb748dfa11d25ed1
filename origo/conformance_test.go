package origo

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/origo/origosim"
)

// TestConformance runs the conformance kit against the issuer in front of
// an in-memory door ACS, with the Origo simulator behind it. Every rule
// holds as written; two things of the harness make the asynchronous
// issuer fit rules that expect Provision to finish in one call:
//
//   - The simulated phone accepts every invitation at once
//     (origosim.WithAutoAccept), so Provision issues the mobile ID and
//     provisions the door in one call, as it does for a visitor who
//     accepted before the provision was retried. The waiting itself is
//     tested elsewhere (TestProvisionWaitsForThePhone, the end-to-end
//     tests).
//   - HID decides card numbers; the kit's rules name the card a grant
//     must end up with (the same card for two visitors is a Conflict, a
//     revoked card goes to the next visitor, the reference carries the
//     grant's card). The harness therefore plays HID's number allocation:
//     the harness's provider records each grant's card number by external
//     ID before passing the grant on, unchanged, and the simulator issues
//     that number (origosim.WithCardNumbers). The issuer under test never
//     sees the grant's card used: it learns the number from Origo.
//
// Grants have no CredentialType, so the issuer runs WithMobileByDefault;
// the door's own formats, which CredentialFormats also lists, pass through
// to the door (EveryDeclaredFormat checks both routes). The client-side
// rate limit is off: ConcurrentProvisions sends more than Origo's 50
// requests in five minutes, which the rate-limit tests cover.
func TestConformance(t *testing.T) {
	acstest.Run(t, func(t *testing.T) acstest.Harness { return newKitHarness(t) })
}

type kitHarness struct {
	e     *env
	cards *cardBook
	p     recorder
}

// cardBook maps external IDs to the card numbers HID is to issue them.
type cardBook struct {
	mu sync.Mutex
	m  map[string]uint64
}

func (b *cardBook) next(ext string) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m[ext]
}

// recorder is the harness's provider: the issuer, with each grant's card
// number written into the card book first.
type recorder struct {
	*Issuer
	cards *cardBook
}

func (r recorder) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	r.cards.mu.Lock()
	r.cards.m[g.Person.ExternalID] = g.Card.Number
	r.cards.mu.Unlock()
	return r.Issuer.Provision(ctx, g)
}

func newKitHarness(t *testing.T) *kitHarness {
	cards := &cardBook{m: map[string]uint64{}}
	clk := newFakeClock()
	clk.t = time.Now().UTC() // the kit builds windows around Now and checks them at the door
	sim := origosim.New(origosim.WithClock(clk.Now), origosim.WithAutoAccept(), origosim.WithCardNumbers(cards.next))
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	door := acstest.NewMemory(doorLevels, acstest.WithName("door"))
	cfg := simConfig(srv.URL)
	iss, err := New(door, cfg, testOptions(clk, WithMobileByDefault(), WithRateLimit(0, 0))...)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{sim: sim, srv: srv, door: door, iss: iss, clk: clk, cfg: cfg}
	return &kitHarness{e: e, cards: cards, p: recorder{Issuer: iss, cards: cards}}
}

func (h *kitHarness) Provider() acs.Provider { return h.p }
func (h *kitHarness) AccessLevels() []string { return []string{"lobby", "floor-3"} }
func (h *kitHarness) Now() time.Time         { return h.e.clk.Now() }

// Opens asks the door ACS about the door credential a reference names: a
// mobile ID's is inside its ID; any other is the door's own.
func (h *kitHarness) Opens(_ context.Context, ref acs.CredentialRef, level string, at time.Time) (bool, error) {
	if d, ok := h.e.iss.DoorRef(ref); ok {
		ref = d
	}
	return h.e.door.Opens(ref, level, at), nil
}

// Census counts, per visit, what either system holds: a cardholder is an
// external ID with a door cardholder or an Origo user, a credential an
// external ID and card number held by the door ACS or issued by Origo.
// One visit fully provisioned is one of each; an Origo user left behind by
// a refused provision counts.
func (h *kitHarness) Census(ctx context.Context) (acstest.Census, error) {
	holders := map[string]bool{}
	creds := map[string]bool{}
	err := h.e.door.Holdings(ctx, func(hd acs.Holding) error {
		holders[hd.Cardholder.ExternalID] = true
		for _, c := range hd.Credentials {
			creds[hd.Cardholder.ExternalID+"/"+c.Ref.Card.String()] = true
		}
		return nil
	})
	if err != nil {
		return acstest.Census{}, err
	}
	for _, u := range h.e.sim.Users() {
		holders[u.ExternalID] = true
		for _, c := range u.Credentials {
			if c.CardNumber != 0 && c.Status == origosim.CredentialIssued {
				creds[u.ExternalID+"/"+h.e.iss.card(c.CardNumber).String()] = true
			}
		}
	}
	return acstest.Census{Cardholders: len(holders), Credentials: len(creds)}, nil
}

// Swipe presents card at a door of the given level of the door ACS
// (acstest.SwipeHarness), so that the kit checks Events, which the issuer
// passes through from the door ACS.
func (h *kitHarness) Swipe(_ context.Context, card acs.Card, level string) error {
	door := "door-" + level
	h.e.door.AddDoor(door, "Door of "+level, level)
	h.e.door.Swipe(card, door, acs.DirectionIn, h.e.clk.Now())
	return nil
}
