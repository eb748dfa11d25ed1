package alta

import (
	"context"
	"net/http"

	"github.com/acsbridge/acsbridge/acs"
)

// Revoke deletes the credential, which stops it opening doors. It finds
// the user by ref.CardholderID or, failing that, by
// ref.CardholderExternalID, and the credential among that user's by ref.ID
// or, when it is empty, by ref.Card. A user or credential that is gone is
// a success; any other answer to the delete is settled by asking Alta
// whether the credential is still there. Only a credential of that user is
// touched, so a stale revoke retried after the badge went to the next
// visitor cannot take it away.
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
		unlock, err := p.locks.lock(ctx, "ext:"+ref.CardholderExternalID)
		if err != nil {
			return acs.Wrap(op, Name, acs.Canceled, err)
		}
		defer unlock()
	}
	if uid == 0 {
		u, found, err := p.findUser(ctx, op, p.visitorEmail(ref.CardholderExternalID), false)
		if err != nil || !found {
			return err
		}
		uid = int64(u.ID)
	}
	if credID != 0 {
		return p.deleteCredential(ctx, op, uid, credID)
	}
	if err := p.ensureFormats(ctx, op); err != nil {
		return err
	}
	creds, gone, err := p.userCredentials(ctx, op, uid)
	if err != nil || gone {
		return err
	}
	for _, c := range creds {
		if p.holdsCard(c.Card, ref.Card, raw) {
			if err := p.deleteCredential(ctx, op, uid, int64(c.ID)); err != nil {
				return err
			}
		}
	}
	return nil
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
	if credID == 0 {
		if err := ref.Card.Validate(); err != nil {
			return 0, 0, "", acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
		if raw, err = rawNumber(ref.Card); err != nil {
			return 0, 0, "", acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
	}
	return credID, uid, raw, nil
}

// RemoveCardholder deletes every credential of the user, then the user.
// Alta's user deletion is soft (§1.3): the user disappears from the API
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
		unlock, err := p.locks.lock(ctx, "ext:"+ref.ExternalID)
		if err != nil {
			return acs.Wrap(op, Name, acs.Canceled, err)
		}
		defer unlock()
	}
	if uid == 0 {
		u, found, err := p.findUser(ctx, op, p.visitorEmail(ref.ExternalID), false)
		if err != nil || !found {
			return err
		}
		uid = int64(u.ID)
	}
	return p.removeUser(ctx, op, uid)
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
	return err
}
