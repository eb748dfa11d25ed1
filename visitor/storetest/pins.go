package storetest

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/visitor"
)

// pinTx runs fn with the store's visitor.PINTx on visit id; a store
// without PINTx skips the check.
func pinTx(ctx context.Context, t *testing.T, s visitor.Store, id string, fn func(p visitor.PINTx) error) error {
	t.Helper()
	_, err := s.Update(ctx, id, func(tx visitor.Tx, v *visitor.Visit) error {
		p, ok := tx.(visitor.PINTx)
		if !ok {
			t.Skip("the store's Tx does not implement visitor.PINTx")
		}
		return fn(p)
	})
	return err
}

// pinTags checks visitor.PINTx: a tag is live for one claim at a location
// (any visit's second claim is ErrExists), claims roll back with their
// transaction, only the holder's release frees it, and of concurrent
// claims of one tag exactly one wins.
func pinTags(ctx context.Context, t *testing.T, s visitor.Store) {
	for _, id := range []string{"v1", "v2"} {
		create(ctx, t, s, sample(id))
	}
	claim := func(id, location, tag string) error {
		return pinTx(ctx, t, s, id, func(p visitor.PINTx) error { return p.ClaimPINTag(location, tag) })
	}
	release := func(id, location, tag string) error {
		return pinTx(ctx, t, s, id, func(p visitor.PINTx) error { return p.ReleasePINTag(location, tag) })
	}
	noErr(t, "claim", claim("v1", loc, "t1"))
	wantErr(t, "claim by another visit", claim("v2", loc, "t1"), visitor.ErrExists)
	wantErr(t, "claim again by the holder", claim("v1", loc, "t1"), visitor.ErrExists)
	noErr(t, "the same tag at another location", claim("v2", "annex", "t1"))
	// A failed transaction takes its claim back; a failed claim inside a
	// transaction that goes on does not spoil it (on PostgreSQL a failed
	// statement would abort the transaction).
	boom := errors.New("boom")
	err := pinTx(ctx, t, s, "v2", func(p visitor.PINTx) error {
		noErr(t, "claim in a failing transaction", p.ClaimPINTag(loc, "t2"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("failing transaction: %v", err)
	}
	noErr(t, "claim after the rollback", pinTx(ctx, t, s, "v2", func(p visitor.PINTx) error {
		if err := p.ClaimPINTag(loc, "t1"); !errors.Is(err, visitor.ErrExists) {
			t.Fatalf("claim of a live tag: %v", err)
		}
		return p.ClaimPINTag(loc, "t2")
	}))
	noErr(t, "release by another visit", release("v2", loc, "t1"))
	wantErr(t, "claim after another visit's release", claim("v2", loc, "t1"), visitor.ErrExists)
	noErr(t, "release", release("v1", loc, "t1"))
	noErr(t, "release again", release("v1", loc, "t1"))
	noErr(t, "claim after the release", claim("v2", loc, "t1"))

	// Concurrent claims of one tag by different visits: exactly one wins.
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		id := "c" + string(rune('a'+i))
		create(ctx, t, s, sample(id))
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = claim(id, loc, "contested")
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, visitor.ErrExists):
			t.Fatalf("concurrent claim %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent claims of one tag won, want 1", won)
	}
}

// pinData checks that a visit's PIN credential and an outbox item with a
// PIN grant and a sealed PIN survive the store unchanged.
func pinData(ctx context.Context, t *testing.T, s visitor.Store) {
	v := sample("v1")
	v.Credentials = append(v.Credentials, visitor.Credential{
		Source: visitor.FromPIN, AccessLevels: []string{"lobby"}, ValidFrom: at(0), ValidUntil: at(60),
		Status: visitor.CredActive, IssuedBy: "alice", IssuedAt: at(0),
		Ref: acs.CredentialRef{ID: "pin-9", CardholderID: "ch-1", CardholderExternalID: "v1"},
		PIN: &visitor.PINInfo{Tag: "00ff", Length: 8, WithCard: true},
	})
	got := create(ctx, t, s, v)
	sameVisit(t, "visit with a PIN credential", got, v)
	back, err := s.Visit(ctx, "v1")
	noErr(t, "Visit", err)
	sameVisit(t, "visit with a PIN credential read back", back, v)

	it := item("a", "v1", at(0))
	it.Op, it.Ref, it.Credential = visitor.OpProvisionPIN, nil, len(v.Credentials)-1
	it.PINGrant = &acs.PINGrant{Person: acs.Person{ExternalID: "v1", FirstName: "Ada"}, Card: acs.Card{Format: acs.H10301, Number: 7},
		AccessLevels: []string{"lobby"}, ValidFrom: at(0), ValidUntil: at(60)}
	it.SealedPIN = []byte{1, 0, 255, 42, 7}
	enqueue(ctx, t, s, "v1", it)
	q, err := s.Outbox(ctx, "v1", 0)
	noErr(t, "Outbox", err)
	it.Seq = q[0].Seq
	normalize(&q[0])
	if !reflect.DeepEqual(q[0], it) {
		t.Fatalf("outbox item with a PIN grant through the store:\n got  %+v\n want %+v", q[0], it)
	}
}
