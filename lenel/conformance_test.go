package lenel

import (
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
)

// The kit's cards are H10301 with facility code 42; the card function lets
// Holdings name them.
var kitCards = WithCardFunc(CardNumber(acs.H10301, 42))

func TestConformance(t *testing.T) {
	acstest.Run(t, func(t *testing.T) acstest.Harness {
		return harness{newEnv(t, envOpts{opts: []Option{kitCards}})}
	})
}

func TestConformanceCardholderType(t *testing.T) {
	acstest.Run(t, func(t *testing.T) acstest.Harness {
		return harness{newEnv(t, envOpts{cfg: func(c *Config) { c.PersonType = Cardholder }, opts: []Option{kitCards}})}
	})
}
