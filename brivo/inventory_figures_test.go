package brivo

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
)

// The figures below are printed, never asserted: they depend on the
// machine (real time) or only restate the arithmetic of the rate limit
// (fake time).

const figureUsers = 10000

// countHoldings runs Holdings and returns how many users it delivered.
func countHoldings(ctx context.Context, inv acs.Inventory) (int, error) {
	n := 0
	err := inv.Holdings(ctx, func(acs.Holding) error { n++; return nil })
	return n, err
}

// BenchmarkInventory10k reads the inventory of 10,000 visitors from the
// simulator over loopback, each request delayed 20 ms, with the client
// rate limit off: the time is what the per-user concurrency allows. Run
// with: go test -run '^$' -bench Inventory10k -benchtime 1x ./brivo/
func BenchmarkInventory10k(b *testing.B) {
	for _, conc := range []int{8, 32} {
		b.Run("concurrency="+itoa(conc), func(b *testing.B) {
			e := newEnv(b, nil, WithInventoryConcurrency(conc))
			seedVisitors(b, e.sim, figureUsers, 0, time.Now())
			e.sim.SetLatency(20 * time.Millisecond)
			for b.Loop() {
				e.sim.ResetRequests()
				start := time.Now()
				n, err := countHoldings(b.Context(), e.p)
				if err != nil || n != figureUsers {
					b.Fatalf("%d holdings, %v", n, err)
				}
				reqs := len(e.sim.Requests())
				b.ReportMetric(float64(reqs), "requests/op")
				b.Logf("%d visitors, 20 ms a request, concurrency %d, no rate limit: %d requests in %s",
					n, conc, reqs, time.Since(start).Round(time.Millisecond))
			}
		})
	}
}

// handlerTransport serves requests with an http.Handler in the calling
// goroutine: no sockets, so that a synctest bubble's fake clock covers the
// whole exchange.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil {
		r.Body = http.NoBody // a server's request always has one
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// TestInventoryFiguresAtRateLimit prints how long the inventory of 10,000
// visitors takes within the client rate limit (the default 20 requests a
// second, and 50), with 20 ms a request, on synctest's fake clock. Set
// BRIVO_INVENTORY_FIGURES=1 and run with -v to see them.
func TestInventoryFiguresAtRateLimit(t *testing.T) {
	if os.Getenv("BRIVO_INVENTORY_FIGURES") == "" {
		t.Skip("set BRIVO_INVENTORY_FIGURES=1 to print the inventory figures")
	}
	for _, rps := range []float64{DefaultRateLimit, 50} {
		synctest.Test(t, func(t *testing.T) {
			sim := brivosim.New()
			seedVisitors(t, sim, figureUsers, 0, time.Now())
			sim.SetLatency(20 * time.Millisecond)
			p, err := New(simConfig("http://127.0.0.1"), WithHTTPClient(&http.Client{Transport: handlerTransport{sim}}),
				WithRateLimit(rps, int(rps)/2), WithRetry(3, time.Millisecond, 5*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			n, err := countHoldings(t.Context(), p)
			if err != nil || n != figureUsers {
				t.Fatalf("%d holdings, %v", n, err)
			}
			t.Logf("%d visitors, 20 ms a request, rate limit %.0f/s, concurrency %d: %d requests in %s (fake clock)",
				n, rps, DefaultInventoryConcurrency, len(sim.Requests()), time.Since(start).Round(time.Millisecond))
		})
	}
}
