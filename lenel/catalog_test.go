package lenel

import (
	"context"
	"sync"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
)

// TestCatalogueOnceForConcurrentFirstProvisions: 16 first provisions at
// the same moment share one login, one badge-status listing, one read of
// /settings/visit and one check of the access level.
func TestCatalogueOnceForConcurrentFirstProvisions(t *testing.T) {
	e := newEnv(t, envOpts{})
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
	reqs := e.requests()
	for _, c := range []struct {
		method, path, typeName string
	}{
		{"POST", "/authentication", ""},
		{"GET", "/instances", "Lnl_BadgeStatus"},
		{"GET", "/settings/visit", ""},
		{"GET", "/instances", "Lnl_AccessLevel"},
	} {
		if got := count(reqs, c.method, c.path, c.typeName); got != 1 {
			t.Errorf("%s %s %s: %d requests by %d first provisions, want 1", c.method, c.path, c.typeName, got, n)
		}
	}
}

// TestLevelCheckedAgainAfterRefusal: a level confirmed and then deleted
// at the ACS is refused at the assignment; the next provision checks it
// again and refuses it before writing anything.
func TestLevelCheckedAgainAfterRefusal(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	if _, err := e.p.Provision(ctx, e.grant(1, "2")); err != nil {
		t.Fatal(err)
	}
	e.sim.RemoveAccessLevel(2)
	if _, err := e.p.Provision(ctx, e.grant(2, "2")); err == nil {
		t.Fatal("a deleted level was assigned")
	}
	e.sim.ResetRequests()
	_, err := e.p.Provision(ctx, e.grant(3, "2"))
	if acs.CodeOf(err) != acs.NotFound {
		t.Fatalf("err %v, want NotFound", err)
	}
	if n := count(e.requests(), "GET", "/instances", "Lnl_AccessLevel"); n != 1 {
		t.Fatalf("level checked %d times, want once", n)
	}
	for _, r := range e.requests() {
		if r.Method != "GET" {
			t.Fatalf("%s %s sent for an unknown level", r.Method, r.Path)
		}
	}
}
