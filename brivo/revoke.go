package brivo

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/wiegand"
)

// revokeRef is a parsed acs.CredentialRef.
type revokeRef struct {
	credID, uid int64
	ext, extSeg string
	card        acs.Card
	frame       wiegand.Frame // the card's frame, when the card is valid
	byCard      bool          // the card is valid: credentials carrying it are revoked too
}

// encoded is the card's frame as Brivo's encodedCredential (see
// encodeCard), computed only when a credential is compared by card.
func (r *revokeRef) encoded() string { return r.frame.Hex() }

// matches reports whether credential c is the one r names: its ID, or a
// credential carrying r's card (another record of the same card, which a
// provision that landed after an earlier revocation may have created).
func (r *revokeRef) matches(p *Provider, c credentialJSON) bool {
	return r.credID != 0 && c.ID == r.credID ||
		r.byCard && matchCard(c, p.cat.cachedFormat(c.CredentialFormat.ID), r.card, r.encoded())
}

func parseRevokeRef(op string, ref acs.CredentialRef) (r revokeRef, err error) {
	r.ext, r.card = ref.CardholderExternalID, ref.Card
	if ref.ID != "" {
		if r.credID, err = parseID(op, "credential ID", ref.ID); err != nil {
			return r, err
		}
	}
	if ref.CardholderID != "" {
		if r.uid, err = parseID(op, "cardholder ID", ref.CardholderID); err != nil {
			return r, err
		}
	}
	if r.ext != "" {
		if r.extSeg, err = externalSegment(op, r.ext); err != nil {
			return r, err
		}
	}
	if r.credID != 0 {
		// The card, when the reference carries a valid one, also finds
		// other credentials of it.
		if acs.ValidateCard(ref.Card) == nil {
			if fr, err := ref.Card.Frame(); err == nil {
				r.frame, r.byCard = fr, true
			}
		}
		return r, nil
	}
	if r.uid == 0 && r.extSeg == "" {
		return r, acs.Errorf(op, Name, acs.InvalidArgument, "credential reference has neither an ID nor a cardholder")
	}
	if err := acs.ValidateCard(ref.Card); err != nil {
		return r, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if r.frame, err = ref.Card.Frame(); err != nil {
		return r, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	r.byCard = true
	return r, nil
}

// Revoke unassigns and deletes the credential. It finds the cardholder by
// ref.CardholderID or ref.CardholderExternalID (or, failing both, by asking
// Brivo who holds ref.ID) and the credential among that cardholder's by
// ref.ID, and by ref.Card when it is valid: every credential of the
// cardholder carrying the card is revoked, not only the one ref.ID names.
// A provision that lands after an earlier revocation deleted the
// credential creates another record of the same card, which a reference
// naming the deleted one would otherwise miss. A credential that is not
// assigned to the cardholder is left alone: it opens nothing for them.
//
// When ref carries the external ID and the credential is not among that
// cardholder's (or the lookup by external ID answered an error), Brivo is
// asked who holds it (GET /credentials/{id}/user, or for a card the
// assigned credentials with its reference ID, then their holders): a user
// carrying the same external ID (a twin, see the package documentation)
// has it revoked too. Twins never make a revocation fail.
//
// What is already gone (the user, the credential, the assignment) is a
// success, however Brivo words it: an error answer whose code could mean
// "missing" is checked by asking Brivo whether the target still exists,
// never taken at its word.
func (p *Provider) Revoke(ctx context.Context, ref acs.CredentialRef) error {
	const op = "revoke"
	r, err := parseRevokeRef(op, ref)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	if r.ext != "" {
		unlock, err := p.locks.Lock(ctx, r.ext)
		if err != nil {
			return acs.Wrap(op, Name, acs.Canceled, err)
		}
		defer unlock()
	}
	uid, found, err := p.revokeHolder(ctx, op, r)
	switch {
	case err != nil && r.ext != "" && r.uid == 0 && uncertain(err):
		// Perhaps several users carry the external ID: ask who holds
		// the credential instead.
		p.log.LogAttrs(ctx, slog.LevelInfo, "brivo: lookup by external ID refused; asking who holds the credential",
			slog.String("provider", Name), slog.String("error", p.redact(err.Error())))
		found = false
	case err != nil:
		return err
	}
	if found {
		creds, gone, err := p.userCredentials(ctx, op, uid)
		if err != nil {
			return err
		}
		dropped := false
		for _, c := range creds {
			if gone {
				break
			}
			if r.matches(p, c) {
				if err := p.dropCredential(ctx, op, uid, c); err != nil {
					return err
				}
				dropped = true
			}
		}
		if dropped {
			return nil
		}
	}
	if r.ext == "" {
		return nil
	}
	return p.revokeOnTwins(ctx, op, r, uid)
}

// revokeHolder finds the user whose credential is to be revoked; found is
// false when there is none (nothing to revoke).
func (p *Provider) revokeHolder(ctx context.Context, op string, r revokeRef) (int64, bool, error) {
	switch {
	case r.uid != 0:
		return r.uid, true, nil
	case r.extSeg != "":
		u, found, err := p.findUser(ctx, op, r.extSeg, r.ext)
		return u.ID, found, err
	}
	u, found, err := p.holderOf(ctx, op, r.credID)
	return u.ID, found, err
}

// userCredentials lists the credentials assigned to a user; gone reports
// that the user does not exist, which an error answer is not taken to
// mean until Brivo confirms it (GET /users/{id}).
func (p *Provider) userCredentials(ctx context.Context, op string, uid int64) ([]credentialJSON, bool, error) {
	creds, err := listAll[credentialJSON](ctx, p, op, idPath("/users/", uid, "/credentials"), "")
	if err == nil {
		return creds, false, nil
	}
	gone, err := p.settle(ctx, op, "user", err, func() (bool, error) { return p.userExists(ctx, op, uid) })
	return nil, gone, err
}

// userGroups lists the groups of a user, like userCredentials.
func (p *Provider) userGroups(ctx context.Context, op string, uid int64) ([]idName, bool, error) {
	groups, err := listAll[idName](ctx, p, op, idPath("/users/", uid, "/groups"), "")
	if err == nil {
		return groups, false, nil
	}
	gone, err := p.settle(ctx, op, "user", err, func() (bool, error) { return p.userExists(ctx, op, uid) })
	return nil, gone, err
}

// assignedTo reports whether credential cid is assigned to user uid, from
// the user's credential listing.
func (p *Provider) assignedTo(ctx context.Context, op string, uid, cid int64) (bool, error) {
	creds, gone, err := p.userCredentials(ctx, op, uid)
	if err != nil || gone {
		return false, err
	}
	return slices.ContainsFunc(creds, func(c credentialJSON) bool { return c.ID == cid }), nil
}

// memberOf reports whether user uid is a member of group gid.
func (p *Provider) memberOf(ctx context.Context, op string, uid, gid int64) (bool, error) {
	groups, gone, err := p.userGroups(ctx, op, uid)
	if err != nil || gone {
		return false, err
	}
	return slices.ContainsFunc(groups, func(g idName) bool { return g.ID == gid }), nil
}

// holderOf asks Brivo which user holds a credential (GET
// /credentials/{id}/user). found is false when none does: the credential
// does not exist or is not assigned, which Brivo is asked to confirm when
// the question is answered with an error.
func (p *Provider) holderOf(ctx context.Context, op string, cid int64) (userJSON, bool, error) {
	resp, err := p.call(ctx, op, request{method: http.MethodGet, path: idPath("/credentials/", cid, "/user"), idempotent: true})
	if err != nil {
		return userJSON{}, false, err
	}
	if !ok2xx(resp) {
		_, err := p.settle(ctx, op, "credential's assignment", p.statusError(op, resp),
			func() (bool, error) { return p.credentialAssigned(ctx, op, cid) })
		return userJSON{}, false, err
	}
	var u userJSON
	if err := p.decode(op, resp, &u); err != nil {
		return userJSON{}, false, err
	}
	if u.ID <= 0 {
		return userJSON{}, false, acs.Errorf(op, Name, acs.Unknown, "the holder of credential %d was answered without an ID", cid)
	}
	return u, true, nil
}

// credentialAssigned asks whether credential cid exists and is assigned to
// anyone: GET /credentials/{id}, then the documented listing
// /credentials?filter=reference_id__eq:…;status__eq:assigned.
func (p *Provider) credentialAssigned(ctx context.Context, op string, cid int64) (bool, error) {
	resp, err := p.call(ctx, op, request{method: http.MethodGet, path: idPath("/credentials/", cid, ""), idempotent: true})
	if err != nil {
		return false, err
	}
	if brivoNotFound(resp) {
		return false, nil
	}
	if !ok2xx(resp) {
		return false, p.statusError(op, resp)
	}
	var c credentialJSON
	if err := p.decode(op, resp, &c); err != nil {
		return false, err
	}
	filter, err := buildFilter(term{"reference_id", "eq", []string{string(c.ReferenceID)}}, term{"status", "eq", []string{"assigned"}})
	if err != nil {
		return false, acs.Errorf(op, Name, acs.Unknown, "cannot ask whether credential %d is assigned: %v", cid, err)
	}
	creds, err := listAll[credentialJSON](ctx, p, op, "/credentials", filter)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(creds, func(x credentialJSON) bool { return x.ID == cid }), nil
}

// dropCredential unassigns a credential from the user and deletes it. An
// error answer to the unassignment is success once Brivo confirms that the
// credential is no longer the user's.
func (p *Provider) dropCredential(ctx context.Context, op string, uid int64, c credentialJSON) error {
	if err := p.unassign(ctx, op, uid, c.ID); err != nil {
		return err
	}
	return p.deleteCredential(ctx, op, c)
}

// unassign takes credential cid away from user uid; an error answer is
// success once Brivo confirms that the credential is no longer the
// user's.
func (p *Provider) unassign(ctx context.Context, op string, uid, cid int64) error {
	resp, err := p.call(ctx, op, request{method: http.MethodDelete,
		path: idPath2("/users/", uid, "/credentials/", cid), idempotent: true})
	if err != nil || ok2xx(resp) {
		return err
	}
	_, err = p.settle(ctx, op, "credential's assignment", p.statusError(op, resp),
		func() (bool, error) { return p.assignedTo(ctx, op, uid, cid) })
	return err
}

// deleteCredential deletes an unassigned credential. It opens nothing any
// more, so a failure is logged and not returned, unless the credential
// holds personal data (a mobile pass, whose reference ID is the visitor's
// e-mail address): then it must go, and the failure is returned.
func (p *Provider) deleteCredential(ctx context.Context, op string, c credentialJSON) error {
	resp, err := p.call(ctx, op, request{method: http.MethodDelete, path: idPath("/credentials/", c.ID, ""), idempotent: true})
	if err == nil && !ok2xx(resp) {
		_, err = p.settle(ctx, op, "credential", p.statusError(op, resp),
			func() (bool, error) { return p.credentialExists(ctx, op, c.ID) })
	}
	if err == nil {
		return nil
	}
	if personalData(c) {
		return notGone(err, "the unassigned credential holds the visitor's e-mail address and is not deleted")
	}
	p.log.LogAttrs(ctx, slog.LevelWarn, "brivo: credential unassigned but not deleted",
		slog.String("provider", Name), slog.String("op", op), slog.Int64("credential", c.ID),
		slog.String("error", p.redact(err.Error())))
	return nil
}

// personalData reports whether a credential carries personal data: a
// mobile pass's reference ID is the invitee's e-mail address.
func personalData(c credentialJSON) bool {
	return strings.Contains(string(c.ReferenceID), "@") || strings.Contains(normName(c.CredentialFormat.Name), "mobile pass")
}

// RemoveCardholder revokes every credential of the user (unassign and
// delete), deletes the credentials of its mobile-pass invitations (their
// reference ID is the visitor's e-mail address) and deletes the user, so
// that Brivo keeps no name or e-mail address of the visitor. An absent
// user is a success, confirmed with Brivo when an answer could mean
// "missing" (see Revoke).
//
// When ref carries the external ID, every user carrying it is removed
// (twins, see the package documentation): the one GET
// /users/{externalId}/external answers and those the user listing finds
// under its names; when that lookup answers an error, every user is
// listed to find them.
func (p *Provider) RemoveCardholder(ctx context.Context, ref acs.CardholderRef) error {
	const op = "remove_cardholder"
	var uid int64
	if ref.ID != "" {
		var err error
		if uid, err = parseID(op, "cardholder ID", ref.ID); err != nil {
			return err
		}
	}
	if ref.ExternalID != "" {
		if _, err := externalSegment(op, ref.ExternalID); err != nil {
			return err
		}
	}
	if uid == 0 && ref.ExternalID == "" {
		return acs.Errorf(op, Name, acs.InvalidArgument, "cardholder reference has neither an ID nor an external ID")
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	var users []int64
	if uid != 0 {
		users = append(users, uid)
	}
	if ref.ExternalID != "" {
		unlock, err := p.locks.Lock(ctx, ref.ExternalID)
		if err != nil {
			return acs.Wrap(op, Name, acs.Canceled, err)
		}
		defer unlock()
		twins, err := p.twinsOf(ctx, op, ref.ExternalID)
		if err != nil {
			return err
		}
		for _, u := range twins {
			if !slices.Contains(users, u.ID) {
				users = append(users, u.ID)
			}
		}
	}
	for _, id := range users {
		if err := p.removeUser(ctx, op, id, nil); err != nil {
			return err
		}
	}
	return nil
}

// twinsOf finds every user carrying ext: the one the lookup by external
// ID answers and those the user listing finds under its names, or under
// any name when the lookup answered an error.
func (p *Provider) twinsOf(ctx context.Context, op, ext string) ([]userJSON, error) {
	extSeg, err := externalSegment(op, ext)
	if err != nil {
		return nil, err
	}
	u, found, err := p.findUser(ctx, op, extSeg, ext)
	switch {
	case err != nil && uncertain(err):
		// Perhaps several users carry the external ID: list them all.
		p.log.LogAttrs(ctx, slog.LevelInfo, "brivo: lookup by external ID refused; listing users to find it",
			slog.String("provider", Name), slog.String("error", p.redact(err.Error())))
		return p.twins(ctx, op, ext)
	case err != nil:
		return nil, err
	case !found:
		return nil, nil
	}
	twins, err := p.twins(ctx, op, ext, names{u.FirstName, u.LastName})
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(twins, func(x userJSON) bool { return x.ID == u.ID }) {
		twins = append(twins, u)
	}
	return twins, nil
}

// removeUser revokes every credential of user uid (unassign and delete;
// only unassign those keep accepts), deletes the credentials of its
// mobile-pass invitations and deletes the user. An absent user is a
// success.
func (p *Provider) removeUser(ctx context.Context, op string, uid int64, keep func(credentialJSON) bool) error {
	creds, gone, err := p.userCredentials(ctx, op, uid)
	if err != nil || gone {
		return err
	}
	passes, gone, err := p.invitationCredentials(ctx, op, uid)
	if err != nil || gone {
		return err
	}
	for _, c := range creds {
		if keep != nil && keep(c) {
			err = p.unassign(ctx, op, uid, c.ID)
		} else {
			err = p.dropCredential(ctx, op, uid, c)
		}
		if err != nil {
			return err
		}
	}
	for _, c := range passes {
		if slices.ContainsFunc(creds, func(x credentialJSON) bool { return x.ID == c.ID }) {
			continue
		}
		if err := p.deleteCredential(ctx, op, c); err != nil {
			return err
		}
	}
	return p.deleteUser(ctx, op, uid)
}

// cardholder resolves a CardholderRef to a Brivo user ID, holding the
// external ID's lock (unlock releases it). found is false when Brivo has
// no user of that external ID.
func (p *Provider) cardholder(ctx context.Context, op string, ref acs.CardholderRef) (uid int64, found bool, unlock func(), err error) {
	unlock = func() {}
	if ref.ID != "" {
		if uid, err = parseID(op, "cardholder ID", ref.ID); err != nil {
			return 0, false, nil, err
		}
	}
	var extSeg string
	if ref.ExternalID != "" {
		if extSeg, err = externalSegment(op, ref.ExternalID); err != nil {
			return 0, false, nil, err
		}
	}
	if uid == 0 && extSeg == "" {
		return 0, false, nil, acs.Errorf(op, Name, acs.InvalidArgument, "cardholder reference has neither an ID nor an external ID")
	}
	if err := ctx.Err(); err != nil {
		return 0, false, nil, acs.Wrap(op, Name, acs.Canceled, err)
	}
	if ref.ExternalID != "" {
		if unlock, err = p.locks.Lock(ctx, ref.ExternalID); err != nil {
			return 0, false, nil, acs.Wrap(op, Name, acs.Canceled, err)
		}
	}
	if uid != 0 {
		return uid, true, unlock, nil
	}
	u, found, err := p.findUser(ctx, op, extSeg, ref.ExternalID)
	if err != nil || !found {
		unlock()
		return 0, false, nil, err
	}
	return u.ID, true, unlock, nil
}

// invitationCredentials returns the credentials of every mobile-pass
// invitation of a user, whatever its status (filter status__eq:all).
func (p *Provider) invitationCredentials(ctx context.Context, op string, uid int64) ([]credentialJSON, bool, error) {
	filter, err := buildFilter(term{"status", "eq", []string{"all"}})
	if err != nil {
		return nil, false, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	invs, err := listAll[invitationJSON](ctx, p, op, idPath("/users/", uid, "/credentials/digital-invitations"), filter)
	if err != nil {
		gone, err := p.settle(ctx, op, "user", err, func() (bool, error) { return p.userExists(ctx, op, uid) })
		return nil, gone, err
	}
	var out []credentialJSON
	for _, inv := range invs {
		if inv.CredentialID > 0 {
			out = append(out, credentialJSON{ID: inv.CredentialID, ReferenceID: inv.ReferenceID,
				CredentialFormat: idName{Name: "Brivo Mobile Pass"}})
		}
	}
	return out, false, nil
}

// deleteUser deletes a user; an error answer is success once Brivo
// confirms that the user no longer exists.
func (p *Provider) deleteUser(ctx context.Context, op string, uid int64) error {
	resp, err := p.call(ctx, op, request{method: http.MethodDelete, path: idPath("/users/", uid, ""), idempotent: true})
	if err != nil || ok2xx(resp) {
		return err
	}
	_, err = p.settle(ctx, op, "user", p.statusError(op, resp), func() (bool, error) { return p.userExists(ctx, op, uid) })
	return err
}
