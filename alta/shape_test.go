package alta

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/alta/altasim"
	"github.com/acsbridge/acsbridge/wiegand"
)

// body returns the JSON body of the first logged request with the route.
func body(t *testing.T, reqs []altasim.Request, route string) map[string]any {
	t.Helper()
	rs := routes(reqs)
	for i, r := range reqs {
		if rs[i] == route {
			var m map[string]any
			if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
				t.Fatalf("%s: body %q is not JSON: %v", route, r.Body, err)
			}
			return m
		}
	}
	t.Fatalf("no request %s in %q", route, rs)
	return nil
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestLoginShape(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	reqs := e.sim.Requests()
	wantRoutes(t, routes(reqs), "POST /auth/login", "GET /o/groups")
	login := reqs[0]
	switch {
	case login.RawQuery != "":
		t.Errorf("login has a query string; credentials belong in the body")
	case login.ContentType != "application/json":
		t.Errorf("login Content-Type %q", login.ContentType)
	case login.Body != "email,password":
		t.Errorf("login body fields %q, want exactly email and password", login.Body)
	case login.AuthScheme != "":
		t.Errorf("login carries an Authorization header (%s)", login.AuthScheme)
	}
	if reqs[1].AuthScheme != "bearer" {
		t.Errorf("API request auth scheme %q, want bearer first", reqs[1].AuthScheme)
	}
	if got := calls(reqs)[1]; got != "GET /o/groups?limit=1&offset=0" {
		t.Errorf("ping is %s", got)
	}
}

func TestProvisionShapeFresh(t *testing.T) {
	e := newEnv(t, nil)
	g := testGrant(0, e.clk.Now(), e.levels()...) // facility 1, card 200
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	p, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	reqs := e.sim.Requests()
	cs := calls(reqs)
	email := e.p.visitorEmail(g.Person.ExternalID)
	wantCalls := []string{
		"GET /o/cardFormats?limit=100&offset=0",
		"GET /o/credentialTypes?limit=100&offset=0",
		"GET /o/users?limit=100&offset=0&q=" + strings.ReplaceAll(email, "@", "%40"),
		"GET /o/credentials?limit=100&offset=0&q=200",
	}
	for _, w := range wantCalls {
		if !slices.Contains(cs, w) {
			t.Errorf("missing %s in %q", w, cs)
		}
	}
	u := body(t, reqs, "POST /o/users")
	wantUser := `{"endDate":"2026-03-02T11:00:00.000Z","externalId":"visit-0","hasRemoteUnlock":false,` +
		`"identity":{"email":"` + email + `","firstName":"Ada","lastName":"Visitor0"},` +
		`"startAndEndDateTimeZoneId":"UTC","startDate":"2026-03-02T08:59:00.000Z"}`
	if got := jsonOf(u); got != wantUser {
		t.Errorf("user body\n  got  %s\n  want %s", got, wantUser)
	}
	gr := body(t, reqs, "PUT /o/users/*/groupIds")
	if got := jsonOf(gr); got != `{"groupIds":[4822,5729]}` {
		t.Errorf("groupIds body %s", got)
	}
	fr, _ := wiegand.H10301.Encode(1, 200)
	c := body(t, reqs, "POST /o/users/*/credentials")
	wantCred := `{"card":{"cardFormatId":1,"cardId":"200","facilityCode":"1","fields":{"cardId":"200","facilityCode":"1"},` +
		`"isOutputEnabled":true,"number":"` + strconv.FormatUint(fr.Value, 10) + `"},"credentialTypeId":2,` +
		`"endDate":"2026-03-02T11:00:00.000Z","startDate":"2026-03-02T08:59:00.000Z"}`
	if got := jsonOf(c); got != wantCred {
		t.Errorf("credential body\n  got  %s\n  want %s", got, wantCred)
	}
	// The visitor's real e-mail address is never sent (see visitorEmail).
	for _, r := range reqs {
		if strings.Contains(r.Body, g.Person.Email) || strings.Contains(r.RawQuery, "example.com") {
			t.Errorf("%s %s sends the visitor's e-mail address", r.Method, r.Path)
		}
	}
	// The window is stored on both the user and the credential.
	ui, _ := e.sim.User(g.Person.ExternalID)
	ci, _ := e.sim.Credential(mustID(p.Credential.ID))
	for what, w := range map[string][2]time.Time{"user": {ui.Start, ui.End}, "credential": {ci.Start, ci.End}} {
		if !w[0].Equal(g.ValidFrom) || !w[1].Equal(g.ValidUntil) {
			t.Errorf("%s window %v – %v, want %v – %v", what, w[0], w[1], g.ValidFrom, g.ValidUntil)
		}
	}
	if ui.Status != "A" || !slices.Equal(ui.Groups, []int64{4822, 5729}) {
		t.Errorf("user %+v", ui)
	}
}

// Credential type IDs come from /credentialTypes, whatever they are.
func TestCredentialTypeResolved(t *testing.T) {
	e := newEnv(t, []altasim.Option{altasim.WithCredentialTypes(
		altasim.CredentialType{ID: 31, Name: "Openpath Mobile", ModelName: "mobile"},
		altasim.CredentialType{ID: 57, Name: "Proximity card", ModelName: "card"},
		altasim.CredentialType{ID: 12, Name: "PIN", ModelName: "pincode"},
	)})
	if _, err := e.p.Provision(t.Context(), testGrant(0, e.clk.Now(), e.levels()[0])); err != nil {
		t.Fatal(err)
	}
	if got := body(t, e.sim.Requests(), "POST /o/users/*/credentials")["credentialTypeId"]; got != float64(57) {
		t.Errorf("credentialTypeId %v, want 57 as listed", got)
	}

	none := newEnv(t, []altasim.Option{altasim.WithCredentialTypes(altasim.CredentialType{ID: 1, Name: "Mobile", ModelName: "mobile"})})
	_, err := none.p.Provision(t.Context(), testGrant(0, none.clk.Now(), none.levels()[0]))
	if acs.CodeOf(err) != acs.Unsupported {
		t.Errorf("org without a card type: %v, want unsupported", err)
	}
	if c := none.sim.Census(); c != (altasim.Census{}) {
		t.Errorf("census %+v after a refused provision", c)
	}
}

// Card formats are recognised by bit length and field widths, not names.
func TestCardFormatsRecognised(t *testing.T) {
	e := newEnv(t, nil)
	fs, err := e.p.CredentialFormats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]acs.CardFormat{}
	for _, f := range fs {
		got[f.ID] = f.Format
	}
	want := map[string]acs.CardFormat{"1": acs.H10301, "2": acs.H10306, "3": acs.H10304, "4": acs.H10302, "5": acs.Corp1000_35, "6": acs.Corp1000_48}
	for id, f := range want {
		if got[id] != f {
			t.Errorf("format %s recognised as %q, want %s", id, got[id], f)
		}
	}
	for i, f := range []acs.CardFormat{acs.H10306, acs.H10304, acs.H10302, acs.Corp1000_35, acs.Corp1000_48} {
		g := testGrant(i, e.clk.Now(), e.levels()[0])
		g.Card = acs.Card{Format: f, Facility: 7, Number: 300 + uint64(i)}
		if f == acs.H10302 {
			g.Card.Facility = 0
		}
		p, err := e.p.Provision(t.Context(), g)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !e.sim.Opens(p.Credential.ID, e.levels()[0], e.clk.Now()) {
			t.Errorf("%s: credential does not open", f)
		}
		ci, _ := e.sim.Credential(mustID(p.Credential.ID))
		if ci.CardID != strconv.FormatUint(g.Card.Number, 10) {
			t.Errorf("%s: stored card ID %q", f, ci.CardID)
		}
	}
}

func TestCardFormatChoice(t *testing.T) {
	odd := altasim.CardFormat{ID: 90, Code: "x", Name: "Site special", NumBits: 26, Fields: []altasim.FormatField{{Name: "cardId", MaxBits: 24}}}
	e := newEnv(t, []altasim.Option{altasim.WithCardFormats(odd)})
	ctx := t.Context()
	_, err := e.p.Provision(ctx, testGrant(0, e.clk.Now(), e.levels()[0]))
	if acs.CodeOf(err) != acs.Unsupported || !strings.Contains(err.Error(), "Grant.CredentialType") {
		t.Errorf("no recognised format: %v, want unsupported naming Grant.CredentialType", err)
	}
	g := testGrant(1, e.clk.Now(), e.levels()[0])
	g.CredentialType = "91"
	if _, err := e.p.Provision(ctx, g); acs.CodeOf(err) != acs.NotFound {
		t.Errorf("unknown format ID: %v, want not found", err)
	}
	g.CredentialType = "x1"
	if _, err := e.p.Provision(ctx, g); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("malformed format ID: %v, want invalid argument", err)
	}

	std := newEnv(t, nil)
	g = testGrant(2, std.clk.Now(), std.levels()[0])
	g.CredentialType = "2" // a 34-bit format for a 26-bit card
	if _, err := std.p.Provision(ctx, g); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("format of another layout: %v, want invalid argument", err)
	}
	if c := std.sim.Census(); c != (altasim.Census{}) {
		t.Errorf("census %+v after refused provisions", c)
	}
}

// A repeat provision with another window and fewer groups makes the user
// carry exactly the new grant, and repairs changes made behind its back.
func TestReprovisionMakesStateExact(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	l0, l1 := e.levels()[0], e.levels()[1]
	g := testGrant(0, e.clk.Now(), l0, l1)
	p, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	uid, cid := mustID(p.Cardholder.ID), mustID(p.Credential.ID)
	extra := e.sim.AddGroup("Server room")
	if err := e.sim.SetUserGroups(uid, 4822, 5729, extra.ID); err != nil {
		t.Fatal(err)
	}
	_ = e.sim.SetUserStatus(uid, "S")
	_ = e.sim.SetCredentialWindow(cid, time.Time{}, time.Time{})

	g.AccessLevels = []string{l1}
	g.ValidUntil = g.ValidUntil.Add(time.Hour)
	e.sim.ResetRequests()
	p2, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	if p2.Created || p2.Credential != p.Credential {
		t.Errorf("repeat created or changed references: %+v", p2)
	}
	wantRoutes(t, routes(e.sim.Requests()), "GET /o/users", "GET /o/users/*/credentials",
		"PATCH /o/users/*", "PUT /o/users/*/status", "PUT /o/users/*/groupIds", "PATCH /o/users/*/credentials/*")
	ui, _ := e.sim.User(g.Person.ExternalID)
	ci, _ := e.sim.Credential(cid)
	switch {
	case !slices.Equal(ui.Groups, []int64{mustID(l1)}):
		t.Errorf("groups %v, want exactly %s", ui.Groups, l1)
	case ui.Status != "A":
		t.Errorf("status %s", ui.Status)
	case !ui.End.Equal(g.ValidUntil) || !ci.End.Equal(g.ValidUntil) || !ci.Start.Equal(g.ValidFrom):
		t.Errorf("windows user %v–%v credential %v–%v", ui.Start, ui.End, ci.Start, ci.End)
	}
	if e.sim.Opens(p.Credential.ID, l0, e.clk.Now()) || !e.sim.Opens(p.Credential.ID, l1, e.clk.Now()) {
		t.Error("credential opens the wrong groups")
	}
	if c := e.sim.Census(); c != (altasim.Census{Users: 1, Credentials: 1}) {
		t.Errorf("census %+v", c)
	}
}

// A credential deleted behind the adapter's back is created again.
func TestReprovisionAfterCredentialDeletedBehindBack(t *testing.T) {
	e := newEnv(t, nil)
	g := testGrant(0, e.clk.Now(), e.levels()[0])
	p, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	e.sim.DeleteCredential(mustID(p.Credential.ID))
	p2, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	if !p2.Created || p2.Cardholder != p.Cardholder || p2.Credential.ID == p.Credential.ID {
		t.Errorf("second provision %+v after the credential was deleted (first %+v)", p2, p)
	}
	if !e.sim.Opens(p2.Credential.ID, e.levels()[0], e.clk.Now()) {
		t.Error("does not open")
	}
}

func TestUnknownAccessLevelRefusedBeforeWrites(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.p.Provision(t.Context(), testGrant(0, e.clk.Now(), e.levels()[0], "424242"))
	var ae *acs.Error
	if acs.CodeOf(err) != acs.NotFound || !errors.As(err, &ae) || ae.Op != "provision" || !strings.Contains(err.Error(), "424242") {
		t.Fatalf("got %v, want not found naming the group", err)
	}
	for _, r := range e.sim.Requests() {
		if r.Method != "GET" && !strings.HasPrefix(r.Path, "/auth/") {
			t.Errorf("write %s %s before the refusal", r.Method, r.Path)
		}
	}
}
