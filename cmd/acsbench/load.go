package main

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/acsbridge/acsbridge/acs/acshttp"
	"github.com/acsbridge/acsbridge/harness/bench"
	"github.com/acsbridge/acsbridge/visitor"
)

// burst provisions n new visitors from concurrent callers against a
// simulator limited to rate requests a second, the adapter's limiter set
// to the same rate, and compares the time taken with requests ÷ rate.
func burst(ctx context.Context, p *printer, c config, name string) error {
	n := orDefault(c.n, 1000)
	if c.short && c.n == 0 {
		n = 100
	}
	rate := orDefault(c.rate, 50)
	conc := orDefault(c.concurrency, 16)
	sim, err := bench.StartSim(name, bench.SimOptions{RateLimit: rate})
	if err != nil {
		return err
	}
	defer sim.Close()
	prov, err := sim.NewProvider(bench.ClientOptions{RatePerSecond: orDefault(c.clientRate, float64(rate)), Burst: c.burst})
	if err != nil {
		return err
	}
	defer bench.Close(prov)
	level := sim.Level()
	now := time.Now()
	jobs := make(chan int)
	var done, failed atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	stop := p.every(func() string {
		return fmt.Sprintf("%s burst: %d/%d provisions after %s, %d requests, %d over-limit",
			name, done.Load(), n, seconds(time.Since(start)), sim.Requests(), sim.OverLimit())
	})
	for range conc {
		wg.Go(func() {
			for i := range jobs {
				if _, err := prov.Provision(ctx, bench.Grant(i, level, now)); err != nil {
					failed.Add(1)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				done.Add(1)
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		jobs <- i + 1
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	stop()
	reqs, over := sim.Requests(), sim.OverLimit()
	ideal := time.Duration(float64(reqs) / float64(rate) * float64(time.Second))
	p.f("\n## Burst: %s, %d provisions, simulator limit %d/s, client limit %g/s burst %d, %d callers\n\n", name, n, rate, orDefault(c.clientRate, float64(rate)), c.burst, conc)
	p.f("provisions ok        %d (failed %d)\n", done.Load(), failed.Load())
	p.f("requests             %d (%.2f per provision, token and catalogue requests included)\n", reqs, float64(reqs)/float64(n))
	p.f("over-limit answers   %d\n", over)
	p.f("elapsed              %s\n", seconds(elapsed))
	p.f("requests ÷ limit     %s\n", seconds(ideal))
	p.f("elapsed ÷ ideal      %.3f (target ≤ 1.10)\n", elapsed.Seconds()/ideal.Seconds())
	p.f("achieved rate        %.2f requests/s (%.1f%% of the limit)\n", float64(reqs)/elapsed.Seconds(), 100*float64(reqs)/elapsed.Seconds()/float64(rate))
	if firstErr != nil {
		p.f("first error          %v\n", firstErr)
	}
	return nil
}

// latency signs n visitors in at once through the visitor engine, each
// with a credential from the location's card range, against a simulator
// adding c.latency to every request, and reports the time from the call to
// the credential being active.
func latency(ctx context.Context, p *printer, c config, name string) error {
	n := orDefault(c.n, 100)
	lat := c.latency
	if lat < 0 {
		lat = 20 * time.Millisecond
	}
	sim, err := bench.StartSim(name, bench.SimOptions{Latency: lat})
	if err != nil {
		return err
	}
	defer sim.Close()
	prov, err := sim.NewProvider(bench.ClientOptions{RatePerSecond: c.clientRate, Burst: max(c.burst, int(c.clientRate/2))})
	if err != nil {
		return err
	}
	defer bench.Close(prov)
	dir, err := os.MkdirTemp("", "acsbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, closeStore, err := bench.OpenStore(ctx, c.store, dir)
	if err != nil {
		return err
	}
	defer closeStore()
	e, err := bench.NewEngine(ctx, st, prov, sim.Level(), n+1)
	if err != nil {
		return err
	}
	warm, active, err := bench.SignIn(ctx, e, n+1) // session, catalogues, connection
	if err != nil || !active {
		return fmt.Errorf("warm-up sign-in: active=%v err=%v", active, err)
	}
	before := sim.Requests()
	durs := make([]time.Duration, n)
	var inactive, failed atomic.Int64
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-gate
			d, active, err := bench.SignIn(ctx, e, i+1)
			durs[i] = d
			switch {
			case err != nil:
				failed.Add(1)
			case !active:
				inactive.Add(1)
			}
		})
	}
	start := time.Now()
	close(gate)
	wg.Wait()
	total := time.Since(start)
	reqs := sim.Requests() - before
	limit := "off"
	if c.clientRate > 0 {
		limit = fmt.Sprintf("%.0f/s", c.clientRate)
	}
	p.f("\n## Latency: %s, %d concurrent sign-ins, %s added per request, %s store, client limit %s\n\n", name, n, lat, c.store, limit)
	p.f("warm-up sign-in      %s\n", ms(warm))
	p.f("requests             %d (%.2f per sign-in)\n", reqs, float64(reqs)/float64(n))
	p.f("p50                  %s\n", ms(bench.Percentile(durs, 50)))
	p.f("p99                  %s (target < 1 s)\n", ms(bench.Percentile(durs, 99)))
	p.f("max                  %s\n", ms(bench.Percentile(durs, 100)))
	p.f("floor per sign-in    %s (requests per sign-in × latency, sequential)\n", ms(time.Duration(float64(reqs)/float64(n)*float64(lat))))
	p.f("all done after       %s\n", ms(total))
	p.f("not active / failed  %d / %d\n", inactive.Load(), failed.Load())
	return nil
}

// refresh lists every access level of a simulator holding c.levels of
// them, served by a child process with c.latency per request, and reports
// the time, the requests and the client's heap.
func refresh(ctx context.Context, p *printer, c config, name string) error {
	levels := c.levels
	if c.short {
		levels = min(levels, 1000)
	}
	lat := c.latency
	if lat < 0 {
		lat = 20 * time.Millisecond
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	child, err := bench.StartChild(exe, name, bench.SimOptions{Latency: lat, ExtraLevels: levels - bench.SeededLevels(name)})
	if err != nil {
		return err
	}
	defer child.Close()
	conc := orDefault(c.concurrency, acshttp.DefaultConcurrency)
	prov, err := bench.NewProvider(name, child.URL, bench.ClientOptions{RatePerSecond: c.clientRate, Burst: max(c.burst, int(c.clientRate/2)),
		Concurrency: conc})
	if err != nil {
		return err
	}
	defer bench.Close(prov)
	// Log in (Lenel session, Brivo token) outside the measurement.
	if _, err := prov.CredentialFormats(ctx); err != nil {
		return err
	}
	limit := "off"
	if c.clientRate > 0 {
		limit = fmt.Sprintf("%.0f/s", c.clientRate)
	}
	p.f("\n## Refresh: %s, %d access levels, %s added per request, client limit %s, %d requests in flight at most\n\n", name, levels, lat, limit, conc)
	// The summary line is the slower of the two rounds.
	var worst struct {
		elapsed time.Duration
		reqs    int64
	}
	for round := 1; round <= 2; round++ {
		before, err := child.Stats(ctx)
		if err != nil {
			return err
		}
		runtime.GC()
		base := heapObjects()
		allocs := heapAllocs()
		var peak atomic.Uint64
		peak.Store(base)
		done := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			t := time.NewTicker(time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					if h := heapObjects(); h > peak.Load() {
						peak.Store(h)
					}
				}
			}
		}()
		start, cpu := time.Now(), bench.CPUTime()
		ls, err := prov.AccessLevels(ctx)
		elapsed, cpu := time.Since(start), bench.CPUTime()-cpu
		close(done)
		<-sampled
		if err != nil {
			return err
		}
		if h := heapObjects(); h > peak.Load() {
			peak.Store(h)
		}
		allocated := heapAllocs() - allocs
		after, err := child.Stats(ctx)
		if err != nil {
			return err
		}
		runtime.GC()
		retained := int64(heapObjects()) - int64(base)
		runtime.KeepAlive(ls)
		reqs := after.Requests - before.Requests
		if elapsed > worst.elapsed {
			worst.elapsed, worst.reqs = elapsed, reqs
		}
		p.f("round %d: %d levels in %s, %d requests (%s each on average; %s × requests = %s sequential), client CPU %s\n",
			round, len(ls), seconds(elapsed), reqs, ms(elapsed/time.Duration(max(reqs, 1))), lat, seconds(time.Duration(reqs)*lat), ms(cpu))
		p.f("         heap: peak %.1f MiB above the %.1f MiB before, %.1f MiB allocated in all, result %.1f MiB retained\n",
			mib(peak.Load()-base), mib(base), mib(allocated), float64(retained)/(1<<20))
	}
	// One line a script can read: its last field is the time. The floor
	// is what the requests cost with conc of them always in flight.
	floor := time.Duration((worst.reqs+int64(conc)-1)/int64(conc)) * lat
	ratio := "n/a"
	if floor > 0 {
		ratio = fmt.Sprintf("%.2f", worst.elapsed.Seconds()/floor.Seconds())
	}
	p.f("refresh %-8s levels %d requests %d concurrency %d floor %.3fs ratio %s time %.3fs\n",
		name, levels, worst.reqs, conc, floor.Seconds(), ratio, worst.elapsed.Seconds())
	return nil
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

var heapSamples = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/allocs:bytes"}}

var heapMu sync.Mutex

func readHeap() (objects, allocs uint64) {
	heapMu.Lock()
	defer heapMu.Unlock()
	metrics.Read(heapSamples)
	return heapSamples[0].Value.Uint64(), heapSamples[1].Value.Uint64()
}

func heapObjects() uint64 { o, _ := readHeap(); return o }
func heapAllocs() uint64  { _, a := readHeap(); return a }

// sweep signs n visitors in (unlimited), then lets the sweeper sign them
// all out automatically against a simulator limited to rate requests a
// second, the adapter limited to the same rate, and compares the time
// with requests ÷ rate.
func sweep(ctx context.Context, p *printer, c config, name string) error {
	n := orDefault(c.n, 10000)
	if c.short && c.n == 0 {
		n = 1000
	}
	rate := orDefault(c.rate, 200)
	sim, err := bench.StartSim(name, bench.SimOptions{})
	if err != nil {
		return err
	}
	defer sim.Close()
	dir, err := os.MkdirTemp("", "acsbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, closeStore, err := bench.OpenStore(ctx, c.store, dir)
	if err != nil {
		return err
	}
	defer closeStore()
	clock := visitor.NewManualClock(time.Now())
	level := sim.Level()

	// Setup: n visitors signed in with active credentials, no limit.
	setupProv, err := sim.NewProvider(bench.ClientOptions{})
	if err != nil {
		return err
	}
	defer bench.Close(setupProv)
	setup, err := bench.NewEngine(ctx, st, setupProv, level, n, visitor.WithClock(clock), visitor.WithOwner("setup"))
	if err != nil {
		return err
	}
	setupStart := time.Now()
	var signedIn atomic.Int64
	stopProgress := p.every(func() string {
		return fmt.Sprintf("%s sweep setup: %d/%d signed in after %s", name, signedIn.Load(), n, seconds(time.Since(setupStart)))
	})
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var setupErr error
	for range orDefault(c.concurrency, 8) {
		wg.Go(func() {
			for i := range jobs {
				_, active, err := bench.SignIn(ctx, setup, i)
				if err == nil && !active {
					err = fmt.Errorf("visit %d: credential not active after sign-in", i)
				}
				if err != nil {
					mu.Lock()
					setupErr = cmp.Or(setupErr, err)
					mu.Unlock()
					continue
				}
				signedIn.Add(1)
			}
		})
	}
	for i := range n {
		jobs <- i + 1
	}
	close(jobs)
	wg.Wait()
	stopProgress()
	if setupErr != nil {
		return fmt.Errorf("setup: %w", setupErr)
	}
	engines := max(c.engines, 1)
	clientRate := orDefault(c.clientRate, float64(rate))
	p.f("\n## Sweep: %s, %d visits signed out automatically, simulator limit %d/s, %d engine(s) each with a client limit of %g/s, %d workers, batch %d, %s store\n\n",
		name, n, rate, engines, clientRate/float64(engines), c.workers, c.batch, c.store)
	p.f("setup                %d sign-ins in %s (not part of the figure)\n", n, seconds(time.Since(setupStart)))

	// The sweep: other engines (the sweepers) over the same store, each
	// with a rate-limited provider of its own. Engines sharing one vendor
	// account share its limit: each has limit ÷ engines (a share per live
	// engine, as a VMS running several replicas configures them).
	sim.ResetLog()
	sim.SetRateLimit(rate)
	sweepers := make([]*visitor.Engine, engines)
	for i := range sweepers {
		prov, err := sim.NewProvider(bench.ClientOptions{RatePerSecond: clientRate / float64(engines), Burst: c.burst})
		if err != nil {
			return err
		}
		defer bench.Close(prov)
		if sweepers[i], err = bench.NewEngine(ctx, st, prov, level, n, visitor.WithClock(clock), visitor.WithOwner(fmt.Sprintf("sweeper-%d", i+1)),
			visitor.WithBatch(c.batch, c.workers)); err != nil {
			return err
		}
	}
	sweeper := sweepers[0]
	clock.Advance(bench.Policy(level).AutoSignOut + time.Minute)
	req0, over0 := sim.Requests(), sim.OverLimit()
	start := time.Now()
	res, err := sweeper.Sweep(ctx)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	sweepTime := time.Since(start)
	var drained atomic.Int64
	stopProgress = p.every(func() string {
		return fmt.Sprintf("%s sweep: %d revocations after %s, %d requests, %d over-limit",
			name, drained.Load(), seconds(time.Since(start)), sim.Requests()-req0, sim.OverLimit()-over0)
	})
	var outboxErr error
	var emu sync.Mutex
	var ewg sync.WaitGroup
	for _, e := range sweepers {
		ewg.Go(func() {
			for ctx.Err() == nil {
				k, err := e.RunOutboxOnce(ctx)
				if err != nil {
					emu.Lock()
					outboxErr = cmp.Or(outboxErr, err)
					emu.Unlock()
					return
				}
				if k == 0 {
					return
				}
				drained.Add(int64(k))
			}
		})
	}
	ewg.Wait()
	elapsed := time.Since(start)
	stopProgress()
	if outboxErr != nil {
		return fmt.Errorf("outbox: %w", outboxErr)
	}
	reqs, over := sim.Requests()-req0, sim.OverLimit()-over0
	revoked, pending := 0, 0
	vs, err := sweeper.Visits(ctx, visitor.VisitFilter{Location: bench.Location})
	if err != nil {
		return err
	}
	reasons := map[string]int{} // why a visit is not revoked
	for _, v := range vs {
		if cur := v.Current(); v.State == visitor.SignedOut && cur != nil && cur.Status == visitor.CredRevoked {
			revoked++
		} else {
			pending++
			reasons[leftReason(v)]++
		}
	}
	ideal := time.Duration(float64(reqs) / float64(rate) * float64(time.Second))
	p.f("visits examined      %d; signed out and revoked %d; other %d\n", res.Visits, revoked, pending)
	for _, r := range slices.Sorted(maps.Keys(reasons)) {
		p.f("  not revoked        %d: %s\n", reasons[r], r)
	}
	p.f("sweep (store only)   %s\n", seconds(sweepTime))
	p.f("requests             %d (%.2f per visit)\n", reqs, float64(reqs)/float64(n))
	p.f("over-limit answers   %d\n", over)
	p.f("elapsed              %s (sweep and outbox)\n", seconds(elapsed))
	p.f("requests ÷ limit     %s\n", seconds(ideal))
	p.f("elapsed ÷ ideal      %.3f (target ≤ 1.10)\n", elapsed.Seconds()/ideal.Seconds())
	p.f("achieved rate        %.2f requests/s (%.1f%% of the limit)\n", float64(reqs)/elapsed.Seconds(), 100*float64(reqs)/elapsed.Seconds()/float64(rate))
	return nil
}

// leftReason says why a swept visit is not signed out with its credential
// revoked: its state, its credential's status and the ACS's last error.
func leftReason(v visitor.Visit) string {
	cur := v.Current()
	if cur == nil {
		return fmt.Sprintf("state %s, no credential", v.State)
	}
	return fmt.Sprintf("state %s, credential %s, last error %q", v.State, cur.Status, cur.Error)
}
