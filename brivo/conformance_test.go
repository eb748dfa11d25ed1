package brivo

import (
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs/acstest"
)

// conformanceEvents polls often and without the settle delay: the
// simulator stores an event the moment the card is presented, and the
// kit's EventsResume then waits a tenth of a second for a poll rather
// than the ten seconds of DefaultPollInterval (the defaults have their
// own tests in events_test.go).
var conformanceEvents = EventOptions{Interval: 100 * time.Millisecond, Settle: time.Millisecond}

func TestConformance(t *testing.T) {
	acstest.Run(t, func(t *testing.T) acstest.Harness {
		return harness{newEnv(t, nil, WithEvents(conformanceEvents))}
	})
}
