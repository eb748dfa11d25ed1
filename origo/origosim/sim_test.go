package origosim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// do sends a Mobile Identities request and returns the status and the
// decoded JSON body.
func (c *client) do(method, path, body string, hdr ...string) (int, map[string]any) {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, c.url+path, r)
	req.Header.Set("Application-ID", "TEST")
	req.Header.Set("Application-Version", "1")
	if body != "" {
		req.Header.Set("Content-Type", ContentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k := 0; k+1 < len(hdr); k += 2 {
		if hdr[k+1] == "" {
			req.Header.Del(hdr[k])
		} else {
			req.Header.Set(hdr[k], hdr[k+1])
		}
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

func start(t *testing.T, opts ...Option) (*Server, *client, *clock) {
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	s := New(append([]Option{WithClock(clk.now)}, opts...)...)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := &client{t: t, url: srv.URL}
	form := url.Values{"client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}, "grant_type": {"client_credentials"}}
	status, m := c.do("POST", TokenPath(DefaultOrganizationID), form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	if status != 200 || m["expires_in"] != 3600.0 || m["token_type"] != "Bearer" {
		t.Fatalf("token: %d %v", status, m)
	}
	c.token = m["access_token"].(string)
	return s, c, clk
}

var api = APIPath(DefaultOrganizationID)

func TestTokenHeadersAndContentType(t *testing.T) {
	s, c, clk := start(t)
	if status, _ := c.do("GET", api+"/part-number", ""); status != 200 {
		t.Fatalf("part numbers: %d", status)
	}
	if status, _ := c.do("GET", api+"/part-number", "", "Application-ID", ""); status != 400 {
		t.Errorf("no Application-ID: %d", status)
	}
	if status, _ := c.do("POST", api+"/users", `{}`, "Content-Type", "application/json"); status != 415 {
		t.Errorf("JSON content type: %d", status)
	}
	if status, _ := c.do("GET", APIPath("999")+"/part-number", ""); status != 403 {
		t.Errorf("another organisation: %d", status)
	}
	clk.add(TokenLifetime)
	if status, _ := c.do("GET", api+"/part-number", ""); status != 401 {
		t.Errorf("expired token: %d", status)
	}
	form := url.Values{"client_id": {DefaultClientID}, "client_secret": {"wrong"}, "grant_type": {"client_credentials"}}
	anon := &client{t: t, url: c.url}
	if status, _ := anon.do("POST", TokenPath(DefaultOrganizationID), form.Encode(), "Content-Type", "application/x-www-form-urlencoded"); status != 401 {
		t.Errorf("wrong secret: %d", status)
	}
	for _, r := range s.Requests() {
		if strings.Contains(r.Body, DefaultClientSecret) || strings.Contains(r.Body, "wrong") {
			t.Errorf("logged a secret: %s", r.Body)
		}
	}
}

// Users, search by externalId (JSON string values, escapes included),
// invitation, acceptance by the phone with the callback, and deletion.
func TestInvitationLifecycle(t *testing.T) {
	s, c, _ := start(t)
	var got []Event
	var mu sync.Mutex
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var evs []Event
		if r.Header.Get("Content-Type") != BatchContentType || r.Header.Get("X-Secret") != "s3cret" || json.NewDecoder(r.Body).Decode(&evs) != nil {
			w.WriteHeader(400)
			return
		}
		mu.Lock()
		got = append(got, evs...)
		mu.Unlock()
	}))
	defer cb.Close()
	s.SetCallback(cb.URL, http.Header{"X-Secret": {"s3cret"}})

	status, u := c.do("POST", api+"/users", `{"schemas":["`+SchemaUser+`"],"externalId":"a\"b","name":{"givenName":"Ada","familyName":"L"},"emails":[{"value":"ada@example.com"}]}`)
	if status != 201 || u["externalId"] != `a"b` {
		t.Fatalf("create: %d %v", status, u)
	}
	id := jsonString(u["id"])
	search := func(filter string) (int, float64) {
		body, _ := json.Marshal(map[string]any{"schemas": []string{SchemaSearch}, "filter": filter})
		status, m := c.do("POST", api+"/users/.search", string(body))
		n, _ := m["totalResults"].(float64)
		return status, n
	}
	if status, n := search(`externalId eq "a\"b"`); status != 200 || n != 1 {
		t.Fatalf("search: %d %v", status, n)
	}
	if status, _ := search(`externalId sw "a"`); status != 400 {
		t.Fatalf("unsupported operator: %d", status)
	}
	if status, _ := search(`externalId eq a`); status != 400 {
		t.Fatalf("unquoted value: %d", status)
	}
	inv := `{"schemas":["` + SchemaUserAction + `"],"` + SchemaUserAction + `":{"createInvitationCode":"Y","sendInvitationEmail":"Y","assignCredential":"Y","partNumber":"` + DefaultPartNumber + `","credential":""},"meta":{"resourceType":"PACSUser"}}`
	if status, m := c.do("POST", api+"/users/"+id+"/invitation", inv); status != 201 || len(m[SchemaInvitation].([]any)) != 1 {
		t.Fatalf("invitation: %d %v", status, m)
	}
	if cen := s.Census(); cen != (Census{Users: 1, Invitations: 1}) {
		t.Fatalf("census %+v", cen)
	}
	cred, err := s.Accept(`a"b`)
	if err != nil || cred.CardNumber != FirstCardNumber || cred.Status != CredentialIssued {
		t.Fatalf("accept: %+v %v", cred, err)
	}
	mu.Lock()
	if len(got) != 2 || got[1].Type != EventCredential || got[1].Data["userId"] != id {
		t.Fatalf("callbacks %+v", got)
	}
	mu.Unlock()
	status, m := c.do("GET", api+"/users/"+id, "")
	containers, _ := m[SchemaContainer].([]any)
	if status != 200 || len(containers) != 1 {
		t.Fatalf("user: %d %v", status, m)
	}
	if status, _ := c.do("DELETE", api+"/credential/"+cred.ID, ""); status != 204 {
		t.Fatalf("delete credential: %d", status)
	}
	if status, _ := c.do("DELETE", api+"/credential/"+cred.ID, ""); status != 404 {
		t.Fatalf("delete it again: %d", status)
	}
	if status, _ := c.do("DELETE", api+"/users/"+id, ""); status != 204 {
		t.Fatalf("delete user: %d", status)
	}
	if status, _ := c.do("GET", api+"/users/"+id, ""); status != 404 {
		t.Fatalf("deleted user: %d", status)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

// The rate limit answers 403 with the body of a permission refusal, and
// no Retry-After.
func TestRateLimit(t *testing.T) {
	s, c, clk := start(t, WithRateLimit(3))
	for k := range 2 {
		if status, _ := c.do("GET", api+"/part-number", ""); status != 200 {
			t.Fatalf("request %d: %d", k, status)
		}
	}
	status, m := c.do("GET", api+"/part-number", "")
	if status != 403 || m["detail"] != "Forbidden" || s.Throttled() != 1 {
		t.Fatalf("over the limit: %d %v", status, m)
	}
	clk.add(RateWindow)
	if status, _ := c.do("GET", api+"/part-number", ""); status != 200 {
		t.Fatalf("after the window: %d", status)
	}
}

// WithAcceptAfter: the phone accepts an invitation by itself once its
// delay has passed on the server's clock, when the next request arrives
// (before it is handled); a zero delay accepts in the invitation's
// answer; a cancelled invitation is never accepted.
func TestAcceptAfter(t *testing.T) {
	delays := map[string]time.Duration{"now": 0, "later": time.Minute, "never": time.Minute}
	s, c, clk := start(t, WithAcceptAfter(func(ext string) time.Duration { return delays[ext] }))
	invite := func(ext string) (userID, invitationID string, status string) {
		t.Helper()
		st, u := c.do("POST", api+"/users", `{"schemas":["`+SchemaUser+`"],"externalId":"`+ext+`","name":{"familyName":"P"}}`)
		if st != 201 {
			t.Fatalf("create %s: %d %v", ext, st, u)
		}
		userID = jsonString(u["id"])
		body := `{"schemas":["` + SchemaUserAction + `"],"` + SchemaUserAction + `":{"createInvitationCode":"Y","sendInvitationEmail":"N","assignCredential":"Y","partNumber":"` + DefaultPartNumber + `"}}`
		st, m := c.do("POST", api+"/users/"+userID+"/invitation", body)
		invs, _ := m[SchemaInvitation].([]any)
		if st != 201 || len(invs) != 1 {
			t.Fatalf("invite %s: %d %v", ext, st, m)
		}
		inv := invs[0].(map[string]any)
		return userID, jsonString(inv["id"]), inv["status"].(string)
	}
	if _, _, st := invite("now"); st != InvitationAcknowledged {
		t.Fatalf("a zero delay answered the invitation %s", st)
	}
	laterID, _, st := invite("later")
	if st != InvitationPending {
		t.Fatalf("a delayed invitation answered %s", st)
	}
	_, neverInv, _ := invite("never")
	if st, _ := c.do("DELETE", api+"/invitation/"+neverInv, ""); st != 204 {
		t.Fatalf("cancel: %d", st)
	}
	issued := func(ext string) bool {
		u, _ := s.User(ext)
		for _, cr := range u.Credentials {
			if cr.Status == CredentialIssued && cr.CardNumber != 0 {
				return true
			}
		}
		return false
	}
	clk.add(59 * time.Second)
	if st, _ := c.do("GET", api+"/users/"+laterID, ""); st != 200 || issued("later") {
		t.Fatalf("accepted before its delay (status %d)", st)
	}
	clk.add(time.Second)
	if !issued("now") || issued("later") {
		t.Fatal("the phone accepted with no request arriving")
	}
	code, m := c.do("GET", api+"/users/"+laterID, "")
	containers, _ := m[SchemaContainer].([]any)
	if code != 200 || len(containers) != 1 || !issued("later") {
		t.Fatalf("not accepted once due: %d %v", code, m)
	}
	if issued("never") {
		t.Fatal("a cancelled invitation was accepted")
	}
	if cen := s.Census(); cen.Invitations != 0 || cen.Credentials != 2 {
		t.Fatalf("census %+v", cen)
	}
}
