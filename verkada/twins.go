package verkada

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"

	"github.com/acsbridge/acsbridge/acs"
)

// Several processes (VMS replicas, each with its own Provider) may
// provision one visit at the same instant: each looks the external ID up,
// finds nothing, and creates. Should Verkada accept the second user of the
// external ID, or the second card of the number (neither refusal is
// documented), it then holds the visit twice. Every process converges on
// the same survivor, the smallest ID, whenever it sees more than one: the
// survivor carries the grant and the others are deleted, a user after its
// cards.

// matchingCards returns the cards among cs of the plan's type and data,
// sorted by card ID.
func matchingCards(cs []cardJSON, pl plan) []cardJSON {
	var out []cardJSON
	for _, c := range cs {
		if strings.EqualFold(canonicalType(c.Type), pl.typ) && sameData(c, pl.card) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b cardJSON) int { return strings.Compare(string(a.CardID), string(b.CardID)) })
	return out
}

// oneCard returns the user's card of the plan. When the user holds it
// more than once, the smallest card ID survives and the others are
// deleted.
func (p *Provider) oneCard(ctx context.Context, op string, au accessUserJSON, pl plan) (cardJSON, bool, error) {
	cs := matchingCards(au.Cards, pl)
	if len(cs) == 0 {
		return cardJSON{}, false, nil
	}
	for _, c := range cs[1:] {
		p.log.LogAttrs(ctx, slog.LevelInfo, "verkada: deleting a duplicate card of the visit",
			slog.String("provider", Name), slog.String("user_id", string(au.UserID)),
			slog.String("card_id", string(c.CardID)), slog.String("survivor", string(cs[0].CardID)))
		if err := p.deleteCard(ctx, op, string(au.UserID), string(c.CardID)); err != nil {
			return cardJSON{}, false, err
		}
	}
	return cs[0], true, nil
}

// externalIDUsers lists every user carrying an external ID (GET
// /access/v1/access_users, every page): the only way the API offers to
// see more than the one user a lookup by external_id answers. It is read
// only when a second user has shown itself.
func (p *Provider) externalIDUsers(ctx context.Context, op, ext string) ([]string, error) {
	var ids []string
	err := p.pages(ctx, op, "/access/v1/access_users", nil, func(body []byte) error {
		var pg struct {
			Members []accessMemberJSON `json:"access_members"`
		}
		if err := json.Unmarshal(body, &pg); err != nil {
			return acs.Errorf(op, Name, acs.Unknown, "unreadable access-user listing")
		}
		for _, m := range pg.Members {
			if string(m.ExternalID) == ext && checkID(op, "user ID", string(m.UserID)) == nil {
				ids = append(ids, string(m.UserID))
			}
		}
		return nil
	})
	return ids, err
}

// convergeUsers gathers the users of an external ID (those known, and
// every one the listing shows), keeps the smallest user ID and removes
// the others with their cards. It returns the survivor.
func (p *Provider) convergeUsers(ctx context.Context, op, ext string, known ...string) (string, error) {
	listed, err := p.externalIDUsers(ctx, op, ext)
	if err != nil {
		return "", err
	}
	return p.convergeIDs(ctx, op, slices.Concat(known, listed))
}

// convergeIDs keeps the smallest of the user IDs and removes the others
// with their cards. It returns the survivor.
func (p *Provider) convergeIDs(ctx context.Context, op string, ids []string) (string, error) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for _, id := range ids[1:] {
		p.log.LogAttrs(ctx, slog.LevelInfo, "verkada: removing a duplicate user of the external ID",
			slog.String("provider", Name), slog.String("user_id", id), slog.String("survivor", ids[0]))
		if err := p.removeUser(ctx, op, id); err != nil {
			return "", err
		}
	}
	return ids[0], nil
}

// removeUser deletes a user's cards, then the user; an absent user is a
// success.
func (p *Provider) removeUser(ctx context.Context, op, uid string) error {
	au, found, err := p.findAccessUser(ctx, op, "user_id", uid)
	if err != nil || !found {
		return err
	}
	return p.removeAccessUser(ctx, op, au)
}

// removeAccessUser deletes the cards of a user just read, then the user.
func (p *Provider) removeAccessUser(ctx context.Context, op string, au accessUserJSON) error {
	for _, c := range au.Cards {
		if err := p.deleteCard(ctx, op, string(au.UserID), string(c.CardID)); err != nil {
			return err
		}
	}
	return p.deleteUser(ctx, op, string(au.UserID))
}
