package alta

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/alta/altasim"
)

// TestCatalogueOnceForConcurrentFirstProvisions: 16 first provisions at
// the same moment share one login, one group listing, one credential-type
// listing and one card-format listing; after the cache TTL the catalogues
// are listed once more.
func TestCatalogueOnceForConcurrentFirstProvisions(t *testing.T) {
	e := newEnv(t, nil)
	level := e.levels()[0]
	prefix := "/orgs/" + idSegment(int64(altasim.OrgID))
	catalogues := []string{"/groups", "/credentialTypes", "/cardFormats"}
	count := func() map[string]int {
		counts := map[string]int{}
		for _, r := range e.sim.Requests() {
			if r.Method != "GET" && r.Path != altasim.LoginPath {
				continue
			}
			counts[strings.TrimPrefix(r.Path, prefix)]++
		}
		return counts
	}
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := e.p.Provision(context.Background(), testGrant(i+1, e.clk.Now(), level)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	counts := count()
	for _, p := range append([]string{altasim.LoginPath}, catalogues...) {
		if counts[p] != 1 {
			t.Errorf("%s requested %d times by %d first provisions, want once", p, counts[p], n)
		}
	}
	// Within the cache TTL nothing is listed again; after it, once more.
	e.sim.ResetRequests()
	if _, err := e.p.Provision(context.Background(), testGrant(100, e.clk.Now(), level)); err != nil {
		t.Fatal(err)
	}
	for _, p := range catalogues {
		if c := count()[p]; c != 0 {
			t.Errorf("within the TTL: %s requested %d times, want none", p, c)
		}
	}
	e.sim.ResetRequests()
	e.clk.Advance(DefaultCacheTTL + time.Second)
	if _, err := e.p.Provision(context.Background(), testGrant(101, e.clk.Now(), level)); err != nil {
		t.Fatal(err)
	}
	counts = count()
	for _, p := range catalogues {
		if counts[p] != 1 {
			t.Errorf("after the TTL: %s requested %d times, want once", p, counts[p])
		}
	}
}
