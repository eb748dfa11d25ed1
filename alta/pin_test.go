package alta

import (
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
	"github.com/acsbridge/acsbridge/alta/altasim"
	"github.com/acsbridge/acsbridge/internal/testutil"
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

// TestPincodePIN: a PIN-only visitor is an Alta user with the groups and
// a pincode credential; the PIN is sent in one request (the credential's
// POST), opens the lobby's keypad and not the keypad-less floor door of
// the same group, and RevokePIN deletes the credential. No log line shows
// it.
func TestPincodePIN(t *testing.T) {
	logs := &testutil.Buffer{}
	e := newEnv(t, nil, WithLogger(debugLogger(logs)))
	ctx := t.Context()
	lobby, floor := altasim.DefaultEntries()[0].ID, altasim.DefaultEntries()[1].ID
	if !e.sim.SetEntryKeypad(lobby, true) {
		t.Fatal("no lobby")
	}
	g := testPINGrant(t, e, 1, "31840592", e.levels()[1])
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
	want := fmt.Sprintf("[POST /orgs/%d/users/%s/credentials]", altasim.OrgID, p.Cardholder.ID)
	if fmt.Sprint(carrying) != want {
		t.Fatalf("the PIN was sent in %q, want %s", carrying, want)
	}
	now := e.clk.Now()
	if !e.sim.PINOpensEntry("31840592", lobby, now) || e.sim.PINOpensEntry("31840592", floor, now) {
		t.Fatal("the PIN opens the keypad entry only")
	}
	ci, ok := e.sim.Credential(mustID(p.Credential.ID))
	if !ok || ci.TypeID != e.sim.CredentialTypeID("pincode") || !p.Created {
		t.Fatalf("provisioned %+v, credential %+v", p, ci)
	}
	if err := e.p.RevokePIN(ctx, p.Credential); err != nil {
		t.Fatal(err)
	}
	if e.sim.PINOpensEntry("31840592", lobby, now) {
		t.Fatal("the revoked PIN still opens")
	}
	if _, ok := e.sim.UserByID(mustID(p.Cardholder.ID)); !ok {
		t.Fatal("RevokePIN removed the user")
	}
	if strings.Contains(logs.String(), "31840592") {
		t.Fatal("the PIN is in the adapter's logs")
	}
}

// TestPincodeWithCard: a PIN issued to a visitor holding a card is a
// second credential of the same user; revoking the PIN leaves the card.
func TestPincodeWithCard(t *testing.T) {
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
	if err != nil || p.Cardholder.ID != card.Cardholder.ID || p.Credential.ID == card.Credential.ID {
		t.Fatalf("PIN with a card: %+v, %v", p, err)
	}
	if err := e.p.RevokePIN(ctx, acs.CredentialRef{CardholderExternalID: pg.Person.ExternalID}); err != nil {
		t.Fatal(err)
	}
	now := e.clk.Now()
	if e.sim.PINOpens("40927318", lv[0], now) || !e.sim.Opens(card.Credential.ID, lv[0], now) {
		t.Fatal("RevokePIN should end the PIN and keep the card")
	}
}

// TestPincodeHeldByAnother: the simulator refuses a PIN another user
// holds; the adapter answers Conflict without quoting it and leaves no
// user behind.
func TestPincodeHeldByAnother(t *testing.T) {
	e := newEnv(t, nil)
	lv := e.levels()
	if _, err := e.p.ProvisionPIN(t.Context(), testPINGrant(t, e, 3, "58302917", lv[0])); err != nil {
		t.Fatal(err)
	}
	before := e.sim.Census()
	_, err := e.p.ProvisionPIN(t.Context(), testPINGrant(t, e, 4, "58302917", lv[0]))
	if acs.CodeOf(err) != acs.Conflict || strings.Contains(err.Error(), "58302917") {
		t.Fatalf("second holder of a PIN: %v", err)
	}
	if after := e.sim.Census(); after != before {
		t.Fatalf("census %+v after the refusal, was %+v", after, before)
	}
}

// TestPincodeEchoedIsRedacted: an API that quotes the request's PIN in
// its error answer gets it into neither the error nor the logs.
func TestPincodeEchoedIsRedacted(t *testing.T) {
	sim := altasim.New()
	number := regexp.MustCompile(`"pincode":\{"number":"([0-9]+)"`)
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/credentials") {
			b, _ := io.ReadAll(r.Body)
			if m := number.FindSubmatch(b); m != nil {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnprocessableEntity)
				fmt.Fprintf(w, `{"name":"ValidationError","message":"pincode %s is too easy to guess"}`, m[1])
				return
			}
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
	pin, _ := acs.ParsePIN("62719084")
	g := testGrant(5, time.Now(), sim.Groups()[0].GroupID())
	_, err = p.ProvisionPIN(t.Context(), acs.PINGrant{Person: g.Person, PIN: pin, AccessLevels: g.AccessLevels, ValidFrom: g.ValidFrom, ValidUntil: g.ValidUntil})
	text := fmt.Sprintf("%v %+v", err, err) + logs.String()
	if err == nil || strings.Contains(text, "62719084") || !strings.Contains(text, "[PIN redacted]") {
		t.Fatalf("error and logs: %s", text)
	}
	if c := sim.Census(); c.Users != 0 {
		t.Fatalf("the refused provision left %d users", c.Users)
	}
}
