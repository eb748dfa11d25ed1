package brivo

import (
	"context"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
	"github.com/acsbridge/acsbridge/wiegand"
)

// catalog caches the account's groups and credential formats for the
// cache TTL (WithCacheTTL, default DefaultCacheTTL). Each is loaded once
// however many callers need it at the same moment, and loaded again
// before a group or format missing from it is refused, or after Brivo
// refused a group taken from it.
type catalog struct {
	groups  acshttp.Catalog[map[int64]string]
	formats acshttp.Catalog[[]brivoFormat]
}

// brivoFormat is a credential format of the account.
type brivoFormat struct {
	id            int64
	name          string
	cardField     int64 // ID of the card_number field; 0 when absent
	facilityField int64 // ID of the facility_code field; 0 when absent
	card          acs.CardFormat
}

// brivoFormatNames lists the Brivo format names of each card format, in
// order of preference. H10301's name changed between the 2017 catalogue
// and the current documentation; H10302 and H10306 have no unambiguous
// Brivo format.
func brivoFormatNames(f acs.CardFormat) []string {
	switch f {
	case acs.H10301:
		return []string{"Standard 26 Bit", "HID 26 bit Card"}
	case acs.H10304:
		return []string{"HID 37 Bit w/ Fac. Code"}
	case acs.Corp1000_35:
		return []string{"HID Corporate 1000"}
	case acs.Corp1000_48:
		return []string{"HID Corporate 1000 48-bit"}
	}
	return nil
}

// normName compares format names without case or repeated spaces.
func normName(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

// sameName reports whether normName(a) == normName(b), without building
// either.
func sameName(a, b string) bool {
	x, y := nameRunes{s: a}, nameRunes{s: b}
	for {
		r1, ok1 := x.next()
		r2, ok2 := y.next()
		if ok1 != ok2 || r1 != r2 {
			return false
		}
		if !ok1 {
			return true
		}
	}
}

// nameRunes reads the runes of normName(s) one at a time: lowered,
// words separated by one space, invalid UTF-8 read as U+FFFD.
type nameRunes struct {
	s     string
	i     int
	words bool // a word was read
	space bool // spaces follow the last word read
}

// next returns the next rune, or false at the end.
func (n *nameRunes) next() (rune, bool) {
	for n.i < len(n.s) {
		r, w := utf8.DecodeRuneInString(n.s[n.i:])
		r = unicode.ToLower(r)
		if unicode.IsSpace(r) {
			n.space = n.words
			n.i += w
			continue
		}
		if n.space {
			n.space = false
			return ' ', true
		}
		n.words = true
		n.i += w
		return r, true
	}
	return 0, false
}

// cardFormatOf maps a Brivo format name to the card format it encodes, or
// to the zero CardFormat when it encodes none the SDK knows.
func cardFormatOf(name string) acs.CardFormat {
	n := normName(name)
	for _, f := range wiegand.Formats() {
		for _, cand := range brivoFormatNames(f) {
			if normName(cand) == n {
				return f
			}
		}
	}
	return 0
}

// fieldKind tells card_number from facility_code, tolerating the
// "acs.cards.format." prefix listings put on field names.
func fieldKind(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return strings.ToLower(name)
}

func newBrivoFormat(j formatJSON) brivoFormat {
	f := brivoFormat{id: j.ID, name: j.Name, card: cardFormatOf(j.Name)}
	for _, fl := range j.CredentialFields {
		switch fieldKind(fl.Name) {
		case "card_number":
			f.cardField = fl.ID
		case "facility_code":
			f.facilityField = fl.ID
		}
	}
	return f
}

// groupLoader lists every group, for the group catalogue.
func (p *Provider) groupLoader(op string) func(context.Context) (map[int64]string, error) {
	return func(ctx context.Context) (map[int64]string, error) {
		items, err := listAll[idName](ctx, p, op, "/groups", "")
		if err != nil {
			return nil, err
		}
		m := make(map[int64]string, len(items))
		for _, g := range items {
			m[g.ID] = g.Name
		}
		return m, nil
	}
}

// loadGroups lists every group and refreshes the cache.
func (p *Provider) loadGroups(ctx context.Context, op string) ([]idName, error) {
	items, err := listAll[idName](ctx, p, op, "/groups", "")
	if err != nil {
		return nil, err
	}
	m := make(map[int64]string, len(items))
	for _, g := range items {
		m[g.ID] = g.Name
	}
	p.cat.groups.Set(m)
	return items, nil
}

// ensureGroups checks that every group exists, listing the groups when the
// cache is stale or lacks one of them (one listing for every caller that
// needs it at that moment). A missing group is NotFound.
func (p *Provider) ensureGroups(ctx context.Context, op string, ids []int64) error {
	groups, gen, ok := p.cat.groups.Fresh()
	if !ok {
		var err error
		if groups, gen, err = p.cat.groups.Get(ctx, p.groupLoader(op)); err != nil {
			return err
		}
	}
	if missing(groups, ids) != 0 {
		var err error
		if groups, _, err = p.cat.groups.Reload(ctx, gen, p.groupLoader(op)); err != nil {
			return err
		}
	}
	if id := missing(groups, ids); id != 0 {
		return acs.Errorf(op, Name, acs.NotFound, "access level %d does not exist: no Brivo group has this ID", id)
	}
	return nil
}

// missing returns the first of ids absent from groups, or 0.
func missing(groups map[int64]string, ids []int64) int64 {
	for _, id := range ids {
		if _, ok := groups[id]; !ok {
			return id
		}
	}
	return 0
}

// formatLoader lists the credential formats, for the format catalogue.
func (p *Provider) formatLoader(op string) func(context.Context) ([]brivoFormat, error) {
	return func(ctx context.Context) ([]brivoFormat, error) {
		items, err := listAll[formatJSON](ctx, p, op, "/credentials/formats", "")
		if err != nil {
			return nil, err
		}
		fs := make([]brivoFormat, 0, len(items))
		for _, j := range items {
			fs = append(fs, newBrivoFormat(j))
		}
		return fs, nil
	}
}

// loadFormats lists the credential formats afresh (a listing started
// after the call, shared with the callers asking at the same moment) and
// refreshes the cache.
func (p *Provider) loadFormats(ctx context.Context, op string) ([]brivoFormat, error) {
	_, gen, _ := p.cat.formats.Peek()
	fs, _, err := p.cat.formats.Reload(ctx, gen, p.formatLoader(op))
	return fs, err
}

// cachedFormat returns the cached format with the given ID, if any.
func (c *catalog) cachedFormat(id int64) *brivoFormat {
	fs, _, _ := c.formats.Peek()
	for i := range fs {
		if fs[i].id == id {
			f := fs[i]
			return &f
		}
	}
	return nil
}

func pickFormat(fs []brivoFormat, card acs.CardFormat, credType int64) (brivoFormat, bool) {
	if credType != 0 {
		for _, f := range fs {
			if f.id == credType {
				return f, true
			}
		}
		return brivoFormat{}, false
	}
	for _, name := range brivoFormatNames(card) {
		for _, f := range fs {
			if sameName(f.name, name) {
				return f, true
			}
		}
	}
	return brivoFormat{}, false
}

// resolveFormat finds the Brivo credential format for a card: the one with
// ID credType when it is set, else the one named for the card's format.
func (p *Provider) resolveFormat(ctx context.Context, op string, card acs.Card, credType int64) (brivoFormat, error) {
	names := brivoFormatNames(card.Format)
	if credType == 0 && len(names) == 0 {
		return brivoFormat{}, acs.Errorf(op, Name, acs.Unsupported,
			"Brivo has no unambiguous credential format for %s: set Grant.CredentialType to a format ID listed by CredentialFormats", card.Format)
	}
	fs, gen, ok := p.cat.formats.Fresh()
	if !ok {
		var err error
		if fs, gen, err = p.cat.formats.Get(ctx, p.formatLoader(op)); err != nil {
			return brivoFormat{}, err
		}
	}
	if f, ok := pickFormat(fs, card.Format, credType); ok {
		return f, nil
	}
	// Not in the catalogue: perhaps added since it was loaded.
	fs, _, err := p.cat.formats.Reload(ctx, gen, p.formatLoader(op))
	if err != nil {
		return brivoFormat{}, err
	}
	if f, ok := pickFormat(fs, card.Format, credType); ok {
		return f, nil
	}
	if credType != 0 {
		return brivoFormat{}, acs.Errorf(op, Name, acs.NotFound, "credential format %d does not exist in this Brivo account", credType)
	}
	return brivoFormat{}, acs.Errorf(op, Name, acs.Unsupported,
		"this Brivo account has no credential format named %s for %s", quoteList(names), card.Format)
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, " or ")
}

// encodeCard returns the Wiegand frame of a valid card as Brivo's
// encodedCredential (hexadecimal, parity bits included).
func encodeCard(card acs.Card) (string, error) {
	fr, err := card.Frame()
	if err != nil {
		return "", err
	}
	return fr.Hex(), nil
}

// createBody is the POST /credentials body for a card: field values when
// the format has a card_number field (the path recorded in real traffic),
// the encoded frame otherwise.
func (f brivoFormat) createBody(card acs.Card, encoded string) createCredentialJSON {
	number := strconv.FormatUint(card.Number, 10)
	b := createCredentialJSON{CredentialFormat: formatRef{ID: f.id}, ReferenceID: number}
	if f.cardField == 0 {
		b.EncodedCredential = encoded
		return b
	}
	b.FieldValues = make([]fieldValueIn, 1, 2)
	b.FieldValues[0] = fieldValueIn{ID: f.cardField, Value: number}
	if f.facilityField != 0 {
		b.FieldValues = append(b.FieldValues, fieldValueIn{ID: f.facilityField, Value: strconv.FormatUint(card.Facility, 10)})
	}
	return b
}

func normHex(s string) string {
	s = strings.TrimLeft(strings.ToUpper(strings.TrimSpace(s)), "0")
	if s == "" {
		return "0"
	}
	return s
}

// matchCard reports whether a listed credential carries card: its encoded
// frame and its field values, where present, must agree, and at least one
// must be present. f, when known, is the credential's format: it names
// field values listed by ID only.
func matchCard(c credentialJSON, f *brivoFormat, card acs.Card, encoded string) bool {
	evidence := false
	if c.EncodedCredential != "" {
		if normHex(c.EncodedCredential) != normHex(encoded) {
			return false
		}
		evidence = true
	}
	number, facility := strconv.FormatUint(card.Number, 10), strconv.FormatUint(card.Facility, 10)
	for _, fv := range c.FieldValues {
		id := fv.ID
		if id == 0 {
			id = fv.CredentialFieldID
		}
		kind := fieldKind(fv.Name)
		if f != nil && kind == "" {
			switch id {
			case f.cardField:
				kind = "card_number"
			case f.facilityField:
				kind = "facility_code"
			}
		}
		switch kind {
		case "card_number":
			if string(fv.Value) != number {
				return false
			}
			evidence = true
		case "facility_code":
			if string(fv.Value) != facility {
				return false
			}
		}
	}
	return evidence
}
