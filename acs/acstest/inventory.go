package acstest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// errNotImplemented marks a rule about an optional interface the provider
// does not implement: Run skips it, Verify ignores it.
var errNotImplemented = errors.New("acstest: optional interface not implemented")

// checkInventory: Holdings lists each provisioned cardholder once with its
// credential, the grant's levels and window, and whether the credential
// opens doors, as the oracle sees it.
func checkInventory(ctx context.Context, h Harness) error {
	inv, ok := h.Provider().(acs.Inventory)
	if !ok {
		return errNotImplemented
	}
	l0, l1, err := levels(h)
	if err != nil {
		return err
	}
	live := grant(h, 40, l0, l1)
	pl, err := h.Provider().Provision(ctx, live)
	if err != nil {
		return err
	}
	gone := grant(h, 41, l0)
	pg, err := h.Provider().Provision(ctx, gone)
	if err != nil {
		return err
	}
	if err := h.Provider().Revoke(ctx, pg.Credential); err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	seen := map[string]acs.Holding{}
	var errs []error
	err = inv.Holdings(ctx, func(hd acs.Holding) error {
		if _, dup := seen[hd.Cardholder.ExternalID]; dup {
			errs = append(errs, fmt.Errorf("cardholder %q delivered twice", hd.Cardholder.ExternalID))
		}
		seen[hd.Cardholder.ExternalID] = hd
		return nil
	})
	if err != nil {
		return fmt.Errorf("holdings: %w", err)
	}
	now := h.Now()
	if err := expectHeld(seen, live, pl, true, now); err != nil {
		errs = append(errs, err)
	}
	if hd, ok := seen[gone.Person.ExternalID]; ok {
		for _, c := range hd.Credentials {
			if c.Ref.Card == gone.Card && c.OpensAt(now) {
				errs = append(errs, fmt.Errorf("revoked credential %s listed as opening doors: %+v", gone.Card, c))
			}
		}
	}
	// fn's error is returned unchanged and stops the listing.
	stop := errors.New("stop")
	calls := 0
	if err := inv.Holdings(ctx, func(acs.Holding) error { calls++; return stop }); err != stop || calls != 1 {
		errs = append(errs, fmt.Errorf("holdings with fn failing: got %v after %d calls, want fn's error after 1", err, calls))
	}
	return errors.Join(errs...)
}

// expectHeld checks that the holdings list g's cardholder with its card,
// levels and window as granted (to the minute).
func expectHeld(seen map[string]acs.Holding, g acs.Grant, p acs.Provisioned, opens bool, now time.Time) error {
	hd, ok := seen[g.Person.ExternalID]
	if !ok {
		return fmt.Errorf("cardholder %q (provisioned) missing from Holdings", g.Person.ExternalID)
	}
	if p.Cardholder.ID != "" && hd.Cardholder.ID != p.Cardholder.ID {
		return fmt.Errorf("cardholder %q listed with ID %q, Provision returned %q", g.Person.ExternalID, hd.Cardholder.ID, p.Cardholder.ID)
	}
	for _, c := range hd.Credentials {
		if c.Ref.Card != g.Card {
			continue
		}
		switch {
		case c.OpensAt(now) != opens:
			return fmt.Errorf("credential %s listed with OpensAt(now) = %v, want %v: %+v", g.Card, c.OpensAt(now), opens, c)
		case !sameLevels(c.AccessLevels, g.AccessLevels):
			return fmt.Errorf("credential %s listed with levels %v, granted %v", g.Card, c.AccessLevels, g.AccessLevels)
		case !near(c.ValidFrom, g.ValidFrom) || !near(c.ValidUntil, g.ValidUntil):
			return fmt.Errorf("credential %s listed with window %s – %s, granted %s – %s", g.Card,
				c.ValidFrom.Format(time.RFC3339), c.ValidUntil.Format(time.RFC3339), g.ValidFrom.Format(time.RFC3339), g.ValidUntil.Format(time.RFC3339))
		}
		return nil
	}
	return fmt.Errorf("cardholder %q listed without card %s: %+v", g.Person.ExternalID, g.Card, hd.Credentials)
}

func sameLevels(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// near reports whether a and b are within a minute of each other (ACSs
// store windows to the minute, some in local time).
func near(a, b time.Time) bool {
	d := a.Sub(b)
	return d > -time.Minute && d < time.Minute
}
