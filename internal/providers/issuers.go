package providers

import (
	"fmt"
	"strings"

	"github.com/acsbridge/acsbridge/acs"
)

// Issuer is a registry entry for a credential issuer: a system that issues
// credentials (HID Origo mobile IDs) but opens no doors of its own, so it
// is paired with a door provider of the registry. Wrap returns an
// acs.Provider in front of the door provider: acsctl's --issuer, and a
// site of the chaos suite, use it where a door provider would be used.
type Issuer struct {
	// Name is the issuer's name: acsctl's --issuer, and what the wrapped
	// provider's Name method returns.
	Name string
	// Product names the system.
	Product string
	// Settings lists the settings Wrap reads (beside the door provider's).
	Settings []Need
	// Minimum is the least number of requests the issuer's own protocol
	// needs per operation, beside the door provider's (zero: not stated).
	Minimum RoundTrips
	// Wrap builds the issuer in front of door. It sends no request. Use
	// Issuer.Build, which checks the required settings first.
	Wrap func(door acs.Provider, c Config, o Options) (acs.Provider, error)
	// SimConfig returns the configuration that reaches the issuer's
	// simulator served at origin with its default credentials.
	SimConfig func(origin string) Config
	// Simulate creates the issuer's simulator; serve its Handler at the
	// root of an origin. Levels and AddLevel are unset: the door provider
	// has the access levels.
	Simulate func(o SimOptions) *Simulator
}

// Issuers returns the registered credential issuers.
func Issuers() []*Issuer { return []*Issuer{Origo} }

// IssuerNames returns the issuers' names in the order of Issuers.
func IssuerNames() []string {
	var out []string
	for _, is := range Issuers() {
		out = append(out, is.Name)
	}
	return out
}

// LookupIssuer returns the issuer named name.
func LookupIssuer(name string) (*Issuer, bool) {
	for _, is := range Issuers() {
		if is.Name == name {
			return is, true
		}
	}
	return nil, false
}

// Missing returns the required settings c lacks, in the order of
// Settings.
func (is *Issuer) Missing(c Config) []Need {
	var out []Need
	for _, n := range is.Settings {
		if n.Required && c[n.Setting] == "" {
			out = append(out, n)
		}
	}
	return out
}

// Check returns a *ConfigError for the first required setting c lacks.
func (is *Issuer) Check(c Config) error {
	if m := is.Missing(c); len(m) > 0 {
		return &ConfigError{Provider: is.Name, Setting: m[0].Setting, Problem: "is required"}
	}
	return nil
}

// Uses reports whether the issuer reads setting s.
func (is *Issuer) Uses(s Setting) bool {
	for _, n := range is.Settings {
		if n.Setting == s {
			return true
		}
	}
	return false
}

// Build checks c and builds the issuer in front of door.
func (is *Issuer) Build(door acs.Provider, c Config, o Options) (acs.Provider, error) {
	if door == nil {
		return nil, fmt.Errorf("%s needs a door provider (--provider)", is.Name)
	}
	if err := is.Check(c); err != nil {
		return nil, err
	}
	return is.Wrap(door, c, o)
}

// Wrap builds the door provider named provider from c and, when issuer is
// not empty, the issuer of that name in front of it, both with o.
func Wrap(provider, issuer string, c Config, o Options) (acs.Provider, error) {
	door, err := New(provider, c, o)
	if err != nil || issuer == "" {
		return door, err
	}
	is, ok := LookupIssuer(issuer)
	if !ok {
		return nil, fmt.Errorf("%w issuer %q; want %s", ErrUnknown, issuer, strings.Join(IssuerNames(), ", "))
	}
	return is.Build(door, c, o)
}
