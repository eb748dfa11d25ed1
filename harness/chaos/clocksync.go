package chaos

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/acsbridge/acsbridge/visitor"
)

// ClockHeader carries a client process's clock to simulators running in
// another process, so that sessions, tokens and credential windows are
// judged by the time of the Engine driving them.
const ClockHeader = "X-Chaos-Clock"

// MaxClock is a clock for simulators serving another process: it reads the
// latest time any request carried in ClockHeader. It is safe for
// concurrent use.
type MaxClock struct{ ns atomic.Int64 }

// NewMaxClock returns a MaxClock reading t until a later time arrives.
func NewMaxClock(t time.Time) *MaxClock {
	c := &MaxClock{}
	c.Observe(t)
	return c
}

// Now returns the latest time observed.
func (c *MaxClock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

// Observe moves the clock to t if t is later.
func (c *MaxClock) Observe(t time.Time) {
	n := t.UnixNano()
	for {
		cur := c.ns.Load()
		if n <= cur || c.ns.CompareAndSwap(cur, n) {
			return
		}
	}
}

// Sync returns a handler that observes each request's ClockHeader before
// passing it to h; use it as SimConfig.Wrap.
func (c *MaxClock) Sync(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n, err := strconv.ParseInt(r.Header.Get(ClockHeader), 10, 64); err == nil {
			c.Observe(time.Unix(0, n))
		}
		h.ServeHTTP(w, r)
	})
}

// ClockTransport sends Clock's time in ClockHeader with every request.
type ClockTransport struct {
	Next  http.RoundTripper
	Clock *visitor.ManualClock
}

// RoundTrip implements http.RoundTripper.
func (c ClockTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(ClockHeader, strconv.FormatInt(c.Clock.Now().UnixNano(), 10))
	return c.Next.RoundTrip(r)
}

// SiteInfo describes a site to a process that reaches it over the network
// (the crash test's child, the soak program).
type SiteInfo struct {
	Kind     string   `json:"kind"`
	Location string   `json:"location"`
	URL      string   `json:"url"`
	Levels   []string `json:"levels"`
	// DoorKind and DoorURL describe the door ACS behind a credential
	// issuer's site (Site.Door); empty at a door provider's site.
	DoorKind string `json:"door_kind,omitempty"`
	DoorURL  string `json:"door_url,omitempty"`
}

// Info returns the site's description.
func (site *Site) Info() SiteInfo {
	i := SiteInfo{Kind: site.Kind, Location: site.Location, URL: site.URL, Levels: site.Levels}
	if site.Door != nil {
		i.DoorKind, i.DoorURL = site.Door.Kind, site.Door.URL
	}
	return i
}

// Info returns the sites' descriptions.
func (s *Sims) Info() []SiteInfo {
	var out []SiteInfo
	for _, site := range s.Sites {
		out = append(out, site.Info())
	}
	return out
}

// RemoteSites returns Sites for the descriptions, for Locations, CardKey
// and NewSiteProvider (through Info); they have no Injector, server or
// oracle.
func RemoteSites(info []SiteInfo) []*Site {
	var out []*Site
	for _, i := range info {
		site := &Site{Kind: i.Kind, Location: i.Location, URL: i.URL, Levels: i.Levels}
		if i.DoorKind != "" {
			site.Door = &Site{Kind: i.DoorKind, Location: i.Location, URL: i.DoorURL, Levels: i.Levels}
		}
		out = append(out, site)
	}
	return out
}
