package qrcode_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"regexp"
	"strconv"
	"testing"

	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/badge/qrcode"
	"github.com/acsbridge/acsbridge/wiegand"
	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
)

// decode reads the QR code in img back with ZXing's decoder.
func decode(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("decoding the QR code: %v", err)
	}
	return res.GetText()
}

// TestEncodeDecodesToPayload renders a code for each payload format and
// several range formats, decodes the PNG (and the SVG, rasterised from its
// path) with an independent decoder, and checks that both carry the
// payload, which in turn is checked against the card.
func TestEncodeDecodesToPayload(t *testing.T) {
	cases := []struct {
		card    badge.Card
		payload qrcode.Payload
		want    string
	}{
		{badge.Card{Format: wiegand.H10301, Facility: 12, Number: 1001}, "", "1001"},
		{badge.Card{Format: wiegand.H10304, Facility: 100, Number: 500007}, qrcode.Decimal, "500007"},
		{badge.Card{Format: wiegand.H10301, Facility: 12, Number: 1001}, qrcode.WiegandHex, frameHex(t, wiegand.H10301, 12, 1001)},
		{badge.Card{Format: wiegand.H10304, Facility: 100, Number: 500007}, qrcode.WiegandHex, frameHex(t, wiegand.H10304, 100, 500007)},
		{badge.Card{Format: wiegand.H10302, Number: 34359738367}, qrcode.WiegandHex, frameHex(t, wiegand.H10302, 0, 34359738367)},
		{badge.Card{Format: wiegand.H10301, Facility: 12, Number: 1001}, qrcode.FacilityCard, "1201001"},
		{badge.Card{Format: wiegand.H10304, Facility: 100, Number: 7}, qrcode.FacilityCard, "100000007"},
		{badge.Card{Format: wiegand.Corp1000_35, Facility: 4095, Number: 1048575}, qrcode.FacilityCard, "40951048575"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%s", c.card, c.payload), func(t *testing.T) {
			code, err := qrcode.Encode(c.card, qrcode.Options{Payload: c.payload, ModulePixels: 4})
			if err != nil {
				t.Fatal(err)
			}
			if code.Text != c.want {
				t.Fatalf("payload %q, want %q", code.Text, c.want)
			}
			img, err := png.Decode(bytes.NewReader(code.PNG))
			if err != nil {
				t.Fatal(err)
			}
			if side := (code.Modules + 2*qrcode.QuietZone) * 4; img.Bounds().Dx() != side || img.Bounds().Dy() != side {
				t.Fatalf("PNG is %v, want %d×%d", img.Bounds(), side, side)
			}
			if got := decode(t, img); got != c.want {
				t.Fatalf("PNG decodes to %q, want %q", got, c.want)
			}
			if got := decode(t, rasterSVG(t, code.SVG)); got != c.want {
				t.Fatalf("SVG decodes to %q, want %q", got, c.want)
			}
			checkPayload(t, c.card, code)
		})
	}
}

func frameHex(t *testing.T, f wiegand.Format, facility, card uint64) string {
	t.Helper()
	fr, err := f.Encode(facility, card)
	if err != nil {
		t.Fatal(err)
	}
	return fr.Hex()
}

// checkPayload reads the card back out of the payload, the way a reader
// set up for that payload would.
func checkPayload(t *testing.T, want badge.Card, code qrcode.Code) {
	t.Helper()
	var got badge.Card
	switch code.Payload {
	case qrcode.Decimal:
		n, err := strconv.ParseUint(code.Text, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		got = badge.Card{Format: want.Format, Facility: want.Facility, Number: n} // the reader supplies format and facility
	case qrcode.WiegandHex:
		fr, err := wiegand.ParseHex(code.Text, want.Format.Bits())
		if err != nil {
			t.Fatal(err)
		}
		c, err := want.Format.Decode(fr)
		if err != nil {
			t.Fatal(err)
		}
		got = c
	case qrcode.FacilityCard:
		pad := len(strconv.FormatUint(want.Format.MaxCard(), 10))
		fc, n, err := wiegand.ParseConcatenated(code.Text, pad)
		if err != nil {
			t.Fatal(err)
		}
		got = badge.Card{Format: want.Format, Facility: fc, Number: n}
	default:
		t.Fatalf("payload format %q", code.Payload)
	}
	if got != want {
		t.Fatalf("payload %q reads back as %s, want %s", code.Text, got, want)
	}
}

// svgDoc is the part of the SVG the test reads.
type svgDoc struct {
	ViewBox string `xml:"viewBox,attr"`
	Rect    struct {
		Fill string `xml:"fill,attr"`
	} `xml:"rect"`
	Path struct {
		Fill string `xml:"fill,attr"`
		D    string `xml:"d,attr"`
	} `xml:"path"`
}

var runRE = regexp.MustCompile(`^M(\d+),(\d+)h(\d+)v1h-(\d+)z$`)

// rasterSVG parses the SVG the package writes (a viewBox in modules, a
// white rectangle and a black path of one-module-high runs) and draws it
// at 4 pixels per module.
func rasterSVG(t *testing.T, b []byte) image.Image {
	t.Helper()
	var doc svgDoc
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("SVG is not XML: %v", err)
	}
	var side int
	if _, err := fmt.Sscanf(doc.ViewBox, "0 0 %d %d", &side, &side); err != nil || doc.Rect.Fill != "#ffffff" || doc.Path.Fill != "#000000" {
		t.Fatalf("SVG viewBox %q, background %q, path %q", doc.ViewBox, doc.Rect.Fill, doc.Path.Fill)
	}
	const px = 4
	img := image.NewGray(image.Rect(0, 0, side*px, side*px))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for _, run := range bytes.Fields([]byte(doc.Path.D)) {
		m := runRE.FindSubmatch(run)
		if m == nil || string(m[3]) != string(m[4]) {
			t.Fatalf("SVG path element %q", run)
		}
		x, _ := strconv.Atoi(string(m[1]))
		y, _ := strconv.Atoi(string(m[2]))
		n, _ := strconv.Atoi(string(m[3]))
		if x < qrcode.QuietZone || y < qrcode.QuietZone || x+n > side-qrcode.QuietZone || y >= side-qrcode.QuietZone {
			t.Fatalf("SVG run %q enters the quiet zone", run)
		}
		for py := y * px; py < (y+1)*px; py++ {
			for pxl := x * px; pxl < (x+n)*px; pxl++ {
				img.SetGray(pxl, py, color.Gray{})
			}
		}
	}
	return img
}

// TestPNGIsOneBit checks that the PNG is a two-colour image, small enough
// to mail inline.
func TestPNGIsOneBit(t *testing.T) {
	code, err := qrcode.Encode(badge.Card{Format: wiegand.H10301, Facility: 12, Number: 1001}, qrcode.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(code.PNG))
	if err != nil {
		t.Fatal(err)
	}
	pal, ok := cfg.ColorModel.(color.Palette)
	if !ok || len(pal) != 2 {
		t.Fatalf("PNG colour model %T with %d colours, want a two-colour palette", cfg.ColorModel, len(pal))
	}
	if side := (code.Modules + 2*qrcode.QuietZone) * qrcode.DefaultModulePixels; cfg.Width != side {
		t.Fatalf("PNG width %d, want %d", cfg.Width, side)
	}
	if code.Modules != 21 { // version 1: four digits need no more
		t.Fatalf("symbol of %d modules, want 21 (version 1)", code.Modules)
	}
	t.Logf("PNG %d bytes, SVG %d bytes", len(code.PNG), len(code.SVG))
}

// TestEncodeRefuses checks the refusals: each wraps badge.ErrInvalid and
// says what is wrong.
func TestEncodeRefuses(t *testing.T) {
	h10301 := badge.Card{Format: wiegand.H10301, Facility: 12, Number: 1001}
	cases := []struct {
		name string
		card badge.Card
		o    qrcode.Options
		want string
	}{
		{"zero card", badge.Card{}, qrcode.Options{}, "needs a card number"},
		{"card out of range", badge.Card{Format: wiegand.H10301, Facility: 12, Number: 70000}, qrcode.Options{}, "out of range"},
		{"unknown payload", h10301, qrcode.Options{Payload: "base64"}, `unknown QR payload format "base64"`},
		{"no facility", badge.Card{Format: wiegand.H10302, Number: 5}, qrcode.Options{Payload: qrcode.FacilityCard}, "has no facility code"},
		{"pixels", h10301, qrcode.Options{ModulePixels: qrcode.MaxModulePixels + 1}, "pixels per module"},
		{"negative pixels", h10301, qrcode.Options{ModulePixels: -1}, "pixels per module"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := qrcode.Encode(c.card, c.o)
			if !errors.Is(err, badge.ErrInvalid) || !regexp.MustCompile(regexp.QuoteMeta(c.want)).MatchString(err.Error()) {
				t.Fatalf("error %v, want badge.ErrInvalid saying %q", err, c.want)
			}
		})
	}
}

// TestPayloadsValid checks the listed formats and the zero value.
func TestPayloadsValid(t *testing.T) {
	for _, p := range append(qrcode.Payloads(), "") {
		if !p.Valid() {
			t.Errorf("%q is not valid", p)
		}
	}
	if qrcode.Payload("Decimal").Valid() {
		t.Error(`"Decimal" (wrong case) is valid`)
	}
}
