package verkada

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

var _ acs.PINIssuer = (*Provider)(nil)

// entryCodePath is the access user's entry code (§2.3).
const entryCodePath = "/access/v1/access_users/user/entry_code"

// PINSupport reports Verkada's entry code: 4 to 8 digits (the notes give
// no length; 4 to 8 is the range keypads commonly take), with or without
// a card: the code is the access user's own.
func (p *Provider) PINSupport() acs.PINSupport {
	return acs.PINSupport{MinLen: 4, MaxLen: 8, Standalone: true}
}

// ProvisionPIN finds the Verkada user with g.Person.ExternalID or creates
// it (as Provision does, converging on the smallest user ID should a
// concurrent creation have made a second), sets its start and end dates
// to the grant's window and its access groups to exactly the grant's,
// then sets its entry code: PUT /access/v1/access_users/user/entry_code
// ?user_id=… {"entry_code":"…"}, which replaces the code the user had.
// A user already carrying the code is not written again. The Provisioned
// credential's ID is the user's (an entry code has no ID of its own). A
// code another user holds is a Conflict. The code travels in that PUT's
// body only, never in a log line (acshttp.WithPINs) or an error
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
	unlock, err := p.locks.Lock(ctx, pl.person.ExternalID)
	if err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	if err := p.ensureGroups(ctx, op, pl.levels); err != nil {
		return acs.Provisioned{}, acs.RedactPIN(err, g.PIN)
	}
	for range maxRounds {
		res, again, err := p.pinRound(ctx, op, pl, g.PIN)
		if !again {
			return res, acs.RedactPIN(err, g.PIN)
		}
	}
	return acs.Provisioned{}, acs.Errorf(op, Name, acs.Unavailable,
		"users of external ID %q kept changing during the provision; retry", pl.person.ExternalID)
}

// planPIN validates a PIN grant before any request and returns the plan
// of its user (a plan without a card).
func (p *Provider) planPIN(op string, g acs.PINGrant) (plan, error) {
	if err := acs.ValidatePINGrant(g, p.rules); err != nil {
		return plan{}, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if err := p.PINSupport().Check(g); err != nil {
		return plan{}, acs.Wrap(op, Name, acs.CodeOf(err), err)
	}
	for _, l := range g.AccessLevels {
		if err := checkID(op, "access level", l); err != nil {
			return plan{}, err
		}
	}
	pl := plan{person: g.Person, levels: slices.Clone(g.AccessLevels)}
	pl.from, pl.to = time.Unix(g.ValidFrom.Unix(), 0).UTC(), time.Unix(g.ValidUntil.Unix(), 0).UTC()
	if !pl.to.After(pl.from) {
		return plan{}, acs.Errorf(op, Name, acs.InvalidArgument, "validity window is shorter than the one second Verkada can express")
	}
	return pl, nil
}

// pinRound is one pass of a PIN provision: look up or create the user
// (looking again after a creation; again reports that duplicates
// converged on another user and the pass must run again), then the
// window, the groups and the entry code. A refusal undoes a user this
// pass created.
func (p *Provider) pinRound(ctx context.Context, op string, pl plan, pin acs.PIN) (res acs.Provisioned, again bool, err error) {
	ext := pl.person.ExternalID
	au, found, err := p.findAccessUser(ctx, op, "external_id", ext)
	if err != nil {
		return acs.Provisioned{}, false, err
	}
	var m made
	if !found {
		if au, m.user, err = p.createUser(ctx, op, pl); err != nil {
			return acs.Provisioned{}, false, err
		}
		m.userID = string(au.UserID)
		if again, err = p.pinLookAgain(ctx, op, ext, m.userID); again || err != nil {
			return acs.Provisioned{}, again, err
		}
	}
	set := string(au.EntryCode) != pin.Reveal()
	err = p.ensureWindow(ctx, op, au, pl)
	if err == nil {
		err = p.syncGroups(ctx, op, au, pl.levels)
	}
	if err == nil && set {
		err = p.putEntryCode(ctx, op, string(au.UserID), pin)
	}
	if err != nil {
		p.undo(ctx, op, err, m)
		return acs.Provisioned{}, false, err
	}
	uid := string(au.UserID)
	return acs.Provisioned{
		Cardholder:   acs.CardholderRef{ID: uid, ExternalID: ext},
		Credential:   acs.CredentialRef{ID: uid, CardholderID: uid, CardholderExternalID: ext},
		AccessLevels: slices.Clone(pl.levels),
		Created:      m.user || set,
	}, false, nil
}

// pinLookAgain is the look taken right after this call created user uid:
// when the external ID answers another user, the users of the external
// ID converge on the smallest ID, and again reports that uid lost.
func (p *Provider) pinLookAgain(ctx context.Context, op, ext, uid string) (again bool, err error) {
	now, found, err := p.findAccessUser(ctx, op, "external_id", ext)
	if err != nil || !found || string(now.UserID) == uid {
		return false, err
	}
	survivor, err := p.convergeUsers(ctx, op, ext, uid, string(now.UserID))
	return err == nil && survivor != uid, err
}

// putEntryCode sets the user's entry code. A code another user holds
// (Verkada's answer is not documented: a 409, or a 400 saying the code is
// in use or already taken) is a Conflict.
func (p *Provider) putEntryCode(ctx context.Context, op, uid string, pin acs.PIN) error {
	resp, err := p.call(ctx, op, request{method: http.MethodPut, path: entryCodePath,
		query: url.Values{"user_id": {uid}}, body: map[string]string{"entry_code": pin.Reveal()}, idempotent: true})
	if err != nil {
		return err
	}
	switch {
	case ok2xx(resp):
		return nil
	case resp.Status == http.StatusNotFound:
		return acs.Errorf(op, Name, acs.Unavailable, "the Verkada user disappeared during the provision; retry")
	}
	ae, ve := p.responseError(op, resp)
	msg := strings.ToLower(ve.Message)
	if resp.Status == http.StatusConflict || resp.Status == http.StatusBadRequest && (strings.Contains(msg, "in use") || strings.Contains(msg, "already")) {
		ae.Code, ae.Message = acs.Conflict, "the entry code is held by another Verkada user"
	}
	return ae
}

// RevokePIN removes the entry code (DELETE
// /access/v1/access_users/user/entry_code?user_id=…) of every user of the
// visit: the one ref.CardholderID (or ref.ID, the user's ID too) names,
// and those ref.CardholderExternalID answers. The DELETE is sent whether
// or not the user shows a code, so that nothing rests on the access-user
// object listing it; a user that is gone is a success, and any other
// answer but a refusal of the key is settled by reading the user back.
// Cards are left alone.
func (p *Provider) RevokePIN(ctx context.Context, ref acs.CredentialRef) error {
	const op = "revoke_pin"
	uid := cmp.Or(ref.CardholderID, ref.ID)
	if uid != "" {
		if err := checkID(op, "cardholder ID", uid); err != nil {
			return err
		}
	}
	ext := ref.CardholderExternalID
	if ext != "" {
		if err := acs.ValidateExternalID(ext); err != nil {
			return acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
	} else if uid == "" {
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
	}
	users, err := p.visitUsers(ctx, op, ext, uid)
	if err != nil {
		return err
	}
	for _, au := range users {
		if err := p.clearEntryCode(ctx, op, string(au.UserID)); err != nil {
			return err
		}
	}
	return nil
}

// clearEntryCode deletes a user's entry code and settles an error answer
// by reading the user: gone, or showing no code, is a success.
func (p *Provider) clearEntryCode(ctx context.Context, op, uid string) error {
	resp, err := p.call(ctx, op, request{method: http.MethodDelete, path: entryCodePath,
		query: url.Values{"user_id": {uid}}, idempotent: true})
	if err != nil {
		return err
	}
	if ok2xx(resp) {
		return nil
	}
	if !askable(resp) {
		return p.statusError(op, resp)
	}
	au, found, ferr := p.findAccessUser(ctx, op, "user_id", uid)
	if ferr != nil {
		return ferr
	}
	if !found || au.EntryCode == "" {
		return nil
	}
	return p.statusError(op, resp)
}
