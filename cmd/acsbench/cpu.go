package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/acsbridge/acsbridge/harness/bench"
)

// cpuSide is one of the two clients a cpu run compares.
type cpuSide struct {
	name   string
	client bench.Floor
	child  *bench.Child
	next   int // next visitor number
	// Per round: CPU time and allocations per operation.
	provCPU, revCPU     []time.Duration
	provAlloc, revAlloc []float64
}

// cpu compares the client CPU time of the adapter with the floor client's
// for provisions and revocations, in interleaved rounds so that both see
// the same machine load. Each client has its own simulator in a child
// process, so the CPU time and allocations measured are the client's
// alone. A round is k provisions then the k revocations of what they
// created, per client, the order of the clients alternating between
// rounds; a forced GC closes every measured block, so each block pays for
// its own garbage.
func cpu(ctx context.Context, p *printer, c config, name string) error {
	rounds := orDefault(c.n, 20)
	if c.short && c.n == 0 {
		rounds = 4
	}
	const k = 100
	if rounds > 550 { // cards 10000 to 65000: unique, and of five digits
		return fmt.Errorf("%w: -n is at most 550 rounds for cpu", errUsage)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	var sides [2]*cpuSide
	for i, kind := range []string{"adapter", "floor"} {
		child, err := bench.StartChild(exe, name, bench.SimOptions{})
		if err != nil {
			return err
		}
		defer child.Close()
		var f bench.Floor
		if kind == "adapter" {
			prov, err := bench.NewProvider(name, child.URL, bench.ClientOptions{})
			if err != nil {
				return err
			}
			defer bench.Close(prov)
			f = bench.Adapter{P: prov}
		} else if f, err = bench.NewFloor(ctx, name, child.URL, nil); err != nil {
			return err
		}
		// Visitors from 9999 have five-digit cards (10000 on), none of
		// which contains another's name: each revocation is the common
		// one, with no other card found by Genetec's search of its name.
		s := &cpuSide{name: kind, client: f, child: child, next: 9999}
		// Warm up: session, catalogues, connections.
		if _, err := s.provisions(ctx, name, 10); err != nil {
			return err
		}
		sides[i] = s
	}
	for r := range rounds {
		order := sides
		if r%2 == 1 {
			order[0], order[1] = sides[1], sides[0]
		}
		for _, s := range order {
			if err := s.round(ctx, name, k); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
		}
	}
	a, f := sides[0], sides[1]
	p.f("\n## Client CPU: %s, %d interleaved rounds of %d provisions and %d revocations per client\n\n", name, rounds, k, k)
	p.f("| operation | adapter µs/op | floor µs/op | adapter ÷ floor | per-round ratio p25–p75 | adapter − floor µs/op | adapter allocs/op | floor allocs/op |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	row := func(op string, ac, fc []time.Duration, aa, fa []float64) {
		ratios := make([]float64, len(ac))
		for i := range ac {
			ratios[i] = float64(ac[i]) / float64(fc[i])
		}
		slices.Sort(ratios)
		am, fm := median(ac), median(fc)
		p.f("| %s | %.0f | %.0f | %.2f | %.2f–%.2f | %.0f | %.0f | %.0f |\n", op, us(am), us(fm), float64(am)/float64(fm),
			ratios[len(ratios)/4], ratios[len(ratios)*3/4], us(am-fm), medianF(aa), medianF(fa))
	}
	row("provision", a.provCPU, f.provCPU, a.provAlloc, f.provAlloc)
	row("revoke", a.revCPU, f.revCPU, a.revAlloc, f.revAlloc)
	return nil
}

// provisions provisions n new visitors and returns their references.
func (s *cpuSide) provisions(ctx context.Context, provider string, n int) ([]bench.FloorRef, error) {
	level, now := bench.LevelOf(provider), time.Now()
	refs := make([]bench.FloorRef, n)
	for i := range refs {
		var err error
		if refs[i], err = s.client.Provision(ctx, bench.Grant(s.next, level, now)); err != nil {
			return nil, err
		}
		s.next++
	}
	return refs, nil
}

// round measures k provisions, then the k revocations.
func (s *cpuSide) round(ctx context.Context, provider string, k int) error {
	var refs []bench.FloorRef
	cpu, allocs, err := measured(func() error {
		var err error
		refs, err = s.provisions(ctx, provider, k)
		return err
	})
	if err != nil {
		return err
	}
	s.provCPU = append(s.provCPU, cpu/time.Duration(k))
	s.provAlloc = append(s.provAlloc, allocs/float64(k))
	cpu, allocs, err = measured(func() error {
		for _, r := range refs {
			if err := s.client.Revoke(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.revCPU = append(s.revCPU, cpu/time.Duration(k))
	s.revAlloc = append(s.revAlloc, allocs/float64(k))
	return nil
}

// measured runs fn after a GC and returns the process CPU time and heap
// allocations it took, a closing GC included.
func measured(fn func() error) (time.Duration, float64, error) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	t := bench.CPUTime()
	err := fn()
	runtime.GC()
	t = bench.CPUTime() - t
	runtime.ReadMemStats(&m1)
	return t, float64(m1.Mallocs - m0.Mallocs), err
}

func median(ds []time.Duration) time.Duration {
	c := slices.Clone(ds)
	slices.Sort(c)
	return c[len(c)/2]
}

func medianF(fs []float64) float64 {
	c := slices.Clone(fs)
	slices.Sort(c)
	return c[len(c)/2]
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }
