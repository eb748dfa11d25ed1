package providers

import (
	"math"
	"strconv"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/verkada"
	"github.com/acsbridge/acsbridge/verkada/verkadasim"
)

// Verkada is Verkada Access through Verkada's public REST API.
var Verkada = &Provider{
	Name:    verkada.Name,
	Product: "Verkada Access",
	Settings: []Need{
		{URL, false, "the regional API host (default " + verkada.DefaultBaseURL + "; " + verkada.EUBaseURL + ", " + verkada.AUBaseURL + ")"},
		{APIKey, true, "the API key exchanged at POST /token (read/write on Core and Access)"},
	},
	AccessLevels: "access group IDs",
	IDs:          "user_id and card_id",
	Minimum:      RoundTrips{FirstProvision: 7, Provision: 6, RepeatProvision: 1, Revoke: 1},
	New:          newVerkada,
	SimConfig: func(origin string) Config {
		return Config{URL: origin + verkadasim.BasePath, APIKey: verkadasim.DefaultAPIKey}
	},
	Simulate: func(o SimOptions) *Simulator {
		var opts []verkadasim.Option
		if o.Clock != nil {
			opts = append(opts, verkadasim.WithClock(o.Clock))
		}
		s := verkadasim.New(opts...)
		return &Simulator{
			Handler:    s,
			Server:     s,
			Levels:     []string{verkadasim.GroupID(1), verkadasim.GroupID(2)},
			AddLevel:   func(name string) { s.AddGroup(name) },
			SetLatency: s.SetLatency,
			// Verkada counts per minute (300 a minute per organisation).
			SetRateLimit: func(perSecond int) { s.SetRateLimit(60 * perSecond) },
			Throttled:    s.Throttled,
			Requests: func() []Call {
				var out []Call
				for _, r := range s.Requests() {
					out = append(out, Call{Method: r.Method, Path: r.Path, Query: r.RawQuery, Body: r.Body, Status: r.Status,
						Meta: "api-key=" + strconv.FormatBool(r.APIKeyOK) + " token=" + strconv.FormatBool(r.TokenSent) + " content-type=" + r.ContentType})
				}
				return out
			},
			ResetRequests: s.ResetRequests,
		}
	},
}

func newVerkada(c Config, o Options) (acs.Provider, error) {
	var opts []verkada.Option
	if o.useTLS() {
		opts = append(opts, verkada.WithTLS(verkada.TLSOptions{CAFile: o.CAFile, InsecureSkipVerify: o.InsecureSkipVerify}))
	}
	if o.AllowInsecureHTTP {
		opts = append(opts, verkada.WithAllowInsecureHTTP())
	}
	if o.HTTPClient != nil {
		opts = append(opts, verkada.WithHTTPClient(o.HTTPClient))
	} else if o.Timeout > 0 {
		opts = append(opts, verkada.WithTimeout(o.Timeout))
	}
	if o.Clock != nil {
		opts = append(opts, verkada.WithClock(o.Clock))
	}
	if o.Logger != nil {
		opts = append(opts, verkada.WithLogger(o.Logger))
	}
	if r := o.Retry; r != nil {
		opts = append(opts, verkada.WithRetry(r.Max, r.WaitMin, r.WaitMax))
	}
	if l := o.RateLimit; l != nil {
		// Verkada counts a minute: at most a minute's worth of the rate
		// in any minute.
		perMinute := 0
		if l.PerSecond > 0 {
			perMinute = int(math.Ceil(60 * l.PerSecond))
		}
		opts = append(opts, verkada.WithRateLimit(float64(perMinute)/60, perMinute))
	}
	opts = append(opts, extra[verkada.Option](o)...)
	return verkada.New(verkada.Config{BaseURL: c[URL], APIKey: c[APIKey]}, opts...)
}
