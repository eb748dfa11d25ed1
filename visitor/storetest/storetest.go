// Package storetest checks implementations of visitor.Store against the
// contract documented on the interface. A durable store runs it from its
// tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) visitor.Store { return openEmptyStore(t) })
//	}
//
// Every subtest gets a fresh, empty store from newStore, which must arrange
// its cleanup with t.Cleanup. Timestamps are whole seconds in UTC and
// compared with time.Time.Equal, so a store may return them in another
// location. The badge pools and card ranges (Store.Badges, Store.Cards) are
// also checked with package badgetest.
//
// Several checks run goroutines against one store, as replicas sharing a
// database would; run the suite with -race.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/badge/badgetest"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/wiegand"
)

var t0 = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

const loc = "lobby"

// Run runs every check as a subtest of t.
func Run(t *testing.T, newStore func(t *testing.T) visitor.Store) {
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			c.fn(ctx, t, newStore(t))
		})
	}
	t.Run("Badges", func(t *testing.T) {
		badgetest.RunStore(t, func(t *testing.T) badge.Store { return newStore(t).Badges() })
	})
	t.Run("Cards", func(t *testing.T) {
		badgetest.RunAllocationStore(t, func(t *testing.T) badge.AllocationStore { return newStore(t).Cards() })
	})
}

type check struct {
	name string
	fn   func(ctx context.Context, t *testing.T, s visitor.Store)
}

var checks = []check{
	{"CreateGetUpdate", createGetUpdate},
	{"CreateExisting", createExisting},
	{"UpdateUnknown", updateUnknown},
	{"RollbackVisitOutboxAudit", rollbackVisitOutboxAudit},
	{"RollbackBadgesAndCards", rollbackBadgesAndCards},
	{"CreateRollback", createRollback},
	{"Visits", listVisits},
	{"OutboxQueueOrder", outboxQueueOrder},
	{"OutboxLeases", outboxLeases},
	{"OutboxPreLeased", outboxPreLeased},
	{"OutboxCancelRetry", outboxCancelRetry},
	{"ClaimDue", claimDue},
	{"Audit", auditQuery},
	{"Scrub", scrub},
	{"ConcurrentUpdates", concurrentUpdates},
	{"ConcurrentClaims", concurrentClaims},
	{"ConcurrentBadgeAcquire", concurrentBadgeAcquire},
	{"PlainData", plainData},
	{"DoorData", doorData},
	{"PINTags", pinTags},
	{"PINData", pinData},
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one wrapping %v", what, err, target)
	}
}

// sample returns a visit using every field.
func sample(id string) visitor.Visit {
	return visitor.Visit{
		ID: id, Location: loc, Type: "guest",
		Visitor: visitor.Visitor{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Company: "Analytical"},
		Host:    "Grace", State: visitor.SignedIn,
		ExpectedAt: at(0), AccessFrom: at(-120), AccessUntil: at(480),
		CreatedAt: at(-600), SignedInAt: at(5),
		Watchlist: &visitor.WatchlistMatch{List: "vip", Reason: "escort", At: at(5)},
		Credentials: []visitor.Credential{{
			Source: visitor.FromPool, BadgeID: "0042", Card: acs.Card{Format: acs.H10301, Facility: 12, Number: 42},
			CredentialType: "temp", AccessLevels: []string{"lobby", "floor-3"}, ValidFrom: at(5), ValidUntil: at(485),
			Status:   visitor.CredActive,
			Ref:      acs.CredentialRef{ID: "cr-1", CardholderID: "ch-1", CardholderExternalID: id, Card: acs.Card{Format: acs.H10301, Facility: 12, Number: 42}},
			IssuedBy: "alice", IssuedAt: at(5), ActiveAt: at(6), Release: true, Error: "earlier timeout",
		}},
		Doors: visitor.DoorActivity{
			Last: visitor.DoorSighting{Location: loc, DoorID: "srv", DoorName: "Server room", Time: at(20), Direction: acs.DirectionIn,
				Card: acs.Card{Format: acs.H10301, Facility: 12, Number: 42}, Cursor: "c-9"},
			LastGranted: visitor.DoorSighting{Location: loc, DoorID: "d-1", Time: at(10), Granted: true, Direction: acs.DirectionOut, Cursor: "c-8"},
			Events:      2,
			Recent:      []visitor.DoorMark{{Key: "lobby c-8", Time: at(10)}, {Key: "lobby c-9", Time: at(20)}},
		},
		DueAt: at(485),
	}
}

// normalize puts every time.Time in v into UTC, so that values read back
// from a store compare with reflect.DeepEqual.
func normalize(v any) {
	var walk func(r reflect.Value)
	timeType := reflect.TypeFor[time.Time]()
	walk = func(r reflect.Value) {
		switch r.Kind() {
		case reflect.Pointer:
			if !r.IsNil() {
				walk(r.Elem())
			}
		case reflect.Struct:
			if r.Type() == timeType {
				if r.CanSet() {
					tm := r.Interface().(time.Time)
					if !tm.IsZero() {
						r.Set(reflect.ValueOf(tm.UTC()))
					}
				}
				return
			}
			for i := range r.NumField() {
				if r.Type().Field(i).IsExported() {
					walk(r.Field(i))
				}
			}
		case reflect.Slice:
			for i := range r.Len() {
				walk(r.Index(i))
			}
		}
	}
	walk(reflect.ValueOf(v))
}

func sameVisit(t *testing.T, what string, got, want visitor.Visit) {
	t.Helper()
	normalize(&got)
	normalize(&want)
	got.Version, want.Version = 0, 0
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		t.Fatalf("%s:\n got  %s\n want %s", what, gj, wj)
	}
}

func create(ctx context.Context, t *testing.T, s visitor.Store, v visitor.Visit) visitor.Visit {
	t.Helper()
	out, err := s.Create(ctx, v, nil)
	noErr(t, "Create "+v.ID, err)
	return out
}

func item(id, visit string, now time.Time) visitor.OutboxItem {
	return visitor.OutboxItem{
		ID: id, VisitID: visit, Location: loc, Op: visitor.OpRevoke, Credential: 0,
		Ref:       &acs.CredentialRef{CardholderExternalID: visit, Card: acs.Card{Format: acs.H10301, Facility: 1, Number: 2}},
		CreatedAt: now, NextAttempt: now,
	}
}

func enqueue(ctx context.Context, t *testing.T, s visitor.Store, visit string, items ...visitor.OutboxItem) {
	t.Helper()
	_, err := s.Update(ctx, visit, func(tx visitor.Tx, v *visitor.Visit) error {
		for _, it := range items {
			if err := tx.Enqueue(it); err != nil {
				return err
			}
		}
		return nil
	})
	noErr(t, "enqueue on "+visit, err)
}

func ids(items []visitor.OutboxItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

func claim(ctx context.Context, t *testing.T, s visitor.Store, owner string, now time.Time, limit int) []visitor.OutboxItem {
	t.Helper()
	items, err := s.ClaimOutbox(ctx, owner, now, time.Minute, limit)
	noErr(t, "ClaimOutbox", err)
	return items
}

func createGetUpdate(ctx context.Context, t *testing.T, s visitor.Store) {
	want := sample("v1")
	got, err := s.Create(ctx, want, nil)
	noErr(t, "Create", err)
	if got.Version != 1 {
		t.Fatalf("Create returned Version %d, want 1", got.Version)
	}
	sameVisit(t, "Create result", got, want)
	read, err := s.Visit(ctx, "v1")
	noErr(t, "Visit", err)
	sameVisit(t, "Visit after Create", read, want)

	calls := 0
	got, err = s.Update(ctx, "v1", func(tx visitor.Tx, v *visitor.Visit) error {
		calls++
		sameVisit(t, "visit given to the update", *v, want)
		v.State, v.EndedAt, v.EndedBy, v.EndReason = visitor.SignedOut, at(60), "kiosk-1", "kiosk"
		v.Credentials[0].Status = visitor.CredRevoking
		v.Credentials = append(v.Credentials, visitor.Credential{Source: visitor.FromRange, Status: visitor.CredFailed, AccessLevels: []string{"lobby"}})
		v.DueAt = time.Time{}
		return nil
	})
	noErr(t, "Update", err)
	if calls == 0 || got.Version != 2 {
		t.Fatalf("Update: fn called %d times, Version %d; want ≥1 and 2", calls, got.Version)
	}
	read, err = s.Visit(ctx, "v1")
	noErr(t, "Visit after Update", err)
	if read.Version != 2 || read.State != visitor.SignedOut || len(read.Credentials) != 2 || read.Credentials[0].Status != visitor.CredRevoking || !read.DueAt.IsZero() {
		t.Fatalf("Visit after Update: %+v", read)
	}
	sameVisit(t, "Update result and Visit", got, read)

	// Returned values are copies.
	read.Credentials[0].AccessLevels[0] = "changed"
	again, _ := s.Visit(ctx, "v1")
	if again.Credentials[0].AccessLevels[0] != "lobby" {
		t.Fatal("changing a returned visit changed the stored one")
	}
	if _, err := s.Visit(ctx, "nope"); !errors.Is(err, visitor.ErrNotFound) {
		t.Fatalf("Visit of an unknown ID: %v, want ErrNotFound", err)
	}
}

func createExisting(ctx context.Context, t *testing.T, s visitor.Store) {
	create(ctx, t, s, sample("v1"))
	called := false
	_, err := s.Create(ctx, sample("v1"), func(tx visitor.Tx, v *visitor.Visit) error { called = true; return nil })
	wantErr(t, "second Create", err, visitor.ErrExists)
	if called {
		t.Error("Create of an existing visit called fn")
	}
	v, _ := s.Visit(ctx, "v1")
	if v.Version != 1 {
		t.Errorf("Version after a refused Create: %d", v.Version)
	}
}

func updateUnknown(ctx context.Context, t *testing.T, s visitor.Store) {
	called := false
	_, err := s.Update(ctx, "ghost", func(tx visitor.Tx, v *visitor.Visit) error { called = true; return nil })
	wantErr(t, "Update of an unknown visit", err, visitor.ErrNotFound)
	if called {
		t.Error("Update of an unknown visit called fn")
	}
}

var errBoom = errors.New("boom")

func rollbackVisitOutboxAudit(ctx context.Context, t *testing.T, s visitor.Store) {
	create(ctx, t, s, sample("v1"))
	enqueue(ctx, t, s, "v1", item("a", "v1", at(0)), item("b", "v1", at(0)))
	claimed := claim(ctx, t, s, "w1", at(1), 10)
	if len(claimed) != 1 || claimed[0].ID != "a" {
		t.Fatalf("claimed %v, want [a]", ids(claimed))
	}
	noErr(t, "AppendAudit", s.AppendAudit(ctx, visitor.AuditRecord{Time: at(1), VisitID: "v1", Action: visitor.ActSignIn, Outcome: visitor.OutcomeOK}))

	_, err := s.Update(ctx, "v1", func(tx visitor.Tx, v *visitor.Visit) error {
		v.State = visitor.Removed
		noErr(t, "Enqueue", tx.Enqueue(item("c", "v1", at(1))))
		noErr(t, "Complete", tx.Complete("w1", "a"))
		noErr(t, "Cancel", tx.Cancel("b"))
		noErr(t, "Audit", tx.Audit(visitor.AuditRecord{Time: at(1), VisitID: "v1", Action: visitor.ActRemove, Outcome: visitor.OutcomeOK}))
		q, err := tx.Outbox()
		noErr(t, "tx.Outbox", err)
		if !slices.Equal(ids(q), []string{"c"}) {
			t.Errorf("tx.Outbox inside the transaction: %v, want [c]", ids(q))
		}
		return errBoom
	})
	wantErr(t, "failing Update", err, errBoom)
	v, _ := s.Visit(ctx, "v1")
	if v.State != visitor.SignedIn || v.Version != 2 {
		t.Fatalf("visit changed by a failed Update: %s, version %d", v.State, v.Version)
	}
	q, err := s.Outbox(ctx, "v1", 0)
	noErr(t, "Outbox", err)
	if !slices.Equal(ids(q), []string{"a", "b"}) || q[0].LeaseOwner != "w1" {
		t.Fatalf("outbox after a failed Update: %+v", q)
	}
	recs, err := s.Audit(ctx, visitor.AuditQuery{VisitID: "v1"})
	noErr(t, "Audit", err)
	if len(recs) != 1 {
		t.Fatalf("audit after a failed Update: %d records, want 1", len(recs))
	}
	// Retry rolls back too.
	_, err = s.Update(ctx, "v1", func(tx visitor.Tx, v *visitor.Visit) error {
		noErr(t, "Retry", tx.Retry("w1", "a", at(30), "down"))
		return errBoom
	})
	wantErr(t, "failing Update", err, errBoom)
	q, _ = s.Outbox(ctx, "v1", 0)
	if q[0].LeaseOwner != "w1" || !q[0].NextAttempt.Equal(at(0)) || q[0].LastError != "" {
		t.Fatalf("Retry not rolled back: %+v", q[0])
	}
}

func addBadges(ctx context.Context, t *testing.T, s visitor.Store, n int) {
	t.Helper()
	for i := range n {
		id := fmt.Sprint(101 + i)
		noErr(t, "add badge", s.Badges().Add(ctx, badge.Badge{
			Location: loc, ID: id, Name: "Visitor " + id, State: badge.Available, Since: at(-100 + i),
			Card: badge.Card{Format: wiegand.H10301, Facility: 1, Number: uint64(101 + i)},
		}))
	}
}

func rollbackBadgesAndCards(ctx context.Context, t *testing.T, s visitor.Store) {
	create(ctx, t, s, sample("v1"))
	create(ctx, t, s, sample("v2"))
	addBadges(ctx, t, s, 2)
	noErr(t, "SetRange", s.Cards().SetRange(ctx, badge.Range{Location: loc, Format: wiegand.H10301, Facility: 5, Min: 10, Max: 11}))
	// v2 holds badge 102 and number 10.
	_, err := s.Update(ctx, "v2", func(tx visitor.Tx, v *visitor.Visit) error {
		if _, err := tx.Badges().Acquire(ctx, loc, "102", "v2", at(0)); err != nil {
			return err
		}
		_, err := tx.Cards().Allocate(ctx, loc, "v2", at(0))
		return err
	})
	noErr(t, "acquire in a transaction", err)

	_, err = s.Update(ctx, "v1", func(tx visitor.Tx, v *visitor.Visit) error {
		b, err := tx.Badges().Acquire(ctx, loc, "", "v1", at(1))
		noErr(t, "Acquire next", err)
		if b.ID != "101" {
			t.Errorf("acquired %s, want 101", b.ID)
		}
		a, err := tx.Cards().Allocate(ctx, loc, "v1", at(1))
		noErr(t, "Allocate", err)
		if a.Card.Number != 11 {
			t.Errorf("allocated %d, want 11", a.Card.Number)
		}
		// Seen within the transaction.
		if got, _ := tx.Badges().Get(ctx, loc, "101"); got.State != badge.Assigned {
			t.Errorf("inside the transaction badge 101 is %s", got.State)
		}
		return errBoom
	})
	wantErr(t, "failing Update", err, errBoom)
	if b, _ := s.Badges().Get(ctx, loc, "101"); b.State != badge.Available || b.VisitID != "" || !b.Since.Equal(at(-100)) {
		t.Fatalf("badge 101 after rollback: %+v", b)
	}
	if h, _ := s.Badges().History(ctx, loc, "101"); len(h) != 0 {
		t.Fatalf("history of 101 after rollback: %+v", h)
	}
	if as, _ := s.Cards().Allocations(ctx, loc); len(as) != 1 || as[0].VisitID != "v2" {
		t.Fatalf("allocations after rollback: %+v", as)
	}

	// Release and free roll back too.
	_, err = s.Update(ctx, "v2", func(tx visitor.Tx, v *visitor.Visit) error {
		if _, err := tx.Badges().Release(ctx, loc, "102", "v2", at(2)); err != nil {
			return err
		}
		if err := tx.Cards().Free(ctx, loc, 10, "v2"); err != nil {
			return err
		}
		return errBoom
	})
	wantErr(t, "failing Update", err, errBoom)
	if b, _ := s.Badges().Get(ctx, loc, "102"); b.State != badge.Assigned || b.VisitID != "v2" {
		t.Fatalf("badge 102 after rolled-back release: %+v", b)
	}
	if h, _ := s.Badges().History(ctx, loc, "102"); len(h) != 1 || !h[0].Active() {
		t.Fatalf("history of 102 after rolled-back release: %+v", h)
	}
	if as, _ := s.Cards().Allocations(ctx, loc); len(as) != 1 || as[0].Card.Number != 10 {
		t.Fatalf("allocations after rolled-back free: %+v", as)
	}
	// The next available badge is still 101, the number 11.
	_, err = s.Update(ctx, "v1", func(tx visitor.Tx, v *visitor.Visit) error {
		b, err := tx.Badges().Acquire(ctx, loc, "", "v1", at(3))
		if err != nil {
			return err
		}
		a, err := tx.Cards().Allocate(ctx, loc, "v1", at(3))
		if err != nil {
			return err
		}
		if b.ID != "101" || a.Card.Number != 11 {
			t.Errorf("after rollbacks got badge %s, number %d; want 101, 11", b.ID, a.Card.Number)
		}
		return nil
	})
	noErr(t, "acquire after rollbacks", err)
}

func createRollback(ctx context.Context, t *testing.T, s visitor.Store) {
	addBadges(ctx, t, s, 1)
	_, err := s.Create(ctx, sample("v1"), func(tx visitor.Tx, v *visitor.Visit) error {
		if _, err := tx.Badges().Acquire(ctx, loc, "101", "v1", at(0)); err != nil {
			return err
		}
		if err := tx.Enqueue(item("a", "v1", at(0))); err != nil {
			return err
		}
		return errBoom
	})
	wantErr(t, "failing Create", err, errBoom)
	if _, err := s.Visit(ctx, "v1"); !errors.Is(err, visitor.ErrNotFound) {
		t.Fatalf("visit of a failed Create: %v", err)
	}
	if b, _ := s.Badges().Get(ctx, loc, "101"); b.State != badge.Available {
		t.Fatalf("badge after a failed Create: %s", b.State)
	}
	if q, _ := s.Outbox(ctx, "", 0); len(q) != 0 {
		t.Fatalf("outbox after a failed Create: %v", ids(q))
	}
	// A Create whose fn enqueues commits everything.
	in := sample("v1")
	in.Version = 7
	v, err := s.Create(ctx, in, func(tx visitor.Tx, v *visitor.Visit) error {
		if v.Version != 0 {
			t.Errorf("Create's fn sees Version %d, want 0", v.Version)
		}
		v.Host = "changed in fn"
		return tx.Enqueue(item("a", "v1", at(0)))
	})
	noErr(t, "Create with fn", err)
	if v.Host != "changed in fn" || v.Version != 1 {
		t.Fatalf("Create result %+v", v)
	}
	if q, _ := s.Outbox(ctx, "v1", 0); !slices.Equal(ids(q), []string{"a"}) {
		t.Fatalf("outbox after Create: %v", ids(q))
	}
}

func listVisits(ctx context.Context, t *testing.T, s visitor.Store) {
	for i, st := range []visitor.State{visitor.SignedIn, visitor.SignedOut, visitor.Invited, visitor.SignedIn, visitor.Removed} {
		v := sample(fmt.Sprintf("v%d", 5-i))
		v.State = st
		if i == 4 {
			v.Location = "annex"
		}
		create(ctx, t, s, v)
	}
	visitIDs := func(f visitor.VisitFilter) []string {
		t.Helper()
		vs, err := s.Visits(ctx, f)
		noErr(t, "Visits", err)
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = v.ID
		}
		return out
	}
	for _, c := range []struct {
		f    visitor.VisitFilter
		want []string
	}{
		{visitor.VisitFilter{}, []string{"v1", "v2", "v3", "v4", "v5"}},
		{visitor.VisitFilter{Location: loc}, []string{"v2", "v3", "v4", "v5"}},
		{visitor.VisitFilter{States: []visitor.State{visitor.SignedIn}}, []string{"v2", "v5"}},
		{visitor.VisitFilter{States: []visitor.State{visitor.SignedIn, visitor.Invited}, Limit: 2}, []string{"v2", "v3"}},
		{visitor.VisitFilter{AfterID: "v3"}, []string{"v4", "v5"}},
		{visitor.VisitFilter{Location: "nowhere"}, []string{}},
	} {
		if got := visitIDs(c.f); !slices.Equal(got, c.want) {
			t.Errorf("Visits(%+v) = %v, want %v", c.f, got, c.want)
		}
	}
}

func outboxQueueOrder(ctx context.Context, t *testing.T, s visitor.Store) {
	create(ctx, t, s, sample("a"))
	create(ctx, t, s, sample("b"))
	enqueue(ctx, t, s, "a", item("a1", "a", at(0)), item("a2", "a", at(0)))
	enqueue(ctx, t, s, "b", item("b1", "b", at(0)))
	enqueue(ctx, t, s, "a", item("a3", "a", at(0)))
	all, err := s.Outbox(ctx, "", 0)
	noErr(t, "Outbox", err)
	if !slices.Equal(ids(all), []string{"a1", "a2", "b1", "a3"}) {
		t.Fatalf("Outbox() = %v, want by Seq", ids(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Fatalf("Seq not increasing: %d then %d", all[i-1].Seq, all[i].Seq)
		}
	}
	if q, _ := s.Outbox(ctx, "a", 2); !slices.Equal(ids(q), []string{"a1", "a2"}) {
		t.Fatalf("Outbox(a, 2) = %v", ids(q))
	}
	got := claim(ctx, t, s, "w1", at(1), 10)
	if !slices.Equal(ids(got), []string{"a1", "b1"}) {
		t.Fatalf("first claim %v, want each visit's head [a1 b1]", ids(got))
	}
	for _, it := range got {
		if it.Attempts != 1 || it.LeaseOwner != "w1" || !it.LeaseUntil.Equal(at(1).Add(time.Minute)) {
			t.Fatalf("claimed item %+v", it)
		}
	}
	if more := claim(ctx, t, s, "w2", at(1), 10); len(more) != 0 {
		t.Fatalf("a visit's next item claimed while its head is leased: %v", ids(more))
	}
	_, err = s.Update(ctx, "a", func(tx visitor.Tx, v *visitor.Visit) error { return tx.Complete("w1", "a1") })
	noErr(t, "Complete", err)
	if got := claim(ctx, t, s, "w2", at(1), 10); !slices.Equal(ids(got), []string{"a2"}) {
		t.Fatalf("claim after completing a1: %v, want [a2]", ids(got))
	}
	if got := claim(ctx, t, s, "w2", at(1), 10); len(got) != 0 {
		t.Fatalf("nothing more is claimable, got %v", ids(got))
	}
	// Limit.
	create(ctx, t, s, sample("c"))
	create(ctx, t, s, sample("d"))
	enqueue(ctx, t, s, "c", item("c1", "c", at(0)))
	enqueue(ctx, t, s, "d", item("d1", "d", at(0)))
	if got := claim(ctx, t, s, "w3", at(1), 1); !slices.Equal(ids(got), []string{"c1"}) {
		t.Fatalf("claim with limit 1: %v, want [c1]", ids(got))
	}
}

func outboxLeases(ctx context.Context, t *testing.T, s visitor.Store) {
	create(ctx, t, s, sample("a"))
	enqueue(ctx, t, s, "a", item("a1", "a", at(0)))
	got := claim(ctx, t, s, "w1", at(0), 10)
	if len(got) != 1 {
		t.Fatalf("claimed %v", ids(got))
	}
	if again := claim(ctx, t, s, "w2", at(1), 10); len(again) != 0 {
		t.Fatal("claimed within the lease")
	}
	// The lease (one minute) expires; w2 takes over.
	got = claim(ctx, t, s, "w2", at(2), 10)
	if len(got) != 1 || got[0].Attempts != 2 || got[0].LeaseOwner != "w2" {
		t.Fatalf("claim after lease expiry: %+v", got)
	}
	_, err := s.Update(ctx, "a", func(tx visitor.Tx, v *visitor.Visit) error { return tx.Complete("w1", "a1") })
	wantErr(t, "Complete by the former owner", err, visitor.ErrLeaseLost)
	_, err = s.Update(ctx, "a", func(tx visitor.Tx, v *visitor.Visit) error { return tx.Retry("w1", "a1", at(5), "x") })
	wantErr(t, "Retry by the former owner", err, visitor.ErrLeaseLost)
	// An expired lease nobody took over still counts.
	_, err = s.Update(ctx, "a", func(tx visitor.Tx, v *visitor.Visit) error { return tx.Complete("w2", "a1") })
	noErr(t, "Complete by the owner after its lease expired", err)
	if q, _ := s.Outbox(ctx, "a", 0); len(q) != 0 {
		t.Fatalf("completed item still queued: %v", ids(q))
	}
	_, err = s.Update(ctx, "a", func(tx visitor.Tx, v *visitor.Visit) error { return tx.Complete("w2", "a1") })
	if !errors.Is(err, visitor.ErrLeaseLost) && !errors.Is(err, visitor.ErrNotFound) {
		t.Fatalf("completing twice: %v, want ErrLeaseLost or ErrNotFound", err)
	}
}

func outboxPreLeased(ctx context.Context, t *testing.T, s visitor.Store) {
	create(ctx, t, s, sample("a"))
	it := item("a1", "a", at(0))
	it.Attempts, it.LeaseOwner, it.LeaseUntil = 1, "fast", at(2)
	enqueue(ctx, t, s, "a", it)
	q, _ := s.Outbox(ctx, "a", 0)
	if len(q) != 1 || q[0].LeaseOwner != "fast" || q[0].Attempts != 1 || !q[0].LeaseUntil.Equal(at(2)) {
		t.Fatalf("pre-leased item stored as %+v", q)
	}
	if got := claim(ctx, t, s, "w1", at(1), 10); len(got) != 0 {
		t.Fatal("a pre-leased item was claimed within its lease")
	}
	if got := claim(ctx, t, s, "w1", at(3), 10); len(got) != 1 || got[0].Attempts != 2 {
		t.Fatalf("pre-leased item after its lease: %+v", got)
	}
}

func outboxCancelRetry(ctx context.Context, t *testing.T, s visitor.Store) {
	create(ctx, t, s, sample("a"))
	enqueue(ctx, t, s, "a", item("a1", "a", at(0)), item("a2", "a", at(0)))
	got := claim(ctx, t, s, "w1", at(0), 10)
	_, err := s.Update(ctx, "a", func(tx visitor.Tx, v *visitor.Visit) error {
		return tx.Retry("w1", got[0].ID, at(10), "ACS down")
	})
	noErr(t, "Retry", err)
	q, _ := s.Outbox(ctx, "a", 0)
	if q[0].LeaseOwner != "" || !q[0].NextAttempt.Equal(at(10)) || q[0].LastError != "ACS down" || q[0].Attempts != 1 {
		t.Fatalf("item after Retry: %+v", q[0])
	}
	if got := claim(ctx, t, s, "w1", at(9), 10); len(got) != 0 {
		t.Fatal("claimed before its next attempt")
	}
	_, err = s.Update(ctx, "a", func(tx visitor.Tx, v *visitor.Visit) error { return tx.Cancel("a1") })
	noErr(t, "Cancel", err)
	if got := claim(ctx, t, s, "w1", at(9), 10); !slices.Equal(ids(got), []string{"a2"}) {
		t.Fatalf("after cancelling the head: %v, want [a2]", ids(got))
	}
	_, err = s.Update(ctx, "a", func(tx visitor.Tx, v *visitor.Visit) error { return tx.Cancel("zz") })
	wantErr(t, "Cancel of an unknown item", err, visitor.ErrNotFound)
	create(ctx, t, s, sample("b"))
	_, err = s.Update(ctx, "b", func(tx visitor.Tx, v *visitor.Visit) error { return tx.Cancel("a2") })
	wantErr(t, "Cancel of another visit's item", err, visitor.ErrNotFound)
}

func claimDue(ctx context.Context, t *testing.T, s visitor.Store) {
	for i, due := range []int{30, 10, 0, 20} {
		v := sample(fmt.Sprintf("v%d", i))
		v.DueAt = time.Time{}
		if due > 0 {
			v.DueAt = at(due)
		}
		create(ctx, t, s, v)
	}
	got, err := s.ClaimDue(ctx, "w1", at(20), time.Minute, 10)
	noErr(t, "ClaimDue", err)
	if !slices.Equal(got, []string{"v1", "v3"}) {
		t.Fatalf("ClaimDue at 20 = %v, want [v1 v3] by DueAt", got)
	}
	if again, _ := s.ClaimDue(ctx, "w2", at(20), time.Minute, 10); len(again) != 0 {
		t.Fatalf("claimed again within the lease: %v", again)
	}
	if got, _ := s.ClaimDue(ctx, "w2", at(22), time.Minute, 10); !slices.Equal(got, []string{"v1", "v3"}) {
		t.Fatalf("after the lease expired: %v", got)
	}
	// An Update ends the lease.
	_, err = s.Update(ctx, "v1", func(tx visitor.Tx, v *visitor.Visit) error { return nil })
	noErr(t, "Update", err)
	if got, _ := s.ClaimDue(ctx, "w3", at(22), time.Minute, 10); !slices.Equal(got, []string{"v1"}) {
		t.Fatalf("after an Update: %v, want [v1]", got)
	}
	if got, _ := s.ClaimDue(ctx, "w4", at(40), time.Minute, 2); !slices.Equal(got, []string{"v1", "v3"}) {
		t.Fatalf("with limit 2 at 40: %v, want the earliest due [v1 v3]", got)
	}
	if got, _ := s.ClaimDue(ctx, "w4", at(40), time.Minute, 2); !slices.Equal(got, []string{"v0"}) {
		t.Fatalf("then: %v, want [v0]", got)
	}
}

func auditQuery(ctx context.Context, t *testing.T, s visitor.Store) {
	create(ctx, t, s, sample("v1"))
	recs := []visitor.AuditRecord{
		{Time: at(0), VisitID: "v1", Location: loc, Actor: "alice", Action: visitor.ActSignIn, Outcome: visitor.OutcomeOK, Subject: "Ada"},
		{Time: at(1), VisitID: "v1", Location: loc, Actor: "alice", Action: visitor.ActProvision, Outcome: visitor.OutcomeQueued, BadgeID: "101", AccessLevels: []string{"lobby"}},
		{Time: at(2), VisitID: "v2", Location: "annex", Actor: "bob", Action: visitor.ActProvision, Outcome: visitor.OutcomeRefused, BadgeID: "101", Error: "permission denied"},
	}
	noErr(t, "AppendAudit", s.AppendAudit(ctx, recs[0]))
	_, err := s.Update(ctx, "v1", func(tx visitor.Tx, v *visitor.Visit) error { return tx.Audit(recs[1]) })
	noErr(t, "tx.Audit", err)
	noErr(t, "AppendAudit", s.AppendAudit(ctx, recs[2]))

	all, err := s.Audit(ctx, visitor.AuditQuery{})
	noErr(t, "Audit", err)
	if len(all) != 3 {
		t.Fatalf("%d records, want 3", len(all))
	}
	for i, r := range all {
		if i > 0 && r.Seq <= all[i-1].Seq {
			t.Fatalf("Seq not increasing: %+v", all)
		}
		want := recs[i]
		want.Seq = r.Seq
		normalize(&r)
		if !reflect.DeepEqual(r, want) {
			t.Fatalf("record %d:\n got  %+v\n want %+v", i, r, want)
		}
	}
	count := func(q visitor.AuditQuery) int {
		t.Helper()
		rs, err := s.Audit(ctx, q)
		noErr(t, "Audit", err)
		return len(rs)
	}
	for _, c := range []struct {
		q    visitor.AuditQuery
		want int
	}{
		{visitor.AuditQuery{VisitID: "v1"}, 2},
		{visitor.AuditQuery{BadgeID: "101"}, 2},
		{visitor.AuditQuery{BadgeID: "101", Location: loc}, 1},
		{visitor.AuditQuery{Since: at(1)}, 2},
		{visitor.AuditQuery{Since: at(1), Until: at(2)}, 1},
		{visitor.AuditQuery{Until: at(0)}, 0},
		{visitor.AuditQuery{AfterSeq: all[0].Seq}, 2},
		{visitor.AuditQuery{Limit: 2}, 2},
		{visitor.AuditQuery{VisitID: "v3"}, 0},
	} {
		if got := count(c.q); got != c.want {
			t.Errorf("Audit(%+v): %d records, want %d", c.q, got, c.want)
		}
	}
}

func scrub(ctx context.Context, t *testing.T, s visitor.Store) {
	old := sample("old")
	old.State, old.EndedAt = visitor.SignedOut, at(0)
	create(ctx, t, s, old)
	recent := sample("recent")
	recent.State, recent.EndedAt = visitor.SignedOut, at(100)
	create(ctx, t, s, recent)
	create(ctx, t, s, sample("active"))
	noErr(t, "AppendAudit", s.AppendAudit(ctx,
		visitor.AuditRecord{Time: at(0), VisitID: "old", Action: visitor.ActSignIn, Outcome: visitor.OutcomeOK, Subject: "Ada Lovelace", Reason: "x", BadgeID: "7"},
		visitor.AuditRecord{Time: at(100), VisitID: "recent", Action: visitor.ActSignIn, Outcome: visitor.OutcomeOK, Subject: "Ada Lovelace"},
	))
	n, err := s.Scrub(ctx, at(50))
	noErr(t, "Scrub", err)
	if n != (visitor.ScrubCount{Visits: 1, Records: 1}) {
		t.Fatalf("Scrub = %+v, want 1 visit and 1 record", n)
	}
	v, _ := s.Visit(ctx, "old")
	want := old.Clone()
	want.Scrub()
	sameVisit(t, "scrubbed visit", v, want)
	for _, id := range []string{"recent", "active"} {
		if v, _ := s.Visit(ctx, id); v.Scrubbed || v.Visitor.FirstName == "" {
			t.Errorf("visit %s scrubbed too early", id)
		}
	}
	recs, _ := s.Audit(ctx, visitor.AuditQuery{})
	if !recs[0].Scrubbed || recs[0].Subject != "" || recs[0].Reason != "" || recs[0].BadgeID != "7" || recs[0].Action != visitor.ActSignIn {
		t.Errorf("scrubbed record %+v", recs[0])
	}
	if recs[1].Scrubbed || recs[1].Subject == "" {
		t.Errorf("recent record scrubbed: %+v", recs[1])
	}
	if n, _ := s.Scrub(ctx, at(50)); n != (visitor.ScrubCount{}) {
		t.Errorf("second Scrub = %+v, want nothing", n)
	}
}

func concurrentUpdates(ctx context.Context, t *testing.T, s visitor.Store) {
	v := sample("v1")
	v.Credentials = nil
	create(ctx, t, s, v)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				_, err := s.Update(ctx, "v1", func(tx visitor.Tx, v *visitor.Visit) error {
					v.Credentials = append(v.Credentials, visitor.Credential{BadgeID: fmt.Sprint(w*1000 + i), AccessLevels: []string{}})
					return tx.Audit(visitor.AuditRecord{Time: at(0), VisitID: "v1", Action: visitor.ActProvision, Outcome: visitor.OutcomeOK})
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, _ := s.Visit(ctx, "v1")
	if len(got.Credentials) != workers*each || got.Version != workers*each+1 {
		t.Fatalf("after %d concurrent updates: %d credentials, version %d", workers*each, len(got.Credentials), got.Version)
	}
	recs, _ := s.Audit(ctx, visitor.AuditQuery{VisitID: "v1"})
	if len(recs) != workers*each {
		t.Fatalf("%d audit records, want %d", len(recs), workers*each)
	}
}

func concurrentClaims(ctx context.Context, t *testing.T, s visitor.Store) {
	const visits = 40
	for i := range visits {
		id := fmt.Sprintf("v%02d", i)
		create(ctx, t, s, sample(id))
		enqueue(ctx, t, s, id, item("i"+id, id, at(0)))
	}
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			owner := fmt.Sprintf("w%d", w)
			for {
				items, err := s.ClaimOutbox(ctx, owner, at(1), time.Hour, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(items) == 0 {
					return
				}
				mu.Lock()
				for _, it := range items {
					if prev, dup := seen[it.ID]; dup {
						t.Errorf("item %s claimed by %s and %s", it.ID, prev, owner)
					}
					seen[it.ID] = owner
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != visits {
		t.Fatalf("%d items claimed, want %d", len(seen), visits)
	}
	dueSeen := map[string]bool{}
	for i := range visits {
		_, err := s.Update(ctx, fmt.Sprintf("v%02d", i), func(tx visitor.Tx, v *visitor.Visit) error { v.DueAt = at(0); return nil })
		noErr(t, "Update", err)
	}
	for w := range 6 {
		wg.Go(func() {
			for {
				got, err := s.ClaimDue(ctx, fmt.Sprintf("d%d", w), at(1), time.Hour, 4)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, id := range got {
					if dueSeen[id] {
						t.Errorf("visit %s claimed twice", id)
					}
					dueSeen[id] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(dueSeen) != visits {
		t.Fatalf("%d due visits claimed, want %d", len(dueSeen), visits)
	}
}

func concurrentBadgeAcquire(ctx context.Context, t *testing.T, s visitor.Store) {
	addBadges(ctx, t, s, 5)
	const visits = 20
	for i := range visits {
		create(ctx, t, s, sample(fmt.Sprintf("v%02d", i)))
	}
	var mu sync.Mutex
	holder := map[string]string{}
	var wg sync.WaitGroup
	for i := range visits {
		wg.Go(func() {
			id := fmt.Sprintf("v%02d", i)
			var got string
			_, err := s.Update(ctx, id, func(tx visitor.Tx, v *visitor.Visit) error {
				b, err := tx.Badges().Acquire(ctx, loc, "", id, at(0))
				if err != nil {
					return err
				}
				got = b.ID
				v.Credentials = []visitor.Credential{{BadgeID: b.ID, AccessLevels: []string{}}}
				return nil
			})
			if errors.Is(err, badge.ErrNotAvailable) {
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if prev, dup := holder[got]; dup {
				t.Errorf("badge %s acquired by %s and %s", got, prev, id)
			}
			holder[got] = id
		})
	}
	wg.Wait()
	if len(holder) != 5 {
		t.Fatalf("%d badges acquired, want 5", len(holder))
	}
	for b, id := range holder {
		v, _ := s.Visit(ctx, id)
		if len(v.Credentials) != 1 || v.Credentials[0].BadgeID != b {
			t.Errorf("visit %s does not record badge %s: %+v", id, b, v.Credentials)
		}
		if got, _ := s.Badges().Get(ctx, loc, b); got.VisitID != id {
			t.Errorf("badge %s held by %q, want %s", b, got.VisitID, id)
		}
	}
}

func plainData(ctx context.Context, t *testing.T, s visitor.Store) {
	v := sample("v1")
	b, err := json.Marshal(v)
	noErr(t, "marshal visit", err)
	var back visitor.Visit
	noErr(t, "unmarshal visit", json.Unmarshal(b, &back))
	sameVisit(t, "visit JSON round trip", back, v)

	it := item("a", "v1", at(0))
	it.Op, it.Ref = visitor.OpProvision, nil
	it.Grant = &acs.Grant{Person: acs.Person{ExternalID: "v1", FirstName: "Ada"}, Card: acs.Card{Format: acs.H10301, Number: 1}, AccessLevels: []string{"lobby"}, ValidFrom: at(0), ValidUntil: at(60)}
	b, err = json.Marshal(it)
	noErr(t, "marshal item", err)
	var itBack visitor.OutboxItem
	noErr(t, "unmarshal item", json.Unmarshal(b, &itBack))
	normalize(&itBack)
	if !reflect.DeepEqual(itBack, it) {
		t.Fatalf("outbox item JSON round trip:\n got  %+v\n want %+v", itBack, it)
	}
	// And through the store.
	create(ctx, t, s, v)
	enqueue(ctx, t, s, "v1", it)
	q, _ := s.Outbox(ctx, "v1", 0)
	it.Seq = q[0].Seq
	normalize(&q[0])
	if !reflect.DeepEqual(q[0], it) {
		t.Fatalf("outbox item through the store:\n got  %+v\n want %+v", q[0], it)
	}
}

// doorData checks that door events survive the store: the door of an
// audit record, and the door cursors of a store that also implements
// visitor.CursorStore.
func doorData(ctx context.Context, t *testing.T, s visitor.Store) {
	create(ctx, t, s, sample("v1"))
	door := visitor.DoorSighting{Location: loc, DoorID: "d-1", DoorName: "Lobby", Time: at(3), Granted: true,
		Direction: acs.DirectionOut, Card: acs.Card{Format: acs.H10301, Facility: 12, Number: 42}, Cursor: "c-1"}
	recs := []visitor.AuditRecord{
		{Time: at(3), VisitID: "v1", Location: loc, Actor: visitor.ActorACS, Action: visitor.ActDoor, From: visitor.SignedIn, To: visitor.SignedIn,
			BadgeID: "0042", Card: "H10301 12/42", Outcome: visitor.OutcomeOK, Subject: "Ada Lovelace", Door: door},
		{Time: at(4), VisitID: "v1", Location: loc, Actor: visitor.ActorACS, Action: visitor.ActDoor, Outcome: visitor.OutcomeDenied,
			Door: visitor.DoorSighting{Location: loc, DoorID: "d-2", Time: at(4)}},
	}
	_, err := s.Update(ctx, "v1", func(tx visitor.Tx, v *visitor.Visit) error { return tx.Audit(recs[0]) })
	noErr(t, "tx.Audit", err)
	noErr(t, "AppendAudit", s.AppendAudit(ctx, recs[1]))
	got, err := s.Audit(ctx, visitor.AuditQuery{VisitID: "v1", Since: at(3)})
	noErr(t, "Audit", err)
	if len(got) != 2 {
		t.Fatalf("%d door records, want 2", len(got))
	}
	for i, r := range got {
		want := recs[i]
		want.Seq = r.Seq
		normalize(&r)
		if !reflect.DeepEqual(r, want) {
			t.Fatalf("door record %d:\n got  %+v\n want %+v", i, r, want)
		}
	}

	cs, ok := s.(visitor.CursorStore)
	if !ok {
		return
	}
	c, err := cs.DoorCursor(ctx, loc)
	noErr(t, "DoorCursor", err)
	if c != "" {
		t.Fatalf("cursor of a new store %q, want empty", c)
	}
	noErr(t, "SaveDoorCursor", cs.SaveDoorCursor(ctx, loc, "41"))
	noErr(t, "SaveDoorCursor", cs.SaveDoorCursor(ctx, "annex", "a-7"))
	noErr(t, "SaveDoorCursor", cs.SaveDoorCursor(ctx, loc, "42"))
	for l, want := range map[string]string{loc: "42", "annex": "a-7", "other": ""} {
		c, err := cs.DoorCursor(ctx, l)
		noErr(t, "DoorCursor", err)
		if c != want {
			t.Fatalf("cursor of %s %q, want %q", l, c, want)
		}
	}
}
