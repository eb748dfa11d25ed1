package visitor_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/wiegand"
)

func benchEngine(b *testing.B, badges int, rangeSize uint64) (*visitor.Engine, *acstest.Memory, *visitor.ManualClock) {
	b.Helper()
	ctx := context.Background()
	clock := visitor.NewManualClock(t0)
	m := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby"}, {ID: "floor-3"}})
	e, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{ID: "hq", Provider: m, Policy: testPolicy()}},
		visitor.WithClock(clock), visitor.WithOwner("bench"))
	if err != nil {
		b.Fatal(err)
	}
	pool, _ := e.Pool("hq")
	for i := range badges {
		if _, err := pool.Add(ctx, badge.Badge{ID: fmt.Sprint(1000 + i), Name: "b", Card: badge.Card{Format: wiegand.H10301, Facility: 1, Number: uint64(1000 + i)}}); err != nil {
			b.Fatal(err)
		}
	}
	if rangeSize > 0 {
		al, _ := e.Allocator("hq")
		if err := al.SetRange(ctx, badge.Range{Format: wiegand.H10304, Facility: 7, Min: 100000, Max: 100000 + rangeSize - 1}); err != nil {
			b.Fatal(err)
		}
	}
	return e, m, clock
}

// BenchmarkSignInProvisionSignOut measures one whole visit against the
// in-memory ACS: sign-in, provision of the next pool badge (confirmed at
// once), sign-out (revocation confirmed, badge released).
func BenchmarkSignInProvisionSignOut(b *testing.B) {
	ctx := context.Background()
	e, m, clock := benchEngine(b, 16, 0)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		id := fmt.Sprintf("v%d", n)
		if _, err := e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: id, Location: "hq", Visitor: ada}); err != nil {
			b.Fatal(err)
		}
		v, err := e.Provision(ctx, desk, id, visitor.ProvisionRequest{})
		if err != nil || v.Current().Status != visitor.CredActive {
			b.Fatal(err, v.Current())
		}
		v, err = e.SignOut(ctx, kiosk, id, visitor.ViaKiosk)
		if err != nil || !v.Current().Released {
			b.Fatal(err, v.Current())
		}
		clock.Advance(time.Second)
	}
	calls := m.Calls()
	b.ReportMetric(float64(calls["provision"]+calls["revoke"])/float64(n), "acs-calls/op")
}

// BenchmarkSweepExpire10k measures the sweeper signing out 10,000 visits
// whose automatic sign-out is due, and the outbox revoking their 10,000
// credentials (card numbers from the range), until nothing is pending.
func BenchmarkSweepExpire10k(b *testing.B) {
	const visits = 10_000
	ctx := context.Background()
	var revokes, swept int
	for b.Loop() {
		b.StopTimer()
		e, m, clock := benchEngine(b, 0, visits)
		for i := range visits {
			id := fmt.Sprintf("v%05d", i)
			if _, err := e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: id, Location: "hq", Visitor: ada,
				Provision: &visitor.ProvisionRequest{FromRange: true}}); err != nil {
				b.Fatal(err)
			}
		}
		clock.Advance(12 * time.Hour)
		before := m.Calls()
		b.StartTimer()

		res, err := e.Sweep(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for {
			n, err := e.RunOutboxOnce(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				break
			}
		}

		b.StopTimer()
		after := m.Calls()
		revokes += after["revoke"] - before["revoke"]
		swept += res.Visits
		if len(m.Active(clock.Now())) != 0 || res.Visits != visits {
			b.Fatalf("after the sweep: %d swept, %d credentials active", res.Visits, len(m.Active(clock.Now())))
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(revokes)/float64(b.N), "revokes/sweep")
	b.ReportMetric(float64(swept)/float64(b.N), "visits/sweep")
}

// BenchmarkRecordDoorEvent measures recording one door event over a
// MemoryStore whose pool has 100 badges (all held by signed-in visits):
// linked by external ID, linked by card (pool list and badge history),
// unmatched (an employee card, no handler), and a duplicate.
func BenchmarkRecordDoorEvent(b *testing.B) {
	ctx := context.Background()
	e, _, clock := benchEngine(b, 100, 0)
	for i := range 100 {
		id := fmt.Sprintf("v%d", i)
		if _, err := e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: id, Location: "hq", Visitor: ada, Provision: &visitor.ProvisionRequest{BadgeID: fmt.Sprint(1000 + i)}}); err != nil {
			b.Fatal(err)
		}
	}
	clock.Advance(time.Minute)
	card := acs.Card{Format: acs.H10301, Facility: 1, Number: 1050}
	seq := 0
	for _, c := range []struct {
		name  string
		ev    acs.DoorEvent
		visit string
		dup   bool
	}{
		{"external_id", acs.DoorEvent{DoorID: "d1", Card: card, Cardholder: acs.CardholderRef{ExternalID: "v50"}, Granted: true}, "v50", false},
		{"card", acs.DoorEvent{DoorID: "d1", Card: card, Granted: true}, "v50", false},
		{"unmatched", acs.DoorEvent{DoorID: "d1", Card: acs.Card{Format: acs.H10301, Facility: 9, Number: 1}, Cardholder: acs.CardholderRef{ExternalID: "emp-1"}}, "", false},
		{"duplicate", acs.DoorEvent{Cursor: "same", DoorID: "d1", Card: card, Cardholder: acs.CardholderRef{ExternalID: "v50"}}, "v50", true},
	} {
		b.Run(c.name, func(b *testing.B) {
			ev := c.ev
			if c.dup {
				ev.Time = clock.Now()
				if _, err := e.RecordDoorEvent(ctx, "hq", ev); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if !c.dup { // a new event, later than every earlier one
					seq++
					ev.Time, ev.Cursor = clock.Now().Add(time.Duration(seq)*time.Millisecond), fmt.Sprint(seq)
				}
				res, err := e.RecordDoorEvent(ctx, "hq", ev)
				if err != nil || res.VisitID != c.visit || res.Duplicate != c.dup {
					b.Fatal(err, res.VisitID, res.Duplicate)
				}
			}
		})
	}
}

// BenchmarkMuster measures the muster report of 1,000 signed-in visits.
func BenchmarkMuster(b *testing.B) {
	ctx := context.Background()
	e, _, clock := benchEngine(b, 0, 0)
	for i := range 1000 {
		id := fmt.Sprintf("v%04d", i)
		if _, err := e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: id, Location: "hq", Visitor: ada}); err != nil {
			b.Fatal(err)
		}
		if i%2 == 0 {
			if _, err := e.RecordDoorEvent(ctx, "hq", acs.DoorEvent{Cursor: id, Time: clock.Now(), DoorID: "d1", Cardholder: acs.CardholderRef{ExternalID: id}, Granted: true}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		rep, err := e.Muster(ctx, "hq")
		if err != nil || rep.Inside != 500 || rep.Unseen != 500 {
			b.Fatal(err, rep.Inside, rep.Unseen)
		}
	}
}
