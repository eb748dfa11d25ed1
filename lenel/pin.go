package lenel

import (
	"context"
	"strconv"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

var _ acs.PINIssuer = (*Provider)(nil)

// PINSupport reports OnGuard's badge PIN: 4 to 9 digits, kept on a badge
// (Lnl_Badge.PIN), so a PIN goes with a card.
func (p *Provider) PINSupport() acs.PINSupport {
	return acs.PINSupport{MinLen: 4, MaxLen: 9, Standalone: false}
}

// ProvisionPIN sets g.PIN as the PIN of the visitor's badge for g.Card
// (PUT /instances on Lnl_Badge with BADGEKEY and PIN), after looking the
// person and the badge up as Provision does. The badge keeps its own
// window and access levels, which Provision set from the same visit; the
// PIN opens what the badge opens, at readers in a PIN mode. A visitor
// without that badge is a Conflict: provision the card first. The
// Provisioned credential is the badge (its BADGEKEY and card); Created is
// false, since nothing is created and OnGuard does not return a PIN to
// compare with. The PIN is sent in that one request's body, never logged
// (acshttp.WithPINs) nor quoted in an error (acs.RedactPIN).
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
	pr, err := p.checkGrant(op, acs.Grant{Person: g.Person, Card: g.Card, AccessLevels: g.AccessLevels, ValidFrom: g.ValidFrom, ValidUntil: g.ValidUntil})
	if err != nil {
		return acs.Provisioned{}, acs.RedactPIN(err, g.PIN)
	}
	ctx = acshttp.WithPINs(ctx, g.PIN)
	res, err := p.setPIN(ctx, pr, g.PIN)
	return res, acs.RedactPIN(err, g.PIN)
}

// setPIN looks the badge up under the person and badge locks and writes
// the PIN on it.
func (p *Provider) setPIN(ctx context.Context, pr *provisioning, pin acs.PIN) (acs.Provisioned, error) {
	unlockPerson, err := p.locks.Lock(ctx, "person:"+pr.ext)
	if err != nil {
		return acs.Provisioned{}, acs.Wrap(pr.op, Name, acs.Canceled, err)
	}
	defer unlockPerson()
	unlockBadge, err := p.locks.Lock(ctx, "badge:"+strconv.FormatInt(pr.badgeID, 10))
	if err != nil {
		return acs.Provisioned{}, acs.Wrap(pr.op, Name, acs.Canceled, err)
	}
	defer unlockBadge()
	if err := p.lookUp(ctx, pr); err != nil {
		return acs.Provisioned{}, err
	}
	if pr.person == nil || pr.own == nil {
		return acs.Provisioned{}, acs.Errorf(pr.op, Name, acs.Conflict,
			"visitor %s holds no badge for card %s: OnGuard keeps a PIN on a badge, provision the card first", pr.ext, pr.g.Card)
	}
	if err := p.modify(ctx, pr.op, "Lnl_Badge", map[string]any{"BADGEKEY": pr.own.key, "PIN": pin.Reveal()}); err != nil {
		return acs.Provisioned{}, p.refused(ctx, pr.op, "Lnl_Badge", keys{"BADGEKEY": pr.own.key}, err)
	}
	pid, bk := strconv.FormatInt(pr.personID, 10), strconv.FormatInt(pr.own.key, 10)
	return acs.Provisioned{
		Cardholder:   acs.CardholderRef{ID: pid, ExternalID: pr.ext},
		Credential:   acs.CredentialRef{ID: bk, CardholderID: pid, CardholderExternalID: pr.ext, Card: pr.g.Card},
		AccessLevels: append([]string(nil), pr.g.AccessLevels...),
	}, nil
}

// RevokePIN clears the PIN of the badge ref.ID names (when it still
// belongs to ref.CardholderID, if given), or with no ID of every badge of
// the people carrying ref.CardholderExternalID: OnGuard does not return
// PINs, so each is cleared. The badge itself stays as Provision and Revoke
// leave it. A badge or person that is gone is a success.
func (p *Provider) RevokePIN(ctx context.Context, ref acs.CredentialRef) error {
	const op = "revoke_pin"
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	if ref.ID != "" {
		key, err := parseKey(op, "credential ID", ref.ID)
		if err != nil {
			return err
		}
		var holder int64
		if ref.CardholderID != "" {
			if holder, err = parseKey(op, "cardholder ID", ref.CardholderID); err != nil {
				return err
			}
		}
		return p.clearPINs(ctx, op, eqInt("BADGEKEY", key), holder)
	}
	if err := acs.ValidateExternalID(ref.CardholderExternalID); err != nil {
		return acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if !validLiteral(ref.CardholderExternalID) {
		return acs.Wrap(op, Name, acs.InvalidArgument, errUnsafeLiteral)
	}
	people, err := p.findPeople(ctx, op, ref.CardholderExternalID)
	if err != nil || len(people) == 0 {
		return err
	}
	ids := make([]int64, len(people))
	for i, x := range people {
		ids[i] = x.id
	}
	return p.clearPINs(ctx, op, anyInt("PERSONID", ids), 0)
}

// clearPINs clears the PIN of every badge the filter lists (only of those
// of holder, when not 0). A badge deleted between the listing and the
// write is a success, once a second listing confirms it gone.
func (p *Provider) clearPINs(ctx context.Context, op, filter string, holder int64) error {
	items, err := p.badges(ctx, op, filter)
	if err != nil {
		return err
	}
	for _, it := range items {
		b, ok := it.window()
		if !ok || holder != 0 && b.personID != holder {
			continue
		}
		err := p.modify(ctx, op, "Lnl_Badge", map[string]any{"BADGEKEY": b.key, "PIN": ""})
		if err == nil {
			continue
		}
		again, lerr := p.list(ctx, op, "Lnl_Badge", eqInt("BADGEKEY", b.key))
		switch {
		case lerr != nil:
			return unsettled(err, lerr, "whether the badge still exists")
		case keys{"BADGEKEY": b.key}.in(again):
			return err
		}
	}
	return nil
}
