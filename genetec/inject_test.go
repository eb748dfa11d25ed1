package genetec_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
)

// checkOnlyLobby provisions g (for the lobby group only) and checks, in
// the simulator, that the cardholder stores the names exactly, belongs to
// the lobby group only, and that no group gained a member.
func checkOnlyLobby(t testing.TB, e *env, g acs.Grant) acs.Provisioned {
	t.Helper()
	ctx := context.Background()
	before := e.sim.Census()
	p, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatalf("provision %q/%q/%q: %v", g.Person.FirstName, g.Person.LastName, g.Person.Email, err)
	}
	if c := e.sim.Census(); c.Cardholders != before.Cardholders+1 || c.Credentials != before.Credentials+1 {
		t.Fatalf("census %+v after one provision from %+v", c, before)
	}
	ch, ok := e.sim.Cardholder(p.Cardholder.ID)
	if !ok {
		t.Fatal("cardholder missing")
	}
	if ch.FirstName != strings.TrimSpace(g.Person.FirstName) || ch.LastName != strings.TrimSpace(g.Person.LastName) || ch.Email != strings.TrimSpace(g.Person.Email) {
		t.Fatalf("stored %q/%q/%q, sent %q/%q/%q", ch.FirstName, ch.LastName, ch.Email, g.Person.FirstName, g.Person.LastName, g.Person.Email)
	}
	if !strings.HasSuffix(ch.Name, "["+g.Person.ExternalID+"]") {
		t.Fatalf("stored name %q lacks the key", ch.Name)
	}
	if !slices.Equal(ch.Groups, []string{genetecsim.SeedLobbyGroup}) {
		t.Fatalf("cardholder groups %v, want only the lobby", ch.Groups)
	}
	for _, grp := range e.sim.Groups() {
		if grp.GUID != genetecsim.SeedLobbyGroup && len(grp.Members) > 0 {
			t.Fatalf("group %s (%s) gained members %v", grp.Name, grp.GUID, grp.Members)
		}
	}
	if e.sim.Opens(p.Credential.ID, genetecsim.SeedFloor3Group, t0) {
		t.Fatal("credential opens floor 3")
	}
	if !e.sim.Opens(p.Credential.ID, genetecsim.SeedLobbyGroup, t0) {
		t.Fatal("credential does not open the lobby")
	}
	for _, c := range e.sim.Cardholders() {
		if c.GUID != p.Cardholder.ID && c.State != "Active" {
			t.Fatalf("another cardholder changed state: %+v", c)
		}
	}
	return p
}

func TestInjectionGetsNoExtraMembership(t *testing.T) {
	other := genetecsim.SeedFloor3Group
	names := []string{
		"Smith,Groups@" + other,
		"Smith,Groups@" + hex(other),
		"Smith,Groups@(" + hex(other) + ")",
		"Smith,Groups@{" + other + "}",
		`Smith\,Groups@` + hex(other),
		`Smith\\,Groups@` + hex(other),
		"Smith),entity=" + hex(other) + ",Name=pwned",
		"Smith,entity=" + hex(genetecsim.SeedLobbyGroup) + ",Name=pwned",
		"x,State=Inactive",
		"Smith=Jones@*-",
		"O'Brien-Smith (Jr.) {x} $var <y>",
		"<UndecodedWiegand>",
		`trailing backslash\`,
		"Zoë 王 🙂",
	}
	e := newEnv(t, nil)
	for i, last := range names {
		g := grant(100 + i)
		g.Person.LastName = last
		g.Person.Email = "x," + last + "@example.com"
		p := checkOnlyLobby(t, e, g)
		if err := e.p.RemoveCardholder(context.Background(), p.Cardholder); err != nil {
			t.Fatal(err)
		}
	}
	for _, grp := range e.sim.Groups() {
		if grp.Name == "pwned" {
			t.Fatal("a group was renamed")
		}
	}
}

func TestExcludedCharactersRefusedBeforeAnyRequest(t *testing.T) {
	e := newEnv(t, nil)
	for _, bad := range []string{"Smith#1", "a\x00b", "line\nbreak"} {
		g := grant(1)
		g.Person.LastName = bad
		_, err := e.p.Provision(context.Background(), g)
		if acs.CodeOf(err) != acs.InvalidArgument {
			t.Fatalf("%q: got %v, want invalid argument", bad, err)
		}
	}
	if n := len(e.sim.Requests()); n != 0 {
		t.Fatalf("%d requests sent for refused input", n)
	}
}

// FuzzQueryInjection provisions visitors with arbitrary names and e-mail
// addresses against the simulator and checks that each is either refused
// before any request or stored exactly, with exactly the requested group
// and nothing else changed.
//
//	go test -run '^$' -fuzz '^FuzzQueryInjection$' -fuzztime 60s ./genetec
func FuzzQueryInjection(f *testing.F) {
	seeds := [][3]string{
		{"Ada", "Lovelace", "ada@example.com"},
		{"Bob", "Smith,Groups@" + genetecsim.SeedFloor3Group, "bob@example.com"},
		{"x),entity=" + hex(genetecsim.SeedFloor3Group) + ",Name=pwned", "(", "{a}=@b*-c"},
		{`\`, `\\,`, `a\,b`},
		{"<Raw>1</Raw>", "$x", "#"},
		{"Zoë", "王", "🙂@例え.jp"},
		{" ", "Groups-" + hex(genetecsim.SeedLobbyGroup), "e=mc²"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2])
	}
	e := newEnv(f, nil)
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, first, last, email string) {
		g := grant(1)
		g.Person.ExternalID = "fuzz-" + itoa(int(n.Add(1)))
		g.Person.FirstName, g.Person.LastName, g.Person.Email = first, last, email
		e.sim.ResetRequests()
		if acs.ValidateGrant(g, acs.Rules{}) != nil || strings.ContainsRune(first+last+email, '#') {
			_, err := e.p.Provision(context.Background(), g)
			if acs.CodeOf(err) != acs.InvalidArgument {
				t.Fatalf("got %v, want invalid argument", err)
			}
			if r := e.sim.Requests(); len(r) != 0 {
				t.Fatalf("refused input sent %d requests", len(r))
			}
			return
		}
		checkOnlyLobby(t, e, g)
		// Every request the adapter sent parses, and only one item
		// adds to a collection: Groups@ the lobby.
		adds := 0
		for _, r := range e.sim.Requests() {
			if r.Q == "" {
				continue
			}
			items, err := genetecsim.ParseQuery(r.Q)
			if err != nil {
				t.Fatalf("request %q does not parse: %v", r.Q, err)
			}
			for _, it := range items {
				if it.Kind == genetecsim.KindAdd && r.Method == "POST" {
					adds++
					if !strings.EqualFold(it.Name, "Groups") || it.Value != hex(genetecsim.SeedLobbyGroup) {
						t.Fatalf("unexpected addition %q in %q", it.Raw, r.Q)
					}
				}
				if it.Kind == genetecsim.KindRemove || it.Kind == genetecsim.KindClear || it.Kind == genetecsim.KindCall {
					t.Fatalf("unexpected %s item %q in %q", it.Kind, it.Raw, r.Q)
				}
			}
		}
		if adds != 1 {
			t.Fatalf("%d collection additions, want 1", adds)
		}
		cleanup(t, e, g)
	})
}

func cleanup(t *testing.T, e *env, g acs.Grant) {
	t.Helper()
	if err := e.p.RemoveCardholder(context.Background(), acs.CardholderRef{ExternalID: g.Person.ExternalID}); err != nil {
		t.Fatal(err)
	}
	if c := e.sim.Census(); c != (genetecsim.Census{}) {
		t.Fatalf("census after cleanup: %+v", c)
	}
}
