package wiegand

import (
	"errors"
	"math/bits"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// Regression vectors: research/cardformats-and-peers.md §A3, plus H10301
// 1/200 as seen in Brivo's encodedCredential traffic.
var vectors = []struct {
	f        Format
	fc, cn   uint64
	hex      string
	fromWhat string
}{
	{H10301, 1, 200, "2020190", "Brivo encodedCredential"},
	{H10301, 0, 65535, "001FFFF", "A3"},
	{H10301, 255, 0, "1FE0001", "A3"},
	{H10301, 1, 1, "2020002", "A3"},
	{H10306, 0, 0, "000000001", "A3"},
	{H10306, 65535, 65535, "1FFFFFFFF", "A3"},
	{H10304, 65535, 524287, "0FFFFFFFFF", "A3"},
	{H10302, 0, 0, "0000000001", "A3"},
	{H10302, 0, 1<<35 - 1, "0FFFFFFFFF", "A3"},
	{H10302, 0, 1, "0000000002", "A3"},
	{Corp1000_35, 0, 0, "000000001", "A3"},
	{Corp1000_35, 4095, 1048575, "5FFFFFFFE", "A3"},
	{Corp1000_48, 0, 0, "000000000001", "A3"},
	{Corp1000_48, 4194303, 8388607, "BFFFFFFFFFFF", "A3"},
}

func TestVectors(t *testing.T) {
	for _, v := range vectors {
		fr, err := v.f.Encode(v.fc, v.cn)
		if err != nil {
			t.Fatalf("%v Encode(%d, %d): %v", v.f, v.fc, v.cn, err)
		}
		if got := fr.Hex(); got != v.hex {
			t.Errorf("%v Encode(%d, %d) = %s, want %s (%s)", v.f, v.fc, v.cn, got, v.hex, v.fromWhat)
		}
		if int(fr.Len) != v.f.Bits() {
			t.Errorf("%v Encode(%d, %d).Len = %d, want %d", v.f, v.fc, v.cn, fr.Len, v.f.Bits())
		}
		parsed, err := ParseHex(v.hex, v.f.Bits())
		if err != nil {
			t.Fatalf("ParseHex(%q): %v", v.hex, err)
		}
		c, err := v.f.Decode(parsed)
		if err != nil {
			t.Fatalf("%v Decode(%s): %v", v.f, v.hex, err)
		}
		if want := (Card{v.f, v.fc, v.cn}); c != want {
			t.Errorf("%v Decode(%s) = %+v, want %+v", v.f, v.hex, c, want)
		}
	}
}

// TestEncodeAgainstReference cross-checks the mask-based encoder against a
// bit-by-bit reference built from the layout descriptions.
func TestEncodeAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	refs := refLayouts()
	for _, f := range Formats() {
		ref := refs[f]
		for i := 0; i < 3000; i++ {
			var fc, cn uint64
			switch i {
			case 0: // zeros
			case 1:
				fc, cn = maxFC(f), f.MaxCard()
			default:
				if f.HasFacility() {
					fc = rng.Uint64N(maxFC(f) + 1)
				}
				cn = rng.Uint64N(f.MaxCard() + 1)
			}
			fr, err := f.Encode(fc, cn)
			if err != nil {
				t.Fatalf("%v Encode(%d, %d): %v", f, fc, cn, err)
			}
			if got, want := fr.BitString(), refEncode(ref, fc, cn); got != want {
				t.Fatalf("%v Encode(%d, %d)\n got %s\nwant %s", f, fc, cn, got, want)
			}
		}
	}
}

func TestLayoutInvariants(t *testing.T) {
	for _, f := range Formats() {
		l := layouts[f]
		all := uint64(1)<<l.bits - 1
		fcMask := l.fcMax << l.fcShift
		cnMask := l.cnMax << l.cnShift
		parityBits := bitAt(l.bits, l.even.pos) | bitAt(l.bits, l.odd.pos)
		if l.all.pos != 0 {
			parityBits |= bitAt(l.bits, l.all.pos)
		}
		if fcMask&cnMask != 0 || (fcMask|cnMask)&parityBits != 0 {
			t.Errorf("%v: fields and parity bits overlap", f)
		}
		if fcMask|cnMask|parityBits != all {
			t.Errorf("%v: fields and parity bits do not cover the frame: %#x of %#x", f, fcMask|cnMask|parityBits, all)
		}
		if l.fcLen > 0 && fcMask != span(l.bits, l.fcStart, l.fcStart+l.fcLen-1) {
			t.Errorf("%v: facility mask does not match b%d..", f, l.fcStart)
		}
		if cnMask != span(l.bits, l.cnStart, l.cnStart+l.cnLen-1) {
			t.Errorf("%v: card mask does not match b%d..", f, l.cnStart)
		}
		for _, p := range []parity{l.even, l.odd, l.all} {
			if p.pos == 0 {
				continue
			}
			if p.data&^all != 0 || p.data&bitAt(l.bits, p.pos) != 0 {
				t.Errorf("%v: parity b%d covers itself or bits outside the frame", f, p.pos)
			}
		}
		// The computation order even → odd → overall must never need a
		// later parity bit.
		if l.even.data&bitAt(l.bits, l.odd.pos) != 0 {
			t.Errorf("%v: even parity covers the odd parity bit", f)
		}
		if l.all.pos != 0 && (l.even.data|l.odd.data)&bitAt(l.bits, l.all.pos) != 0 {
			t.Errorf("%v: even or odd parity covers the overall parity bit", f)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		f      Format
		fc, cn uint64
		want   error
		msg    string
	}{
		{0, 0, 0, ErrFormat, "wiegand: no card format (zero Format)"},
		{numFormats, 0, 0, ErrFormat, "Format(7)"},
		{H10301, 256, 0, ErrRange, "wiegand: H10301 facility code 256 out of range 0-255"},
		{H10301, 0, 65536, ErrRange, "wiegand: H10301 card number 65536 out of range 0-65535"},
		{H10306, 65536, 0, ErrRange, "facility code 65536 out of range 0-65535"},
		{H10306, 0, 1 << 16, ErrRange, "card number 65536 out of range 0-65535"},
		{H10302, 1, 0, ErrRange, "wiegand: H10302 has no facility code; facility must be 0, got 1"},
		{H10302, 0, 1 << 35, ErrRange, "card number 34359738368 out of range 0-34359738367"},
		{H10304, 0, 524288, ErrRange, "card number 524288 out of range 0-524287"},
		{Corp1000_35, 4096, 0, ErrRange, "facility code 4096 out of range 0-4095"},
		{Corp1000_35, 0, 1 << 20, ErrRange, "card number 1048576 out of range 0-1048575"},
		{Corp1000_48, 1 << 22, 0, ErrRange, "facility code 4194304 out of range 0-4194303"},
		{Corp1000_48, 0, 1 << 23, ErrRange, "card number 8388608 out of range 0-8388607"},
		{H10301, ^uint64(0), ^uint64(0), ErrRange, "facility code 18446744073709551615"},
	}
	for _, tt := range tests {
		fr, err := tt.f.Encode(tt.fc, tt.cn)
		if !errors.Is(err, tt.want) {
			t.Errorf("%v Encode(%d, %d) error = %v, want %v", tt.f, tt.fc, tt.cn, err, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%v Encode(%d, %d) error %q does not contain %q", tt.f, tt.fc, tt.cn, err, tt.msg)
		}
		if fr != (Frame{}) {
			t.Errorf("%v Encode(%d, %d) returned frame %v with an error", tt.f, tt.fc, tt.cn, fr)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	good, _ := H10301.Encode(1, 200)
	tests := []struct {
		name string
		f    Format
		fr   Frame
		want error
		msg  string
	}{
		{"invalid format", 0, good, ErrFormat, "no card format"},
		{"wrong length", H10306, good, ErrLength, "wiegand: H10306 needs a 34-bit frame, got 26 bits"},
		{"37-bit as 35", Corp1000_35, Frame{37, 1}, ErrLength, "needs a 35-bit frame, got 37 bits"},
		{"zero frame", H10301, Frame{}, ErrFrame, "length 0"},
		{"too long", H10301, Frame{65, 1}, ErrFrame, "length 65"},
		{"value beyond length", H10301, Frame{26, good.Value | 1<<26}, ErrFrame, "bits above its length 26"},
		{"parity", H10301, Frame{26, good.Value ^ 1}, ErrParity, "wiegand: H10301 frame 2020191 (26 bits) fails odd parity (bit b26)"},
	}
	for _, tt := range tests {
		c, err := tt.f.Decode(tt.fr)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Decode error = %v, want %v", tt.name, err, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: error %q does not contain %q", tt.name, err, tt.msg)
		}
		if c != (Card{}) {
			t.Errorf("%s: Decode returned %+v with an error", tt.name, c)
		}
		if err2 := tt.f.Check(tt.fr); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("%s: Check = %v, Decode = %v", tt.name, err2, err)
		}
		// Each error matches exactly one sentinel.
		n := 0
		for _, s := range []error{ErrFormat, ErrRange, ErrLength, ErrFrame, ErrParity, ErrSyntax} {
			if errors.Is(err, s) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: error matches %d sentinels", tt.name, n)
		}
	}
}

// TestParityFlips flips every bit of valid frames of every format and
// checks the reported parity against the reference layout.
func TestParityFlips(t *testing.T) {
	refs := refLayouts()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, f := range Formats() {
		ref := refs[f]
		for trial := 0; trial < 20; trial++ {
			var fc uint64
			if f.HasFacility() {
				fc = rng.Uint64N(maxFC(f) + 1)
			}
			good, err := f.Encode(fc, rng.Uint64N(f.MaxCard()+1))
			if err != nil {
				t.Fatal(err)
			}
			for p := 1; p <= f.Bits(); p++ {
				bad := Frame{good.Len, good.Value ^ 1<<uint(f.Bits()-p)}
				_, err := f.Decode(bad)
				var pe *ParityError
				if !errors.As(err, &pe) || !errors.Is(err, ErrParity) {
					t.Fatalf("%v flip b%d: error = %v, want *ParityError", f, p, err)
				}
				want := refFirstFailure(ref, p)
				if pe.Kind != want.kind || pe.Bit != want.pos || pe.Format != f || pe.Frame != bad {
					t.Fatalf("%v flip b%d: got %v parity b%d, want %v parity b%d", f, p, pe.Kind, pe.Bit, want.kind, want.pos)
				}
			}
		}
	}
}

func TestParityReported(t *testing.T) {
	tests := []struct {
		f    Format
		flip int // wire position
		kind ParityKind
		bit  int
	}{
		{H10301, 1, ParityEven, 1},
		{H10301, 5, ParityEven, 1},  // facility bit
		{H10301, 13, ParityEven, 1}, // last bit under the even parity
		{H10301, 14, ParityOdd, 26}, // first bit under the odd parity
		{H10301, 26, ParityOdd, 26},
		{H10306, 17, ParityEven, 1},
		{H10306, 18, ParityOdd, 34},
		{H10302, 19, ParityEven, 1}, // in both; even is checked first
		{H10302, 20, ParityOdd, 37},
		{H10304, 37, ParityOdd, 37},
		{Corp1000_35, 1, ParityOverallOdd, 1},
		{Corp1000_35, 2, ParityEven, 2},
		{Corp1000_35, 35, ParityOdd, 35},
		{Corp1000_35, 5, ParityOdd, 35}, // 5 mod 3 = 2: not under even
		{Corp1000_48, 1, ParityOverallOdd, 1},
		{Corp1000_48, 2, ParityEven, 2},
		{Corp1000_48, 3, ParityOdd, 48}, // 3 mod 3 = 0: not under even
		{Corp1000_48, 48, ParityOdd, 48},
	}
	for _, tt := range tests {
		good, _ := tt.f.Encode(0, 0)
		err := tt.f.Check(Frame{good.Len, good.Value ^ 1<<uint(tt.f.Bits()-tt.flip)})
		var pe *ParityError
		if !errors.As(err, &pe) {
			t.Errorf("%v flip b%d: error %v, want *ParityError", tt.f, tt.flip, err)
			continue
		}
		if pe.Kind != tt.kind || pe.Bit != tt.bit {
			t.Errorf("%v flip b%d: got %v parity at b%d, want %v at b%d", tt.f, tt.flip, pe.Kind, pe.Bit, tt.kind, tt.bit)
		}
		if want := tt.kind.String() + " parity (bit b"; !strings.Contains(pe.Error(), want) {
			t.Errorf("%v flip b%d: message %q lacks %q", tt.f, tt.flip, pe.Error(), want)
		}
	}
}

// TestB19InBothParities pins the 37-bit pitfall: b19 is covered by the even
// parity (b2–b19) and by the odd parity (b19–b36).
func TestB19InBothParities(t *testing.T) {
	for _, f := range []Format{H10302, H10304} {
		// The card number with only wire bit b19 set.
		cn := uint64(1) << uint(36-19)
		fr, err := f.Encode(0, cn)
		if err != nil {
			t.Fatal(err)
		}
		// Even parity: one 1 among b2–b19 → b1 = 1. Odd parity: one 1 among
		// b19–b36 → already odd → b37 = 0. An odd parity over b20–b36
		// only would set b37.
		if want := "1000000000000000001000000000000000000"; fr.BitString() != want {
			t.Errorf("%v b19 frame = %s, want %s", f, fr.BitString(), want)
		}
		// With b19 and b1 flipped the even parity holds again, so the
		// failure must come from the odd parity: b19 is under both.
		bad := Frame{fr.Len, fr.Value ^ 1<<(37-19) ^ 1<<(37-1)}
		var pe *ParityError
		if err := f.Check(bad); !errors.As(err, &pe) || pe.Kind != ParityOdd || pe.Bit != 37 {
			t.Errorf("%v with b19 and b1 flipped: error %v, want odd parity at b37", f, err)
		}
		// With b19 and b37 flipped the odd parity holds, the even fails.
		bad = Frame{fr.Len, fr.Value ^ 1<<(37-19) ^ 1}
		if err := f.Check(bad); !errors.As(err, &pe) || pe.Kind != ParityEven || pe.Bit != 1 {
			t.Errorf("%v with b19 and b37 flipped: error %v, want even parity at b1", f, err)
		}
	}
}

func TestMatches37BitAmbiguity(t *testing.T) {
	fr, err := H10304.Encode(1234, 56789)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Matches(fr), []Format{H10302, H10304}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Matches(%v) = %v, want %v", fr, got, want)
	}
	as02, err := H10302.Decode(fr)
	if err != nil {
		t.Fatal(err)
	}
	as04, err := H10304.Decode(fr)
	if err != nil {
		t.Fatal(err)
	}
	if as04 != (Card{H10304, 1234, 56789}) {
		t.Errorf("H10304 decode = %v", as04)
	}
	// The same bits read as H10302: the facility becomes the top card bits.
	if as02 != (Card{H10302, 0, 1234<<19 | 56789}) {
		t.Errorf("H10302 decode = %v", as02)
	}
}

func TestMatches(t *testing.T) {
	for _, v := range vectors {
		fr, _ := v.f.Encode(v.fc, v.cn)
		got := Matches(fr)
		found := false
		for _, g := range got {
			if g == v.f {
				found = true
			}
			if g.Bits() != v.f.Bits() {
				t.Errorf("Matches(%v) includes %v of another length", fr, g)
			}
		}
		if !found {
			t.Errorf("Matches(%v) = %v, lacks %v", fr, got, v.f)
		}
	}
	good, _ := H10301.Encode(1, 200)
	for _, fr := range []Frame{{26, good.Value ^ 1}, {}, {70, 1}, {40, 0}, {26, 1 << 30}} {
		if got := Matches(fr); got != nil {
			t.Errorf("Matches(%+v) = %v, want nil", fr, got)
		}
	}
}

func TestCard(t *testing.T) {
	c := Card{H10301, 1, 200}
	if got := c.String(); got != "H10301 1/200" {
		t.Errorf("String = %q", got)
	}
	fr, err := c.Frame()
	if err != nil || fr.Hex() != "2020190" {
		t.Errorf("Frame = %v, %v", fr, err)
	}
	if _, err := (Card{H10302, 1, 1}).Frame(); !errors.Is(err, ErrRange) {
		t.Errorf("H10302 with facility: %v", err)
	}
}

// TestRoundTripAllRepresentations encodes in-range values of every format,
// passes the frame through each representation and decodes it back.
func TestRoundTripAllRepresentations(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	n := 0
	for _, f := range Formats() {
		for i := 0; i < 2000; i++ {
			var fc uint64
			cn := rng.Uint64N(f.MaxCard() + 1)
			if f.HasFacility() {
				fc = rng.Uint64N(maxFC(f) + 1)
			}
			if i == 0 {
				fc, cn = 0, 0
			} else if i == 1 {
				fc, cn = maxFC(f), f.MaxCard()
			}
			want := Card{f, fc, cn}
			fr, err := f.Encode(fc, cn)
			if err != nil {
				t.Fatal(err)
			}
			hex := fr.Hex()
			if len(hex) != (f.Bits()+3)/4 {
				t.Fatalf("%v hex %q has %d digits", f, hex, len(hex))
			}
			viaHex, err := ParseHex(strings.ToLower(hex), f.Bits())
			if err != nil {
				t.Fatal(err)
			}
			viaBits, err := ParseBits(fr.BitString())
			if err != nil {
				t.Fatal(err)
			}
			osdp := fr.OSDP()
			if len(osdp) != (f.Bits()+7)/8 {
				t.Fatalf("%v OSDP has %d bytes", f, len(osdp))
			}
			viaOSDP, err := FromOSDP(osdp, f.Bits())
			if err != nil {
				t.Fatal(err)
			}
			for name, g := range map[string]Frame{"hex": viaHex, "bits": viaBits, "osdp": viaOSDP} {
				if g != fr {
					t.Fatalf("%v %s round trip: %v, want %v", f, name, g, fr)
				}
				c, err := f.Decode(g)
				if err != nil || c != want {
					t.Fatalf("%v %s decode: %v, %v; want %v", f, name, c, err, want)
				}
				n++
			}
		}
	}
	t.Logf("%d round trips", n)
}

func TestZeroAllocs(t *testing.T) {
	fr, _ := H10301.Encode(1, 200)
	var sink Frame
	var card Card
	var err error
	checks := map[string]func(){
		"Encode": func() { sink, err = H10301.Encode(1, 200) },
		"Decode": func() { card, err = H10301.Decode(fr) },
		"Check":  func() { err = H10301.Check(fr) },
		"C1000-48 Encode": func() {
			sink, err = Corp1000_48.Encode(4194303, 8388607)
		},
	}
	var buf [64]byte
	checks["AppendHex"] = func() { _ = fr.AppendHex(buf[:0]) }
	checks["AppendBits"] = func() { _ = fr.AppendBits(buf[:0]) }
	checks["AppendOSDP"] = func() { _ = fr.AppendOSDP(buf[:0]) }
	for name, fn := range checks {
		if a := testing.AllocsPerRun(1000, fn); a != 0 {
			t.Errorf("%s: %v allocs/op, want 0", name, a)
		}
	}
	if err != nil || sink.Len == 0 || card.Number != 200 {
		t.Fatalf("unexpected results: %v %v %v", sink, card, err)
	}
}

func TestPopcountParityHelpers(t *testing.T) {
	// Sanity of the even/odd convention on a hand-made H10301 frame:
	// b1 XOR of b2–b13 (even), b26 NOT XOR of b14–b25 (odd).
	fr, _ := H10301.Encode(0xA5, 0xF00F)
	s := fr.BitString()
	ones := func(s string) int { return strings.Count(s, "1") }
	if ones(s[0:13])%2 != 0 {
		t.Errorf("even parity group b1–b13 %s has odd weight", s[0:13])
	}
	if ones(s[13:26])%2 != 1 {
		t.Errorf("odd parity group b14–b26 %s has even weight", s[13:26])
	}
	if bits.OnesCount64(fr.Value) != ones(s) {
		t.Errorf("BitString %s disagrees with value %#x", s, fr.Value)
	}
}
