package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
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

// newProvider builds the provider selected by the global flags. Every
// missing required setting is named at once, with its environment
// variable, and plain http to a host that is not loopback is refused
// naming the flag that allows it, before the adapter is built.
func (a *app) newProvider() (acs.Provider, error) {
	g := &a.g
	p, err := a.entry()
	if err != nil {
		return nil, err
	}
	is, err := a.issuerEntry()
	if err != nil {
		return nil, err
	}
	missing := p.Missing(g.settings)
	if is != nil {
		missing = append(missing, is.Missing(g.settings)...)
	}
	if len(missing) > 0 {
		name := p.Name
		if is != nil {
			name += " with " + is.Name
		}
		return nil, missingError(name, missing)
	}
	if !g.allowInsecureHTTP {
		if err := checkPlainHTTP(p.Uses, g.settings, providers.URL, providers.AuthURL); err != nil {
			return nil, err
		}
		if err := checkPlainHTTP(uses(is), g.settings, providers.OrigoURL, providers.OrigoAuthURL); err != nil {
			return nil, err
		}
	}
	o := providers.Options{CAFile: g.caFile, InsecureSkipVerify: g.insecureSkipVerify, AllowInsecureHTTP: g.allowInsecureHTTP}
	prov, err := p.Build(g.settings, o)
	if err == nil && is != nil {
		prov, err = is.Build(prov, g.settings, o)
	}
	var ce *providers.ConfigError
	if errors.As(err, &ce) {
		return nil, usagef("%s", ce.Error())
	}
	return prov, err
}

// missingError names every missing setting with its environment variable:
// "brivo needs --client-secret (or ACS_CLIENT_SECRET), … and --password
// (or ACS_PASSWORD)".
func missingError(provider string, m []providers.Need) error {
	var parts []string
	for _, n := range m {
		parts = append(parts, fmt.Sprintf("--%s (or %s)", n.Setting, n.Setting.Env()))
	}
	list := parts[0]
	if len(parts) > 1 {
		list = strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
	}
	return &usageError{msg: fmt.Sprintf("%s needs %s", provider, list), hint: "acsctl help providers"}
}

// issuerEntry returns the registry entry of --issuer, or nil without one.
func (a *app) issuerEntry() (*providers.Issuer, error) {
	if a.g.issuer == "" {
		return nil, nil
	}
	is, ok := providers.LookupIssuer(a.g.issuer)
	if !ok {
		return nil, usagef("unknown --issuer %q; want %s", a.g.issuer, strings.Join(providers.IssuerNames(), " or "))
	}
	return is, nil
}

// uses is the Uses of an issuer, or reports false for every setting
// without one.
func uses(is *providers.Issuer) func(providers.Setting) bool {
	if is == nil {
		return func(providers.Setting) bool { return false }
	}
	return is.Uses
}

// checkPlainHTTP refuses a URL setting (of those given, that the provider
// or issuer uses) with plain http to a host that is not loopback: the
// password or token would cross the network in clear. Only the host is
// named, never the whole URL.
func checkPlainHTTP(used func(providers.Setting) bool, c providers.Config, urls ...providers.Setting) error {
	for _, s := range urls {
		raw := c[s]
		if raw == "" || !used(s) {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || !strings.EqualFold(u.Scheme, "http") || acshttp.IsLoopback(u.Hostname()) {
			continue // the adapter explains a malformed URL
		}
		return usagef("--%s: plain http to %s, a host that is not loopback, is refused: credentials would cross the network unencrypted; use https, or pass --allow-insecure-http (ACS_ALLOW_INSECURE_HTTP=true) on a network you trust",
			s, u.Hostname())
	}
	return nil
}

// simulateFlags defines simulate's flags.
func simulateFlags(name string) (*flagSet, *simulateArgs) {
	o := &simulateArgs{}
	fs := newFlagSet(name)
	fs.String(&o.addr, "addr", "127.0.0.1:0", "listen `ADDRESS` (port 0: any free port)")
	fs.Bool(&o.outliveParent, "outlive-parent", false, "keep running when the process that started acsctl exits")
	return fs, o
}

// simulateArgs are simulate's flags.
type simulateArgs struct {
	addr          string
	outliveParent bool
}

// simulate runs a provider's simulator on a loopback port. Its first line
// of output is a JSON object with the provider's name and every setting
// that reaches the simulator ("url", "username", "password", "org_id", …,
// as the ACS_<SETTING> environment variables name them). It stops when ctx
// ends and, unless --outlive-parent, when acsctl's parent process exits.
func (a *app) simulate(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("simulate: want %s", wantProviders())
	}
	which := args[0]
	if which == "-h" || which == "--help" || which == "-help" {
		return errHelp
	}
	fs, o := simulateFlags("simulate " + which)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	var simulate func(providers.SimOptions) *providers.Simulator
	var simConfig func(origin string) providers.Config
	if p, ok := providers.Lookup(which); ok {
		simulate, simConfig = p.Simulate, p.SimConfig
	} else if is, ok := providers.LookupIssuer(which); ok {
		simulate, simConfig = is.Simulate, is.SimConfig
	} else {
		return usagef("simulate: unknown simulator %q; want %s (or the issuer %s)", which, wantProviders(), strings.Join(providers.IssuerNames(), ", "))
	}
	if !o.outliveParent {
		var stop context.CancelFunc
		ctx, stop = context.WithCancel(ctx)
		defer stop()
		go func() {
			if watchParent(ctx, startParent, parentPollInterval) {
				fmt.Fprintln(a.stderr, "acsctl: simulate: the parent process exited; stopping")
				stop()
			}
		}()
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	sim := simulate(providers.SimOptions{})
	// The simulator's own demo credentials are printed on purpose: they are
	// what a developer passes to the other commands.
	if _, err := a.stdout.Write(simInfo(which, simConfig("http://"+ln.Addr().String()))); err != nil {
		ln.Close()
		return err
	}
	return serve(ctx, ln, sim.Handler)
}

// serve serves h on ln until ctx ends.
func serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
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
