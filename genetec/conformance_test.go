package genetec_test

import (
	"testing"

	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
)

func TestConformance(t *testing.T) {
	acstest.Run(t, func(t *testing.T) acstest.Harness {
		return harness{newEnv(t, nil)}
	})
}

// TestConformanceWithBOM runs the kit against a server that starts every
// answer with a UTF-8 byte-order mark.
func TestConformanceWithBOM(t *testing.T) {
	acstest.Run(t, func(t *testing.T) acstest.Harness {
		return harness{newEnv(t, []genetecsim.Option{genetecsim.WithBOM(true)})}
	})
}
