package alta

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// Name is the provider name used in errors and logs.
const Name = "alta"

// DefaultBaseURL is Alta's API host (§1).
const DefaultBaseURL = "https://api.openpath.com"

// DefaultRateLimit is the default client-side limit in requests a second.
// Alta documents no rate limit (§1.8); this keeps bursts modest.
const DefaultRateLimit = 10

// DefaultCacheTTL is how long the group, credential-type and card-format
// catalogues are cached.
const DefaultCacheTTL = 10 * time.Minute

// DefaultEmailDomain is the domain of the e-mail address the adapter gives
// each visitor it creates (see the package documentation): a reserved
// domain that never receives mail.
const DefaultEmailDomain = "visitors.acsbridge.invalid"

// Config holds what is needed to reach an Alta organisation.
type Config struct {
	// BaseURL is the API host (default DefaultBaseURL).
	BaseURL string
	// Username is the login e-mail and Password its password, for POST
	// /auth/login (or HTTP Basic with WithBasicAuth).
	Username string
	Password string
	// OrgID is the organisation every /orgs/{orgId}/… path uses. Required.
	OrgID int64
}

// TLSOptions selects how the server's certificate is checked (see
// acshttp.TLSOptions).
type TLSOptions = acshttp.TLSOptions

// TokenScheme is how the token is put in the Authorization header.
type TokenScheme int

// The token schemes. The notes leave open whether Alta wants "Bearer
// <token>" or the bare token (§1.1, §6).
const (
	// SchemeProbe sends "Bearer <token>" first and, when a fresh token is
	// refused, the bare token; the first that works is kept (default).
	SchemeProbe TokenScheme = iota
	// SchemeBearer always sends "Bearer <token>".
	SchemeBearer
	// SchemeBare always sends the bare token.
	SchemeBare
)

// Option configures a Provider. New reports every option given a value
// it cannot use, as an InvalidArgument error naming the option.
type Option func(*options)

type options struct {
	http        acshttp.ClientOptions
	now         func() time.Time
	rules       acs.Rules
	cacheTTL    time.Duration
	sleep       func(ctx context.Context, d time.Duration) error // how it waits; tests replace it
	jitter      func() float64                                   // see Provider.jitter
	basic       bool
	scheme      TokenScheme
	emailDomain string
	events      EventOptions
	directions  map[string]acs.Direction
	errs        []error
}

func (o *options) invalid(format string, args ...any) {
	o.errs = append(o.errs, fmt.Errorf(format, args...))
}

// WithHTTPClient sends requests through c (its Transport is wrapped,
// never modified). It excludes WithTLS and WithTimeout: configure those
// on c.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.http.SetHTTPClient(c) } }

// WithTLS sets how the server's certificate is checked (default: the
// system roots, TLS 1.2 or later).
func WithTLS(t TLSOptions) Option { return func(o *options) { o.http.SetTLS(t) } }

// WithTimeout bounds each HTTP attempt (default DefaultTimeout; contexts
// still apply).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.http.SetTimeout(d) } }

// WithConcurrency sets how many pages of one listing (AccessLevels, the
// catalogues, Holdings) are in flight at once once the first page gave
// the count (default acshttp.DefaultConcurrency; 1: one after the
// other). The rate limit, when set, paces each of them.
func WithConcurrency(n int) Option { return func(o *options) { o.http.SetConcurrency(n) } }

// WithRateLimit paces requests to perSecond a second in bursts of up to
// burst (0 means 1); a rate of 0 turns the limiter off. The default is
// DefaultRateLimit in bursts of half of it.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(o *options) { o.http.SetRateLimit(perSecond, burst) }
}

// WithRetry sets how many times an idempotent (or throttled) request is
// sent again (retries ≤ 0: never; default 3) and the bounds of the
// backoff between attempts (0 keeps the defaults, 200 ms and 10 s). A
// Retry-After longer than waitMax is not waited out: the call fails with
// a RateLimited error carrying it.
func WithRetry(retries int, waitMin, waitMax time.Duration) Option {
	return func(o *options) { o.http.SetRetry(retries, waitMin, waitMax) }
}

// WithAllowInsecureHTTP permits plain http to a host that is not
// loopback.
func WithAllowInsecureHTTP() Option { return func(o *options) { o.http.AllowInsecureHTTP() } }

// WithLogger logs one debug line per HTTP attempt and token events.
// Secrets are never logged.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.http.SetLogger(l) } }

// WithMeterProvider records the HTTP request metrics of package acshttp
// (request duration, errors by acs code, over-limit answers; see its
// documentation) on mp, with acs.provider "alta". Default: none (nothing is
// recorded; the global provider is never used).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.http.SetMeterProvider(mp) }
}

// WithTracerProvider makes each HTTP request a client span of tp named
// "alta <operation>", a child of the span in the caller's context. Spans
// carry names, codes and IDs only, never a path, a body or a secret.
// Default: none (the global provider is never used).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.http.SetTracerProvider(tp) }
}

// WithClock sets the clock used for token expiry, the catalogue cache,
// soft-delete detection and event polling (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now == nil {
			o.invalid("WithClock: nil clock")
		}
		o.now = now
	}
}

// WithRules sets the grant validation rules.
func WithRules(r acs.Rules) Option { return func(o *options) { o.rules = r } }

// WithCacheTTL sets how long the catalogues are cached (default
// DefaultCacheTTL). An access level missing from the cache always triggers
// a fresh listing before it is refused.
func WithCacheTTL(d time.Duration) Option {
	return func(o *options) {
		if d <= 0 {
			o.invalid("WithCacheTTL: %s is not positive", d)
		}
		o.cacheTTL = d
	}
}

// WithBasicAuth sends HTTP Basic with Username and Password on every
// request instead of logging in (§1.1: a production integration uses an
// API user and key this way).
func WithBasicAuth() Option { return func(o *options) { o.basic = true } }

// WithTokenScheme fixes how the token is sent (default SchemeProbe).
func WithTokenScheme(s TokenScheme) Option {
	return func(o *options) {
		if s < SchemeProbe || s > SchemeBare {
			o.invalid("WithTokenScheme: unknown token scheme %d", int(s))
		}
		o.scheme = s
	}
}

// WithEmailDomain sets the domain of the e-mail addresses given to the
// visitors the adapter creates (default DefaultEmailDomain). It is also
// the marker by which Holdings tells them from everyone else.
func WithEmailDomain(domain string) Option {
	return func(o *options) {
		if !validDomain(domain) {
			o.invalid("WithEmailDomain: %q is not a domain name", truncate(domain))
		}
		o.emailDomain = domain
	}
}

// WithEvents tunes Events, the polling source of door events (see
// EventOptions).
func WithEvents(e EventOptions) Option {
	return func(o *options) {
		var err error
		if o.events, err = e.withDefaults(); err != nil {
			o.invalid("WithEvents: %w", err)
		}
	}
}

// WithDoorDirection marks a door (an Alta entry ID) as an entry
// (acs.DirectionIn) or exit (acs.DirectionOut) reader. Alta's activity
// rows carry no direction the notes record, so door events carry the
// direction configured for their door, or acs.DirectionUnknown.
func WithDoorDirection(entryID string, d acs.Direction) Option {
	return func(o *options) {
		if _, ok := parseAltaID(entryID); !ok {
			o.invalid("WithDoorDirection: entry ID %q is not an Alta ID", truncate(entryID))
		}
		if d != acs.DirectionIn && d != acs.DirectionOut && d != acs.DirectionUnknown {
			o.invalid("WithDoorDirection: unknown direction %d", int(d))
		}
		if o.directions == nil {
			o.directions = map[string]acs.Direction{}
		}
		o.directions[entryID] = d
	}
}

// Provider is the Alta adapter. Create it with New.
type Provider struct {
	api          *acshttp.Client
	cfg          Config
	orgPrefix    string // "/orgs/{orgId}"
	basic        string // "Basic …" with WithBasicAuth, else ""
	tokens       *tokenSource
	log          *slog.Logger
	now          func() time.Time
	rules        acs.Rules
	retryMax     int
	retryWaitMax time.Duration
	sleep        func(ctx context.Context, d time.Duration) error
	emailDomain  string
	cat          catalog
	locks        acshttp.KeyedMutex
	// concurrency is how many pages of one listing are in flight.
	concurrency int
	events      EventOptions
	directions  map[string]acs.Direction
	evCards     userCards
	// jitter draws the event back-off's jitter; nil: random.
	jitter func() float64
}

var (
	_ acs.Provider    = (*Provider)(nil)
	_ acs.Inventory   = (*Provider)(nil)
	_ acs.EventSource = (*Provider)(nil)
)

// DefaultTimeout bounds each HTTP attempt unless WithTimeout says
// otherwise.
const DefaultTimeout = 30 * time.Second

// newOptions applies opts over the defaults and reports every value they
// were given that New cannot use.
func newOptions(opts []Option) (options, error) {
	o := options{http: acshttp.NewClientOptions(DefaultTimeout, DefaultRateLimit, DefaultRateLimit/2), now: time.Now,
		cacheTTL: DefaultCacheTTL, sleep: acshttp.Sleep, emailDomain: DefaultEmailDomain}
	o.events, _ = EventOptions{}.withDefaults()
	for _, opt := range opts {
		opt(&o)
	}
	return o, errors.Join(append(o.errs, o.http.Err())...)
}

// New validates the configuration and the options and returns a
// Provider. It makes no request: the first call logs in.
func New(cfg Config, opts ...Option) (*Provider, error) {
	fail := func(err error) (*Provider, error) { return nil, acs.Wrap("new", Name, acs.InvalidArgument, err) }
	o, err := newOptions(opts)
	if err != nil {
		return fail(err)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if err := checkConfig(cfg, o.basic); err != nil {
		return fail(err)
	}
	base, err := o.http.BaseURL(cfg.BaseURL)
	if err != nil {
		return fail(fmt.Errorf("base URL: %w", err))
	}
	hc, err := o.http.HTTPClient()
	if err != nil {
		return fail(err)
	}
	retryMax, _, retryWaitMax := o.http.Retry()
	p := &Provider{cfg: cfg, orgPrefix: "/orgs/" + idSegment(cfg.OrgID), log: o.http.Logger(), now: o.now, rules: o.rules,
		retryMax: retryMax, retryWaitMax: retryWaitMax, sleep: o.sleep, emailDomain: strings.ToLower(o.emailDomain),
		events: o.events, directions: maps.Clone(o.directions), jitter: o.jitter, concurrency: o.http.Concurrency()}
	secrets := []string{cfg.Password} // and its wire forms (acshttp.NewRedactor)
	if o.basic {
		cred := base64.StdEncoding.EncodeToString([]byte(cfg.Username + ":" + cfg.Password))
		p.basic = "Basic " + cred
		secrets = append(secrets, cred)
	}
	apiCfg := o.http.Config(Name, base, hc, secrets...)
	apiCfg.Throttled = throttledBody
	if p.api, err = acshttp.New(apiCfg); err != nil {
		return fail(err)
	}
	p.cat.init(o.cacheTTL, o.now)
	p.tokens = newTokenSource(p, o.scheme)
	return p, nil
}

// checkConfig refuses a configuration with a missing credential, a
// control character in one, a username that cannot be sent in HTTP Basic
// (with WithBasicAuth) or no organisation.
func checkConfig(cfg Config, basic bool) error {
	for _, f := range [...]struct{ name, v string }{{"username (login e-mail)", cfg.Username}, {"password", cfg.Password}} {
		if strings.TrimSpace(f.v) == "" {
			return fmt.Errorf("%s is required", f.name)
		}
		if strings.ContainsFunc(f.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return fmt.Errorf("%s contains a control character", f.name)
		}
	}
	if basic && strings.Contains(cfg.Username, ":") {
		return errors.New("username must not contain ':' with HTTP Basic")
	}
	if cfg.OrgID <= 0 {
		return errors.New("organisation ID is required (a positive integer)")
	}
	return nil
}

// validDomain accepts a DNS name of letters, digits, '-' and '.', with at
// least one dot.
func validDomain(d string) bool {
	if len(d) < 3 || len(d) > 190 || !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
		return false
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// Name returns "alta".
func (p *Provider) Name() string { return Name }
