package netbox

import (
	"context"
	"log/slog"
	"strconv"
	"strings"

	"github.com/acsbridge/acsbridge/acs"
)

// revocation names the credential to revoke: the person, and the
// credential by CREDENTIALID or by card (format name and encoded number).
type revocation struct {
	personID        string
	credID          string
	format, encoded string
}

// revokeTarget validates ref before any network call.
func (p *Provider) revokeTarget(op string, ref acs.CredentialRef) (revocation, error) {
	var t revocation
	switch {
	case ref.CardholderID != "":
		if err := p.ownPersonID(op, ref.CardholderID); err != nil {
			return t, err
		}
		t.personID = ref.CardholderID
	case ref.CardholderExternalID != "":
		if err := acs.ValidateExternalID(ref.CardholderExternalID); err != nil {
			return t, acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
		t.personID = p.cfg.PersonIDPrefix + ref.CardholderExternalID
	default:
		return t, acs.Errorf(op, Name, acs.InvalidArgument,
			"credential reference names no cardholder: NBAPI addresses a credential under its person (PERSONID)")
	}
	t.credID = ref.ID
	if err := xmlText(t.credID); err != nil || len(t.credID) > 256 {
		return t, acs.Errorf(op, Name, acs.InvalidArgument, "credential ID is not plain text of at most 256 bytes")
	}
	if !ref.Card.IsZero() && acs.ValidateCard(ref.Card) == nil {
		if name, ok := p.cardFormatName(ref.Card); ok {
			t.format, t.encoded = name, uint10(ref.Card.Number)
		}
	}
	if t.credID == "" && t.format == "" {
		return t, acs.Errorf(op, Name, acs.InvalidArgument,
			"credential reference has neither a credential ID nor a card of a known NetBox card format")
	}
	return t, nil
}

// ownPersonID refuses a PERSONID this SDK would not have written (without
// Config.PersonIDPrefix, or not XML text): Revoke and RemoveCardholder
// never touch people entered by hand, whatever reference they are given.
func (p *Provider) ownPersonID(op, id string) error {
	ext, ok := strings.CutPrefix(id, p.cfg.PersonIDPrefix)
	if !ok || acs.ValidateExternalID(ext) != nil {
		return acs.Errorf(op, Name, acs.InvalidArgument,
			"cardholder ID %.80q is not a PERSONID this provider writes (%q followed by an external ID)", id, p.cfg.PersonIDPrefix)
	}
	return nil
}

// cardFormatName is the NetBox card format a card without a
// CredentialType is provisioned with (see formatFor).
func (p *Provider) cardFormatName(c acs.Card) (string, bool) {
	for _, l := range p.cfg.Layouts {
		if l.Format == c.Format && l.Facility == c.Facility {
			return l.Name, true
		}
	}
	if l, ok := p.layoutByName(p.cfg.CardFormat); ok && (l.Format != c.Format || l.Facility != c.Facility) {
		return "", false
	}
	return p.cfg.CardFormat, p.cfg.CardFormat != ""
}

// Revoke disables the person's credential (ModifyCredential DISABLED 1),
// keeping its record for the audit trail; the next visitor's Provision of
// the same card removes the record. The credential is the one with ref.ID
// (CREDENTIALID) and every credential of ref.Card, among the credentials
// of the person ref.CardholderID, else the person of
// ref.CardholderExternalID: so a stale revoke retried after the badge went
// to another person cannot take it away. A person or credential that does
// not exist, or one already disabled, is a success; so is one that
// disappears during the call, whatever the controller answers then. A
// cardholder ID without Config.PersonIDPrefix is refused (InvalidArgument):
// people entered by hand are never touched.
func (p *Provider) Revoke(ctx context.Context, ref acs.CredentialRef) error {
	const op = "revoke"
	t, err := p.revokeTarget(op, ref)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	unlock, err := p.locks.Lock(ctx, "person:"+t.personID)
	if err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	cur, err := p.getPerson(ctx, op, t.personID)
	if err != nil || cur == nil {
		return err
	}
	for _, c := range cur.cards {
		byID := t.credID != "" && c.id == t.credID
		byCard := t.format != "" && c.format == t.format && sameNumber(c.encoded, t.encoded)
		if (byID || byCard) && !c.disabled {
			if err := p.setDisabled(ctx, op, t.personID, c, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// RemoveCardholder removes the person ref.ID and the person of
// ref.ExternalID: RemovePerson (NetBox's soft delete, which ends access),
// then ModifyPerson PERSONPURGE so that no name of the visitor stays at the
// controller, and GetPerson to check the record is gone. With
// Config.KeepDeleted it stops at the soft delete, after disabling the
// person's credentials. An absent person is a success; a cardholder ID
// without Config.PersonIDPrefix is refused (InvalidArgument).
func (p *Provider) RemoveCardholder(ctx context.Context, ref acs.CardholderRef) error {
	const op = "remove_cardholder"
	var ids []string
	if ref.ID != "" {
		if err := p.ownPersonID(op, ref.ID); err != nil {
			return err
		}
		ids = append(ids, ref.ID)
	}
	if ref.ExternalID != "" {
		if err := acs.ValidateExternalID(ref.ExternalID); err != nil {
			return acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
		if id := p.cfg.PersonIDPrefix + ref.ExternalID; id != ref.ID {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return acs.Errorf(op, Name, acs.InvalidArgument, "cardholder reference has neither an ID nor an external ID")
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	for _, id := range ids {
		if err := p.removePersonLocked(ctx, op, id); err != nil {
			return err
		}
	}
	return nil
}

func (p *Provider) removePersonLocked(ctx context.Context, op, id string) error {
	unlock, err := p.locks.Lock(ctx, "person:"+id)
	if err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	cur, err := p.getPerson(ctx, op, id)
	if err != nil || cur == nil {
		return err
	}
	if p.cfg.KeepDeleted {
		return p.softDelete(ctx, op, cur)
	}
	return p.purgePerson(ctx, op, cur)
}

// softDelete disables the person's credentials and sends RemovePerson.
func (p *Provider) softDelete(ctx context.Context, op string, cur *personRec) error {
	for _, c := range cur.cards {
		if !c.disabled {
			if err := p.setDisabled(ctx, op, cur.id, c, true); err != nil {
				return err
			}
		}
	}
	if cur.deleted {
		return nil
	}
	return p.personWrite(ctx, op, cur.id, "RemovePerson", nil, func(r *personRec) bool { return r.deleted })
}

// purgePerson soft-deletes the person, purges the record and checks that
// it is gone.
func (p *Provider) purgePerson(ctx context.Context, op string, cur *personRec) error {
	if !cur.deleted {
		if err := p.personWrite(ctx, op, cur.id, "RemovePerson", nil, func(r *personRec) bool { return r.deleted }); err != nil {
			return err
		}
	}
	purge := []param{pv("PERSONPURGE", "TRUE")}
	if err := p.personWrite(ctx, op, cur.id, "ModifyPerson", purge, func(*personRec) bool { return false }); err != nil {
		return err
	}
	left, err := p.getPerson(ctx, op, cur.id)
	switch {
	case err != nil:
		return err
	case left != nil:
		return acs.Errorf(op, Name, acs.Unknown, "the controller acknowledged purging person %q, but still holds the record", cur.id)
	}
	return nil
}

// personWrite sends a command about one person and, when the answer is an
// error, asks the controller: the person gone, or done(person) true, is
// success; otherwise the error stands (a NotFound as Unknown, the person
// being there; see unconfirmed when asking fails).
func (p *Provider) personWrite(ctx context.Context, op, id, command string, extra []param, done func(*personRec) bool) error {
	params := append([]param{pv("PERSONID", id)}, extra...)
	_, err := p.do(ctx, request{op: op, command: command, params: params, idempotent: true})
	if err == nil || acs.CodeOf(err) == acs.Canceled {
		return err
	}
	r, lerr := p.getPerson(ctx, op, id)
	switch {
	case lerr != nil && (acs.IsRetryable(lerr) || acs.CodeOf(lerr) == acs.Canceled):
		return lerr
	case lerr != nil:
		return unconfirmed(err)
	case r == nil || done(r):
		return nil
	}
	return notGone(err)
}

// undo removes the person a refused provision created, so that the
// refusal leaves nothing behind, even when the caller's context ended.
func (p *Provider) undo(ctx context.Context, pl *plan) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	err := p.purgePerson(ctx, pl.op, &personRec{id: pl.personID})
	if err != nil {
		p.log.LogAttrs(ctx, slog.LevelWarn, "netbox could not remove the person a refused provision created",
			slog.String("person", pl.personID), slog.String("error", err.Error()))
	}
}

func uint10(n uint64) string { return strconv.FormatUint(n, 10) }
