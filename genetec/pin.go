package genetec

import (
	"context"
	"strings"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

var _ acs.PINIssuer = (*Provider)(nil)

// pinCredentialName names the keypad credential of the cardholder with
// the external ID: "PIN [external-id]". It carries the key, never the
// code, so the credential is found by name as a card's is.
func pinCredentialName(ext string) string { return "PIN " + keyToken(ext) }

// pinPlaceholder stands in for the card while a PIN grant is prepared as a
// card grant would be; it is replaced before any request.
var pinPlaceholder = acs.Card{Format: acs.H10301}

// PINSupport reports Security Center keypad credentials: PINs of 4 to 12
// digits, issued with or without a card (a keypad credential is a
// credential of its own).
func (p *Provider) PINSupport() acs.PINSupport {
	return acs.PINSupport{MinLen: 4, MaxLen: 12, Standalone: true}
}

// ProvisionPIN makes sure the cardholder exists (found or created, with
// the grant's window and groups, exactly as Provision does for a card)
// and holds one keypad credential named "PIN [external-id]" whose Format
// is KeypadCredentialFormat(<pin>) (the form the public VRFID integration
// sends), active for the grant's window. A keypad credential found with
// another code is given this one (entity=<guid>,Format=…; that the Web
// SDK sets the Format of an existing credential is assumed, as the
// simulator does). The code travels in q= of a POST, never in a log line
// (acshttp.WithPINs) or an error (acs.RedactPIN); a code another
// credential holds is a Conflict.
func (p *Provider) ProvisionPIN(ctx context.Context, g acs.PINGrant) (acs.Provisioned, error) {
	const op = "provision_pin"
	if err := ctx.Err(); err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	if err := acs.ValidatePINGrant(g, p.rules); err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if err := p.PINSupport().Check(g); err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.CodeOf(err), err)
	}
	pl, err := p.prepare(op, acs.Grant{Person: g.Person, Card: pinPlaceholder, AccessLevels: g.AccessLevels, ValidFrom: g.ValidFrom, ValidUntil: g.ValidUntil})
	if err != nil {
		return acs.Provisioned{}, acs.RedactPIN(err, g.PIN)
	}
	pl.card = acs.Card{}
	pl.credName = pinCredentialName(pl.ext)
	if pl.eCredName, err = escapeValue("credential name", pl.credName); err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	pl.format = "KeypadCredentialFormat(" + g.PIN.Reveal() + ")"
	ctx = acshttp.WithPINs(ctx, g.PIN)
	unlock, err := p.locks.Lock(ctx, "holder:"+pl.ext, "card:"+pl.credName)
	if err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	res, err := p.provision(ctx, op, pl)
	if err == nil && !res.Created {
		// The credential existed: it may carry an earlier code.
		err = p.setKeypadCode(ctx, op, res.Credential.ID, pl.format)
	}
	if err != nil {
		err = duplicateCode(acs.Wrap(op, Name, acs.Unknown, err))
		if acs.CodeOf(err) == acs.Conflict {
			p.dropBareHolders(ctx, op, pl.ext)
		}
		return acs.Provisioned{}, acs.RedactPIN(err, g.PIN)
	}
	return res, nil
}

// dropBareHolders deletes the cardholders carrying ext that hold no
// credential, after Security Center refused their PIN: a refused PIN-only
// provision leaves no cardholder behind. A failure is only logged: the
// engine's removal of the visit's cardholder (retention) takes it up.
func (p *Provider) dropBareHolders(ctx context.Context, op, ext string) {
	ids, err := p.search(ctx, op, typeCardholder, keyToken(ext))
	if err == nil && len(ids) > 0 {
		segs := make([]readSeg, len(ids))
		for i, id := range ids {
			segs[i] = readSeg{id, holderFields}
		}
		var objs map[guid]object
		if objs, _, err = p.readPresent(ctx, op, segs); err == nil {
			var bare []holderInfo
			for _, h := range keyHolders(ext, ids, objs) {
				if len(h.creds) == 0 {
					bare = append(bare, h)
				}
			}
			err = p.removeHolders(ctx, op, bare)
		}
	}
	if err != nil {
		p.log.WarnContext(ctx, "a cardholder created for a refused PIN may remain", "provider", Name, "external_id", ext, "error", err.Error())
	}
}

// setKeypadCode writes the code to an existing keypad credential.
func (p *Provider) setKeypadCode(ctx context.Context, op, credID, format string) error {
	id, ok := parseGUID(credID)
	if !ok {
		return acs.Errorf(op, Name, acs.Unknown, "the keypad credential's ID %q is not a GUID", credID)
	}
	var q qBuilder
	q.item("entity=", id.Hex())
	q.item("Format=", format)
	_, err := p.write(ctx, op, q.String())
	return err
}

// duplicateCode classifies Security Center's refusal of a keypad code
// another credential holds as a Conflict (its text says the credential
// data already exists; the SDK code alone says only InvalidOperation).
func duplicateCode(err error) error {
	ae, ok := err.(*acs.Error)
	if !ok || ae.Code != acs.InvalidArgument || !strings.Contains(strings.ToLower(err.Error()), "already exists") {
		return err
	}
	cp := *ae
	cp.Code, cp.Message = acs.Conflict, "the PIN is held by another credential"
	return &cp
}

// RevokePIN deletes the cardholder's keypad credential: with ref.ID the
// credential it names (as Revoke deletes a card's), and in any case every
// credential named "PIN [external-id]" held by a cardholder carrying
// ref.CardholderExternalID (twins included). Absent is a success.
func (p *Provider) RevokePIN(ctx context.Context, ref acs.CredentialRef) error {
	const op = "revoke_pin"
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	var id, holder guid
	var ok bool
	if ref.ID != "" {
		if id, ok = parseGUID(ref.ID); !ok {
			return acs.Errorf(op, Name, acs.InvalidArgument, "credential ID %q is not a GUID", ref.ID)
		}
	}
	if ref.CardholderID != "" {
		if holder, ok = parseGUID(ref.CardholderID); !ok {
			return acs.Errorf(op, Name, acs.InvalidArgument, "cardholder ID %q is not a GUID", ref.CardholderID)
		}
	}
	ext := ref.CardholderExternalID
	if ext == "" {
		if ref.ID == "" {
			return acs.Errorf(op, Name, acs.InvalidArgument, "PIN reference has neither an ID nor a cardholder external ID")
		}
		return p.revokeByID(ctx, op, id, holder)
	}
	if err := acs.ValidateExternalID(ext); err != nil {
		return acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	name := pinCredentialName(ext)
	unlock, err := p.locks.Lock(ctx, "holder:"+ext, "card:"+name)
	if err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	if ref.ID != "" {
		if err := p.revokeByID(ctx, op, id, holder); err != nil {
			return err
		}
	}
	return p.revokeByCard(ctx, op, holder, ext, name, id, ref.ID == "")
}
