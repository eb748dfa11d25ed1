package origo

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
)

const (
	cbHeader = "X-Origo-Callback-Secret"
	cbSecret = "callback-secret-0123456789"
)

// A callback lifts the polling wait: once the phone accepted, the next
// Provision asks Origo at once (no clock advance) and provisions the card.
func TestCallbackSpeedsUpProvisioning(t *testing.T) {
	var mu sync.Mutex
	var seen []Event
	e := newEnv(t, nil, WithCallbackSecret(cbHeader, cbSecret), WithOnEvent(func(ev Event) {
		mu.Lock()
		seen = append(seen, ev)
		mu.Unlock()
	}))
	h, err := e.iss.Handler()
	if err != nil {
		t.Fatal(err)
	}
	e.sim.SetCallback(startHandler(t, h), http.Header{cbHeader: {cbSecret}})
	ctx := t.Context()
	g := testGrant(1, e.clk.Now(), "lobby")
	if _, err := e.iss.Provision(ctx, g); !errors.Is(err, ErrNotAccepted) {
		t.Fatal(err)
	}
	if _, err := e.sim.Accept("visit-1"); err != nil {
		t.Fatal(err)
	}
	d := e.sim.Deliveries()
	if len(d) != 1 || d[0].Status != http.StatusOK || len(d[0].Events) != 2 {
		t.Fatalf("deliveries %+v", d)
	}
	mu.Lock()
	if len(seen) != 2 || !seen[0].Waiting || seen[1].Status != "CREDENTIAL_ISSUED" || seen[1].UserID != "1001" {
		t.Fatalf("events %+v", seen)
	}
	mu.Unlock()
	e.sim.ResetRequests()
	p, err := e.iss.Provision(ctx, g)
	if err != nil {
		t.Fatalf("provision right after the callback: %v", err)
	}
	wantCalls(t, e.calls(), "GET /users/1001")
	if !e.doorOpens(p.Credential, "lobby") {
		t.Fatal("the card does not open")
	}
}

// Without a callback (HID does not retry a failed delivery), polling
// still provisions the card: callbacks are never needed for correctness.
func TestLostCallback(t *testing.T) {
	e := newEnv(t, nil, WithCallbackSecret(cbHeader, cbSecret))
	h, _ := e.iss.Handler()
	e.sim.SetCallback(startHandler(t, h), http.Header{cbHeader: {"not-the-secret-at-all"}})
	ctx := t.Context()
	g := testGrant(2, e.clk.Now(), "lobby")
	if _, err := e.iss.Provision(ctx, g); !errors.Is(err, ErrNotAccepted) {
		t.Fatal(err)
	}
	if _, err := e.sim.Accept("visit-2"); err != nil {
		t.Fatal(err)
	}
	if d := e.sim.Deliveries(); len(d) != 1 || d[0].Status != http.StatusUnauthorized {
		t.Fatalf("deliveries %+v", d)
	}
	if _, err := e.iss.Provision(ctx, g); !errors.Is(err, ErrNotAccepted) {
		t.Fatalf("without the callback, before the poll: %v", err)
	}
	e.clk.Advance(DefaultPollMin)
	if _, err := e.iss.Provision(ctx, g); err != nil {
		t.Fatalf("after the poll: %v", err)
	}
}

// The handler authenticates (a shared-secret header, or HTTP Basic),
// accepts only POSTs of CloudEvents JSON of bounded size, and answers 200.
func TestCallbackHandler(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.iss.Handler(); acs.CodeOf(err) != acs.InvalidArgument {
		t.Fatalf("no authentication configured: %v", err)
	}
	e = newEnv(t, nil, WithCallbackSecret(cbHeader, cbSecret))
	h, _ := e.iss.Handler()
	url := startHandler(t, h)
	batch := `[{"specversion":"1.0","id":"1","source":"/origo","type":"origo.credential-management.events.credential","data":{"userId":1001,"status":"CREDENTIAL_ISSUED"}}]`
	post := func(method, ct, body string, hdr ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		for k := 0; k+1 < len(hdr); k += 2 {
			req.Header.Set(hdr[k], hdr[k+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, c := range []struct {
		name         string
		method, ct   string
		body, secret string
		want         int
	}{
		{"batch", "POST", BatchContentType, batch, cbSecret, 200},
		{"batch with charset", "POST", BatchContentType + "; charset=utf-8", batch, cbSecret, 200},
		{"single", "POST", SingleContentType, `{"specversion":"1.0","id":"2","type":"com.origo.mi.invitation","data":{"userId":"1001"}}`, cbSecret, 200},
		{"wrong secret", "POST", BatchContentType, batch, cbSecret + "x", 401},
		{"no secret", "POST", BatchContentType, batch, "", 401},
		{"wrong content type", "POST", "application/json", batch, cbSecret, 415},
		{"GET", "GET", "", "", cbSecret, 405},
		{"malformed", "POST", BatchContentType, `[{"id":`, cbSecret, 400},
		{"too large", "POST", BatchContentType, "[" + strings.Repeat(" ", maxCallbackBody) + "]", cbSecret, 413},
	} {
		var hdr []string
		if c.secret != "" {
			hdr = []string{cbHeader, c.secret}
		}
		if got := post(c.method, c.ct, c.body, hdr...).StatusCode; got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}

	e = newEnv(t, nil, WithCallbackBasicAuth("origo", "basic-password-0123456789"))
	h, _ = e.iss.Handler()
	url = startHandler(t, h)
	req, _ := http.NewRequest("POST", url, strings.NewReader(batch))
	req.Header.Set("Content-Type", BatchContentType)
	req.SetBasicAuth("origo", "wrong-password-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("wrong password: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	req, _ = http.NewRequest("POST", url, strings.NewReader(batch))
	req.Header.Set("Content-Type", BatchContentType)
	req.SetBasicAuth("origo", "basic-password-0123456789")
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("right password: %v %v", resp, err)
	}
	resp.Body.Close()
}

// Events are read from the shapes public clients see: numeric or string
// IDs, a user event's own id, events without a type skipped.
func TestParseEvents(t *testing.T) {
	evs, err := parseEvents([]byte(`[
		{"id":"a","type":"com.origo.mi.user","time":"2026-03-02T09:00:00Z","data":{"id":77,"externalId":"visit-9","status":"USER_CREATED"}},
		{"id":"b","data":{}},
		{"id":"c","type":"origo.credential-management.events.credential","data":{"userId":"78","metaData":{"cardNumber":5}}}]`), true)
	if err != nil || len(evs) != 2 {
		t.Fatalf("%+v %v", evs, err)
	}
	if evs[0].UserID != "77" || evs[0].ExternalID != "visit-9" || evs[0].Time.IsZero() || evs[1].UserID != "78" {
		t.Fatalf("%+v", evs)
	}
	if _, err := parseEvents([]byte(`{"id":1}`), true); err == nil {
		t.Fatal("an object accepted as a batch")
	}
}

// Close ends a door event stream started by Events although the door
// provider (here acstest.Memory, like genetec) is no acs.Closer, and
// Events after Close fails at once.
func TestCloseEndsEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		door := acstest.NewMemory(doorLevels, acstest.WithName("door"))
		if _, ok := acs.Provider(door).(acs.Closer); ok {
			t.Fatal("the door is a Closer: this test needs one that is not")
		}
		iss, err := New(door, simConfig("http://127.0.0.1:1"), testOptions(newFakeClock())...)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- iss.Events(t.Context(), "", func(acs.DoorEvent) error { return nil }) }()
		synctest.Wait() // the stream waits for door events
		select {
		case err := <-done:
			t.Fatalf("Events returned before Close: %v", err)
		default:
		}
		if err := iss.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		select {
		case err := <-done:
			if acs.CodeOf(err) != acs.Unavailable {
				t.Fatalf("Events after Close: %v, want Unavailable", err)
			}
		default:
			t.Fatal("Events still runs after Close")
		}
		if err := iss.Events(t.Context(), "", func(acs.DoorEvent) error { return nil }); acs.CodeOf(err) != acs.Unavailable {
			t.Fatalf("Events called after Close: %v, want Unavailable", err)
		}
		if err := iss.Close(context.Background()); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
}
