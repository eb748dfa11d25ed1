package verkada

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/verkada/verkadasim"
)

// headerLog records the auth headers of every request before the
// simulator answers it.
type headerLog struct {
	mu   sync.Mutex
	seen []seenRequest
}

type seenRequest struct {
	method, path, query string
	apiKey, auth, ctype string
	body                string
}

func (l *headerLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		l.mu.Lock()
		l.seen = append(l.seen, seenRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("x-api-key"),
			r.Header.Get("x-verkada-auth"), r.Header.Get("Content-Type"), string(b)})
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func TestProvisionRequestShapes(t *testing.T) {
	e := newEnv(t, nil)
	g := testGrant(1, e.clk.Now(), e.levels()[0])
	g.Person.Company = "Analytical Engines Ltd"
	p, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	uid := p.Cardholder.ID
	reqs := e.sim.Requests()
	wantCalls(t, calls(reqs),
		"POST /token",
		"GET /access/v1/access_groups",
		"GET /access/v1/access_users/user?external_id=visit-1",
		"POST /core/v1/user",
		"POST /access/v1/credentials/card?user_id="+uid,
		"GET /access/v1/access_users/user?external_id=visit-1",
		"PUT /access/v1/access_users/user/start_date?user_id="+uid,
		"PUT /access/v1/access_users/user/end_date?user_id="+uid,
		"PUT /access/v1/access_groups/group/user?group_id="+e.levels()[0],
	)
	bodies := map[string]map[string]any{}
	for _, r := range reqs {
		if r.Body == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
			t.Fatalf("%s %s: body %q is not a JSON object", r.Method, r.Path, r.Body)
		}
		if r.ContentType != "application/json" {
			t.Errorf("%s %s: Content-Type %q", r.Method, r.Path, r.ContentType)
		}
		bodies[r.Method+" "+r.Path] = m
	}
	wantBody(t, bodies["POST /core/v1/user"], map[string]any{"external_id": "visit-1", "first_name": "Ada",
		"last_name": "Visitor1", "email": "ada1@example.com", "company_name": "Analytical Engines Ltd", "department": DefaultMarker})
	// Strings for the card fields, as in Verkada's sample; active sent.
	wantBody(t, bodies["POST /access/v1/credentials/card"], map[string]any{"type": "Standard 26-bit Wiegand",
		"facility_code": "1", "card_number": "201", "active": true})
	wantBody(t, bodies["PUT /access/v1/access_users/user/start_date"], map[string]any{"start_date": itoa(int(g.ValidFrom.Unix()))})
	wantBody(t, bodies["PUT /access/v1/access_users/user/end_date"], map[string]any{"end_date": itoa(int(g.ValidUntil.Unix()))})
	wantBody(t, bodies["PUT /access/v1/access_groups/group/user"], map[string]any{"user_id": uid})
	if ci, _ := e.sim.Card(p.Credential.ID); !ci.Active {
		t.Error("card stored inactive")
	}
}

func wantBody(t *testing.T, got, want map[string]any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("body\n  got  %s\n  want %s", g, w)
	}
}

// The API key travels only in x-api-key on POST /token; every other call
// carries the token in x-verkada-auth, and neither is ever in a URL.
func TestAuthHeaders(t *testing.T) {
	var log headerLog
	clk := newFakeClock()
	sim := verkadasim.New(verkadasim.WithClock(clk.Now))
	srv := httptest.NewServer(log.wrap(sim))
	defer srv.Close()
	p, err := New(Config{BaseURL: srv.URL, APIKey: verkadasim.DefaultAPIKey}, testOptions(clk)...)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := p.Provision(t.Context(), testGrant(1, clk.Now(), verkadasim.GroupID(1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Revoke(t.Context(), pr.Credential); err != nil {
		t.Fatal(err)
	}
	tok := p.tokens.current()
	for _, s := range log.seen {
		if strings.Contains(s.query, verkadasim.DefaultAPIKey) || strings.Contains(s.query, tok) || strings.Contains(s.path, tok) {
			t.Errorf("%s %s: a secret is in the URL", s.method, s.path)
		}
		if s.path == verkadasim.TokenPath {
			if s.apiKey != verkadasim.DefaultAPIKey || s.auth != "" || s.method != http.MethodPost || s.body != "" {
				t.Errorf("token exchange: method %s, x-api-key set %v, x-verkada-auth set %v, body %q",
					s.method, s.apiKey != "", s.auth != "", s.body)
			}
			continue
		}
		if s.apiKey != "" || s.auth != tok {
			t.Errorf("%s %s: x-api-key set %v, token sent %v", s.method, s.path, s.apiKey != "", s.auth == tok)
		}
	}
}

func TestRepeatProvisionReadsOnce(t *testing.T) {
	e := newEnv(t, nil)
	g := testGrant(1, e.clk.Now(), e.levels()[0])
	if _, err := e.p.Provision(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	p, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	wantCalls(t, calls(e.sim.Requests()), "GET /access/v1/access_users/user?external_id=visit-1")
	if p.Created {
		t.Error("repeat reports Created")
	}
}

func TestRevokeRequestShapes(t *testing.T) {
	e := newEnv(t, nil)
	g := testGrant(1, e.clk.Now(), e.levels()[0])
	p, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	uid, cid := p.Cardholder.ID, p.Credential.ID
	e.sim.ResetRequests()
	if err := e.p.Revoke(t.Context(), p.Credential); err != nil {
		t.Fatal(err)
	}
	// The external ID is looked up (its user's cards show duplicates);
	// it answers the referenced user, so no listing is needed.
	wantCalls(t, calls(e.sim.Requests()),
		"GET /access/v1/access_users/user?external_id=visit-1",
		"DELETE /access/v1/credentials/card?card_id="+cid+"&user_id="+uid)

	// Already gone: the lookup shows no card of the reference.
	e.sim.ResetRequests()
	if err := e.p.Revoke(t.Context(), p.Credential); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, calls(e.sim.Requests()), "GET /access/v1/access_users/user?external_id=visit-1")

	// With IDs only: the referenced user's cards.
	p, err = e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	if err := e.p.Revoke(t.Context(), acs.CredentialRef{ID: p.Credential.ID, CardholderID: uid}); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, calls(e.sim.Requests()),
		"GET /access/v1/access_users/user?user_id="+uid,
		"DELETE /access/v1/credentials/card?card_id="+p.Credential.ID+"&user_id="+uid)

	// By external ID and card.
	p, err = e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	if err := e.p.Revoke(t.Context(), acs.CredentialRef{CardholderExternalID: "visit-1", Card: g.Card}); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, calls(e.sim.Requests()),
		"GET /access/v1/access_users/user?external_id=visit-1",
		"DELETE /access/v1/credentials/card?card_id="+p.Credential.ID+"&user_id="+uid)
}

func TestRemoveCardholderRequestShapes(t *testing.T) {
	e := newEnv(t, nil)
	g := testGrant(1, e.clk.Now(), e.levels()[0])
	p, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	uid := p.Cardholder.ID
	e.sim.ResetRequests()
	if err := e.p.RemoveCardholder(t.Context(), p.Cardholder); err != nil {
		t.Fatal(err)
	}
	// The external ID is looked up again after the removal: no other
	// user carries it.
	wantCalls(t, calls(e.sim.Requests()),
		"GET /access/v1/access_users/user?external_id=visit-1",
		"DELETE /access/v1/credentials/card?card_id="+p.Credential.ID+"&user_id="+uid,
		"DELETE /core/v1/user?user_id="+uid,
		"GET /access/v1/access_users/user?external_id=visit-1")
	e.sim.ResetRequests()
	if err := e.p.RemoveCardholder(t.Context(), p.Cardholder); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, calls(e.sim.Requests()),
		"GET /access/v1/access_users/user?external_id=visit-1",
		"GET /access/v1/access_users/user?user_id="+uid)

	// By ID only.
	p, err = e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	uid = p.Cardholder.ID
	e.sim.ResetRequests()
	if err := e.p.RemoveCardholder(t.Context(), acs.CardholderRef{ID: uid}); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, calls(e.sim.Requests()),
		"GET /access/v1/access_users/user?user_id="+uid,
		"DELETE /access/v1/credentials/card?card_id="+p.Credential.ID+"&user_id="+uid,
		"DELETE /core/v1/user?user_id="+uid)
}

// Every card format the SDK knows goes out under its Verkada type, with a
// facility code only where the format has one, and is found again on the
// next provision.
func TestCardFormatsMapToVerkadaTypes(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		card acs.Card
		typ  string
		fac  string
	}{
		{acs.Card{Format: acs.H10301, Facility: 255, Number: 65535}, "Standard 26-bit Wiegand", "255"},
		{acs.Card{Format: acs.H10306, Facility: 65535, Number: 7}, "HID 34-bit", "65535"},
		{acs.Card{Format: acs.H10302, Number: 34359738367}, "HID 37-bit No Facility Code", ""},
		{acs.Card{Format: acs.H10304, Facility: 12, Number: 524287}, "HID 37-bit", "12"},
		{acs.Card{Format: acs.Corp1000_35, Facility: 4095, Number: 1048575}, "HID Corporate 1000-35", "4095"},
		{acs.Card{Format: acs.Corp1000_48, Facility: 4194303, Number: 8388607}, "HID Corporate 1000-48", "4194303"},
	}
	for i, c := range cases {
		g := testGrant(i, e.clk.Now(), e.levels()[0])
		g.Card = c.card
		p := provisionOnce(t, e, g)
		ci, _ := e.sim.Card(p.Credential.ID)
		if ci.Type != c.typ || ci.Facility != c.fac || ci.Number != itoa(int(c.card.Number)) || !ci.Active {
			t.Errorf("%s: stored %+v", c.card.Format, ci)
		}
		if again := provisionOnce(t, e, g); again.Created || again.Credential.ID != p.Credential.ID {
			t.Errorf("%s: not found again: %+v", c.card.Format, again)
		}
	}
	// A type the SDK has no layout for, named by the grant.
	g := testGrant(9, e.clk.Now(), e.levels()[0])
	g.CredentialType = "Schlage 34-bit"
	p := provisionOnce(t, e, g)
	if ci, _ := e.sim.Card(p.Credential.ID); ci.Type != "Schlage 34-bit" || ci.Facility != "1" {
		t.Errorf("stored %+v", ci)
	}
	if again := provisionOnce(t, e, g); again.Created {
		t.Error("a card of a named type was created twice")
	}
	if err := e.p.Revoke(t.Context(), acs.CredentialRef{CardholderExternalID: g.Person.ExternalID, Card: g.Card}); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.sim.Card(p.Credential.ID); ok {
		t.Error("revoke by card missed a card of a named type")
	}
}
