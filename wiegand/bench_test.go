package wiegand

import "testing"

var (
	benchFrame Frame
	benchCard  Card
	benchErr   error
	benchBytes []byte
	benchStr   string
)

func benchEncode(b *testing.B, f Format) {
	fc, cn := maxFC(f)/3, f.MaxCard()/3
	b.ReportAllocs()
	for b.Loop() {
		benchFrame, benchErr = f.Encode(fc, cn)
	}
	if benchErr != nil {
		b.Fatal(benchErr)
	}
}

func benchDecode(b *testing.B, f Format) {
	fr, err := f.Encode(maxFC(f)/3, f.MaxCard()/3)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		benchCard, benchErr = f.Decode(fr)
	}
	if benchErr != nil {
		b.Fatal(benchErr)
	}
}

func BenchmarkH10301Encode(b *testing.B)      { benchEncode(b, H10301) }
func BenchmarkH10301Decode(b *testing.B)      { benchDecode(b, H10301) }
func BenchmarkH10306Encode(b *testing.B)      { benchEncode(b, H10306) }
func BenchmarkH10306Decode(b *testing.B)      { benchDecode(b, H10306) }
func BenchmarkH10302Encode(b *testing.B)      { benchEncode(b, H10302) }
func BenchmarkH10302Decode(b *testing.B)      { benchDecode(b, H10302) }
func BenchmarkH10304Encode(b *testing.B)      { benchEncode(b, H10304) }
func BenchmarkH10304Decode(b *testing.B)      { benchDecode(b, H10304) }
func BenchmarkCorp1000_35Encode(b *testing.B) { benchEncode(b, Corp1000_35) }
func BenchmarkCorp1000_35Decode(b *testing.B) { benchDecode(b, Corp1000_35) }
func BenchmarkCorp1000_48Encode(b *testing.B) { benchEncode(b, Corp1000_48) }
func BenchmarkCorp1000_48Decode(b *testing.B) { benchDecode(b, Corp1000_48) }

// BenchmarkDecodeParityError measures the failure path, which allocates
// the *ParityError.
func BenchmarkDecodeParityError(b *testing.B) {
	fr, _ := H10301.Encode(1, 200)
	fr.Value ^= 1
	b.ReportAllocs()
	for b.Loop() {
		benchCard, benchErr = H10301.Decode(fr)
	}
}

func BenchmarkMatches37(b *testing.B) {
	fr, _ := H10304.Encode(1234, 56789)
	b.ReportAllocs()
	for b.Loop() {
		benchStr = Matches(fr)[0].String()
	}
}

func BenchmarkHex(b *testing.B) {
	fr, _ := H10301.Encode(1, 200)
	b.ReportAllocs()
	for b.Loop() {
		benchStr = fr.Hex()
	}
}

func BenchmarkAppendHex(b *testing.B) {
	fr, _ := H10301.Encode(1, 200)
	buf := make([]byte, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		benchBytes = fr.AppendHex(buf[:0])
	}
}

func BenchmarkParseHex(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		benchFrame, benchErr = ParseHex("2020190", 26)
	}
}

func BenchmarkBitString(b *testing.B) {
	fr, _ := H10301.Encode(1, 200)
	b.ReportAllocs()
	for b.Loop() {
		benchStr = fr.BitString()
	}
}

func BenchmarkOSDP(b *testing.B) {
	fr, _ := H10302.Encode(0, 1<<35-1)
	b.ReportAllocs()
	for b.Loop() {
		benchBytes = fr.OSDP()
	}
}

func BenchmarkAppendOSDP(b *testing.B) {
	fr, _ := H10302.Encode(0, 1<<35-1)
	buf := make([]byte, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		benchBytes = fr.AppendOSDP(buf[:0])
	}
}

func BenchmarkFromOSDP(b *testing.B) {
	data := []byte{0x80, 0x80, 0x64, 0x00}
	b.ReportAllocs()
	for b.Loop() {
		benchFrame, benchErr = FromOSDP(data, 26)
	}
}
