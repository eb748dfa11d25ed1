package bench

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	guidRE = regexp.MustCompile(`[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}`)
	timeRE = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d(:|%3A)\d\d(:|%3A)\d\d`)
)

// normalise replaces generated GUIDs by their order of appearance and
// blanks timestamps (a revocation's end is "now", to the second), so that
// two runs can be compared.
func normalise(calls []Call) []string {
	seen := map[string]string{}
	out := make([]string, len(calls))
	for i, c := range calls {
		s := guidRE.ReplaceAllStringFunc(c.String(), func(g string) string {
			k := strings.ReplaceAll(g, "-", "")
			if _, ok := seen[k]; !ok {
				seen[k] = "GUID" + strconv.Itoa(len(seen))
			}
			return seen[k]
		})
		out[i] = timeRE.ReplaceAllString(s, "TIME") + " → " + strconv.Itoa(c.Status)
	}
	return out
}

// TestFloorSendsTheAdaptersRequests checks that each floor client sends
// the very requests of its adapter (method, path, query, body, headers
// the simulator logs) for a cold first provision (session and catalogues
// included), a new visitor's provision, the same provision repeated
// (nothing to change) and a revocation by ID, each compared on its own,
// so that comparing their costs is fair.
func TestFloorSendsTheAdaptersRequests(t *testing.T) {
	for _, name := range FloorProviders() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Now()
			run := func(useFloor bool) (cold, warm, repeat, revoke []string) {
				s, err := StartSim(name, SimOptions{})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				var prov func(n int) (FloorRef, error)
				var rev func(FloorRef) error
				if useFloor {
					f, err := NewFloor(ctx, name, s.URL, nil)
					if err != nil {
						t.Fatal(err)
					}
					prov = func(n int) (FloorRef, error) { return f.Provision(ctx, Grant(n, s.Level(), now)) }
					rev = func(r FloorRef) error { return f.Revoke(ctx, r) }
				} else {
					p, err := s.NewProvider(ClientOptions{})
					if err != nil {
						t.Fatal(err)
					}
					defer Close(p)
					ad := Adapter{p}
					prov = func(n int) (FloorRef, error) { return ad.Provision(ctx, Grant(n, s.Level(), now)) }
					rev = func(r FloorRef) error { return ad.Revoke(ctx, r) }
				}
				if _, err := prov(0); err != nil { // cold: session, catalogues
					t.Fatal(err)
				}
				cold = normalise(s.Log())
				s.ResetLog()
				ref, err := prov(1)
				if err != nil {
					t.Fatal(err)
				}
				warm = normalise(s.Log())
				s.ResetLog()
				again, err := prov(1)
				if err != nil {
					t.Fatal(err)
				}
				if again.Holder != ref.Holder || again.Credential != ref.Credential {
					t.Fatalf("repeated provision gave %+v, want the first one's %+v", again, ref)
				}
				repeat = normalise(s.Log())
				s.ResetLog()
				if err := rev(ref); err != nil {
					t.Fatal(err)
				}
				return cold, warm, repeat, normalise(s.Log())
			}
			wantCold, wantWarm, wantRepeat, wantRevoke := run(false)
			gotCold, gotWarm, gotRepeat, gotRevoke := run(true)
			sameRequests(t, "cold provision", wantCold, gotCold)
			sameRequests(t, "warm provision", wantWarm, gotWarm)
			sameRequests(t, "repeated provision", wantRepeat, gotRepeat)
			sameRequests(t, "revocation", wantRevoke, gotRevoke)
		})
	}
}

// sameRequests fails t unless the floor's normalised log got equals the
// adapter's, want.
func sameRequests(t *testing.T, what string, want, got []string) {
	t.Helper()
	t.Logf("%s: %d requests, identical after normalising: first %s", what, len(want), want[0])
	if len(want) != len(got) {
		t.Fatalf("%s: floor sent %d requests, adapter %d:\nfloor:\n%q\nadapter:\n%q", what, len(got), len(want), got, want)
	}
	for i := range want {
		if want[i] != got[i] {
			t.Errorf("%s: request %d differs:\nadapter %s\nfloor   %s", what, i+1, want[i], got[i])
		}
	}
}
