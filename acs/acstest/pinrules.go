package acstest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// PINHarness may be implemented by a harness whose backend has keypad
// readers, so that the kit checks acs.PINIssuer. A provider implementing
// acs.PINIssuer whose harness does not implement PINHarness fails the PIN
// rules: the kit never believes the adapter about the backend.
type PINHarness interface {
	// OpensWithPIN reports whether, in the backend, entering pin at a
	// keypad reader of a door of the access level opens it at the given
	// time.
	OpensWithPIN(ctx context.Context, pin acs.PIN, level string, at time.Time) (bool, error)
}

// pinRules are the rules about acs.PINIssuer, run after the others.
var pinRules = []rule{
	{"PINProvisionOpens", "acs.PINIssuer (when implemented) issues a PIN that opens exactly its access levels at a keypad, only inside its window (a minute inside and outside each edge), and answers with complete references",
		"set the PIN with the grant's window and levels at the ACS (where the ACS keeps levels on the cardholder, on the cardholder), and return the cardholder's and the PIN credential's IDs", checkPINProvision},
	{"PINIsIdempotent", "provisioning the same PIN grant again returns the same references and creates nothing",
		"find the cardholder by its external ID and its PIN credential before creating either", checkPINIdempotent},
	{"PINReplaces", "provisioning another PIN for the same cardholder makes the new one open and the old one not",
		"overwrite the cardholder's PIN instead of adding a second one", checkPINReplace},
	{"PINRevoke", "RevokePIN ends the PIN by its reference and by external ID alone, succeeds twice and for a PIN that never existed",
		"remove or clear the PIN at the ACS; find it by the cardholder's external ID when the reference has no ID; absent is success", checkPINRevoke},
	{"PINRemoveCardholder", "RemoveCardholder ends the cardholder's PIN too",
		"remove the PIN credential with the cardholder", checkPINRemove},
	{"PINInvalidChangesNothing", "an invalid PIN grant is refused before any request (InvalidArgument, or Unsupported without the card the ACS keeps PINs on; NotFound for an unknown level), names the provider, changes nothing, and no error quotes the PIN",
		"call acs.ValidatePINGrant and PINSupport.Check first, look the levels up before writing, and pass errors through acs.RedactPIN", checkPINInvalid},
	{"PINCancelledContext", "a cancelled context stops ProvisionPIN and RevokePIN with a Canceled error and changes nothing",
		"pass ctx to every request and check it before the first", checkPINCancelled},
}

func init() { rules = append(rules, pinRules...) }

// pinSetup returns what every PIN rule needs, or errNotImplemented when
// the provider issues no PINs.
func pinSetup(h Harness) (acs.PINIssuer, PINHarness, acs.PINSupport, error) {
	pi, ok := h.Provider().(acs.PINIssuer)
	if !ok {
		return nil, nil, acs.PINSupport{}, errNotImplemented
	}
	ph, ok := h.(PINHarness)
	if !ok {
		return nil, nil, acs.PINSupport{}, errors.New("the provider implements acs.PINIssuer but the harness has no PIN oracle (acstest.PINHarness)")
	}
	s := pi.PINSupport()
	if s.MinLen < acs.MinPINLen || s.MaxLen > acs.MaxPINLen || s.MinLen > s.MaxLen {
		return nil, nil, s, fmt.Errorf("PINSupport %+v is outside %d–%d digits", s, acs.MinPINLen, acs.MaxPINLen)
	}
	return pi, ph, s, nil
}

// pinFor returns a distinctive PIN for the n-th test visitor, as long as
// the ACS allows up to 8 digits.
func pinFor(n int, s acs.PINSupport) acs.PIN {
	digits := fmt.Sprintf("7%011d", 39152840+n*7919)
	p, err := acs.ParsePIN(digits[:min(max(8, s.MinLen), s.MaxLen)])
	if err != nil {
		panic(err)
	}
	return p
}

// pinGrant builds the n-th visitor's PIN grant; when the ACS keeps PINs
// on cards, the visitor's card is provisioned first and named.
func pinGrant(ctx context.Context, h Harness, s acs.PINSupport, n int, levels ...string) (acs.PINGrant, error) {
	base := grant(h, n, levels...)
	g := acs.PINGrant{Person: base.Person, PIN: pinFor(n, s), AccessLevels: levels, ValidFrom: base.ValidFrom, ValidUntil: base.ValidUntil}
	if s.Standalone {
		return g, nil
	}
	if _, err := h.Provider().Provision(ctx, base); err != nil {
		return g, fmt.Errorf("provisioning the card the PIN goes on: %w", err)
	}
	g.Card = base.Card
	return g, nil
}

// expectPIN checks the PIN oracle's answer for each level at one time.
func expectPIN(ctx context.Context, ph PINHarness, pin acs.PIN, want bool, at time.Time, levels ...string) error {
	for _, l := range levels {
		got, err := ph.OpensWithPIN(ctx, pin, l, at)
		if err != nil {
			return fmt.Errorf("PIN oracle: %w", err)
		}
		if got != want {
			return fmt.Errorf("oracle says the PIN opens level %q at %s: %v, want %v", l, at.Format(time.RFC3339), got, want)
		}
	}
	return nil
}

// quotes reports an error or value whose text holds the PIN's digits.
func quotes(pin acs.PIN, what string, v any) error {
	if s := fmt.Sprintf("%v %+v", v, v); strings.Contains(s, pin.Reveal()) {
		return fmt.Errorf("%s quotes the PIN's digits", what)
	}
	return nil
}

func checkPINProvision(ctx context.Context, h Harness) error {
	pi, ph, s, err := pinSetup(h)
	if err != nil {
		return err
	}
	l0, l1, err := levels(h)
	if err != nil {
		return err
	}
	g, err := pinGrant(ctx, h, s, 50, l0)
	if err != nil {
		return err
	}
	p, err := pi.ProvisionPIN(ctx, g)
	if err != nil {
		return errors.Join(err, quotes(g.PIN, "the error", err))
	}
	ext := g.Person.ExternalID
	switch {
	case p.Cardholder.ID == "" || p.Credential.ID == "":
		return fmt.Errorf("references are incomplete: %+v", p)
	case p.Cardholder.ExternalID != ext || p.Credential.CardholderExternalID != ext:
		return fmt.Errorf("references carry external ID %q/%q, want %q", p.Cardholder.ExternalID, p.Credential.CardholderExternalID, ext)
	case p.Credential.CardholderID != p.Cardholder.ID:
		return fmt.Errorf("the PIN belongs to cardholder %q, want %q", p.Credential.CardholderID, p.Cardholder.ID)
	case s.Standalone && !p.Created:
		return errors.New("first PIN provision reports Created = false")
	}
	if err := quotes(g.PIN, "Provisioned", p); err != nil {
		return err
	}
	now := h.Now()
	if err := expectPIN(ctx, ph, g.PIN, true, now, l0); err != nil {
		return err
	}
	if err := expectPIN(ctx, ph, g.PIN, false, now, l1); err != nil {
		return fmt.Errorf("level not granted: %w", err)
	}
	for _, e := range []struct {
		what string
		at   time.Time
		want bool
	}{
		{"a minute before ValidFrom", g.ValidFrom.Add(-time.Minute), false},
		{"a minute after ValidFrom", g.ValidFrom.Add(time.Minute), true},
		{"a minute before ValidUntil", g.ValidUntil.Add(-time.Minute), true},
		{"a minute after ValidUntil", g.ValidUntil.Add(time.Minute), false},
	} {
		if err := expectPIN(ctx, ph, g.PIN, e.want, e.at, l0); err != nil {
			return fmt.Errorf("%s: %w", e.what, err)
		}
	}
	return expectPIN(ctx, ph, pinFor(59, s), false, now, l0, l1)
}

func checkPINIdempotent(ctx context.Context, h Harness) error {
	pi, ph, s, err := pinSetup(h)
	if err != nil {
		return err
	}
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	g, err := pinGrant(ctx, h, s, 51, l0)
	if err != nil {
		return err
	}
	p1, err := pi.ProvisionPIN(ctx, g)
	if err != nil {
		return err
	}
	before, err := census(ctx, h)
	if err != nil {
		return err
	}
	p2, err := pi.ProvisionPIN(ctx, g)
	if err != nil {
		return fmt.Errorf("second provision: %w", err)
	}
	if p1.Cardholder != p2.Cardholder || p1.Credential != p2.Credential {
		return fmt.Errorf("references differ: first %+v / %+v, second %+v / %+v", p1.Cardholder, p1.Credential, p2.Cardholder, p2.Credential)
	}
	if p2.Created {
		return errors.New("second provision reports Created = true")
	}
	if err := sameCensus(ctx, h, before, "second PIN provision"); err != nil {
		return err
	}
	return expectPIN(ctx, ph, g.PIN, true, h.Now(), l0)
}

func checkPINReplace(ctx context.Context, h Harness) error {
	pi, ph, s, err := pinSetup(h)
	if err != nil {
		return err
	}
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	g, err := pinGrant(ctx, h, s, 52, l0)
	if err != nil {
		return err
	}
	if _, err := pi.ProvisionPIN(ctx, g); err != nil {
		return err
	}
	old := g.PIN
	g.PIN = pinFor(53, s)
	if _, err := pi.ProvisionPIN(ctx, g); err != nil {
		return fmt.Errorf("provisioning a new PIN: %w", err)
	}
	now := h.Now()
	if err := expectPIN(ctx, ph, g.PIN, true, now, l0); err != nil {
		return fmt.Errorf("the new PIN: %w", err)
	}
	if err := expectPIN(ctx, ph, old, false, now, l0); err != nil {
		return fmt.Errorf("the replaced PIN: %w", err)
	}
	return nil
}

func checkPINRevoke(ctx context.Context, h Harness) error {
	pi, ph, s, err := pinSetup(h)
	if err != nil {
		return err
	}
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	g, err := pinGrant(ctx, h, s, 54, l0)
	if err != nil {
		return err
	}
	p, err := pi.ProvisionPIN(ctx, g)
	if err != nil {
		return err
	}
	for i := 1; i <= 2; i++ {
		if err := pi.RevokePIN(ctx, p.Credential); err != nil {
			return fmt.Errorf("revoke #%d: %w", i, err)
		}
	}
	if err := expectPIN(ctx, ph, g.PIN, false, h.Now(), l0); err != nil {
		return fmt.Errorf("after RevokePIN: %w", err)
	}
	g2, err := pinGrant(ctx, h, s, 55, l0)
	if err != nil {
		return err
	}
	if _, err := pi.ProvisionPIN(ctx, g2); err != nil {
		return err
	}
	if err := pi.RevokePIN(ctx, acs.CredentialRef{CardholderExternalID: g2.Person.ExternalID}); err != nil {
		return fmt.Errorf("revoke by external ID: %w", err)
	}
	if err := expectPIN(ctx, ph, g2.PIN, false, h.Now(), l0); err != nil {
		return fmt.Errorf("after RevokePIN by external ID: %w", err)
	}
	before, err := census(ctx, h)
	if err != nil {
		return err
	}
	if err := pi.RevokePIN(ctx, acs.CredentialRef{CardholderExternalID: "acstest-never-provisioned"}); err != nil {
		return fmt.Errorf("revoking the PIN of an unknown cardholder: %w", err)
	}
	return sameCensus(ctx, h, before, "revoking an unknown PIN")
}

func checkPINRemove(ctx context.Context, h Harness) error {
	pi, ph, s, err := pinSetup(h)
	if err != nil {
		return err
	}
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	g, err := pinGrant(ctx, h, s, 56, l0)
	if err != nil {
		return err
	}
	p, err := pi.ProvisionPIN(ctx, g)
	if err != nil {
		return err
	}
	if err := h.Provider().RemoveCardholder(ctx, p.Cardholder); err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	return expectPIN(ctx, ph, g.PIN, false, h.Now(), l0)
}

func checkPINInvalid(ctx context.Context, h Harness) error {
	pi, _, s, err := pinSetup(h)
	if err != nil {
		return err
	}
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	valid, err := pinGrant(ctx, h, s, 57, l0)
	if err != nil {
		return err
	}
	unknown := "acstest-no-such-level"
	if u, ok := h.(UnknownLevelHarness); ok {
		unknown = u.UnknownAccessLevel()
	}
	type bad struct {
		name   string
		mutate func(*acs.PINGrant)
		code   acs.Code
	}
	cases := []bad{
		{"no PIN", func(g *acs.PINGrant) { g.PIN = acs.PIN{} }, acs.InvalidArgument},
		{"no access level", func(g *acs.PINGrant) { g.AccessLevels = nil }, acs.InvalidArgument},
		{"no external ID", func(g *acs.PINGrant) { g.Person.ExternalID = "" }, acs.InvalidArgument},
		{"window ends before it starts", func(g *acs.PINGrant) { g.ValidFrom, g.ValidUntil = g.ValidUntil, g.ValidFrom }, acs.InvalidArgument},
		{"unknown access level", func(g *acs.PINGrant) { g.AccessLevels = []string{l0, unknown} }, acs.NotFound},
	}
	if s.MaxLen < acs.MaxPINLen {
		long, _ := acs.ParsePIN(strings.Repeat("7", s.MaxLen+1))
		cases = append(cases, bad{"PIN longer than the ACS takes", func(g *acs.PINGrant) { g.PIN = long }, acs.InvalidArgument})
	}
	if !s.Standalone {
		cases = append(cases, bad{"no card for an ACS keeping PINs on cards", func(g *acs.PINGrant) { g.Card = acs.Card{} }, acs.Unsupported})
	}
	before, err := census(ctx, h)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range cases {
		g := valid
		c.mutate(&g)
		_, err := pi.ProvisionPIN(ctx, g)
		var ae *acs.Error
		switch {
		case err == nil:
			errs = append(errs, fmt.Errorf("%s: accepted", c.name))
		case acs.CodeOf(err) != c.code:
			errs = append(errs, fmt.Errorf("%s: code %v, want %v (%v)", c.name, acs.CodeOf(err), c.code, err))
		case !errors.As(err, &ae) || ae.Provider != h.Provider().Name():
			errs = append(errs, fmt.Errorf("%s: error does not name provider %q: %v", c.name, h.Provider().Name(), err))
		}
		if q := quotes(valid.PIN, c.name+": the error", err); q != nil {
			errs = append(errs, q)
		}
	}
	if err := sameCensus(ctx, h, before, "invalid PIN grants"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func checkPINCancelled(ctx context.Context, h Harness) error {
	pi, _, s, err := pinSetup(h)
	if err != nil {
		return err
	}
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	g, err := pinGrant(ctx, h, s, 58, l0)
	if err != nil {
		return err
	}
	before, err := census(ctx, h)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, perr := pi.ProvisionPIN(cctx, g)
	rerr := pi.RevokePIN(cctx, acs.CredentialRef{CardholderExternalID: g.Person.ExternalID})
	var errs []error
	for name, err := range map[string]error{"ProvisionPIN": perr, "RevokePIN": rerr} {
		if !errors.Is(err, context.Canceled) || acs.CodeOf(err) != acs.Canceled {
			errs = append(errs, fmt.Errorf("%s: got %v, want an error matching context.Canceled with code canceled", name, err))
		}
	}
	if err := sameCensus(ctx, h, before, "PIN calls with a cancelled context"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
