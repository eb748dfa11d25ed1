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
	"github.com/acsbridge/acsbridge/verkada/verkadasim"
)

// Provider kinds, in the order Sims.Sites lists them (the registry's).
const (
	Genetec = "genetec"
	Lenel   = "lenel"
	Brivo   = "brivo"
	Alta    = "alta"
	Verkada = "verkada"
	Netbox  = "netbox"
)

// Kinds lists the provider kinds of the fleet: every provider of the
// registry (internal/providers), in its order.
var Kinds = providers.Names()

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
	for _, kind := range Kinds {
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

// Site is one simulated ACS on a loopback server, behind its Injector.
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

	sims *Sims
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
	// Sites lists the sites in the order of Kinds.
	Sites []*Site

	secrets     Secrets
	tokenPrefix string // of Lenel's session tokens

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
	// Locations overrides the location IDs, one per kind (default
	// DefaultLocations).
	Locations []string
	// Wrap, when set, wraps each site's handler outside its Injector
	// (the crash test reads the child's clock from a header there).
	Wrap func(http.Handler) http.Handler
}

// DefaultLocations are the location IDs of the sites, in the order of
// Kinds ("gen-hq", "len-campus", "brv-office", "alta-lab", "vkd-annex",
// "nbx-plant").
var DefaultLocations = func() []string {
	var out []string
	for _, kind := range Kinds {
		loc := kind + "-site"
		if k, ok := kits[kind]; ok {
			loc = k.location
		}
		out = append(out, loc)
	}
	return out
}()

// StartSims starts one simulator per kind on loopback servers.
func StartSims(cfg SimConfig) *Sims {
	if cfg.Clock == nil {
		panic("chaos: SimConfig.Clock is required")
	}
	sec := Secrets{}
	distinct := DistinctSecrets()
	for _, kind := range Kinds {
		if c, ok := cfg.Secrets[kind]; ok {
			sec[kind] = c
		} else {
			sec[kind] = distinct[kind]
		}
	}
	locs := cfg.Locations
	if len(locs) != len(Kinds) {
		locs = DefaultLocations
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	s := &Sims{secrets: sec, tokenPrefix: "LenTok-" + hex.EncodeToString(b[:])}
	for i, kind := range Kinds {
		k := kitOf(kind)
		handler, levels := k.start(s, cfg, sec[kind])
		if len(k.tokens) > 0 {
			handler = tokenTee{next: handler, sims: s, keys: k.tokens}
		}
		inject := func(fk Kind, v int, r *http.Request) bool { return k.inject(s, fk, v, r) }
		in := newInjector(kind, handler, inject, cfg.Seed+uint64(i)*7919)
		var h http.Handler = in
		if cfg.Wrap != nil {
			h = cfg.Wrap(h)
		}
		srv := httptest.NewUnstartedServer(h)
		// Refused handshakes and aborted handlers are the point here,
		// not news.
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		if cfg.TLS {
			srv.StartTLS()
		} else {
			srv.Start()
		}
		s.Sites = append(s.Sites, &Site{Kind: kind, Location: locs[i], URL: srv.URL, Levels: levels, Faults: in, Server: srv, sims: s})
	}
	return s
}

// Close shuts the servers down, closing their connections.
func (s *Sims) Close() {
	for _, site := range s.Sites {
		site.Server.CloseClientConnections()
		site.Server.Close()
	}
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

// SetFaultRate sets the fault rate of every site.
func (s *Sims) SetFaultRate(rate float64) {
	for _, site := range s.Sites {
		site.Faults.SetRate(rate)
	}
}

// SetDown makes every site refuse every request (true) or serve again.
func (s *Sims) SetDown(down bool) {
	for _, site := range s.Sites {
		site.Faults.SetDown(down)
	}
}

// Requests returns the number of requests the sites received.
func (s *Sims) Requests() int {
	n := 0
	for _, site := range s.Sites {
		n += site.Faults.Stats().Requests
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
// does the patient retrying), no client rate limit.
func NewProvider(kind, url string, cfg ProviderConfig) (acs.Provider, error) {
	entry, ok := providers.Lookup(kind)
	if !ok {
		return nil, fmt.Errorf("chaos: unknown provider kind %q", kind)
	}
	c := entry.SimConfig(url)
	for k, v := range cfg.Secrets[kind] {
		c[k] = v
	}
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
	return entry.Build(c, o)
}

// Connect builds one adapter per site. The returned close function closes
// the adapters that hold background work.
func (s *Sims) Connect(cfg ProviderConfig) ([]acs.Provider, func(), error) {
	if cfg.Secrets == nil {
		cfg.Secrets = s.secrets
	}
	var ps []acs.Provider
	closeAll := func() { CloseProviders(ps) }
	for _, site := range s.Sites {
		p, err := NewProvider(site.Kind, site.URL, cfg)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		ps = append(ps, p)
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
// "genetec application ID", …), with the encodings in which they could
// leak: the HTTP Basic tokens and the percent-encoded forms.
func SecretForms(sec Secrets) map[string]string {
	out := map[string]string{}
	for _, kind := range Kinds {
		k := kitOf(kind)
		c := sec[kind]
		for _, s := range providers.Settings() {
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
}
