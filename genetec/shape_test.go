package genetec_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
)

// hex returns the 32-hex form of a dashed GUID, as requests carry it.
func hex(g string) string { return strings.ReplaceAll(g, "-", "") }

const (
	lobbyHex  = "5a3e1f0c9b7d4c2a8e610d4f2b7a9c11"
	floor3Hex = "c7d2e8a41f3b4e59a6c08b9d7e2f4a36"
)

// wire formats a logged request as "METHOD path q".
func wire(r genetecsim.Request) string {
	s := r.Method + " " + r.Path
	if r.Q != "" {
		s += " " + r.Q
	}
	return s
}

// expectRequests compares the simulator's log with the wanted requests,
// checks the headers every request must carry, and clears the log.
func expectRequests(t *testing.T, e *env, want ...string) {
	t.Helper()
	got := e.sim.Requests()
	e.sim.ResetRequests()
	var lines []string
	for _, r := range got {
		lines = append(lines, wire(r))
		if r.Accept != "text/json" {
			t.Errorf("%s: Accept = %q, want text/json", wire(r), r.Accept)
		}
		if r.User != genetecsim.DefaultUser {
			t.Errorf("%s: user = %q", wire(r), r.User)
		}
		if r.Method == "POST" && r.ContentLength != "0" {
			t.Errorf("%s: Content-Length = %q, want 0", wire(r), r.ContentLength)
		}
		if r.Status != 200 || r.Rsp != "Ok" && r.Rsp != "Fail" {
			t.Errorf("%s: answered %d %q", wire(r), r.Status, r.Rsp)
		}
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\n\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

const window = "SpecificActivationPeriod(2025-03-10T08:59:00Z,2025-03-10T11:00:00Z)"

func TestShapePing(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.p.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	expectRequests(t, e, "GET ")
	if raw := e.sim.Requests(); len(raw) != 0 {
		t.Fatal("log not reset")
	}
}

func TestShapeProvisionRevoke(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	g := grant(1, genetecsim.SeedLobbyGroup)

	p, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	ch, cred := hex(p.Cardholder.ID), hex(p.Credential.ID)
	// Fresh provision: 6 round trips, the sixth the search for a twin
	// another process may have created meanwhile.
	expectRequests(t, e,
		`GET report/EntityConfiguration EntityTypes@Cardholder,Name=[visit\-1],NameSearchMode=Contains`,
		`GET report/EntityConfiguration EntityTypes@Credential,Name=H10301 42/1001,NameSearchMode=Contains`,
		`GET entity entity=`+lobbyHex+`,Guid,EntityType`,
		`POST entity entity=NewEntity(Cardholder),Name=Ada Lovelace [visit\-1],FirstName=Ada,LastName=Lovelace,EmailAddress=ada\@example.com,State=Active,ActivationMode=`+window+`,Guid`,
		`GET report/EntityConfiguration EntityTypes@Cardholder,Name=[visit\-1],NameSearchMode=Contains`,
		`POST entity entity=NewEntity(Credential),Name=H10301 42/1001,CardholderGuid=`+ch+`,Format=<UndecodedWiegand><BitLength>26</BitLength><FormatType>00000000-0000-0000-0000-000000000200</FormatType><Raw>000000000000000000000000025407D2</Raw></UndecodedWiegand>,State=Active,ActivationMode=`+window+`,Guid,entity=`+ch+`,Groups@`+lobbyHex,
	)

	// Repeat: 3 round trips, no write.
	p2, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	if p2.Created || p2.Credential != p.Credential {
		t.Fatalf("repeat: %+v, first %+v", p2, p)
	}
	holderRead := `,Guid,EntityType,Name,FirstName,LastName,EmailAddress,State,ActivationDate,ExpirationDate,Groups,Credentials`
	credRead := `,Guid,EntityType,Name,State,ActivationDate,ExpirationDate,CardholderGuid`
	searches := []string{
		`GET report/EntityConfiguration EntityTypes@Cardholder,Name=[visit\-1],NameSearchMode=Contains`,
		`GET report/EntityConfiguration EntityTypes@Credential,Name=H10301 42/1001,NameSearchMode=Contains`,
	}
	expectRequests(t, e, append(searches,
		// The lobby group was confirmed by the first call (cache TTL).
		`GET entity entity=`+ch+holderRead+`,entity=`+cred+credRead)...)

	// A longer visit on another floor: one write updates the window and
	// swaps the groups.
	g.ValidUntil = t0.Add(4 * time.Hour)
	g.AccessLevels = []string{genetecsim.SeedFloor3Group}
	if _, err := e.p.Provision(ctx, g); err != nil {
		t.Fatal(err)
	}
	longer := "SpecificActivationPeriod(2025-03-10T08:59:00Z,2025-03-10T13:00:00Z)"
	expectRequests(t, e, append(searches,
		`GET entity entity=`+floor3Hex+`,Guid,EntityType,entity=`+ch+holderRead+`,entity=`+cred+credRead,
		`POST entity entity=`+cred+`,State=Active,ActivationMode=`+longer+`,entity=`+ch+`,State=Active,ActivationMode=`+longer+`,Groups@`+floor3Hex+`,Groups-`+lobbyHex)...)

	// Revoke by ID: 3 round trips, the third the search for the card
	// held by a twin cardholder (none here).
	if err := e.p.Revoke(ctx, p.Credential); err != nil {
		t.Fatal(err)
	}
	expectRequests(t, e,
		`GET entity entity=`+cred+`,Guid,EntityType,CardholderGuid`,
		`DELETE entity/`+cred,
		searches[1])

	// Revoking again: the read is refused, the Web SDK confirms the
	// credential absent, which is a success: 3 round trips.
	if err := e.p.Revoke(ctx, p.Credential); err != nil {
		t.Fatal(err)
	}
	expectRequests(t, e, `GET entity entity=`+cred+`,Guid,EntityType,CardholderGuid`, `GET entity/exists/`+cred, searches[1])
}

func TestShapeRevokeByExternalID(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	g := grant(2)
	p, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	ch, cred := hex(p.Cardholder.ID), hex(p.Credential.ID)
	ref := acs.CredentialRef{CardholderExternalID: g.Person.ExternalID, Card: g.Card}
	if err := e.p.Revoke(ctx, ref); err != nil {
		t.Fatal(err)
	}
	// Lost-response revoke: 4 round trips (the card first: no credential
	// of it, nothing more to ask).
	expectRequests(t, e,
		`GET report/EntityConfiguration EntityTypes@Credential,Name=H10301 42/1002,NameSearchMode=Contains`,
		`GET report/EntityConfiguration EntityTypes@Cardholder,Name=[visit\-2],NameSearchMode=Contains`,
		`GET entity entity=`+ch+`,Guid,EntityType,Name,entity=`+cred+`,Guid,EntityType,Name,State,ActivationDate,ExpirationDate,CardholderGuid`,
		`DELETE entity/`+cred)
	if _, ok := e.sim.Credential(p.Credential.ID); ok {
		t.Fatal("credential still exists")
	}
}

func TestShapeRemoveCardholder(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	for _, byID := range []bool{true, false} {
		t.Run(fmt.Sprint("byID=", byID), func(t *testing.T) {
			n := 3
			if !byID {
				n = 4
			}
			g := grant(n)
			p, err := e.p.Provision(ctx, g)
			if err != nil {
				t.Fatal(err)
			}
			e.sim.ResetRequests()
			ch, cred := hex(p.Cardholder.ID), hex(p.Credential.ID)
			ref := p.Cardholder
			read := `GET entity entity=` + ch + `,Guid,EntityType,Name,Credentials`
			search := `GET report/EntityConfiguration EntityTypes@Cardholder,Name=[visit\-` + itoa(n) + `],NameSearchMode=Contains`
			// By ID, the cardholder is read, then every other cardholder
			// carrying its external ID is searched for.
			want := []string{read, search}
			if !byID {
				ref.ID = ""
				want = []string{search, read}
			}
			if err := e.p.RemoveCardholder(ctx, ref); err != nil {
				t.Fatal(err)
			}
			want = append(want,
				`DELETE entity/`+cred,
				`DELETE entity/`+ch)
			expectRequests(t, e, want...)
			if c := e.sim.Census(); c != (genetecsim.Census{}) {
				t.Fatalf("census after removal: %+v", c)
			}
		})
	}
}

func TestShapeAccessLevelsPaging(t *testing.T) {
	e := newEnv(t, nil, genetec.WithPageSize(2), genetec.WithConcurrency(1))
	extra := e.sim.AddGroup("Contractors")
	ctx := context.Background()
	levels, err := e.p.AccessLevels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []acs.AccessLevel{
		{ID: genetecsim.SeedLobbyGroup, Name: "Visitors - Lobby"},
		{ID: genetecsim.SeedFloor3Group, Name: "Visitors - Floor 3"},
		{ID: extra, Name: "Contractors"},
	}
	if fmt.Sprint(levels) != fmt.Sprint(want) {
		t.Fatalf("levels %v, want %v", levels, want)
	}
	// Page 1 holds 2 groups plus the extra one announcing page 2; each
	// page's names are read once the page is in.
	expectRequests(t, e,
		`GET report/EntityConfiguration EntityTypes@CardholderGroup,Page=1,PageSize=2`,
		`GET entity entity=`+lobbyHex+`,Guid,Name,entity=`+floor3Hex+`,Guid,Name`,
		`GET report/EntityConfiguration EntityTypes@CardholderGroup,Page=2,PageSize=2`,
		`GET entity entity=`+hex(extra)+`,Guid,Name`)

	formats, err := e.p.CredentialFormats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(formats) != 2 || formats[0].ID != genetec.FormatStandard26 || formats[0].Format != acs.H10301 {
		t.Fatalf("formats %+v", formats)
	}
	expectRequests(t, e) // no request
}

func TestShapeRawQueryEncoding(t *testing.T) {
	e := newEnv(t, nil)
	g := grant(5)
	g.Person.FirstName = "Zoë +1"
	if _, err := e.p.Provision(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	var raw string
	for _, r := range e.sim.Requests() {
		if strings.Contains(r.Q, "NewEntity(Cardholder)") {
			raw = r.RawQuery
		}
	}
	// Operators literal, space as %20, '+' as %2B, backslash as %5C,
	// UTF-8 percent-encoded.
	want := `q=entity=NewEntity(Cardholder),Name=Zo%C3%AB%20%2B1%20Lovelace%20%5Bvisit%5C-5%5D,FirstName=Zo%C3%AB%20%2B1,LastName=Lovelace,EmailAddress=ada%5C@example.com,State=Active,ActivationMode=` + window + `,Guid`
	if raw != want {
		t.Fatalf("raw query\n%s\nwant\n%s", raw, want)
	}
	for _, c := range e.sim.Cardholders() {
		if c.FirstName != "Zoë +1" {
			t.Fatalf("first name stored as %q", c.FirstName)
		}
	}
}

// TestAccessLevelsWithoutExtra: a server that does not add the extra
// entity announcing a further page is still read to the end, and a group
// deleted between the listing and the read of names is left out.
func TestAccessLevelsWithoutExtra(t *testing.T) {
	e := newEnv(t, nil, genetec.WithPageSize(2), genetec.WithConcurrency(1)) // faults answer in order
	extra := e.sim.AddGroup("Contractors")
	e.sim.Inject(genetecsim.Fault{Method: "GET", Path: "report/", Status: 200, ContentType: "text/json",
		Body: `{"Rsp":{"Status":"Ok","Result":[{"Guid":"` + genetecsim.SeedLobbyGroup + `"},{"Guid":"` + genetecsim.SeedFloor3Group + `"}]}}`})
	e.sim.Inject(genetecsim.Fault{Method: "GET", Path: "report/", Status: 200, ContentType: "text/json",
		Body: `{"Rsp":{"Status":"Ok","Result":[{"Guid":"` + extra + `"},{"Guid":"` + ghost + `"}]}}`})
	levels, err := e.p.AccessLevels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(levels) != 3 || levels[2].ID != extra {
		t.Fatalf("levels %+v", levels)
	}
}
