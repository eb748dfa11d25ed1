package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/internal/providers"
)

// built is the acsctl binary the tests run, compiled once per test
// binary run (see TestMain).
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// buildACSCtl compiles the command once per test binary run.
func buildACSCtl(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "acsctl-test-"); built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "acsctl")
		out, err := exec.Command("go", "build", "-o", built.path, ".").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
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
		t.Run(entry.Name, func(t *testing.T) {
			s := newSimSession(t, bin, entry)
			levelID, levelName := s.pingAndSync()
			p1 := s.provision(levelID, levelName)
			s.revoke(p1["credential_id"].(string), p1["cardholder_id"].(string))
			s.wrongSecret()
		})
	}
}

// simSession runs the binary against one provider's simulator, with every
// setting in the environment, and checks that no output holds a secret.
type simSession struct {
	t        *testing.T
	bin      string
	entry    *providers.Provider
	env      []string
	secrets  []string
	provider string
}

// newSimSession starts the provider's simulator with `acsctl simulate`.
func newSimSession(t *testing.T, bin string, entry *providers.Provider) *simSession {
	s := &simSession{t: t, bin: bin, entry: entry, provider: entry.Name}
	info := startSimulator(t, bin, entry.Name)
	// The first line names every setting the provider requires.
	for _, n := range entry.Settings {
		if n.Required && info[n.Setting.Key()] == "" {
			t.Errorf("simulate printed no %s", n.Setting.Key())
		}
	}
	for _, set := range providers.Settings() {
		if set.Secret() && info[set.Key()] != "" {
			s.secrets = append(s.secrets, info[set.Key()])
		}
	}
	if len(s.secrets) == 0 {
		t.Fatal("the simulator's configuration holds no secret to look for")
	}
	// Everything through the environment, as ACS_<FLAG>.
	for k, v := range info {
		s.env = append(s.env, "ACS_"+strings.ToUpper(k)+"="+v)
	}
	return s
}

// run runs the binary and fails the test when it printed a secret.
func (s *simSession) run(args ...string) result {
	s.t.Helper()
	r := runBin(s.t, s.bin, s.env, args...)
	for _, secret := range s.secrets {
		if strings.Contains(r.stdout, secret) || strings.Contains(r.stderr, secret) {
			s.t.Errorf("%v printed a secret", args)
		}
	}
	return r
}

// pingAndSync checks ping and sync and returns the first access level.
func (s *simSession) pingAndSync() (id, name string) {
	t := s.t
	if m := decode(t, s.run("-o", "json", "ping"), "ping"); keys(m) != "ok,provider" || m["ok"] != true || m["provider"] != s.provider {
		t.Errorf("ping JSON %v", m)
	}
	m := decode(t, s.run("--output=json", "sync"), "sync")
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
	return level["id"].(string), level["name"].(string)
}

// provision provisions the level by its name, then again by its ID, and
// returns the first answer.
func (s *simSession) provision(levelID, levelName string) map[string]any {
	t := s.t
	// A window from a minute ago to eight hours from now.
	now := time.Now().UTC().Truncate(time.Second)
	from, until := now.Add(-time.Minute).Format(time.RFC3339), now.Add(8*time.Hour).Format(time.RFC3339)
	args := []string{"-o", "json", "provision", "--first-name", "Ada", "--last-name", "Lovelace",
		"--email", "ada@example.com", "--external-id", "cli-visit-1", "--facility-code", "1", "--card-number", "200",
		"--format", "h10301", "--valid-from", from, "--valid-until", until, "--access-level", levelName}
	p1 := decode(t, s.run(args...), "provision")
	if keys(p1) != "access_levels,cardholder_id,credential_id,valid_from,valid_until" || p1["credential_id"] == "" ||
		p1["valid_from"] != from || p1["valid_until"] != until || fmt.Sprint(p1["access_levels"]) != "["+levelID+"]" {
		t.Fatalf("provision JSON %v (level %s)", p1, levelID)
	}
	// The same external ID again, the level by its ID: the same
	// references, nothing new.
	args[len(args)-1] = levelID
	p2 := decode(t, s.run(args...), "provision again")
	if p2["cardholder_id"] != p1["cardholder_id"] || p2["credential_id"] != p1["credential_id"] {
		t.Errorf("re-provision gave %v, first gave %v", p2, p1)
	}
	return p1
}

// revoke takes back the credential ID provision printed; acsctl finds its
// cardholder. Again, there is nothing to revoke: the ACS keeps it revoked
// or has deleted it. An ID the ACS never issued is nothing to revoke
// either.
func (s *simSession) revoke(credID, holderID string) {
	t := s.t
	m := decode(t, s.run("-o", "json", "revoke", "--credential-id", credID), "revoke")
	if keys(m) != "cardholder_id,credential_id,outcome,revoked" || m["revoked"] != true ||
		m["outcome"] != "revoked" || m["credential_id"] != credID || m["cardholder_id"] != holderID {
		t.Errorf("revoke JSON %v", m)
	}
	m = decode(t, s.run("-o", "json", "revoke", "--credential-id", credID, "--cardholder-id", holderID), "revoke again")
	if m["revoked"] != false || (m["outcome"] != "already_revoked" && m["outcome"] != "not_found") {
		t.Errorf("revoke again JSON %v", m)
	}
	r := s.run("revoke", "--credential-id", "999999999")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "nothing to revoke: "+s.provider+" holds no credential 999999999") {
		t.Errorf("revoke of an unknown ID: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

// wrongSecret: non-zero exit, one line, no secret. The command line wins
// over the environment.
func (s *simSession) wrongSecret() {
	flag := "--password"
	if !s.entry.Uses(providers.Password) {
		flag = "--api-key"
	}
	r := s.run(flag, "Wrong-Pa55-zzz", "ping")
	if r.code == 0 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || strings.Contains(r.stderr, "Wrong-Pa55-zzz") {
		s.t.Errorf("bad %s: exit %d stderr %q", flag, r.code, r.stderr)
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
		{[]string{"--provider", "lenel", "ping"}, "lenel needs --url (or ACS_URL), --username (or ACS_USERNAME), --password (or ACS_PASSWORD) and --app-id (or ACS_APP_ID)"},
		{[]string{"--provider", "acme", "ping"}, "unknown --provider"},
		{[]string{"provision", "--first-name", "A"}, "provision"},
		{[]string{"--provider", "alta", "--username", "a@example.com", "--password", "p", "ping"}, "alta needs --org-id (or ACS_ORG_ID) (see acsctl help providers)"},
		{[]string{"--provider", "alta", "--username", "a@example.com", "--password", "p", "--org-id", "x1", "ping"}, "--org-id must be"},
		{[]string{"--provider", "verkada", "ping"}, "verkada needs --api-key (or ACS_API_KEY)"},
		{[]string{"--provider", "brivo", "--client-id", "c", "--username", "u", "ping"},
			"brivo needs --client-secret (or ACS_CLIENT_SECRET), --api-key (or ACS_API_KEY) and --password (or ACS_PASSWORD) (see acsctl help providers)"},
		{[]string{"--provider", "verkada", "revoke"}, "--credential-id is required"},
		{[]string{"--provider", "netbox", "ping"}, "netbox needs --url (or ACS_URL)"},
		{[]string{"--provider", "netbox", "--url", "http://127.0.0.1:1/nbws/goforms/nbapi", "--username", "u", "--password", "p",
			"--time-zone", "Mars/Olympus_Mons", "ping"}, "--time-zone must be an IANA time zone"},
		{[]string{"simulate", "acme"}, "want genetec, lenel, brivo, alta, verkada or netbox"},
		{[]string{"completion", "fish"}, "want bash or zsh"},
		{[]string{"help", "frobnicate"}, "help: no command"},
		{[]string{"wiegand", "encode", "--format", "h10301", "--card-number", "1"}, "--facility-code is required for h10301 (see acsctl help wiegand encode)"},
	} {
		stdout.Reset()
		stderr.Reset()
		code := run(t.Context(), c.args, &stdout, &stderr, env)
		if code != 2 || !strings.HasPrefix(stderr.String(), "acsctl: ") || !strings.Contains(stderr.String(), c.want) ||
			strings.Count(stderr.String(), "\n") != 1 {
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
	// Plain http to a remote host is refused before any connection, and
	// the message names the flag that allows it.
	code := run(t.Context(), []string{"ping"}, &stdout, &stderr, lookup)
	if code != 2 || !strings.Contains(stderr.String(), "--allow-insecure-http") || !strings.Contains(stderr.String(), "acs.example.com") ||
		strings.Contains(stderr.String(), "Env-Secret-123") {
		t.Fatalf("exit %d stderr %q", code, stderr.String())
	}

	// A secret long enough to be told apart from ordinary text is
	// redacted wherever it appears; a short one is left alone rather than
	// replaced in every word that contains it.
	for _, c := range []struct{ secret, want, not string }{
		{"Long-Secret-123", `not "[REDACTED]"`, "Long-Secret-123"},
		{"e", `--output must be text or json, not "e"`, "[REDACTED]"},
	} {
		stderr.Reset()
		code := run(t.Context(), []string{"--password", c.secret, "-o", c.secret, "ping"}, &stdout, &stderr, lookup)
		if code != 2 || !strings.Contains(stderr.String(), c.want) || strings.Contains(stderr.String(), c.not) {
			t.Errorf("secret %q: exit %d stderr %q", c.secret, code, stderr.String())
		}
	}
}

// Plain http is refused before anything is built when the host is not
// loopback, naming the flag that allows it; https, loopback hosts and the
// flag pass. Building an adapter sends no request.
func TestPlainHTTPRefusedNamingTheFlag(t *testing.T) {
	for _, c := range []struct {
		url, authURL string
		allow        bool
		refused      string // the setting named, when refused
	}{
		{url: "http://acs.example.com/v1/api", refused: "--url: plain http to acs.example.com"},
		{url: "https://acs.example.com/v1/api", authURL: "http://10.1.2.3", refused: "--auth-url: plain http to 10.1.2.3"},
		{url: "http://acs.example.com/v1/api", allow: true},
		{url: "https://acs.example.com/v1/api", authURL: "https://auth.example.com"},
		{url: "http://127.0.0.1:8080/v1/api", authURL: "http://localhost:8080"},
		{url: "http://[::1]:8080/v1/api"},
	} {
		a := &app{}
		a.g.provider, a.g.allowInsecureHTTP = "brivo", c.allow
		a.g.settings = providers.Config{providers.URL: c.url, providers.AuthURL: c.authURL, providers.ClientID: "c",
			providers.ClientSecret: "s", providers.APIKey: "k", providers.Username: "u", providers.Password: "p"}
		p, err := a.newProvider()
		switch {
		case c.refused != "":
			if err == nil || !strings.Contains(err.Error(), c.refused) || !strings.Contains(err.Error(), "--allow-insecure-http") {
				t.Errorf("%s %s: %v, want a refusal naming %q and --allow-insecure-http", c.url, c.authURL, err, c.refused)
			}
		case err != nil:
			t.Errorf("%s %s (allowed %v): %v", c.url, c.authURL, c.allow, err)
		default:
			closeProvider(p)
		}
	}
}
