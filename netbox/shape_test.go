package netbox

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/acsbridge/acsbridge/netbox/netboxsim"
)

// shape is a request as "Command(params)".
func shape(r netboxsim.Request) string { return r.Command + "(" + r.Params + ")" }

func shapes(reqs []netboxsim.Request) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = shape(r)
	}
	return out
}

func expectShapes(t *testing.T, what string, got []netboxsim.Request, want ...string) {
	t.Helper()
	if g := shapes(got); !slices.Equal(g, want) {
		t.Errorf("%s sent\n  %s\nwant\n  %s", what, strings.Join(g, "\n  "), strings.Join(want, "\n  "))
	}
}

// The commands of each operation, with their parameters as the notes
// document them, dates in the controller's local time (Asia/Kolkata,
// +05:30) to the minute.
func TestRequestShapes(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	g := e.grant(1)
	p, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	expectShapes(t, "a first provision", e.sim.Requests(),
		"Login(USERNAME=sim-api; PASSWORD=[REDACTED])",
		"GetAccessLevels(WANTKEY=TRUE)",
		"GetCardFormats()",
		"GetPerson(PERSONID=vms-visit-1; WANTCREDENTIALID=TRUE)",
		"AddPerson(PERSONID=vms-visit-1; FIRSTNAME=Ada; LASTNAME=Visitor1; ACTDATE=2025-03-10 14:29; EXPDATE=2025-03-10 16:30; ACCESSLEVELS[ACCESSLEVEL=Lobby])",
		"AddCredential(PERSONID=vms-visit-1; CARDFORMAT=26 bit Wiegand; ENCODEDNUM=1001; HOTSTAMP=1001; WANTCREDENTIALID=TRUE)",
	)
	e.sim.ResetRequests()
	if _, err := e.p.Provision(ctx, g); err != nil {
		t.Fatal(err)
	}
	expectShapes(t, "a repeat provision", e.sim.Requests(), "GetPerson(PERSONID=vms-visit-1; WANTCREDENTIALID=TRUE)")

	e.sim.ResetRequests()
	g.AccessLevels = []string{netboxsim.LevelFloor3, netboxsim.LevelLab}
	if _, err := e.p.Provision(ctx, g); err != nil {
		t.Fatal(err)
	}
	expectShapes(t, "a re-provision with other levels", e.sim.Requests(),
		"GetPerson(PERSONID=vms-visit-1; WANTCREDENTIALID=TRUE)",
		"ModifyPerson(PERSONID=vms-visit-1; FIRSTNAME=Ada; LASTNAME=Visitor1; ACTDATE=2025-03-10 14:29; EXPDATE=2025-03-10 16:30; ACCESSLEVELS[ACCESSLEVEL=Floor 3, ACCESSLEVEL=R&D <Lab>])",
	)

	e.sim.ResetRequests()
	if err := e.p.Revoke(ctx, p.Credential); err != nil {
		t.Fatal(err)
	}
	expectShapes(t, "a revoke", e.sim.Requests(),
		"GetPerson(PERSONID=vms-visit-1; WANTCREDENTIALID=TRUE)",
		"ModifyCredential(PERSONID=vms-visit-1; CREDENTIALID="+p.Credential.ID+"; ENCODEDNUM=1001; CARDFORMAT=26 bit Wiegand; DISABLED=1)",
	)

	e.sim.ResetRequests()
	if err := e.p.RemoveCardholder(ctx, p.Cardholder); err != nil {
		t.Fatal(err)
	}
	expectShapes(t, "a removal", e.sim.Requests(),
		"GetPerson(PERSONID=vms-visit-1; WANTCREDENTIALID=TRUE)",
		"RemovePerson(PERSONID=vms-visit-1)",
		"ModifyPerson(PERSONID=vms-visit-1; PERSONPURGE=TRUE)",
		"GetPerson(PERSONID=vms-visit-1; WANTCREDENTIALID=TRUE)",
	)

	e.sim.ResetRequests()
	if err := e.p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	expectShapes(t, "Close", e.sim.Requests(), "Logout()")
}

// The envelope: one POST of raw XML, <NETBOX-API sessionid> with one
// COMMAND carrying name and num, the special characters of a level name
// escaped by the encoder.
func TestEnvelope(t *testing.T) {
	e := newEnv(t, envOpts{})
	g := e.grant(2, netboxsim.LevelLab)
	if _, err := e.p.Provision(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	reqs := e.sim.Requests()
	login := string(reqs[0].Body)
	if want := regexp.MustCompile(`^<NETBOX-API><COMMAND name="Login" num="\d+"><PARAMS><USERNAME>sim-api</USERNAME><PASSWORD>\[REDACTED\]</PASSWORD></PARAMS></COMMAND></NETBOX-API>$`); !want.MatchString(login) {
		t.Errorf("Login body %s", login)
	}
	var add string
	for _, r := range reqs {
		if r.ContentType != "text/xml" {
			t.Errorf("%s sent as %q", r.Command, r.ContentType)
		}
		if r.Command == "AddPerson" {
			add = string(r.Body)
		}
	}
	want := regexp.MustCompile(`^<NETBOX-API sessionid="[0-9a-f]{64}"><COMMAND name="AddPerson" num="\d+"><PARAMS><PERSONID>vms-visit-2</PERSONID>` +
		`.*<ACCESSLEVELS><ACCESSLEVEL>R&amp;D &lt;Lab&gt;</ACCESSLEVEL></ACCESSLEVELS></PARAMS></COMMAND></NETBOX-API>$`)
	if !want.MatchString(add) {
		t.Errorf("AddPerson body %s", add)
	}
}

// Config.FormEncoded posts the document as the form field APIcommand.
func TestFormEncoded(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.FormEncoded = true }})
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, r := range e.sim.Requests() {
		if r.ContentType != "application/x-www-form-urlencoded" || !strings.HasPrefix(string(r.Body), "APIcommand=%3CNETBOX-API") {
			t.Errorf("%s sent as %q: %.60s", r.Command, r.ContentType, r.Body)
		}
	}
}

// The grant's levels, window and names land at the controller exactly.
func TestProvisionStoresTheGrant(t *testing.T) {
	e := newEnv(t, envOpts{})
	g := e.grant(3, netboxsim.LevelLobby, netboxsim.LevelLab)
	g.Person.FirstName, g.Person.LastName = "", "Solo"
	if _, err := e.p.Provision(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	got, ok := e.sim.Person(e.personID("visit-3"))
	if !ok {
		t.Fatal("no person")
	}
	from, until := window(g.ValidFrom, g.ValidUntil, e.clock.Now())
	switch {
	case got.LastName != "Solo" || got.FirstName != "":
		t.Errorf("names %q %q", got.FirstName, got.LastName)
	case !got.ActDate.Equal(from) || !got.ExpDate.Equal(until):
		t.Errorf("window %s – %s, want %s – %s", got.ActDate, got.ExpDate, from, until)
	case !sameSet(got.Levels, []string{netboxsim.LevelLobbyName, netboxsim.LevelLabName}):
		t.Errorf("levels %q", got.Levels)
	case len(got.Credentials) != 1 || got.Credentials[0].EncodedNum != "1003" || got.Credentials[0].Format != netboxsim.Format26:
		t.Errorf("credentials %+v", got.Credentials)
	}
	if _, err := e.p.Provision(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	if n := count(e.sim.Requests(), "ModifyPerson"); n != 0 {
		t.Errorf("a repeat with a first name missing sent %d ModifyPerson", n)
	}
}
