package netbox

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/netbox/netboxsim"
)

// Names that look like XML, or close a CDATA section, are stored exactly:
// the encoder escapes them, and no element or level can be injected.
func TestNamesStoredExactly(t *testing.T) {
	e := newEnv(t, envOpts{})
	names := []string{
		`<script>alert(1)</script>`, `Smith & Sons`, `a]]>b`, `"quoted" 'single'`,
		`</LASTNAME><ACCESSLEVELS><ACCESSLEVEL>Floor 3</ACCESSLEVEL></ACCESSLEVELS><LASTNAME>x`,
		`<?xml version="1.0"?>`, `<!DOCTYPE x [<!ENTITY e "Floor 3">]>&e;`, `&amp;&lt;&#x41;`, `<![CDATA[x]]>`,
		`Zoë 李 🙂`, " leading and trailing ",
	}
	for i, n := range names {
		g := e.grant(i)
		g.Person.FirstName, g.Person.LastName = n, n
		if _, err := e.p.Provision(t.Context(), g); err != nil {
			t.Errorf("%q: %v", n, err)
			continue
		}
		got, _ := e.sim.Person(e.personID(g.Person.ExternalID))
		if got.FirstName != n || got.LastName != n || len(got.Levels) != 1 || got.Levels[0] != netboxsim.LevelLobbyName {
			t.Errorf("%q stored as %q %q with levels %q", n, got.FirstName, got.LastName, got.Levels)
		}
	}
}

// Text XML cannot carry exactly is refused before any request.
func TestNamesRefused(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, n := range []string{"nul\x00", "bell\a", "tab\t", "line\nbreak", "\uFFFE", "\uFFFF", "bad \xff utf-8", "\u2028"} {
		g := e.grant(1)
		g.Person.LastName = n
		_, err := e.p.Provision(t.Context(), g)
		var ae *acs.Error
		if acs.CodeOf(err) != acs.InvalidArgument || !asError(err, &ae) || ae.Provider != Name {
			t.Errorf("%q: %v", n, err)
		}
	}
	g := e.grant(1)
	g.CredentialType = "26 bit\uFFFE"
	if _, err := e.p.Provision(t.Context(), g); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("credential type with U+FFFE: %v", err)
	}
	if n := len(e.sim.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
	if _, err := New(Config{URL: "http://127.0.0.1/x", Username: "a\x00", Password: "p"}); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("user name with NUL: %v", err)
	}
}

func asError(err error, target **acs.Error) bool {
	ae, ok := err.(*acs.Error)
	*target = ae
	return ok
}

// A card format name with markup is escaped, and unknown to the
// controller: NotFound, nothing created.
func TestCredentialTypeEscaped(t *testing.T) {
	e := newEnv(t, envOpts{})
	g := e.grant(1)
	g.CredentialType = `26 bit</CARDFORMAT><ENCODEDNUM>9`
	if _, err := e.p.Provision(t.Context(), g); acs.CodeOf(err) != acs.NotFound {
		t.Errorf("got %v", err)
	}
	if c := e.sim.Census(); c.People != 0 {
		t.Errorf("census %+v", c)
	}
}

// Answers are read with encoding/xml: no entity is expanded but XML's
// own, so an answer cannot smuggle text in or make the parser work
// without bound.
func TestAnswersExpandNothing(t *testing.T) {
	for _, body := range []string{
		`<!DOCTYPE NETBOX [<!ENTITY x "SUCCESS">]><NETBOX><RESPONSE command="GetPerson"><CODE>&x;</CODE></RESPONSE></NETBOX>`,
		`<!DOCTYPE NETBOX [<!ENTITY x SYSTEM "file:///etc/passwd">]><NETBOX><RESPONSE command="GetPerson"><CODE>&x;</CODE></RESPONSE></NETBOX>`,
		`<!DOCTYPE l [<!ENTITY a "aa"><!ENTITY b "&a;&a;">]><NETBOX><RESPONSE><CODE>&b;</CODE></RESPONSE></NETBOX>`,
		strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100),
	} {
		if a, err := readAnswer("GetPerson", []byte(body)); err == nil {
			t.Errorf("%.60s read as %+v", body, a)
		}
	}
	a, err := readAnswer("GetPerson", []byte(`<?xml version="1.0" encoding="ISO-8859-1"?><NETBOX><RESPONSE command="GetPerson"><CODE>SUCCESS</CODE><DETAILS><LASTNAME>M`+"\xfc"+`ller</LASTNAME></DETAILS></RESPONSE></NETBOX>`))
	if err != nil || a.err != nil || a.details.raw("LASTNAME") != "Müller" {
		t.Errorf("ISO-8859-1 answer: %v %+v", err, a)
	}
}

// handlerTransport serves requests from a handler in memory (for the fuzz
// target, which sends many).
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// FuzzXMLInjection provisions a person with fuzzed names: either the
// provision is refused with InvalidArgument before any request, or the
// controller stores the names exactly, with the grant's level only.
func FuzzXMLInjection(f *testing.F) {
	for _, s := range []string{"Ada", "<b>", "a&b", "]]>", "</LASTNAME><ACCESSLEVEL>Floor 3</ACCESSLEVEL>", "\x00", "\uFFFE", "é", " ", "&lt;", "\r"} {
		f.Add(s, s)
	}
	f.Add("", "Lovelace")
	f.Add("Ada", "")
	clock := newTestClock()
	sim := netboxsim.New(netboxsim.WithClock(clock.Now))
	p, err := New(Config{URL: "http://127.0.0.1" + netboxsim.Path, Username: netboxsim.DefaultUsername, Password: netboxsim.DefaultPassword, Layouts: testLayouts},
		WithClock(clock.Now), WithHTTPClient(&http.Client{Transport: handlerTransport{sim}}), WithRetry(-1, 0, 0))
	if err != nil {
		f.Fatal(err)
	}
	now := clock.Now()
	f.Fuzz(func(t *testing.T, first, last string) {
		g := acs.Grant{Person: acs.Person{ExternalID: "fuzz", FirstName: first, LastName: last},
			Card: acs.Card{Format: acs.H10301, Facility: 42, Number: 1}, AccessLevels: []string{netboxsim.LevelLobby},
			ValidFrom: now, ValidUntil: now.Add(time.Hour)}
		sim.ResetRequests()
		_, err := p.Provision(t.Context(), g)
		if err != nil {
			if acs.CodeOf(err) != acs.InvalidArgument || len(sim.Requests()) != 0 {
				t.Fatalf("%q %q: %v after %d requests", first, last, err, len(sim.Requests()))
			}
			return
		}
		if strings.TrimSpace(last) == "" {
			first, last = "", first
		}
		got, _ := sim.Person(DefaultPersonIDPrefix + "fuzz")
		extra := len(got.Fields) - 1
		if _, ok := got.Fields["FIRSTNAME"]; ok {
			extra--
		}
		if got.FirstName != first || got.LastName != last || len(got.Levels) != 1 || len(got.Credentials) != 1 || extra != 0 {
			t.Fatalf("%q %q stored as %q %q, levels %q, fields %q", first, last, got.FirstName, got.LastName, got.Levels, got.Fields)
		}
	})
}

// FuzzReadAnswer: whatever the controller answers, reading it never
// panics, and only an answer whose CODE is SUCCESS is a success.
func FuzzReadAnswer(f *testing.F) {
	for _, s := range []string{
		`<NETBOX sessionid="x"><RESPONSE command="Login" num="1"><CODE>SUCCESS</CODE></RESPONSE></NETBOX>`,
		`<NETBOX><RESPONSE command="GetPerson"><APIERROR>5</APIERROR></RESPONSE></NETBOX>`,
		`<NETBOX><APIERROR>2</APIERROR></NETBOX>`,
		`<NETBOX><RESPONSE command="GetPerson"><CODE>FAIL</CODE><ERRMSG>NOT FOUND</ERRMSG></RESPONSE></NETBOX>`,
		`<NETBOX><RESPONSE command="GetPerson"><CODE> success </CODE><DETAILS><ERRMSG>x</ERRMSG></DETAILS></RESPONSE></NETBOX>`,
		`<html>`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := readAnswer("GetPerson", body)
		if err != nil || a.err != nil {
			return
		}
		root, perr := parseXML(body)
		if perr != nil {
			t.Fatalf("a success from a document that does not parse: %q", body)
		}
		code := strings.ToUpper(strings.Join(strings.Fields(root.child("RESPONSE").str("CODE")), " "))
		if code != "SUCCESS" {
			t.Fatalf("%q read as a success with CODE %q", body, code)
		}
	})
}
