package wiegand

import (
	"fmt"
	"strconv"
	"strings"
)

// Format is a named Wiegand card data layout. The zero Format means "no
// format" and is not valid for encoding. Formats are constants, so they are
// safe to share and compare. A Format reads and writes itself as its name
// (see String, MarshalText and ParseFormat); package acs uses this type as
// acs.CardFormat.
type Format uint8

// The supported formats. Their names (Format.String) are stable: they are
// what JSON, stores and the command-line tool write.
const (
	H10301      Format = iota + 1 // 26-bit standard: FC 8 bits, CN 16 bits
	H10306                        // 34-bit: FC 16 bits, CN 16 bits
	H10302                        // 37-bit without facility: CN 35 bits
	H10304                        // 37-bit: FC 16 bits, CN 19 bits
	Corp1000_35                   // Corporate 1000 35-bit: company 12 bits, CN 20 bits
	Corp1000_48                   // Corporate 1000 48-bit: company 22 bits, CN 23 bits
	numFormats
)

// parity is one parity bit of a layout, precomputed as masks over the
// right-justified frame value.
type parity struct {
	pos   uint8  // 1-based wire position of the parity bit; 0 when absent
	shift uint8  // bits - pos: where the parity bit sits in the value
	data  uint64 // the bits the parity bit covers, without itself
	check uint64 // data plus the parity bit itself
}

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
	fcShift uint8 // right shift that brings the facility field to bit 0
	cnShift uint8
	fcMax   uint64
	cnMax   uint64
	even    parity // computed first
	odd     parity // computed second; may cover the even parity bit
	all     parity // overall odd parity over everything else (Corporate 1000); computed last
	allWant int    // 1 when all is present (its check has odd weight), else 0
}

// Layout tables. Each entry is built once at package initialisation and
// never modified afterwards.
var layouts = [numFormats]layout{
	// b1 even over b2–b13; b26 odd over b14–b25.
	H10301: newLayout("H10301", 26, 2, 8, 10, 16,
		newParity(26, 1, span(26, 2, 13)),
		newParity(26, 26, span(26, 14, 25)),
		parity{}),
	// b1 even over b2–b17; b34 odd over b18–b33.
	H10306: newLayout("H10306", 34, 2, 16, 18, 16,
		newParity(34, 1, span(34, 2, 17)),
		newParity(34, 34, span(34, 18, 33)),
		parity{}),
	// b1 even over b2–b19; b37 odd over b19–b36: b19 is in both.
	H10302: newLayout("H10302", 37, 0, 0, 2, 35,
		newParity(37, 1, span(37, 2, 19)),
		newParity(37, 37, span(37, 19, 36)),
		parity{}),
	H10304: newLayout("H10304", 37, 2, 16, 18, 19,
		newParity(37, 1, span(37, 2, 19)),
		newParity(37, 37, span(37, 19, 36)),
		parity{}),
	// b2 even over p in 3..34 with p mod 3 != 2; b35 odd over p in 2..34
	// with p mod 3 != 1 (this includes b2); then b1 odd over b2–b35.
	Corp1000_35: newLayout("C1000-35", 35, 3, 12, 15, 20,
		newParity(35, 2, every(35, 3, 34, 3, 2)),
		newParity(35, 35, every(35, 2, 34, 3, 1)),
		newParity(35, 1, span(35, 2, 35))),
	// b2 even over p in 4..47 with p mod 3 != 0; b48 odd over p in 3..46
	// with p mod 3 != 2; then b1 odd over b2–b48.
	Corp1000_48: newLayout("C1000-48", 48, 3, 22, 25, 23,
		newParity(48, 2, every(48, 4, 47, 3, 0)),
		newParity(48, 48, every(48, 3, 46, 3, 2)),
		newParity(48, 1, span(48, 2, 48))),
}

// bitAt returns the value bit of 1-based wire position p in an n-bit frame.
func bitAt(n, p uint8) uint64 { return 1 << (n - p) }

// span returns the mask of wire positions from..to (inclusive).
func span(n, from, to uint8) uint64 {
	var m uint64
	for p := from; p <= to; p++ {
		m |= bitAt(n, p)
	}
	return m
}

// every returns the mask of wire positions from..to whose position modulo
// mod is not skip.
func every(n, from, to, mod, skip uint8) uint64 {
	var m uint64
	for p := from; p <= to; p++ {
		if p%mod != skip {
			m |= bitAt(n, p)
		}
	}
	return m
}

func newParity(n, pos uint8, data uint64) parity {
	bit := bitAt(n, pos)
	return parity{pos: pos, shift: n - pos, data: data, check: data | bit}
}

func newLayout(name string, bits, fcStart, fcLen, cnStart, cnLen uint8, even, odd, all parity) layout {
	l := layout{
		name: name, bits: bits,
		fcStart: fcStart, fcLen: fcLen, cnStart: cnStart, cnLen: cnLen,
		fcMax: 1<<fcLen - 1, cnMax: 1<<cnLen - 1,
		cnShift: bits - (cnStart + cnLen - 1),
		even:    even, odd: odd, all: all,
	}
	if all.pos != 0 {
		l.allWant = 1
	}
	if fcLen > 0 {
		l.fcShift = bits - (fcStart + fcLen - 1)
	}
	return l
}

// Formats returns every supported format, in declaration order.
func Formats() []Format {
	return []Format{H10301, H10306, H10302, H10304, Corp1000_35, Corp1000_48}
}

// ParseFormat returns the format with the given name: "H10301", "H10306",
// "H10302", "H10304", "C1000-35" or "C1000-48", in any letter case. Any
// other name, the empty one included, yields an error matching ErrFormat.
func ParseFormat(name string) (Format, error) {
	for f := H10301; f < numFormats; f++ {
		if strings.EqualFold(layouts[f].name, name) {
			return f, nil
		}
	}
	return 0, &kindError{kind: ErrFormat, msg: fmt.Sprintf(
		"wiegand: unknown card format %.40q (want H10301, H10306, H10302, H10304, C1000-35 or C1000-48)", name)}
}

// Known reports whether f is one of the supported formats.
func (f Format) Known() bool { return f >= H10301 && f < numFormats }

// String returns the format's name, such as "H10301" or "C1000-35": the
// name MarshalText writes and ParseFormat reads. The zero Format is the
// empty string, as it marshals; another unknown value is "Format(n)".
func (f Format) String() string {
	switch {
	case f.Known():
		return layouts[f].name
	case f == 0:
		return ""
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// MarshalText implements encoding.TextMarshaler: the format's name, so a
// Format is a string in JSON, XML and text columns ("H10301"). The zero
// Format marshals to empty text; any other unknown value is an error
// matching ErrFormat.
func (f Format) MarshalText() ([]byte, error) {
	if f == 0 {
		return []byte{}, nil
	}
	if !f.Known() {
		return nil, formatError(f)
	}
	return []byte(layouts[f].name), nil
}

// UnmarshalText implements encoding.TextUnmarshaler: it reads a name as
// ParseFormat does, in any letter case, and empty text as the zero Format.
// An unknown name is an error matching ErrFormat and leaves f unchanged.
func (f *Format) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*f = 0
		return nil
	}
	g, err := ParseFormat(string(text))
	if err != nil {
		return err
	}
	*f = g
	return nil
}

// Bits returns the frame length in bits (0 for an unknown format).
func (f Format) Bits() int {
	if !f.Known() {
		return 0
	}
	return int(layouts[f].bits)
}

// HasFacility reports whether the format carries a facility (or company)
// code; it is the second result of MaxFacility.
func (f Format) HasFacility() bool { return f.Known() && layouts[f].fcLen > 0 }

// MaxFacility returns the largest facility (or company) code of f and
// whether f has a facility field at all. H10302 and unknown formats return
// 0, false: their only acceptable facility code is 0.
func (f Format) MaxFacility() (max uint64, ok bool) {
	if !f.Known() {
		return 0, false
	}
	return layouts[f].fcMax, layouts[f].fcLen > 0
}

// MaxCard returns the largest card number of f (0 for an unknown format).
func (f Format) MaxCard() uint64 {
	if !f.Known() {
		return 0
	}
	return layouts[f].cnMax
}
