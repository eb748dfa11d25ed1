package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/wiegand"
)

// The authorization tests: an operator's permission limits (the access
// levels their user groups may grant, the types' forbidden levels, who may
// remove a visitor) cannot be bypassed through any public entry point of
// visitor.Engine taking an Operator. Each test tries every escalation it
// can think of through one entry point and checks, at the ACS (an
// acstest.Memory oracle), that nothing beyond the operator's rights was
// granted, that the refusal is a PermissionDenied (or InvalidArgument for
// malformed input) and that it was audited under the operator's ID.

const (
	lobby      = "lobby"
	floor3     = "floor-3"
	serverRoom = "server-room"
)

var (
	opDesk       = visitor.Operator{ID: "desk", Groups: []string{"reception"}}
	opFacilities = visitor.Operator{ID: "facilities", Groups: []string{"facilities"}}
	opGuard      = visitor.Operator{ID: "guard", Groups: []string{"security"}}
	opNobody     = visitor.Operator{ID: "nobody"}
	opAnnex      = visitor.Operator{ID: "annex-desk", Groups: []string{"annex-reception", "annex-security"}}
	opSpoof      = visitor.Operator{ID: "spoof", Groups: []string{"Reception", "reception ", "SECURITY", "security\u200b", " facilities", "*", ""}}
)

type authzEnv struct {
	engine *visitor.Engine
	hq     *acstest.Memory
	annex  *acstest.Memory
	clock  *visitor.ManualClock
}

func newAuthzEnv(t *testing.T) *authzEnv {
	t.Helper()
	levels := []acs.AccessLevel{{ID: lobby, Name: "Lobby"}, {ID: floor3, Name: "Floor 3"}, {ID: serverRoom, Name: "Server room"}}
	hq := acstest.NewMemory(levels, acstest.WithName("hq-acs"))
	annex := acstest.NewMemory(levels, acstest.WithName("annex-acs"))
	clock := visitor.NewManualClock(t0)
	types := map[string]visitor.VisitorType{
		"guest":      {AccessLevels: []string{lobby}, Forbidden: []string{serverRoom}},
		"contractor": {AccessLevels: []string{lobby, floor3}},
		"vip":        {AccessLevels: []string{serverRoom}},
	}
	e, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{
		{ID: "hq", Provider: hq, Policy: visitor.Policy{
			Types: types, DefaultType: "guest",
			OperatorGroups: map[string][]string{"reception": {lobby}, "facilities": {lobby, floor3, serverRoom}, "security": {}},
			SecurityGroups: []string{"security"},
			PIN:            visitor.PINPolicy{Enabled: true},
		}},
		{ID: "annex", Provider: annex, Policy: visitor.Policy{
			Types: types, DefaultType: "guest",
			OperatorGroups: map[string][]string{"annex-reception": {lobby, floor3, serverRoom}},
			SecurityGroups: []string{"annex-security"},
		}},
	}, visitor.WithClock(clock), visitor.WithPINKey([]byte("authz-test-pin-key-of-32-bytes!!")))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, loc := range []string{"hq", "annex"} {
		pool, err := e.Pool(loc)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 20; i++ {
			id := fmt.Sprint(700 + i)
			if _, err := pool.Add(ctx, badge.Badge{ID: id, Name: "Badge " + id, Card: badge.Card{Format: wiegand.H10301, Facility: 7, Number: uint64(700 + i)}}); err != nil {
				t.Fatal(err)
			}
		}
		alloc, err := e.Allocator(loc)
		if err != nil {
			t.Fatal(err)
		}
		if err := alloc.SetRange(ctx, badge.Range{Location: loc, Format: wiegand.H10301, Facility: 8, Min: 100, Max: 199}); err != nil {
			t.Fatal(err)
		}
	}
	return &authzEnv{engine: e, hq: hq, annex: annex, clock: clock}
}

// granted returns the access levels the visit's credentials open at the
// hq ACS now or three hours from now (after the arrival of the visits the
// tests invite).
func (a *authzEnv) granted(visitID string) []string {
	out := a.grantedAt(visitID, a.clock.Now())
	for _, l := range a.grantedAt(visitID, a.clock.Now().Add(3*time.Hour)) {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// grantedAt returns the access levels the visit's credentials open at the
// hq ACS at time at.
func (a *authzEnv) grantedAt(visitID string, at time.Time) []string {
	var out []string
	for _, ref := range a.hq.Active(at) {
		if ref.CardholderExternalID != visitID {
			continue
		}
		for _, l := range []string{lobby, floor3, serverRoom} {
			if a.hq.Opens(ref, l, at) && !slices.Contains(out, l) {
				out = append(out, l)
			}
		}
	}
	sort.Strings(out)
	return out
}

// expectDenied checks that err refuses the operation as a permission (or
// malformed input) problem, that the visit holds at most want at the ACS,
// has nothing pending and that the refusal is audited under the operator.
func (a *authzEnv) expectDenied(t *testing.T, what string, err error, op visitor.Operator, visitID string, want ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: allowed", what)
	} else if !errors.Is(err, acs.ErrPermissionDenied) && !errors.Is(err, acs.ErrInvalidArgument) {
		t.Errorf("%s: want PermissionDenied or InvalidArgument, got %v", what, err)
	}
	sort.Strings(want)
	if got := a.granted(visitID); !slices.Equal(got, want) {
		t.Errorf("%s: the visit opens %v at the ACS, want %v", what, got, want)
	}
	if p, _ := a.engine.Outbox(context.Background(), visitID); len(p) > 0 {
		t.Errorf("%s: %d ACS operations queued after a refusal", what, len(p))
	}
	if err != nil && op.ID != "" {
		recs, _ := a.engine.Audit(context.Background(), visitor.AuditQuery{VisitID: visitID})
		found := false
		for _, r := range recs {
			if r.Outcome == visitor.OutcomeRefused && r.Actor == op.ID && r.Error == err.Error() {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: refusal not audited under operator %q", what, op.ID)
		}
	}
}

func (a *authzEnv) signIn(t *testing.T, op visitor.Operator, id, typ string) {
	t.Helper()
	if _, err := a.engine.SignIn(context.Background(), op, visitor.SignInRequest{VisitID: id, Location: "hq", Type: typ,
		Visitor: visitor.Visitor{FirstName: "Vic", LastName: id}}); err != nil {
		t.Fatal(err)
	}
}

// escalation is one attempt to obtain access levels beyond the operator's
// rights.
type escalation struct {
	name   string
	op     visitor.Operator
	typ    string
	levels []string
	range_ bool
}

var escalations = []escalation{
	{name: "level outside the operator's groups", op: opDesk, levels: []string{floor3}},
	{name: "allowed and disallowed levels together", op: opDesk, levels: []string{lobby, floor3}},
	{name: "type whose defaults exceed the operator's rights", op: opDesk, typ: "contractor"},
	{name: "type whose default is the server room", op: opDesk, typ: "vip"},
	{name: "level forbidden to the type, operator allowed", op: opFacilities, levels: []string{serverRoom}},
	{name: "level forbidden to the type among allowed ones", op: opFacilities, levels: []string{lobby, serverRoom}},
	{name: "no groups at all", op: opNobody},
	{name: "no groups, explicit level", op: opNobody, levels: []string{lobby}},
	{name: "look-alike group names", op: opSpoof},
	{name: "look-alike group names, explicit level", op: opSpoof, levels: []string{lobby}},
	{name: "another location's groups", op: opAnnex, levels: []string{floor3}},
	{name: "another location's groups, defaults", op: opAnnex},
	{name: "level case variant", op: opDesk, levels: []string{"Floor-3"}},
	{name: "level with trailing space", op: opDesk, levels: []string{floor3 + " "}},
	{name: "level with NUL", op: opDesk, levels: []string{lobby + "\x00" + floor3}},
	{name: "level repeated to pad the check", op: opDesk, levels: []string{lobby, lobby, floor3}},
	{name: "empty level", op: opDesk, levels: []string{""}},
	{name: "card number from the range with a level outside the groups", op: opDesk, levels: []string{floor3}, range_: true},
	{name: "operator without an ID", op: visitor.Operator{Groups: []string{"facilities"}}, levels: []string{floor3}},
}

// TestAuthzEntryPoints lists the exported methods of visitor.Engine that
// take an Operator; each must have a test below. A new entry point fails
// this test until it is covered.
func TestAuthzEntryPoints(t *testing.T) {
	covered := []string{"CancelEnrolment", "CheckInEmployee", "CheckOutEmployee", "Invite", "Provision", "ProvisionPIN", "Remove",
		"ReportBadgeLost", "ReturnBadge", "SignIn", "SignOut", "StartEnrolment"}
	opType := reflect.TypeFor[visitor.Operator]()
	var got []string
	et := reflect.TypeFor[*visitor.Engine]()
	for i := range et.NumMethod() {
		m := et.Method(i)
		for j := range m.Type.NumIn() {
			if m.Type.In(j) == opType {
				got = append(got, m.Name)
				break
			}
		}
	}
	sort.Strings(got)
	if !slices.Equal(got, covered) {
		t.Errorf("Engine methods taking an Operator: %v; covered by tests: %v", got, covered)
	}
}

// TestAuthzSignIn: SignIn with Provision, for walk-ins, invited visits and
// a visit signing in again after returning its badge.
func TestAuthzSignIn(t *testing.T) {
	ctx := context.Background()
	a := newAuthzEnv(t)
	for i, esc := range escalations {
		id := "walkin-" + string(rune('a'+i))
		_, err := a.engine.SignIn(ctx, esc.op, visitor.SignInRequest{VisitID: id, Location: "hq", Type: esc.typ,
			Visitor:   visitor.Visitor{FirstName: "Vic"},
			Provision: &visitor.ProvisionRequest{AccessLevels: esc.levels, FromRange: esc.range_}})
		a.expectDenied(t, esc.name, err, esc.op, id)
	}
	// An invitation signed in by the desk with more than it may grant.
	if _, err := a.engine.Invite(ctx, opFacilities, visitor.InviteRequest{VisitID: "invited", Location: "hq", Type: "contractor",
		Visitor: visitor.Visitor{FirstName: "Ivy"}, ExpectedAt: a.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	_, err := a.engine.SignIn(ctx, opDesk, visitor.SignInRequest{VisitID: "invited", Provision: &visitor.ProvisionRequest{}})
	a.expectDenied(t, "invited contractor signed in by the desk", err, opDesk, "invited")
	// Signing in again after the badge went back, asking for more.
	_, err = a.engine.SignIn(ctx, opDesk, visitor.SignInRequest{VisitID: "back", Location: "hq",
		Visitor: visitor.Visitor{FirstName: "Bo"}, Provision: &visitor.ProvisionRequest{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.engine.ReturnBadge(ctx, opDesk, "back"); err != nil {
		t.Fatal(err)
	}
	_, err = a.engine.SignIn(ctx, opDesk, visitor.SignInRequest{VisitID: "back", Provision: &visitor.ProvisionRequest{AccessLevels: []string{floor3}}})
	a.expectDenied(t, "signing in again with more levels", err, opDesk, "back")

	// Control: what the desk may grant is granted.
	if _, err := a.engine.SignIn(ctx, opDesk, visitor.SignInRequest{VisitID: "ok", Location: "hq",
		Visitor: visitor.Visitor{FirstName: "Ok"}, Provision: &visitor.ProvisionRequest{}}); err != nil {
		t.Fatal(err)
	}
	if got := a.granted("ok"); !slices.Equal(got, []string{lobby}) {
		t.Errorf("control: the desk's guest opens %v, want [lobby]", got)
	}
}

// TestAuthzProvision: Provision on signed-in, invited and expected visits,
// with pool badges (next or scanned) and card numbers from the range.
func TestAuthzProvision(t *testing.T) {
	ctx := context.Background()
	a := newAuthzEnv(t)
	for i, esc := range escalations {
		id := "prov-" + string(rune('a'+i))
		a.signIn(t, opFacilities, id, esc.typ)
		_, err := a.engine.Provision(ctx, esc.op, id, visitor.ProvisionRequest{AccessLevels: esc.levels, FromRange: esc.range_})
		a.expectDenied(t, esc.name, err, esc.op, id)
		_, err = a.engine.Provision(ctx, esc.op, id, visitor.ProvisionRequest{BadgeID: "705\r\n", AccessLevels: esc.levels})
		a.expectDenied(t, esc.name+" (scanned badge)", err, esc.op, id)
	}
	// Before arrival: invited and expected visits.
	for _, typ := range []string{"contractor", "vip"} {
		id := "pre-" + typ
		if _, err := a.engine.Invite(ctx, opFacilities, visitor.InviteRequest{VisitID: id, Location: "hq", Type: typ,
			Visitor: visitor.Visitor{FirstName: "Pre"}, ExpectedAt: a.clock.Now().Add(2 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		_, err := a.engine.Provision(ctx, opDesk, id, visitor.ProvisionRequest{})
		a.expectDenied(t, "pre-arrival provision of a "+typ, err, opDesk, id)
	}
	// Control: facilities may give the contractor both floors.
	if _, err := a.engine.Provision(ctx, opFacilities, "pre-contractor", visitor.ProvisionRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := a.grantedAt("pre-contractor", a.clock.Now().Add(2*time.Hour+time.Minute)); !slices.Equal(got, []string{floor3, lobby}) {
		t.Errorf("control: facilities' contractor opens %v", got)
	}
}

// TestAuthzProvisionPIN: a PIN, alongside a card or instead of one, obeys
// the same limits as a card: every escalation is refused, audited, queues
// nothing and sends no PIN to the ACS, and no PIN is returned.
func TestAuthzProvisionPIN(t *testing.T) {
	ctx := context.Background()
	a := newAuthzEnv(t)
	for i, esc := range escalations {
		id := "pin-" + string(rune('a'+i))
		a.signIn(t, opFacilities, id, esc.typ)
		for _, mode := range []visitor.PINMode{visitor.PINOnly, visitor.PINWithCard} {
			req := visitor.ProvisionRequest{AccessLevels: esc.levels, PIN: mode, FromRange: esc.range_ && mode == visitor.PINWithCard}
			_, pin, err := a.engine.ProvisionPIN(ctx, esc.op, id, req)
			a.expectDenied(t, esc.name+" ("+string(mode)+")", err, esc.op, id)
			if !pin.IsZero() || a.hq.Calls()["provision_pin"] != 0 {
				t.Errorf("%s (%s): a PIN was issued", esc.name, mode)
			}
		}
	}
	// Control: facilities may give the contractor a PIN for both floors.
	a.signIn(t, opFacilities, "pin-control", "contractor")
	_, pin, err := a.engine.ProvisionPIN(ctx, opFacilities, "pin-control", visitor.ProvisionRequest{PIN: visitor.PINOnly})
	if err != nil || !a.hq.OpensWithPIN(pin, floor3, a.clock.Now()) || a.hq.OpensWithPIN(pin, serverRoom, a.clock.Now()) {
		t.Errorf("control: facilities' contractor PIN: %v", err)
	}
}

// TestAuthzInvite: an invitation grants nothing, whoever sends it and
// whatever its type, also once its window opens (Sweep); the credential
// needs a Provision by an operator allowed to grant it.
func TestAuthzInvite(t *testing.T) {
	ctx := context.Background()
	a := newAuthzEnv(t)
	for _, op := range []visitor.Operator{opNobody, opDesk, opSpoof} {
		id := "inv-" + op.ID
		v, err := a.engine.Invite(ctx, op, visitor.InviteRequest{VisitID: id, Location: "hq", Type: "vip",
			Visitor: visitor.Visitor{FirstName: "Vip"}, ExpectedAt: a.clock.Now().Add(30 * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Credentials) > 0 {
			t.Errorf("invitation by %s holds credentials: %+v", op.ID, v.Credentials)
		}
	}
	a.clock.Advance(time.Hour)
	if _, err := a.engine.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	for _, op := range []visitor.Operator{opNobody, opDesk, opSpoof} {
		id := "inv-" + op.ID
		if got := a.granted(id); len(got) > 0 {
			t.Errorf("invitation by %s opens %v after its window opened", op.ID, got)
		}
		_, err := a.engine.SignIn(ctx, op, visitor.SignInRequest{VisitID: id, Provision: &visitor.ProvisionRequest{}})
		a.expectDenied(t, "vip signed in by "+op.ID, err, op, id)
	}
	_, err := a.engine.Invite(ctx, visitor.Operator{Groups: []string{"facilities"}}, visitor.InviteRequest{VisitID: "anon", Location: "hq",
		Visitor: visitor.Visitor{FirstName: "Anon"}, ExpectedAt: a.clock.Now().Add(time.Hour)})
	if !errors.Is(err, acs.ErrInvalidArgument) {
		t.Errorf("invitation by an operator without ID: %v", err)
	}
}

// TestAuthzRemove: only a member of one of the location's security groups
// removes a visitor; look-alike group names, another location's security
// group and plain operators are refused and the visitor keeps their badge.
func TestAuthzRemove(t *testing.T) {
	ctx := context.Background()
	a := newAuthzEnv(t)
	if _, err := a.engine.SignIn(ctx, opDesk, visitor.SignInRequest{VisitID: "target", Location: "hq",
		Visitor: visitor.Visitor{FirstName: "Tim"}, Provision: &visitor.ProvisionRequest{}}); err != nil {
		t.Fatal(err)
	}
	for _, op := range []visitor.Operator{opDesk, opFacilities, opNobody, opSpoof, opAnnex,
		{ID: "guard-ish", Groups: []string{"security-team"}}, {Groups: []string{"security"}}} {
		_, err := a.engine.Remove(ctx, op, "target", "just because")
		a.expectDenied(t, "removal by "+op.ID, err, op, "target", lobby)
		if v, _ := a.engine.Visit(ctx, "target"); v.State != visitor.SignedIn {
			t.Fatalf("removal by %q changed the visit to %s", op.ID, v.State)
		}
	}
	// Control: security removes.
	v, err := a.engine.Remove(ctx, opGuard, "target", "asked to leave")
	if err != nil || v.State != visitor.Removed {
		t.Fatalf("removal by security: %v, %s", err, v.State)
	}
	if got := a.granted("target"); len(got) > 0 {
		t.Errorf("removed visitor opens %v", got)
	}
}

// TestAuthzSignOut: the policy does not restrict who signs a visitor out
// (kiosks do); a sign-out grants nothing, is attributed to the operator,
// and ends the visit as SignedOut, not Removed.
func TestAuthzSignOut(t *testing.T) {
	ctx := context.Background()
	a := newAuthzEnv(t)
	if _, err := a.engine.SignIn(ctx, opDesk, visitor.SignInRequest{VisitID: "s1", Location: "hq",
		Visitor: visitor.Visitor{FirstName: "Sam"}, Provision: &visitor.ProvisionRequest{}}); err != nil {
		t.Fatal(err)
	}
	_, err := a.engine.SignOut(ctx, visitor.Operator{}, "s1", visitor.ViaKiosk)
	a.expectDenied(t, "sign-out without an operator ID", err, visitor.Operator{}, "s1", lobby)
	_, err = a.engine.SignOut(ctx, opNobody, "s1", visitor.Method("remove"))
	a.expectDenied(t, "sign-out with an unknown method", err, opNobody, "s1", lobby)
	v, err := a.engine.SignOut(ctx, opNobody, "s1", visitor.ViaKiosk)
	if err != nil {
		t.Fatal(err)
	}
	if v.State != visitor.SignedOut || v.EndedBy != opNobody.ID {
		t.Errorf("sign-out: %s by %q", v.State, v.EndedBy)
	}
	if got := a.granted("s1"); len(got) > 0 {
		t.Errorf("signed-out visitor opens %v", got)
	}
	if _, err := a.engine.Provision(ctx, opFacilities, "s1", visitor.ProvisionRequest{}); !errors.Is(err, acs.ErrConflict) {
		t.Errorf("provision after sign-out: %v", err)
	}
}

// TestAuthzReturnBadge: returning a badge grants nothing, and the next
// provision is checked against the operator's rights again.
func TestAuthzReturnBadge(t *testing.T) {
	ctx := context.Background()
	a := newAuthzEnv(t)
	if _, err := a.engine.SignIn(ctx, opFacilities, visitor.SignInRequest{VisitID: "r1", Location: "hq", Type: "contractor",
		Visitor: visitor.Visitor{FirstName: "Rae"}, Provision: &visitor.ProvisionRequest{}}); err != nil {
		t.Fatal(err)
	}
	_, err := a.engine.ReturnBadge(ctx, visitor.Operator{Groups: []string{"facilities"}}, "r1")
	a.expectDenied(t, "return without an operator ID", err, visitor.Operator{}, "r1", floor3, lobby)
	if _, err := a.engine.ReturnBadge(ctx, opNobody, "r1"); err != nil {
		t.Fatal(err)
	}
	if got := a.granted("r1"); len(got) > 0 {
		t.Errorf("returned badge still opens %v", got)
	}
	_, err = a.engine.Provision(ctx, opDesk, "r1", visitor.ProvisionRequest{})
	a.expectDenied(t, "the desk re-provisioning a contractor", err, opDesk, "r1")
}

// TestAuthzReportBadgeLost: reporting a badge lost revokes it and grants
// nothing; the replacement is checked against the operator's rights.
func TestAuthzReportBadgeLost(t *testing.T) {
	ctx := context.Background()
	a := newAuthzEnv(t)
	if _, err := a.engine.SignIn(ctx, opFacilities, visitor.SignInRequest{VisitID: "l1", Location: "hq", Type: "contractor",
		Visitor: visitor.Visitor{FirstName: "Lou"}, Provision: &visitor.ProvisionRequest{}}); err != nil {
		t.Fatal(err)
	}
	_, err := a.engine.ReportBadgeLost(ctx, visitor.Operator{}, "l1")
	a.expectDenied(t, "lost report without an operator ID", err, visitor.Operator{}, "l1", floor3, lobby)
	if _, err := a.engine.ReportBadgeLost(ctx, opNobody, "l1"); err != nil {
		t.Fatal(err)
	}
	if got := a.granted("l1"); len(got) > 0 {
		t.Errorf("lost badge still opens %v", got)
	}
	_, err = a.engine.Provision(ctx, opDesk, "l1", visitor.ProvisionRequest{})
	a.expectDenied(t, "the desk replacing a contractor's lost badge", err, opDesk, "l1")
}
