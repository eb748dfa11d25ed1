package verkadasim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type client struct {
	t     *testing.T
	url   string
	token string
}

// do sends a request and returns the status, the Retry-After header and
// the decoded JSON body.
func (c *client) do(method, path, body string, header ...string) (int, string, map[string]any) {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, c.url+path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("x-verkada-auth", c.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, resp.Header.Get("Retry-After"), m
}

func start(t *testing.T, opts ...Option) (*Server, *client, *clock) {
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 30, 0, time.UTC)}
	s := New(append([]Option{WithClock(clk.now)}, opts...)...)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := &client{t: t, url: srv.URL}
	status, _, m := c.do("POST", TokenPath, "", "x-api-key", DefaultAPIKey)
	if status != 200 || m["token"] == "" {
		t.Fatalf("token: %d %v", status, m)
	}
	c.token = m["token"].(string)
	return s, c, clk
}

func TestTokenExchangeAndExpiry(t *testing.T) {
	_, c, clk := start(t)
	anon := &client{t: t, url: c.url}
	if status, _, m := anon.do("POST", TokenPath, "", "x-api-key", "wrong"); status != 401 || m["message"] != "Missing or Invalid API Key" {
		t.Errorf("wrong key: %d %v", status, m)
	}
	if status, _, _ := c.do("GET", "/access/v1/access_groups", ""); status != 200 {
		t.Fatalf("fresh token refused: %d", status)
	}
	clk.add(TokenLifetime)
	status, _, m := c.do("GET", "/access/v1/access_groups", "")
	if status != 401 || m["id"] != "0e2d" || m["message"] != "Token expired" || m["data"] != nil {
		t.Errorf("expired token: %d %v", status, m)
	}
}

func TestUsersCardsAndDates(t *testing.T) {
	s, c, clk := start(t)
	if status, _, _ := c.do("POST", "/core/v1/user", `{"first_name":"Ada"}`); status != 400 {
		t.Errorf("user without external_id: %d", status)
	}
	status, _, u := c.do("POST", "/core/v1/user", `{"external_id":"v1","first_name":"Ada","department":"d"}`)
	if status != 200 || u["user_id"] == "" || u["active"] != true || u["email"] != nil {
		t.Fatalf("create user: %d %v", status, u)
	}
	if status, _, _ := c.do("POST", "/core/v1/user", `{"external_id":"v1","first_name":"Eve"}`); status != 400 {
		t.Errorf("taken external_id: %d", status)
	}
	uid := u["user_id"].(string)
	status, _, card := c.do("POST", "/access/v1/credentials/card?user_id="+uid, `{"type":"HID","facility_code":"111","card_number":"55555"}`)
	if status != 200 || card["active"] != false || card["card_number_hex"] != "d903" || card["type"] != "HID" {
		t.Fatalf("card without active: %d %v", status, card)
	}
	if status, _, m := c.do("POST", "/access/v1/credentials/card?external_id=v1", `{"type":"Standard 26-bit Wiegand","facility_code":"111","card_number":"55555","active":true}`); status != 400 {
		t.Errorf("duplicate card: %d %v", status, m)
	}
	if status, _, _ := c.do("POST", "/access/v1/credentials/card?user_id="+uid, `{"type":"Nope","card_number":"1"}`); status != 400 {
		t.Errorf("unknown type: %d", status)
	}
	now := clk.now().Unix()
	if status, _, _ := c.do("PUT", "/access/v1/access_users/user/end_date?user_id="+uid, `{"end_date":"`+itoa(now+60)+`"}`); status != 200 {
		t.Fatal(status)
	}
	if status, _, m := c.do("PUT", "/access/v1/access_users/user/start_date?user_id="+uid, `{"start_date":"`+itoa(now+60)+`"}`); status != 400 {
		t.Errorf("start not before end: %d %v", status, m)
	}
	status, _, au := c.do("PUT", "/access/v1/access_users/user/start_date?user_id="+uid, `{"start_date":`+itoa(now-60)+`}`)
	if status != 200 || au["start_date"] != itoa(now-60) || au["end_date"] != itoa(now+60) {
		t.Errorf("dates: %d %v", status, au)
	}
	cid := card["card_id"].(string)
	if s.Opens(cid, GroupID(1), clk.now()) {
		t.Error("inactive card opens")
	}
	c.do("PUT", "/access/v1/credentials/card/activate?card_id="+cid+"&user_id="+uid, "")
	_, _, add := c.do("PUT", "/access/v1/access_groups/group/user?group_id="+GroupID(1), `{"user_id":"`+uid+`"}`)
	if !s.Opens(cid, GroupID(1), clk.now()) || len(add["successful_adds"].([]any)) != 1 {
		t.Errorf("activated member does not open: %v", add)
	}
	_, _, add = c.do("PUT", "/access/v1/access_groups/group/user?group_id="+GroupID(1), `{"user_id":"nobody"}`)
	if len(add["unsuccessful_adds"].([]any)) != 1 {
		t.Errorf("unknown user added: %v", add)
	}
	if s.Opens(cid, GroupID(1), clk.now().Add(2*time.Minute)) {
		t.Error("opens after the end date")
	}
}

func TestPageTokens(t *testing.T) {
	s, c, _ := start(t)
	s.AddGroup("Garage")
	status, _, m := c.do("GET", "/access/v1/access_groups?page_size=2", "")
	next, _ := m["next_page_token"].(string)
	if status != 200 || len(m["access_groups"].([]any)) != 2 || next == "" {
		t.Fatalf("first page: %d %v", status, m)
	}
	_, _, m = c.do("GET", "/access/v1/access_groups?page_size=2&page_token="+next, "")
	if len(m["access_groups"].([]any)) != 1 || m["next_page_token"] != nil {
		t.Errorf("last page: %v", m)
	}
	if status, _, _ := c.do("GET", "/access/v1/access_users?page_token="+next, ""); status != 400 {
		t.Errorf("another listing's token: %d", status)
	}
	if status, _, _ := c.do("GET", "/access/v1/access_groups?page_size=201", ""); status != 400 {
		t.Errorf("page_size 201: %d", status)
	}
	if status, _, _ := c.do("GET", "/access/v1/access_groups?limit=2", ""); status != 400 {
		t.Errorf("unknown parameter: %d", status)
	}
	if status, _, _ := c.do("GET", "/access/v1/nothing", ""); status != 404 {
		t.Errorf("unknown path: %d", status)
	}
}

func TestRateLimitPerMinute(t *testing.T) {
	s, c, clk := start(t, WithRateLimit(3)) // the token exchange was the first
	for range 2 {
		if status, _, _ := c.do("GET", "/access/v1/access_groups", ""); status != 200 {
			t.Fatal(status)
		}
	}
	status, retry, m := c.do("GET", "/access/v1/access_groups", "")
	if status != 429 || retry != "30" || m["message"] != "You have exceeded the API rate limit" {
		t.Errorf("over the limit: %d Retry-After %q %v", status, retry, m)
	}
	clk.add(30 * time.Second) // the next minute
	if status, _, _ := c.do("GET", "/access/v1/access_groups", ""); status != 200 || s.Throttled() != 1 {
		t.Errorf("next minute: %d, throttled %d", status, s.Throttled())
	}
}

func TestDropAfterCommit(t *testing.T) {
	s, c, _ := start(t)
	s.AddFault(Fault{Method: "POST", Path: "/core/v1/user", Kind: FaultDropAfterCommit})
	req, _ := http.NewRequest("POST", c.url+"/core/v1/user", strings.NewReader(`{"external_id":"v1","last_name":"X"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-verkada-auth", c.token)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("the answer was not dropped")
	}
	if _, ok := s.User("v1"); !ok {
		t.Error("the create was not committed")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// WithSharedExternalIDs: a taken external ID makes a second user and the
// lookup answers the oldest, then the next oldest once it is deleted;
// WithDuplicateCards: a registered card is registered again. Without them
// both are refused. AddTwin plants a second user of an external ID.
func TestSharedExternalIDsAndDuplicateCards(t *testing.T) {
	user := `{"external_id":"visit-1","first_name":"Ada"}`
	card := `{"type":"HID","facility_code":"1","card_number":"7","active":true}`
	for _, lax := range []bool{false, true} {
		var opts []Option
		if lax {
			opts = append(opts, WithSharedExternalIDs(), WithDuplicateCards())
		}
		s, c, _ := start(t, opts...)
		st, _, m := c.do("POST", "/core/v1/user", user)
		if st != 200 {
			t.Fatalf("create: %d %v", st, m)
		}
		first := m["user_id"].(string)
		if st, _, m = c.do("POST", "/access/v1/credentials/card?user_id="+first, card); st != 200 {
			t.Fatalf("card: %d %v", st, m)
		}
		st, _, m = c.do("POST", "/core/v1/user", user)
		if lax != (st == 200) {
			t.Errorf("second user (lax %v): %d %v", lax, st, m)
		}
		st, _, m = c.do("POST", "/access/v1/credentials/card?user_id="+first, card)
		if lax != (st == 200) {
			t.Errorf("second card (lax %v): %d %v", lax, st, m)
		}
		twin, err := s.AddTwin(first)
		if err != nil {
			t.Fatal(err)
		}
		if u, _ := s.UserByID(twin); u.ExternalID != "visit-1" || u.FirstName != "Ada" || len(u.Cards) != 0 {
			t.Errorf("twin %+v", u)
		}
		if st, _, m = c.do("GET", "/access/v1/access_users/user?external_id=visit-1", ""); st != 200 || m["user_id"] != first {
			t.Errorf("lookup: %d %v, want the oldest %s", st, m, first)
		}
		if err := s.DeleteUser(first); err != nil {
			t.Fatal(err)
		}
		st, _, m = c.do("GET", "/access/v1/access_users/user?external_id=visit-1", "")
		if want := s.Users()[0].ID; st != 200 || m["user_id"] != want {
			t.Errorf("lookup after deleting the oldest: %d %v, want %s", st, m, want)
		}
	}
}

// FaultDelay waits through the injected sleep, then answers normally.
func TestFaultDelay(t *testing.T) {
	var mu sync.Mutex
	var slept []time.Duration
	s, c, _ := start(t, WithSleep(func(_ context.Context, d time.Duration) {
		mu.Lock()
		slept = append(slept, d)
		mu.Unlock()
	}))
	s.AddFault(Fault{Method: "GET", Path: "/access/v1/access_groups", Kind: FaultDelay, Delay: 7 * time.Second})
	for range 2 {
		if st, _, m := c.do("GET", "/access/v1/access_groups", ""); st != 200 {
			t.Fatalf("%d %v", st, m)
		}
	}
	if len(slept) != 1 || slept[0] != 7*time.Second {
		t.Errorf("slept %v, want once 7s", slept)
	}
}
