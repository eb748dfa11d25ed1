package visitor

import (
	"context"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// SetDoorSleep replaces the door event consumer's backoff wait, so tests
// see and skip it.
func SetDoorSleep(e *Engine, f func(ctx context.Context, d time.Duration) error) { e.sleep = f }

// SetPINGenerator replaces the Engine's PIN generator, so that tests force
// collisions and trivial PINs.
func SetPINGenerator(e *Engine, f func(n int) (acs.PIN, error)) { e.pins.gen = f }
