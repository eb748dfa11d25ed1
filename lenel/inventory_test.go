package lenel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
)

// holdings collects Holdings by external ID, failing on a duplicate.
func holdings(t testing.TB, p *Provider) map[string]acs.Holding {
	t.Helper()
	out := map[string]acs.Holding{}
	err := p.Holdings(context.Background(), func(h acs.Holding) error {
		if _, dup := out[h.Cardholder.ExternalID]; dup {
			return fmt.Errorf("%s delivered twice", h.Cardholder.ExternalID)
		}
		out[h.Cardholder.ExternalID] = h
		return nil
	})
	if err != nil {
		t.Fatalf("holdings: %v", err)
	}
	return out
}

func TestHoldingsReadTheACS(t *testing.T) {
	e := newEnv(t, envOpts{opts: []Option{kitCards}})
	ctx := t.Context()
	now := e.clock.Now()
	g1, p1 := provisioned(t, e, 1)
	_, p2 := provisioned(t, e, 2)
	noError(t, "revoke", e.p.Revoke(ctx, p2.Credential))
	_, p3 := provisioned(t, e, 3)
	noError(t, "remove", e.p.RemoveCardholder(ctx, p3.Cardholder))
	// Not marked: a person without the external ID, and one whose value
	// is not an external ID.
	for _, props := range []map[string]any{{"LASTNAME": "Employee"}, {"LASTNAME": "Odd", "SSNO": "123 45 6789"}} {
		id, err := e.sim.AddInstance(Visitor, props)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.sim.AddInstance("Lnl_Badge", map[string]any{"ID": 9000 + id["ID"], "PERSONID": id["ID"], "TYPE": 1, "STATUS": 1}); err != nil {
			t.Fatal(err)
		}
	}
	got := holdings(t, e.p)
	if len(got) != 2 {
		t.Fatalf("%d holdings, want visit-1 and visit-2: %v", len(got), got)
	}
	h := got["visit-1"]
	want := acs.HeldCredential{Ref: p1.Credential, Active: true, AccessLevels: []string{"1", "2"}, ValidFrom: g1.ValidFrom.Truncate(time.Second), ValidUntil: g1.ValidUntil.Truncate(time.Second)}
	if h.Cardholder != p1.Cardholder || h.FirstName != "Ada" || h.LastName != g1.Person.LastName || len(h.Credentials) != 1 || !sameHeld(h.Credentials[0], want) {
		t.Errorf("visit-1: %+v, want credential %+v", h, want)
	}
	if c := got["visit-2"].Credentials; len(c) != 1 || c[0].Active || c[0].OpensAt(now) {
		t.Errorf("revoked visit-2 listed as %+v", c)
	}
	// An administrator's changes show at once: no cache.
	later := now.Add(5 * time.Hour)
	if err := e.sim.SetBadgeWindow(p1.Credential.ID, now, later); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetBadgeLevels(p1.Credential.ID, "2"); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetBadgeStatus(p2.Credential.ID, "Active"); err != nil {
		t.Fatal(err)
	}
	got = holdings(t, e.p)
	c := got["visit-1"].Credentials[0]
	if !c.ValidUntil.Equal(later.Truncate(time.Second)) || !slices.Equal(c.AccessLevels, []string{"2"}) || !got["visit-2"].Credentials[0].Active {
		t.Errorf("after the administrator's changes: %+v and %+v", c, got["visit-2"].Credentials[0])
	}
	e.sim.DeleteBadge(p1.Credential.ID)
	if c := holdings(t, e.p)["visit-1"].Credentials; len(c) != 0 {
		t.Errorf("deleted badge still listed: %+v", c)
	}
}

func sameHeld(a, b acs.HeldCredential) bool {
	return a.Ref == b.Ref && a.Active == b.Active && slices.Equal(a.AccessLevels, b.AccessLevels) &&
		a.ValidFrom.Equal(b.ValidFrom) && a.ValidUntil.Equal(b.ValidUntil)
}

func TestHoldingsWindowIsWhereDoorsOpen(t *testing.T) {
	e := newEnv(t, envOpts{})
	t0 := e.clock.Now().Truncate(time.Second)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	id, _ := e.sim.AddInstance(Visitor, map[string]any{"LASTNAME": "W", "SSNO": "visit-w"})
	b, _ := e.sim.AddInstance("Lnl_Badge", map[string]any{"ID": 77, "PERSONID": id["ID"], "TYPE": 2, "STATUS": 1, "ACTIVATE": at(0), "DEACTIVATE": at(10)})
	for l, w := range map[int64][2]time.Time{1: {at(2), at(4)}, 2: {at(3), at(6)}} {
		if _, err := e.sim.AddInstance("Lnl_AccessLevelAssignment", map[string]any{"ACCESSLEVELID": l, "BADGEKEY": b["BADGEKEY"], "ACTIVATE": w[0], "DEACTIVATE": w[1]}); err != nil {
			t.Fatal(err)
		}
	}
	c := holdings(t, e.p)["visit-w"].Credentials
	if len(c) != 1 || !c[0].ValidFrom.Equal(at(2)) || !c[0].ValidUntil.Equal(at(6)) || c[0].Ref.Card != (acs.Card{}) {
		t.Errorf("credential %+v, want the window 2h–6h (the assignments' span inside the badge's) and no card without a card function", c)
	}
	for h := 0; h <= 10; h++ {
		if opens := e.sim.Opens(strconv.FormatInt(b["BADGEKEY"], 10), "1", at(h)) || e.sim.Opens(strconv.FormatInt(b["BADGEKEY"], 10), "2", at(h)); opens && !c[0].OpensAt(at(h)) {
			t.Errorf("the badge opens at %dh but the holding says it does not", h)
		}
	}
}

// seedVisitors adds n marked visitors directly, each with one badge on
// levels 1 and 2 (every tenth with a second badge on level 1).
func seedVisitors(t testing.TB, sim *lenelsim.Server, n int, from, until time.Time) {
	t.Helper()
	add := func(typeName string, props map[string]any) map[string]int64 {
		k, err := sim.AddInstance(typeName, props)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	for i := range n {
		pid := add(Visitor, map[string]any{"LASTNAME": "Visitor" + strconv.Itoa(i), "SSNO": "visit-" + strconv.Itoa(i)})["ID"]
		badges := 1
		if i%10 == 0 {
			badges = 2
		}
		for j := range badges {
			bk := add("Lnl_Badge", map[string]any{"ID": 100000 + 2*i + j, "PERSONID": pid, "TYPE": 2, "STATUS": 1, "ACTIVATE": from, "DEACTIVATE": until})["BADGEKEY"]
			for l := int64(1); l <= int64(2-j); l++ {
				add("Lnl_AccessLevelAssignment", map[string]any{"ACCESSLEVELID": l, "BADGEKEY": bk, "ACTIVATE": from, "DEACTIVATE": until})
			}
		}
	}
}

func TestHoldingsPagesBatchesAndBoundsRequests(t *testing.T) {
	e := newEnv(t, envOpts{})
	// Count the requests in flight at the server.
	var inflight, peak atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		defer inflight.Add(-1)
		e.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := e.cfg
	cfg.BaseURL = srv.URL + lenelsim.BasePath
	p, err := New(cfg, WithClock(e.clock.Now), WithKeepAlive(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	const n = 450
	now := e.clock.Now()
	seedVisitors(t, e.sim, n, now.Add(-time.Hour), now.Add(time.Hour))
	if err := p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	got := holdings(t, p)
	if len(got) != n {
		t.Fatalf("%d holdings, want %d", len(got), n)
	}
	for i := range n {
		h := got["visit-"+strconv.Itoa(i)]
		want := 1
		if i%10 == 0 {
			want = 2
		}
		if len(h.Credentials) != want || !slices.Equal(h.Credentials[0].AccessLevels, []string{"1", "2"}) || !h.Credentials[0].OpensAt(now) {
			t.Fatalf("visit-%d: %+v", i, h)
		}
	}
	reqs := e.requests()
	for _, r := range reqs {
		if size, _ := strconv.Atoi(r.Query.Get("page_size")); size > 100 {
			t.Errorf("page size %d", size)
		}
		if f := url.QueryEscape(r.Query.Get("filter")); len(f) > maxFilterLen {
			t.Errorf("filter of %d bytes encoded", len(f))
		}
		if r.Status != 200 {
			t.Errorf("%s answered %d", shape(r), r.Status)
		}
	}
	// The status list, 5 pages of people, and filters as full as
	// maxFilterLen allows: 495 badges in pages of 100 and 945 assignments
	// in pages of 100, each filter adding at most one page.
	people := 1 + n*termLen("PERSONID", n)/maxFilterLen
	badges := 1 + 495*termLen("BADGEKEY", 495)/maxFilterLen
	if max := 1 + 5 + (5 + people) + (10 + badges); len(reqs) > max {
		t.Errorf("%d requests, want at most %d", len(reqs), max)
	}
	if p := peak.Load(); p > inventoryWorkers {
		t.Errorf("%d requests in flight at once, want at most %d", p, inventoryWorkers)
	}
	t.Logf("%d holdings in %d requests, %d in flight at most", n, len(reqs), peak.Load())
}

func TestHoldingsStopsOnFailure(t *testing.T) {
	e := newEnv(t, envOpts{opts: []Option{WithRetry(-1, 0, 0)}})
	now := e.clock.Now()
	seedVisitors(t, e.sim, 250, now, now.Add(time.Hour))
	e.sim.AddFault(lenelsim.Fault{Method: "GET", TypeName: "Lnl_AccessLevelAssignment", Skip: 1, Status: 503})
	calls := 0
	err := e.p.Holdings(t.Context(), func(acs.Holding) error { calls++; return nil })
	if !acs.IsRetryable(err) {
		t.Errorf("a failing listing: %v after %d holdings, want the retryable error", err, calls)
	}
	stop := errors.New("stop")
	var mu sync.Mutex
	calls = 0
	err = e.p.Holdings(t.Context(), func(acs.Holding) error { mu.Lock(); defer mu.Unlock(); calls++; return stop })
	if err != stop || calls != 1 {
		t.Errorf("fn failing: %v after %d calls", err, calls)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := e.p.Holdings(ctx, func(acs.Holding) error { return nil }); acs.CodeOf(err) != acs.Canceled {
		t.Errorf("cancelled context: %v", err)
	}
	// The caller's context ends during the listing.
	ctx, cancel = context.WithCancel(t.Context())
	calls = 0
	err = e.p.Holdings(ctx, func(acs.Holding) error { calls++; cancel(); return nil })
	if acs.CodeOf(err) != acs.Canceled || calls != 1 {
		t.Errorf("context ended during the listing: %v after %d holdings, want canceled after 1", err, calls)
	}
}

func TestHoldingsUsesTheMarkerFilter(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.PersonType = Cardholder }})
	provisioned(t, e, 1)
	e.sim.ResetRequests()
	holdings(t, e.p)
	for _, r := range e.requests() {
		if r.TypeName == Cardholder && r.Query.Get("filter") != `SSNO != ""` {
			t.Errorf("people listed with filter %q", r.Query.Get("filter"))
		}
	}
}

// BenchmarkHoldings10k prints what an inventory of 10,000 visitor
// cardholders costs with 20 ms of latency per request at the simulator:
//
//	go test -run '^$' -bench Holdings10k -benchtime 1x ./lenel/
func BenchmarkHoldings10k(b *testing.B) {
	e := newEnv(b, envOpts{sim: []lenelsim.Option{lenelsim.WithLatency(20 * time.Millisecond)}})
	now := e.clock.Now()
	seedVisitors(b, e.sim, 10000, now.Add(-time.Hour), now.Add(time.Hour))
	if err := e.p.Ping(context.Background()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		e.sim.ResetRequests()
		start := time.Now()
		n := 0
		if err := e.p.Holdings(context.Background(), func(acs.Holding) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		wall := time.Since(start)
		reqs := e.requests()
		byType := map[string]int{}
		for _, r := range reqs {
			byType[r.TypeName]++
		}
		b.ReportMetric(float64(len(reqs)), "requests/op")
		load, _ := os.ReadFile("/proc/loadavg")
		b.Logf("%d holdings: %d requests (%v), %v wall time, %d in flight, 20ms latency; load average %s",
			n, len(reqs), byType, wall.Round(time.Millisecond), inventoryWorkers, strings.TrimSpace(string(load)))
	}
}
