package genetec

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// Name is the provider name reported by Provider.Name and carried by
// every error.
const Name = "genetec"

// Defaults.
const (
	DefaultTimeout  = 30 * time.Second // per attempt, including a cold session's first request
	DefaultPageSize = 500              // entities per report page
	maxReadBatch    = 50               // entities per entity?q= read
)

// Config is what the adapter needs to reach the Web SDK.
type Config struct {
	// BaseURL is the Web-based SDK role's address including its Base URI,
	// e.g. "https://sc.example.com:4590/WebSdk". Plain http is accepted
	// only to a loopback host unless WithAllowInsecureHTTP is given.
	BaseURL string
	// Username is the Security Center user (not an Active Directory user).
	Username string
	// Password is the user's password.
	Password string
	// ApplicationID is the <ApplicationID> of the SDK certificate whose
	// part number is in the Security Center licence.
	ApplicationID string
}

// TLSOptions selects how the server's certificate is checked (see
// acshttp.TLSOptions). The Web SDK presents a self-signed certificate by
// default: give its CA (or the certificate itself) in CAFile rather than
// turning verification off.
type TLSOptions = acshttp.TLSOptions

type options struct {
	httpClient   *http.Client
	tls          TLSOptions
	tlsSet       bool
	timeout      time.Duration
	ratePerSec   float64
	rateBurst    int
	logger       *slog.Logger
	clock        func() time.Time
	retryMax     int
	retryWaitMin time.Duration
	retryWaitMax time.Duration
	allowHTTP    bool
	rules        acs.Rules
	pageSize     int
	events       EventOptions
	timers       timers // how Events waits; tests replace it
	errs         []error
}

// Option configures a Provider.
type Option func(*options)

// WithHTTPClient sends requests through c (its Transport is wrapped, not
// modified). TLS options do not apply to a client given this way.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) {
		if c == nil {
			o.errs = append(o.errs, errors.New("WithHTTPClient: nil client"))
		}
		o.httpClient = c
	}
}

// WithTLS sets how the server's certificate is verified.
func WithTLS(t TLSOptions) Option { return func(o *options) { o.tls, o.tlsSet = t, true } }

// WithTimeout bounds each HTTP attempt (default DefaultTimeout). It
// applies when the adapter builds its own HTTP client.
func WithTimeout(d time.Duration) Option {
	return func(o *options) {
		if d <= 0 {
			o.errs = append(o.errs, fmt.Errorf("WithTimeout: %s is not positive", d))
		}
		o.timeout = d
	}
}

// WithRateLimit paces requests to perSecond with the given burst. The Web
// SDK documents no request-rate limit; its real ceiling is the number of
// licensed SDK connections.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(o *options) {
		if perSecond < 0 || burst < 0 {
			o.errs = append(o.errs, errors.New("WithRateLimit: negative rate or burst"))
		}
		o.ratePerSec, o.rateBurst = perSecond, burst
	}
}

// WithLogger sets the logger (default: none). Requests are logged at
// debug level without credentials or query contents; decisions such as
// replacing a stale credential at info or warn level.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithClock sets the clock used to judge whether an existing credential
// is still active (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now == nil {
			o.errs = append(o.errs, errors.New("WithClock: nil clock"))
		}
		o.clock = now
	}
}

// WithRetry sets how often GET and DELETE requests are retried after a
// transport failure, 429 or 502–504 (maxRetries: 0 keeps the default of 3,
// negative never retries) and the backoff bounds. POSTs are never retried
// by the HTTP layer.
func WithRetry(maxRetries int, waitMin, waitMax time.Duration) Option {
	return func(o *options) {
		if waitMin < 0 || waitMax < waitMin {
			o.errs = append(o.errs, errors.New("WithRetry: need 0 <= waitMin <= waitMax"))
		}
		o.retryMax, o.retryWaitMin, o.retryWaitMax = maxRetries, waitMin, waitMax
	}
}

// WithEvents tunes Events (see EventOptions).
func WithEvents(e EventOptions) Option { return func(o *options) { o.events = e } }

// WithAllowInsecureHTTP permits plain http to a non-loopback host.
func WithAllowInsecureHTTP() Option { return func(o *options) { o.allowHTTP = true } }

// WithRules sets the grant validation rules.
func WithRules(r acs.Rules) Option { return func(o *options) { o.rules = r } }

// WithPageSize sets how many entities a report page holds (default
// DefaultPageSize); entity reads are batched by at most 50.
func WithPageSize(n int) Option {
	return func(o *options) {
		if n < 1 {
			o.errs = append(o.errs, fmt.Errorf("WithPageSize: %d is not positive", n))
		}
		o.pageSize = n
	}
}

// Provider is an acs.Provider and an acs.EventSource over the Genetec
// Security Center Web SDK. It is safe for concurrent use.
type Provider struct {
	http     *acshttp.Client
	stream   *http.Client // GET events: the same transport, no overall timeout
	base     string
	auth     string
	user     string
	log      *slog.Logger
	now      func() time.Time
	rules    acs.Rules
	pageSize int
	locks    acshttp.KeyedMutex
	events   EventOptions
	timers   timers
	cache    entityCache
}

var (
	_ acs.Provider    = (*Provider)(nil)
	_ acs.EventSource = (*Provider)(nil)
)

// New validates cfg and the options and returns a Provider. It makes no
// request; call Ping to test the connection.
func New(cfg Config, opts ...Option) (*Provider, error) {
	o := options{timeout: DefaultTimeout, pageSize: DefaultPageSize, clock: time.Now, timers: realTimers{}}
	for _, opt := range opts {
		opt(&o)
	}
	if err := errors.Join(o.errs...); err != nil {
		return nil, acs.Wrap("new", Name, acs.InvalidArgument, err)
	}
	invalid := func(format string, args ...any) error {
		return acs.Errorf("new", Name, acs.InvalidArgument, format, args...)
	}
	base, err := acshttp.CheckBaseURL(cfg.BaseURL, o.allowHTTP)
	if err != nil {
		return nil, acs.Wrap("new", Name, acs.InvalidArgument, err)
	}
	switch {
	case cfg.Username == "":
		return nil, invalid("username is empty")
	case strings.ContainsAny(cfg.Username, ":;") || hasControl(cfg.Username):
		return nil, invalid("username must not contain ':', ';' or control characters")
	case cfg.Password == "":
		return nil, invalid("password is empty")
	case hasControl(cfg.Password):
		return nil, invalid("password contains control characters")
	case cfg.ApplicationID == "":
		return nil, invalid("application ID is empty: use the <ApplicationID> of the SDK certificate")
	case strings.ContainsAny(cfg.ApplicationID, ":;") || hasControl(cfg.ApplicationID):
		return nil, invalid("application ID must not contain ':', ';' or control characters")
	}
	if o.httpClient != nil && o.tlsSet {
		return nil, invalid("WithTLS and WithHTTPClient are exclusive: configure TLS on the client you pass")
	}
	events, err := o.events.withDefaults()
	if err != nil {
		return nil, acs.Wrap("new", Name, acs.InvalidArgument, err)
	}
	hc := o.httpClient
	if hc == nil {
		hc, err = acshttp.NewHTTPClient(o.tls, o.timeout)
		if err != nil {
			return nil, acs.Wrap("new", Name, acs.InvalidArgument, err)
		}
	}
	wrapped := *hc
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	wrapped.Transport = queryEncoding{next: next}
	// The event stream lives as long as Events runs: it is bounded by its
	// context and the KeepAlive watchdog, not by a per-request timeout.
	stream := wrapped
	stream.Timeout = 0

	token := base64.StdEncoding.EncodeToString([]byte(cfg.Username + ";" + cfg.ApplicationID + ":" + cfg.Password))
	client, err := acshttp.New(acshttp.Config{
		Provider:     Name,
		BaseURL:      base,
		HTTPClient:   &wrapped,
		Limiter:      acshttp.NewLimiter(o.ratePerSec, o.rateBurst),
		Logger:       o.logger,
		RetryMax:     o.retryMax,
		RetryWaitMin: o.retryWaitMin,
		RetryWaitMax: o.retryWaitMax,
		Secrets:      []string{cfg.Password, cfg.ApplicationID, token},
	})
	if err != nil {
		return nil, acs.Wrap("new", Name, acs.InvalidArgument, err)
	}
	log := o.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Provider{
		http:     client,
		stream:   &stream,
		base:     base.String(),
		auth:     "Basic " + token,
		user:     cfg.Username,
		log:      log,
		now:      o.clock,
		rules:    o.rules,
		pageSize: o.pageSize,
		events:   events,
		timers:   o.timers,
	}, nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// Name returns "genetec".
func (p *Provider) Name() string { return Name }

// Ping checks that the Web SDK answers and accepts the credentials: one
// GET of the base URL, which answers {"Rsp":{"Status":"Ok"}}.
func (p *Provider) Ping(ctx context.Context) error {
	const op = "ping"
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	env, err := p.do(ctx, call{op: op, method: http.MethodGet, path: "/"})
	if err != nil {
		return err
	}
	if !strings.EqualFold(env.Status, statusOk) {
		return acs.Errorf(op, Name, acs.Unknown, "the Web SDK answered status %q to a ping", env.Status)
	}
	return nil
}
