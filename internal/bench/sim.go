package bench

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/lenel"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
)

// The providers the harness knows.
const (
	Genetec = "genetec"
	Lenel   = "lenel"
	Brivo   = "brivo"
)

// Providers lists the provider names in a stable order.
var Providers = [...]string{Genetec, Lenel, Brivo}

// forever is the Times of an injected fault that applies to every request.
const forever = math.MaxInt32

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
	gen     *genetecsim.Server
	len     *lenelsim.Server
	bri     *brivosim.Server
	limit   *Limit // genetec and lenel only
	count   atomic.Int64
	srv     *http.Server
	ln      net.Listener
}

// NewSim builds the simulator of provider without listening; Start (or
// ServeHTTP) serves it.
func NewSim(provider string, o SimOptions) (*Sim, error) {
	s := &Sim{Provider: provider}
	switch provider {
	case Genetec:
		s.gen = genetecsim.New()
		for i := range o.ExtraLevels {
			s.gen.AddGroup(levelName(i))
		}
		if o.Latency > 0 {
			s.gen.Inject(genetecsim.Fault{Delay: o.Latency, Times: forever})
		}
		s.handler = s.gen
	case Lenel:
		s.len = lenelsim.New()
		for i := range o.ExtraLevels {
			s.len.AddAccessLevel(levelName(i))
		}
		if o.Latency > 0 {
			s.len.AddFault(lenelsim.Fault{Latency: o.Latency, Times: forever})
		}
		s.handler = s.len
	case Brivo:
		var opts []brivosim.Option
		if o.RateLimit > 0 {
			opts = append(opts, brivosim.WithRateLimit(o.RateLimit))
		}
		s.bri = brivosim.New(opts...)
		for i := range o.ExtraLevels {
			s.bri.AddGroup(levelName(i))
		}
		s.bri.SetLatency(o.Latency)
		s.handler = s.bri
	default:
		return nil, fmt.Errorf("bench: unknown provider %q; want genetec, lenel or brivo", provider)
	}
	if s.bri == nil {
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
	if s.bri != nil {
		return int64(s.bri.Throttled())
	}
	if s.limit != nil {
		return s.limit.Refused()
	}
	return 0
}

// SetRateLimit changes the simulator's rate limit (0: none).
func (s *Sim) SetRateLimit(perSecond int) {
	if s.bri != nil {
		s.bri.SetRateLimit(perSecond)
	} else {
		s.limit.SetRate(perSecond)
	}
}

// Level returns the ID of a seeded access level, as a grant names it.
func (s *Sim) Level() string { return LevelOf(s.Provider) }

// LevelOf returns the ID of a seeded access level of provider's simulator.
func LevelOf(provider string) string {
	switch provider {
	case Genetec:
		return genetecsim.SeedLobbyGroup
	case Lenel:
		return strconv.FormatInt(lenelsim.LevelLobby, 10)
	case Brivo:
		return strconv.FormatInt(brivosim.DefaultGroups()[0].ID, 10)
	}
	return ""
}

// ClientOptions configures an adapter built against a simulator.
type ClientOptions struct {
	// RatePerSecond is the adapter's client-side rate limit; 0 turns it
	// off (for Brivo too, whose default is brivo.DefaultRateLimit).
	RatePerSecond float64
	// Burst is the limiter's burst (at least 1).
	Burst int
	// HTTPClient, when set, is the adapter's HTTP client.
	HTTPClient *http.Client
}

// NewProvider returns provider's adapter pointed at the simulator whose
// origin is url.
func NewProvider(provider, url string, o ClientOptions) (acs.Provider, error) {
	burst := max(o.Burst, 1)
	switch provider {
	case Genetec:
		opts := []genetec.Option{genetec.WithRateLimit(o.RatePerSecond, burst)}
		if o.HTTPClient != nil {
			opts = append(opts, genetec.WithHTTPClient(o.HTTPClient))
		}
		return genetec.New(genetec.Config{
			BaseURL: url + genetecsim.DefaultBasePath, Username: genetecsim.DefaultUser,
			Password: genetecsim.DefaultPassword, ApplicationID: genetecsim.DefaultApplicationID,
		}, opts...)
	case Lenel:
		r := o.RatePerSecond
		if r <= 0 {
			r = math.Inf(1) // the adapter has no "off"; an infinite rate never waits
		}
		opts := []lenel.Option{lenel.WithRateLimit(r, burst), lenel.WithKeepAlive(0)}
		if o.HTTPClient != nil {
			opts = append(opts, lenel.WithHTTPClient(o.HTTPClient))
		}
		return lenel.New(lenel.Config{
			BaseURL: url + lenelsim.BasePath, Username: lenelsim.DefaultUser,
			Password: lenelsim.DefaultPassword, ApplicationID: lenelsim.DefaultApplicationID,
		}, opts...)
	case Brivo:
		c := brivosim.DefaultCredentials()
		opts := []brivo.Option{brivo.WithRateLimit(o.RatePerSecond, burst)}
		if o.HTTPClient != nil {
			opts = append(opts, brivo.WithHTTPClient(o.HTTPClient))
		}
		return brivo.New(brivo.Config{
			BaseURL: url + brivosim.APIPrefix, AuthURL: url, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
			APIKey: c.APIKey, Username: c.Username, Password: c.Password,
		}, opts...)
	}
	return nil, fmt.Errorf("bench: unknown provider %q; want genetec, lenel or brivo", provider)
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
type Call struct {
	Method string
	Path   string // as the simulator logs it
	Query  string // the raw query
	Body   string
	// Meta summarises the headers the simulator logs (content type,
	// accept, authentication scheme), never a secret.
	Meta   string
	Status int
}

// String formats the call as "METHOD path?query body [meta]".
func (c Call) String() string {
	s := c.Method + " " + c.Path
	if c.Query != "" {
		s += "?" + c.Query
	}
	if c.Body != "" {
		s += " " + c.Body
	}
	if c.Meta != "" {
		s += " [" + c.Meta + "]"
	}
	return s
}

// Log returns the simulator's request log.
func (s *Sim) Log() []Call {
	var out []Call
	switch {
	case s.gen != nil:
		for _, r := range s.gen.Requests() {
			out = append(out, Call{Method: r.Method, Path: "/" + r.Path, Query: r.RawQuery, Status: r.Status,
				Meta: "accept=" + r.Accept + " content-length=" + r.ContentLength + " user=" + r.User})
		}
	case s.len != nil:
		for _, r := range s.len.Requests() {
			out = append(out, Call{Method: r.Method, Path: r.Path, Query: r.Query.Encode(), Body: string(r.Body), Status: r.Status,
				Meta: "app=" + r.ApplicationID + " content-type=" + r.ContentType + " session=" + strconv.FormatBool(r.SessionToken != "")})
		}
	case s.bri != nil:
		for _, r := range s.bri.Requests() {
			out = append(out, Call{Method: r.Method, Path: r.Path, Query: r.RawQuery, Body: r.Body, Status: r.Status,
				Meta: "auth=" + r.AuthScheme + " api-key=" + strconv.FormatBool(r.APIKeyOK) + " content-type=" + r.ContentType})
		}
	}
	return out
}

// ResetLog empties the simulator's request log (and keeps its memory from
// growing during long runs).
func (s *Sim) ResetLog() {
	switch {
	case s.gen != nil:
		s.gen.ResetRequests()
	case s.len != nil:
		s.len.ResetRequests()
	case s.bri != nil:
		s.bri.ResetRequests()
	}
}
