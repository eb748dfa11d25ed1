// Package wiegand encodes and decodes Wiegand card data in the HID formats
// access control systems use for visitor badges: H10301 (26-bit),
// H10306 (34-bit), H10302 and H10304 (37-bit) and Corporate 1000 35- and
// 48-bit.
//
// # Frames and bit numbering
//
// A Frame is Len bits held right-justified in a uint64. Wire bit b1 is
// the first bit transmitted and the most significant of the Len bits;
// positions are 1-based, as in HID's format descriptions. In H10301, b1
// is the even parity bit, b2–b9 the facility code, b10–b25 the card
// number and b26 the odd parity bit, so facility 1, card 200 is the value
// 0x2020190. Frames longer than 64 bits (for example 128- or 200-bit
// PIV/FASC-N data) are out of scope.
//
// A frame has several representations, each with a parser:
//
//   - Hex ("2020190"): the right-justified value in upper-case hex, padded
//     to ceil(Len/4) digits; ParseHex reads it back given the bit length.
//   - BitString ("10000000100000000110010000"): b1 first; ParseBits.
//   - OSDP ([]byte{0x80, 0x80, 0x64, 0x00}): left-justified in
//     ceil(Len/8) bytes with zero padding in the low bits, as in osdp_RAW
//     card reads; FromOSDP.
//
// # Parity
//
// An even parity bit makes the number of ones among itself and the bits
// it covers even (it is the XOR of the covered bits); an odd parity bit
// makes that number odd. Encode computes the parity bits; Decode and Check
// verify them and report a failure as a *ParityError naming the parity
// (even, odd or, for Corporate 1000, overall-odd) and its bit position.
//
//   - H10301: b1 even over b2–b13, b26 odd over b14–b25.
//   - H10306: b1 even over b2–b17, b34 odd over b18–b33.
//   - H10302, H10304: b1 even over b2–b19, b37 odd over b19–b36. Bit b19
//     is covered by both parity bits.
//   - Corporate 1000 35-bit: b2 even over b3–b34 except positions
//     p mod 3 = 2; b35 odd over b2–b34 except p mod 3 = 1 (this includes
//     b2); then b1 odd over b2–b35.
//   - Corporate 1000 48-bit: b2 even over b4–b47 except p mod 3 = 0; b48
//     odd over b3–b46 except p mod 3 = 2; then b1 odd over b2–b48.
//
// # A bit length does not name a format
//
// H10302 and H10304 are both 37 bits long with the same parity scheme, so
// every valid 37-bit frame is valid as both, with different field values.
// Other systems also use 34- and 37-bit layouts that are not HID's. This
// package therefore never guesses a format from a frame: Decode takes the
// format from the caller, and Matches lists every format a frame
// validates as.
//
// # Names, text and JSON
//
// A Format is written as its name: "H10301", "H10306", "H10302",
// "H10304", "C1000-35" or "C1000-48". String, MarshalText and ParseFormat
// agree on these names (ParseFormat and UnmarshalText accept any letter
// case), so a Format is a string in JSON, XML and text columns, and a Card
// is {"format":"H10301","facility":1,"number":200} in JSON. The zero
// Format means "no format": it is the empty name both ways. Package acs
// uses Format as acs.CardFormat and Card as acs.Card, and package badge
// uses Card as badge.Card: the SDK has one card model.
//
// # Decimal badge numbers
//
// Cards are also written as single decimal numbers, in incompatible ways:
// the 24 H10301 data bits as one number (Combined24, facility·65536+card)
// or the facility code followed by a zero-padded card number
// (Concatenated). These are representations of a (facility, card) pair,
// not identities; the typed (Format, facility, card) is the identity.
// Only the explicitly named helpers convert to and from them.
//
// # Errors, allocation and concurrency
//
// Every error matches one of the sentinels ErrFormat, ErrRange, ErrLength,
// ErrFrame, ErrParity and ErrSyntax with errors.Is. Encode, Decode and
// Check take and return values and do not allocate when they succeed.
// Formats and frames are immutable values and the package has no mutable
// state, so everything here is safe for concurrent use.
package wiegand
