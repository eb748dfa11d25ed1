package brivo

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"

	"github.com/acsbridge/acsbridge/acs"
)

var (
	_ acs.EmployeeAccess    = (*Provider)(nil)
	_ acs.UnknownCardEvents = (*Provider)(nil)
)

// readOnlyWords match a refusal saying the user is kept by a directory:
// Brivo's wording for a write to a user its identity-provider sync
// manages is not documented, so the adapter reads the words such a refusal
// is likely to hold.
var readOnlyWords = regexp.MustCompile(`(?i)(read[- ]?only|\bscim\b|identity provider|directory|synchroni[sz]ed|managed by|cannot be (modified|edited|changed))`)

// FindEmployee finds a Brivo user (acs.EmployeeAccess): by its ID (GET
// /users/{id}), or by a card one of its credentials carries (the assigned
// credentials listed under the card's number, GET /credentials/{id}/user
// for each match). Enabled is the opposite of the user's suspended flag,
// AccessLevels its groups (GET /users/{id}/groups), Cards those of its
// credentials (GET /users/{id}/credentials): four requests by ID, more by
// card. A user that does not exist is NotFound.
func (p *Provider) FindEmployee(ctx context.Context, q acs.EmployeeQuery) (acs.Employee, error) {
	const op = "find employee"
	if err := acs.ValidateEmployeeQuery(q); err != nil {
		return acs.Employee{}, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	var uid int64
	if q.ID != "" {
		var err error
		if uid, err = parseID(op, "employee ID", q.ID); err != nil {
			return acs.Employee{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return acs.Employee{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	if uid == 0 {
		var err error
		if uid, err = p.employeeByCard(ctx, op, q.Card); err != nil {
			return acs.Employee{}, err
		}
	}
	u, err := p.employeeUser(ctx, op, uid)
	if err != nil {
		return acs.Employee{}, err
	}
	e := acs.Employee{Cardholder: acs.CardholderRef{ID: idSegment(u.ID)}, FirstName: u.FirstName, LastName: u.LastName,
		Enabled: !u.Suspended, AccessLevels: []string{}}
	groups, gone, err := p.userGroups(ctx, op, uid)
	if err == nil && !gone {
		for _, g := range groups {
			e.AccessLevels = append(e.AccessLevels, idSegment(g.ID))
		}
		var creds []credentialJSON
		creds, gone, err = p.userCredentials(ctx, op, uid)
		for _, c := range creds {
			if card, ok := p.cardOf(c); ok {
				e.Cards = append(e.Cards, card)
			}
		}
	}
	if err == nil && gone {
		err = acs.Errorf(op, Name, acs.NotFound, "user %d was deleted meanwhile", uid)
	}
	return e, err
}

// employeeByCard returns the user holding an assigned credential with the
// card: NotFound when none does.
func (p *Provider) employeeByCard(ctx context.Context, op string, card acs.Card) (int64, error) {
	encoded, err := encodeCard(card)
	if err != nil {
		return 0, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if _, err := p.loadFormats(ctx, op); err != nil {
		return 0, err
	}
	_, users, err := p.cardHolders(ctx, op, card, encoded)
	if err != nil {
		return 0, err
	}
	if len(users) == 0 {
		return 0, acs.Errorf(op, Name, acs.NotFound, "no Brivo user holds card %s", card)
	}
	return users[0].ID, nil
}

// employeeUser reads a user: NotFound when Brivo says there is none.
func (p *Provider) employeeUser(ctx context.Context, op string, uid int64) (userJSON, error) {
	resp, err := p.call(ctx, op, request{method: http.MethodGet, path: idPath("/users/", uid, ""), idempotent: true})
	if err != nil {
		return userJSON{}, err
	}
	if brivoNotFound(resp) {
		return userJSON{}, acs.Errorf(op, Name, acs.NotFound, "no Brivo user %d", uid)
	}
	if !ok2xx(resp) {
		return userJSON{}, p.statusError(op, resp)
	}
	var u userJSON
	if err := p.decode(op, resp, &u); err != nil {
		return userJSON{}, err
	}
	if u.ID != uid {
		return userJSON{}, acs.Errorf(op, Name, acs.Unknown, "asked for user %d, Brivo answered with user %d", uid, u.ID)
	}
	return u, nil
}

// SetEmployeeEnabled reinstates (enabled) or suspends a Brivo user
// (acs.EmployeeAccess): GET /users/{id} and, unless the user already is as
// wanted, PUT /users/{id}/suspended {"suspended":…}. A suspended user's
// credentials open no door. A refusal whose message says the user is
// read-only or kept by an identity provider or directory is
// acs.ErrReadOnly.
func (p *Provider) SetEmployeeEnabled(ctx context.Context, id string, enabled bool) error {
	const op = "set employee enabled"
	uid, err := parseID(op, "employee ID", id)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	u, err := p.employeeUser(ctx, op, uid)
	if err != nil || u.Suspended != enabled {
		return err
	}
	return readOnlyError(op, uid, p.setSuspended(ctx, op, uid, !enabled))
}

// readOnlyError turns a refused write to a user into acs.ErrReadOnly when
// the refusal says a directory keeps the user.
func readOnlyError(op string, uid int64, err error) error {
	var ae *APIError
	if err == nil || acs.CodeOf(err) == acs.RateLimited || !errors.As(err, &ae) || !readOnlyWords.MatchString(ae.Message) {
		return err
	}
	return acs.ReadOnly(op, Name, "Brivo user "+strconv.FormatInt(uid, 10)+" is managed read-only by a directory; toggle groups instead", err)
}

// SetEmployeeLevels adds a Brivo user to groups, or takes it out of them
// (acs.EmployeeAccess): every group must exist (the group catalogue,
// refreshed when one is unknown: NotFound and nothing changes), the user's
// groups are listed (GET /users/{id}/groups) and only the differences are
// sent, PUT or DELETE /groups/{group}/users/{id}, each idempotent. Brivo
// allows a user at most 16 groups.
func (p *Provider) SetEmployeeLevels(ctx context.Context, id string, levels []string, member bool) error {
	const op = "set employee levels"
	if err := acs.ValidateEmployeeLevels(levels); err != nil {
		return acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	uid, err := parseID(op, "employee ID", id)
	if err != nil {
		return err
	}
	groups := make([]int64, len(levels))
	for i, l := range levels {
		if groups[i], err = parseID(op, "access level", l); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	if err := p.ensureGroups(ctx, op, groups); err != nil {
		return err
	}
	have, gone, err := p.userGroups(ctx, op, uid)
	if err != nil {
		return err
	}
	if gone {
		return acs.Errorf(op, Name, acs.NotFound, "no Brivo user %d", uid)
	}
	for _, gid := range groups {
		in := slices.ContainsFunc(have, func(g idName) bool { return g.ID == gid })
		switch {
		case in == member:
		case member:
			err = p.joinGroup(ctx, op, uid, gid)
		default:
			err = p.leaveGroup(ctx, op, uid, gid)
		}
		if err != nil {
			return readOnlyError(op, uid, err)
		}
	}
	return nil
}

// joinGroup puts the user into a group: PUT /groups/{gid}/users/{uid}.
func (p *Provider) joinGroup(ctx context.Context, op string, uid, gid int64) error {
	resp, err := p.call(ctx, op, request{method: http.MethodPut,
		path: idPath2("/groups/", gid, "/users/", uid), idempotent: true})
	if err != nil {
		return err
	}
	if !ok2xx(resp) {
		return p.statusError(op, resp)
	}
	return nil
}

// ReportsUnknownCards reports true: Brivo's access event of a card it does
// not know carries the frame as eventData.unknownWeigand, which Events
// decodes into DoorEvent.Card when exactly one known format fits
// (acs.UnknownCardEvents).
func (p *Provider) ReportsUnknownCards() bool { return true }
