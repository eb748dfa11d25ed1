package genetec

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

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
	// DefaultReadBatch is how many entities one GET entity?q= read names
	// at first: about 5 KB of query string with the two or three
	// properties a read asks for. A server that refuses it as too long
	// teaches the Provider a smaller batch (see WithReadBatch).
	DefaultReadBatch = 100
	// minReadBatch is the smallest batch a too-long refusal halves to.
	minReadBatch = 10
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
	http     acshttp.ClientOptions
	clock    func() time.Time
	rules    acs.Rules
	pageSize int
	batch    int
	events   EventOptions
	timers   timers // how Events waits; tests replace it
	partGUID guid   // WithPartition; zero for none
	errs     []error
}

// Option configures a Provider. New reports every option given a value
// it cannot use, as an InvalidArgument error naming the option.
type Option func(*options)

// WithHTTPClient sends requests through c (its Transport is wrapped,
// never modified). It excludes WithTLS and WithTimeout: configure those
// on c.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.http.SetHTTPClient(c) } }

// WithTLS sets how the server's certificate is checked (default: the
// system roots, TLS 1.2 or later).
func WithTLS(t TLSOptions) Option { return func(o *options) { o.http.SetTLS(t) } }

// WithTimeout bounds each HTTP attempt (default DefaultTimeout; contexts
// still apply). The event stream is bounded by its context and the
// KeepAlive watchdog instead.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.http.SetTimeout(d) } }

// WithRateLimit paces requests to at most perSecond in any second as the
// server counts them (or burst in any burst/perSecond seconds when burst
// is larger: see acshttp.WindowsOf), slowing down after an over-limit
// answer; a rate of 0 turns the limiter off (the default). The
// Web SDK documents no request-rate limit; its real ceiling is the number
// of licensed SDK connections.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(o *options) { o.http.SetRateLimit(perSecond, burst) }
}

// WithRetry sets how many times GET and DELETE requests are sent again
// after a transport failure, a 429 or a 502–504 (retries ≤ 0: never;
// default 3) and the bounds of the backoff between attempts (0 keeps the
// defaults, 200 ms and 10 s). POSTs are never retried by the HTTP layer.
func WithRetry(retries int, waitMin, waitMax time.Duration) Option {
	return func(o *options) { o.http.SetRetry(retries, waitMin, waitMax) }
}

// WithAllowInsecureHTTP permits plain http to a host that is not
// loopback.
func WithAllowInsecureHTTP() Option { return func(o *options) { o.http.AllowInsecureHTTP() } }

// WithLogger sets the logger (default: none). Requests are logged at
// debug level without credentials or query contents; decisions such as
// replacing a stale credential at info or warn level.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.http.SetLogger(l) } }

// WithMeterProvider records the HTTP request metrics of package acshttp
// (request duration, errors by acs code, over-limit answers; see its
// documentation) on mp, with acs.provider "genetec". Default: none (nothing is
// recorded; the global provider is never used).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.http.SetMeterProvider(mp) }
}

// WithTracerProvider makes each HTTP request a client span of tp named
// "genetec <operation>", a child of the span in the caller's context. Spans
// carry names, codes and IDs only, never a path, a body or a secret.
// Default: none (the global provider is never used).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.http.SetTracerProvider(tp) }
}

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

// WithRules sets the grant validation rules.
func WithRules(r acs.Rules) Option { return func(o *options) { o.rules = r } }

// WithEvents tunes Events (see EventOptions).
func WithEvents(e EventOptions) Option {
	return func(o *options) {
		var err error
		if o.events, err = e.withDefaults(); err != nil {
			o.errs = append(o.errs, fmt.Errorf("WithEvents: %w", err))
		}
	}
}

// WithConcurrency sets how many requests of one listing (the report
// pages of AccessLevels and the name reads that follow them) are in
// flight at once (default acshttp.DefaultConcurrency; 1: one after the
// other). The rate limit, when set, paces each of them.
func WithConcurrency(n int) Option { return func(o *options) { o.http.SetConcurrency(n) } }

// WithReadBatch sets how many entities one read (GET entity?q=entity=…)
// names at most (default DefaultReadBatch). The Web SDK documents no
// limit but the length of the query string, which its host bounds; when a
// read is refused as too long (HTTP 414, or a 400 or 404 whose page says
// "too long"), the Provider halves the batch, down to 10, reads the
// refused entities again in the smaller batches and keeps the smaller
// size for its later reads. A plain 400 never does this.
func WithReadBatch(n int) Option {
	return func(o *options) {
		if n < 1 {
			o.errs = append(o.errs, fmt.Errorf("WithReadBatch: %d is not positive", n))
		}
		o.batch = n
	}
}

// WithPageSize sets how many entities a report page holds (default
// DefaultPageSize); entity reads are batched separately (WithReadBatch).
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
	userRef  string // the user for messages (see acshttp.Mention)
	log      *slog.Logger
	now      func() time.Time
	rules    acs.Rules
	pageSize int
	// readBatch is how many entities one read names at most: the
	// configured size, lowered for good by a too-long refusal.
	readBatch atomic.Int64
	// concurrency is how many requests of one listing are in flight.
	concurrency int
	locks       acshttp.KeyedMutex
	events      EventOptions
	timers      timers
	cache       entityCache
	// header holds the headers of every API request (never modified).
	header http.Header
	// groups are the cardholder groups confirmed to exist, trusted for
	// acshttp.DefaultCatalogTTL.
	groups acshttp.Checked[guid]
	// partGUID is the Security Center partition the Provider creates in
	// and confines its lookups to (WithPartition); zero for none.
	partGUID guid
}

var (
	_ acs.Provider    = (*Provider)(nil)
	_ acs.EventSource = (*Provider)(nil)
)

// New validates cfg and the options and returns a Provider. It makes no
// request; call Ping to test the connection.
func New(cfg Config, opts ...Option) (*Provider, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, acs.Wrap("new", Name, acs.InvalidArgument, err)
	}
	base, err := o.http.BaseURL(cfg.BaseURL)
	if err != nil {
		return nil, acs.Wrap("new", Name, acs.InvalidArgument, err)
	}
	if err := checkConfig(cfg); err != nil {
		return nil, acs.Wrap("new", Name, acs.InvalidArgument, err)
	}
	token := base64.StdEncoding.EncodeToString([]byte(cfg.Username + ";" + cfg.ApplicationID + ":" + cfg.Password))
	client, stream, err := o.clients(base, cfg.Password, cfg.ApplicationID, token)
	if err != nil {
		return nil, acs.Wrap("new", Name, acs.InvalidArgument, err)
	}
	p := &Provider{
		http:        client,
		stream:      stream,
		base:        base.String(),
		auth:        "Basic " + token,
		userRef:     acshttp.Mention("user", cfg.Username, cfg.Password, cfg.ApplicationID),
		log:         o.http.Logger(),
		now:         o.clock,
		rules:       o.rules,
		pageSize:    o.pageSize,
		concurrency: o.http.Concurrency(),
		events:      o.events,
		timers:      o.timers,
		partGUID:    o.partGUID,
	}
	p.readBatch.Store(int64(o.batch))
	p.groups.Now = o.clock
	p.header = http.Header{"Authorization": {p.auth}, "Accept": {"text/json"}}
	return p, nil
}

// newOptions applies opts over the defaults and reports every value they
// were given that New cannot use.
func newOptions(opts []Option) (options, error) {
	o := options{http: acshttp.NewClientOptions(DefaultTimeout, 0, 0), pageSize: DefaultPageSize, batch: DefaultReadBatch, clock: time.Now, timers: realTimers{}}
	o.events, _ = EventOptions{}.withDefaults()
	for _, opt := range opts {
		opt(&o)
	}
	return o, errors.Join(append(o.errs, o.http.Err())...)
}

// checkConfig refuses credentials that cannot be sent: empty, or holding
// the separators of the Basic credentials ("user;app:password") or
// control characters.
func checkConfig(cfg Config) error {
	switch {
	case cfg.Username == "":
		return errors.New("username is empty")
	case strings.ContainsAny(cfg.Username, ":;") || hasControl(cfg.Username):
		return errors.New("username must not contain ':', ';' or control characters")
	case cfg.Password == "":
		return errors.New("password is empty")
	case hasControl(cfg.Password):
		return errors.New("password contains control characters")
	case cfg.ApplicationID == "":
		return errors.New("application ID is empty: use the <ApplicationID> of the SDK certificate")
	case strings.ContainsAny(cfg.ApplicationID, ":;") || hasControl(cfg.ApplicationID):
		return errors.New("application ID must not contain ':', ';' or control characters")
	}
	return nil
}

// clients returns the API client and the client of the event stream: both
// send through the options' HTTP client with the Web SDK's query
// encoding; the stream has no overall timeout, since it lives as long as
// Events runs (its context and the KeepAlive watchdog bound it).
func (o *options) clients(base *url.URL, secrets ...string) (*acshttp.Client, *http.Client, error) {
	hc, err := o.http.HTTPClient()
	if err != nil {
		return nil, nil, err
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	wrapped := *hc
	wrapped.Transport = queryEncoding{next: next}
	stream := wrapped
	stream.Timeout = 0
	// The API client's queries are written as queryEncoding would
	// (acshttp.Request.RawQuery); the stream's go through it.
	cfg := o.http.Config(Name, base, hc, secrets...)
	cfg.ResendThrottled = true // a 429 (from a gateway: the Web SDK documents none) means nothing was done
	client, err := acshttp.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	return client, &stream, nil
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
// GET of the base URL, which answers {"Rsp":{"Status":"Ok"}}. With
// WithPartition it also reads the partition, so that a partition that does
// not exist (NotFound) or an entity that is not one (InvalidArgument)
// shows at once.
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
	_, err = p.readScope(ctx, op)
	return err
}
