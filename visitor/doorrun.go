package visitor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// CursorStore keeps, per location, the cursor of the last door event the
// consumer (RunDoorEvents) has processed, so that a restart resumes right
// after it. Methods must be safe for concurrent use.
//
// The Engine uses the CursorStore given with WithCursorStore; otherwise
// its Store when the Store implements CursorStore (MemoryStore does);
// otherwise a MemoryCursors, which forgets on restart: the consumer then
// starts from what each ACS retains, and recording stays idempotent for
// every visit's recent events (see DoorActivity.Recent) while unmatched
// events reach the handler again. A VMS with a durable Store that does not
// implement CursorStore supplies its own (a row in its database, a file).
type CursorStore interface {
	// DoorCursor returns the saved cursor of the location, or "" when none
	// was saved.
	DoorCursor(ctx context.Context, location string) (string, error)
	// SaveDoorCursor saves the cursor of the location's last processed
	// event.
	SaveDoorCursor(ctx context.Context, location, cursor string) error
}

// WithCursorStore sets where the door event consumer keeps its cursors
// (default: the Store if it implements CursorStore, else memory).
func WithCursorStore(cs CursorStore) Option { return func(e *Engine) { e.cursors = cs } }

// MemoryCursors is a CursorStore in memory. The zero value is not usable;
// call NewMemoryCursors.
type MemoryCursors struct {
	mu sync.Mutex
	m  map[string]string
}

// NewMemoryCursors returns an empty MemoryCursors.
func NewMemoryCursors() *MemoryCursors { return &MemoryCursors{m: make(map[string]string)} }

var _ CursorStore = (*MemoryCursors)(nil)

// DoorCursor implements CursorStore.
func (c *MemoryCursors) DoorCursor(ctx context.Context, location string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[location], nil
}

// SaveDoorCursor implements CursorStore.
func (c *MemoryCursors) SaveDoorCursor(ctx context.Context, location, cursor string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[location] = cursor
	return nil
}

// Cursors returns a copy of every saved cursor, by location.
func (c *MemoryCursors) Cursors() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.m)
}

// RunDoorEvents consumes the door events of the named locations (every
// location whose provider implements acs.EventSource when none is named)
// until ctx ends, and then returns nil. It refuses at once a named location
// that is not configured (InvalidArgument) or whose provider delivers no
// events (Unsupported), and returns Unsupported when no location does.
//
// For each location it reads the saved cursor (see CursorStore) and runs
// the provider's Events from it. Each event is handled inside the
// provider's callback, one at a time: recorded with RecordDoorEvent (or
// handed to the unmatched handler), then its cursor saved. Nothing is
// queued, so a slow store or handler slows the stream (back-pressure)
// instead of growing a buffer. When recording, the handler, the cursor
// store or the stream fails, the consumer waits (the Engine's backoff,
// WithBackoff, on its clock) and resumes from the saved cursor, so no event
// is skipped; an event processed but whose cursor was not saved is
// delivered again and changes nothing the second time (RecordDoorEvent is
// idempotent). Events that RecordDoorEvent refuses as malformed (no door or
// time) are logged and skipped.
//
// A location whose ACS refuses the stream for good (a non-retryable
// *acs.Error such as Unauthenticated or PermissionDenied: bad credentials,
// a missing licence or privilege) is not retried in a loop: its consumer
// stops, logs the refusal, and RunDoorEvents returns the refusals joined
// once every consumer has stopped (nil when only ctx ended them).
//
// RunDoorEvents is separate from Run and runs on one replica: several
// consumers of one location would each call the unmatched handler.
func (e *Engine) RunDoorEvents(ctx context.Context, locations ...string) error {
	const opName = "door_events"
	type source struct {
		l   *Location
		src acs.EventSource
	}
	var srcs []source
	if len(locations) == 0 {
		for _, id := range slices.Sorted(maps.Keys(e.locs)) {
			if src, ok := e.locs[id].Provider.(acs.EventSource); ok {
				srcs = append(srcs, source{e.locs[id], src})
			}
		}
		if len(srcs) == 0 {
			return refusal(opName, acs.Unsupported, "no location's ACS delivers door events")
		}
	}
	for i, id := range locations {
		l := e.locs[id]
		if l == nil {
			return refusal(opName, acs.InvalidArgument, "location %q is not configured", id)
		}
		if slices.Contains(locations[:i], id) {
			return refusal(opName, acs.InvalidArgument, "location %q is listed twice", id)
		}
		src, ok := l.Provider.(acs.EventSource)
		if !ok {
			return refusal(opName, acs.Unsupported, "the ACS of location %s (%s) delivers no door events", id, l.Provider.Name())
		}
		srcs = append(srcs, source{l, src})
	}
	var wg sync.WaitGroup
	refusals := make([]error, len(srcs))
	for i, s := range srcs {
		wg.Go(func() { refusals[i] = e.consumeDoorEvents(ctx, s.l.ID, s.src) })
	}
	wg.Wait()
	return errors.Join(refusals...)
}

// consumerError marks an error of the consumer's own (recording, the
// handler, the cursor store), as opposed to the ACS's stream.
type consumerError struct{ err error }

func (c consumerError) Error() string { return c.err.Error() }
func (c consumerError) Unwrap() error { return c.err }

// refusedForGood reports whether the stream's error is the ACS's permanent
// refusal, which retrying will not change.
func refusedForGood(err error) bool {
	var own consumerError
	if err == nil || errors.As(err, &own) || !isACSError(err) {
		return false
	}
	switch acs.CodeOf(err) {
	case acs.Unauthenticated, acs.PermissionDenied, acs.Unsupported, acs.Misconfigured:
		return true
	}
	return false
}

// consumeDoorEvents runs one location's event stream until ctx ends,
// resuming from the saved cursor after every failure but a permanent
// refusal by the ACS, which it returns.
func (e *Engine) consumeDoorEvents(ctx context.Context, location string, src acs.EventSource) error {
	delay := e.minBackoff
	for {
		progressed := false
		cursor, err := e.cursors.DoorCursor(ctx, location)
		if err != nil {
			err = fmt.Errorf("visitor: read the door event cursor: %w", err)
		} else {
			err = src.Events(ctx, cursor, func(ev acs.DoorEvent) error {
				if err := e.consumeDoorEvent(ctx, location, ev); err != nil {
					return consumerError{err}
				}
				progressed = true
				return nil
			})
		}
		if ctx.Err() != nil {
			return nil
		}
		if refusedForGood(err) {
			e.log.ErrorContext(ctx, "visitor: the ACS refuses the door event stream; not retrying", "location", location, "err", err)
			return fmt.Errorf("visitor: door events of location %s: %w", location, err)
		}
		if progressed {
			delay = e.minBackoff
		}
		if err == nil {
			err = fmt.Errorf("visitor: the door event stream of location %s ended", location)
		}
		e.log.ErrorContext(ctx, "visitor: door events interrupted; resuming from the saved cursor", "location", location, "retry_in", delay, "err", err)
		if e.sleep(ctx, delay) != nil {
			return nil
		}
		delay = min(2*delay, e.maxBackoff)
	}
}

// consumeDoorEvent records one event and saves its cursor.
func (e *Engine) consumeDoorEvent(ctx context.Context, location string, ev acs.DoorEvent) error {
	if err := validateDoorEvent("door_event", &ev); err != nil {
		e.log.WarnContext(ctx, "visitor: malformed door event skipped", "location", location, "cursor", ev.Cursor, "err", err)
	} else if _, err := e.RecordDoorEvent(ctx, location, ev); err != nil {
		return err
	}
	if ev.Cursor == "" {
		return nil
	}
	if err := e.cursors.SaveDoorCursor(ctx, location, ev.Cursor); err != nil {
		return fmt.Errorf("visitor: save the door event cursor: %w", err)
	}
	return nil
}

// clockSleep waits d on the Engine's clock, or until ctx ends.
func (e *Engine) clockSleep(ctx context.Context, d time.Duration) error {
	t := e.clock.NewTicker(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}
