package netbox

import (
	"cmp"
	"context"
	"slices"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

var _ acs.PINIssuer = (*Provider)(nil)

// PINSupport reports NetBox's person PIN: 4 to 8 digits (the notes name
// the field, not its length; 4 to 8 is the range keypads commonly take),
// with or without a card: the PIN is the person's own field.
func (p *Provider) PINSupport() acs.PINSupport {
	return acs.PINSupport{MinLen: 4, MaxLen: 8, Standalone: true}
}

// ProvisionPIN makes sure the person with PERSONID Config.PersonIDPrefix
// + g.Person.ExternalID exists with the grant's names, window (ACTDATE and
// EXPDATE) and exactly the grant's access levels, as Provision does, then
// sets its PIN with a ModifyPerson of PERSONID and PIN alone (§3.2), which
// replaces the PIN it had. NetBox does not answer the PIN back, so it is
// set on every call (the same PIN again changes nothing). The Provisioned
// credential's ID is the PERSONID (a PIN has no ID of its own). A PIN
// another person holds (CODE DUPLICATE) is a Conflict, and a person this
// call created is removed again. The PIN travels in that ModifyPerson
// only, never in a log line (acshttp.WithPINs) or an error
// (acs.RedactPIN).
func (p *Provider) ProvisionPIN(ctx context.Context, g acs.PINGrant) (acs.Provisioned, error) {
	const op = "provision_pin"
	pl, err := p.planPIN(op, g)
	if err != nil {
		return acs.Provisioned{}, acs.RedactPIN(err, g.PIN)
	}
	if err := ctx.Err(); err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	ctx = acshttp.WithPINs(ctx, g.PIN)
	unlock, err := p.locks.Lock(ctx, "person:"+pl.personID)
	if err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	res, err := p.provisionPIN(ctx, pl, g.PIN)
	return res, acs.RedactPIN(err, g.PIN)
}

// planPIN validates a PIN grant before any request and plans its person.
func (p *Provider) planPIN(op string, g acs.PINGrant) (*plan, error) {
	if err := acs.ValidatePINGrant(g, p.rules); err != nil {
		return nil, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if err := p.PINSupport().Check(g); err != nil {
		return nil, acs.Wrap(op, Name, acs.CodeOf(err), err)
	}
	return p.planPerson(op, acs.Grant{Person: g.Person, AccessLevels: g.AccessLevels, ValidFrom: g.ValidFrom, ValidUntil: g.ValidUntil})
}

// provisionPIN applies a checked plan: the person, then its PIN.
func (p *Provider) provisionPIN(ctx context.Context, pl *plan, pin acs.PIN) (acs.Provisioned, error) {
	var err error
	if pl.levels, err = p.levelNames(ctx, pl.op, pl.g.AccessLevels); err != nil {
		return acs.Provisioned{}, err
	}
	cur, err := p.getPerson(ctx, pl.op, pl.personID)
	if err != nil {
		return acs.Provisioned{}, err
	}
	created := false
	if cur == nil {
		_, created, err = p.createPerson(ctx, pl)
	} else {
		err = p.updatePerson(ctx, pl, cur)
	}
	if err == nil {
		err = p.setPIN(ctx, pl.op, pl.personID, pin.Reveal())
	}
	if err != nil {
		if created && !acs.IsRetryable(err) && acs.CodeOf(err) != acs.Canceled {
			p.undo(ctx, pl)
		}
		return acs.Provisioned{}, err
	}
	ext := pl.g.Person.ExternalID
	return acs.Provisioned{
		Cardholder:   acs.CardholderRef{ID: pl.personID, ExternalID: ext},
		Credential:   acs.CredentialRef{ID: pl.personID, CardholderID: pl.personID, CardholderExternalID: ext},
		AccessLevels: slices.Clone(pl.g.AccessLevels),
		Created:      created,
	}, nil
}

// setPIN sends ModifyPerson with PERSONID and PIN ("" clears it). A
// person that is gone is NotFound; a PIN another person holds
// (DUPLICATE) is a Conflict.
func (p *Provider) setPIN(ctx context.Context, op, personID, digits string) error {
	_, err := p.do(ctx, request{op: op, command: "ModifyPerson", idempotent: true,
		params: []param{pv("PERSONID", personID), pv("PIN", digits)}})
	if err != nil && digits != "" && acs.CodeOf(err) == acs.AlreadyExists {
		return &acs.Error{Op: op, Provider: Name, Code: acs.Conflict, Message: "the PIN is held by another NetBox person", Err: err}
	}
	if absent(err) && digits != "" {
		return acs.Errorf(op, Name, acs.Unavailable, "person %q was removed during the call; provision again", personID)
	}
	return err
}

// RevokePIN clears the PIN of the person ref.CardholderID (or ref.ID, the
// PERSONID too) names and of the person of ref.CardholderExternalID:
// ModifyPerson with PERSONID and an empty PIN. That an empty PIN clears
// it is not in the notes (see the package documentation); NetBox does not
// answer the PIN back, so the clearing cannot be read back either. An
// absent person is a success; its cards are left alone.
func (p *Provider) RevokePIN(ctx context.Context, ref acs.CredentialRef) error {
	const op = "revoke_pin"
	var ids []string
	if id := cmp.Or(ref.CardholderID, ref.ID); id != "" {
		if err := p.ownPersonID(op, id); err != nil {
			return err
		}
		ids = append(ids, id)
	}
	if ext := ref.CardholderExternalID; ext != "" {
		if err := acs.ValidateExternalID(ext); err != nil {
			return acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
		if id := p.cfg.PersonIDPrefix + ext; !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return acs.Errorf(op, Name, acs.InvalidArgument, "PIN reference has neither a cardholder ID nor an external ID")
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	for _, id := range ids {
		if err := p.clearPIN(ctx, op, id); err != nil {
			return err
		}
	}
	return nil
}

// clearPIN clears one person's PIN under the person's lock.
func (p *Provider) clearPIN(ctx context.Context, op, id string) error {
	unlock, err := p.locks.Lock(ctx, "person:"+id)
	if err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	if err := p.setPIN(ctx, op, id, ""); err != nil && !absent(err) {
		return err
	}
	return nil
}
