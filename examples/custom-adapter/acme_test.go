package main

import (
	"testing"

	"github.com/acsbridge/acsbridge/acs/acstest"
)

func TestAcmeConforms(t *testing.T) {
	acstest.Run(t, func(t *testing.T) acstest.Harness {
		h, err := newHarness()
		if err != nil {
			t.Fatal(err)
		}
		return h
	})
}
