package wiegand

import (
	"fmt"
	"math/bits"
	"strconv"
)

// Card is the data on a physical or issued credential: a named format, a
// facility (or company) code (always 0 for formats without one) and a card
// number. It is the one card type of the SDK: acs.Card and badge.Card are
// this type. In JSON it is {"format":"H10301","facility":1,"number":200}.
// The zero Card means no card data.
type Card struct {
	Format   Format `json:"format"`
	Facility uint64 `json:"facility"`
	Number   uint64 `json:"number"`
}

// IsZero reports whether c is the zero Card (no card data).
func (c Card) IsZero() bool { return c == Card{} }

// Frame encodes c with its format; see Format.Encode.
func (c Card) Frame() (Frame, error) { return c.Format.Encode(c.Facility, c.Number) }

// String formats c as "H10301 1/200" (format, facility/number).
func (c Card) String() string {
	b := make([]byte, 0, 32)
	b = append(b, c.Format.String()...)
	b = append(b, ' ')
	b = strconv.AppendUint(b, c.Facility, 10)
	b = append(b, '/')
	b = strconv.AppendUint(b, c.Number, 10)
	return string(b)
}

// Encode builds the frame for facility and card in format f, computing
// its parity bits. It returns an error matching ErrFormat when f is
// invalid and ErrRange when facility or card does not fit the format; a
// format without a facility field (H10302) accepts only facility 0.
// Encode does not allocate when it succeeds.
func (f Format) Encode(facility, card uint64) (Frame, error) {
	if !f.Known() {
		return Frame{}, formatError(f)
	}
	l := &layouts[f]
	if facility > l.fcMax || card > l.cnMax {
		return Frame{}, rangeError(f, facility, card)
	}
	v := facility<<l.fcShift | card<<l.cnShift
	// Order matters: the odd parity of Corporate 1000 35-bit covers the
	// even parity bit, and the overall parity covers both.
	v |= uint64(bits.OnesCount64(v&l.even.data)&1) << l.even.shift
	v |= uint64(bits.OnesCount64(v&l.odd.data)&1^1) << l.odd.shift
	if l.all.pos != 0 {
		v |= uint64(bits.OnesCount64(v&l.all.data)&1^1) << l.all.shift
	}
	return Frame{Len: l.bits, Value: v}, nil
}

// Decode checks fr against format f (length and every parity bit) and
// extracts its fields. It returns an error matching ErrFormat for an
// invalid format, ErrLength when fr.Len is not f.Bits(), ErrFrame for a
// malformed frame, and a *ParityError (matching ErrParity) naming the
// first parity bit that fails. Decode does not allocate when it succeeds.
func (f Format) Decode(fr Frame) (Card, error) {
	if f.Known() {
		l := &layouts[f]
		if fr.Len == l.bits && fr.Value>>l.bits == 0 && l.parityOK(fr.Value) {
			return Card{
				Format:   f,
				Facility: fr.Value >> l.fcShift & l.fcMax,
				Number:   fr.Value >> l.cnShift & l.cnMax,
			}, nil
		}
	}
	return Card{}, f.explain(fr)
}

// Check reports whether fr is a valid frame of format f, with the same
// errors as Decode. It does not allocate when the frame is valid.
func (f Format) Check(fr Frame) error {
	if f.ok(fr) {
		return nil
	}
	return f.explain(fr)
}

// ok reports whether fr is a valid frame of f, without building an error.
func (f Format) ok(fr Frame) bool {
	if !f.Known() {
		return false
	}
	l := &layouts[f]
	return fr.Len == l.bits && fr.Value>>l.bits == 0 && l.parityOK(fr.Value)
}

// parityOK reports whether every parity bit of the layout matches v.
func (l *layout) parityOK(v uint64) bool {
	bad := bits.OnesCount64(v&l.even.check)&1 |
		(bits.OnesCount64(v&l.odd.check)&1 ^ 1) |
		(bits.OnesCount64(v&l.all.check)&1 ^ l.allWant)
	return bad == 0
}

// explain returns the error for a frame that is not a valid frame of f.
//
//go:noinline
func (f Format) explain(fr Frame) error {
	if !f.Known() {
		return formatError(f)
	}
	l := &layouts[f]
	if !fr.Valid() {
		return fr.checkValid()
	}
	if fr.Len != l.bits {
		return lengthError(f, fr)
	}
	v := fr.Value
	switch {
	case bits.OnesCount64(v&l.even.check)&1 != 0:
		return &ParityError{Format: f, Frame: fr, Kind: ParityEven, Bit: int(l.even.pos)}
	case bits.OnesCount64(v&l.odd.check)&1 != 1:
		return &ParityError{Format: f, Frame: fr, Kind: ParityOdd, Bit: int(l.odd.pos)}
	case l.all.pos != 0 && bits.OnesCount64(v&l.all.check)&1 != 1:
		return &ParityError{Format: f, Frame: fr, Kind: ParityOverallOdd, Bit: int(l.all.pos)}
	}
	return nil // not reached for an invalid frame
}

// Matches returns every supported format that fr is a valid frame of, in
// the order of Formats, or nil when there is none. A bit length alone
// never identifies a format: every valid 37-bit frame matches both H10302
// and H10304, so callers must pick the format they expect rather than
// take the first match.
func Matches(fr Frame) []Format {
	var out []Format
	for f := H10301; f < numFormats; f++ {
		if f.ok(fr) {
			out = append(out, f)
		}
	}
	return out
}

// The error constructors are kept out of the hot paths.

//go:noinline
func formatError(f Format) error {
	if f == 0 {
		return &kindError{ErrFormat, "wiegand: no card format (zero Format)"}
	}
	return &kindError{ErrFormat, fmt.Sprintf("wiegand: invalid card format %v", f)}
}

//go:noinline
func rangeError(f Format, facility, card uint64) error {
	l := &layouts[f]
	switch {
	case facility > l.fcMax && l.fcLen == 0:
		return &kindError{ErrRange, fmt.Sprintf("wiegand: %s has no facility code; facility must be 0, got %d", f, facility)}
	case facility > l.fcMax:
		return &kindError{ErrRange, fmt.Sprintf("wiegand: %s facility code %d out of range 0-%d", f, facility, l.fcMax)}
	default:
		return &kindError{ErrRange, fmt.Sprintf("wiegand: %s card number %d out of range 0-%d", f, card, l.cnMax)}
	}
}

//go:noinline
func lengthError(f Format, fr Frame) error {
	return &kindError{ErrLength, fmt.Sprintf("wiegand: %s needs a %d-bit frame, got %d bits", f, f.Bits(), fr.Len)}
}
