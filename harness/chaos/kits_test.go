package chaos

import (
	"testing"

	"github.com/acsbridge/acsbridge/internal/providers"
)

// Every provider of the registry has a complete kit, so that it joins the
// fleet, and every kit belongs to a registered provider.
func TestEveryProviderHasAKit(t *testing.T) {
	for _, name := range providers.Names() {
		k, ok := kits[name]
		if !ok {
			t.Errorf("provider %q has no kit: add one to kits in kits.go", name)
			continue
		}
		if k.location == "" || k.credentials == nil || k.start == nil || k.inject == nil || k.snapshot == nil || k.cardKey == nil {
			t.Errorf("provider %q: incomplete kit", name)
		}
	}
	for name := range kits {
		if _, ok := providers.Lookup(name); !ok {
			t.Errorf("kit %q has no provider in the registry", name)
		}
	}
}
