package wiegand

import (
	"fmt"
	"strconv"
)

// Decimal "badge number" forms.
//
// Readers, controllers and access control systems print the same card in
// several decimal forms. They are representations of a (facility, card)
// pair, not identities: the same digits can stand for different cards
// under different forms, and a form does not name its format. Keep the
// typed (Format, facility, card) as the identity and convert to a decimal
// form only at the edge that needs it, naming the form explicitly.

// Combined24 returns the 24 data bits of an H10301 card as one number,
// facility·65536 + card: facility 1, card 11572 gives 77108. This is the
// number many Wiegand reader libraries report. facility must be 0–255 and
// card 0–65535 (ErrRange).
func Combined24(facility, card uint64) (uint64, error) {
	if facility > 0xFF || card > 0xFFFF {
		return 0, rangeError(H10301, facility, card)
	}
	return facility<<16 | card, nil
}

// SplitCombined24 is the inverse of Combined24: it splits n (0–16777215,
// else ErrRange) into facility n/65536 and card n%65536.
func SplitCombined24(n uint64) (facility, card uint64, err error) {
	if n > 0xFFFFFF {
		return 0, 0, &kindError{ErrRange, fmt.Sprintf("wiegand: combined 24-bit number %d out of range 0-16777215", n)}
	}
	return n >> 16, n & 0xFFFF, nil
}

// maxPad is the widest card-number padding Concatenated accepts: the
// number of digits of the largest uint64.
const maxPad = 20

// Concatenated returns the decimal facility code followed by the decimal
// card number zero-padded to pad digits: facility 21, card 15890, pad 5
// gives "2115890". pad must be 0–20 (ErrRange); pad 0 means no padding,
// which is ambiguous ("111" is 1 then 11 or 11 then 1) and cannot be
// parsed back. A card number with more than pad digits (pad > 0) yields
// ErrRange, because the result would not split back correctly.
func Concatenated(facility, card uint64, pad int) (string, error) {
	if pad < 0 || pad > maxPad {
		return "", &kindError{ErrRange, fmt.Sprintf("wiegand: padding %d out of range 0-%d", pad, maxPad)}
	}
	var buf [2 * maxPad]byte
	b := strconv.AppendUint(buf[:0], facility, 10)
	mark := len(b)
	b = strconv.AppendUint(b, card, 10)
	digits := len(b) - mark
	if pad > 0 && digits > pad {
		return "", &kindError{ErrRange, fmt.Sprintf("wiegand: card number %d has more than %d digits", card, pad)}
	}
	if digits < pad {
		z := pad - digits
		b = b[:len(b)+z]
		copy(b[mark+z:], b[mark:mark+digits])
		for i := mark; i < mark+z; i++ {
			b[i] = '0'
		}
	}
	return string(b), nil
}

// ParseConcatenated splits a Concatenated string: the last pad digits are
// the card number and the digits before them the facility code. pad must
// be 1–20 and s must consist of more than pad ASCII digits; otherwise the
// error matches ErrSyntax (bad characters or too short) or ErrRange (pad
// out of range, or a facility code that overflows uint64).
func ParseConcatenated(s string, pad int) (facility, card uint64, err error) {
	if pad < 1 || pad > maxPad {
		return 0, 0, &kindError{ErrRange, fmt.Sprintf("wiegand: padding %d out of range 1-%d", pad, maxPad)}
	}
	if len(s) <= pad {
		return 0, 0, &kindError{ErrSyntax, fmt.Sprintf("wiegand: concatenated number needs more than %d digits, got %d", pad, len(s))}
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, 0, &kindError{ErrSyntax, fmt.Sprintf("wiegand: invalid character %q at position %d of decimal number", s[i], i+1)}
		}
	}
	cut := len(s) - pad
	facility, err = strconv.ParseUint(s[:cut], 10, 64)
	if err != nil {
		return 0, 0, &kindError{ErrRange, fmt.Sprintf("wiegand: facility code of %d digits overflows", cut)}
	}
	card, err = strconv.ParseUint(s[cut:], 10, 64)
	if err != nil {
		return 0, 0, &kindError{ErrRange, fmt.Sprintf("wiegand: card number of %d digits overflows", pad)}
	}
	return facility, card, nil
}
