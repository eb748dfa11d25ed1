package verkada

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/acsbridge/acsbridge/acs"
)

// accessMemberJSON is a row of GET /access/v1/access_users (§2.2).
type accessMemberJSON struct {
	UserID     flexString `json:"user_id"`
	ExternalID flexString `json:"external_id"`
	FullName   string     `json:"full_name"`
	FirstName  string     `json:"first_name"`
	LastName   string     `json:"last_name"`
	// Department is the raw field: nil when the row does not carry it at
	// all, which the notes leave open (§2.2 lists only some row fields).
	Department json.RawMessage `json:"department"`
}

// Holdings delivers every Verkada user that Provision created (those whose
// Core department is the marker, DefaultMarker unless WithMarker says
// otherwise, and that carry an external ID) with its cards, as Verkada
// holds them now (acs.Inventory). It reads GET /access/v1/access_users
// page by page and each marked user's access-user object: 1 request per
// page of users plus 1 per marked user (plus 1 per user with an external
// ID should the rows not carry the department, which is then read from
// GET /core/v1/user). Each card is delivered with the
// user's access groups and start and end dates (Verkada keeps them on the
// user); Active is the card's own flag. The listing carries full_name
// only, delivered as FirstName (unless Verkada also sends first_name and
// last_name).
func (p *Provider) Holdings(ctx context.Context, fn func(acs.Holding) error) error {
	const op = "holdings"
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	var fnErr error
	err := p.pages(ctx, op, "/access/v1/access_users", nil, func(body []byte) error {
		var pg struct {
			Members []accessMemberJSON `json:"access_members"`
		}
		if err := json.Unmarshal(body, &pg); err != nil {
			return acs.Errorf(op, Name, acs.Unknown, "unreadable access-user listing")
		}
		for _, m := range pg.Members {
			if m.ExternalID == "" || checkID(op, "user ID", string(m.UserID)) != nil {
				continue
			}
			if marked, err := p.marked(ctx, op, m); err != nil || !marked {
				if err != nil {
					return err
				}
				continue
			}
			h, ok, err := p.holding(ctx, op, m)
			if err != nil {
				return err
			}
			if !ok {
				continue // deleted since the listing
			}
			if err := fn(h); err != nil {
				fnErr = err
				return err
			}
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// marked reports whether a listed user carries the marker department. A
// row without the department field is not taken as unmarked: the adapter
// asks GET /core/v1/user (1 more request for each such row).
func (p *Provider) marked(ctx context.Context, op string, m accessMemberJSON) (bool, error) {
	if m.Department != nil {
		var d flexString
		return d.UnmarshalJSON(m.Department) == nil && string(d) == p.marker, nil
	}
	resp, err := p.call(ctx, op, request{method: http.MethodGet, path: "/core/v1/user",
		query: url.Values{"user_id": {string(m.UserID)}}, idempotent: true})
	switch {
	case err != nil:
		return false, err
	case resp.Status == http.StatusNotFound:
		return false, p.notFound(op, resp) // deleted since the listing
	case !ok2xx(resp):
		return false, p.statusError(op, resp)
	}
	var u coreUserJSON
	if err := p.decode(op, resp, &u); err != nil {
		return false, err
	}
	return u.Department == p.marker, nil
}

// holding reads one marked user's access-user object.
func (p *Provider) holding(ctx context.Context, op string, m accessMemberJSON) (acs.Holding, bool, error) {
	au, found, err := p.findAccessUser(ctx, op, "user_id", string(m.UserID))
	if err != nil || !found {
		return acs.Holding{}, false, err
	}
	h := acs.Holding{
		Cardholder:  acs.CardholderRef{ID: string(au.UserID), ExternalID: string(au.ExternalID)},
		FirstName:   m.FirstName,
		LastName:    m.LastName,
		Credentials: []acs.HeldCredential{},
	}
	if h.FirstName == "" && h.LastName == "" {
		h.FirstName = strings.TrimSpace(m.FullName)
	}
	levels := make([]string, 0, len(au.AccessGroups))
	for _, g := range au.AccessGroups {
		levels = append(levels, string(g.GroupID))
	}
	for _, c := range au.Cards {
		hc := acs.HeldCredential{
			Ref: acs.CredentialRef{ID: string(c.CardID), CardholderID: h.Cardholder.ID,
				CardholderExternalID: h.Cardholder.ExternalID, Card: cardOf(c)},
			Active:       c.Active,
			AccessLevels: append([]string(nil), levels...),
			ValidFrom:    au.StartDate.Time,
			ValidUntil:   au.EndDate.Time,
		}
		h.Credentials = append(h.Credentials, hc)
	}
	return h, true, nil
}

// cardOf maps a Verkada card to acs card data; the format is empty for a
// type the SDK has no layout for.
func cardOf(c cardJSON) acs.Card {
	n, _ := cardNumber(c)
	out := acs.Card{Number: n}
	if f, ok := formatOfType(c.Type); ok {
		out.Format = f
		if _, has := f.MaxFacility(); has {
			out.Facility, _ = parseUint(string(c.FacilityCode))
		}
	}
	return out
}
