package brivo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
)

func inventoryOf(t *testing.T, p *Provider) acs.Inventory {
	t.Helper()
	inv, ok := any(p).(acs.Inventory)
	if !ok {
		t.Fatal("the provider does not implement acs.Inventory")
	}
	return inv
}

// holdings runs Holdings and returns what it delivered by external ID,
// failing on a repeat.
func holdings(t *testing.T, inv acs.Inventory) map[string]acs.Holding {
	t.Helper()
	out := map[string]acs.Holding{}
	err := inv.Holdings(t.Context(), func(h acs.Holding) error {
		if _, dup := out[h.Cardholder.ExternalID]; dup {
			return fmt.Errorf("%q delivered twice", h.Cardholder.ExternalID)
		}
		out[h.Cardholder.ExternalID] = h
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Holdings reads Brivo's state now: what an administrator changed behind
// the adapter's back shows, users without an external ID never do.
func TestInventoryReadsTheACS(t *testing.T) {
	e, clk := clockEnv(t)
	ctx := t.Context()
	lv := e.levels()
	now := clk.Now()
	p1, err := e.p.Provision(ctx, testGrant(1, now, lv[0]))
	if err != nil {
		t.Fatal(err)
	}
	p2, err := e.p.Provision(ctx, testGrant(2, now, lv[0], lv[1]))
	if err != nil {
		t.Fatal(err)
	}
	p3, err := e.p.Provision(ctx, testGrant(3, now, lv[1]))
	if err != nil {
		t.Fatal(err)
	}
	emp, err := e.sim.AddUser("Erin", "Employee", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.AddMember(mustID(lv[0]), emp); err != nil {
		t.Fatal(err)
	}
	// Behind the adapter's back.
	wider := now.Add(30 * 24 * time.Hour)
	if err := e.sim.SetCredentialWindow(mustID(p2.Credential.ID), now.Add(-time.Hour), wider); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.RemoveMember(mustID(lv[1]), mustID(p2.Cardholder.ID)); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetSuspended(mustID(p3.Cardholder.ID), true); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.DeleteCredential(mustID(p1.Credential.ID)); err != nil {
		t.Fatal(err)
	}
	got := holdings(t, inventoryOf(t, e.p))
	if len(got) != 3 {
		t.Fatalf("delivered %d holdings, want the 3 visitors: %+v", len(got), got)
	}
	if h := got["visit-1"]; len(h.Credentials) != 0 || h.Cardholder.ID != p1.Cardholder.ID || h.FirstName != "Ada" || h.LastName != "Visitor1" {
		t.Errorf("visitor 1 (credential deleted) %+v", h)
	}
	h2 := got["visit-2"]
	if len(h2.Credentials) != 1 {
		t.Fatalf("visitor 2 %+v", h2)
	}
	c := h2.Credentials[0]
	wantRef := acs.CredentialRef{ID: p2.Credential.ID, CardholderID: p2.Cardholder.ID, CardholderExternalID: "visit-2", Card: p2.Credential.Card}
	if c.Ref != wantRef || !c.Active || !slices.Equal(c.AccessLevels, []string{lv[0]}) ||
		!c.ValidFrom.Equal(now.Add(-time.Hour)) || !c.ValidUntil.Equal(wider) {
		t.Errorf("visitor 2 credential %+v, want ref %+v, active, levels [%s], window to %s", c, wantRef, lv[0], wider)
	}
	h3 := got["visit-3"]
	if len(h3.Credentials) != 1 || h3.Credentials[0].Active || h3.Credentials[0].OpensAt(now) {
		t.Errorf("suspended visitor 3 %+v", h3)
	}
}

// seedVisitors creates n marked users (external IDs inv-0000…), each with a
// card credential assigned for a day and one group, and m users without
// an external ID, straight in the simulator.
func seedVisitors(t testing.TB, sim *brivosim.Server, n, m int, now time.Time) {
	t.Helper()
	group := sim.Groups()[0].ID
	for i := range n + m {
		ext := ""
		if i < n {
			ext = fmt.Sprintf("inv-%04d", i)
		}
		// Interleave the last names so that marked and unmarked users
		// share pages.
		uid, err := sim.AddUser("Guest", fmt.Sprintf("L%05d", (i*7919)%(n+m)), ext)
		if err != nil {
			t.Fatal(err)
		}
		cid, err := sim.AddCredential(100, "", uint64(i/60000), uint64(i%60000))
		if err != nil {
			t.Fatal(err)
		}
		if err := sim.AssignCredential(uid, cid, now.Add(-time.Hour), now.Add(23*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := sim.AddMember(group, uid); err != nil {
			t.Fatal(err)
		}
	}
}

// Holdings pages through the users and reads each marked one's
// credentials and groups: one listing request per page (pages overlap a
// little), two per marked user, one for the format catalogue.
func TestInventoryPagesThroughEveryUser(t *testing.T) {
	e, clk := clockEnv(t)
	const n, m = 250, 40
	seedVisitors(t, e.sim, n, m, clk.Now())
	got := holdings(t, inventoryOf(t, e.p))
	if len(got) != n {
		t.Fatalf("delivered %d, want %d", len(got), n)
	}
	for ext, h := range got {
		if !strings.HasPrefix(ext, "inv-") || len(h.Credentials) != 1 || !h.Credentials[0].OpensAt(clk.Now()) {
			t.Fatalf("holding %+v", h)
		}
	}
	var pages, details, other int
	for _, c := range apiCalls(e.sim.Requests()) {
		switch {
		case strings.HasPrefix(c, "GET /users?"):
			pages++
		case strings.HasSuffix(c, "/credentials?offset=0&pageSize=100"), strings.HasSuffix(c, "/groups?offset=0&pageSize=100"):
			details++
		default:
			other++
		}
	}
	if pages != 4 || details != 2*n || other != 1 {
		t.Errorf("%d listing pages, %d detail requests, %d others; want 4, %d, 1 (formats)", pages, details, other, 2*n)
	}
}

// Users deleted while Holdings runs are left out or listed, never cause an
// error or a repeat, and never hide a user that remains: the pages
// overlap, and a user's details answered "missing" in any form are
// confirmed by asking for the user.
func TestInventoryWhileUsersAreDeleted(t *testing.T) {
	e, clk := clockEnv(t, brivosim.WithMissingStyle(brivosim.MissingBadRequest))
	const n = 300
	seedVisitors(t, e.sim, n, 0, clk.Now())
	// The users that sort first: deleting them shifts every page.
	var first []int64
	for i := range n {
		if (i*7919)%n < 8 {
			u, _ := e.sim.User(fmt.Sprintf("inv-%04d", i))
			first = append(first, u.ID)
		}
	}
	deleted := map[string]bool{}
	var once sync.Once
	seen := map[string]bool{}
	err := inventoryOf(t, e.p).Holdings(t.Context(), func(h acs.Holding) error {
		if seen[h.Cardholder.ExternalID] {
			return fmt.Errorf("%q delivered twice", h.Cardholder.ExternalID)
		}
		seen[h.Cardholder.ExternalID] = true
		once.Do(func() {
			for _, id := range first {
				if err := e.sim.DeleteUser(id); err != nil {
					t.Error(err)
				}
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		ext := fmt.Sprintf("inv-%04d", i)
		if _, ok := e.sim.User(ext); !ok {
			deleted[ext] = true
			continue
		}
		if !seen[ext] {
			t.Errorf("%s exists and was not delivered", ext)
		}
	}
	if len(deleted) != len(first) {
		t.Fatalf("%d deleted, want %d", len(deleted), len(first))
	}
}

// fn's error stops Holdings and is returned unchanged; a cancelled context
// is a Canceled error; a refused login is returned as is.
func TestInventoryStops(t *testing.T) {
	e, clk := clockEnv(t)
	seedVisitors(t, e.sim, 120, 0, clk.Now())
	inv := inventoryOf(t, e.p)
	stop := errors.New("stop")
	calls := 0
	if err := inv.Holdings(t.Context(), func(acs.Holding) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("fn failing: %v after %d calls", err, calls)
	}
	ctx, cancel := context.WithCancel(t.Context())
	calls = 0
	err := inv.Holdings(ctx, func(acs.Holding) error {
		calls++
		if calls == 3 {
			cancel()
		}
		return nil
	})
	if acs.CodeOf(err) != acs.Canceled || calls != 3 {
		t.Errorf("cancelled: %v after %d calls", err, calls)
	}
	e.sim.AddFault(brivosim.Fault{Method: "GET", Path: "/users/*/groups", Kind: brivosim.FaultStatus, Status: 403, Times: -1})
	if err := inv.Holdings(t.Context(), func(acs.Holding) error { return nil }); acs.CodeOf(err) != acs.Unauthenticated {
		t.Errorf("API key refused mid-way: %v", err)
	}
}
