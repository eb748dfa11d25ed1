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

	"github.com/acsbridge/acsbridge/acs/acshttp"
	"github.com/acsbridge/acsbridge/internal/providers"
)

// globals holds the global flags.
type globals struct {
	provider string
	// issuer names a credential issuer put in front of the provider
	// (--issuer origo); empty for none.
	issuer string
	// settings holds the connection settings (--url, --password, …), one
	// flag per setting of the provider registry.
	settings           providers.Config
	caFile             string
	insecureSkipVerify bool
	timeout            time.Duration
	allowInsecureHTTP  bool
	output             string
	version            bool
}

// secrets returns the configured secret values, for redaction.
func (g *globals) secrets() []string { return g.settings.Secrets() }

// settingFlag is the flag of one setting.
type settingFlag struct {
	c providers.Config
	s providers.Setting
}

// String returns the setting's value.
func (f settingFlag) String() string {
	if f.c == nil {
		return ""
	}
	return f.c[f.s]
}

// Set stores the setting's value.
func (f settingFlag) Set(v string) error { f.c[f.s] = v; return nil }

// usageError is a mistake on the command line: exit status 2.
type usageError struct {
	msg string
	// hint is the help to read ("acsctl help providers"); empty means the
	// running command's.
	hint string
}

// Error returns the message.
func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// errHelp is returned by parse when -h or --help was given: the command's
// help is printed and the exit status is 0.
var errHelp = errors.New("help requested")

// app is one invocation.
type app struct {
	g      globals
	stdout io.Writer
	stderr io.Writer
	// now is the time provision compares its window with.
	now func() time.Time
	// cmd is the help topic of the command running ("provision",
	// "wiegand encode"), named in the hint after a usage error.
	cmd string
}

// run executes the command line and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	return (&app{stdout: stdout, stderr: stderr, now: time.Now}).run(ctx, args, lookupEnv)
}

// run executes the command line and returns the exit status: 0 on success
// (help, version and "nothing to revoke" included), 2 for a usage error,
// 1 for anything else. An error is one line on stderr.
func (a *app) run(ctx context.Context, args []string, lookupEnv func(string) (string, bool)) int {
	err := a.main(ctx, args, lookupEnv)
	if err == nil {
		return 0
	}
	// Secrets never go into acsctl's own messages; this guards against
	// one an ACS echoed back, by the SDK's rule (acshttp.MinSecretLen:
	// shorter values would also match ordinary words).
	msg := acshttp.RedactSecrets(err.Error(), a.g.secrets()...)
	msg = strings.Join(strings.Fields(msg), " ") // one line
	var ue *usageError
	if !errors.As(err, &ue) {
		fmt.Fprintln(a.stderr, "acsctl: "+msg)
		return 1
	}
	hint := ue.hint
	switch {
	case hint != "":
	case a.cmd != "":
		hint = "acsctl help " + a.cmd
	default:
		hint = "acsctl --help"
	}
	fmt.Fprintf(a.stderr, "acsctl: %s (see %s)\n", msg, hint)
	return 2
}

// flagSet is a flag.FlagSet that remembers the order its flags were
// defined in, for help and completion.
type flagSet struct {
	*flag.FlagSet
	order []string
}

func newFlagSet(name string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flagSet{FlagSet: fs}
}

// String defines a string flag.
func (fs *flagSet) String(p *string, name, value, usage string) {
	fs.StringVar(p, name, value, usage)
	fs.order = append(fs.order, name)
}

// Bool defines a boolean flag.
func (fs *flagSet) Bool(p *bool, name string, value bool, usage string) {
	fs.BoolVar(p, name, value, usage)
	fs.order = append(fs.order, name)
}

// Duration defines a duration flag.
func (fs *flagSet) Duration(p *time.Duration, name string, value time.Duration, usage string) {
	fs.DurationVar(p, name, value, usage)
	fs.order = append(fs.order, name)
}

// Value defines a flag of any flag.Value.
func (fs *flagSet) Value(v flag.Value, name, usage string) {
	fs.Var(v, name, usage)
	fs.order = append(fs.order, name)
}

// flags returns the flags in the order they were defined.
func (fs *flagSet) flags() []*flag.Flag {
	var out []*flag.Flag
	for _, n := range fs.order {
		out = append(out, fs.Lookup(n))
	}
	return out
}

// parse parses flags, turning flag errors into usage errors and -h or
// --help into errHelp.
func parse(fs *flagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	return nil
}

// globalFlags defines the global flags on g.
func globalFlags(g *globals) *flagSet {
	g.settings = providers.Config{}
	fs := newFlagSet("acsctl")
	fs.String(&g.provider, "provider", "", "`NAME` of the access control system: "+wantProviders())
	fs.String(&g.issuer, "issuer", "", "`NAME` of a credential issuer in front of the provider, the door ACS: "+strings.Join(providers.IssuerNames(), ", "))
	for _, s := range providers.Settings() {
		fs.Value(settingFlag{g.settings, s}, string(s), settingSummary[s])
	}
	fs.String(&g.caFile, "ca-file", "", "PEM `FILE` of extra trusted root certificates")
	fs.Bool(&g.insecureSkipVerify, "insecure-skip-verify", false, "do not verify the server's certificate (lab use only)")
	fs.Duration(&g.timeout, "timeout", 30*time.Second, "time limit of the whole command (none for simulate), a `DURATION` such as 30s or 2m")
	fs.Bool(&g.allowInsecureHTTP, "allow-insecure-http", false, "allow plain http to a host that is not loopback")
	fs.String(&g.output, "output", "text", "output `FORMAT`: text or json")
	fs.StringVar(&g.output, "o", "text", "short for --output")
	fs.Bool(&g.version, "version", false, "print the version and build information")
	return fs
}

// notFromEnv are the global flags the environment does not set.
var notFromEnv = map[string]bool{"o": true, "version": true}

// envName is the environment variable of a global flag.
func envName(flagName string) string {
	return "ACS_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// fromEnv fills the global flags the command line left unset from the
// environment.
func fromEnv(fs *flagSet, lookupEnv func(string) (string, bool)) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range fs.order {
		if set[name] || notFromEnv[name] {
			continue
		}
		key := envName(name)
		if v, ok := lookupEnv(key); ok {
			if err := fs.Set(name, v); err != nil {
				return usagef("%s: %v", key, err)
			}
		}
	}
	return nil
}

// main parses the global flags and runs the command.
func (a *app) main(ctx context.Context, args []string, lookupEnv func(string) (string, bool)) error {
	g := &a.g
	fs := globalFlags(g)
	if err := parse(fs, args); err != nil {
		if errors.Is(err, errHelp) {
			return a.help(nil)
		}
		return err
	}
	if err := fromEnv(fs, lookupEnv); err != nil {
		return err
	}
	if g.output != "text" && g.output != "json" {
		return usagef("--output must be text or json, not %q", g.output)
	}
	if g.version {
		return a.version()
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usagef("no command; want %s", commandList())
	}
	if g.timeout > 0 && rest[0] != "simulate" {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.timeout)
		defer cancel()
	}
	err := a.dispatch(ctx, rest[0], rest[1:])
	if errors.Is(err, errHelp) {
		return a.help(strings.Fields(a.cmd))
	}
	return err
}

// dispatch runs one command.
func (a *app) dispatch(ctx context.Context, cmd string, args []string) error {
	a.cmd = cmd
	switch cmd {
	case "ping":
		return a.ping(ctx, args)
	case "sync":
		return a.sync(ctx, args)
	case "provision":
		return a.provision(ctx, args)
	case "revoke":
		return a.revoke(ctx, args)
	case "wiegand":
		return a.wiegand(args)
	case "simulate":
		return a.simulate(ctx, args)
	case "completion":
		return a.completion(args)
	case "help":
		a.cmd = ""
		return a.help(args)
	}
	a.cmd = ""
	return usagef("unknown command %q; want %s", cmd, commandList())
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
