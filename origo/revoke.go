package origo

import (
	"context"
	"slices"

	"github.com/acsbridge/acsbridge/acs"
)

// Revoke stops a credential at both systems, the door ACS first (so that a
// failure at Origo never leaves the card open with nothing left to find it
// by) and then Origo; each step succeeds when its target is already gone,
// so the call can be repeated until it succeeds.
//
// A reference Provision returned for a mobile ID (its ID starts with
// "origo:") names the door credential and the Origo credential: the card
// is revoked at the door ACS, the credential deleted at Origo, and the
// Origo user deleted with its invitations unless it holds another mobile
// ID. A reference with another ID is a door credential's and goes to the
// door ACS unchanged. A reference without an ID (the provision's answer
// was lost, or the phone never accepted) is revoked at the door ACS by
// external ID and card, and then every Origo user of the external ID is
// removed: each issued card revoked at the door ACS, each credential and
// open invitation deleted, the user deleted. That is what a sign-out
// before the phone accepted comes to: the invitation and the user go.
func (i *Issuer) Revoke(ctx context.Context, ref acs.CredentialRef) error {
	const op = "revoke"
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	m, mobile := parseCredID(ref.ID)
	switch {
	case ref.ID != "" && !mobile:
		return i.door.Revoke(ctx, ref)
	case ref.ID == "" && ref.CardholderExternalID == "":
		return acs.Errorf(op, Name, acs.InvalidArgument, "credential reference has neither an ID nor a cardholder external ID")
	}
	ext := ref.CardholderExternalID
	if ext != "" {
		if err := acs.ValidateExternalID(ext); err != nil {
			return acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
	}
	unlock, err := i.locks.Lock(ctx, lockKey(ext, m.userID))
	if err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	if !mobile {
		if err := i.door.Revoke(ctx, ref); err != nil {
			return err
		}
		return i.removeAll(ctx, op, ext, true)
	}
	dref, _ := i.DoorRef(ref)
	if err := i.door.Revoke(ctx, dref); err != nil {
		return err
	}
	return i.revokeNamed(ctx, op, ext, m)
}

// lockKey is the per-key lock of an external ID, or of an Origo user when
// a reference names no external ID.
func lockKey(ext, userID string) string {
	if ext != "" {
		return ext
	}
	return "origo-user:" + userID
}

// revokeNamed deletes the Origo credential a reference names and, unless
// the user holds another mobile ID or an open invitation, the user.
func (i *Issuer) revokeNamed(ctx context.Context, op, ext string, m mobileRef) error {
	u, found, err := i.getUser(ctx, op, m.userID)
	if err != nil {
		return err
	}
	if !found {
		i.forget(ext, m.userID)
		return nil
	}
	k := slices.IndexFunc(u.creds, func(c mobileCred) bool { return c.id == m.credentialID })
	if k >= 0 && !u.creds[k].dead() {
		if _, err := i.remove(ctx, op, "credential", m.credentialID); err != nil {
			return err
		}
		u.creds[k].status = "REVOKED"
	}
	if i.holdsOther(u, m.credentialID) {
		// A newer mobile ID of the visit lives on the same user: keep the
		// user, and make sure the named credential is gone.
		return i.confirmRevoked(ctx, op, m.userID, m.credentialID)
	}
	return i.deleteUser(ctx, op, ext, u.id)
}

// holdsOther reports whether u holds a live credential other than id, or
// an open invitation.
func (i *Issuer) holdsOther(u mobileUser, id string) bool {
	for _, c := range u.creds {
		if c.id != id && !c.dead() {
			return true
		}
	}
	return u.openInvitation(i.now()) != nil
}

// confirmRevoked asks Origo whether a credential it answered 404 (or 204)
// for is gone or revoked; it is an error while Origo still lists it live.
func (i *Issuer) confirmRevoked(ctx context.Context, op, userID, credentialID string) error {
	u, found, err := i.getUser(ctx, op, userID)
	if err != nil || !found {
		return err
	}
	for _, c := range u.creds {
		if c.id == credentialID && !c.dead() {
			return acs.Errorf(op, Name, acs.Unknown, "Origo still lists credential %s of user %s as %s after deleting it", credentialID, userID, c.status)
		}
	}
	return nil
}

// removeAll removes every Origo user with external ID ext (see
// removeFetched).
func (i *Issuer) removeAll(ctx context.Context, op, ext string, door bool) error {
	ids, err := i.searchUsers(ctx, op, ext)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := i.removeUser(ctx, op, ext, id, door); err != nil {
			return err
		}
	}
	i.waits.forget(ext)
	return nil
}

// removeUser reads an Origo user and removes it (see removeFetched); an
// absent user is a success.
func (i *Issuer) removeUser(ctx context.Context, op, ext, id string, door bool) error {
	u, found, err := i.getUser(ctx, op, id)
	if err != nil {
		return err
	}
	if !found {
		i.forget(ext, id)
		return nil
	}
	return i.removeFetched(ctx, op, ext, u, door)
}

// removeFetched removes an Origo user and everything it holds: with door,
// each card Origo issued it is first revoked at the door ACS (by external
// ID and card); then each live credential and open invitation is deleted
// (Origo does not say that deleting a user does it, §6), and the user.
func (i *Issuer) removeFetched(ctx context.Context, op, ext string, u mobileUser, door bool) error {
	for _, c := range u.creds {
		if !door || !c.hasCard || ext == "" {
			continue
		}
		if err := i.door.Revoke(ctx, acs.CredentialRef{CardholderExternalID: ext, Card: i.card(c.card)}); err != nil {
			return err
		}
	}
	for _, c := range u.creds {
		if c.dead() || c.id == "" {
			continue
		}
		if _, err := i.remove(ctx, op, "credential", c.id); err != nil {
			return err
		}
	}
	for _, v := range u.invitations {
		if v.closed(i.now()) || v.id == "" || status(v.status) == "ACKNOWLEDGED" {
			continue
		}
		if _, err := i.remove(ctx, op, "invitation", v.id); err != nil {
			return err
		}
	}
	return i.deleteUser(ctx, op, ext, u.id)
}

// deleteUser deletes an Origo user; a 404 is confirmed by reading the user.
func (i *Issuer) deleteUser(ctx context.Context, op, ext, id string) error {
	gone, err := i.remove(ctx, op, "users", id)
	if err != nil {
		return err
	}
	if gone {
		if _, found, err := i.getUser(ctx, op, id); err != nil || found {
			if err == nil {
				err = acs.Errorf(op, Name, acs.Unknown, "Origo answered 404 deleting user %s but still lists it", id)
			}
			return err
		}
	}
	i.forget(ext, id)
	return nil
}

// forget drops what the issuer remembers of an external ID (or, without
// one, of the external ID remembered for an Origo user).
func (i *Issuer) forget(ext, userID string) {
	if ext == "" {
		i.waits.mu.Lock()
		ext = i.waits.byUser[userID]
		i.waits.mu.Unlock()
	}
	if ext != "" {
		i.waits.forget(ext)
	}
}

// RemoveCardholder removes the cardholder at the door ACS and then every
// Origo user of its external ID (or the one its reference names), with
// their credentials and invitations. Absent is success.
func (i *Issuer) RemoveCardholder(ctx context.Context, ref acs.CardholderRef) error {
	const op = "remove_cardholder"
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	if ref.ID == "" && ref.ExternalID == "" {
		return acs.Errorf(op, Name, acs.InvalidArgument, "cardholder reference has neither an ID nor an external ID")
	}
	if ref.ExternalID != "" {
		if err := acs.ValidateExternalID(ref.ExternalID); err != nil {
			return acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
	}
	userID, doorID, mobile := parseHolderID(ref.ID)
	unlock, err := i.locks.Lock(ctx, lockKey(ref.ExternalID, userID))
	if err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	dref := ref
	if mobile {
		dref.ID = doorID
	}
	if dref.ID != "" || dref.ExternalID != "" {
		if err := i.door.RemoveCardholder(ctx, dref); err != nil {
			return err
		}
	}
	if mobile {
		if err := i.removeUser(ctx, op, ref.ExternalID, userID, false); err != nil {
			return err
		}
	}
	if ref.ExternalID == "" {
		return nil
	}
	return i.removeAll(ctx, op, ref.ExternalID, false)
}
