package main

import (
	"bytes"
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/acsbridge/acsbridge/internal/providers"
)

// runIn runs acsctl in this process with an empty environment.
func runIn(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, &stdout, &stderr, func(string) (string, bool) { return "", false })
	return result{stdout.String(), stderr.String(), code}
}

// Every way of asking for help prints it to stdout and exits 0.
func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{
		{"-h"}, {"--help"}, {"-help"}, {"help"},
		{"help", "providers"}, {"help", "wiegand"}, {"help", "wiegand", "encode"},
		{"ping", "-h"}, {"sync", "--help"}, {"provision", "-h"}, {"provision", "--help"}, {"revoke", "--help"},
		{"wiegand", "--help"}, {"wiegand", "encode", "-h"}, {"wiegand", "decode", "--help"},
		{"simulate", "--help"}, {"simulate", "brivo", "-h"}, {"completion", "--help"},
		{"--provider", "brivo", "provision", "--card-number", "1", "--help"}, // help wins over what is missing
	} {
		r := runIn(t, args...)
		if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "acsctl") || len(r.stdout) < 200 {
			t.Errorf("%v: exit %d stderr %q stdout %d bytes", args, r.code, r.stderr, len(r.stdout))
		}
	}
}

// The overview lists every command and every global flag with its
// environment variable, the exit statuses and an example.
func TestOverview(t *testing.T) {
	out := runIn(t, "--help").stdout
	for _, c := range commands {
		if !strings.Contains(out, "  "+c.name+" ") {
			t.Errorf("the overview lacks command %q", c.name)
		}
	}
	fs := globalFlags(&globals{})
	for _, f := range fs.flags() {
		if !strings.Contains(out, "--"+f.Name) {
			t.Errorf("the overview lacks --%s", f.Name)
		}
		if !notFromEnv[f.Name] && !strings.Contains(out, envName(f.Name)) {
			t.Errorf("the overview lacks %s", envName(f.Name))
		}
	}
	for _, s := range providers.Settings() {
		if settingSummary[s] == "" {
			t.Errorf("setting %s has no summary", s)
		}
	}
	for _, want := range []string{"Usage:", "Exit status: 0", "Example", "acsctl help providers", "ACS_PASSWORD"} {
		if !strings.Contains(out, want) {
			t.Errorf("the overview lacks %q", want)
		}
	}
}

// Each command's help says what it does and lists its flags, the
// environment it reads and an example that runs that command.
func TestCommandHelp(t *testing.T) {
	for _, c := range commands {
		args := append([]string{"help"}, strings.Fields(c.name)...)
		r := runIn(t, args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d %s", args, r.code, r.stderr)
		}
		out := r.stdout
		for _, want := range []string{"acsctl " + c.name + ": ", "Usage:\n  acsctl [global flags] " + strings.Fields(c.name)[0],
			"Environment: ", "Example:\n", "acsctl " + c.name} {
			if !strings.Contains(out, want) {
				t.Errorf("help %s lacks %q:\n%s", c.name, want, out)
			}
		}
		if c.flags != nil {
			for _, f := range c.flags().flags() {
				if !strings.Contains(out, "\n  --"+f.Name) {
					t.Errorf("help %s lacks --%s", c.name, f.Name)
				}
			}
		}
		for line := range strings.SplitSeq(out, "\n") {
			if len([]rune(line)) > 100 {
				t.Errorf("help %s: line of %d characters: %q", c.name, len([]rune(line)), line)
			}
		}
	}
	// provision's help names what the issue asked about.
	out := runIn(t, "provision", "--help").stdout
	for _, want := range []string{"--access-level LEVEL", "by ID or name", "--facility-code N", "required unless the format has none",
		"--valid-until TIME", "ACS_PROVIDER", "ACS_PASSWORD"} {
		if !strings.Contains(out, want) {
			t.Errorf("provision --help lacks %q", want)
		}
	}
	out = runIn(t, "help", "providers").stdout
	for _, p := range providers.All() {
		for _, n := range p.Settings {
			if !strings.Contains(out, n.Setting.Env()) {
				t.Errorf("help providers lacks %s for %s", n.Setting.Env(), p.Name)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	r := runIn(t, "--version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "acsctl ") || !strings.Contains(r.stdout, "\ngo       go1.") {
		t.Errorf("--version: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	// What a build in a repository records.
	v := versionFrom(&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/acsbridge/acsbridge", Version: "v0.3.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "9033c27abc"}, {Key: "vcs.time", Value: "2026-12-07T04:00:00Z"},
			{Key: "vcs.modified", Value: "true"}}})
	var out bytes.Buffer
	a := &app{stdout: &out}
	a.g.output = "text"
	if err := a.emitVersion(v); err != nil {
		t.Fatal(err)
	}
	want := "acsctl v0.3.0\nmodule   github.com/acsbridge/acsbridge\nrevision 9033c27abc (modified)\ntime     2026-12-07T04:00:00Z\ngo       go1.26.0 " + v.Platform + "\n"
	if out.String() != want {
		t.Errorf("version text\n%s\nwant\n%s", out.String(), want)
	}
	out.Reset()
	a.g.output = "json"
	if err := a.emitVersion(v); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil || m["version"] != "v0.3.0" || m["revision"] != "9033c27abc" || m["modified"] != true {
		t.Errorf("version JSON %s (%v)", out.String(), err)
	}
	// Without build information: still a version line and the Go version.
	if v := versionFrom(nil); v.Version != "unknown" || v.Go == "" {
		t.Errorf("no build info: %+v", v)
	}
}
