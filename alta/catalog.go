package alta

import (
	"context"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
	"github.com/acsbridge/acsbridge/wiegand"
)

// catalog caches the organisation's groups, credential types and card
// formats, each an acshttp.Catalog: one listing of a kind serves every
// caller that needs it at the moment it runs, and is kept for the cache
// TTL (WithCacheTTL).
type catalog struct {
	groups  acshttp.Catalog[map[int64]string]
	types   acshttp.Catalog[[]credType]
	formats acshttp.Catalog[[]cardFormat]
}

// init sets the lifetime and the clock of the three catalogues.
func (c *catalog) init(ttl time.Duration, now func() time.Time) {
	c.groups.TTL, c.groups.Now = ttl, now
	c.types.TTL, c.types.Now = ttl, now
	c.formats.TTL, c.formats.Now = ttl, now
}

type idNameJSON struct {
	ID   altaID `json:"id"`
	Name string `json:"name"`
}

// credType is an entry of GET /credentialTypes (§1.5).
type credType struct {
	ID        altaID `json:"id"`
	Name      string `json:"name"`
	ModelName string `json:"modelName"`
}

type formatFieldJSON struct {
	Name    string `json:"name"`
	MaxBits int    `json:"maxBits"`
}

// cardFormatJSON is an entry of GET /cardFormats (§1.5).
type cardFormatJSON struct {
	ID          altaID `json:"id"`
	Code        string `json:"code"`
	Name        string `json:"name"`
	NumBits     int    `json:"numBits"`
	Description *struct {
		NumBits int               `json:"numBits"`
		Fields  []formatFieldJSON `json:"fields"`
	} `json:"description"`
}

// cardFormat is a card format of the organisation and the Wiegand layout
// it was recognised as (zero when none).
type cardFormat struct {
	id            int64
	label         string
	card          acs.CardFormat
	facilityField string // the facility-like field's name, "" when none
}

// facilityNames are the field names that hold a facility (or company, or
// site) code in Alta's card fields (§1.5).
var facilityNames = []string{"facilityCode", "companyId", "companyCode", "siteCode"}

// recognise maps an Alta card format to the Wiegand layout whose bit
// length and field widths it has: the card-ID field, at most one
// facility-like field, and no other field. Names and codes are not
// trusted; they differ between organisations.
func recognise(j cardFormatJSON) cardFormat {
	f := cardFormat{id: int64(j.ID), label: j.Name}
	if f.label == "" {
		f.label = j.Code
	}
	if j.Description == nil {
		return f
	}
	n := j.NumBits
	if n == 0 {
		n = j.Description.NumBits
	}
	cardBits, facBits, facName, other := 0, 0, "", false
	for _, fl := range j.Description.Fields {
		switch {
		case fl.Name == "cardId" && cardBits == 0:
			cardBits = fl.MaxBits
		case slices.Contains(facilityNames, fl.Name) && facName == "":
			facBits, facName = fl.MaxBits, fl.Name
		default:
			other = true
		}
	}
	if other || cardBits == 0 {
		return f
	}
	for _, wf := range wiegand.Formats() {
		maxFC, _ := wf.MaxFacility()
		if wf.Bits() == n && bits.Len64(wf.MaxCard()) == cardBits && bits.Len64(maxFC) == facBits {
			f.card, f.facilityField = wf, facName
			return f
		}
	}
	return f
}

// loadGroups lists every group and refreshes the cache.
func (p *Provider) loadGroups(ctx context.Context, op string) ([]idNameJSON, error) {
	items, err := collect[idNameJSON](ctx, p, op, p.org("/groups"), nil)
	if err != nil {
		return nil, err
	}
	p.cat.groups.Set(groupMap(items))
	return items, nil
}

func groupMap(items []idNameJSON) map[int64]string {
	m := make(map[int64]string, len(items))
	for _, g := range items {
		m[int64(g.ID)] = g.Name
	}
	return m
}

// groupLoader lists every group, for the group catalogue.
func (p *Provider) groupLoader(op string) func(context.Context) (map[int64]string, error) {
	return func(ctx context.Context) (map[int64]string, error) {
		items, err := collect[idNameJSON](ctx, p, op, p.org("/groups"), nil)
		if err != nil {
			return nil, err
		}
		return groupMap(items), nil
	}
}

// missingGroup returns the first of ids absent from groups, or 0.
func missingGroup(groups map[int64]string, ids []int64) int64 {
	for _, id := range ids {
		if _, ok := groups[id]; !ok {
			return id
		}
	}
	return 0
}

// forgetGroups drops the group cache (a group vanished under us).
func (c *catalog) forgetGroups() { c.groups.Invalidate() }

// ensureGroups checks that every group exists, listing the groups when
// the cache is stale or lacks one of them (one listing for every caller
// that needs it at that moment). A missing group is NotFound.
func (p *Provider) ensureGroups(ctx context.Context, op string, ids []int64) error {
	groups, gen, ok := p.cat.groups.Fresh()
	if !ok {
		var err error
		if groups, gen, err = p.cat.groups.Get(ctx, p.groupLoader(op)); err != nil {
			return err
		}
	}
	if missingGroup(groups, ids) != 0 {
		var err error
		if groups, _, err = p.cat.groups.Reload(ctx, gen, p.groupLoader(op)); err != nil {
			return err
		}
	}
	if id := missingGroup(groups, ids); id != 0 {
		return acs.Errorf(op, Name, acs.NotFound, "access level %d does not exist: no Alta group has this ID", id)
	}
	return nil
}

// formatLoader lists the card formats, for the format catalogue.
func (p *Provider) formatLoader(op string) func(context.Context) ([]cardFormat, error) {
	return func(ctx context.Context) ([]cardFormat, error) {
		items, err := collect[cardFormatJSON](ctx, p, op, p.org("/cardFormats"), nil)
		if err != nil {
			return nil, err
		}
		fs := make([]cardFormat, 0, len(items))
		for _, j := range items {
			if j.ID > 0 {
				fs = append(fs, recognise(j))
			}
		}
		slices.SortFunc(fs, func(a, b cardFormat) int { return int(a.id - b.id) })
		return fs, nil
	}
}

// loadFormats lists the card formats afresh (a listing started after the
// call, shared with the callers asking at the same moment) and refreshes
// the cache.
func (p *Provider) loadFormats(ctx context.Context, op string) ([]cardFormat, error) {
	_, gen, _ := p.cat.formats.Peek()
	fs, _, err := p.cat.formats.Reload(ctx, gen, p.formatLoader(op))
	return fs, err
}

// cachedFormats returns the cached formats, or nil when the cache is stale.
func (c *catalog) cachedFormats() []cardFormat {
	fs, _, ok := c.formats.Fresh()
	if !ok {
		return nil
	}
	return fs
}

// formatByID returns the cached format with the given ID, if any.
func (c *catalog) formatByID(id int64) (cardFormat, bool) {
	fs, _, _ := c.formats.Peek()
	for _, f := range fs {
		if f.id == id {
			return f, true
		}
	}
	return cardFormat{}, false
}

// pickFormat chooses the format with ID want, or else the lowest-ID format
// recognised as the card's layout.
func pickFormat(fs []cardFormat, card acs.CardFormat, want int64) (cardFormat, bool) {
	for _, f := range fs {
		if want != 0 && f.id == want || want == 0 && f.card == card {
			return f, true
		}
	}
	return cardFormat{}, false
}

// resolveFormat finds the Alta card format for a card: the one with ID
// want when it is set, else the one recognised as the card's layout.
func (p *Provider) resolveFormat(ctx context.Context, op string, card acs.Card, want int64) (cardFormat, error) {
	fs, gen, fresh := p.cat.formats.Fresh()
	if !fresh {
		var err error
		if fs, gen, err = p.cat.formats.Get(ctx, p.formatLoader(op)); err != nil {
			return cardFormat{}, err
		}
	}
	f, ok := pickFormat(fs, card.Format, want)
	if !ok {
		// Not in the catalogue: perhaps added since it was loaded.
		fs, _, err := p.cat.formats.Reload(ctx, gen, p.formatLoader(op))
		if err != nil {
			return cardFormat{}, err
		}
		if f, ok = pickFormat(fs, card.Format, want); !ok && want != 0 {
			return cardFormat{}, acs.Errorf(op, Name, acs.NotFound, "card format %d does not exist in this Alta organisation", want)
		}
		if !ok {
			return cardFormat{}, acs.Errorf(op, Name, acs.Unsupported,
				"no card format of this Alta organisation has the layout of %s (%d bits); set Grant.CredentialType to a card format ID listed by CredentialFormats", card.Format, card.Format.Bits())
		}
	}
	if f.card != 0 && f.card != card.Format {
		return cardFormat{}, acs.Errorf(op, Name, acs.InvalidArgument, "card format %d (%s) is %s, the grant's card is %s", f.id, truncate(f.label), f.card, card.Format)
	}
	if f.card == 0 && f.facilityField == "" {
		if _, hasFacility := card.Format.MaxFacility(); hasFacility {
			f.facilityField = "facilityCode"
		}
	}
	return f, nil
}

// typeLoader lists the credential types, for the type catalogue.
func (p *Provider) typeLoader(op string) func(context.Context) ([]credType, error) {
	return func(ctx context.Context) ([]credType, error) {
		items, err := collect[credType](ctx, p, op, p.org("/credentialTypes"), nil)
		if err != nil {
			return nil, err
		}
		slices.SortFunc(items, func(a, b credType) int { return int(a.ID - b.ID) })
		return items, nil
	}
}

func pickType(ts []credType, model string) (int64, bool) {
	for _, t := range ts {
		if t.ID > 0 && strings.EqualFold(t.ModelName, model) {
			return int64(t.ID), true
		}
	}
	return 0, false
}

// typeID resolves the ID of the credential type of a model ("card") from
// GET /credentialTypes, never from a hard-coded number (§1.5): the lowest
// ID with that modelName.
func (p *Provider) typeID(ctx context.Context, op, model string) (int64, error) {
	ts, gen, fresh := p.cat.types.Fresh()
	if !fresh {
		var err error
		if ts, gen, err = p.cat.types.Get(ctx, p.typeLoader(op)); err != nil {
			return 0, err
		}
	}
	if id, ok := pickType(ts, model); ok {
		return id, nil
	}
	// Not in the catalogue: perhaps added since it was loaded.
	ts, _, err := p.cat.types.Reload(ctx, gen, p.typeLoader(op))
	if err != nil {
		return 0, err
	}
	if id, ok := pickType(ts, model); ok {
		return id, nil
	}
	return 0, acs.Errorf(op, Name, acs.Unsupported, "this Alta organisation lists no credential type with modelName %q", model)
}

// rawNumber is the card's Wiegand frame, parity included, in decimal: the
// value of Alta's card.number for a card of numBits bits.
func rawNumber(card acs.Card) (string, error) {
	fr, err := card.Frame()
	if err != nil {
		return "", err
	}
	return strconv.FormatUint(fr.Value, 10), nil
}
