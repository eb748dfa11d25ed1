package wiegand

import (
	"fmt"
	"strconv"
)

// MaxFrameBits is the longest frame this package handles. Longer Wiegand
// frames (for example 128-bit or 200-bit PIV/FASC-N data) do not fit a
// uint64 and are out of scope.
const MaxFrameBits = 64

// Frame is a raw Wiegand frame: Len bits, held right-justified in Value.
// The most significant of the Len bits is b1, the first bit on the wire;
// the least significant is the last. Parity bits are part of the frame.
//
// A Frame is well-formed when 1 <= Len <= 64 and Value < 2^Len. Every Frame
// returned by this package without an error is well-formed. The formatting
// methods (Hex, BitString, OSDP and their Append forms) do not check: for a
// malformed frame they render the low min(Len, 64) bits of Value.
//
// Frame is a small value type; copy it freely.
type Frame struct {
	Len   uint8  // number of bits, 1–64
	Value uint64 // the bits, right-justified; b1 is bit Len-1
}

// NewFrame returns the frame of the given bit length and value, or an
// error matching ErrLength when bits is outside 1–64 and ErrRange when
// value does not fit in bits.
func NewFrame(bits int, value uint64) (Frame, error) {
	if err := checkBits(bits); err != nil {
		return Frame{}, err
	}
	if bits < 64 && value>>uint(bits) != 0 {
		return Frame{}, &kindError{ErrRange, fmt.Sprintf("wiegand: value %#X does not fit in %d bits", value, bits)}
	}
	return Frame{Len: uint8(bits), Value: value}, nil
}

// Valid reports whether f is well-formed: 1 <= Len <= 64 and Value < 2^Len.
func (f Frame) Valid() bool {
	return f.Len >= 1 && f.Len <= MaxFrameBits && (f.Len == 64 || f.Value>>f.Len == 0)
}

// Bit returns wire bit p (1-based, b1 first) as 0 or 1. It returns 0 for p
// outside 1..Len.
func (f Frame) Bit(p int) uint8 {
	n := int(f.norm())
	if p < 1 || p > n {
		return 0
	}
	return uint8(f.Value>>uint(n-p)) & 1
}

// norm returns Len capped at 64, for the formatting methods.
func (f Frame) norm() uint8 {
	if f.Len > MaxFrameBits {
		return MaxFrameBits
	}
	return f.Len
}

// low returns the low min(Len, 64) bits of Value.
func (f Frame) low() uint64 {
	if f.Len >= MaxFrameBits {
		return f.Value
	}
	return f.Value & (1<<f.Len - 1)
}

// checkValid returns an ErrFrame error for a malformed frame.
func (f Frame) checkValid() error {
	if f.Valid() {
		return nil
	}
	if f.Len < 1 || f.Len > MaxFrameBits {
		return &kindError{ErrFrame, fmt.Sprintf("wiegand: malformed frame: length %d outside 1-%d", f.Len, MaxFrameBits)}
	}
	return &kindError{ErrFrame, fmt.Sprintf("wiegand: malformed frame: value %#X has bits above its length %d", f.Value, f.Len)}
}

const hexDigits = "0123456789ABCDEF"

// Hex returns the frame as upper-case hexadecimal of the right-justified
// value, zero-padded to ceil(Len/4) digits and without a prefix. An H10301
// frame for facility 1, card 200 is "2020190"; facility 0, card 65535 is
// "001FFFF".
func (f Frame) Hex() string {
	var buf [16]byte
	return string(f.AppendHex(buf[:0]))
}

// AppendHex appends the Hex form of f to dst and returns the extended
// slice. It does not allocate when dst has room.
func (f Frame) AppendHex(dst []byte) []byte {
	v := f.low()
	n := (int(f.norm()) + 3) / 4
	dst = append(dst, make([]byte, n)...) // does not allocate when dst has room
	out := dst[len(dst)-n:]
	for i := n - 1; i >= 0; i-- {
		out[i] = hexDigits[v&0xF]
		v >>= 4
	}
	return dst
}

// BitString returns the frame as a string of '0' and '1', first
// transmitted bit (b1) first, exactly Len characters long.
func (f Frame) BitString() string {
	var buf [MaxFrameBits]byte
	return string(f.AppendBits(buf[:0]))
}

// AppendBits appends the BitString form of f to dst and returns the
// extended slice. It does not allocate when dst has room.
func (f Frame) AppendBits(dst []byte) []byte {
	n := int(f.norm())
	for p := n - 1; p >= 0; p-- {
		dst = append(dst, '0'+byte(f.Value>>uint(p)&1))
	}
	return dst
}

// OSDP returns the frame as OSDP card data (osdp_RAW): the bits
// left-justified in ceil(Len/8) bytes, b1 in the most significant bit of
// the first byte, with zero padding in the low bits of the last byte. A
// 26-bit frame takes 4 bytes with 6 padding bits.
func (f Frame) OSDP() []byte {
	return f.AppendOSDP(make([]byte, 0, 8))
}

// AppendOSDP appends the OSDP form of f to dst and returns the extended
// slice. It does not allocate when dst has room.
func (f Frame) AppendOSDP(dst []byte) []byte {
	n := int(f.norm())
	nb := (n + 7) / 8
	w := f.low() << uint(nb*8-n)
	for i := nb - 1; i >= 0; i-- {
		dst = append(dst, byte(w>>(8*uint(i))))
	}
	return dst
}

// String returns the frame for humans and logs, such as "2020190 (26 bits)".
func (f Frame) String() string {
	var buf [32]byte
	return string(f.appendString(buf[:0]))
}

func (f Frame) appendString(b []byte) []byte {
	b = f.AppendHex(b)
	b = append(b, " ("...)
	b = strconv.AppendUint(b, uint64(f.Len), 10)
	return append(b, " bits)"...)
}

// checkBits validates a requested bit length.
func checkBits(bits int) error {
	if bits < 1 || bits > MaxFrameBits {
		return &kindError{ErrLength, fmt.Sprintf("wiegand: bit length %d outside 1-%d", bits, MaxFrameBits)}
	}
	return nil
}

// ParseBits parses a string of '0' and '1', first transmitted bit first,
// as produced by BitString. The frame's length is the string's length,
// which must be 1–64 (ErrSyntax when empty, ErrLength when longer). Any
// other character yields an error matching ErrSyntax.
func ParseBits(s string) (Frame, error) {
	if len(s) == 0 {
		return Frame{}, &kindError{ErrSyntax, "wiegand: empty bit string"}
	}
	if len(s) > MaxFrameBits {
		return Frame{}, &kindError{ErrLength, fmt.Sprintf("wiegand: bit string of %d bits; frames longer than %d bits are not supported", len(s), MaxFrameBits)}
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '0' && c != '1' {
			return Frame{}, &kindError{ErrSyntax, fmt.Sprintf("wiegand: invalid character %q at position %d of bit string", c, i+1)}
		}
		v = v<<1 | uint64(c-'0')
	}
	return Frame{Len: uint8(len(s)), Value: v}, nil
}

// ParseHex parses hexadecimal frame data (either case, optional "0x"
// prefix, any number of leading zeros) as a frame of the given bit length.
// The value is right-justified, as produced by Hex. bits must be 1–64
// (ErrLength); a value that does not fit in bits yields ErrRange; empty
// input or a non-hex character yields ErrSyntax.
func ParseHex(s string, bits int) (Frame, error) {
	if err := checkBits(bits); err != nil {
		return Frame{}, err
	}
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	if len(s) == 0 {
		return Frame{}, &kindError{ErrSyntax, "wiegand: empty hex string"}
	}
	var v uint64
	overflow := false
	for i := 0; i < len(s); i++ {
		d, ok := hexVal(s[i])
		if !ok {
			return Frame{}, &kindError{ErrSyntax, fmt.Sprintf("wiegand: invalid hex character %q at position %d", s[i], i+1)}
		}
		if v>>60 != 0 {
			overflow = true
		}
		v = v<<4 | uint64(d)
	}
	if overflow || (bits < 64 && v>>uint(bits) != 0) {
		return Frame{}, &kindError{ErrRange, fmt.Sprintf("wiegand: hex value of %d digits does not fit in %d bits", len(s), bits)}
	}
	return Frame{Len: uint8(bits), Value: v}, nil
}

func hexVal(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// FromOSDP parses OSDP card data (left-justified bits, zero padding in the
// low bits of the last byte) as a frame of the given bit length, the
// counterpart of Frame.OSDP. bits must be 1–64 and len(b) must be
// ceil(bits/8) (ErrLength); non-zero padding bits yield ErrSyntax.
func FromOSDP(b []byte, bits int) (Frame, error) {
	if err := checkBits(bits); err != nil {
		return Frame{}, err
	}
	nb := (bits + 7) / 8
	if len(b) != nb {
		return Frame{}, &kindError{ErrLength, fmt.Sprintf("wiegand: OSDP data for %d bits must be %d bytes, got %d", bits, nb, len(b))}
	}
	var w uint64
	for _, c := range b {
		w = w<<8 | uint64(c)
	}
	pad := uint(nb*8 - bits)
	if w&(1<<pad-1) != 0 {
		return Frame{}, &kindError{ErrSyntax, fmt.Sprintf("wiegand: OSDP data for %d bits has non-zero padding in its last %d bits", bits, pad)}
	}
	return Frame{Len: uint8(bits), Value: w >> pad}, nil
}
