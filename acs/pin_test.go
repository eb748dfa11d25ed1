package acs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

const secretDigits = "90417236"

func mustPIN(t *testing.T, s string) acs.PIN {
	t.Helper()
	p, err := acs.ParsePIN(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPINNeverPrinted prints a PIN every way a program might, directly
// and inside other values, and finds its digits nowhere.
func TestPINNeverPrinted(t *testing.T) {
	p := mustPIN(t, secretDigits)
	if p.Reveal() != secretDigits || p.Len() != 8 {
		t.Fatalf("Reveal %q, Len %d", p.Reveal(), p.Len())
	}
	type exported struct{ PIN acs.PIN }
	type unexported struct{ pin acs.PIN }
	g := acs.PINGrant{Person: acs.Person{ExternalID: "v1", FirstName: "Ada"}, PIN: p, AccessLevels: []string{"lobby"}}
	values := []any{p, &p, exported{p}, &exported{p}, unexported{p}, &unexported{p}, []acs.PIN{p}, map[acs.PIN]int{p: 1}, g, &g}
	var out bytes.Buffer
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X", "%o", "%08d", "%T"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
		fmt.Fprintln(&out, v)
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%T): %v", v, err)
		}
		out.Write(b)
	}
	for _, h := range []slog.Handler{slog.NewTextHandler(&out, nil), slog.NewJSONHandler(&out, nil)} {
		l := slog.New(h)
		l.Info("issued", "pin", p, "grant", g, "ptr", &p)
		l.Info("issued", slog.Any("pin", p), slog.Group("g", "pin", p))
	}
	func() {
		defer func() { fmt.Fprint(&out, recover()) }()
		panic(p)
	}()
	func() {
		defer func() { fmt.Fprint(&out, recover()) }()
		panic(fmt.Errorf("provisioning %v failed", p))
	}()
	if strings.Contains(out.String(), secretDigits) {
		t.Fatalf("the PIN's digits were printed:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "[PIN redacted]") {
		t.Fatal("nothing says a PIN was redacted")
	}
	t.Logf("%d bytes printed, no digits", out.Len())
}

func TestParsePIN(t *testing.T) {
	for _, s := range []string{"", "123", "1234567890123", "12a45", "１２３４", " 1234", "12345\n"} {
		_, err := acs.ParsePIN(s)
		if acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("ParsePIN(%q): %v, want invalid argument", s, err)
		}
		if s != "" && strings.Contains(err.Error(), strings.TrimSpace(s)) {
			t.Errorf("ParsePIN(%q) quotes its input: %v", s, err)
		}
	}
	for _, s := range []string{"0000", "123456789012", "000123"} {
		p, err := acs.ParsePIN(s)
		if err != nil || p.Reveal() != s {
			t.Errorf("ParsePIN(%q) = %q, %v", s, p.Reveal(), err)
		}
	}
	var zero acs.PIN
	if !zero.IsZero() || zero.Reveal() != "" || zero.String() != "[no PIN]" || zero.Len() != 0 {
		t.Fatalf("zero PIN: %v %q", zero, zero.Reveal())
	}
	a, b := mustPIN(t, "4711"), mustPIN(t, "4711")
	if !a.Equal(b) || a.Equal(mustPIN(t, "4712")) || a.Equal(zero) || !zero.Equal(acs.PIN{}) {
		t.Fatal("Equal")
	}
}

// A PIN is never read from JSON: digits are refused, the redacted form
// and null read as no PIN, and a grant round-trips without its PIN.
func TestPINJSON(t *testing.T) {
	var p acs.PIN
	if err := json.Unmarshal([]byte(`"`+secretDigits+`"`), &p); err == nil || strings.Contains(err.Error(), secretDigits) {
		t.Fatalf("digits read from JSON: %v", err)
	}
	for _, in := range []string{`null`, `"[PIN redacted]"`} {
		p = mustPIN(t, "1234")
		if err := json.Unmarshal([]byte(in), &p); err != nil || !p.IsZero() {
			t.Fatalf("%s read as %v, %v", in, p, err)
		}
	}
	g := acs.PINGrant{Person: acs.Person{ExternalID: "v1"}, PIN: mustPIN(t, secretDigits), AccessLevels: []string{"lobby"}}
	b, _ := json.Marshal(g)
	var back acs.PINGrant
	if err := json.Unmarshal(b, &back); err != nil || !back.PIN.IsZero() {
		t.Fatalf("grant JSON %s read back as %+v, %v", b, back, err)
	}
	g.PIN = acs.PIN{}
	if b, _ := json.Marshal(g); strings.Contains(string(b), "pin") || strings.Contains(string(b), "card") {
		t.Fatalf("a grant without PIN or card writes them: %s", b)
	}
}

func TestRedactPIN(t *testing.T) {
	p := mustPIN(t, secretDigits)
	if acs.RedactPIN(nil, p) != nil {
		t.Fatal("nil")
	}
	plain := acs.Errorf("provision_pin", "genetec", acs.Unavailable, "down")
	if acs.RedactPIN(plain, p) != plain {
		t.Fatal("an error without the digits is not returned unchanged")
	}
	cause := errors.New("the server refused KeypadCredentialFormat(" + secretDigits + ")")
	err := &acs.Error{Op: "provision_pin", Provider: "genetec", Code: acs.RateLimited, Message: "refused", Err: cause, RetryAfter: time.Minute}
	red := acs.RedactPIN(err, p)
	var ae *acs.Error
	if !errors.As(red, &ae) || ae.Op != "provision_pin" || ae.Provider != "genetec" || ae.RetryAfter != time.Minute || !errors.Is(red, acs.ErrRateLimited) {
		t.Fatalf("redacted error lost its classification: %#v", red)
	}
	if strings.Contains(red.Error(), secretDigits) || errors.Is(red, cause) {
		t.Fatalf("redacted error still carries the PIN: %v", red)
	}
	if want := "genetec provision_pin: rate limited: refused: the server refused KeypadCredentialFormat([PIN redacted])"; red.Error() != want {
		t.Fatalf("redacted error %q, want %q", red, want)
	}
	wrapped := fmt.Errorf("outer: %w", context.Canceled)
	if red := acs.RedactPIN(fmt.Errorf("%s %w", secretDigits, wrapped), p); acs.CodeOf(red) != acs.Canceled || strings.Contains(red.Error(), secretDigits) {
		t.Fatalf("cancellation: %v (%v)", red, acs.CodeOf(red))
	}
}

func TestValidatePINGrant(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	valid := acs.PINGrant{
		Person: acs.Person{ExternalID: "visit-1", FirstName: "Ada"}, PIN: mustPIN(t, secretDigits),
		AccessLevels: []string{"lobby"}, ValidFrom: t0, ValidUntil: t0.Add(time.Hour),
	}
	if err := acs.ValidatePINGrant(valid, acs.Rules{}); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*acs.PINGrant){
		"no PIN":         func(g *acs.PINGrant) { g.PIN = acs.PIN{} },
		"no levels":      func(g *acs.PINGrant) { g.AccessLevels = nil },
		"bad card":       func(g *acs.PINGrant) { g.Card = acs.Card{Format: acs.H10301, Number: 1 << 20} },
		"no external ID": func(g *acs.PINGrant) { g.Person.ExternalID = "" },
		"window":         func(g *acs.PINGrant) { g.ValidUntil = g.ValidFrom },
		"external ID quoting the PIN": func(g *acs.PINGrant) {
			g.Person.ExternalID = "x\"" + secretDigits
		},
	} {
		g := valid
		mutate(&g)
		err := acs.ValidatePINGrant(g, acs.Rules{})
		if acs.CodeOf(err) != acs.InvalidArgument || strings.Contains(err.Error(), secretDigits) {
			t.Errorf("%s: %v", name, err)
		}
	}
	s := acs.PINSupport{MinLen: 4, MaxLen: 6}
	if err := s.Check(valid); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("8 digits for an ACS taking 4–6: %v", err)
	}
	s.MaxLen = 8
	if err := s.Check(valid); acs.CodeOf(err) != acs.Unsupported {
		t.Errorf("no card for an ACS keeping PINs on cards: %v", err)
	}
	valid.Card = acs.Card{Format: acs.H10301, Facility: 1, Number: 2}
	if err := s.Check(valid); err != nil {
		t.Error(err)
	}
}

// A PIN prints redacted whatever the verb; Reveal is the one way to the
// digits.
func ExamplePIN() {
	pin, err := acs.ParsePIN("4096")
	if err != nil {
		panic(err)
	}
	g := acs.PINGrant{Person: acs.Person{ExternalID: "visit-1"}, PIN: pin}
	b, _ := json.Marshal(g.PIN)
	fmt.Println(pin, fmt.Sprintf("%d %x %#v", pin, pin, pin), string(b))
	fmt.Println(pin.Len(), "digits; Reveal gives them to the code that sets them at the ACS")
	// Output:
	// [PIN redacted] [PIN redacted] [PIN redacted] acs.PIN([PIN redacted]) "[PIN redacted]"
	// 4 digits; Reveal gives them to the code that sets them at the ACS
}

// An adapter passes its errors through RedactPIN: an ACS that quotes the
// request in its error message does not get the PIN into the caller's
// logs.
func ExampleRedactPIN() {
	pin, _ := acs.ParsePIN("52719")
	vendor := errors.New("rejected keypad code 52719: already assigned")
	err := acs.RedactPIN(&acs.Error{Op: "provision_pin", Provider: "genetec", Code: acs.Conflict, Err: vendor}, pin)
	fmt.Println(err)
	fmt.Println(errors.Is(err, acs.ErrConflict))
	// Output:
	// genetec provision_pin: conflict: rejected keypad code [PIN redacted]: already assigned
	// true
}
