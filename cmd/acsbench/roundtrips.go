package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/harness/bench"
	registry "github.com/acsbridge/acsbridge/internal/providers"
	"github.com/acsbridge/acsbridge/visitor"
)

// roundTrips counts the requests of each operation in the simulators'
// logs: adapter operations with a warm session and catalogues, the cold
// first call, the visitor engine's sign-in and sign-out, and a refresh of
// the access-level list.
func roundTrips(ctx context.Context, p *printer, c config, providers []string) error {
	levels := c.levels
	if c.short {
		levels = min(levels, 1000)
	}
	rows := []string{
		"provision, first call (login, catalogues)",
		"provision, new visitor",
		"provision, repeated (nothing to change)",
		"revoke by credential ID (sign-out)",
		"revoke, already revoked",
		"revoke by external ID and card (lost answer)",
		"remove cardholder (its credential already revoked)",
		"16 concurrent first provisions: requests beyond 16 × new visitor",
		"engine: sign-in with provisioning",
		"engine: sign-out",
		fmt.Sprintf("refresh: list %d access levels", levels),
	}
	counts := map[string][]int{}
	for _, name := range providers {
		n, err := countProvider(ctx, name, levels)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		counts[name] = n
	}
	p.f("\n## Round trips per operation (requests in the simulator's log)\n\n")
	p.f("| operation |")
	for _, name := range providers {
		p.f(" %s |", name)
	}
	p.f("\n|---|")
	for range providers {
		p.f("---:|")
	}
	p.f("\n")
	for i, r := range rows {
		p.f("| %s |", r)
		for _, name := range providers {
			p.f(" %d |", counts[name][i])
		}
		p.f("\n")
	}

	// Beside them, the protocol's minimum where the registry states it.
	p.f("\n## Protocol minimum (requests; – where not stated)\n\n")
	p.f("| operation |")
	for _, name := range providers {
		p.f(" %s |", name)
	}
	p.f("\n|---|")
	for range providers {
		p.f("---:|")
	}
	p.f("\n")
	for _, m := range []struct {
		row string
		get func(registry.RoundTrips) int
	}{
		{rows[0], func(r registry.RoundTrips) int { return r.FirstProvision }},
		{rows[1], func(r registry.RoundTrips) int { return r.Provision }},
		{rows[2], func(r registry.RoundTrips) int { return r.RepeatProvision }},
		{rows[3], func(r registry.RoundTrips) int { return r.Revoke }},
	} {
		p.f("| %s |", m.row)
		for _, name := range providers {
			entry, _ := registry.Lookup(name)
			if n := m.get(entry.Minimum); n > 0 {
				p.f(" %d |", n)
			} else {
				p.f(" – |")
			}
		}
		p.f("\n")
	}
	return nil
}

func countProvider(ctx context.Context, name string, levels int) ([]int, error) {
	sim, err := bench.StartSim(name, bench.SimOptions{})
	if err != nil {
		return nil, err
	}
	defer sim.Close()
	prov, err := sim.NewProvider(bench.ClientOptions{})
	if err != nil {
		return nil, err
	}
	defer bench.Close(prov)
	now := time.Now()
	level := sim.Level()
	var out []int
	count := func(fn func() error) error {
		sim.ResetLog()
		if err := fn(); err != nil {
			return err
		}
		out = append(out, len(sim.Log()))
		return nil
	}
	var pr acs.Provisioned
	g := bench.Grant(2, level, now)
	steps := []func() error{
		func() error { _, err := prov.Provision(ctx, bench.Grant(1, level, now)); return err },
		func() (err error) { pr, err = prov.Provision(ctx, g); return },
		func() error { _, err := prov.Provision(ctx, g); return err },
		func() error { return prov.Revoke(ctx, pr.Credential) },
		func() error { return prov.Revoke(ctx, pr.Credential) },
		func() error {
			g3 := bench.Grant(3, level, now)
			if _, err := prov.Provision(ctx, g3); err != nil {
				return err
			}
			sim.ResetLog()
			return prov.Revoke(ctx, acs.CredentialRef{CardholderExternalID: g3.Person.ExternalID, Card: g3.Card})
		},
		func() error { return prov.RemoveCardholder(ctx, pr.Cardholder) },
	}
	for _, s := range steps {
		if err := count(s); err != nil {
			return nil, err
		}
	}

	// Sixteen callers provisioning at once on a cold provider: what the
	// session and catalogue lookups cost beyond the provisions themselves.
	extra, err := coldStart(ctx, name, 16)
	if err != nil {
		return nil, err
	}
	out = append(out, extra-16*out[1])

	// The engine, on the same warm provider.
	e, err := bench.NewEngine(ctx, visitor.NewMemoryStore(), prov, level, 100)
	if err != nil {
		return nil, err
	}
	if err := count(func() error {
		_, active, err := bench.SignIn(ctx, e, 1)
		if err == nil && !active {
			err = fmt.Errorf("sign-in left the credential pending")
		}
		return err
	}); err != nil {
		return nil, err
	}
	if err := count(func() error {
		v, err := e.SignOut(ctx, bench.Desk, "visit-000001", visitor.ViaDesk)
		if err == nil && v.Current().Status != visitor.CredRevoked {
			err = fmt.Errorf("sign-out left the credential %s", v.Current().Status)
		}
		return err
	}); err != nil {
		return nil, err
	}

	// A refresh against a simulator holding the levels.
	big, err := bench.StartSim(name, bench.SimOptions{ExtraLevels: levels - bench.SeededLevels(name)})
	if err != nil {
		return nil, err
	}
	defer big.Close()
	bp, err := big.NewProvider(bench.ClientOptions{})
	if err != nil {
		return nil, err
	}
	defer bench.Close(bp)
	// Log in first (sessions, tokens), so that only the listing is counted.
	if err := bp.Ping(ctx); err != nil {
		return nil, err
	}
	big.ResetLog()
	ls, err := bp.AccessLevels(ctx)
	if err != nil {
		return nil, err
	}
	if len(ls) != levels {
		fmt.Fprintf(os.Stderr, "%s: listed %d access levels, want %d\n", name, len(ls), levels)
	}
	out = append(out, len(big.Log()))
	return out, nil
}

// coldStart provisions n new visitors at once with a new provider and
// returns the requests the simulator received.
func coldStart(ctx context.Context, name string, n int) (int, error) {
	sim, err := bench.StartSim(name, bench.SimOptions{})
	if err != nil {
		return 0, err
	}
	defer sim.Close()
	prov, err := sim.NewProvider(bench.ClientOptions{})
	if err != nil {
		return 0, err
	}
	defer bench.Close(prov)
	now := time.Now()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = prov.Provision(ctx, bench.Grant(i+1, sim.Level(), now)) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return len(sim.Log()), nil
}
