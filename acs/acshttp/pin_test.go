package acshttp_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

func TestRedactPINs(t *testing.T) {
	pin, err := acs.ParsePIN("84027361")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(acshttp.RedactPINs(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ctx := acshttp.WithPINs(t.Context(), pin, acs.PIN{})
	ctx = acshttp.WithPINs(ctx) // nothing added
	cause := errors.New("refused KeypadCredentialFormat(84027361)")
	log.With("static", "x").WarnContext(ctx, "write 84027361 failed",
		"error", cause, "q", "Format=KeypadCredentialFormat(84027361)", "n", 84027361,
		slog.Group("req", "body", `{"pin":"84027361"}`, "try", 2))
	if strings.Contains(buf.String(), "84027361") || strings.Count(buf.String(), "[PIN redacted]") != 5 {
		t.Fatalf("log line: %s", buf.String())
	}
	buf.Reset()
	log.InfoContext(context.Background(), "no PIN in this context", "q", "84027361")
	if !strings.Contains(buf.String(), "84027361") {
		t.Fatal("a record without PINs in its context was changed")
	}
}

// An adapter wraps its logger once and passes the PIN in the context of
// the call that sets it: whatever the ACS echoes is redacted.
func ExampleRedactPINs() {
	pin, _ := acs.ParsePIN("4096")
	log := slog.New(acshttp.RedactPINs(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})))
	ctx := acshttp.WithPINs(context.Background(), pin)
	log.InfoContext(ctx, "ACS refused the write", "error", "invalid keypad code 4096")
	// Output:
	// level=INFO msg="ACS refused the write" error="invalid keypad code [PIN redacted]"
}
