package acstest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// checkEdges checks the window a minute inside and outside each edge, and
// prints the window on failure.
func checkEdges(ctx context.Context, h Harness, ref acs.CredentialRef, g acs.Grant, level string) error {
	for _, p := range []struct {
		what string
		at   time.Time
		want bool
	}{
		{"a minute before ValidFrom", g.ValidFrom.Add(-time.Minute), false},
		{"a minute after ValidFrom", g.ValidFrom.Add(time.Minute), true},
		{"a minute before ValidUntil", g.ValidUntil.Add(-time.Minute), true},
		{"a minute after ValidUntil", g.ValidUntil.Add(time.Minute), false},
	} {
		if err := expectOpens(ctx, h, ref, p.want, p.at, level); err != nil {
			return fmt.Errorf("window %s – %s, %s: %w", g.ValidFrom.Format(time.RFC3339), g.ValidUntil.Format(time.RFC3339), p.what, err)
		}
	}
	return nil
}

// checkReprovision: re-provisioning with fewer levels and a shorter window
// leaves only the new grant.
func checkReprovision(ctx context.Context, h Harness) error {
	l0, l1, err := levels(h)
	if err != nil {
		return err
	}
	g := grant(h, 30, l0, l1)
	if _, err := h.Provider().Provision(ctx, g); err != nil {
		return err
	}
	g.AccessLevels = []string{l0}
	g.ValidUntil = g.ValidUntil.Add(-time.Hour)
	p, err := h.Provider().Provision(ctx, g)
	if err != nil {
		return fmt.Errorf("re-provision with fewer levels: %w", err)
	}
	now := h.Now()
	if err := expectOpens(ctx, h, p.Credential, true, now, l0); err != nil {
		return err
	}
	if err := expectOpens(ctx, h, p.Credential, false, now, l1); err != nil {
		return fmt.Errorf("the level dropped from the grant still opens: %w", err)
	}
	if err := expectOpens(ctx, h, p.Credential, false, g.ValidUntil.Add(time.Minute), l0); err != nil {
		return fmt.Errorf("the shortened window still opens after its new end %s: %w", g.ValidUntil.Format(time.RFC3339), err)
	}
	return nil
}

// checkFormats provisions a card in every format the provider maps to a
// Wiegand layout.
func checkFormats(ctx context.Context, h Harness) error {
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	fs, err := h.Provider().CredentialFormats(ctx)
	if err != nil {
		return err
	}
	var errs []error
	n := 0
	for _, f := range fs {
		if !f.Format.Known() {
			continue
		}
		g := grant(h, 200+n, l0)
		n++
		g.CredentialType = f.ID
		g.Card = acs.Card{Format: f.Format, Number: 3000 + uint64(n)}
		if _, ok := f.Format.MaxFacility(); ok {
			g.Card.Facility = 42
		}
		p, err := h.Provider().Provision(ctx, g)
		if err != nil {
			errs = append(errs, fmt.Errorf("format %s (%s, ID %q): %w", f.Format, f.Name, f.ID, err))
			continue
		}
		if err := expectOpens(ctx, h, p.Credential, true, h.Now(), l0); err != nil {
			errs = append(errs, fmt.Errorf("format %s (%s): %w", f.Format, f.Name, err))
		}
	}
	return errors.Join(errs...)
}

// checkRevokeAfterRemove: the IDs of a removed cardholder still revoke.
func checkRevokeAfterRemove(ctx context.Context, h Harness) error {
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	p, err := h.Provider().Provision(ctx, grant(h, 31, l0))
	if err != nil {
		return err
	}
	if err := h.Provider().RemoveCardholder(ctx, p.Cardholder); err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	if err := h.Provider().Revoke(ctx, p.Credential); err != nil {
		return fmt.Errorf("revoke with the IDs of the removed cardholder's credential %+v: %w", p.Credential, err)
	}
	return expectOpens(ctx, h, p.Credential, false, h.Now(), l0)
}

// SwipeHarness may be implemented by a harness whose backend can present a
// card at a door, so that the kit checks acs.EventSource.
type SwipeHarness interface {
	// Swipe presents card at a door the given access level opens, as a
	// reader would; the backend records a door event the provider's
	// Events delivers.
	Swipe(ctx context.Context, card acs.Card, level string) error
}

// checkEventsResume: three swipes arrive once each; resuming from the
// first one's cursor delivers exactly the other two, in order.
func checkEventsResume(ctx context.Context, h Harness) error {
	src, ok := h.Provider().(acs.EventSource)
	sw, ok2 := h.(SwipeHarness)
	if !ok || !ok2 {
		return errNotImplemented
	}
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	g := grant(h, 32, l0)
	if _, err := h.Provider().Provision(ctx, g); err != nil {
		return err
	}
	for range 3 {
		if err := sw.Swipe(ctx, g.Card, l0); err != nil {
			return fmt.Errorf("harness swipe: %w", err)
		}
	}
	first, err := collect(ctx, src, "", g.Card, 3)
	if err != nil {
		return err
	}
	rest, err := collect(ctx, src, first[0].Cursor, g.Card, 2)
	if err != nil {
		return fmt.Errorf("resuming after cursor %q: %w", first[0].Cursor, err)
	}
	for i, ev := range rest {
		if ev.Cursor != first[i+1].Cursor || !ev.Time.Equal(first[i+1].Time) {
			return fmt.Errorf("resuming after the first event delivered %+v as event %d, want %+v", ev, i+2, first[i+1])
		}
	}
	return nil
}

// collect reads events from cursor until want events of card arrived, and
// a little longer to see that none repeats.
func collect(ctx context.Context, src acs.EventSource, cursor string, card acs.Card, want int) ([]acs.DoorEvent, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var got []acs.DoorEvent
	seen := map[string]bool{}
	var dup error
	var settle *time.Timer
	err := src.Events(ctx, cursor, func(ev acs.DoorEvent) error {
		mu.Lock()
		defer mu.Unlock()
		if seen[ev.Cursor] && dup == nil {
			dup = fmt.Errorf("event with cursor %q delivered twice", ev.Cursor)
		}
		seen[ev.Cursor] = true
		if ev.Card == card {
			got = append(got, ev)
		}
		if len(got) >= want && settle == nil {
			settle = time.AfterFunc(50*time.Millisecond, cancel)
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	switch {
	case dup != nil:
		return nil, dup
	case len(got) < want:
		return nil, fmt.Errorf("%d of %d swipes delivered before the rule's deadline (Events returned %v)", len(got), want, err)
	case len(got) > want:
		return nil, fmt.Errorf("%d events delivered for %d swipes: %+v", len(got), want, got)
	case err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Errorf("Events: %w", err)
	}
	return got, nil
}

// checkMobilePass: a pass for a provisioned cardholder, the same one
// again.
func checkMobilePass(ctx context.Context, h Harness) error {
	mp, ok := h.Provider().(acs.MobilePassIssuer)
	if !ok {
		return errNotImplemented
	}
	l0, _, err := levels(h)
	if err != nil {
		return err
	}
	g := grant(h, 33, l0)
	p, err := h.Provider().Provision(ctx, g)
	if err != nil {
		return err
	}
	a, err := mp.IssueMobilePass(ctx, p.Cardholder, g.Person.Email, g.ValidUntil)
	if err != nil {
		return fmt.Errorf("issue: %w", err)
	}
	if a.ID == "" {
		return errors.New("pass issued without an ID")
	}
	b, err := mp.IssueMobilePass(ctx, p.Cardholder, g.Person.Email, g.ValidUntil)
	if err != nil {
		return fmt.Errorf("issue again: %w", err)
	}
	if b.ID != a.ID {
		return fmt.Errorf("issuing twice gave passes %q and %q; want the same", a.ID, b.ID)
	}
	return nil
}
