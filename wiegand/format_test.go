package wiegand

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// maxFC is the largest facility code of f, 0 when it has none.
func maxFC(f Format) uint64 { m, _ := f.MaxFacility(); return m }

func TestFormatTable(t *testing.T) {
	tests := []struct {
		f        Format
		name     string
		bits     int
		hasFC    bool
		maxFC    uint64
		maxCard  uint64
		osdpSize int
	}{
		{H10301, "H10301", 26, true, 255, 65535, 4},
		{H10306, "H10306", 34, true, 65535, 65535, 5},
		{H10302, "H10302", 37, false, 0, 34359738367, 5},
		{H10304, "H10304", 37, true, 65535, 524287, 5},
		{Corp1000_35, "C1000-35", 35, true, 4095, 1048575, 5},
		{Corp1000_48, "C1000-48", 48, true, 4194303, 8388607, 6},
	}
	if got := len(Formats()); got != len(tests) {
		t.Fatalf("Formats() has %d entries, want %d", got, len(tests))
	}
	for i, tt := range tests {
		f := tt.f
		if Formats()[i] != f {
			t.Errorf("Formats()[%d] = %v, want %v", i, Formats()[i], f)
		}
		fc, hasFC := f.MaxFacility()
		if !f.Known() || f.String() != tt.name || f.Bits() != tt.bits || f.HasFacility() != tt.hasFC ||
			hasFC != tt.hasFC || fc != tt.maxFC || f.MaxCard() != tt.maxCard {
			t.Errorf("%s: got %v %q %d %v %d/%v %d", tt.name, f.Known(), f.String(), f.Bits(), f.HasFacility(), fc, hasFC, f.MaxCard())
		}
		for _, name := range []string{tt.name, strings.ToLower(tt.name)} {
			p, err := ParseFormat(name)
			if err != nil || p != f {
				t.Errorf("ParseFormat(%q) = %v, %v", name, p, err)
			}
		}
		fr, err := f.Encode(tt.maxFC, tt.maxCard)
		if err != nil || int(fr.Len) != tt.bits || len(fr.OSDP()) != tt.osdpSize {
			t.Errorf("%s Encode(max) = %v, %v", tt.name, fr, err)
		}
		c, err := f.Decode(fr)
		if err != nil || c != (Card{f, tt.maxFC, tt.maxCard}) {
			t.Errorf("%s Decode(Encode(max)) = %v, %v", tt.name, c, err)
		}
	}
}

func TestInvalidFormat(t *testing.T) {
	for _, f := range []Format{0, numFormats, 255} {
		fc, hasFC := f.MaxFacility()
		if f.Known() || f.Bits() != 0 || f.HasFacility() || fc != 0 || hasFC || f.MaxCard() != 0 {
			t.Errorf("%d behaves as known", f)
		}
		if _, err := f.Decode(Frame{26, 0}); !errors.Is(err, ErrFormat) {
			t.Errorf("%v Decode error = %v", f, err)
		}
	}
	if got := Format(0).String(); got != "" {
		t.Errorf("Format(0).String() = %q, want empty", got)
	}
	if got := Format(200).String(); got != "Format(200)" {
		t.Errorf("Format(200).String() = %q", got)
	}
	for _, name := range []string{"", " H10301", "H10301 ", "H10320", "26-bit", "C1000_35", "Format(1)", "1"} {
		f, err := ParseFormat(name)
		if !errors.Is(err, ErrFormat) || f != 0 {
			t.Errorf("ParseFormat(%q) = %v, %v; want 0 and an error matching ErrFormat", name, f, err)
		}
	}
	if _, err := ParseFormat("W26"); err == nil || !strings.Contains(err.Error(), `unknown card format "W26"`) ||
		!strings.Contains(err.Error(), "H10301") {
		t.Errorf("ParseFormat(W26) error = %v; want the name and the known names", err)
	}
	if got := ParityKind(9).String(); got != "ParityKind(9)" {
		t.Errorf("ParityKind(9) = %q", got)
	}
}

func TestFormatText(t *testing.T) {
	for _, f := range Formats() {
		b, err := f.MarshalText()
		if err != nil || string(b) != f.String() {
			t.Errorf("%v.MarshalText() = %q, %v", f, b, err)
		}
		for _, text := range []string{f.String(), strings.ToLower(f.String())} {
			g := Format(99)
			if err := g.UnmarshalText([]byte(text)); err != nil || g != f {
				t.Errorf("UnmarshalText(%q) = %v, %v; want %v", text, g, err, f)
			}
		}
	}

	// The zero Format is empty text both ways.
	if b, err := Format(0).MarshalText(); err != nil || len(b) != 0 {
		t.Errorf("Format(0).MarshalText() = %q, %v", b, err)
	}
	g := H10304
	if err := g.UnmarshalText(nil); err != nil || g != 0 {
		t.Errorf("UnmarshalText(empty) = %v, %v; want the zero Format", g, err)
	}

	// A value that names no format does not marshal.
	for _, f := range []Format{numFormats, 255} {
		if b, err := f.MarshalText(); !errors.Is(err, ErrFormat) {
			t.Errorf("%v.MarshalText() = %q, %v; want an error matching ErrFormat", f, b, err)
		}
	}

	// An unknown name is refused and leaves the value alone.
	for _, text := range []string{"H99999", "W26", "26"} {
		g := H10306
		err := g.UnmarshalText([]byte(text))
		if !errors.Is(err, ErrFormat) || g != H10306 {
			t.Errorf("UnmarshalText(%q) = %v, %v; want H10306 unchanged and ErrFormat", text, g, err)
		}
	}
}

func TestFormatJSON(t *testing.T) {
	type holder struct {
		Format   Format          `json:"format"`
		Optional Format          `json:"optional,omitempty"`
		ByFormat map[Format]int  `json:"by_format,omitempty"`
		List     []Format        `json:"list,omitempty"`
		Card     Card            `json:"card"`
		Cards    map[string]Card `json:"cards,omitempty"`
	}
	for _, f := range Formats() {
		in := holder{Format: f, ByFormat: map[Format]int{f: 1}, List: []Format{f, 0},
			Card: Card{f, 0, 7}, Cards: map[string]Card{"x": {Format: f, Number: 1}}}
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		name := f.String()
		want := `{"format":"` + name + `","by_format":{"` + name + `":1},"list":["` + name + `",""],` +
			`"card":{"format":"` + name + `","facility":0,"number":7},"cards":{"x":{"format":"` + name + `","facility":0,"number":1}}}`
		if string(b) != want {
			t.Errorf("%v:\n got %s\nwant %s", f, b, want)
		}
		var out holder
		if err := json.Unmarshal(b, &out); err != nil || out.Format != f || out.ByFormat[f] != 1 ||
			len(out.List) != 2 || out.List[0] != f || out.List[1] != 0 || out.Card != in.Card || out.Cards["x"] != in.Cards["x"] {
			t.Errorf("%v: round trip gave %+v, %v", f, out, err)
		}
	}

	// The zero value: the empty string, omitted under omitempty.
	b, err := json.Marshal(holder{})
	if want := `{"format":"","card":{"format":"","facility":0,"number":0}}`; err != nil || string(b) != want {
		t.Errorf("zero holder = %s, %v; want %s", b, err, want)
	}
	var zero holder
	if err := json.Unmarshal([]byte(`{"format":"","card":{"format":"","facility":0,"number":0}}`), &zero); err != nil ||
		zero.Format != 0 || !zero.Card.IsZero() {
		t.Errorf("zero holder read back as %+v, %v", zero, err)
	}

	// Letter case is forgiven on input; the output is canonical.
	var c Card
	if err := json.Unmarshal([]byte(`{"format":"c1000-35","facility":12,"number":34}`), &c); err != nil ||
		c != (Card{Corp1000_35, 12, 34}) {
		t.Errorf("lower-case name read as %v, %v", c, err)
	}

	// Unknown names and non-strings are refused.
	for _, in := range []string{`{"format":"H99999"}`, `{"format":"26 bit Wiegand"}`} {
		var h holder
		err := json.Unmarshal([]byte(in), &h)
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "unknown card format") {
			t.Errorf("Unmarshal(%s) error = %v; want one matching ErrFormat", in, err)
		}
	}
	var h holder
	if err := json.Unmarshal([]byte(`{"format":1}`), &h); err == nil {
		t.Errorf(`Unmarshal({"format":1}) = %v, want an error`, h.Format)
	}
	if _, err := json.Marshal(holder{Format: numFormats}); !errors.Is(err, ErrFormat) {
		t.Errorf("Marshal of an unknown value: %v, want an error matching ErrFormat", err)
	}
}

func TestCardZero(t *testing.T) {
	if !(Card{}).IsZero() || (Card{Number: 1}).IsZero() || (Card{Format: H10301}).IsZero() {
		t.Error("IsZero wrong")
	}
	if got := (Card{}).String(); got != " 0/0" {
		t.Errorf("zero Card String = %q", got)
	}
	if got := (Card{Corp1000_48, 3, 4}).String(); got != "C1000-48 3/4" {
		t.Errorf("Card String = %q", got)
	}
	if _, err := (Card{}).Frame(); !errors.Is(err, ErrFormat) {
		t.Errorf("zero Card Frame error = %v", err)
	}
}
