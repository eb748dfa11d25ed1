package brivo

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
	"github.com/acsbridge/acsbridge/wiegand"
)

// clockEnv is an env whose simulator and provider share a fake clock.
func clockEnv(t *testing.T, simOpts ...brivosim.Option) (*env, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	e := newEnv(t, append([]brivosim.Option{brivosim.WithClock(clk.Now)}, simOpts...), WithClock(clk.Now))
	return e, clk
}

func wantCalls(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("requests:\n  got  %q\n  want %q", got, want)
	}
}

// bodies returns the JSON body of each API request, keyed like apiCalls.
func bodies(reqs []brivosim.Request) map[string]string {
	out := map[string]string{}
	for _, r := range reqs {
		if r.Path != brivosim.TokenPath && r.Body != "" {
			out[r.Method+" "+strings.TrimPrefix(r.Path, brivosim.APIPrefix)] = r.Body
		}
	}
	return out
}

func TestTokenRequestShape(t *testing.T) {
	sim := brivosim.New()
	type seen struct {
		method, path, query, ctype, auth, apiKey string
		form                                     url.Values
	}
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == brivosim.TokenPath {
			b, _ := io.ReadAll(r.Body)
			form, _ := url.ParseQuery(string(b))
			mu.Lock()
			got = append(got, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"),
				r.Header.Get("Authorization"), r.Header.Get("api-key"), form})
			mu.Unlock()
			r.Body = io.NopCloser(strings.NewReader(string(b)))
		}
		sim.ServeHTTP(w, r)
	}))
	defer srv.Close()
	cfg := simConfig(srv.URL)
	p, err := New(cfg, testOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d token requests, want 1", len(got))
	}
	s := got[0]
	wantBasic := "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.ClientID+":"+cfg.ClientSecret))
	switch {
	case s.method != http.MethodPost || s.path != "/oauth/token":
		t.Errorf("token request %s %s", s.method, s.path)
	case s.query != "":
		t.Errorf("token request has a query string (grant parameters belong in the body)")
	case s.ctype != "application/x-www-form-urlencoded":
		t.Errorf("Content-Type %q", s.ctype)
	case s.auth != wantBasic:
		t.Errorf("Authorization is not Basic base64(client ID:client secret)")
	case s.apiKey != cfg.APIKey:
		t.Errorf("api-key header missing or wrong")
	case s.form.Get("grant_type") != "password" || s.form.Get("username") != cfg.Username || s.form.Get("password") != cfg.Password || len(s.form) != 3:
		t.Errorf("form has keys %v; want exactly grant_type=password, username, password", slices.Sorted(func(yield func(string) bool) {
			for k := range s.form {
				if !yield(k) {
					return
				}
			}
		}))
	}
	// Every API request carried the key and the bearer token.
	for _, r := range sim.Requests() {
		if r.Path == brivosim.TokenPath {
			continue
		}
		if !r.APIKeyOK || r.AuthScheme != "bearer" {
			t.Errorf("%s %s: api-key ok %v, auth scheme %q", r.Method, r.Path, r.APIKeyOK, r.AuthScheme)
		}
	}
}

func TestProvisionShapeFresh(t *testing.T) {
	e, clk := clockEnv(t)
	ctx := t.Context()
	lobby := e.levels()[0]
	g := testGrant(0, clk.Now(), lobby) // facility 1, card 200
	p, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	reqs := e.sim.Requests()
	u, c := p.Cardholder.ID, p.Credential.ID
	wantCalls(t, apiCalls(reqs),
		"GET /credentials/formats?offset=0&pageSize=100",
		"GET /groups?offset=0&pageSize=100",
		"GET /users/visit-0/external",
		"POST /credentials",
		"POST /users",
		// The check for a twin another process may have created meanwhile.
		"GET /users?filter=firstname__eq%3AAda%3Blastname__eq%3AVisitor0&offset=0&pageSize=100",
		"PUT /users/"+u+"/credentials/"+c,
		"PUT /groups/"+lobby+"/users/"+u,
	)
	if got := tokenGrants(reqs); !slices.Equal(got, []string{"password"}) {
		t.Errorf("token grants %v", got)
	}
	b := bodies(reqs)
	// The exact body recorded in real traffic for facility 1, card 200.
	if got, want := b["POST /credentials"], `{"credentialFormat":{"id":100},"referenceId":"200","fieldValues":[{"id":1,"value":"200"},{"id":2,"value":"1"}]}`; got != want {
		t.Errorf("POST /credentials body\n  got  %s\n  want %s", got, want)
	}
	if got, want := b["POST /users"], `{"firstName":"Ada","lastName":"Visitor0","externalId":"visit-0","emails":[{"address":"ada0@example.com","type":"work"}]}`; got != want {
		t.Errorf("POST /users body\n  got  %s\n  want %s", got, want)
	}
	from, to := g.ValidFrom.UTC().Format(wireTime), g.ValidUntil.UTC().Format(wireTime)
	if got, want := b["PUT /users/"+u+"/credentials/"+c], `{"effectiveFrom":"`+from+`","effectiveTo":"`+to+`"}`; got != want {
		t.Errorf("assignment body\n  got  %s\n  want %s", got, want)
	}
	if _, ok := b["PUT /groups/"+lobby+"/users/"+u]; ok {
		t.Error("group membership PUT has a body")
	}
	for _, r := range reqs {
		if r.Body != "" && r.Path != brivosim.TokenPath && r.ContentType != "application/json" {
			t.Errorf("%s %s: Content-Type %q", r.Method, r.Path, r.ContentType)
		}
	}
	if !p.Created || p.Credential.CardholderID != u || p.Credential.Card != g.Card {
		t.Errorf("provisioned %+v", p)
	}
}

func TestEncodedCredentialMatchesRecordedTraffic(t *testing.T) {
	e, clk := clockEnv(t)
	g := testGrant(0, clk.Now(), e.levels()[0])
	g.Card = acs.Card{Format: acs.H10301, Facility: 1, Number: 200}
	p, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := strconv.ParseInt(p.Credential.ID, 10, 64)
	ci, ok := e.sim.Credential(id)
	if !ok {
		t.Fatal("credential not stored")
	}
	if ci.Encoded != "2020190" || ci.ReferenceID != "200" || ci.FormatID != 100 ||
		ci.Fields["card_number"] != "200" || ci.Fields["facility_code"] != "1" {
		t.Errorf("stored credential %+v; want encodedCredential 2020190 (format 100, reference 200)", ci)
	}
	if enc, _ := encodeCard(g.Card); enc != "2020190" {
		t.Errorf("adapter encodes facility 1 card 200 as %s", enc)
	}
}

func TestProvisionShapeRepeat(t *testing.T) {
	e, clk := clockEnv(t)
	ctx := t.Context()
	g := testGrant(0, clk.Now(), e.levels()[0])
	p1, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	p2, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	u := p1.Cardholder.ID
	wantCalls(t, apiCalls(e.sim.Requests()),
		"GET /users/visit-0/external",
		"GET /users?filter=firstname__eq%3AAda%3Blastname__eq%3AVisitor0&offset=0&pageSize=100",
		"GET /users/"+u+"/credentials?offset=0&pageSize=100",
		"GET /users/"+u+"/groups?offset=0&pageSize=100",
	)
	if p2.Created || p2.Credential != p1.Credential {
		t.Errorf("repeat provision %+v, first %+v", p2, p1)
	}
	// A new window re-assigns the same credential, nothing else.
	g.ValidUntil = g.ValidUntil.Add(time.Hour)
	e.sim.ResetRequests()
	p3, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	wantCalls(t, apiCalls(e.sim.Requests()),
		"GET /users/visit-0/external",
		"GET /users?filter=firstname__eq%3AAda%3Blastname__eq%3AVisitor0&offset=0&pageSize=100",
		"GET /users/"+u+"/credentials?offset=0&pageSize=100",
		"PUT /users/"+u+"/credentials/"+p1.Credential.ID,
		"GET /users/"+u+"/groups?offset=0&pageSize=100",
	)
	if p3.Created || p3.Credential != p1.Credential {
		t.Errorf("re-windowed provision %+v", p3)
	}
	if !e.sim.Opens(p1.Credential.ID, e.levels()[0], g.ValidUntil.Add(-time.Minute)) {
		t.Error("the extended window is not in force")
	}
}

func TestProvisionConvergesGroups(t *testing.T) {
	e, clk := clockEnv(t)
	ctx := t.Context()
	ls := e.levels()
	extra := e.sim.AddGroup("Roof")
	g := testGrant(0, clk.Now(), ls[0])
	p, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.ParseInt(p.Cardholder.ID, 10, 64)
	if err := e.sim.AddMember(extra.ID, uid); err != nil { // an administrator's addition
		t.Fatal(err)
	}
	g.AccessLevels = []string{ls[1]}
	e.sim.ResetRequests()
	if _, err := e.p.Provision(ctx, g); err != nil {
		t.Fatal(err)
	}
	u := p.Cardholder.ID
	wantCalls(t, apiCalls(e.sim.Requests()),
		"GET /users/visit-0/external",
		"GET /users?filter=firstname__eq%3AAda%3Blastname__eq%3AVisitor0&offset=0&pageSize=100",
		"GET /users/"+u+"/credentials?offset=0&pageSize=100",
		"GET /users/"+u+"/groups?offset=0&pageSize=100",
		"DELETE /groups/"+ls[0]+"/users/"+u,
		"DELETE /groups/"+extra.GroupID()+"/users/"+u,
		"PUT /groups/"+ls[1]+"/users/"+u,
	)
	ui, _ := e.sim.User("visit-0")
	if want := []int64{mustID(ls[1])}; !slices.Equal(ui.Groups, want) {
		t.Errorf("groups %v, want %v", ui.Groups, want)
	}
}

func mustID(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic(err)
	}
	return n
}

func TestProvisionRespectsSixteenGroupLimit(t *testing.T) {
	e, clk := clockEnv(t)
	uid, err := e.sim.AddUser("Ada", "Admin-made", "visit-0")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 16 {
		g := e.sim.AddGroup("Zone " + strconv.Itoa(i))
		if err := e.sim.AddMember(g.ID, uid); err != nil {
			t.Fatal(err)
		}
	}
	ls := e.levels()
	g := testGrant(0, clk.Now(), ls[0], ls[1])
	if _, err := e.p.Provision(t.Context(), g); err != nil {
		t.Fatalf("provision of a user already in 16 groups: %v", err)
	}
	ui, _ := e.sim.User("visit-0")
	if want := []int64{mustID(ls[0]), mustID(ls[1])}; !slices.Equal(ui.Groups, want) {
		t.Errorf("groups %v, want %v", ui.Groups, want)
	}
}

func TestProvisionReinstatesSuspendedUser(t *testing.T) {
	e, clk := clockEnv(t)
	g := testGrant(0, clk.Now(), e.levels()[0])
	p, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	uid := mustID(p.Cardholder.ID)
	if err := e.sim.SetSuspended(uid, true); err != nil {
		t.Fatal(err)
	}
	if e.sim.Opens(p.Credential.ID, e.levels()[0], clk.Now()) {
		t.Fatal("oracle: suspended user's credential opens")
	}
	e.sim.ResetRequests()
	if _, err := e.p.Provision(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(apiCalls(e.sim.Requests()), "PUT /users/"+p.Cardholder.ID+"/suspended") {
		t.Errorf("no reinstatement: %q", apiCalls(e.sim.Requests()))
	}
	if b := bodies(e.sim.Requests())["PUT /users/"+p.Cardholder.ID+"/suspended"]; b != `{"suspended":false}` {
		t.Errorf("suspension body %s", b)
	}
	if !e.sim.Opens(p.Credential.ID, e.levels()[0], clk.Now()) {
		t.Error("credential does not open after reinstatement")
	}
}

func TestProvisionReusesFreeDuplicate(t *testing.T) {
	e, clk := clockEnv(t)
	// A badge from stock, registered beforehand by an administrator.
	stock, err := e.sim.AddCredential(100, "", 1, 200)
	if err != nil {
		t.Fatal(err)
	}
	g := testGrant(0, clk.Now(), e.levels()[0])
	p, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	if p.Credential.ID != strconv.FormatInt(stock, 10) {
		t.Errorf("credential %s, want the stock credential %d", p.Credential.ID, stock)
	}
	calls := apiCalls(e.sim.Requests())
	want := "GET /credentials?filter=reference_id__eq%3A200%3Bfacility_code__eq%3A1%3Bstatus__eq%3Aunassigned&offset=0&pageSize=100"
	if !slices.Contains(calls, want) {
		t.Errorf("no duplicate lookup %q in %q", want, calls)
	}
	if c := e.sim.Census(); c.Credentials != 1 || c.Users != 1 {
		t.Errorf("census %+v", c)
	}
	if !e.sim.Opens(p.Credential.ID, e.levels()[0], clk.Now()) {
		t.Error("reused credential does not open")
	}
}

func TestProvisionDuplicateUnderOtherReference(t *testing.T) {
	e, clk := clockEnv(t)
	// Registered with a reference other than the card number: found by
	// the listing of the facility's free credentials.
	stock, err := e.sim.AddCredential(100, "BADGE-0042", 1, 200)
	if err != nil {
		t.Fatal(err)
	}
	g := testGrant(0, clk.Now(), e.levels()[0])
	p, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	if p.Credential.ID != strconv.FormatInt(stock, 10) {
		t.Errorf("credential %s, want the stock credential %d", p.Credential.ID, stock)
	}
	if !slices.Contains(apiCalls(e.sim.Requests()), "GET /credentials?filter=facility_code__eq%3A1%3Bstatus__eq%3Aunassigned&offset=0&pageSize=100") {
		t.Errorf("no facility listing in %q", apiCalls(e.sim.Requests()))
	}
}

func TestConflictLeavesNothingBehind(t *testing.T) {
	e, clk := clockEnv(t)
	a := testGrant(0, clk.Now(), e.levels()[0])
	if _, err := e.p.Provision(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	before := e.sim.Census()
	b := testGrant(1, clk.Now(), e.levels()[0])
	b.Card = a.Card
	_, err := e.p.Provision(t.Context(), b)
	if acs.CodeOf(err) != acs.Conflict {
		t.Fatalf("got %v, want a conflict", err)
	}
	var ve *APIError
	if !errors.As(err, &ve) || !strings.Contains(ve.Message, "Duplicate Credential Found") {
		t.Errorf("conflict does not carry the vendor error: %v", err)
	}
	if after := e.sim.Census(); after != before {
		t.Errorf("census %+v before, %+v after the refused provision", before, after)
	}
}

func TestFormatResolvedByNameAtRunTime(t *testing.T) {
	e, clk := clockEnv(t, brivosim.WithFormats(
		brivosim.Format{ID: 555, Name: "HID 26 bit Card", Fields: []brivosim.FormatField{{ID: 7, Name: "card_number"}, {ID: 8, Name: "facility_code"}}, Wiegand: wiegand.H10301},
	))
	g := testGrant(0, clk.Now(), e.levels()[0])
	if _, err := e.p.Provision(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	if got, want := bodies(e.sim.Requests())["POST /credentials"], `{"credentialFormat":{"id":555},"referenceId":"200","fieldValues":[{"id":7,"value":"200"},{"id":8,"value":"1"}]}`; got != want {
		t.Errorf("body\n  got  %s\n  want %s", got, want)
	}
}

func TestNoMatchingFormatChangesNothing(t *testing.T) {
	e, clk := clockEnv(t, brivosim.WithFormats(brivosim.Format{ID: 307, Name: "Brivo Mobile Pass"}))
	g := testGrant(0, clk.Now(), e.levels()[0])
	_, err := e.p.Provision(t.Context(), g)
	if acs.CodeOf(err) != acs.Unsupported || !strings.Contains(err.Error(), `"Standard 26 Bit" or "HID 26 bit Card"`) {
		t.Fatalf("got %v, want unsupported naming the formats looked for", err)
	}
	if c := e.sim.Census(); c != (brivosim.Census{}) {
		t.Errorf("census %+v", c)
	}
}

func TestEncodedCredentialForFormatWithoutFields(t *testing.T) {
	e, clk := clockEnv(t, brivosim.WithFormats(
		brivosim.Format{ID: 103, Name: "HID 37 Bit w/ Fac. Code", Wiegand: wiegand.H10304},
	))
	g := testGrant(0, clk.Now(), e.levels()[0])
	g.Card = acs.Card{Format: acs.H10304, Facility: 1234, Number: 54321}
	p, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	fr, _ := wiegand.H10304.Encode(1234, 54321)
	if got, want := bodies(e.sim.Requests())["POST /credentials"], `{"credentialFormat":{"id":103},"referenceId":"54321","encodedCredential":"`+fr.Hex()+`"}`; got != want {
		t.Errorf("body\n  got  %s\n  want %s", got, want)
	}
	// Revoking by card alone finds it by its encoded value.
	if err := e.p.Revoke(t.Context(), acs.CredentialRef{CardholderExternalID: g.Person.ExternalID, Card: g.Card}); err != nil {
		t.Fatal(err)
	}
	if e.sim.Opens(p.Credential.ID, e.levels()[0], clk.Now()) {
		t.Error("still opens after revoke by card")
	}
}

func TestCredentialTypeSelectsFormat(t *testing.T) {
	e, clk := clockEnv(t)
	g := testGrant(0, clk.Now(), e.levels()[0])
	g.Card = acs.Card{Format: acs.H10306, Facility: 300, Number: 400}
	if _, err := e.p.Provision(t.Context(), g); acs.CodeOf(err) != acs.Unsupported {
		t.Fatalf("H10306 without CredentialType: %v, want unsupported", err)
	}
	g.CredentialType = "424242"
	if _, err := e.p.Provision(t.Context(), g); acs.CodeOf(err) != acs.NotFound {
		t.Fatalf("unknown CredentialType: %v, want not found", err)
	}
	g.CredentialType = "110" // "Unknown format": takes the raw frame
	if _, err := e.p.Provision(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	fr, _ := wiegand.H10306.Encode(300, 400)
	if got, want := bodies(e.sim.Requests())["POST /credentials"], `{"credentialFormat":{"id":110},"referenceId":"400","encodedCredential":"`+fr.Hex()+`"}`; got != want {
		t.Errorf("body\n  got  %s\n  want %s", got, want)
	}
}

func TestRevokeShape(t *testing.T) {
	e, clk := clockEnv(t)
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		ref  func(acs.Provisioned) acs.CredentialRef
		want func(u, c string) []string
	}{
		{"by IDs", func(p acs.Provisioned) acs.CredentialRef { return p.Credential },
			func(u, c string) []string {
				return []string{"GET /users/" + u + "/credentials?offset=0&pageSize=100", "DELETE /users/" + u + "/credentials/" + c, "DELETE /credentials/" + c}
			}},
		{"by external ID and card", func(p acs.Provisioned) acs.CredentialRef {
			return acs.CredentialRef{CardholderExternalID: p.Cardholder.ExternalID, Card: p.Credential.Card}
		}, func(u, c string) []string {
			return []string{"GET /users/visit-1/external", "GET /users/" + u + "/credentials?offset=0&pageSize=100", "DELETE /users/" + u + "/credentials/" + c, "DELETE /credentials/" + c}
		}},
		{"by credential ID alone", func(p acs.Provisioned) acs.CredentialRef { return acs.CredentialRef{ID: p.Credential.ID} },
			func(u, c string) []string {
				return []string{"GET /credentials/" + c + "/user", "GET /users/" + u + "/credentials?offset=0&pageSize=100", "DELETE /users/" + u + "/credentials/" + c, "DELETE /credentials/" + c}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := e.p.Provision(ctx, testGrant(1, clk.Now(), e.levels()[0]))
			if err != nil {
				t.Fatal(err)
			}
			e.sim.ResetRequests()
			if err := e.p.Revoke(ctx, tc.ref(p)); err != nil {
				t.Fatal(err)
			}
			wantCalls(t, apiCalls(e.sim.Requests()), tc.want(p.Cardholder.ID, p.Credential.ID)...)
			if e.sim.Opens(p.Credential.ID, e.levels()[0], clk.Now()) {
				t.Error("still opens")
			}
			// Twice: nothing left to do.
			e.sim.ResetRequests()
			if err := e.p.Revoke(ctx, tc.ref(p)); err != nil {
				t.Fatal(err)
			}
			for _, c := range apiCalls(e.sim.Requests()) {
				if strings.HasPrefix(c, "DELETE") {
					t.Errorf("second revoke sent %s", c)
				}
			}
		})
	}
}

func TestStaleRevokeSparesNextHolder(t *testing.T) {
	e, clk := clockEnv(t)
	ctx := t.Context()
	a := testGrant(1, clk.Now(), e.levels()[0])
	pa, err := e.p.Provision(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.p.Revoke(ctx, pa.Credential); err != nil {
		t.Fatal(err)
	}
	b := testGrant(2, clk.Now(), e.levels()[0])
	b.Card = a.Card // the badge went to the next visitor
	pb, err := e.p.Provision(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	// The first visit's revoke, retried late, by card and by IDs.
	for _, ref := range []acs.CredentialRef{pa.Credential, {CardholderExternalID: a.Person.ExternalID, Card: a.Card}} {
		if err := e.p.Revoke(ctx, ref); err != nil {
			t.Fatal(err)
		}
	}
	if !e.sim.Opens(pb.Credential.ID, e.levels()[0], clk.Now()) {
		t.Error("a stale revoke of the previous visit took the badge from the next visitor")
	}
}

func TestRemoveCardholderShape(t *testing.T) {
	e, clk := clockEnv(t)
	ctx := t.Context()
	p, err := e.p.Provision(ctx, testGrant(1, clk.Now(), e.levels()[0]))
	if err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	if err := e.p.RemoveCardholder(ctx, acs.CardholderRef{ExternalID: p.Cardholder.ExternalID}); err != nil {
		t.Fatal(err)
	}
	u, c := p.Cardholder.ID, p.Credential.ID
	wantCalls(t, apiCalls(e.sim.Requests()),
		"GET /users/visit-1/external",
		// Twins carrying the same external ID, under the user's names.
		"GET /users?filter=firstname__eq%3AAda%3Blastname__eq%3AVisitor1&offset=0&pageSize=100",
		"GET /users/"+u+"/credentials?offset=0&pageSize=100",
		"GET /users/"+u+"/credentials/digital-invitations?filter=status__eq%3Aall&offset=0&pageSize=100",
		"DELETE /users/"+u+"/credentials/"+c,
		"DELETE /credentials/"+c,
		"DELETE /users/"+u,
	)
	if cen := e.sim.Census(); cen != (brivosim.Census{}) {
		t.Errorf("census %+v after removal", cen)
	}
	e.sim.ResetRequests()
	if err := e.p.RemoveCardholder(ctx, p.Cardholder); err != nil {
		t.Fatal(err)
	}
	// No user carries the external ID any more; the listing's 404 for
	// the ID is confirmed by asking for the user.
	wantCalls(t, apiCalls(e.sim.Requests()), "GET /users/visit-1/external", "GET /users/"+u+"/credentials?offset=0&pageSize=100", "GET /users/"+u)
}

func TestAccessLevelsPages(t *testing.T) {
	e, _ := clockEnv(t)
	for i := range 248 {
		e.sim.AddGroup("Zone " + strconv.Itoa(i))
	}
	got, err := e.p.AccessLevels(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 250 {
		t.Fatalf("%d levels, want 250", len(got))
	}
	// The first page gives the count; the others are read concurrently,
	// in any order.
	calls := apiCalls(e.sim.Requests())
	slices.Sort(calls[1:])
	wantCalls(t, calls,
		"GET /groups?offset=0&pageSize=100",
		"GET /groups?offset=100&pageSize=100",
		"GET /groups?offset=200&pageSize=100",
	)
	if got[0] != (acs.AccessLevel{ID: "11906588", Name: "Lobby"}) {
		t.Errorf("first level %+v", got[0])
	}
}

func TestCredentialFormatsShape(t *testing.T) {
	e, _ := clockEnv(t)
	got, err := e.p.CredentialFormats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	wantCalls(t, apiCalls(e.sim.Requests()), "GET /credentials/formats?offset=0&pageSize=100")
	want := map[string]acs.CardFormat{"100": acs.H10301, "102": acs.Corp1000_35, "103": acs.H10304, "304": acs.Corp1000_48, "110": 0, "307": 0}
	if len(got) != len(want) {
		t.Fatalf("%d formats: %+v", len(got), got)
	}
	for _, f := range got {
		if w, ok := want[f.ID]; !ok || f.Format != w || f.Name == "" {
			t.Errorf("format %+v, want layout %v", f, w)
		}
	}
}

func TestPingShape(t *testing.T) {
	e, _ := clockEnv(t)
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, apiCalls(e.sim.Requests()), "GET /groups?offset=0&pageSize=1")
}

func TestAccessLevelByName(t *testing.T) {
	e, _ := clockEnv(t)
	ctx := t.Context()
	e.sim.AddGroup("Lobby annex")
	odd := e.sim.AddGroup("R&D; lab:2, 100%")
	got, err := e.p.AccessLevelByName(ctx, "Lobby")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "11906588" {
		t.Errorf("Lobby resolved to %+v (the name filter matches substrings)", got)
	}
	wantCalls(t, apiCalls(e.sim.Requests()), "GET /groups?filter=name__eq%3ALobby&offset=0&pageSize=100")
	e.sim.ResetRequests()
	got, err = e.p.AccessLevelByName(ctx, odd.Name)
	if err != nil || got.ID != odd.GroupID() {
		t.Fatalf("odd name: %+v, %v", got, err)
	}
	wantCalls(t, apiCalls(e.sim.Requests()), "GET /groups?offset=0&pageSize=100")
	if _, err := e.p.AccessLevelByName(ctx, "Lobb"); acs.CodeOf(err) != acs.NotFound {
		t.Errorf("prefix of a name: %v, want not found", err)
	}
	e.sim.AddGroup("Lobby")
	if _, err := e.p.AccessLevelByName(ctx, "Lobby"); acs.CodeOf(err) != acs.Conflict {
		t.Errorf("two groups named Lobby: %v, want conflict", err)
	}
	if _, err := e.p.AccessLevelByName(ctx, ""); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("empty name: %v", err)
	}
}

func TestMobilePassShape(t *testing.T) {
	e, clk := clockEnv(t, brivosim.WithMobilePassAllotment(1))
	ctx := t.Context()
	p, err := e.p.Provision(ctx, testGrant(1, clk.Now(), e.levels()[0]))
	if err != nil {
		t.Fatal(err)
	}
	until := clk.Now().Add(4 * time.Hour)
	e.sim.ResetRequests()
	mp, err := e.p.IssueMobilePass(ctx, acs.CardholderRef{ExternalID: "visit-1"}, "ada@example.com", until)
	if err != nil {
		t.Fatal(err)
	}
	u := p.Cardholder.ID
	calls := apiCalls(e.sim.Requests())
	if len(calls) != 4 {
		t.Fatalf("calls %q", calls)
	}
	wantCalls(t, calls[:3],
		"GET /users/visit-1/external",
		"GET /users/"+u+"/credentials/digital-invitations?filter=status__eq%3Apending&offset=0&pageSize=100",
		"POST /users/"+u+"/credentials/digital-invitations?language=en&sendInvitationEmail=true",
	)
	b := bodies(e.sim.Requests())
	if got := b["POST /users/"+u+"/credentials/digital-invitations"]; got != `{"referenceId":"ada@example.com"}` {
		t.Errorf("invitation body %s", got)
	}
	passCred := strings.TrimPrefix(calls[3], "PUT /users/"+u+"/credentials/")
	if got, want := b[calls[3]], `{"effectiveTo":"`+until.Format(wireTime)+`"}`; got != want {
		t.Errorf("pass window %s, want %s", got, want)
	}
	if !e.sim.Opens(passCred, e.levels()[0], clk.Now()) || e.sim.Opens(passCred, e.levels()[0], until.Add(time.Second)) {
		t.Error("mobile pass credential not bounded by validUntil")
	}
	// Idempotent by cardholder: the pending invitation is returned.
	mp2, err := e.p.IssueMobilePass(ctx, p.Cardholder, "ada@example.com", until)
	if err != nil || mp2 != mp {
		t.Fatalf("second invitation %+v, %v; first %+v", mp2, err, mp)
	}
	// The allotment of one pass is used up.
	p2, err := e.p.Provision(ctx, testGrant(2, clk.Now(), e.levels()[0]))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.IssueMobilePass(ctx, p2.Cardholder, "bob@example.com", until); acs.CodeOf(err) != acs.Conflict {
		t.Errorf("exhausted allotment: %v, want conflict", err)
	}
	if _, err := e.p.IssueMobilePass(ctx, acs.CardholderRef{ExternalID: "nobody"}, "x@example.com", until); acs.CodeOf(err) != acs.NotFound {
		t.Errorf("unknown cardholder: %v", err)
	}
	for _, bad := range []string{"", "no-at", "a b@example.com", "a@b@c", "x@"} {
		if _, err := e.p.IssueMobilePass(ctx, p.Cardholder, bad, until); acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("email %q: %v", bad, err)
		}
	}
	if _, err := e.p.IssueMobilePass(ctx, p.Cardholder, "ada@example.com", clk.Now().Add(-time.Minute)); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("past validUntil: %v", err)
	}
}
