package brivo

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/brivo/brivosim"
)

// TestCatalogueOnceForConcurrentFirstProvisions: 16 first provisions at
// the same moment share one token request, one group listing and one
// credential-format listing.
func TestCatalogueOnceForConcurrentFirstProvisions(t *testing.T) {
	e, clk := clockEnv(t)
	level := e.levels()[0]
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := e.p.Provision(context.Background(), testGrant(i+1, clk.Now(), level)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	counts := map[string]int{}
	for _, r := range e.sim.Requests() {
		switch p := strings.TrimPrefix(r.Path, brivosim.APIPrefix); {
		case p == brivosim.TokenPath, p == "/groups", p == "/credentials/formats":
			counts[p]++
		}
	}
	for _, p := range []string{brivosim.TokenPath, "/groups", "/credentials/formats"} {
		if counts[p] != 1 {
			t.Errorf("%s requested %d times by %d first provisions, want once", p, counts[p], n)
		}
	}
	// Within the cache TTL nothing is listed again; after it, once more.
	e.sim.ResetRequests()
	clk.Advance(DefaultCacheTTL + time.Second)
	if _, err := e.p.Provision(context.Background(), testGrant(100, clk.Now(), level)); err != nil {
		t.Fatal(err)
	}
	counts = map[string]int{}
	for _, r := range e.sim.Requests() {
		counts[strings.TrimPrefix(r.Path, brivosim.APIPrefix)]++
	}
	if counts["/groups"] != 1 || counts["/credentials/formats"] != 1 {
		t.Fatalf("after the TTL: %d group and %d format listings, want 1 and 1", counts["/groups"], counts["/credentials/formats"])
	}
}
