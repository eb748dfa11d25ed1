package acshttp

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ClientOptions holds the HTTP settings an adapter offers its users as
// options of its own — WithHTTPClient, WithTLS, WithTimeout,
// WithRateLimit, WithRetry, WithAllowInsecureHTTP, WithLogger,
// WithMeterProvider and WithTracerProvider — so
// that they mean the same, default alike and fail with the same words in
// every adapter. The adapter keeps one in its options struct, gives each
// of those With functions one line calling the matching setter, checks
// Err in its New and then builds its client with HTTPClient and Config.
//
// Setters never fail: they record a value New must refuse, and Err names
// the option ("WithTimeout: -1s is not positive"). Create it with
// NewClientOptions; the zero value has no timeout and no rate limit.
type ClientOptions struct {
	httpClient   *http.Client
	tls          TLSOptions
	tlsSet       bool
	timeout      time.Duration
	timeoutSet   bool
	perSecond    float64
	burst        int
	retryMax     int
	retryWaitMin time.Duration
	retryWaitMax time.Duration
	allowHTTP    bool
	logger       *slog.Logger
	meters       metric.MeterProvider
	tracers      trace.TracerProvider
	concurrency  int
	errs         []error
}

// NewClientOptions returns an adapter's defaults: timeout bounds each
// HTTP attempt, perSecond and burst are the client-side rate limit
// (perSecond 0: none); retries are DefaultRetryMax, between
// DefaultRetryWaitMin and DefaultRetryWaitMax.
func NewClientOptions(timeout time.Duration, perSecond float64, burst int) ClientOptions {
	return ClientOptions{timeout: timeout, perSecond: perSecond, burst: burst, retryMax: DefaultRetryMax,
		retryWaitMin: DefaultRetryWaitMin, retryWaitMax: DefaultRetryWaitMax}
}

func (o *ClientOptions) invalid(format string, args ...any) {
	o.errs = append(o.errs, fmt.Errorf(format, args...))
}

// SetHTTPClient is WithHTTPClient: requests go through c (its Transport is
// wrapped, never modified). It excludes WithTLS and WithTimeout.
func (o *ClientOptions) SetHTTPClient(c *http.Client) {
	if c == nil {
		o.invalid("WithHTTPClient: nil client")
	}
	o.httpClient = c
}

// SetTLS is WithTLS: how the client the adapter builds checks the
// server's certificate (default: the system roots, TLS 1.2 or later).
func (o *ClientOptions) SetTLS(t TLSOptions) { o.tls, o.tlsSet = t, true }

// SetTimeout is WithTimeout: the bound of each HTTP attempt of the client
// the adapter builds (contexts still apply). d must be positive.
func (o *ClientOptions) SetTimeout(d time.Duration) {
	if d <= 0 {
		o.invalid("WithTimeout: %s is not positive", d)
	}
	o.timeout, o.timeoutSet = d, true
}

// SetRateLimit is WithRateLimit: at most perSecond requests in any
// second as the server counts them, or, when burst is larger than
// perSecond, at most burst in any burst/perSecond seconds (a per-minute
// limit); see Limiter and WindowsOf. A perSecond of 0 turns the limiter
// off. Negative values are refused.
func (o *ClientOptions) SetRateLimit(perSecond float64, burst int) {
	if perSecond < 0 || burst < 0 {
		o.invalid("WithRateLimit: negative rate or burst (%g, %d); a rate of 0 turns the limiter off", perSecond, burst)
	}
	o.perSecond, o.burst = perSecond, burst
}

// SetRetry is WithRetry: how many times an idempotent request is sent
// again after a transport failure, a 429 or a 502–504 (retries ≤ 0:
// never),
// and the bounds of the backoff between attempts (0 keeps
// DefaultRetryWaitMin and DefaultRetryWaitMax). A Retry-After longer than
// waitMax is not waited out: the answer is returned.
func (o *ClientOptions) SetRetry(retries int, waitMin, waitMax time.Duration) {
	if waitMin < 0 || waitMax < 0 || waitMax != 0 && waitMax < waitMin {
		o.invalid("WithRetry: need 0 ≤ waitMin ≤ waitMax (got %s, %s)", waitMin, waitMax)
	}
	o.retryMax = max(retries, 0)
	o.retryWaitMin = cmp.Or(waitMin, DefaultRetryWaitMin)
	o.retryWaitMax = cmp.Or(waitMax, max(DefaultRetryWaitMax, o.retryWaitMin))
}

// AllowInsecureHTTP is WithAllowInsecureHTTP: plain http is accepted to a
// host that is not loopback.
func (o *ClientOptions) AllowInsecureHTTP() { o.allowHTTP = true }

// SetLogger is WithLogger: one debug line per HTTP attempt, without
// secrets (nil: no logging). The logger is wrapped with RedactPINs, so
// that the adapter's records made with a WithPINs context never show the
// PIN.
func (o *ClientOptions) SetLogger(l *slog.Logger) {
	o.logger = nil
	if l != nil {
		o.logger = slog.New(RedactPINs(l.Handler()))
	}
}

// SetMeterProvider is WithMeterProvider: the request metrics (see the
// package documentation) are recorded on mp (nil: none; the global
// provider is never used).
func (o *ClientOptions) SetMeterProvider(mp metric.MeterProvider) { o.meters = mp }

// SetTracerProvider is WithTracerProvider: each request is a client span
// of tp (nil: none; the global provider is never used).
func (o *ClientOptions) SetTracerProvider(tp trace.TracerProvider) { o.tracers = tp }

// Err reports every value the setters refused, and WithHTTPClient given
// with WithTLS or WithTimeout; nil when the options are usable.
func (o *ClientOptions) Err() error {
	errs := o.errs
	if o.httpClient != nil && (o.tlsSet || o.timeoutSet) {
		errs = append(errs, errors.New("WithHTTPClient excludes WithTLS and WithTimeout (they are exclusive): configure TLS and the timeout on the client you pass"))
	}
	return errors.Join(errs...)
}

// InsecureHTTP reports whether AllowInsecureHTTP was called, for an
// adapter that checks other URLs by the same rule (a webhook's, say).
func (o *ClientOptions) InsecureHTTP() bool { return o.allowHTTP }

// BaseURL checks raw with CheckBaseURL, plain http to a host that is not
// loopback being allowed only after AllowInsecureHTTP.
func (o *ClientOptions) BaseURL(raw string) (*url.URL, error) {
	return CheckBaseURL(raw, o.allowHTTP)
}

// HTTPClient returns the client given to SetHTTPClient, or a new one with
// the TLS policy and the timeout.
func (o *ClientOptions) HTTPClient() (*http.Client, error) {
	if o.httpClient != nil {
		return o.httpClient, nil
	}
	hc, err := NewHTTPClient(o.tls, o.timeout)
	if err != nil {
		return nil, fmt.Errorf("WithTLS: %w", err)
	}
	return hc, nil
}

// Config returns the Config of a Client for provider at base sending
// through hc, with the rate limiter, the retry policy, the logger and the
// telemetry providers of the options, and secrets to redact.
func (o *ClientOptions) Config(provider string, base *url.URL, hc *http.Client, secrets ...string) Config {
	retryMax := o.retryMax
	if retryMax == 0 {
		retryMax = -1 // Config's 0 is the default; the option's 0 is never
	}
	return Config{
		Provider:     provider,
		BaseURL:      base,
		HTTPClient:   hc,
		Limiter:      NewLimiter(o.perSecond, o.burst),
		Logger:       o.logger,
		RetryMax:     retryMax,
		RetryWaitMin: o.retryWaitMin,
		RetryWaitMax: o.retryWaitMax,
		Secrets:      secrets,

		MeterProvider:  o.meters,
		TracerProvider: o.tracers,
	}
}

// Retry returns the retry policy: how many times a request may be sent
// again (0: never) and the bounds of the wait between attempts, for an
// adapter's own resend loop (a throttled POST, say).
func (o *ClientOptions) Retry() (retries int, waitMin, waitMax time.Duration) {
	return o.retryMax, o.retryWaitMin, o.retryWaitMax
}

// Logger returns the logger, or one that discards everything.
func (o *ClientOptions) Logger() *slog.Logger {
	if o.logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.logger
}
