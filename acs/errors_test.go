package acs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/acsbridge/acsbridge/acs"
)

type vendorError struct{ code int }

func (e *vendorError) Error() string { return fmt.Sprintf("vendor code %d", e.code) }

func TestErrorIsAndAs(t *testing.T) {
	cause := &vendorError{code: 42}
	err := acs.Wrap("provision", "genetec", acs.NotFound, cause)
	if !errors.Is(err, acs.ErrNotFound) {
		t.Error("errors.Is(err, ErrNotFound) = false")
	}
	if errors.Is(err, acs.ErrConflict) {
		t.Error("errors.Is(err, ErrConflict) = true")
	}
	var ve *vendorError
	if !errors.As(err, &ve) || ve.code != 42 {
		t.Error("vendor error not reachable with errors.As")
	}
	var ae *acs.Error
	if !errors.As(err, &ae) || ae.Op != "provision" || ae.Provider != "genetec" || ae.Code != acs.NotFound {
		t.Errorf("*acs.Error = %+v", ae)
	}
	if got, want := err.Error(), "genetec provision: not found: vendor code 42"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestWrapOnce(t *testing.T) {
	inner := acs.Errorf("", "", acs.InvalidArgument, "bad card")
	outer := acs.Wrap("provision", "lenel", acs.Unavailable, fmt.Errorf("context: %w", inner))
	if acs.CodeOf(outer) != acs.InvalidArgument {
		t.Errorf("code %v: the first classification must win", acs.CodeOf(outer))
	}
	if strings.Count(outer.Error(), "invalid argument") != 1 {
		t.Errorf("wrapped twice: %q", outer.Error())
	}
	if inner.Op != "" || inner.Provider != "" {
		t.Errorf("Wrap changed an error it did not create: %+v", inner)
	}
	if acs.Wrap("x", "y", acs.Unknown, nil) != nil {
		t.Error("Wrap(nil) != nil")
	}
}

func TestContextErrorsAreCanceled(t *testing.T) {
	for _, cause := range []error{context.Canceled, context.DeadlineExceeded, fmt.Errorf("dial: %w", context.Canceled)} {
		err := acs.Wrap("ping", "brivo", acs.Unavailable, cause)
		if acs.CodeOf(err) != acs.Canceled || !errors.Is(err, acs.ErrCanceled) || !errors.Is(err, cause) {
			t.Errorf("%v: code %v", cause, acs.CodeOf(err))
		}
		if acs.IsRetryable(err) {
			t.Errorf("%v: a caller's cancellation is not retryable", cause)
		}
	}
	if acs.CodeOf(context.Canceled) != acs.Canceled {
		t.Error("bare context.Canceled not Canceled")
	}
}

func TestRetryable(t *testing.T) {
	for code, want := range map[acs.Code]bool{
		acs.RateLimited: true, acs.Unavailable: true,
		acs.NotFound: false, acs.InvalidArgument: false, acs.Unauthenticated: false, acs.Unknown: false, acs.Conflict: false,
		acs.Misconfigured: false,
	} {
		if got := acs.IsRetryable(&acs.Error{Code: code}); got != want {
			t.Errorf("IsRetryable(%v) = %v", code, got)
		}
	}
	if acs.IsRetryable(nil) || acs.IsRetryable(errors.New("plain")) {
		t.Error("unclassified errors are not retryable")
	}
	if acs.CodeOf(acs.ErrRateLimited) != acs.RateLimited {
		t.Error("CodeOf(sentinel)")
	}
	e := &acs.Error{Code: acs.RateLimited, RetryAfter: 3 * time.Second}
	if d, ok := acs.RetryAfterOf(fmt.Errorf("outer: %w", e)); !ok || d != 3*time.Second {
		t.Errorf("RetryAfterOf = %v %v", d, ok)
	}
}

func TestCodeStrings(t *testing.T) {
	seen := map[string]bool{}
	for c := acs.Unknown; c <= acs.Misconfigured; c++ {
		s := c.String()
		if s == "" || seen[s] || strings.HasPrefix(s, "code(") {
			t.Errorf("code %d has name %q", int(c), s)
		}
		seen[s] = true
		if c != acs.Unknown && acs.CodeOf(c.Sentinel()) != c {
			t.Errorf("sentinel of %v maps back to %v", c, acs.CodeOf(c.Sentinel()))
		}
	}
	if acs.Code(99).String() != "code(99)" {
		t.Error("unknown code string")
	}
}

func ExampleCodeOf() {
	err := acs.Wrap("revoke", "lenel", acs.Unavailable, errors.New("connection refused"))
	fmt.Println(err)
	fmt.Println(acs.CodeOf(err), acs.IsRetryable(err), errors.Is(err, acs.ErrUnavailable))
	// Output:
	// lenel revoke: unavailable: connection refused
	// unavailable true true
}

func TestDirectionText(t *testing.T) {
	for _, d := range []acs.Direction{acs.DirectionUnknown, acs.DirectionIn, acs.DirectionOut} {
		b, _ := d.MarshalText()
		var back acs.Direction
		if err := back.UnmarshalText(b); err != nil || back != d {
			t.Errorf("%v: %q → %v, %v", d, b, back, err)
		}
	}
	var d acs.Direction
	if err := d.UnmarshalText([]byte("sideways")); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("sideways: %v", err)
	}
}

func TestErrorTextIsOneCleanLine(t *testing.T) {
	err := acs.Errorf("ping", "lenel", acs.Unavailable, "busy\x1b[31m\r\nlevel=ERROR msg=forged \xff\u2028end")
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n\x1b\u2028") || !utf8.ValidString(msg) {
		t.Fatalf("unsafe error text %q", msg)
	}
	if !strings.Contains(msg, "busy [31m  level=ERROR msg=forged \ufffd end") {
		t.Errorf("text %q lost more than the control characters", msg)
	}
}

func TestWrapNeverMutates(t *testing.T) {
	shared := acs.Errorf("", "", acs.NotFound, "no such thing")
	got := acs.Wrap("revoke", "genetec", acs.Unknown, shared)
	if shared.Op != "" || shared.Provider != "" {
		t.Fatalf("Wrap changed the caller's error: %+v", shared)
	}
	var ae *acs.Error
	if !errors.As(got, &ae) || ae.Op != "revoke" || ae.Provider != "genetec" || ae.Code != acs.NotFound {
		t.Fatalf("Wrap(empty op and provider) = %#v", got)
	}
	full := acs.Errorf("provision", "lenel", acs.Conflict, "held")
	if acs.Wrap("revoke", "genetec", acs.Unknown, full) != error(full) {
		t.Error("an *Error with op and provider must come back unchanged")
	}
	nested := fmt.Errorf("context: %w", shared)
	if acs.Wrap("revoke", "genetec", acs.Unknown, nested) != nested || shared.Op != "" {
		t.Error("a wrapped *Error must come back unchanged and untouched")
	}
}
