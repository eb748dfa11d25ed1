package lenel

import (
	"testing"

	"github.com/acsbridge/acsbridge/acs/acstest"
)

func TestConformance(t *testing.T) {
	acstest.Run(t, func(t *testing.T) acstest.Harness {
		return harness{newEnv(t, envOpts{})}
	})
}

func TestConformanceCardholderType(t *testing.T) {
	acstest.Run(t, func(t *testing.T) acstest.Harness {
		return harness{newEnv(t, envOpts{cfg: func(c *Config) { c.PersonType = Cardholder }})}
	})
}
