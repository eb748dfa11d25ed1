package providers

import (
	"strconv"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/netbox"
	"github.com/acsbridge/acsbridge/netbox/netboxsim"
)

// Netbox is LenelS2 S2 NetBox through the NBAPI (XML over HTTP POST).
var Netbox = &Provider{
	Name:    netbox.Name,
	Product: "LenelS2 S2 NetBox (NBAPI)",
	Settings: []Need{
		{URL, true, "the NBAPI endpoint, such as https://netbox.example.com/nbws/goforms/nbapi (/goforms/nbapi before NetBox 6)"},
		{Username, true, "the API user (its role needs Read-Write API privilege)"},
		{Password, true, "the user's password"},
		{TimeZone, false, "the controller's IANA time zone, such as America/New_York: NBAPI dates are its local time (default UTC)"},
		{CardFormat, false, "the card format, by name as sync lists it (such as \"26 bit Wiegand\"), of cards whose grant names none (acsctl: --badge-type); its facility code is not checked"},
	},
	AccessLevels: "access level keys",
	IDs:          "PERSONID and CREDENTIALID",
	Minimum:      RoundTrips{FirstProvision: 5, Provision: 3, RepeatProvision: 1, Revoke: 1},
	New:          newNetbox,
	SimConfig: func(origin string) Config {
		return Config{URL: origin + netboxsim.Path, Username: netboxsim.DefaultUsername, Password: netboxsim.DefaultPassword,
			TimeZone: netboxsim.DefaultTimeZone, CardFormat: netboxsim.Format26}
	},
	Simulate: func(o SimOptions) *Simulator {
		var opts []netboxsim.Option
		if o.Clock != nil {
			opts = append(opts, netboxsim.WithClock(o.Clock))
		}
		s := netboxsim.New(opts...)
		return &Simulator{
			Handler: s,
			Server:  s,
			// The simulator seeds a third level, "R&D <Lab>", whose name
			// needs escaping in XML.
			Levels:     []string{netboxsim.LevelLobby, netboxsim.LevelFloor3, netboxsim.LevelLab},
			AddLevel:   func(name string) { s.AddAccessLevel(name) },
			SetLatency: s.SetLatency,
			Requests: func() []Call {
				var out []Call
				for _, r := range s.Requests() {
					// Every command is a POST to one path; the command and
					// its parameters (the password redacted) are the body.
					out = append(out, Call{Method: "POST", Path: netboxsim.Path, Body: r.Command + " " + r.Params, Status: r.Status,
						Meta: "content-type=" + r.ContentType + " session=" + strconv.FormatBool(r.SessionID != "") + " answer=" + r.Answer})
				}
				return out
			},
			ResetRequests: s.ResetRequests,
		}
	},
}

func newNetbox(c Config, o Options) (acs.Provider, error) {
	if tz := c[TimeZone]; tz != "" {
		if _, err := time.LoadLocation(tz); err != nil {
			return nil, &ConfigError{Provider: netbox.Name, Setting: TimeZone, Problem: "must be an IANA time zone such as America/New_York"}
		}
	}
	var opts []netbox.Option
	if o.useTLS() {
		opts = append(opts, netbox.WithTLS(netbox.TLSOptions{CAFile: o.CAFile, InsecureSkipVerify: o.InsecureSkipVerify}))
	}
	if o.AllowInsecureHTTP {
		opts = append(opts, netbox.WithAllowInsecureHTTP())
	}
	if o.HTTPClient != nil {
		opts = append(opts, netbox.WithHTTPClient(o.HTTPClient))
	} else if o.Timeout > 0 {
		opts = append(opts, netbox.WithTimeout(o.Timeout))
	}
	if o.Clock != nil {
		opts = append(opts, netbox.WithClock(o.Clock))
	}
	if o.Logger != nil {
		opts = append(opts, netbox.WithLogger(o.Logger))
	}
	if r := o.Retry; r != nil {
		opts = append(opts, netbox.WithRetry(r.Max, r.WaitMin, r.WaitMax))
	}
	if l := o.RateLimit; l != nil {
		opts = append(opts, netbox.WithRateLimit(max(l.PerSecond, 0), max(l.Burst, 1)))
	}
	opts = append(opts, extra[netbox.Option](o)...)
	return netbox.New(netbox.Config{URL: c[URL], Username: c[Username], Password: c[Password], TimeZone: c[TimeZone],
		CardFormat: c[CardFormat]}, opts...)
}
