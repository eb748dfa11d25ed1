package verkada

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/internal/testutil"
	"github.com/acsbridge/acsbridge/verkada/verkadasim"
)

func testPINGrant(t *testing.T, e *env, n int, digits string, levels ...string) acs.PINGrant {
	t.Helper()
	g := testGrant(n, e.clk.Now(), levels...)
	pin, err := acs.ParsePIN(digits)
	if err != nil {
		t.Fatal(err)
	}
	return acs.PINGrant{Person: g.Person, PIN: pin, AccessLevels: g.AccessLevels, ValidFrom: g.ValidFrom, ValidUntil: g.ValidUntil}
}

func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestEntryCodePIN: a PIN-only visitor is a Verkada user with the group,
// the window and the entry code; the code is sent in one request (the
// entry_code PUT), opens the group's keypad door and not its door without
// a keypad, and RevokePIN removes it and leaves the user. No log line
// shows it.
func TestEntryCodePIN(t *testing.T) {
	logs := &testutil.Buffer{}
	e := newEnv(t, nil, WithLogger(debugLogger(logs)))
	ctx := t.Context()
	lv := e.levels()
	keypad := verkadasim.DoorID(1)
	plain := e.sim.AddDoor("Lobby reader", lv[0]).ID
	if !e.sim.SetDoorKeypad(keypad, true) {
		t.Fatal("no front door")
	}
	g := testPINGrant(t, e, 1, "31840592", lv[0])
	e.sim.ResetRequests()
	p, err := e.p.ProvisionPIN(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	var carrying []string
	for _, r := range e.sim.Requests() {
		if strings.Contains(r.Body, "31840592") || strings.Contains(r.RawQuery, "31840592") {
			carrying = append(carrying, r.Method+" "+r.Path)
		}
	}
	if fmt.Sprint(carrying) != "[PUT "+entryCodePath+"]" {
		t.Fatalf("the PIN was sent in %q", carrying)
	}
	now := e.clk.Now()
	if !e.sim.PINOpensDoor("31840592", keypad, now) || e.sim.PINOpensDoor("31840592", plain, now) {
		t.Fatal("the PIN opens the keypad door only")
	}
	if !p.Created || p.Credential.ID != p.Cardholder.ID {
		t.Fatalf("provisioned %+v", p)
	}
	if err := e.p.RevokePIN(ctx, p.Credential); err != nil {
		t.Fatal(err)
	}
	if e.sim.PINOpensDoor("31840592", keypad, now) {
		t.Fatal("the revoked PIN still opens")
	}
	if _, ok := e.sim.UserByID(p.Cardholder.ID); !ok {
		t.Fatal("RevokePIN removed the user")
	}
	if strings.Contains(logs.String(), "31840592") {
		t.Fatal("the PIN is in the adapter's logs")
	}
}

// TestEntryCodeWithCard: a visitor holding a card gets the code on the
// same user; revoking the code leaves the card opening.
func TestEntryCodeWithCard(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	lv := e.levels()
	card, err := e.p.Provision(ctx, testGrant(2, e.clk.Now(), lv[0]))
	if err != nil {
		t.Fatal(err)
	}
	pg := testPINGrant(t, e, 2, "40927318", lv[0])
	pg.Card = card.Credential.Card
	p, err := e.p.ProvisionPIN(ctx, pg)
	if err != nil || p.Cardholder.ID != card.Cardholder.ID {
		t.Fatalf("PIN with a card: %+v, %v", p, err)
	}
	if err := e.p.RevokePIN(ctx, acs.CredentialRef{CardholderExternalID: pg.Person.ExternalID}); err != nil {
		t.Fatal(err)
	}
	now := e.clk.Now()
	if e.sim.PINOpens("40927318", lv[0], now) || !e.sim.Opens(card.Credential.ID, lv[0], now) {
		t.Fatal("RevokePIN should end the code and keep the card")
	}
}

// TestEntryCodeHeldByAnother: the simulator refuses a code another user
// holds; the adapter answers Conflict without quoting it and removes the
// user it created.
func TestEntryCodeHeldByAnother(t *testing.T) {
	e := newEnv(t, nil)
	lv := e.levels()
	if _, err := e.p.ProvisionPIN(t.Context(), testPINGrant(t, e, 3, "58302917", lv[0])); err != nil {
		t.Fatal(err)
	}
	before := e.sim.Census()
	_, err := e.p.ProvisionPIN(t.Context(), testPINGrant(t, e, 4, "58302917", lv[0]))
	if acs.CodeOf(err) != acs.Conflict || strings.Contains(err.Error(), "58302917") {
		t.Fatalf("second holder of a code: %v", err)
	}
	if after := e.sim.Census(); after != before {
		t.Fatalf("census %+v after the refusal, was %+v", after, before)
	}
}

// TestEntryCodeEchoedIsRedacted: an API that quotes the request's code
// in its error answer gets it into neither the error nor the logs.
func TestEntryCodeEchoedIsRedacted(t *testing.T) {
	clk := newFakeClock()
	sim := verkadasim.New(verkadasim.WithClock(clk.Now))
	code := regexp.MustCompile(`"entry_code":"([0-9]+)"`)
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.URL.Path == entryCodePath {
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"id":"b4d1","message":"entry_code %s is too simple","data":null}`, code.FindSubmatch(b)[1])
			return
		}
		sim.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(echo)
	t.Cleanup(srv.Close)
	logs := &testutil.Buffer{}
	p, err := New(Config{BaseURL: srv.URL + verkadasim.BasePath, APIKey: verkadasim.DefaultAPIKey},
		testOptions(clk, WithLogger(debugLogger(logs)))...)
	if err != nil {
		t.Fatal(err)
	}
	pin, _ := acs.ParsePIN("62719084")
	g := testGrant(5, clk.Now(), sim.Groups()[0].ID)
	_, err = p.ProvisionPIN(t.Context(), acs.PINGrant{Person: g.Person, PIN: pin, AccessLevels: g.AccessLevels, ValidFrom: g.ValidFrom, ValidUntil: g.ValidUntil})
	text := fmt.Sprintf("%v %+v", err, err) + logs.String()
	if err == nil || strings.Contains(text, "62719084") || !strings.Contains(text, "[PIN redacted]") {
		t.Fatalf("error and logs: %s", text)
	}
	if c := sim.Census(); c.Users != 0 {
		t.Fatalf("the refused provision left %d users", c.Users)
	}
}
