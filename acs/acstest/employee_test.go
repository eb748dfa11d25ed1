package acstest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
)

func ExampleMemory_AddEmployee() {
	ctx := context.Background()
	mem := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}})
	card := acs.Card{Format: acs.H10301, Facility: 7, Number: 4711}
	ref, _ := mem.AddEmployee(acstest.EmployeeSpec{FirstName: "Grace", LastName: "Hopper", Card: card, AccessLevels: []string{"lobby"}})
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

	var ea acs.EmployeeAccess = mem
	e, _ := ea.FindEmployee(ctx, acs.EmployeeQuery{Card: card})
	fmt.Println(e.FirstName, "enabled:", e.Enabled, "opens:", mem.Opens(ref, "lobby", now))

	_ = ea.SetEmployeeEnabled(ctx, e.Cardholder.ID, true) // checked in
	fmt.Println("after check-in:", mem.Opens(ref, "lobby", now))
	_ = ea.SetEmployeeEnabled(ctx, e.Cardholder.ID, false) // access duration over
	fmt.Println("after the duration:", mem.Opens(ref, "lobby", now))
	// Output:
	// Grace enabled: false opens: false
	// after check-in: true
	// after the duration: false
}

func ExampleMemory_SetEmployeeEnabled() {
	mem := acstest.NewMemory(nil)
	mem.AddEmployee(acstest.EmployeeSpec{LastName: "Synced", Card: acs.Card{Format: acs.H10301, Number: 1}, ReadOnly: true})
	e, _ := mem.FindEmployee(context.Background(), acs.EmployeeQuery{Card: acs.Card{Format: acs.H10301, Number: 1}})
	err := mem.SetEmployeeEnabled(context.Background(), e.Cardholder.ID, true)
	fmt.Println(errors.Is(err, acs.ErrReadOnly), acs.CodeOf(err))
	// Output:
	// true permission denied
}

// ignoresStatus is a broken EmployeeAccess: enabling answers success and
// does nothing.
type ignoresStatus struct{ *acstest.Memory }

func (ignoresStatus) SetEmployeeEnabled(context.Context, string, bool) error { return nil }

type brokenEmployeeHarness struct {
	brokenHarness
	m *acstest.Memory
}

func (b brokenEmployeeHarness) AddEmployee(_ context.Context, e acstest.EmployeeSpec) (acs.CredentialRef, error) {
	ref, ok := b.m.AddEmployee(e)
	if !ok {
		return ref, errors.New("taken")
	}
	return ref, nil
}

func TestKitCatchesBrokenEmployeeAccess(t *testing.T) {
	err := acstest.Verify(t.Context(), func() (acstest.Harness, error) {
		h := acstest.MemoryHarness()
		m := h.Provider().(*acstest.Memory)
		return brokenEmployeeHarness{brokenHarness{h, ignoresStatus{m}}, m}, nil
	})
	if err == nil {
		t.Fatal("kit passed a provider whose SetEmployeeEnabled does nothing")
	}
	msg := err.Error()
	for _, want := range []string{`rule "EmployeeStatus" violated`, `rule "EmployeeReadOnly" violated`} {
		if !strings.Contains(msg, want) {
			t.Errorf("report lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, `"EmployeeLevels"`) {
		t.Errorf("report blames a rule the provider keeps:\n%s", msg)
	}
}

func TestValidateEmployeeQuery(t *testing.T) {
	for _, c := range []struct {
		q    acs.EmployeeQuery
		code acs.Code
	}{
		{acs.EmployeeQuery{ID: "42"}, acs.Unknown},
		{acs.EmployeeQuery{Card: acs.Card{Format: acs.H10301, Number: 1}}, acs.Unknown},
		{acs.EmployeeQuery{}, acs.InvalidArgument},
		{acs.EmployeeQuery{ID: "x\n"}, acs.InvalidArgument},
		{acs.EmployeeQuery{Card: acs.Card{Format: acs.H10301, Number: 1 << 20}}, acs.InvalidArgument},
	} {
		if got := acs.CodeOf(acs.ValidateEmployeeQuery(c.q)); got != c.code {
			t.Errorf("%+v: code %v, want %v", c.q, got, c.code)
		}
	}
}
