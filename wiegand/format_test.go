package wiegand

import (
	"errors"
	"testing"
)

func TestFormatTable(t *testing.T) {
	tests := []struct {
		f        Format
		name     string
		bits     int
		hasFC    bool
		maxFC    uint64
		maxCard  uint64
		osdpSize int
	}{
		{H10301, "H10301", 26, true, 255, 65535, 4},
		{H10306, "H10306", 34, true, 65535, 65535, 5},
		{H10302, "H10302", 37, false, 0, 34359738367, 5},
		{H10304, "H10304", 37, true, 65535, 524287, 5},
		{Corp1000_35, "C1000-35", 35, true, 4095, 1048575, 5},
		{Corp1000_48, "C1000-48", 48, true, 4194303, 8388607, 6},
	}
	if got := len(Formats()); got != len(tests) {
		t.Fatalf("Formats() has %d entries, want %d", got, len(tests))
	}
	for i, tt := range tests {
		f := tt.f
		if Formats()[i] != f {
			t.Errorf("Formats()[%d] = %v, want %v", i, Formats()[i], f)
		}
		if !f.Valid() || f.String() != tt.name || f.Bits() != tt.bits || f.HasFacility() != tt.hasFC ||
			f.MaxFacility() != tt.maxFC || f.MaxCard() != tt.maxCard {
			t.Errorf("%s: got %v %q %d %v %d %d", tt.name, f.Valid(), f.String(), f.Bits(), f.HasFacility(), f.MaxFacility(), f.MaxCard())
		}
		p, err := ParseFormat(tt.name)
		if err != nil || p != f {
			t.Errorf("ParseFormat(%q) = %v, %v", tt.name, p, err)
		}
		fr, err := f.Encode(tt.maxFC, tt.maxCard)
		if err != nil || int(fr.Len) != tt.bits || len(fr.OSDP()) != tt.osdpSize {
			t.Errorf("%s Encode(max) = %v, %v", tt.name, fr, err)
		}
		c, err := f.Decode(fr)
		if err != nil || c != (Card{f, tt.maxFC, tt.maxCard}) {
			t.Errorf("%s Decode(Encode(max)) = %v, %v", tt.name, c, err)
		}
	}
}

func TestInvalidFormat(t *testing.T) {
	for _, f := range []Format{0, numFormats, 255} {
		if f.Valid() || f.Bits() != 0 || f.HasFacility() || f.MaxFacility() != 0 || f.MaxCard() != 0 {
			t.Errorf("%d behaves as valid", f)
		}
		if _, err := f.Decode(Frame{26, 0}); !errors.Is(err, ErrFormat) {
			t.Errorf("%v Decode error = %v", f, err)
		}
	}
	if got := Format(0).String(); got != "Format(0)" {
		t.Errorf("String = %q", got)
	}
	for _, name := range []string{"", "h10301", "H10320", "26-bit"} {
		if _, err := ParseFormat(name); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseFormat(%q) error = %v", name, err)
		}
	}
	if got := ParityKind(9).String(); got != "ParityKind(9)" {
		t.Errorf("ParityKind(9) = %q", got)
	}
}
