package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/internal/providers"
)

// globals holds the global flags.
type globals struct {
	provider string
	// settings holds the connection settings (--url, --password, …), one
	// flag per setting of the provider registry.
	settings           providers.Config
	caFile             string
	insecureSkipVerify bool
	timeout            time.Duration
	allowInsecureHTTP  bool
	output             string
}

// secrets returns the configured secret values, for redaction.
func (g *globals) secrets() []string { return g.settings.Secrets() }

// settingFlag is the flag of one setting.
type settingFlag struct {
	c providers.Config
	s providers.Setting
}

func (f settingFlag) String() string {
	if f.c == nil {
		return ""
	}
	return f.c[f.s]
}

func (f settingFlag) Set(v string) error { f.c[f.s] = v; return nil }

// settingHelp says which providers read s and what it holds for them.
func settingHelp(s providers.Setting) string {
	var parts []string
	for _, p := range providers.All() {
		for _, n := range p.Settings {
			if n.Setting == s {
				parts = append(parts, p.Name+": "+n.Help)
			}
		}
	}
	return strings.Join(parts, "; ")
}

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// app is one invocation.
type app struct {
	g      globals
	stdout io.Writer
	stderr io.Writer
}

// run executes the command line and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	a := &app{stdout: stdout, stderr: stderr}
	err := a.main(ctx, args, lookupEnv)
	if err == nil {
		return 0
	}
	msg := err.Error()
	for _, s := range a.g.secrets() {
		msg = strings.ReplaceAll(msg, s, "[REDACTED]")
	}
	msg = strings.Join(strings.Fields(msg), " ") // one line
	fmt.Fprintln(stderr, "acsctl: "+msg)
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses flags, turning flag errors into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return usagef("%s: see the package documentation for usage", fs.Name())
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	return nil
}

func (a *app) main(ctx context.Context, args []string, lookupEnv func(string) (string, bool)) error {
	g := &a.g
	g.settings = providers.Config{}
	fs := newFlagSet("acsctl")
	fs.StringVar(&g.provider, "provider", "", strings.Join(providers.Names(), ", "))
	for _, s := range providers.Settings() {
		fs.Var(settingFlag{g.settings, s}, string(s), settingHelp(s))
	}
	fs.StringVar(&g.caFile, "ca-file", "", "PEM file of extra root certificates")
	fs.BoolVar(&g.insecureSkipVerify, "insecure-skip-verify", false, "do not verify the server certificate")
	fs.DurationVar(&g.timeout, "timeout", 30*time.Second, "overall timeout of the command")
	fs.BoolVar(&g.allowInsecureHTTP, "allow-insecure-http", false, "allow plain http to a non-loopback host")
	fs.StringVar(&g.output, "output", "text", "text or json")
	fs.StringVar(&g.output, "o", "text", "text or json")

	if err := parse(fs, args); err != nil {
		return err
	}
	// The environment fills what the command line left unset.
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || envErr != nil || f.Name == "o" {
			return
		}
		key := "ACS_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := lookupEnv(key); ok {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = usagef("%s: %v", key, err)
			}
		}
	})
	if envErr != nil {
		return envErr
	}
	if g.output != "text" && g.output != "json" {
		return usagef("--output must be text or json, not %q", g.output)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usagef("no command; want ping, sync, provision, revoke, wiegand or simulate")
	}
	if g.timeout > 0 && rest[0] != "simulate" {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.timeout)
		defer cancel()
	}
	cmd, cmdArgs := rest[0], rest[1:]
	switch cmd {
	case "ping":
		return a.ping(ctx, cmdArgs)
	case "sync":
		return a.sync(ctx, cmdArgs)
	case "provision":
		return a.provision(ctx, cmdArgs)
	case "revoke":
		return a.revoke(ctx, cmdArgs)
	case "wiegand":
		return a.wiegand(cmdArgs)
	case "simulate":
		return a.simulate(ctx, cmdArgs)
	}
	return usagef("unknown command %q; want ping, sync, provision, revoke, wiegand or simulate", cmd)
}

// emit writes v as one JSON line, or text as given, depending on --output.
func (a *app) emit(v any, text string) error {
	if a.g.output == "json" {
		enc := json.NewEncoder(a.stdout)
		return enc.Encode(v)
	}
	_, err := io.WriteString(a.stdout, text)
	return err
}
