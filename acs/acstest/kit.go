package acstest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// Harness connects the kit to one provider and to an oracle into the real
// state of the backend behind it (a simulator, a test ACS). The kit checks
// every rule against the oracle, never against the adapter's own answers.
//
// A harness is made fresh for each rule; if it implements io.Closer the kit
// closes it afterwards.
type Harness interface {
	// Provider returns the provider under test.
	Provider() acs.Provider
	// AccessLevels returns the IDs of at least two access levels that exist
	// in the backend.
	AccessLevels() []string
	// Opens reports whether, in the backend, the credential opens doors of
	// the access level at the given time.
	Opens(ctx context.Context, cred acs.CredentialRef, level string, at time.Time) (bool, error)
	// Census counts the cardholders and credentials stored in the backend.
	Census(ctx context.Context) (Census, error)
	// Now returns the backend's current time; grant windows are built
	// around it.
	Now() time.Time
}

// UnknownLevelHarness may be implemented by a harness whose provider
// refuses the kit's default unknown access level ID as malformed: it returns
// a well-formed ID that does not exist in the backend.
type UnknownLevelHarness interface {
	UnknownAccessLevel() string
}

// Census is a count of what the backend stores.
type Census struct {
	Cardholders int
	Credentials int
}

// A rule is one behaviour every provider must show.
type rule struct {
	name      string
	statement string
	// fix is the most likely mistake in an adapter that breaks the rule.
	fix   string
	check func(ctx context.Context, h Harness) error
}

// Rules lists the kit's rules in the order they run, each as
// "Name: what it checks". The package documentation explains each.
func Rules() []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.name + ": " + r.statement
	}
	return out
}

// Option configures Run and Verify.
type Option func(*options)

type options struct{ timeout time.Duration }

// WithRuleTimeout sets each rule's deadline (default 2 minutes). The
// deadline holds even when the provider ignores its context: a rule still
// running then fails with its name, and the kit goes on to the next.
func WithRuleTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

func newOptions(opts []Option) options {
	o := options{timeout: 2 * time.Minute}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Run runs every rule as a subtest of t, each with a fresh harness from
// newHarness. A failure names the rule, what it expects, what the
// backend's oracle saw, and the likely fix. A rule about an optional
// interface the provider does not implement is skipped.
func Run(t *testing.T, newHarness func(t *testing.T) Harness, opts ...Option) {
	t.Helper()
	o := newOptions(opts)
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			h := newHarness(t)
			if c, ok := h.(io.Closer); ok {
				t.Cleanup(func() { _ = c.Close() })
			}
			err := r.run(t.Context(), h, o.timeout)
			if errors.Is(err, errNotImplemented) {
				t.Skipf("provider %s does not implement the optional interface", h.Provider().Name())
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
}

// Verify runs every rule like Run but without a *testing.T and returns one
// error joining every violation (nil when the provider conforms). Use it
// to test the kit itself or from a command: a developer's check of a
// provider against a test ACS, say, where Run needs a test binary.
func Verify(ctx context.Context, newHarness func() (Harness, error), opts ...Option) error {
	o := newOptions(opts)
	var errs []error
	for _, r := range rules {
		h, err := newHarness()
		if err != nil {
			return fmt.Errorf("acstest: making harness: %w", err)
		}
		if err := r.run(ctx, h, o.timeout); err != nil && !errors.Is(err, errNotImplemented) {
			errs = append(errs, err)
		}
		if c, ok := h.(io.Closer); ok {
			_ = c.Close()
		}
	}
	return errors.Join(errs...)
}

// Violation is a rule's failure: the rule, what it expects, what the
// oracle (or the provider) showed instead, and the likely fix.
type Violation struct {
	Rule     string
	Expected string
	Saw      error
	Fix      string
}

// Error prints the rule, the expectation, what was seen and the likely fix,
// one per line.
func (v *Violation) Error() string {
	return fmt.Sprintf("rule %q violated: %s\n  saw: %v\n  likely fix: %s", v.Rule, v.Expected, v.Saw, v.Fix)
}

// Unwrap returns what was seen.
func (v *Violation) Unwrap() error { return v.Saw }

// run checks the rule under its deadline, without waiting past it for a
// provider that ignores its context.
func (r rule) run(ctx context.Context, h Harness, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("panic: %v", p)
			}
		}()
		done <- r.check(ctx, h)
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(timeout + timeout/10):
		err = fmt.Errorf("still running %s after its deadline: the provider ignores its context or is stuck", timeout)
	}
	if err == nil || errors.Is(err, errNotImplemented) {
		return err
	}
	return &Violation{Rule: r.name, Expected: r.statement, Saw: err, Fix: r.fix}
}

var rules = []rule{
	{"Ping", "ping succeeds against a healthy backend",
		"check the base URL, the credentials and the login; Ping must make one authenticated request", checkPing},
	{"ListAccessLevels", "AccessLevels lists every level of the backend with a name",
		"follow every page of the listing and copy the display name", checkListLevels},
	{"ListCredentialFormats", "CredentialFormats lists at least one format",
		"list the ACS's card formats or badge types with their IDs", checkListFormats},
	{"ProvisionGrantsAccess", "a provisioned grant is active in the backend for its access levels and only inside its window, checked a minute inside and outside each edge",
		"store ValidFrom and ValidUntil at the ACS (on the credential or the cardholder, in the ACS's time zone) and assign exactly the grant's levels", checkProvision},
	{"ProvisionIsIdempotent", "provisioning again with the same external ID returns the same references and creates nothing new",
		"find the cardholder by its external ID and the credential by its card before creating either", checkIdempotent},
	{"ReprovisionMakesItExactlyTheGrant", "provisioning the same external ID again with fewer levels and a shorter window leaves only the new grant opening doors",
		"on re-provision, remove access levels the grant no longer names and overwrite the window, instead of only adding", checkReprovision},
	{"EveryDeclaredFormat", "every credential format CredentialFormats maps to a Wiegand layout can be provisioned and opens doors",
		"encode each declared format's facility code and card number as the ACS expects, or do not declare the mapping", checkFormats},
	{"RevokeDeactivates", "revoke makes the credential inactive for every access level",
		"disable or delete the credential at the ACS, not only in the adapter", checkRevoke},
	{"RevokeTwice", "revoking twice succeeds",
		"treat an already revoked or missing credential as success", checkRevokeTwice},
	{"RevokeByExternalID", "a credential can be revoked by cardholder external ID and card alone (lost provision response)",
		"when CredentialRef.ID is empty, find the credential by card among the cardholder's (found by external ID)", checkRevokeByExternal},
	{"RevokeUnknown", "revoking a credential that never existed succeeds",
		"an absent cardholder or credential is success, not NotFound", checkRevokeUnknown},
	{"RevokeAfterRemove", "revoking with the IDs of an earlier provision succeeds once RemoveCardholder removed that cardholder",
		"when the cardholder or credential ID is gone at the ACS, revoke is done: ask the ACS whether it exists rather than failing", checkRevokeAfterRemove},
	{"RemoveCardholder", "removing a cardholder ends its access and is idempotent",
		"delete (or deactivate) the cardholder and every credential; an absent cardholder is success", checkRemove},
	{"InvalidGrantsChangeNothing", "an invalid grant is an InvalidArgument error naming the provider and changes nothing",
		"call acs.ValidateGrant first and return its error wrapped with the op and provider", checkInvalid},
	{"UnknownAccessLevel", "a grant for an access level the backend lacks is a NotFound error and changes nothing",
		"check every access level ID against the ACS before creating anything, and answer NotFound as the Provider contract says", checkUnknownLevel},
	{"CardHeldByAnother", "a card active for one cardholder is a Conflict for another, stays with the first, and the refused provision leaves nothing behind",
		"look the card up before creating the cardholder, or delete the cardholder this call created when the ACS refuses the card", checkConflict},
	{"CardReuseAfterRevoke", "a revoked card can be provisioned for the next cardholder",
		"reuse or delete the revoked credential record instead of refusing the card as held", checkReuse},
	{"CancelledContext", "a cancelled context stops the call with a Canceled error and changes nothing",
		"pass ctx to every request and check it before the first", checkCancelled},
	{"ConcurrentProvisions", "20 concurrent provisions of distinct visits all succeed with no cross-talk",
		"make shared state (session, caches, per-key locks) safe for concurrent use", checkConcurrent},
	{"Inventory", "acs.Inventory (when implemented) lists each provisioned cardholder once, with its card, levels and window as granted, and a revoked card as not opening",
		"list every page, read each cardholder's credentials and levels from the ACS, and report a revoked credential inactive", checkInventory},
	{"EventsResume", "acs.EventSource (when implemented, with a harness that can swipe) delivers a swipe once, and resuming from an event's cursor delivers exactly the events after it, in order",
		"make each event's Cursor resume strictly after it, and never repeat an event within one call", checkEventsResume},
	{"MobilePass", "acs.MobilePassIssuer (when implemented) issues a pass for a provisioned cardholder, idempotently",
		"find an existing invitation for the cardholder before sending another", checkMobilePass},
}

// grant builds a valid grant for the n-th test visitor.
func grant(h Harness, n int, levels ...string) acs.Grant {
	now := h.Now()
	return acs.Grant{
		Person: acs.Person{
			ExternalID: "acstest-visit-" + strconv.Itoa(n),
			FirstName:  "Test",
			LastName:   "Visitor" + strconv.Itoa(n),
			Email:      "visitor" + strconv.Itoa(n) + "@example.com",
		},
		Card:         acs.Card{Format: acs.H10301, Facility: 42, Number: uint64(1000 + n)},
		AccessLevels: levels,
		ValidFrom:    now.Add(-time.Minute).Truncate(time.Second),
		ValidUntil:   now.Add(2 * time.Hour).Truncate(time.Second),
	}
}

func opens(ctx context.Context, h Harness, ref acs.CredentialRef, level string, at time.Time) (bool, error) {
	ok, err := h.Opens(ctx, ref, level, at)
	if err != nil {
		return false, fmt.Errorf("oracle: %w", err)
	}
	return ok, nil
}

// expectOpens checks the oracle's answer for each level at one time.
func expectOpens(ctx context.Context, h Harness, ref acs.CredentialRef, want bool, at time.Time, levels ...string) error {
	for _, l := range levels {
		got, err := opens(ctx, h, ref, l, at)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("oracle says credential %+v opens level %q at %s: %v, want %v", ref, l, at.Format(time.RFC3339), got, want)
		}
	}
	return nil
}

func census(ctx context.Context, h Harness) (Census, error) {
	c, err := h.Census(ctx)
	if err != nil {
		return c, fmt.Errorf("oracle census: %w", err)
	}
	return c, nil
}

func sameCensus(ctx context.Context, h Harness, before Census, what string) error {
	after, err := census(ctx, h)
	if err != nil {
		return err
	}
	if after != before {
		return fmt.Errorf("%s changed the backend: census %+v before, %+v after", what, before, after)
	}
	return nil
}

func levels(h Harness) (string, string, error) {
	ls := h.AccessLevels()
	if len(ls) < 2 {
		return "", "", fmt.Errorf("harness offers %d access levels; the kit needs 2", len(ls))
	}
	return ls[0], ls[1], nil
}

func checkPing(ctx context.Context, h Harness) error {
	return h.Provider().Ping(ctx)
}

func checkListLevels(ctx context.Context, h Harness) error {
	got, err := h.Provider().AccessLevels(ctx)
	if err != nil {
		return err
	}
	names := make(map[string]string, len(got))
	for _, l := range got {
		names[l.ID] = l.Name
	}
	for _, want := range h.AccessLevels() {
		name, ok := names[want]
		if !ok {
			return fmt.Errorf("level %q missing from the %d listed", want, len(got))
		}
		if name == "" {
			return fmt.Errorf("level %q listed without a name", want)
		}
	}
	return nil
}

func checkListFormats(ctx context.Context, h Harness) error {
	got, err := h.Provider().CredentialFormats(ctx)
	if err != nil {
		return err
	}
	if len(got) == 0 {
		return errors.New("no credential formats listed")
	}
	for _, f := range got {
		if f.ID == "" {
			return fmt.Errorf("format %+v has no ID", f)
		}
	}
	return nil
}

func checkProvision(ctx context.Context, h Harness) error {
	l0, l1, err := levels(h)
	if err != nil {
		return err
	}
	g := grant(h, 1, l0)
	p, err := h.Provider().Provision(ctx, g)
	if err != nil {
		return err
	}
	switch {
	case p.Cardholder.ID == "" || p.Credential.ID == "":
		return fmt.Errorf("references are incomplete: %+v", p)
	case p.Cardholder.ExternalID != g.Person.ExternalID || p.Credential.CardholderExternalID != g.Person.ExternalID:
		return fmt.Errorf("references carry external ID %q/%q, want %q", p.Cardholder.ExternalID, p.Credential.CardholderExternalID, g.Person.ExternalID)
	case p.Credential.Card != g.Card:
		return fmt.Errorf("credential reference carries card %v, want %v", p.Credential.Card, g.Card)
	case p.Credential.CardholderID != p.Cardholder.ID:
		return fmt.Errorf("credential belongs to cardholder %q, want %q", p.Credential.CardholderID, p.Cardholder.ID)
	case !p.Created:
		return errors.New("first provision reports Created = false")
	}
	now := h.Now()
	if err := expectOpens(ctx, h, p.Credential, true, now, l0); err != nil {
		return err
	}
	if err := expectOpens(ctx, h, p.Credential, false, now, l1); err != nil {
		return fmt.Errorf("level not granted: %w", err)
	}
	if err := checkEdges(ctx, h, p.Credential, g, l0); err != nil {
		return err
	}
	// A second grant for both levels.
	g2 := grant(h, 2, l0, l1)
	p2, err := h.Provider().Provision(ctx, g2)
	if err != nil {
		return fmt.Errorf("grant with two levels: %w", err)
	}
	return expectOpens(ctx, h, p2.Credential, true, now, l0, l1)
}

func checkIdempotent(ctx context.Context, h Harness) error {
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	g := grant(h, 3, l0)
	p1, err := h.Provider().Provision(ctx, g)
	if err != nil {
		return err
	}
	before, err := census(ctx, h)
	if err != nil {
		return err
	}
	p2, err := h.Provider().Provision(ctx, g)
	if err != nil {
		return fmt.Errorf("second provision: %w", err)
	}
	if p1.Cardholder != p2.Cardholder || p1.Credential != p2.Credential {
		return fmt.Errorf("references differ: first %+v / %+v, second %+v / %+v", p1.Cardholder, p1.Credential, p2.Cardholder, p2.Credential)
	}
	if p2.Created {
		return errors.New("second provision reports Created = true")
	}
	if err := sameCensus(ctx, h, before, "second provision"); err != nil {
		return err
	}
	return expectOpens(ctx, h, p2.Credential, true, h.Now(), l0)
}

func checkRevoke(ctx context.Context, h Harness) error {
	l0, l1, err := levels(h)
	if err != nil {
		return err
	}
	p, err := h.Provider().Provision(ctx, grant(h, 4, l0, l1))
	if err != nil {
		return err
	}
	if err := h.Provider().Revoke(ctx, p.Credential); err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	return expectOpens(ctx, h, p.Credential, false, h.Now(), l0, l1)
}

func checkRevokeTwice(ctx context.Context, h Harness) error {
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	p, err := h.Provider().Provision(ctx, grant(h, 5, l0))
	if err != nil {
		return err
	}
	for i := 1; i <= 2; i++ {
		if err := h.Provider().Revoke(ctx, p.Credential); err != nil {
			return fmt.Errorf("revoke #%d: %w", i, err)
		}
	}
	return expectOpens(ctx, h, p.Credential, false, h.Now(), l0)
}

func checkRevokeByExternal(ctx context.Context, h Harness) error {
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	g := grant(h, 6, l0)
	p, err := h.Provider().Provision(ctx, g)
	if err != nil {
		return err
	}
	ref := acs.CredentialRef{CardholderExternalID: g.Person.ExternalID, Card: g.Card}
	if err := h.Provider().Revoke(ctx, ref); err != nil {
		return fmt.Errorf("revoke by external ID: %w", err)
	}
	return expectOpens(ctx, h, p.Credential, false, h.Now(), l0)
}

func checkRevokeUnknown(ctx context.Context, h Harness) error {
	ref := acs.CredentialRef{CardholderExternalID: "acstest-never-provisioned", Card: acs.Card{Format: acs.H10301, Facility: 42, Number: 999}}
	before, err := census(ctx, h)
	if err != nil {
		return err
	}
	if err := h.Provider().Revoke(ctx, ref); err != nil {
		return err
	}
	return sameCensus(ctx, h, before, "revoking an unknown credential")
}

func checkRemove(ctx context.Context, h Harness) error {
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	before, err := census(ctx, h)
	if err != nil {
		return err
	}
	p, err := h.Provider().Provision(ctx, grant(h, 7, l0))
	if err != nil {
		return err
	}
	for i := 1; i <= 2; i++ {
		if err := h.Provider().RemoveCardholder(ctx, p.Cardholder); err != nil {
			return fmt.Errorf("remove #%d: %w", i, err)
		}
	}
	if err := expectOpens(ctx, h, p.Credential, false, h.Now(), l0); err != nil {
		return err
	}
	after, err := census(ctx, h)
	if err != nil {
		return err
	}
	if after.Cardholders != before.Cardholders {
		return fmt.Errorf("cardholders: %d before provision, %d after removal", before.Cardholders, after.Cardholders)
	}
	// By external ID alone, and of something never created.
	if err := h.Provider().RemoveCardholder(ctx, acs.CardholderRef{ExternalID: "acstest-never-provisioned"}); err != nil {
		return fmt.Errorf("removing an unknown cardholder: %w", err)
	}
	return nil
}

func checkInvalid(ctx context.Context, h Harness) error {
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	valid := grant(h, 8, l0)
	cases := []struct {
		name   string
		mutate func(*acs.Grant)
	}{
		{"no names", func(g *acs.Grant) { g.Person.FirstName, g.Person.LastName = "", "" }},
		{"no external ID", func(g *acs.Grant) { g.Person.ExternalID = "" }},
		{"external ID with a quote", func(g *acs.Grant) { g.Person.ExternalID = `x"y` }},
		{"control character in name", func(g *acs.Grant) { g.Person.LastName = "Smith\x00" }},
		{"invalid UTF-8 in name", func(g *acs.Grant) { g.Person.FirstName = "\xff\xfe" }},
		{"card number too large for H10301", func(g *acs.Grant) { g.Card.Number = 65536 }},
		{"facility code too large for H10301", func(g *acs.Grant) { g.Card.Facility = 256 }},
		{"unknown card format", func(g *acs.Grant) { g.Card.Format = 99 }},
		{"no card format", func(g *acs.Grant) { g.Card.Format = 0 }},
		{"no access level", func(g *acs.Grant) { g.AccessLevels = nil }},
		{"empty access level", func(g *acs.Grant) { g.AccessLevels = []string{""} }},
		{"window ends before it starts", func(g *acs.Grant) { g.ValidFrom, g.ValidUntil = g.ValidUntil, g.ValidFrom }},
		{"window longer than the maximum", func(g *acs.Grant) { g.ValidUntil = g.ValidFrom.Add(acs.DefaultMaxValidity + time.Hour) }},
	}
	before, err := census(ctx, h)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range cases {
		g := valid
		g.AccessLevels = append([]string(nil), valid.AccessLevels...)
		c.mutate(&g)
		_, err := h.Provider().Provision(ctx, g)
		var ae *acs.Error
		switch {
		case err == nil:
			errs = append(errs, fmt.Errorf("%s: accepted", c.name))
		case acs.CodeOf(err) != acs.InvalidArgument:
			errs = append(errs, fmt.Errorf("%s: code %v, want invalid argument (%v)", c.name, acs.CodeOf(err), err))
		case !errors.As(err, &ae) || ae.Provider != h.Provider().Name():
			errs = append(errs, fmt.Errorf("%s: error does not name provider %q: %v", c.name, h.Provider().Name(), err))
		}
	}
	if err := sameCensus(ctx, h, before, "invalid grants"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func checkUnknownLevel(ctx context.Context, h Harness) error {
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	unknown := "acstest-no-such-level"
	if u, ok := h.(UnknownLevelHarness); ok {
		unknown = u.UnknownAccessLevel()
	}
	before, err := census(ctx, h)
	if err != nil {
		return err
	}
	_, err = h.Provider().Provision(ctx, grant(h, 9, l0, unknown))
	if err == nil {
		return fmt.Errorf("grant for level %q accepted", unknown)
	}
	if c := acs.CodeOf(err); c != acs.NotFound {
		return fmt.Errorf("code %v, want not found: %v", c, err)
	}
	return sameCensus(ctx, h, before, "a grant for an unknown level")
}

func checkConflict(ctx context.Context, h Harness) error {
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	a := grant(h, 10, l0)
	pa, err := h.Provider().Provision(ctx, a)
	if err != nil {
		return err
	}
	b := grant(h, 11, l0)
	b.Card = a.Card
	before, err := census(ctx, h)
	if err != nil {
		return err
	}
	_, err = h.Provider().Provision(ctx, b)
	if acs.CodeOf(err) != acs.Conflict {
		return fmt.Errorf("second holder of an active card: got %v (code %v), want a conflict", err, acs.CodeOf(err))
	}
	if err := sameCensus(ctx, h, before, "the refused provision"); err != nil {
		return err
	}
	return expectOpens(ctx, h, pa.Credential, true, h.Now(), l0)
}

func checkReuse(ctx context.Context, h Harness) error {
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	a := grant(h, 12, l0)
	pa, err := h.Provider().Provision(ctx, a)
	if err != nil {
		return err
	}
	if err := h.Provider().Revoke(ctx, pa.Credential); err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	b := grant(h, 13, l0)
	b.Card = a.Card
	pb, err := h.Provider().Provision(ctx, b)
	if err != nil {
		return fmt.Errorf("provision of the returned card for the next visitor: %w", err)
	}
	if pb.Credential.CardholderExternalID != b.Person.ExternalID {
		return fmt.Errorf("credential reference names cardholder %q, want %q", pb.Credential.CardholderExternalID, b.Person.ExternalID)
	}
	return expectOpens(ctx, h, pb.Credential, true, h.Now(), l0)
}

func checkCancelled(ctx context.Context, h Harness) error {
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	before, err := census(ctx, h)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	p := h.Provider()
	calls := map[string]error{}
	_, calls["Provision"] = p.Provision(cctx, grant(h, 14, l0))
	calls["Ping"] = p.Ping(cctx)
	_, calls["AccessLevels"] = p.AccessLevels(cctx)
	_, calls["CredentialFormats"] = p.CredentialFormats(cctx)
	calls["Revoke"] = p.Revoke(cctx, acs.CredentialRef{CardholderExternalID: "acstest-visit-14", Card: acs.Card{Format: acs.H10301, Facility: 42, Number: 1014}})
	calls["RemoveCardholder"] = p.RemoveCardholder(cctx, acs.CardholderRef{ExternalID: "acstest-visit-14"})
	var errs []error
	for _, name := range []string{"Ping", "AccessLevels", "CredentialFormats", "Provision", "Revoke", "RemoveCardholder"} {
		err := calls[name]
		if !errors.Is(err, context.Canceled) || acs.CodeOf(err) != acs.Canceled {
			errs = append(errs, fmt.Errorf("%s: got %v, want an error matching context.Canceled with code canceled", name, err))
		}
	}
	if err := sameCensus(ctx, h, before, "calls with a cancelled context"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func checkConcurrent(ctx context.Context, h Harness) error {
	l0, l1, err := levels(h)
	if err != nil {
		return err
	}
	before, err := census(ctx, h)
	if err != nil {
		return err
	}
	const n = 20
	type result struct {
		g   acs.Grant
		p   acs.Provisioned
		err error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		level := l0
		if i%2 == 1 {
			level = l1
		}
		results[i].g = grant(h, 100+i, level)
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i].p, results[i].err = h.Provider().Provision(ctx, results[i].g)
		}()
	}
	wg.Wait()
	var errs []error
	seen := map[string]int{}
	for i, r := range results {
		if r.err != nil {
			errs = append(errs, fmt.Errorf("provision %d: %w", i, r.err))
			continue
		}
		if r.p.Cardholder.ExternalID != r.g.Person.ExternalID || r.p.Credential.Card != r.g.Card {
			errs = append(errs, fmt.Errorf("provision %d answered with another visit's references: %+v", i, r.p))
		}
		if j, dup := seen[r.p.Credential.ID]; dup {
			errs = append(errs, fmt.Errorf("provisions %d and %d got the same credential %q", j, i, r.p.Credential.ID))
		}
		seen[r.p.Credential.ID] = i
		other := l1
		if r.g.AccessLevels[0] == l1 {
			other = l0
		}
		if err := expectOpens(ctx, h, r.p.Credential, true, h.Now(), r.g.AccessLevels[0]); err != nil {
			errs = append(errs, fmt.Errorf("provision %d: %w", i, err))
		}
		if err := expectOpens(ctx, h, r.p.Credential, false, h.Now(), other); err != nil {
			errs = append(errs, fmt.Errorf("provision %d got another visit's level: %w", i, err))
		}
	}
	after, err := census(ctx, h)
	if err != nil {
		return err
	}
	if want := (Census{before.Cardholders + n, before.Credentials + n}); after != want {
		errs = append(errs, fmt.Errorf("census %+v after %d provisions, want %+v", after, n, want))
	}
	if len(errs) > 0 {
		return errors.New(strings.TrimSpace(errors.Join(errs...).Error()))
	}
	return nil
}
