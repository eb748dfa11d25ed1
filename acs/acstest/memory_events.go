package acstest

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// AddDoor adds (or replaces) a door that opens for credentials holding any
// of the given access levels.
func (m *Memory) AddDoor(id, name string, levels ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.doors[id] = memDoor{name: name, levels: slices.Clone(levels)}
}

// Swipe presents a card at a door at the given time, as a reader would:
// the door opens when an active credential with that card opens one of the
// door's access levels at that time (the same rule as Opens). The decision
// is recorded as a door event, delivered by Events, and returned. An
// unknown card or door is denied.
func (m *Memory) Swipe(card acs.Card, doorID string, dir acs.Direction, at time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	door, doorOK := m.doors[doorID]
	ev := acs.DoorEvent{Time: at, DoorID: doorID, DoorName: door.name, Card: card, Direction: dir}
	if id, ok := m.byCard[card]; ok {
		c := m.creds[id]
		ev.Credential = c.ref.ID
		if _, held := m.holders[c.ref.CardholderID]; held {
			ev.Cardholder = acs.CardholderRef{ID: c.ref.CardholderID, ExternalID: c.ref.CardholderExternalID}
		}
		if doorOK && c.active && !at.Before(c.from) && at.Before(c.till) {
			for _, l := range door.levels {
				if slices.Contains(c.levels, l) {
					ev.Granted = true
					break
				}
			}
		}
		if h, held := m.holders[c.ref.CardholderID]; !held || h.disabled {
			ev.Granted = false
		}
	}
	ev.Cursor = strconv.Itoa(len(m.events) + 1)
	m.events = append(m.events, ev)
	close(m.newEvnt)
	m.newEvnt = make(chan struct{})
	return ev.Granted
}

// Events delivers the recorded door events after cursor (all of them for
// an empty cursor) to fn in order, then waits for new ones, until ctx ends
// (returning its error) or fn returns an error (returned as is). Cursors
// are decimal event sequence numbers. SetDown makes Events fail as
// Unavailable, like every other call.
func (m *Memory) Events(ctx context.Context, cursor string, fn func(acs.DoorEvent) error) error {
	const op = "events"
	next := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 0 {
			return acs.Errorf(op, m.name, acs.InvalidArgument, "cursor %q is not an event sequence number", cursor)
		}
		next = n
	}
	for {
		m.mu.Lock()
		if err := m.begin(ctx, op); err != nil {
			m.mu.Unlock()
			return err
		}
		var batch []acs.DoorEvent
		if next < len(m.events) {
			batch = slices.Clone(m.events[next:])
		}
		wake := m.newEvnt
		m.mu.Unlock()
		for _, ev := range batch {
			if err := fn(ev); err != nil {
				return err
			}
			next++
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return acs.Wrap(op, m.name, acs.Canceled, ctx.Err())
		case <-wake:
		}
	}
}
