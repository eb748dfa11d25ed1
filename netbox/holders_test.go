package netbox

import (
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/netbox/netboxsim"
)

// employee seeds a person entered by hand holding the card.
func (e *env) employee(id, hotstamp string, disabled bool, card acs.Card) {
	e.t.Helper()
	ok := e.sim.AddPerson(netboxsim.PersonInfo{ID: id, LastName: "Employee", Levels: []string{netboxsim.LevelLobbyName},
		Credentials: []netboxsim.CredentialInfo{{EncodedNum: uint10(card.Number), HotStamp: hotstamp, Format: netboxsim.Format26, Disabled: disabled}}})
	if !ok {
		e.t.Fatalf("seeding %s failed", id)
	}
}

// A card live for a person entered by hand is a Conflict, stays with
// that person, and the refused provision leaves no person behind, whether
// the holder is found by its hot stamp or not.
func TestCardHeldByEmployee(t *testing.T) {
	for _, hotstamp := range []string{"1001", ""} {
		e := newEnv(t, envOpts{})
		g := e.grant(1)
		e.employee("E-7", hotstamp, false, g.Card)
		_, err := e.p.Provision(t.Context(), g)
		if acs.CodeOf(err) != acs.Conflict {
			t.Fatalf("hot stamp %q: got %v, want a Conflict", hotstamp, err)
		}
		if c := e.sim.Census(); c.People != 1 || c.Credentials != 1 {
			t.Errorf("hot stamp %q: census %+v", hotstamp, c)
		}
		if got, _ := e.sim.Person("E-7"); got.Credentials[0].Disabled {
			t.Error("the employee's card was disabled")
		}
	}
}

// A returned badge (disabled, expired, or held by a deleted person) goes
// to the next visitor: the old record is removed.
func TestReturnedBadgeReused(t *testing.T) {
	e := newEnv(t, envOpts{})
	g := e.grant(1)
	e.employee("E-8", "1001", true, g.Card)
	p, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := e.sim.Person("E-8"); len(got.Credentials) != 0 {
		t.Errorf("the stale record stays: %+v", got.Credentials)
	}
	// Expired at the controller: the person's EXPDATE passed.
	e.clock.Advance(3 * time.Hour)
	g2 := e.grant(2)
	g2.Card = g.Card
	p2, err := e.p.Provision(t.Context(), g2)
	if err != nil {
		t.Fatalf("provision of the card after the first visit expired: %v", err)
	}
	if !e.opens(p2.Credential, netboxsim.LevelLobby, e.clock.Now()) || e.opens(p.Credential, netboxsim.LevelLobby, e.clock.Now()) {
		t.Error("the card did not move to the next visitor")
	}
}

// Changes made behind the adapter's back are repaired by the next
// provision: the window, the levels, a removed or disabled credential.
func TestReprovisionRepairsDrift(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	g := e.grant(1)
	p, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	id := p.Cardholder.ID
	now := e.clock.Now()
	drift := []struct {
		name   string
		change func()
	}{
		{"window", func() { e.sim.SetPersonWindow(id, now.Add(time.Hour), now.Add(2*time.Hour)) }},
		{"levels", func() { e.sim.SetPersonLevels(id, netboxsim.LevelFloor3Name) }},
		{"credential disabled", func() { e.sim.SetCredentialDisabled(p.Credential.ID, true) }},
		{"credential removed", func() { e.sim.DeleteCredential(id, p.Credential.ID) }},
	}
	for _, d := range drift {
		d.change()
		if e.opens(p.Credential, netboxsim.LevelLobby, now) && d.name != "credential removed" {
			t.Fatalf("%s: the change did not take", d.name)
		}
		q, err := e.p.Provision(ctx, g)
		if err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		if !e.opens(q.Credential, netboxsim.LevelLobby, now) || e.opens(q.Credential, netboxsim.LevelFloor3, now) {
			t.Errorf("%s: not repaired", d.name)
		}
		p = q
	}
}

// Two credentials of the card on the person (a controller that took both
// from racing replicas) converge on the smallest CREDENTIALID.
func TestTwinCredentialsConverge(t *testing.T) {
	e := newEnv(t, envOpts{})
	g := e.grant(1)
	id := e.personID(g.Person.ExternalID)
	twin := netboxsim.CredentialInfo{EncodedNum: "1001", HotStamp: "1001", Format: netboxsim.Format26}
	e.sim.AddPerson(netboxsim.PersonInfo{ID: id, LastName: "Visitor1", Credentials: []netboxsim.CredentialInfo{twin, twin}})
	before, _ := e.sim.Person(id)
	p, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := e.sim.Person(id)
	if len(after.Credentials) != 1 || after.Credentials[0].ID != before.Credentials[0].ID || p.Credential.ID != before.Credentials[0].ID {
		t.Errorf("credentials %+v, provisioned %q", after.Credentials, p.Credential.ID)
	}
}

// Two VMS replicas (each its own Provider) provision the same visit at the
// same instant: one person, one credential, the same references.
func TestReplicasConverge(t *testing.T) {
	e := newEnv(t, envOpts{})
	other, err := New(e.cfg, WithClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close(t.Context()) })
	for _, cmd := range []string{"AddPerson", "AddCredential"} {
		t.Run(cmd, func(t *testing.T) {
			n := map[string]int{"AddPerson": 1, "AddCredential": 2}[cmd]
			g := e.grant(n)
			// Both calls reach the command before either is carried out.
			var barrier sync.WaitGroup
			barrier.Add(2)
			e.sim.AddFault(netboxsim.Fault{Command: cmd, Times: 2, Before: func() { barrier.Done(); barrier.Wait() }})
			res := make([]acs.Provisioned, 2)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, p := range []*Provider{e.p, other} {
				wg.Go(func() { res[i], errs[i] = p.Provision(t.Context(), g) })
			}
			wg.Wait()
			if errs[0] != nil || errs[1] != nil {
				t.Fatalf("errors %v, %v", errs[0], errs[1])
			}
			if res[0].Cardholder != res[1].Cardholder || res[0].Credential != res[1].Credential {
				t.Errorf("references differ: %+v and %+v", res[0], res[1])
			}
			got, _ := e.sim.Person(e.personID(g.Person.ExternalID))
			if len(got.Credentials) != 1 {
				t.Errorf("credentials %+v", got.Credentials)
			}
		})
	}
	if c := e.sim.Census(); c.People != 2 || c.Credentials != 2 {
		t.Errorf("census %+v", c)
	}
}

// Two replicas give one card to two visits at the same instant: one gets
// it, the other a Conflict, and no person of the refused visit remains.
func TestReplicasRaceForOneCard(t *testing.T) {
	e := newEnv(t, envOpts{})
	other, err := New(e.cfg, WithClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close(t.Context()) })
	a, b := e.grant(1), e.grant(2)
	b.Card = a.Card
	var barrier sync.WaitGroup
	barrier.Add(2)
	e.sim.AddFault(netboxsim.Fault{Command: "AddCredential", Times: 2, Before: func() { barrier.Done(); barrier.Wait() }})
	errs := make([]error, 2)
	var wg sync.WaitGroup
	wg.Go(func() { _, errs[0] = e.p.Provision(t.Context(), a) })
	wg.Go(func() { _, errs[1] = other.Provision(t.Context(), b) })
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) || acs.CodeOf(errs[0]) != acs.Conflict && acs.CodeOf(errs[1]) != acs.Conflict {
		t.Fatalf("errors %v, %v: want one success and one Conflict", errs[0], errs[1])
	}
	if c := e.sim.Census(); c.People != 1 || c.Credentials != 1 {
		t.Errorf("census %+v", c)
	}
}

// Revoke and RemoveCardholder never touch a person this SDK did not
// create, whatever reference they are given.
func TestPeopleEnteredByHandUntouched(t *testing.T) {
	e := newEnv(t, envOpts{})
	card := acs.Card{Format: acs.H10301, Facility: 42, Number: 5}
	e.employee("E-1", "5", false, card)
	ctx := t.Context()
	if err := e.p.RemoveCardholder(ctx, acs.CardholderRef{ID: "E-1"}); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("remove: %v", err)
	}
	if err := e.p.Revoke(ctx, acs.CredentialRef{CardholderID: "E-1", Card: card}); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("revoke: %v", err)
	}
	if got, _ := e.sim.Person("E-1"); got.Deleted || got.Credentials[0].Disabled || len(e.sim.Requests()) != 0 {
		t.Errorf("the employee was touched: %+v after %d requests", got, len(e.sim.Requests()))
	}
}
