package lenel

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/internal/testutil"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
)

// TestBadgePIN: the PIN goes on the visitor's badge in one request, opens
// the keypad reader of the badge's level (and not a reader without a
// keypad), is cleared by RevokePIN, and is in no log line or error. A PIN
// without its badge is a Conflict before any write.
func TestBadgePIN(t *testing.T) {
	logs := &testutil.Buffer{}
	e := newEnv(t, envOpts{opts: []Option{kitCards, WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))}})
	ctx := t.Context()
	keypad := e.sim.AddDoor(lenelsim.DoorSpec{Name: "Lab keypad", AccessLevels: []int64{1}, Keypad: true})
	plain := e.sim.AddDoor(lenelsim.DoorSpec{Name: "Lab reader", AccessLevels: []int64{1}})
	g := e.grant(1, "1")
	pin, err := acs.ParsePIN("614209387")
	if err != nil {
		t.Fatal(err)
	}
	pg := acs.PINGrant{Person: g.Person, PIN: pin, Card: g.Card, AccessLevels: g.AccessLevels, ValidFrom: g.ValidFrom, ValidUntil: g.ValidUntil}
	_, err = e.p.ProvisionPIN(ctx, pg)
	if acs.CodeOf(err) != acs.Conflict || strings.Contains(err.Error(), "614209387") {
		t.Fatalf("a PIN before its badge: %v", err)
	}
	if _, err := e.p.Provision(ctx, g); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	p, err := e.p.ProvisionPIN(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	var carrying []string
	for _, r := range e.sim.Requests() {
		if bytes.Contains(r.Body, []byte("614209387")) || strings.Contains(r.Query.Encode(), "614209387") {
			carrying = append(carrying, r.Method+" "+r.TypeName)
		}
	}
	if fmt.Sprint(carrying) != "[PUT Lnl_Badge]" {
		t.Fatalf("the PIN was sent in %q", carrying)
	}
	now := e.clock.Now()
	if !e.sim.PINOpensDoor("614209387", keypad.ID, now) || e.sim.PINOpensDoor("614209387", plain.ID, now) {
		t.Fatal("the PIN opens the keypad reader only")
	}
	if err := e.p.RevokePIN(ctx, p.Credential); err != nil {
		t.Fatal(err)
	}
	if e.sim.PINOpensDoor("614209387", keypad.ID, now) || !e.opens(p.Credential, "1", now) {
		t.Fatal("RevokePIN clears the PIN and leaves the card")
	}
	if strings.Contains(logs.String(), "614209387") {
		t.Fatal("the PIN is in the adapter's logs")
	}
}

// TestBadgePINEchoedIsRedacted: an OnGuard error quoting the PIN (a
// validation message that repeats the value) reaches neither the error nor
// the logs.
func TestBadgePINEchoedIsRedacted(t *testing.T) {
	logs := &testutil.Buffer{}
	e := newEnv(t, envOpts{opts: []Option{kitCards, WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))}})
	g := e.grant(2, "1")
	if _, err := e.p.Provision(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	pin, _ := acs.ParsePIN("730518264")
	e.sim.AddFault(lenelsim.Fault{Method: "PUT", Path: "/instances", TypeName: "Lnl_Badge", Times: 10, Status: 400,
		Code: lenelsim.CodeInvalidRequestItem, Message: "The value 730518264 of property PIN is invalid."})
	_, err := e.p.ProvisionPIN(t.Context(), acs.PINGrant{Person: g.Person, PIN: pin, Card: g.Card, AccessLevels: g.AccessLevels, ValidFrom: g.ValidFrom, ValidUntil: g.ValidUntil})
	text := fmt.Sprintf("%v %+v", err, err) + logs.String()
	if err == nil || strings.Contains(text, "730518264") || !strings.Contains(text, "[PIN redacted]") {
		t.Fatalf("error and logs: %s", text)
	}
}
