package verkada

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// cardType is a Verkada card type with a Wiegand layout the SDK knows.
type cardType struct {
	format acs.CardFormat
	name   string   // the name in Verkada's type list (§2.3), which the adapter sends
	alias  []string // short names some clients send and Verkada may answer (GDR)
}

// mappedTypes are the card types for acs card formats.
var mappedTypes = []cardType{
	{acs.H10301, "Standard 26-bit Wiegand", []string{"HID"}},
	{acs.H10306, "HID 34-bit", []string{"HID34"}},
	{acs.H10302, "HID 37-bit No Facility Code", []string{"HID37woFacilityCode"}},
	{acs.H10304, "HID 37-bit", []string{"HID37wFacilityCode"}},
	{acs.Corp1000_35, "HID Corporate 1000-35", []string{"Corporate1000_35"}},
	{acs.Corp1000_48, "HID Corporate 1000-48", []string{"Corporate1000_48"}},
}

// otherTypes are the rest of Verkada's list (§2.3); a grant may name one
// of them (or any newer type) in Grant.CredentialType.
var otherTypes = []string{
	"Casi Rusco 40-Bit", "HID iClass", "DESFire CSN", "Verkada DESFire", "Third Party DESFire 40X",
	"Apple Wallet Pass", "MiFare 4-Byte (32 bit) CSN", "Schlage 34-bit", "AWID 34-bit",
	"HID Infinity 37-bit", "iClass 35-bit",
}

// typeName returns the Verkada type name the adapter sends for format f.
func typeName(f acs.CardFormat) (string, bool) {
	for _, t := range mappedTypes {
		if t.format == f {
			return t.name, true
		}
	}
	return "", false
}

// canonicalType maps a type name or alias, in any case, to the name in
// Verkada's list; other names are returned unchanged.
func canonicalType(s string) string {
	s = strings.TrimSpace(s)
	for _, t := range mappedTypes {
		if strings.EqualFold(s, t.name) {
			return t.name
		}
		for _, a := range t.alias {
			if strings.EqualFold(s, a) {
				return t.name
			}
		}
	}
	return s
}

// formatOfType returns the acs card format of a Verkada type name or alias.
func formatOfType(s string) (acs.CardFormat, bool) {
	c := canonicalType(s)
	for _, t := range mappedTypes {
		if t.name == c {
			return t.format, true
		}
	}
	return 0, false
}

// CredentialFormats lists Verkada's card types (Verkada has no listing
// endpoint; the list is §2.3's). The ID is the type name, which
// Grant.CredentialType accepts; Format is set for the six types with a
// Wiegand layout the SDK knows. It makes no request.
func (p *Provider) CredentialFormats(ctx context.Context) ([]acs.CredentialFormat, error) {
	if err := ctx.Err(); err != nil {
		return nil, acs.Wrap("credential_formats", Name, acs.Canceled, err)
	}
	out := make([]acs.CredentialFormat, 0, len(mappedTypes)+len(otherTypes))
	for _, t := range mappedTypes {
		out = append(out, acs.CredentialFormat{ID: t.name, Name: t.name, Format: t.format})
	}
	for _, n := range otherTypes {
		out = append(out, acs.CredentialFormat{ID: n, Name: n})
	}
	return out, nil
}

// groupCache caches the access-group catalogue (ID → name).
type groupCache struct {
	ttl   time.Duration
	fetch sync.Mutex // one listing at a time

	mu     sync.Mutex
	groups map[string]string
	at     time.Time
}

func (c *groupCache) fresh(now time.Time) (map[string]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.groups, c.groups != nil && now.Sub(c.at) < c.ttl
}

func (c *groupCache) invalidate() {
	c.mu.Lock()
	c.groups = nil
	c.mu.Unlock()
}

// loadGroups lists every access group (all pages) and refreshes the cache.
func (p *Provider) loadGroups(ctx context.Context, op string) ([]acs.AccessLevel, error) {
	var out []acs.AccessLevel
	err := p.pages(ctx, op, "/access/v1/access_groups", nil, func(body []byte) error {
		var pg struct {
			Groups []groupRef `json:"access_groups"`
		}
		if err := json.Unmarshal(body, &pg); err != nil {
			return acs.Errorf(op, Name, acs.Unknown, "unreadable access-group listing")
		}
		for _, g := range pg.Groups {
			if g.GroupID != "" {
				out = append(out, acs.AccessLevel{ID: string(g.GroupID), Name: g.Name})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(out))
	for _, l := range out {
		m[l.ID] = l.Name
	}
	p.groups.mu.Lock()
	p.groups.groups, p.groups.at = m, p.now()
	p.groups.mu.Unlock()
	return out, nil
}

// ensureGroups checks that every group ID exists, from the cache when it
// is fresh and holds them all, else from a new listing. A missing group is
// NotFound.
func (p *Provider) ensureGroups(ctx context.Context, op string, ids []string) error {
	have := func(m map[string]string) string {
		for _, id := range ids {
			if _, ok := m[id]; !ok {
				return id
			}
		}
		return ""
	}
	if m, ok := p.groups.fresh(p.now()); ok && have(m) == "" {
		return nil
	}
	p.groups.fetch.Lock()
	defer p.groups.fetch.Unlock()
	if m, ok := p.groups.fresh(p.now()); ok && have(m) == "" {
		return nil // refreshed by another caller meanwhile
	}
	if _, err := p.loadGroups(ctx, op); err != nil {
		return err
	}
	m, _ := p.groups.fresh(p.now())
	if missing := have(m); missing != "" {
		return acs.Errorf(op, Name, acs.NotFound, "access level %q is not a Verkada access group", missing)
	}
	return nil
}

// Ping exchanges the API key (when no token is held) and lists the access
// groups, which checks the URL and region, the key and its Access read
// permission. It refreshes the group cache.
func (p *Provider) Ping(ctx context.Context) error {
	_, err := p.loadGroups(ctx, "ping")
	return err
}

// AccessLevels lists every Verkada access group (all pages) and refreshes
// the group cache.
func (p *Provider) AccessLevels(ctx context.Context) ([]acs.AccessLevel, error) {
	return p.loadGroups(ctx, "access_levels")
}

// AccessLevelByName returns the access group whose name is exactly name.
// No group is NotFound; several of that name are a Conflict.
func (p *Provider) AccessLevelByName(ctx context.Context, name string) (acs.AccessLevel, error) {
	const op = "access_level_by_name"
	if err := acs.ValidateText("access level name", name, 200); err != nil || name == "" {
		return acs.AccessLevel{}, acs.Errorf(op, Name, acs.InvalidArgument, "access level name is empty or not plain text")
	}
	all, err := p.loadGroups(ctx, op)
	if err != nil {
		return acs.AccessLevel{}, err
	}
	var found []acs.AccessLevel
	for _, l := range all {
		if l.Name == name {
			found = append(found, l)
		}
	}
	switch len(found) {
	case 0:
		return acs.AccessLevel{}, acs.Errorf(op, Name, acs.NotFound, "no Verkada access group is named %q", name)
	case 1:
		return found[0], nil
	}
	return acs.AccessLevel{}, acs.Errorf(op, Name, acs.Conflict, "%d Verkada access groups are named %q", len(found), name)
}
