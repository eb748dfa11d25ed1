// Command checkin-surge checks a conference's attendees in all at once
// against a Brivo account that allows 50 requests a second, and shows that
// the SDK uses the whole allowance without being refused: the adapter's
// rate limiter is set to the account's limit, so no request is answered
// with the gateway's 403 "Developer Over Qps".
//
// It runs against the Brivo simulator (brivosim) on loopback, limited like
// the account:
//
//	go run ./examples/checkin-surge               # 1,000 attendees, about 100 s
//	go run ./examples/checkin-surge -n 200 -desks 10
//
// Each check-in is a visitor.Engine sign-in that issues a card number from
// the event's range, so its credential is active at Brivo when the call
// returns (five Brivo requests). At the end it prints the throughput, the
// requests used, the share of the rate limit used and any over-limit
// answers. A progress bar is drawn when standard output is a terminal.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/brivo"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/wiegand"
)

// options are the command-line settings.
type options struct {
	attendees int // how many check in
	rate      int // the account's limit, requests a second
	desks     int // check-ins in progress at once
	progress  bool
}

func main() {
	var o options
	flag.IntVar(&o.attendees, "n", 1000, "attendees to check in")
	flag.IntVar(&o.rate, "rate", 50, "the account's rate limit, requests per second")
	flag.IntVar(&o.desks, "desks", 20, "check-ins in progress at once (kiosks and desks)")
	flag.Parse()
	if o.attendees < 1 || o.attendees > 60000 || o.rate < 1 || o.desks < 1 {
		fmt.Fprintln(os.Stderr, "checkin-surge: need 1 ≤ -n ≤ 60000, -rate ≥ 1 and -desks ≥ 1")
		os.Exit(2)
	}
	o.progress = isTerminal(os.Stdout)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "checkin-surge:", err)
		os.Exit(1)
	}
}

// isTerminal reports whether f is a character device (a terminal), without
// any dependency.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// result is what a surge measured.
type result struct {
	checkedIn, failed, pending int64
	elapsed                    time.Duration
	requests                   int // API requests that reached Brivo, refused ones included
	overLimit                  int // of those, answered 403 "Developer Over Qps"
}

func run(ctx context.Context, o options, out io.Writer) error {
	// The account: a simulated Brivo whose gateway refuses more than
	// o.rate API requests in any second.
	sim := brivosim.New(brivosim.WithRateLimit(o.rate))
	srv := httptest.NewServer(sim)
	defer srv.Close()
	creds := brivosim.DefaultCredentials()
	acsys, err := brivo.New(brivo.Config{
		BaseURL: srv.URL + brivosim.APIPrefix, AuthURL: srv.URL,
		ClientID: creds.ClientID, ClientSecret: creds.ClientSecret, APIKey: creds.APIKey,
		Username: creds.Username, Password: creds.Password,
	}, brivo.WithRateLimit(float64(o.rate), 1)) // the account's limit, no burst above it
	if err != nil {
		return err
	}
	lobby := brivosim.DefaultGroups()[0].GroupID()

	// The event: one location whose attendees get the lobby for the day,
	// with card numbers (QR codes) from a range.
	engine, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{
		ID:       "conference",
		Provider: acsys,
		Policy: visitor.Policy{
			Types:          map[string]visitor.VisitorType{"attendee": {AccessLevels: []string{lobby}, AccessDuration: 10 * time.Hour}},
			DefaultType:    "attendee",
			OperatorGroups: map[string][]string{"registration": {lobby}},
			AutoSignOut:    12 * time.Hour,
		},
	}})
	if err != nil {
		return err
	}
	cards, err := engine.Allocator("conference")
	if err != nil {
		return err
	}
	if err := cards.SetRange(ctx, badge.Range{Format: wiegand.H10301, Facility: 42, Min: 1, Max: uint64(o.attendees)}); err != nil {
		return err
	}

	fmt.Fprintf(out, "checking in %d attendees at %d desks; Brivo allows %d requests/s\n", o.attendees, o.desks, o.rate)
	res := surge(ctx, engine, o, out)
	res.requests, res.overLimit = apiRequests(sim)

	allowed := res.elapsed.Seconds() * float64(o.rate)
	served := res.requests - res.overLimit // the refused ones did nothing
	fmt.Fprintf(out, "checked in           %d of %d (failed %d, credential pending %d)\n", res.checkedIn, o.attendees, res.failed, res.pending)
	fmt.Fprintf(out, "elapsed              %.1f s\n", res.elapsed.Seconds())
	fmt.Fprintf(out, "throughput           %.2f check-ins/s\n", float64(res.checkedIn)/res.elapsed.Seconds())
	fmt.Fprintf(out, "requests used        %d (%.2f per check-in)\n", served, float64(served)/float64(max(res.checkedIn, 1)))
	fmt.Fprintf(out, "rate limit used      %.1f%% (%d of %.0f requests allowed in %.1f s)\n",
		100*float64(served)/allowed, served, allowed, res.elapsed.Seconds())
	fmt.Fprintf(out, "over-limit answers   %d\n", res.overLimit)
	return nil
}

// surge checks every attendee in, o.desks at a time.
func surge(ctx context.Context, engine *visitor.Engine, o options, out io.Writer) result {
	var checkedIn, failed, pending, done atomic.Int64
	desk := visitor.Operator{ID: "registration", Groups: []string{"registration"}}
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range o.desks {
		wg.Go(func() {
			for i := range next {
				v, err := engine.SignIn(ctx, desk, visitor.SignInRequest{
					VisitID: fmt.Sprintf("attendee-%05d", i), Location: "conference",
					Visitor:   visitor.Visitor{FirstName: "Attendee", LastName: fmt.Sprintf("No. %d", i)},
					Provision: &visitor.ProvisionRequest{FromRange: true},
				})
				switch {
				case err != nil:
					failed.Add(1)
				case v.Current() == nil || v.Current().Status != visitor.CredActive:
					pending.Add(1) // queued in the outbox for a retry
				default:
					checkedIn.Add(1)
				}
				done.Add(1)
			}
		})
	}
	stopBar := func() {}
	if o.progress {
		stopBar = progressBar(out, o.attendees, &done, start)
	}
	for i := 1; i <= o.attendees && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	stopBar()
	return result{checkedIn: checkedIn.Load(), failed: failed.Load(), pending: pending.Load(), elapsed: elapsed}
}

// progressBar redraws "[#####.....] 420/1000 41.9/s" on one line five
// times a second until the returned function is called.
func progressBar(out io.Writer, total int, done *atomic.Int64, start time.Time) (stop func()) {
	const width = 40
	draw := func() {
		n := int(done.Load())
		filled := width * n / total
		rate := float64(n) / max(time.Since(start).Seconds(), 1e-9)
		fmt.Fprintf(out, "\r[%s%s] %d/%d  %.1f check-ins/s ", strings.Repeat("#", filled), strings.Repeat(".", width-filled), n, total, rate)
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				draw()
				fmt.Fprintln(out)
				return
			case <-t.C:
				draw()
			}
		}
	}()
	return func() { close(quit); <-finished }
}

// apiRequests counts the requests that reached the Brivo API (the OAuth
// token requests go to the auth server, which the gateway does not
// limit) and those answered over the limit.
func apiRequests(sim *brivosim.Server) (requests, overLimit int) {
	for _, r := range sim.Requests() {
		if strings.HasPrefix(r.Path, brivosim.APIPrefix) {
			requests++
		}
	}
	return requests, sim.Throttled()
}
