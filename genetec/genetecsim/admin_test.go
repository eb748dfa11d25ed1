package genetecsim_test

import (
	"slices"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/wiegand"
)

func TestMissingEntityAnswers(t *testing.T) {
	const ghost = "0badc0de00004000800000000000f00d"
	for _, c := range []struct {
		mode      genetecsim.MissingEntity
		code, msg string
	}{
		{genetecsim.MissingInvalidOperation, "InvalidOperation", "Unable to find entity 0badc0de-0000-4000-8000-00000000f00d"},
		{genetecsim.MissingUnknownEntity, "UnknownEntity", "Entity '0badc0de-0000-4000-8000-00000000f00d' was not found"},
	} {
		f := newFixture(t, genetecsim.WithMissingEntity(c.mode))
		mustFail(t, f.call(t, "DELETE", "entity/"+ghost, ""), c.code, c.msg)
		mustFail(t, f.call(t, "GET", "entity", "entity="+ghost+",Guid"), c.code, c.msg)
		mustFail(t, f.call(t, "POST", "entity", "entity="+ghost+",Name=x"), c.code, c.msg)
	}
}

func TestExistsEndpoint(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct{ id, want string }{
		{hex(genetecsim.SeedLobbyGroup), `{"Exists":true}`},
		{genetecsim.SeedLobbyGroup, `{"Exists":true}`},
		{"0badc0de00004000800000000000f00d", `{"Exists":false}`},
	} {
		if a := mustOk(t, f.call(t, "GET", "entity/exists/"+c.id, "")); string(a.rsp.Result) != c.want {
			t.Errorf("exists %s: %s, want %s", c.id, a.rsp.Result, c.want)
		}
	}
	mustFail(t, f.call(t, "GET", "entity/exists/nope", ""), "InvalidOperation", "not an entity GUID")
	mustFail(t, f.call(t, "DELETE", "entity/exists/"+hex(genetecsim.SeedLobbyGroup), ""), "InvalidOperation", "GET")
}

func TestAdministratorChanges(t *testing.T) {
	f := newFixture(t)
	s := f.sim
	ch := s.AddCardholder("Ada Lovelace [visit-1]", "Ada", "Lovelace", genetecsim.SeedLobbyGroup)
	cred, ok := s.AddCredential("H10301 42/1001", wiegand.H10301, 42, 1001, "Active", ch, t0.Add(-time.Hour), t0.Add(time.Hour))
	if !ok || !s.SetWindow(ch, t0.Add(-time.Hour), t0.Add(time.Hour)) {
		t.Fatal("seeding failed")
	}
	if !s.Opens(cred, genetecsim.SeedLobbyGroup, t0) || s.Opens(cred, genetecsim.SeedLobbyGroup, t0.Add(2*time.Hour)) {
		t.Fatal("seeded credential does not open as expected")
	}

	// Widening the credential's window alone changes nothing at the door.
	if !s.SetWindow(cred, t0.Add(-time.Hour), t0.Add(24*time.Hour)) {
		t.Fatal("SetWindow(credential) failed")
	}
	if s.Opens(cred, genetecsim.SeedLobbyGroup, t0.Add(2*time.Hour)) {
		t.Fatal("the cardholder's window no longer bounds the credential")
	}
	if !s.SetWindow(ch, time.Time{}, time.Time{}) || !s.Opens(cred, genetecsim.SeedLobbyGroup, t0.Add(2*time.Hour)) {
		t.Fatal("removing the cardholder's window did not widen access")
	}
	if c, _ := s.Credential(cred); !c.Until.Equal(t0.Add(24 * time.Hour)) {
		t.Fatalf("credential window %v", c.Until)
	}
	if s.SetWindow(cred, t0, t0) || s.SetWindow(genetecsim.SeedLobbyGroup, t0, t0.Add(time.Hour)) || s.SetWindow("nope", t0, t0.Add(time.Hour)) {
		t.Fatal("SetWindow accepted an empty window, a group or a bad GUID")
	}

	// Levels.
	if !s.SetGroups(ch, genetecsim.SeedFloor3Group) || s.Opens(cred, genetecsim.SeedLobbyGroup, t0) || !s.Opens(cred, genetecsim.SeedFloor3Group, t0) {
		t.Fatal("SetGroups did not move the cardholder to floor 3")
	}
	if c, _ := s.Cardholder(ch); !slices.Equal(c.Groups, []string{genetecsim.SeedFloor3Group}) {
		t.Fatalf("groups %v", c.Groups)
	}
	if s.SetGroups(ch, "0badc0de-0000-4000-8000-00000000f00d") || s.SetGroups(cred, genetecsim.SeedLobbyGroup) {
		t.Fatal("SetGroups accepted an unknown group or a credential")
	}

	// State.
	if !s.SetState(cred, "lost") || s.Opens(cred, genetecsim.SeedFloor3Group, t0) {
		t.Fatal("a lost credential opens")
	}
	if s.SetState(ch, "Lost") || !s.SetState(cred, "Active") {
		t.Fatal("SetState")
	}

	// Deletion.
	if !s.DeleteCredential(cred) || s.DeleteCredential(cred) || s.DeleteCredential(ch) {
		t.Fatal("DeleteCredential")
	}
	if c, _ := s.Cardholder(ch); len(c.Credentials) != 0 {
		t.Fatalf("cardholder still lists %v", c.Credentials)
	}
}
