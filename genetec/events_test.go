package genetec_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
)

const subscriptionQ = "event(Door,AccessGranted),event(Door,AccessRefused)"

func hexOf(g string) string { return strings.ReplaceAll(g, "-", "") }

// TestEventsLive checks the wire sequence (stream, then subscribe, then the
// catch-up report; closeconnection on the way out) and every field of the
// events the stream delivers.
func TestEventsLive(t *testing.T) {
	e, _ := eventsEnv(t, genetec.EventOptions{Lookback: time.Hour})
	ctx := context.Background()
	v1, err := e.p.Provision(ctx, grant(1))
	if err != nil {
		t.Fatal(err)
	}
	v2, err := e.p.Provision(ctx, grant(2, genetecsim.SeedFloor3Group))
	if err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	c := newCollector()
	r := startEvents(t, e.p, "", c.fn)
	// The catch-up (one DoorActivity request for the hour of lookback and
	// the slack) is over before the swipes, so they come on the stream.
	waitUntil(t, "the catch-up", func() bool { return e.count("GET", "report/DoorActivity") == 2 })
	streams := e.sim.Streams()
	if len(streams) != 1 {
		t.Fatalf("streams %+v", streams)
	}
	conn := streams[0].ID

	at := t0.Add(time.Minute)
	e.swipe(t, genetecsim.SeedLobbyDoor, card(1), at)
	e.swipe(t, genetecsim.SeedFloor3Door, card(1), at.Add(time.Second))
	e.swipe(t, genetecsim.SeedLobbyDoor, genetecsim.Card{Format: card(1).Format, Facility: 42, Number: 9999}, at.Add(2*time.Second))
	e.swipe(t, genetecsim.SeedFloor3Door, card(2), at.Add(3*time.Second))
	got := c.waitFor(t, 4)
	err = r.stop()
	if acs.CodeOf(err) != acs.Canceled || !errors.Is(err, context.Canceled) {
		t.Fatalf("Events returned %v, want Canceled", err)
	}

	want := []acs.DoorEvent{
		{Time: at, DoorID: genetecsim.SeedLobbyDoor, DoorName: "Lobby turnstile", Card: grant(1).Card,
			Credential: v1.Credential.ID, Cardholder: acs.CardholderRef{ID: v1.Cardholder.ID, ExternalID: "visit-1"}, Granted: true},
		{Time: at.Add(time.Second), DoorID: genetecsim.SeedFloor3Door, DoorName: "Floor 3 east door", Card: grant(1).Card,
			Credential: v1.Credential.ID, Cardholder: acs.CardholderRef{ID: v1.Cardholder.ID, ExternalID: "visit-1"}},
		{Time: at.Add(2 * time.Second), DoorID: genetecsim.SeedLobbyDoor, DoorName: "Lobby turnstile"},
		{Time: at.Add(3 * time.Second), DoorID: genetecsim.SeedFloor3Door, DoorName: "Floor 3 east door", Card: grant(2).Card,
			Credential: v2.Credential.ID, Cardholder: acs.CardholderRef{ID: v2.Cardholder.ID, ExternalID: "visit-2"}, Granted: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d events: %+v", len(got), got)
	}
	for i := range want {
		g := got[i]
		if g.Cursor == "" {
			t.Errorf("event %d has no cursor", i)
		}
		g.Cursor = ""
		if !g.Time.Equal(want[i].Time) {
			t.Errorf("event %d time %v, want %v", i, g.Time, want[i].Time)
		}
		g.Time = want[i].Time
		if g != want[i] {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, g, want[i])
		}
	}

	log := e.sim.Requests()
	idx := func(method, path, q string) int {
		return slices.IndexFunc(log, func(r genetecsim.Request) bool {
			return r.Method == method && r.Path == path && (q == "" || r.Q == q)
		})
	}
	stream, sub, report := idx("GET", "events", ""), idx("GET", "events/subscribe", subscriptionQ), idx("GET", "report/DoorActivity", "")
	closed := idx("POST", "events/closeconnection/"+hexOf(conn), "")
	if stream != 0 || sub < stream || report < sub || closed < report {
		t.Fatalf("request order: stream %d, subscribe %d, report %d, close %d in %+v", stream, sub, report, closed, log)
	}
	if n := e.count("GET", "events"); n != 1 {
		t.Errorf("%d streams opened, want 1", n)
	}
	// One read of the door names, and one read (credential and
	// cardholder together) for each of the two badges.
	if n := e.count("GET", "entity"); n != 3 {
		t.Errorf("%d entity reads, want 3", n)
	}
	t.Logf("requests for 4 live events: %d (%d entity reads, %d DoorActivity)", len(log), e.count("GET", "entity"), e.count("GET", "report/DoorActivity"))
}

// TestEventsLookupsAreCached swipes one badge 50 times: the credential
// and the cardholder are read once.
func TestEventsLookupsAreCached(t *testing.T) {
	e, _ := eventsEnv(t, genetec.EventOptions{Lookback: time.Minute})
	if _, err := e.p.Provision(context.Background(), grant(1)); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	c := newCollector()
	startEvents(t, e.p, "", c.fn)
	waitUntil(t, "the catch-up", func() bool { return e.count("GET", "report/DoorActivity") == 1 })
	for i := range 50 {
		e.swipe(t, genetecsim.SeedLobbyDoor, card(1), t0.Add(time.Duration(i)*time.Second))
	}
	got := c.waitFor(t, 50)
	for _, ev := range got {
		if ev.Cardholder.ExternalID != "visit-1" || ev.Card != grant(1).Card {
			t.Fatalf("event without visitor data: %+v", ev)
		}
	}
	reads := e.count("GET", "entity")
	t.Logf("50 events of one badge: %d entity reads, %d requests in all", reads, len(e.sim.Requests()))
	// One read of the door names, one of the credential and its
	// cardholder (two at most, as the cardholder is learned from it).
	if reads > 3 {
		t.Fatalf("%d entity reads for one badge", reads)
	}
}

// checkSequence checks that evs are the swipes of badges first..last, each
// once and in order (grant(n) carries card 42/1000+n and swipe n happens
// at t0+n seconds).
func checkSequence(t *testing.T, evs []acs.DoorEvent, first, last int) {
	t.Helper()
	if len(evs) != last-first+1 {
		t.Fatalf("got %d events, want %d (badges %d..%d)", len(evs), last-first+1, first, last)
	}
	for i, ev := range evs {
		n := first + i
		if ev.Card.Number != uint64(1000+n) || !ev.Time.Equal(t0.Add(time.Duration(n)*time.Second)) {
			t.Fatalf("event %d is %v at %s, want badge %d", i, ev.Card, ev.Time.Format(time.TimeOnly), n)
		}
		if ev.Cardholder.ExternalID != "visit-"+itoa(n) || !ev.Granted {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
}

// TestEventsReconnectExactlyOnce swipes 200 badges while the stream is
// cut in every way the simulator knows (an aborted connection, a part cut
// in the middle, a clean end, a 503 on reopening, a dropped reopening),
// then restarts from a saved cursor.
func TestEventsReconnectExactlyOnce(t *testing.T) {
	const n = 200
	e, ft := eventsEnv(t, genetec.EventOptions{Lookback: time.Minute})
	ctx := context.Background()
	for i := 1; i <= n+2; i++ {
		if _, err := e.p.Provision(ctx, grant(i)); err != nil {
			t.Fatal(err)
		}
	}
	e.sim.ResetRequests()
	c := newCollector()
	r := startEvents(t, e.p, "", c.fn)
	faults := []func(){
		func() { e.sim.DropStreams() },
		func() { e.sim.CutNextPart() },
		func() { e.sim.EndStreams() },
		func() {
			e.sim.Inject(genetecsim.Fault{Method: "GET", Path: "events", Status: 503})
			e.sim.DropStreams()
		},
		func() {
			e.sim.Inject(genetecsim.Fault{Method: "GET", Path: "events", Drop: true})
			e.sim.DropStreams()
		},
	}
	for i := 1; i <= n; i++ {
		if i%20 == 10 {
			// Let the adapter get back on the stream now and then, so that
			// faults hit live streams as well as reconnections.
			waitUntil(t, "a subscription", e.subscribed)
		}
		e.swipe(t, genetecsim.SeedLobbyDoor, card(i), t0.Add(time.Duration(i)*time.Second))
		if i%20 == 0 {
			faults[(i/20)%len(faults)]()
		}
	}
	c.waitFor(t, n)
	// Anything delivered twice would come before a later event: swipe one
	// more and wait for it.
	e.swipe(t, genetecsim.SeedLobbyDoor, card(n+1), t0.Add((n+1)*time.Second))
	got := c.waitFor(t, n+1)
	if err := r.stop(); acs.CodeOf(err) != acs.Canceled {
		t.Fatalf("Events returned %v", err)
	}
	checkSequence(t, got, 1, n+1)
	opened := e.count("GET", "events")
	t.Logf("%d swipes, %d faults: %d streams opened, %d subscriptions, %d closeconnection, %d DoorActivity requests, %d entity reads, %d backoff sleeps",
		n, n/20, opened, e.count("GET", "events/subscribe"), e.countPrefix("POST", "events/closeconnection/"),
		e.count("GET", "report/DoorActivity"), e.count("GET", "entity"), len(ft.slept()))
	if opened < n/20 {
		t.Fatalf("only %d streams opened for %d faults", opened, n/20)
	}

	// A restart from the cursor of event 120 delivers exactly 121..201,
	// then what comes next.
	c2 := newCollector()
	r2 := startEvents(t, e.p, got[119].Cursor, c2.fn)
	c2.waitFor(t, n+1-120)
	e.swipe(t, genetecsim.SeedLobbyDoor, card(n+2), t0.Add((n+2)*time.Second))
	got2 := c2.waitFor(t, n+2-120)
	r2.stop()
	checkSequence(t, got2, 121, n+2)

	// A restart from the last cursor delivers nothing old.
	c3 := newCollector()
	r3 := startEvents(t, e.p, got2[len(got2)-1].Cursor, c3.fn)
	waitUntil(t, "the catch-up", func() bool { return e.subscribed() && len(e.sim.Streams()) == 1 })
	e.swipe(t, genetecsim.SeedLobbyDoor, card(1), t0.Add((n+3)*time.Second))
	got3 := c3.waitFor(t, 1)
	r3.stop()
	if len(got3) != 1 || got3[0].Card != grant(1).Card {
		t.Fatalf("after the last cursor: %+v", got3)
	}
}

// TestEventsKeepAliveWatchdog checks that KeepAlive lines keep a quiet
// stream open, and that a stream that goes silent (a half-open
// connection: no event, no KeepAlive) is reopened after KeepAliveTimeout
// of the injected timers, the event it swallowed being caught up.
func TestEventsKeepAliveWatchdog(t *testing.T) {
	const timeout = 30 * time.Second
	e, ft := eventsEnv(t, genetec.EventOptions{KeepAliveTimeout: timeout, Lookback: time.Minute})
	if _, err := e.p.Provision(context.Background(), grant(1)); err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	startEvents(t, e.p, "", c.fn)
	// Streaming: subscribed, caught up, and waiting on the stream with
	// the watchdog armed.
	waitUntil(t, "the stream read", func() bool {
		_, pending := ft.state()
		return e.subscribed() && e.count("GET", "report/DoorActivity") == 1 && pending == 1
	}, ft.wake)
	first := e.sim.Streams()[0].ID

	for range 3 {
		ft.Advance(timeout - time.Second)
		armed, _ := ft.state()
		e.sim.KeepAlive()
		waitUntil(t, "the watchdog re-armed after a KeepAlive", func() bool {
			a, pending := ft.state()
			return a > armed && pending == 1
		}, ft.wake)
	}
	if n := e.count("GET", "events"); n != 1 {
		t.Fatalf("the stream was reopened %d times although KeepAlive lines came in time", n-1)
	}

	// A half-open connection: the swipe is queued but never written.
	if e.sim.StallStreams() != 1 {
		t.Fatal("no stream to stall")
	}
	e.swipe(t, genetecsim.SeedLobbyDoor, card(1), t0.Add(time.Second))
	ft.Advance(timeout - time.Second)
	if n := e.count("GET", "events"); n != 1 || c.len() != 0 {
		t.Fatalf("reopened before the timeout: %d streams, %d events", n, c.len())
	}
	ft.Advance(time.Second)
	got := c.waitFor(t, 1)
	if got[0].Card != grant(1).Card || got[0].Cardholder.ExternalID != "visit-1" {
		t.Fatalf("caught up %+v", got[0])
	}
	waitUntil(t, "the new subscription", e.subscribed)
	if n := e.count("GET", "events"); n != 2 {
		t.Fatalf("%d streams opened, want 2", n)
	}
	if e.count("POST", "events/closeconnection/"+hexOf(first)) != 1 {
		t.Fatal("the silent connection was not closed")
	}
	if s := ft.slept(); len(s) != 1 || s[0] > genetec.DefaultBackoffMin || s[0] < genetec.DefaultBackoffMin*3/4 {
		t.Fatalf("backoff before reconnecting: %v", s)
	}
	if c.len() != 1 {
		t.Fatalf("%d events", c.len())
	}
}

// TestEventsCancellation ends Events in each of its waits.
func TestEventsCancellation(t *testing.T) {
	t.Run("on the stream", func(t *testing.T) {
		e, ft := eventsEnv(t, genetec.EventOptions{Lookback: time.Minute})
		r := startEvents(t, e.p, "", newCollector().fn)
		waitUntil(t, "the stream read", func() bool {
			_, pending := ft.state()
			return e.count("GET", "report/DoorActivity") == 1 && pending == 1
		}, ft.wake)
		id := e.sim.Streams()[0].ID
		err := r.stop()
		if !errors.Is(err, acs.ErrCanceled) || !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
		if e.count("POST", "events/closeconnection/"+hexOf(id)) != 1 {
			t.Fatal("no closeconnection")
		}
		waitUntil(t, "the stream to end", func() bool { return len(e.sim.Streams()) == 0 })
	})
	t.Run("in the backoff", func(t *testing.T) {
		e, ft := eventsEnv(t, genetec.EventOptions{})
		ft.hook = func(ctx context.Context, _ time.Duration) error { <-ctx.Done(); return ctx.Err() }
		e.sim.Inject(genetecsim.Fault{Method: "GET", Path: "events", Status: 503, Times: 1000})
		r := startEvents(t, e.p, "", newCollector().fn)
		waitUntil(t, "the backoff", func() bool { return len(ft.slept()) == 1 }, ft.wake)
		if err := r.stop(); acs.CodeOf(err) != acs.Canceled {
			t.Fatalf("got %v", err)
		}
		if n := e.count("GET", "events"); n != 1 {
			t.Fatalf("%d GET events before the first backoff, want 1", n)
		}
	})
	t.Run("in the catch-up", func(t *testing.T) {
		e, _ := eventsEnv(t, genetec.EventOptions{})
		if _, err := e.p.Provision(context.Background(), grant(1)); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			e.swipe(t, genetecsim.SeedLobbyDoor, card(1), t0.Add(time.Duration(i)*time.Second))
		}
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		err := e.p.Events(ctx, "", func(acs.DoorEvent) error { n++; cancel(); return nil })
		if acs.CodeOf(err) != acs.Canceled || n != 1 {
			t.Fatalf("got %v after %d events", err, n)
		}
	})
	t.Run("by the function", func(t *testing.T) {
		e, _ := eventsEnv(t, genetec.EventOptions{})
		if _, err := e.p.Provision(context.Background(), grant(1)); err != nil {
			t.Fatal(err)
		}
		e.swipe(t, genetecsim.SeedLobbyDoor, card(1), t0)
		e.swipe(t, genetecsim.SeedLobbyDoor, card(1), t0.Add(time.Second))
		stop := errors.New("stop here")
		n := 0
		err := e.p.Events(context.Background(), "", func(acs.DoorEvent) error { n++; return stop })
		if err != stop || n != 1 {
			t.Fatalf("got %v after %d events, want the function's own error", err, n)
		}
		if e.countPrefix("POST", "events/closeconnection/") != 1 || len(e.sim.Streams()) != 0 {
			t.Fatal("the connection was not closed")
		}
	})
	t.Run("before the call", func(t *testing.T) {
		e, _ := eventsEnv(t, genetec.EventOptions{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := e.p.Events(ctx, "", newCollector().fn); acs.CodeOf(err) != acs.Canceled {
			t.Fatalf("got %v", err)
		}
		if n := len(e.sim.Requests()); n != 0 {
			t.Fatalf("%d requests", n)
		}
	})
}

// TestEventsErrors checks what ends Events instead of being retried.
func TestEventsErrors(t *testing.T) {
	for _, cur := range []string{"x", "g1:", "g1:abc:", "g1:100:0.AAAAAAAAAAA", "g1:100:1.AAA", "g1:100:1", "g2:100:", strings.Repeat("g", 9000)} {
		e, _ := eventsEnv(t, genetec.EventOptions{})
		err := e.p.Events(context.Background(), cur, newCollector().fn)
		if acs.CodeOf(err) != acs.InvalidArgument || len(e.sim.Requests()) != 0 {
			t.Errorf("cursor %.20q: %v after %d requests", cur, err, len(e.sim.Requests()))
		}
	}
	e, _ := eventsEnv(t, genetec.EventOptions{})
	if err := e.p.Events(context.Background(), "", nil); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("nil function: %v", err)
	}

	bad := testConfig(e.srv.URL)
	bad.Password = "wrong-password"
	p, err := genetec.New(bad, genetec.WithTimers(newFakeTimers()))
	if err != nil {
		t.Fatal(err)
	}
	err = p.Events(context.Background(), "", newCollector().fn)
	if acs.CodeOf(err) != acs.Unauthenticated || strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("bad password: %v", err)
	}
	if n := e.count("GET", "events"); n != 1 {
		t.Errorf("bad password: %d attempts", n)
	}

	e.sim.Inject(genetecsim.Fault{Path: "events/subscribe", Fail: &genetecsim.Failure{SdkErrorCode: "InvalidOperation", Message: "Unknown event type"}})
	err = e.p.Events(context.Background(), "", newCollector().fn)
	if acs.CodeOf(err) != acs.InvalidArgument || e.countPrefix("POST", "events/closeconnection/") != 1 {
		t.Errorf("refused subscription: %v", err)
	}
	var se *genetec.SDKError
	if !errors.As(err, &se) || se.Code != "InvalidOperation" {
		t.Errorf("refused subscription: %#v", err)
	}

	e.sim.Inject(genetecsim.Fault{Path: "report/DoorActivity", Fail: &genetecsim.Failure{SdkErrorCode: "InvalidOperation", Message: "Could not find property 'Doors'"}})
	if err := e.p.Events(context.Background(), "", newCollector().fn); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("refused report: %v", err)
	}
}

// TestEventsCatchUpSplitsTruncatedReports swipes 40 badges before Events
// starts, on a server that answers more than 7 rows with TooManyResults.
func TestEventsCatchUpSplitsTruncatedReports(t *testing.T) {
	e, _ := eventsEnv(t, genetec.EventOptions{Lookback: time.Hour}, genetecsim.WithMaxResults(7))
	for i := 1; i <= 41; i++ {
		if _, err := e.p.Provision(context.Background(), grant(i)); err != nil {
			t.Fatal(err)
		}
		if i <= 40 {
			e.swipe(t, genetecsim.SeedLobbyDoor, card(i), t0.Add(time.Duration(i)*time.Second))
		}
	}
	e.sim.ResetRequests()
	c := newCollector()
	r := startEvents(t, e.p, "", c.fn)
	c.waitFor(t, 40)
	waitUntil(t, "the stream", e.subscribed)
	e.swipe(t, genetecsim.SeedLobbyDoor, card(41), t0.Add(41*time.Second))
	got := c.waitFor(t, 41)
	r.stop()
	checkSequence(t, got, 1, 41)
	truncated := 0
	for _, req := range e.sim.Requests() {
		if req.Path == "report/DoorActivity" && req.Rsp == "TooManyResults" {
			truncated++
		}
	}
	t.Logf("40 events caught up in %d DoorActivity requests (%d truncated) and %d entity reads",
		e.count("GET", "report/DoorActivity"), truncated, e.count("GET", "entity"))
	if truncated == 0 {
		t.Fatal("the server never truncated: the test does not test splitting")
	}
}

// TestEventsLiveOnly shows the gap LiveOnly leaves: what happens while the
// stream is down is not delivered, and nothing is delivered twice.
func TestEventsLiveOnly(t *testing.T) {
	e, ft := eventsEnv(t, genetec.EventOptions{LiveOnly: true})
	for i := 1; i <= 3; i++ {
		if _, err := e.p.Provision(context.Background(), grant(i)); err != nil {
			t.Fatal(err)
		}
	}
	e.swipe(t, genetecsim.SeedLobbyDoor, card(1), t0.Add(time.Second)) // before Events: never delivered
	c := newCollector()
	r := startEvents(t, e.p, "", c.fn)
	waitUntil(t, "the subscription", e.subscribed)
	e.swipe(t, genetecsim.SeedLobbyDoor, card(2), t0.Add(2*time.Second))
	c.waitFor(t, 1)
	// Drop the stream and swipe 3 while the adapter waits to reconnect.
	release := make(chan struct{})
	ft.mu.Lock()
	ft.hook = func(ctx context.Context, _ time.Duration) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ft.mu.Unlock()
	e.sim.DropStreams()
	waitUntil(t, "the backoff", func() bool { return len(ft.slept()) == 1 }, ft.wake)
	e.swipe(t, genetecsim.SeedLobbyDoor, card(3), t0.Add(3*time.Second))
	close(release)
	waitUntil(t, "the new subscription", func() bool { return e.subscribed() && e.count("GET", "events") == 2 })
	e.swipe(t, genetecsim.SeedLobbyDoor, card(2), t0.Add(4*time.Second))
	got := c.waitFor(t, 2)
	r.stop()
	if len(got) != 2 || got[0].Time != t0.Add(2*time.Second) || got[1].Time != t0.Add(4*time.Second) {
		t.Fatalf("live only delivered %+v", got)
	}
	if e.count("GET", "report/DoorActivity") != 0 {
		t.Fatal("LiveOnly read the report")
	}
}

// TestEventsRevokedCredential catches up an event whose credential was
// deleted since (a revoked visit): the event keeps its credential and
// cardholder IDs and the external ID, but the card cannot be read back;
// the other events of the batch keep theirs, whichever way the server
// answers the read of the deleted credential.
func TestEventsRevokedCredential(t *testing.T) {
	for _, m := range missingModes {
		t.Run(m.name, func(t *testing.T) { testEventsRevokedCredential(t, m.mode) })
	}
}

func testEventsRevokedCredential(t *testing.T, mode genetecsim.MissingEntity) {
	e, _ := eventsEnv(t, genetec.EventOptions{Lookback: time.Hour}, genetecsim.WithMissingEntity(mode))
	ctx := context.Background()
	v1, err := e.p.Provision(ctx, grant(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.Provision(ctx, grant(2)); err != nil {
		t.Fatal(err)
	}
	e.swipe(t, genetecsim.SeedLobbyDoor, card(1), t0.Add(time.Second))
	e.swipe(t, genetecsim.SeedLobbyDoor, card(2), t0.Add(2*time.Second))
	if err := e.p.Revoke(ctx, v1.Credential); err != nil {
		t.Fatal(err)
	}
	e.swipe(t, genetecsim.SeedLobbyDoor, card(1), t0.Add(3*time.Second)) // now an unknown card
	c := newCollector()
	r := startEvents(t, e.p, "", c.fn)
	got := c.waitFor(t, 3)
	r.stop()
	want := []acs.DoorEvent{
		{Credential: v1.Credential.ID, Cardholder: acs.CardholderRef{ID: v1.Cardholder.ID, ExternalID: "visit-1"}, Granted: true},
		{Card: grant(2).Card, Granted: true},
		{},
	}
	for i, w := range want {
		g := got[i]
		if g.Credential != w.Credential && w.Credential != "" || g.Card != w.Card || g.Granted != w.Granted ||
			w.Cardholder.ExternalID != "" && g.Cardholder != w.Cardholder {
			t.Errorf("event %d: %+v, want %+v", i, g, w)
		}
	}
	if got[1].Cardholder.ExternalID != "visit-2" || got[2].Credential != "" || got[2].Cardholder != (acs.CardholderRef{}) {
		t.Errorf("events %+v", got)
	}
}
