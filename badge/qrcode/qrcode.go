package qrcode

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strconv"
	"strings"

	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/wiegand"
	goqr "github.com/piglig/go-qr"
)

// Payload names what text a QR code carries for a card (see the package
// documentation for the reader setups each suits). The zero value is
// Decimal. The string values are stable: configurations store them.
type Payload string

// Payload formats.
const (
	// Decimal is the card number alone, in decimal without padding
	// ("500007").
	Decimal Payload = "decimal"
	// WiegandHex is the whole Wiegand frame, parity included, in
	// upper-case hexadecimal zero-padded to ceil(bits/4) digits.
	WiegandHex Payload = "wiegand-hex"
	// FacilityCard is the facility code in decimal followed by the card
	// number zero-padded to the width of the format's largest card number
	// ("1201001" for H10301 facility 12, card 1001).
	FacilityCard Payload = "facility-card"
)

// Payloads lists the payload formats.
func Payloads() []Payload { return []Payload{Decimal, WiegandHex, FacilityCard} }

// Valid reports whether p is a payload format or empty (Decimal).
func (p Payload) Valid() bool {
	switch p {
	case "", Decimal, WiegandHex, FacilityCard:
		return true
	}
	return false
}

// orDefault returns Decimal for the zero value.
func (p Payload) orDefault() Payload {
	if p == "" {
		return Decimal
	}
	return p
}

// Text returns the payload string for c. The card must be non-zero and
// valid for its format; FacilityCard refuses formats without a facility
// code. Errors wrap badge.ErrInvalid.
func (p Payload) Text(c badge.Card) (string, error) {
	if c.IsZero() {
		return "", fmt.Errorf("%w: a QR code needs a card number", badge.ErrInvalid)
	}
	if err := badge.ValidateCard(c); err != nil {
		return "", err
	}
	switch p.orDefault() {
	case Decimal:
		return strconv.FormatUint(c.Number, 10), nil
	case WiegandHex:
		fr, err := c.Format.Encode(c.Facility, c.Number)
		if err != nil {
			return "", fmt.Errorf("%w: %v", badge.ErrInvalid, err)
		}
		return fr.Hex(), nil
	case FacilityCard:
		if !c.Format.HasFacility() {
			return "", fmt.Errorf("%w: card format %s has no facility code; use the %s or %s payload", badge.ErrInvalid, c.Format, Decimal, WiegandHex)
		}
		s, err := wiegand.Concatenated(c.Facility, c.Number, len(strconv.FormatUint(c.Format.MaxCard(), 10)))
		if err != nil {
			return "", fmt.Errorf("%w: %v", badge.ErrInvalid, err)
		}
		return s, nil
	}
	return "", fmt.Errorf("%w: unknown QR payload format %q (want %s, %s or %s)", badge.ErrInvalid, string(p), Decimal, WiegandHex, FacilityCard)
}

// Defaults and bounds of Options.ModulePixels.
const (
	DefaultModulePixels = 8
	MaxModulePixels     = 64
	// QuietZone is the light border around the symbol, in modules.
	QuietZone = 4
)

// Options says how to render a code. The zero value is the Decimal payload
// at DefaultModulePixels.
type Options struct {
	// Payload is the payload format (default Decimal).
	Payload Payload
	// ModulePixels is the PNG's size of one module in pixels (default
	// DefaultModulePixels, at most MaxModulePixels). The SVG scales freely;
	// its width and height attributes use the same size.
	ModulePixels int
}

// Code is a rendered QR code.
type Code struct {
	// Card is the card the code stands for.
	Card badge.Card
	// Payload is the payload format used, and Text the string the symbol
	// carries (what a reader scans).
	Payload Payload
	Text    string
	// Modules is the symbol's side in modules, without the quiet zone.
	Modules int
	// PNG and SVG are the images, quiet zone included.
	PNG []byte
	SVG []byte
}

// Encode renders the QR code of card c (a number issued from a location's
// range: badge.Range.Card, badge.Allocation.Card) with the payload and size
// o selects. Errors wrap badge.ErrInvalid.
func Encode(c badge.Card, o Options) (Code, error) {
	if !o.Payload.Valid() {
		return Code{}, fmt.Errorf("%w: unknown QR payload format %q (want %s, %s or %s)", badge.ErrInvalid, string(o.Payload), Decimal, WiegandHex, FacilityCard)
	}
	px := o.ModulePixels
	if px == 0 {
		px = DefaultModulePixels
	}
	if px < 1 || px > MaxModulePixels {
		return Code{}, fmt.Errorf("%w: %d pixels per module is out of range 1–%d", badge.ErrInvalid, o.ModulePixels, MaxModulePixels)
	}
	text, err := o.Payload.Text(c)
	if err != nil {
		return Code{}, err
	}
	qr, err := goqr.EncodeText(text, goqr.Medium)
	if err != nil {
		return Code{}, fmt.Errorf("qrcode: encoding %q: %w", text, err)
	}
	m := matrix{n: qr.Size(), dark: qr.Module}
	pngBytes, err := m.png(px)
	if err != nil {
		return Code{}, err
	}
	return Code{Card: c, Payload: o.Payload.orDefault(), Text: text, Modules: m.n, PNG: pngBytes, SVG: m.svg(px)}, nil
}

// matrix is a symbol's modules: n×n, dark(x, y) true for a dark module.
type matrix struct {
	n    int
	dark func(x, y int) bool
}

// png draws the symbol with its quiet zone, px pixels per module, as a
// two-colour paletted image (encoded with 1 bit per pixel).
func (m matrix) png(px int) ([]byte, error) {
	side := (m.n + 2*QuietZone) * px
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for y := range m.n {
		for x := range m.n {
			if !m.dark(x, y) {
				continue
			}
			x0, y0 := (x+QuietZone)*px, (y+QuietZone)*px
			for py := y0; py < y0+px; py++ {
				row := img.Pix[py*img.Stride+x0 : py*img.Stride+x0+px]
				for i := range row {
					row[i] = 1
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("qrcode: encoding the PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// svg draws the symbol with its quiet zone in module units: a white
// background and one black path of horizontal runs of dark modules.
func (m matrix) svg(px int) []byte {
	side := m.n + 2*QuietZone
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" shape-rendering="crispEdges">`,
		side, side, side*px, side*px)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/><path fill="#000000" d="`, side, side)
	first := true
	for y := range m.n {
		for x := 0; x < m.n; {
			if !m.dark(x, y) {
				x++
				continue
			}
			run := 1
			for x+run < m.n && m.dark(x+run, y) {
				run++
			}
			if !first {
				b.WriteByte(' ')
			}
			first = false
			fmt.Fprintf(&b, "M%d,%dh%dv1h-%dz", x+QuietZone, y+QuietZone, run, run)
			x += run
		}
	}
	b.WriteString(`"/></svg>`)
	return []byte(b.String())
}
