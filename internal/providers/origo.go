package providers

import (
	"strconv"
	"strings"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/origo"
	"github.com/acsbridge/acsbridge/origo/origosim"
)

// Origo is HID Origo mobile IDs (Mobile Identities v2.2) in front of a
// door provider. Built through the registry, every grant without a
// credential type becomes a mobile ID (origo.WithMobileByDefault); its
// simulator's phone accepts every invitation at once
// (origosim.WithAutoAccept), so that a provision completes in one call.
var Origo = &Issuer{
	Name:    origo.Name,
	Product: "HID Origo mobile IDs",
	Settings: []Need{
		{OrigoURL, false, "the Mobile Identities host (default " + origo.DefaultBaseURL + "; " + origo.CertBaseURL + " for certification)"},
		{OrigoAuthURL, false, "the authentication host (default " + origo.DefaultAuthURL + "; " + origo.CertAuthURL + ")"},
		{OrigoOrg, true, "the organisation ID (digits)"},
		{OrigoClientID, true, "the system account's client ID ({organisation}-OSRV…)"},
		{OrigoClientSecret, true, "the system account's client secret"},
		{OrigoAppID, false, "the Application-ID header HID certified (default " + origo.DefaultApplicationID + ")"},
		{OrigoPartNumber, true, "the mobile ID part number invitations assign"},
		{OrigoCardFormat, true, "the Wiegand format of the part number's card numbers (h10301, h10306, h10302, h10304, c1k35, c1k48)"},
		{OrigoFacilityCode, false, "the part number's facility code (default 0)"},
	},
	// Origo's own requests (the door provider's come on top), with the
	// phone accepting before the invitation's answer, as the simulator's
	// does: a new visitor is a search (idempotency by external ID), a
	// creation and an invitation (plus the token for a process's first);
	// a repeat is a read; a revoke by the returned IDs deletes the
	// credential and the user (the issuer first searches the external ID
	// and reads its users, so that every mobile ID of the visit is
	// revoked at the door: 4). A phone that accepts later adds one read
	// per poll.
	Minimum: RoundTrips{FirstProvision: 4, Provision: 3, RepeatProvision: 1, Revoke: 2},
	Wrap:    wrapOrigo,
	SimConfig: func(origin string) Config {
		return Config{OrigoURL: origin, OrigoAuthURL: origin, OrigoOrg: origosim.DefaultOrganizationID,
			OrigoClientID: origosim.DefaultClientID, OrigoClientSecret: origosim.DefaultClientSecret,
			OrigoPartNumber: origosim.DefaultPartNumber, OrigoCardFormat: "h10301", OrigoFacilityCode: "42"}
	},
	Simulate: func(o SimOptions) *Simulator {
		opts := []origosim.Option{origosim.WithAutoAccept()}
		if o.Clock != nil {
			opts = append(opts, origosim.WithClock(o.Clock))
		}
		s := origosim.New(opts...)
		return &Simulator{
			Handler:    s,
			Server:     s,
			AddLevel:   func(string) {},
			SetLatency: s.SetLatency,
			// Origo counts requests per five minutes (50 per organisation).
			SetRateLimit: func(perSecond int) { s.SetRateLimit(perSecond * int(origosim.RateWindow.Seconds())) },
			Throttled:    s.Throttled,
			Requests: func() []Call {
				var out []Call
				for _, r := range s.Requests() {
					out = append(out, Call{Method: r.Method, Path: r.Path, Query: r.RawQuery, Body: r.Body, Status: r.Status,
						Meta: "bearer=" + strconv.FormatBool(r.Bearer) + " content-type=" + r.ContentType + " application-id=" + r.AppID})
				}
				return out
			},
			ResetRequests: s.ResetRequests,
		}
	},
}

// cardFormats maps the settings' card format names to acs formats.
var cardFormats = map[string]acs.CardFormat{
	"h10301": acs.H10301, "h10306": acs.H10306, "h10302": acs.H10302, "h10304": acs.H10304,
	"c1k35": acs.Corp1000_35, "c1k48": acs.Corp1000_48, "c1000-35": acs.Corp1000_35, "c1000-48": acs.Corp1000_48,
}

func wrapOrigo(door acs.Provider, c Config, o Options) (acs.Provider, error) {
	format, ok := cardFormats[strings.ToLower(c[OrigoCardFormat])]
	if !ok {
		return nil, &ConfigError{Provider: origo.Name, Setting: OrigoCardFormat, Problem: "must be h10301, h10306, h10302, h10304, c1k35 or c1k48"}
	}
	var facility uint64
	if v := c[OrigoFacilityCode]; v != "" {
		var err error
		if facility, err = strconv.ParseUint(v, 10, 64); err != nil {
			return nil, &ConfigError{Provider: origo.Name, Setting: OrigoFacilityCode, Problem: "must be a non-negative decimal number"}
		}
	}
	opts := []origo.Option{origo.WithMobileByDefault()}
	if o.useTLS() {
		opts = append(opts, origo.WithTLS(origo.TLSOptions{CAFile: o.CAFile, InsecureSkipVerify: o.InsecureSkipVerify}))
	}
	if o.AllowInsecureHTTP {
		opts = append(opts, origo.WithAllowInsecureHTTP())
	}
	if o.HTTPClient != nil {
		opts = append(opts, origo.WithHTTPClient(o.HTTPClient))
	} else if o.Timeout > 0 {
		opts = append(opts, origo.WithTimeout(o.Timeout))
	}
	if o.Clock != nil {
		opts = append(opts, origo.WithClock(o.Clock))
	}
	if o.Logger != nil {
		opts = append(opts, origo.WithLogger(o.Logger))
	}
	if r := o.Retry; r != nil {
		opts = append(opts, origo.WithRetry(r.Max, r.WaitMin, r.WaitMax))
	}
	if l := o.RateLimit; l != nil {
		opts = append(opts, origo.WithRateLimit(max(l.PerSecond, 0), max(l.Burst, 1)))
	}
	opts = append(opts, extra[origo.Option](o)...)
	return origo.New(door, origo.Config{
		BaseURL: c[OrigoURL], AuthURL: c[OrigoAuthURL], OrganizationID: c[OrigoOrg],
		ClientID: c[OrigoClientID], ClientSecret: c[OrigoClientSecret], ApplicationID: c[OrigoAppID],
		PartNumber: c[OrigoPartNumber], CardFormat: format, FacilityCode: facility,
	}, opts...)
}
