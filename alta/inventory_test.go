package alta

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/alta/altasim"
	"github.com/acsbridge/acsbridge/wiegand"
)

func holdings(t *testing.T, p *Provider) map[string]acs.Holding {
	t.Helper()
	out := map[string]acs.Holding{}
	if err := p.Holdings(t.Context(), func(h acs.Holding) error {
		if _, dup := out[h.Cardholder.ExternalID]; dup {
			t.Errorf("%s delivered twice", h.Cardholder.ExternalID)
		}
		out[h.Cardholder.ExternalID] = h
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// Holdings reads Alta's state: employees are left out, and changes made
// behind the adapter's back show.
func TestHoldingsReflectAlta(t *testing.T) {
	e := newEnv(t, nil)
	emp, err := e.sim.AddUser("jo@corp.example", "Jo", "Employee", "hr-4711") // an HR sync sets externalId too
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.AddCard(emp, wiegand.H10301, 9, 9); err != nil {
		t.Fatal(err)
	}
	g0, p0 := provisioned(t, e, 0)
	g1, p1 := provisioned(t, e, 1)
	_, p2 := provisioned(t, e, 2)
	_, p3 := provisioned(t, e, 3)
	later := e.clk.Now().Add(5 * time.Hour)
	_ = e.sim.SetCredentialWindow(mustID(p0.Credential.ID), g0.ValidFrom, later) // the user's window still ends first
	_ = e.sim.SetUserGroups(mustID(p1.Cardholder.ID), 4822, 5729)
	_ = e.sim.SetUserStatus(mustID(p1.Cardholder.ID), "S")
	e.sim.DeleteCredential(mustID(p2.Credential.ID))
	if err := e.p.RemoveCardholder(t.Context(), p3.Cardholder); err != nil {
		t.Fatal(err)
	}

	got := holdings(t, e.p)
	if _, ok := got["hr-4711"]; ok || len(got) != 3 {
		t.Fatalf("holdings %v: want visits 0, 1 and 2 only", slices.Sorted(mapKeysOf(got)))
	}
	h0 := got[g0.Person.ExternalID]
	if len(h0.Credentials) != 1 || h0.Cardholder.ID != p0.Cardholder.ID || h0.FirstName != "Ada" {
		t.Fatalf("visit 0: %+v", h0)
	}
	c0 := h0.Credentials[0]
	if c0.Ref != p0.Credential || !c0.Active || !c0.ValidFrom.Equal(g0.ValidFrom) || !c0.ValidUntil.Equal(g0.ValidUntil) ||
		!slices.Equal(c0.AccessLevels, g0.AccessLevels) || !c0.OpensAt(e.clk.Now()) {
		t.Errorf("visit 0 credential %+v", c0)
	}
	c1 := got[g1.Person.ExternalID].Credentials[0]
	if c1.Active || c1.OpensAt(e.clk.Now()) || !slices.Equal(c1.AccessLevels, []string{"4822", "5729"}) || c1.Ref.Card != g1.Card {
		t.Errorf("visit 1 (suspended, extra group) %+v", c1)
	}
	if cs := got["visit-2"].Credentials; len(cs) != 0 {
		t.Errorf("visit 2 lists %d credentials after the deletion", len(cs))
	}
	stop := errors.New("stop")
	n := 0
	if err := e.p.Holdings(t.Context(), func(acs.Holding) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("fn's error: %v after %d calls", err, n)
	}
}

func mapKeysOf[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// When the organisation-wide credential listing does not name each
// credential's user, or users are listed without groups, Holdings asks per
// user.
func TestHoldingsFallBackPerUser(t *testing.T) {
	clk := newFakeClock()
	sim := altasim.New(altasim.WithClock(clk.Now))
	strip := func(items []any, key string) {
		for _, it := range items {
			delete(it.(map[string]any), key)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, r)
		var m map[string]any
		if r.Method == "GET" && json.Unmarshal(rec.Body.Bytes(), &m) == nil {
			if items, ok := m["data"].([]any); ok {
				switch r.URL.Path {
				case "/orgs/5231/credentials":
					strip(items, "user")
				case "/orgs/5231/users":
					strip(items, "groups")
				}
			}
			b, _ := json.Marshal(m)
			rec.Body.Reset()
			rec.Body.Write(b)
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	defer srv.Close()
	p, err := New(simConfig(srv.URL), testOptions(WithClock(clk.Now))...)
	if err != nil {
		t.Fatal(err)
	}
	var want []acs.Provisioned
	for i := range 3 {
		pr, err := p.Provision(t.Context(), testGrant(i, clk.Now(), "5729"))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, pr)
	}
	got := holdings(t, p)
	for i, pr := range want {
		h := got["visit-"+strconv.Itoa(i)]
		if len(h.Credentials) != 1 || h.Credentials[0].Ref != pr.Credential || !slices.Equal(h.Credentials[0].AccessLevels, []string{"5729"}) {
			t.Errorf("visit %d: %+v", i, h)
		}
	}
}
