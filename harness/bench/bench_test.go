package bench

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	MaybeServeChild()
	os.Exit(m.Run())
}

// The benchmarks number their visitors from firstVisitor, so that every
// card number has five digits (10000 on): Genetec's search of a card by
// name matches names containing it ("H10301 42/1" finds "H10301 42/10"),
// and a revocation whose search finds another live card reads it (two
// more requests). Cards of equal width never contain one another, so
// every revocation measured is the common one. warmVisitor's card (65001)
// has five digits too.
const (
	firstVisitor = 9999
	warmVisitor  = 65000
)

// maxOps bounds one benchmark run: card numbers (and Lenel badge IDs) are
// unique below 65,535 in a fresh simulator, and stay below warmVisitor's.
const maxOps = warmVisitor - firstVisitor - 1

// client is what the benchmarks drive: an adapter or a floor client.
type client struct {
	name string
	new  func(ctx context.Context, provider, url string) (Floor, func(), error)
}

var clients = []client{
	{"adapter", func(ctx context.Context, provider, url string) (Floor, func(), error) {
		p, err := NewProvider(provider, url, ClientOptions{})
		if err != nil {
			return nil, nil, err
		}
		return Adapter{p}, func() { Close(p) }, nil
	}},
	{"floor", func(ctx context.Context, provider, url string) (Floor, func(), error) {
		f, err := NewFloor(ctx, provider, url, nil)
		return f, func() {}, err
	}},
}

// setup starts provider's simulator in a child process and a client of
// kind c against it, warmed up with one provision (session, catalogues,
// connections).
func setup(b *testing.B, provider string, c client) (Floor, *Child) {
	b.Helper()
	if b.N > maxOps {
		b.Skipf("b.N=%d exceeds %d operations per simulator; lower -benchtime", b.N, maxOps)
	}
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	child, err := StartChild(exe, provider, SimOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = child.Close() })
	f, done, err := c.new(context.Background(), provider, child.URL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(done)
	if _, err := f.Provision(context.Background(), Grant(warmVisitor, LevelOf(provider), time.Now())); err != nil {
		b.Fatal(err)
	}
	return f, child
}

// measure runs fn with the timer and the CPU clock running and reports
// the process's CPU time per operation and the simulator's requests per
// operation. The simulator runs in a child process, so both the CPU time
// and the allocations are the client's alone.
func measure(b *testing.B, child *Child, fn func()) {
	ctx := context.Background()
	before, err := child.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	b.ResetTimer()
	cpu := CPUTime()
	fn()
	cpu = CPUTime() - cpu
	b.StopTimer()
	after, err := child.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(after.Requests-before.Requests)/float64(b.N), "requests/op")
}

// BenchmarkProvision provisions new visitors one after the other with the
// adapter and with the floor client, against the simulator in a child
// process. cpu-µs/op is the client process's CPU time per provision.
func BenchmarkProvision(b *testing.B) {
	for _, provider := range Providers {
		for _, c := range clients {
			if c.name == "floor" && !HasFloor(provider) {
				continue
			}
			b.Run(provider+"/"+c.name, func(b *testing.B) {
				f, child := setup(b, provider, c)
				ctx := context.Background()
				level := LevelOf(provider)
				now := time.Now()
				b.ReportAllocs()
				measure(b, child, func() {
					for i := range b.N {
						if _, err := f.Provision(ctx, Grant(firstVisitor+i, level, now)); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}

// BenchmarkRevoke revokes credentials by reference (what a sign-out does)
// with the adapter and with the floor client; the credentials are
// provisioned beforehand, outside the measurement.
func BenchmarkRevoke(b *testing.B) {
	for _, provider := range Providers {
		for _, c := range clients {
			if c.name == "floor" && !HasFloor(provider) {
				continue
			}
			b.Run(provider+"/"+c.name, func(b *testing.B) {
				f, child := setup(b, provider, c)
				ctx := context.Background()
				level := LevelOf(provider)
				now := time.Now()
				refs := make([]FloorRef, b.N)
				for i := range refs {
					var err error
					if refs[i], err = f.Provision(ctx, Grant(firstVisitor+i, level, now)); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				measure(b, child, func() {
					for _, r := range refs {
						if err := f.Revoke(ctx, r); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}
