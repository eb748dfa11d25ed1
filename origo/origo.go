package origo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// Name is the provider name used in errors and logs.
const Name = "origo"

// HID's hosts (§4.2): authentication and Mobile Identities are separate
// hosts, in production and in the certification environment.
const (
	DefaultAuthURL = "https://api.origo.hidglobal.com"
	CertAuthURL    = "https://api.cert.origo.hidglobal.com"
	DefaultBaseURL = "https://ma.api.assaabloy.com"
	CertBaseURL    = "https://cert.mi.api.origo.hidglobal.com"
)

// ContentType is the media type of Mobile Identities v2.2 requests and
// answers (§4.3).
const ContentType = "application/vnd.assaabloy.ma.credential-management-2.2+json"

// CredentialType is the acs.Grant.CredentialType that selects a mobile ID
// (and the ID under which CredentialFormats lists it). Give it to the
// visitor location (visitor.Location.CredentialType) so that card numbers
// from the range become mobile IDs; see WithMobileByDefault.
const CredentialType = "origo-mobile"

// The Application-ID and Application-Version headers sent unless the
// Config says otherwise. HID ties the Application-ID to a technology
// partner's certification: production deployments set their own.
const (
	DefaultApplicationID      = "ACSBRIDGE-SDK"
	DefaultApplicationVersion = "1.0"
)

// DefaultRateLimit is the limit of the notes (§4.4, AEW [L]): 50 requests
// in any RateWindow per organisation. The issuer keeps a client-side
// sliding window of that size by default (WithRateLimit).
const (
	DefaultRateLimit = 50
	RateWindow       = 5 * time.Minute
)

// DefaultTimeout bounds each HTTP attempt unless WithTimeout says
// otherwise.
const DefaultTimeout = 30 * time.Second

// Polling of an invitation the phone has not accepted yet (WithPolling):
// Origo is asked again no sooner than an eighth of the invitation's age,
// within these bounds.
const (
	DefaultPollMin = 30 * time.Second
	DefaultPollMax = 15 * time.Minute
)

// DefaultLevelCacheTTL is how long the door ACS's access levels are cached
// for the check made before a new Origo user is created.
const DefaultLevelCacheTTL = 10 * time.Minute

// TokenLifetime is the access token's lifetime (expires_in 3600, §4.2);
// the issuer renews a token tokenMargin before it ends.
const TokenLifetime = time.Hour

const tokenMargin = 5 * time.Minute

// maxCallbackBody bounds a callback delivery.
const maxCallbackBody = 1 << 20

// Config holds what is needed to reach an Origo organisation and to turn
// its mobile IDs into cards at the door ACS.
type Config struct {
	// AuthURL is the authentication host (default DefaultAuthURL;
	// CertAuthURL for certification).
	AuthURL string
	// BaseURL is the Mobile Identities host (default DefaultBaseURL;
	// CertBaseURL for certification).
	BaseURL string
	// OrganizationID is the Origo organisation (customer) ID, digits.
	// Required.
	OrganizationID string
	// ClientID and ClientSecret are the system account's OAuth client
	// credentials ("{organization}-OSRV…"). Required.
	ClientID, ClientSecret string
	// ApplicationID and ApplicationVersion are sent on every call
	// (defaults DefaultApplicationID and DefaultApplicationVersion).
	ApplicationID, ApplicationVersion string
	// PartNumber is the mobile ID part number invitations assign
	// ("MID-SUB-…"). Required.
	PartNumber string
	// CardFormat and FacilityCode are the Wiegand format and facility
	// code of the part number's card numbers, as ordered from HID: the
	// card the door ACS is given is CardFormat FacilityCode/<Origo's
	// cardNumber>. CardFormat is required.
	CardFormat   acs.CardFormat
	FacilityCode uint64
}

// TLSOptions selects how the server's certificate is checked (see
// acshttp.TLSOptions).
type TLSOptions = acshttp.TLSOptions

// Option configures an Issuer. New reports every option given a value it
// cannot use, as an InvalidArgument error naming the option.
type Option func(*options)

type options struct {
	http          acshttp.ClientOptions
	now           func() time.Time
	sleep         func(ctx context.Context, d time.Duration) error
	rules         acs.Rules
	pollMin       time.Duration
	pollMax       time.Duration
	levelTTL      time.Duration
	mobileDefault bool
	doorType      string
	noEmail       bool
	cbAuth        callbackAuth
	onEvent       func(Event)
	errs          []error
}

func (o *options) invalid(format string, args ...any) {
	o.errs = append(o.errs, fmt.Errorf(format, args...))
}

// WithHTTPClient sends requests to Origo through c (its Transport is
// wrapped, never modified). It excludes WithTLS and WithTimeout.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.http.SetHTTPClient(c) } }

// WithTLS sets how Origo's certificate is checked (default: the system
// roots, TLS 1.2 or later).
func WithTLS(t TLSOptions) Option { return func(o *options) { o.http.SetTLS(t) } }

// WithTimeout bounds each HTTP attempt to Origo (default DefaultTimeout;
// contexts still apply).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.http.SetTimeout(d) } }

// WithRateLimit paces requests to Origo: at most burst requests start in
// any burst/perSecond seconds, token requests and retries included; a
// rate of 0 turns the limiter off. The default, WithRateLimit(50.0/300,
// 50), is DefaultRateLimit in any RateWindow; the limit is per
// organisation, so lower it when other integrations share it.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(o *options) { o.http.SetRateLimit(perSecond, burst) }
}

// WithRetry sets how many times an idempotent request (a read, a search,
// a delete, the token request) is sent again after a transport failure or
// a 500, 502, 503 or 504 (retries ≤ 0: never; default 3), and the bounds
// of the backoff between attempts (0 keeps 200 ms and 10 s). Creations
// are never resent: a lost answer is settled by looking again.
func WithRetry(retries int, waitMin, waitMax time.Duration) Option {
	return func(o *options) { o.http.SetRetry(retries, waitMin, waitMax) }
}

// WithAllowInsecureHTTP permits plain http to an Origo host that is not
// loopback.
func WithAllowInsecureHTTP() Option { return func(o *options) { o.http.AllowInsecureHTTP() } }

// WithLogger logs one debug line per HTTP attempt, and the invitations
// waiting for a phone. Secrets and invitation codes are never logged.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.http.SetLogger(l) } }

// WithMeterProvider records the HTTP request metrics of package acshttp
// (request duration, errors by acs code, over-limit answers; see its
// documentation) for the requests to Origo on mp, with acs.provider
// "origo"; the door provider records its own with its options. Default:
// none (nothing is recorded; the global provider is never used).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.http.SetMeterProvider(mp) }
}

// WithTracerProvider makes each HTTP request to Origo a client span of tp
// named "origo <operation>", a child of the span in the caller's context.
// Spans carry names, codes and IDs only, never a path, a body or a secret.
// Default: none (the global provider is never used).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.http.SetTracerProvider(tp) }
}

// WithClock sets the clock of token renewal, the rate-limit window,
// polling and the 403 classification (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now == nil {
			o.invalid("WithClock: nil clock")
		}
		o.now = now
	}
}

// withSleep replaces how the issuer waits (tests advance a fake clock).
func withSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(o *options) { o.sleep = sleep }
}

// WithRules sets the grant validation rules.
func WithRules(r acs.Rules) Option { return func(o *options) { o.rules = r } }

// WithPolling bounds how often Origo is asked whether a pending invitation
// was accepted (defaults DefaultPollMin and DefaultPollMax): no sooner
// than an eighth of the invitation's age, at least min and at most max
// apart. A callback saying the credential was issued lifts the wait.
func WithPolling(min, max time.Duration) Option {
	return func(o *options) {
		if min <= 0 || max < min {
			o.invalid("WithPolling: need 0 < min ≤ max (got %s, %s)", min, max)
		}
		o.pollMin, o.pollMax = min, max
	}
}

// WithLevelCacheTTL sets how long the door ACS's access levels are cached
// (default DefaultLevelCacheTTL); a level missing from the cache always
// triggers a fresh listing before the grant is refused.
func WithLevelCacheTTL(d time.Duration) Option {
	return func(o *options) {
		if d <= 0 {
			o.invalid("WithLevelCacheTTL: %s is not positive", d)
		}
		o.levelTTL = d
	}
}

// WithMobileByDefault makes grants without a CredentialType mobile IDs too
// (default: only grants whose CredentialType is CredentialType are; every
// other grant goes to the door ACS unchanged).
func WithMobileByDefault() Option { return func(o *options) { o.mobileDefault = true } }

// WithDoorCredentialType sets the credential type (the door ACS's card
// format or badge type ID, as its CredentialFormats lists it) under which
// mobile ID cards are provisioned at the door ACS (default: the door's
// default).
func WithDoorCredentialType(id string) Option {
	return func(o *options) {
		if err := acs.ValidateText("door credential type", id, 200); err != nil {
			o.invalid("WithDoorCredentialType: %v", err)
		}
		o.doorType = id
	}
}

// WithoutInvitationEmail stops Origo from e-mailing invitation codes
// (sendInvitationEmail "N"); the VMS then hands the code to the visitor
// (Issuer.Status). By default Origo e-mails it when the person has an
// e-mail address.
func WithoutInvitationEmail() Option { return func(o *options) { o.noEmail = true } }

// WithCallbackSecret makes Handler accept only deliveries whose header
// carries secret (compared in constant time).
func WithCallbackSecret(header, secret string) Option {
	return func(o *options) {
		if http.CanonicalHeaderKey(strings.TrimSpace(header)) == "" || len(secret) < 16 {
			o.invalid("WithCallbackSecret: need a header name and a secret of at least 16 characters")
		}
		o.cbAuth.header, o.cbAuth.secret = http.CanonicalHeaderKey(strings.TrimSpace(header)), secret
	}
}

// WithCallbackBasicAuth makes Handler accept only deliveries with these
// HTTP Basic credentials (compared in constant time).
func WithCallbackBasicAuth(username, password string) Option {
	return func(o *options) {
		if username == "" || strings.ContainsRune(username, ':') || len(password) < 16 {
			o.invalid("WithCallbackBasicAuth: need a user name without ':' and a password of at least 16 characters")
		}
		o.cbAuth.user, o.cbAuth.password = username, password
	}
}

// WithOnEvent passes every callback event Handler accepts to fn (after the
// issuer noted it), from the handler's goroutine; fn must not block.
func WithOnEvent(fn func(Event)) Option { return func(o *options) { o.onEvent = fn } }

// Issuer issues HID Origo mobile IDs and provisions their cards at a door
// ACS; it is itself an acs.Provider (see the package documentation).
// Create it with New. It is safe for concurrent use.
type Issuer struct {
	door         acs.Provider
	cfg          Config
	authAPI      *acshttp.Client
	api          *acshttp.Client
	tokens       acshttp.SharedLogin[token]
	window       *acshttp.RollingWindow
	log          *slog.Logger
	now          func() time.Time
	sleep        func(ctx context.Context, d time.Duration) error
	rules        acs.Rules
	retryMax     int
	retryWaitMin time.Duration
	retryWaitMax time.Duration
	pollMin      time.Duration
	pollMax      time.Duration
	mobileDflt   bool
	doorType     string
	noEmail      bool
	cbAuth       callbackAuth
	onEvent      func(Event)
	locks        acshttp.KeyedMutex
	levels       levelCache
	waits        waitBook
	forbid       forbidState
	// stop is closed by Close; it ends the door event streams of Events.
	stop      chan struct{}
	closeOnce sync.Once
}

var (
	_ acs.Provider    = (*Issuer)(nil)
	_ acs.Closer      = (*Issuer)(nil)
	_ acs.EventSource = (*Issuer)(nil)
)

func newOptions(opts []Option) (options, error) {
	o := options{http: acshttp.NewClientOptions(DefaultTimeout, float64(DefaultRateLimit)/RateWindow.Seconds(), DefaultRateLimit),
		now: time.Now, sleep: acshttp.Sleep, pollMin: DefaultPollMin, pollMax: DefaultPollMax, levelTTL: DefaultLevelCacheTTL}
	for _, opt := range opts {
		opt(&o)
	}
	return o, errors.Join(append(o.errs, o.http.Err())...)
}

// New validates the configuration and the options and returns an Issuer
// in front of door, the ACS that opens the doors. It makes no request.
func New(door acs.Provider, cfg Config, opts ...Option) (*Issuer, error) {
	fail := func(err error) (*Issuer, error) { return nil, acs.Wrap("new", Name, acs.InvalidArgument, err) }
	o, err := newOptions(opts)
	if err != nil {
		return fail(err)
	}
	if door == nil {
		return fail(errors.New("no door provider: Origo opens no doors of its own"))
	}
	if err := cfg.check(); err != nil {
		return fail(err)
	}
	authBase, err := o.http.BaseURL(cfg.AuthURL)
	if err != nil {
		return fail(fmt.Errorf("auth URL: %w", err))
	}
	apiBase, err := o.http.BaseURL(cfg.BaseURL)
	if err != nil {
		return fail(fmt.Errorf("base URL: %w", err))
	}
	hc, err := o.http.HTTPClient()
	if err != nil {
		return fail(err)
	}
	i := &Issuer{door: door, cfg: cfg, log: o.http.Logger(), now: o.now, sleep: o.sleep, rules: o.rules,
		pollMin: o.pollMin, pollMax: o.pollMax, mobileDflt: o.mobileDefault, doorType: o.doorType,
		noEmail: o.noEmail, cbAuth: o.cbAuth, onEvent: o.onEvent, stop: make(chan struct{})}
	i.retryMax, i.retryWaitMin, i.retryWaitMax = o.http.Retry()
	// Retries and pacing are the issuer's own (see roundTrip and window),
	// so that retries and both hosts share one rate-limit window.
	authCfg := o.http.Config(Name, authBase, hc, cfg.ClientSecret)
	i.window = acshttp.RollingWindowOf(authCfg.Limiter, o.now, o.sleep)
	authCfg.Limiter, authCfg.RetryMax = nil, -1
	if i.authAPI, err = acshttp.New(authCfg); err != nil {
		return fail(err)
	}
	apiCfg := authCfg
	apiCfg.BaseURL = apiBase
	if i.api, err = acshttp.New(apiCfg); err != nil {
		return fail(err)
	}
	i.levels.ttl = o.levelTTL
	i.tokens.Usable = func(t token) bool { return t.value != "" && i.now().Before(t.useUntil) }
	i.waits.init()
	return i, nil
}

// check fills the defaults and refuses what cannot work.
func (c *Config) check() error {
	c.AuthURL = cmpOr(c.AuthURL, DefaultAuthURL)
	c.BaseURL = cmpOr(c.BaseURL, DefaultBaseURL)
	c.ApplicationID = cmpOr(c.ApplicationID, DefaultApplicationID)
	c.ApplicationVersion = cmpOr(c.ApplicationVersion, DefaultApplicationVersion)
	switch {
	case c.OrganizationID == "" || strings.Trim(c.OrganizationID, "0123456789") != "" || len(c.OrganizationID) > 20:
		return errors.New("the organization ID must be 1 to 20 digits")
	case strings.TrimSpace(c.ClientID) == "" || strings.TrimSpace(c.ClientSecret) == "":
		return errors.New("the client ID and client secret are required")
	case hasControl(c.ClientID) || hasControl(c.ClientSecret):
		return errors.New("the client ID or secret contains a control character")
	case !headerSafe(c.ApplicationID) || !headerSafe(c.ApplicationVersion):
		return errors.New("the application ID and version must be printable ASCII without spaces")
	case !partNumberOK(c.PartNumber):
		return fmt.Errorf("part number %.40q is not 1 to 64 letters, digits, '-', '_' or '.'", c.PartNumber)
	case !c.CardFormat.Known():
		return fmt.Errorf("card format %v is not one the SDK knows (H10301, H10306, …)", c.CardFormat)
	}
	if err := acs.ValidateCard(acs.Card{Format: c.CardFormat, Facility: c.FacilityCode}); err != nil {
		return fmt.Errorf("facility code: %w", err)
	}
	return nil
}

func cmpOr(a, b string) string {
	if a == "" {
		return b
	}
	return a
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

func headerSafe(s string) bool {
	return s != "" && len(s) <= 100 && !strings.ContainsFunc(s, func(r rune) bool { return r <= 0x20 || r >= 0x7f })
}

func partNumberOK(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Name returns "origo".
func (i *Issuer) Name() string { return Name }

// Door returns the door ACS the issuer provisions cards at.
func (i *Issuer) Door() acs.Provider { return i.door }

// Ping checks both systems: the door ACS's Ping, and at Origo a token (the
// client credentials) and the part-number listing, which must hold the
// configured part number.
func (i *Issuer) Ping(ctx context.Context) error {
	const op = "ping"
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	if err := i.door.Ping(ctx); err != nil {
		return err
	}
	pns, err := i.partNumbers(ctx, op)
	if err != nil {
		return err
	}
	for _, pn := range pns {
		if pn == i.cfg.PartNumber {
			return nil
		}
	}
	return acs.Errorf(op, Name, acs.NotFound, "part number %s is not among the %d the organisation holds", i.cfg.PartNumber, len(pns))
}

// AccessLevels lists the door ACS's access levels.
func (i *Issuer) AccessLevels(ctx context.Context) ([]acs.AccessLevel, error) {
	ls, err := i.door.AccessLevels(ctx)
	if err == nil {
		i.levels.put(ls, i.now())
	}
	return ls, err
}

// CredentialFormats lists the door ACS's formats and, first, the mobile ID
// (ID CredentialType, Format the configured card format).
func (i *Issuer) CredentialFormats(ctx context.Context) ([]acs.CredentialFormat, error) {
	if err := ctx.Err(); err != nil {
		return nil, acs.Wrap("credential_formats", Name, acs.Canceled, err)
	}
	fs, err := i.door.CredentialFormats(ctx)
	if err != nil {
		return nil, err
	}
	mobile := acs.CredentialFormat{ID: CredentialType, Format: i.cfg.CardFormat,
		Name: "HID Origo mobile ID (" + i.cfg.PartNumber + ")"}
	return append([]acs.CredentialFormat{mobile}, fs...), nil
}

// Close ends the door event streams that Events started (they return an
// Unavailable error saying the issuer is closed; later Events calls fail
// so at once) and closes the door provider when it holds a session
// (acs.Closer). It is safe to call more than once.
func (i *Issuer) Close(ctx context.Context) error {
	i.closeOnce.Do(func() { close(i.stop) })
	if c, ok := i.door.(acs.Closer); ok {
		return c.Close(ctx)
	}
	return nil
}

// Events delivers the door ACS's door events (acs.EventSource); a mobile
// ID shows there as the card Origo issued. A door ACS without events is
// an Unsupported error. Close ends the stream, whether or not the door
// provider is a Closer: the door's Events runs under a context that Close
// cancels, and an Unavailable error says the issuer is closed.
func (i *Issuer) Events(ctx context.Context, cursor string, fn func(acs.DoorEvent) error) error {
	const op = "events"
	src, ok := i.door.(acs.EventSource)
	if !ok {
		return acs.Errorf(op, Name, acs.Unsupported, "the door ACS %s delivers no door events", i.door.Name())
	}
	if i.closed() {
		return errClosed(op)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-i.stop:
			cancel()
		case <-sctx.Done():
		}
	}()
	err := src.Events(sctx, cursor, fn)
	if ctx.Err() == nil && i.closed() {
		return errClosed(op)
	}
	return err
}

// closed reports whether Close was called.
func (i *Issuer) closed() bool {
	select {
	case <-i.stop:
		return true
	default:
		return false
	}
}

func errClosed(op string) error {
	return acs.Errorf(op, Name, acs.Unavailable, "the issuer is closed")
}

// mobile reports whether g is to be a mobile ID.
func (i *Issuer) mobile(credentialType string) bool {
	return credentialType == CredentialType || credentialType == "" && i.mobileDflt
}
