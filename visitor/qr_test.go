package visitor_test

import (
	"bytes"
	"image/png"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/badge/qrcode"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/wiegand"
	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
)

// scanQR decodes the PNG of a QR code with ZXing's decoder, as a reader
// (or the visitor's phone) would.
func scanQR(t *testing.T, pngBytes []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("decoding the QR code: %v", err)
	}
	return res.GetText()
}

// qrEngine is an Engine at "hq" over the memory provider with the
// fixture's policy, badges 1001–1002 and the H10304 range 100/500000–500049,
// rendering QR codes with payload p.
func qrEngine(t *testing.T, p qrcode.Payload) (*visitor.Engine, *acstest.Memory, *visitor.ManualClock) {
	t.Helper()
	clock := visitor.NewManualClock(t0)
	mem := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}, {ID: "floor-3", Name: "Floor 3"}})
	e, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{ID: "hq", Provider: mem, Policy: testPolicy(), QR: qrcode.Options{Payload: p}}},
		visitor.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := e.Pool("hq")
	if _, err := pool.Add(t.Context(), badge.Badge{ID: "1001", Name: "Visitor 1001", Card: badge.Card{Format: wiegand.H10301, Facility: 12, Number: 1001}}); err != nil {
		t.Fatal(err)
	}
	al, _ := e.Allocator("hq")
	if err := al.SetRange(t.Context(), badge.Range{Format: wiegand.H10304, Facility: 100, Min: 500000, Max: 500049}); err != nil {
		t.Fatal(err)
	}
	return e, mem, clock
}

// TestQRCodeOfRangeCard: a visit given a card number from the range gets
// its QR code from the Engine in the location's payload format; the PNG
// decodes to that payload. A pool badge, a returned number and an unknown
// visit have no QR code.
func TestQRCodeOfRangeCard(t *testing.T) {
	ctx := t.Context()
	fr, err := wiegand.H10304.Encode(100, 500000)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		payload qrcode.Payload
		want    string
	}{
		{"", "500000"},
		{qrcode.WiegandHex, fr.Hex()},
		{qrcode.FacilityCard, "100500000"},
	} {
		t.Run("payload="+string(c.payload), func(t *testing.T) {
			e, mem, _ := qrEngine(t, c.payload)
			v, err := e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: "qr-1", Location: "hq", Visitor: ada,
				Provision: &visitor.ProvisionRequest{FromRange: true}})
			if err != nil || v.Current().Status != visitor.CredActive {
				t.Fatalf("sign-in with a card from the range: %v, %+v", err, v.Current())
			}
			code, err := e.QRCode(ctx, "qr-1")
			if err != nil {
				t.Fatal(err)
			}
			if code.Text != c.want || code.Card.Number != v.Current().Card.Number {
				t.Fatalf("QR payload %q for card %s, want %q", code.Text, code.Card, c.want)
			}
			if got := scanQR(t, code.PNG); got != c.want {
				t.Fatalf("the PNG decodes to %q, want %q", got, c.want)
			}
			if !mem.Opens(v.Current().Ref, "lobby", t0) {
				t.Fatal("the card behind the QR code does not open the lobby")
			}
		})
	}

	e, _, _ := qrEngine(t, "")
	if _, err := e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: "badge-1", Location: "hq", Visitor: ada,
		Provision: &visitor.ProvisionRequest{BadgeID: "1001"}}); err != nil {
		t.Fatal(err)
	}
	_, err = e.QRCode(ctx, "badge-1")
	wantCode(t, "QR code of a pool badge", err, acs.Conflict)
	if _, err := e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: "qr-2", Location: "hq", Visitor: ada,
		Provision: &visitor.ProvisionRequest{FromRange: true}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ReturnBadge(ctx, desk, "qr-2"); err != nil {
		t.Fatal(err)
	}
	_, err = e.QRCode(ctx, "qr-2")
	wantCode(t, "QR code of a returned number", err, acs.Conflict)
	_, err = e.QRCode(ctx, "nobody")
	wantCode(t, "QR code of an unknown visit", err, acs.NotFound)
}

// TestQRCodeOpensDoorAtEachACS drives a QR credential through the Engine
// and each adapter against its simulator: an invited visitor gets a card
// number from the location's H10301 range, the QR code's PNG is decoded,
// a reader in card-number mode (facility code 42 set in the reader)
// presents the decoded number at the lobby door, and the simulator grants
// it; after sign-out the same scan is refused.
func TestQRCodeOpensDoorAtEachACS(t *testing.T) {
	for _, newACS := range simACSs {
		clock := visitor.NewManualClock(t0)
		s := newACS(t, clock)
		t.Run(s.name, func(t *testing.T) { qrAtACS(t, s, clock) })
	}
}

func qrAtACS(t *testing.T, s *simACS, clock *visitor.ManualClock) {
	ctx := t.Context()
	pol := visitor.Policy{
		Types:          map[string]visitor.VisitorType{"guest": {AccessLevels: []string{s.levels[0]}, AccessDuration: 8 * time.Hour, AdvanceAccess: time.Hour}},
		DefaultType:    "guest",
		OperatorGroups: map[string][]string{"reception": {s.levels[0]}},
	}
	e, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{ID: "hq", Provider: s.p, Policy: pol}}, visitor.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	al, _ := e.Allocator("hq")
	if err := al.SetRange(ctx, badge.Range{Format: wiegand.H10301, Facility: 42, Min: 20000, Max: 20999}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Invite(ctx, desk, visitor.InviteRequest{VisitID: "qr-visit", Location: "hq", Visitor: ada, ExpectedAt: clock.Now().Add(30 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if v, err := e.Provision(ctx, desk, "qr-visit", visitor.ProvisionRequest{FromRange: true}); err != nil || v.Current().Status != visitor.CredActive {
		t.Fatalf("provision of a card number at %s: %v, %+v", s.name, err, v.Current())
	}
	code, err := e.QRCode(ctx, "qr-visit")
	if err != nil {
		t.Fatal(err)
	}
	scanned := scanQR(t, code.PNG)
	if scanned != "20000" {
		t.Fatalf("QR code decodes to %q, want the card number 20000", scanned)
	}
	// The reader turns the digits into an H10301 card with its facility
	// code.
	n, err := strconv.ParseUint(scanned, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	card := acs.Card{Format: acs.H10301, Facility: 42, Number: n}
	clock.Advance(45 * time.Minute)
	if !s.tap(t, card, s.door) {
		t.Fatal("the scanned QR code is refused at the lobby")
	}
	if _, err := e.SignIn(ctx, kiosk, visitor.SignInRequest{VisitID: "qr-visit"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.SignOut(ctx, kiosk, "qr-visit", visitor.ViaKiosk); err != nil {
		t.Fatal(err)
	}
	if s.tap(t, card, s.door) {
		t.Fatal("the scanned QR code still opens the lobby after sign-out")
	}
	_, err = e.QRCode(ctx, "qr-visit")
	wantCode(t, "QR code after sign-out", err, acs.Conflict)
}

// TestQRPayloadValidated: New refuses a location whose QR payload format
// is unknown.
func TestQRPayloadValidated(t *testing.T) {
	mem := acstest.NewMemory(nil)
	_, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{ID: "hq", Provider: mem, Policy: testPolicy(), QR: qrcode.Options{Payload: "base64"}}})
	if err == nil || !strings.Contains(err.Error(), `unknown QR payload format "base64"`) {
		t.Fatalf("New with an unknown QR payload: %v", err)
	}
}
