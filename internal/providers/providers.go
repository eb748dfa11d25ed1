// Package providers is the registry of the SDK's adapters: each access
// control system the SDK speaks to is listed here once, with its name, the
// settings it needs (which of them are secrets), a constructor from those
// settings, and how to start its simulator. The command line (cmd/acsctl),
// the chaos suite (harness/chaos) and the benchmarks (harness/bench,
// cmd/acsbench) read this list instead of keeping their own.
//
// # Adding an adapter
//
// Write the adapter package and its simulator, then add one entry: a file
// here declaring a *Provider (see alta.go for the model) and its line in
// the list returned by All. The entry says:
//
//   - Name, as --provider and acs.Provider.Name spell it;
//   - Settings: which of the shared settings (URL, Username, Password,
//     APIKey, OrgID, …) it reads and which are required; a new kind of
//     setting is a new Setting constant;
//   - New: the adapter built from a Config and the common Options (TLS CA
//     file, insecure-skip-verify, plain http to remote hosts, HTTP client,
//     per-attempt timeout, clock, logger, retry, client rate limit);
//   - SimConfig and Simulate: the configuration that reaches the simulator
//     with its default credentials, and the simulator itself with the
//     controls the benchmarks use (latency, the vendor's rate limit, extra
//     access levels, the request log);
//   - Minimum: the protocol's least requests per operation, printed beside
//     the benchmarks' counts;
//   - AccessLevels, IDs and RevokeByCredentialID: what acsctl's users pass
//     and get back.
//
// acsctl then accepts --provider <name> and `acsctl simulate <name>`, and
// the benchmarks count its round trips. The chaos suite also needs the
// simulator's fault and oracle hooks (harness/chaos/kits.go); its test
// TestEveryProviderHasAKit fails until they exist.
//
// The package is test and tool support: it imports every adapter and
// simulator, so a VMS that embeds one adapter should construct it
// directly (genetec.New, alta.New, …) rather than through this registry.
package providers

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// Setting names one configuration value, as acsctl's flag spells it
// (--org-id) and the environment as ACS_<SETTING> (ACS_ORG_ID).
type Setting string

// The settings adapters read.
const (
	URL          Setting = "url"
	AuthURL      Setting = "auth-url"
	Username     Setting = "username"
	Password     Setting = "password"
	AppID        Setting = "app-id"
	DirectoryID  Setting = "directory-id"
	ClientID     Setting = "client-id"
	ClientSecret Setting = "client-secret"
	APIKey       Setting = "api-key"
	OrgID        Setting = "org-id"
	TimeZone     Setting = "time-zone"
	CardFormat   Setting = "card-format"
)

// The settings of the credential issuers (see Issuer), which reach a
// second system beside the door ACS.
const (
	OrigoURL          Setting = "origo-url"
	OrigoAuthURL      Setting = "origo-auth-url"
	OrigoOrg          Setting = "origo-org"
	OrigoClientID     Setting = "origo-client-id"
	OrigoClientSecret Setting = "origo-client-secret"
	OrigoAppID        Setting = "origo-app-id"
	OrigoPartNumber   Setting = "origo-part-number"
	OrigoCardFormat   Setting = "origo-card-format"
	OrigoFacilityCode Setting = "origo-facility-code"
)

var settings = []Setting{URL, Username, Password, AppID, DirectoryID, AuthURL, ClientID, ClientSecret, APIKey, OrgID, TimeZone, CardFormat,
	OrigoURL, OrigoAuthURL, OrigoOrg, OrigoClientID, OrigoClientSecret, OrigoAppID, OrigoPartNumber, OrigoCardFormat, OrigoFacilityCode}

// Settings returns every setting, in the order acsctl documents them.
func Settings() []Setting { return slices.Clone(settings) }

// Env returns the environment variable that carries the setting:
// ACS_ followed by its name in upper case with '-' as '_'.
func (s Setting) Env() string {
	return "ACS_" + strings.ToUpper(strings.ReplaceAll(string(s), "-", "_"))
}

// Key returns the setting's name with '-' as '_', the key under which
// `acsctl simulate` prints it.
func (s Setting) Key() string { return strings.ReplaceAll(string(s), "-", "_") }

// Secret reports whether the setting's value is a secret: never printed,
// never logged, redacted from errors, and best passed through the
// environment rather than the command line.
func (s Setting) Secret() bool {
	return s == Password || s == ClientSecret || s == APIKey || s == OrigoClientSecret
}

// Config holds the settings that reach one ACS. A missing key and an empty
// value are the same.
type Config map[Setting]string

// Clone returns a copy of c.
func (c Config) Clone() Config {
	out := make(Config, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

// Secrets returns the non-empty values of c's secret settings.
func (c Config) Secrets() []string {
	var out []string
	for _, s := range settings {
		if s.Secret() && c[s] != "" {
			out = append(out, c[s])
		}
	}
	return out
}

// Need is a setting a provider reads.
type Need struct {
	Setting  Setting
	Required bool
	// Help says what the setting holds for this provider.
	Help string
}

// Options tune how an adapter is built, whichever ACS it reaches. The zero
// value keeps every adapter default: TLS verification on, plain http only
// to loopback hosts, the adapter's own timeouts, retries and rate limit.
type Options struct {
	// CAFile is a PEM file of extra trusted root certificates.
	CAFile string
	// InsecureSkipVerify turns certificate verification off (lab use only).
	InsecureSkipVerify bool
	// AllowInsecureHTTP allows plain http to a host that is not loopback.
	AllowInsecureHTTP bool
	// HTTPClient replaces the adapter's HTTP client; CAFile,
	// InsecureSkipVerify and Timeout then do not apply.
	HTTPClient *http.Client
	// Timeout bounds each HTTP attempt (0: the adapter's default).
	Timeout time.Duration
	// Clock is the adapter's time (nil: time.Now).
	Clock func() time.Time
	// Logger receives the adapter's log lines (nil: none).
	Logger *slog.Logger
	// Retry, when set, replaces the adapter's HTTP-level retry policy.
	Retry *Retry
	// RateLimit, when set, replaces the adapter's client-side rate limit.
	RateLimit *RateLimit
	// Extra holds options of the adapters' own types (lenel.Option,
	// verkada.Option, …). Each adapter applies those of its type after the
	// common ones and ignores the others, so one Options can serve every
	// provider.
	Extra []any
}

// Retry is an HTTP-level retry policy.
type Retry struct {
	// Max is how often a request may be sent again.
	Max int
	// WaitMin and WaitMax bound the backoff between attempts.
	WaitMin, WaitMax time.Duration
}

// RateLimit is a client-side request rate.
type RateLimit struct {
	// PerSecond is the rate; zero or less turns the limiter off. An
	// adapter whose vendor counts per minute (Verkada) allows 60 times
	// this a rolling minute.
	PerSecond float64
	// Burst is the token bucket's burst (at least 1 is used).
	Burst int
}

// Provider is one registry entry.
type Provider struct {
	// Name is the provider's name: acsctl's --provider, and what the
	// adapter's Name method returns.
	Name string
	// Product names the access control system.
	Product string
	// Settings lists the settings New reads.
	Settings []Need
	// AccessLevels says what an access level ID is for this ACS.
	AccessLevels string
	// IDs says which of the ACS's own IDs Provision returns as the
	// cardholder and credential IDs (what Revoke takes back).
	IDs string
	// RevokeByCredentialID reports whether Revoke accepts a credential ID
	// alone; when false it also needs the cardholder ID (or the external
	// ID and the card), because the ACS addresses a credential under its
	// holder.
	RevokeByCredentialID bool
	// Minimum is the least number of requests the vendor's protocol
	// needs for the operations the benchmarks count, as the adapter's
	// documentation and BENCHMARKS.md derive it (zero: not stated).
	Minimum RoundTrips
	// New builds the adapter. It sends no request. Use Provider.New,
	// which checks the required settings first.
	New func(c Config, o Options) (acs.Provider, error)
	// SimConfig returns the configuration that reaches the provider's
	// simulator served at origin ("http://127.0.0.1:port") with the
	// simulator's default credentials.
	SimConfig func(origin string) Config
	// Simulate creates the provider's simulator with its default
	// credentials and seed data; serve its Handler at the root of an
	// origin.
	Simulate func(o SimOptions) *Simulator
}

// RoundTrips counts requests per operation.
type RoundTrips struct {
	// FirstProvision is a process's first provision of a new visitor
	// (login and catalogues included).
	FirstProvision int
	// Provision is a new visitor's provision once the session and the
	// catalogues are in place.
	Provision int
	// RepeatProvision repeats a provision with nothing to change.
	RepeatProvision int
	// Revoke revokes by the IDs Provision returned.
	Revoke int
}

// SimOptions configure a simulator.
type SimOptions struct {
	// Clock is the simulator's time (nil: time.Now).
	Clock func() time.Time
}

// Simulator is a running simulator and the controls the tools use.
type Simulator struct {
	// Handler serves the vendor API at the root of an origin.
	Handler http.Handler
	// Server is the simulator itself (*genetecsim.Server, …), for callers
	// that know its type.
	Server any
	// Levels are the IDs of the seeded access levels, the lobby first.
	Levels []string
	// AddLevel adds an access level.
	AddLevel func(name string)
	// SetLatency delays every request by d.
	SetLatency func(d time.Duration)
	// SetRateLimit answers requests beyond perSecond a second with the
	// simulator's over-limit answer, the vendor's where documented (0: no
	// limit). Nil when the simulator has no rate limit: a harness then
	// supplies a generic one.
	SetRateLimit func(perSecond int)
	// Throttled counts the over-limit answers of SetRateLimit's limit and
	// of injected faults (nil with SetRateLimit).
	Throttled func() int
	// Requests returns the simulator's request log; ResetRequests empties
	// it.
	Requests      func() []Call
	ResetRequests func()
}

// Call is one request in a simulator's log, in a provider-neutral form.
type Call struct {
	Method string
	Path   string // as the simulator logs it
	Query  string // the raw query
	Body   string
	// Meta summarises the headers the simulator logs (content type,
	// accept, authentication scheme), never a secret.
	Meta   string
	Status int
}

// String formats the call as "METHOD path?query body [meta]".
func (c Call) String() string {
	s := c.Method + " " + c.Path
	if c.Query != "" {
		s += "?" + c.Query
	}
	if c.Body != "" {
		s += " " + c.Body
	}
	if c.Meta != "" {
		s += " [" + c.Meta + "]"
	}
	return s
}

// All returns the registered providers in a stable order: the three first
// adapters, then the newer ones.
func All() []*Provider {
	return []*Provider{Genetec, Lenel, Brivo, Alta, Verkada, Netbox}
}

// Names returns the registered providers' names in the order of All.
func Names() []string {
	var out []string
	for _, p := range All() {
		out = append(out, p.Name)
	}
	return out
}

// Lookup returns the provider named name.
func Lookup(name string) (*Provider, bool) {
	for _, p := range All() {
		if p.Name == name {
			return p, true
		}
	}
	return nil, false
}

// ErrUnknown is returned (wrapped) for a provider name nobody registered.
var ErrUnknown = errors.New("unknown provider")

// New builds the adapter named name from c and o.
func New(name string, c Config, o Options) (acs.Provider, error) {
	p, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w %q; want %s", ErrUnknown, name, strings.Join(Names(), ", "))
	}
	return p.Build(c, o)
}

// Build checks c and builds the adapter.
func (p *Provider) Build(c Config, o Options) (acs.Provider, error) {
	if err := p.Check(c); err != nil {
		return nil, err
	}
	return p.New(c, o)
}

// ConfigError is a setting that is missing or malformed.
type ConfigError struct {
	Provider string
	Setting  Setting
	Problem  string // "is required", "must be a decimal organisation ID", …
}

// Error names the flag, the problem and the provider.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("--%s %s for %s", e.Setting, e.Problem, e.Provider)
}

// Check returns a *ConfigError for the first required setting c lacks;
// Missing lists them all.
func (p *Provider) Check(c Config) error {
	if m := p.Missing(c); len(m) > 0 {
		return &ConfigError{Provider: p.Name, Setting: m[0].Setting, Problem: "is required"}
	}
	return nil
}

// Missing returns every required setting c lacks, in the order of
// p.Settings, so that a tool can name them all at once.
func (p *Provider) Missing(c Config) []Need {
	var out []Need
	for _, n := range p.Settings {
		if n.Required && c[n.Setting] == "" {
			out = append(out, n)
		}
	}
	return out
}

// Uses reports whether the provider reads setting s.
func (p *Provider) Uses(s Setting) bool {
	for _, n := range p.Settings {
		if n.Setting == s {
			return true
		}
	}
	return false
}

// extra returns the options of type T in o.Extra.
func extra[T any](o Options) []T {
	var out []T
	for _, x := range o.Extra {
		if t, ok := x.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

// useTLS reports whether o asks for TLS settings the adapter must apply.
func (o Options) useTLS() bool {
	return o.HTTPClient == nil && (o.CAFile != "" || o.InsecureSkipVerify)
}

// forever is the Times of an injected fault that applies to every request.
const forever = 1<<31 - 1
