package genetec

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/acsbridge/acsbridge/acs"
)

// guid is a Security Center entity GUID.
type guid [16]byte

var zeroGUID guid

// parseGUID accepts the 32-hex form and the dashed 8-4-4-4-12 form, with or
// without braces, in any case.
func parseGUID(s string) (guid, bool) {
	var g guid
	if len(s) == 38 && s[0] == '{' && s[37] == '}' {
		s = s[1:37]
	}
	var h [32]byte
	switch len(s) {
	case 32:
		copy(h[:], s)
	case 36:
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return g, false
		}
		copy(h[0:8], s[0:8])
		copy(h[8:12], s[9:13])
		copy(h[12:16], s[14:18])
		copy(h[16:20], s[19:23])
		copy(h[20:32], s[24:36])
	default:
		return g, false
	}
	if _, err := hex.Decode(g[:], h[:]); err != nil {
		return g, false
	}
	return g, true
}

// Hex returns the 32-hex form sent in requests (the developer guide: the
// dashes in GUIDs must be escaped or removed in an HTTP request).
func (g guid) Hex() string { return hex.EncodeToString(g[:]) }

// String returns the dashed lower-case form returned to callers.
func (g guid) String() string {
	h := g.Hex()
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// escapeChars are the characters of the Web SDK query language that are
// backslash-escaped inside values: the developer guide's operators
// (, = ( ) { } @ - * \) plus '$' (multipart variables) and '<' '>' (XML
// literals). '.' (a method call on the preceding item) is left alone: it
// acts only together with '(', which is always escaped, and it is in
// nearly every e-mail address.
const escapeChars = `\,(){}=@-*$<>`

// escapeValue makes free text safe to place after '=' in a q= expression:
// every operator character is prefixed with a backslash. '#' (excluded by
// the query language), control characters, line and paragraph
// separators and invalid UTF-8 are refused, since no escape is documented
// for them.
func escapeValue(field, s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%s is not valid UTF-8", field)
	}
	n := 0
	for i, r := range s {
		switch {
		case r == '#':
			return "", fmt.Errorf("%s contains '#', which the Web SDK query language excludes", field)
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			return "", fmt.Errorf("%s has control character %U at byte %d", field, r, i)
		case r < utf8.RuneSelf && strings.IndexByte(escapeChars, byte(r)) >= 0:
			n++
		}
	}
	if n == 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s) + n)
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(escapeChars, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String(), nil
}

// wireTime formats a DateTime for the Web SDK: ISO-8601 in UTC, to the
// second, with an explicit Z so that no server-side time zone applies.
func wireTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// parseWireTime reads a DateTime from a result: RFC 3339, or ISO-8601
// without an offset, taken as UTC.
func parseWireTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05.999999999Z07"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseBound reads an ActivationDate or ExpirationDate. Besides null or
// an absent field, .NET's DateTime.MinValue (0001-01-01) and MaxValue
// (9999-12-31) are read as no bound: a serializer that cannot write null
// for "no activation period" writes one of those.
func parseBound(s string) time.Time {
	t, ok := parseWireTime(s)
	if !ok || t.Year() <= 1 || t.Year() >= 9999 {
		return time.Time{}
	}
	return t
}

// cardSpec is Security Center's raw Wiegand form of an acs card format.
type cardSpec struct {
	formatType string // card format GUID in <FormatType>
	name       string // as CredentialFormats lists it
}

// Card format GUIDs of Security Center's built-in formats.
const (
	FormatStandard26 = "00000000-0000-0000-0000-000000000200" // Standard 26 bits (HID H10301)
	FormatH10302     = "00000000-0000-0000-0000-000000000400" // HID H10302 37 bits
)

var cardSpecs = map[acs.CardFormat]cardSpec{
	acs.H10301: {FormatStandard26, "Standard 26 bits"},
	acs.H10302: {FormatH10302, "HID H10302 37 bits"},
}

// undecodedWiegand returns the Format value of a credential carrying c:
// the raw frame, parity included, as 32 hex digits.
func undecodedWiegand(spec cardSpec, c acs.Card) (string, error) {
	fr, err := c.Frame()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("<UndecodedWiegand><BitLength>%d</BitLength><FormatType>%s</FormatType><Raw>%032X</Raw></UndecodedWiegand>",
		fr.Len, spec.formatType, fr.Value), nil
}

// credentialName is the Name given to a credential: the card itself
// ("H10301 42/1001"), which is how a card is found again.
func credentialName(c acs.Card) string { return c.String() }

// keyToken is the part of a cardholder's Name that carries the caller's
// external ID.
func keyToken(externalID string) string { return "[" + externalID + "]" }

// cardholderName is "First Last [external-id]".
func cardholderName(first, last, externalID string) string {
	n := strings.TrimSpace(first + " " + last)
	if n == "" {
		return keyToken(externalID)
	}
	return n + " " + keyToken(externalID)
}

// ownsKey reports whether a cardholder Name carries the external ID. The
// token must end the name, so a person's name cannot claim another key.
// The escaped form is accepted too, in case a server stores backslash
// escapes literally (undocumented either way).
func ownsKey(name, externalID string) bool {
	if strings.HasSuffix(name, keyToken(externalID)) {
		return true
	}
	esc, err := escapeValue("external ID", externalID)
	return err == nil && esc != externalID && strings.HasSuffix(name, keyToken(esc))
}

// qBuilder assembles a q= expression.
type qBuilder struct{ b strings.Builder }

func (q *qBuilder) item(parts ...string) {
	if q.b.Len() > 0 {
		q.b.WriteByte(',')
	}
	for _, p := range parts {
		q.b.WriteString(p)
	}
}

func (q *qBuilder) String() string { return q.b.String() }
func (q *qBuilder) Len() int       { return q.b.Len() }
