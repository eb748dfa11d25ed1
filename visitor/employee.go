package visitor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// EmployeeMethod says how a location gates its employees' badges
// (EmployeePolicy.Method). The string values are stable: policies store
// them.
type EmployeeMethod string

// Employee gating methods.
const (
	// EmployeeToggleStatus enables the employee's cardholder at check-in
	// and disables it when the access duration ends
	// (acs.EmployeeAccess.SetEmployeeEnabled). Employees start disabled:
	// the administrator disables them at the ACS once.
	EmployeeToggleStatus EmployeeMethod = "status"
	// EmployeeToggleLevels adds the employee to EmployeePolicy.AccessLevels
	// at check-in and removes it when the duration ends
	// (acs.EmployeeAccess.SetEmployeeLevels); the cardholder stays
	// enabled and keeps its other levels. This also works for employees a
	// directory manages read-only where the ACS leaves group membership to
	// its operators (Genetec with SCIM).
	EmployeeToggleLevels EmployeeMethod = "access_levels"
)

// EmployeeType is the Visit.Type of employee check-in records.
const EmployeeType = "employee"

// EmployeePolicy is what a location's policy says about employees who must
// check in before their badge works ("check-in required for access",
// Policy.Employees). The zero value leaves employees alone.
type EmployeePolicy struct {
	// Method is how badges are gated; empty turns employee check-in off.
	Method EmployeeMethod `json:"method,omitempty"`
	// AccessDuration is how long a check-in lets the badge open doors.
	// Required with a Method.
	AccessDuration time.Duration `json:"access_duration,omitempty"`
	// AccessLevels are the levels toggled by EmployeeToggleLevels
	// (required then; at most acs.MaxAccessLevels).
	AccessLevels []string `json:"access_levels,omitempty"`
	// CheckInDoors are the doors (acs.DoorEvent.DoorID) where an
	// employee's badge swipe checks the employee in (auto check-in by
	// badge swipe, through RunDoorEvents): the swipe of a disabled badge
	// is refused by the door, the event checks the employee in, and the
	// next swipe opens. The employee is found by the event's cardholder
	// ID, else its card; the event then still goes to the
	// WithUnmatchedDoorEvents handler. A swipe by an employee already
	// checked in extends nothing (it is recorded as a door event on the
	// employee's record); CheckInEmployee does. Empty: employees check in
	// only through CheckInEmployee.
	CheckInDoors []string `json:"check_in_doors,omitempty"`
}

func (p *EmployeePolicy) validate() error {
	switch p.Method {
	case "":
		if p.AccessDuration != 0 || len(p.AccessLevels) > 0 || len(p.CheckInDoors) > 0 {
			return errors.New("visitor: the employee policy sets a duration, levels or check-in doors but no method")
		}
		return nil
	case EmployeeToggleStatus:
		if len(p.AccessLevels) > 0 {
			return errors.New("visitor: the employee policy toggles the status and lists access levels, which only the access_levels method toggles")
		}
	case EmployeeToggleLevels:
		if err := acs.ValidateEmployeeLevels(p.AccessLevels); err != nil {
			return fmt.Errorf("visitor: employee access levels: %w", err)
		}
	default:
		return fmt.Errorf("visitor: unknown employee method %q (want %q or %q)", p.Method, EmployeeToggleStatus, EmployeeToggleLevels)
	}
	if p.AccessDuration <= 0 {
		return errors.New("visitor: the employee policy needs a positive access duration")
	}
	if slices.Contains(p.CheckInDoors, "") {
		return errors.New("visitor: the employee policy lists an empty check-in door")
	}
	return nil
}

// EmployeeStatus is where an employee's access is, as far as the ACS has
// confirmed (Employee.Status).
type EmployeeStatus string

// Employee statuses.
//
//	Enabling ──ACS confirms──▶ Enabled ──duration ends, check-out──▶ Disabling ──ACS confirms──▶ Disabled
//	Enabling ──ended before any attempt──▶ Disabled
//	Enabling ──refused by the ACS at the first attempt──▶ Failed
const (
	EmployeeEnabling  EmployeeStatus = "enabling"  // the enable is queued, not yet confirmed
	EmployeeEnabled   EmployeeStatus = "enabled"   // the ACS confirmed: the badge opens doors
	EmployeeDisabling EmployeeStatus = "disabling" // the disable is queued, not yet confirmed
	EmployeeDisabled  EmployeeStatus = "disabled"  // the ACS confirmed (or nothing ever reached it)
	EmployeeFailed    EmployeeStatus = "failed"    // the ACS refused the check-in; nothing changed there
)

// Employee is the employee side of an employee check-in record
// (Visit.Employee).
//
// An employee has one record per location, whose ID is
// EmployeeRecordID(location, employee ID): it is signed in at each
// check-in and signed out when the access duration ends (or at
// CheckOutEmployee), and unlike a visit it is signed in again at the next
// check-in. Every enable and disable of the employee therefore runs in one
// outbox queue, in order, so a disable always follows the enable it
// undoes, and a queued enable nobody is executing is cancelled when access
// ends (a disable always wins over a pending enable). The operations of
// visits (Provision, SignOut, Remove…) refuse employee records.
type Employee struct {
	// ID is the employee's cardholder ID at the location's ACS.
	ID string `json:"id"`
	// Method and AccessLevels are the policy's at the last check-in: what
	// the disable undoes.
	Method       EmployeeMethod `json:"method,omitempty"`
	AccessLevels []string       `json:"access_levels,omitempty"`
	Status       EmployeeStatus `json:"status"`
	// Until is when the current (or last) check-in's access ends.
	Until time.Time `json:"until,omitzero"`
	// EnabledAt and DisabledAt are when the ACS last confirmed each.
	EnabledAt  time.Time `json:"enabled_at,omitzero"`
	DisabledAt time.Time `json:"disabled_at,omitzero"`
	// Error is the last error the ACS returned for the employee.
	Error string `json:"error,omitempty"`
}

// Live reports whether the employee's badge may open doors or is about
// to: Enabling or Enabled.
func (s EmployeeStatus) Live() bool { return s == EmployeeEnabling || s == EmployeeEnabled }

// EmployeeOp is what an OpEmployeeEnable or OpEmployeeDisable outbox item
// does at the ACS (OutboxItem.Employee).
type EmployeeOp struct {
	// ID is the employee's cardholder ID at the ACS.
	ID           string         `json:"id"`
	Method       EmployeeMethod `json:"method"`
	AccessLevels []string       `json:"access_levels,omitempty"`
}

// Outbox operations of employee check-in records.
const (
	// OpEmployeeEnable enables the employee's badge
	// (acs.EmployeeAccess.SetEmployeeEnabled true, or SetEmployeeLevels
	// member true), retried until confirmed or the access duration ends.
	OpEmployeeEnable Op = "employee_enable"
	// OpEmployeeDisable disables it again, retried until confirmed.
	OpEmployeeDisable Op = "employee_disable"
)

// Audit actions of employee check-in records.
const (
	ActEmployeeCheckIn    Action = "employee_check_in"    // an employee checked in (desk, kiosk, badge swipe)
	ActEmployeeCheckOut   Action = "employee_check_out"   // an employee checked out before the duration ended
	ActEmployeeEnd        Action = "employee_access_end"  // the employee access duration ended
	ActACSEmployeeEnable  Action = "acs_employee_enable"  // an attempt to enable an employee's badge at the ACS
	ActACSEmployeeDisable Action = "acs_employee_disable" // an attempt to disable it
)

// EmployeeRecordID returns the ID of the check-in record of the employee
// with the ACS's ID employeeID at a location: "employee-" and 32 hex
// digits of a SHA-256 of both.
func EmployeeRecordID(location, employeeID string) string {
	sum := sha256.Sum256([]byte(location + "\x00" + employeeID))
	return "employee-" + hex.EncodeToString(sum[:16])
}

// EmployeeCheckIn names an employee who checks in at a location: by the
// ACS's ID of the cardholder, or by a card it holds (the ACS is asked
// whose it is). Exactly one of EmployeeID and Card is set.
type EmployeeCheckIn struct {
	Location   string
	EmployeeID string
	Card       acs.Card
}

// employeeLocation checks that a location gates employees and returns it
// with its provider's acs.EmployeeAccess.
func (e *Engine) employeeLocation(op, location string) (*Location, acs.EmployeeAccess, error) {
	l := e.locs[location]
	if l == nil {
		return nil, nil, refusal(op, acs.InvalidArgument, "location %.40q is not configured", location)
	}
	if l.Policy.Employees.Method == "" {
		return nil, nil, refusal(op, acs.Unsupported, "location %s does not require employees to check in (Policy.Employees)", l.ID)
	}
	ea, ok := l.Provider.(acs.EmployeeAccess)
	if !ok {
		return nil, nil, refusal(op, acs.Unsupported, "the ACS of location %s (%s) cannot gate employees", l.ID, l.Provider.Name())
	}
	return l, ea, nil
}

// checkEmployeeSupport refuses a location that gates employees over a
// provider that cannot (New).
func checkEmployeeSupport(l *Location) error {
	if _, ok := l.Provider.(acs.EmployeeAccess); l.Policy.Employees.Method != "" && !ok {
		return fmt.Errorf("visitor: location %s requires employees to check in, but its ACS (%s) does not implement acs.EmployeeAccess", l.ID, l.Provider.Name())
	}
	return nil
}

// findEmployee asks the ACS who the employee is. By ID, an unreachable ACS
// does not stop the check-in: the enable is queued by ID like any other
// ACS operation. By card, the ACS must answer.
func (e *Engine) findEmployee(ctx context.Context, op string, l *Location, ea acs.EmployeeAccess, q acs.EmployeeQuery) (acs.Employee, error) {
	if err := acs.ValidateEmployeeQuery(q); err != nil {
		return acs.Employee{}, acs.Wrap(op, "", acs.InvalidArgument, err)
	}
	cctx, cancel := context.WithTimeout(ctx, e.callTimeout)
	defer cancel()
	emp, err := ea.FindEmployee(cctx, q)
	switch {
	case err == nil && emp.Cardholder.ID == "":
		return acs.Employee{}, acs.Errorf(op, l.Provider.Name(), acs.Unknown, "the ACS found an employee without an ID")
	case err == nil:
		return emp, nil
	case q.ID != "" && acs.IsRetryable(err):
		e.log.Warn("visitor: the ACS cannot look the employee up; queueing the check-in by ID", "location", l.ID, "err", err)
		return acs.Employee{Cardholder: acs.CardholderRef{ID: q.ID}}, nil
	}
	return acs.Employee{}, acs.Wrap(op, l.Provider.Name(), acs.Unknown, err)
}

// CheckInEmployee checks an employee in at a location that requires it
// (Policy.Employees): the employee's badge is enabled at the ACS, by the
// policy's method, until the access duration ends, when the sweeper
// disables it again through the outbox (retried until the ACS confirms,
// across restarts and outages). Checking in while checked in extends the
// access to a full duration from now and sends nothing to the ACS.
//
// The employee is looked up at the ACS first (by ID or card; NotFound when
// there is none). The enable is queued in the same transaction as the
// check-in and attempted at once: when the ACS is unreachable it is
// retried and CheckInEmployee returns the record with Employee.Status
// Enabling and a nil error; when the ACS refuses it (an employee a
// directory manages read-only: acs.ErrReadOnly), CheckInEmployee returns
// the record, signed out with Status Failed, and the refusal. Refusals
// are audited. The record is a Visit (see Employee).
func (e *Engine) CheckInEmployee(ctx context.Context, op Operator, req EmployeeCheckIn) (Visit, error) {
	const opName = "employee_check_in"
	r := e.newRun(ctx, op.ID, true)
	base := AuditRecord{Action: ActEmployeeCheckIn, Location: req.Location}
	err := validateOperator(opName, op)
	var l *Location
	var ea acs.EmployeeAccess
	if err == nil {
		l, ea, err = e.employeeLocation(opName, req.Location)
	}
	var emp acs.Employee
	if err == nil {
		emp, err = e.findEmployee(ctx, opName, l, ea, acs.EmployeeQuery{ID: req.EmployeeID, Card: req.Card})
	}
	if err != nil {
		if req.EmployeeID != "" && l != nil {
			base.VisitID = EmployeeRecordID(l.ID, req.EmployeeID)
		}
		e.refuse(r, base, err)
		return Visit{}, err
	}
	return e.checkIn(r, opName, base, l, emp, nil, r.now)
}

// doorCheckIn is the door event that checked an employee in.
type doorCheckIn struct {
	key string
	s   DoorSighting
}

// checkIn applies a check-in to the employee's record, creating it on the
// first check-in. Access lasts from at for the policy's duration.
func (e *Engine) checkIn(r *run, opName string, base AuditRecord, l *Location, emp acs.Employee, door *doorCheckIn, at time.Time) (Visit, error) {
	id := EmployeeRecordID(l.ID, emp.Cardholder.ID)
	base.VisitID = id
	fn := func(tx Tx, v *Visit) error { return r.checkInEmployee(tx, v, emp, door, at) }
	_, err := e.store.Visit(r.ctx, id)
	if errors.Is(err, ErrNotFound) {
		rec := Visit{ID: id, Location: l.ID, Type: EmployeeType, State: SignedOut, CreatedAt: r.now,
			Employee: &Employee{ID: emp.Cardholder.ID, Status: EmployeeDisabled}}
		v, err := e.apply(r, opName, base, id, &rec, fn)
		if !errors.Is(err, acs.ErrAlreadyExists) {
			return v, err
		}
	} else if err != nil {
		return Visit{}, err
	}
	return e.apply(r, opName, base, id, nil, fn)
}

// checkInEmployee is the transaction of a check-in.
func (r *run) checkInEmployee(tx Tx, v *Visit, emp acs.Employee, door *doorCheckIn, at time.Time) error {
	em := v.Employee
	if em == nil || em.ID != emp.Cardholder.ID {
		return refusal("employee_check_in", acs.Conflict, "visit %s is not the check-in record of employee %s", v.ID, emp.Cardholder.ID)
	}
	pol := &r.loc.Policy.Employees
	rec := AuditRecord{Action: ActEmployeeCheckIn, Outcome: OutcomeQueued}
	if door != nil {
		if v.Doors.seen(door.key, door.s.Time) {
			return errUnchanged
		}
		v.Doors.add(door.key, door.s)
		rec.Door = door.s
		if !door.s.Card.IsZero() {
			rec.Card = door.s.Card.String()
		}
	}
	if emp.FirstName != "" || emp.LastName != "" {
		v.Visitor, v.Scrubbed = Visitor{FirstName: emp.FirstName, LastName: emp.LastName}, false
	}
	until := at.Add(pol.AccessDuration)
	if v.State == SignedIn && em.Status.Live() && door != nil {
		// A swipe while checked in is a door event, not a new check-in.
		rec.Action, rec.Outcome, rec.Time = ActDoor, OutcomeDenied, door.s.Time
		if door.s.Granted {
			rec.Outcome = OutcomeOK
		}
		return r.audit(tx, v, rec)
	}
	if v.State == SignedIn && em.Status.Live() {
		if until.After(em.Until) {
			em.Until = until
		}
		rec.Outcome, rec.AccessLevels = OutcomeOK, em.AccessLevels
		rec.Reason = "already checked in: access until " + em.Until.UTC().Format(time.RFC3339)
		return r.audit(tx, v, rec)
	}
	if v.Version > 0 {
		rec.From = v.State
	}
	v.State, v.SignedInAt = SignedIn, at
	v.EndedAt, v.EndedBy, v.EndReason = time.Time{}, "", ""
	em.Method, em.AccessLevels = pol.Method, slices.Clone(pol.AccessLevels)
	em.Status, em.Until, em.Error = EmployeeEnabling, until, ""
	rec.AccessLevels = em.AccessLevels
	if err := r.audit(tx, v, rec); err != nil {
		return err
	}
	return r.enqueue(tx, v, OutboxItem{Op: OpEmployeeEnable, Credential: -1, Employee: em.op()})
}

func (em *Employee) op() *EmployeeOp {
	return &EmployeeOp{ID: em.ID, Method: em.Method, AccessLevels: slices.Clone(em.AccessLevels)}
}

// CheckOutEmployee ends a checked-in employee's access now, before the
// duration ends: the badge is disabled through the outbox. An employee
// who is not checked in is returned unchanged; one who never checked in at
// the location is NotFound.
func (e *Engine) CheckOutEmployee(ctx context.Context, op Operator, location, employeeID string) (Visit, error) {
	const opName = "employee_check_out"
	r := e.newRun(ctx, op.ID, true)
	base := AuditRecord{Action: ActEmployeeCheckOut, Location: location}
	err := validateOperator(opName, op)
	if err == nil {
		_, _, err = e.employeeLocation(opName, location)
	}
	if err == nil && employeeID == "" {
		err = refusal(opName, acs.InvalidArgument, "no employee ID")
	}
	if err != nil {
		e.refuse(r, base, err)
		return Visit{}, err
	}
	id := EmployeeRecordID(location, employeeID)
	base.VisitID = id
	return e.apply(r, opName, base, id, nil, func(tx Tx, v *Visit) error {
		if v.Employee == nil {
			return refusal(opName, acs.Conflict, "visit %s is not an employee check-in record", v.ID)
		}
		if v.State != SignedIn {
			return errUnchanged
		}
		return r.endEmployee(tx, v, "checked out", ActEmployeeCheckOut)
	})
}

// EmployeeRecord returns the check-in record of an employee at a location
// (NotFound when the employee never checked in there).
func (e *Engine) EmployeeRecord(ctx context.Context, location, employeeID string) (Visit, error) {
	return e.Visit(ctx, EmployeeRecordID(location, employeeID))
}

// endEmployee ends the employee's access: the record is signed out, a
// queued enable nobody is executing is cancelled, and a disable is queued
// unless nothing ever reached the ACS.
func (r *run) endEmployee(tx Tx, v *Visit, reason string, action Action) error {
	em := v.Employee
	rec := AuditRecord{Action: action, From: v.State, To: SignedOut, Outcome: OutcomeQueued, Reason: reason, AccessLevels: em.AccessLevels}
	v.State, v.EndedAt, v.EndedBy, v.EndReason = SignedOut, r.now, r.actor, reason
	queued, err := tx.Outbox()
	if err != nil {
		return err
	}
	need, pending := em.Status == EmployeeEnabled, false
	for _, it := range queued {
		switch {
		case it.Op == OpEmployeeDisable:
			pending = true
		case it.Op != OpEmployeeEnable:
		case it.Leased(r.now):
			need = true // being attempted: the disable follows it
		default:
			if err := tx.Cancel(it.ID); err != nil {
				return err
			}
			need = need || it.Attempts > 0 // it may have reached the ACS
		}
	}
	switch {
	case need:
		em.Status = EmployeeDisabling
		if err := r.audit(tx, v, rec); err != nil {
			return err
		}
		return r.enqueue(tx, v, OutboxItem{Op: OpEmployeeDisable, Credential: -1, Employee: em.op()})
	case pending:
		em.Status = EmployeeDisabling
	case em.Status.Live():
		em.Status, em.DisabledAt = EmployeeDisabled, r.now
		rec.Outcome = OutcomeOK
		rec.Reason += "; the enable never reached the ACS"
	}
	return r.audit(tx, v, rec)
}

// sweepEmployee ends a checked-in employee's access once its duration is
// over.
func (r *run) sweepEmployee(tx Tx, v *Visit) error {
	if v.State != SignedIn || r.now.Before(v.Employee.Until) {
		return nil
	}
	return r.endEmployee(tx, v, "the employee access duration ended", ActEmployeeEnd)
}

// employeeDue is when the sweeper must look at an employee record: when
// its access ends.
func employeeDue(v *Visit) time.Time {
	if v.State == SignedIn {
		return v.Employee.Until
	}
	return time.Time{}
}

// guardVisitOp refuses the operations of visits on employee records.
func guardVisitOp(op string, fn func(tx Tx, v *Visit) error) func(tx Tx, v *Visit) error {
	switch op {
	case "employee_check_in", "employee_check_out":
		return fn
	}
	return func(tx Tx, v *Visit) error {
		if v.Employee != nil {
			return refusal(op, acs.Conflict, "visit %s is an employee check-in record; use CheckInEmployee and CheckOutEmployee", v.ID)
		}
		return fn(tx, v)
	}
}

// prepareEmployee skips an enable that is no longer wanted: its record's
// access ended while the item waited.
func (e *Engine) prepareEmployee(ctx context.Context, it OutboxItem) (attempt, error) {
	v, err := e.store.Visit(ctx, it.VisitID)
	if err != nil {
		return attempt{}, err
	}
	return attempt{skipped: v.Employee == nil || v.Employee.Status != EmployeeEnabling || it.Employee == nil}, nil
}

// callEmployee makes an employee item's call at the ACS.
func callEmployee(ctx context.Context, p acs.Provider, it OutboxItem) error {
	ea, ok := p.(acs.EmployeeAccess)
	if !ok || it.Employee == nil {
		return acs.Errorf(string(it.Op), p.Name(), acs.Unsupported, "the ACS cannot gate employees")
	}
	eo, enable := it.Employee, it.Op == OpEmployeeEnable
	if eo.Method == EmployeeToggleLevels {
		return ea.SetEmployeeLevels(ctx, eo.ID, eo.AccessLevels, enable)
	}
	return ea.SetEmployeeEnabled(ctx, eo.ID, enable)
}

// settleEmployee records an attempt of an employee item.
func (r *run) settleEmployee(tx Tx, v *Visit, it OutboxItem, a attempt) (refused, err error) {
	if v.Employee == nil {
		return nil, tx.Complete(it.LeaseOwner, it.ID)
	}
	rec := AuditRecord{Actor: ActorSystem, Attempt: it.Attempts, Outcome: OutcomeOK}
	if it.Employee != nil {
		rec.AccessLevels = it.Employee.AccessLevels
	}
	if a.err != nil {
		rec.Error = a.err.Error()
	}
	if it.Op == OpEmployeeDisable {
		rec.Action = ActACSEmployeeDisable
		err = r.settleDisable(tx, v, it, a.err, &rec)
	} else {
		rec.Action = ActACSEmployeeEnable
		refused, err = r.settleEnable(tx, v, it, a, &rec)
	}
	if err != nil {
		return nil, err
	}
	return refused, r.audit(tx, v, rec)
}

// settleEnable records an attempt to enable: confirmed, retried until the
// access ends, or refused (the check-in fails; when an earlier attempt
// may have landed, a disable follows).
func (r *run) settleEnable(tx Tx, v *Visit, it OutboxItem, a attempt, rec *AuditRecord) (refused, err error) {
	em := v.Employee
	switch {
	case a.skipped:
		rec.Reason = "no longer wanted: the employee's access ended first"
		return nil, tx.Complete(it.LeaseOwner, it.ID)
	case a.err == nil:
		if err := tx.Complete(it.LeaseOwner, it.ID); err != nil {
			return nil, err
		}
		switch em.Status {
		case EmployeeEnabling:
			em.Status, em.EnabledAt, em.Error = EmployeeEnabled, r.now, ""
		case EmployeeDisabled, EmployeeFailed:
			// Ended and confirmed disabled before this enable landed.
			em.Status = EmployeeDisabling
			return nil, r.enqueue(tx, v, OutboxItem{Op: OpEmployeeDisable, Credential: -1, Employee: em.op()})
		}
		return nil, nil // Disabling: the disable queued behind follows
	case em.Status != EmployeeEnabling:
		em.Error, rec.Outcome = a.err.Error(), OutcomeFailed
		return nil, tx.Complete(it.LeaseOwner, it.ID)
	case !definite(a.err) && r.now.Before(em.Until):
		em.Error = a.err.Error()
		return nil, r.retry(tx, it, a.err, rec)
	}
	refused = a.err
	if !definite(a.err) {
		refused = &acs.Error{Op: string(it.Op), Code: acs.Unavailable, Err: a.err,
			Message: "the employee access duration ended before the ACS confirmed the check-in"}
	}
	rec.Outcome, rec.Error, em.Error = OutcomeFailed, refused.Error(), refused.Error()
	if err := tx.Complete(it.LeaseOwner, it.ID); err != nil {
		return nil, err
	}
	from := v.State
	v.State, v.EndedAt, v.EndedBy, v.EndReason = SignedOut, r.now, ActorSystem, "the ACS refused the check-in"
	rec.From, rec.To = from, SignedOut
	if it.Attempts <= 1 && definite(a.err) {
		em.Status = EmployeeFailed // nothing changed at the ACS
		return refused, nil
	}
	em.Status = EmployeeDisabling // an earlier attempt may have landed
	return refused, r.enqueue(tx, v, OutboxItem{Op: OpEmployeeDisable, Credential: -1, Employee: em.op()})
}

// settleDisable records an attempt to disable: confirmed, or retried
// forever (a stuck one is escalated). An employee or level the ACS no
// longer has opens nothing: NotFound confirms the disable.
func (r *run) settleDisable(tx Tx, v *Visit, it OutboxItem, callErr error, rec *AuditRecord) error {
	em := v.Employee
	if callErr != nil && acs.CodeOf(callErr) != acs.NotFound {
		em.Error = callErr.Error()
		return r.retry(tx, it, callErr, rec)
	}
	if callErr != nil {
		rec.Reason = "the ACS no longer has the employee or level: nothing left to disable"
	}
	if err := tx.Complete(it.LeaseOwner, it.ID); err != nil {
		return err
	}
	if em.Status == EmployeeDisabling {
		em.Status, em.DisabledAt, em.Error = EmployeeDisabled, r.now, ""
	}
	return nil // Enabling: a check-in queued an enable behind this disable
}

// lateEmployee handles an enable whose outcome came after the lease was
// lost: if it may have landed for an employee whose access ended, and no
// disable nobody holds is queued behind it, the employee is disabled
// again.
func (e *Engine) lateEmployee(ctx context.Context, it OutboxItem, a attempt) (Visit, []OutboxItem, error) {
	if a.skipped || (a.err != nil && definite(a.err)) {
		return Visit{}, nil, nil
	}
	r := e.newRun(context.WithoutCancel(ctx), ActorSystem, true)
	v, err := e.store.Update(r.ctx, it.VisitID, r.txFunc(func(tx Tx, v *Visit) error {
		em := v.Employee
		if em == nil || em.Status.Live() {
			return errUnchanged
		}
		queued, err := tx.Outbox()
		if err != nil {
			return err
		}
		for _, q := range queued {
			if q.Op == OpEmployeeDisable && q.LeaseOwner == "" && q.ID != it.ID {
				return errUnchanged
			}
		}
		em.Status = EmployeeDisabling
		rec := AuditRecord{Action: ActLateOutcome, Outcome: OutcomeQueued, Attempt: it.Attempts,
			Reason: "an enable reached the ACS after this engine lost its lease, for an employee whose access ended: disabling again"}
		if err := r.audit(tx, v, rec); err != nil {
			return err
		}
		return r.enqueue(tx, v, OutboxItem{Op: OpEmployeeDisable, Credential: -1, Employee: em.op()})
	}))
	if errors.Is(err, errUnchanged) || errors.Is(err, ErrNotFound) {
		return Visit{}, nil, nil
	}
	if err != nil {
		return Visit{}, nil, err
	}
	return v, r.next, nil
}

// employeeDoor checks an employee in on a door event at one of the
// location's check-in doors (EmployeePolicy.CheckInDoors) that matched no
// visit. A card or cardholder that is no employee, or a check-in the ACS
// refuses, is audited or logged and skipped; only a store failure, or an
// ACS that cannot be asked, is an error (the consumer then delivers the
// event again).
func (e *Engine) employeeDoor(ctx context.Context, l *Location, ev acs.DoorEvent) error {
	const opName = "employee_check_in"
	pol := &l.Policy.Employees
	if pol.Method == "" || ev.Direction == acs.DirectionOut || !slices.Contains(pol.CheckInDoors, ev.DoorID) {
		return nil
	}
	now := e.clock.Now()
	at := minTime(ev.Time, now)
	if !at.Add(pol.AccessDuration).After(now) {
		return nil // an old event replayed: its check-in would be over
	}
	q := acs.EmployeeQuery{ID: ev.Cardholder.ID}
	if q.ID == "" {
		if ev.Card.IsZero() {
			return nil
		}
		q.Card = ev.Card
	}
	l, ea, err := e.employeeLocation(opName, l.ID)
	if err != nil {
		return nil
	}
	emp, err := e.findEmployee(ctx, opName, l, ea, q)
	switch {
	case acs.CodeOf(err) == acs.NotFound || acs.CodeOf(err) == acs.InvalidArgument:
		return nil // not an employee
	case err != nil && acs.IsRetryable(err):
		return err
	case err != nil:
		e.log.Warn("visitor: the ACS refused the employee lookup of a check-in door event", "location", l.ID, "door", ev.DoorID, "err", err)
		return nil
	}
	s := DoorSighting{Location: l.ID, DoorID: ev.DoorID, DoorName: ev.DoorName, Time: ev.Time,
		Granted: ev.Granted, Direction: ev.Direction, Card: ev.Card, Cursor: ev.Cursor}
	r := e.newRun(ctx, ActorACS, true)
	base := AuditRecord{Action: ActEmployeeCheckIn, Location: l.ID, Door: s}
	_, err = e.checkIn(r, opName, base, l, emp, &doorCheckIn{key: doorKey(l.ID, &ev), s: s}, at)
	if err != nil && isACSError(err) {
		return nil // refused (audited) or the enable refused by the ACS (recorded)
	}
	return err
}
