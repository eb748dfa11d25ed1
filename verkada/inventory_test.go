package verkada

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/verkada/verkadasim"
)

func TestHoldingsListsMarkedUsersAcrossPages(t *testing.T) {
	e := newEnv(t, []verkadasim.Option{verkadasim.WithPageSize(2)})
	lobby, floor3 := e.levels()[0], e.levels()[1]
	// An employee with an external ID (from an HR sync) is not ours.
	emp, err := e.sim.AddUser("Grace", "Employee", "hr-0001")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.AddCard(emp, "HID", 9, 9, true); err != nil {
		t.Fatal(err)
	}
	want := map[string]acs.Grant{}
	var revoked acs.Provisioned
	for i := range 5 {
		g := testGrant(i, e.clk.Now(), lobby)
		if i%2 == 1 {
			g.AccessLevels = []string{lobby, floor3}
		}
		p := provisionOnce(t, e, g)
		want[g.Person.ExternalID] = g
		if i == 3 {
			revoked = p
		}
	}
	if err := e.p.Revoke(t.Context(), revoked.Credential); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	got := map[string]acs.Holding{}
	err = e.p.Holdings(t.Context(), func(h acs.Holding) error {
		if _, dup := got[h.Cardholder.ExternalID]; dup {
			t.Errorf("%s delivered twice", h.Cardholder.ExternalID)
		}
		got[h.Cardholder.ExternalID] = h
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d holdings, want %d: %v", len(got), len(want), got)
	}
	for ext, g := range want {
		h := got[ext]
		if h.FirstName != g.Person.FirstName+" "+g.Person.LastName {
			t.Errorf("%s: name %q %q", ext, h.FirstName, h.LastName)
		}
		if ext == revoked.Cardholder.ExternalID {
			if len(h.Credentials) != 0 {
				t.Errorf("%s: revoked card still listed: %+v", ext, h.Credentials)
			}
			continue
		}
		if len(h.Credentials) != 1 {
			t.Fatalf("%s: %d credentials", ext, len(h.Credentials))
		}
		c := h.Credentials[0]
		levels := slices.Clone(c.AccessLevels)
		slices.Sort(levels)
		if c.Ref.Card != g.Card || !c.Active || !slices.Equal(levels, g.AccessLevels) ||
			!c.ValidFrom.Equal(g.ValidFrom) || !c.ValidUntil.Equal(g.ValidUntil) || !c.OpensAt(e.clk.Now()) {
			t.Errorf("%s: held %+v, granted %+v", ext, c, g)
		}
	}
	// 6 users in pages of 2, plus one read per marked user.
	if n := len(e.sim.Requests()); n != 3+5 {
		t.Errorf("%d requests, want 8", n)
	}
	stop := errors.New("stop")
	n := 0
	if err := e.p.Holdings(t.Context(), func(acs.Holding) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("got %v after %d calls, want fn's error after 1", err, n)
	}
}

func TestHoldingsUseTheConfiguredMarker(t *testing.T) {
	e := newEnv(t, nil, WithMarker("Visitors (lobby desk)"))
	p := provisionOnce(t, e, testGrant(1, e.clk.Now(), e.levels()[0]))
	u, _ := e.sim.User("visit-1")
	if u.Department != "Visitors (lobby desk)" {
		t.Errorf("department %q", u.Department)
	}
	other, err := New(e.cfg, testOptions(e.clk)...) // default marker
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := other.Holdings(t.Context(), func(acs.Holding) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("another marker's holdings: %d, %v", n, err)
	}
	if err := e.p.Holdings(t.Context(), func(h acs.Holding) error {
		if h.Cardholder != p.Cardholder {
			t.Errorf("holding %+v, want %+v", h.Cardholder, p.Cardholder)
		}
		n++
		return nil
	}); err != nil || n != 1 {
		t.Errorf("holdings: %d, %v", n, err)
	}
}

// Should the listing rows not carry the department, the marker is read
// from each user with an external ID instead of every user being taken
// for someone else's.
func TestHoldingsWithoutDepartmentInRows(t *testing.T) {
	e := newEnv(t, nil)
	provisionOnce(t, e, testGrant(1, e.clk.Now(), e.levels()[0]))
	if _, err := e.sim.AddUser("Grace", "Employee", "hr-0001"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/access/v1/access_users" {
			e.sim.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		e.sim.ServeHTTP(rec, r)
		var page map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &page)
		for _, row := range page["access_members"].([]any) {
			delete(row.(map[string]any), "department")
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(page)
	}))
	defer srv.Close()
	p, err := New(Config{BaseURL: srv.URL, APIKey: verkadasim.DefaultAPIKey}, testOptions(e.clk)...)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := p.Holdings(t.Context(), func(h acs.Holding) error {
		got = append(got, h.Cardholder.ExternalID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"visit-1"}) {
		t.Errorf("holdings %q, want only visit-1", got)
	}
}
