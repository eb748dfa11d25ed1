package visitor

import (
	"context"
	"time"
)

// SetDoorSleep replaces the door event consumer's backoff wait, so tests
// see and skip it.
func SetDoorSleep(e *Engine, f func(ctx context.Context, d time.Duration) error) { e.sleep = f }
