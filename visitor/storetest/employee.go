package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/visitor"
)

func init() {
	checks = append(checks, check{"EmployeeRecord", employeeRecord}, check{"EnrolmentData", enrolmentData})
}

// employeeRecord checks what employee check-in records need of a store:
// Visit.Employee and OutboxItem.Employee survive it, and a record that
// ended (and was scrubbed) may be signed in again, after which it is no
// longer ended, no longer scrubbed, listed and claimed as signed in.
func employeeRecord(ctx context.Context, t *testing.T, s visitor.Store) {
	id := visitor.EmployeeRecordID(loc, "emp-42")
	v := visitor.Visit{
		ID: id, Location: loc, Type: visitor.EmployeeType, Visitor: visitor.Visitor{FirstName: "Grace", LastName: "Hopper"},
		State: visitor.SignedIn, CreatedAt: at(0), SignedInAt: at(0), DueAt: at(480),
		Employee: &visitor.Employee{ID: "emp-42", Method: visitor.EmployeeToggleLevels, AccessLevels: []string{"floor-3", "lobby"},
			Status: visitor.EmployeeEnabling, Until: at(480), Error: "earlier timeout"},
	}
	it := item("e1", id, at(0))
	it.Op, it.Ref, it.Credential = visitor.OpEmployeeEnable, nil, -1
	it.Employee = &visitor.EmployeeOp{ID: "emp-42", Method: visitor.EmployeeToggleLevels, AccessLevels: []string{"floor-3", "lobby"}}
	got, err := s.Create(ctx, v, func(tx visitor.Tx, v *visitor.Visit) error { return tx.Enqueue(it) })
	noErr(t, "Create employee record", err)
	sameVisit(t, "employee record as created", got, v)
	got, err = s.Visit(ctx, id)
	noErr(t, "Visit", err)
	sameVisit(t, "employee record read back", got, v)
	q, err := s.Outbox(ctx, id, 0)
	noErr(t, "Outbox", err)
	if len(q) != 1 {
		t.Fatalf("%d items, want 1", len(q))
	}
	it.Seq = q[0].Seq
	normalize(&q[0])
	if !reflect.DeepEqual(q[0], it) {
		t.Fatalf("employee item through the store:\n got  %+v\n want %+v", q[0], it)
	}

	// The access ends; the record is scrubbed.
	_, err = s.Update(ctx, id, func(tx visitor.Tx, v *visitor.Visit) error {
		v.State, v.EndedAt, v.DueAt = visitor.SignedOut, at(480), time.Time{}
		v.Employee.Status = visitor.EmployeeDisabled
		return tx.Cancel("e1")
	})
	noErr(t, "end", err)
	n, err := s.Scrub(ctx, at(600))
	noErr(t, "Scrub", err)
	if n.Visits != 1 {
		t.Fatalf("scrubbed %d visits, want the ended record", n.Visits)
	}

	// The next check-in signs the same record in again.
	_, err = s.Update(ctx, id, func(tx visitor.Tx, v *visitor.Visit) error {
		if !v.Scrubbed || v.Visitor.Name() != "" {
			t.Errorf("record before the new check-in: scrubbed %v, name %q", v.Scrubbed, v.Visitor.Name())
		}
		v.State, v.SignedInAt, v.EndedAt, v.DueAt = visitor.SignedIn, at(1440), time.Time{}, at(1920)
		v.Visitor, v.Scrubbed = visitor.Visitor{FirstName: "Grace", LastName: "Hopper"}, false
		v.Employee.Status, v.Employee.Until = visitor.EmployeeEnabling, at(1920)
		return nil
	})
	noErr(t, "sign in again", err)
	n, err = s.Scrub(ctx, at(3000))
	noErr(t, "Scrub", err)
	if n.Visits != 0 {
		t.Fatalf("scrubbed %d visits; the record is signed in again", n.Visits)
	}
	got, err = s.Visit(ctx, id)
	noErr(t, "Visit", err)
	if got.State != visitor.SignedIn || got.Scrubbed || got.Visitor.Name() != "Grace Hopper" || !got.EndedAt.IsZero() {
		t.Fatalf("record signed in again: %+v", got)
	}
	vs, err := s.Visits(ctx, visitor.VisitFilter{Location: loc, States: []visitor.State{visitor.SignedIn}})
	noErr(t, "Visits", err)
	if len(vs) != 1 || vs[0].ID != id {
		t.Fatalf("signed-in visits %+v", vs)
	}
	due, err := s.ClaimDue(ctx, "sweeper", at(1920), time.Minute, 10)
	noErr(t, "ClaimDue", err)
	if len(due) != 1 || due[0] != id {
		t.Fatalf("due %v, want the record", due)
	}
}

// enrolmentData checks that a visit's enrolment and a credential captured
// at the enrolment reader survive the store.
func enrolmentData(ctx context.Context, t *testing.T, s visitor.Store) {
	v := sample("v1")
	v.Credentials[0].Source, v.Credentials[0].BadgeID = visitor.FromTap, ""
	v.Enrolment = &visitor.Enrolment{Reader: "desk-reader", Status: visitor.EnrolCardHeld, RequestedBy: "alice",
		RequestedAt: at(1), Until: at(3), AccessLevels: []string{"lobby"}, Card: v.Credentials[0].Card, At: at(2),
		Event: "lobby c-3", Reason: "the card is held by visit v0"}
	got, err := s.Create(ctx, v, nil)
	noErr(t, "Create", err)
	sameVisit(t, "visit with an enrolment as created", got, v)
	got, err = s.Visit(ctx, "v1")
	noErr(t, "Visit", err)
	sameVisit(t, "visit with an enrolment read back", got, v)
}
