package providers

import (
	"strconv"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/alta"
	"github.com/acsbridge/acsbridge/alta/altasim"
)

// Alta is Avigilon Alta (formerly Openpath) through its cloud REST API.
var Alta = &Provider{
	Name:    alta.Name,
	Product: "Avigilon Alta (Openpath)",
	Settings: []Need{
		{URL, false, "the API host (default " + alta.DefaultBaseURL + ")"},
		{Username, true, "the login e-mail (POST /auth/login)"},
		{Password, true, "the login password"},
		{OrgID, true, "the organisation every /orgs/{orgId}/... path uses"},
	},
	AccessLevels: "group IDs",
	IDs:          "user ID and credential ID",
	Minimum:      RoundTrips{FirstProvision: 8, Provision: 5, RepeatProvision: 2, Revoke: 1},
	New:          newAlta,
	SimConfig: func(origin string) Config {
		k := altasim.DefaultCredentials()
		return Config{URL: origin + altasim.BasePath, Username: k.Email, Password: k.Password,
			OrgID: strconv.FormatInt(altasim.OrgID, 10)}
	},
	Simulate: func(o SimOptions) *Simulator {
		var opts []altasim.Option
		if o.Clock != nil {
			opts = append(opts, altasim.WithClock(o.Clock))
		}
		s := altasim.New(opts...)
		gs := altasim.DefaultGroups()
		return &Simulator{
			Handler:      s,
			Server:       s,
			Levels:       []string{gs[0].GroupID(), gs[1].GroupID()},
			AddLevel:     func(name string) { s.AddGroup(name) },
			SetLatency:   s.SetLatency,
			SetRateLimit: s.SetRateLimit,
			Throttled:    s.Throttled,
			Requests: func() []Call {
				var out []Call
				for _, r := range s.Requests() {
					out = append(out, Call{Method: r.Method, Path: r.Path, Query: r.RawQuery, Body: r.Body, Status: r.Status,
						Meta: "auth=" + r.AuthScheme + " content-type=" + r.ContentType})
				}
				return out
			},
			ResetRequests: s.ResetRequests,
		}
	},
}

func newAlta(c Config, o Options) (acs.Provider, error) {
	org, err := strconv.ParseInt(c[OrgID], 10, 64)
	if err != nil || org <= 0 {
		return nil, &ConfigError{Provider: alta.Name, Setting: OrgID, Problem: "must be a positive decimal organisation ID"}
	}
	var opts []alta.Option
	if o.useTLS() {
		opts = append(opts, alta.WithTLS(alta.TLSOptions{CAFile: o.CAFile, InsecureSkipVerify: o.InsecureSkipVerify}))
	}
	if o.AllowInsecureHTTP {
		opts = append(opts, alta.WithAllowInsecureHTTP())
	}
	if o.HTTPClient != nil {
		opts = append(opts, alta.WithHTTPClient(o.HTTPClient))
	} else if o.Timeout > 0 {
		opts = append(opts, alta.WithTimeout(o.Timeout))
	}
	if o.Clock != nil {
		opts = append(opts, alta.WithClock(o.Clock))
	}
	if o.Logger != nil {
		opts = append(opts, alta.WithLogger(o.Logger))
	}
	if r := o.Retry; r != nil {
		opts = append(opts, alta.WithRetry(r.Max, r.WaitMin, r.WaitMax))
	}
	if l := o.RateLimit; l != nil {
		opts = append(opts, alta.WithRateLimit(max(l.PerSecond, 0), max(l.Burst, 1)))
	}
	opts = append(opts, extra[alta.Option](o)...)
	return alta.New(alta.Config{BaseURL: c[URL], Username: c[Username], Password: c[Password], OrgID: org}, opts...)
}
