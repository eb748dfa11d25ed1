package acstest_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
)

func TestMemoryConforms(t *testing.T) {
	acstest.Run(t, func(*testing.T) acstest.Harness { return acstest.MemoryHarness() })
}

// forgetfulRevoke is a deliberately broken provider: Revoke answers success
// without doing anything.
type forgetfulRevoke struct{ *acstest.Memory }

func (forgetfulRevoke) Revoke(context.Context, acs.CredentialRef) error { return nil }

// brokenHarness serves a broken provider over a Memory backend.
type brokenHarness struct {
	acstest.Harness
	p acs.Provider
}

func (b brokenHarness) Provider() acs.Provider { return b.p }

// Swipe forwards to the Memory harness, so the event rules run.
func (b brokenHarness) Swipe(ctx context.Context, card acs.Card, level string) error {
	return b.Harness.(acstest.SwipeHarness).Swipe(ctx, card, level)
}

func TestKitCatchesBrokenProvider(t *testing.T) {
	err := acstest.Verify(t.Context(), func() (acstest.Harness, error) {
		h := acstest.MemoryHarness()
		return brokenHarness{h, forgetfulRevoke{h.Provider().(*acstest.Memory)}}, nil
	})
	if err == nil {
		t.Fatal("kit passed a provider whose Revoke does nothing")
	}
	msg := err.Error()
	t.Logf("kit report:\n%s", msg)
	for _, want := range []string{
		`rule "RevokeDeactivates" violated: revoke makes the credential inactive for every access level`,
		`rule "RevokeTwice" violated`,
		`rule "RevokeByExternalID" violated`,
		"opens level",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(msg, "ProvisionGrantsAccess") {
		t.Errorf("report blames a rule the provider keeps")
	}
}

// ignoresValidation provisions whatever it is given.
type ignoresValidation struct{ *acstest.Memory }

func (p ignoresValidation) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	if g.Person.FirstName == "" && g.Person.LastName == "" {
		return acs.Provisioned{Created: true}, nil
	}
	return p.Memory.Provision(ctx, g)
}

func TestKitCatchesMissingValidation(t *testing.T) {
	err := acstest.Verify(t.Context(), func() (acstest.Harness, error) {
		h := acstest.MemoryHarness()
		return brokenHarness{h, ignoresValidation{h.Provider().(*acstest.Memory)}}, nil
	})
	if err == nil || !strings.Contains(err.Error(), "no names: accepted") {
		t.Fatalf("kit did not report the accepted nameless grant: %v", err)
	}
}

func TestRulesListed(t *testing.T) {
	rules := acstest.Rules()
	if len(rules) < 10 {
		t.Fatalf("only %d rules", len(rules))
	}
	for _, r := range rules {
		if !strings.Contains(r, ": ") {
			t.Errorf("rule %q has no statement", r)
		}
	}
}

func TestRulesDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range acstest.Rules() {
		name, _, _ := strings.Cut(r, ":")
		if !strings.Contains(string(doc), "//\t"+name+" ") && !strings.Contains(string(doc), "//\t"+name+"\n") {
			t.Errorf("rule %s is not in the package documentation", name)
		}
	}
}

// OpensWithPIN forwards to the Memory harness, so the PIN rules run.
func (b brokenHarness) OpensWithPIN(ctx context.Context, pin acs.PIN, level string, at time.Time) (bool, error) {
	return b.Harness.(acstest.PINHarness).OpensWithPIN(ctx, pin, level, at)
}

// forgetfulPINs answers success to RevokePIN without doing anything, and
// quotes the PIN in the error of a grant with an unknown level.
type forgetfulPINs struct{ *acstest.Memory }

func (forgetfulPINs) RevokePIN(context.Context, acs.CredentialRef) error { return nil }

func (p forgetfulPINs) ProvisionPIN(ctx context.Context, g acs.PINGrant) (acs.Provisioned, error) {
	pr, err := p.Memory.ProvisionPIN(ctx, g)
	if acs.CodeOf(err) == acs.NotFound {
		return pr, acs.Errorf("provision_pin", "memory", acs.NotFound, "no such level for PIN %s", g.PIN.Reveal())
	}
	return pr, err
}

func TestKitCatchesBrokenPINIssuer(t *testing.T) {
	err := acstest.Verify(t.Context(), func() (acstest.Harness, error) {
		h := acstest.MemoryHarness()
		return brokenHarness{h, forgetfulPINs{h.Provider().(*acstest.Memory)}}, nil
	})
	if err == nil {
		t.Fatal("kit passed a provider whose RevokePIN does nothing")
	}
	msg := err.Error()
	t.Logf("kit report:\n%s", msg)
	for _, want := range []string{
		`rule "PINRevoke" violated`,
		`rule "PINCancelledContext" violated`,
		`rule "PINInvalidChangesNothing" violated`,
		"unknown access level: the error quotes the PIN's digits",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(msg, "PINProvisionOpens") || strings.Contains(msg, "RevokeDeactivates") {
		t.Errorf("report blames a rule the provider keeps")
	}
}

// A provider with PINs whose harness cannot tell whether a PIN opens a
// door fails the PIN rules instead of skipping them.
func TestKitNeedsPINOracle(t *testing.T) {
	err := acstest.Verify(t.Context(), func() (acstest.Harness, error) {
		return noPINOracle{acstest.MemoryHarness()}, nil
	})
	if err == nil || !strings.Contains(err.Error(), "no PIN oracle") {
		t.Fatalf("kit: %v", err)
	}
}

type noPINOracle struct{ acstest.Harness }
