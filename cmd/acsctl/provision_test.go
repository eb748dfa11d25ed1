package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/internal/providers"
)

func TestResolveLevels(t *testing.T) {
	levels := []acs.AccessLevel{
		{ID: "11", Name: "Lobby"}, {ID: "12", Name: "Lobby"}, {ID: "13", Name: "Floor 3"},
		{ID: "14", Name: "Garage"}, {ID: "15", Name: "garage"}, {ID: "16", Name: "Roof"}, {ID: "Roof", Name: "Roof access"},
	}
	for _, c := range []struct {
		given []string
		want  []string
		err   string // in the error, when one is expected
	}{
		{given: []string{"13"}, want: []string{"13"}},
		{given: []string{"Floor 3"}, want: []string{"13"}},
		{given: []string{"floor 3"}, want: []string{"13"}},                   // ignoring case when nothing matches exactly
		{given: []string{"Garage"}, want: []string{"14"}},                    // the exact name wins over the folded one
		{given: []string{"Roof"}, want: []string{"Roof"}},                    // an ID wins over a name
		{given: []string{"13", "Floor 3", "16"}, want: []string{"13", "16"}}, // one level given twice is granted once
		{given: []string{"GARAGE"}, err: `access level name "GARAGE" is ambiguous at brivo: 2 levels have it: 14 ("Garage"), 15 ("garage"); pass one of those IDs instead`},
		{given: []string{"13", "Lobby"}, err: `access level name "Lobby" is ambiguous at brivo: 2 levels have it: 11 ("Lobby"), 12 ("Lobby")`},
		{given: []string{"Lobbby"}, err: `brivo has no access level with the ID or name "Lobbby"; list them with: acsctl --provider brivo … sync`},
	} {
		got, err := resolveLevels("brivo", levels, c.given)
		switch {
		case c.err != "":
			var ue *usageError
			if err == nil || !strings.Contains(err.Error(), c.err) || !errors.As(err, &ue) {
				t.Errorf("%q: got %v, %v; want a usage error containing %q", c.given, got, err, c.err)
			}
		case err != nil || !slices.Equal(got, c.want):
			t.Errorf("%q: got %v, %v; want %v", c.given, got, err, c.want)
		}
	}
}

// Access levels by name against a simulator: a unique name resolves to its
// ID, a name two levels share is refused listing both IDs, an unknown one
// points to sync; nothing is provisioned for the refusals.
func TestProvisionLevelsByNameAgainstSimulator(t *testing.T) {
	sim := providers.Brivo.Simulate(providers.SimOptions{})
	srv := httptest.NewServer(sim.Handler)
	defer srv.Close()
	sim.AddLevel("Lobby") // a second "Lobby"
	env := map[string]string{"ACS_PROVIDER": "brivo"}
	for s, v := range providers.Brivo.SimConfig(srv.URL) {
		env[s.Env()] = v
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	provision := func(level string) result {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), []string{"-o", "json", "provision", "--first-name", "Ada", "--last-name", "Lovelace",
			"--external-id", "by-name-1", "--facility-code", "1", "--card-number", "200", "--access-level", level,
			"--valid-until", "+8h"}, &stdout, &stderr, lookup)
		return result{stdout.String(), stderr.String(), code}
	}

	sim.ResetRequests()
	r := provision("Lobby")
	lobby := sim.Levels[0]
	if r.code != 2 || !strings.Contains(r.stderr, `access level name "Lobby" is ambiguous at brivo: 2 levels have it: `+lobby+` ("Lobby"), `) ||
		strings.Count(r.stderr, `("Lobby")`) != 2 {
		t.Errorf("ambiguous name: exit %d stderr %q", r.code, r.stderr)
	}
	r = provision("Penthouse")
	if r.code != 2 || !strings.Contains(r.stderr, `brivo has no access level with the ID or name "Penthouse"; list them with: acsctl --provider brivo … sync`) {
		t.Errorf("unknown name: exit %d stderr %q", r.code, r.stderr)
	}
	for _, c := range sim.Requests() {
		if c.Method != "GET" && !strings.Contains(c.Path, "oauth") {
			t.Errorf("a refused level still changed something: %s", c)
		}
	}

	r = provision("floor 3")
	var got struct {
		AccessLevels []string `json:"access_levels"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); r.code != 0 || err != nil || !slices.Equal(got.AccessLevels, sim.Levels[1:2]) {
		t.Errorf("by name: exit %d stdout %q stderr %q, want levels %v", r.code, r.stdout, r.stderr, sim.Levels[1:2])
	}
}

// The card and the window are checked before any connection: the facility
// code is required where the format has one, a window must end in the
// future and after it starts.
func TestProvisionChecksBeforeConnecting(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	base := []string{"provision", "--first-name", "Ada", "--last-name", "Lovelace", "--card-number", "200", "--access-level", "Lobby"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--valid-until", "+8h"}, "provision: --facility-code is required for h10301 cards (0 to 255)"},
		{[]string{"--format", "c1k35", "--valid-until", "+8h"}, "provision: --facility-code is required for c1k35 cards (0 to 4095)"},
		{[]string{"--facility-code", "1", "--valid-from", "2026-12-01T09:00:00Z", "--valid-until", "2026-12-01T17:00:00Z"},
			"provision: the window ends at 2026-12-01T17:00:00Z, which is already past (now 2026-12-07T10:00:00Z)"},
		{[]string{"--facility-code", "1", "--valid-until", "2026-12-07T10:00:00Z"}, "which is already past"},
		{[]string{"--facility-code", "1", "--valid-from", "2026-12-09T09:00:00Z", "--valid-until", "2026-12-08T17:00:00Z"},
			"provision: --valid-until 2026-12-08T17:00:00Z is not after --valid-from 2026-12-09T09:00:00Z"},
		{[]string{"--facility-code", "1", "--valid-until", "+eight hours"}, "is not + and a duration"},
		{[]string{"--facility-code", "1", "--valid-until", "tomorrow"}, "is not an RFC 3339 time"},
		{[]string{"--facility-code", "1"}, "--valid-until is required"},
		// Accepted: the check reaches the provider, which is missing.
		{[]string{"--facility-code", "1", "--valid-until", "+8h"}, "--provider is required"},
		{[]string{"--format", "h10302", "--valid-from", "2026-12-07T09:00:00Z", "--valid-until", "2026-12-07T10:00:01Z"}, "--provider is required"},
	} {
		var stdout, stderr bytes.Buffer
		a := &app{stdout: &stdout, stderr: &stderr, now: func() time.Time { return now }}
		code := a.run(t.Context(), append(slices.Clone(base), c.args...), func(string) (string, bool) { return "", false })
		if code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d stderr %q, want %q", c.args, code, stderr.String(), c.want)
		}
	}
}
