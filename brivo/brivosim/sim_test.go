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
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// client speaks to the simulator the way the Brivo docs describe.
type client struct {
	t     *testing.T
	base  string
	token string
	key   string
}

func start(t *testing.T, opts ...brivosim.Option) (*brivosim.Server, *client, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	sim := brivosim.New(append([]brivosim.Option{brivosim.WithClock(clk.Now)}, opts...)...)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c := &client{t: t, base: srv.URL, key: brivosim.APIKey}
	return sim, c, clk
}

func (c *client) tokenRequest(form url.Values, basicID, basicSecret string) (int, map[string]any) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+brivosim.TokenPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("api-key", c.key)
	if basicID != "" {
		req.SetBasicAuth(basicID, basicSecret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func (c *client) login() (access, refresh string) {
	c.t.Helper()
	st, m := c.tokenRequest(url.Values{"grant_type": {"password"}, "username": {brivosim.Username}, "password": {brivosim.Password}},
		brivosim.ClientID, brivosim.ClientSecret)
	if st != 200 {
		c.t.Fatalf("login: %d %v", st, m)
	}
	c.token = m["access_token"].(string)
	return c.token, m["refresh_token"].(string)
}

func (c *client) do(method, path, body string) (int, string, http.Header) {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, c.base+brivosim.APIPrefix+path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("api-key", c.key)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func (c *client) want(method, path, body string, status int, contains string) string {
	c.t.Helper()
	st, got, _ := c.do(method, path, body)
	if st != status || !strings.Contains(got, contains) {
		c.t.Fatalf("%s %s: %d %s, want %d containing %q", method, path, st, got, status, contains)
	}
	return got
}

func TestOAuth(t *testing.T) {
	sim, c, clk := start(t)
	form := url.Values{"grant_type": {"password"}, "username": {brivosim.Username}, "password": {brivosim.Password}}
	for _, tc := range []struct {
		name       string
		form       url.Values
		id, secret string
		status     int
		errField   string
	}{
		{"wrong password", url.Values{"grant_type": {"password"}, "username": {brivosim.Username}, "password": {"x"}}, brivosim.ClientID, brivosim.ClientSecret, 401, "invalid_grant"},
		{"wrong client secret", form, brivosim.ClientID, "x", 401, "Unauthorized"},
		{"no Basic header", form, "", "", 401, "unauthorized"},
		{"unknown grant", url.Values{"grant_type": {"client_credentials"}}, brivosim.ClientID, brivosim.ClientSecret, 400, "unsupported_grant_type"},
	} {
		st, m := c.tokenRequest(tc.form, tc.id, tc.secret)
		if st != tc.status || m["error"] != tc.errField {
			t.Errorf("%s: %d %v", tc.name, st, m)
		}
	}
	// Grant parameters in the URL are refused (they would leak the password).
	req, _ := http.NewRequest(http.MethodPost, c.base+brivosim.TokenPath+"?"+form.Encode(), nil)
	req.Header.Set("api-key", brivosim.APIKey)
	req.SetBasicAuth(brivosim.ClientID, brivosim.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("grant in query: %d", resp.StatusCode)
	}

	access, refresh := c.login()
	c.want("GET", "/groups", "", 200, `"Lobby"`)
	clk.Advance(301 * time.Second)
	c.want("GET", "/groups", "", 401, `"invalid_token"`)
	// Refresh rotates the refresh token.
	st, m := c.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, brivosim.ClientID, brivosim.ClientSecret)
	if st != 200 || m["access_token"] == access || m["expires_in"].(float64) != 300 || m["token_type"] != "bearer" {
		t.Fatalf("refresh: %d %v", st, m)
	}
	st, _ = c.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, brivosim.ClientID, brivosim.ClientSecret)
	if st != 401 {
		t.Errorf("reused refresh token: %d", st)
	}
	c.token = m["access_token"].(string)
	c.want("GET", "/groups", "", 200, `"count":2`)
	sim.ExpireAccessTokens()
	c.want("GET", "/groups", "", 401, `invalid_token`)
	// The request log holds no secret.
	for _, r := range sim.Requests() {
		for _, s := range []string{brivosim.Password, brivosim.ClientSecret, refresh, access} {
			if strings.Contains(r.Body+r.RawQuery+r.Path, s) {
				t.Fatalf("request log holds a secret: %+v", r)
			}
		}
	}
}

func TestGatewayAndStrictness(t *testing.T) {
	_, c, _ := start(t)
	c.login()
	c.want("GET", "/nothing-here", "", 596, "<h1>596 Service Not Found</h1>")
	c.want("PATCH", "/groups", "", 596, "Service Not Found")
	c.want("GET", "/groups?pageSize=101", "", 400, `"code":400`)
	c.want("GET", "/groups?sort=name", "", 400, "Unknown query parameter")
	c.want("GET", "/groups?filter=name__eq", "", 400, "Invalid filter format")
	c.want("GET", "/groups?filter=id__eq:1", "", 400, "Invalid filter format")
	c.want("POST", "/users", `{"firstName":"A","lastName":"B","nickname":"x"}`, 400, "unknown field")
	c.want("POST", "/users", `{"firstName":"A"}`, 400, "lastName")
	key := c.key
	c.key = ""
	c.want("GET", "/groups", "", 403, "<h1>Developer Inactive</h1>")
	c.key = key
	token := c.token
	c.token = ""
	c.want("GET", "/groups", "", 401, "Full authentication is required")
	c.token = token
	st, _, _ := c.do("GET", "/users/1/external/../../groups", "")
	if st == 200 {
		t.Error("dot segments resolved into another route")
	}
}

func TestUsersGroupsCredentialsAndOracle(t *testing.T) {
	sim, c, clk := start(t)
	c.login()
	body := c.want("POST", "/users", `{"firstName":"first","lastName":"last","externalId":1,"suspended":false}`, 200, `"externalId":"1"`)
	var u struct{ ID int64 }
	_ = json.Unmarshal([]byte(body), &u)
	uid := strconv.FormatInt(u.ID, 10)
	c.want("GET", "/users/1/external", "", 200, `"id":`+uid)
	c.want("GET", "/users/2/external", "", 404, `"message":"Requested user not found"`)
	c.want("POST", "/users", `{"firstName":"x","lastName":"y","externalId":"1"}`, 400, "External ID")

	// The credential recorded in real traffic: facility 1, card 200.
	body = c.want("POST", "/credentials", `{"credentialFormat":{"id":100},"referenceId":"200","fieldValues":[{"id":1,"value":"200"},{"id":2,"value":"1"}]}`,
		201, `"encodedCredential":"2020190"`)
	if !strings.Contains(body, `{"id":1,"name":"card_number","value":"200"}`) || !strings.Contains(body, `"size":26`) {
		t.Errorf("create answer %s", body)
	}
	var cred struct{ ID int64 }
	_ = json.Unmarshal([]byte(body), &cred)
	cid := strconv.FormatInt(cred.ID, 10)
	c.want("POST", "/credentials", `{"credentialFormat":{"id":100},"referenceId":"x","encodedCredential":"2020190"}`, 400, "Duplicate Credential Found")
	c.want("POST", "/credentials", `{"credentialFormat":{"id":100},"referenceId":"x","encodedCredential":"2020191"}`, 400, "Credential not valid") // parity
	c.want("POST", "/credentials", `{"credentialFormat":{"id":100},"referenceId":"x","fieldValues":[{"id":1,"value":"70000"},{"id":2,"value":"1"}]}`, 400, "Credential not valid")
	c.want("GET", "/credentials?filter=reference_id__eq:200;facility_code__eq:1;status__eq:unassigned", "", 200, `"name":"acs.cards.format.card_number"`)
	c.want("GET", "/credentials?filter=reference_id__eq:200;facility_code__eq:2", "", 200, `"count":0`)

	lobby, floor := "11906588", "11906589"
	c.want("PUT", "/users/"+uid+"/credentials/"+cid, `{"effectiveFrom":"2026-03-02","effectiveTo":"2026-03-02T17:00:00-05:00"}`, 204, "")
	got := c.want("GET", "/users/"+uid+"/credentials", "", 200, `"effectiveFrom":"2026-03-02T00:00:00Z","effectiveTo":"2026-03-02T22:00:00Z"`)
	if !strings.Contains(got, `"credentialFieldId":1`) {
		t.Errorf("user credential listing %s", got)
	}
	c.want("GET", "/credentials?filter=status__eq:assigned", "", 200, `"count":1`)
	c.want("PUT", "/groups/"+lobby+"/users/"+uid, "", 204, "")
	c.want("PUT", "/groups/1/users/"+uid, "", 404, "Group not found")
	c.want("DELETE", "/credentials/"+cid, "", 400, "unassign it first")

	at := clk.Now().Add(time.Hour)
	if !sim.Opens(cid, lobby, at) {
		t.Error("oracle: assigned member does not open")
	}
	if sim.Opens(cid, floor, at) {
		t.Error("oracle: opens a group the user is not in")
	}
	if sim.Opens(cid, lobby, time.Date(2026, 3, 2, 22, 0, 0, 0, time.UTC)) || sim.Opens(cid, lobby, time.Date(2026, 3, 1, 23, 59, 59, 0, time.UTC)) {
		t.Error("oracle: opens outside [effectiveFrom, effectiveTo)")
	}
	c.want("PUT", "/users/"+uid+"/suspended", `{"suspended":true}`, 200, `"suspended":true`)
	if sim.Opens(cid, lobby, at) {
		t.Error("oracle: suspended user opens")
	}
	c.want("PUT", "/users/"+uid+"/suspended", `{"suspended":false}`, 200, `"suspended":false`)
	c.want("DELETE", "/users/"+uid, "", 204, "")
	if sim.Opens(cid, lobby, at) {
		t.Error("oracle: deleted user's credential opens")
	}
	if cen := sim.Census(); cen != (brivosim.Census{Users: 0, Credentials: 1}) {
		t.Errorf("census %+v: a deleted user's credential stays, unassigned", cen)
	}
	c.want("DELETE", "/credentials/"+cid, "", 204, "")
	c.want("DELETE", "/credentials/"+cid, "", 404, "No credential could be retrieved for credential id: "+cid)
}

func TestGroupLimitAndPaging(t *testing.T) {
	sim, c, _ := start(t)
	c.login()
	uid, _ := sim.AddUser("A", "B", "ext")
	u := strconv.FormatInt(uid, 10)
	for i := range 17 {
		g := sim.AddGroup("G" + strconv.Itoa(i))
		want := 204
		if i == 16 {
			want = 400
		}
		c.want("PUT", "/groups/"+g.GroupID()+"/users/"+u, "", want, "")
	}
	got := c.want("GET", "/groups?offset=10&pageSize=5", "", 200, `"offset":10,"pageSize":5,"count":19`)
	var pg struct{ Data []struct{ ID int64 } }
	_ = json.Unmarshal([]byte(got), &pg)
	if len(pg.Data) != 5 {
		t.Errorf("page of %d", len(pg.Data))
	}
	c.want("GET", "/users/"+u+"/groups", "", 200, `"count":16`)
	c.want("GET", "/groups?filter=name__eq:g1", "", 200, `"count":8`) // G1, G10–G16: contains, case-insensitive
}

func TestFaultsAndRateLimit(t *testing.T) {
	sim, c, clk := start(t, brivosim.WithRateLimit(3))
	c.login()
	for range 3 {
		c.want("GET", "/groups", "", 200, "")
	}
	_, body, h := c.do("GET", "/groups", "")
	if !strings.Contains(body, "<h1>Developer Over Qps</h1>") || h.Get("Retry-After") != "1" || h.Get("X-Mashery-Error-Code") != "ERR_403_DEVELOPER_OVER_QPS" {
		t.Errorf("over the limit: %s %v", body, h)
	}
	if sim.Throttled() != 1 {
		t.Errorf("throttled %d", sim.Throttled())
	}
	clk.Advance(time.Second)
	sim.SetRateLimit(0)

	sim.AddFault(brivosim.Fault{Method: "GET", Path: "/groups/*", Kind: brivosim.FaultStatus, Status: 503, Times: 2})
	c.want("GET", "/groups/11906588", "", 503, `"code":503`)
	c.want("GET", "/groups/11906588", "", 503, "")
	c.want("GET", "/groups/11906588", "", 200, "Lobby")

	sim.AddFault(brivosim.Fault{Method: "POST", Path: "/users", Kind: brivosim.FaultDropAfterCommit})
	req, _ := http.NewRequest("POST", c.base+brivosim.APIPrefix+"/users", strings.NewReader(`{"firstName":"a","lastName":"b","externalId":"dropped"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("api-key", c.key)
	req.Header.Set("Authorization", "bearer "+c.token)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("dropped connection answered")
	}
	if _, ok := sim.User("dropped"); !ok {
		t.Error("change was not committed before the drop")
	}
	log := sim.Requests()
	if last := log[len(log)-1]; last.Status != 0 || last.Method != "POST" {
		t.Errorf("log of the dropped request %+v", last)
	}

	sim.AddFault(brivosim.Fault{Path: "/groups", Kind: brivosim.FaultExpireToken})
	c.want("GET", "/groups", "", 401, "invalid_token")
}

func TestMobilePassInvitations(t *testing.T) {
	sim, c, _ := start(t)
	c.login()
	uid, _ := sim.AddUser("A", "B", "v")
	u := strconv.FormatInt(uid, 10)
	path := "/users/" + u + "/credentials/digital-invitations"
	c.want("POST", path+"?sendInvitationEmail=true&language=en", `{"referenceId":"a@example.com"}`, 200, `"status":"PENDING"`)
	c.want("POST", path+"?language=it", `{"referenceId":"a@example.com"}`, 400, "language")
	c.want("POST", path, `{"referenceId":"a@example.com"}`, 409, "already a pending invitation")
	c.want("GET", path+"?filter=status__eq:pending", "", 200, `"count":1`)
	c.want("DELETE", path, "", 200, `"status":"CANCELLED"`)
	c.want("GET", path+"?filter=status__eq:pending", "", 200, `"count":0`)
}
