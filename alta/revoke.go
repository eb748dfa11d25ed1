package alta

import (
	"context"
	"net/http"
	"slices"

	"github.com/acsbridge/acsbridge/acs"
)

// Revoke deletes the credential, which stops it opening doors: the one
// with ref.ID and every one carrying ref.Card, on every user of the visit
// (the users with the e-mail derived from ref.CardholderExternalID, and
// ref.CardholderID), so that duplicates left by concurrent provisions from
// several processes are revoked too. It lists each user's credentials and
// deletes those. A user or credential that is gone is a success; any
// other answer to a delete is settled by asking Alta whether the
// credential is still there. Only
// credentials of the visit's users are touched, so a stale revoke retried
// after the badge went to the next visitor cannot take it away.
func (p *Provider) Revoke(ctx context.Context, ref acs.CredentialRef) error {
	const op = "revoke"
	credID, uid, raw, err := p.checkCredentialRef(op, ref)
	if err != nil {
		return err
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
	byCard := raw != ""
	if byCard && len(uids) > 0 {
		if err := p.ensureFormats(ctx, op); err != nil {
			return err
		}
	}
	for _, id := range uids {
		creds, gone, err := p.userCredentials(ctx, op, id)
		if err != nil {
			return err
		}
		if gone {
			continue
		}
		for _, c := range creds {
			if int64(c.ID) == credID || byCard && p.holdsCard(c.Card, ref.Card, raw) {
				if err := p.deleteCredential(ctx, op, id, int64(c.ID)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// visitUsers returns the IDs of the users of a visit: those with the
// e-mail derived from its external ID (when given), and uid (when not 0),
// in that order.
func (p *Provider) visitUsers(ctx context.Context, op, externalID string, uid int64) ([]int64, error) {
	var ids []int64
	if externalID != "" {
		users, err := p.findUsers(ctx, op, p.visitorEmail(externalID), false)
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			ids = append(ids, int64(u.ID))
		}
	}
	if uid != 0 && !slices.Contains(ids, uid) {
		ids = append(ids, uid)
	}
	return ids, nil
}

// checkCredentialRef parses a credential reference without any request:
// the IDs, and the card (with its raw number) when there is no credential
// ID.
func (p *Provider) checkCredentialRef(op string, ref acs.CredentialRef) (credID, uid int64, raw string, err error) {
	if ref.ID != "" {
		if credID, err = parseID(op, "credential ID", ref.ID); err != nil {
			return 0, 0, "", err
		}
	}
	if ref.CardholderID != "" {
		if uid, err = parseID(op, "cardholder ID", ref.CardholderID); err != nil {
			return 0, 0, "", err
		}
	}
	if ref.CardholderExternalID != "" {
		if err := acs.ValidateExternalID(ref.CardholderExternalID); err != nil {
			return 0, 0, "", acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
	}
	if uid == 0 && ref.CardholderExternalID == "" {
		return 0, 0, "", acs.Errorf(op, Name, acs.InvalidArgument, "credential reference has neither a cardholder ID nor an external ID")
	}
	// The card is required without a credential ID; with one, a card that
	// is not valid is not searched for.
	if err := acs.ValidateCard(ref.Card); err == nil {
		if raw, err = rawNumber(ref.Card); err != nil && credID == 0 {
			return 0, 0, "", acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
	} else if credID == 0 {
		return 0, 0, "", acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	return credID, uid, raw, nil
}

// RemoveCardholder deletes every credential of the user, then the user,
// for every user of the visit: those with the e-mail derived from
// ref.ExternalID (when given) and ref.ID. Alta's user deletion is soft (§1.3): the user disappears from the API
// but would come back, with any credential it still held, if its e-mail
// were used again, so the credentials go first. An absent user is a
// success.
func (p *Provider) RemoveCardholder(ctx context.Context, ref acs.CardholderRef) error {
	const op = "remove_cardholder"
	var uid int64
	var err error
	if ref.ID != "" {
		if uid, err = parseID(op, "cardholder ID", ref.ID); err != nil {
			return err
		}
	}
	if ref.ExternalID != "" {
		if err := acs.ValidateExternalID(ref.ExternalID); err != nil {
			return acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
	}
	if uid == 0 && ref.ExternalID == "" {
		return acs.Errorf(op, Name, acs.InvalidArgument, "cardholder reference has neither an ID nor an external ID")
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	if ref.ExternalID != "" {
		unlock, err := p.locks.Lock(ctx, "ext:"+ref.ExternalID)
		if err != nil {
			return acs.Wrap(op, Name, acs.Canceled, err)
		}
		defer unlock()
	}
	uids, err := p.visitUsers(ctx, op, ref.ExternalID, uid)
	if err != nil {
		return err
	}
	for _, id := range uids {
		if err := p.removeUser(ctx, op, id); err != nil {
			return err
		}
	}
	return nil
}

// removeUser deletes a user's credentials and then the user. A failed
// delete of the user is settled by asking whether it still exists.
func (p *Provider) removeUser(ctx context.Context, op string, uid int64) error {
	creds, gone, err := p.userCredentials(ctx, op, uid)
	if err != nil || gone {
		return err
	}
	for _, c := range creds {
		if err := p.deleteCredential(ctx, op, uid, int64(c.ID)); err != nil {
			return err
		}
	}
	resp, err := p.call(ctx, op, request{method: http.MethodDelete, path: p.org("/users/" + idSegment(uid)), idempotent: true})
	if err == nil && ok2xx(resp) {
		return nil
	}
	if err == nil {
		err = p.statusError(op, resp)
	} else if acs.CodeOf(err) == acs.Canceled {
		return err
	}
	gone, gerr := p.userGone(ctx, op, uid)
	if gerr == nil && gone {
		return nil
	}
	if gerr == nil {
		return stillThere(err, "user")
	}
	return unsettled(err, "user")
}
