package genetec_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/wiegand"
)

// holdings collects every holding by external ID and fails on a
// cardholder delivered twice.
func holdings(t testing.TB, p *genetec.Provider) map[string]acs.Holding {
	t.Helper()
	out := map[string]acs.Holding{}
	err := p.Holdings(context.Background(), func(h acs.Holding) error {
		if _, dup := out[h.Cardholder.ID]; dup {
			return fmt.Errorf("cardholder %s delivered twice", h.Cardholder.ID)
		}
		out[h.Cardholder.ID] = h
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	byExt := map[string]acs.Holding{}
	for _, h := range out {
		byExt[h.Cardholder.ExternalID] = h
	}
	return byExt
}

func TestHoldingsAsHeld(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	g1 := grant(1, genetecsim.SeedLobbyGroup, genetecsim.SeedFloor3Group)
	p1, err := e.p.Provision(ctx, g1)
	if err != nil {
		t.Fatal(err)
	}
	g2 := grant(2)
	if _, err := e.p.Provision(ctx, g2); err != nil {
		t.Fatal(err)
	}
	g2.Card.Number = 2002 // a replaced badge: a second credential
	if _, err := e.p.Provision(ctx, g2); err != nil {
		t.Fatal(err)
	}
	g3 := grant(3)
	p3, err := e.p.Provision(ctx, g3)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.p.Revoke(ctx, p3.Credential); err != nil {
		t.Fatal(err)
	}
	staff := e.sim.AddCardholder("Staff Member", "Staff", "Member", genetecsim.SeedLobbyGroup)
	if _, ok := e.sim.AddCredential("Staff badge", wiegand.H10301, 42, 7, "Active", staff, time.Time{}, time.Time{}); !ok {
		t.Fatal("seeding staff failed")
	}
	e.sim.AddCardholder("Bracket [not a key", "Bracket", "Name")
	orphan := e.sim.AddCardholder("Left Over [visit-9]", "Left", "Over")
	if _, ok := e.sim.AddCredential("H10301 42/1009", wiegand.H10301, 42, 1009, "Active", orphan, t0.Add(-time.Hour), t0.Add(time.Hour)); !ok {
		t.Fatal("seeding the orphan failed")
	}

	got := holdings(t, e.p)
	if keys := sortedKeys(got); !slices.Equal(keys, []string{"visit-1", "visit-2", "visit-3", "visit-9"}) {
		t.Fatalf("delivered %v", keys)
	}
	h1 := got["visit-1"]
	if h1.Cardholder != p1.Cardholder || h1.FirstName != "Ada" || h1.LastName != "Lovelace" || len(h1.Credentials) != 1 {
		t.Fatalf("visit-1: %+v", h1)
	}
	c := h1.Credentials[0]
	if c.Ref != p1.Credential || !c.Active || !c.ValidFrom.Equal(g1.ValidFrom) || !c.ValidUntil.Equal(g1.ValidUntil) ||
		!sameSet(c.AccessLevels, g1.AccessLevels) || !c.OpensAt(t0) {
		t.Fatalf("visit-1 credential: %+v", c)
	}
	if n := len(got["visit-2"].Credentials); n != 2 {
		t.Fatalf("visit-2 has %d credentials, want 2", n)
	}
	if h3 := got["visit-3"]; h3.Credentials == nil || len(h3.Credentials) != 0 {
		t.Fatalf("visit-3 (revoked): %+v", h3)
	}
	o := got["visit-9"].Credentials
	if len(o) != 1 || o[0].Ref.Card != (acs.Card{Format: acs.H10301, Facility: 42, Number: 1009}) || len(o[0].AccessLevels) != 0 ||
		!o[0].Active || !o[0].ValidUntil.Equal(t0.Add(time.Hour)) || o[0].OpensAt(t0) {
		t.Fatalf("orphan: %+v", o)
	}
}

// TestHoldingsSeeDrift changes, behind the adapter's back, what a
// provisioned visitor holds, and checks that Holdings reports it.
func TestHoldingsSeeDrift(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	g := grant(1)
	p, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	cred := func() acs.HeldCredential {
		t.Helper()
		cs := holdings(t, e.p)["visit-1"].Credentials
		if len(cs) != 1 {
			t.Fatalf("credentials %+v", cs)
		}
		return cs[0]
	}
	later := g.ValidUntil.Add(24 * time.Hour)
	// The credential's window alone does not widen what is enforced.
	if !e.sim.SetWindow(p.Credential.ID, g.ValidFrom, later) {
		t.Fatal("SetWindow")
	}
	if c := cred(); !c.ValidUntil.Equal(g.ValidUntil) {
		t.Fatalf("window %v, want the cardholder's %v", c.ValidUntil, g.ValidUntil)
	}
	if !e.sim.SetWindow(p.Cardholder.ID, g.ValidFrom, later) {
		t.Fatal("SetWindow")
	}
	if c := cred(); !c.ValidUntil.Equal(later) || !c.OpensAt(later.Add(-time.Minute)) {
		t.Fatalf("widened window not seen: %+v", c)
	}
	if !e.sim.SetGroups(p.Cardholder.ID, genetecsim.SeedFloor3Group) {
		t.Fatal("SetGroups")
	}
	if c := cred(); !slices.Equal(c.AccessLevels, []string{genetecsim.SeedFloor3Group}) {
		t.Fatalf("levels %v", c.AccessLevels)
	}
	for _, id := range []string{p.Credential.ID, p.Cardholder.ID} {
		if !e.sim.SetState(id, "Inactive") {
			t.Fatal("SetState")
		}
		if c := cred(); c.Active || c.OpensAt(t0) {
			t.Fatalf("%s inactive, credential listed active: %+v", id, c)
		}
		e.sim.SetState(id, "Active")
	}
	if !e.sim.DeleteCredential(p.Credential.ID) {
		t.Fatal("DeleteCredential")
	}
	if cs := holdings(t, e.p)["visit-1"].Credentials; len(cs) != 0 {
		t.Fatalf("deleted credential listed: %+v", cs)
	}
}

// seedVisitors stores n marked cardholders, each with one active
// credential for the lobby, and m unmarked ones, as an administrator
// would, without a request.
func seedVisitors(t testing.TB, sim *genetecsim.Server, n, m int) {
	t.Helper()
	for i := range n {
		ch := sim.AddCardholder(fmt.Sprintf("Visitor %d [seed-%d]", i, i), "Visitor", fmt.Sprint(i), genetecsim.SeedLobbyGroup)
		sim.SetWindow(ch, t0.Add(-time.Hour), t0.Add(time.Hour))
		card := uint64(i)
		if _, ok := sim.AddCredential(fmt.Sprintf("H10301 %d/%d", 100+card>>16, card&0xffff), wiegand.H10301, 100+card>>16, card&0xffff, "Active", ch, t0.Add(-time.Hour), t0.Add(time.Hour)); !ok {
			t.Fatalf("seeding visitor %d failed", i)
		}
	}
	for i := range m {
		sim.AddCardholder(fmt.Sprintf("Employee %d", i), "Employee", fmt.Sprint(i))
	}
}

func TestHoldingsPaging(t *testing.T) {
	e := newEnv(t, nil, genetec.WithPageSize(7))
	seedVisitors(t, e.sim, 60, 15)
	e.sim.ResetRequests()
	got := holdings(t, e.p)
	if len(got) != 60 {
		t.Fatalf("%d holdings, want 60", len(got))
	}
	for ext, h := range got {
		if len(h.Credentials) != 1 || !h.Credentials[0].OpensAt(t0) {
			t.Fatalf("%s: %+v", ext, h)
		}
	}
	pages := 0
	for _, r := range e.sim.Requests() {
		if r.Path == "report/EntityConfiguration" {
			pages++
			if !strings.HasPrefix(r.Q, "EntityTypes@Cardholder,Page=") {
				t.Fatalf("listing %q", r.Q)
			}
		}
	}
	// 75 cardholders, 7 a page: pages 1 to 10 are full, page 11 holds 5.
	if pages != 11 {
		t.Fatalf("%d listing requests, want 11", pages)
	}
	t.Logf("60 visitors and 15 employees, 7 a page: %d requests", len(e.sim.Requests()))
}

// TestHoldingsFullLastPage: a server that does not add the extra entity
// announcing a further page is still read to the end.
func TestHoldingsFullLastPage(t *testing.T) {
	e := newEnv(t, nil, genetec.WithPageSize(5))
	seedVisitors(t, e.sim, 10, 0)
	// The answers to pages 1 and 2 hold exactly 5 entities, no extra.
	ids := make([]string, 0, 10)
	for _, c := range e.sim.Cardholders() {
		ids = append(ids, c.GUID)
	}
	for _, page := range [][]string{ids[:5], ids[5:]} {
		body := `{"Rsp":{"Status":"Ok","Result":[`
		for i, id := range page {
			if i > 0 {
				body += ","
			}
			body += `{"Guid":"` + id + `"}`
		}
		e.sim.Inject(genetecsim.Fault{Path: "report/", Status: 200, Body: body + `]}}`, ContentType: "text/json"})
	}
	if got := holdings(t, e.p); len(got) != 10 {
		t.Fatalf("%d holdings, want 10", len(got))
	}
}

func TestHoldingsStops(t *testing.T) {
	e := newEnv(t, nil, genetec.WithPageSize(10))
	seedVisitors(t, e.sim, 100, 0)
	stop := errors.New("stop")
	calls := 0
	err := e.p.Holdings(context.Background(), func(acs.Holding) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Fatalf("got %v after %d calls, want fn's error after 1", err, calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls = 0
	err = e.p.Holdings(ctx, func(acs.Holding) error { calls++; cancel(); return nil })
	if acs.CodeOf(err) != acs.Canceled || calls != 1 {
		t.Fatalf("got %v after %d calls, want Canceled after 1", err, calls)
	}
	for _, f := range []genetecsim.Fault{
		{Method: "GET", Path: "report/", Status: 500, Times: 100},
		{Method: "GET", Path: "entity", Status: 500, Times: 1000},
	} {
		e.sim.ClearFaults()
		e.sim.Inject(f)
		err = e.p.Holdings(context.Background(), func(acs.Holding) error { return nil })
		var ae *acs.Error
		if !errors.As(err, &ae) || ae.Code != acs.Unavailable || ae.Provider != genetec.Name {
			t.Fatalf("%s failing: got %v, want an Unavailable *acs.Error", f.Path, err)
		}
	}
}

// TestHoldingsVanished: a cardholder listed and deleted before it is read
// is left out, whichever way the server answers the read.
func TestHoldingsVanished(t *testing.T) {
	eachMissingMode(t, func(t *testing.T, e *env) {
		p, err := e.p.Provision(context.Background(), grant(1))
		if err != nil {
			t.Fatal(err)
		}
		ghostSearch(e, p.Cardholder.ID)
		got := holdings(t, e.p)
		if len(got) != 1 || got["visit-1"].Cardholder != p.Cardholder {
			t.Fatalf("holdings %+v", got)
		}
	})
}

// concurrency records how many requests the simulator handles at once.
type concurrency struct {
	mu       sync.Mutex
	now, max int
}

func (c *concurrency) sleep(ctx context.Context, _ time.Duration) error {
	c.mu.Lock()
	c.now++
	c.max = max(c.max, c.now)
	c.mu.Unlock()
	for range 20 {
		runtime.Gosched()
	}
	c.mu.Lock()
	c.now--
	c.mu.Unlock()
	return ctx.Err()
}

func TestHoldingsBoundedConcurrency(t *testing.T) {
	var c concurrency
	e := newEnv(t, []genetecsim.Option{genetecsim.WithSleep(c.sleep), genetecsim.WithLatency(time.Millisecond)}, genetec.WithPageSize(25))
	seedVisitors(t, e.sim, 400, 0)
	if got := holdings(t, e.p); len(got) != 400 {
		t.Fatalf("%d holdings", len(got))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Eight readers and the listing.
	if c.max > 9 {
		t.Fatalf("%d requests at once, want at most 9", c.max)
	}
	t.Logf("at most %d requests at once", c.max)
}

// BenchmarkHoldings10k measures an inventory of 10,000 visitor
// cardholders (one credential each) with 20 ms of latency on every
// request, and prints the requests and the wall time it took.
func BenchmarkHoldings10k(b *testing.B) {
	e := newEnv(b, []genetecsim.Option{genetecsim.WithLatency(20 * time.Millisecond)}, genetec.WithLogger(nil))
	seedVisitors(b, e.sim, 10000, 0)
	e.sim.ResetRequests()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		n := 0
		if err := e.p.Holdings(context.Background(), func(acs.Holding) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		reqs := len(e.sim.Requests())
		e.sim.ResetRequests()
		load, _ := os.ReadFile("/proc/loadavg")
		b.Logf("inventory of %d cardholders, 20 ms a request: %d requests, %s wall time (load average %s)",
			n, reqs, elapsed.Round(time.Millisecond), strings.TrimSpace(string(load)))
		b.ReportMetric(float64(reqs), "requests/op")
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
