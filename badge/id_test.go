package badge

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidateID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		id   string
		pos  int    // 0: valid, or whole-ID error when msg is set
		char rune   // offending character
		msg  string // substring of the error; "" means valid
	}{
		{name: "digits", id: "1042"},
		{name: "single digit", id: "7"},
		{name: "leading zeros kept", id: "007"},
		{name: "all zeros", id: "0000"},
		{name: "max length", id: strings.Repeat("9", MaxIDLen)},
		{name: "max uint64", id: "18446744073709551615"},
		{name: "empty", id: "", msg: "empty"},
		{name: "too long", id: strings.Repeat("1", MaxIDLen+1), msg: "21 digits, at most 20 allowed"},
		{name: "letter", id: "12a4", pos: 3, char: 'a', msg: `"12a4": 'a' at position 3 is not a digit`},
		{name: "leading letter", id: "A123", pos: 1, char: 'A', msg: "'A' at position 1"},
		{name: "hex prefix", id: "0x1F", pos: 2, char: 'x', msg: "'x' at position 2"},
		{name: "space inside", id: "12 34", pos: 3, char: ' ', msg: "' ' at position 3"},
		{name: "leading space", id: " 1234", pos: 1, char: ' ', msg: "' ' at position 1"},
		{name: "trailing CR", id: "1234\r", pos: 5, char: '\r', msg: `'\r' at position 5`},
		{name: "minus sign", id: "-12", pos: 1, char: '-', msg: "'-' at position 1"},
		{name: "plus sign", id: "+12", pos: 1, char: '+', msg: "'+' at position 1"},
		{name: "dash", id: "12-34", pos: 3, char: '-'},
		{name: "comma W form", id: "077,30211", pos: 4, char: ',', msg: "',' at position 4"},
		{name: "decimal point", id: "1.5", pos: 2, char: '.'},
		{name: "arabic-indic digit", id: "1٣4", pos: 2, char: '٣', msg: "'٣' (U+0663) at position 2 is not an ASCII digit"},
		{name: "fullwidth digit", id: "１23", pos: 1, char: '１', msg: "U+FF11"},
		{name: "position counts characters not bytes", id: "٣٣x", pos: 1, char: '٣'},
		{name: "emoji", id: "12🙂", pos: 3, char: '🙂', msg: "U+1F642"},
		{name: "NUL", id: "1\x002", pos: 2, char: 0, msg: `'\x00' at position 2`},
		{name: "invalid UTF-8", id: "12\xff", pos: 3, char: utf8.RuneError, msg: "byte 0xff at position 3 is not valid UTF-8"},
		{name: "letter beats length", id: strings.Repeat("1", 30) + "x", pos: 31, char: 'x'},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateID(tc.id)
			if tc.msg == "" && tc.pos == 0 {
				if err != nil {
					t.Fatalf("ValidateID(%q) = %v, want nil", tc.id, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateID(%q) = nil, want an error", tc.id)
			}
			if !errors.Is(err, ErrInvalidID) || !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalidID and ErrInvalid", err)
			}
			var ie *IDError
			if !errors.As(err, &ie) {
				t.Fatalf("error %T is not an *IDError", err)
			}
			if ie.ID != tc.id || ie.Pos != tc.pos || (tc.pos > 0 && ie.Char != tc.char) {
				t.Errorf("IDError = {ID %q, Pos %d, Char %q}, want {%q, %d, %q}", ie.ID, ie.Pos, ie.Char, tc.id, tc.pos, tc.char)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
		})
	}
}

func TestIDErrorQuotesLongInputShortly(t *testing.T) {
	t.Parallel()
	err := ValidateID(strings.Repeat("5", 10000))
	if msg := err.Error(); len(msg) > 120 || !strings.Contains(msg, "…") {
		t.Fatalf("error for a 10000-digit ID is %d bytes: %q", len(msg), msg)
	}
}

func TestParseScan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw, want string
		ok        bool
	}{
		{"1042\r\n", "1042", true},
		{"1042\n", "1042", true},
		{"1042\r", "1042", true},
		{"1042", "1042", true},
		{"007\r\n", "007", true},
		{"1042\t", "", false},
		{" 1042\n", "", false},
		{"1042 \n", "", false},
		{"\r\n", "", false},
		{"10\n42", "", false},
	}
	for _, tc := range tests {
		got, err := ParseScan(tc.raw)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseScan(%q) = %q, %v; want %q, ok=%v", tc.raw, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzValidateID(f *testing.F) {
	for _, s := range []string{"1042", "007", "", "12a4", "1٣4", "12\xff", strings.Repeat("9", 21)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateID(s)
		allDigits := s != "" && len(s) <= MaxIDLen && strings.Trim(s, "0123456789") == ""
		if (err == nil) != allDigits {
			t.Fatalf("ValidateID(%q) = %v, digits-only=%v", s, err, allDigits)
		}
		if err != nil {
			var ie *IDError
			if !errors.As(err, &ie) || !errors.Is(err, ErrInvalidID) {
				t.Fatalf("ValidateID(%q) error %v is not an *IDError", s, err)
			}
			if ie.Pos > 0 {
				r := []rune(s)[ie.Pos-1]
				if r >= '0' && r <= '9' {
					t.Fatalf("ValidateID(%q) blames digit %q at %d", s, r, ie.Pos)
				}
			}
			_ = err.Error()
		}
	})
}
