package visitor_test

import (
	"testing"

	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/visitor/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) visitor.Store { return visitor.NewMemoryStore() })
}

func TestMemoryStoreEngines(t *testing.T) {
	storetest.RunEngines(t, func(t *testing.T) visitor.Store { return visitor.NewMemoryStore() })
}
