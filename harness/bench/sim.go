package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/internal/providers"
	"github.com/acsbridge/acsbridge/lenel"
)

// Names of the providers of the registry (internal/providers) whose figures
// the documentation quotes by name.
const (
	Genetec = "genetec"
	Lenel   = "lenel"
	Brivo   = "brivo"
	Alta    = "alta"
	Verkada = "verkada"
)

// Providers lists the provider names in a stable order: every provider of
// the registry.
var Providers = providers.Names()

// SimOptions configures a simulator.
type SimOptions struct {
	// Latency is added to every request, through the simulator's own
	// latency injection.
	Latency time.Duration
	// RateLimit answers requests beyond this many in one wall-clock second
	// with the vendor's over-limit answer (see the package doc); 0: none.
	RateLimit int
	// ExtraLevels adds this many access levels to the seeded ones
	// ("Level 00001", …), for listing benchmarks.
	ExtraLevels int
}

// Sim is a simulator listening on loopback.
type Sim struct {
	// Provider is the simulator's provider name.
	Provider string
	// URL is the origin (scheme, host and port) the simulator listens on.
	URL string

	handler http.Handler
	sim     *providers.Simulator
	limit   *Limit // when the simulator has no rate limit of its own
	count   atomic.Int64
	srv     *http.Server
	ln      net.Listener
}

// NewSim builds the simulator of provider (through the provider registry)
// without listening; Start (or ServeHTTP) serves it.
func NewSim(provider string, o SimOptions) (*Sim, error) {
	entry, ok := providers.Lookup(provider)
	if !ok {
		return nil, fmt.Errorf("bench: unknown provider %q; want %s", provider, strings.Join(Providers, ", "))
	}
	sim := entry.Simulate(providers.SimOptions{})
	s := &Sim{Provider: provider, sim: sim, handler: sim.Handler}
	for i := range o.ExtraLevels {
		sim.AddLevel(levelName(i))
	}
	if o.Latency > 0 {
		sim.SetLatency(o.Latency)
	}
	if sim.SetRateLimit != nil {
		if o.RateLimit > 0 {
			sim.SetRateLimit(o.RateLimit)
		}
	} else {
		// No vendor over-limit answer to simulate: the generic one, off
		// unless a limit is set (now or with SetRateLimit).
		s.limit = NewLimit(s.handler, o.RateLimit)
		s.handler = s.limit
	}
	return s, nil
}

// StartSim builds the simulator of provider and serves it on a loopback
// port.
func StartSim(provider string, o SimOptions) (*Sim, error) {
	s, err := NewSim(provider, o)
	if err != nil {
		return nil, err
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return s, nil
}

func levelName(i int) string { return "Level " + fmt.Sprintf("%05d", i+1) }

// ServeHTTP counts the request and hands it to the simulator.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.count.Add(1)
	s.handler.ServeHTTP(w, r)
}

// Start listens on addr and serves the simulator in the background.
func (s *Sim) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.ln = ln
	s.URL = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return nil
}

// Close stops the server at once, closing its connections.
func (s *Sim) Close() {
	if s.srv != nil {
		_ = s.srv.Close()
	}
}

// Requests returns how many requests reached the simulator, over-limit
// ones included.
func (s *Sim) Requests() int64 { return s.count.Load() }

// OverLimit returns how many requests were answered with the over-limit
// answer.
func (s *Sim) OverLimit() int64 {
	if s.limit != nil {
		return s.limit.Refused()
	}
	if s.sim.Throttled != nil {
		return int64(s.sim.Throttled())
	}
	return 0
}

// SetRateLimit changes the simulator's rate limit (0: none).
func (s *Sim) SetRateLimit(perSecond int) {
	if s.limit != nil {
		s.limit.SetRate(perSecond)
	} else {
		s.sim.SetRateLimit(perSecond)
	}
}

// Level returns the ID of a seeded access level, as a grant names it.
func (s *Sim) Level() string { return s.sim.Levels[0] }

// LevelOf returns the ID of a seeded access level of provider's simulator.
func LevelOf(provider string) string {
	entry, ok := providers.Lookup(provider)
	if !ok {
		return ""
	}
	return entry.Simulate(providers.SimOptions{}).Levels[0]
}

// SeededLevels returns how many access levels provider's simulator holds
// before SimOptions.ExtraLevels adds any.
func SeededLevels(provider string) int {
	entry, ok := providers.Lookup(provider)
	if !ok {
		return 0
	}
	return len(entry.Simulate(providers.SimOptions{}).Levels)
}

// ClientOptions configures an adapter built against a simulator.
type ClientOptions struct {
	// RatePerSecond is the adapter's client-side rate limit; 0 turns it
	// off (for the adapters with a default limit too: Brivo, Alta,
	// Verkada).
	RatePerSecond float64
	// Burst is the limiter's burst (at least 1).
	Burst int
	// HTTPClient, when set, is the adapter's HTTP client.
	HTTPClient *http.Client
	// Concurrency, when positive, is how many requests of one listing
	// the Genetec, Lenel and Brivo adapters send at once
	// (WithConcurrency; default acshttp.DefaultConcurrency).
	Concurrency int
}

// NewProvider returns provider's adapter, built through the provider
// registry, pointed at the simulator whose origin is url with the
// simulator's default credentials.
func NewProvider(provider, url string, o ClientOptions) (acs.Provider, error) {
	entry, ok := providers.Lookup(provider)
	if !ok {
		return nil, fmt.Errorf("bench: unknown provider %q; want %s", provider, strings.Join(Providers, ", "))
	}
	// No session keepalive requests in the counts.
	extra := []any{lenel.WithKeepAlive(0)}
	if o.Concurrency > 0 {
		extra = append(extra, genetec.WithConcurrency(o.Concurrency), lenel.WithConcurrency(o.Concurrency),
			brivo.WithConcurrency(o.Concurrency))
	}
	return entry.Build(entry.SimConfig(url), providers.Options{
		RateLimit:  &providers.RateLimit{PerSecond: o.RatePerSecond, Burst: max(o.Burst, 1)},
		HTTPClient: o.HTTPClient,
		Extra:      extra,
	})
}

// NewProvider returns the adapter for the simulator, pointed at it.
func (s *Sim) NewProvider(o ClientOptions) (acs.Provider, error) {
	return NewProvider(s.Provider, s.URL, o)
}

// Close releases what a provider holds (Lenel's session), ignoring errors.
func Close(p acs.Provider) {
	if c, ok := p.(acs.Closer); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	}
}

// Grant returns the grant of visitor n for level: a fresh external ID and
// an H10301 card numbered n%65535+1 (OnGuard refuses badge ID 0), valid from a minute before now for
// eight hours.
func Grant(n int, level string, now time.Time) acs.Grant {
	return acs.Grant{
		Person: acs.Person{ExternalID: "bench-" + strconv.Itoa(n), FirstName: "Bench",
			LastName: "Visitor" + strconv.Itoa(n), Email: "visitor" + strconv.Itoa(n) + "@example.com"},
		Card:         acs.Card{Format: acs.H10301, Facility: 42, Number: uint64(n%65535 + 1)},
		AccessLevels: []string{level},
		ValidFrom:    now.Add(-time.Minute).Truncate(time.Second),
		ValidUntil:   now.Add(8 * time.Hour).Truncate(time.Second),
	}
}

// Call is one request in a simulator's log, in a provider-neutral form.
type Call = providers.Call

// Log returns the simulator's request log.
func (s *Sim) Log() []Call { return s.sim.Requests() }

// ResetLog empties the simulator's request log (and keeps its memory from
// growing during long runs).
func (s *Sim) ResetLog() { s.sim.ResetRequests() }
