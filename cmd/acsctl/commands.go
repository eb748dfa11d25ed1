package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/acsbridge/acsbridge/acs"
)

// formatNames lists the command line's format names in help order.
var formatNames = []string{"h10301", "h10306", "h10302", "h10304", "c1k35", "c1k48"}

// cardFormat reads a card format by its command-line name (see
// wiegandFormats).
func cardFormat(name string) (acs.CardFormat, error) {
	f, ok := wiegandFormats[strings.ToLower(name)]
	if !ok {
		return 0, usagef("unknown format %q; want h10301, h10306, h10302, h10304, c1k35 or c1k48", name)
	}
	return f, nil
}

// closeProvider releases what a provider holds (a Lenel or NetBox
// session): every provider that implements acs.Closer is closed.
func closeProvider(p acs.Provider) {
	if c, ok := p.(acs.Closer); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	}
}

func (a *app) ping(ctx context.Context, args []string) error {
	if err := parse(newFlagSet("ping"), args); err != nil {
		return err
	}
	p, err := a.newProvider()
	if err != nil {
		return err
	}
	defer closeProvider(p)
	if err := p.Ping(ctx); err != nil {
		return err
	}
	return a.emit(struct {
		OK       bool   `json:"ok"`
		Provider string `json:"provider"`
	}{true, p.Name()}, fmt.Sprintf("ok: %s answered\n", p.Name()))
}

type idName struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (a *app) sync(ctx context.Context, args []string) error {
	if err := parse(newFlagSet("sync"), args); err != nil {
		return err
	}
	p, err := a.newProvider()
	if err != nil {
		return err
	}
	defer closeProvider(p)
	levels, err := p.AccessLevels(ctx)
	if err != nil {
		return err
	}
	formats, err := p.CredentialFormats(ctx)
	if err != nil {
		return err
	}
	out := struct {
		AccessLevels      []idName `json:"access_levels"`
		CredentialFormats []idName `json:"credential_formats"`
	}{[]idName{}, []idName{}}
	var b strings.Builder
	fmt.Fprintf(&b, "access levels (%d):\n", len(levels))
	for _, l := range levels {
		out.AccessLevels = append(out.AccessLevels, idName{l.ID, l.Name})
		fmt.Fprintf(&b, "  %s\t%s\n", l.ID, l.Name)
	}
	fmt.Fprintf(&b, "credential formats (%d):\n", len(formats))
	for _, f := range formats {
		out.CredentialFormats = append(out.CredentialFormats, idName{f.ID, f.Name})
		fmt.Fprintf(&b, "  %s\t%s\n", f.ID, f.Name)
	}
	return a.emit(out, b.String())
}

// stringList is a repeatable string flag.
type stringList []string

// String joins the values with commas.
func (s *stringList) String() string { return strings.Join(*s, ",") }

// Set appends a value.
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// provisionArgs are provision's flags.
type provisionArgs struct {
	first, last, email, externalID string
	facility, card                 string
	format, badgeType              string
	from, until                    string
	levels                         stringList
}

// provisionFlags defines provision's flags.
func provisionFlags() (*flagSet, *provisionArgs) {
	o := &provisionArgs{}
	fs := newFlagSet("provision")
	fs.String(&o.first, "first-name", "", "the person's first `NAME` (required)")
	fs.String(&o.last, "last-name", "", "the person's last `NAME` (required)")
	fs.String(&o.email, "email", "", "the person's e-mail `ADDRESS`")
	fs.String(&o.externalID, "external-id", "", "your `KEY` for the cardholder; running again with it creates nothing twice (default acsctl-<random UUID>)")
	fs.String(&o.format, "format", "h10301", "card `FORMAT`: "+strings.Join(formatNames, ", "))
	fs.String(&o.facility, "facility-code", "", "facility code `N` (required unless the format has none: h10302)")
	fs.String(&o.card, "card-number", "", "card `NUMBER` (required)")
	fs.Value(&o.levels, "access-level", "access `LEVEL` by ID or name, as sync lists them (required; repeat for several)")
	fs.String(&o.badgeType, "badge-type", "", "credential format or badge type `ID`, as sync lists them (default: the ACS's)")
	fs.String(&o.from, "valid-from", "now", "start of the window: RFC 3339 `TIME`, now, or +DURATION from now")
	fs.String(&o.until, "valid-until", "", "end of the window: RFC 3339 `TIME` or +DURATION from now (required)")
	return fs, o
}

// cardData parses the card flags. The facility code is required when the
// format has a facility field, never silently zero.
func (o *provisionArgs) cardData() (acs.Card, error) {
	f, err := cardFormat(o.format)
	if err != nil {
		return acs.Card{}, err
	}
	if o.card == "" {
		return acs.Card{}, usagef("provision: --card-number is required")
	}
	cn, err := strconv.ParseUint(o.card, 10, 64)
	if err != nil {
		return acs.Card{}, usagef("provision: --card-number %q is not a non-negative integer", o.card)
	}
	maxFC, hasFacility := f.MaxFacility()
	var fc uint64
	switch {
	case o.facility != "":
		if fc, err = strconv.ParseUint(o.facility, 10, 64); err != nil {
			return acs.Card{}, usagef("provision: --facility-code %q is not a non-negative integer", o.facility)
		}
	case hasFacility:
		return acs.Card{}, usagef("provision: --facility-code is required for %s cards (0 to %d)", strings.ToLower(o.format), maxFC)
	}
	return acs.Card{Format: f, Facility: fc, Number: cn}, nil
}

// window parses and checks the validity window: it must end after it
// starts, and in the future (a window wholly in the past opens nothing).
func (o *provisionArgs) window(now time.Time) (from, until time.Time, err error) {
	if from, err = parseTime("valid-from", o.from, now); err != nil {
		return
	}
	if until, err = parseTime("valid-until", o.until, now); err != nil {
		return
	}
	if !until.After(now) {
		return from, until, usagef("provision: the window ends at %s, which is already past (now %s): the credential would open nothing; give a --valid-until in the future",
			until.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if !until.After(from) {
		return from, until, usagef("provision: --valid-until %s is not after --valid-from %s",
			until.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	return from, until, nil
}

// parseTime reads a window bound: RFC 3339, "now", or "+" and a duration
// from now.
func parseTime(name, v string, now time.Time) (time.Time, error) {
	now = now.UTC().Truncate(time.Second)
	switch {
	case v == "":
		return time.Time{}, usagef("provision: --%s is required", name)
	case v == "now":
		return now, nil
	case strings.HasPrefix(v, "+"):
		d, err := time.ParseDuration(v[1:])
		if err != nil || d < 0 {
			return time.Time{}, usagef("provision: --%s %q is not + and a duration such as +8h or +90m", name, v)
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, usagef("provision: --%s %q is not an RFC 3339 time such as 2026-11-22T09:00:00Z, now, or +8h", name, v)
	}
	return t, nil
}

// grant checks provision's flags before any connection and builds the
// grant; its access levels are still as given.
func (o *provisionArgs) grant(now time.Time) (acs.Grant, error) {
	card, err := o.cardData()
	if err != nil {
		return acs.Grant{}, err
	}
	if len(o.levels) == 0 {
		return acs.Grant{}, usagef("provision: at least one --access-level is required (an ID or a name, as sync lists them)")
	}
	from, until, err := o.window(now)
	if err != nil {
		return acs.Grant{}, err
	}
	if o.externalID == "" {
		o.externalID = "acsctl-" + uuid.NewString()
	}
	return acs.Grant{
		Person:         acs.Person{ExternalID: o.externalID, FirstName: o.first, LastName: o.last, Email: o.email},
		Card:           card,
		CredentialType: o.badgeType,
		AccessLevels:   o.levels,
		ValidFrom:      from,
		ValidUntil:     until,
	}, nil
}

func (a *app) provision(ctx context.Context, args []string) error {
	fs, o := provisionFlags()
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("provision: unexpected argument %q", fs.Arg(0))
	}
	g, err := o.grant(a.now())
	if err != nil {
		return err
	}
	// Validate before connecting: a bad grant needs no network. The
	// levels are checked as text here and resolved at the ACS below.
	if err := acs.ValidateGrant(g, acs.Rules{}); err != nil {
		return err
	}
	p, err := a.newProvider()
	if err != nil {
		return err
	}
	defer closeProvider(p)
	levels, err := p.AccessLevels(ctx)
	if err != nil {
		return err
	}
	if g.AccessLevels, err = resolveLevels(p.Name(), levels, o.levels); err != nil {
		return err
	}
	got, err := p.Provision(ctx, g)
	if err != nil {
		return err
	}
	return a.provisioned(g, got)
}

// provisioned prints what provision made or found.
func (a *app) provisioned(g acs.Grant, got acs.Provisioned) error {
	out := struct {
		CardholderID string   `json:"cardholder_id"`
		CredentialID string   `json:"credential_id"`
		AccessLevels []string `json:"access_levels"`
		ValidFrom    string   `json:"valid_from"`
		ValidUntil   string   `json:"valid_until"`
	}{got.Cardholder.ID, got.Credential.ID, got.AccessLevels,
		g.ValidFrom.Format(time.RFC3339), g.ValidUntil.Format(time.RFC3339)}
	if out.AccessLevels == nil {
		out.AccessLevels = []string{}
	}
	verb := "found"
	if got.Created {
		verb = "provisioned"
	}
	issued := g.Card
	if !got.Credential.Card.IsZero() {
		issued = got.Credential.Card // an issuer's (a mobile ID's card number)
	}
	text := fmt.Sprintf("%s credential %s (%s) for cardholder %s (external ID %s), levels %s, %s to %s\n",
		verb, got.Credential.ID, issued, got.Cardholder.ID, g.Person.ExternalID, strings.Join(got.AccessLevels, ","),
		out.ValidFrom, out.ValidUntil)
	return a.emit(out, text)
}
