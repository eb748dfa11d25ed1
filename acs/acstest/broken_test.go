package acstest_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
)

// mistakes are deliberately broken providers over a Memory backend, each
// with the rule that must catch it.
var mistakes = []struct {
	name, rule string
	wrap       func(m *acstest.Memory) acs.Provider
}{
	{"leaves the cardholder behind after a conflict", "CardHeldByAnother", func(m *acstest.Memory) acs.Provider { return &conflictLeftovers{Memory: m} }},
	{"revoke fails once the cardholder was removed", "RevokeAfterRemove", func(m *acstest.Memory) acs.Provider { return &revokeNeedsHolder{Memory: m, removed: map[string]bool{}} }},
	{"re-provision keeps dropped levels", "ReprovisionMakesItExactlyTheGrant", func(m *acstest.Memory) acs.Provider { return &addsLevels{Memory: m, had: map[string][]string{}} }},
	{"unknown level answered InvalidArgument", "UnknownAccessLevel", func(m *acstest.Memory) acs.Provider { return unknownIsInvalid{m} }},
	{"window stored five minutes too long", "ProvisionGrantsAccess", func(m *acstest.Memory) acs.Provider { return longWindow{m} }},
	{"declared format not provisionable", "EveryDeclaredFormat", func(m *acstest.Memory) acs.Provider { return refusesH10306{m} }},
	{"resume repeats the cursor's event", "EventsResume", func(m *acstest.Memory) acs.Provider { return repeatsCursor{m} }},
	{"mobile pass not idempotent", "MobilePass", func(m *acstest.Memory) acs.Provider { return &freshPasses{Memory: m} }},
	{"inventory reports a revoked card active", "Inventory", func(m *acstest.Memory) acs.Provider { return allActive{m} }},
}

func TestKitCatchesEachMistake(t *testing.T) {
	for _, c := range mistakes {
		t.Run(c.name, func(t *testing.T) {
			err := acstest.Verify(t.Context(), func() (acstest.Harness, error) {
				h := acstest.MemoryHarness()
				return brokenHarness{h, c.wrap(h.Provider().(*acstest.Memory))}, nil
			})
			if err == nil {
				t.Fatal("the kit passed it")
			}
			if !strings.Contains(err.Error(), `rule "`+c.rule+`" violated`) || !strings.Contains(err.Error(), "likely fix: ") {
				t.Fatalf("the report does not name rule %s with a likely fix:\n%v", c.rule, err)
			}
		})
	}
}

func TestHungRuleFailsAlone(t *testing.T) {
	start := time.Now()
	err := acstest.Verify(t.Context(), func() (acstest.Harness, error) {
		h := acstest.MemoryHarness()
		return brokenHarness{h, hangingPing{h.Provider().(*acstest.Memory)}}, nil
	}, acstest.WithRuleTimeout(300*time.Millisecond))
	if err == nil || !strings.Contains(err.Error(), `rule "Ping" violated`) || !strings.Contains(err.Error(), "after its deadline") {
		t.Fatalf("a provider that hangs in Ping: %v", err)
	}
	// Ping hangs, and CancelledContext calls Ping too; every other rule
	// still runs and passes.
	if strings.Count(err.Error(), "violated") != 2 || !strings.Contains(err.Error(), `rule "CancelledContext" violated`) {
		t.Fatalf("only the rules calling Ping may fail; the kit must go on:\n%v", err)
	}
	t.Logf("the whole kit took %s with one hung rule", time.Since(start).Round(time.Millisecond))
}

type conflictLeftovers struct{ *acstest.Memory }

func (p *conflictLeftovers) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	got, err := p.Memory.Provision(ctx, g)
	if acs.CodeOf(err) == acs.Conflict {
		// The cardholder was "created" before the card was refused.
		stray := g
		stray.Card.Number = 60000
		_, _ = p.Memory.Provision(ctx, stray)
	}
	return got, err
}

type revokeNeedsHolder struct {
	*acstest.Memory
	mu      sync.Mutex
	removed map[string]bool
}

func (p *revokeNeedsHolder) RemoveCardholder(ctx context.Context, ref acs.CardholderRef) error {
	p.mu.Lock()
	p.removed[ref.ID] = true
	p.mu.Unlock()
	return p.Memory.RemoveCardholder(ctx, ref)
}

func (p *revokeNeedsHolder) Revoke(ctx context.Context, ref acs.CredentialRef) error {
	p.mu.Lock()
	gone := p.removed[ref.CardholderID]
	p.mu.Unlock()
	if gone {
		return acs.Errorf("revoke", "broken", acs.NotFound, "cardholder %s not found", ref.CardholderID)
	}
	return p.Memory.Revoke(ctx, ref)
}

type addsLevels struct {
	*acstest.Memory
	mu  sync.Mutex
	had map[string][]string
}

func (p *addsLevels) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	p.mu.Lock()
	for _, l := range p.had[g.Person.ExternalID] {
		if !strings.Contains(strings.Join(g.AccessLevels, "\x00"), l) {
			g.AccessLevels = append(g.AccessLevels, l)
		}
	}
	p.had[g.Person.ExternalID] = g.AccessLevels
	p.mu.Unlock()
	return p.Memory.Provision(ctx, g)
}

type unknownIsInvalid struct{ *acstest.Memory }

func (p unknownIsInvalid) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	got, err := p.Memory.Provision(ctx, g)
	if acs.CodeOf(err) == acs.NotFound {
		return got, acs.Errorf("provision", "broken", acs.InvalidArgument, "bad level")
	}
	return got, err
}

type longWindow struct{ *acstest.Memory }

func (p longWindow) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	if err := acs.ValidateGrant(g, acs.Rules{}); err != nil {
		return acs.Provisioned{}, acs.Wrap("provision", "broken", acs.InvalidArgument, err)
	}
	g.ValidUntil = g.ValidUntil.Add(5 * time.Minute)
	return p.Memory.Provision(ctx, g)
}

type refusesH10306 struct{ *acstest.Memory }

func (p refusesH10306) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	if g.Card.Format == acs.H10306 {
		return acs.Provisioned{}, acs.Errorf("provision", "broken", acs.InvalidArgument, "cannot encode H10306")
	}
	return p.Memory.Provision(ctx, g)
}

type repeatsCursor struct{ *acstest.Memory }

func (p repeatsCursor) Events(ctx context.Context, cursor string, fn func(acs.DoorEvent) error) error {
	if n, err := strconv.Atoi(cursor); err == nil && n > 0 {
		cursor = strconv.Itoa(n - 1) // off by one: the cursor's own event again
	}
	return p.Memory.Events(ctx, cursor, fn)
}

type freshPasses struct {
	*acstest.Memory
	mu sync.Mutex
	n  int
}

func (p *freshPasses) IssueMobilePass(ctx context.Context, ref acs.CardholderRef, email string, until time.Time) (acs.MobilePass, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	return acs.MobilePass{ID: "pass-" + strconv.Itoa(p.n)}, nil
}

type allActive struct{ *acstest.Memory }

func (p allActive) Holdings(ctx context.Context, fn func(acs.Holding) error) error {
	return p.Memory.Holdings(ctx, func(h acs.Holding) error {
		for i := range h.Credentials {
			h.Credentials[i].Active = true
		}
		return fn(h)
	})
}

type hangingPing struct{ *acstest.Memory }

func (hangingPing) Ping(context.Context) error { select {} }
