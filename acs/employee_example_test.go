package acs_test

import (
	"errors"
	"fmt"

	"github.com/acsbridge/acsbridge/acs"
)

func ExampleReadOnly() {
	// An adapter whose ACS refuses to change a cardholder kept in sync by
	// a directory says so with acs.ReadOnly.
	vendor := errors.New("entity is synchronized from Azure AD")
	err := acs.ReadOnly("set_employee_enabled", "example", "cardholder 42 is managed by a directory", vendor)
	fmt.Println(errors.Is(err, acs.ErrReadOnly), errors.Is(err, acs.ErrPermissionDenied), acs.IsRetryable(err))
	fmt.Println(err)
	// Output:
	// true true false
	// example set_employee_enabled: permission denied: cardholder 42 is managed by a directory: acs: the cardholder is managed read-only at the ACS: entity is synchronized from Azure AD
}

func ExampleValidateEmployeeQuery() {
	fmt.Println(acs.ValidateEmployeeQuery(acs.EmployeeQuery{ID: "42"}))
	fmt.Println(acs.ValidateEmployeeQuery(acs.EmployeeQuery{}))
	// Output:
	// <nil>
	// invalid argument: employee query names neither an ID nor a card
}
