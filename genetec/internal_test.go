package genetec

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
)

func TestEscapeValue(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Ada", "Ada"},
		{"Smith,Groups@abc", `Smith\,Groups\@abc`},
		{`a\b`, `a\\b`},
		{"(x){y}=*-$<>", `\(x\)\{y\}\=\*\-\$\<\>`},
		{"jr.@x.com", `jr.\@x.com`},
		{"Zoë 王", "Zoë 王"},
	} {
		got, err := escapeValue("f", c.in)
		if err != nil || got != c.want {
			t.Errorf("escapeValue(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"a#b", "a\x00", "a\nb", "\xff", "a\u2028b", "a\x7fb"} {
		if _, err := escapeValue("f", bad); err == nil {
			t.Errorf("escapeValue(%q) accepted", bad)
		}
	}
}

// FuzzEscapeValue checks that an escaped value parses back, in the
// simulator's strict parser, as exactly one value equal to the input.
//
//	go test -run '^$' -fuzz '^FuzzEscapeValue$' -fuzztime 60s ./genetec
func FuzzEscapeValue(f *testing.F) {
	for _, s := range []string{"Ada", "Smith,Groups@x", `\`, "a)b(c", "<x>y</x>", "$v", "{}", "=@-*", "#", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		esc, err := escapeValue("f", s)
		if err != nil {
			return
		}
		q := "entity=NewEntity(Cardholder),Name=" + esc + ",Guid"
		items, err := genetecsim.ParseQuery(q)
		if err != nil {
			t.Fatalf("%q escaped as %q does not parse: %v", s, esc, err)
		}
		if len(items) != 3 || items[1].Kind != genetecsim.KindSet || items[1].Name != "Name" || items[1].Value != s ||
			items[2].Kind != genetecsim.KindRead || items[2].Name != "Guid" {
			t.Fatalf("%q escaped as %q parses as %+v", s, esc, items)
		}
		// Through the URL and back.
		raw := qEscape(q)
		back, err := url.PathUnescape(raw)
		if err != nil || back != q {
			t.Fatalf("qEscape(%q) = %q does not decode back (%q, %v)", q, raw, back, err)
		}
	})
}

func TestGUID(t *testing.T) {
	want := "5a3e1f0c-9b7d-4c2a-8e61-0d4f2b7a9c11"
	for _, in := range []string{want, "5a3e1f0c9b7d4c2a8e610d4f2b7a9c11", "{5A3E1F0C-9B7D-4C2A-8E61-0D4F2B7A9C11}"} {
		g, ok := parseGUID(in)
		if !ok || g.String() != want || g.Hex() != strings.ReplaceAll(want, "-", "") {
			t.Errorf("parseGUID(%q) = %v, %v", in, g, ok)
		}
	}
	for _, bad := range []string{"", "xyz", "5a3e1f0c-9b7d-4c2a-8e61-0d4f2b7a9c1", "5a3e1f0c_9b7d-4c2a-8e61-0d4f2b7a9c11", "5a3e1f0c9b7d4c2a8e610d4f2b7a9c1g"} {
		if _, ok := parseGUID(bad); ok {
			t.Errorf("parseGUID(%q) accepted", bad)
		}
	}
}

func TestOwnsKey(t *testing.T) {
	for _, c := range []struct {
		name, key string
		want      bool
	}{
		{"Ada Lovelace [visit-1]", "visit-1", true},
		{`Ada Lovelace [visit\-1]`, "visit-1", true}, // a server that keeps escapes
		{"Ada Lovelace [visit-12]", "visit-1", false},
		{"Mallory [visit-1] [visit-2]", "visit-1", false},
		{"[visit-1]", "visit-1", true},
		{"Visit-1 [Visit-1]", "visit-1", false},
	} {
		if got := ownsKey(c.name, c.key); got != c.want {
			t.Errorf("ownsKey(%q, %q) = %v", c.name, c.key, got)
		}
	}
}

func TestUndecodedWiegand(t *testing.T) {
	got, err := undecodedWiegand(cardSpecs[acs.H10301], acs.Card{Format: acs.H10301, Facility: 1, Number: 200})
	want := "<UndecodedWiegand><BitLength>26</BitLength><FormatType>00000000-0000-0000-0000-000000000200</FormatType><Raw>00000000000000000000000002020190</Raw></UndecodedWiegand>"
	if err != nil || got != want {
		t.Fatalf("got %q, %v", got, err)
	}
	got, err = undecodedWiegand(cardSpecs[acs.H10302], acs.Card{Format: acs.H10302, Number: 12345})
	if err != nil || !strings.Contains(got, "<BitLength>37</BitLength><FormatType>"+FormatH10302+"</FormatType>") {
		t.Fatalf("H10302: %q, %v", got, err)
	}
}

func TestWireTime(t *testing.T) {
	at := time.Date(2025, 3, 10, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	if s := wireTime(at); s != "2025-03-10T09:00:00Z" {
		t.Fatal(s)
	}
	for _, s := range []string{"2025-03-10T09:00:00Z", "2025-03-10T09:00:00", "2025-03-10T10:00:00+01:00", "2025-03-10T09:00:00.000"} {
		got, ok := parseWireTime(s)
		if !ok || !got.Equal(at) {
			t.Errorf("parseWireTime(%q) = %v, %v", s, got, ok)
		}
	}
}

func TestParseEnvelope(t *testing.T) {
	env, ok, err := parseEnvelope([]byte(`{"Rsp":{"Status":"Ok","Result":{"Guid":"x"}}}`))
	if !ok || err != nil || env.Status != "Ok" || string(env.Result) != `{"Guid":"x"}` {
		t.Fatalf("%+v %v %v", env, ok, err)
	}
	if _, ok, err := parseEnvelope([]byte(`{"rsp":{"status":"ok","Guid":"x"}}`)); ok || err != errLegacyJSON {
		t.Fatalf("legacy JSON: %v %v", ok, err)
	}
	if _, ok, _ := parseEnvelope([]byte(`<rsp status="ok"/>`)); ok {
		t.Fatal("XML taken as an envelope")
	}
}

func TestResultShapes(t *testing.T) {
	one, err := objects(json.RawMessage(`{"Guid":"5a3e1f0c9b7d4c2a8e610d4f2b7a9c11"}`))
	if err != nil || len(one) != 1 {
		t.Fatal(one, err)
	}
	many, err := objects(json.RawMessage(`[{"Guid":"a"},{"Guid":"b"}]`))
	if err != nil || len(many) != 2 {
		t.Fatal(many, err)
	}
	none, err := objects(nil)
	if err != nil || none != nil {
		t.Fatal(none, err)
	}
	g1 := "5a3e1f0c-9b7d-4c2a-8e61-0d4f2b7a9c11"
	g2 := "c7d2e8a41f3b4e59a6c08b9d7e2f4a36"
	for _, raw := range []string{
		`{"Groups":["` + g1 + `","` + g2 + `"]}`,
		`{"Groups":[{"Guid":"` + g1 + `"},{"Guid":"` + g2 + `"}]}`,
		`{"groups":{"item":[{"Guid":"` + g1 + `"},{"Guid":"` + g2 + `"}]}}`,
	} {
		var o object
		if err := json.Unmarshal([]byte(raw), &o); err != nil {
			t.Fatal(err)
		}
		got := o.guids("Groups")
		if len(got) != 2 || got[0].String() != g1 || got[1].Hex() != g2 {
			t.Errorf("%s: %v", raw, got)
		}
	}
}

func TestClassifySdkCode(t *testing.T) {
	for code, want := range map[string]acs.Code{
		"InvalidOperation":       acs.InvalidArgument,
		"UnknownEntity":          acs.NotFound,
		"EntityNotFound":         acs.NotFound,
		"AccessDenied":           acs.PermissionDenied,
		"InsufficientPrivileges": acs.PermissionDenied,
		"LicenseLimitReached":    acs.PermissionDenied,
		"Timeout":                acs.Unavailable,
		"Something":              acs.Unknown,
	} {
		if got, _ := classifySdkCode(code); got != want {
			t.Errorf("%s: %v, want %v", code, got, want)
		}
	}
}

func TestParseBound(t *testing.T) {
	for s, want := range map[string]time.Time{
		"2025-03-10T09:00:00Z":        time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC),
		"2025-03-10T09:00:00":         time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC),
		"0001-01-01T00:00:00":         {},
		"0001-01-01T00:00:00Z":        {},
		"9999-12-31T23:59:59.9999999": {},
		"":                            {},
		"soon":                        {},
	} {
		if got := parseBound(s); !got.Equal(want) {
			t.Errorf("parseBound(%q) = %v, want %v", s, got, want)
		}
	}
	// A credential whose expiration reads as MinValue is not expired.
	c := toCred(object{"Guid": json.RawMessage(`"5a3e1f0c9b7d4c2a8e610d4f2b7a9c11"`), "CardholderGuid": json.RawMessage(`"5a3e1f0c9b7d4c2a8e610d4f2b7a9c12"`),
		"State": json.RawMessage(`"Active"`), "ExpirationDate": json.RawMessage(`"0001-01-01T00:00:00"`)})
	if !c.heldAt(time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("%+v not held", c)
	}
}

func TestClassifyFail(t *testing.T) {
	for _, c := range []struct {
		status        int
		code, message string
		want          acs.Code
	}{
		{200, "InvalidOperation", "Unable to find entity 0badc0de00004000800000000000f00d", acs.NotFound},
		{200, "InvalidOperation", "Could not find entity '0badc0de-0000-4000-8000-00000000f00d'", acs.NotFound},
		{200, "InvalidOperation", "Entity '0badc0de-0000-4000-8000-00000000f00d' was not found", acs.NotFound},
		{200, "InvalidOperation", "The entity 0badc0de does not exist", acs.NotFound},
		{200, "InvalidOperation", "Could not find property 'Page' from filter: 'Page=1'", acs.InvalidArgument},
		{200, "InvalidOperation", "The property ActivationDate has no setter", acs.InvalidArgument},
		{200, "InvalidOperation", "The user does not have the privilege to modify cardholders", acs.PermissionDenied},
		{200, "InvalidOperation", "The operation timed out", acs.Unavailable},
		{200, "", "Unable to find entity x", acs.NotFound},
		{200, "UnknownEntity", "", acs.NotFound},
		{200, "Weird", "odd", acs.Unknown},
		{500, "InvalidOperation", "Unable to find entity x", acs.Unavailable},
		{503, "InvalidOperation", "", acs.Unavailable},
		{401, "InvalidOperation", "", acs.Unauthenticated},
		{403, "InvalidOperation", "", acs.PermissionDenied},
		{429, "InvalidOperation", "", acs.RateLimited},
		{404, "InvalidOperation", "Could not find property 'X'", acs.InvalidArgument},
	} {
		if got, _ := classifyFail(c.status, c.code, c.message); got != c.want {
			t.Errorf("%d %s %q: %v, want %v", c.status, c.code, c.message, got, c.want)
		}
	}
}

func TestExistsAnswerShapes(t *testing.T) {
	for raw, want := range map[string][2]bool{
		`true`: {true, true}, `false`: {false, true}, `"True"`: {true, true}, `" false "`: {false, true},
		`{"Exists":true}`: {true, true}, `{"exist":"False"}`: {false, true}, `{"Value":false}`: {false, true},
		`null`: {false, false}, ``: {false, false}, `1`: {false, false}, `"yes"`: {false, false},
		`{"Guid":"x"}`: {false, false}, `{"Exists":null}`: {false, false}, `[true]`: {false, false},
	} {
		v, ok := existsAnswer(json.RawMessage(raw))
		if [2]bool{v, ok} != want {
			t.Errorf("%s: %v %v, want %v", raw, v, ok, want)
		}
	}
}

func TestCredInfoHeldAt(t *testing.T) {
	now := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	h := guid{1}
	for _, c := range []struct {
		c    credInfo
		want bool
	}{
		{credInfo{holder: h, state: "Active", until: now.Add(time.Hour)}, true},
		{credInfo{holder: h, state: "Active"}, true},
		{credInfo{state: "Active", until: now.Add(time.Hour)}, false},
		{credInfo{holder: h, state: "Expired"}, false},
		{credInfo{holder: h, state: "Active", until: now}, false},
		{credInfo{holder: h, state: "Inactive", until: now.Add(time.Hour)}, false},
		{credInfo{holder: h, state: "Inactive", from: now.Add(time.Hour), until: now.Add(2 * time.Hour)}, true},
		{credInfo{holder: h, state: "Lost"}, false},
	} {
		if got := c.c.heldAt(now); got != c.want {
			t.Errorf("%+v: %v", c.c, got)
		}
	}
}
