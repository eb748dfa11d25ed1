package visitor_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/wiegand"
)

var t0 = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

var (
	desk     = visitor.Operator{ID: "alice", Groups: []string{"reception"}}
	itDesk   = visitor.Operator{ID: "bob", Groups: []string{"it"}}
	security = visitor.Operator{ID: "sam", Groups: []string{"security"}}
	kiosk    = visitor.Operator{ID: "kiosk-1", Groups: []string{"reception"}}
)

var ada = visitor.Visitor{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Company: "Analytical"}

func testPolicy() visitor.Policy {
	return visitor.Policy{
		Types: map[string]visitor.VisitorType{
			"guest": {
				AccessLevels:   []string{"lobby"},
				Forbidden:      []string{"server-room"},
				AccessDuration: 8 * time.Hour,
				AdvanceAccess:  2 * time.Hour,
			},
			"contractor": {AccessLevels: []string{"lobby", "floor-3"}, AccessDuration: 10 * time.Hour},
			"escorted":   {}, // no defaults: no credential unless levels are named
		},
		DefaultType: "guest",
		OperatorGroups: map[string][]string{
			"reception": {"lobby", "floor-3", "ghost"},
			"it":        {"lobby", "server-room"},
		},
		SecurityGroups: []string{"security"},
		AutoSignOut:    12 * time.Hour,
	}
}

type fixture struct {
	t     *testing.T
	ctx   context.Context
	clock *visitor.ManualClock
	acs   *acstest.Memory
	store *visitor.MemoryStore
	e     *visitor.Engine
	pool  *badge.Pool
	ids   atomic.Int64
	watch *fakeWatchlist
}

type fakeWatchlist struct {
	match atomic.Pointer[visitor.WatchlistMatch]
	err   atomic.Pointer[error]
}

func (w *fakeWatchlist) Screen(ctx context.Context, v visitor.Visit) (*visitor.WatchlistMatch, error) {
	if e := w.err.Load(); e != nil {
		return nil, *e
	}
	if m := w.match.Load(); m != nil {
		c := *m
		return &c, nil
	}
	return nil, nil
}

// newFixture returns an engine at location "hq" over a fresh MemoryStore
// and acstest.Memory, with badges 1001–1005 (H10301 facility 12) and a
// card range H10304 facility 100, 500000–500049.
func newFixture(t *testing.T, opts ...visitor.Option) *fixture {
	t.Helper()
	return newFixturePolicy(t, testPolicy(), opts...)
}

// newFixturePolicy is newFixture with the given policy at "hq".
func newFixturePolicy(t *testing.T, pol visitor.Policy, opts ...visitor.Option) *fixture {
	t.Helper()
	f := &fixture{
		t:     t,
		ctx:   t.Context(),
		clock: visitor.NewManualClock(t0),
		acs: acstest.NewMemory([]acs.AccessLevel{
			{ID: "lobby", Name: "Lobby"}, {ID: "floor-3", Name: "Floor 3"}, {ID: "server-room", Name: "Server room"},
		}),
		store: visitor.NewMemoryStore(),
		watch: &fakeWatchlist{},
	}
	base := []visitor.Option{
		visitor.WithClock(f.clock), visitor.WithOwner("test"), visitor.WithBatch(50, 1),
		visitor.WithWatchlist(f.watch),
		visitor.WithIDs(func() string { return fmt.Sprintf("id-%04d", f.ids.Add(1)) }),
	}
	e, err := visitor.New(f.store, []visitor.Location{{ID: "hq", Provider: f.acs, Policy: pol, CredentialType: "qr"}}, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	f.e = e
	if f.pool, err = e.Pool("hq"); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		id := fmt.Sprint(1001 + i)
		if _, err := f.pool.Add(f.ctx, badge.Badge{ID: id, Name: "Visitor " + id, Card: badge.Card{Format: wiegand.H10301, Facility: 12, Number: uint64(1001 + i)}}); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Second) // distinct Since: 1001 is the longest available
	}
	al, err := e.Allocator("hq")
	if err != nil {
		t.Fatal(err)
	}
	if err := al.SetRange(f.ctx, badge.Range{Format: wiegand.H10304, Facility: 100, Min: 500000, Max: 500049}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) now() time.Time { return f.clock.Now() }

// signIn signs a walk-in guest in under the given visit ID.
func (f *fixture) signIn(id string) visitor.Visit {
	f.t.Helper()
	v, err := f.e.SignIn(f.ctx, desk, visitor.SignInRequest{VisitID: id, Location: "hq", Visitor: ada})
	if err != nil {
		f.t.Fatalf("SignIn(%s): %v", id, err)
	}
	return v
}

func (f *fixture) provision(id string, req visitor.ProvisionRequest) visitor.Visit {
	f.t.Helper()
	v, err := f.e.Provision(f.ctx, desk, id, req)
	if err != nil {
		f.t.Fatalf("Provision(%s): %v", id, err)
	}
	return v
}

// drain runs the outbox until nothing is due now.
func (f *fixture) drain() {
	f.t.Helper()
	for range 1000 {
		n, err := f.e.RunOutboxOnce(f.ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	f.t.Fatal("outbox does not drain")
}

// settle advances the clock past any backoff, sweeps and drains, until the
// outbox is empty.
func (f *fixture) settle() {
	f.t.Helper()
	for range 100 {
		pending, err := f.e.Outbox(f.ctx, "")
		if err != nil {
			f.t.Fatal(err)
		}
		if len(pending) == 0 {
			return
		}
		f.clock.Advance(10 * time.Minute)
		if _, err := f.e.Sweep(f.ctx); err != nil {
			f.t.Fatal(err)
		}
		f.drain()
	}
	f.t.Fatal("outbox does not settle")
}

func (f *fixture) visit(id string) visitor.Visit {
	f.t.Helper()
	v, err := f.e.Visit(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

func (f *fixture) badgeState(id string) badge.Badge {
	f.t.Helper()
	b, err := f.pool.Get(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// opens reports whether the visit's current credential opens the level at
// the ACS now.
func (f *fixture) opens(v visitor.Visit, level string) bool {
	c := v.Current()
	return c != nil && f.acs.Opens(acs.CredentialRef{CardholderExternalID: v.ID, Card: c.Card}, level, f.now())
}

func (f *fixture) actions(visitID string) []string {
	f.t.Helper()
	recs, err := f.e.Audit(f.ctx, visitor.AuditQuery{VisitID: visitID})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, string(r.Action)+":"+string(r.Outcome))
	}
	return out
}

func (f *fixture) wantActions(visitID string, want ...string) {
	f.t.Helper()
	if got := f.actions(visitID); !slices.Equal(got, want) {
		f.t.Errorf("audit of %s:\n got  %q\n want %q", visitID, got, want)
	}
}

// wantCode checks that err is an *acs.Error of the code (and matches its
// sentinel).
func wantCode(t *testing.T, what string, err error, code acs.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s", what, code)
	}
	if got := acs.CodeOf(err); got != code || !errors.Is(err, code.Sentinel()) {
		t.Fatalf("%s: error %q has code %s, want %s", what, err, got, code)
	}
}

// lastRefusal returns the last audit record if it is a refusal.
func (f *fixture) lastRefusal() visitor.AuditRecord {
	f.t.Helper()
	recs, err := f.e.Audit(f.ctx, visitor.AuditQuery{})
	if err != nil {
		f.t.Fatal(err)
	}
	if len(recs) == 0 || recs[len(recs)-1].Outcome != visitor.OutcomeRefused {
		f.t.Fatalf("last audit record is not a refusal: %+v", recs[len(recs)-1:])
	}
	return recs[len(recs)-1]
}
