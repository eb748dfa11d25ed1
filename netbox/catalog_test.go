package netbox

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestCatalogueOnceForConcurrentFirstProvisions: 16 first provisions at
// the same moment share one Login, one access-level listing and one
// card-format listing; after the cache TTL the catalogues are read once
// more.
func TestCatalogueOnceForConcurrentFirstProvisions(t *testing.T) {
	e := newEnv(t, envOpts{})
	commands := []string{"Login", "GetAccessLevels", "GetCardFormats"}
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := e.p.Provision(context.Background(), e.grant(i+1)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, c := range commands {
		if got := count(e.sim.Requests(), c); got != 1 {
			t.Errorf("%s sent %d times by %d first provisions, want once", c, got, n)
		}
	}
	// Within the cache TTL nothing is read again; after it, once more.
	e.sim.ResetRequests()
	if _, err := e.p.Provision(context.Background(), e.grant(100)); err != nil {
		t.Fatal(err)
	}
	for _, c := range commands[1:] {
		if got := count(e.sim.Requests(), c); got != 0 {
			t.Errorf("within the TTL: %s sent %d times, want none", c, got)
		}
	}
	e.sim.ResetRequests()
	e.clock.Advance(DefaultCacheTTL + time.Second)
	if _, err := e.p.Provision(context.Background(), e.grant(101)); err != nil {
		t.Fatal(err)
	}
	for _, c := range commands[1:] {
		if got := count(e.sim.Requests(), c); got != 1 {
			t.Errorf("after the TTL: %s sent %d times, want once", c, got)
		}
	}
}
