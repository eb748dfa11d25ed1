package badge_test

import (
	"testing"

	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/badge/badgetest"
)

func TestMemoryStoreConforms(t *testing.T) {
	t.Parallel()
	badgetest.RunStore(t, func(*testing.T) badge.Store { return badge.NewMemoryStore() })
}

func TestZeroMemoryStoreConforms(t *testing.T) {
	t.Parallel()
	badgetest.RunStore(t, func(*testing.T) badge.Store { return new(badge.MemoryStore) })
}

func TestMemoryAllocationStoreConforms(t *testing.T) {
	t.Parallel()
	badgetest.RunAllocationStore(t, func(*testing.T) badge.AllocationStore { return badge.NewMemoryAllocationStore() })
}
