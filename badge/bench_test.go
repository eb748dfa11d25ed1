package badge

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/wiegand"
)

func benchPool(b *testing.B, n int) (*Pool, []string) {
	b.Helper()
	p, err := NewPool(NewMemoryStore(), "lobby")
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprint(10000 + i)
		if _, err := p.Add(context.Background(), Badge{ID: ids[i], Name: "B" + ids[i]}); err != nil {
			b.Fatal(err)
		}
	}
	return p, ids
}

// BenchmarkPoolAcquireRelease measures one scanned acquire plus one release
// (the front-desk round trip) on a 1,000-badge in-memory pool.
func BenchmarkPoolAcquireRelease(b *testing.B) {
	ctx := context.Background()
	p, ids := benchPool(b, 1000)
	visits := make([]string, 64)
	for i := range visits {
		visits[i] = fmt.Sprintf("visit-%d", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id, v := ids[i%len(ids)], visits[i%len(visits)]
		if _, err := p.Acquire(ctx, id, v); err != nil {
			b.Fatal(err)
		}
		if _, err := p.Release(ctx, id, v); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPoolAcquireNextRelease is the same round trip with "next
// available".
func BenchmarkPoolAcquireNextRelease(b *testing.B) {
	ctx := context.Background()
	p, _ := benchPool(b, 1000)
	b.ReportAllocs()
	for b.Loop() {
		bd, err := p.AcquireNext(ctx, "visit-1")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Release(ctx, bd.ID, "visit-1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPoolAcquireReleaseParallel runs the round trip from GOMAXPROCS
// goroutines on one pool, each with its own visit ID.
func BenchmarkPoolAcquireReleaseParallel(b *testing.B) {
	ctx := context.Background()
	p, _ := benchPool(b, 1000)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		visit := fmt.Sprintf("visit-%d", next.Add(1))
		for pb.Next() {
			bd, err := p.AcquireNext(ctx, visit)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := p.Release(ctx, bd.ID, visit); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAllocate measures Allocate plus Free on an H10301 range of
// 65,536 numbers that is nearly full (64 free).
func BenchmarkAllocate(b *testing.B) {
	ctx := context.Background()
	a, err := NewAllocator(NewMemoryAllocationStore(), "lobby", WithClock(func() time.Time { return time.Time{} }))
	if err != nil {
		b.Fatal(err)
	}
	if err := a.SetRange(ctx, Range{Format: wiegand.H10301, Facility: 1, Min: 0, Max: 65535}); err != nil {
		b.Fatal(err)
	}
	for i := range 65536 - 64 {
		if _, err := a.Allocate(ctx, fmt.Sprint("fill-", i)); err != nil {
			b.Fatal(err)
		}
	}
	visits := make([]string, 64)
	for i := range visits {
		visits[i] = fmt.Sprint("visit-", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		v := visits[i%len(visits)]
		x, err := a.Allocate(ctx, v)
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Free(ctx, x.Card.Number, v); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkValidateID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateID("12345678901234"); err != nil {
			b.Fatal(err)
		}
	}
}
