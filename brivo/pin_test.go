package brivo

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
	"github.com/acsbridge/acsbridge/internal/testutil"
)

func testPINGrant(t *testing.T, n int, digits string, levels ...string) acs.PINGrant {
	t.Helper()
	g := testGrant(n, time.Now(), levels...)
	pin, err := acs.ParsePIN(digits)
	if err != nil {
		t.Fatal(err)
	}
	return acs.PINGrant{Person: g.Person, PIN: pin, AccessLevels: g.AccessLevels, ValidFrom: g.ValidFrom, ValidUntil: g.ValidUntil}
}

func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestUserPIN: a PIN-only visitor is a Brivo user with the PIN and the
// groups; the PIN is sent in one request (the PATCH), opens the keypad
// door of its group and no door without a keypad, and RevokePIN removes
// it. No log line shows it.
func TestUserPIN(t *testing.T) {
	logs := &testutil.Buffer{}
	e := newEnv(t, nil, WithLogger(debugLogger(logs)))
	ctx := t.Context()
	lv := e.levels()
	g := testPINGrant(t, 1, "31840592", lv[0])
	gid := e.sim.Groups()[0].ID
	keypad, err := e.sim.AddDoor("Lab keypad", gid)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := e.sim.AddDoor("Lab reader", gid)
	if err != nil || e.sim.SetDoorKeypad(keypad.ID, true) != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	p, err := e.p.ProvisionPIN(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	var carrying []string
	for _, r := range e.sim.Requests() {
		if strings.Contains(r.Body, "31840592") || strings.Contains(r.RawQuery, "31840592") {
			carrying = append(carrying, r.Method)
		}
	}
	if fmt.Sprint(carrying) != "[PATCH]" {
		t.Fatalf("the PIN was sent in %q", carrying)
	}
	now := time.Now()
	if !e.sim.PINOpensDoor("31840592", keypad.ID, now) || e.sim.PINOpensDoor("31840592", plain.ID, now) {
		t.Fatal("the PIN opens the keypad door only")
	}
	if !p.Created || p.Credential.ID != p.Cardholder.ID {
		t.Fatalf("provisioned %+v", p)
	}
	if err := e.p.RevokePIN(ctx, p.Credential); err != nil {
		t.Fatal(err)
	}
	if e.sim.PINOpensDoor("31840592", keypad.ID, now) {
		t.Fatal("the revoked PIN still opens")
	}
	if strings.Contains(logs.String(), "31840592") {
		t.Fatal("the PIN is in the adapter's logs")
	}
}

// TestUserPINHeldByAnother: Brivo refuses a PIN another user holds; the
// adapter answers Conflict without quoting it.
func TestUserPINHeldByAnother(t *testing.T) {
	e := newEnv(t, nil)
	lv := e.levels()
	if _, err := e.p.ProvisionPIN(t.Context(), testPINGrant(t, 2, "40927318", lv[0])); err != nil {
		t.Fatal(err)
	}
	_, err := e.p.ProvisionPIN(t.Context(), testPINGrant(t, 3, "40927318", lv[0]))
	if acs.CodeOf(err) != acs.Conflict || strings.Contains(err.Error(), "40927318") {
		t.Fatalf("second holder of a PIN: %v", err)
	}
}

// TestUserPINEchoedIsRedacted: an API that quotes the request's PIN in
// its error answer gets it into neither the error nor the logs.
func TestUserPINEchoedIsRedacted(t *testing.T) {
	sim := brivosim.New()
	pinField := regexp.MustCompile(`"pin":"([0-9]+)"`)
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch {
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"code":400,"message":"Invalid PIN %s for this account"}`, pinField.FindSubmatch(b)[1])
			return
		}
		sim.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(echo)
	t.Cleanup(srv.Close)
	logs := &testutil.Buffer{}
	p, err := New(simConfig(srv.URL), testOptions(WithLogger(debugLogger(logs)))...)
	if err != nil {
		t.Fatal(err)
	}
	g := testPINGrant(t, 4, "58302917", fmt.Sprint(sim.Groups()[0].ID))
	_, err = p.ProvisionPIN(t.Context(), g)
	text := fmt.Sprintf("%v %+v", err, err) + logs.String()
	if err == nil || strings.Contains(text, "58302917") || !bytes.Contains([]byte(text), []byte("[PIN redacted]")) {
		t.Fatalf("error and logs: %s", text)
	}
}
