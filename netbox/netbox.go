package netbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	// DefaultRequestTimeout bounds each HTTP attempt.
	DefaultRequestTimeout = 30 * time.Second
	// DefaultCatalogTTL is how long access levels and card formats are
	// reused before they are read again.
	DefaultCatalogTTL = 10 * time.Minute
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

// TLSOptions select how the controller's certificate is checked.
type TLSOptions struct {
	// CAFile is a PEM file of extra root certificates (a site's own CA).
	CAFile string
	// Config is the base TLS configuration when set (it is cloned).
	Config *tls.Config
	// InsecureSkipVerify turns certificate verification off. Lab use only.
	InsecureSkipVerify bool
}

type settings struct {
	httpClient    *http.Client
	tls           *TLSOptions
	timeout       time.Duration
	ratePerSecond float64
	rateBurst     int
	logger        *slog.Logger
	now           func() time.Time
	retryMax      int
	retryWaitMin  time.Duration
	retryWaitMax  time.Duration
	allowInsecure bool
	rules         acs.Rules
	catalogTTL    time.Duration
	events        eventSettings
}

// Option configures a Provider.
type Option func(*settings) error

// WithHTTPClient sets the *http.Client (its Transport is wrapped, not
// modified). It excludes WithTLS.
func WithHTTPClient(c *http.Client) Option {
	return func(s *settings) error {
		if c == nil {
			return errors.New("WithHTTPClient: nil client")
		}
		s.httpClient = c
		return nil
	}
}

// WithTLS sets how the controller's certificate is checked (default: the
// system roots, TLS 1.2 or later).
func WithTLS(o TLSOptions) Option {
	return func(s *settings) error { s.tls = &o; return nil }
}

// WithRequestTimeout bounds each HTTP attempt (default
// DefaultRequestTimeout).
func WithRequestTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 {
			return errors.New("WithRequestTimeout: timeout must be positive")
		}
		s.timeout = d
		return nil
	}
}

// WithRateLimit paces requests to perSecond with the given burst. NetBox
// documents no limit; the controller is an appliance, so pace it when
// several VMS replicas share one.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(s *settings) error {
		if perSecond <= 0 || burst < 1 {
			return errors.New("WithRateLimit: rate and burst must be positive")
		}
		s.ratePerSecond, s.rateBurst = perSecond, burst
		return nil
	}
}

// WithLogger sets the logger (default: none). Requests are logged at debug
// level, without secrets.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error { s.logger = l; return nil }
}

// WithClock sets the clock used to judge whether a credential is live,
// for the login back-off and for the event look-back (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(s *settings) error {
		if now == nil {
			return errors.New("WithClock: nil clock")
		}
		s.now = now
		return nil
	}
}

// WithRetry sets how often idempotent requests are retried after a
// transport failure or a 502/503/504 from a proxy (max ≤ 0: never;
// default 3) and the backoff bounds (defaults 200 ms and 10 s).
func WithRetry(max int, waitMin, waitMax time.Duration) Option {
	return func(s *settings) error {
		if waitMin < 0 || waitMax < waitMin {
			return errors.New("WithRetry: need 0 ≤ waitMin ≤ waitMax")
		}
		if max == 0 {
			max = -1
		}
		s.retryMax, s.retryWaitMin, s.retryWaitMax = max, waitMin, waitMax
		return nil
	}
}

// WithAllowInsecureHTTP allows plain http to a host that is not loopback.
func WithAllowInsecureHTTP() Option {
	return func(s *settings) error { s.allowInsecure = true; return nil }
}

// WithRules sets the grant validation rules.
func WithRules(r acs.Rules) Option {
	return func(s *settings) error { s.rules = r; return nil }
}

// WithCatalogTTL sets how long access levels and card formats are reused
// (default DefaultCatalogTTL). An access level key missing from the
// cached list makes the provider read the list again at once.
func WithCatalogTTL(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 {
			return errors.New("WithCatalogTTL: duration must be positive")
		}
		s.catalogTTL = d
		return nil
	}
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
	ttl      time.Duration
	ev       eventSettings
	num      atomic.Uint64
	locks    keyLocks
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

// New validates cfg and returns a Provider. It makes no network call.
func New(cfg Config, opts ...Option) (*Provider, error) {
	s := settings{timeout: DefaultRequestTimeout, now: time.Now, catalogTTL: DefaultCatalogTTL, events: defaultEventSettings()}
	for _, o := range opts {
		if err := o(&s); err != nil {
			return nil, acs.Wrap("new", Name, acs.InvalidArgument, err)
		}
	}
	loc, err := checkConfig(&cfg)
	if err != nil {
		return nil, acs.Wrap("new", Name, acs.InvalidArgument, err)
	}
	client, err := newClient(cfg, s)
	if err != nil {
		return nil, acs.Wrap("new", Name, acs.InvalidArgument, err)
	}
	logger := s.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Provider{cfg: cfg, loc: loc, hc: client, log: logger, now: s.now, rules: s.rules, ttl: s.catalogTTL,
		ev: s.events, locks: keyLocks{m: map[string]*keyLock{}}, stop: make(chan struct{})}
	p.evPeople.m = map[string]personCards{}
	return p, nil
}

func newClient(cfg Config, s settings) (*acshttp.Client, error) {
	base, err := acshttp.CheckBaseURL(cfg.URL, s.allowInsecure)
	if err != nil {
		return nil, err
	}
	hc := s.httpClient
	if hc != nil && s.tls != nil {
		return nil, errors.New("WithHTTPClient and WithTLS exclude each other; configure TLS on the client")
	}
	if hc == nil {
		var o acshttp.TLSOptions
		if s.tls != nil {
			o = acshttp.TLSOptions{CAFile: s.tls.CAFile, Config: s.tls.Config, InsecureSkipVerify: s.tls.InsecureSkipVerify}
		}
		if hc, err = acshttp.NewHTTPClient(o, s.timeout); err != nil {
			return nil, err
		}
	}
	return acshttp.New(acshttp.Config{
		Provider: Name, BaseURL: base, HTTPClient: hc,
		Limiter: acshttp.NewLimiter(s.ratePerSecond, s.rateBurst),
		Logger:  s.logger, RetryMax: s.retryMax, RetryWaitMin: s.retryWaitMin, RetryWaitMax: s.retryWaitMax,
		Secrets: []string{cfg.Password},
	})
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
		if err := (acs.Card{Format: l.Format, Facility: l.Facility}).Validate(); err != nil {
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

// redact removes the password and the current session ID from s.
func (p *Provider) redact(s string) string {
	s = p.hc.Redact(s)
	if id := p.currentSession(); len(id) >= 4 {
		s = strings.ReplaceAll(s, id, "[REDACTED]")
	}
	return s
}

// keyLocks serialise work on one key (a PERSONID, a card) within this
// process, so that concurrent calls for one visit do not race each other.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	ch   chan struct{}
	refs int
}

func (k *keyLocks) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	l := k.m[key]
	if l == nil {
		l = &keyLock{ch: make(chan struct{}, 1)}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; k.release(key, l) }, nil
	case <-ctx.Done():
		k.release(key, l)
		return nil, ctx.Err()
	}
}

func (k *keyLocks) release(key string, l *keyLock) {
	k.mu.Lock()
	l.refs--
	if l.refs == 0 {
		delete(k.m, key)
	}
	k.mu.Unlock()
}
