package alta

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

var _ acs.PINIssuer = (*Provider)(nil)

// pinModel is the modelName of Alta's PIN credential type (§1.5).
const pinModel = "pincode"

// PINSupport reports Alta's pincode credential: 4 to 8 digits (the notes
// give the sub-object, pincode {number}, but no length; 4 to 8 is the
// range keypads commonly take), with or without a card: a pincode is a
// credential of its own.
func (p *Provider) PINSupport() acs.PINSupport {
	return acs.PINSupport{MinLen: 4, MaxLen: 8, Standalone: true}
}

// pinBody is the body of POST …/credentials for a PIN (§1.5).
type pinBody struct {
	CredentialTypeID int64         `json:"credentialTypeId"`
	StartDate        string        `json:"startDate"`
	EndDate          string        `json:"endDate"`
	Pincode          pincodeNumber `json:"pincode"`
}

type pincodeNumber struct {
	Number string `json:"number"`
}

// isPIN reports whether a listed credential is a pincode credential.
func (c *credJSON) isPIN() bool {
	return c.Pincode != nil || c.CredentialType != nil && c.CredentialType.ModelName == pinModel
}

// ProvisionPIN finds the visit's user (by the e-mail derived from
// g.Person.ExternalID, converging twins as Provision does) or creates it
// with the grant's window, status A and exactly the grant's groups, then
// makes it hold one pincode credential with the PIN and the grant's
// window: POST /orgs/{orgId}/users/{userId}/credentials with
// credentialTypeId (the type whose modelName is "pincode") and
// pincode {number}. A pincode credential already carrying the PIN is kept
// (its window adjusted); any other pincode credential of the user is
// deleted after the new one exists, so that a new PIN replaces the old.
// The Provisioned credential is the pincode credential. A PIN another user
// holds, refused by Alta with 409, is a Conflict. The PIN travels in that
// POST's body only; it never reaches a log line (acshttp.WithPINs) or an
// error (acs.RedactPIN).
func (p *Provider) ProvisionPIN(ctx context.Context, g acs.PINGrant) (acs.Provisioned, error) {
	const op = "provision_pin"
	r, err := p.newPINRun(op, g)
	if err != nil {
		return acs.Provisioned{}, acs.RedactPIN(err, g.PIN)
	}
	if err := ctx.Err(); err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	ctx = acshttp.WithPINs(ctx, g.PIN)
	unlock, err := p.locks.Lock(ctx, "ext:"+g.Person.ExternalID)
	if err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	res, err := r.runPIN(ctx, g.PIN)
	if err != nil {
		if refusal(err) {
			r.undo(ctx)
		}
		return acs.Provisioned{}, acs.RedactPIN(err, g.PIN)
	}
	return res, nil
}

// newPINRun checks a PIN grant without any request and returns the run
// of its user (a grant without a card).
func (p *Provider) newPINRun(op string, g acs.PINGrant) (*provisionRun, error) {
	if err := acs.ValidatePINGrant(g, p.rules); err != nil {
		return nil, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if err := p.PINSupport().Check(g); err != nil {
		return nil, acs.Wrap(op, Name, acs.CodeOf(err), err)
	}
	base := acs.Grant{Person: g.Person, AccessLevels: g.AccessLevels, ValidFrom: g.ValidFrom, ValidUntil: g.ValidUntil}
	r := &provisionRun{p: p, op: op, g: base, email: p.visitorEmail(g.Person.ExternalID),
		from: g.ValidFrom.UTC().Truncate(time.Second), to: g.ValidUntil.UTC().Truncate(time.Second)}
	for _, l := range g.AccessLevels {
		id, err := parseID(op, "access level", l)
		if err != nil {
			return nil, err
		}
		r.groups = append(r.groups, id)
	}
	if !r.to.After(r.from) {
		return nil, acs.Errorf(op, Name, acs.InvalidArgument, "validity window is shorter than the one second Alta is given")
	}
	return r, nil
}

// runPIN does the PIN provision: the user first (found, adopted or
// created, with its groups), then the pincode credential.
func (r *provisionRun) runPIN(ctx context.Context, pin acs.PIN) (acs.Provisioned, error) {
	p, op := r.p, r.op
	if err := p.ensureGroups(ctx, op, r.groups); err != nil {
		return acs.Provisioned{}, err
	}
	if _, err := p.typeID(ctx, op, pinModel); err != nil {
		return acs.Provisioned{}, err
	}
	u, created, err := r.pinUser(ctx)
	if err != nil {
		return acs.Provisioned{}, err
	}
	r.userID = int64(u.ID)
	if err := r.syncGroups(ctx, &u, !created); err != nil {
		return acs.Provisioned{}, err
	}
	credID, made, err := r.ensurePIN(ctx, int64(u.ID), pin)
	if err != nil {
		return acs.Provisioned{}, err
	}
	uid, ext := idSegment(u.ID), r.g.Person.ExternalID
	return acs.Provisioned{
		Cardholder:   acs.CardholderRef{ID: uid, ExternalID: ext},
		Credential:   acs.CredentialRef{ID: idSegment(credID), CardholderID: uid, CardholderExternalID: ext},
		AccessLevels: slices.Clone(r.g.AccessLevels),
		Created:      created || made,
	}, nil
}

// pinUser finds the visit's user (the smallest ID surviving twins) and
// makes it carry the grant, or creates it. created reports a creation by
// this call.
func (r *provisionRun) pinUser(ctx context.Context) (userJSON, bool, error) {
	users, err := r.p.findUsers(ctx, r.op, r.email, false)
	if err != nil {
		return userJSON{}, false, err
	}
	if len(users) == 0 {
		u, _, err := r.newUser(ctx)
		return u, r.createdUser != 0, err
	}
	u, err := r.converge(ctx, users)
	if err != nil {
		return userJSON{}, false, err
	}
	return u, false, r.adopt(ctx, &u, false)
}

// ensurePIN makes the user hold exactly one pincode credential, carrying
// pin and the grant's window. made reports a creation.
func (r *provisionRun) ensurePIN(ctx context.Context, uid int64, pin acs.PIN) (id int64, made bool, err error) {
	creds, gone, err := r.p.userCredentials(ctx, r.op, uid)
	if err != nil {
		return 0, false, err
	}
	if gone {
		return 0, false, acs.Errorf(r.op, Name, acs.Unavailable, "the Alta user %d disappeared during the provision; retry", uid)
	}
	var pins []credJSON
	for _, c := range creds {
		if c.isPIN() {
			pins = append(pins, c)
		}
	}
	slices.SortFunc(pins, func(a, b credJSON) int { return cmp.Compare(a.ID, b.ID) })
	keep := slices.IndexFunc(pins, func(c credJSON) bool { return c.Pincode != nil && string(c.Pincode.Number) == pin.Reveal() })
	if keep >= 0 {
		id = int64(pins[keep].ID)
		if from, to := pins[keep].window(); !from.Equal(r.from) || !to.Equal(r.to) {
			err = r.patchWindow(ctx, uid, id)
		}
	} else {
		id, err = r.createPIN(ctx, uid, pin)
		made = err == nil
	}
	if err != nil {
		return 0, false, err
	}
	for _, c := range pins {
		if int64(c.ID) != id {
			if err := r.p.deleteCredential(ctx, r.op, uid, int64(c.ID)); err != nil {
				return 0, false, err
			}
		}
	}
	return id, made, nil
}

// createPIN creates the pincode credential. A lost answer is followed by a
// look at the user's credentials before one more try.
func (r *provisionRun) createPIN(ctx context.Context, uid int64, pin acs.PIN) (int64, error) {
	p, op := r.p, r.op
	typeID, err := p.typeID(ctx, op, pinModel)
	if err != nil {
		return 0, err
	}
	body := pinBody{CredentialTypeID: typeID, StartDate: r.from.Format(wireTime), EndDate: r.to.Format(wireTime),
		Pincode: pincodeNumber{Number: pin.Reveal()}}
	path := p.org("/users/" + idSegment(uid) + "/credentials")
	var lastErr error
	for range 2 {
		resp, err := p.call(ctx, op, request{method: http.MethodPost, path: path, body: body})
		switch {
		case err != nil && !noAnswer(err):
			return 0, err
		case err != nil:
			lastErr = err
			if id, ok := r.heldPIN(ctx, uid, pin); ok {
				return id, nil
			}
			continue
		case ok2xx(resp):
			c, err := decodeData[credJSON](p, op, resp)
			if err == nil && c.ID <= 0 {
				err = acs.Errorf(op, Name, acs.Unknown, "credential created without an ID")
			}
			r.createdCred = int64(c.ID)
			return int64(c.ID), err
		case resp.Status == http.StatusConflict:
			ae, _ := p.responseError(op, resp)
			ae.Code, ae.Message = acs.Conflict, "the PIN is held by another Alta user"
			return 0, ae
		default:
			return 0, p.statusError(op, resp)
		}
	}
	return 0, lastErr
}

// heldPIN looks for a pincode credential of the user carrying pin.
func (r *provisionRun) heldPIN(ctx context.Context, uid int64, pin acs.PIN) (int64, bool) {
	creds, _, err := r.p.userCredentials(ctx, r.op, uid)
	if err != nil {
		return 0, false
	}
	for _, c := range creds {
		if c.Pincode != nil && string(c.Pincode.Number) == pin.Reveal() {
			return int64(c.ID), true
		}
	}
	return 0, false
}

// RevokePIN deletes pincode credentials (DELETE
// /orgs/{orgId}/users/{userId}/credentials/{credentialId}): the one ref.ID
// names or, without an ID, every pincode credential of every user of the
// visit (the users with the e-mail derived from
// ref.CardholderExternalID, and ref.CardholderID). Card and other
// credentials are left alone. A user or credential that is gone is a
// success.
func (p *Provider) RevokePIN(ctx context.Context, ref acs.CredentialRef) error {
	const op = "revoke_pin"
	var credID, uid int64
	var err error
	if ref.ID != "" {
		if credID, err = parseID(op, "credential ID", ref.ID); err != nil {
			return err
		}
	}
	if ref.CardholderID != "" {
		if uid, err = parseID(op, "cardholder ID", ref.CardholderID); err != nil {
			return err
		}
	}
	if ref.CardholderExternalID != "" {
		if err := acs.ValidateExternalID(ref.CardholderExternalID); err != nil {
			return acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
	} else if uid == 0 {
		return acs.Errorf(op, Name, acs.InvalidArgument, "PIN reference has neither a cardholder ID nor an external ID")
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	if ref.CardholderExternalID != "" {
		unlock, err := p.locks.Lock(ctx, "ext:"+ref.CardholderExternalID)
		if err != nil {
			return acs.Wrap(op, Name, acs.Canceled, err)
		}
		defer unlock()
	}
	uids, err := p.visitUsers(ctx, op, ref.CardholderExternalID, uid)
	if err != nil {
		return err
	}
	for _, id := range uids {
		if err := p.deletePINs(ctx, op, id, credID); err != nil {
			return err
		}
	}
	return nil
}

// deletePINs deletes the user's pincode credential credID, or every one
// when credID is 0.
func (p *Provider) deletePINs(ctx context.Context, op string, uid, credID int64) error {
	creds, gone, err := p.userCredentials(ctx, op, uid)
	if err != nil || gone {
		return err
	}
	for _, c := range creds {
		if c.isPIN() && (credID == 0 || int64(c.ID) == credID) {
			if err := p.deleteCredential(ctx, op, uid, int64(c.ID)); err != nil {
				return err
			}
		}
	}
	return nil
}
