package verkada

import (
	"testing"

	"github.com/acsbridge/acsbridge/acs/acstest"
)

func TestConformance(t *testing.T) {
	acstest.Run(t, func(t *testing.T) acstest.Harness {
		return harness{newEnv(t, nil)}
	})
}
