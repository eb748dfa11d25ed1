package wiegand_test

import (
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/wiegand"
)

// acs validates card data without importing this package; its table of
// field ranges must agree with the layouts here, name for name.
func TestFormatsAgreeWithACS(t *testing.T) {
	for _, f := range wiegand.Formats() {
		a := acs.CardFormat(f.String())
		if !a.Known() {
			t.Errorf("%s: unknown to acs", f)
			continue
		}
		maxFC, hasFC := a.MaxFacility()
		if a.Bits() != f.Bits() || hasFC != f.HasFacility() || maxFC != f.MaxFacility() || a.MaxCard() != f.MaxCard() {
			t.Errorf("%s: acs says bits %d facility %v/%d card %d; wiegand says %d %v/%d %d",
				f, a.Bits(), hasFC, maxFC, a.MaxCard(), f.Bits(), f.HasFacility(), f.MaxFacility(), f.MaxCard())
		}
		// Everything acs accepts, wiegand encodes.
		if _, err := f.Encode(maxFC, a.MaxCard()); err != nil {
			t.Errorf("%s: acs maxima refused by wiegand: %v", f, err)
		}
	}
}
