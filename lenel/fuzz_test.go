package lenel

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
)

// handlerTransport serves requests from a handler in memory, so a fuzz
// iteration costs no socket.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// filterGrammar is every filter this package may send: comparisons of a
// known property with an integer or a safe string, joined by AND or OR.
var filterGrammar = regexp.MustCompile(`^(?:ID|BADGEKEY|PERSONID|ACCESSLEVELID|SSNO) = (?:-?[0-9]+|"[A-Za-z0-9._-]{1,64}")(?: (?:AND|OR) (?:ID|BADGEKEY|PERSONID|ACCESSLEVELID|SSNO) = (?:-?[0-9]+|"[A-Za-z0-9._-]{1,64}"))*$`)

var stringLiteral = regexp.MustCompile(`"([^"]*)"`)

// FuzzFilterInjection feeds arbitrary external IDs, names, cards and
// references through every operation against the simulator, next to a
// victim visitor, and checks that every filter sent stays inside the safe
// grammar, that the only string ever placed in a filter is the (valid)
// external ID, that refused input makes no request, and that the victim's
// badge keeps opening its door.
func FuzzFilterInjection(f *testing.F) {
	for _, s := range []struct {
		ext, first, last, company, ref string
		card                           uint16
	}{
		{"visit-1", "Ada", "Lovelace", "ACME", "7", 1001},
		{`O"Brien OR 1=1`, `O"Brien`, `OR 1=1`, "", "1 OR 1=1", 2002},
		{`x" OR SSNO LIKE "%`, "%", "_", "", `"`, 3003},
		{"victim", "Eve", "Mallory", "", "-1", 4242},
		{"a_b.c-d", "Zoë", "Ñúñez", "Ltd. \"Quotes\"", "01", 4242},
		{`' OR ''='`, "x", "y", "", "9999999999999999999999", 0},
		{"OR", "AND", "LIKE", "NOT", "", 5},
		{strings.Repeat("a", 65), "x", "y", "", "", 6},
		{"SSNO", "ID = 1", `" OR "1"="1`, "", "BADGEKEY", 7},
	} {
		f.Add(s.ext, s.first, s.last, s.company, s.ref, s.card)
	}
	clock := newTestClock()
	sim := lenelsim.New(lenelsim.WithClock(clock.Now), lenelsim.WithIdleTimeout(0), lenelsim.WithSessionTTL(24*365*time.Hour))
	p, err := New(Config{
		BaseURL:       "http://127.0.0.1" + lenelsim.BasePath,
		Username:      lenelsim.DefaultUser,
		Password:      lenelsim.DefaultPassword,
		ApplicationID: lenelsim.DefaultApplicationID,
	}, WithHTTPClient(&http.Client{Transport: handlerTransport{sim}}), WithClock(clock.Now), WithKeepAlive(0), WithRetry(-1, 0, 0))
	if err != nil {
		f.Fatal(err)
	}
	ctx := f.Context()
	victim := acs.Grant{
		Person:       acs.Person{ExternalID: "victim", FirstName: "Vic", LastName: "Tim"},
		Card:         acs.Card{Format: acs.H10301, Facility: 1, Number: 4242},
		AccessLevels: []string{"1"},
		ValidFrom:    clock.Now().Add(-time.Hour),
		ValidUntil:   clock.Now().Add(24 * time.Hour),
	}
	vp, err := p.Provision(ctx, victim)
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, ext, first, last, company, ref string, card uint16) {
		if ext == victim.Person.ExternalID {
			return // the victim's own key addresses the victim by design
		}
		sim.ResetRequests()
		g := acs.Grant{
			Person:       acs.Person{ExternalID: ext, FirstName: first, LastName: last, Company: company},
			Card:         acs.Card{Format: acs.H10301, Facility: 1, Number: uint64(card)},
			AccessLevels: []string{"1"},
			ValidFrom:    clock.Now().Add(-time.Minute),
			ValidUntil:   clock.Now().Add(time.Hour),
		}
		_, perr := p.Provision(ctx, g)
		valid := acs.ValidateGrant(g, acs.Rules{}) == nil && card != 0 && strings.TrimSpace(first+last) != ""
		switch {
		case !valid:
			if acs.CodeOf(perr) != acs.InvalidArgument || len(sim.Requests()) != 0 {
				t.Fatalf("invalid grant: %v after %d requests", perr, len(sim.Requests()))
			}
		case card == uint16(victim.Card.Number):
			if acs.CodeOf(perr) != acs.Conflict {
				t.Fatalf("victim's card: %v, want conflict", perr)
			}
		case perr != nil:
			t.Fatalf("valid grant refused: %v", perr)
		}
		_ = p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: ext, Card: g.Card})
		_ = p.RemoveCardholder(ctx, acs.CardholderRef{ExternalID: ext})

		// References by OnGuard ID: a malformed one is refused before any
		// request; a well-formed one addresses that record by design.
		n := len(sim.Requests())
		if _, err := parseKey("fuzz", "id", ref); err != nil {
			if err := p.Revoke(ctx, acs.CredentialRef{ID: ref}); acs.CodeOf(err) != acs.InvalidArgument {
				t.Fatalf("revoke by malformed ID %q: %v", ref, err)
			}
			if err := p.RemoveCardholder(ctx, acs.CardholderRef{ID: ref}); acs.CodeOf(err) != acs.InvalidArgument {
				t.Fatalf("remove by malformed ID %q: %v", ref, err)
			}
			if err := p.Revoke(ctx, acs.CredentialRef{CardholderID: ref, Card: g.Card}); acs.CodeOf(err) != acs.InvalidArgument {
				t.Fatalf("revoke by malformed cardholder ID %q: %v", ref, err)
			}
			if m := len(sim.Requests()); m != n {
				t.Fatalf("malformed ID %q made %d requests", ref, m-n)
			}
		}

		for _, r := range sim.Requests() {
			fl := r.Query.Get("filter")
			if fl == "" {
				continue
			}
			if !filterGrammar.MatchString(fl) {
				t.Fatalf("filter outside the safe grammar: %q", fl)
			}
			for _, m := range stringLiteral.FindAllStringSubmatch(fl, -1) {
				if m[1] != ext {
					t.Fatalf("filter holds %q, which is not the external ID %q", m[1], ext)
				}
			}
			if r.Status != http.StatusOK {
				t.Fatalf("request %s answered %d", shape(r), r.Status)
			}
		}
		if !sim.Opens(vp.Credential.ID, "1", clock.Now()) {
			t.Fatalf("victim lost access after input %q / %q %q", ext, first, last)
		}
		if c := sim.Census(); c.Visitors != 1 || c.Badges != 1 {
			t.Fatalf("census %+v: the fuzzed visitor was not cleaned up, or the victim was touched", c)
		}
	})
}
