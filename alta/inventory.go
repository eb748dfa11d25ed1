package alta

import (
	"context"
	"slices"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// Holdings delivers every user the adapter created (the marker is the
// e-mail address Provision gives, in the WithEmailDomain domain, together
// with an externalId) with its credentials as Alta holds them now. It
// reads every user (GET /users, all pages) and every credential of the
// organisation (GET /credentials, all pages, each with its user); a user
// listed without its groups costs one GET /users/{id}/groups. Alta keeps
// access levels and a window on the user and a window on the credential
// too, so each credential carries the user's groups, Active is the user's
// status A, and the window is the intersection of both. Soft-deleted users
// are not listed by Alta and are not delivered. It implements
// acs.Inventory.
func (p *Provider) Holdings(ctx context.Context, fn func(acs.Holding) error) error {
	const op = "holdings"
	if fn == nil {
		return acs.Errorf(op, Name, acs.InvalidArgument, "fn is nil")
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	if err := p.ensureFormats(ctx, op); err != nil {
		return err
	}
	var marked []userJSON
	err := listAll(ctx, p, op, p.org("/users"), nil, func(u userJSON) bool {
		if u.ID > 0 && u.ExternalID != "" && p.isVisitorEmail(u.Identity.Email) {
			marked = append(marked, u)
		}
		return true
	})
	if err != nil {
		return err
	}
	creds, err := p.credentialsOf(ctx, op, marked)
	if err != nil {
		return err
	}
	for i := range marked {
		h, err := p.holding(ctx, op, &marked[i], creds[int64(marked[i].ID)])
		if err != nil {
			return err
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	return nil
}

// credentialsOf returns the credentials of the given users: from the
// organisation-wide listing, or, when it does not name each credential's
// user, from each user's listing.
func (p *Provider) credentialsOf(ctx context.Context, op string, users []userJSON) (map[int64][]credJSON, error) {
	out := map[int64][]credJSON{}
	if len(users) == 0 {
		return out, nil
	}
	want := map[int64]bool{}
	for _, u := range users {
		want[int64(u.ID)] = true
	}
	anonymous := false
	err := listAll(ctx, p, op, p.org("/credentials"), nil, func(c credJSON) bool {
		if c.User == nil || c.User.ID <= 0 {
			anonymous = true
			return false
		}
		if id := int64(c.User.ID); want[id] {
			out[id] = append(out[id], c)
		}
		return true
	})
	if err != nil || !anonymous {
		return out, err
	}
	clear(out)
	for _, u := range users {
		cs, _, err := p.userCredentials(ctx, op, int64(u.ID))
		if err != nil {
			return nil, err
		}
		out[int64(u.ID)] = cs
	}
	return out, nil
}

// holding builds one Holding.
func (p *Provider) holding(ctx context.Context, op string, u *userJSON, creds []credJSON) (acs.Holding, error) {
	groups := u.groupIDs()
	if u.Groups == nil {
		gs, err := collect[idNameJSON](ctx, p, op, p.org("/users/"+idSegment(u.ID)+"/groups"), nil)
		if err != nil && acs.CodeOf(err) != acs.NotFound {
			return acs.Holding{}, err
		}
		for _, g := range gs {
			groups = append(groups, int64(g.ID))
		}
	}
	slices.Sort(groups)
	levels := make([]string, 0, len(groups))
	for _, g := range slices.Compact(groups) {
		levels = append(levels, idSegment(g))
	}
	uid, ext := idSegment(u.ID), string(u.ExternalID)
	h := acs.Holding{Cardholder: acs.CardholderRef{ID: uid, ExternalID: ext},
		FirstName: string(u.Identity.FirstName), LastName: string(u.Identity.LastName), Credentials: []acs.HeldCredential{}}
	ufrom, uto := u.window()
	for _, c := range creds {
		card, _ := p.cardOf(c.Card)
		cfrom, cto := c.window()
		h.Credentials = append(h.Credentials, acs.HeldCredential{
			Ref:          acs.CredentialRef{ID: idSegment(c.ID), CardholderID: uid, CardholderExternalID: ext, Card: card},
			Active:       u.Status == "A",
			AccessLevels: slices.Clone(levels),
			ValidFrom:    later(ufrom, cfrom),
			ValidUntil:   earlier(uto, cto),
		})
	}
	return h, nil
}

// later returns the later of two start bounds (zero is unbounded).
func later(a, b time.Time) time.Time {
	if a.IsZero() || b.After(a) {
		return b
	}
	return a
}

// earlier returns the earlier of two end bounds (zero is unbounded).
func earlier(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}
