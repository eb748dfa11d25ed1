package brivo

import (
	"encoding/json"
	"net/url"
	"strconv"
	"testing"
)

// pageQuery must send what url.Values.Encode sent for the same page:
// keys in order, the filter escaped.
func TestPageQueryEncodesAsURLValues(t *testing.T) {
	filters := []string{
		"",
		"status__eq:assigned",
		"reference_id__eq:12345;status__eq:assigned",
		"firstname__eq:Ann Marie;lastname__eq:O'Brien",
		"firstname__eq:a&b=c+d/e?f#g;lastname__eq:Zoë 李",
		"name__eq:x\"<>\\",
	}
	for _, f := range filters {
		for _, offset := range []int{0, 100, 12300} {
			want := url.Values{"offset": {strconv.Itoa(offset)}, "pageSize": {strconv.Itoa(pageSize)}}
			if f != "" {
				want.Set("filter", f)
			}
			if got := pageQuery(f, offset); got != want.Encode() {
				t.Errorf("pageQuery(%q, %d) = %q, want %q", f, offset, got, want.Encode())
			}
		}
	}
}

// nameFilter must be what buildFilter makes of the names it keeps, and
// leave out a name that cannot be placed in a filter.
func TestNameFilter(t *testing.T) {
	for _, c := range []struct {
		n    names
		want string
	}{
		{names{"Ann", "Lee"}, "firstname__eq:Ann;lastname__eq:Lee"},
		{names{"Ann Marie", "Zoë"}, "firstname__eq:Ann Marie;lastname__eq:Zoë"},
		{names{"a;b__eq:c", "Lee"}, "lastname__eq:Lee"},
		{names{"Ann", "x,y"}, "firstname__eq:Ann"},
		{names{"50%", " Lee"}, ""},
		{names{"", "Lee\n"}, ""},
	} {
		got := nameFilter(c.n)
		if got != c.want {
			t.Errorf("nameFilter(%q) = %q, want %q", c.n, got, c.want)
		}
		var terms []term
		for i, field := range [...]string{"firstname", "lastname"} {
			if checkFilterValue(c.n[i]) == nil {
				terms = append(terms, term{field, "eq", []string{c.n[i]}})
			}
		}
		if len(terms) > 0 {
			if f, err := buildFilter(terms...); err != nil || f != got {
				t.Errorf("buildFilter of %q = %q, %v; nameFilter = %q", c.n, f, err, got)
			}
		}
	}
}

// flexString reads an ID sent as a JSON string or as a number, and reads
// strings exactly as json.Unmarshal does (escapes, invalid UTF-8).
func TestFlexStringDecoding(t *testing.T) {
	for _, c := range []struct {
		in   string
		want flexString
	}{
		{`"bench-42"`, "bench-42"},
		{`42`, "42"},
		{`-4.2e3`, "-4.2e3"},
		{`null`, ""},
		{`""`, ""},
		{`"Zoë 李"`, "Zoë 李"},
		{`"a\"b\\c\u00e9\n"`, "a\"b\\cé\n"},
		{"\"a\xffb\"", "a\uFFFDb"},
		{`"\ud800"`, "\uFFFD"},
	} {
		var v struct {
			ID flexString `json:"externalId"`
		}
		if err := json.Unmarshal([]byte(`{"externalId":`+c.in+`}`), &v); err != nil || v.ID != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.in, v.ID, err, c.want)
		}
	}
	for _, bad := range []string{`true`, `{}`, `[1]`} {
		var f flexString
		if err := json.Unmarshal([]byte(bad), &f); err == nil {
			t.Errorf("%s: decoded as %q, want an error", bad, f)
		}
	}
}

// sameName must agree with comparing normName's results.
func TestSameName(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"Standard 26 Bit", "standard 26 bit", true},
		{"  HID   26 bit\tCard ", "HID 26 bit Card", true},
		{"HID 26 bit Card", "HID 26 bitCard", false},
		{"HID 26 bit Card", "HID 26 bit Car", false},
		{"HID 26 bit Card ", "HID 26 bit Card x", false},
		{"", "   ", true},
		{"É\u00a0x", "é x", true},
		{"a\xffb", "a\uFFFDb", true},
		{"ſ", "s", false},
		{"\u212a", "k", true},
	} {
		if got := sameName(c.a, c.b); got != c.want || got != (normName(c.a) == normName(c.b)) {
			t.Errorf("sameName(%q, %q) = %v, want %v (normName: %q, %q)", c.a, c.b, got, c.want, normName(c.a), normName(c.b))
		}
	}
}

func FuzzSameName(f *testing.F) {
	f.Add("Standard 26 Bit", "standard  26 bit")
	f.Add("HID\u00a0Corporate 1000", "hid corporate\t1000 ")
	f.Add("a\xffb", "A\uFFFDB")
	f.Fuzz(func(t *testing.T, a, b string) {
		if got, want := sameName(a, b), normName(a) == normName(b); got != want {
			t.Errorf("sameName(%q, %q) = %v; normName gives %q, %q", a, b, got, normName(a), normName(b))
		}
	})
}
