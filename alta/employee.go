package alta

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"

	"github.com/acsbridge/acsbridge/acs"
)

var _ acs.EmployeeAccess = (*Provider)(nil)

// readOnlyWords match a refusal saying the user is kept by a directory:
// Alta's wording for a change to a user its identity-provider sync (SCIM,
// Azure AD, Google Workspace) manages is not in the notes, so the adapter
// reads the words such a refusal is likely to hold.
var readOnlyWords = regexp.MustCompile(`(?i)(read[- ]?only|\bscim\b|identity provider|directory|synchroni[sz]ed|managed by|\bidp\b)`)

// FindEmployee finds an Alta user (acs.EmployeeAccess): by its ID (GET
// /users/{id}), or by a card one of its credentials carries (GET
// /credentials?q=<card number>, then the match compared exactly). Enabled
// is the user's status A; AccessLevels its groups; Cards those of its
// card credentials (GET /users/{id}/credentials). Users this adapter
// created for visits (their synthetic e-mail) are not employees:
// NotFound.
func (p *Provider) FindEmployee(ctx context.Context, q acs.EmployeeQuery) (acs.Employee, error) {
	const op = "find_employee"
	if err := acs.ValidateEmployeeQuery(q); err != nil {
		return acs.Employee{}, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	var uid int64
	var err error
	if q.ID != "" {
		if uid, err = parseID(op, "employee ID", q.ID); err != nil {
			return acs.Employee{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return acs.Employee{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	if err := p.ensureFormats(ctx, op); err != nil {
		return acs.Employee{}, err
	}
	if uid == 0 {
		if uid, err = p.employeeByCard(ctx, op, q.Card); err != nil {
			return acs.Employee{}, err
		}
	}
	u, err := p.employeeUser(ctx, op, uid)
	if err != nil {
		return acs.Employee{}, err
	}
	e := acs.Employee{Cardholder: acs.CardholderRef{ID: idSegment(uid)}, FirstName: string(u.Identity.FirstName),
		LastName: string(u.Identity.LastName), Enabled: u.Status == "A", AccessLevels: []string{}}
	for _, g := range u.groupIDs() {
		e.AccessLevels = append(e.AccessLevels, idSegment(g))
	}
	creds, gone, err := p.userCredentials(ctx, op, uid)
	if err == nil && gone {
		err = acs.Errorf(op, Name, acs.NotFound, "Alta user %d was deleted meanwhile", uid)
	}
	for _, c := range creds {
		if card, ok := p.cardOf(c.Card); ok {
			e.Cards = append(e.Cards, card)
		}
	}
	return e, err
}

// employeeByCard returns the user holding a credential with the card.
func (p *Provider) employeeByCard(ctx context.Context, op string, card acs.Card) (int64, error) {
	raw, err := rawNumber(card)
	if err != nil {
		return 0, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	var uid int64
	err = listAll(ctx, p, op, p.org("/credentials"), url.Values{"q": {strconv.FormatUint(card.Number, 10)}}, func(c credJSON) bool {
		if c.User != nil && p.holdsCard(c.Card, card, raw) {
			uid = int64(c.User.ID)
			return false
		}
		return true
	})
	if err == nil && uid == 0 {
		err = acs.Errorf(op, Name, acs.NotFound, "no Alta user holds card %s", card)
	}
	return uid, err
}

// employeeUser reads a user that is no visitor of this adapter: NotFound
// when Alta says there is none.
func (p *Provider) employeeUser(ctx context.Context, op string, uid int64) (userJSON, error) {
	resp, err := p.call(ctx, op, request{method: http.MethodGet, path: p.org("/users/" + idSegment(uid)), idempotent: true})
	if err != nil {
		return userJSON{}, err
	}
	if resp.Status == http.StatusNotFound || resp.Status == http.StatusGone {
		return userJSON{}, acs.Errorf(op, Name, acs.NotFound, "no Alta user %d", uid)
	}
	if !ok2xx(resp) {
		return userJSON{}, p.statusError(op, resp)
	}
	u, err := decodeData[userJSON](p, op, resp)
	switch {
	case err != nil:
		return userJSON{}, err
	case int64(u.ID) != uid:
		return userJSON{}, acs.Errorf(op, Name, acs.Unknown, "asked for user %d, Alta answered with user %d", uid, u.ID)
	case p.isVisitorEmail(u.Identity.Email):
		return userJSON{}, acs.Errorf(op, Name, acs.NotFound, "Alta user %d is a visitor created by this SDK, not an employee", uid)
	}
	return u, nil
}

// SetEmployeeEnabled sets an Alta user's status (acs.EmployeeAccess): GET
// /users/{id} and, unless it already is as wanted, PUT
// /users/{id}/status {"status":"A"} to enable or {"status":"S"}
// (suspended) to disable. Only a user with status A opens doors. A user
// with status I (inactive: the notes infer the meaning of I, A and S) is
// never enabled by a check-in, so that a deactivated account stays
// deactivated: enabling one is PermissionDenied. A refusal saying the user
// is kept by an identity provider is acs.ErrReadOnly.
func (p *Provider) SetEmployeeEnabled(ctx context.Context, id string, enabled bool) error {
	const op = "set_employee_enabled"
	uid, err := parseID(op, "employee ID", id)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	u, err := p.employeeUser(ctx, op, uid)
	if err != nil {
		return err
	}
	want := "S"
	switch {
	case enabled && u.Status == "I":
		return acs.Errorf(op, Name, acs.PermissionDenied, "Alta user %d is inactive (status I); only a suspended user (S) is enabled at check-in", uid)
	case enabled:
		want = "A"
	case u.Status != "A":
		return nil // suspended or inactive: opens nothing already
	}
	if u.Status == want {
		return nil
	}
	resp, err := p.call(ctx, op, request{method: http.MethodPut, path: p.org("/users/" + idSegment(uid) + "/status"),
		body: map[string]string{"status": want}, idempotent: true})
	if err == nil && !ok2xx(resp) {
		err = p.statusError(op, resp)
	}
	return readOnlyError(op, uid, err)
}

// readOnlyError turns a refused change into acs.ErrReadOnly when the
// refusal says an identity provider keeps the user.
func readOnlyError(op string, uid int64, err error) error {
	var ae *APIError
	if err == nil || acs.CodeOf(err) == acs.RateLimited || !errors.As(err, &ae) || !readOnlyWords.MatchString(ae.Message) {
		return err
	}
	return acs.ReadOnly(op, Name, "Alta user "+strconv.FormatInt(uid, 10)+" is managed read-only by an identity provider; toggle groups instead", err)
}

// SetEmployeeLevels adds an Alta user to groups, or takes it out of them
// (acs.EmployeeAccess): every group must exist (NotFound otherwise, and
// nothing changes); then one PATCH /users/{id}/groupIds {"add":[…]} or
// {"remove":[…]}, which changes only the named groups and is idempotent.
func (p *Provider) SetEmployeeLevels(ctx context.Context, id string, levels []string, member bool) error {
	const op = "set_employee_levels"
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
	if _, err := p.employeeUser(ctx, op, uid); err != nil {
		return err
	}
	body := map[string][]int64{"add": slices.Clone(groups)}
	if !member {
		body = map[string][]int64{"remove": slices.Clone(groups)}
	}
	resp, err := p.call(ctx, op, request{method: http.MethodPatch, path: p.org("/users/" + idSegment(uid) + "/groupIds"),
		body: body, idempotent: true})
	if err == nil && !ok2xx(resp) {
		err = p.statusError(op, resp)
	}
	return readOnlyError(op, uid, err)
}
