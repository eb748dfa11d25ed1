package wiegand

import (
	"errors"
	"strconv"
)

// Sentinel errors. Every error returned by this package matches exactly one
// of them with errors.Is.
var (
	// ErrFormat reports an unknown or invalid Format.
	ErrFormat = errors.New("wiegand: unknown card format")
	// ErrRange reports a number outside its allowed range: a facility code
	// or card number that does not fit its format, a parsed value wider
	// than the requested bit length, or a decimal form that does not fit.
	ErrRange = errors.New("wiegand: value out of range")
	// ErrLength reports a frame or input whose length does not fit: a frame
	// of the wrong bit length for a format, a bit length outside 1–64, or
	// OSDP data of the wrong byte count.
	ErrLength = errors.New("wiegand: wrong length")
	// ErrFrame reports a malformed Frame: a Len outside 1–64 or a Value
	// with bits set above Len.
	ErrFrame = errors.New("wiegand: malformed frame")
	// ErrParity reports a frame whose parity bits do not match its data.
	// The concrete error is a *ParityError.
	ErrParity = errors.New("wiegand: parity check failed")
	// ErrSyntax reports text or bytes that cannot be parsed: characters
	// other than binary or hex digits, empty input, or non-zero OSDP
	// padding bits.
	ErrSyntax = errors.New("wiegand: invalid syntax")
)

// kindError is an error with its own message that matches one sentinel.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// ParityKind names one parity bit of a format.
type ParityKind uint8

// The parity bits a format may carry.
const (
	// ParityEven is the leading even parity bit (b1, or b2 in Corporate 1000).
	ParityEven ParityKind = iota + 1
	// ParityOdd is the trailing odd parity bit (the last bit).
	ParityOdd
	// ParityOverallOdd is the Corporate 1000 leading bit b1: odd parity
	// over every other bit of the frame, parity bits included.
	ParityOverallOdd
)

// String returns "even", "odd" or "overall-odd".
func (k ParityKind) String() string {
	switch k {
	case ParityEven:
		return "even"
	case ParityOdd:
		return "odd"
	case ParityOverallOdd:
		return "overall-odd"
	}
	return "ParityKind(" + strconv.Itoa(int(k)) + ")"
}

// ParityError reports that a frame of the right length fails one of its
// format's parity checks. Checks run in the order even, odd, overall-odd;
// Kind and Bit name the first that failed (a single flipped bit can break
// more than one). ParityError matches ErrParity with errors.Is.
type ParityError struct {
	Format Format     // the format the frame was checked against
	Frame  Frame      // the frame that failed
	Kind   ParityKind // which parity failed
	Bit    int        // 1-based wire position of the failing parity bit
}

// Error describes the failure, for example
// "wiegand: H10301 frame 2020191 (26 bits) fails odd parity (bit b26)".
func (e *ParityError) Error() string {
	b := make([]byte, 0, 80)
	b = append(b, "wiegand: "...)
	b = append(b, e.Format.String()...)
	b = append(b, " frame "...)
	b = e.Frame.appendString(b)
	b = append(b, " fails "...)
	b = append(b, e.Kind.String()...)
	b = append(b, " parity (bit b"...)
	b = strconv.AppendInt(b, int64(e.Bit), 10)
	b = append(b, ')')
	return string(b)
}

// Is reports whether target is ErrParity.
func (e *ParityError) Is(target error) bool { return target == ErrParity }
