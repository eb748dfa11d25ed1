package wiegand

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// pickFormat maps any byte to a supported format.
func pickFormat(b uint8) Format {
	return Formats()[int(b)%len(Formats())]
}

// isKnownError reports whether err matches exactly one package sentinel.
func isKnownError(err error) bool {
	n := 0
	for _, s := range []error{ErrFormat, ErrRange, ErrLength, ErrFrame, ErrParity, ErrSyntax} {
		if errors.Is(err, s) {
			n++
		}
	}
	return n == 1
}

func FuzzRoundTrip(f *testing.F) {
	for _, v := range vectors {
		f.Add(uint8(v.f-1), v.fc, v.cn)
	}
	f.Add(uint8(0), uint64(256), uint64(1))
	f.Fuzz(func(t *testing.T, which uint8, fc, cn uint64) {
		format := pickFormat(which)
		// Out-of-range input must be refused with ErrRange.
		if fc > maxFC(format) || cn > format.MaxCard() {
			if _, err := format.Encode(fc, cn); !errors.Is(err, ErrRange) {
				t.Fatalf("%v Encode(%d, %d) error = %v, want ErrRange", format, fc, cn, err)
			}
		}
		fc %= maxFC(format) + 1
		cn %= format.MaxCard() + 1
		fr, err := format.Encode(fc, cn)
		if err != nil {
			t.Fatalf("%v Encode(%d, %d): %v", format, fc, cn, err)
		}
		if !fr.Valid() || int(fr.Len) != format.Bits() {
			t.Fatalf("%v Encode(%d, %d) = malformed %+v", format, fc, cn, fr)
		}
		c, err := format.Decode(fr)
		if err != nil || c != (Card{format, fc, cn}) {
			t.Fatalf("%v Decode(Encode(%d, %d)) = %v, %v", format, fc, cn, c, err)
		}
		for _, g := range []func() (Frame, error){
			func() (Frame, error) { return ParseHex(fr.Hex(), format.Bits()) },
			func() (Frame, error) { return ParseBits(fr.BitString()) },
			func() (Frame, error) { return FromOSDP(fr.OSDP(), format.Bits()) },
		} {
			if got, err := g(); err != nil || got != fr {
				t.Fatalf("%v representation round trip of %v = %v, %v", format, fr, got, err)
			}
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add(uint8(26), uint64(0x2020190))
	f.Add(uint8(37), uint64(0x0FFFFFFFFF))
	f.Add(uint8(0), uint64(0))
	f.Add(uint8(64), ^uint64(0))
	f.Add(uint8(255), uint64(1))
	f.Fuzz(func(t *testing.T, n uint8, v uint64) {
		fr := Frame{Len: n, Value: v}
		matches := Matches(fr)
		for g := Format(0); g <= numFormats; g++ {
			c, err := g.Decode(fr)
			if err != nil {
				if !isKnownError(err) {
					t.Fatalf("%v Decode(%+v): unclassified error %v", g, fr, err)
				}
				for _, m := range matches {
					if m == g {
						t.Fatalf("Matches(%+v) lists %v but Decode fails: %v", fr, g, err)
					}
				}
				continue
			}
			if c.Format != g || c.Facility > maxFC(g) || c.Number > g.MaxCard() {
				t.Fatalf("%v Decode(%+v) = out-of-range card %+v", g, fr, c)
			}
			back, err := g.Encode(c.Facility, c.Number)
			if err != nil || back != fr {
				t.Fatalf("%v Encode(Decode(%+v)) = %v, %v", g, fr, back, err)
			}
			found := false
			for _, m := range matches {
				found = found || m == g
			}
			if !found {
				t.Fatalf("%v decodes %+v but Matches = %v", g, fr, matches)
			}
		}
		// Formatting never panics, even on malformed frames.
		_ = fr.Hex()
		_ = fr.BitString()
		_ = fr.OSDP()
		_ = fr.String()
	})
}

func FuzzParseBits(f *testing.F) {
	f.Add("10000000100000000110010000")
	f.Add("")
	f.Add("012")
	f.Add(strings.Repeat("1", 65))
	f.Fuzz(func(t *testing.T, s string) {
		fr, err := ParseBits(s)
		if err != nil {
			if !isKnownError(err) {
				t.Fatalf("ParseBits(%q): unclassified error %v", s, err)
			}
			return
		}
		if !fr.Valid() || int(fr.Len) != len(s) || fr.BitString() != s {
			t.Fatalf("ParseBits(%q) = %+v (BitString %q)", s, fr, fr.BitString())
		}
	})
}

func FuzzParseHex(f *testing.F) {
	f.Add("2020190", 26)
	f.Add("0x1FFFFFFFF", 34)
	f.Add("", 1)
	f.Add("FFFFFFFFFFFFFFFFF", 64)
	f.Add("1", -5)
	f.Fuzz(func(t *testing.T, s string, bits int) {
		fr, err := ParseHex(s, bits)
		if err != nil {
			if !isKnownError(err) {
				t.Fatalf("ParseHex(%q, %d): unclassified error %v", s, bits, err)
			}
			return
		}
		if !fr.Valid() || int(fr.Len) != bits {
			t.Fatalf("ParseHex(%q, %d) = malformed %+v", s, bits, fr)
		}
		again, err := ParseHex(fr.Hex(), bits)
		if err != nil || again != fr {
			t.Fatalf("ParseHex(Hex(%+v)) = %v, %v", fr, again, err)
		}
	})
}

func FuzzFromOSDP(f *testing.F) {
	f.Add([]byte{0x80, 0x80, 0x64, 0x00}, 26)
	f.Add([]byte{0x80, 0x80, 0x64, 0x01}, 26)
	f.Add([]byte{}, 0)
	f.Add(bytes.Repeat([]byte{0xFF}, 8), 64)
	f.Add(bytes.Repeat([]byte{0xFF}, 9), 72)
	f.Fuzz(func(t *testing.T, b []byte, bits int) {
		fr, err := FromOSDP(b, bits)
		if err != nil {
			if !isKnownError(err) {
				t.Fatalf("FromOSDP(% X, %d): unclassified error %v", b, bits, err)
			}
			return
		}
		if !fr.Valid() || int(fr.Len) != bits || !bytes.Equal(fr.OSDP(), b) {
			t.Fatalf("FromOSDP(% X, %d) = %+v (OSDP % X)", b, bits, fr, fr.OSDP())
		}
	})
}

// FuzzFormatText: any text either reads as a format that writes back as
// the same name (up to letter case) or is refused with ErrFormat, leaving
// the value alone; an error quotes at most a bounded part of the text.
func FuzzFormatText(f *testing.F) {
	for _, s := range []string{"", "H10301", "h10306", "C1000-35", "c1000-48", "H99999", "26 bit Wiegand", "\xff", "H10301\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g := H10304
		err := g.UnmarshalText([]byte(s))
		if err != nil {
			if !errors.Is(err, ErrFormat) || !isKnownError(err) || g != H10304 {
				t.Fatalf("UnmarshalText(%q) = %v, %v", s, g, err)
			}
			if len(err.Error()) > 300 {
				t.Fatalf("error of %d bytes for %q", len(err.Error()), s)
			}
			return
		}
		b, merr := g.MarshalText()
		if merr != nil || !strings.EqualFold(string(b), s) || (s == "") != (g == 0) {
			t.Fatalf("%q reads as %v and writes as %q, %v", s, g, b, merr)
		}
		if p, perr := ParseFormat(s); s != "" && (perr != nil || p != g) {
			t.Fatalf("ParseFormat(%q) = %v, %v; UnmarshalText gave %v", s, p, perr, g)
		}
	})
}
