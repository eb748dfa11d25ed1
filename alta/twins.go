package alta

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"slices"

	"github.com/acsbridge/acsbridge/acs"
)

// Several processes (VMS replicas, each with its own Provider) may
// provision one visit at the same instant: each looks the visit up, finds
// nothing, and creates. Alta then holds the visit twice: two credentials
// for the card on the visit's user or, should two creations of the
// visit's e-mail both pass, two users. Every process converges on the same
// survivor, the smallest ID, whenever it sees more than one (in a lookup,
// or in the look it takes right after each of its creations, so that the
// later of two creators always sees the other's): the survivor is made to
// carry the grant and the others are deleted, credentials first.

// converge keeps users[0] (users are sorted by ID) and removes the others
// with their credentials. It returns the survivor.
func (r *provisionRun) converge(ctx context.Context, users []userJSON) (userJSON, error) {
	for _, u := range users[1:] {
		r.p.log.LogAttrs(ctx, slog.LevelInfo, "alta: removing a duplicate user of the visit",
			slog.String("provider", Name), slog.Int64("user", int64(u.ID)), slog.Int64("survivor", int64(users[0].ID)))
		if err := r.p.removeUser(ctx, r.op, int64(u.ID)); err != nil {
			return userJSON{}, err
		}
		if int64(u.ID) == r.createdUser {
			r.createdUser = 0
		}
	}
	return users[0], nil
}

// recheckUsers is the look taken right after this call created (or
// brought back) the visit's user mine: when another process created one
// too, the user with the smallest ID survives and the others, mine
// perhaps, are removed.
func (r *provisionRun) recheckUsers(ctx context.Context, mine userJSON) (userJSON, error) {
	users, err := r.p.findUsers(ctx, r.op, r.email, false)
	if err != nil {
		return userJSON{}, err
	}
	if !slices.ContainsFunc(users, func(u userJSON) bool { return u.ID == mine.ID }) {
		users = append(users, mine)
		slices.SortFunc(users, func(a, b userJSON) int { return cmp.Compare(a.ID, b.ID) })
	}
	survivor, err := r.converge(ctx, users)
	if err != nil {
		return userJSON{}, err
	}
	if survivor.ID == mine.ID {
		return mine, nil // as this call left it, fresher than the listing
	}
	return survivor, nil
}

// cardCredentials returns the credentials among creds that carry the
// grant's card, sorted by ID.
func (r *provisionRun) cardCredentials(creds []credJSON) []credJSON {
	var out []credJSON
	for _, c := range creds {
		if r.p.holdsCard(c.Card, r.g.Card, r.raw) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b credJSON) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// keepOneCard returns the credential of the user that carries the grant's
// card, nil when none does. When several do, the smallest ID survives
// and the others are deleted.
func (r *provisionRun) keepOneCard(ctx context.Context, uid int64, creds []credJSON) (*credJSON, error) {
	held := r.cardCredentials(creds)
	if len(held) == 0 {
		return nil, nil
	}
	for _, c := range held[1:] {
		r.p.log.LogAttrs(ctx, slog.LevelInfo, "alta: deleting a duplicate credential of the card",
			slog.String("provider", Name), slog.Int64("user", uid), slog.Int64("credential", int64(c.ID)),
			slog.Int64("survivor", int64(held[0].ID)))
		if err := r.p.deleteCredential(ctx, r.op, uid, int64(c.ID)); err != nil {
			return nil, err
		}
		if int64(c.ID) == r.createdCred {
			r.createdCred = 0
		}
	}
	return &held[0], nil
}

// recheckCredential is the look taken right after this call created
// credential mine on the user: when another process created one for the
// card too, the smallest ID survives, and is made to carry the grant's
// window. It returns the survivor and whether it is mine.
func (r *provisionRun) recheckCredential(ctx context.Context, uid, mine int64) (int64, bool, error) {
	p, op := r.p, r.op
	creds, gone, err := p.userCredentials(ctx, op, uid)
	if err != nil {
		return 0, false, err
	}
	if gone {
		return 0, false, acs.Errorf(op, Name, acs.Unavailable, "the Alta user %d disappeared during the provision; retry", uid)
	}
	if !slices.ContainsFunc(creds, func(c credJSON) bool { return int64(c.ID) == mine }) && len(r.cardCredentials(creds)) == 0 {
		return mine, true, nil // not listed yet
	}
	held, err := r.keepOneCard(ctx, uid, creds)
	if err != nil {
		return 0, false, err
	}
	if held == nil {
		return 0, false, acs.Errorf(op, Name, acs.Unavailable, "the credential created for card %s disappeared during the provision; retry", r.g.Card)
	}
	if int64(held.ID) == mine {
		return mine, true, nil
	}
	if from, to := held.window(); !from.Equal(r.from) || !to.Equal(r.to) {
		if err := r.patchWindow(ctx, uid, int64(held.ID)); err != nil {
			return 0, false, err
		}
	}
	return int64(held.ID), false, nil
}

// patchWindow sets a credential's window to the grant's.
func (r *provisionRun) patchWindow(ctx context.Context, uid, cid int64) error {
	p, op := r.p, r.op
	resp, err := p.call(ctx, op, request{method: http.MethodPatch,
		path: p.org("/users/" + idSegment(uid) + "/credentials/" + idSegment(cid)),
		body: windowBody{StartDate: r.from.Format(wireTime), EndDate: r.to.Format(wireTime)}, idempotent: true})
	if err != nil {
		return err
	}
	if !ok2xx(resp) {
		return p.statusError(op, resp)
	}
	return nil
}
