package brivo

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

var _ acs.PINIssuer = (*Provider)(nil)

// PINSupport reports Brivo's user PIN: 4 to 8 digits (the documented
// sample is 4; an account sets its PIN length), with or without a card.
func (p *Provider) PINSupport() acs.PINSupport {
	return acs.PINSupport{MinLen: 4, MaxLen: 8, Standalone: true}
}

// pinJSON is the body of PATCH /users/{id} that sets or removes a PIN. A
// nil Pin is sent as null: the PIN is removed.
type pinJSON struct {
	Pin           *string `json:"pin"`
	EffectiveFrom string  `json:"effectiveFrom,omitempty"`
	EffectiveTo   string  `json:"effectiveTo,omitempty"`
}

// ProvisionPIN finds the user with g.Person.ExternalID (converging twins,
// as Provision does) or creates it, sets its PIN with the grant's window
// (PATCH /users/{id} with pin, effectiveFrom and effectiveTo: Brivo keeps
// one PIN on the user, "effectiveFrom/effectiveTo (validity of the user's
// PIN)"), and gives the user exactly the grant's groups. The PIN opens
// those groups' doors at keypad readers. The Provisioned credential's ID
// is the user's (the PIN has no ID of its own). A PIN another user holds
// is a Conflict. The PIN travels in that PATCH's body only, never in a log
// line (acshttp.WithPINs) or an error (acs.RedactPIN).
func (p *Provider) ProvisionPIN(ctx context.Context, g acs.PINGrant) (acs.Provisioned, error) {
	const op = "provision_pin"
	pv, err := p.pinPlan(op, g)
	if err != nil {
		return acs.Provisioned{}, acs.RedactPIN(err, g.PIN)
	}
	if err := ctx.Err(); err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	ctx = acshttp.WithPINs(ctx, g.PIN)
	unlock, err := p.locks.Lock(ctx, g.Person.ExternalID)
	if err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	if err := p.ensureGroups(ctx, op, pv.groups); err != nil {
		return acs.Provisioned{}, acs.RedactPIN(err, g.PIN)
	}
	for attempt := 1; ; attempt++ {
		res, err := p.provisionPINOnce(ctx, op, pv, g.PIN)
		if err == nil {
			return res, nil
		}
		fw := asFailedAfterWrite(err)
		switch {
		case ctx.Err() != nil:
			return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, ctx.Err())
		case fw != nil && attempt == maxProvisionAttempts:
			return acs.Provisioned{}, acs.RedactPIN(fw.err, g.PIN)
		case errors.Is(err, errLookAgain) && attempt == maxProvisionAttempts:
			return acs.Provisioned{}, acs.Errorf(op, Name, acs.Unavailable,
				"the users carrying external ID %q kept changing while provisioning; try again", g.Person.ExternalID)
		case fw == nil && !errors.Is(err, errLookAgain):
			return acs.Provisioned{}, acs.RedactPIN(err, g.PIN)
		}
		p.log.LogAttrs(ctx, slog.LevelInfo, "brivo: PIN provision looks again after meeting a concurrent provision of the same visit, or a failure after a write",
			slog.String("provider", Name), slog.String("external_id", g.Person.ExternalID), slog.Int("attempt", attempt),
			slog.String("error", p.redact(err.Error())))
	}
}

// pinPlan validates g before any request and returns the plan of its
// user: the grant without a card, the groups and the PIN's window.
func (p *Provider) pinPlan(op string, g acs.PINGrant) (*provisionPlan, error) {
	if err := acs.ValidatePINGrant(g, p.rules); err != nil {
		return nil, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if err := p.PINSupport().Check(g); err != nil {
		return nil, acs.Wrap(op, Name, acs.CodeOf(err), err)
	}
	extSeg, err := externalSegment(op, g.Person.ExternalID)
	if err != nil {
		return nil, err
	}
	groups := make([]int64, len(g.AccessLevels))
	for i, l := range g.AccessLevels {
		if groups[i], err = parseID(op, "access level", l); err != nil {
			return nil, err
		}
	}
	from, to := g.ValidFrom.UTC().Truncate(time.Second), g.ValidUntil.UTC().Truncate(time.Second)
	if !to.After(from) {
		return nil, acs.Errorf(op, Name, acs.InvalidArgument, "validity window is shorter than the one second Brivo can express")
	}
	base := acs.Grant{Person: g.Person, AccessLevels: g.AccessLevels, ValidFrom: g.ValidFrom, ValidUntil: g.ValidUntil}
	return &provisionPlan{g: base, extSeg: extSeg, groups: groups, from: from, to: to}, nil
}

// provisionPINOnce is one look at Brivo for a PIN: find the user
// (converging twins) or create it, then set the PIN and the groups.
func (p *Provider) provisionPINOnce(ctx context.Context, op string, pv *provisionPlan, pin acs.PIN) (_ acs.Provisioned, err error) {
	var a attempt
	defer func() {
		if err != nil && !errors.Is(err, errLookAgain) && (a.wrote && uncertain(err) || pv.unchecked && (uncertain(err) || acs.IsRetryable(err))) {
			err = &failedAfterWrite{err}
		}
	}()
	for _, step := range []func(context.Context, string, *provisionPlan, *attempt) error{p.findHolder, p.ensureUser} {
		if err := step(ctx, op, pv, &a); err != nil {
			return acs.Provisioned{}, err
		}
	}
	a.wrote = true
	d := pin.Reveal()
	if err := p.patchPIN(ctx, op, a.u.ID, pinJSON{Pin: &d, EffectiveFrom: pv.from.Format(wireTime), EffectiveTo: pv.to.Format(wireTime)}); err != nil {
		return acs.Provisioned{}, err
	}
	if err := p.syncGroups(ctx, op, a.u.ID, pv.groups, a.found); err != nil {
		return acs.Provisioned{}, err
	}
	ext, uid := pv.g.Person.ExternalID, idSegment(a.u.ID)
	return acs.Provisioned{
		Cardholder:   acs.CardholderRef{ID: uid, ExternalID: ext},
		Credential:   acs.CredentialRef{ID: uid, CardholderID: uid, CardholderExternalID: ext},
		AccessLevels: append([]string(nil), pv.g.AccessLevels...),
		Created:      a.created,
	}, nil
}

// patchPIN sends PATCH /users/{uid} with body. A user gone meanwhile is
// NotFound; a PIN another user holds (Brivo answers 400 saying it is in
// use) is a Conflict.
func (p *Provider) patchPIN(ctx context.Context, op string, uid int64, body pinJSON) error {
	resp, err := p.call(ctx, op, request{method: http.MethodPatch, path: idPath("/users/", uid, ""), body: body, idempotent: true})
	if err != nil {
		return err
	}
	if ok2xx(resp) {
		return nil
	}
	ae, ve := p.responseError(op, resp)
	if resp.Status == http.StatusBadRequest && body.Pin != nil && strings.Contains(strings.ToLower(ve.Message), "in use") {
		ae.Code, ae.Message = acs.Conflict, "the PIN is held by another user"
	}
	return ae
}

// RevokePIN removes the PIN of the user ref.CardholderID names (ref.ID
// names the user too) and of every user carrying
// ref.CardholderExternalID (twins included): PATCH /users/{id} with
// "pin": null, then GET /users/{id} to check that Brivo holds no PIN for
// it any more (how Brivo answers a null PIN is not documented; the
// answer of the read is what counts). A user that is gone is a success.
func (p *Provider) RevokePIN(ctx context.Context, ref acs.CredentialRef) error {
	const op = "revoke_pin"
	var uids []int64
	if id := cmp.Or(ref.CardholderID, ref.ID); id != "" {
		uid, err := parseID(op, "cardholder ID", id)
		if err != nil {
			return err
		}
		uids = append(uids, uid)
	}
	ext := ref.CardholderExternalID
	if ext != "" {
		if _, err := externalSegment(op, ext); err != nil {
			return err
		}
	} else if len(uids) == 0 {
		return acs.Errorf(op, Name, acs.InvalidArgument, "PIN reference has neither a cardholder ID nor an external ID")
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	if ext != "" {
		unlock, err := p.locks.Lock(ctx, ext)
		if err != nil {
			return acs.Wrap(op, Name, acs.Canceled, err)
		}
		defer unlock()
		twins, err := p.twinsOf(ctx, op, ext)
		if err != nil {
			return err
		}
		for _, u := range twins {
			uids = append(uids, u.ID)
		}
	}
	slices.Sort(uids)
	for _, uid := range slices.Compact(uids) {
		if err := p.clearPIN(ctx, op, uid); err != nil {
			return err
		}
	}
	return nil
}

// clearPIN removes user uid's PIN and checks that it is gone.
func (p *Provider) clearPIN(ctx context.Context, op string, uid int64) error {
	err := p.patchPIN(ctx, op, uid, pinJSON{})
	held, gone, rerr := p.userHoldsPIN(ctx, op, uid)
	switch {
	case rerr != nil:
		return cmp.Or(err, rerr)
	case gone || !held:
		return nil
	case err != nil:
		return err
	}
	return acs.Errorf(op, Name, acs.Unknown, "Brivo still holds a PIN for user %d after it was removed", uid)
}

// userHoldsPIN reads the user and reports whether it has a PIN (its value
// is not kept), or that the user is gone.
func (p *Provider) userHoldsPIN(ctx context.Context, op string, uid int64) (held, gone bool, err error) {
	resp, err := p.call(ctx, op, request{method: http.MethodGet, path: idPath("/users/", uid, ""), idempotent: true})
	if err != nil {
		return false, false, err
	}
	if brivoNotFound(resp) {
		return false, true, nil
	}
	if !ok2xx(resp) {
		return false, false, p.statusError(op, resp)
	}
	var u struct {
		Pin *string `json:"pin"`
	}
	if err := json.Unmarshal(resp.Body, &u); err != nil {
		return false, false, acs.Errorf(op, Name, acs.Unknown, "reading user %d: the answer is not a user", uid)
	}
	return u.Pin != nil && *u.Pin != "", false, nil
}
