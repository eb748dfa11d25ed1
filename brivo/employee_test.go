package brivo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
)

var _ acstest.EmployeeHarness = harness{}

// AddEmployee creates a user with a card credential as an administrator
// would in Brivo's web UI (acstest.EmployeeHarness).
func (h harness) AddEmployee(_ context.Context, e acstest.EmployeeSpec) (acs.CredentialRef, error) {
	sim := h.e.sim
	uid, err := sim.AddUser(e.FirstName, e.LastName, "")
	if err != nil {
		return acs.CredentialRef{}, err
	}
	for _, l := range e.AccessLevels {
		gid, err := strconv.ParseInt(l, 10, 64)
		if err != nil {
			return acs.CredentialRef{}, err
		}
		if err := sim.AddMember(gid, uid); err != nil {
			return acs.CredentialRef{}, err
		}
	}
	if err := errors.Join(sim.SetSuspended(uid, !e.Enabled), sim.SetReadOnly(uid, e.ReadOnly)); err != nil {
		return acs.CredentialRef{}, err
	}
	i := slices.IndexFunc(brivosim.DefaultFormats(), func(f brivosim.Format) bool { return f.Wiegand == e.Card.Format })
	if i < 0 {
		return acs.CredentialRef{}, fmt.Errorf("no Brivo format for %s", e.Card)
	}
	cid, err := sim.AddCredential(brivosim.DefaultFormats()[i].ID, "", e.Card.Facility, e.Card.Number)
	if err != nil {
		return acs.CredentialRef{}, err
	}
	if err := sim.AssignCredential(uid, cid, time.Now().Add(-time.Hour), time.Time{}); err != nil {
		return acs.CredentialRef{}, err
	}
	return acs.CredentialRef{ID: strconv.FormatInt(cid, 10), CardholderID: strconv.FormatInt(uid, 10), Card: e.Card}, nil
}

// The requests of each EmployeeAccess method.
func TestEmployeeRequests(t *testing.T) {
	e := newEnv(t, nil)
	h := harness{e}
	ctx := t.Context()
	ref, err := h.AddEmployee(ctx, acstest.EmployeeSpec{FirstName: "Grace", LastName: "Hopper",
		Card: acs.Card{Format: acs.H10301, Facility: 7, Number: 4711}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.p.Ping(ctx); err != nil { // log in
		t.Fatal(err)
	}
	lobby := e.levels()[0]
	for _, c := range []struct {
		call func() error
		want []string
	}{
		{func() error { return e.p.SetEmployeeEnabled(ctx, ref.CardholderID, true) },
			[]string{"GET /users/" + ref.CardholderID, "PUT /users/" + ref.CardholderID + "/suspended"}},
		{func() error { return e.p.SetEmployeeEnabled(ctx, ref.CardholderID, true) },
			[]string{"GET /users/" + ref.CardholderID}},
		{func() error { return e.p.SetEmployeeLevels(ctx, ref.CardholderID, []string{lobby}, true) },
			[]string{"GET /groups?offset=0&pageSize=100", // the group catalogue, read once
				"GET /users/" + ref.CardholderID + "/groups?offset=0&pageSize=100", "PUT /groups/" + lobby + "/users/" + ref.CardholderID}},
		{func() error { return e.p.SetEmployeeLevels(ctx, ref.CardholderID, []string{lobby}, false) },
			[]string{"GET /users/" + ref.CardholderID + "/groups?offset=0&pageSize=100", "DELETE /groups/" + lobby + "/users/" + ref.CardholderID}},
	} {
		e.sim.ResetRequests()
		if err := c.call(); err != nil {
			t.Fatal(err)
		}
		if got := apiCalls(e.sim.Requests()); !slices.Equal(got, c.want) {
			t.Errorf("requests:\n got  %q\n want %q", got, c.want)
		}
	}
}
