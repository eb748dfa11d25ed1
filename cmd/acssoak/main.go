// Command soak runs visit lifecycles continuously against the simulators
// of every provider (Genetec, Lenel, Brivo, Alta, Verkada, NetBox, and
// HID Origo in front of a Genetec of its own) through the real adapters
// and an Engine over an SQLite store, with a share of
// requests failing, and prints the heap in use (after a garbage
// collection) every interval, to show whether memory or goroutines grow
// over time.
//
// The simulators run in a child process (this program with -sims), so
// that what they accumulate (every visit stays a cardholder at an ACS)
// does not count in the heap measured here; the Engine's clock reaches
// them in a request header.
//
//	go run ./cmd/acssoak -duration 10m
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/harness/chaos"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/visitor/sqlstore/sqlite"
)

type config struct {
	duration time.Duration
	every    time.Duration
	workers  int
	faults   float64
	db       string
	seed     uint64
	sims     bool
}

func main() {
	var c config
	flag.DurationVar(&c.duration, "duration", 10*time.Minute, "how long to run")
	flag.DurationVar(&c.every, "every", 30*time.Second, "how often to print the heap")
	flag.IntVar(&c.workers, "workers", 8, "lifecycles running at once")
	flag.Float64Var(&c.faults, "faults", 0.05, "share of ACS requests that fail")
	flag.StringVar(&c.db, "db", "", "SQLite file (default: a new file in a temporary directory)")
	flag.Uint64Var(&c.seed, "seed", 1, "seed of lifecycles and faults")
	flag.BoolVar(&c.sims, "sims", false, "serve the simulators (internal: the child process)")
	flag.Parse()
	var err error
	if c.sims {
		err = serveSims(c)
	} else {
		err = run(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// simsInfo is what the child tells the parent.
type simsInfo struct {
	Sites   []chaos.SiteInfo `json:"sites"`
	Secrets chaos.Secrets    `json:"secrets"`
}

// serveSims runs the simulators until stdin closes, resetting their
// request logs now and then so that they do not grow without bound.
func serveSims(c config) error {
	clock := chaos.NewMaxClock(time.Now().UTC().Truncate(time.Second))
	sec := chaos.DistinctSecrets()
	sims := chaos.StartSims(chaos.SimConfig{Clock: clock.Now, Secrets: sec, Seed: c.seed, Wrap: clock.Sync})
	defer sims.Close()
	sims.SetFaultRate(c.faults)
	if err := json.NewEncoder(os.Stdout).Encode(simsInfo{Sites: sims.Info(), Secrets: sec}); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-t.C:
			sims.ResetRequests()
		}
	}
}

func run(c config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	// The simulators, in a child process.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	child := exec.Command(self, "-sims", "-faults", fmt.Sprint(c.faults), "-seed", fmt.Sprint(c.seed))
	child.Stderr = os.Stderr
	childIn, err := child.StdinPipe()
	if err != nil {
		return err
	}
	childOut, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	if err := child.Start(); err != nil {
		return err
	}
	defer func() {
		childIn.Close()
		_ = child.Wait()
	}()
	var info simsInfo
	if err := json.NewDecoder(bufio.NewReader(childOut)).Decode(&info); err != nil {
		return fmt.Errorf("reading the simulators' addresses: %w", err)
	}

	clock := visitor.NewManualClock(time.Now().UTC().Truncate(time.Second))
	tr := chaos.ClockTransport{Next: http.DefaultTransport.(*http.Transport).Clone(), Clock: clock}
	sites := chaos.RemoteSites(info.Sites)
	var providers []acs.Provider
	for _, s := range info.Sites {
		p, err := chaos.NewSiteProvider(s, chaos.ProviderConfig{Clock: clock.Now, Secrets: info.Secrets, Transport: tr})
		if err != nil {
			return err
		}
		providers = append(providers, p)
	}
	defer chaos.CloseProviders(providers)

	path := c.db
	if path == "" {
		dir, err := os.MkdirTemp("", "acsbridge-soak-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "soak.db")
	}
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	defer store.Close()
	engine, err := visitor.New(store, chaos.Locations(sites, providers), visitor.WithClock(clock),
		visitor.WithLease(10*time.Minute, 5*time.Second), visitor.WithBackoff(time.Second, 2*time.Minute))
	if err != nil {
		return err
	}
	if err := chaos.Stock(ctx, engine, sites, 60); err != nil {
		return err
	}
	var locs []string
	for _, s := range sites {
		locs = append(locs, s.Location)
	}
	d := &chaos.Driver{Engine: engine, Clock: clock, Locations: locs, Seed: c.seed, MaxStep: 200 * time.Millisecond, Pump: true}

	fmt.Printf("soak: %s, %d workers, %.0f%% faults, SQLite %s; simulators in process %d\n", c.duration, c.workers, 100*c.faults, path, child.Process.Pid)
	runCtx, cancel := context.WithTimeout(ctx, c.duration)
	defer cancel()
	var next, done, failed atomic.Int64
	var firstErrs sync.Map
	var wg sync.WaitGroup
	for range c.workers {
		wg.Go(func() {
			for runCtx.Err() == nil {
				i := int(next.Add(1))
				plan := chaos.PickPlan(rand.New(rand.NewPCG(c.seed, uint64(i))))
				err := d.Lifecycle(runCtx, i, plan)
				switch {
				case err == nil:
					done.Add(1)
				case runCtx.Err() != nil && errors.Is(err, context.DeadlineExceeded):
				default:
					if n := failed.Add(1); n <= 5 {
						firstErrs.Store(n, err.Error())
					}
				}
			}
		})
	}

	begin := time.Now()
	var samples []uint64
	sample := func() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		samples = append(samples, ms.HeapInuse)
		fmt.Printf("t=%-6s heap_inuse=%6.2f MiB heap_objects=%7d goroutines=%3d lifecycles=%7d failed=%d ops=%d simulated=%s\n",
			time.Since(begin).Round(time.Second), mib(ms.HeapInuse), ms.HeapObjects, runtime.NumGoroutine(),
			done.Load(), failed.Load(), d.Ops(), clock.Now().Sub(begin).Round(time.Minute))
	}
	sample()
	t := time.NewTicker(c.every)
	for waiting := true; waiting; {
		select {
		case <-t.C:
			sample()
		case <-runCtx.Done():
			waiting = false
		}
	}
	t.Stop()
	wg.Wait()
	st, err := chaos.Drain(ctx, engine, clock, 1000000)
	if err != nil {
		return fmt.Errorf("final drain: %w", err)
	}
	sample()
	firstErrs.Range(func(_, v any) bool { fmt.Println("  lifecycle error:", v); return true })
	pending, _ := engine.Outbox(ctx, "")
	lo, hi := samples[0], samples[0]
	for _, s := range samples {
		lo, hi = min(lo, s), max(hi, s)
	}
	fmt.Printf("summary: %d lifecycles (%d failed, %v) in %s; final drain %d rounds, %d items; outbox pending %d\n",
		done.Load(), failed.Load(), d.Plans(), time.Since(begin).Round(time.Second), st.Rounds, st.Items, len(pending))
	fmt.Printf("heap in use: first %.2f MiB, min %.2f MiB, max %.2f MiB, last %.2f MiB (%d samples)\n",
		mib(samples[0]), mib(lo), mib(hi), mib(samples[len(samples)-1]), len(samples))
	if len(pending) > 0 {
		return fmt.Errorf("%d outbox items left after the final drain", len(pending))
	}
	return nil
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }
