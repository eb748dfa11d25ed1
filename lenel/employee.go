package lenel

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strconv"

	"github.com/acsbridge/acsbridge/acs"
)

var (
	_ acs.EmployeeAccess    = (*Provider)(nil)
	_ acs.UnknownCardEvents = (*Provider)(nil)
)

// employeeType is the person type of employees: OnGuard's cardholders.
const employeeType = "Lnl_Cardholder"

// readOnlyWords match a refusal saying the cardholder is kept by a
// directory or another system: OnGuard's wording for a write to a
// cardholder its directory synchronisation manages is not public, so the
// adapter reads the words (in the message or the code) such a refusal is
// likely to hold.
var readOnlyWords = regexp.MustCompile(`(?i)(read[- ]?only|readonly|synchroni[sz]|\bscim\b|\bldap\b|directory|managed by|cannot be modified)`)

// FindEmployee finds an OnGuard cardholder (Lnl_Cardholder) and its badges
// (acs.EmployeeAccess): by its ID, or by the badge of a card (the badge ID
// WithBadgeID computes from the card; an active badge is preferred).
// Enabled reports whether one of its badges has Config.ActiveStatus and
// has not ended; AccessLevels are the levels assigned to its badges; Cards
// are its badges' cards when WithCardFunc maps badge IDs back to cards.
// Visitors (Lnl_Visitor) are not employees: NotFound.
func (p *Provider) FindEmployee(ctx context.Context, q acs.EmployeeQuery) (acs.Employee, error) {
	const op = "find_employee"
	if err := acs.ValidateEmployeeQuery(q); err != nil {
		return acs.Employee{}, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	var id int64
	var err error
	if q.ID != "" {
		if id, err = parseKey(op, "employee ID", q.ID); err != nil {
			return acs.Employee{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return acs.Employee{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	st, err := p.statusIDs(ctx, op)
	if err != nil {
		return acs.Employee{}, err
	}
	if id == 0 {
		if id, err = p.employeeByCard(ctx, op, st, q.Card); err != nil {
			return acs.Employee{}, err
		}
	}
	person, badges, err := p.employee(ctx, op, id)
	if err != nil {
		return acs.Employee{}, err
	}
	e := acs.Employee{Cardholder: acs.CardholderRef{ID: strconv.FormatInt(id, 10)},
		FirstName: person.str("FIRSTNAME"), LastName: person.str("LASTNAME"), AccessLevels: []string{}}
	for _, b := range badges {
		bw, _ := b.window()
		e.Enabled = e.Enabled || bw.live(st.active, p.now())
		if b.ID.ok && p.cardOf != nil {
			if c, ok := p.cardOf(b.ID.n); ok {
				e.Cards = append(e.Cards, c)
			}
		}
		as, err := p.list(ctx, op, "Lnl_AccessLevelAssignment", eqInt("BADGEKEY", bw.key))
		if err != nil {
			return acs.Employee{}, err
		}
		for _, a := range as {
			if l, ok := a.int("ACCESSLEVELID"); ok && !slices.Contains(e.AccessLevels, strconv.FormatInt(l, 10)) {
				e.AccessLevels = append(e.AccessLevels, strconv.FormatInt(l, 10))
			}
		}
	}
	slices.Sort(e.AccessLevels)
	return e, nil
}

// employeeByCard returns the person holding the badge of the card.
func (p *Provider) employeeByCard(ctx context.Context, op string, st statusIDs, card acs.Card) (int64, error) {
	badgeID, err := p.badgeID(card)
	if err != nil {
		return 0, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	badges, err := p.badges(ctx, op, eqInt("ID", badgeID))
	if err != nil {
		return 0, err
	}
	var found int64
	for _, b := range badges {
		bw, ok := b.window()
		if !ok || b.ID.n != badgeID {
			continue
		}
		if bw.live(st.active, p.now()) {
			return bw.personID, nil
		}
		if found == 0 {
			found = bw.personID
		}
	}
	if found == 0 {
		return 0, acs.Errorf(op, Name, acs.NotFound, "no badge has badge ID %d (card %s)", badgeID, card)
	}
	return found, nil
}

// employee reads a cardholder and its badges: NotFound when OnGuard lists
// no cardholder with the ID.
func (p *Provider) employee(ctx context.Context, op string, id int64) (props, []badgeRecord, error) {
	people, err := p.list(ctx, op, employeeType, eqInt("ID", id))
	if err != nil {
		return nil, nil, err
	}
	i := slices.IndexFunc(people, func(it props) bool { n, _ := it.int("ID"); return n == id })
	if i < 0 {
		return nil, nil, acs.Errorf(op, Name, acs.NotFound, "no cardholder has ID %d", id)
	}
	badges, err := p.badges(ctx, op, eqInt("PERSONID", id))
	if err != nil {
		return nil, nil, err
	}
	badges = slices.DeleteFunc(badges, func(b badgeRecord) bool { bw, ok := b.window(); return !ok || bw.personID != id })
	return people[i], badges, nil
}

// SetEmployeeEnabled enables or disables an OnGuard cardholder's badges
// (acs.EmployeeAccess): OnGuard keeps no status on the cardholder itself,
// so enabling sets every badge whose status is Config.RevokedStatus to
// Config.ActiveStatus, and disabling sets every active badge to
// Config.RevokedStatus (PUT /instances Lnl_Badge {BADGEKEY, STATUS}).
// Badges in other statuses (Lost, Terminated) are never touched, so a lost
// badge is not enabled by a check-in. Employees start with their badges in
// Config.RevokedStatus. A refusal saying the cardholder is read-only or
// synchronised by a directory is acs.ErrReadOnly.
func (p *Provider) SetEmployeeEnabled(ctx context.Context, id string, enabled bool) error {
	const op = "set_employee_enabled"
	pid, err := parseKey(op, "employee ID", id)
	if err != nil {
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
	st, err := p.statusIDs(ctx, op)
	if err != nil {
		return err
	}
	_, badges, err := p.employee(ctx, op, pid)
	if err != nil {
		return err
	}
	from, to := st.active, st.revoked
	if enabled {
		from, to = st.revoked, st.active
	}
	for _, b := range badges {
		bw, _ := b.window()
		if bw.status != from {
			continue
		}
		if err := p.modify(ctx, op, "Lnl_Badge", map[string]any{"BADGEKEY": bw.key, "STATUS": to}); err != nil {
			return readOnlyError(op, pid, err)
		}
	}
	return nil
}

// readOnlyError turns a refused write into acs.ErrReadOnly when the
// refusal says the cardholder is kept by a directory.
func readOnlyError(op string, pid int64, err error) error {
	var ae *APIError
	if err == nil || !errors.As(err, &ae) || !readOnlyWords.MatchString(ae.Message+" "+ae.Code) {
		return err
	}
	return acs.ReadOnly(op, Name, "cardholder "+strconv.FormatInt(pid, 10)+" is managed read-only by a directory; toggle access levels instead", err)
}

// SetEmployeeLevels assigns access levels to, or removes them from, every
// badge of an OnGuard cardholder that is not lost or terminated (any badge
// in Config.ActiveStatus or Config.RevokedStatus): the levels are checked
// first (one that does not exist is NotFound and nothing changes), then
// each badge's assignments are listed and only the differences sent
// (POST or DELETE /instances Lnl_AccessLevelAssignment, without a window:
// the badge's own applies). A cardholder without such a badge has nothing
// to change.
func (p *Provider) SetEmployeeLevels(ctx context.Context, id string, levels []string, member bool) error {
	const op = "set_employee_levels"
	if err := acs.ValidateEmployeeLevels(levels); err != nil {
		return acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	pid, err := parseKey(op, "employee ID", id)
	if err != nil {
		return err
	}
	ids := make([]int64, len(levels))
	for i, l := range levels {
		if ids[i], err = parseKey(op, "access level", l); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	found, err := p.list(ctx, op, "Lnl_AccessLevel", anyInt("ID", ids))
	if err != nil {
		return err
	}
	for _, l := range ids {
		if !hasID(found, "ID", l) {
			return acs.Errorf(op, Name, acs.NotFound, "access level %d does not exist", l)
		}
	}
	unlock, err := p.locks.Lock(ctx, "employee:"+id)
	if err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	st, err := p.statusIDs(ctx, op)
	if err != nil {
		return err
	}
	_, badges, err := p.employee(ctx, op, pid)
	if err != nil {
		return err
	}
	for _, b := range badges {
		if bw, _ := b.window(); bw.status == st.active || bw.status == st.revoked {
			if err := p.badgeLevels(ctx, op, bw.key, ids, member); err != nil {
				return readOnlyError(op, pid, err)
			}
		}
	}
	return nil
}

// badgeLevels adds the levels to, or removes them from, one badge.
func (p *Provider) badgeLevels(ctx context.Context, op string, key int64, ids []int64, member bool) error {
	as, err := p.list(ctx, op, "Lnl_AccessLevelAssignment", eqInt("BADGEKEY", key))
	if err != nil {
		return err
	}
	for _, l := range ids {
		k := keys{"ACCESSLEVELID": l, "BADGEKEY": key}
		switch has := k.in(as); {
		case has == member:
		case member:
			_, err = p.create(ctx, op, "Lnl_AccessLevelAssignment", "ACCESSLEVELID", map[string]any{"ACCESSLEVELID": l, "BADGEKEY": key})
			if err != nil {
				_, err = p.assignedAfter(ctx, op, key, l, err)
			}
		default:
			err = p.remove(ctx, op, "Lnl_AccessLevelAssignment", k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ReportsUnknownCards reports whether door events carry the card data of
// badges OnGuard does not know (acs.UnknownCardEvents): they do when
// WithCardFunc maps a logged badge ID back to a card, since OnGuard logs
// the badge ID it read for an "Invalid Badge" too.
func (p *Provider) ReportsUnknownCards() bool { return p.cardOf != nil }
