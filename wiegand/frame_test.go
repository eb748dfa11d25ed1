package wiegand

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestFrameFormatting(t *testing.T) {
	tests := []struct {
		fr   Frame
		hex  string
		bits string
		osdp []byte
	}{
		{Frame{26, 0x2020190}, "2020190", "10000000100000000110010000", []byte{0x80, 0x80, 0x64, 0x00}},
		{Frame{26, 0x1FFFF}, "001FFFF", "00000000011111111111111111", []byte{0x00, 0x7F, 0xFF, 0xC0}},
		{Frame{1, 1}, "1", "1", []byte{0x80}},
		{Frame{4, 0xA}, "A", "1010", []byte{0xA0}},
		{Frame{5, 0x11}, "11", "10001", []byte{0x88}},
		{Frame{8, 0xFF}, "FF", "11111111", []byte{0xFF}},
		{Frame{37, 1}, "0000000001", "0000000000000000000000000000000000001", []byte{0, 0, 0, 0, 0x08}},
		{Frame{64, 0x8000000000000001}, "8000000000000001",
			"1000000000000000000000000000000000000000000000000000000000000001",
			[]byte{0x80, 0, 0, 0, 0, 0, 0, 0x01}},
	}
	for _, tt := range tests {
		if got := tt.fr.Hex(); got != tt.hex {
			t.Errorf("%+v Hex = %q, want %q", tt.fr, got, tt.hex)
		}
		if got := tt.fr.BitString(); got != tt.bits {
			t.Errorf("%+v BitString = %q, want %q", tt.fr, got, tt.bits)
		}
		if got := tt.fr.OSDP(); !bytes.Equal(got, tt.osdp) {
			t.Errorf("%+v OSDP = % X, want % X", tt.fr, got, tt.osdp)
		}
		if got := string(tt.fr.AppendHex([]byte("x="))); got != "x="+tt.hex {
			t.Errorf("%+v AppendHex = %q", tt.fr, got)
		}
		if got := string(tt.fr.AppendBits([]byte("b:"))); got != "b:"+tt.bits {
			t.Errorf("%+v AppendBits = %q", tt.fr, got)
		}
		if got := tt.fr.AppendOSDP([]byte{0xEE}); !bytes.Equal(got, append([]byte{0xEE}, tt.osdp...)) {
			t.Errorf("%+v AppendOSDP = % X", tt.fr, got)
		}
		if !tt.fr.Valid() {
			t.Errorf("%+v not Valid", tt.fr)
		}
		for p := 1; p <= int(tt.fr.Len); p++ {
			if got := tt.fr.Bit(p); got != tt.bits[p-1]-'0' {
				t.Errorf("%+v Bit(%d) = %d", tt.fr, p, got)
			}
		}
	}
	if got := (Frame{26, 0x2020190}).String(); got != "2020190 (26 bits)" {
		t.Errorf("String = %q", got)
	}
}

func TestFrameMalformed(t *testing.T) {
	// Formatting renders only the low min(Len, 64) bits and never panics.
	over := Frame{26, 0xFFFFFFFF}
	if over.Valid() {
		t.Error("value above Len reported Valid")
	}
	if got := over.Hex(); got != "3FFFFFF" {
		t.Errorf("Hex = %q", got)
	}
	if got := over.BitString(); got != strings.Repeat("1", 26) {
		t.Errorf("BitString = %q", got)
	}
	if got := over.OSDP(); !bytes.Equal(got, []byte{0xFF, 0xFF, 0xFF, 0xC0}) {
		t.Errorf("OSDP = % X", got)
	}
	long := Frame{200, 5}
	if long.Valid() || long.Hex() != "0000000000000005" || len(long.BitString()) != 64 || len(long.OSDP()) != 8 {
		t.Errorf("long frame: %v %q %q % X", long.Valid(), long.Hex(), long.BitString(), long.OSDP())
	}
	var zero Frame
	if zero.Valid() || zero.Hex() != "" || zero.BitString() != "" || len(zero.OSDP()) != 0 {
		t.Error("zero frame renders something")
	}
	if (Frame{26, 1}).Bit(0) != 0 || (Frame{26, 1}).Bit(27) != 0 || (Frame{26, 1}).Bit(26) != 1 {
		t.Error("Bit out of range")
	}
}

func TestNewFrame(t *testing.T) {
	if fr, err := NewFrame(26, 0x2020190); err != nil || fr != (Frame{26, 0x2020190}) {
		t.Errorf("NewFrame = %v, %v", fr, err)
	}
	if fr, err := NewFrame(64, ^uint64(0)); err != nil || !fr.Valid() {
		t.Errorf("NewFrame(64, max) = %v, %v", fr, err)
	}
	for _, tt := range []struct {
		bits int
		v    uint64
		want error
	}{
		{0, 0, ErrLength}, {65, 0, ErrLength}, {-1, 0, ErrLength}, {26, 1 << 26, ErrRange}, {1, 2, ErrRange},
	} {
		if _, err := NewFrame(tt.bits, tt.v); !errors.Is(err, tt.want) {
			t.Errorf("NewFrame(%d, %#x) error = %v, want %v", tt.bits, tt.v, err, tt.want)
		}
	}
}

func TestParseBits(t *testing.T) {
	fr, err := ParseBits("10000000100000000110010000")
	if err != nil || fr != (Frame{26, 0x2020190}) {
		t.Errorf("ParseBits = %v, %v", fr, err)
	}
	if fr, err := ParseBits(strings.Repeat("1", 64)); err != nil || fr.Value != ^uint64(0) || fr.Len != 64 {
		t.Errorf("64 ones = %v, %v", fr, err)
	}
	if fr, err := ParseBits("0"); err != nil || fr != (Frame{1, 0}) {
		t.Errorf(`ParseBits("0") = %v, %v`, fr, err)
	}
	for _, tt := range []struct {
		in   string
		want error
		msg  string
	}{
		{"", ErrSyntax, "empty bit string"},
		{"0102", ErrSyntax, `invalid character '2' at position 4`},
		{"10 01", ErrSyntax, "position 3"},
		{strings.Repeat("0", 65), ErrLength, "65 bits"},
	} {
		_, err := ParseBits(tt.in)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParseBits(%q) error = %v, want %v containing %q", tt.in, err, tt.want, tt.msg)
		}
	}
}

func TestParseHex(t *testing.T) {
	for _, tt := range []struct {
		in   string
		bits int
		want Frame
	}{
		{"2020190", 26, Frame{26, 0x2020190}},
		{"0x2020190", 26, Frame{26, 0x2020190}},
		{"0X1fe0001", 26, Frame{26, 0x1FE0001}},
		{"00000000000000000000000002020190", 26, Frame{26, 0x2020190}}, // 32 hex chars, zero-padded
		{"ffffffffffffffff", 64, Frame{64, ^uint64(0)}},
		{"3ffffff", 26, Frame{26, 0x3FFFFFF}},
		{"1", 1, Frame{1, 1}},
	} {
		got, err := ParseHex(tt.in, tt.bits)
		if err != nil || got != tt.want {
			t.Errorf("ParseHex(%q, %d) = %v, %v; want %v", tt.in, tt.bits, got, err, tt.want)
		}
	}
	for _, tt := range []struct {
		in   string
		bits int
		want error
	}{
		{"", 26, ErrSyntax},
		{"0x", 26, ErrSyntax},
		{"20G0190", 26, ErrSyntax},
		{"-1", 26, ErrSyntax},
		{"4000000", 26, ErrRange},
		{"2", 1, ErrRange},
		{"10000000000000000", 64, ErrRange},
		{"FFFFFFFFFFFFFFFFF", 64, ErrRange},
		{"1", 0, ErrLength},
		{"1", 65, ErrLength},
	} {
		if _, err := ParseHex(tt.in, tt.bits); !errors.Is(err, tt.want) {
			t.Errorf("ParseHex(%q, %d) error = %v, want %v", tt.in, tt.bits, err, tt.want)
		}
	}
}

func TestFromOSDP(t *testing.T) {
	// A 37-bit H10302 read arrives as 5 bytes with 3 zero low bits.
	fr, _ := H10302.Encode(0, 1<<35-1)
	b := fr.OSDP()
	if len(b) != 5 || b[4]&0x07 != 0 {
		t.Fatalf("37-bit OSDP = % X", b)
	}
	got, err := FromOSDP(b, 37)
	if err != nil || got != fr {
		t.Errorf("FromOSDP = %v, %v; want %v", got, err, fr)
	}
	if got, err := FromOSDP([]byte{0x80, 0x80, 0x64, 0x00}, 26); err != nil || got != (Frame{26, 0x2020190}) {
		t.Errorf("FromOSDP 26-bit = %v, %v", got, err)
	}
	for _, tt := range []struct {
		b    []byte
		bits int
		want error
		msg  string
	}{
		{[]byte{0x80, 0x80, 0x64, 0x01}, 26, ErrSyntax, "non-zero padding in its last 6 bits"},
		{[]byte{0x80, 0x80, 0x64}, 26, ErrLength, "must be 4 bytes, got 3"},
		{[]byte{0x80, 0x80, 0x64, 0, 0}, 26, ErrLength, "must be 4 bytes, got 5"},
		{nil, 26, ErrLength, "got 0"},
		{[]byte{1}, 0, ErrLength, "bit length 0"},
		{make([]byte, 9), 72, ErrLength, "bit length 72"},
	} {
		_, err := FromOSDP(tt.b, tt.bits)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("FromOSDP(% X, %d) error = %v, want %v containing %q", tt.b, tt.bits, err, tt.want, tt.msg)
		}
	}
}
