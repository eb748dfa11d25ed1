package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/harness/bench"
	registry "github.com/acsbridge/acsbridge/internal/providers"
)

// issuerRoundTrips counts the requests a credential issuer (HID Origo)
// sends to its own service for each operation, in front of the door
// provider door, beside the registry's minimum. The door's requests are
// the door's column of the main table. The simulated phone accepts every
// invitation at once, so a provision completes in one call.
func issuerRoundTrips(ctx context.Context, p *printer, door string) error {
	is := registry.Origo
	rows, err := countIssuer(ctx, is, door)
	if err != nil {
		return fmt.Errorf("%s: %w", is.Name, err)
	}
	min := map[string]int{
		"provision, first call (token)":       is.Minimum.FirstProvision,
		"provision, new visitor":              is.Minimum.Provision,
		"provision, repeated":                 is.Minimum.RepeatProvision,
		"revoke by credential ID":             is.Minimum.Revoke,
		"revoke by external ID (lost answer)": 0,
	}
	p.f("\n## Requests to %s per operation, in front of %s (its own requests; the door's are in the %s column above)\n\n", is.Product, door, door)
	p.f("| operation | %s | minimum |\n|---|---:|---:|\n", is.Name)
	for _, r := range rows {
		if m := min[r.name]; m > 0 {
			p.f("| %s | %d | %d |\n", r.name, r.n, m)
		} else {
			p.f("| %s | %d | – |\n", r.name, r.n)
		}
	}
	return nil
}

type countedRow struct {
	name string
	n    int
}

// countIssuer runs the operations through the issuer built in front of a
// door simulator and counts the requests the issuer's simulator receives.
func countIssuer(ctx context.Context, is *registry.Issuer, door string) ([]countedRow, error) {
	dsim, err := bench.StartSim(door, bench.SimOptions{})
	if err != nil {
		return nil, err
	}
	defer dsim.Close()
	dp, err := dsim.NewProvider(bench.ClientOptions{})
	if err != nil {
		return nil, err
	}
	isim := is.Simulate(registry.SimOptions{})
	srv := httptest.NewServer(isim.Handler)
	defer srv.Close()
	prov, err := is.Build(dp, is.SimConfig(srv.URL), registry.Options{})
	if err != nil {
		return nil, err
	}
	defer bench.Close(prov)
	now := time.Now()
	level := dsim.Level()
	g := bench.Grant(2, level, now)
	var pr acs.Provisioned
	steps := []struct {
		name string
		fn   func() error
	}{
		{"provision, first call (token)", func() error { _, err := prov.Provision(ctx, bench.Grant(1, level, now)); return err }},
		{"provision, new visitor", func() (err error) { pr, err = prov.Provision(ctx, g); return }},
		{"provision, repeated", func() error { _, err := prov.Provision(ctx, g); return err }},
		{"revoke by credential ID", func() error { return prov.Revoke(ctx, pr.Credential) }},
		{"revoke by external ID (lost answer)", func() error {
			g3 := bench.Grant(3, level, now)
			if _, err := prov.Provision(ctx, g3); err != nil {
				return err
			}
			isim.ResetRequests()
			return prov.Revoke(ctx, acs.CredentialRef{CardholderExternalID: g3.Person.ExternalID, Card: g3.Card})
		}},
	}
	var out []countedRow
	for _, s := range steps {
		isim.ResetRequests()
		if err := s.fn(); err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		out = append(out, countedRow{s.name, len(isim.Requests())})
	}
	return out, nil
}
