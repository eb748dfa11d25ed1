package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/internal/providers"
	"github.com/acsbridge/acsbridge/origo/origosim"
)

// --issuer origo pairs Origo with the door ACS of --provider: ping checks
// both, provision issues a mobile ID (the simulated phone accepts at once)
// and provisions its card at Security Center, revoke takes it back; the
// Origo client secret, from ACS_ORIGO_CLIENT_SECRET, is printed nowhere.
func TestIssuerOrigo(t *testing.T) {
	door := providers.Genetec.Simulate(providers.SimOptions{})
	dsrv := httptest.NewServer(door.Handler)
	defer dsrv.Close()
	osim := providers.Origo.Simulate(providers.SimOptions{})
	osrv := httptest.NewServer(osim.Handler)
	defer osrv.Close()
	env := map[string]string{"ACS_PROVIDER": "genetec", "ACS_ISSUER": "origo"}
	for _, c := range []providers.Config{providers.Genetec.SimConfig(dsrv.URL), providers.Origo.SimConfig(osrv.URL)} {
		for s, v := range c {
			env[s.Env()] = v
		}
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cmd := func(args ...string) (string, string, int) {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), append([]string{"-o", "json"}, args...), &stdout, &stderr, lookup)
		if strings.Contains(stdout.String()+stderr.String(), origosim.DefaultClientSecret) {
			t.Fatalf("%v printed the Origo client secret", args)
		}
		return stdout.String(), stderr.String(), code
	}
	if out, errs, code := cmd("ping"); code != 0 || !strings.Contains(out, `"provider":"origo"`) {
		t.Fatalf("ping: %d %s %s", code, out, errs)
	}
	out, errs, code := cmd("provision", "--first-name", "Ada", "--last-name", "Lovelace", "--email", "ada@example.com",
		"--external-id", "cli-visit-1", "--facility-code", "1", "--card-number", "1",
		"--access-level", door.Levels[0], "--valid-from", time.Now().Add(-time.Minute).UTC().Format(time.RFC3339),
		"--valid-until", time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	if code != 0 {
		t.Fatalf("provision: %d %s", code, errs)
	}
	var p struct{ CardholderID, CredentialID string }
	if err := json.Unmarshal([]byte(strings.ReplaceAll(strings.ReplaceAll(out, "cardholder_id", "CardholderID"), "credential_id", "CredentialID")), &p); err != nil ||
		!strings.HasPrefix(p.CredentialID, "origo:") {
		t.Fatalf("provision printed %s (%v)", out, err)
	}
	if u, ok := osim.Server.(*origosim.Server).User("cli-visit-1"); !ok || u.Credentials[0].CardNumber != origosim.FirstCardNumber {
		t.Fatalf("Origo user %+v", u)
	}
	if _, errs, code := cmd("revoke", "--credential-id", p.CredentialID, "--cardholder-id", p.CardholderID); code != 0 {
		t.Fatalf("revoke: %d %s", code, errs)
	}
	if _, ok := osim.Server.(*origosim.Server).User("cli-visit-1"); ok {
		t.Fatal("the Origo user outlived the revoke")
	}
	env["ACS_ISSUER"] = "acme"
	if _, errs, code := cmd("ping"); code != 2 || !strings.Contains(errs, "--issuer") {
		t.Fatalf("unknown issuer: %d %s", code, errs)
	}
	env["ACS_ISSUER"] = "origo"
	delete(env, providers.OrigoClientSecret.Env())
	if _, errs, code := cmd("ping"); code != 2 || !strings.Contains(errs, "--origo-client-secret (or ACS_ORIGO_CLIENT_SECRET)") {
		t.Fatalf("no secret: %d %s", code, errs)
	}
}

// `acsctl simulate origo` serves the Origo simulator and prints the
// settings that reach it.
func TestSimulateOrigo(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	w := &firstLine{done: make(chan struct{})}
	var stderr bytes.Buffer
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"simulate", "origo"}, w, &stderr, func(string) (string, bool) { return "", false })
	}()
	select {
	case <-w.done:
	case code := <-exited:
		t.Fatalf("simulate exited %d: %s", code, stderr.String())
	}
	var info map[string]string
	if err := json.Unmarshal(w.bytes(), &info); err != nil {
		t.Fatal(err)
	}
	cancel()
	if code := <-exited; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if info["provider"] != "origo" || !strings.HasPrefix(info["origo_url"], "http://127.0.0.1:") ||
		info["origo_org"] != origosim.DefaultOrganizationID || info["origo_client_secret"] == "" {
		t.Fatalf("first line %v", info)
	}
}

// firstLine is a writer that signals its first write.
type firstLine struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
	once sync.Once
}

func (f *firstLine) Write(p []byte) (int, error) {
	f.mu.Lock()
	n, err := f.buf.Write(p)
	f.mu.Unlock()
	f.once.Do(func() { close(f.done) })
	return n, err
}

func (f *firstLine) bytes() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return bytes.Clone(f.buf.Bytes())
}
