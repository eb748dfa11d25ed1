package netbox

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// Name is the provider name used in errors and logs.
const Name = "netbox"

// Defaults.
const (
	// DefaultPersonIDPrefix starts the PERSONID of every person the
	// provider creates: PERSONID is the prefix followed by the external ID.
	DefaultPersonIDPrefix = "vms-"
	// DefaultTimeout bounds each HTTP attempt unless WithTimeout says
	// otherwise.
	DefaultTimeout = 30 * time.Second
	// DefaultCacheTTL is how long access levels and card formats are
	// reused before they are read again.
	DefaultCacheTTL = 10 * time.Minute
)

// Layout says which Wiegand layout and facility code a NetBox card format
// decodes. NetBox keeps the facility code in the card format definition:
// AddCredential takes a format name and an encoded number, and no facility
// code, so a card whose facility code differs from its format's would not
// open a door. The provider sends the card number as ENCODEDNUM.
type Layout struct {
	// Name is the card format's name at the controller, such as
	// "26 bit Wiegand" (as GetCardFormats lists it).
	Name string
	// Format is the layout the format decodes.
	Format acs.CardFormat
	// Facility is the facility code the format is configured with (0 for
	// layouts without one).
	Facility uint64
}

// Config holds what is needed to reach a NetBox controller.
type Config struct {
	// URL is the NBAPI endpoint: https://controller/nbws/goforms/nbapi on
	// NetBox 6.x, https://controller/goforms/nbapi before 6.x.
	URL string
	// Username and Password of the API user (the Login command); the
	// user's role needs Read-Write API privilege, and the controller's
	// Data Integration settings must have Enable V2, Use Authentication
	// and Use login username/password on.
	Username string
	Password string
	// TimeZone is the controller's IANA time zone (NBAPI dates are its
	// local time), such as "America/New_York". Empty means UTC. Location,
	// when set, is used instead.
	TimeZone string
	Location *time.Location
	// PersonIDPrefix starts every PERSONID the provider writes (default
	// DefaultPersonIDPrefix); Holdings lists the people whose PERSONID
	// has it. Use one no person entered by hand has.
	PersonIDPrefix string
	// Layouts map NetBox card format names to Wiegand layouts. A grant
	// without CredentialType uses the format whose layout and facility
	// code match its card; Holdings and events use them to read cards
	// back.
	Layouts []Layout
	// CardFormat is the NetBox card format name for a grant whose card
	// matches no Layout and that names no CredentialType; its facility
	// code is then not checked. Empty: such a grant is refused.
	CardFormat string
	// KeepDeleted makes RemoveCardholder stop at NetBox's soft delete
	// (RemovePerson, with the person's credentials disabled) instead of
	// purging the record (ModifyPerson PERSONPURGE), for sites that keep
	// deleted people for audit.
	KeepDeleted bool
	// FormEncoded posts each command as the form field APIcommand, as
	// controllers before 6.x are driven by some clients, instead of a raw
	// text/xml body.
	FormEncoded bool
}

// TLSOptions select how the controller's certificate is checked: extra
// root certificates (a site's own CA), a base tls.Config, or (lab use
// only) no verification.
type TLSOptions = acshttp.TLSOptions

// Option configures a Provider. New reports every option given a value
// it cannot use, as an InvalidArgument error naming the option.
type Option func(*options)

type options struct {
	http     acshttp.ClientOptions
	now      func() time.Time
	rules    acs.Rules
	cacheTTL time.Duration
	events   eventSettings
	errs     []error
}

func (o *options) invalid(format string, args ...any) {
	o.errs = append(o.errs, fmt.Errorf(format, args...))
}

// WithHTTPClient sends requests through c (its Transport is wrapped,
// never modified). It excludes WithTLS and WithTimeout: configure those
// on c.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.http.SetHTTPClient(c) } }

// WithTLS sets how the controller's certificate is checked (default: the
// system roots, TLS 1.2 or later).
func WithTLS(t TLSOptions) Option { return func(o *options) { o.http.SetTLS(t) } }

// WithTimeout bounds each HTTP attempt (default DefaultTimeout; contexts
// still apply).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.http.SetTimeout(d) } }

// WithRateLimit paces requests to perSecond a second in bursts of up to
// burst (0 means 1); a rate of 0 turns the limiter off (the default:
// NetBox documents no limit). The controller is an appliance, so pace it
// when several VMS replicas share one.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(o *options) { o.http.SetRateLimit(perSecond, burst) }
}

// WithRetry sets how many times idempotent requests are sent again after
// a transport failure, a 429 or a 502–504 from a proxy (retries ≤ 0:
// never; default 3) and the bounds of the backoff between attempts (0
// keeps the defaults, 200 ms and 10 s).
func WithRetry(retries int, waitMin, waitMax time.Duration) Option {
	return func(o *options) { o.http.SetRetry(retries, waitMin, waitMax) }
}

// WithAllowInsecureHTTP permits plain http to a host that is not
// loopback.
func WithAllowInsecureHTTP() Option { return func(o *options) { o.http.AllowInsecureHTTP() } }

// WithLogger sets the logger (default: none). Requests are logged at debug
// level, without secrets.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.http.SetLogger(l) } }

// WithMeterProvider records the HTTP request metrics of package acshttp
// (request duration, errors by acs code, over-limit answers; see its
// documentation) on mp, with acs.provider "netbox". Default: none (nothing is
// recorded; the global provider is never used).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.http.SetMeterProvider(mp) }
}

// WithTracerProvider makes each HTTP request a client span of tp named
// "netbox <operation>", a child of the span in the caller's context. Spans
// carry names, codes and IDs only, never a path, a body or a secret.
// Default: none (the global provider is never used).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.http.SetTracerProvider(tp) }
}

// WithClock sets the clock used to judge whether a credential is live,
// for the login back-off and for the event look-back (default time.Now).
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

// WithCacheTTL sets how long access levels and card formats are reused
// (default DefaultCacheTTL). An access level key missing from the
// cached list makes the provider read the list again at once.
func WithCacheTTL(d time.Duration) Option {
	return func(o *options) {
		if d <= 0 {
			o.invalid("WithCacheTTL: %s is not positive", d)
		}
		o.cacheTTL = d
	}
}

// newOptions applies opts over the defaults and reports every value they
// were given that New cannot use.
func newOptions(opts []Option) (options, error) {
	o := options{http: acshttp.NewClientOptions(DefaultTimeout, 0, 0), now: time.Now, cacheTTL: DefaultCacheTTL,
		events: defaultEventSettings()}
	for _, opt := range opts {
		opt(&o)
	}
	return o, errors.Join(append(o.errs, o.http.Err())...)
}

// Provider is the NetBox adapter. It is safe for concurrent use. Call
// Close when done: it logs the session out, as NetBox asks every Login to
// be matched by a Logout.
type Provider struct {
	cfg      Config
	loc      *time.Location
	hc       *acshttp.Client
	log      *slog.Logger
	now      func() time.Time
	rules    acs.Rules
	ev       eventSettings
	num      atomic.Uint64
	locks    acshttp.KeyedMutex
	stop     chan struct{}
	sess     sessionState
	cat      catalogs
	evPeople peopleCache
}

var (
	_ acs.Provider    = (*Provider)(nil)
	_ acs.Closer      = (*Provider)(nil)
	_ acs.Inventory   = (*Provider)(nil)
	_ acs.EventSource = (*Provider)(nil)
)

// New validates cfg and the options and returns a Provider. It makes no
// network call.
func New(cfg Config, opts ...Option) (*Provider, error) {
	fail := func(err error) (*Provider, error) { return nil, acs.Wrap("new", Name, acs.InvalidArgument, err) }
	o, err := newOptions(opts)
	if err != nil {
		return fail(err)
	}
	loc, err := checkConfig(&cfg)
	if err != nil {
		return fail(err)
	}
	base, err := o.http.BaseURL(cfg.URL)
	if err != nil {
		return fail(fmt.Errorf("URL: %w", err))
	}
	hc, err := o.http.HTTPClient()
	if err != nil {
		return fail(err)
	}
	client, err := acshttp.New(o.http.Config(Name, base, hc, cfg.Password))
	if err != nil {
		return fail(err)
	}
	p := &Provider{cfg: cfg, loc: loc, hc: client, log: o.http.Logger(), now: o.now, rules: o.rules,
		ev: o.events, stop: make(chan struct{})}
	p.evPeople.m = map[string]personCards{}
	p.cat.init(o.cacheTTL, o.now)
	return p, nil
}

// checkConfig validates cfg, fills defaults and loads the time zone.
func checkConfig(c *Config) (*time.Location, error) {
	switch {
	case c.Username == "":
		return nil, errors.New("username is empty")
	case c.Password == "":
		return nil, errors.New("password is empty")
	}
	if c.PersonIDPrefix == "" {
		c.PersonIDPrefix = DefaultPersonIDPrefix
	}
	for _, f := range []struct{ name, v string }{
		{"username", c.Username}, {"password", c.Password}, {"person ID prefix", c.PersonIDPrefix}, {"card format", c.CardFormat},
	} {
		if err := xmlText(f.v); err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	if len(c.PersonIDPrefix) > 16 || strings.TrimSpace(c.PersonIDPrefix) != c.PersonIDPrefix {
		return nil, errors.New("person ID prefix must be at most 16 characters without surrounding spaces")
	}
	if err := checkLayouts(c.Layouts); err != nil {
		return nil, err
	}
	loc := c.Location
	if loc == nil {
		var err error
		if loc, err = time.LoadLocation(c.TimeZone); err != nil {
			return nil, fmt.Errorf("time zone %q: %w (embed time/tzdata in the program when the host has no zone database)", c.TimeZone, err)
		}
	}
	return loc, nil
}

func checkLayouts(ls []Layout) error {
	for i, l := range ls {
		if err := xmlText(l.Name); err != nil || strings.TrimSpace(l.Name) == "" {
			return fmt.Errorf("layout %d: the card format name is empty or not XML text", i+1)
		}
		if err := acs.ValidateCard(acs.Card{Format: l.Format, Facility: l.Facility}); err != nil {
			return fmt.Errorf("layout %q: %w", l.Name, err)
		}
		for _, o := range ls[:i] {
			if o.Name == l.Name {
				return fmt.Errorf("layout %q is listed twice", l.Name)
			}
			if o.Format == l.Format && o.Facility == l.Facility {
				return fmt.Errorf("layouts %q and %q both decode %s with facility code %d", o.Name, l.Name, l.Format, l.Facility)
			}
		}
	}
	return nil
}

// Name returns "netbox".
func (p *Provider) Name() string { return Name }

// Location returns the controller's time zone the provider converts dates
// with.
func (p *Provider) Location() *time.Location { return p.loc }
