package verkada

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

var _ acs.EmployeeAccess = (*Provider)(nil)

// disabledStart is the access start date SetEmployeeEnabled writes to
// disable an employee without an access end date (2100-01-01 00:00 UTC):
// before it, Verkada holds every method of access invalid (§2.2).
var disabledStart = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

// enableLead is how far before now SetEmployeeEnabled puts the start date
// of an employee it enables, so that a Verkada clock a little behind the
// VMS's does not keep the badge shut for the first moments.
const enableLead = time.Minute

// employeeUser is an employee as Verkada holds it: the Core user (names)
// and the access-user object (groups, cards, dates).
type employeeUser struct {
	core   coreUserJSON
	access accessUserJSON
}

// enabled reports whether the access window holds at: not before the
// start date and before the end date (an unset date is no bound).
func (u employeeUser) enabled(at time.Time) bool {
	s, e := u.access.StartDate.Time, u.access.EndDate.Time
	return (s.IsZero() || !at.Before(s)) && (e.IsZero() || at.Before(e))
}

// hasGroup reports whether the user is a member of access group gid.
func (u employeeUser) hasGroup(gid string) bool {
	return slices.ContainsFunc(u.access.AccessGroups, func(g groupRef) bool { return string(g.GroupID) == gid })
}

// FindEmployee finds a Verkada user that this adapter did not create
// (acs.EmployeeAccess): by its user_id (GET /core/v1/user for the names,
// then the access-user object), or by a card it holds. Verkada offers no
// search of cards by number, so a search by card reads the user listing
// (GET /access/v1/access_users) and the access-user object of each user
// without the visitor marker until one holds a card of the card's type and
// data: one request per page and per user read, which at Verkada's 300
// requests a minute makes a search by card slow in a large organisation;
// a check-in by ID (a door event names the user) costs 2. Enabled reports
// whether the user's access window (start_date, end_date) holds now;
// AccessLevels are its access groups; Cards its cards of known types.
// Users carrying the visitor marker department are not employees:
// NotFound.
func (p *Provider) FindEmployee(ctx context.Context, q acs.EmployeeQuery) (acs.Employee, error) {
	const op = "find_employee"
	if err := acs.ValidateEmployeeQuery(q); err != nil {
		return acs.Employee{}, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if q.ID != "" {
		if err := checkID(op, "employee ID", q.ID); err != nil {
			return acs.Employee{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return acs.Employee{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	id := q.ID
	if id == "" {
		var err error
		if id, err = p.employeeByCard(ctx, op, q.Card); err != nil {
			return acs.Employee{}, err
		}
	}
	u, err := p.employee(ctx, op, id)
	if err != nil {
		return acs.Employee{}, err
	}
	e := acs.Employee{Cardholder: acs.CardholderRef{ID: string(u.access.UserID)}, FirstName: u.core.FirstName,
		LastName: u.core.LastName, Enabled: u.enabled(p.now()), AccessLevels: []string{}}
	for _, g := range u.access.AccessGroups {
		e.AccessLevels = append(e.AccessLevels, string(g.GroupID))
	}
	for _, c := range u.access.Cards {
		if card := cardOf(c); card.Format.Known() {
			e.Cards = append(e.Cards, card)
		}
	}
	return e, nil
}

// employeeByCard returns the user_id of the first user without the
// visitor marker whose access-user object holds the card.
func (p *Provider) employeeByCard(ctx context.Context, op string, card acs.Card) (string, error) {
	found := ""
	err := p.pages(ctx, op, "/access/v1/access_users", nil, func(body []byte) error {
		var pg struct {
			Members []accessMemberJSON `json:"access_members"`
		}
		if err := json.Unmarshal(body, &pg); err != nil {
			return acs.Errorf(op, Name, acs.Unknown, "unreadable access-user listing")
		}
		for _, m := range pg.Members {
			if checkID(op, "user ID", string(m.UserID)) != nil || m.Department != nil && p.markedRow(m) {
				continue
			}
			au, ok, err := p.findAccessUser(ctx, op, "user_id", string(m.UserID))
			if err != nil {
				return err
			}
			if ok && slices.ContainsFunc(au.Cards, func(c cardJSON) bool { return holdsCard(c, card) }) {
				found = string(au.UserID)
				return errFound // no further page
			}
		}
		return nil
	})
	if errors.Is(err, errFound) {
		err = nil
	}
	if err == nil && found == "" {
		err = acs.Errorf(op, Name, acs.NotFound, "no Verkada user holds card %s", card)
	}
	return found, err
}

// errFound stops the listing once the card's holder is found.
var errFound = errors.New("verkada: card holder found")

// markedRow reports whether a listing row carries the visitor marker.
func (p *Provider) markedRow(m accessMemberJSON) bool {
	var d flexString
	return d.UnmarshalJSON(m.Department) == nil && string(d) == p.marker
}

// holdsCard reports whether a Verkada card is the card: a type of the
// card's format and the same data.
func holdsCard(c cardJSON, card acs.Card) bool {
	f, ok := formatOfType(c.Type)
	return ok && f == card.Format && sameData(c, card)
}

// employee reads a user that is no visitor of this adapter: the Core user
// (NotFound when Verkada has none, or when it carries the visitor marker)
// and its access-user object.
func (p *Provider) employee(ctx context.Context, op, id string) (employeeUser, error) {
	resp, err := p.call(ctx, op, request{method: http.MethodGet, path: "/core/v1/user",
		query: url.Values{"user_id": {id}}, idempotent: true})
	switch {
	case err != nil:
		return employeeUser{}, err
	case resp.Status == http.StatusNotFound:
		if err := p.notFound(op, resp); err != nil {
			return employeeUser{}, err
		}
		return employeeUser{}, acs.Errorf(op, Name, acs.NotFound, "no Verkada user %s", id)
	case !ok2xx(resp):
		return employeeUser{}, p.statusError(op, resp)
	}
	var u employeeUser
	if err := p.decode(op, resp, &u.core); err != nil {
		return employeeUser{}, err
	}
	if u.core.Department == p.marker {
		return employeeUser{}, acs.Errorf(op, Name, acs.NotFound, "Verkada user %s is a visitor created by this SDK, not an employee", id)
	}
	au, found, err := p.findAccessUser(ctx, op, "user_id", id)
	if err == nil && !found {
		err = acs.Errorf(op, Name, acs.NotFound, "no Verkada access user %s", id)
	}
	u.access = au
	return u, err
}

// SetEmployeeEnabled opens or shuts a Verkada user's access window
// (acs.EmployeeAccess). Verkada keeps no status on an access user; its
// start date is the documented switch: "Before this time, all methods of
// access … invalid" (§2.2). Enabling a user whose window does not hold
// now moves the start date to now (less a minute) with PUT
// /access/v1/access_users/user/start_date. Disabling one whose window
// holds moves the start date to 2100-01-01 00:00 UTC; a user with an end date is
// shut by moving the end date to now instead (Verkada keeps the start
// before the end). A user whose end date has passed, or who has an end
// date and a start date still to come, is not enabled by a check-in
// (PermissionDenied, nothing changed): the first is access an
// administrator ended, the second could only be shut again by moving the
// administrator's end date.
func (p *Provider) SetEmployeeEnabled(ctx context.Context, id string, enabled bool) error {
	const op = "set_employee_enabled"
	if err := checkID(op, "employee ID", id); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	unlock, err := p.locks.Lock(ctx, "employee:"+id)
	if err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	u, err := p.employee(ctx, op, id)
	if err != nil {
		return err
	}
	now := p.now()
	if u.enabled(now) == enabled {
		return nil
	}
	end := u.access.EndDate.Time
	switch {
	case enabled && !end.IsZero() && !now.Before(end):
		return acs.Errorf(op, Name, acs.PermissionDenied, "the access of Verkada user %s ended at %s; a check-in does not extend it", id, end.Format(time.RFC3339))
	case enabled && !end.IsZero():
		return acs.Errorf(op, Name, acs.PermissionDenied,
			"Verkada user %s has an access end date; enabling it by its start date could not be undone without moving that date: toggle access groups instead", id)
	case enabled:
		return p.putEmployeeDate(ctx, op, id, "start_date", now.Add(-enableLead))
	case end.IsZero():
		return p.putEmployeeDate(ctx, op, id, "start_date", disabledStart)
	}
	shut := now.Truncate(time.Second)
	if start := u.access.StartDate.Time; !start.IsZero() && !start.Before(shut) {
		shut = start.Add(time.Second) // the end must follow the start
	}
	return p.putEmployeeDate(ctx, op, id, "end_date", shut)
}

// putEmployeeDate sets an employee's start_date or end_date (Unix seconds
// as a string, §2.2). A 404 is NotFound: the user is gone.
func (p *Provider) putEmployeeDate(ctx context.Context, op, id, field string, t time.Time) error {
	v := strconv.FormatInt(t.Unix(), 10)
	var body any = startDateJSON{StartDate: v}
	if field == "end_date" {
		body = endDateJSON{EndDate: v}
	}
	resp, err := p.call(ctx, op, request{method: http.MethodPut, path: "/access/v1/access_users/user/" + field,
		query: url.Values{"user_id": {id}}, body: body, idempotent: true})
	switch {
	case err != nil:
		return err
	case resp.Status == http.StatusNotFound:
		if err := p.notFound(op, resp); err != nil {
			return err
		}
		return acs.Errorf(op, Name, acs.NotFound, "Verkada user %s is gone", id)
	case !ok2xx(resp):
		return p.statusError(op, resp)
	}
	return nil
}

// SetEmployeeLevels adds a Verkada user to access groups, or takes it out
// of them (acs.EmployeeAccess): every group must exist (NotFound
// otherwise, and nothing changes); the user's groups are read, and only a
// missing membership is added (PUT /access/v1/access_groups/group/user,
// an unsuccessful add checked by reading the user again) or a present one
// removed (DELETE …/group/user?group_id=…&user_id=…, a 404 meaning it is
// gone already). The user's other groups stay.
func (p *Provider) SetEmployeeLevels(ctx context.Context, id string, levels []string, member bool) error {
	const op = "set_employee_levels"
	if err := acs.ValidateEmployeeLevels(levels); err != nil {
		return acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if err := checkID(op, "employee ID", id); err != nil {
		return err
	}
	for _, l := range levels {
		if err := checkID(op, "access level", l); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	unlock, err := p.locks.Lock(ctx, "employee:"+id)
	if err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	if err := p.ensureGroups(ctx, op, levels); err != nil {
		return err
	}
	u, err := p.employee(ctx, op, id)
	if err != nil {
		return err
	}
	for _, gid := range levels {
		switch has := u.hasGroup(gid); {
		case member && !has:
			err = p.addToGroup(ctx, op, id, gid)
		case !member && has:
			err = p.removeFromGroup(ctx, op, id, gid)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// removeFromGroup takes a user out of an access group; Verkada's 404 (the
// membership or the group is gone) is the goal.
func (p *Provider) removeFromGroup(ctx context.Context, op, uid, gid string) error {
	resp, err := p.call(ctx, op, request{method: http.MethodDelete, path: "/access/v1/access_groups/group/user",
		query: url.Values{"group_id": {gid}, "user_id": {uid}}, idempotent: true})
	switch {
	case err != nil:
		return err
	case ok2xx(resp):
		return nil
	case resp.Status == http.StatusNotFound:
		return p.notFound(op, resp)
	}
	return p.statusError(op, resp)
}
