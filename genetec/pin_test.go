package genetec_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
)

func pinGrant(t *testing.T, n int, digits string) acs.PINGrant {
	t.Helper()
	g := grant(n)
	pin, err := acs.ParsePIN(digits)
	if err != nil {
		t.Fatal(err)
	}
	return acs.PINGrant{Person: g.Person, PIN: pin, AccessLevels: g.AccessLevels, ValidFrom: g.ValidFrom, ValidUntil: g.ValidUntil}
}

// TestPINKeypadCredential: a PIN is one keypad credential named after the
// visit, its code sent in exactly one request (the write that sets it);
// the keypad door opens for it until RevokePIN.
func TestPINKeypadCredential(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	door, ok := e.sim.AddDoor("Lab keypad", genetecsim.SeedLobbyRule)
	if !ok || !e.sim.SetKeypad(door, true) {
		t.Fatal("keypad door")
	}
	g := pinGrant(t, 1, "738291046")
	e.sim.ResetRequests()
	p, err := e.p.ProvisionPIN(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	var carrying []string
	for _, r := range e.sim.Requests() {
		if strings.Contains(r.Q, "738291046") || strings.Contains(r.RawQuery, "738291046") {
			carrying = append(carrying, r.Method+" "+r.Path)
		}
	}
	if len(carrying) != 1 || carrying[0] != "POST entity" {
		t.Fatalf("the code was sent in %q; want one POST", carrying)
	}
	c, ok := e.sim.Credential(p.Credential.ID)
	if !ok || !c.Keypad || c.Name != "PIN [visit-1]" || c.Cardholder != p.Cardholder.ID || !p.Credential.Card.IsZero() {
		t.Fatalf("keypad credential %+v, provisioned %+v", c, p)
	}
	now := e.clock.Now()
	if !e.sim.PINOpensDoor("738291046", door, now) || e.sim.PINOpensDoor("738291046", genetecsim.SeedLobbyDoor, now) {
		t.Fatal("the PIN should open the keypad door only: the lobby door has no keypad")
	}
	if err := e.p.RevokePIN(ctx, p.Credential); err != nil {
		t.Fatal(err)
	}
	if e.sim.PINOpensDoor("738291046", door, now) {
		t.Fatal("the revoked PIN still opens")
	}
	if strings.Contains(e.logs.String(), "738291046") {
		t.Fatal("the PIN is in the adapter's logs")
	}
}

// TestPINEchoedByServerIsRedacted: a Web SDK that quotes its request in
// its error messages (the code included) never gets the code into the
// adapter's logs or errors.
func TestPINEchoedByServerIsRedacted(t *testing.T) {
	e := newEnv(t, nil)
	const digits = "550193827"
	e.sim.Inject(genetecsim.Fault{Method: "POST", Path: "entity", Times: 50, Fail: &genetecsim.Failure{
		SdkErrorCode: "InvalidOperation", Message: "Could not apply Format=KeypadCredentialFormat(" + digits + "): try again"}})
	_, err := e.p.ProvisionPIN(t.Context(), pinGrant(t, 2, digits))
	if err == nil {
		t.Fatal("the fault did not fail the call")
	}
	text := fmt.Sprintf("%v %+v", err, err) + e.logs.String()
	if strings.Contains(text, digits) || !strings.Contains(text, "[PIN redacted]") {
		t.Fatalf("error and logs: %s", text)
	}
	if acs.CodeOf(err) != acs.Unavailable {
		t.Fatalf("code %v, want the classification kept (unavailable): %v", acs.CodeOf(err), err)
	}
}

// TestPINHeldByAnother: Security Center refuses a code another credential
// carries; the adapter answers Conflict and the refused call leaves no
// cardholder behind.
func TestPINHeldByAnother(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.p.ProvisionPIN(t.Context(), pinGrant(t, 3, "402938571")); err != nil {
		t.Fatal(err)
	}
	before := e.sim.Census()
	_, err := e.p.ProvisionPIN(t.Context(), pinGrant(t, 4, "402938571"))
	if acs.CodeOf(err) != acs.Conflict || strings.Contains(err.Error(), "402938571") {
		t.Fatalf("second holder of a code: %v", err)
	}
	if after := e.sim.Census(); after != before {
		t.Fatalf("census %+v after the refused PIN, %+v before", after, before)
	}
}
