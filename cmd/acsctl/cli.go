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
)

// globals holds the global flags.
type globals struct {
	provider           string
	url                string
	username           string
	password           string
	appID              string
	directoryID        string
	authURL            string
	clientID           string
	clientSecret       string
	apiKey             string
	caFile             string
	insecureSkipVerify bool
	timeout            time.Duration
	allowInsecureHTTP  bool
	output             string
}

// secrets returns the configured secret values, for redaction.
func (g *globals) secrets() []string {
	var out []string
	for _, s := range []string{g.password, g.clientSecret, g.apiKey} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
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
	fs := newFlagSet("acsctl")
	fs.StringVar(&g.provider, "provider", "", "genetec, lenel or brivo")
	fs.StringVar(&g.url, "url", "", "API base URL")
	fs.StringVar(&g.username, "username", "", "user name")
	fs.StringVar(&g.password, "password", "", "password")
	fs.StringVar(&g.appID, "app-id", "", "Genetec application ID / Lenel Application-Id")
	fs.StringVar(&g.directoryID, "directory-id", "", "Lenel directory ID")
	fs.StringVar(&g.authURL, "auth-url", "", "Brivo OAuth base URL")
	fs.StringVar(&g.clientID, "client-id", "", "Brivo client ID")
	fs.StringVar(&g.clientSecret, "client-secret", "", "Brivo client secret")
	fs.StringVar(&g.apiKey, "api-key", "", "Brivo API key")
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
