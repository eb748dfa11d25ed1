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

// cardFormat reads a card format by its command-line name (see
// wiegandFormats).
func cardFormat(name string) (acs.CardFormat, error) {
	f, ok := wiegandFormats[strings.ToLower(name)]
	if !ok {
		return 0, usagef("unknown format %q; want h10301, h10306, h10302, h10304, c1k35 or c1k48", name)
	}
	return f, nil
}

// closeProvider releases what a provider holds (a Lenel session).
func closeProvider(p acs.Provider) {
	if c, ok := p.(acs.Closer); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	}
}

func (a *app) ping(ctx context.Context, args []string) error {
	fs := newFlagSet("ping")
	if err := parse(fs, args); err != nil {
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
	fs := newFlagSet("sync")
	if err := parse(fs, args); err != nil {
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

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func (a *app) provision(ctx context.Context, args []string) error {
	fs := newFlagSet("provision")
	var (
		first, last, email, externalID string
		facility, card                 string
		format, badgeType              string
		from, until                    string
		levels                         stringList
	)
	fs.StringVar(&first, "first-name", "", "first name")
	fs.StringVar(&last, "last-name", "", "last name")
	fs.StringVar(&email, "email", "", "e-mail address")
	fs.StringVar(&externalID, "external-id", "", "the caller's key; re-running with it creates no duplicates")
	fs.StringVar(&facility, "facility-code", "", "facility code")
	fs.StringVar(&card, "card-number", "", "card number")
	fs.StringVar(&format, "format", "h10301", "card format")
	fs.Var(&levels, "access-level", "access level ID (repeatable)")
	fs.StringVar(&badgeType, "badge-type", "", "credential format or badge type ID")
	fs.StringVar(&from, "valid-from", "", "start of the window (RFC 3339)")
	fs.StringVar(&until, "valid-until", "", "end of the window (RFC 3339)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("provision: unexpected argument %q", fs.Arg(0))
	}
	f, err := cardFormat(format)
	if err != nil {
		return err
	}
	if card == "" {
		return usagef("provision: --card-number is required")
	}
	cn, err := strconv.ParseUint(card, 10, 64)
	if err != nil {
		return usagef("provision: --card-number %q is not a non-negative integer", card)
	}
	var fc uint64
	if facility != "" {
		if fc, err = strconv.ParseUint(facility, 10, 64); err != nil {
			return usagef("provision: --facility-code %q is not a non-negative integer", facility)
		}
	} else if _, has := f.MaxFacility(); has {
		return usagef("provision: --facility-code is required for %s", format)
	}
	if len(levels) == 0 {
		return usagef("provision: at least one --access-level is required")
	}
	validFrom, err := parseTime("valid-from", from)
	if err != nil {
		return err
	}
	validUntil, err := parseTime("valid-until", until)
	if err != nil {
		return err
	}
	if externalID == "" {
		externalID = "acsctl-" + uuid.NewString()
	}
	g := acs.Grant{
		Person:         acs.Person{ExternalID: externalID, FirstName: first, LastName: last, Email: email},
		Card:           acs.Card{Format: f, Facility: fc, Number: cn},
		CredentialType: badgeType,
		AccessLevels:   levels,
		ValidFrom:      validFrom,
		ValidUntil:     validUntil,
	}
	// Validate before connecting: a bad grant needs no network.
	if err := acs.ValidateGrant(g, acs.Rules{}); err != nil {
		return err
	}
	p, err := a.newProvider()
	if err != nil {
		return err
	}
	defer closeProvider(p)
	got, err := p.Provision(ctx, g)
	if err != nil {
		return err
	}
	out := struct {
		CardholderID string   `json:"cardholder_id"`
		CredentialID string   `json:"credential_id"`
		AccessLevels []string `json:"access_levels"`
		ValidFrom    string   `json:"valid_from"`
		ValidUntil   string   `json:"valid_until"`
	}{got.Cardholder.ID, got.Credential.ID, got.AccessLevels,
		validFrom.Format(time.RFC3339), validUntil.Format(time.RFC3339)}
	if out.AccessLevels == nil {
		out.AccessLevels = []string{}
	}
	verb := "found"
	if got.Created {
		verb = "provisioned"
	}
	text := fmt.Sprintf("%s credential %s (%s) for cardholder %s (external ID %s), levels %s, %s to %s\n",
		verb, got.Credential.ID, g.Card, got.Cardholder.ID, externalID, strings.Join(got.AccessLevels, ","),
		out.ValidFrom, out.ValidUntil)
	return a.emit(out, text)
}

func parseTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, usagef("provision: --%s is required", name)
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, usagef("provision: --%s %q is not an RFC 3339 time such as 2026-11-22T09:00:00Z", name, v)
	}
	return t, nil
}

func (a *app) revoke(ctx context.Context, args []string) error {
	fs := newFlagSet("revoke")
	var credentialID, cardholderID string
	fs.StringVar(&credentialID, "credential-id", "", "credential ID")
	fs.StringVar(&cardholderID, "cardholder-id", "", "cardholder ID (required for alta, verkada and netbox)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if credentialID == "" {
		return usagef("revoke: --credential-id is required")
	}
	if e, err := a.entry(); err == nil && !e.RevokeByCredentialID && cardholderID == "" {
		return usagef("revoke: --cardholder-id is required for %s (the cardholder_id provision printed)", e.Name)
	}
	p, err := a.newProvider()
	if err != nil {
		return err
	}
	defer closeProvider(p)
	if err := p.Revoke(ctx, acs.CredentialRef{ID: credentialID, CardholderID: cardholderID}); err != nil {
		return err
	}
	return a.emit(struct {
		Revoked      bool   `json:"revoked"`
		CredentialID string `json:"credential_id"`
	}{true, credentialID}, fmt.Sprintf("revoked credential %s\n", credentialID))
}
