package acstest

import (
	"context"
	"errors"
	"slices"
	"sort"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// EmployeeSpec describes a cardholder an administrator created at the ACS
// (an employee), for EmployeeHarness.AddEmployee and Memory.AddEmployee.
type EmployeeSpec struct {
	FirstName, LastName string
	// Card is the card of the employee's one credential.
	Card acs.Card
	// Enabled is the cardholder's status.
	Enabled bool
	// ReadOnly marks the cardholder as managed read-only by a directory
	// (SCIM, Active Directory): its status cannot be changed through the
	// ACS's API.
	ReadOnly bool
	// AccessLevels are the levels the employee holds.
	AccessLevels []string
}

var (
	_ acs.EmployeeAccess    = (*Memory)(nil)
	_ acs.UnknownCardEvents = (*Memory)(nil)
)

// farFuture bounds the window of an employee's credential: employees'
// badges have no end.
var farFuture = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// AddEmployee stores a cardholder with one credential as an administrator
// would (not through Provision): it carries no external ID, so Holdings
// leaves it out, and EmployeeAccess finds and toggles it. It returns the
// credential's reference (for Opens); CardholderID is the employee's ID.
// A card another credential holds is refused (false).
func (m *Memory) AddEmployee(e EmployeeSpec) (acs.CredentialRef, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, taken := m.byCard[e.Card]; taken || acs.ValidateCard(e.Card) != nil {
		return acs.CredentialRef{}, false
	}
	h := &memHolder{
		ref:      acs.CardholderRef{ID: m.nextID("emp-")},
		person:   acs.Person{FirstName: e.FirstName, LastName: e.LastName},
		employee: true, disabled: !e.Enabled, readOnly: e.ReadOnly,
	}
	m.holders[h.ref.ID] = h
	c := &memCred{
		ref:    acs.CredentialRef{ID: m.nextID("cr-"), CardholderID: h.ref.ID, Card: e.Card},
		levels: slices.Clone(e.AccessLevels), till: farFuture, active: true,
	}
	m.creds[c.ref.ID] = c
	m.byCard[e.Card] = c.ref.ID
	return c.ref, true
}

// employee resolves an employee's ID; nil when absent. m.mu is held.
func (m *Memory) employee(id string) *memHolder {
	h := m.holders[id]
	if h == nil || !h.employee {
		return nil
	}
	return h
}

// FindEmployee finds an employee by ID or by the card of one of its
// credentials (acs.EmployeeAccess). Cardholders made by Provision are not
// employees.
func (m *Memory) FindEmployee(ctx context.Context, q acs.EmployeeQuery) (acs.Employee, error) {
	const op = "find_employee"
	if err := acs.ValidateEmployeeQuery(q); err != nil {
		return acs.Employee{}, acs.Wrap(op, m.name, acs.InvalidArgument, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin(ctx, op); err != nil {
		return acs.Employee{}, err
	}
	id := q.ID
	if id == "" {
		if cid, ok := m.byCard[q.Card]; ok && m.creds[cid].active {
			id = m.creds[cid].ref.CardholderID
		}
	}
	h := m.employee(id)
	if h == nil {
		return acs.Employee{}, acs.Errorf(op, m.name, acs.NotFound, "no employee matches %+v", q)
	}
	e := acs.Employee{Cardholder: h.ref, FirstName: h.person.FirstName, LastName: h.person.LastName, Enabled: !h.disabled}
	for _, c := range m.creds {
		if c.ref.CardholderID != h.ref.ID {
			continue
		}
		e.Cards = append(e.Cards, c.ref.Card)
		for _, l := range c.levels {
			if !slices.Contains(e.AccessLevels, l) {
				e.AccessLevels = append(e.AccessLevels, l)
			}
		}
	}
	sort.Strings(e.AccessLevels)
	return e, nil
}

// SetEmployeeEnabled sets an employee's status (acs.EmployeeAccess). A
// read-only employee is refused with acs.ErrReadOnly.
func (m *Memory) SetEmployeeEnabled(ctx context.Context, id string, enabled bool) error {
	const op = "set_employee_enabled"
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin(ctx, op); err != nil {
		return err
	}
	h := m.employee(id)
	switch {
	case id == "":
		return acs.Errorf(op, m.name, acs.InvalidArgument, "no employee ID")
	case h == nil:
		return acs.Errorf(op, m.name, acs.NotFound, "no employee %q", id)
	case h.readOnly:
		return acs.ReadOnly(op, m.name, "employee "+id+" is managed by a directory", nil)
	}
	h.disabled = !enabled
	return m.end(op)
}

// SetEmployeeLevels adds the access levels to, or removes them from, every
// credential of an employee (acs.EmployeeAccess). Group membership of a
// read-only employee may be changed, as at ACSs whose directory sync
// leaves groups alone.
func (m *Memory) SetEmployeeLevels(ctx context.Context, id string, levels []string, member bool) error {
	const op = "set_employee_levels"
	if err := acs.ValidateEmployeeLevels(levels); err != nil {
		return acs.Wrap(op, m.name, acs.InvalidArgument, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin(ctx, op); err != nil {
		return err
	}
	h := m.employee(id)
	if h == nil {
		return acs.Errorf(op, m.name, acs.NotFound, "no employee %q", id)
	}
	for _, l := range levels {
		if _, ok := m.levels[l]; !ok {
			return acs.Errorf(op, m.name, acs.NotFound, "access level %q does not exist", l)
		}
	}
	for _, c := range m.creds {
		if c.ref.CardholderID != h.ref.ID {
			continue
		}
		c.levels = slices.DeleteFunc(c.levels, func(l string) bool { return slices.Contains(levels, l) })
		if member {
			c.levels = append(c.levels, levels...)
		}
	}
	return m.end(op)
}

// ReportsUnknownCards reports true: a Memory's door events carry the card
// presented, known or not (acs.UnknownCardEvents).
func (m *Memory) ReportsUnknownCards() bool { return true }

// AddEmployee adds an employee to the harness's Memory (EmployeeHarness).
func (h *memHarness) AddEmployee(_ context.Context, e EmployeeSpec) (acs.CredentialRef, error) {
	ref, ok := h.m.AddEmployee(e)
	if !ok {
		return acs.CredentialRef{}, errors.New("memory: card taken or invalid")
	}
	return ref, nil
}
