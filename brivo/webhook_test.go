package brivo

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
)

func post(t *testing.T, url, ctype, body string) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// sink collects the events a handler passes on; fail makes the next calls
// fail.
type sink struct {
	mu   sync.Mutex
	got  []acs.DoorEvent
	fail int
}

func (s *sink) fn(e acs.DoorEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		return errors.New("store unavailable")
	}
	s.got = append(s.got, e)
	return nil
}

func (s *sink) events() []acs.DoorEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]acs.DoorEvent(nil), s.got...)
}

// The simulator posts its events to a subscription served by the
// handler; the handler maps them as Events does, drops repeats and answers
// 500 when fn fails, so that a retry is handled again.
func TestWebhookEndToEnd(t *testing.T) {
	ee := newEventsEnv(t, []brivosim.Option{brivosim.WithWebhookRetries(1)}, WithDoorDirection("408023598", acs.DirectionIn))
	prov := ee.provision(t, 1, ee.levels()[0])
	var s sink
	h, err := NewWebhookHandler(s.fn, WithWebhookProvider(ee.p))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	sub, err := ee.p.CreateEventSubscription(t.Context(), EventSubscription{Name: "front door", URL: srv.URL + "/brivo/events",
		ErrorEmail: "ops@example.com", Criteria: []Criterion{{Type: CriterionAccessPoint, Value: frontDoor}}})
	if err != nil {
		t.Fatal(err)
	}
	if sub.ID == "" || len(ee.sim.EventSubscriptions()) != 1 {
		t.Fatalf("subscription %+v", sub)
	}
	now := ee.clk.Now()
	granted := ee.swipe(t, 201, frontDoor, now)
	ee.swipe(t, 201, floor3Door, now) // not subscribed
	unknown := ee.swipe(t, 999, frontDoor, now.Add(time.Second))
	for _, d := range ee.sim.FlushWebhooks(t.Context()) {
		if !d.Delivered {
			t.Fatalf("delivery %+v", d)
		}
	}
	got := s.events()
	if len(got) != 2 {
		t.Fatalf("%d events", len(got))
	}
	want := acs.DoorEvent{Cursor: formatCursor(granted.Occurred, granted.UUID), Time: granted.Occurred, DoorID: "408023598",
		DoorName: "Front Door", Card: acs.Card{Format: acs.H10301, Facility: 1, Number: 201}, Credential: prov.Credential.ID,
		Cardholder: prov.Cardholder, Granted: true, Direction: acs.DirectionIn}
	if got[0] != want {
		t.Errorf("webhook event\n got %+v\nwant %+v", got[0], want)
	}
	if got[1].Granted || got[1].Card.Number != 999 || eventID(got[1].Cursor) != unknown.UUID {
		t.Errorf("unknown card event %+v", got[1])
	}
	// The poller reports the same event identically.
	polled, err := collect(t.Context(), ee.p, "", 3)
	if !errors.Is(err, errStop) || !slices.Contains(polled, want) {
		t.Errorf("polled %+v (%v)", polled, err)
	}

	// fn fails: 500, then Brivo's retry (simulated) is handled.
	s.fail = 1
	ee.swipe(t, 201, frontDoor, now.Add(2*time.Second))
	if d := ee.sim.FlushWebhooks(t.Context()); len(d) != 1 || d[0].Delivered || d[0].Status != 500 {
		t.Fatalf("failing fn: %+v", d)
	}
	if d := ee.sim.FlushWebhooks(t.Context()); len(d) != 1 || !d[0].Delivered {
		t.Fatalf("retry: %+v", d)
	}
	// A repeat of a delivered event is acknowledged without calling fn.
	if st, _ := post(t, srv.URL, "application/json", string(granted.JSON)); st != 200 {
		t.Errorf("repeat: %d", st)
	}
	st := h.Stats()
	if len(s.events()) != 3 || st != (WebhookStats{Delivered: 3, Duplicates: 1, Failed: 1}) {
		t.Errorf("%d events, stats %+v", len(s.events()), st)
	}
}

func TestWebhookRefusals(t *testing.T) {
	var s sink
	h, err := NewWebhookHandler(s.fn, WithWebhookMaxBody(2048), WithWebhookAuthorizer(func(r *http.Request) bool {
		return r.Header.Get("X-From-Proxy") != "no"
	}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	pulse := `{"uuid":"ae217d80-f38b-4521-aaaa-c3b84e763552","securityAction":{"securityActionId":5064,"action":"Administrator Pulse Output","exception":false},` +
		`"actor":{"id":10457058,"name":"qa admin"},"eventObject":{"id":408023598,"name":"Door 1","deviceType":{"id":1,"name":"DOOR"}},` +
		`"site":{"id":7833522,"siteName":"Home base"},"occurred":"2016-01-19T22:19:03Z","eventData":{"actorName":"qa admin","objectName":"Entry","actionAllowed":false,"objectTypeId":4}}`
	for _, tc := range []struct {
		name, ctype, body string
		status            int
	}{
		{"text body", "text/plain", pulse, 415},
		{"too large", "application/json", `{"uuid":"` + strings.Repeat("a", 3000) + `"}`, 413},
		{"array", "application/json", `[` + pulse + `]`, 400},
		{"broken JSON", "application/json", `{"uuid":`, 400},
		{"no occurred time", "application/json", `{"uuid":"x","eventObject":{"id":1}}`, 400},
		{"administrator action", "application/json", pulse, 200},
		{"no content type", "", pulse, 200},
	} {
		if st, _ := post(t, srv.URL, tc.ctype, tc.body); st != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, st, tc.status)
		}
	}
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d %v", resp.StatusCode, resp.Header)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(pulse))
	req.Header.Set("X-From-Proxy", "no")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
		t.Errorf("unauthorized: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if len(s.events()) != 0 {
		t.Errorf("fn called for %+v", s.events())
	}
	if st := h.Stats(); st != (WebhookStats{Ignored: 2, Refused: 7}) {
		t.Errorf("stats %+v", st)
	}
	for _, opts := range [][]WebhookOption{{WithWebhookMaxBody(0)}, {WithWebhookDedup(-1)}, {WithWebhookConcurrency(0, 1)}, {WithWebhookLookupTimeout(0)}} {
		if _, err := NewWebhookHandler(s.fn, opts...); acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("bad options accepted: %v", err)
		}
	}
	if _, err := NewWebhookHandler(nil); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("nil fn: %v", err)
	}
}

func doorEventJSON(id string) string {
	return `{"uuid":"` + id + `","securityAction":{"securityActionId":2004,"action":"User Entry","exception":false},` +
		`"actor":{"id":15540780,"name":"Ada Visitor"},"eventObject":{"id":408023598,"name":"Front Door"},` +
		`"occurred":"2026-03-02T09:00:00.000Z","eventData":{"actionAllowed":true,"credentials":[{"id":22197840}]}}`
}

// With one fn call at a time and no queue, a second notification while fn
// is busy is answered 503 with Retry-After; a repeat of an event being
// handled waits for it and is then acknowledged without a second call.
func TestWebhookBackPressure(t *testing.T) {
	entered, release := make(chan string, 4), make(chan struct{})
	var calls []string
	var mu sync.Mutex
	fn := func(e acs.DoorEvent) error {
		mu.Lock()
		calls = append(calls, eventID(e.Cursor))
		mu.Unlock()
		entered <- eventID(e.Cursor)
		<-release
		return nil
	}
	h, err := NewWebhookHandler(fn, WithWebhookConcurrency(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	first := make(chan int)
	go func() { st, _ := post(t, srv.URL, "application/json", doorEventJSON("a")); first <- st }()
	<-entered
	st, hdr := post(t, srv.URL, "application/json", doorEventJSON("b"))
	if st != 503 || hdr.Get("Retry-After") != "1" {
		t.Errorf("while busy: %d %v", st, hdr)
	}
	close(release)
	if st := <-first; st != 200 {
		t.Errorf("first: %d", st)
	}

	// A repeat arriving while the event is being handled.
	h2, err := NewWebhookHandler(fn, WithWebhookConcurrency(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(h2)
	t.Cleanup(srv2.Close)
	release = make(chan struct{})
	go func() { st, _ := post(t, srv2.URL, "application/json", doorEventJSON("c")); first <- st }()
	<-entered
	second := make(chan int)
	go func() { st, _ := post(t, srv2.URL, "application/json", doorEventJSON("c")); second <- st }()
	// The repeat cannot finish before the first: it waits for its claim.
	close(release)
	if a, b := <-first, <-second; a != 200 || b != 200 {
		t.Errorf("statuses %d %d", a, b)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(calls, ",") != "a,c" {
		t.Errorf("fn calls %v", calls)
	}
	if st := h2.Stats(); st.Delivered != 1 || st.Duplicates != 1 {
		t.Errorf("stats %+v", st)
	}
}

// The dedup memory is bounded: the oldest IDs are forgotten.
func TestWebhookDedupIsBounded(t *testing.T) {
	var s sink
	h, err := NewWebhookHandler(s.fn, WithWebhookDedup(2))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, id := range []string{"a", "b", "c", "c", "a"} {
		if st, _ := post(t, srv.URL, "application/json", doorEventJSON(id)); st != 200 {
			t.Fatalf("%s: %d", id, st)
		}
	}
	var ids []string
	for _, e := range s.events() {
		ids = append(ids, eventID(e.Cursor))
	}
	if strings.Join(ids, ",") != "a,b,c,a" {
		t.Errorf("delivered %v", ids)
	}
	h.mu.Lock()
	n := len(h.seen)
	h.mu.Unlock()
	if n != 2 {
		t.Errorf("%d IDs remembered, want 2", n)
	}
}

// Lookups that fail do not hold the notification: the event goes out
// with what it says itself.
func TestWebhookLookupFailure(t *testing.T) {
	ee := newEventsEnv(t, nil)
	prov := ee.provision(t, 1, ee.levels()[0])
	var s sink
	h, err := NewWebhookHandler(s.fn, WithWebhookProvider(ee.p))
	if err != nil {
		t.Fatal(err)
	}
	ev := ee.swipe(t, 201, frontDoor, ee.clk.Now())
	ee.sim.AddFault(brivosim.Fault{Method: "GET", Path: "/credentials/*", Kind: brivosim.FaultStatus, Status: 503, Times: -1})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(ev.JSON))))
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	got := s.events()
	if len(got) != 1 || !got[0].Card.IsZero() || got[0].Credential != prov.Credential.ID || got[0].Cardholder.ID != prov.Cardholder.ID {
		t.Errorf("event %+v", got)
	}
	// Without a provider: no lookups at all.
	h2, _ := NewWebhookHandler(s.fn)
	rec = httptest.NewRecorder()
	h2.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(ev.JSON))))
	if got := s.events(); rec.Code != 200 || len(got) != 2 || got[1].Cardholder.ExternalID != "" || got[1].Cardholder.ID != prov.Cardholder.ID {
		t.Errorf("without provider: %d %+v", rec.Code, got)
	}
}

// FuzzWebhookBody feeds arbitrary bodies to the handler: it never panics,
// answers only 200 or 400/413, and passes fn only door events whose
// cursor resumes at them.
func FuzzWebhookBody(f *testing.F) {
	f.Add(doorEventJSON("a"))
	f.Add(`{"uuid":"x","occurred":"2026-03-02T09:00:00Z","eventObject":{"id":"12"},"eventData":{"unknownWeigand":"2020190"}}`)
	f.Add(`{"occurred":"2026-03-02","eventObject":{"id":-1},"eventData":{"credentials":[{"reference_id":7}]}}`)
	f.Add(`{"uuid":"a/b","occurred":"2026-03-02T09:00:00.123+02:00","eventObject":{"id":1e3},"eventData":{"credentialLabel":"x","actionAllowed":null}}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		var got []acs.DoorEvent
		h, err := NewWebhookHandler(func(e acs.DoorEvent) error { got = append(got, e); return nil }, WithWebhookMaxBody(4096))
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)))
		switch rec.Code {
		case 200, 400, 413:
		default:
			t.Fatalf("status %d", rec.Code)
		}
		for _, e := range got {
			pos, err := parseCursor("test", e.Cursor)
			if err != nil || !pos.at.Equal(e.Time) || e.DoorID == "" || e.DoorID == "0" {
				t.Fatalf("event %+v: cursor %v", e, err)
			}
		}
	})
}
