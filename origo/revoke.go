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
// is revoked at the door ACS, and then the whole visit at Origo (below).
// A reference with another ID is a door credential's and goes to the door
// ACS unchanged. A reference without an ID (the provision's answer was
// lost, or the phone never accepted) is revoked at the door ACS by
// external ID and card, and then the whole visit at Origo.
//
// Revoking the visit at Origo reaches everything the visit holds there,
// whatever reference the caller kept: every Origo user of the external ID
// (and the one the reference names) is read, every card Origo issued to
// any of them is revoked at the door ACS (by external ID and card), and
// only then are their credentials, open invitations and the users deleted.
// Two replicas that raced can leave a visit with two users or two mobile
// IDs; none of their cards outlives the revocation. That is also what a
// sign-out before the phone accepted comes to: the invitation and the
// user go.
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
		return i.revokeVisit(ctx, op, ext, "")
	}
	dref, _ := i.DoorRef(ref)
	if err := i.door.Revoke(ctx, dref); err != nil {
		return err
	}
	if ext == "" {
		return i.revokeByUser(ctx, op, m)
	}
	return i.revokeVisit(ctx, op, ext, m.userID)
}

// lockKey is the per-key lock of an external ID, or of an Origo user when
// a reference names no external ID.
func lockKey(ext, userID string) string {
	if ext != "" {
		return ext
	}
	return "origo-user:" + userID
}

// revokeVisit revokes everything the visit ext holds: the Origo users a
// search finds, and userID (the one a reference names) when the search
// does not list it, are read; every card Origo issued any of them is
// revoked at the door ACS; then each user is deleted with its credentials
// and open invitations. Nothing is deleted at Origo before every card is
// revoked at the door, so a failure halfway leaves every credential that
// names a live card for the retry to find.
func (i *Issuer) revokeVisit(ctx context.Context, op, ext, userID string) error {
	ids, err := i.searchUsers(ctx, op, ext)
	if err != nil {
		return err
	}
	if userID != "" && !slices.Contains(ids, userID) {
		ids = append(ids, userID)
	}
	var users []mobileUser
	for _, id := range ids {
		u, found, err := i.getUser(ctx, op, id)
		if err != nil {
			return err
		}
		if found {
			users = append(users, u)
		}
	}
	for _, u := range users {
		if err := i.revokeCards(ctx, ext, u); err != nil {
			return err
		}
	}
	for _, u := range users {
		if err := i.removeFetched(ctx, op, ext, u, false); err != nil {
			return err
		}
	}
	i.waits.forget(ext)
	return nil
}

// revokeByUser revokes at Origo the visit of a reference that names an
// Origo user but no external ID: the user's own externalId, as Origo
// lists it, stands for it. A user Origo lists without one is removed
// alone; its cards cannot be found at the door without an external ID.
func (i *Issuer) revokeByUser(ctx context.Context, op string, m mobileRef) error {
	u, found, err := i.getUser(ctx, op, m.userID)
	if err != nil {
		return err
	}
	if !found {
		i.forget("", m.userID)
		return nil
	}
	if acs.ValidateExternalID(u.ext) == nil {
		return i.revokeVisit(ctx, op, u.ext, m.userID)
	}
	return i.removeFetched(ctx, op, "", u, false)
}

// revokeCards revokes at the door ACS, by external ID and card, every card
// Origo issued to u, live or not (a credential revoked at Origo may still
// have its card at the door).
func (i *Issuer) revokeCards(ctx context.Context, ext string, u mobileUser) error {
	if ext == "" {
		return nil
	}
	for _, c := range u.creds {
		if !c.hasCard {
			continue
		}
		if err := i.door.Revoke(ctx, acs.CredentialRef{CardholderExternalID: ext, Card: i.card(c.card)}); err != nil {
			return err
		}
	}
	return nil
}

// removeAll removes every Origo user with external ID ext (see
// removeFetched), without the door.
func (i *Issuer) removeAll(ctx context.Context, op, ext string) error {
	ids, err := i.searchUsers(ctx, op, ext)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := i.removeUser(ctx, op, ext, id, false); err != nil {
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
	if door {
		if err := i.revokeCards(ctx, ext, u); err != nil {
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
	return i.removeAll(ctx, op, ref.ExternalID)
}
