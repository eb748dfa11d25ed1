package acs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// Code classifies an error in terms every caller can act on, whatever the
// access control system behind it. New codes are only ever appended.
type Code int

// The error codes. Unknown is the zero value: an error nobody classified.
const (
	Unknown          Code = iota // not classified; not retried
	NotFound                     // the referenced cardholder, credential or access level does not exist
	AlreadyExists                // a create collided with something the caller does not own
	InvalidArgument              // the request was refused before or by the ACS as malformed
	PermissionDenied             // the caller (or the operator) may not do this
	Unauthenticated              // credentials were refused or the session could not be established
	RateLimited                  // the ACS asked us to slow down; retry after the indicated delay
	Unavailable                  // the ACS could not be reached or failed transiently; retry
	Unsupported                  // the ACS or adapter cannot do this at all
	Conflict                     // the state at the ACS prevents the operation (e.g. card held by someone else)
	Canceled                     // the caller's context ended
	// Misconfigured: the adapter's settings do not fit the server that
	// answered (a URL without the API's path, the API and login URLs
	// swapped, https to a port that speaks plain HTTP, a certificate not
	// trusted). The server did answer; asking again changes nothing until
	// the configuration is fixed, so it is not retryable.
	Misconfigured
)

var codeNames = [...]string{
	Unknown:          "unknown",
	NotFound:         "not found",
	AlreadyExists:    "already exists",
	InvalidArgument:  "invalid argument",
	PermissionDenied: "permission denied",
	Unauthenticated:  "unauthenticated",
	RateLimited:      "rate limited",
	Unavailable:      "unavailable",
	Unsupported:      "unsupported",
	Conflict:         "conflict",
	Canceled:         "canceled",
	Misconfigured:    "misconfigured",
}

// String returns the code's lower-case name, such as "not found".
func (c Code) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("code(%d)", int(c))
}

// codeError is the type of the sentinel errors: one per code.
type codeError struct{ code Code }

func (e *codeError) Error() string { return "acs: " + e.code.String() }

// Sentinels for errors.Is. Every *Error matches the sentinel of its code.
var (
	ErrNotFound         error = &codeError{NotFound}
	ErrAlreadyExists    error = &codeError{AlreadyExists}
	ErrInvalidArgument  error = &codeError{InvalidArgument}
	ErrPermissionDenied error = &codeError{PermissionDenied}
	ErrUnauthenticated  error = &codeError{Unauthenticated}
	ErrRateLimited      error = &codeError{RateLimited}
	ErrUnavailable      error = &codeError{Unavailable}
	ErrUnsupported      error = &codeError{Unsupported}
	ErrConflict         error = &codeError{Conflict}
	ErrCanceled         error = &codeError{Canceled}
	ErrMisconfigured    error = &codeError{Misconfigured}
	ErrUnknown          error = &codeError{Unknown}
)

// ErrAwaitingPerson is the cause of a retryable error that waits on a
// person, not on the ACS: a mobile invitation the visitor has not accepted
// on their phone yet, for instance. A provider returns it wrapped in an
// Unavailable *Error whose RetryAfter says when asking again is
// worthwhile. A caller retries as it would after an outage, but such an
// operation is not failing: the visitor engine does not report it as stuck
// however long it waits (the visit's window bounds the wait).
var ErrAwaitingPerson = errors.New("acs: waiting for a person to act")

// Sentinel returns the sentinel error of c (ErrUnknown for codes without one).
func (c Code) Sentinel() error {
	switch c {
	case NotFound:
		return ErrNotFound
	case AlreadyExists:
		return ErrAlreadyExists
	case InvalidArgument:
		return ErrInvalidArgument
	case PermissionDenied:
		return ErrPermissionDenied
	case Unauthenticated:
		return ErrUnauthenticated
	case RateLimited:
		return ErrRateLimited
	case Unavailable:
		return ErrUnavailable
	case Unsupported:
		return ErrUnsupported
	case Conflict:
		return ErrConflict
	case Canceled:
		return ErrCanceled
	case Misconfigured:
		return ErrMisconfigured
	}
	return ErrUnknown
}

// Error is the error every adapter returns: which operation failed, at which
// provider, classified by Code, with the underlying cause (a vendor error
// type, a transport error, a validation detail) reachable through errors.As.
//
// errors.Is(err, acs.ErrNotFound) and the like match the code's sentinel;
// errors.Is(err, context.Canceled) matches when the cause is a context error.
// An Error never contains a password, token or API key.
type Error struct {
	Op       string // the operation, e.g. "provision" or "revoke"
	Provider string // the provider name, e.g. "genetec"
	Code     Code
	Message  string // what happened, for an operator; may be empty when Err says it all
	Err      error  // the cause; may be nil
	// RetryAfter is how long the ACS asked us to wait (RateLimited or
	// Unavailable with a Retry-After header); zero when it said nothing.
	RetryAfter time.Duration
}

// Error formats as "provider op: code: message: cause".
func (e *Error) Error() string {
	var b []byte
	if e.Provider != "" {
		b = append(b, e.Provider...)
		b = append(b, ' ')
	}
	if e.Op != "" {
		b = append(b, e.Op...)
		b = append(b, ": "...)
	}
	b = append(b, e.Code.String()...)
	if e.Message != "" {
		b = append(b, ": "...)
		b = append(b, e.Message...)
	}
	if e.Err != nil {
		b = append(b, ": "...)
		b = append(b, e.Err.Error()...)
	}
	if len(b) > maxErrorText {
		b = append(b[:maxErrorText-len("…")], "…"...)
	}
	return sanitize(b)
}

// maxErrorText bounds the text of an Error, so that an error quoting a
// huge input or answer stays printable.
const maxErrorText = 1024

// sanitize makes error text safe to print in one log line: invalid UTF-8
// becomes U+FFFD and control characters (line breaks, escapes) become
// spaces, so text quoted from an ACS cannot forge a log record.
func sanitize(b []byte) string {
	clean := utf8.Valid(b)
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			clean = false
			break
		}
	}
	if clean && !bytes.ContainsRune(b, 0x85) && !bytes.ContainsRune(b, 0x2028) && !bytes.ContainsRune(b, 0x2029) {
		return string(b)
	}
	out := make([]rune, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		switch {
		case r == utf8.RuneError && n == 1:
			out = append(out, utf8.RuneError)
		case unicode.IsControl(r) || r == 0x2028 || r == 0x2029:
			out = append(out, ' ')
		default:
			out = append(out, r)
		}
	}
	return string(out)
}

// Unwrap returns the cause and the sentinel of the code, so that both
// errors.As on the vendor error and errors.Is on the sentinel work.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Code.Sentinel()}
	}
	return []error{e.Err, e.Code.Sentinel()}
}

// Errorf returns a new *Error with a formatted message and no cause.
func Errorf(op, provider string, code Code, format string, args ...any) *Error {
	return &Error{Op: op, Provider: provider, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap classifies err once. If err already holds an *Error it is not
// wrapped again: so errors are wrapped exactly once however many layers
// they pass. When err is itself an *Error with an empty Op or Provider,
// Wrap returns a copy with them filled; the caller's value is never
// changed (it may be shared, a package-level error or one held by another
// goroutine). Context errors are classified as Canceled. Wrap(nil) returns
// nil.
func Wrap(op, provider string, code Code, err error) error {
	if err == nil {
		return nil
	}
	var ae *Error
	if errors.As(err, &ae) {
		top, ok := err.(*Error)
		if !ok || (top.Op != "" || op == "") && (top.Provider != "" || provider == "") {
			return err
		}
		cp := *top
		if cp.Op == "" {
			cp.Op = op
		}
		if cp.Provider == "" {
			cp.Provider = provider
		}
		return &cp
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		code = Canceled
	}
	return &Error{Op: op, Provider: provider, Code: code, Err: err}
}

// CodeOf returns the code of err: the Code of the first *Error in its chain,
// Canceled for context errors, the code of a bare sentinel, Unknown otherwise.
// CodeOf(nil) is Unknown.
func CodeOf(err error) Code {
	if err == nil {
		return Unknown
	}
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Canceled
	}
	var ce *codeError
	if errors.As(err, &ce) {
		return ce.code
	}
	return Unknown
}

// IsRetryable reports whether repeating the same request later may succeed:
// true for RateLimited and Unavailable, false for everything else, including
// a caller's cancelled context. Operations that are not idempotent must only
// be retried through a find-or-create path (Provider.Provision is one).
func IsRetryable(err error) bool {
	switch CodeOf(err) {
	case RateLimited, Unavailable:
		return true
	}
	return false
}

// RetryAfterOf returns the delay the ACS asked for, if err carries one.
func RetryAfterOf(err error) (time.Duration, bool) {
	var ae *Error
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		return ae.RetryAfter, true
	}
	return 0, false
}
