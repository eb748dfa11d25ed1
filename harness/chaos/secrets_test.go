package chaos_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/harness/chaos"
	"github.com/acsbridge/acsbridge/internal/testutil"
	"github.com/acsbridge/acsbridge/visitor"
)

// haystack collects every text an operation could leak a secret into:
// error strings, panic values, log lines, request URLs, the audit trail.
type haystack struct {
	mu     sync.Mutex
	texts  []string
	calls  int
	fails  int
	panics []string
}

func (h *haystack) add(where, text string) {
	h.mu.Lock()
	h.texts = append(h.texts, where+": "+text)
	h.mu.Unlock()
}

// call runs fn, recording its error in every format and any panic.
func (h *haystack) call(where string, fn func() error) {
	h.mu.Lock()
	h.calls++
	h.mu.Unlock()
	defer func() {
		if v := recover(); v != nil {
			h.mu.Lock()
			h.panics = append(h.panics, fmt.Sprintf("%s: %v", where, v))
			h.mu.Unlock()
			h.add(where+" panic", fmt.Sprint(v))
		}
	}()
	err := fn()
	if err == nil {
		return
	}
	h.mu.Lock()
	h.fails++
	h.mu.Unlock()
	h.add(where, err.Error())
	h.add(where+" %+v", fmt.Sprintf("%+v", err))
	h.add(where+" %#v", fmt.Sprintf("%#v", err))
	for e := err; e != nil; e = errors.Unwrap(e) {
		h.add(where+" cause", e.Error())
	}
	var ae *acs.Error
	if errors.As(err, &ae) {
		h.add(where+" message", ae.Message)
		if ae.Err != nil {
			h.add(where+" cause %#v", fmt.Sprintf("%#v", ae.Err))
		}
	}
}

// TestNoSecretsLeak configures distinctive passwords, keys and tokens for
// every adapter (at the Origo site: Origo's client secret, the secret
// that authenticates its callbacks, and the door's credentials) and runs
// every operation, failed ones included (injected faults, wrong
// credentials, invalid input, cancelled contexts, an unreachable server),
// with debug logging of the adapters and the Engine captured, while
// Origo's simulated phones accept invitations and its callbacks arrive.
// No secret, nor its Basic or percent-encoded form, may appear in a log
// line, an error, a panic, a request URL seen by the simulators, the audit
// trail or the outbox.
func TestNoSecretsLeak(t *testing.T) {
	ctx := context.Background()
	logs := &testutil.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnv(t, envConfig{seed: 5, logger: logger, badges: 20})
	for _, in := range e.sims.Injectors() {
		in.RecordURLs(true)
	}
	h := &haystack{}

	// Lifecycles through the Engine with 30% of requests failing.
	e.sims.SetFaultRate(0.3)
	for _, err := range e.driver.RunAll(ctx, 0, 60, 6) {
		h.add("lifecycle", err.Error())
	}

	// Every provider operation, with faults, on valid and invalid input.
	for i, p := range e.providers {
		site := e.sims.Sites[i]
		providerCalls(ctx, h, p, site, e.clock.Now(), 8)
	}
	if _, err := chaos.Drain(ctx, e.engine, e.clock, 10000); err != nil {
		h.add("drain", err.Error())
	}
	e.sims.SetFaultRate(0)

	// Wrong credentials (distinctive, and secrets too), a cancelled
	// context, an unreachable server.
	wrong := chaos.DistinctSecrets()
	wrongSecrets := chaos.SecretForms(wrong)
	for _, s := range e.sims.Sites {
		p, err := chaos.NewSiteProvider(s.Info(), chaos.ProviderConfig{Clock: e.clock.Now, Secrets: wrong, Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		providerCalls(ctx, h, p, s, e.clock.Now(), 2)
		chaos.CloseProviders([]acs.Provider{p})
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for i, p := range e.providers {
		providerCalls(cancelled, h, p, e.sims.Sites[i], e.clock.Now(), 1)
	}
	dead := deadURL(t)
	for _, kind := range chaos.SiteKinds {
		sec := chaos.DistinctSecrets()
		for k, v := range chaos.SecretForms(sec) {
			wrongSecrets["unreachable "+k] = v
		}
		p, err := chaos.NewProvider(kind, dead, chaos.ProviderConfig{Clock: e.clock.Now, Secrets: sec, Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		providerCalls(ctx, h, p, e.sims.Site(kind), e.clock.Now(), 1)
		chaos.CloseProviders([]acs.Provider{p})
	}

	// What the Engine stored: the audit trail, the outbox, the visits.
	recs, err := e.engine.Audit(ctx, visitor.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(recs)
	h.add("audit trail", string(raw))
	items, _ := e.engine.Outbox(ctx, "")
	raw, _ = json.Marshal(items)
	h.add("outbox", string(raw))
	visits, _ := e.engine.Visits(ctx, visitor.VisitFilter{})
	raw, _ = json.Marshal(visits)
	h.add("visits", string(raw))
	h.add("logs", logs.String())
	urls := 0
	for _, s := range e.sims.Sites {
		for _, in := range s.Injectors() {
			for _, u := range in.URLs() {
				h.add(s.Kind+" request URL", u)
				urls++
			}
		}
	}

	secrets := e.sims.Secrets()
	delivered := origoSecretsUsed(t, secrets, e.sims)
	for k, v := range wrongSecrets {
		secrets["wrong "+k] = v
	}
	leaks := 0
	appIDKnown := lenelAppIDLeak() != ""
	for name, secret := range secrets {
		if len(secret) < 8 {
			t.Fatalf("secret %s is too short to search for", name)
		}
		for _, text := range h.texts {
			if i := strings.Index(text, secret); i >= 0 {
				// Show where, never the secret itself.
				ctxText := strings.ReplaceAll(text[max(0, i-120):min(len(text), i+len(secret)+60)], secret, "<"+name+">")
				if appIDKnown && strings.HasSuffix(name, "lenel application ID") {
					t.Logf("known issue (see TestLenelApplicationIDRedacted): %s appears in %s", name, ctxText)
					break
				}
				leaks++
				t.Errorf("%s leaked into %s", name, ctxText)
				break
			}
		}
	}
	for _, p := range h.panics {
		t.Errorf("panic: %s", p)
	}
	faults := e.faultStats()
	t.Logf("%d calls (%d failed), %d log bytes, %d request URLs, %d audit records searched for %d secrets (%d of them tokens issued during the run); %d faults injected; %d Origo callbacks accepted; %d leaks",
		h.calls, h.fails, len(logs.String()), urls, len(recs), len(secrets), countPrefix(secrets, "issued token"), faults.Injected(), delivered, leaks)
	if h.fails == 0 || len(logs.String()) == 0 || urls == 0 || countPrefix(secrets, "issued token") == 0 {
		t.Error("the search covered nothing: no failure, no log line, no URL or no token")
	}
}

// origoSecretsUsed checks that the search covers Origo's client secret
// and callback secret and that callbacks carried the latter, and returns
// how many Origo's receivers accepted.
func origoSecretsUsed(t *testing.T, secrets map[string]string, sims *chaos.Sims) int {
	t.Helper()
	for _, name := range []string{"origo Origo client secret", "origo callback secret"} {
		if secrets[name] == "" {
			t.Errorf("the search misses the %s", name)
		}
	}
	delivered := 0
	for _, d := range sims.Origo.Deliveries() {
		if d.Status == 200 {
			delivered++
		}
	}
	if delivered == 0 {
		t.Error("no Origo callback was accepted: the callback secret was never used")
	}
	return delivered
}

func countPrefix(m map[string]string, prefix string) int {
	n := 0
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// deadURL returns the origin of a loopback port nothing listens on.
func deadURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// providerCalls runs every operation of p rounds times, recording the
// outcomes in h: pings, listings, provisions (valid, invalid, for unknown
// levels), revocations by ID and by card, removals, and the optional
// capabilities.
func providerCalls(ctx context.Context, h *haystack, p acs.Provider, site *chaos.Site, now time.Time, rounds int) {
	name := p.Name()
	for r := range rounds {
		ext := fmt.Sprintf("secret-%s-%d-%d", name, r, now.UnixNano()%100000)
		card := acs.Card{Format: acs.H10301, Facility: 200, Number: uint64(60000 + r)}
		g := acs.Grant{
			Person:       acs.Person{ExternalID: ext, FirstName: "Pat", LastName: "Secretary", Email: "pat@example.com"},
			Card:         card,
			AccessLevels: site.Levels[:1],
			ValidFrom:    now, ValidUntil: now.Add(time.Hour),
		}
		h.call(name+" ping", func() error { return p.Ping(ctx) })
		h.call(name+" access levels", func() error { _, err := p.AccessLevels(ctx); return err })
		h.call(name+" formats", func() error { _, err := p.CredentialFormats(ctx); return err })
		var prov acs.Provisioned
		h.call(name+" provision", func() (err error) { prov, err = p.Provision(ctx, g); return err })
		bad := g
		bad.AccessLevels = []string{"999999"}
		h.call(name+" provision unknown level", func() error { _, err := p.Provision(ctx, bad); return err })
		bad = g
		bad.Person.FirstName = "Eve\x00" + strings.Repeat("x", 200)
		h.call(name+" provision invalid", func() error { _, err := p.Provision(ctx, bad); return err })
		if mp, ok := p.(acs.MobilePassIssuer); ok {
			h.call(name+" mobile pass", func() error {
				_, err := mp.IssueMobilePass(ctx, prov.Cardholder, "pat@example.com", now.Add(time.Hour))
				return err
			})
		}
		if es, ok := p.(acs.EventSource); ok {
			h.call(name+" events", func() error {
				ectx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
				defer cancel()
				return es.Events(ectx, "", func(acs.DoorEvent) error { return errors.New("enough") })
			})
		}
		h.call(name+" revoke", func() error { return p.Revoke(ctx, prov.Credential) })
		h.call(name+" revoke by card", func() error {
			return p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: ext, Card: card})
		})
		h.call(name+" remove", func() error { return p.RemoveCardholder(ctx, acs.CardholderRef{ExternalID: ext}) })
	}
}
