package wiegand

import "fmt"

// Format is a named Wiegand card data layout. The zero Format is invalid.
// Formats are constants, so they are safe to share and compare.
type Format uint8

// The supported formats. Their names (Format.String) match the
// acs.CardFormat values.
const (
	H10301      Format = iota + 1 // 26-bit standard: FC 8 bits, CN 16 bits
	H10306                        // 34-bit: FC 16 bits, CN 16 bits
	H10302                        // 37-bit without facility: CN 35 bits
	H10304                        // 37-bit: FC 16 bits, CN 19 bits
	Corp1000_35                   // Corporate 1000 35-bit: company 12 bits, CN 20 bits
	Corp1000_48                   // Corporate 1000 48-bit: company 22 bits, CN 23 bits
	numFormats
)

// layout describes where the fields sit in a frame. Bit positions are
// 1-based from the first transmitted bit (the MSB), as in
// research/cardformats-and-peers.md.
type layout struct {
	name    string
	bits    uint8
	fcStart uint8 // 0 when the format has no facility field
	fcLen   uint8
	cnStart uint8
	cnLen   uint8
}

var layouts = [numFormats]layout{
	H10301:      {"H10301", 26, 2, 8, 10, 16},
	H10306:      {"H10306", 34, 2, 16, 18, 16},
	H10302:      {"H10302", 37, 0, 0, 2, 35},
	H10304:      {"H10304", 37, 2, 16, 18, 19},
	Corp1000_35: {"C1000-35", 35, 3, 12, 15, 20},
	Corp1000_48: {"C1000-48", 48, 3, 22, 25, 23},
}

// Formats returns every supported format, in declaration order.
func Formats() []Format {
	return []Format{H10301, H10306, H10302, H10304, Corp1000_35, Corp1000_48}
}

// ParseFormat returns the format with the given name ("H10301", "C1000-35", …).
func ParseFormat(name string) (Format, error) {
	for f := H10301; f < numFormats; f++ {
		if layouts[f].name == name {
			return f, nil
		}
	}
	return 0, fmt.Errorf("wiegand: unknown card format %q", name)
}

// Valid reports whether f is one of the supported formats.
func (f Format) Valid() bool { return f >= H10301 && f < numFormats }

// String returns the format's name, such as "H10301".
func (f Format) String() string {
	if !f.Valid() {
		return fmt.Sprintf("Format(%d)", uint8(f))
	}
	return layouts[f].name
}

// Bits returns the frame length in bits (0 for an invalid format).
func (f Format) Bits() int {
	if !f.Valid() {
		return 0
	}
	return int(layouts[f].bits)
}

// HasFacility reports whether the format carries a facility (or company) code.
func (f Format) HasFacility() bool { return f.Valid() && layouts[f].fcLen > 0 }

// MaxFacility returns the largest facility code (0 when there is none).
func (f Format) MaxFacility() uint64 {
	if !f.Valid() {
		return 0
	}
	return 1<<layouts[f].fcLen - 1
}

// MaxCard returns the largest card number.
func (f Format) MaxCard() uint64 {
	if !f.Valid() {
		return 0
	}
	return 1<<layouts[f].cnLen - 1
}
