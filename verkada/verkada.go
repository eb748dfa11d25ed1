package verkada

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"strings"
	"time"

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
// organisation (§2.5), the default of the client-side window.
const DefaultRateLimit = 300

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

// TLSOptions selects how the server's certificate is checked.
type TLSOptions struct {
	// CAFile is a PEM file of extra root certificates.
	CAFile string
	// Config is used as the base TLS configuration when set (cloned).
	Config *tls.Config
	// InsecureSkipVerify turns certificate verification off. Never the
	// default; for lab proxies only.
	InsecureSkipVerify bool
}

// Option configures a Provider.
type Option func(*options)

type options struct {
	httpClient   *http.Client
	tls          *TLSOptions
	timeout      time.Duration
	timeoutSet   bool
	perMinute    int
	logger       *slog.Logger
	now          func() time.Time
	sleep        func(ctx context.Context, d time.Duration) error
	retryMax     int
	retryWaitMin time.Duration
	retryWaitMax time.Duration
	insecureHTTP bool
	rules        acs.Rules
	cacheTTL     time.Duration
	tokenMaxAge  time.Duration
	marker       string
	polling      EventPolling
	directions   map[string]acs.Direction
}

// WithHTTPClient sends requests with c (its transport is wrapped, never
// modified). It excludes WithTLS and WithTimeout.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithTLS sets the TLS policy of the default HTTP client.
func WithTLS(t TLSOptions) Option { return func(o *options) { o.tls = &t } }

// WithTimeout bounds every HTTP attempt of the default client (default
// 30 s; contexts still apply).
func WithTimeout(d time.Duration) Option {
	return func(o *options) { o.timeout, o.timeoutSet = d, true }
}

// WithRateLimit sets the client-side limit in requests per rolling minute
// (default DefaultRateLimit). Verkada's limit is per organisation: lower
// it when other integrations share the organisation's budget. Zero or less
// turns the limiter off.
func WithRateLimit(perMinute int) Option { return func(o *options) { o.perMinute = perMinute } }

// WithLogger logs one debug line per HTTP attempt and token events.
// Secrets are never logged.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithClock sets the clock used for token age, the rate-limit window, the
// catalogue cache and event polling (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithSleep sets how the provider waits: for the rate-limit window, before
// resending a throttled or failed request, and between event polls
// (default: a timer that stops early when the context ends). Tests inject
// a function that advances a fake clock instead of sleeping.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(o *options) { o.sleep = sleep }
}

// WithRetry sets how often a request is sent again and the bounds of the
// backoff between attempts (defaults 3, 200 ms and 60 s). Idempotent
// requests are resent after a transport failure or a 500, 502, 503 or 504;
// every request is resent after a 429, which Verkada answers before doing
// anything. A Retry-After longer than waitMax is not waited out: the call
// fails with a RateLimited error carrying it.
func WithRetry(max int, waitMin, waitMax time.Duration) Option {
	return func(o *options) { o.retryMax, o.retryWaitMin, o.retryWaitMax = max, waitMin, waitMax }
}

// WithAllowInsecureHTTP allows plain http to non-loopback hosts.
func WithAllowInsecureHTTP() Option { return func(o *options) { o.insecureHTTP = true } }

// WithRules sets the grant validation rules.
func WithRules(r acs.Rules) Option { return func(o *options) { o.rules = r } }

// WithCacheTTL sets how long the access-group catalogue is cached (default
// DefaultCacheTTL). A group missing from the cache always triggers a fresh
// listing before it is refused.
func WithCacheTTL(d time.Duration) Option { return func(o *options) { o.cacheTTL = d } }

// WithTokenMaxAge sets how long a token is used before the API key is
// exchanged again (default DefaultTokenMaxAge; at most TokenLifetime).
func WithTokenMaxAge(d time.Duration) Option { return func(o *options) { o.tokenMaxAge = d } }

// WithMarker sets the Core user department written on created users and
// used by Holdings to recognise them (default DefaultMarker).
func WithMarker(department string) Option { return func(o *options) { o.marker = department } }

// WithEventPolling tunes Events. Zero fields keep their defaults.
func WithEventPolling(e EventPolling) Option { return func(o *options) { o.polling = e } }

// WithDoorDirection marks a door (a Verkada door ID) as an entry
// (acs.DirectionIn) or exit (acs.DirectionOut) reader, for events whose
// event_info carries no recognisable direction.
func WithDoorDirection(doorID string, d acs.Direction) Option {
	return func(o *options) {
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
	limiter      *window
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
	locks        keyedMutex
	polling      EventPolling
	directions   map[string]acs.Direction
	holders      holderCache
}

var (
	_ acs.Provider    = (*Provider)(nil)
	_ acs.Inventory   = (*Provider)(nil)
	_ acs.EventSource = (*Provider)(nil)
)

// New validates the configuration and returns a Provider. It makes no
// request: the first call exchanges the API key for a token.
func New(cfg Config, opts ...Option) (*Provider, error) {
	o := options{perMinute: DefaultRateLimit, now: time.Now, retryMax: 3, retryWaitMin: 200 * time.Millisecond,
		retryWaitMax: 60 * time.Second, timeout: 30 * time.Second, cacheTTL: DefaultCacheTTL,
		tokenMaxAge: DefaultTokenMaxAge, marker: DefaultMarker}
	for _, opt := range opts {
		opt(&o)
	}
	fail := func(format string, args ...any) (*Provider, error) {
		return nil, acs.Errorf("new", Name, acs.InvalidArgument, format, args...)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	switch {
	case strings.TrimSpace(cfg.APIKey) == "":
		return fail("API key is required")
	case strings.ContainsFunc(cfg.APIKey, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fail("API key contains a control character")
	case o.now == nil:
		return fail("WithClock needs a function")
	case o.httpClient != nil && (o.tls != nil || o.timeoutSet):
		return fail("WithHTTPClient excludes WithTLS and WithTimeout; configure them on the client")
	case o.tokenMaxAge <= 0 || o.tokenMaxAge > TokenLifetime:
		return fail("token max age %s is not between 0 and %s", o.tokenMaxAge, TokenLifetime)
	case o.retryWaitMin <= 0 || o.retryWaitMax < o.retryWaitMin:
		return fail("retry waits must be positive and waitMax at least waitMin")
	}
	if err := acs.ValidateText("marker", o.marker, 100); err != nil || strings.TrimSpace(o.marker) == "" {
		return fail("WithMarker: the department must be non-empty text without control characters")
	}
	base, err := acshttp.CheckBaseURL(cfg.BaseURL, o.insecureHTTP)
	if err != nil {
		return fail("base URL: %v", err)
	}
	polling, err := o.polling.withDefaults()
	if err != nil {
		return fail("WithEventPolling: %v", err)
	}
	hc := o.httpClient
	if hc == nil {
		var t acshttp.TLSOptions
		if o.tls != nil {
			t = acshttp.TLSOptions{CAFile: o.tls.CAFile, Config: o.tls.Config, InsecureSkipVerify: o.tls.InsecureSkipVerify}
		}
		if hc, err = acshttp.NewHTTPClient(t, o.timeout); err != nil {
			return fail("TLS: %v", err)
		}
	}
	// Retries are the provider's own (see roundTrip), so that they share
	// the rate-limit window and the injectable sleep: acshttp never retries.
	api, err := acshttp.New(acshttp.Config{Provider: Name, BaseURL: base, HTTPClient: hc, Logger: o.logger,
		RetryMax: -1, Secrets: []string{cfg.APIKey}})
	if err != nil {
		return fail("%v", err)
	}
	p := &Provider{api: api, cfg: cfg, log: o.logger, now: o.now, sleep: o.sleep, rules: o.rules,
		retryMax: max(o.retryMax, 0), retryWaitMin: o.retryWaitMin, retryWaitMax: o.retryWaitMax,
		tokenMaxAge: o.tokenMaxAge, marker: o.marker, polling: polling, directions: o.directions}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.sleep == nil {
		p.sleep = sleepCtx
	}
	if o.perMinute > 0 {
		p.limiter = newWindow(o.perMinute, time.Minute, o.now, p.sleep)
	}
	p.groups.ttl = o.cacheTTL
	if p.groups.ttl <= 0 {
		p.groups.ttl = DefaultCacheTTL
	}
	p.holders.init(p.groups.ttl)
	p.tokens = &tokenSource{p: p}
	return p, nil
}

// Name returns "verkada".
func (p *Provider) Name() string { return Name }

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
