package badge

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxIDLen is the longest badge ID accepted, in digits. Twenty digits hold
// any unsigned 64-bit number (18446744073709551615), and therefore every
// decimal form in which readers and ACSs print card data: the raw 24-bit
// H10301 value, facility-and-card concatenations such as "2115890", and the
// raw values of 37- and 48-bit formats.
const MaxIDLen = 20

// ValidateID checks a badge ID: 1 to MaxIDLen ASCII digits '0'–'9', nothing
// else. Letters, symbols, spaces, signs, control characters and non-ASCII
// digits (such as '٣' or fullwidth '１') are refused. The error is an
// *IDError that names the first offending character and its 1-based
// position, and wraps ErrInvalidID.
//
// A badge ID is a string and is kept exactly as given: leading zeros are
// significant, so "007" and "7" are two different badges. Card readers and
// keyboard wedges print the same card in different decimal forms (zero
// padded or not), and folding them together would make two physical badges
// one. Register each badge with the form its scanner produces.
//
// ValidateID does not trim anything; see ParseScan for scanner input.
func ValidateID(id string) error {
	if id == "" {
		return &IDError{ID: id}
	}
	pos := 0
	for i, r := range id {
		pos++
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(id[i:]); size == 1 {
				return &IDError{ID: id, Pos: pos, Char: utf8.RuneError, invalidByte: id[i]}
			}
		}
		if r < '0' || r > '9' {
			return &IDError{ID: id, Pos: pos, Char: r}
		}
	}
	if len(id) > MaxIDLen {
		return &IDError{ID: id}
	}
	return nil
}

// ParseScan turns the text a keyboard-wedge scanner typed into a badge ID.
// Wedges usually end a scan with Enter, so trailing carriage returns and line
// feeds are removed; everything else, including spaces and leading zeros, is
// kept and must pass ValidateID.
func ParseScan(raw string) (string, error) {
	id := raw
	for len(id) > 0 && (id[len(id)-1] == '\r' || id[len(id)-1] == '\n') {
		id = id[:len(id)-1]
	}
	if err := ValidateID(id); err != nil {
		return "", err
	}
	return id, nil
}

// IDError describes why a badge ID was refused. It wraps ErrInvalidID (and
// so ErrInvalid).
type IDError struct {
	// ID is the refused input, exactly as given.
	ID string
	// Pos is the 1-based character position of the first offending
	// character, or 0 when the ID as a whole is wrong (empty or too long).
	Pos int
	// Char is the offending character when Pos > 0; utf8.RuneError when the
	// input is not valid UTF-8 at that position.
	Char rune

	invalidByte byte // the raw byte when Char is utf8.RuneError from bad UTF-8
}

// Error describes the problem, quoting the offending character and giving
// its position.
func (e *IDError) Error() string {
	var b strings.Builder
	b.WriteString("badge: invalid badge ID")
	switch {
	case e.ID == "":
		b.WriteString(": empty; a badge ID is 1 to ")
		b.WriteString(strconv.Itoa(MaxIDLen))
		b.WriteString(" digits")
		return b.String()
	default:
		b.WriteByte(' ')
		b.WriteString(quoteShort(e.ID))
	}
	switch {
	case e.Pos == 0:
		fmt.Fprintf(&b, ": %d digits, at most %d allowed", len(e.ID), MaxIDLen)
	case e.Char == utf8.RuneError && e.invalidByte != 0:
		fmt.Fprintf(&b, ": byte 0x%02x at position %d is not valid UTF-8; only digits 0-9 are allowed", e.invalidByte, e.Pos)
	case unicode.IsDigit(e.Char):
		fmt.Fprintf(&b, ": %s (%U) at position %d is not an ASCII digit; only digits 0-9 are allowed", strconv.QuoteRune(e.Char), e.Char, e.Pos)
	case e.Char > unicode.MaxASCII:
		fmt.Fprintf(&b, ": %s (%U) at position %d is not a digit; only digits 0-9 are allowed", strconv.QuoteRune(e.Char), e.Char, e.Pos)
	default:
		fmt.Fprintf(&b, ": %s at position %d is not a digit; only digits 0-9 are allowed", strconv.QuoteRune(e.Char), e.Pos)
	}
	return b.String()
}

// Unwrap returns ErrInvalidID.
func (e *IDError) Unwrap() error { return ErrInvalidID }

// quoteShort quotes s, cutting it to a readable length first.
func quoteShort(s string) string {
	const max = 32
	if utf8.RuneCountInString(s) <= max {
		return strconv.Quote(s)
	}
	n := 0
	for i := range s {
		if n == max {
			return strconv.Quote(s[:i]) + "…"
		}
		n++
	}
	return strconv.Quote(s)
}
