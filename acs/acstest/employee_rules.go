package acstest

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/acsbridge/acsbridge/acs"
)

// EmployeeHarness may be implemented by a harness whose backend can hold
// cardholders created by an administrator (employees), so that the kit
// checks acs.EmployeeAccess. Its Opens must answer for the returned
// credential reference as for a provisioned one, honouring the
// cardholder's status and access levels.
type EmployeeHarness interface {
	// AddEmployee stores e in the backend as an administrator would, not
	// through the provider, and returns a reference to its credential
	// whose CardholderID is the employee's ID at the ACS. A backend that
	// cannot make a cardholder read-only answers an error matching
	// acs.ErrUnsupported when e.ReadOnly is set; the rule needing it is
	// then skipped.
	AddEmployee(ctx context.Context, e EmployeeSpec) (acs.CredentialRef, error)
}

func init() {
	rules = append(rules, employeeRules...)
}

var employeeRules = []rule{
	{"EmployeeFind", "acs.EmployeeAccess (when implemented, with a harness that can add employees) finds an employee by ID and by card with its status and levels; an unknown card is NotFound; a query naming neither or both is InvalidArgument",
		"look the cardholder up by the ACS's ID, or find the credential carrying the card and read its holder; report the status and levels the ACS holds", checkEmployeeFind},
	{"EmployeeStatus", "enabling a disabled employee lets its badge open its levels' doors, disabling stops it, and each is idempotent",
		"set the cardholder's status (not a credential's) and treat an unchanged status as success", checkEmployeeStatus},
	{"EmployeeLevels", "adding an access level to an employee opens its doors, removing it closes them, the employee's other levels stay, and each is idempotent",
		"add or remove only the named levels, reading the current membership first; an ACS that refuses a second add must not fail the retry", checkEmployeeLevels},
	{"EmployeeUnknownLevel", "adding an access level the backend lacks is NotFound and changes nothing",
		"check every level before changing any membership", checkEmployeeUnknownLevel},
	{"EmployeeReadOnly", "changing the status of an employee the ACS manages read-only (directory sync) is a PermissionDenied error matching acs.ErrReadOnly and changes nothing",
		"classify the ACS's refusal of a change to a synchronised cardholder with acs.ReadOnly", checkEmployeeReadOnly},
	{"EmployeeCancelled", "a cancelled context stops every acs.EmployeeAccess method with a Canceled error and changes nothing",
		"pass ctx to every request and check it before the first", checkEmployeeCancelled},
}

// employeeSetup returns the provider's EmployeeAccess and the harness's
// EmployeeHarness, or errNotImplemented.
func employeeSetup(h Harness) (acs.EmployeeAccess, EmployeeHarness, error) {
	ea, ok := h.Provider().(acs.EmployeeAccess)
	eh, ok2 := h.(EmployeeHarness)
	if !ok || !ok2 {
		return nil, nil, errNotImplemented
	}
	return ea, eh, nil
}

// employee adds the n-th test employee.
func employee(ctx context.Context, eh EmployeeHarness, n int, enabled, readOnly bool, levels ...string) (acs.CredentialRef, error) {
	e := EmployeeSpec{
		FirstName: "Test", LastName: fmt.Sprintf("Employee%d", n),
		Card:    acs.Card{Format: acs.H10301, Facility: 42, Number: uint64(5000 + n)},
		Enabled: enabled, ReadOnly: readOnly, AccessLevels: levels,
	}
	ref, err := eh.AddEmployee(ctx, e)
	if err != nil {
		if errors.Is(err, acs.ErrUnsupported) {
			return ref, errNotImplemented
		}
		return ref, fmt.Errorf("harness AddEmployee: %w", err)
	}
	if ref.CardholderID == "" {
		return ref, errors.New("harness AddEmployee returned no cardholder ID")
	}
	if ref.Card.IsZero() {
		ref.Card = e.Card
	}
	return ref, nil
}

func checkEmployeeFind(ctx context.Context, h Harness) error {
	ea, eh, err := employeeSetup(h)
	if err != nil {
		return err
	}
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	ref, err := employee(ctx, eh, 1, true, false, l0)
	if err != nil {
		return err
	}
	byID, err := ea.FindEmployee(ctx, acs.EmployeeQuery{ID: ref.CardholderID})
	if err != nil {
		return fmt.Errorf("find by ID: %w", err)
	}
	byCard, err := ea.FindEmployee(ctx, acs.EmployeeQuery{Card: ref.Card})
	if err != nil {
		return fmt.Errorf("find by card %s: %w", ref.Card, err)
	}
	var errs []error
	for what, e := range map[string]acs.Employee{"by ID": byID, "by card": byCard} {
		switch {
		case e.Cardholder.ID != ref.CardholderID:
			errs = append(errs, fmt.Errorf("%s: found cardholder %q, want %q", what, e.Cardholder.ID, ref.CardholderID))
		case !e.Enabled:
			errs = append(errs, fmt.Errorf("%s: an enabled employee is reported disabled", what))
		case !slices.Contains(e.AccessLevels, l0):
			errs = append(errs, fmt.Errorf("%s: levels %v lack %q", what, e.AccessLevels, l0))
		case !slices.Contains(e.Cards, ref.Card):
			errs = append(errs, fmt.Errorf("%s: cards %v lack %s", what, e.Cards, ref.Card))
		}
	}
	unknown := acs.Card{Format: acs.H10301, Facility: 42, Number: 4999}
	if _, err := ea.FindEmployee(ctx, acs.EmployeeQuery{Card: unknown}); acs.CodeOf(err) != acs.NotFound {
		errs = append(errs, fmt.Errorf("find by an unknown card: got %v, want not found", err))
	}
	for _, q := range []acs.EmployeeQuery{{}, {ID: ref.CardholderID, Card: ref.Card}} {
		if _, err := ea.FindEmployee(ctx, q); acs.CodeOf(err) != acs.InvalidArgument {
			errs = append(errs, fmt.Errorf("query %+v: got %v, want invalid argument", q, err))
		}
	}
	return errors.Join(errs...)
}

func checkEmployeeStatus(ctx context.Context, h Harness) error {
	ea, eh, err := employeeSetup(h)
	if err != nil {
		return err
	}
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	ref, err := employee(ctx, eh, 2, false, false, l0)
	if err != nil {
		return err
	}
	now := h.Now()
	if err := expectOpens(ctx, h, ref, false, now, l0); err != nil {
		return fmt.Errorf("the harness's disabled employee: %w", err)
	}
	if e, err := ea.FindEmployee(ctx, acs.EmployeeQuery{ID: ref.CardholderID}); err != nil || e.Enabled {
		return fmt.Errorf("find a disabled employee: enabled %v, error %v; want disabled", e.Enabled, err)
	}
	for _, enabled := range []bool{true, false} {
		for i := 1; i <= 2; i++ {
			if err := ea.SetEmployeeEnabled(ctx, ref.CardholderID, enabled); err != nil {
				return fmt.Errorf("set enabled %v #%d: %w", enabled, i, err)
			}
			if err := expectOpens(ctx, h, ref, enabled, h.Now(), l0); err != nil {
				return fmt.Errorf("after set enabled %v #%d: %w", enabled, i, err)
			}
		}
		e, err := ea.FindEmployee(ctx, acs.EmployeeQuery{ID: ref.CardholderID})
		if err != nil {
			return fmt.Errorf("find: %w", err)
		}
		if e.Enabled != enabled {
			return fmt.Errorf("find after set enabled %v reports enabled %v", enabled, e.Enabled)
		}
	}
	return nil
}

func checkEmployeeLevels(ctx context.Context, h Harness) error {
	ea, eh, err := employeeSetup(h)
	if err != nil {
		return err
	}
	l0, l1, err := levels(h)
	if err != nil {
		return err
	}
	ref, err := employee(ctx, eh, 3, true, false, l1)
	if err != nil {
		return err
	}
	if err := expectOpens(ctx, h, ref, false, h.Now(), l0); err != nil {
		return fmt.Errorf("the harness's employee: %w", err)
	}
	for _, member := range []bool{true, false} {
		for i := 1; i <= 2; i++ {
			if err := ea.SetEmployeeLevels(ctx, ref.CardholderID, []string{l0}, member); err != nil {
				return fmt.Errorf("set level %q member %v #%d: %w", l0, member, i, err)
			}
			now := h.Now()
			if err := expectOpens(ctx, h, ref, member, now, l0); err != nil {
				return fmt.Errorf("after set member %v #%d: %w", member, i, err)
			}
			if err := expectOpens(ctx, h, ref, true, now, l1); err != nil {
				return fmt.Errorf("the employee's other level after set member %v #%d: %w", member, i, err)
			}
		}
	}
	return nil
}

func checkEmployeeUnknownLevel(ctx context.Context, h Harness) error {
	ea, eh, err := employeeSetup(h)
	if err != nil {
		return err
	}
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	unknown := "acstest-no-such-level"
	if u, ok := h.(UnknownLevelHarness); ok {
		unknown = u.UnknownAccessLevel()
	}
	ref, err := employee(ctx, eh, 4, true, false)
	if err != nil {
		return err
	}
	err = ea.SetEmployeeLevels(ctx, ref.CardholderID, []string{l0, unknown}, true)
	if acs.CodeOf(err) != acs.NotFound {
		return fmt.Errorf("adding levels %q and %q: got %v, want not found", l0, unknown, err)
	}
	return expectOpens(ctx, h, ref, false, h.Now(), l0)
}

func checkEmployeeReadOnly(ctx context.Context, h Harness) error {
	ea, eh, err := employeeSetup(h)
	if err != nil {
		return err
	}
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	ref, err := employee(ctx, eh, 5, false, true, l0)
	if err != nil {
		return err
	}
	err = ea.SetEmployeeEnabled(ctx, ref.CardholderID, true)
	if !errors.Is(err, acs.ErrReadOnly) || acs.CodeOf(err) != acs.PermissionDenied {
		return fmt.Errorf("enabling a read-only employee: got %v (code %v), want permission denied matching acs.ErrReadOnly", err, acs.CodeOf(err))
	}
	var ae *acs.Error
	if !errors.As(err, &ae) || ae.Provider != h.Provider().Name() {
		return fmt.Errorf("the refusal does not name provider %q: %v", h.Provider().Name(), err)
	}
	return expectOpens(ctx, h, ref, false, h.Now(), l0)
}

func checkEmployeeCancelled(ctx context.Context, h Harness) error {
	ea, eh, err := employeeSetup(h)
	if err != nil {
		return err
	}
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	ref, err := employee(ctx, eh, 6, false, false)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	calls := map[string]error{}
	_, calls["FindEmployee"] = ea.FindEmployee(cctx, acs.EmployeeQuery{ID: ref.CardholderID})
	calls["SetEmployeeEnabled"] = ea.SetEmployeeEnabled(cctx, ref.CardholderID, true)
	calls["SetEmployeeLevels"] = ea.SetEmployeeLevels(cctx, ref.CardholderID, []string{l0}, true)
	var errs []error
	for _, name := range []string{"FindEmployee", "SetEmployeeEnabled", "SetEmployeeLevels"} {
		if err := calls[name]; !errors.Is(err, context.Canceled) || acs.CodeOf(err) != acs.Canceled {
			errs = append(errs, fmt.Errorf("%s: got %v, want an error matching context.Canceled with code canceled", name, err))
		}
	}
	// Nothing changed: still disabled and without the level.
	e, err := ea.FindEmployee(ctx, acs.EmployeeQuery{ID: ref.CardholderID})
	switch {
	case err != nil:
		return errors.Join(append(errs, fmt.Errorf("find: %w", err))...)
	case e.Enabled || slices.Contains(e.AccessLevels, l0):
		errs = append(errs, fmt.Errorf("the cancelled calls changed the employee: %+v", e))
	}
	if err := ea.SetEmployeeEnabled(ctx, ref.CardholderID, true); err != nil {
		return errors.Join(append(errs, fmt.Errorf("enable: %w", err))...)
	}
	if err := expectOpens(ctx, h, ref, false, h.Now(), l0); err != nil {
		errs = append(errs, fmt.Errorf("the cancelled calls changed the backend: %w", err))
	}
	return errors.Join(errs...)
}
