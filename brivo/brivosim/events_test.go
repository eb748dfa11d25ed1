package brivosim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/brivo/brivosim"
	"github.com/acsbridge/acsbridge/wiegand"
)

const frontDoor, floor3Door = 408023598, 408023599

// visitor makes a user in the Lobby group holding card 1/n, valid for an
// hour from now.
func visitor(t *testing.T, sim *brivosim.Server, clk *clock, ext string, n uint64) (uid, cid int64) {
	t.Helper()
	uid, err := sim.AddUser("Ada", "Visitor", ext)
	if err != nil {
		t.Fatal(err)
	}
	if cid, err = sim.AddCredential(100, "", 1, n); err != nil {
		t.Fatal(err)
	}
	if err := sim.AssignCredential(uid, cid, clk.Now().Add(-time.Minute), clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddMember(11906588, uid); err != nil {
		t.Fatal(err)
	}
	return uid, cid
}

type eventJSON struct {
	UUID           string `json:"uuid"`
	SecurityAction struct {
		ID        int  `json:"securityActionId"`
		Exception bool `json:"exception"`
	} `json:"securityAction"`
	Actor       *struct{ ID int64 } `json:"actor"`
	EventObject struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"eventObject"`
	Occurred  string `json:"occurred"`
	EventData struct {
		ActionAllowed       bool `json:"actionAllowed"`
		Credentials         []struct{ ID int64 }
		UnknownWeigand      string `json:"unknownWeigand"`
		CredentialBitLength int    `json:"credentialBitLength"`
	} `json:"eventData"`
}

func card(n uint64) wiegand.Card { return wiegand.Card{Format: wiegand.H10301, Facility: 1, Number: n} }

func TestSwipeDecisions(t *testing.T) {
	sim, _, clk := start(t)
	uid, cid := visitor(t, sim, clk, "visit-1", 200)
	floor3 := sim.AddGroup("Floor 3 only")
	back, err := sim.AddDoor("Back Door", floor3.ID)
	if err != nil {
		t.Fatal(err)
	}
	now := clk.Now()
	for _, tc := range []struct {
		name    string
		card    wiegand.Card
		door    int64
		at      time.Time
		granted bool
		action  int
	}{
		{"member at its door", card(200), frontDoor, now, true, brivosim.ActionUserEntry},
		{"member at a door of two groups", card(200), floor3Door, now, true, brivosim.ActionUserEntry},
		{"door of another group", card(200), back.ID, now, false, brivosim.ActionUnauthorized},
		{"before the window", card(200), frontDoor, now.Add(-2 * time.Minute), false, brivosim.ActionUnauthorized},
		{"at the end of the window", card(200), frontDoor, now.Add(time.Hour), false, brivosim.ActionUnauthorized},
		{"unknown card", card(201), frontDoor, now, false, brivosim.ActionUnknownCard},
	} {
		ev, err := sim.Swipe(tc.card, tc.door, tc.at)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if ev.Granted != tc.granted || ev.ActionID != tc.action {
			t.Errorf("%s: granted %v action %d, want %v %d", tc.name, ev.Granted, ev.ActionID, tc.granted, tc.action)
		}
		var j eventJSON
		if err := json.Unmarshal(ev.JSON, &j); err != nil {
			t.Fatal(err)
		}
		if j.EventData.ActionAllowed != tc.granted || j.SecurityAction.Exception == tc.granted || j.EventObject.ID != tc.door || j.UUID != ev.UUID {
			t.Errorf("%s: JSON %s", tc.name, ev.JSON)
		}
		if tc.action == brivosim.ActionUnknownCard {
			if j.EventData.UnknownWeigand == "" || j.EventData.CredentialBitLength != 26 || j.Actor != nil {
				t.Errorf("%s: JSON %s", tc.name, ev.JSON)
			}
			fr, err := wiegand.ParseHex(j.EventData.UnknownWeigand, 26)
			if c, derr := wiegand.H10301.Decode(fr); err != nil || derr != nil || c.Number != 201 {
				t.Errorf("unknownWeigand %q does not decode to card 201", j.EventData.UnknownWeigand)
			}
		} else if j.Actor == nil || j.Actor.ID != uid || len(j.EventData.Credentials) != 1 || j.EventData.Credentials[0].ID != cid {
			t.Errorf("%s: JSON %s", tc.name, ev.JSON)
		}
	}
	if err := sim.SetSuspended(uid, true); err != nil {
		t.Fatal(err)
	}
	if ev, _ := sim.SwipeCredential(cid, frontDoor, now); ev.Granted {
		t.Error("suspended user let in")
	}
	if _, err := sim.Swipe(card(200), 1, now); err == nil {
		t.Error("swipe at an unknown door succeeded")
	}
	if got := len(sim.AccessEvents()); got != 7 {
		t.Errorf("%d events recorded, want 7", got)
	}
}

func listEvents(t *testing.T, c *client, query string) []eventJSON {
	t.Helper()
	st, body, _ := c.do("GET", "/events/access?"+query, "")
	if st != 200 {
		t.Fatalf("GET /events/access?%s: %d %s", query, st, body)
	}
	var pg struct {
		Data     []eventJSON `json:"data"`
		PageSize int         `json:"pageSize"`
	}
	if err := json.Unmarshal([]byte(body), &pg); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(body, `"count"`) || pg.PageSize == 0 {
		t.Errorf("event listing envelope %s", body)
	}
	return pg.Data
}

func TestAccessEventListing(t *testing.T) {
	sim, c, clk := start(t)
	visitor(t, sim, clk, "visit-1", 200)
	base := clk.Now() // 09:00 UTC
	// Three events in the same millisecond, then one a minute later, and
	// one the day before.
	for range 3 {
		if _, err := sim.Swipe(card(200), frontDoor, base.Add(10*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sim.Swipe(card(200), floor3Door, base.Add(11*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Swipe(card(999), frontDoor, base.Add(-20*time.Hour)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	c.login()

	// Default: today from UTC midnight, newest first.
	all := listEvents(t, c, "")
	if len(all) != 4 || all[0].EventObject.ID != floor3Door {
		t.Fatalf("default listing: %+v", all)
	}
	// Paging by date: offset is inclusive, so the instant shared by three
	// events is repeated rather than lost.
	pg := listEvents(t, c, "pageSize=2")
	if len(pg) != 2 {
		t.Fatalf("page of %d", len(pg))
	}
	next := listEvents(t, c, "pageSize=2&offset="+url.QueryEscape(pg[1].Occurred))
	if len(next) != 2 || next[0].Occurred != pg[1].Occurred {
		t.Errorf("next page %+v", next)
	}
	// The window is truncated to the hour and may span at most 24 hours.
	yesterday := base.Add(-24 * time.Hour).Format(time.RFC3339)
	if got := listEvents(t, c, "filter="+url.QueryEscape("occurred__gt:"+yesterday+";occurred__lt:"+base.Format(time.RFC3339))); len(got) != 1 {
		t.Errorf("yesterday's window: %d events", len(got))
	}
	halfPast := base.Add(30 * time.Minute).Format(time.RFC3339)
	if got := listEvents(t, c, "filter=occurred__gt:"+halfPast); len(got) != 4 {
		t.Errorf("gt truncated to the hour: %d events, want 4", len(got))
	}
	if got := listEvents(t, c, "filter=object__eq:"+strconv.Itoa(floor3Door)); len(got) != 1 {
		t.Errorf("object filter: %d", len(got))
	}
	if got := listEvents(t, c, "filter=event_type__eq:non_exception"); len(got) != 4 {
		t.Errorf("event_type filter: %d", len(got))
	}
	for _, q := range []string{
		"filter=occurred__gt:" + base.Add(-48*time.Hour).Format(time.RFC3339),
		"filter=" + url.QueryEscape("occurred__gt:"+base.Add(-30*time.Hour).Format(time.RFC3339)+";occurred__lt:"+base.Format(time.RFC3339)),
		"filter=" + url.QueryEscape("object__eq:1;site__eq:7833522"),
		"filter=occurred__eq:" + halfPast,
		"filter=event_type__eq:motion",
		"offset=yesterday",
		"pageSize=101",
		"pageSize=0",
		"sort=occurred",
	} {
		if st, body, _ := c.do("GET", "/events/access?"+q, ""); st != 400 {
			t.Errorf("%s: %d %s", q, st, body)
		}
	}
	sim.AddFault(brivosim.Fault{Method: "GET", Path: "/events/access", Kind: brivosim.FaultStatus, Status: 503})
	if st, _, h := c.do("GET", "/events/access", ""); st != 503 || h.Get("Retry-After") == "" {
		t.Errorf("fault: %d", st)
	}
}

// receiver records webhook bodies and answers with status.
type receiver struct {
	mu     sync.Mutex
	status int
	bodies []string
	ctype  []string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bodies = append(r.bodies, string(b))
	r.ctype = append(r.ctype, req.Header.Get("Content-Type"))
	w.WriteHeader(r.status)
}

func TestEventSubscriptionsAndDelivery(t *testing.T) {
	rcv := &receiver{status: 200}
	hook := httptest.NewServer(rcv)
	t.Cleanup(hook.Close)
	sim, c, clk := start(t, brivosim.WithWebhookRetries(1))
	uid, _ := visitor(t, sim, clk, "visit-1", 200)
	c.login()

	c.want("POST", "/event-subscriptions", `{"name":"x","url":"ftp://example.com"}`, 400, "url")
	c.want("POST", "/event-subscriptions", `{"name":"x","url":"`+hook.URL+`","criteria":[{"criteriaType":"SITE","criteriaOperationType":"EQ","criteriaValue":1}]}`, 400, "invalid Site criteria")
	c.want("POST", "/event-subscriptions", `{"name":"x","url":"`+hook.URL+`","criteria":[{"criteriaType":"DOOR","criteriaOperationType":"EQ","criteriaValue":1}]}`, 400, "Invalid criteria")
	c.want("POST", "/event-subscriptions", `{"name":"x","url":"`+hook.URL+`","secret":"s"}`, 400, "unknown field")
	body := c.want("POST", "/event-subscriptions", `{"name":"Front door","url":"`+hook.URL+`","errorEmail":"ops@example.com","criteria":[{"criteriaType":"ACCESS-POINT","criteriaOperationType":"EQ","criteriaValue":408023598},{"criteriaType":"USER","criteriaOperationType":"NE","criteriaValue":1}]}`, 200, `"encryptedSecretWord"`)
	var sub struct {
		ID       int64
		Criteria []struct{ ID int64 }
	}
	_ = json.Unmarshal([]byte(body), &sub)
	if sub.ID == 0 || len(sub.Criteria) != 2 || sub.Criteria[0].ID == 0 {
		t.Fatalf("created %s", body)
	}
	id := strconv.FormatInt(sub.ID, 10)
	c.want("GET", "/event-subscriptions?filter=name__eq:front", "", 200, `"count":1`)
	c.want("GET", "/event-subscriptions/"+id, "", 200, `"Front door"`)
	c.want("GET", "/event-subscriptions/1", "", 404, "Event subscription not found")

	// Only events at the front door are posted, in Brivo's event JSON.
	at := clk.Now()
	ev, _ := sim.Swipe(card(200), frontDoor, at)
	_, _ = sim.Swipe(card(200), floor3Door, at)
	if n := sim.PendingWebhooks(); n != 1 {
		t.Fatalf("%d pending notifications, want 1", n)
	}
	out := sim.FlushWebhooks(t.Context())
	if len(out) != 1 || !out[0].Delivered || out[0].EventUUID != ev.UUID || len(rcv.bodies) != 1 {
		t.Fatalf("flush %+v", out)
	}
	var got eventJSON
	if err := json.Unmarshal([]byte(rcv.bodies[0]), &got); err != nil || got.UUID != ev.UUID || !got.EventData.ActionAllowed ||
		got.Actor.ID != uid || rcv.ctype[0] != "application/json" || !strings.Contains(rcv.bodies[0], `"objectType":"ACCESS_POINT"`) {
		t.Errorf("posted %s (%v)", rcv.bodies[0], err)
	}

	// 202 is not a success; one retry, then the failure is recorded.
	rcv.status = http.StatusAccepted
	_, _ = sim.Swipe(card(200), frontDoor, at)
	if out := sim.FlushWebhooks(t.Context()); len(out) != 1 || out[0].Delivered || out[0].Status != 202 {
		t.Fatalf("flush %+v", out)
	}
	if out := sim.FlushWebhooks(t.Context()); len(out) != 1 || out[0].Attempt != 2 {
		t.Fatalf("retry %+v", out)
	}
	if f := sim.FailedDeliveries(); len(f) != 1 || sim.PendingWebhooks() != 0 {
		t.Errorf("failed %+v", f)
	}
	rcv.status = 200
	sim.LoseWebhooks(1)
	_, _ = sim.Swipe(card(200), frontDoor, at)
	if out := sim.FlushWebhooks(t.Context()); len(out) != 1 || !out[0].Lost || len(rcv.bodies) != 3 {
		t.Errorf("lost %+v, %d posted", out, len(rcv.bodies))
	}

	c.want("PUT", "/event-subscriptions/"+id, `{"name":"All","url":"`+hook.URL+`","criteria":[]}`, 200, `"criteria":[]`)
	_, _ = sim.Swipe(card(200), floor3Door, at)
	if n := sim.PendingWebhooks(); n != 1 {
		t.Errorf("%d pending after widening the criteria", n)
	}
	c.want("DELETE", "/event-subscriptions/"+id, "", 204, "")
	c.want("DELETE", "/event-subscriptions/"+id, "", 404, "not found")
	if n := sim.PendingWebhooks(); n != 0 || len(sim.EventSubscriptions()) != 0 {
		t.Errorf("%d pending after delete", n)
	}
}
