package alta

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/time/rate"

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

// Option configures a Provider.
type Option func(*options)

type options struct {
	httpClient   *http.Client
	tls          *TLSOptions
	timeout      time.Duration
	timeoutSet   bool
	rate         float64
	burst        int
	logger       *slog.Logger
	now          func() time.Time
	retryMax     int
	retryWaitMin time.Duration
	retryWaitMax time.Duration
	insecureHTTP bool
	rules        acs.Rules
	cacheTTL     time.Duration
	sleep        func(ctx context.Context, d time.Duration) error
	basic        bool
	scheme       TokenScheme
	emailDomain  string
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

// WithRateLimit sets the client-side rate limit in requests a second and
// its burst (default DefaultRateLimit with a burst of half of it). A rate
// of zero or less turns the limiter off.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(o *options) { o.rate, o.burst = perSecond, burst }
}

// WithLogger logs one debug line per HTTP attempt and token events.
// Secrets are never logged.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithClock sets the clock used for token expiry, the catalogue cache,
// soft-delete detection and event polling (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithRetry sets how often an idempotent (or throttled) request is
// retried and the bounds of the backoff between attempts (defaults 3,
// 200 ms and 10 s). A Retry-After longer than waitMax is not waited out:
// the call fails with a RateLimited error carrying it.
func WithRetry(max int, waitMin, waitMax time.Duration) Option {
	return func(o *options) { o.retryMax, o.retryWaitMin, o.retryWaitMax = max, waitMin, waitMax }
}

// WithAllowInsecureHTTP allows plain http to non-loopback hosts.
func WithAllowInsecureHTTP() Option { return func(o *options) { o.insecureHTTP = true } }

// WithRules sets the grant validation rules.
func WithRules(r acs.Rules) Option { return func(o *options) { o.rules = r } }

// WithCacheTTL sets how long the catalogues are cached (default
// DefaultCacheTTL). An access level missing from the cache always triggers
// a fresh listing before it is refused.
func WithCacheTTL(d time.Duration) Option { return func(o *options) { o.cacheTTL = d } }

// WithSleep sets how the provider waits: between event polls, after a
// failed poll, and before resending a throttled create (default: a timer
// that stops early when the context ends). Tests inject a function that
// advances a fake clock instead of sleeping.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(o *options) { o.sleep = sleep }
}

// WithBasicAuth sends HTTP Basic with Username and Password on every
// request instead of logging in (§1.1: a production integration uses an
// API user and key this way).
func WithBasicAuth() Option { return func(o *options) { o.basic = true } }

// WithTokenScheme fixes how the token is sent (default SchemeProbe).
func WithTokenScheme(s TokenScheme) Option { return func(o *options) { o.scheme = s } }

// WithEmailDomain sets the domain of the e-mail addresses given to the
// visitors the adapter creates (default DefaultEmailDomain). It is also
// the marker by which Holdings tells them from everyone else.
func WithEmailDomain(domain string) Option { return func(o *options) { o.emailDomain = domain } }

// WithEventPolling tunes Events. Zero fields keep their defaults.
func WithEventPolling(e EventPolling) Option { return func(o *options) { o.polling = e } }

// WithDoorDirection marks a door (an Alta entry ID) as an entry
// (acs.DirectionIn) or exit (acs.DirectionOut) reader. Alta's activity
// rows carry no direction the notes record, so door events carry the
// direction configured for their door, or acs.DirectionUnknown.
func WithDoorDirection(entryID string, d acs.Direction) Option {
	return func(o *options) {
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
	locks        keyLocks
	polling      EventPolling
	directions   map[string]acs.Direction
	evCards      userCards
}

var (
	_ acs.Provider    = (*Provider)(nil)
	_ acs.Inventory   = (*Provider)(nil)
	_ acs.EventSource = (*Provider)(nil)
)

func defaultOptions() options {
	return options{rate: DefaultRateLimit, burst: DefaultRateLimit / 2, now: time.Now,
		retryWaitMin: 200 * time.Millisecond, retryWaitMax: 10 * time.Second, timeout: 30 * time.Second,
		cacheTTL: DefaultCacheTTL, emailDomain: DefaultEmailDomain}
}

// New validates the configuration and returns a Provider. It makes no
// request: the first call logs in.
func New(cfg Config, opts ...Option) (*Provider, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	fail := func(format string, args ...any) (*Provider, error) {
		return nil, acs.Errorf("new", Name, acs.InvalidArgument, format, args...)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if err := checkConfig(cfg, o); err != nil {
		return fail("%v", err)
	}
	base, err := acshttp.CheckBaseURL(cfg.BaseURL, o.insecureHTTP)
	if err != nil {
		return fail("base URL: %v", err)
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
	polling, err := o.polling.withDefaults()
	if err != nil {
		return fail("WithEventPolling: %v", err)
	}
	p := &Provider{cfg: cfg, orgPrefix: "/orgs/" + idSegment(cfg.OrgID), log: o.logger, now: o.now, rules: o.rules,
		retryWaitMax: o.retryWaitMax, sleep: o.sleep, emailDomain: strings.ToLower(o.emailDomain),
		polling: polling, directions: maps.Clone(o.directions)}
	secrets := []string{cfg.Password, url.QueryEscape(cfg.Password), jsonEscaped(cfg.Password)}
	if o.basic {
		cred := base64.StdEncoding.EncodeToString([]byte(cfg.Username + ":" + cfg.Password))
		p.basic = "Basic " + cred
		secrets = append(secrets, cred)
	}
	var limiter *rate.Limiter
	if o.rate > 0 {
		limiter = acshttp.NewLimiter(o.rate, max(o.burst, 1))
	}
	if p.api, err = acshttp.New(acshttp.Config{Provider: Name, BaseURL: base, HTTPClient: hc, Limiter: limiter,
		Logger: o.logger, RetryMax: o.retryMax, RetryWaitMin: o.retryWaitMin, RetryWaitMax: o.retryWaitMax,
		Throttled: throttledBody, Secrets: secrets}); err != nil {
		return fail("%v", err)
	}
	p.retryMax = o.retryMax
	switch {
	case p.retryMax == 0:
		p.retryMax = 3
	case p.retryMax < 0:
		p.retryMax = 0
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.sleep == nil {
		p.sleep = sleepCtx
	}
	p.cat.ttl = o.cacheTTL
	p.tokens = &tokenSource{p: p, scheme: o.scheme}
	return p, nil
}

// checkConfig checks the configuration and the options New cannot check
// later.
func checkConfig(cfg Config, o options) error {
	for _, f := range [...]struct{ name, v string }{{"username (login e-mail)", cfg.Username}, {"password", cfg.Password}} {
		if strings.TrimSpace(f.v) == "" {
			return errorf("%s is required", f.name)
		}
		if strings.ContainsFunc(f.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return errorf("%s contains a control character", f.name)
		}
	}
	if o.basic && strings.Contains(cfg.Username, ":") {
		return errorf("username must not contain ':' with HTTP Basic")
	}
	if cfg.OrgID <= 0 {
		return errorf("organisation ID is required (a positive integer)")
	}
	if o.httpClient != nil && (o.tls != nil || o.timeoutSet) {
		return errorf("WithHTTPClient excludes WithTLS and WithTimeout; configure them on the client")
	}
	if o.now == nil {
		return errorf("WithClock needs a function")
	}
	if o.scheme < SchemeProbe || o.scheme > SchemeBare {
		return errorf("unknown token scheme %d", int(o.scheme))
	}
	if o.cacheTTL <= 0 {
		return errorf("cache TTL must be positive")
	}
	if !validDomain(o.emailDomain) {
		return errorf("e-mail domain %q is not a domain name", truncate(o.emailDomain))
	}
	for id, d := range o.directions {
		if _, ok := parseAltaID(id); !ok {
			return errorf("WithDoorDirection: entry ID %q is not an Alta ID", truncate(id))
		}
		if d != acs.DirectionIn && d != acs.DirectionOut && d != acs.DirectionUnknown {
			return errorf("WithDoorDirection: unknown direction %d", int(d))
		}
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
