package verkada

import (
	"context"
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
const Name = "verkada"

// Verkada's regional API hosts (§2.1). An API key belongs to one region's
// organisation; its token exchange and every call go to that host.
const (
	DefaultBaseURL = USBaseURL
	USBaseURL      = "https://api.verkada.com"
	EUBaseURL      = "https://api.eu.verkada.com"
	AUBaseURL      = "https://api.au.verkada.com"
)

// DefaultRateLimit is Verkada's documented limit in requests a minute per
// organisation (§2.5): by default the client-side window lets at most
// that many requests start in any minute (WithRateLimit(5, 300)).
const DefaultRateLimit = 300

// maxWindow is the largest burst WithRateLimit accepts: the window keeps
// the start time of each request it holds.
const maxWindow = 1_000_000

// DefaultTimeout bounds each HTTP attempt unless WithTimeout says
// otherwise.
const DefaultTimeout = 30 * time.Second

// defaultRetryWaitMax is the longest wait between attempts unless
// WithRetry says otherwise: a minute, so that a 429 asking to wait for
// the end of Verkada's minute is waited out.
const defaultRetryWaitMax = time.Minute

// TokenLifetime is how long a Verkada API token is valid (§2.1).
const TokenLifetime = 30 * time.Minute

// DefaultTokenMaxAge is how long the adapter uses a token before it
// exchanges the API key again: five minutes before it runs out, as public
// clients do (they re-exchange at 25 to 29 minutes).
const DefaultTokenMaxAge = 25 * time.Minute

// DefaultCacheTTL is how long the access-group catalogue is cached.
const DefaultCacheTTL = 10 * time.Minute

// DefaultMarker is the Core user department Provision writes on the users
// it creates, and by which Holdings recognises them.
const DefaultMarker = "acsbridge visitor"

// Config holds what is needed to reach a Verkada organisation.
type Config struct {
	// BaseURL is the regional API host (default DefaultBaseURL; EUBaseURL
	// and AUBaseURL for the other regions).
	BaseURL string
	// APIKey is the API key (created in Verkada Command with read/write
	// access to Core and Access), exchanged at POST /token. Required.
	APIKey string
}

// TLSOptions selects how the server's certificate is checked (see
// acshttp.TLSOptions).
type TLSOptions = acshttp.TLSOptions

// Option configures a Provider. New reports every option given a value
// it cannot use, as an InvalidArgument error naming the option.
type Option func(*options)

type options struct {
	http        acshttp.ClientOptions
	now         func() time.Time
	sleep       func(ctx context.Context, d time.Duration) error // how it waits; tests replace it
	rules       acs.Rules
	cacheTTL    time.Duration
	tokenMaxAge time.Duration
	marker      string
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

// WithRateLimit paces requests to perSecond a second in bursts of up to
// burst (0 means 1); a rate of 0 turns the limiter off. Verkada counts
// requests a minute, so the limiter is a rolling window rather than a
// token bucket: at most burst requests start in any burst/perSecond
// seconds, token exchanges and retries included. The default,
// WithRateLimit(5, 300), is Verkada's DefaultRateLimit of 300 in any
// minute; the limit is per organisation, so lower it when other
// integrations share the organisation's budget (WithRateLimit(200.0/60,
// 200) for 200 a minute). burst is at most 1 000 000.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(o *options) {
		if burst > maxWindow {
			o.invalid("WithRateLimit: a burst of %d is more than the window holds (at most %d)", burst, maxWindow)
		}
		o.http.SetRateLimit(perSecond, burst)
	}
}

// WithRetry sets how many times a request is sent again (retries ≤ 0:
// never; default 3) and the bounds of the backoff between attempts (0
// keeps the defaults, 200 ms and 1 min). Idempotent requests are resent
// after a transport failure or a 500, 502, 503 or 504; every request is
// resent after a 429, which Verkada answers before doing anything. A
// Retry-After longer than waitMax is not waited out: the call fails with
// a RateLimited error carrying it.
func WithRetry(retries int, waitMin, waitMax time.Duration) Option {
	return func(o *options) {
		if waitMax == 0 {
			waitMax = max(defaultRetryWaitMax, waitMin)
		}
		o.http.SetRetry(retries, waitMin, waitMax)
	}
}

// WithAllowInsecureHTTP permits plain http to a host that is not
// loopback.
func WithAllowInsecureHTTP() Option { return func(o *options) { o.http.AllowInsecureHTTP() } }

// WithLogger logs one debug line per HTTP attempt and token events.
// Secrets are never logged.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.http.SetLogger(l) } }

// WithMeterProvider records the HTTP request metrics of package acshttp
// (request duration, errors by acs code, over-limit answers; see its
// documentation) on mp, with acs.provider "verkada". Default: none (nothing is
// recorded; the global provider is never used).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.http.SetMeterProvider(mp) }
}

// WithTracerProvider makes each HTTP request a client span of tp named
// "verkada <operation>", a child of the span in the caller's context. Spans
// carry names, codes and IDs only, never a path, a body or a secret.
// Default: none (the global provider is never used).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.http.SetTracerProvider(tp) }
}

// WithClock sets the clock used for token age, the rate-limit window, the
// catalogue cache and event polling (default time.Now).
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

// WithCacheTTL sets how long the access-group catalogue is cached (default
// DefaultCacheTTL). A group missing from the cache always triggers a fresh
// listing before it is refused.
func WithCacheTTL(d time.Duration) Option {
	return func(o *options) {
		if d <= 0 {
			o.invalid("WithCacheTTL: %s is not positive", d)
		}
		o.cacheTTL = d
	}
}

// WithTokenMaxAge sets how long a token is used before the API key is
// exchanged again (default DefaultTokenMaxAge; at most TokenLifetime).
func WithTokenMaxAge(d time.Duration) Option {
	return func(o *options) {
		if d <= 0 || d > TokenLifetime {
			o.invalid("WithTokenMaxAge: %s is not between 0 and %s", d, TokenLifetime)
		}
		o.tokenMaxAge = d
	}
}

// WithMarker sets the Core user department written on created users and
// used by Holdings to recognise them (default DefaultMarker).
func WithMarker(department string) Option {
	return func(o *options) {
		if err := acs.ValidateText("marker", department, 100); err != nil || strings.TrimSpace(department) == "" {
			o.invalid("WithMarker: the department must be non-empty text without control characters")
		}
		o.marker = department
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

// WithDoorDirection marks a door (a Verkada door ID) as an entry
// (acs.DirectionIn) or exit (acs.DirectionOut) reader, for events whose
// event_info carries no recognisable direction.
func WithDoorDirection(doorID string, d acs.Direction) Option {
	return func(o *options) {
		if d != acs.DirectionIn && d != acs.DirectionOut && d != acs.DirectionUnknown {
			o.invalid("WithDoorDirection: unknown direction %d", int(d))
		}
		if o.directions == nil {
			o.directions = map[string]acs.Direction{}
		}
		o.directions[doorID] = d
	}
}

// Provider is the Verkada adapter. Create it with New.
type Provider struct {
	api          *acshttp.Client
	cfg          Config
	tokens       *tokenSource
	limiter      *acshttp.RollingWindow
	log          *slog.Logger
	now          func() time.Time
	sleep        func(ctx context.Context, d time.Duration) error
	rules        acs.Rules
	retryMax     int
	retryWaitMin time.Duration
	retryWaitMax time.Duration
	tokenMaxAge  time.Duration
	marker       string
	groups       groupCache
	locks        acshttp.KeyedMutex
	events       EventOptions
	directions   map[string]acs.Direction
	holders      holderCache
}

var (
	_ acs.Provider    = (*Provider)(nil)
	_ acs.Inventory   = (*Provider)(nil)
	_ acs.EventSource = (*Provider)(nil)
)

// newOptions applies opts over the defaults and reports every value they
// were given that New cannot use.
func newOptions(opts []Option) (options, error) {
	o := options{http: acshttp.NewClientOptions(DefaultTimeout, DefaultRateLimit/60.0, DefaultRateLimit), now: time.Now,
		sleep: acshttp.Sleep, cacheTTL: DefaultCacheTTL, tokenMaxAge: DefaultTokenMaxAge, marker: DefaultMarker}
	o.http.SetRetry(acshttp.DefaultRetryMax, 0, defaultRetryWaitMax)
	o.events, _ = EventOptions{}.withDefaults()
	for _, opt := range opts {
		opt(&o)
	}
	return o, errors.Join(append(o.errs, o.http.Err())...)
}

// New validates the configuration and the options and returns a
// Provider. It makes no request: the first call exchanges the API key for
// a token.
func New(cfg Config, opts ...Option) (*Provider, error) {
	fail := func(err error) (*Provider, error) { return nil, acs.Wrap("new", Name, acs.InvalidArgument, err) }
	o, err := newOptions(opts)
	if err != nil {
		return fail(err)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	switch {
	case strings.TrimSpace(cfg.APIKey) == "":
		return fail(errors.New("API key is required"))
	case strings.ContainsFunc(cfg.APIKey, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fail(errors.New("API key contains a control character"))
	}
	base, err := o.http.BaseURL(cfg.BaseURL)
	if err != nil {
		return fail(fmt.Errorf("base URL: %w", err))
	}
	hc, err := o.http.HTTPClient()
	if err != nil {
		return fail(err)
	}
	// Retries and pacing are the provider's own (see roundTrip and
	// window), so that retries share the rate-limit window and 429s pause
	// it: acshttp neither retries nor paces.
	apiCfg := o.http.Config(Name, base, hc, cfg.APIKey)
	limit := apiCfg.Limiter
	apiCfg.Limiter, apiCfg.RetryMax = nil, -1
	api, err := acshttp.New(apiCfg)
	if err != nil {
		return fail(err)
	}
	retryMax, retryWaitMin, retryWaitMax := o.http.Retry()
	p := &Provider{api: api, cfg: cfg, log: o.http.Logger(), now: o.now, sleep: o.sleep, rules: o.rules,
		retryMax: retryMax, retryWaitMin: retryWaitMin, retryWaitMax: retryWaitMax,
		tokenMaxAge: o.tokenMaxAge, marker: o.marker, events: o.events, directions: maps.Clone(o.directions)}
	p.limiter = acshttp.RollingWindowOf(limit, o.now, p.sleep)
	p.groups.ttl = o.cacheTTL
	p.holders.init(p.groups.ttl)
	p.tokens = newTokenSource(p)
	return p, nil
}

// Name returns "verkada".
func (p *Provider) Name() string { return Name }
