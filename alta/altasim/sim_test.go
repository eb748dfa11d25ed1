package altasim

import (
	"bytes"
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

	"github.com/acsbridge/acsbridge/wiegand"
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
	t    *testing.T
	srv  *httptest.Server
	auth string
}

func newClient(t *testing.T, opts ...Option) (*client, *Server, *clock) {
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	s := New(append([]Option{WithClock(clk.now)}, opts...)...)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &client{t: t, srv: srv}, s, clk
}

// do sends a request and returns the status and the decoded JSON body.
func (c *client) do(method, path, body string) (int, map[string]any, http.Header) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, c.srv.URL+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			c.t.Fatalf("%s %s: body %q is not JSON", method, path, b)
		}
	}
	return resp.StatusCode, m, resp.Header
}

func (c *client) login() string {
	c.t.Helper()
	st, m, _ := c.do("POST", LoginPath, `{"email":"`+Email+`","password":"`+Password+`"}`)
	if st != 201 {
		c.t.Fatalf("login: %d %v", st, m)
	}
	tok := m["data"].(map[string]any)["token"].(string)
	c.auth = "Bearer " + tok
	return tok
}

const org = "/orgs/5231"

func data(m map[string]any) map[string]any { return m["data"].(map[string]any) }

func TestLogin(t *testing.T) {
	c, s, _ := newClient(t)
	st, m, _ := c.do("POST", LoginPath, `{"email":"`+Email+`","password":"`+Password+`"}`)
	d := data(m)
	scopes := d["tokenScopeList"].([]any)[0].(map[string]any)
	if st != 201 || d["token"] == "" || d["expiresAt"] != "2026-03-02T10:00:00.000Z" || scopes["org"].(map[string]any)["id"] != float64(OrgID) {
		t.Errorf("login: %d %v", st, m)
	}
	for body, want := range map[string]int{
		`{"email":"` + Email + `","password":"nope"}`:                     401,
		`{"email":"` + Email + `"}`:                                       400,
		`{"email":"` + Email + `","password":"x","extra":1}`:              400,
		`{"email":"` + Email + `","password":"x","mfa":{"totpCode":"1"}}`: 401,
	} {
		if st, m, _ := c.do("POST", LoginPath, body); st != want || m["message"] == "" {
			t.Errorf("%s: %d %v, want %d", body, st, m, want)
		}
	}
	if st, _, _ := c.do("POST", LoginPath+"?password=x", `{"email":"a@b","password":"x"}`); st != 400 {
		t.Errorf("credentials in the query: %d", st)
	}
	for _, r := range s.Requests() {
		if strings.Contains(r.Body, Password) || strings.Contains(r.Body, "nope") {
			t.Errorf("the request log holds a password: %q", r.Body)
		}
	}
}

func TestAuthSchemesAndExpiry(t *testing.T) {
	for _, tc := range []struct {
		scheme       TokenScheme
		bearer, bare int
	}{{SchemeEither, 200, 200}, {SchemeBearer, 200, 401}, {SchemeBare, 401, 200}} {
		c, _, clk := newClient(t, WithTokenScheme(tc.scheme))
		tok := c.login()
		c.auth = "Bearer " + tok
		st1, _, _ := c.do("GET", org+"/groups", "")
		c.auth = tok
		st2, _, _ := c.do("GET", org+"/groups", "")
		if st1 != tc.bearer || st2 != tc.bare {
			t.Errorf("scheme %d: bearer %d, bare %d", tc.scheme, st1, st2)
		}
		c.auth = BasicHeader(DefaultCredentials())
		if st, _, _ := c.do("GET", org+"/groups", ""); st != 200 {
			t.Errorf("Basic: %d", st)
		}
		c.auth = "Bearer " + tok
		if tc.scheme == SchemeBare {
			c.auth = tok
		}
		clk.add(time.Hour)
		if st, m, _ := c.do("GET", org+"/groups", ""); st != 401 || m["name"] != "TokenExpiredError" {
			t.Errorf("expired: %d %v", st, m)
		}
	}
}

func TestRefreshReplacesToken(t *testing.T) {
	c, _, _ := newClient(t)
	old := c.login()
	st, m, _ := c.do("POST", RefreshPath, "")
	if st != 201 {
		t.Fatalf("refresh: %d %v", st, m)
	}
	fresh := data(m)["token"].(string)
	c.auth = "Bearer " + old
	if st, _, _ := c.do("GET", org+"/groups", ""); st != 401 {
		t.Errorf("old token after refresh: %d", st)
	}
	c.auth = "Bearer " + fresh
	if st, _, _ := c.do("GET", org+"/groups", ""); st != 200 {
		t.Errorf("new token: %d", st)
	}
	if st, _, _ := c.do("GET", "/orgs/1/groups", ""); st != 403 {
		t.Errorf("another org: %d", st)
	}
}

func TestSoftDeleteBringsBackArchivedUser(t *testing.T) {
	c, s, clk := newClient(t)
	c.login()
	st, m, _ := c.do("POST", org+"/users", `{"identity":{"email":"v@x.example","firstName":"Ann"},"externalId":"visit-1","startDate":"2026-03-02T09:00:00Z","endDate":"2026-03-02T17:00:00Z"}`)
	if st != 201 {
		t.Fatalf("create: %d %v", st, m)
	}
	uid := strconv.Itoa(int(data(m)["id"].(float64)))
	if st, _, _ := c.do("POST", org+"/users", `{"identity":{"email":"V@X.example"}}`); st != 409 {
		t.Errorf("a second live user with the e-mail: %d", st)
	}
	st, m, _ = c.do("POST", org+"/users/"+uid+"/credentials", `{"credentialTypeId":2,"card":{"cardFormatId":1,"facilityCode":"1","cardId":"200"}}`)
	if st != 201 {
		t.Fatalf("credential: %d %v", st, m)
	}
	if st, _, _ := c.do("DELETE", org+"/users/"+uid, ""); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if st, _, _ := c.do("GET", org+"/users/"+uid, ""); st != 404 {
		t.Errorf("deleted user still served: %d", st)
	}
	if _, m, _ := c.do("GET", org+"/users", ""); m["totalCount"] != float64(0) {
		t.Errorf("deleted user listed: %v", m)
	}
	clk.add(48 * time.Hour)
	c.login() // the token expired meanwhile
	st, m, _ = c.do("POST", org+"/users", `{"identity":{"email":"v@x.example","firstName":"Someone"},"externalId":"visit-2"}`)
	d := data(m)
	if st != 201 || strconv.Itoa(int(d["id"].(float64))) != uid || d["createdAt"] != "2026-03-02T09:00:00.000Z" ||
		d["externalId"] != "visit-1" || d["identity"].(map[string]any)["firstName"] != "Ann" {
		t.Errorf("re-creation: %d %v, want the archived user as it was", st, d)
	}
	if n := len(s.Credentials(mustInt(uid))); n != 1 {
		t.Errorf("%d credentials came back, want the stale one", n)
	}
}

func mustInt(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

func TestGroupsAndCredentials(t *testing.T) {
	c, s, clk := newClient(t, WithUniqueCards())
	c.login()
	_, m, _ := c.do("POST", org+"/users", `{"identity":{"email":"a@x.example"}}`)
	a := strconv.Itoa(int(data(m)["id"].(float64)))
	_, m, _ = c.do("POST", org+"/users", `{"identity":{"email":"b@x.example"}}`)
	b := strconv.Itoa(int(data(m)["id"].(float64)))
	for body, want := range map[string]int{
		`{"groupIds":[4822,5729]}`: 204, `{"groupIds":[1]}`: 400, `{}`: 400,
	} {
		if st, _, _ := c.do("PUT", org+"/users/"+a+"/groupIds", body); st != want {
			t.Errorf("PUT groupIds %s: %d, want %d", body, st, want)
		}
	}
	if st, _, _ := c.do("PATCH", org+"/users/"+a+"/groupIds", `{"remove":[4822]}`); st != 204 {
		t.Errorf("PATCH groupIds: %d", st)
	}
	fr, _ := wiegand.H10301.Encode(1, 200)
	raw := strconv.FormatUint(fr.Value, 10)
	for _, tc := range []struct {
		body string
		want int
	}{
		{`{"card":{"number":"1"}}`, 400},                                       // no type
		{`{"credentialTypeId":1,"card":{"number":"1"}}`, 400},                  // type is mobile
		{`{"credentialTypeId":2,"card":{"cardFormatId":1,"number":"3"}}`, 400}, // parity fails
		{`{"credentialTypeId":2,"card":{"cardFormatId":1,"facilityCode":"1","cardId":"200","number":"5"}}`, 400},
		{`{"credentialTypeId":2,"card":{"cardFormatId":1,"facilityCode":"1","cardId":"200","number":"` + raw + `"},"startDate":"2026-03-02T09:00:00Z","endDate":"2026-03-02T10:00:00Z"}`, 201},
		{`{"credentialTypeId":2,"card":{"cardFormatId":1,"number":"` + raw + `"}}`, 201}, // the same card again, same user
	} {
		if st, m, _ := c.do("POST", org+"/users/"+a+"/credentials", tc.body); st != tc.want {
			t.Errorf("credential %s: %d %v, want %d", tc.body, st, m, tc.want)
		}
	}
	if st, _, _ := c.do("POST", org+"/users/"+b+"/credentials", `{"credentialTypeId":2,"card":{"cardFormatId":1,"number":"`+raw+`"}}`); st != 409 {
		t.Errorf("a card held by another user, WithUniqueCards: %d", st)
	}
	_, m, _ = c.do("GET", org+"/credentials?q=200", "")
	items := m["data"].([]any)
	if len(items) != 2 || items[0].(map[string]any)["user"].(map[string]any)["id"] != float64(mustInt(a)) {
		t.Errorf("organisation listing: %v", m)
	}
	cred := items[0].(map[string]any)
	k := cred["card"].(map[string]any)
	if k["number"] != raw || k["cardId"] != "200" || k["facilityCode"] != "1" || k["numBits"] != float64(26) {
		t.Errorf("card %v", k)
	}
	cid := strconv.Itoa(int(cred["id"].(float64)))
	if !s.Opens(cid, "5729", clk.now()) || s.Opens(cid, "4822", clk.now()) {
		t.Error("oracle disagrees with the groups set")
	}
	clk.add(time.Hour)
	if s.Opens(cid, "5729", clk.now()) {
		t.Error("opens after the credential's endDate")
	}
	c.login()
	if st, _, _ := c.do("DELETE", org+"/users/"+b+"/credentials/"+cid, ""); st != 404 {
		t.Errorf("another user's credential deleted: %d", st)
	}
	if st, _, _ := c.do("GET", org+"/users?bogus=1", ""); st != 400 {
		t.Errorf("unknown query parameter: %d", st)
	}
}

func TestActivityCursorIsBoundToFilter(t *testing.T) {
	c, s, clk := newClient(t)
	c.login()
	for i := range 10 {
		s.AddActivity(Activity{Time: clk.now().Add(time.Duration(i) * time.Second), EntryID: 42, Result: "granted"})
	}
	clk.add(time.Minute)
	from, to := clk.now().Add(-time.Hour).Unix(), clk.now().Unix()
	filter := "uiData.time:(" + strconv.FormatInt(from, 10) + "-" + strconv.FormatInt(to, 10) + ")"
	st, m, _ := c.do("GET", org+"/reports/activity/events?limit=4&filter="+filter, "")
	if st != 200 || len(m["data"].([]any)) != 6 {
		t.Fatalf("first page: %d, %d rows (limit 4 is a suggestion: 6 expected)", st, len(m["data"].([]any)))
	}
	cur := m["cursors"].(map[string]any)
	if cur["hasNextPage"] != true {
		t.Fatal("no next page")
	}
	next := cur["nextCursor"].(string)
	if st, _, _ := c.do("GET", org+"/reports/activity/events?limit=4&cursor="+next+"&filter=uiData.time:(0-"+strconv.FormatInt(to, 10)+")", ""); st != 400 {
		t.Errorf("changed filter with a cursor: %d", st)
	}
	st, m, _ = c.do("GET", org+"/reports/activity/events?limit=4&cursor="+next+"&filter="+filter, "")
	if st != 200 || len(m["data"].([]any)) != 4 || m["cursors"].(map[string]any)["hasNextPage"] != false {
		t.Errorf("second page: %d %v", st, m["cursors"])
	}
	if st, _, _ := c.do("GET", org+"/reports/activity/events?filter=time>5", ""); st != 400 {
		t.Errorf("malformed filter: %d", st)
	}
}

func TestFaults(t *testing.T) {
	c, s, _ := newClient(t, WithRetryAfter(3))
	c.login()
	s.AddFault(Fault{Method: "GET", Path: "/groups", Kind: FaultRateLimit})
	if st, _, h := c.do("GET", org+"/groups", ""); st != 429 || h.Get("Retry-After") != "3" {
		t.Errorf("rate limit fault: %d %q", st, h.Get("Retry-After"))
	}
	s.AddFault(Fault{Path: "/groups", Kind: FaultExpireToken})
	if st, _, _ := c.do("GET", org+"/groups", ""); st != 401 {
		t.Errorf("expire-token fault: %d", st)
	}
	c.login()
	s.AddFault(Fault{Method: "POST", Path: "/users", Kind: FaultDropAfterCommit})
	req, _ := http.NewRequest("POST", c.srv.URL+org+"/users", strings.NewReader(`{"identity":{"email":"d@x.example"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", c.auth)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Error("dropped answer arrived")
	}
	if s.Census().Users != 1 {
		t.Errorf("census %+v: the dropped create was not committed", s.Census())
	}
	if st, _, _ := c.do("GET", org+"/groups", ""); st != 200 {
		t.Errorf("after faults: %d", st)
	}
}

// WithSharedEmails: a second creation with a live user's e-mail makes a
// second user (the default answers 409); once neither is live, the e-mail
// brings the archived user back. AddTwin plants a second user of one
// visit whatever the option.
func TestSharedEmailsAndTwins(t *testing.T) {
	body := `{"identity":{"email":"v@x.invalid"},"externalId":"visit-1"}`
	for _, shared := range []bool{false, true} {
		var opts []Option
		if shared {
			opts = append(opts, WithSharedEmails())
		}
		c, s, _ := newClient(t, opts...)
		c.login()
		st, m, _ := c.do("POST", org+"/users", body)
		if st != 201 {
			t.Fatalf("create: %d %v", st, m)
		}
		first := int64(data(m)["id"].(float64))
		st, m, _ = c.do("POST", org+"/users", body)
		switch {
		case !shared && st != 409:
			t.Errorf("second create: %d %v, want 409", st, m)
		case shared && (st != 201 || int64(data(m)["id"].(float64)) == first):
			t.Errorf("second create with shared e-mails: %d %v, want a new user", st, m)
		}
		twin, err := s.AddTwin(first)
		if err != nil {
			t.Fatal(err)
		}
		if u, _ := s.UserByID(twin); u.Email != "v@x.invalid" || u.ExternalID != "visit-1" {
			t.Errorf("twin %+v", u)
		}
		st, m, _ = c.do("GET", org+"/users?q=v@x.invalid", "")
		want := 2
		if shared {
			want = 3
		}
		if st != 200 || len(m["data"].([]any)) != want {
			t.Errorf("search: %d %v, want %d users", st, m, want)
		}
		for _, u := range s.Users() {
			if err := s.DeleteUser(u.ID); err != nil {
				t.Fatal(err)
			}
		}
		if st, m, _ = c.do("POST", org+"/users", body); st != 201 || int64(data(m)["id"].(float64)) != first {
			t.Errorf("create after deleting every user: %d %v, want user %d back", st, m, first)
		}
	}
}

// FaultDelay waits through the injected sleep, then answers normally.
func TestFaultDelay(t *testing.T) {
	var slept []time.Duration
	var mu sync.Mutex
	c, s, _ := newClient(t, WithSleep(func(_ context.Context, d time.Duration) {
		mu.Lock()
		slept = append(slept, d)
		mu.Unlock()
	}))
	c.login()
	s.AddFault(Fault{Method: "GET", Path: "/groups", Kind: FaultDelay, Delay: 7 * time.Second})
	if st, m, _ := c.do("GET", org+"/groups", ""); st != 200 {
		t.Fatalf("delayed request: %d %v", st, m)
	}
	if st, _, _ := c.do("GET", org+"/groups", ""); st != 200 {
		t.Fatalf("second request: %d", st)
	}
	if len(slept) != 1 || slept[0] != 7*time.Second {
		t.Errorf("slept %v, want once 7s", slept)
	}
}
