package lenel

import (
	"encoding/json"
	"testing"
)

// TestInstanceBodyAsMarshal: the request bodies of /instances are the
// bytes json.Marshal writes for them, whatever the property values.
func TestInstanceBodyAsMarshal(t *testing.T) {
	for _, pm := range []map[string]any{
		nil,
		{},
		{"LASTNAME": "Visitor", "FIRSTNAME": "Ada", "SSNO": "visit-1", "ID": int64(42)},
		{"EMAIL": "a<b>&c@example.com", "NOTE": "quote \" backslash \\ tab \t", "É": "ünïcode", "BAD": "\xff\xfe", "LS": "\u2028"},
		{"ACTIVATE": "2026-12-07T06:00:00+00:00", "STATUS": 1, "USELIMIT": nil, "ON": true, "OFF": false, "F": 1.5, "N": int64(-7)},
		{"LIST": []int64{1, 2}, "MAP": map[string]string{"b": "x", "a": "y"}},
		{"K": 1, "J": 2, "I": 3, "H": 4, "G": 5, "F": 6, "E": 7, "D": 8, "C": 9, "B": 10, "A": 11}, // more names than appendJSON keeps on the stack
	} {
		for _, typeName := range []string{"Lnl_Cardholder", "Lnl_<Odd>"} {
			in := instance{pm, typeName}
			want, err := json.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := in.appendJSON(nil)
			if err != nil || string(got) != string(want) {
				t.Errorf("appendJSON(%v) = %s, %v\n want %s", pm, got, err, want)
			}
		}
	}
	if _, err := (instance{PropertyValueMap: map[string]any{"C": make(chan int)}}).appendJSON(nil); err == nil {
		t.Error("a value json.Marshal refuses was encoded")
	}
}
