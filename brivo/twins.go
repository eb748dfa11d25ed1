package brivo

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"

	"github.com/acsbridge/acsbridge/acs"
)

// Brivo documents externalId as "guaranteed to be unique within the
// client's Brivo Access account", and a second POST /users with a taken
// one is expected to be refused. Whether that holds for two creations at
// the same instant (two VMS replicas provisioning one visit) is not
// documented, so the adapter also handles twins: several users carrying
// one external ID. GET /users/{externalId}/external answers one user at
// most (which one, or whether it fails, when there are several is not
// documented either), so twins are found by listing users by name (the
// documented firstname and lastname filters, which match a part of the
// name) and keeping those whose externalId is exactly the one wanted.

// errLookAgain ends a provision attempt that met a twin or a concurrent
// provision of the same visit: the next attempt looks at Brivo afresh.
var errLookAgain = errors.New("a concurrent provision of the same visit changed the users; looking again")

// maxProvisionAttempts bounds how often one Provision looks again.
const maxProvisionAttempts = 3

// personNames returns the first and last names Provision sends for a
// person: Brivo requires both, so a missing one is "Visitor".
func personNames(p acs.Person) (first, last string) {
	first, last = p.FirstName, p.LastName
	if first == "" {
		first = "Visitor"
	}
	if last == "" {
		last = "Visitor"
	}
	return first, last
}

// names is a (first, last) pair of a user's names.
type names [2]string

// twins lists the users carrying exactly ext, by ID. Each pair of names
// narrows the listing (GET /users?filter=firstname__eq:…;lastname__eq:…,
// a name that cannot be placed in a filter left out); without names, or
// when no name of a pair can be placed in a filter, every user is listed.
func (p *Provider) twins(ctx context.Context, op, ext string, pairs ...names) ([]userJSON, error) {
	var room [2]string
	filters := room[:0]
	for _, n := range pairs {
		f := nameFilter(n)
		if f == "" {
			filters = room[:0]
			break
		}
		if !slices.Contains(filters, f) {
			filters = append(filters, f)
		}
	}
	if len(filters) == 0 {
		filters = append(filters, "") // every user
	}
	var out []userJSON
	for _, f := range filters {
		users, err := listAll[userJSON](ctx, p, op, "/users", f)
		if err != nil {
			return nil, err
		}
		if out == nil {
			// Kept in the listing's own array: a user kept is never
			// written past the one being read.
			out = users[:0]
		}
		for _, u := range users {
			if u.ID > 0 && string(u.ExternalID) == ext && !hasUser(out, u.ID) {
				out = append(out, u)
			}
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	slices.SortFunc(out, func(a, b userJSON) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// hasUser reports whether users holds the user with ID id.
func hasUser(users []userJSON, id int64) bool {
	for i := range users {
		if users[i].ID == id {
			return true
		}
	}
	return false
}

// nameFilter is the filter of a user listing by a pair of names,
// "firstname__eq:…;lastname__eq:…" (what buildFilter makes of them), a
// name that cannot be placed in a filter (see checkFilterValue) left out;
// "" when neither can.
func nameFilter(n names) string {
	first, last := checkFilterValue(n[0]) == nil, checkFilterValue(n[1]) == nil
	switch {
	case first && last:
		return "firstname__eq:" + n[0] + ";lastname__eq:" + n[1]
	case first:
		return "firstname__eq:" + n[0]
	case last:
		return "lastname__eq:" + n[1]
	}
	return ""
}

// converge keeps the user with the smallest ID among users (every process
// picks the same one) and removes the others: their credentials are
// unassigned and deleted, except those keep accepts (the grant's card),
// which are only unassigned so that the survivor can be given them; then
// their mobile-pass credentials and the users themselves are deleted.
func (p *Provider) converge(ctx context.Context, op, ext string, users []userJSON, keep func(credentialJSON) bool) (userJSON, error) {
	users = slices.Clone(users)
	slices.SortFunc(users, func(a, b userJSON) int { return cmp.Compare(a.ID, b.ID) })
	users = slices.CompactFunc(users, func(a, b userJSON) bool { return a.ID == b.ID })
	survivor := users[0]
	for _, x := range users[1:] {
		p.log.LogAttrs(ctx, slog.LevelWarn, "brivo: several users carry the same external ID; deleting the extra one",
			slog.String("provider", Name), slog.String("external_id", ext),
			slog.Int64("survivor", survivor.ID), slog.Int64("deleted", x.ID))
		if err := p.removeUser(ctx, op, x.ID, keep); err != nil {
			return userJSON{}, err
		}
	}
	return survivor, nil
}

// cardHolders returns the credentials for card that Brivo lists as
// assigned (GET /credentials?filter=reference_id__eq:<number>;status__eq:assigned,
// then compared with the card), each with the user holding it (GET
// /credentials/{id}/user). A credential registered under another
// reference ID is not found this way.
func (p *Provider) cardHolders(ctx context.Context, op string, card acs.Card, encoded string) ([]credentialJSON, []userJSON, error) {
	filter, err := buildFilter(term{"reference_id", "eq", []string{strconv.FormatUint(card.Number, 10)}},
		term{"status", "eq", []string{"assigned"}})
	if err != nil {
		return nil, nil, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	creds, err := listAll[credentialJSON](ctx, p, op, "/credentials", filter)
	if err != nil {
		return nil, nil, err
	}
	var cs []credentialJSON
	var us []userJSON
	for _, c := range creds {
		if !matchCard(c, p.cat.cachedFormat(c.CredentialFormat.ID), card, encoded) {
			continue
		}
		u, found, err := p.holderOf(ctx, op, c.ID)
		if err != nil {
			return nil, nil, err
		}
		if found {
			cs, us = append(cs, c), append(us, u)
		}
	}
	return cs, us, nil
}

// revokeOnTwins revokes the credential r names (by ID, else by card)
// wherever a user carrying r.ext holds it, other than uid (already
// searched): twins of the user, or the survivor a convergence gave the
// card to. A credential held by a user of another external ID is left
// alone.
func (p *Provider) revokeOnTwins(ctx context.Context, op string, r revokeRef, uid int64) error {
	if r.credID != 0 {
		holder, found, err := p.holderOf(ctx, op, r.credID)
		if err != nil || !found || holder.ID == uid || string(holder.ExternalID) != r.ext {
			return err
		}
		creds, gone, err := p.userCredentials(ctx, op, holder.ID)
		if err != nil || gone {
			return err
		}
		for _, c := range creds {
			if c.ID == r.credID {
				return p.dropCredential(ctx, op, holder.ID, c)
			}
		}
		return nil
	}
	creds, holders, err := p.cardHolders(ctx, op, r.card, r.encoded())
	if err != nil {
		return err
	}
	for i, c := range creds {
		if h := holders[i]; h.ID != uid && string(h.ExternalID) == r.ext {
			if err := p.dropCredential(ctx, op, h.ID, c); err != nil {
				return err
			}
		}
	}
	return nil
}
