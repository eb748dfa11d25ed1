package netbox

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/internal/testutil"
	"github.com/acsbridge/acsbridge/netbox/netboxsim"
)

func (e *env) pinGrant(n int, digits string, levels ...string) acs.PINGrant {
	e.t.Helper()
	g := e.grant(n, levels...)
	pin, err := acs.ParsePIN(digits)
	if err != nil {
		e.t.Fatal(err)
	}
	return acs.PINGrant{Person: g.Person, PIN: pin, AccessLevels: g.AccessLevels, ValidFrom: g.ValidFrom, ValidUntil: g.ValidUntil}
}

func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestPersonPIN: a PIN-only visitor is a NetBox person with the level,
// the window and the PIN; the PIN is sent in one command (a ModifyPerson
// of PERSONID and PIN), opens the lobby's keypad reader and not the same
// level's reader without a keypad, and RevokePIN clears it and leaves the
// person. No log line shows it.
func TestPersonPIN(t *testing.T) {
	logs := &testutil.Buffer{}
	e := newEnv(t, envOpts{opts: []Option{WithLogger(debugLogger(logs))}})
	ctx := t.Context()
	plain := e.sim.AddReader("Lobby Out", netboxsim.LevelLobby)
	if !e.sim.SetReaderKeypad(netboxsim.ReaderLobby, true) {
		t.Fatal("no lobby reader")
	}
	g := e.pinGrant(1, "31840592")
	e.sim.ResetRequests()
	p, err := e.p.ProvisionPIN(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	var carrying []string
	for _, r := range e.sim.Requests() {
		if strings.Contains(string(r.Body), "31840592") {
			carrying = append(carrying, r.Command+" "+r.Params)
		}
	}
	if want := fmt.Sprintf("[ModifyPerson PERSONID=%s; PIN=31840592]", p.Cardholder.ID); fmt.Sprint(carrying) != want {
		t.Fatalf("the PIN was sent in %q, want %s", carrying, want)
	}
	now := e.clock.Now()
	if !e.sim.PINOpensReader("31840592", netboxsim.ReaderLobby, now) || e.sim.PINOpensReader("31840592", plain, now) {
		t.Fatal("the PIN opens the keypad reader only")
	}
	if !p.Created || p.Credential.ID != p.Cardholder.ID {
		t.Fatalf("provisioned %+v", p)
	}
	if err := e.p.RevokePIN(ctx, p.Credential); err != nil {
		t.Fatal(err)
	}
	if e.sim.PINOpensReader("31840592", netboxsim.ReaderLobby, now) {
		t.Fatal("the revoked PIN still opens")
	}
	if pi, ok := e.sim.Person(p.Cardholder.ID); !ok || pi.Fields["PIN"] != "" {
		t.Fatalf("after RevokePIN: person %v, PIN field set %v", ok, pi.Fields["PIN"] != "")
	}
	if strings.Contains(logs.String(), "31840592") {
		t.Fatal("the PIN is in the adapter's logs")
	}
}

// TestPersonPINWithCard: a visitor holding a card gets the PIN on the
// same person; revoking the PIN leaves the card opening.
func TestPersonPINWithCard(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	card, err := e.p.Provision(ctx, e.grant(2))
	if err != nil {
		t.Fatal(err)
	}
	pg := e.pinGrant(2, "40927318")
	pg.Card = card.Credential.Card
	p, err := e.p.ProvisionPIN(ctx, pg)
	if err != nil || p.Cardholder.ID != card.Cardholder.ID {
		t.Fatalf("PIN with a card: %+v, %v", p, err)
	}
	if err := e.p.RevokePIN(ctx, acs.CredentialRef{CardholderExternalID: pg.Person.ExternalID}); err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	if e.sim.PINOpens("40927318", netboxsim.LevelLobby, now) || !e.opens(card.Credential, netboxsim.LevelLobby, now) {
		t.Fatal("RevokePIN should end the PIN and keep the card")
	}
}

// TestPersonPINHeldByAnother: the simulator refuses a PIN another person
// holds (DUPLICATE); the adapter answers Conflict without quoting it and
// removes the person it created.
func TestPersonPINHeldByAnother(t *testing.T) {
	e := newEnv(t, envOpts{})
	if _, err := e.p.ProvisionPIN(t.Context(), e.pinGrant(3, "58302917")); err != nil {
		t.Fatal(err)
	}
	before := e.sim.Census()
	_, err := e.p.ProvisionPIN(t.Context(), e.pinGrant(4, "58302917"))
	if acs.CodeOf(err) != acs.Conflict || strings.Contains(err.Error(), "58302917") {
		t.Fatalf("second holder of a PIN: %v", err)
	}
	if after := e.sim.Census(); after != before {
		t.Fatalf("census %+v after the refusal, was %+v", after, before)
	}
}

// TestPersonPINEchoedIsRedacted: a controller that quotes the PIN in its
// ERRMSG gets it into neither the error nor the logs.
func TestPersonPINEchoedIsRedacted(t *testing.T) {
	logs := &testutil.Buffer{}
	e := newEnv(t, envOpts{opts: []Option{WithLogger(debugLogger(logs))}})
	e.sim.AddFault(netboxsim.Fault{Command: "ModifyPerson", Code: "FAIL", ErrMsg: "Invalid PIN 62719084 for this controller"})
	_, err := e.p.ProvisionPIN(t.Context(), e.pinGrant(5, "62719084"))
	text := fmt.Sprintf("%v %+v", err, err) + logs.String()
	if err == nil || strings.Contains(text, "62719084") || !strings.Contains(text, "[PIN redacted]") {
		t.Fatalf("error and logs: %s", text)
	}
	if c := e.sim.Census(); c.People != 0 {
		t.Fatalf("the refused provision left %d people", c.People)
	}
}
