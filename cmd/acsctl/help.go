package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/acsbridge/acsbridge/internal/providers"
	"github.com/acsbridge/acsbridge/origo"
)

// command is one command's help: what it does, its flags, the environment
// it reads and an example.
type command struct {
	// name is the help topic: "provision", "wiegand encode".
	name string
	// summary is one line for the command list.
	summary string
	// usage follows "acsctl [global flags] ".
	usage string
	// about says what the command does, in paragraphs.
	about string
	// env says which ACS_* variables apply.
	env string
	// example is one or more command lines.
	example string
	// flags defines the command's flags (nil: none).
	flags func() *flagSet
}

// connectEnv is the environment help of the commands that reach an ACS.
const connectEnv = `ACS_PROVIDER and the provider's settings (ACS_URL, ACS_USERNAME,
ACS_PASSWORD, ACS_APP_ID, ACS_CLIENT_ID, ACS_CLIENT_SECRET, ACS_API_KEY,
ACS_ORG_ID, …; acsctl help providers says which each provider reads), and
ACS_CA_FILE, ACS_INSECURE_SKIP_VERIFY, ACS_ALLOW_INSECURE_HTTP, ACS_TIMEOUT,
ACS_OUTPUT. The command line wins over the environment.`

// brivoSim is the example's connection to `acsctl simulate brivo`.
const brivoSim = `export ACS_PROVIDER=brivo ACS_URL=http://127.0.0.1:PORT/v1/api \
    ACS_AUTH_URL=http://127.0.0.1:PORT ACS_USERNAME=sim-admin ACS_CLIENT_ID=sim-client-id \
    ACS_PASSWORD=… ACS_CLIENT_SECRET=… ACS_API_KEY=…   # as simulate printed them
`

// commands lists every command in the order help shows them.
var commands = []command{
	{
		name: "ping", summary: "test the connection and the credentials", usage: "ping",
		about: `Logs in to the ACS (or asks it the least that proves the credentials
work) and prints "ok" when it answered.`,
		env: connectEnv, example: brivoSim + "acsctl ping",
		flags: func() *flagSet { return newFlagSet("ping") },
	},
	{
		name: "sync", summary: "list the access levels and credential formats", usage: "sync",
		about: `Lists the ACS's access levels and credential formats (badge types), each as
its ID and name. provision takes an access level by either.`,
		env: connectEnv, example: brivoSim + "acsctl -o json sync",
		flags: func() *flagSet { return newFlagSet("sync") },
	},
	{
		name: "provision", summary: "give a person a card for some access levels and a time window",
		usage: "provision --first-name F --last-name L --card-number N [--facility-code N]\n" +
			"          --access-level LEVEL... --valid-until TIME [--valid-from TIME] [flags]",
		about: provisionAbout, env: connectEnv,
		example: brivoSim + `acsctl provision --first-name Ada --last-name Lovelace \
    --facility-code 1 --card-number 200 --access-level Lobby \
    --valid-from now --valid-until +8h`,
		flags: func() *flagSet { fs, _ := provisionFlags(); return fs },
	},
	{
		name: "revoke", summary: "make a credential provision made stop opening doors",
		usage: "revoke --credential-id ID [--cardholder-id ID]",
		about: revokeAbout, env: connectEnv,
		example: brivoSim + "acsctl revoke --credential-id 1234",
		flags:   func() *flagSet { fs, _ := revokeFlags(); return fs },
	},
	{
		name: "wiegand encode", summary: "encode a facility code and card number as a Wiegand frame",
		usage: "wiegand encode --format F [--facility-code N] --card-number N",
		about: `Prints the frame's bits (first transmitted bit first) and its value in hex,
parity included. No ACS is involved.`,
		env:     "ACS_OUTPUT.",
		example: "acsctl wiegand encode --format h10301 --facility-code 1 --card-number 200",
		flags:   func() *flagSet { fs, _ := wiegandFlags("encode"); return fs },
	},
	{
		name: "wiegand decode", summary: "decode a Wiegand frame into its facility code and card number",
		usage: "wiegand decode --format F (--hex H | --bits B)",
		about: `Checks the frame's length and parity and prints its facility code and card
number. A format is always named: a 37-bit frame is valid as both h10302 and
h10304. No ACS is involved.`,
		env:     "ACS_OUTPUT.",
		example: "acsctl wiegand decode --format h10301 --hex 2020190",
		flags:   func() *flagSet { fs, _ := wiegandFlags("decode"); return fs },
	},
	{
		name: "simulate", summary: "run a simulator of an ACS on loopback",
		usage: "simulate PROVIDER [--addr 127.0.0.1:0] [--outlive-parent]\n" +
			"  (PROVIDER: " + strings.Join(providers.Names(), ", ") + "; or the issuer " + strings.Join(providers.IssuerNames(), ", ") + ")",
		about: simulateAbout, env: "none: the simulator uses its own demo credentials.",
		example: `acsctl simulate brivo
go run ./cmd/acsctl simulate brivo   # from a checkout of the repository`,
		flags: func() *flagSet { fs, _ := simulateFlags("simulate"); return fs },
	},
	{
		name: "completion", summary: "print a shell completion script (bash or zsh)",
		usage: "completion bash|zsh",
		about: `Prints a script that completes acsctl's commands, flags, providers and card
formats. Load it in the current shell, or install it where your shell reads
completions.`,
		env: "none.",
		example: `source <(acsctl completion bash)          # bash, this shell
acsctl completion zsh > "${fpath[1]}/_acsctl"   # zsh, from the next shell on`,
	},
	{
		name: "help", summary: "show help for a command, or for the providers' settings",
		usage: "help [command | providers]",
		about: `Without an argument, the overview (also acsctl -h or --help). With a command,
that command's help (also acsctl <command> -h). "acsctl help providers" lists
what each provider reads and what its IDs are.`,
		env: "none.", example: "acsctl help provision",
	},
}

// provisionAbout is provision's help.
const provisionAbout = `Makes sure a cardholder with the external ID exists at the ACS and holds a
credential of the card, valid from --valid-from to --valid-until, with the
access levels given: the ACS's own IDs, or level names as sync lists them
(matched exactly, else ignoring case; a name several levels share is refused
with their IDs). Running it again with the same --external-id changes what
differs and creates nothing twice.

Prints the ACS's IDs of the cardholder and the credential: revoke takes the
credential ID back. The window must end in the future and after it starts;
TIME is RFC 3339 (2026-11-22T09:00:00Z), "now", or "+" and a duration from
now (+8h, +90m). --facility-code is required when the card format has a
facility field (every format but h10302).`

// revokeAbout is revoke's help.
const revokeAbout = `Makes the credential stop opening doors: the credential_id provision printed.
acsctl first asks the ACS which cardholder acsbridge provisioned holds it
(through its inventory of marked cardholders), and revokes only such a
credential, together with any copy of the card on a duplicate of that
cardholder. --cardholder-id narrows the search; it is needed only when
several cardholders hold credentials with that ID.

When the ACS holds no such credential, or holds it already revoked, revoke
prints "nothing to revoke" (JSON: "revoked": false) and exits 0, so that
running it again is safe; nothing is sent for a credential it does not
hold. A credential of a person entered by hand is never touched.`

// simulateAbout is simulate's help.
const simulateAbout = `Serves a stateful simulator of the vendor's API on a loopback port, with demo
credentials and seeded access levels, until interrupted. Its first line of
output is a JSON object: the provider and every setting that reaches the
simulator (url, username, password, org_id, api_key, …, named as their ACS_*
variables without the prefix); the other commands take them as flags or
variables.

The simulator also stops when the process that started it exits (it checks
every 200 ms whether its parent process changed), so that killing
"go run ./cmd/acsctl simulate brivo" leaves no simulator behind. Pass
--outlive-parent to keep it running, for example under nohup. On Windows the
parent is not watched.`

// settingSummary says what each setting holds, whichever provider reads it.
var settingSummary = map[providers.Setting]string{
	providers.URL:          "the ACS's API base `URL` (acsctl help providers shows each one's form)",
	providers.Username:     "the API user `NAME` (alta: the login e-mail; brivo: the admin ID)",
	providers.Password:     "the user's `SECRET` password",
	providers.AppID:        "Genetec application `ID`, Lenel Application-Id",
	providers.DirectoryID:  "Lenel directory `ID` (optional)",
	providers.AuthURL:      "Brivo OAuth server `URL` (token endpoint <auth-url>/oauth/token)",
	providers.ClientID:     "Brivo API client `ID`",
	providers.ClientSecret: "Brivo API client `SECRET`",
	providers.APIKey:       "Brivo or Verkada API `KEY`",
	providers.OrgID:        "Alta organisation `ID` (decimal)",
	providers.TimeZone:     "NetBox controller's IANA time `ZONE` (default UTC)",
	providers.CardFormat:   "NetBox card format `NAME` for cards given no --badge-type",

	providers.OrigoURL:          "Origo Mobile Identities `URL` (default " + origo.DefaultBaseURL + ")",
	providers.OrigoAuthURL:      "Origo authentication `URL` (default " + origo.DefaultAuthURL + ")",
	providers.OrigoOrg:          "Origo organisation `ID` (digits)",
	providers.OrigoClientID:     "Origo system account's client `ID`",
	providers.OrigoClientSecret: "Origo system account's client `SECRET`",
	providers.OrigoAppID:        "the Application-ID `ID` HID certified (optional)",
	providers.OrigoPartNumber:   "the mobile ID part `NUMBER` invitations assign",
	providers.OrigoCardFormat:   "the `FORMAT` of the part number's card numbers (h10301, …)",
	providers.OrigoFacilityCode: "the part number's facility `CODE` (default 0)",
}

// lookupCommand returns the command of a help topic.
func lookupCommand(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// commandList names the top-level commands for messages.
func commandList() string {
	var names []string
	for _, c := range commands {
		top, _, _ := strings.Cut(c.name, " ")
		if len(names) == 0 || names[len(names)-1] != top {
			names = append(names, top)
		}
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// help prints the help of a topic to stdout: the overview (no topic), a
// command, both wiegand subcommands, or the providers.
func (a *app) help(topic []string) error {
	name := strings.Join(topic, " ")
	switch name {
	case "":
		_, err := io.WriteString(a.stdout, overview())
		return err
	case "providers":
		_, err := io.WriteString(a.stdout, providersHelp())
		return err
	case "wiegand":
		enc, _ := lookupCommand("wiegand encode")
		dec, _ := lookupCommand("wiegand decode")
		_, err := io.WriteString(a.stdout, commandHelp(enc)+"\n"+commandHelp(dec))
		return err
	}
	c, ok := lookupCommand(name)
	if !ok {
		return usagef("help: no command %q; want %s, or providers", name, commandList())
	}
	_, err := io.WriteString(a.stdout, commandHelp(c))
	return err
}

// overview is acsctl's help.
func overview() string {
	var b strings.Builder
	b.WriteString(`acsctl tests a connection to an access control system (ACS), shows what it
offers, provisions and revokes a credential, converts Wiegand card data, and
runs a local simulator of each supported ACS.

Usage:
  acsctl [global flags] <command> [command flags]
  acsctl help <command>      (or acsctl <command> --help)
  acsctl --version

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-16s %s\n", c.name, c.summary)
	}
	b.WriteString("\nGlobal flags (each also read from the environment variable beside it;\nthe command line wins):\n")
	g := &globals{}
	writeFlags(&b, globalFlags(g), true)
	b.WriteString(`
Secrets (--password, --client-secret, --api-key) are best passed in the
environment, where other users cannot see them. acsctl never prints one.

` + strings.TrimRight(wrap("Providers: "+wantProviders()+`; "acsctl help providers" says which settings each reads (the missing ones are all named at once).`, "", 80), "\n") + `

Exit status: 0 on success (also for help, --version, and a revoke that found
nothing to revoke); 1 when the ACS, the network or the simulator failed;
2 for a mistake on the command line (unknown command or flag, a missing or
invalid value, a missing setting, an unknown or ambiguous access level).
An error is one line on stderr.

Example (a Brivo simulator in one terminal, the commands in another):
  acsctl simulate brivo
  ` + strings.ReplaceAll(strings.TrimSpace(brivoSim), "\n", "\n  ") + `
  acsctl sync
  acsctl provision --first-name Ada --last-name Lovelace --facility-code 1 \
      --card-number 200 --access-level Lobby --valid-until +8h
`)
	return b.String()
}

// commandHelp is one command's help.
func commandHelp(c command) string {
	var b strings.Builder
	fmt.Fprintf(&b, "acsctl %s: %s\n\nUsage:\n  acsctl [global flags] %s\n\n%s\n", c.name, c.summary, c.usage, c.about)
	if c.flags != nil {
		if fs := c.flags(); len(fs.order) > 0 {
			b.WriteString("\nFlags:\n")
			writeFlags(&b, fs, false)
		}
	}
	fmt.Fprintf(&b, "\nEnvironment: %s\n", c.env)
	fmt.Fprintf(&b, "\nExample:\n  %s\n", strings.ReplaceAll(c.example, "\n", "\n  "))
	return b.String()
}

// writeFlags lists fs's flags: a line with the flag, its value's name and
// with env its environment variable, then what it does and its default.
func writeFlags(w io.Writer, fs *flagSet, env bool) {
	for _, f := range fs.flags() {
		name, usage := flag.UnquoteUsage(f)
		left := "--" + f.Name
		if f.Name == "output" {
			left = "-o, --output"
		}
		if name != "" {
			left += " " + name
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			usage += " (default " + f.DefValue + ")"
		}
		if env && !notFromEnv[f.Name] {
			left = fmt.Sprintf("%-32s %s", left, envName(f.Name))
		}
		fmt.Fprintf(w, "  %s\n%s", left, wrap(usage, "      ", 80))
	}
}

// wrap breaks text into lines of at most width bytes, each starting with
// indent and ending with a newline.
func wrap(text, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, word := range strings.Fields(text) {
		if line != indent && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if line != indent {
			line += " "
		}
		line += word
	}
	b.WriteString(line + "\n")
	return b.String()
}

// providersHelp lists each provider's settings.
func providersHelp() string {
	var b strings.Builder
	b.WriteString("Providers and the settings each reads (flag, environment variable):\n")
	for _, p := range providers.All() {
		fmt.Fprintf(&b, "\n%s: %s\n", p.Name, p.Product)
		for _, n := range p.Settings {
			req := "optional"
			if n.Required {
				req = "required"
			}
			if n.Setting.Secret() {
				req += ", secret"
			}
			fmt.Fprintf(&b, "  --%-16s %-20s %s\n%s", n.Setting, n.Setting.Env(), req, wrap(n.Help, "      ", 80))
		}
		b.WriteString(wrap(fmt.Sprintf("Access levels are %s; provision prints the %s.", p.AccessLevels, p.IDs), "  ", 80))
	}
	for _, is := range providers.Issuers() {
		fmt.Fprintf(&b, "\n%s (--issuer %s, in front of --provider): %s\n", is.Name, is.Name, is.Product)
		for _, n := range is.Settings {
			req := "optional"
			if n.Required {
				req = "required"
			}
			if n.Setting.Secret() {
				req += ", secret"
			}
			fmt.Fprintf(&b, "  --%-16s %-20s %s\n%s", n.Setting, n.Setting.Env(), req, wrap(n.Help, "      ", 80))
		}
	}
	return b.String()
}

// version prints the build information: module version, VCS revision and
// time when the build recorded them, Go version and platform.
func (a *app) version() error {
	return a.emitVersion(buildVersion())
}

// emitVersion prints v as text or JSON.
func (a *app) emitVersion(v versionInfo) error {
	text := fmt.Sprintf("acsctl %s\nmodule   %s\n", v.Version, v.Module)
	if v.Revision != "" {
		rev := v.Revision
		if v.Modified {
			rev += " (modified)"
		}
		text += "revision " + rev + "\n"
	}
	if v.Time != "" {
		text += "time     " + v.Time + "\n"
	}
	text += "go       " + v.Go + " " + v.Platform + "\n"
	return a.emit(v, text)
}

// versionInfo is what --version prints.
type versionInfo struct {
	Version  string `json:"version"`
	Module   string `json:"module"`
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// buildVersion reads the build information the Go toolchain embedded.
func buildVersion() versionInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return versionFrom(bi)
}

// versionFrom reads bi (nil: none): the main module's path and version,
// and the VCS settings a build in a repository records (-buildvcs).
func versionFrom(bi *debug.BuildInfo) versionInfo {
	v := versionInfo{Version: "unknown", Module: "github.com/acsbridge/acsbridge", Go: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi == nil {
		return v
	}
	if bi.GoVersion != "" {
		v.Go = bi.GoVersion
	}
	if bi.Main.Path != "" {
		v.Module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}
