package visitor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/visitor"
)

// pinKey is the PIN key of the tests' engines.
var pinKey = bytes.Repeat([]byte("k"), 32)

// pinPolicy is testPolicy with PINs of n digits enabled.
func pinPolicy(n int) visitor.Policy {
	p := testPolicy()
	p.PIN = visitor.PINPolicy{Enabled: true, Length: n}
	return p
}

// pinCapture gathers what the Engine and the adapters write that a PIN
// must never be in: log lines (every level, text and JSON) and errors.
type pinCapture struct {
	mu   sync.Mutex
	logs bytes.Buffer
	errs []string
}

func (c *pinCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logs.Write(p)
}

func (c *pinCapture) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(c, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// err records an error's text (and %+v) and returns err.
func (c *pinCapture) err(err error) error {
	if err != nil {
		c.mu.Lock()
		c.errs = append(c.errs, err.Error(), fmt.Sprintf("%+v %#v", err, err))
		c.mu.Unlock()
	}
	return err
}

func (c *pinCapture) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logs.String() + strings.Join(c.errs, "\n")
}

// storeText is everything the store holds about visits, outbox items and
// the audit trail, as JSON (and the audit as CSV too).
func storeText(t *testing.T, e *visitor.Engine) string {
	t.Helper()
	ctx := t.Context()
	var b bytes.Buffer
	vs, err := e.Visits(ctx, visitor.VisitFilter{})
	if err != nil {
		t.Fatal(err)
	}
	items, err := e.Store().Outbox(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []any{vs, items} {
		j, _ := json.Marshal(x)
		b.Write(j)
		fmt.Fprintf(&b, "%+v %#v", x, x)
	}
	for _, f := range []visitor.Format{visitor.JSONLines, visitor.CSV} {
		if err := e.ExportAudit(ctx, &b, visitor.AuditQuery{}, f); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// noPIN fails when the PIN's digits appear in the store, the capture or
// extra text. It needs a PIN long enough to be distinctive.
func noPIN(t *testing.T, e *visitor.Engine, pin acs.PIN, c *pinCapture, extra ...string) {
	t.Helper()
	if pin.Len() < 8 {
		t.Fatalf("a %d-digit PIN is too short to search for", pin.Len())
	}
	d := pin.Reveal()
	for what, s := range map[string]string{"the store (visits, outbox, audit)": storeText(t, e), "logs and errors": c.text(), "other text": strings.Join(extra, "\n")} {
		if i := strings.Index(s, d); i >= 0 {
			t.Fatalf("the PIN's digits are in %s: …%s…", what, s[max(0, i-200):min(len(s), i+200)])
		}
	}
}

// newPINFixture is newFixture with n-digit PINs enabled, the PIN key and
// a capturing logger.
func newPINFixture(t *testing.T, n int, opts ...visitor.Option) (*fixture, *pinCapture) {
	t.Helper()
	c := &pinCapture{}
	f := newFixturePolicy(t, pinPolicy(n), append([]visitor.Option{visitor.WithPINKey(pinKey), visitor.WithLogger(c.logger())}, opts...)...)
	return f, c
}

// pinAt returns the visit's current PIN credential.
func pinAt(t *testing.T, v visitor.Visit) *visitor.Credential {
	t.Helper()
	for i := len(v.Credentials) - 1; i >= 0; i-- {
		if c := &v.Credentials[i]; c.Source == visitor.FromPIN {
			return c
		}
	}
	t.Fatalf("visit %s has no PIN credential: %+v", v.ID, v.Credentials)
	return nil
}

// TestProvisionPINWithCard: a PIN issued with a pool badge opens the
// badge's levels at the ACS's keypads until sign-out, the badge stays the
// visit's current credential, and the PIN is nowhere in what the Engine
// wrote.
func TestProvisionPINWithCard(t *testing.T) {
	f, c := newPINFixture(t, 10)
	f.signIn("v1")
	v, pin, err := f.e.ProvisionPIN(f.ctx, desk, "v1", visitor.ProvisionRequest{BadgeID: "1002", PIN: visitor.PINWithCard, AccessLevels: []string{"lobby", "floor-3"}})
	if c.err(err) != nil {
		t.Fatal(err)
	}
	if pin.Len() != 10 || pin.Reveal()[0] == '0' {
		t.Fatalf("PIN of %d digits starting %q", pin.Len(), pin.Reveal()[:1])
	}
	cur, pc := v.Current(), pinAt(t, v)
	if cur.BadgeID != "1002" || cur.Status != visitor.CredActive || pc.Status != visitor.CredActive || !pc.PIN.WithCard || pc.PIN.Length != 10 {
		t.Fatalf("after ProvisionPIN: current %+v, PIN %+v", cur, pc)
	}
	if pc.Ref.ID == "" || pc.Ref.CardholderID != cur.Ref.CardholderID {
		t.Fatalf("PIN reference %+v, card's %+v", pc.Ref, cur.Ref)
	}
	for _, l := range []string{"lobby", "floor-3"} {
		if !f.acs.OpensWithPIN(pin, l, f.now()) || !f.opens(v, l) {
			t.Fatalf("PIN or badge does not open %s", l)
		}
	}
	if f.acs.OpensWithPIN(pin, "server-room", f.now()) || f.acs.OpensWithPIN(pin, "lobby", pc.ValidUntil.Add(time.Minute)) {
		t.Fatal("PIN opens a level it was not granted, or after its window")
	}
	f.wantActions("v1", "sign_in:ok", "provision:queued", "provision:queued", "acs_provision:ok", "acs_provision:ok")
	// Returning the badge returns the PIN.
	if _, err := f.e.ReturnBadge(f.ctx, desk, "v1"); c.err(err) != nil {
		t.Fatal(err)
	}
	f.drain()
	v = f.visit("v1")
	if f.acs.OpensWithPIN(pin, "lobby", f.now()) || pinAt(t, v).Status != visitor.CredRevoked || !pinAt(t, v).Released {
		t.Fatalf("PIN after the badge's return: %+v", pinAt(t, v))
	}
	if got := f.acs.Calls(); got["revoke_pin"] != 1 || got["provision_pin"] != 1 {
		t.Fatalf("ACS calls %v", got)
	}
	noPIN(t, f.e, pin, c)
}

// TestProvisionPINOnly: a PIN instead of a card, for an invited visit
// before arrival and for a walk-in; sign-out revokes it and frees it.
func TestProvisionPINOnly(t *testing.T) {
	f, c := newPINFixture(t, 8)
	if _, err := f.e.Invite(f.ctx, desk, visitor.InviteRequest{VisitID: "inv", Location: "hq", Visitor: ada, ExpectedAt: f.now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	v, pin, err := f.e.ProvisionPIN(f.ctx, desk, "inv", visitor.ProvisionRequest{PIN: visitor.PINOnly})
	if c.err(err) != nil {
		t.Fatal(err)
	}
	pc := v.Current()
	if pc.Source != visitor.FromPIN || pc.BadgeID != "" || !pc.Card.IsZero() || pc.Status != visitor.CredActive || pc.PIN.WithCard {
		t.Fatalf("PIN-only credential %+v", pc)
	}
	if !pc.ValidFrom.Equal(v.AccessFrom) || !pc.ValidUntil.Equal(v.AccessUntil) || !f.acs.OpensWithPIN(pin, "lobby", v.AccessFrom.Add(time.Minute)) {
		t.Fatalf("PIN window %s–%s, access %s–%s", pc.ValidFrom, pc.ValidUntil, v.AccessFrom, v.AccessUntil)
	}
	if _, _, err := f.e.ProvisionPIN(f.ctx, desk, "inv", visitor.ProvisionRequest{PIN: visitor.PINOnly}); acs.CodeOf(c.err(err)) != acs.Conflict {
		t.Fatalf("a second PIN while the first is live: %v", err)
	}
	f.signIn("inv")
	v, err = f.e.SignOut(f.ctx, kiosk, "inv", visitor.ViaKiosk)
	if c.err(err) != nil {
		t.Fatal(err)
	}
	if v.Current().Status != visitor.CredRevoked || f.acs.OpensWithPIN(pin, "lobby", f.now()) {
		t.Fatalf("after sign-out: %+v", v.Current())
	}
	noPIN(t, f.e, pin, c)
}

// TestPINRefusals: everything that cannot issue a PIN is refused before
// any ACS call, audited, and never half done.
func TestPINRefusals(t *testing.T) {
	f, c := newPINFixture(t, 8)
	f.signIn("v1")
	try := func(what string, e *visitor.Engine, req visitor.ProvisionRequest, code acs.Code) {
		t.Helper()
		before := f.acs.Calls()
		_, pin, err := e.ProvisionPIN(f.ctx, desk, "v1", req)
		wantCode(t, what, c.err(err), code)
		if !pin.IsZero() || f.acs.Calls()["provision_pin"] != before["provision_pin"] || f.acs.Calls()["provision"] != before["provision"] {
			t.Fatalf("%s: PIN %v returned or the ACS called", what, pin)
		}
	}
	try("no PIN mode", f.e, visitor.ProvisionRequest{}, acs.InvalidArgument)
	try("PIN-only with a badge", f.e, visitor.ProvisionRequest{PIN: visitor.PINOnly, BadgeID: "1001"}, acs.InvalidArgument)
	try("a level the operator may not grant", f.e, visitor.ProvisionRequest{PIN: visitor.PINOnly, AccessLevels: []string{"server-room"}}, acs.PermissionDenied)
	_, err := f.e.Provision(f.ctx, desk, "v1", visitor.ProvisionRequest{PIN: visitor.PINWithCard})
	wantCode(t, "Provision with a PIN mode", err, acs.InvalidArgument)
	if f.lastRefusal().Action != visitor.ActProvision {
		t.Fatal("refusal not audited")
	}
	if v := f.visit("v1"); len(v.Credentials) != 0 {
		t.Fatalf("refusals left credentials %+v", v.Credentials)
	}

	// An engine without the key, a location without PINs, an ACS without
	// keypad credentials or keeping PINs on cards.
	noKey, err := visitor.New(f.store, []visitor.Location{{ID: "hq", Provider: f.acs, Policy: testPolicy()}}, visitor.WithClock(f.clock))
	if err != nil {
		t.Fatal(err)
	}
	try("no PIN key", noKey, visitor.ProvisionRequest{PIN: visitor.PINOnly}, acs.Unsupported)
	disabled, err := visitor.New(f.store, []visitor.Location{{ID: "hq", Provider: f.acs, Policy: testPolicy()}}, visitor.WithClock(f.clock), visitor.WithPINKey(pinKey))
	if err != nil {
		t.Fatal(err)
	}
	try("PINs not enabled at the location", disabled, visitor.ProvisionRequest{PIN: visitor.PINOnly}, acs.PermissionDenied)
	onCards, err := visitor.New(f.store, []visitor.Location{{ID: "hq", Provider: cardPINs{f.acs}, Policy: pinPolicy(8)}}, visitor.WithClock(f.clock), visitor.WithPINKey(pinKey))
	if err != nil {
		t.Fatal(err)
	}
	try("PIN-only at an ACS keeping PINs on cards", onCards, visitor.ProvisionRequest{PIN: visitor.PINOnly}, acs.Unsupported)
	noPINs, err := visitor.New(f.store, []visitor.Location{{ID: "hq", Provider: cardsOnly{f.acs}, Policy: testPolicy()}}, visitor.WithClock(f.clock), visitor.WithPINKey(pinKey))
	if err != nil {
		t.Fatal(err)
	}
	f.acs.FailNext(errors.New("no call may reach the ACS"))
	try("an ACS without keypad credentials", noPINs, visitor.ProvisionRequest{PIN: visitor.PINOnly}, acs.Unsupported)
	if err := f.acs.Ping(f.ctx); err == nil {
		t.Fatal("a call reached the ACS")
	}
}

// TestNewRefusesPINMisconfiguration: New says at once what keeps a
// location from issuing the PINs its policy enables.
func TestNewRefusesPINMisconfiguration(t *testing.T) {
	mem := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}})
	for _, c := range []struct {
		name string
		p    acs.Provider
		pol  visitor.Policy
		opts []visitor.Option
		want string
	}{
		{"no key", mem, pinPolicy(6), nil, "no PIN key"},
		{"short key", mem, pinPolicy(6), []visitor.Option{visitor.WithPINKey([]byte("short"))}, "at least 32 bytes"},
		{"no PINIssuer", cardsOnly{mem}, pinPolicy(6), []visitor.Option{visitor.WithPINKey(pinKey)}, "no keypad credentials"},
		{"length", mem, pinPolicy(13), []visitor.Option{visitor.WithPINKey(pinKey)}, "outside 4–12"},
		{"length the ACS refuses", cardPINs{mem}, pinPolicy(10), []visitor.Option{visitor.WithPINKey(pinKey)}, "outside the 4–8 digits"},
	} {
		_, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{ID: "hq", Provider: c.p, Policy: c.pol}}, c.opts...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// cardsOnly hides the Memory's PINIssuer: an ACS without keypads.
type cardsOnly struct{ *acstest.Memory }

func (cardsOnly) PINSupport() {}

// cardPINs is an ACS that keeps 4- to 8-digit PINs on cards.
type cardPINs struct{ *acstest.Memory }

func (cardPINs) PINSupport() acs.PINSupport { return acs.PINSupport{MinLen: 4, MaxLen: 8} }

// TestPINUniqueAtLocation forces the generator to produce a live PIN
// again: the Engine takes the next one. Once the first PIN is revoked its
// digits may be issued again, and a generator that never finds a free PIN
// is a Conflict that changes nothing.
func TestPINUniqueAtLocation(t *testing.T) {
	f, c := newPINFixture(t, 8)
	var mu sync.Mutex
	queue := []string{"58203916", "58203916", "1111", "12341234", "73619402", "58203916"}
	visitor.SetPINGenerator(f.e, func(n int) (acs.PIN, error) {
		mu.Lock()
		defer mu.Unlock()
		if len(queue) == 0 {
			return acs.ParsePIN("58203916")
		}
		s := queue[0]
		queue = queue[1:]
		return acs.ParsePIN(s)
	})
	for _, id := range []string{"v1", "v2", "v3", "v4"} {
		f.signIn(id)
	}
	_, p1, err := f.e.ProvisionPIN(f.ctx, desk, "v1", visitor.ProvisionRequest{PIN: visitor.PINOnly})
	if c.err(err) != nil || p1.Reveal() != "58203916" {
		t.Fatalf("first PIN %v", err)
	}
	// v2 is given 58203916 (live), then a short and a trivial PIN, then
	// 73619402.
	_, p2, err := f.e.ProvisionPIN(f.ctx, desk, "v2", visitor.ProvisionRequest{PIN: visitor.PINOnly})
	if c.err(err) != nil || p2.Reveal() != "73619402" {
		t.Fatalf("second PIN after a collision: %v", err)
	}
	if !f.acs.OpensWithPIN(p1, "lobby", f.now()) || !f.acs.OpensWithPIN(p2, "lobby", f.now()) {
		t.Fatal("both PINs should open")
	}
	// Only collisions now: v3 gets none.
	_, p3, err := f.e.ProvisionPIN(f.ctx, desk, "v3", visitor.ProvisionRequest{PIN: visitor.PINOnly})
	wantCode(t, "no free PIN", c.err(err), acs.Conflict)
	if !p3.IsZero() || len(f.visit("v3").Credentials) != 0 {
		t.Fatal("a refused PIN provision left something")
	}
	// v1's PIN is revoked: its digits are free again.
	if _, err := f.e.SignOut(f.ctx, kiosk, "v1", visitor.ViaKiosk); err != nil {
		t.Fatal(err)
	}
	_, p4, err := f.e.ProvisionPIN(f.ctx, desk, "v4", visitor.ProvisionRequest{PIN: visitor.PINOnly})
	if c.err(err) != nil || !p4.Equal(p1) {
		t.Fatalf("the revoked PIN's digits were not issued again: %v", err)
	}
	if !f.acs.OpensWithPIN(p4, "lobby", f.now()) {
		t.Fatal("the re-issued PIN does not open")
	}
	noPIN(t, f.e, p2, c)
}

// TestTrivialPINsNeverIssued: the generator's output is filtered, so no
// trivial PIN comes out of many.
func TestTrivialPINsNeverIssued(t *testing.T) {
	f, c := newPINFixture(t, 4)
	var got []string
	for i := range 200 {
		id := fmt.Sprintf("w%03d", i)
		f.signIn(id)
		_, pin, err := f.e.ProvisionPIN(f.ctx, desk, id, visitor.ProvisionRequest{PIN: visitor.PINOnly})
		if c.err(err) != nil {
			t.Fatal(err)
		}
		got = append(got, pin.Reveal())
	}
	seen := map[string]bool{}
	for _, s := range got {
		if seen[s] {
			t.Fatalf("PIN issued twice while live")
		}
		seen[s] = true
		if s[0] == '0' || s[0] == s[1] && s[1] == s[2] && s[2] == s[3] || s[:2] == s[2:] || strings.Contains("0123456789012 9876543210987", s) {
			t.Fatalf("trivial PIN issued (%d digits)", len(s))
		}
	}
}

// TestPINRevocationWinsOverQueuedProvision: with the ACS down, a PIN's
// provision is queued; signing out before any attempt cancels it, so it
// never reaches the ACS, and its tag is freed.
func TestPINRevocationWinsOverQueuedProvision(t *testing.T) {
	f, c := newPINFixture(t, 8)
	f.signIn("v1")
	f.acs.SetDown(true)
	v, pin, err := f.e.ProvisionPIN(f.ctx, desk, "v1", visitor.ProvisionRequest{PIN: visitor.PINWithCard})
	if c.err(err) != nil || pin.IsZero() {
		t.Fatalf("ProvisionPIN with the ACS down: %v", err)
	}
	if v.Current().Status != visitor.CredPending || pinAt(t, v).Status != visitor.CredPending {
		t.Fatalf("credentials %+v", v.Credentials)
	}
	v, err = f.e.SignOut(f.ctx, kiosk, "v1", visitor.ViaKiosk)
	if c.err(err) != nil {
		t.Fatal(err)
	}
	if pc := pinAt(t, v); pc.Status != visitor.CredRevoked || !pc.Released {
		t.Fatalf("PIN after sign-out: %+v", pc)
	}
	f.acs.SetDown(false)
	f.settle()
	if got := f.acs.Calls(); got["provision_pin"] != 0 || got["revoke_pin"] != 0 {
		t.Fatalf("the cancelled PIN reached the ACS: %v", got)
	}
	noPIN(t, f.e, pin, c)
}

// TestPINSurvivesRestartAndOutage: the ACS is down when the PIN is issued
// and again at sign-out. The Engine restarts (a new Engine over the same
// store and key) in both outages; the outbox sends the same PIN once the
// ACS is back, and the revocation once it is back again. An Engine with
// another key cannot open the sealed PIN and leaves it queued; one given
// the old key as an older key can.
func TestPINSurvivesRestartAndOutage(t *testing.T) {
	f, c := newPINFixture(t, 10)
	f.signIn("v1")
	f.acs.SetDown(true)
	_, pin, err := f.e.ProvisionPIN(f.ctx, desk, "v1", visitor.ProvisionRequest{PIN: visitor.PINOnly})
	if c.err(err) != nil {
		t.Fatal(err)
	}
	noPIN(t, f.e, pin, c)
	restart := func(opts ...visitor.Option) *visitor.Engine {
		t.Helper()
		e, err := visitor.New(f.store, []visitor.Location{{ID: "hq", Provider: f.acs, Policy: pinPolicy(10)}},
			append([]visitor.Option{visitor.WithClock(f.clock), visitor.WithLogger(c.logger()), visitor.WithBackoff(time.Second, time.Minute)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	f.acs.SetDown(false)
	other := bytes.Repeat([]byte("o"), 32)
	f.e = restart(visitor.WithPINKey(other))
	f.clock.Advance(time.Hour)
	f.drain()
	if pc := pinAt(t, f.visit("v1")); pc.Status != visitor.CredPending || !strings.Contains(pc.Error, "cannot open the sealed PIN") || f.acs.OpensWithPIN(pin, "lobby", f.now()) {
		t.Fatalf("an engine with another key: %+v", pc)
	}
	f.e = restart(visitor.WithPINKey(other, pinKey))
	f.clock.Advance(time.Hour)
	f.drain()
	if pc := pinAt(t, f.visit("v1")); pc.Status != visitor.CredActive || !f.acs.OpensWithPIN(pin, "lobby", f.now()) {
		t.Fatalf("after the restart with the old key: %+v", pc)
	}
	f.acs.SetDown(true)
	if _, err := f.e.SignOut(f.ctx, kiosk, "v1", visitor.ViaKiosk); c.err(err) != nil {
		t.Fatal(err)
	}
	f.e = restart(visitor.WithPINKey(pinKey))
	f.clock.Advance(time.Hour)
	f.drain()
	if pinAt(t, f.visit("v1")).Status != visitor.CredRevoking || !f.acs.OpensWithPIN(pin, "lobby", f.now()) {
		t.Fatal("the revocation should wait for the ACS")
	}
	f.acs.SetDown(false)
	f.settle()
	if pc := pinAt(t, f.visit("v1")); pc.Status != visitor.CredRevoked || f.acs.OpensWithPIN(pin, "lobby", f.now()) {
		t.Fatalf("after the outage: %+v", pc)
	}
	noPIN(t, f.e, pin, c)
}

// quotingACS is an ACS that quotes the PIN in its errors, as one echoing
// its request would.
type quotingACS struct{ *acstest.Memory }

func (q quotingACS) ProvisionPIN(ctx context.Context, g acs.PINGrant) (acs.Provisioned, error) {
	return acs.Provisioned{}, acs.Errorf("provision_pin", "echo", acs.Unavailable, "cannot set keypad code %s now", g.PIN.Reveal())
}

// TestPINNeverInACSErrors: an ACS error quoting the PIN is redacted before
// it is logged, stored on the credential, kept in the outbox or audited.
func TestPINNeverInACSErrors(t *testing.T) {
	c := &pinCapture{}
	clock := visitor.NewManualClock(t0)
	mem := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}})
	e, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{ID: "hq", Provider: quotingACS{mem}, Policy: pinPolicy(10)}},
		visitor.WithClock(clock), visitor.WithPINKey(pinKey), visitor.WithLogger(c.logger()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.SignIn(t.Context(), desk, visitor.SignInRequest{VisitID: "v1", Location: "hq", Visitor: ada}); err != nil {
		t.Fatal(err)
	}
	v, pin, err := e.ProvisionPIN(t.Context(), desk, "v1", visitor.ProvisionRequest{PIN: visitor.PINOnly})
	if c.err(err) != nil || pin.IsZero() {
		t.Fatal(err)
	}
	if pc := pinAt(t, v); !strings.Contains(pc.Error, "cannot set keypad code [PIN redacted] now") {
		t.Fatalf("credential error %q", pc.Error)
	}
	clock.Advance(time.Minute)
	if _, err := e.RunOutboxOnce(t.Context()); c.err(err) != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.text(), "[PIN redacted]") {
		t.Fatal("the retry was not logged")
	}
	noPIN(t, e, pin, c)
}

// ExampleEngine_ProvisionPIN: a visitor gets a PIN with the badge; the
// desk reads it out once, and it opens the lobby's keypad until sign-out.
func ExampleEngine_ProvisionPIN() {
	ctx := context.Background()
	clock := visitor.NewManualClock(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	acsys := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}})
	pol := visitor.Policy{
		Types:          map[string]visitor.VisitorType{"guest": {AccessLevels: []string{"lobby"}, AccessDuration: 8 * time.Hour}},
		DefaultType:    "guest",
		OperatorGroups: map[string][]string{"reception": {"lobby"}},
		PIN:            visitor.PINPolicy{Enabled: true, Length: 6},
	}
	key := bytes.Repeat([]byte{7}, 32) // in production: from a secrets manager
	engine, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{ID: "hq", Provider: acsys, Policy: pol}},
		visitor.WithClock(clock), visitor.WithPINKey(key))
	if err != nil {
		panic(err)
	}
	desk := visitor.Operator{ID: "alice", Groups: []string{"reception"}}
	if _, err := engine.SignIn(ctx, desk, visitor.SignInRequest{VisitID: "visit-1", Location: "hq", Visitor: visitor.Visitor{FirstName: "Ada"}}); err != nil {
		panic(err)
	}
	v, pin, err := engine.ProvisionPIN(ctx, desk, "visit-1", visitor.ProvisionRequest{PIN: visitor.PINOnly})
	if err != nil {
		panic(err)
	}
	fmt.Println("credential:", v.Current().Source, v.Current().Status, "PIN:", pin, "-", pin.Len(), "digits for the visitor")
	fmt.Println("keypad opens:", acsys.OpensWithPIN(pin, "lobby", clock.Now()))
	if _, err := engine.SignOut(ctx, desk, "visit-1", visitor.ViaDesk); err != nil {
		panic(err)
	}
	fmt.Println("after sign-out:", acsys.OpensWithPIN(pin, "lobby", clock.Now()))
	// Output:
	// credential: pin active PIN: [PIN redacted] - 6 digits for the visitor
	// keypad opens: true
	// after sign-out: false
}

// TestPINRemovalAndReconcile: Reconcile leaves live PINs alone (the ACS
// lists cards, and a PIN is never sent again), and a security removal
// ends the PIN with the cardholder and frees its digits.
func TestPINRemovalAndReconcile(t *testing.T) {
	f, c := newPINFixture(t, 8)
	f.signIn("v1")
	_, pin, err := f.e.ProvisionPIN(f.ctx, desk, "v1", visitor.ProvisionRequest{PIN: visitor.PINWithCard, FromRange: true})
	if c.err(err) != nil {
		t.Fatal(err)
	}
	rep, err := f.e.Reconcile(f.ctx, "hq")
	if err != nil || rep.Orphans+rep.Repairs+rep.Failed != 0 {
		t.Fatalf("reconcile with a live PIN: %+v, %v", rep, err)
	}
	if _, err := f.e.Remove(f.ctx, security, "v1", "asked to leave"); c.err(err) != nil {
		t.Fatal(err)
	}
	f.drain()
	v := f.visit("v1")
	if pc := pinAt(t, v); pc.Status != visitor.CredRevoked || !pc.Released || f.acs.OpensWithPIN(pin, "lobby", f.now()) {
		t.Fatalf("PIN after the removal: %+v", pc)
	}
	visitor.SetPINGenerator(f.e, func(int) (acs.PIN, error) { return pin, nil })
	f.signIn("v2")
	if _, again, err := f.e.ProvisionPIN(f.ctx, desk, "v2", visitor.ProvisionRequest{PIN: visitor.PINOnly}); c.err(err) != nil || !again.Equal(pin) {
		t.Fatalf("the removed visit's PIN was not freed: %v", err)
	}
	noPIN(t, f.e, pin, c)
}

// slowPINs is an ACS whose PIN provision outlives the Engine's lease: the
// clock moves past it during the call, and whatever during does happens
// before the PIN lands.
type slowPINs struct {
	*acstest.Memory
	clock  *visitor.ManualClock
	during func()
}

func (s *slowPINs) ProvisionPIN(ctx context.Context, g acs.PINGrant) (acs.Provisioned, error) {
	s.clock.Advance(3 * time.Minute)
	if f := s.during; f != nil {
		s.during = nil
		f()
	}
	return s.Memory.ProvisionPIN(ctx, g)
}

// TestLatePINProvisionRevoked: the visit is signed out while its PIN's
// provision is in flight and past its lease; the provision lands after
// the revocation ran. The late outcome is not dropped: the PIN is revoked
// again, and opens nothing.
func TestLatePINProvisionRevoked(t *testing.T) {
	c := &pinCapture{}
	clock := visitor.NewManualClock(t0)
	mem := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}})
	slow := &slowPINs{Memory: mem, clock: clock}
	e, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{ID: "hq", Provider: slow, Policy: pinPolicy(8)}},
		visitor.WithClock(clock), visitor.WithPINKey(pinKey), visitor.WithLogger(c.logger()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: "v1", Location: "hq", Visitor: ada}); err != nil {
		t.Fatal(err)
	}
	slow.during = func() {
		if _, err := e.SignOut(ctx, kiosk, "v1", visitor.ViaKiosk); c.err(err) != nil {
			t.Error(err)
		}
	}
	pin, _ := acs.ParsePIN("48213907")
	visitor.SetPINGenerator(e, func(int) (acs.PIN, error) { return pin, nil })
	_, got, err := e.ProvisionPIN(ctx, desk, "v1", visitor.ProvisionRequest{PIN: visitor.PINOnly})
	if c.err(err) != nil || !got.IsZero() {
		t.Fatalf("ProvisionPIN of a visit signed out meanwhile: %v; a PIN returned: %v", err, !got.IsZero())
	}
	for range 3 {
		clock.Advance(time.Minute)
		if _, err := e.RunOutboxOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if mem.OpensWithPIN(pin, "lobby", clock.Now()) {
		t.Fatal("the PIN that landed after sign-out still opens")
	}
	recs, _ := e.Audit(ctx, visitor.AuditQuery{VisitID: "v1"})
	late := 0
	for _, r := range recs {
		if r.Action == visitor.ActLateOutcome {
			late++
		}
	}
	if late != 1 || mem.Calls()["revoke_pin"] != 2 {
		t.Fatalf("%d late outcomes audited, %d PIN revocations; want 1 and 2", late, mem.Calls()["revoke_pin"])
	}
	if v, _ := e.Visit(ctx, "v1"); v.Current().Status != visitor.CredRevoked {
		t.Fatalf("PIN credential %+v", v.Current())
	}
	noPIN(t, e, pin, c)
}

// TestPINExpiresWhileSignedIn: a PIN-only credential whose window ends
// while the visitor is still signed in is revoked by the sweeper and
// freed, and the visitor may be given a new PIN.
func TestPINExpiresWhileSignedIn(t *testing.T) {
	f, c := newPINFixture(t, 8)
	f.signIn("v1")
	v, pin, err := f.e.ProvisionPIN(f.ctx, desk, "v1", visitor.ProvisionRequest{PIN: visitor.PINOnly})
	if c.err(err) != nil {
		t.Fatal(err)
	}
	f.clock.Set(v.Current().ValidUntil.Add(time.Second))
	if _, err := f.e.Sweep(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.drain()
	v = f.visit("v1")
	if pc := v.Current(); v.State != visitor.SignedIn || pc.Status != visitor.CredRevoked || !pc.Released || f.acs.Calls()["revoke_pin"] != 1 {
		t.Fatalf("after the window: %s, %+v", v.State, pc)
	}
	// Its digits are free: the generator offering them again is taken.
	visitor.SetPINGenerator(f.e, func(int) (acs.PIN, error) { return pin, nil })
	v, again, err := f.e.ProvisionPIN(f.ctx, desk, "v1", visitor.ProvisionRequest{PIN: visitor.PINOnly})
	if c.err(err) != nil || !again.Equal(pin) || v.Current().Status != visitor.CredActive || !f.acs.OpensWithPIN(again, "lobby", f.now()) {
		t.Fatalf("new PIN after expiry: %v", err)
	}
	noPIN(t, f.e, pin, c)
}
