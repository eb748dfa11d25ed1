package providers

import (
	"strconv"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
)

// Brivo is Brivo Access through its REST API.
var Brivo = &Provider{
	Name:    brivo.Name,
	Product: "Brivo Access",
	Settings: []Need{
		{URL, false, "the API base including /v1/api (default " + brivo.DefaultBaseURL + ")"},
		{AuthURL, false, "the OAuth server; the token endpoint is <auth-url>/oauth/token (default " + brivo.DefaultAuthURL + ")"},
		{ClientID, true, "the API application's client ID"},
		{ClientSecret, true, "the API application's client secret"},
		{APIKey, true, "the Mashery API key"},
		{Username, true, "the Brivo admin ID (not the e-mail)"},
		{Password, true, "the admin's password"},
	},
	AccessLevels:         "group IDs",
	IDs:                  "user ID and credential ID",
	RevokeByCredentialID: true,
	Minimum:              RoundTrips{Provision: 5, Revoke: 2},
	New:                  newBrivo,
	SimConfig: func(origin string) Config {
		k := brivosim.DefaultCredentials()
		return Config{URL: origin + brivosim.APIPrefix, AuthURL: origin, Username: k.Username, Password: k.Password,
			ClientID: k.ClientID, ClientSecret: k.ClientSecret, APIKey: k.APIKey}
	},
	Simulate: func(o SimOptions) *Simulator {
		var opts []brivosim.Option
		if o.Clock != nil {
			opts = append(opts, brivosim.WithClock(o.Clock))
		}
		s := brivosim.New(opts...)
		gs := brivosim.DefaultGroups()
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
						Meta: "auth=" + r.AuthScheme + " api-key=" + strconv.FormatBool(r.APIKeyOK) + " content-type=" + r.ContentType})
				}
				return out
			},
			ResetRequests: s.ResetRequests,
		}
	},
}

func newBrivo(c Config, o Options) (acs.Provider, error) {
	var opts []brivo.Option
	if o.useTLS() {
		opts = append(opts, brivo.WithTLS(brivo.TLSOptions{CAFile: o.CAFile, InsecureSkipVerify: o.InsecureSkipVerify}))
	}
	if o.AllowInsecureHTTP {
		opts = append(opts, brivo.WithAllowInsecureHTTP())
	}
	if o.HTTPClient != nil {
		opts = append(opts, brivo.WithHTTPClient(o.HTTPClient))
	} else if o.Timeout > 0 {
		opts = append(opts, brivo.WithTimeout(o.Timeout))
	}
	if o.Clock != nil {
		opts = append(opts, brivo.WithClock(o.Clock))
	}
	if o.Logger != nil {
		opts = append(opts, brivo.WithLogger(o.Logger))
	}
	if r := o.Retry; r != nil {
		opts = append(opts, brivo.WithRetry(r.Max, r.WaitMin, r.WaitMax))
	}
	if l := o.RateLimit; l != nil {
		opts = append(opts, brivo.WithRateLimit(max(l.PerSecond, 0), max(l.Burst, 1)))
	}
	opts = append(opts, extra[brivo.Option](o)...)
	return brivo.New(brivo.Config{BaseURL: c[URL], AuthURL: c[AuthURL], ClientID: c[ClientID], ClientSecret: c[ClientSecret],
		APIKey: c[APIKey], Username: c[Username], Password: c[Password]}, opts...)
}
