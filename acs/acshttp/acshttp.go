// Package acshttp is the HTTP layer shared by the adapters, and open to
// adapters outside this repository: base-URL and TLS policy (verification
// on, a custom CA, plain HTTP only to loopback unless allowed), a
// per-provider rate limiter counting as vendors do (Limiter: never more
// than the limit in any window, slowing down after an over-limit
// answer), retries of idempotent requests with backoff that honours
// Retry-After, bounded response reading, debug logging without
// secrets, redaction of secrets from any text that might reach an error
// (by the rule of MinSecretLen), and the classification of transport
// failures and HTTP statuses into acs
// codes.
//
// Besides the Client, it holds the pieces every adapter's own loops need,
// so that each exists once:
//
//   - TLSOptions, the one TLS policy type (adapters alias it);
//   - KeyedMutex, per-key locks for find-or-create by external ID;
//   - Backoff and Sleep, the waits of event pollers, reconnecting streams
//     and refused logins: doubling, bounded, with jitter, stopped by a
//     context;
//   - SharedLogin, one login or token refresh shared by every concurrent
//     caller.
//
// Retries are the Client's own loop (it replaced go-retryablehttp, whose
// request wrapping cost a dozen allocations per attempt): only requests
// marked idempotent are retried, a request refused by a throttle is sent
// again when that is safe, waits honour Retry-After, and the final error
// is the last attempt's own answer, not a generic "giving up" error.
//
// # Misdirected requests
//
// A server that answers in another protocol than the URL names (plain
// HTTP to https, TLS to http) is a SchemeError, a certificate the client
// does not trust a CertificateError: neither is retried, and
// TransportFailure classifies both acs.Misconfigured, never "no answer".
//
// # Telemetry
//
// Through the OpenTelemetry API only (the SDK is the application's
// choice): Config.MeterProvider and Config.TracerProvider, set by each
// adapter's WithMeterProvider and WithTracerProvider. Without them nothing
// is recorded, and the global providers are never used. The instruments,
// of meter ScopeName:
//
//	acsbridge.acs.request.duration   histogram, s        each HTTP attempt (retries included, the
//	                                                     client's pacing wait excluded); attributes
//	                                                     acs.provider, acs.operation,
//	                                                     http.request.method, acs.status_class
//	                                                     ("2xx" … "5xx", "none" without an answer)
//	acsbridge.acs.request.errors     counter, {error}    attempts that got no answer or a status of
//	                                                     400 or more; acs.provider, acs.operation,
//	                                                     acs.code (the code of the failure, of the
//	                                                     status by CodeForStatus, or "rate limited"
//	                                                     for a throttled answer; the adapter may
//	                                                     classify the answer further)
//	acsbridge.acs.request.over_limit counter, {answer}   over-limit answers: acs.limit "acs" for a
//	                                                     429 or the ACS's own slow-down answer
//	                                                     (Config.Throttled), "client" for a request
//	                                                     the client's rate limit could not send
//	                                                     before its deadline; acs.provider,
//	                                                     acs.operation
//
// Each Do is a client span "<provider> <operation>" (a child of the span
// in its context) with acs.provider, acs.operation, http.request.method,
// server.address, http.response.status_code, acs.attempts and, when it
// failed, acs.code and an error status; each failed attempt adds an event.
// Neither metrics nor spans carry a path, a query, a body, a header or
// any text from the ACS: only names, codes and counts.
package acshttp

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"
)

// MaxBody is the most of a response body the client reads (8 MiB); a
// larger answer is an error rather than an unbounded allocation.
const MaxBody = 8 << 20

// The retry policy of a Client whose Config leaves it unset.
const (
	DefaultRetryMax     = 3
	DefaultRetryWaitMin = 200 * time.Millisecond
	DefaultRetryWaitMax = 10 * time.Second
)

// TLSOptions selects how the server's certificate is checked.
type TLSOptions struct {
	// CAFile is a PEM file of extra root certificates (a site's own CA).
	CAFile string
	// Config is used as the base TLS configuration when set (cloned).
	Config *tls.Config
	// InsecureSkipVerify turns certificate verification off. Never the
	// default; for lab systems with self-signed certificates only.
	InsecureSkipVerify bool
}

// CheckBaseURL parses a base URL and enforces the transport policy: https,
// or plain http only to a loopback host (localhost, 127.0.0.0/8, ::1)
// unless allowInsecureHTTP is set. The URL must not carry user
// information, a query or a fragment. A trailing slash is removed.
func CheckBaseURL(raw string, allowInsecureHTTP bool) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("base URL is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error quotes the whole URL, user information
		// included: keep only what it says about it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("base URL is not a URL: %w", err)
	}
	if u.User != nil {
		return nil, errors.New("base URL must not contain user information; pass credentials separately")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("base URL must not contain a query or fragment")
	}
	if u.Host == "" {
		// Not quoted: "user:password@host" parses as a scheme and an
		// opaque part, and would put the password into the message.
		return nil, errors.New("base URL has no host: it needs a scheme and a host, such as https://acs.example.com")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowInsecureHTTP && !IsLoopback(u.Hostname()) {
			return nil, fmt.Errorf("plain http to non-loopback host %q refused; use https or allow insecure http explicitly", u.Hostname())
		}
	default:
		return nil, fmt.Errorf("base URL scheme %q is not http or https", u.Scheme)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// IsLoopback reports whether host (a name or an address, without port) is
// a loopback host.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// NewHTTPClient returns an *http.Client with the TLS policy applied and
// the given overall timeout (0: none; contexts still apply).
func NewHTTPClient(opts TLSOptions, timeout time.Duration) (*http.Client, error) {
	var cfg *tls.Config
	if opts.Config != nil {
		cfg = opts.Config.Clone()
	} else {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %q holds no PEM certificate", opts.CAFile)
		}
		cfg.RootCAs = pool
	}
	if opts.InsecureSkipVerify {
		cfg.InsecureSkipVerify = true
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}

// Config configures a Client.
type Config struct {
	Provider string   // name used in log lines
	BaseURL  *url.URL // from CheckBaseURL
	// HTTPClient sends the requests; nil means NewHTTPClient(TLSOptions{}, 0).
	// Its Transport is wrapped, never modified.
	HTTPClient *http.Client
	// Limiter gives the rate every attempt is paced to, retries included:
	// no more than its rate (rounded down) in any second, as a vendor
	// counts (see the Limiter type; its burst adds nothing). nil means
	// unlimited unless Pacer is set.
	Limiter *rate.Limiter
	// Pacer, when set, paces every attempt instead of Limiter: a vendor's
	// windows (per second, per minute), or one Limiter shared by several
	// clients of one account.
	Pacer *Limiter
	// Logger receives one debug line per attempt; nil means no logging.
	Logger *slog.Logger
	// RetryMax is how many times an idempotent request is retried
	// (0: DefaultRetryMax; negative: never).
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the backoff between attempts
	// (0: DefaultRetryWaitMin and DefaultRetryWaitMax). A Retry-After
	// longer than RetryWaitMax is not waited out: the answer is returned
	// to the caller instead.
	RetryWaitMin, RetryWaitMax time.Duration
	// Throttled reports whether an answer means "slow down" even though its
	// status is not 429 (Brivo's 403 "Developer Over Qps"). Optional; it
	// is consulted for answers of 400 and above but 404.
	//
	// A throttled answer (429 or Throttled) slows the pacer down, and an
	// idempotent request is sent again after the server's Retry-After.
	Throttled func(status int, body []byte) bool
	// ResendThrottled sends a request that is not idempotent again too
	// after a throttled answer: the server refused it before handling it
	// (a 429, or a gateway's over-limit answer, is given instead of
	// carrying the request out), so nothing happened and sending it again
	// is safe. For adapters without a resend loop of their own.
	ResendThrottled bool
	// Secrets are redacted from everything Redact sees, by the rule of
	// MinSecretLen.
	Secrets []string
	// MeterProvider receives the request metrics, TracerProvider a span
	// per request (see the package documentation); nil means none: no
	// global provider is used.
	MeterProvider  metric.MeterProvider
	TracerProvider trace.TracerProvider
}

// Client sends requests to one API.
type Client struct {
	cfg Config
	hc  *http.Client // the caller's, with the Client's transports
	// attempt bounds each attempt (the http.Client's Timeout; 0: none).
	attempt time.Duration
	base    string
	redac   *Redactor
	tel     *telemetry
}

// Request is one API call.
type Request struct {
	Op     string // operation name for logs
	Method string
	// Path is appended to the base URL; it must already be escaped.
	Path  string
	Query url.Values
	// RawQuery, when set, is the query string as sent (already escaped
	// the way the ACS wants it), instead of Query.
	RawQuery string
	// Header is sent as it is: Do does not modify it, and it must not be
	// modified while Do runs (a map shared by every request is fine).
	Header http.Header
	Body   []byte
	// Idempotent marks a request that is safe to send twice (GET, DELETE,
	// PUT of a full state, or a POST that changes nothing). Only these are
	// retried.
	Idempotent bool
}

// Response is a fully read answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Attempts is how many times the request was sent.
	Attempts int
}

type ctxKey struct{}

// reqState is what Do, the transport and the retry policy share about
// one request: one value in its context.
type reqState struct {
	idempotent bool
	attempts   int
	throttled  bool // the last attempt's answer was a throttle
}

func stateOf(ctx context.Context) *reqState {
	st, _ := ctx.Value(ctxKey{}).(*reqState)
	return st
}

// New returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == nil {
		return nil, errors.New("acshttp: no base URL")
	}
	if cfg.HTTPClient == nil {
		hc, err := NewHTTPClient(TLSOptions{}, 0)
		if err != nil {
			return nil, err
		}
		cfg.HTTPClient = hc
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = DefaultRetryMax
	} else if cfg.RetryMax < 0 {
		cfg.RetryMax = 0
	}
	if cfg.RetryWaitMin <= 0 {
		cfg.RetryWaitMin = DefaultRetryWaitMin
	}
	if cfg.RetryWaitMax <= 0 {
		cfg.RetryWaitMax = DefaultRetryWaitMax
	}
	c := &Client{cfg: cfg, base: cfg.BaseURL.String()}
	c.redac = NewRedactor(cfg.Secrets...)

	hc := *cfg.HTTPClient
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	// Each attempt is bounded by the Client (see send), not by net/http.
	c.attempt, hc.Timeout = hc.Timeout, 0
	tel, err := newTelemetry(cfg.MeterProvider, cfg.TracerProvider)
	if err != nil {
		return nil, fmt.Errorf("acshttp: instruments: %w", err)
	}
	c.tel = tel
	pacer := cfg.Pacer
	if pacer == nil {
		pacer = windowLimiter(cfg.Limiter)
	}
	hc.Transport = &pacedTransport{next: &measuredTransport{c: c, next: base}, pacer: pacer, throttled: cfg.Throttled}
	c.hc = &hc
	return c, nil
}

// Redact removes from s every configured secret and each of more (the
// session tokens of the moment, say), by the rule of MinSecretLen, and
// blanks the values of secret-named fields.
func (c *Client) Redact(s string, more ...string) string { return c.redac.Redact(s, more...) }

// BaseURL returns the base URL as a string.
func (c *Client) BaseURL() string { return c.base }

// Do sends the request, retrying it when it is idempotent and the answer
// or failure is transient, and returns the final answer whatever its
// status. The error is non-nil only when no usable answer arrived
// (transport failure, cancelled context, body too large) or the answer
// shows that the URL leads to the wrong protocol or certificate
// (SchemeError, CertificateError); it never contains a secret.
//
// Each call is a client span "<provider> <op>" of the Config's
// TracerProvider, and each attempt is measured (see the package
// documentation).
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ctx, span := c.startSpan(ctx, r)
	st := &reqState{idempotent: r.Idempotent}
	resp, err := c.do(ctx, r, st)
	status := 0
	if resp != nil {
		status = resp.Status
	}
	c.endSpan(span, status, st.attempts, err)
	return resp, err
}

// do is Do without the span; st counts the attempts it sends.
func (c *Client) do(ctx context.Context, r Request, st *reqState) (*Response, error) {
	var u string
	switch {
	case r.RawQuery != "":
		u = c.base + r.Path + "?" + r.RawQuery
	case len(r.Query) > 0:
		u = c.base + r.Path + "?" + r.Query.Encode()
	default:
		u = c.base + r.Path
	}
	ctx = context.WithValue(ctx, ctxKey{}, st)
	if c.tel.on {
		ctx = context.WithValue(ctx, callKey{}, call{op: r.Op, method: r.Method})
	}
	actx, cancel := c.attemptContext(ctx)
	req, err := http.NewRequestWithContext(actx, r.Method, u, nil)
	if err != nil {
		cancel()
		// Without the URL, whose query may hold personal data.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, errors.New(c.Redact(err.Error()))
	}
	if r.Body != nil {
		req.ContentLength = int64(len(r.Body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(r.Body)), nil }
	}
	if r.Header != nil {
		req.Header = r.Header // sent as is: neither Do nor net/http modify it
	}
	start := time.Now()
	resp, err := c.send(ctx, req, cancel, r.Body, st)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		terr := c.transportError(err)
		if isPace(terr) {
			c.paceExceeded(ctx, r.Op)
		}
		c.log(ctx, r, 0, st.attempts, start, terr)
		return nil, terr
	}
	defer resp.Body.Close()
	data, err := readBody(resp)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, c.transportError(err)
	}
	if len(data) > MaxBody {
		return nil, &OversizeError{Status: resp.StatusCode}
	}
	if plainToTLSAnswer(c.cfg.BaseURL.Scheme, resp.StatusCode, data) {
		err := &SchemeError{Scheme: "http", Host: c.cfg.BaseURL.Host}
		c.log(ctx, r, resp.StatusCode, st.attempts, start, err)
		return nil, err
	}
	c.log(ctx, r, resp.StatusCode, st.attempts, start, nil)
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: data, Attempts: st.attempts}, nil
}

// send sends req, and sends it again while checkRetry says so, at most
// RetryMax more times, waiting backoff between attempts; body is sent
// with every attempt. It returns the last answer, its body unread, or the
// last attempt's error, or the context's when it ends during a wait.
//
// req's context is its first attempt's (attemptContext), which cancel
// ends; each attempt's ends when its answer's body is closed or read to
// the end, or when it fails.
func (c *Client) send(ctx context.Context, req *http.Request, cancel context.CancelFunc, body []byte, st *reqState) (*http.Response, error) {
	for i := 0; ; i++ {
		if body != nil {
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		st.attempts++
		resp, err := c.hc.Do(req)
		retry, checkErr := c.checkRetry(ctx, resp, err)
		if !retry || i >= c.cfg.RetryMax {
			if checkErr != nil {
				err = checkErr
			}
			if err != nil || retry {
				c.hc.CloseIdleConnections()
			}
			if err != nil && resp != nil {
				resp.Body.Close()
				resp = nil
			}
			if resp == nil {
				cancel()
			} else if c.attempt > 0 {
				resp.Body = &cancelBody{rc: resp.Body, cancel: cancel}
			}
			return resp, err
		}
		if err == nil {
			drain(resp.Body)
		}
		cancel()
		timer := time.NewTimer(c.backoff(c.cfg.RetryWaitMin, c.cfg.RetryWaitMax, i, resp))
		select {
		case <-ctx.Done():
			timer.Stop()
			c.hc.CloseIdleConnections()
			return nil, ctx.Err()
		case <-timer.C:
		}
		// A new request (net/http must not see one it was given twice)
		// with the next attempt's context.
		var actx context.Context
		actx, cancel = c.attemptContext(ctx)
		req = req.WithContext(actx)
	}
}

// attemptContext is the context of one attempt: ctx, ending after the
// attempt timeout when there is one.
func (c *Client) attemptContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.attempt > 0 {
		return context.WithTimeout(ctx, c.attempt)
	}
	return ctx, func() {}
}

// drain reads what is left of a body that will not be used, so that its
// connection can serve the next request, and closes it.
func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 4<<10))
	body.Close()
}

// readBody reads at most MaxBody+1 bytes of an answer, in one buffer of
// the announced length when there is one.
func readBody(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n <= MaxBody {
		data := make([]byte, n, n+1)
		if _, err := io.ReadFull(resp.Body, data); err != nil {
			return nil, err
		}
		// A body longer than announced is an error of net/http's; look
		// for it as ReadAll would.
		if m, _ := resp.Body.Read(data[n : n+1]); m > 0 {
			rest, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody-n))
			return append(data[:n+1], rest...), err
		}
		return data, nil
	}
	return io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
}

// PaceError reports that the client's own rate limiter would have made the
// request wait past its context's deadline: nothing was sent. It is not
// retried by Do (waiting longer is what it cannot do).
type PaceError struct {
	// Wait is how long the request would have had to wait, when the
	// limiter knows it (RollingWindow does); zero otherwise.
	Wait time.Duration
}

// Error says that nothing was sent, and why.
func (*PaceError) Error() string {
	return "the client's rate limit leaves no time to send the request before its deadline; nothing was sent"
}

// OversizeError reports an answer whose body exceeded MaxBody: the ACS
// answered, but the answer was not read.
type OversizeError struct {
	Status int // the answer's HTTP status
}

// Error names the answer's status and the limit.
func (e *OversizeError) Error() string {
	return fmt.Sprintf("the ACS answered (HTTP %d) with a body larger than %d bytes; not read", e.Status, MaxBody)
}

// transportError strips the URL (which may carry a query with personal
// data) from net/http's error and redacts what is left; a failure that
// shows the URL leads to the wrong protocol or certificate becomes a
// SchemeError or CertificateError.
func (c *Client) transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var pe *PaceError
	if errors.As(err, &pe) {
		return pe
	}
	if m := misdirected(err, c.cfg.BaseURL.Scheme, c.cfg.BaseURL.Host); m != nil {
		return m
	}
	return &TransportError{msg: c.Redact(err.Error()), timeout: isTimeout(err)}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TransportError is a failure to get an answer: connection refused or
// reset, TLS failure, timeout.
type TransportError struct {
	msg     string
	timeout bool
}

// Error describes the failure without the request URL or any secret.
func (e *TransportError) Error() string { return e.msg }

// Timeout reports whether the failure was a timeout.
func (e *TransportError) Timeout() bool { return e.timeout }

func (c *Client) log(ctx context.Context, r Request, status, attempts int, start time.Time, err error) {
	if c.cfg.Logger == nil || !c.cfg.Logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("provider", c.cfg.Provider),
		slog.String("op", r.Op),
		slog.String("method", r.Method),
		slog.String("path", c.Redact(r.Path)),
		slog.Int("status", status),
		slog.Int("attempts", attempts),
		slog.Duration("elapsed", time.Since(start)),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", c.Redact(err.Error())))
	}
	c.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "acs request", attrs...)
}

// checkRetry decides whether to send the request again.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	st := stateOf(ctx)
	if st == nil {
		return false, nil
	}
	if err == nil && st.throttled && (st.idempotent || c.cfg.ResendThrottled) {
		// Refused before it was handled: safe to send again, whatever
		// the method, once the server's pause has passed.
		return c.retryAfterWithinLimit(resp), nil
	}
	if !st.idempotent {
		return false, nil
	}
	if err != nil {
		var pe *PaceError
		if errors.As(err, &pe) || misdirected(err, c.cfg.BaseURL.Scheme, c.cfg.BaseURL.Host) != nil {
			return false, nil // asking again cannot change it
		}
		return true, nil
	}
	switch resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return c.retryAfterWithinLimit(resp), nil
	}
	return false, nil
}

// retryAfterWithinLimit is false when the server asks for a longer pause
// than RetryWaitMax: the caller gets the answer and decides.
func (c *Client) retryAfterWithinLimit(resp *http.Response) bool {
	d, ok := RetryAfter(resp.Header, time.Now())
	return !ok || d <= c.cfg.RetryWaitMax
}

// peekBody reads the body and puts an equivalent reader back.
func peekBody(resp *http.Response) []byte {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	rest := resp.Body
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(data), rest), rest}
	return data
}

// backoff honours Retry-After, else grows exponentially with jitter.
func (c *Client) backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if d, ok := RetryAfter(resp.Header, time.Now()); ok {
			return d
		}
	}
	b := Backoff{Min: lo, Max: hi}
	return b.Delay(attempt)
}

// RetryAfter parses a Retry-After header (seconds or an HTTP date).
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// pacedTransport waits for the pacer before every attempt, tells it when
// the answer is in and whether it was a throttle, and records that for
// the retry policy.
type pacedTransport struct {
	next      http.RoundTripper
	pacer     *Limiter
	throttled func(status int, body []byte) bool
}

func (t *pacedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var done func(bool, time.Duration)
	if t.pacer != nil {
		var err error
		if done, err = t.pacer.Acquire(r.Context()); err != nil {
			if ctxErr := r.Context().Err(); ctxErr != nil {
				return nil, ctxErr
			}
			return nil, err
		}
	}
	resp, err := t.next.RoundTrip(r)
	throttled := false
	var after time.Duration
	if err == nil {
		throttled = resp.StatusCode == http.StatusTooManyRequests ||
			t.throttled != nil && resp.StatusCode >= 400 && resp.StatusCode != http.StatusNotFound && t.throttled(resp.StatusCode, peekBody(resp))
		if throttled {
			after, _ = RetryAfter(resp.Header, time.Now())
		}
	}
	if st := stateOf(r.Context()); st != nil {
		st.throttled = throttled
	}
	if done != nil {
		done(throttled, after)
	}
	return resp, err
}
