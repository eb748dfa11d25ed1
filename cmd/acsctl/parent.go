package main

import (
	"context"
	"os"
	"time"
)

// parentPollInterval is how often simulate checks that its parent process
// is still there.
const parentPollInterval = 200 * time.Millisecond

// startParent is the parent process ID when acsctl started, read as early
// as possible so that a parent that exits soon after is still noticed.
var startParent = os.Getppid()

// watchParent reports true as soon as the process that started acsctl (the
// parent start) has exited, and false when ctx ends first.
//
// `go run ./cmd/acsctl simulate brivo` runs the compiled acsctl as a child
// of the go command; killing the go command (SIGKILL, or SIGTERM, which it
// does not forward) leaves that child running. A process whose parent
// exits is handed to another one (init, or the nearest subreaper), so its
// parent process ID changes: that change is what is watched, every
// interval. Watching for EOF on stdin instead would stop a simulator
// started with stdin closed or redirected from /dev/null at once, and miss
// a parent that exits while the terminal stays open; the parent-death
// signal (Linux's PR_SET_PDEATHSIG) is tied to the parent's thread that
// started us, not to the process, and is Linux-only.
//
// A process started by init (parent ID 1) has no parent to lose and is not
// watched. On Windows the parent ID never changes, so the watch never
// fires.
func watchParent(ctx context.Context, start int, interval time.Duration) bool {
	if start <= 1 {
		<-ctx.Done()
		return false
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			if os.Getppid() != start {
				return true
			}
		}
	}
}
