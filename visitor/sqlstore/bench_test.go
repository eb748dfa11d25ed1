package sqlstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/visitor/sqlstore/sqlite"
)

func reportOps(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkBadgeAcquireRelease measures one acquisition of the next
// available badge and its release, each its own transaction, on one
// goroutine and on 8 (GOMAXPROCS×4) at once.
func BenchmarkBadgeAcquireRelease(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			addBadges(b, s.Badges(), 64)
			bs := s.Badges()
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				visit := fmt.Sprintf("b%d", i)
				bd, err := bs.Acquire(ctx, hq, "", visit, t0)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := bs.Release(ctx, hq, bd.ID, visit, t0); err != nil {
					b.Fatal(err)
				}
			}
			reportOps(b)
		})
		b.Run(be.name+"Parallel", func(b *testing.B) {
			s := be.open(b)
			addBadges(b, s.Badges(), 64)
			bs := s.Badges()
			ctx := context.Background()
			var n atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					visit := fmt.Sprintf("b%d", n.Add(1))
					bd, err := bs.Acquire(ctx, hq, "", visit, t0)
					if err != nil {
						b.Error(err)
						return
					}
					if _, err := bs.Release(ctx, hq, bd.ID, visit, t0); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportOps(b)
		})
	}
}

// BenchmarkVisitLifecycle measures a whole visit against the in-memory
// ACS: sign-in of a walk-in with a pool badge provisioned, then sign-out
// with the revocation confirmed and the badge back in the pool (the outbox
// is empty after each visit).
func BenchmarkVisitLifecycle(b *testing.B) {
	type store struct {
		name string
		open func(b *testing.B) visitor.Store
	}
	stores := []store{{"Memory", func(b *testing.B) visitor.Store { return visitor.NewMemoryStore() }}}
	for _, be := range backends {
		stores = append(stores, store{be.name, func(b *testing.B) visitor.Store { return be.open(b) }})
	}
	stores = append(stores, store{"SQLiteRelaxedSync", func(b *testing.B) visitor.Store { return openSQLite(b, sqlite.WithRelaxedSync()) }})
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			s := st.open(b)
			addBadges(b, s.Badges(), 16)
			clock := visitor.NewManualClock(t0)
			e := newEngine(b, s, acstest.NewMemory(levels), clock, "bench")
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				clock.Advance(time.Second)
				v, err := e.SignIn(ctx, desk, visitor.SignInRequest{
					VisitID: fmt.Sprintf("visit-%d", i), Location: hq,
					Visitor: visitor.Visitor{FirstName: "Ada", LastName: "Lovelace"}, Provision: &visitor.ProvisionRequest{},
				})
				if err != nil {
					b.Fatal(err)
				}
				if c := v.Current(); c == nil || c.Status != visitor.CredActive {
					b.Fatalf("after sign-in: %+v", v.Credentials)
				}
				v, err = e.SignOut(ctx, desk, v.ID, visitor.ViaDesk)
				if err != nil {
					b.Fatal(err)
				}
				for v.Pending() {
					if _, err := e.RunOutboxOnce(ctx); err != nil {
						b.Fatal(err)
					}
					if v, err = e.Visit(ctx, v.ID); err != nil {
						b.Fatal(err)
					}
				}
				if c := v.Current(); !c.Released {
					b.Fatalf("after sign-out: %+v", c)
				}
			}
			reportOps(b)
			b.StopTimer()
			if items, err := s.Outbox(ctx, "", 0); err != nil || len(items) != 0 {
				b.Fatalf("outbox not empty: %d items, %v", len(items), err)
			}
		})
	}
}
