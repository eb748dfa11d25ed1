package qrcode_test

import (
	"fmt"

	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/badge/qrcode"
	"github.com/acsbridge/acsbridge/wiegand"
)

// The QR code of card 1001 from a location's H10301 range with facility
// code 12, in each payload format. The VMS mails code.PNG or prints
// code.SVG.
func Example() {
	r := badge.Range{Location: "hq", Format: wiegand.H10301, Facility: 12, Min: 1000, Max: 1999}
	card := r.Card(1001)
	for _, p := range qrcode.Payloads() {
		code, err := qrcode.Encode(card, qrcode.Options{Payload: p})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%-13s %s (%d×%d modules, PNG and SVG)\n", p, code.Text, code.Modules, code.Modules)
	}
	// Output:
	// decimal       1001 (21×21 modules, PNG and SVG)
	// wiegand-hex   01807D2 (21×21 modules, PNG and SVG)
	// facility-card 1201001 (21×21 modules, PNG and SVG)
}
