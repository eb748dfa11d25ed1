package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/internal/providers"
)

// buildACSCtl compiles the command once per test binary run.
func buildACSCtl(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "acsctl")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type result struct {
	stdout, stderr string
	code           int
}

func runBin(t *testing.T, bin string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running acsctl: %v", err)
	}
	return result{stdout.String(), stderr.String(), code}
}

// startSimulator runs `acsctl simulate <provider>` and returns its first line.
func startSimulator(t *testing.T, bin, provider string) map[string]string {
	t.Helper()
	cmd := exec.Command(bin, "simulate", provider, "--addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the simulator's first line: %v", err)
	}
	var info map[string]string
	if err := json.Unmarshal([]byte(line), &info); err != nil {
		t.Fatalf("first line %q is not a JSON object of strings: %v", line, err)
	}
	if info["provider"] != provider || !strings.HasPrefix(info["url"], "http://127.0.0.1:") {
		t.Fatalf("first line %q", line)
	}
	return info
}

func decode(t *testing.T, r result, what string) map[string]any {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit %d, stderr %q", what, r.code, r.stderr)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("%s: stdout %q is not JSON: %v", what, r.stdout, err)
	}
	return m
}

func keys(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

func TestCommandsAgainstSimulators(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildACSCtl(t)
	for _, entry := range providers.All() {
		provider := entry.Name
		t.Run(provider, func(t *testing.T) {
			info := startSimulator(t, bin, provider)
			// The first line names every setting the provider requires.
			for _, n := range entry.Settings {
				if n.Required && info[n.Setting.Key()] == "" {
					t.Errorf("simulate printed no %s", n.Setting.Key())
				}
			}
			var secrets []string
			for _, s := range providers.Settings() {
				if s.Secret() && info[s.Key()] != "" {
					secrets = append(secrets, info[s.Key()])
				}
			}
			if len(secrets) == 0 {
				t.Fatal("the simulator's configuration holds no secret to look for")
			}
			// Everything through the environment, as ACS_<FLAG>.
			var env []string
			for k, v := range info {
				env = append(env, "ACS_"+strings.ToUpper(k)+"="+v)
			}
			check := func(r result, what string) {
				t.Helper()
				for _, s := range secrets {
					if s != "" && (strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s)) {
						t.Errorf("%s printed a secret", what)
					}
				}
			}

			r := runBin(t, bin, env, "-o", "json", "ping")
			check(r, "ping")
			if m := decode(t, r, "ping"); keys(m) != "ok,provider" || m["ok"] != true || m["provider"] != provider {
				t.Errorf("ping JSON %v", m)
			}

			r = runBin(t, bin, env, "--output=json", "sync")
			check(r, "sync")
			m := decode(t, r, "sync")
			if keys(m) != "access_levels,credential_formats" {
				t.Fatalf("sync JSON keys %s", keys(m))
			}
			levels := m["access_levels"].([]any)
			if len(levels) < 2 || len(m["credential_formats"].([]any)) == 0 {
				t.Fatalf("sync JSON %v", m)
			}
			level := levels[0].(map[string]any)
			if keys(level) != "id,name" {
				t.Errorf("access level JSON %v", level)
			}
			levelID := level["id"].(string)

			provision := []string{"-o", "json", "provision", "--first-name", "Ada", "--last-name", "Lovelace",
				"--email", "ada@example.com", "--external-id", "cli-visit-1", "--facility-code", "1", "--card-number", "200",
				"--format", "h10301", "--access-level", levelID,
				"--valid-from", "2026-11-22T09:00:00Z", "--valid-until", "2026-11-22T17:00:00Z"}
			r = runBin(t, bin, env, provision...)
			check(r, "provision")
			p1 := decode(t, r, "provision")
			if keys(p1) != "access_levels,cardholder_id,credential_id,valid_from,valid_until" || p1["credential_id"] == "" ||
				p1["valid_from"] != "2026-11-22T09:00:00Z" || p1["valid_until"] != "2026-11-22T17:00:00Z" {
				t.Fatalf("provision JSON %v", p1)
			}
			// The same external ID again: the same references, nothing new.
			p2 := decode(t, runBin(t, bin, env, provision...), "provision again")
			if p2["cardholder_id"] != p1["cardholder_id"] || p2["credential_id"] != p1["credential_id"] {
				t.Errorf("re-provision gave %v, first gave %v", p2, p1)
			}

			// Revoke takes back the IDs provision printed: both, then again
			// (already revoked is a success), by the credential ID alone
			// where the ACS allows it.
			credID, holderID := p1["credential_id"].(string), p1["cardholder_id"].(string)
			revokes := [][]string{
				{"-o", "json", "revoke", "--credential-id", credID, "--cardholder-id", holderID},
				{"-o", "json", "revoke", "--credential-id", credID, "--cardholder-id", holderID},
			}
			if entry.RevokeByCredentialID {
				revokes[1] = []string{"-o", "json", "revoke", "--credential-id", credID}
			} else {
				r = runBin(t, bin, env, "revoke", "--credential-id", credID)
				if r.code != 2 || !strings.Contains(r.stderr, "--cardholder-id") {
					t.Errorf("revoke without the cardholder ID: exit %d stderr %q", r.code, r.stderr)
				}
			}
			for i, args := range revokes {
				r = runBin(t, bin, env, args...)
				check(r, "revoke")
				if m := decode(t, r, "revoke"); keys(m) != "credential_id,revoked" || m["revoked"] != true || m["credential_id"] != credID {
					t.Errorf("revoke #%d JSON %v", i+1, m)
				}
			}

			// A wrong secret: non-zero exit, one line, no secret. The
			// command line wins over the environment.
			flag := "--password"
			if !entry.Uses(providers.Password) {
				flag = "--api-key"
			}
			r = runBin(t, bin, env, flag, "Wrong-Pa55-zzz", "ping")
			if r.code == 0 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || strings.Contains(r.stderr, "Wrong-Pa55-zzz") {
				t.Errorf("bad %s: exit %d stderr %q", flag, r.code, r.stderr)
			}
			check(r, "bad secret")
		})
	}
}

func TestWiegandCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildACSCtl(t)
	m := decode(t, runBin(t, bin, nil, "-o", "json", "wiegand", "encode", "--format", "h10301", "--facility-code", "1", "--card-number", "200"), "encode")
	if m["format"] != "h10301" || m["hex"] != "2020190" || m["bits"] != "10000000100000000110010000" {
		t.Errorf("encode JSON %v", m)
	}
	m = decode(t, runBin(t, bin, nil, "-o", "json", "wiegand", "decode", "--format", "h10301", "--hex", "2020190"), "decode hex")
	if keys(m) != "card_number,facility_code,format" || m["facility_code"] != 1.0 || m["card_number"] != 200.0 {
		t.Errorf("decode JSON %v", m)
	}
	m = decode(t, runBin(t, bin, nil, "-o", "json", "wiegand", "decode", "--format=h10301", "--bits=10000000100000000110010000"), "decode bits")
	if m["card_number"] != 200.0 {
		t.Errorf("decode bits JSON %v", m)
	}
	m = decode(t, runBin(t, bin, nil, "-o", "json", "wiegand", "encode", "--format", "h10302", "--card-number", "1"), "encode h10302")
	if m["hex"] != "2" {
		t.Errorf("h10302 JSON %v", m)
	}
	for _, bad := range [][]string{
		{"wiegand", "decode", "--format", "h10301", "--hex", "2020191"},                             // odd parity
		{"wiegand", "decode", "--format", "h10301", "--bits", "1000"},                               // wrong length
		{"wiegand", "encode", "--format", "h10301", "--facility-code", "256", "--card-number", "1"}, // range
		{"wiegand", "encode", "--format", "w99", "--facility-code", "1", "--card-number", "1"},      // format
		{"wiegand", "encode", "--format", "h10302", "--facility-code", "1", "--card-number", "1"},   // no facility in h10302
	} {
		r := runBin(t, bin, nil, bad...)
		if r.code == 0 || r.stderr == "" || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%v: exit %d stderr %q", bad, r.code, r.stderr)
		}
	}
	r := runBin(t, bin, nil, "-o", "json", "wiegand", "decode", "--format", "h10301", "--hex", "2020191")
	if !strings.Contains(r.stderr, "parity") {
		t.Errorf("parity failure not explained: %q", r.stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	var stdout, stderr bytes.Buffer
	env := func(string) (string, bool) { return "", false }
	for _, c := range []struct {
		args []string
		want string // in the message
	}{
		{nil, "no command"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"-o", "yaml", "ping"}, "--output"},
		{[]string{"ping"}, "--provider is required (genetec, lenel, brivo, alta, verkada or netbox)"},
		{[]string{"--provider", "lenel", "ping"}, "--url is required for lenel"},
		{[]string{"--provider", "acme", "ping"}, "unknown --provider"},
		{[]string{"provision", "--first-name", "A"}, "provision"},
		{[]string{"--provider", "alta", "--username", "a@example.com", "--password", "p", "ping"}, "--org-id is required for alta"},
		{[]string{"--provider", "alta", "--username", "a@example.com", "--password", "p", "--org-id", "x1", "ping"}, "--org-id must be"},
		{[]string{"--provider", "verkada", "ping"}, "--api-key is required for verkada"},
		{[]string{"--provider", "verkada", "--api-key", "Test-Key-123", "revoke", "--credential-id", "c1"}, "--cardholder-id is required for verkada"},
		{[]string{"--provider", "netbox", "ping"}, "--url is required for netbox"},
		{[]string{"--provider", "netbox", "--url", "http://127.0.0.1:1/nbws/goforms/nbapi", "--username", "u", "--password", "p",
			"--time-zone", "Mars/Olympus_Mons", "ping"}, "--time-zone must be an IANA time zone"},
		{[]string{"--provider", "netbox", "revoke", "--credential-id", "1"}, "--cardholder-id is required for netbox"},
		{[]string{"simulate", "acme"}, "want genetec, lenel, brivo, alta, verkada or netbox"},
	} {
		stdout.Reset()
		stderr.Reset()
		code := run(t.Context(), c.args, &stdout, &stderr, env)
		if code != 2 || !strings.HasPrefix(stderr.String(), "acsctl: ") || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d stderr %q, want exit 2 and %q", c.args, code, stderr.String(), c.want)
		}
	}
}

// The package documentation lists every provider and every setting's flag.
func TestDocumentationListsTheRegistry(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(src[:bytes.Index(src, []byte("package main"))])
	if want := "--provider " + strings.Join(providers.Names(), "|"); !strings.Contains(doc, want) {
		t.Errorf("the documentation lacks %q", want)
	}
	if want := "simulate " + strings.Join(providers.Names(), "|"); !strings.Contains(doc, want) {
		t.Errorf("the documentation lacks %q", want)
	}
	for _, s := range providers.Settings() {
		if !strings.Contains(doc, "--"+string(s)+" ") {
			t.Errorf("the documentation lacks --%s", s)
		}
	}
}

func TestEnvironmentAndRedaction(t *testing.T) {
	var stdout, stderr bytes.Buffer
	env := map[string]string{"ACS_PROVIDER": "lenel", "ACS_URL": "http://acs.example.com/api", "ACS_USERNAME": "u",
		"ACS_PASSWORD": "Env-Secret-123", "ACS_APP_ID": "app"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	// Plain http to a remote host is refused before any connection.
	code := run(t.Context(), []string{"ping"}, &stdout, &stderr, lookup)
	if code == 0 || !strings.Contains(stderr.String(), "http") || strings.Contains(stderr.String(), "Env-Secret-123") {
		t.Fatalf("exit %d stderr %q", code, stderr.String())
	}
}
