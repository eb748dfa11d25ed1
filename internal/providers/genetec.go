package providers

import (
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
)

// Genetec is Genetec Security Center through its Web-based SDK.
var Genetec = &Provider{
	Name:    genetec.Name,
	Product: "Genetec Security Center (Web-based SDK)",
	Settings: []Need{
		{URL, true, "the Web SDK's base URL, such as https://sc.example.com:4590/WebSdk"},
		{Username, true, "the Security Center user"},
		{Password, true, "the user's password"},
		{AppID, true, "the SDK certificate's application ID"},
	},
	AccessLevels:         "cardholder group GUIDs",
	IDs:                  "cardholder GUID and credential GUID",
	RevokeByCredentialID: true,
	Minimum:              RoundTrips{Provision: 4, Revoke: 1},
	New:                  newGenetec,
	SimConfig: func(origin string) Config {
		return Config{URL: origin + genetecsim.DefaultBasePath, Username: genetecsim.DefaultUser,
			Password: genetecsim.DefaultPassword, AppID: genetecsim.DefaultApplicationID}
	},
	Simulate: func(o SimOptions) *Simulator {
		var opts []genetecsim.Option
		if o.Clock != nil {
			opts = append(opts, genetecsim.WithClock(o.Clock))
		}
		s := genetecsim.New(opts...)
		return &Simulator{
			Handler:  s,
			Server:   s,
			Levels:   []string{genetecsim.SeedLobbyGroup, genetecsim.SeedFloor3Group},
			AddLevel: func(name string) { s.AddGroup(name) },
			SetLatency: func(d time.Duration) {
				s.ClearFaults()
				if d > 0 {
					s.Inject(genetecsim.Fault{Delay: d, Times: forever})
				}
			},
			Requests: func() []Call {
				var out []Call
				for _, r := range s.Requests() {
					out = append(out, Call{Method: r.Method, Path: "/" + r.Path, Query: r.RawQuery, Status: r.Status,
						Meta: "accept=" + r.Accept + " content-length=" + r.ContentLength + " user=" + r.User})
				}
				return out
			},
			ResetRequests: s.ResetRequests,
		}
	},
}

func newGenetec(c Config, o Options) (acs.Provider, error) {
	var opts []genetec.Option
	if o.useTLS() {
		opts = append(opts, genetec.WithTLS(genetec.TLSOptions{CAFile: o.CAFile, InsecureSkipVerify: o.InsecureSkipVerify}))
	}
	if o.AllowInsecureHTTP {
		opts = append(opts, genetec.WithAllowInsecureHTTP())
	}
	if o.HTTPClient != nil {
		opts = append(opts, genetec.WithHTTPClient(o.HTTPClient))
	} else if o.Timeout > 0 {
		opts = append(opts, genetec.WithTimeout(o.Timeout))
	}
	if o.Clock != nil {
		opts = append(opts, genetec.WithClock(o.Clock))
	}
	if o.Logger != nil {
		opts = append(opts, genetec.WithLogger(o.Logger))
	}
	if r := o.Retry; r != nil {
		opts = append(opts, genetec.WithRetry(r.Max, r.WaitMin, r.WaitMax))
	}
	if l := o.RateLimit; l != nil {
		opts = append(opts, genetec.WithRateLimit(max(l.PerSecond, 0), max(l.Burst, 1)))
	}
	opts = append(opts, extra[genetec.Option](o)...)
	return genetec.New(genetec.Config{BaseURL: c[URL], Username: c[Username], Password: c[Password], ApplicationID: c[AppID]}, opts...)
}
