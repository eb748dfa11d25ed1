package netbox

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// maxPages bounds a paged listing, in case a controller keeps answering
// with a next key.
const maxPages = 10000

// catalogs caches the access levels and card formats, guarded by mu.
type catalogs struct {
	mu        sync.Mutex
	levels    []acs.AccessLevel
	levelsAt  time.Time
	formats   []string
	formatsAt time.Time
}

// AccessLevels lists every access level (GetAccessLevels with WANTKEY,
// all pages): each level's key as the ID, its name as the name. Provision
// takes the keys and assigns the levels by name, as the NBAPI does.
func (p *Provider) AccessLevels(ctx context.Context) ([]acs.AccessLevel, error) {
	const op = "access_levels"
	if err := ctx.Err(); err != nil {
		return nil, acs.Wrap(op, Name, acs.Canceled, err)
	}
	ls, err := p.fetchLevels(ctx, op)
	if err != nil {
		return nil, err
	}
	return slices.Clone(ls), nil
}

// fetchLevels reads every access level and caches the list.
func (p *Provider) fetchLevels(ctx context.Context, op string) ([]acs.AccessLevel, error) {
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
	p.cat.mu.Lock()
	p.cat.levels, p.cat.levelsAt = out, p.now()
	p.cat.mu.Unlock()
	return out, nil
}

// cachedLevels returns the cached levels while they are fresh.
func (p *Provider) cachedLevels() ([]acs.AccessLevel, bool) {
	p.cat.mu.Lock()
	defer p.cat.mu.Unlock()
	if p.cat.levels == nil || p.now().Sub(p.cat.levelsAt) >= p.ttl {
		return nil, false
	}
	return p.cat.levels, true
}

// levelNames maps access level keys to the names the NBAPI assigns them
// by. A key missing from a cached list makes it read the list again; a key
// the controller does not have is NotFound, a name two levels share a
// Conflict (NBAPI could not tell them apart).
func (p *Provider) levelNames(ctx context.Context, op string, keys []string) ([]string, error) {
	ls, fresh := p.cachedLevels()
	if !fresh || !allKeys(ls, keys) {
		unlock, err := p.locks.Lock(ctx, "catalog:levels")
		if err != nil {
			return nil, acs.Wrap(op, Name, acs.Canceled, err)
		}
		ls, fresh = p.cachedLevels()
		if !fresh || !allKeys(ls, keys) {
			ls, err = p.fetchLevels(ctx, op)
		}
		unlock()
		if err != nil {
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
	ls, fresh := p.cachedLevels()
	if !fresh {
		var err error
		if ls, err = p.fetchLevels(ctx, op); err != nil {
			return nil, err
		}
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
	names, err := p.fetchFormats(ctx, op)
	if err != nil {
		return nil, err
	}
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

// fetchFormats reads the card format names and caches them.
func (p *Provider) fetchFormats(ctx context.Context, op string) ([]string, error) {
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
	p.cat.mu.Lock()
	p.cat.formats, p.cat.formatsAt = names, p.now()
	p.cat.mu.Unlock()
	return names, nil
}

// checkFormat makes sure the controller has the card format name
// (NotFound otherwise), reading the list again once when a cached one
// lacks it.
func (p *Provider) checkFormat(ctx context.Context, op, name string) error {
	p.cat.mu.Lock()
	names, at := p.cat.formats, p.cat.formatsAt
	p.cat.mu.Unlock()
	if names != nil && p.now().Sub(at) < p.ttl && slices.Contains(names, name) {
		return nil
	}
	unlock, err := p.locks.Lock(ctx, "catalog:formats")
	if err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	if names, err = p.fetchFormats(ctx, op); err != nil {
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
