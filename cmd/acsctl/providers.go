package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/internal/providers"
)

// wantProviders is the list of provider names for messages.
func wantProviders() string {
	names := providers.Names()
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// entry returns the registry entry of --provider.
func (a *app) entry() (*providers.Provider, error) {
	if a.g.provider == "" {
		return nil, usagef("--provider is required (%s)", wantProviders())
	}
	p, ok := providers.Lookup(a.g.provider)
	if !ok {
		return nil, usagef("unknown --provider %q; want %s", a.g.provider, wantProviders())
	}
	return p, nil
}

// newProvider builds the provider selected by the global flags.
func (a *app) newProvider() (acs.Provider, error) {
	g := &a.g
	p, err := a.entry()
	if err != nil {
		return nil, err
	}
	prov, err := p.Build(g.settings, providers.Options{
		CAFile: g.caFile, InsecureSkipVerify: g.insecureSkipVerify, AllowInsecureHTTP: g.allowInsecureHTTP,
	})
	var ce *providers.ConfigError
	if errors.As(err, &ce) {
		return nil, usagef("%s", ce.Error())
	}
	return prov, err
}

// simulate runs a provider's simulator on a loopback port. Its first line
// of output is a JSON object with the provider's name and every setting
// that reaches the simulator ("url", "username", "password", "org_id", …,
// as the ACS_<SETTING> environment variables name them).
func (a *app) simulate(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("simulate: want %s", wantProviders())
	}
	which := args[0]
	fs := newFlagSet("simulate " + which)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	p, ok := providers.Lookup(which)
	if !ok {
		return usagef("simulate: unknown simulator %q; want %s", which, wantProviders())
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	sim := p.Simulate(providers.SimOptions{})
	// The simulator's own demo credentials are printed on purpose: they are
	// what a developer passes to the other commands.
	if _, err := a.stdout.Write(simInfo(p.Name, p.SimConfig("http://"+ln.Addr().String()))); err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: sim.Handler, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

// simInfo returns simulate's first line: {"provider":…, then the settings
// in the registry's order}.
func simInfo(provider string, c providers.Config) []byte {
	var b bytes.Buffer
	field := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		kj, _ := json.Marshal(k)
		vj, _ := json.Marshal(v)
		b.Write(kj)
		b.WriteByte(':')
		b.Write(vj)
	}
	field("provider", provider)
	for _, s := range providers.Settings() {
		if c[s] != "" {
			field(s.Key(), c[s])
		}
	}
	return append(append([]byte{'{'}, b.Bytes()...), '}', '\n')
}
