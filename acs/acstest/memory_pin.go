package acstest

import (
	"context"
	"slices"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// memPIN is a cardholder's PIN credential in a Memory: the PIN, the access
// levels and window it opens, like a credential.
type memPIN struct {
	ref        acs.CredentialRef
	pin        acs.PIN
	levels     []string
	from, till time.Time
}

var _ acs.PINIssuer = (*Memory)(nil)

// PINSupport reports PINs of acs.MinPINLen to acs.MaxPINLen digits,
// issued with or without a card.
func (m *Memory) PINSupport() acs.PINSupport {
	return acs.PINSupport{MinLen: acs.MinPINLen, MaxLen: acs.MaxPINLen, Standalone: true}
}

// ProvisionPIN finds or creates the cardholder of g and sets its PIN
// (acs.PINIssuer). A PIN another cardholder holds is a Conflict, as in
// ACSs that keep PINs unique.
func (m *Memory) ProvisionPIN(ctx context.Context, g acs.PINGrant) (acs.Provisioned, error) {
	const op = "provision_pin"
	if err := acs.ValidatePINGrant(g, m.rules); err != nil {
		return acs.Provisioned{}, acs.Wrap(op, m.name, acs.InvalidArgument, err)
	}
	if err := m.PINSupport().Check(g); err != nil {
		return acs.Provisioned{}, acs.Wrap(op, m.name, acs.CodeOf(err), err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin(ctx, op); err != nil {
		return acs.Provisioned{}, err
	}
	for _, id := range g.AccessLevels {
		if _, ok := m.levels[id]; !ok {
			return acs.Provisioned{}, acs.Errorf(op, m.name, acs.NotFound, "access level %q does not exist", id)
		}
	}
	holderID := m.byExternal[g.Person.ExternalID]
	var mine *memPIN
	for _, p := range m.pins {
		switch {
		case p.ref.CardholderID == holderID && holderID != "":
			mine = p
		case p.pin.Equal(g.PIN):
			return acs.Provisioned{}, acs.Errorf(op, m.name, acs.Conflict, "the PIN is held by another cardholder")
		}
	}
	created := false
	if holderID == "" {
		h := &memHolder{ref: acs.CardholderRef{ID: m.nextID("ch-"), ExternalID: g.Person.ExternalID}}
		m.holders[h.ref.ID] = h
		m.byExternal[g.Person.ExternalID] = h.ref.ID
		holderID, created = h.ref.ID, true
	}
	m.holders[holderID].person = g.Person
	if mine == nil {
		mine = &memPIN{ref: acs.CredentialRef{ID: m.nextID("pin-"), CardholderID: holderID, CardholderExternalID: g.Person.ExternalID}}
		m.pins[mine.ref.ID] = mine
		created = true
	}
	mine.pin, mine.levels = g.PIN, slices.Clone(g.AccessLevels)
	mine.from, mine.till = g.ValidFrom, g.ValidUntil
	p := acs.Provisioned{
		Cardholder: m.holders[holderID].ref, Credential: mine.ref,
		AccessLevels: slices.Clone(g.AccessLevels), Created: created,
	}
	if err := m.end(op); err != nil {
		return acs.Provisioned{}, err
	}
	return p, nil
}

// RevokePIN deletes the PIN ref.ID names, or every PIN of the cardholder
// with ref.CardholderExternalID (acs.PINIssuer). Absent is a success.
func (m *Memory) RevokePIN(ctx context.Context, ref acs.CredentialRef) error {
	const op = "revoke_pin"
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin(ctx, op); err != nil {
		return err
	}
	if ref.ID == "" && ref.CardholderExternalID == "" {
		return acs.Errorf(op, m.name, acs.InvalidArgument, "PIN reference has neither an ID nor a cardholder external ID")
	}
	for id, p := range m.pins {
		if ref.ID != "" && id == ref.ID && (ref.CardholderID == "" || ref.CardholderID == p.ref.CardholderID) ||
			ref.ID == "" && p.ref.CardholderExternalID == ref.CardholderExternalID {
			delete(m.pins, id)
		}
	}
	return m.end(op)
}

// OpensWithPIN reports whether entering pin at a keypad of the access
// level opens it at the given time: a cardholder that exists holds the
// PIN with that level, and at lies within its window. It is the oracle of
// the kit's PIN rules.
func (m *Memory) OpensWithPIN(pin acs.PIN, level string, at time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.pins {
		if !p.pin.Equal(pin) || at.Before(p.from) || !at.Before(p.till) {
			continue
		}
		if _, ok := m.holders[p.ref.CardholderID]; ok && slices.Contains(p.levels, level) {
			return true
		}
	}
	return false
}

// removePINs deletes the PINs of a removed cardholder; m.mu is held.
func (m *Memory) removePINs(holderID string) {
	for id, p := range m.pins {
		if p.ref.CardholderID == holderID {
			delete(m.pins, id)
		}
	}
}

// OpensWithPIN is the memory harness's PIN oracle (PINHarness).
func (h *memHarness) OpensWithPIN(_ context.Context, pin acs.PIN, level string, at time.Time) (bool, error) {
	return h.m.OpensWithPIN(pin, level, at), nil
}
