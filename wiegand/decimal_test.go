package wiegand

import (
	"errors"
	"testing"
)

func TestCombined24(t *testing.T) {
	// FC 1 / CN 11572 is reported as 77108 by reader libraries that return
	// the 24 data bits as one number.
	n, err := Combined24(1, 11572)
	if err != nil || n != 77108 {
		t.Errorf("Combined24(1, 11572) = %d, %v; want 77108", n, err)
	}
	fc, cn, err := SplitCombined24(77108)
	if err != nil || fc != 1 || cn != 11572 {
		t.Errorf("SplitCombined24(77108) = %d, %d, %v", fc, cn, err)
	}
	if n, _ := Combined24(255, 65535); n != 1<<24-1 {
		t.Errorf("Combined24(max) = %d", n)
	}
	// The combined number is the H10301 frame without its parity bits.
	fr, _ := H10301.Encode(1, 11572)
	if got := fr.Value >> 1 & (1<<24 - 1); got != 77108 {
		t.Errorf("frame data bits = %d", got)
	}
	if _, err := Combined24(256, 0); !errors.Is(err, ErrRange) {
		t.Errorf("Combined24(256, 0) error = %v", err)
	}
	if _, err := Combined24(0, 65536); !errors.Is(err, ErrRange) {
		t.Errorf("Combined24(0, 65536) error = %v", err)
	}
	if _, _, err := SplitCombined24(1 << 24); !errors.Is(err, ErrRange) {
		t.Errorf("SplitCombined24(2^24) error = %v", err)
	}
}

func TestConcatenated(t *testing.T) {
	for _, tt := range []struct {
		fc, cn uint64
		pad    int
		want   string
	}{
		{21, 15890, 5, "2115890"},
		{1, 200, 5, "100200"},
		{0, 200, 5, "000200"},
		{1, 200, 0, "1200"},
		{77, 30211, 5, "7730211"},
		{65535, 524287, 6, "65535524287"},
		{^uint64(0), ^uint64(0), 20, "1844674407370955161518446744073709551615"},
		{^uint64(0), 0, 20, "1844674407370955161500000000000000000000"},
	} {
		got, err := Concatenated(tt.fc, tt.cn, tt.pad)
		if err != nil || got != tt.want {
			t.Errorf("Concatenated(%d, %d, %d) = %q, %v; want %q", tt.fc, tt.cn, tt.pad, got, err, tt.want)
			continue
		}
		if tt.pad == 0 {
			continue
		}
		fc, cn, err := ParseConcatenated(got, tt.pad)
		if err != nil || fc != tt.fc || cn != tt.cn {
			t.Errorf("ParseConcatenated(%q, %d) = %d, %d, %v", got, tt.pad, fc, cn, err)
		}
	}
	for _, tt := range []struct {
		fc, cn uint64
		pad    int
	}{
		{1, 123456, 5}, {1, 1, -1}, {1, 1, 21},
	} {
		if _, err := Concatenated(tt.fc, tt.cn, tt.pad); !errors.Is(err, ErrRange) {
			t.Errorf("Concatenated(%d, %d, %d) error = %v, want ErrRange", tt.fc, tt.cn, tt.pad, err)
		}
	}
	for _, tt := range []struct {
		s    string
		pad  int
		want error
	}{
		{"12345", 5, ErrSyntax},
		{"", 5, ErrSyntax},
		{"1234a6", 5, ErrSyntax},
		{"+100200", 5, ErrSyntax},
		{"100200", 0, ErrRange},
		{"100200", 21, ErrRange},
		{"99999999999999999999900000", 5, ErrRange},
		{"199999999999999999999", 20, ErrRange},
	} {
		if _, _, err := ParseConcatenated(tt.s, tt.pad); !errors.Is(err, tt.want) {
			t.Errorf("ParseConcatenated(%q, %d) error = %v, want %v", tt.s, tt.pad, err, tt.want)
		}
	}
}
