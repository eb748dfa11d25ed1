// Command acsbench runs the SDK's load scenarios against the vendor
// simulators on loopback and prints their figures:
//
//	acsbench -scenario roundtrips            requests per operation, per provider, beside the protocol minimum
//	                                         (and HID Origo's own, in front of Genetec)
//	acsbench -scenario cpu                   client CPU per provision and revoke, adapter vs floor client
//	acsbench -scenario burst -provider brivo 1,000 provisions under a 50/s limit
//	acsbench -scenario latency               100 concurrent sign-ins, 20 ms per request
//	acsbench -scenario refresh               10,000 access levels, 20 ms per request
//	acsbench -scenario sweep -provider brivo 10,000 automatic sign-outs under a limit
//
// Every scenario prints the machine it ran on (CPUs, CPU model, Go
// version, load average) and its own figures; nothing is asserted. See
// BENCHMARKS.md at the repository root for the methods and the results.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/harness/bench"
)

func main() {
	bench.MaybeServeChild() // the refresh scenario runs its simulator as a child of this program
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "acsbench:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// config holds the flags.
type config struct {
	scenario    string
	provider    string
	n           int
	rate        int
	burst       int
	concurrency int
	latency     time.Duration
	levels      int
	workers     int
	batch       int
	store       string
	clientRate  float64
	short       bool
	progress    time.Duration
	engines     int
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	fs := flag.NewFlagSet("acsbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.scenario, "scenario", "", "roundtrips, cpu, burst, latency, refresh or sweep")
	fs.StringVar(&c.provider, "provider", "", strings.Join(bench.Providers, ", ")+" or all (default: brivo for burst and sweep, all otherwise; cpu: those with a floor client)")
	fs.IntVar(&c.n, "n", 0, "operations: rounds (cpu, default 20), provisions (burst, default 1000), sign-ins (latency, default 100), visits (sweep, default 10000)")
	fs.IntVar(&c.rate, "rate", 0, "simulator rate limit and client limit in requests/s (burst default 50, sweep default 200)")
	fs.IntVar(&c.burst, "burst", 1, "client rate limiter burst")
	fs.IntVar(&c.concurrency, "concurrency", 0, "concurrent callers (burst default 16; setup of sweep 8); refresh: requests in flight (default 8)")
	fs.DurationVar(&c.latency, "latency", -1, "latency added to every request (latency and refresh default 20ms)")
	fs.IntVar(&c.levels, "levels", 10000, "access levels the simulator holds (refresh, roundtrips)")
	fs.IntVar(&c.workers, "workers", 16, "outbox workers (sweep)")
	fs.IntVar(&c.batch, "batch", 500, "outbox batch (sweep)")
	fs.StringVar(&c.store, "store", "memory", "visit store: memory or sqlite (latency, sweep)")
	fs.Float64Var(&c.clientRate, "client-rate", 0, "client rate limit: for latency and refresh (default off); for burst and sweep (default -rate)")
	fs.IntVar(&c.engines, "engines", 1, "sweep: engines sharing the store and the vendor limit, each with its share (limit ÷ engines)")
	fs.BoolVar(&c.short, "short", false, "smaller runs (burst 100, sweep 1000 visits, refresh 1000 levels)")
	fs.DurationVar(&c.progress, "progress", 10*time.Second, "progress line interval on stderr (0: none)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	providers, err := c.providers()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# acsbench %s\n# machine: %s\n", strings.Join(args, " "), bench.Machine())
	p := &printer{w: stdout, progress: c.progress, stderr: stderr}
	switch c.scenario {
	case "roundtrips":
		err = roundTrips(ctx, p, c, providers)
		if err == nil && slices.Contains(providers, "genetec") {
			// HID Origo, a credential issuer, in front of one door ACS.
			err = issuerRoundTrips(ctx, p, "genetec")
		}
	case "cpu":
		err = each(providers, func(name string) error { return cpu(ctx, p, c, name) })
	case "burst":
		err = each(providers, func(name string) error { return burst(ctx, p, c, name) })
	case "latency":
		err = each(providers, func(name string) error { return latency(ctx, p, c, name) })
	case "refresh":
		err = each(providers, func(name string) error { return refresh(ctx, p, c, name) })
	case "sweep":
		err = each(providers, func(name string) error { return sweep(ctx, p, c, name) })
	default:
		return fmt.Errorf("%w: -scenario must be roundtrips, cpu, burst, latency, refresh or sweep", errUsage)
	}
	fmt.Fprintf(stdout, "# load average at the end: %s\n", bench.LoadAverage())
	return err
}

func (c config) providers() ([]string, error) {
	all := bench.Providers
	if c.scenario == "cpu" {
		all = bench.FloorProviders() // the comparison needs a floor client
	}
	switch c.provider {
	case "":
		if c.scenario == "burst" || c.scenario == "sweep" {
			return []string{bench.Brivo}, nil
		}
		return all, nil
	case "all":
		return all, nil
	}
	if slices.Contains(all, c.provider) {
		return []string{c.provider}, nil
	}
	return nil, fmt.Errorf("%w: -provider must be %s or all", errUsage, strings.Join(all, ", "))
}

func each(providers []string, fn func(string) error) error {
	var errs []error
	for _, p := range providers {
		if err := fn(p); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// orDefault returns v, or def when v is zero (or negative).
func orDefault[T int | float64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// printer writes results, and progress lines to stderr.
type printer struct {
	w        io.Writer
	stderr   io.Writer
	progress time.Duration
}

func (p *printer) f(format string, args ...any) { fmt.Fprintf(p.w, format, args...) }

// every calls line every progress interval until the returned stop is
// called, writing what it returns to stderr.
func (p *printer) every(line func() string) (stop func()) {
	if p.progress <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(p.progress)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintln(p.stderr, line())
			}
		}
	}()
	return func() { close(done); <-finished }
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
