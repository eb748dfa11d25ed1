package genetec_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
)

// TestRoundTrips counts the HTTP requests of each operation in the
// simulator's log.
func TestRoundTrips(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	count := func(name string, want int, fn func() error) {
		t.Helper()
		e.sim.ResetRequests()
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := len(e.sim.Requests()); got != want {
			t.Errorf("%s: %d round trips, want %d", name, got, want)
		} else {
			t.Logf("%s: %d round trips", name, got)
		}
	}
	g := grant(1)
	var p acs.Provisioned
	count("provision (new visitor, with the check for twins)", 6, func() (err error) { p, err = e.p.Provision(ctx, g); return })
	count("provision (repeat, nothing to change)", 3, func() error { _, err := e.p.Provision(ctx, g); return err })
	count("revoke by credential ID (with the search for the card on twins)", 3, func() error { return e.p.Revoke(ctx, p.Credential) })
	count("revoke again (read refused, absence confirmed)", 3, func() error { return e.p.Revoke(ctx, p.Credential) })
	count("provision (known visitor, new card)", 4, func() (err error) { p, err = e.p.Provision(ctx, g); return })
	count("revoke by external ID and card", 4, func() error {
		return e.p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: g.Person.ExternalID, Card: g.Card})
	})
	count("remove cardholder by ID (with the search for duplicates)", 3, func() error { return e.p.RemoveCardholder(ctx, p.Cardholder) })
	count("remove absent cardholder by external ID", 1, func() error {
		return e.p.RemoveCardholder(ctx, acs.CardholderRef{ExternalID: g.Person.ExternalID})
	})
}

// BenchmarkProvisionRevoke provisions a new visitor and revokes the
// credential against the simulator on loopback. The cardholder is removed
// with the timer stopped, so that the simulator's state stays small.
func BenchmarkProvisionRevoke(b *testing.B) {
	e := newEnv(b, nil, genetec.WithLogger(nil))
	ctx := context.Background()
	b.ReportAllocs()
	requests := 0
	for i := 0; i < b.N; i++ {
		g := grant(i % 60000)
		g.Person.ExternalID = "bench-" + itoa(i)
		p, err := e.p.Provision(ctx, g)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.p.Revoke(ctx, p.Credential); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		requests += len(e.sim.Requests())
		if err := e.p.RemoveCardholder(ctx, p.Cardholder); err != nil {
			b.Fatal(err)
		}
		e.sim.ResetRequests()
		b.StartTimer()
	}
	b.ReportMetric(float64(requests)/float64(b.N), "roundtrips/op")
}

// BenchmarkEventsStream measures one swipe delivered end to end: the
// simulator writes the part, the adapter reads, parses, looks up (cached)
// and calls the function. ns/op and allocs/op include the simulator's side.
func BenchmarkEventsStream(b *testing.B) {
	e, _ := eventsEnv(b, genetec.EventOptions{Lookback: time.Minute}, genetecsim.WithStreamBuffer(1<<30))
	if _, err := e.p.Provision(context.Background(), grant(1)); err != nil {
		b.Fatal(err)
	}
	var delivered atomic.Int64
	fn := func(acs.DoorEvent) error { delivered.Add(1); return nil }
	r := startEvents(b, e.p, "", fn)
	waitUntil(b, "the catch-up", func() bool { return e.count("GET", "report/DoorActivity") == 1 })
	at := t0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		// One badge makes at most one event a second at one door.
		now := at.Add(time.Duration(i) * time.Second)
		e.clock.Set(now)
		if _, err := e.sim.Swipe(genetecsim.SeedLobbyDoor, card(1), now); err != nil {
			b.Fatal(err)
		}
	}
	waitUntil(b, "every event", func() bool { return delivered.Load() >= int64(b.N) })
	b.StopTimer()
	r.stop()
}
