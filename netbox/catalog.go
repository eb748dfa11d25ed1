package netbox

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// maxPages bounds a paged listing, in case a controller keeps answering
// with a next key.
const maxPages = 10000

// catalogs caches the access levels and card formats, each an
// acshttp.Catalog: one listing serves every caller that needs it at the
// moment it runs, and is kept for the cache TTL (WithCacheTTL).
type catalogs struct {
	levels  acshttp.Catalog[[]acs.AccessLevel]
	formats acshttp.Catalog[[]string]
}

// init sets the lifetime and the clock of the catalogues.
func (c *catalogs) init(ttl time.Duration, now func() time.Time) {
	c.levels.TTL, c.levels.Now = ttl, now
	c.formats.TTL, c.formats.Now = ttl, now
}

// AccessLevels lists every access level (GetAccessLevels with WANTKEY,
// all pages): each level's key as the ID, its name as the name. Provision
// takes the keys and assigns the levels by name, as the NBAPI does.
func (p *Provider) AccessLevels(ctx context.Context) ([]acs.AccessLevel, error) {
	const op = "access_levels"
	if err := ctx.Err(); err != nil {
		return nil, acs.Wrap(op, Name, acs.Canceled, err)
	}
	ls, err := p.readLevels(ctx, op)
	if err != nil {
		return nil, err
	}
	p.cat.levels.Set(ls)
	return slices.Clone(ls), nil
}

// levelLoader reads every access level, for the level catalogue.
func (p *Provider) levelLoader(op string) func(context.Context) ([]acs.AccessLevel, error) {
	return func(ctx context.Context) ([]acs.AccessLevel, error) { return p.readLevels(ctx, op) }
}

// readLevels reads every access level.
func (p *Provider) readLevels(ctx context.Context, op string) ([]acs.AccessLevel, error) {
	var out []acs.AccessLevel
	seen := map[string]bool{}
	start := ""
	for range maxPages {
		params := []param{pv("WANTKEY", "TRUE")}
		if start != "" {
			params = append(params, pv("STARTFROMKEY", start))
		}
		a, err := p.do(ctx, request{op: op, command: "GetAccessLevels", params: params, idempotent: true})
		if absent(err) {
			break // no (more) levels: the 6.2.0 answer to an empty list
		}
		if err != nil {
			return nil, err
		}
		for _, n := range a.details.child("ACCESSLEVELS").children("ACCESSLEVEL") {
			key, name := n.str("ACCESSLEVELKEY"), n.raw("ACCESSLEVELNAME")
			if key == "" {
				return nil, acs.Errorf(op, Name, acs.Unknown, "the controller listed an access level without its key")
			}
			if !seen[key] {
				seen[key] = true
				out = append(out, acs.AccessLevel{ID: key, Name: name})
			}
		}
		next := a.details.str("NEXTKEY")
		if next == "" || next == "-1" || next == start {
			break
		}
		start = next
	}
	return out, nil
}

// levels returns the level catalogue: the cached list while it is fresh,
// else a listing shared with the callers needing it at the same moment.
func (p *Provider) levels(ctx context.Context, op string) ([]acs.AccessLevel, uint64, error) {
	if ls, gen, ok := p.cat.levels.Fresh(); ok {
		return ls, gen, nil
	}
	return p.cat.levels.Get(ctx, p.levelLoader(op))
}

// levelNames maps access level keys to the names the NBAPI assigns them
// by. A key missing from a cached list makes it read the list again; a key
// the controller does not have is NotFound, a name two levels share a
// Conflict (NBAPI could not tell them apart).
func (p *Provider) levelNames(ctx context.Context, op string, keys []string) ([]string, error) {
	ls, gen, err := p.levels(ctx, op)
	if err != nil {
		return nil, err
	}
	if !allKeys(ls, keys) {
		// Perhaps added since the list was read: read it again.
		if ls, _, err = p.cat.levels.Reload(ctx, gen, p.levelLoader(op)); err != nil {
			return nil, err
		}
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		j := slices.IndexFunc(ls, func(l acs.AccessLevel) bool { return l.ID == k })
		if j < 0 {
			return nil, acs.Errorf(op, Name, acs.NotFound, "access level %q does not exist at the controller", k)
		}
		names[i] = ls[j].Name
		if err := p.checkShared(op, ls, k, names[i]); err != nil {
			return nil, err
		}
	}
	return names, nil
}

func (p *Provider) checkShared(op string, ls []acs.AccessLevel, key, name string) error {
	for _, l := range ls {
		if l.Name == name && l.ID != key {
			return acs.Errorf(op, Name, acs.Conflict, "access levels %s and %s share the name %q; the NBAPI assigns levels by name", key, l.ID, name)
		}
	}
	if strings.TrimSpace(name) == "" {
		return acs.Errorf(op, Name, acs.Unknown, "access level %s has no name at the controller", key)
	}
	return nil
}

func hasKey(ls []acs.AccessLevel, k string) bool {
	return slices.ContainsFunc(ls, func(l acs.AccessLevel) bool { return l.ID == k })
}

func allKeys(ls []acs.AccessLevel, keys []string) bool {
	for _, k := range keys {
		if !hasKey(ls, k) {
			return false
		}
	}
	return true
}

// levelKeys maps the level names a person holds back to keys (a name the
// list lacks is kept as it is, so that drift still shows).
func (p *Provider) levelKeys(ctx context.Context, op string, names []string) ([]string, error) {
	ls, _, err := p.levels(ctx, op)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		key := "name:" + n
		for _, l := range ls {
			if l.Name == n {
				key = l.ID
				break
			}
		}
		out = append(out, key)
	}
	return out, nil
}

// CredentialFormats lists the controller's card formats (GetCardFormats),
// each with its name as the ID and, when Config.Layouts maps it, the
// Wiegand layout. NBAPI cannot say whether a format is enabled.
func (p *Provider) CredentialFormats(ctx context.Context) ([]acs.CredentialFormat, error) {
	const op = "credential_formats"
	if err := ctx.Err(); err != nil {
		return nil, acs.Wrap(op, Name, acs.Canceled, err)
	}
	names, err := p.readFormats(ctx, op)
	if err != nil {
		return nil, err
	}
	p.cat.formats.Set(names)
	out := make([]acs.CredentialFormat, 0, len(names))
	for _, n := range names {
		f := acs.CredentialFormat{ID: n, Name: n}
		if l, ok := p.layoutByName(n); ok {
			f.Format = l.Format
		}
		out = append(out, f)
	}
	return out, nil
}

// readFormats reads the card format names.
func (p *Provider) readFormats(ctx context.Context, op string) ([]string, error) {
	a, err := p.do(ctx, request{op: op, command: "GetCardFormats", idempotent: true})
	if err != nil && !absent(err) {
		return nil, err
	}
	names := []string{}
	for _, n := range a.details.child("CARDFORMATS").children("CARDFORMAT") {
		if n.raw("CARDFORMATNAME") != "" {
			names = append(names, n.raw("CARDFORMATNAME"))
		} else if strings.TrimSpace(n.text) != "" {
			names = append(names, n.text)
		}
	}
	return names, nil
}

// checkFormat makes sure the controller has the card format name
// (NotFound otherwise), reading the list again once when a cached one
// lacks it.
func (p *Provider) checkFormat(ctx context.Context, op, name string) error {
	load := func(ctx context.Context) ([]string, error) { return p.readFormats(ctx, op) }
	names, gen, ok := p.cat.formats.Fresh()
	if !ok {
		var err error
		if names, gen, err = p.cat.formats.Get(ctx, load); err != nil {
			return err
		}
	}
	if slices.Contains(names, name) {
		return nil
	}
	// Perhaps added since the list was read: read it again.
	names, _, err := p.cat.formats.Reload(ctx, gen, load)
	if err != nil {
		return err
	}
	if !slices.Contains(names, name) {
		return acs.Errorf(op, Name, acs.NotFound, "card format %q does not exist at the controller", name)
	}
	return nil
}

func (p *Provider) layoutByName(name string) (Layout, bool) {
	for _, l := range p.cfg.Layouts {
		if l.Name == name {
			return l, true
		}
	}
	return Layout{}, false
}

// cardOf reads a stored credential back as a card, through the layout of
// its format; ok is false when no layout maps the format or the encoded
// number does not fit it.
func (p *Provider) cardOf(format, encoded string) (acs.Card, bool) {
	l, ok := p.layoutByName(format)
	if !ok {
		return acs.Card{}, false
	}
	n, err := parseUint(encoded)
	if err != nil {
		return acs.Card{}, false
	}
	c := acs.Card{Format: l.Format, Facility: l.Facility, Number: n}
	return c, acs.ValidateCard(c) == nil
}

// Ping logs in when needed and sends GetAPIVersion, which tests the
// connection, the NBAPI settings and the credentials.
func (p *Provider) Ping(ctx context.Context) error {
	_, err := p.APIVersion(ctx)
	return withOp(err, "ping")
}

// APIVersion returns what GetAPIVersion answers, such as "6.2.0".
func (p *Provider) APIVersion(ctx context.Context) (string, error) {
	const op = "api_version"
	if err := ctx.Err(); err != nil {
		return "", acs.Wrap(op, Name, acs.Canceled, err)
	}
	a, err := p.do(ctx, request{op: op, command: "GetAPIVersion", idempotent: true})
	if err != nil {
		return "", err
	}
	return a.details.str("APIVERSION"), nil
}
