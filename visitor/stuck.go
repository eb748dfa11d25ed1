package visitor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// StuckItem is an outbox item the Engine reports as stuck: an ACS
// operation that keeps failing. It is still retried (a revocation is never
// given up), at the longest backoff.
type StuckItem struct {
	// Item is the outbox item as it is after the failed attempt.
	Item OutboxItem
	// Reason says why it counts as stuck: too many attempts, too old, or
	// refused by the ACS in a way retrying will not fix.
	Reason string
	// Err is the ACS's answer to the last attempt.
	Err error
}

// WithStuck sets when an outbox item counts as stuck: once it has been
// attempted attempts times, or is older than age (defaults 10 attempts and
// 1 hour), or when the ACS refuses a revocation or a removal for good
// (Conflict, PermissionDenied, InvalidArgument, NotFound, Unsupported:
// someone must act at the ACS). Every failed attempt of a stuck item is
// audited (ActStuck, Outcome Escalated) and passed to fn, if not nil,
// after its transaction commits. The item is still retried with the usual
// backoff (WithBackoff): reports come at most that often per item, and a
// definite refusal is retried at the longest backoff at once. fn
// is called from the goroutine that ran the attempt and must not block
// for long. Engine.Stuck lists stuck items at any time.
func WithStuck(attempts int, age time.Duration, fn func(StuckItem)) Option {
	return func(e *Engine) { e.stuckAttempts, e.stuckAge, e.onStuck = attempts, age, fn }
}

// stuckReason says why it, having just failed with err at now, is stuck,
// or "" when it is not.
func (e *Engine) stuckReason(it OutboxItem, err error, now time.Time) string {
	switch {
	case errors.Is(err, acs.ErrAwaitingPerson):
		// Waiting for a person (a phone to accept an invitation) is not a
		// failure, however long it lasts; the visit's window ends it.
		return ""
	case (it.Op == OpRevoke || it.Op == OpRemoveCardholder) && definite(err):
		return fmt.Sprintf("the ACS refused the %s for good (%s); it stays live there until someone acts", opNoun(it.Op), acs.CodeOf(err))
	case it.Attempts >= e.stuckAttempts:
		return fmt.Sprintf("%d attempts failed", it.Attempts)
	case !it.CreatedAt.IsZero() && now.Sub(it.CreatedAt) >= e.stuckAge:
		return fmt.Sprintf("unconfirmed for %s", now.Sub(it.CreatedAt).Round(time.Second))
	}
	return ""
}

func opNoun(op Op) string {
	switch op {
	case OpRevoke:
		return "revocation"
	case OpRemoveCardholder:
		return "removal of the cardholder"
	}
	return string(op)
}

// escalate hands the items a committed transaction found stuck to the
// handler and the log.
func (e *Engine) escalate(ctx context.Context, items []StuckItem) {
	for _, s := range items {
		e.log.ErrorContext(ctx, "visitor: ACS operation stuck", "op", s.Item.Op, "visit", s.Item.VisitID,
			"attempts", s.Item.Attempts, "reason", s.Reason, "err", s.Err)
		if e.onStuck != nil {
			e.onStuck(s)
		}
	}
}

// Stuck returns the unfinished outbox items that count as stuck (see
// WithStuck) by their attempts or age at the Engine's clock, oldest first.
// A revocation the ACS refused for good is among them from its first
// refusal on only through the audit trail and the WithStuck handler; here
// it shows once it passes the attempt or age limit.
func (e *Engine) Stuck(ctx context.Context) ([]OutboxItem, error) {
	items, err := e.store.Outbox(ctx, "", 0)
	if err != nil {
		return nil, err
	}
	now := e.clock.Now()
	var out []OutboxItem
	for _, it := range items {
		if awaitingPerson(it) {
			continue
		}
		if it.Attempts >= e.stuckAttempts || (!it.CreatedAt.IsZero() && now.Sub(it.CreatedAt) >= e.stuckAge) {
			out = append(out, it)
		}
	}
	return out, nil
}

// awaitingPerson reports whether an item's last attempt waited for a
// person (acs.ErrAwaitingPerson). The store keeps an attempt's error as
// text only; the sentinel's text, which every error wrapping it carries,
// tells it (unless an unusually long error was cut at acs.Error's 1 KiB
// bound before it, in which case the item counts like any other retry).
func awaitingPerson(it OutboxItem) bool {
	return strings.Contains(it.LastError, acs.ErrAwaitingPerson.Error())
}
