package netbox

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

var _ acs.EmployeeAccess = (*Provider)(nil)

// checkEmployeeID validates a PERSONID given as an employee ID before any
// request, and refuses one this provider writes for visitors: those
// people are visits, not employees (NotFound).
func (p *Provider) checkEmployeeID(op, id string) error {
	if err := acs.ValidateText("employee ID", id, 128); err != nil {
		return acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if err := xmlText(id); err != nil {
		return acs.Errorf(op, Name, acs.InvalidArgument, "employee ID %v", err)
	}
	if p.ownPersonID(op, id) == nil {
		return acs.Errorf(op, Name, acs.NotFound, "person %q is a visitor created by this SDK, not an employee", id)
	}
	return nil
}

// employeePerson reads an employee's person record: NotFound when the
// controller has none or holds it deleted.
func (p *Provider) employeePerson(ctx context.Context, op, id string) (*personRec, error) {
	r, err := p.getPerson(ctx, op, id)
	switch {
	case err != nil:
		return nil, err
	case r == nil || r.deleted:
		return nil, acs.Errorf(op, Name, acs.NotFound, "the controller has no person %q", id)
	}
	return r, nil
}

// inWindow reports whether now lies within the person's ACTDATE and
// EXPDATE (an unset bound is open).
func (r *personRec) inWindow(now time.Time) bool {
	return (r.act.IsZero() || !now.Before(r.act)) && (r.exp.IsZero() || now.Before(r.exp))
}

// FindEmployee finds a NetBox person this adapter did not create
// (acs.EmployeeAccess): by its PERSONID (GetPerson), or by a card one of
// its credentials holds. The NBAPI has no search by encoded number, so a
// card is looked for as the adapter's own cards are: SearchPersonData by
// HOTSTAMP (the card number), then GetPerson of each candidate, matched
// exactly on card format and ENCODEDNUM; an employee whose credential
// carries another hot stamp is found by ID only. Enabled reports that the
// person is not deleted, now lies within its ACTDATE and EXPDATE, and one
// of its credentials is live (not DISABLED, CARDSTATUS ACTIVE, its
// CARDEXPDATE not passed); AccessLevels are the keys of its levels; Cards
// are its credentials whose card format Config.Layouts maps. People whose
// PERSONID has Config.PersonIDPrefix are visitors: NotFound.
func (p *Provider) FindEmployee(ctx context.Context, q acs.EmployeeQuery) (acs.Employee, error) {
	const op = "find_employee"
	if err := acs.ValidateEmployeeQuery(q); err != nil {
		return acs.Employee{}, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if q.ID != "" {
		if err := p.checkEmployeeID(op, q.ID); err != nil {
			return acs.Employee{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return acs.Employee{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	var r *personRec
	var err error
	if q.ID != "" {
		r, err = p.employeePerson(ctx, op, q.ID)
	} else {
		r, err = p.employeeByCard(ctx, op, q.Card)
	}
	if err != nil {
		return acs.Employee{}, err
	}
	now := p.now()
	e := acs.Employee{Cardholder: acs.CardholderRef{ID: r.id}, FirstName: r.first, LastName: r.last,
		Enabled: r.inWindow(now) && slices.ContainsFunc(r.cards, func(c cardRec) bool { return c.live(now) })}
	if e.AccessLevels, err = p.levelKeys(ctx, op, r.levels); err != nil {
		return acs.Employee{}, err
	}
	for _, c := range r.cards {
		if card, ok := p.cardOf(c.format, c.encoded); ok {
			e.Cards = append(e.Cards, card)
		}
	}
	return e, nil
}

// employeeByCard returns the person, neither deleted nor a visitor, that
// holds a credential of the card, found by its hot stamp.
func (p *Provider) employeeByCard(ctx context.Context, op string, card acs.Card) (*personRec, error) {
	format, ok := p.cardFormatName(card)
	if !ok {
		return nil, acs.Errorf(op, Name, acs.NotFound, "no NetBox card format is configured for card %s (Config.Layouts)", card)
	}
	number := uint10(card.Number)
	holders, err := p.cardHolders(ctx, op, format, number, number)
	if err != nil {
		return nil, err
	}
	for _, h := range holders {
		if !h.person.deleted && p.ownPersonID(op, h.person.id) != nil {
			return h.person, nil
		}
	}
	return nil, acs.Errorf(op, Name, acs.NotFound, "no NetBox person holds card %s as %q with hot stamp %s", card, format, number)
}

// SetEmployeeEnabled enables or disables a NetBox person's credentials
// (acs.EmployeeAccess). NetBox keeps no status on the person that the
// notes name (its ACTDATE and EXPDATE are dates an administrator sets,
// and DELETED is RemovePerson's soft delete), so, as the lenel adapter
// does with OnGuard's badges, the status method toggles the person's
// credentials with ModifyCredential DISABLED 0|1, the documented switch
// (the API guide's field list, and a public client's wire stub sending
// DISABLED 1). Enabling touches only disabled credentials whose CARDSTATUS
// is ACTIVE (another status, such as a lost card's, stays as it is);
// disabling disables every credential that is not disabled. Employees
// start with their credentials disabled. A person outside its ACTDATE and
// EXPDATE is not enabled by a check-in (PermissionDenied, nothing
// changed): the window is the administrator's.
func (p *Provider) SetEmployeeEnabled(ctx context.Context, id string, enabled bool) error {
	const op = "set_employee_enabled"
	if err := p.checkEmployeeID(op, id); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	unlock, err := p.locks.Lock(ctx, "person:"+id)
	if err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	r, err := p.employeePerson(ctx, op, id)
	if err != nil {
		return err
	}
	if enabled && !r.inWindow(p.now()) {
		return acs.Errorf(op, Name, acs.PermissionDenied,
			"person %q is outside its activation and expiration dates at the controller; a check-in does not change them", id)
	}
	for _, c := range r.cards {
		st := strings.TrimSpace(c.status)
		switch {
		case enabled && (!c.disabled || st != "" && !strings.EqualFold(st, "ACTIVE")):
			continue
		case !enabled && c.disabled:
			continue
		}
		if err := p.setDisabled(ctx, op, id, c, !enabled); err != nil {
			return err
		}
	}
	return nil
}

// SetEmployeeLevels adds access levels to a NetBox person, or takes them
// away (acs.EmployeeAccess). The keys are mapped to names first (a key the
// controller lacks is NotFound and nothing changes); then the person is
// read and, unless its levels already are as wanted, sent back with
// ModifyPerson PERSONID and ACCESSLEVELS as a list of bare names, which
// replaces the person's levels (the form Provision uses; the additive
// ACCESSLEVEL blocks are documented by one source only), so the person's
// other levels are sent unchanged. A level an administrator changes
// between the read and the write is overwritten. A removal is confirmed
// by reading the person again: a controller that kept a removed level is
// an Unknown error, so that the removal is retried rather than believed.
func (p *Provider) SetEmployeeLevels(ctx context.Context, id string, levels []string, member bool) error {
	const op = "set_employee_levels"
	if err := acs.ValidateEmployeeLevels(levels); err != nil {
		return acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if err := p.checkEmployeeID(op, id); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	names, err := p.levelNames(ctx, op, levels)
	if err != nil {
		return err
	}
	unlock, err := p.locks.Lock(ctx, "person:"+id)
	if err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	r, err := p.employeePerson(ctx, op, id)
	if err != nil {
		return err
	}
	want := slices.DeleteFunc(slices.Clone(r.levels), func(n string) bool { return !member && slices.Contains(names, n) })
	for _, n := range names {
		if member && !slices.Contains(want, n) {
			want = append(want, n)
		}
	}
	if sameSet(want, r.levels) {
		return nil
	}
	list := make([]param, len(want))
	for i, n := range want {
		list[i] = pv("ACCESSLEVEL", n)
	}
	done := func(cur *personRec) bool { return sameSet(cur.levels, want) }
	if err := p.personWrite(ctx, op, id, "ModifyPerson", []param{block("ACCESSLEVELS", list...)}, done); err != nil || member {
		return err
	}
	cur, err := p.getPerson(ctx, op, id)
	if err != nil || cur == nil || !slices.ContainsFunc(names, func(n string) bool { return slices.Contains(cur.levels, n) }) {
		return err
	}
	return acs.Errorf(op, Name, acs.Unknown, "the controller acknowledged removing levels %q from person %q but still lists them", names, id)
}
