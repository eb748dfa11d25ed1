package alta

import (
	"testing"

	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/alta/altasim"
)

func TestConformance(t *testing.T) {
	acstest.Run(t, func(t *testing.T) acstest.Harness {
		return harness{newEnv(t, nil)}
	})
}

// The same rules against a simulator that refuses a card held by another
// user and accepts only the bare token: the adapter must not depend on
// either answer.
func TestConformanceStrictSimulator(t *testing.T) {
	acstest.Run(t, func(t *testing.T) acstest.Harness {
		return harness{newEnv(t, []altasim.Option{altasim.WithUniqueCards(), altasim.WithTokenScheme(altasim.SchemeBare)})}
	})
}
