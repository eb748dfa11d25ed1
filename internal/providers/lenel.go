package providers

import (
	"net/url"
	"strconv"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/lenel"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
)

// Lenel is LenelS2 OnGuard through OpenAccess.
var Lenel = &Provider{
	Name:    lenel.Name,
	Product: "LenelS2 OnGuard (OpenAccess)",
	Settings: []Need{
		{URL, true, "the OpenAccess root, such as https://onguard.example.com:8080/api/access/onguard/openaccess"},
		{Username, true, "the OnGuard user"},
		{Password, true, "the user's password"},
		{AppID, true, "the licensed OpenAccess Application-Id"},
		{DirectoryID, false, "the directory of a directory account"},
	},
	AccessLevels:         "access level IDs",
	IDs:                  "visitor ID and badge key",
	RevokeByCredentialID: true,
	Minimum:              RoundTrips{Provision: 5, Revoke: 1},
	New:                  newLenel,
	SimConfig: func(origin string) Config {
		return Config{URL: origin + lenelsim.BasePath, Username: lenelsim.DefaultUser,
			Password: lenelsim.DefaultPassword, AppID: lenelsim.DefaultApplicationID}
	},
	Simulate: func(o SimOptions) *Simulator {
		var opts []lenelsim.Option
		if o.Clock != nil {
			opts = append(opts, lenelsim.WithClock(o.Clock))
		}
		s := lenelsim.New(opts...)
		return &Simulator{
			Handler:  s,
			Server:   s,
			Levels:   []string{strconv.FormatInt(lenelsim.LevelLobby, 10), strconv.FormatInt(lenelsim.LevelFloor3, 10)},
			AddLevel: func(name string) { s.AddAccessLevel(name) },
			SetLatency: func(d time.Duration) {
				s.ClearFaults()
				if d > 0 {
					s.AddFault(lenelsim.Fault{Latency: d, Times: forever})
				}
			},
			Requests: func() []Call {
				var out []Call
				for _, r := range s.Requests() {
					out = append(out, Call{Method: r.Method, Path: r.Path, Query: url.Values(r.Query).Encode(), Body: string(r.Body), Status: r.Status,
						Meta: "app=" + r.ApplicationID + " content-type=" + r.ContentType + " session=" + strconv.FormatBool(r.SessionToken != "")})
				}
				return out
			},
			ResetRequests: s.ResetRequests,
		}
	},
}

func newLenel(c Config, o Options) (acs.Provider, error) {
	var opts []lenel.Option
	if o.useTLS() {
		opts = append(opts, lenel.WithTLS(lenel.TLSOptions{CAFile: o.CAFile, InsecureSkipVerify: o.InsecureSkipVerify}))
	}
	if o.AllowInsecureHTTP {
		opts = append(opts, lenel.WithAllowInsecureHTTP())
	}
	if o.HTTPClient != nil {
		opts = append(opts, lenel.WithHTTPClient(o.HTTPClient))
	} else if o.Timeout > 0 {
		opts = append(opts, lenel.WithTimeout(o.Timeout))
	}
	if o.Clock != nil {
		opts = append(opts, lenel.WithClock(o.Clock))
	}
	if o.Logger != nil {
		opts = append(opts, lenel.WithLogger(o.Logger))
	}
	if r := o.Retry; r != nil {
		opts = append(opts, lenel.WithRetry(r.Max, r.WaitMin, r.WaitMax))
	}
	// The adapter paces nothing unless asked; it has no "off" option.
	if l := o.RateLimit; l != nil && l.PerSecond > 0 {
		opts = append(opts, lenel.WithRateLimit(l.PerSecond, max(l.Burst, 1)))
	}
	opts = append(opts, extra[lenel.Option](o)...)
	return lenel.New(lenel.Config{BaseURL: c[URL], Username: c[Username], Password: c[Password],
		DirectoryID: c[DirectoryID], ApplicationID: c[AppID]}, opts...)
}
