package netbox

import (
	"testing"

	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/netbox/netboxsim"
)

func TestConformance(t *testing.T) {
	acstest.Run(t, func(t *testing.T) acstest.Harness { return harness{newEnv(t, envOpts{})} })
}

// The controller answers as public clients of other versions read it:
// APIERROR directly under NETBOX, empty collections as NOT FOUND, a change
// of a missing record as FAIL "NOT FOUND", AFTERLOGID strictly after.
func TestConformanceOtherAnswers(t *testing.T) {
	acstest.Run(t, func(t *testing.T) acstest.Harness {
		return harness{newEnv(t, envOpts{sim: []netboxsim.Option{
			netboxsim.WithAPIErrorAtRoot(), netboxsim.WithEmptyAnswer(netboxsim.EmptyNotFound),
			netboxsim.WithMissingAnswer(netboxsim.MissingFailNotFound), netboxsim.WithExclusiveAfterLogID(),
			netboxsim.WithPageSize(1),
		}})}
	})
}

// Soft deletes only, through the pre-6 path and form encoding.
func TestConformanceLegacy(t *testing.T) {
	acstest.Run(t, func(t *testing.T) acstest.Harness {
		e := newEnv(t, envOpts{sim: []netboxsim.Option{netboxsim.WithLegacyPath(), netboxsim.WithEmptyAnswer(netboxsim.EmptySuccess),
			netboxsim.WithMissingAnswer(netboxsim.MissingSuccess)},
			cfg: func(c *Config) {
				c.URL = c.URL[:len(c.URL)-len(netboxsim.Path)] + netboxsim.LegacyPath
				c.FormEncoded = true
			}})
		return harness{e}
	})
}
