package origo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// ErrNotAccepted is the cause of the error Provision returns while the
// visitor's phone has not accepted the invitation: an Unavailable
// *acs.Error (retryable) whose RetryAfter says when asking Origo again is
// worthwhile. errors.Is(err, ErrNotAccepted) tells it from an outage, in a
// visitor.WithStuck handler for instance. It wraps acs.ErrAwaitingPerson,
// so the visitor engine does not report the wait as a stuck provision.
var ErrNotAccepted = fmt.Errorf("origo: the visitor has not accepted the mobile invitation yet (%w)", acs.ErrAwaitingPerson)

// provisionState is what Provision learned at Origo.
type provisionState struct {
	user mobileUser
	// cred is the issued credential, nil while the invitation waits.
	cred *mobileCred
	// invited is when the open invitation was created (zero: unknown).
	invited time.Time
	// created is set when this call created the Origo user.
	created bool
}

// Provision issues a mobile ID for g and provisions its card at the door
// ACS, or passes g to the door ACS unchanged when it is not for a mobile
// ID (see WithMobileByDefault and CredentialType).
//
// For a mobile ID it finds or creates the Origo user whose externalId is
// g.Person.ExternalID, invites it (once) with the configured part number,
// and, once Origo lists the credential as issued with a card number,
// provisions that card (CardFormat, FacilityCode) at the door ACS for g's
// access levels and window. Until the phone accepted, it returns an
// Unavailable error wrapping ErrNotAccepted, with a RetryAfter that grows
// with the invitation's age (WithPolling), and makes no request at all
// when called again sooner (unless a callback said the user changed): the
// visitor outbox retries it until the visit's window ends. A card the
// door ACS refuses for good (a Conflict, an unknown level) deletes the
// Origo user and its credential before the refusal is returned.
func (i *Issuer) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	const op = "provision"
	if err := acs.ValidateGrant(g, i.rules); err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if !i.mobile(g.CredentialType) {
		return i.door.Provision(ctx, g)
	}
	if err := ctx.Err(); err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	ext := g.Person.ExternalID
	unlock, err := i.locks.Lock(ctx, ext)
	if err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	if wait, ok := i.skip(ext, i.now()); ok {
		return acs.Provisioned{}, i.notAccepted(op, ext, wait)
	}
	st, err := i.mobileState(ctx, op, g)
	if err != nil {
		return acs.Provisioned{}, err
	}
	if st.cred == nil {
		return acs.Provisioned{}, i.waiting(op, ext, st.invited)
	}
	return i.provisionDoor(ctx, op, g, st)
}

// mobileState finds or creates the Origo user of g and makes sure it holds
// an issued credential or an open invitation.
func (i *Issuer) mobileState(ctx context.Context, op string, g acs.Grant) (provisionState, error) {
	for range 2 {
		st, stale, err := i.userState(ctx, op, g)
		if err != nil {
			return st, err
		}
		if stale { // the remembered user is gone: search again
			i.waits.forget(g.Person.ExternalID)
			continue
		}
		return i.ensureInvitation(ctx, op, g, st)
	}
	return provisionState{}, acs.Errorf(op, Name, acs.Unavailable, "the Origo user of %s vanished while it was read; try again", g.Person.ExternalID)
}

// userState returns the Origo user of g: the one remembered (read), the
// one a search finds (read; twins of a race are removed), or a new one.
// Whatever it returns was read at Origo (or just created), and holds at
// most one mobile ID of the part number (converge). stale reports that
// the remembered user no longer exists.
func (i *Issuer) userState(ctx context.Context, op string, g acs.Grant) (st provisionState, stale bool, err error) {
	ext := g.Person.ExternalID
	if id, ok := i.waits.userOf(ext); ok {
		u, found, err := i.getUser(ctx, op, id)
		if err != nil || !found {
			return provisionState{user: u}, err == nil && !found, err
		}
		u, err = i.converge(ctx, op, ext, u)
		return provisionState{user: u}, false, err
	}
	ids, err := i.searchUsers(ctx, op, ext)
	if err != nil {
		return st, false, err
	}
	created := false
	if len(ids) == 0 {
		id, err := i.createNew(ctx, op, g)
		if err == nil {
			i.waits.remember(ext, id, i.now())
			return provisionState{user: mobileUser{id: id, ext: ext}, created: true}, false, nil
		}
		if !noAnswer(err) {
			return st, false, err
		}
		// The creation's answer was lost: the user may exist, and another
		// replica may have found it and invited it meanwhile. Search again
		// and read what the search finds, as for any found user.
		ids, serr := i.searchUsers(ctx, op, ext)
		if serr != nil || len(ids) == 0 {
			return st, false, err
		}
		created = true
		return i.foundState(ctx, op, ext, ids, created)
	}
	return i.foundState(ctx, op, ext, ids, created)
}

// foundState reads the users a search found, keeps one (keepOne) and
// remembers it.
func (i *Issuer) foundState(ctx context.Context, op, ext string, ids []string, created bool) (provisionState, bool, error) {
	u, err := i.keepOne(ctx, op, ext, ids)
	if err != nil {
		return provisionState{}, false, err
	}
	i.waits.remember(ext, u.id, i.now())
	return provisionState{user: u, created: created}, false, nil
}

// createNew checks g's access levels at the door ACS (an unknown one
// creates nothing) and creates the Origo user. The creation is not resent:
// the caller settles a lost answer by searching again and reading what it
// finds.
func (i *Issuer) createNew(ctx context.Context, op string, g acs.Grant) (string, error) {
	if err := i.checkLevels(ctx, op, g.AccessLevels); err != nil {
		return "", err
	}
	return i.createUser(ctx, op, g.Person)
}

// keepOne reads the users of ext and keeps one: the first whose phone
// accepted, else the oldest. The others, twins left by two creations that
// raced (on two replicas), are removed with everything they hold.
func (i *Issuer) keepOne(ctx context.Context, op, ext string, ids []string) (mobileUser, error) {
	var users []mobileUser
	keep := -1
	for _, id := range ids {
		u, found, err := i.getUser(ctx, op, id)
		if err != nil {
			return mobileUser{}, err
		}
		if !found {
			continue
		}
		if keep < 0 && u.issued(i.cfg.PartNumber) != nil {
			keep = len(users)
		}
		users = append(users, u)
	}
	if len(users) == 0 {
		return mobileUser{}, acs.Errorf(op, Name, acs.Unavailable, "the Origo users of %s vanished while they were read; try again", ext)
	}
	keep = max(keep, 0)
	for k, u := range users {
		if k == keep {
			continue
		}
		i.log.Warn("origo: removing a duplicate user of one visit", "external_id", ext, "user", u.id, "kept", users[keep].id)
		if err := i.removeFetched(ctx, op, ext, u, true); err != nil {
			return mobileUser{}, err
		}
	}
	return i.converge(ctx, op, ext, users[keep])
}

// converge makes the user u, as just read, hold at most one mobile ID of
// the visit: two replicas that both found the user without an invitation
// both invite it, and the phone may accept both. When u holds an issued
// credential of the part number, the first one is kept and every other
// live credential goes, its card revoked at the door ACS first (by
// external ID and card) and then deleted at Origo, as does every open
// invitation not yet acknowledged (it would bring another). Without an
// issued credential, the oldest open invitation is kept and the other
// open ones are deleted. It returns u as it is afterwards.
func (i *Issuer) converge(ctx context.Context, op, ext string, u mobileUser) (mobileUser, error) {
	now := i.now()
	keepCred, keepInv := "", ""
	if c := u.issued(i.cfg.PartNumber); c != nil {
		keepCred = c.id
	} else if v := u.openInvitation(now); v != nil {
		keepInv = v.id
	}
	var extra []int
	for k, c := range u.creds {
		if keepCred != "" && c.id != keepCred && !c.dead() && c.id != "" {
			extra = append(extra, k)
		}
	}
	for _, k := range extra { // the door first, for every extra card
		c := u.creds[k]
		if !c.hasCard || ext == "" {
			continue
		}
		if kc := u.issued(i.cfg.PartNumber); kc != nil && kc.card == c.card {
			continue // the same card as the kept one: the door must keep it
		}
		i.log.Warn("origo: revoking a second mobile ID of one visit", "external_id", ext, "user", u.id, "credential", c.id, "kept", keepCred)
		if err := i.door.Revoke(ctx, acs.CredentialRef{CardholderExternalID: ext, Card: i.card(c.card)}); err != nil {
			return u, err
		}
	}
	for _, k := range extra {
		if _, err := i.remove(ctx, op, "credential", u.creds[k].id); err != nil {
			return u, err
		}
		u.creds[k].status = "REVOKED"
	}
	for k := range u.invitations {
		v := &u.invitations[k]
		if v.id == "" || v.id == keepInv || v.closed(now) || status(v.status) == "ACKNOWLEDGED" || keepCred == "" && keepInv == "" {
			continue
		}
		i.log.Warn("origo: deleting a second invitation of one visit", "external_id", ext, "user", u.id, "invitation", v.id)
		if _, err := i.remove(ctx, op, "invitation", v.id); err != nil {
			return u, err
		}
		v.status = "CANCELLED"
	}
	return u, nil
}

// ensureInvitation returns st with the user's issued credential, or with
// its open invitation, inviting the user when it has neither.
func (i *Issuer) ensureInvitation(ctx context.Context, op string, g acs.Grant, st provisionState) (provisionState, error) {
	if i.settle(&st) {
		return st, nil
	}
	email := g.Person.Email != "" && !i.noEmail
	ans, err := i.invite(ctx, op, st.user.id, email)
	if err != nil {
		if !noAnswer(err) {
			return st, err
		}
		// The answer was lost: the invitation may exist. Look.
		u, found, gerr := i.getUser(ctx, op, st.user.id)
		if gerr != nil || !found {
			return st, err
		}
		if st.user, gerr = i.converge(ctx, op, g.Person.ExternalID, u); gerr != nil {
			return st, gerr
		}
		if !i.settle(&st) {
			return st, err
		}
		return st, nil
	}
	st.user.invitations = append(st.user.invitations, ans.invitations...)
	st.user.creds = append(st.user.creds, ans.creds...)
	if !i.settle(&st) {
		st.invited = i.now() // answered without a recognisable invitation: wait for it
	}
	return st, nil
}

// settle fills st.cred or st.invited from st.user and reports whether
// either was found.
func (i *Issuer) settle(st *provisionState) bool {
	if c := st.user.issued(i.cfg.PartNumber); c != nil {
		st.cred = c
		return true
	}
	if v := st.user.openInvitation(i.now()); v != nil {
		st.invited = v.created
		return true
	}
	return false
}

// waiting records that Origo was asked and the invitation still waits, and
// returns the error that says so.
func (i *Issuer) waiting(op, ext string, invited time.Time) error {
	now := i.now()
	since := i.waits.polled(ext, invited, now)
	return i.notAccepted(op, ext, i.spacing(now.Sub(since)))
}

// notAccepted is the error of a provision waiting for the phone; wait is
// the time until Origo is asked again. Its RetryAfter is that wait when
// no callback can arrive; with callbacks configured it is at most the
// shortest poll interval, so that the caller's next attempt (the outbox's
// own backoff, 5 minutes at most by default) acts on a callback soon
// after it arrives, at no cost at Origo in between.
func (i *Issuer) notAccepted(op, ext string, wait time.Duration) error {
	wait = max(wait, time.Second)
	retry := wait
	if i.cbAuth.set() {
		retry = min(wait, i.pollMin)
	}
	return &acs.Error{Op: op, Provider: Name, Code: acs.Unavailable, RetryAfter: retry, Err: ErrNotAccepted,
		Message: fmt.Sprintf("the mobile invitation of %s is not accepted yet; Origo is asked again in %s, sooner after a callback", ext, wait.Round(time.Second))}
}

// provisionDoor provisions the issued credential's card at the door ACS
// and returns the joined references.
func (i *Issuer) provisionDoor(ctx context.Context, op string, g acs.Grant, st provisionState) (acs.Provisioned, error) {
	ext := g.Person.ExternalID
	if err := checkID(op, "credential ID", st.cred.id); err != nil {
		return acs.Provisioned{}, err
	}
	dg := g
	dg.Card, dg.CredentialType, dg.AccessLevels = i.card(st.cred.card), i.doorType, slices.Clone(g.AccessLevels)
	if err := acs.ValidateCard(dg.Card); err != nil {
		cause := acs.Errorf(op, Name, acs.InvalidArgument, "Origo issued card number %d, which does not fit %s with facility code %d: check the card format configured for part number %s",
			st.cred.card, i.cfg.CardFormat, i.cfg.FacilityCode, i.cfg.PartNumber)
		return acs.Provisioned{}, i.undo(ctx, op, ext, st.user.id, cause)
	}
	p, err := i.door.Provision(ctx, dg)
	if err != nil {
		if definite(err) {
			return acs.Provisioned{}, i.undo(ctx, op, ext, st.user.id, err)
		}
		return acs.Provisioned{}, err
	}
	i.waits.settled(ext)
	hid := holderID(st.user.id, p.Cardholder.ID)
	return acs.Provisioned{
		Cardholder: acs.CardholderRef{ID: hid, ExternalID: ext},
		Credential: acs.CredentialRef{ID: credID(st.user.id, st.cred.id, st.cred.card, p.Credential.ID),
			CardholderID: hid, CardholderExternalID: ext, Card: dg.Card},
		AccessLevels: p.AccessLevels,
		Created:      st.created || p.Created,
	}, nil
}

// undo removes the Origo user of a mobile ID whose card the door ACS
// refused for good, so that nothing of the refused provision remains, and
// returns the refusal. When the removal fails the error is retryable
// instead: the next attempt finds the card refused again and removes
// again.
func (i *Issuer) undo(ctx context.Context, op, ext, userID string, cause error) error {
	if err := i.removeUser(ctx, op, ext, userID, true); err != nil {
		return &acs.Error{Op: op, Provider: Name, Code: acs.Unavailable, Err: cause,
			Message: "the door ACS refused the mobile ID's card for good, and removing the mobile ID at Origo failed (" + err.Error() + "); retry"}
	}
	i.waits.forget(ext)
	return cause
}

// definite reports whether err is a definite refusal that repeating the
// request will not change (the visitor outbox's rule).
func definite(err error) bool {
	switch acs.CodeOf(err) {
	case acs.InvalidArgument, acs.NotFound, acs.AlreadyExists, acs.PermissionDenied, acs.Unsupported, acs.Conflict:
		return true
	}
	return false
}
