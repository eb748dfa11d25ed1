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
	for _, provider := range []string{"genetec", "lenel", "brivo"} {
		t.Run(provider, func(t *testing.T) {
			info := startSimulator(t, bin, provider)
			secrets := []string{info["password"], info["client_secret"], info["api_key"]}
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

			credID := p1["credential_id"].(string)
			for i := 1; i <= 2; i++ {
				r = runBin(t, bin, env, "-o", "json", "revoke", "--credential-id", credID)
				check(r, "revoke")
				if m := decode(t, r, "revoke"); keys(m) != "credential_id,revoked" || m["revoked"] != true || m["credential_id"] != credID {
					t.Errorf("revoke #%d JSON %v", i, m)
				}
			}

			// A wrong password: non-zero exit, one line, no secret. The
			// command line wins over the environment.
			r = runBin(t, bin, env, "--password", "Wrong-Pa55-zzz", "ping")
			if r.code == 0 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || strings.Contains(r.stderr, "Wrong-Pa55-zzz") {
				t.Errorf("bad password: exit %d stderr %q", r.code, r.stderr)
			}
			check(r, "bad password")
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
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"-o", "yaml", "ping"},
		{"ping"}, // no provider
		{"--provider", "lenel", "ping"},
		{"--provider", "acme", "ping"},
		{"provision", "--first-name", "A"},
	} {
		stdout.Reset()
		stderr.Reset()
		if code := run(t.Context(), args, &stdout, &stderr, env); code == 0 || !strings.HasPrefix(stderr.String(), "acsctl: ") {
			t.Errorf("%v: exit %d stderr %q", args, code, stderr.String())
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
