// Package qrcode renders the QR code a visitor presents at a QR reader for
// a card number issued from a location's range (badge.Range,
// badge.Allocator): a PNG and an SVG image, and the payload string the
// symbol carries. The VMS e-mails or prints them; nothing here talks to an
// ACS. The seed articles describe the flow: "QR code credentials: minimum
// and maximum card ranges in addition to facility code … The QR code is
// generated from the card #."
//
// # Payload formats
//
// What a QR reader does with the text it scans depends on the reader and
// how it is set up, so the payload is chosen per location (Payload):
//
//   - Decimal (the default): the card number alone in decimal, without
//     padding: card 500007 of range H10304 100/500000–500049 is "500007".
//     For readers in "card number" mode, which read the digits as the card
//     number and send the ACS a Wiegand frame of the configured format
//     built with the facility code set in the reader. This is the form the
//     seed articles describe for Genetec card ranges ("the QR code is
//     generated from the card #"), and it suits the Brivo note that QR
//     readers must emit the Wiegand format of the account's credential
//     type and take the first or last 8 digits of the string: every card
//     number of H10301, H10306 and H10304 has at most 8 digits. The reader's
//     facility code and format must match the range's.
//   - WiegandHex: the whole Wiegand frame, parity bits included, in
//     upper-case hexadecimal of its right-justified value, zero-padded to
//     ceil(bits/4) digits (wiegand.Frame.Hex, computed by package wiegand):
//     H10301 facility 12, card 1001 is "01807D2" (26 bits, 7 digits). For
//     readers in raw or transparent mode, which send the scanned hex as the
//     Wiegand bit stream: the payload is then exactly the frame the ACS's
//     card format decodes, facility code and parity included, and the
//     reader needs no facility code of its own. This is the form to use when
//     one reader serves ranges with different facility codes.
//   - FacilityCard: the facility (or company) code in decimal followed by
//     the card number zero-padded to the width of the format's largest card
//     number (wiegand.Concatenated): 5 digits for H10301 and H10306, 6 for
//     H10304, 7 for Corporate 1000; H10301 facility 12, card 1001 is
//     "1201001". For readers that split a decimal string into a facility
//     code (the leading digits) and a card number (the fixed-width tail),
//     which is also the "badge number" printed on many HID cards. Formats
//     without a facility code (H10302) are refused.
//
// Every payload is digits or upper-case hex, so the symbol uses the QR
// numeric or alphanumeric mode and stays small (version 1 or 2).
//
// # Images
//
// Codes use error-correction level M (15 % of the symbol may be damaged)
// and a quiet zone of 4 modules on every side, as ISO/IEC 18004 requires.
// The PNG is a two-colour (1 bit per pixel) image, black on white, with
// Options.ModulePixels pixels per module (8 by default). The SVG has a
// viewBox in module units, so it scales to any size without blurring, one
// white background rectangle and one black path (horizontal runs of
// modules), with shape-rendering="crispEdges".
//
// # The QR library
//
// Symbols are encoded by github.com/piglig/go-qr (MIT licence), a Go
// implementation of QR Code Model 2 after Nayuki's reference generator:
// optimal numeric, alphanumeric and byte segments, all 40 versions, the
// four error-correction levels and the ISO/IEC 18004 mask penalty
// selection. It was chosen over github.com/skip2/go-qrcode, whose last
// change dates from 2020 and which has no tagged release and no SVG, and
// over github.com/yeqown/go-qrcode/v2, which needs golang.org/x/text and a
// Reed–Solomon module at run time and puts its image writers in further
// modules. go-qr is maintained (tagged releases in 2026, a changelog,
// golden-file and fuzz tests) and has no run-time dependency beyond the
// standard library (testify only in its own tests). The package takes only
// the module matrix from it (QrCode.Size, QrCode.Module) and draws both
// images itself: go-qr's own SVG measures its border in pixels while its
// PNG measures it in modules, and drawing both from the matrix keeps one
// quiet zone and a 1-bit PNG.
//
// The tests decode every PNG back to its payload with an independent
// decoder (github.com/makiuchi-d/gozxing, a port of ZXing, used only by
// the tests).
package qrcode
