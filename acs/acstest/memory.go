package acstest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// Memory is an in-memory acs.Provider that keeps its state in maps and
// passes the conformance kit. Use it in your own tests and examples, and to
// develop against without an ACS. It also lets tests break it on purpose:
// SetDown makes every call fail as Unavailable, LoseResponses makes changes
// happen but answers as if the connection dropped.
//
// Credentials keep their record after Revoke (inactive), as most systems do
// for audit; a revoked card may be provisioned again for another cardholder.
//
// Memory is safe for concurrent use.
type Memory struct {
	name  string
	rules acs.Rules

	mu         sync.Mutex
	levels     map[string]acs.AccessLevel
	holders    map[string]*memHolder // by ID
	byExternal map[string]string     // external ID → holder ID
	creds      map[string]*memCred   // by ID
	byCard     map[acs.Card]string   // card → credential ID
	pins       map[string]*memPIN    // PIN credentials by ID (memory_pin.go)
	seq        int
	calls      map[string]int
	down       bool
	lose       bool
	failNext   []error

	doors   map[string]memDoor
	events  []acs.DoorEvent // every swipe, in order; Cursor is the 1-based index
	newEvnt chan struct{}   // closed and replaced whenever an event is appended
}

type memDoor struct {
	name   string
	levels []string
}

type memHolder struct {
	ref    acs.CardholderRef
	person acs.Person
	// employee marks a cardholder added with AddEmployee: unmarked, so
	// Holdings leaves it out; disabled and readOnly are its status.
	employee, disabled, readOnly bool
}

type memCred struct {
	ref        acs.CredentialRef
	levels     []string
	from, till time.Time
	active     bool
}

// MemoryOption configures a Memory.
type MemoryOption func(*Memory)

// WithName sets the provider name reported by Name and in errors
// (default "memory").
func WithName(name string) MemoryOption { return func(m *Memory) { m.name = name } }

// WithRules sets the grant validation rules (default: acs.Rules{}).
func WithRules(r acs.Rules) MemoryOption { return func(m *Memory) { m.rules = r } }

// NewMemory returns an empty in-memory provider offering the given access
// levels.
func NewMemory(levels []acs.AccessLevel, opts ...MemoryOption) *Memory {
	m := &Memory{
		name:       "memory",
		levels:     make(map[string]acs.AccessLevel, len(levels)),
		holders:    make(map[string]*memHolder),
		byExternal: make(map[string]string),
		creds:      make(map[string]*memCred),
		byCard:     make(map[acs.Card]string),
		pins:       make(map[string]*memPIN),
		calls:      make(map[string]int),
		doors:      make(map[string]memDoor),
		newEvnt:    make(chan struct{}),
	}
	for _, l := range levels {
		m.levels[l.ID] = l
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

var (
	_ acs.Provider    = (*Memory)(nil)
	_ acs.EventSource = (*Memory)(nil)
	_ acs.Inventory   = (*Memory)(nil)
)

// Name returns the provider name ("memory" unless WithName was given).
func (m *Memory) Name() string { return m.name }

// SetDown makes every later call fail with an Unavailable error (true) or
// work again (false), as if the ACS were unreachable.
func (m *Memory) SetDown(down bool) {
	m.mu.Lock()
	m.down = down
	m.mu.Unlock()
}

// LoseResponses makes every later change happen at the "ACS" while the call
// still returns an Unavailable error, as when a connection drops after the
// server committed. Pass false to stop.
func (m *Memory) LoseResponses(lose bool) {
	m.mu.Lock()
	m.lose = lose
	m.mu.Unlock()
}

// FailNext makes the next len(errs) calls (of any method but Name) return
// these errors in order, before doing anything.
func (m *Memory) FailNext(errs ...error) {
	m.mu.Lock()
	m.failNext = append(m.failNext, errs...)
	m.mu.Unlock()
}

// Calls returns how many times each operation was called, keyed by
// "ping", "access_levels", "credential_formats", "provision", "revoke" and
// "remove_cardholder".
func (m *Memory) Calls() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, len(m.calls))
	for k, v := range m.calls {
		out[k] = v
	}
	return out
}

// begin counts the call and applies context and injected faults. It is
// called with m.mu held.
func (m *Memory) begin(ctx context.Context, op string) error {
	m.calls[op]++
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, m.name, acs.Canceled, err)
	}
	if len(m.failNext) > 0 {
		err := m.failNext[0]
		m.failNext = m.failNext[1:]
		return acs.Wrap(op, m.name, acs.CodeOf(err), err)
	}
	if m.down {
		return acs.Errorf(op, m.name, acs.Unavailable, "simulated outage")
	}
	return nil
}

// end turns a successful change into a lost response when LoseResponses is on.
func (m *Memory) end(op string) error {
	if m.lose {
		return acs.Errorf(op, m.name, acs.Unavailable, "simulated connection drop after commit")
	}
	return nil
}

// Ping succeeds unless the provider is down or ctx has ended.
func (m *Memory) Ping(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.begin(ctx, "ping")
}

// AccessLevels lists the access levels, sorted by ID.
func (m *Memory) AccessLevels(ctx context.Context) ([]acs.AccessLevel, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin(ctx, "access_levels"); err != nil {
		return nil, err
	}
	out := make([]acs.AccessLevel, 0, len(m.levels))
	for _, l := range m.levels {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// CredentialFormats lists one credential format per known Wiegand layout.
func (m *Memory) CredentialFormats(ctx context.Context) ([]acs.CredentialFormat, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin(ctx, "credential_formats"); err != nil {
		return nil, err
	}
	var out []acs.CredentialFormat
	for _, f := range []acs.CardFormat{acs.H10301, acs.H10306, acs.H10302, acs.H10304, acs.Corp1000_35, acs.Corp1000_48} {
		out = append(out, acs.CredentialFormat{ID: f.String(), Name: f.String(), Format: f})
	}
	return out, nil
}

func (m *Memory) nextID(prefix string) string {
	m.seq++
	return prefix + strconv.Itoa(m.seq)
}

// Provision creates or finds the cardholder and credential of g.
func (m *Memory) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	const op = "provision"
	if err := acs.ValidateGrant(g, m.rules); err != nil {
		return acs.Provisioned{}, acs.Wrap(op, m.name, acs.InvalidArgument, err)
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
	var holder *memHolder
	if id, ok := m.byExternal[g.Person.ExternalID]; ok {
		holder = m.holders[id]
	}
	var cred *memCred
	if id, ok := m.byCard[g.Card]; ok {
		cred = m.creds[id]
		if holder == nil || cred.ref.CardholderID != holder.ref.ID {
			if cred.active {
				return acs.Provisioned{}, acs.Errorf(op, m.name, acs.Conflict, "card %s is held by another cardholder", g.Card)
			}
			// A revoked card is free for its next holder.
			delete(m.creds, id)
			delete(m.byCard, g.Card)
			cred = nil
		}
	}
	created := false
	if holder == nil {
		holder = &memHolder{ref: acs.CardholderRef{ID: m.nextID("ch-"), ExternalID: g.Person.ExternalID}}
		m.holders[holder.ref.ID] = holder
		m.byExternal[g.Person.ExternalID] = holder.ref.ID
		created = true
	}
	holder.person = g.Person
	if cred == nil {
		cred = &memCred{ref: acs.CredentialRef{
			ID:                   m.nextID("cr-"),
			CardholderID:         holder.ref.ID,
			CardholderExternalID: holder.ref.ExternalID,
			Card:                 g.Card,
		}}
		m.creds[cred.ref.ID] = cred
		m.byCard[g.Card] = cred.ref.ID
		created = true
	}
	cred.levels = slices.Clone(g.AccessLevels)
	cred.from, cred.till = g.ValidFrom, g.ValidUntil
	cred.active = true
	p := acs.Provisioned{
		Cardholder:   holder.ref,
		Credential:   cred.ref,
		AccessLevels: slices.Clone(g.AccessLevels),
		Created:      created,
	}
	if err := m.end(op); err != nil {
		return acs.Provisioned{}, err
	}
	return p, nil
}

// findCred resolves a credential reference; nil when absent.
func (m *Memory) findCred(ref acs.CredentialRef) *memCred {
	if ref.ID != "" {
		return m.creds[ref.ID]
	}
	id, ok := m.byCard[ref.Card]
	if !ok {
		return nil
	}
	c := m.creds[id]
	if c.ref.CardholderExternalID != ref.CardholderExternalID {
		return nil
	}
	return c
}

// Revoke deactivates the credential, keeping its record.
func (m *Memory) Revoke(ctx context.Context, ref acs.CredentialRef) error {
	const op = "revoke"
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin(ctx, op); err != nil {
		return err
	}
	if ref.ID == "" && ref.CardholderExternalID == "" {
		return acs.Errorf(op, m.name, acs.InvalidArgument, "credential reference has neither an ID nor a cardholder external ID")
	}
	if c := m.findCred(ref); c != nil {
		c.active = false
	}
	return m.end(op)
}

// RemoveCardholder deletes the cardholder and its credentials.
func (m *Memory) RemoveCardholder(ctx context.Context, ref acs.CardholderRef) error {
	const op = "remove_cardholder"
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin(ctx, op); err != nil {
		return err
	}
	id := ref.ID
	if id == "" {
		if ref.ExternalID == "" {
			return acs.Errorf(op, m.name, acs.InvalidArgument, "cardholder reference has neither an ID nor an external ID")
		}
		id = m.byExternal[ref.ExternalID]
	}
	h, ok := m.holders[id]
	if !ok {
		return m.end(op)
	}
	for cid, c := range m.creds {
		if c.ref.CardholderID == id {
			delete(m.creds, cid)
			delete(m.byCard, c.ref.Card)
		}
	}
	m.removePINs(id)
	delete(m.byExternal, h.ref.ExternalID)
	delete(m.holders, id)
	return m.end(op)
}

// Opens reports whether the credential opens doors of the access level at
// the given time: it exists, is active, holds the level and at lies within
// its window. It is the oracle the conformance kit uses.
func (m *Memory) Opens(ref acs.CredentialRef, level string, at time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.findCred(ref)
	if c == nil || !c.active || at.Before(c.from) || !at.Before(c.till) {
		return false
	}
	h, holderExists := m.holders[c.ref.CardholderID]
	return holderExists && !h.disabled && slices.Contains(c.levels, level)
}

// Active returns the credentials that open at least one door at the given
// time, sorted by ID.
func (m *Memory) Active(at time.Time) []acs.CredentialRef {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []acs.CredentialRef
	for _, c := range m.creds {
		if c.active && !at.Before(c.from) && at.Before(c.till) && len(c.levels) > 0 {
			out = append(out, c.ref)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Census counts the cardholders and credential records held, PINs
// included.
func (m *Memory) Census() Census {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Census{Cardholders: len(m.holders), Credentials: len(m.creds) + len(m.pins)}
}

// String summarises the state, for test failure messages.
func (m *Memory) String() string {
	c := m.Census()
	return fmt.Sprintf("memory provider %q: %d cardholders, %d credentials", m.name, c.Cardholders, c.Credentials)
}

// MemoryHarness returns a conformance-kit harness over a fresh Memory with
// two access levels, "lobby" and "floor-3". It is what the kit's own tests
// use, and a template for adapter harnesses.
func MemoryHarness(opts ...MemoryOption) Harness {
	m := NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}, {ID: "floor-3", Name: "Floor 3"}}, opts...)
	return &memHarness{m: m}
}

type memHarness struct{ m *Memory }

func (h *memHarness) Provider() acs.Provider                 { return h.m }
func (h *memHarness) AccessLevels() []string                 { return []string{"lobby", "floor-3"} }
func (h *memHarness) Now() time.Time                         { return time.Now() }
func (h *memHarness) Census(context.Context) (Census, error) { return h.m.Census(), nil }

// Swipe presents card at a door of the given level (SwipeHarness).
func (h *memHarness) Swipe(_ context.Context, card acs.Card, level string) error {
	door := "door-" + level
	h.m.AddDoor(door, "Door of "+level, level)
	h.m.Swipe(card, door, acs.DirectionIn, time.Now())
	return nil
}

func (h *memHarness) Opens(_ context.Context, ref acs.CredentialRef, level string, at time.Time) (bool, error) {
	return h.m.Opens(ref, level, at), nil
}

// Holdings delivers every cardholder with its credentials (acs.Inventory).
// Every cardholder Provision created carries an external ID, so all of
// those are delivered, in ID order; employees (AddEmployee) are not.
func (m *Memory) Holdings(ctx context.Context, fn func(acs.Holding) error) error {
	const op = "holdings"
	m.mu.Lock()
	if err := m.begin(ctx, op); err != nil {
		m.mu.Unlock()
		return err
	}
	out := make([]acs.Holding, 0, len(m.holders))
	for _, h := range m.holders {
		if h.employee {
			continue // unmarked: not created by Provision
		}
		out = append(out, acs.Holding{Cardholder: h.ref, FirstName: h.person.FirstName, LastName: h.person.LastName})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Cardholder.ID < out[j].Cardholder.ID })
	index := make(map[string]int, len(out))
	for i, h := range out {
		index[h.Cardholder.ID] = i
	}
	for _, c := range m.creds {
		if i, ok := index[c.ref.CardholderID]; ok {
			out[i].Credentials = append(out[i].Credentials, acs.HeldCredential{
				Ref: c.ref, Active: c.active, AccessLevels: slices.Clone(c.levels),
				ValidFrom: c.from, ValidUntil: c.till,
			})
		}
	}
	err := m.end(op)
	m.mu.Unlock()
	if err != nil {
		return err
	}
	for _, h := range out {
		slices.SortFunc(h.Credentials, func(a, b acs.HeldCredential) int { return strings.Compare(a.Ref.ID, b.Ref.ID) })
		if err := ctx.Err(); err != nil {
			return acs.Wrap(op, m.name, acs.Canceled, err)
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	return nil
}

// SetWindow changes the window of a credential behind its provider's back,
// as an administrator editing it at the ACS would. It reports whether the
// credential exists.
func (m *Memory) SetWindow(ref acs.CredentialRef, from, until time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.findCred(ref)
	if c == nil {
		return false
	}
	c.from, c.till = from, until
	return true
}

// SetLevels changes the access levels of a credential behind its
// provider's back. It reports whether the credential exists.
func (m *Memory) SetLevels(ref acs.CredentialRef, levels ...string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.findCred(ref)
	if c == nil {
		return false
	}
	c.levels = slices.Clone(levels)
	return true
}

// DeleteCredential deletes a credential record behind its provider's back,
// as an administrator at the ACS would. It reports whether it existed.
func (m *Memory) DeleteCredential(ref acs.CredentialRef) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.findCred(ref)
	if c == nil {
		return false
	}
	delete(m.creds, c.ref.ID)
	delete(m.byCard, c.ref.Card)
	return true
}
