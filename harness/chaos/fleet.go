package chaos

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/alta/altasim"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/internal/providers"
	"github.com/acsbridge/acsbridge/lenel"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
	"github.com/acsbridge/acsbridge/netbox/netboxsim"
	"github.com/acsbridge/acsbridge/origo/origosim"
	"github.com/acsbridge/acsbridge/verkada/verkadasim"
)

// Site kinds, in the order Sims.Sites lists them: the door providers of
// the registry in its order, then Origo, the credential issuer.
const (
	Genetec = "genetec"
	Lenel   = "lenel"
	Brivo   = "brivo"
	Alta    = "alta"
	Verkada = "verkada"
	Netbox  = "netbox"
	Origo   = "origo"
)

// Kinds lists the door providers of the fleet: every provider of the
// registry (internal/providers), in its order.
var Kinds = providers.Names()

// Issuers lists the credential issuers of the fleet: every issuer of the
// registry, each the site of an issuer in front of a door ACS of its own.
var Issuers = providers.IssuerNames()

// SiteKinds lists the kinds of the fleet's sites in the order of
// Sims.Sites: Kinds, then Issuers.
var SiteKinds = append(slices.Clone(Kinds), Issuers...)

// Secrets are the credentials the simulators accept and the adapters send,
// by provider kind: the settings of the registry (username, password, API
// key, …) that identify the VMS to the ACS. DistinctSecrets makes each
// value that must not leak a distinctive string, so that a test can search
// logs, errors and URLs for it.
type Secrets map[string]providers.Config

// DistinctSecrets returns credentials that appear nowhere else: each
// secret holds a random tag.
func DistinctSecrets() Secrets {
	tag := func(name string) string {
		var b [6]byte
		_, _ = rand.Read(b[:])
		return name + "-" + hex.EncodeToString(b[:])
	}
	out := Secrets{}
	for _, kind := range SiteKinds {
		out[kind] = kitOf(kind).credentials(tag)
	}
	return out
}

// kitOf returns the kit of a provider kind; a registered provider without
// one is a programming error (see kits.go).
func kitOf(kind string) *kit {
	k, ok := kits[kind]
	if !ok {
		panic(fmt.Sprintf("chaos: provider %q has no simulator kit (add one in harness/chaos/kits.go)", kind))
	}
	return k
}

// Site is one simulated ACS on a loopback server, behind its Injector; at a
// credential issuer's site, the issuer's simulator, with the door ACS's
// behind its own server and Injector (Door).
type Site struct {
	// Kind is the provider kind (Genetec, Lenel, …).
	Kind string
	// Location is the visitor location served by this ACS.
	Location string
	// URL is the server's origin ("http://127.0.0.1:port").
	URL string
	// Levels are the access level IDs visitors may get, lobby first.
	Levels []string
	// Faults injects failures into this site's requests.
	Faults *Injector
	// Server is the loopback server.
	Server *httptest.Server
	// Door is, at a credential issuer's site (Origo), the door ACS behind
	// the issuer: its own simulator, server and Injector, at the same
	// location and with the same levels. It is nil at a door provider's
	// site.
	Door *Site

	sims *Sims
}

// Injectors returns the site's Injectors: its own, then its door's.
func (site *Site) Injectors() []*Injector {
	out := []*Injector{site.Faults}
	if site.Door != nil {
		out = append(out, site.Door.Faults)
	}
	return out
}

// Requests returns the number of requests the site's servers received.
func (site *Site) Requests() int {
	n := 0
	for _, in := range site.Injectors() {
		n += in.Stats().Requests
	}
	return n
}

// CloseClientConnections closes the connections to the site's servers,
// and at an issuer's site those its simulator delivers callbacks on.
func (site *Site) CloseClientConnections() {
	site.Server.CloseClientConnections()
	if site.Door != nil {
		site.Door.Server.CloseClientConnections()
		if site.sims != nil && site.sims.callbacks != nil {
			site.sims.callbacks.srv.CloseClientConnections()
		}
	}
}

// Sims holds the simulators, one per kind. Create it with StartSims and
// Close it when done.
type Sims struct {
	Genetec *genetecsim.Server
	Lenel   *lenelsim.Server
	Brivo   *brivosim.Server
	Alta    *altasim.Server
	Verkada *verkadasim.Server
	Netbox  *netboxsim.Server
	// Origo is the HID Origo simulator, and OrigoDoor the door ACS behind
	// it: a Genetec simulator of its own.
	Origo     *origosim.Server
	OrigoDoor *genetecsim.Server
	// Sites lists the sites in the order of SiteKinds.
	Sites []*Site

	secrets     Secrets
	tokenPrefix string // of Lenel's session tokens
	callbacks   *fanout

	mu     sync.Mutex
	tokens []string // session and access tokens the simulators issued
}

// SimConfig configures StartSims.
type SimConfig struct {
	// Clock is the simulators' time (session and token expiry, credential
	// windows). Required.
	Clock func() time.Time
	// Secrets are the credentials the simulators accept (default, and for
	// a kind missing: distinctive ones).
	Secrets Secrets
	// Seed seeds the fault injectors.
	Seed uint64
	// TLS serves https with httptest's self-signed certificate.
	TLS bool
	// Locations overrides the location IDs, one per site kind (default
	// DefaultLocations).
	Locations []string
	// AcceptAfter is how long the simulated phone of a visitor (an Origo
	// user's external ID) takes to accept an invitation, on Clock
	// (default PhoneDelays(Seed); zero or less: in the invitation's
	// answer).
	AcceptAfter func(externalID string) time.Duration
	// Wrap, when set, wraps each site's handler outside its Injector
	// (the crash test reads the child's clock from a header there).
	Wrap func(http.Handler) http.Handler
}

// DefaultLocations are the location IDs of the sites, in the order of
// SiteKinds ("gen-hq", "len-campus", "brv-office", "alta-lab",
// "vkd-annex", "nbx-plant", "ori-wing").
var DefaultLocations = func() []string {
	var out []string
	for _, kind := range SiteKinds {
		loc := kind + "-site"
		if k, ok := kits[kind]; ok {
			loc = k.location
		}
		out = append(out, loc)
	}
	return out
}()

// StartSims starts one simulator per kind on loopback servers (at an
// issuer's site, the issuer's and its door's).
func StartSims(cfg SimConfig) *Sims {
	if cfg.Clock == nil {
		panic("chaos: SimConfig.Clock is required")
	}
	sec := Secrets{}
	distinct := DistinctSecrets()
	for _, kind := range SiteKinds {
		if c, ok := cfg.Secrets[kind]; ok {
			sec[kind] = c
		} else {
			sec[kind] = distinct[kind]
		}
	}
	locs := cfg.Locations
	if len(locs) != len(SiteKinds) {
		locs = DefaultLocations
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	s := &Sims{secrets: sec, tokenPrefix: "LenTok-" + hex.EncodeToString(b[:])}
	for i, kind := range SiteKinds {
		k := kitOf(kind)
		seed := cfg.Seed + uint64(i)*7919
		site := &Site{Kind: kind, Location: locs[i], sims: s}
		if k.startDoor != nil {
			handler, levels, inject := k.startDoor(s, cfg, sec[kind])
			site.Door = &Site{Kind: k.doorKind, Location: locs[i], Levels: levels, sims: s}
			s.serve(site.Door, handler, func(fk Kind, v int, r *http.Request) bool { return inject(s, fk, v, r) }, seed+1, cfg)
			site.Levels = levels
		}
		handler, levels := k.start(s, cfg, sec[kind])
		if levels != nil {
			site.Levels = levels
		}
		if len(k.tokens) > 0 {
			handler = tokenTee{next: handler, sims: s, keys: k.tokens}
		}
		s.serve(site, handler, func(fk Kind, v int, r *http.Request) bool { return k.inject(s, fk, v, r) }, seed, cfg)
		s.Sites = append(s.Sites, site)
	}
	return s
}

// serve puts handler behind an Injector on a loopback server of its own and
// records them in site.
func (s *Sims) serve(site *Site, handler http.Handler, inject func(Kind, int, *http.Request) bool, seed uint64, cfg SimConfig) {
	in := newInjector(site.Kind, handler, inject, seed)
	var h http.Handler = in
	if cfg.Wrap != nil {
		h = cfg.Wrap(h)
	}
	srv := httptest.NewUnstartedServer(h)
	// Refused handshakes and aborted handlers are the point here, not
	// news.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if cfg.TLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	site.URL, site.Faults, site.Server = srv.URL, in, srv
}

// Close shuts the servers down, closing their connections.
func (s *Sims) Close() {
	for _, site := range s.Sites {
		site.CloseClientConnections()
		site.Server.Close()
		if site.Door != nil {
			site.Door.Server.Close()
		}
	}
	if s.callbacks != nil {
		s.callbacks.close()
	}
}

// Injectors returns every Injector of the fleet: each site's, then its
// door's.
func (s *Sims) Injectors() []*Injector {
	var out []*Injector
	for _, site := range s.Sites {
		out = append(out, site.Injectors()...)
	}
	return out
}

// Site returns the site of a kind.
func (s *Sims) Site(kind string) *Site {
	for _, site := range s.Sites {
		if site.Kind == kind {
			return site
		}
	}
	return nil
}

// Secrets returns every secret the simulators know, by name: the
// configured passwords and keys, their encoded forms, and every session,
// access and refresh token issued so far.
func (s *Sims) Secrets() map[string]string {
	out := SecretForms(s.secrets)
	s.mu.Lock()
	for i, tok := range s.tokens {
		out[fmt.Sprintf("issued token #%d", i+1)] = tok
	}
	s.mu.Unlock()
	return out
}

// SetFaultRate sets the fault rate of every Injector.
func (s *Sims) SetFaultRate(rate float64) {
	for _, in := range s.Injectors() {
		in.SetRate(rate)
	}
}

// SetDown makes every server refuse every request (true) or serve again.
func (s *Sims) SetDown(down bool) {
	for _, in := range s.Injectors() {
		in.SetDown(down)
	}
}

// Requests returns the number of requests the servers received.
func (s *Sims) Requests() int {
	n := 0
	for _, site := range s.Sites {
		n += site.Requests()
	}
	return n
}

// ResetRequests empties every simulator's request log (long runs keep
// memory flat with it).
func (s *Sims) ResetRequests() {
	s.Genetec.ResetRequests()
	s.Lenel.ResetRequests()
	s.Brivo.ResetRequests()
	s.Alta.ResetRequests()
	s.Verkada.ResetRequests()
	s.Netbox.ResetRequests()
	s.Origo.ResetRequests()
	s.OrigoDoor.ResetRequests()
}

func (s *Sims) lenelToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	tok := s.tokenPrefix + "-" + hex.EncodeToString(b[:])
	s.recordToken(tok)
	return tok
}

// netboxSession makes a NetBox session ID and records it as a token.
func (s *Sims) netboxSession() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	s.recordToken(id)
	return id
}

func (s *Sims) recordToken(tok string) {
	if tok == "" {
		return
	}
	s.mu.Lock()
	s.tokens = append(s.tokens, tok)
	s.mu.Unlock()
}

// ProviderConfig configures the adapters NewProvider builds.
type ProviderConfig struct {
	// Clock is the adapters' time. Required.
	Clock func() time.Time
	// Secrets are the credentials the adapters send (by kind; a kind
	// missing sends its simulator's default credentials).
	Secrets Secrets
	// Logger receives the adapters' log lines (nil: none).
	Logger *slog.Logger
	// AttemptTimeout bounds each HTTP attempt (default 250 ms).
	AttemptTimeout time.Duration
	// Transport, when set, is the transport of the adapters' HTTP clients
	// (the adapters then get a client through WithHTTPClient, so TLS
	// options do not apply).
	Transport http.RoundTripper
	// CAFile is a PEM file of extra trusted certificates.
	CAFile string
	// LenelKeepAlive is the lenel adapter's keepalive interval (0: the
	// adapter's default).
	LenelKeepAlive time.Duration
}

// NewProvider returns the adapter of kind, built through the provider
// registry, pointed at the simulator served from origin url and configured
// for tests: short attempt timeouts, quick HTTP-level retries (the outbox
// does the patient retrying), no client rate limit. For an issuer's kind
// (Origo), url serves the issuer and its door alike, which suits an
// unreachable address; NewSiteProvider reaches a site.
func NewProvider(kind, url string, cfg ProviderConfig) (acs.Provider, error) {
	return NewSiteProvider(SiteInfo{Kind: kind, URL: url, DoorURL: url}, cfg)
}

// NewSiteProvider returns the provider of the site info describes, as
// NewProvider does: at a door provider's site its adapter; at an issuer's
// site the issuer, built through the registry's Issuer entry, in front of
// the adapter of its door (info.DoorKind at info.DoorURL), both with the
// settings cfg.Secrets holds for the site, and with the issuer's own
// options (Origo's: origoOptions says how it polls and takes callbacks).
func NewSiteProvider(info SiteInfo, cfg ProviderConfig) (acs.Provider, error) {
	is, issuer := providers.LookupIssuer(info.Kind)
	if !issuer {
		return newAdapter(info.Kind, info.URL, cfg.Secrets[info.Kind], cfg)
	}
	k := kitOf(info.Kind)
	doorKind := info.DoorKind
	if doorKind == "" {
		doorKind = k.doorKind
	}
	door, err := newAdapter(doorKind, info.DoorURL, cfg.Secrets[info.Kind], cfg)
	if err != nil {
		return nil, err
	}
	c := is.SimConfig(info.URL)
	for key, v := range cfg.Secrets[info.Kind] {
		c[key] = v
	}
	o := adapterOptions(cfg)
	o.Extra = append(o.Extra, k.options(c)...)
	p, err := is.Build(door, c, o)
	if err != nil {
		CloseProviders([]acs.Provider{door})
		return nil, err
	}
	return p, nil
}

// newAdapter builds the door provider of kind at url with the settings
// sec on top of its simulator's defaults.
func newAdapter(kind, url string, sec providers.Config, cfg ProviderConfig) (acs.Provider, error) {
	entry, ok := providers.Lookup(kind)
	if !ok {
		return nil, fmt.Errorf("chaos: unknown provider kind %q", kind)
	}
	c := entry.SimConfig(url)
	for k, v := range sec {
		c[k] = v
	}
	return entry.Build(c, adapterOptions(cfg))
}

// adapterOptions are the registry options of cfg.
func adapterOptions(cfg ProviderConfig) providers.Options {
	timeout := cfg.AttemptTimeout
	if timeout <= 0 {
		timeout = 250 * time.Millisecond
	}
	o := providers.Options{
		Clock:     cfg.Clock,
		Logger:    cfg.Logger,
		Timeout:   timeout,
		CAFile:    cfg.CAFile,
		Retry:     &providers.Retry{Max: 2, WaitMin: time.Millisecond, WaitMax: 10 * time.Millisecond},
		RateLimit: &providers.RateLimit{},
	}
	if cfg.Transport != nil {
		o.HTTPClient = &http.Client{Transport: cfg.Transport, Timeout: timeout}
	}
	if cfg.LenelKeepAlive > 0 {
		o.Extra = append(o.Extra, lenel.WithKeepAlive(cfg.LenelKeepAlive))
	}
	return o
}

// Connect builds one provider per site. The returned close function closes
// the providers that hold background work. An issuer that takes callbacks
// (Origo) receives its simulator's deliveries until then.
func (s *Sims) Connect(cfg ProviderConfig) ([]acs.Provider, func(), error) {
	if cfg.Secrets == nil {
		cfg.Secrets = s.secrets
	}
	var ps []acs.Provider
	var unsubscribe []func()
	closeAll := func() {
		for _, u := range unsubscribe {
			u()
		}
		CloseProviders(ps)
	}
	for _, site := range s.Sites {
		p, err := NewSiteProvider(site.Info(), cfg)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		ps = append(ps, p)
		if h, ok := callbackHandler(p); ok && s.callbacks != nil {
			unsubscribe = append(unsubscribe, s.callbacks.add(h))
		}
	}
	return ps, closeAll, nil
}

// CloseProviders closes every provider that implements acs.Closer.
func CloseProviders(ps []acs.Provider) {
	for _, p := range ps {
		if c, ok := p.(acs.Closer); ok {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = c.Close(ctx)
			cancel()
		}
	}
}

// tokenTee records the tokens a simulator's token endpoints issue.
type tokenTee struct {
	next http.Handler
	sims *Sims
	// keys maps a token endpoint's path to the JSON keys of its tokens.
	keys map[string][]string
}

func (t tokenTee) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	keys, ok := t.keys[r.URL.Path]
	if !ok {
		t.next.ServeHTTP(w, r)
		return
	}
	tw := &teeWriter{ResponseWriter: w}
	t.next.ServeHTTP(tw, r)
	body := tw.buf.String()
	for _, key := range keys {
		if i := strings.Index(body, `"`+key+`":"`); i >= 0 {
			rest := body[i+len(key)+4:]
			if j := strings.IndexByte(rest, '"'); j > 0 {
				t.sims.recordToken(rest[:j])
			}
		}
	}
}

// teeWriter copies what is written to buf and lets the simulator hijack
// the connection to drop it.
type teeWriter struct {
	http.ResponseWriter
	buf strings.Builder
}

func (w *teeWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	return w.ResponseWriter.Write(p)
}

func (w *teeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("chaos: connection cannot be hijacked")
	}
	return hj.Hijack()
}

// SecretForms returns the secrets of sec by name ("lenel password",
// "genetec application ID", "origo callback secret", …), with the encodings in which they could
// leak: the HTTP Basic tokens and the percent-encoded forms.
func SecretForms(sec Secrets) map[string]string {
	out := map[string]string{}
	for _, kind := range SiteKinds {
		k := kitOf(kind)
		c := sec[kind]
		settings := providers.Settings()
		for _, s := range k.sensitive {
			if !slices.Contains(settings, s) {
				settings = append(settings, s) // a setting of the harness's own
			}
		}
		for _, s := range settings {
			if !s.Secret() && !slices.Contains(k.sensitive, s) || c[s] == "" {
				continue
			}
			name := kind + " " + secretLabels[s]
			out[name] = c[s]
			if q := url.QueryEscape(c[s]); q != c[s] {
				out[name+" (query-escaped)"] = q
			}
			if q := url.PathEscape(c[s]); q != c[s] {
				out[name+" (path-escaped)"] = q
			}
		}
		if k.basic != nil {
			for _, b := range k.basic(c) {
				out[kind+" basic token"] = b
			}
		}
	}
	for k, v := range out {
		if v == "" {
			delete(out, k)
		}
	}
	return out
}

// secretLabels names the settings in SecretForms.
var secretLabels = map[providers.Setting]string{
	providers.Password:     "password",
	providers.ClientSecret: "client secret",
	providers.APIKey:       "API key",
	providers.AppID:        "application ID",
	// The Origo site's; its door's settings above are the door's.
	providers.OrigoClientSecret: "Origo client secret",
	callbackSecret:              "callback secret",
}
