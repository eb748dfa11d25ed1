package chaos

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
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
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/lenel"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
)

// Provider kinds, in the order Sims.Sites lists them.
const (
	Genetec = "genetec"
	Lenel   = "lenel"
	Brivo   = "brivo"
)

// Kinds lists the three provider kinds.
var Kinds = []string{Genetec, Lenel, Brivo}

// Secrets are the credentials the simulators accept and the adapters send.
// DistinctSecrets makes each one a distinctive string, so that a test can
// search logs, errors and URLs for it.
type Secrets struct {
	GenetecUser, GenetecPassword, GenetecAppID    string
	LenelUser, LenelPassword, LenelAppID          string
	BrivoClientID, BrivoClientSecret, BrivoAPIKey string
	BrivoUser, BrivoPassword                      string

	lenelTokenPrefix string
}

// DistinctSecrets returns credentials that appear nowhere else: each holds
// a random tag.
func DistinctSecrets() Secrets {
	tag := func(name string) string {
		var b [6]byte
		_, _ = rand.Read(b[:])
		return name + "-" + hex.EncodeToString(b[:])
	}
	return Secrets{
		GenetecUser:       "vms-operator",
		GenetecPassword:   tag("GenPw#Zq8"),
		GenetecAppID:      tag("GenApp"),
		LenelUser:         "vms-operator",
		LenelPassword:     tag("LenPw!Kx3"),
		LenelAppID:        tag("LENAPP"),
		BrivoClientID:     "vms-client",
		BrivoClientSecret: tag("BrvSecret"),
		BrivoAPIKey:       tag("BrvKey"),
		BrivoUser:         "vms-admin",
		BrivoPassword:     tag("BrvPw%2F&x"),
		lenelTokenPrefix:  tag("LenTok"),
	}
}

// Site is one simulated ACS on a loopback server, behind its Injector.
type Site struct {
	// Kind is Genetec, Lenel or Brivo.
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

// Sims holds the three simulators. Create it with StartSims and Close it
// when done.
type Sims struct {
	Genetec *genetecsim.Server
	Lenel   *lenelsim.Server
	Brivo   *brivosim.Server
	// Sites lists the three sites in the order of Kinds.
	Sites []*Site

	secrets Secrets

	mu     sync.Mutex
	tokens []string // session and access tokens the simulators issued
}

// SimConfig configures StartSims.
type SimConfig struct {
	// Clock is the simulators' time (session and token expiry, credential
	// windows). Required.
	Clock func() time.Time
	// Secrets are the credentials the simulators accept.
	Secrets Secrets
	// Seed seeds the fault injectors.
	Seed uint64
	// TLS serves https with httptest's self-signed certificate.
	TLS bool
	// Locations overrides the location IDs (default "gen-hq",
	// "len-campus", "brv-office").
	Locations []string
	// Wrap, when set, wraps each site's handler outside its Injector
	// (the crash test reads the child's clock from a header there).
	Wrap func(http.Handler) http.Handler
}

// DefaultLocations are the location IDs of the three sites.
var DefaultLocations = []string{"gen-hq", "len-campus", "brv-office"}

// StartSims starts the three simulators on loopback servers.
func StartSims(cfg SimConfig) *Sims {
	if cfg.Clock == nil {
		panic("chaos: SimConfig.Clock is required")
	}
	sec := cfg.Secrets
	locs := cfg.Locations
	if len(locs) != 3 {
		locs = DefaultLocations
	}
	s := &Sims{secrets: sec}
	s.Genetec = genetecsim.New(
		genetecsim.WithClock(cfg.Clock),
		genetecsim.WithUser(sec.GenetecUser, sec.GenetecPassword),
		genetecsim.WithApplicationID(sec.GenetecAppID),
		genetecsim.WithColdStart(2*time.Millisecond),
	)
	s.Lenel = lenelsim.New(
		lenelsim.WithoutDefaults(),
		lenelsim.WithClock(cfg.Clock),
		lenelsim.WithUser(sec.LenelUser, sec.LenelPassword, ""),
		lenelsim.WithApplicationID(sec.LenelAppID),
		lenelsim.WithTokenFunc(s.lenelToken),
	)
	s.Brivo = brivosim.New(
		brivosim.WithClock(cfg.Clock),
		brivosim.WithCredentials(brivosim.Credentials{
			ClientID: sec.BrivoClientID, ClientSecret: sec.BrivoClientSecret, APIKey: sec.BrivoAPIKey,
			Username: sec.BrivoUser, Password: sec.BrivoPassword,
		}),
		brivosim.WithRetryAfter(2),
	)
	levels := [][]string{
		{genetecsim.SeedLobbyGroup, genetecsim.SeedFloor3Group},
		{strconv.FormatInt(lenelsim.LevelLobby, 10), strconv.FormatInt(lenelsim.LevelFloor3, 10)},
		{brivosim.DefaultGroups()[0].GroupID(), brivosim.DefaultGroups()[1].GroupID()},
	}
	handlers := []http.Handler{s.Genetec, s.Lenel, tokenTee{s.Brivo, s}}
	injectors := []func(Kind, int, *http.Request) bool{s.injectGenetec, s.injectLenel, s.injectBrivo}
	for i, kind := range Kinds {
		in := newInjector(kind, handlers[i], injectors[i], cfg.Seed+uint64(i)*7919)
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
		s.Sites = append(s.Sites, &Site{Kind: kind, Location: locs[i], URL: srv.URL, Levels: levels[i], Faults: in, Server: srv, sims: s})
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

func (s *Sims) lenelToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	tok := s.secrets.lenelTokenPrefix + "-" + hex.EncodeToString(b[:])
	if s.secrets.lenelTokenPrefix == "" {
		tok = "lenel-session-" + hex.EncodeToString(b[:])
	}
	s.recordToken(tok)
	return tok
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
	// Secrets are the credentials the adapters send.
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

// NewProvider returns the adapter of kind pointed at the simulator served
// from origin url, configured for tests: short attempt timeouts, quick
// HTTP-level retries (the outbox does the patient retrying), no client
// rate limit.
func NewProvider(kind, url string, cfg ProviderConfig) (acs.Provider, error) {
	timeout := cfg.AttemptTimeout
	if timeout <= 0 {
		timeout = 250 * time.Millisecond
	}
	var hc *http.Client
	if cfg.Transport != nil {
		hc = &http.Client{Transport: cfg.Transport, Timeout: timeout}
	}
	sec := cfg.Secrets
	switch kind {
	case Genetec:
		opts := []genetec.Option{genetec.WithClock(cfg.Clock), genetec.WithRetry(2, time.Millisecond, 10*time.Millisecond)}
		if cfg.Logger != nil {
			opts = append(opts, genetec.WithLogger(cfg.Logger))
		}
		if hc != nil {
			opts = append(opts, genetec.WithHTTPClient(hc))
		} else {
			opts = append(opts, genetec.WithTimeout(timeout))
			if cfg.CAFile != "" {
				opts = append(opts, genetec.WithTLS(genetec.TLSOptions{CAFile: cfg.CAFile}))
			}
		}
		return genetec.New(genetec.Config{BaseURL: url + genetecsim.DefaultBasePath, Username: sec.GenetecUser,
			Password: sec.GenetecPassword, ApplicationID: sec.GenetecAppID}, opts...)
	case Lenel:
		opts := []lenel.Option{lenel.WithClock(cfg.Clock), lenel.WithRetry(2, time.Millisecond, 10*time.Millisecond)}
		if cfg.LenelKeepAlive > 0 {
			opts = append(opts, lenel.WithKeepAlive(cfg.LenelKeepAlive))
		}
		if cfg.Logger != nil {
			opts = append(opts, lenel.WithLogger(cfg.Logger))
		}
		if hc != nil {
			opts = append(opts, lenel.WithHTTPClient(hc))
		} else {
			opts = append(opts, lenel.WithRequestTimeout(timeout))
			if cfg.CAFile != "" {
				opts = append(opts, lenel.WithTLS(lenel.TLSOptions{CAFile: cfg.CAFile}))
			}
		}
		return lenel.New(lenel.Config{BaseURL: url + lenelsim.BasePath, Username: sec.LenelUser,
			Password: sec.LenelPassword, ApplicationID: sec.LenelAppID}, opts...)
	case Brivo:
		opts := []brivo.Option{brivo.WithClock(cfg.Clock), brivo.WithRetry(2, time.Millisecond, 10*time.Millisecond),
			brivo.WithRateLimit(0, 0)}
		if cfg.Logger != nil {
			opts = append(opts, brivo.WithLogger(cfg.Logger))
		}
		if hc != nil {
			opts = append(opts, brivo.WithHTTPClient(hc))
		} else {
			opts = append(opts, brivo.WithTimeout(timeout))
			if cfg.CAFile != "" {
				opts = append(opts, brivo.WithTLS(brivo.TLSOptions{CAFile: cfg.CAFile}))
			}
		}
		return brivo.New(brivo.Config{BaseURL: url + brivosim.APIPrefix, AuthURL: url, ClientID: sec.BrivoClientID,
			ClientSecret: sec.BrivoClientSecret, APIKey: sec.BrivoAPIKey, Username: sec.BrivoUser,
			Password: sec.BrivoPassword}, opts...)
	}
	return nil, fmt.Errorf("chaos: unknown provider kind %q", kind)
}

// Connect builds one adapter per site. The returned close function closes
// the adapters that hold background work.
func (s *Sims) Connect(cfg ProviderConfig) ([]acs.Provider, func(), error) {
	if cfg.Secrets == (Secrets{}) {
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

// tokenTee records the tokens the Brivo simulator's token endpoint issues.
type tokenTee struct {
	next http.Handler
	sims *Sims
}

func (t tokenTee) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != brivosim.TokenPath {
		t.next.ServeHTTP(w, r)
		return
	}
	tw := &teeWriter{ResponseWriter: w}
	t.next.ServeHTTP(tw, r)
	for _, key := range []string{`"access_token":"`, `"refresh_token":"`} {
		body := tw.buf.String()
		if i := strings.Index(body, key); i >= 0 {
			rest := body[i+len(key):]
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

// SecretForms returns the secrets of sec by name, with the encodings in
// which they could leak: the HTTP Basic tokens and the percent-encoded
// passwords.
func SecretForms(sec Secrets) map[string]string {
	out := map[string]string{
		"genetec password":       sec.GenetecPassword,
		"genetec application ID": sec.GenetecAppID,
		"lenel password":         sec.LenelPassword,
		"lenel application ID":   sec.LenelAppID,
		"brivo client secret":    sec.BrivoClientSecret,
		"brivo API key":          sec.BrivoAPIKey,
		"brivo password":         sec.BrivoPassword,
		"genetec basic token":    base64.StdEncoding.EncodeToString([]byte(sec.GenetecUser + ";" + sec.GenetecAppID + ":" + sec.GenetecPassword)),
		"brivo basic token":      base64.StdEncoding.EncodeToString([]byte(sec.BrivoClientID + ":" + sec.BrivoClientSecret)),
	}
	for name, p := range map[string]string{"genetec password": sec.GenetecPassword, "lenel password": sec.LenelPassword,
		"brivo password": sec.BrivoPassword, "brivo client secret": sec.BrivoClientSecret} {
		if q := url.QueryEscape(p); q != p {
			out[name+" (query-escaped)"] = q
		}
		if q := url.PathEscape(p); q != p {
			out[name+" (path-escaped)"] = q
		}
	}
	for k, v := range out {
		if v == "" {
			delete(out, k)
		}
	}
	return out
}
