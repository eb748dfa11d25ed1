package alta

import (
	"context"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/wiegand"
)

// catalog caches the organisation's groups, credential types and card
// formats. Each has its own fetch lock, so one listing of each kind runs
// at a time.
type catalog struct {
	ttl time.Duration

	mu        sync.Mutex
	groups    map[int64]string
	groupsAt  time.Time
	types     []credType
	typesAt   time.Time
	formats   []cardFormat
	formatsAt time.Time

	groupFetch  sync.Mutex
	typeFetch   sync.Mutex
	formatFetch sync.Mutex
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
	m := make(map[int64]string, len(items))
	for _, g := range items {
		m[int64(g.ID)] = g.Name
	}
	p.cat.mu.Lock()
	p.cat.groups, p.cat.groupsAt = m, p.now()
	p.cat.mu.Unlock()
	return items, nil
}

// missingGroups returns the IDs absent from the cache, whether the cache
// is fresh, and when it was filled.
func (c *catalog) missingGroups(ids []int64, now time.Time) (missing []int64, fresh bool, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		if _, ok := c.groups[id]; !ok {
			missing = append(missing, id)
		}
	}
	return missing, c.groups != nil && now.Sub(c.groupsAt) < c.ttl, c.groupsAt
}

// forgetGroups drops the group cache (a group vanished under us).
func (c *catalog) forgetGroups() {
	c.mu.Lock()
	c.groups = nil
	c.mu.Unlock()
}

// ensureGroups checks that every group exists, listing the groups when
// the cache is stale or lacks one of them. A missing group is NotFound.
func (p *Provider) ensureGroups(ctx context.Context, op string, ids []int64) error {
	missing, fresh, seen := p.cat.missingGroups(ids, p.now())
	if fresh && len(missing) == 0 {
		return nil
	}
	p.cat.groupFetch.Lock()
	defer p.cat.groupFetch.Unlock()
	missing, fresh, at := p.cat.missingGroups(ids, p.now())
	if !(at.After(seen) && fresh && len(missing) == 0) {
		if _, err := p.loadGroups(ctx, op); err != nil {
			return err
		}
		missing, _, _ = p.cat.missingGroups(ids, p.now())
	}
	if len(missing) > 0 {
		return acs.Errorf(op, Name, acs.NotFound, "access level %d does not exist: no Alta group has this ID", missing[0])
	}
	return nil
}

// loadFormats lists the card formats and refreshes the cache.
func (p *Provider) loadFormats(ctx context.Context, op string) ([]cardFormat, error) {
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
	p.cat.mu.Lock()
	p.cat.formats, p.cat.formatsAt = fs, p.now()
	p.cat.mu.Unlock()
	return fs, nil
}

// cachedFormats returns the cached formats, or nil when the cache is stale.
func (c *catalog) cachedFormats(now time.Time) []cardFormat {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.formats == nil || now.Sub(c.formatsAt) >= c.ttl {
		return nil
	}
	return c.formats
}

// formatByID returns the cached format with the given ID, if any.
func (c *catalog) formatByID(id int64) (cardFormat, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.formats {
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
	f, ok := pickFormat(p.cat.cachedFormats(p.now()), card.Format, want)
	if !ok {
		p.cat.formatFetch.Lock()
		fs, err := p.loadFormats(ctx, op)
		p.cat.formatFetch.Unlock()
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

// loadTypes lists the credential types and refreshes the cache.
func (p *Provider) loadTypes(ctx context.Context, op string) ([]credType, error) {
	items, err := collect[credType](ctx, p, op, p.org("/credentialTypes"), nil)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(items, func(a, b credType) int { return int(a.ID - b.ID) })
	p.cat.mu.Lock()
	p.cat.types, p.cat.typesAt = items, p.now()
	p.cat.mu.Unlock()
	return items, nil
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
	p.cat.mu.Lock()
	fresh := p.cat.types != nil && p.now().Sub(p.cat.typesAt) < p.cat.ttl
	ts := p.cat.types
	p.cat.mu.Unlock()
	if id, ok := pickType(ts, model); fresh && ok {
		return id, nil
	}
	p.cat.typeFetch.Lock()
	ts, err := p.loadTypes(ctx, op)
	p.cat.typeFetch.Unlock()
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
