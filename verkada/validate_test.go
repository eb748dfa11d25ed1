package verkada

import (
	"strings"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/verkada/verkadasim"
)

// Values that could change a query if they reached one are refused
// before any request.
func TestInjectionInIdentifiersIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	level := e.levels()[0]
	grants := map[string]func(*acs.Grant){
		"external ID with &":         func(g *acs.Grant) { g.Person.ExternalID = "a&user_id=x" },
		"external ID with =":         func(g *acs.Grant) { g.Person.ExternalID = "external_id=x" },
		"external ID with a quote":   func(g *acs.Grant) { g.Person.ExternalID = `x"y` },
		"external ID with a slash":   func(g *acs.Grant) { g.Person.ExternalID = "../x" },
		"external ID with %":         func(g *acs.Grant) { g.Person.ExternalID = "%2e%2e" },
		"external ID with a space":   func(g *acs.Grant) { g.Person.ExternalID = "visit 1" },
		"access level with &":        func(g *acs.Grant) { g.AccessLevels = []string{level + "&group_id=x"} },
		"access level with a slash":  func(g *acs.Grant) { g.AccessLevels = []string{"../core/v1/user"} },
		"name with a line break":     func(g *acs.Grant) { g.Person.LastName = "Smith\nX-Injected: 1" },
		"credential type of another": func(g *acs.Grant) { g.CredentialType = "HID 37-bit" },
	}
	for name, mutate := range grants {
		t.Run(name, func(t *testing.T) {
			e.sim.ResetRequests()
			g := testGrant(1, e.clk.Now(), level)
			mutate(&g)
			_, err := e.p.Provision(t.Context(), g)
			if acs.CodeOf(err) != acs.InvalidArgument {
				t.Fatalf("got %v, want invalid argument", err)
			}
			if reqs := e.sim.Requests(); len(reqs) != 0 {
				t.Errorf("requests were sent: %q", calls(reqs))
			}
		})
	}
	refs := map[string]acs.CredentialRef{
		"card ID with &":            {ID: "x&user_id=y", CardholderID: "u"},
		"cardholder ID with &":      {ID: "c", CardholderID: "u&card_id=z"},
		"external ID with &":        {CardholderExternalID: "a&b", Card: acs.Card{Format: acs.H10301, Number: 1}},
		"no cardholder":             {ID: "c"},
		"no ID and an invalid card": {CardholderExternalID: "visit-1", Card: acs.Card{Format: 99, Number: 1}},
	}
	for name, ref := range refs {
		t.Run("revoke: "+name, func(t *testing.T) {
			e.sim.ResetRequests()
			if err := e.p.Revoke(t.Context(), ref); acs.CodeOf(err) != acs.InvalidArgument {
				t.Fatalf("got %v, want invalid argument", err)
			}
			if reqs := e.sim.Requests(); len(reqs) != 0 {
				t.Errorf("requests were sent: %q", calls(reqs))
			}
		})
	}
	e.sim.ResetRequests()
	if err := e.p.RemoveCardholder(t.Context(), acs.CardholderRef{ID: "u&x=1"}); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("remove: got %v", err)
	}
	if reqs := e.sim.Requests(); len(reqs) != 0 {
		t.Errorf("requests were sent: %q", calls(reqs))
	}
}

// Names travel in JSON bodies only: whatever they hold is stored as
// given, and no query changes.
func TestInjectionInNamesIsData(t *testing.T) {
	e := newEnv(t, nil)
	names := []acs.Person{
		{FirstName: `Robert"); DROP TABLE users;--`, LastName: "O'Brien"},
		{FirstName: "a&external_id=evil", LastName: "b?user_id=x#frag"},
		{FirstName: `{"external_id":"x"}`, LastName: `\u0000`},
		{FirstName: "<script>alert(1)</script>", LastName: "名前 Ünïcødé"},
		{FirstName: "%00%0a", LastName: "../../token"},
	}
	for i, person := range names {
		g := testGrant(i, e.clk.Now(), e.levels()[0])
		person.ExternalID = g.Person.ExternalID
		person.Company = person.LastName
		g.Person = person
		e.sim.ResetRequests()
		p, err := e.p.Provision(t.Context(), g)
		if err != nil {
			t.Fatalf("%q: %v", person.FirstName, err)
		}
		u, ok := e.sim.User(g.Person.ExternalID)
		if !ok || u.FirstName != person.FirstName || u.LastName != person.LastName || u.Company != person.Company || u.ID != p.Cardholder.ID {
			t.Errorf("stored %+v, want the names as given: %+v", u, person)
		}
		for _, r := range e.sim.Requests() {
			for k := range r.Query {
				if k != "external_id" && k != "user_id" && k != "group_id" {
					t.Errorf("%s %s has query parameter %q", r.Method, r.Path, k)
				}
			}
		}
	}
	if c := e.sim.Census(); c != (verkadasim.Census{Users: len(names), Cards: len(names)}) {
		t.Errorf("census %+v", c)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  Config
		opts []Option
	}{
		"no API key":                {Config{}, nil},
		"API key with a line break": {Config{APIKey: "k\ny"}, nil},
		"plain http to a host":      {Config{APIKey: "k", BaseURL: "http://api.verkada.com"}, nil},
		"user info in the URL":      {Config{APIKey: "k", BaseURL: "https://u:p@api.verkada.com"}, nil},
		"empty marker":              {Config{APIKey: "k"}, []Option{WithMarker(" ")}},
		"negative polling":          {Config{APIKey: "k"}, []Option{WithEvents(EventOptions{Interval: -1})}},
	} {
		_, err := New(tc.cfg, tc.opts...)
		if acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("%s: got %v, want invalid argument", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "k\ny") {
			t.Errorf("%s: error quotes the key", name)
		}
	}
	for _, base := range []string{EUBaseURL, AUBaseURL, "http://127.0.0.1:8080", "http://localhost"} {
		if _, err := New(Config{APIKey: "k", BaseURL: base}); err != nil {
			t.Errorf("%s: %v", base, err)
		}
	}
	if _, err := New(Config{APIKey: "k", BaseURL: "http://10.0.0.5"}, WithAllowInsecureHTTP()); err != nil {
		t.Errorf("plain http when allowed: %v", err)
	}
}
