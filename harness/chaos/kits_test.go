package chaos

import (
	"testing"

	"github.com/acsbridge/acsbridge/internal/providers"
)

// Every provider and every credential issuer of the registry has a
// complete kit, so that it joins the fleet, and every kit belongs to a
// registered provider or issuer. An issuer's kit also starts the door ACS
// behind it, names its card as the door holds it and gives the issuer's
// own options.
func TestEveryProviderHasAKit(t *testing.T) {
	complete := func(k *kit) bool {
		return k.location != "" && k.credentials != nil && k.start != nil && k.inject != nil && k.snapshot != nil && k.cardKey != nil
	}
	for _, name := range providers.Names() {
		k, ok := kits[name]
		switch {
		case !ok:
			t.Errorf("provider %q has no kit: add one to kits in kits.go", name)
		case !complete(k):
			t.Errorf("provider %q: incomplete kit", name)
		case k.startDoor != nil:
			t.Errorf("provider %q: a door provider's kit starts a door behind it", name)
		}
	}
	for _, name := range providers.IssuerNames() {
		k, ok := kits[name]
		switch {
		case !ok:
			t.Errorf("issuer %q has no kit: add one to kits (see issuer.go)", name)
		case !complete(k) || k.startDoor == nil || k.heldCard == nil || k.options == nil:
			t.Errorf("issuer %q: incomplete kit", name)
		default:
			if _, ok := providers.Lookup(k.doorKind); !ok {
				t.Errorf("issuer %q: door kind %q is not a provider of the registry", name, k.doorKind)
			}
		}
	}
	for name := range kits {
		_, provider := providers.Lookup(name)
		_, issuer := providers.LookupIssuer(name)
		if !provider && !issuer {
			t.Errorf("kit %q has no provider or issuer in the registry", name)
		}
	}
}
