package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
)

// memoryWithGrant returns an in-memory ACS holding one active credential.
func memoryWithGrant(t *testing.T) (*acstest.Memory, acs.Provisioned) {
	t.Helper()
	m := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}})
	now := time.Now()
	got, err := m.Provision(t.Context(), acs.Grant{
		Person:       acs.Person{ExternalID: "visit-1", FirstName: "Ada", LastName: "Lovelace"},
		Card:         acs.Card{Format: acs.H10301, Facility: 1, Number: 200},
		AccessLevels: []string{"lobby"}, ValidFrom: now, ValidUntil: now.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	return m, got
}

// revoke tells a credential it revoked from one that was already revoked
// and from one the ACS does not hold, for which it sends nothing.
func TestRevokeOutcomes(t *testing.T) {
	ctx := t.Context()
	m, got := memoryWithGrant(t)
	id, holder := got.Credential.ID, got.Cardholder.ID

	res, err := revokeCredential(ctx, m, id, "")
	if err != nil || res != (revokeResult{Revoked: true, Outcome: outcomeRevoked, CredentialID: id, CardholderID: holder}) {
		t.Fatalf("first revoke: %+v, %v", res, err)
	}
	if m.Opens(got.Credential, "lobby", time.Now()) {
		t.Fatal("the credential still opens the lobby")
	}
	if txt := res.text("memory"); txt != "revoked credential "+id+" of cardholder "+holder+"\n" {
		t.Errorf("text %q", txt)
	}

	res, err = revokeCredential(ctx, m, id, holder)
	if err != nil || res.Revoked || res.Outcome != outcomeAlreadyRevoked {
		t.Errorf("second revoke: %+v, %v", res, err)
	}
	if txt := res.text("memory"); !strings.HasPrefix(txt, "nothing to revoke: credential "+id+" of cardholder "+holder+" was already revoked") {
		t.Errorf("text %q", txt)
	}

	before := m.Calls()["revoke"]
	for _, c := range []struct{ id, holder string }{{"no-such-credential", ""}, {id, "another-cardholder"}} {
		res, err = revokeCredential(ctx, m, c.id, c.holder)
		if err != nil || res.Revoked || res.Outcome != outcomeNotFound {
			t.Errorf("revoke %s of %q: %+v, %v", c.id, c.holder, res, err)
		}
		if txt := res.text("memory"); !strings.HasPrefix(txt, "nothing to revoke: memory holds no credential "+c.id) {
			t.Errorf("text %q", txt)
		}
	}
	if n := m.Calls()["revoke"]; n != before {
		t.Errorf("%d revocations sent for credentials the ACS does not hold", n-before)
	}
}

// noInventory hides the in-memory provider's Holdings.
type noInventory struct{ acs.Provider }

// twinInventory lists the credential ID under two cardholders.
type twinInventory struct{ acs.Provider }

// Holdings delivers two cardholders holding credential "c1".
func (twinInventory) Holdings(ctx context.Context, fn func(acs.Holding) error) error {
	for _, h := range []string{"h1", "h2"} {
		if err := fn(acs.Holding{Cardholder: acs.CardholderRef{ID: h}, Credentials: []acs.HeldCredential{{Ref: acs.CredentialRef{ID: "c1"}, Active: true}}}); err != nil {
			return err
		}
	}
	return nil
}

func TestRevokeWithoutOrWithAmbiguousInventory(t *testing.T) {
	ctx := t.Context()
	m, got := memoryWithGrant(t)
	res, err := revokeCredential(ctx, noInventory{m}, got.Credential.ID, "")
	if err != nil || !res.Revoked || res.Outcome != outcomeUnchecked || m.Opens(got.Credential, "lobby", time.Now()) {
		t.Errorf("without inventory: %+v, %v", res, err)
	}
	if txt := res.text("memory"); !strings.Contains(txt, "whether it existed is unknown") {
		t.Errorf("text %q", txt)
	}

	_, err = revokeCredential(ctx, twinInventory{m}, "c1", "")
	if err == nil || !strings.Contains(err.Error(), "held by cardholders h1 and h2") || !strings.Contains(err.Error(), "--cardholder-id") {
		t.Errorf("ambiguous credential ID: %v", err)
	}
	res, err = revokeCredential(ctx, twinInventory{m}, "c1", "h2")
	if err != nil || res.CardholderID != "h2" || res.Outcome != outcomeRevoked {
		t.Errorf("with the cardholder: %+v, %v", res, err)
	}

	// A failing inventory is an error, and nothing is revoked.
	m2, got2 := memoryWithGrant(t)
	m2.FailNext(acs.Errorf("holdings", "memory", acs.Unavailable, "down"))
	if _, err := revokeCredential(ctx, m2, got2.Credential.ID, ""); err == nil || !strings.Contains(err.Error(), "asking which cardholder holds credential") {
		t.Errorf("failing inventory: %v", err)
	}
	if !m2.Opens(got2.Credential, "lobby", time.Now()) {
		t.Error("revoked although the inventory failed")
	}
}
