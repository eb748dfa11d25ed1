package genetec_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
)

// TestNoSecretInErrorsOrLogs runs succeeding and failing operations with
// distinctive credentials and checks that neither the password nor the
// application ID (nor the Authorization token built from them) appears in
// any error or debug log line.
func TestNoSecretInErrorsOrLogs(t *testing.T) {
	const (
		user     = "vms-service"
		password = "Pa55-SECRET-xyz"
		appID    = "APPID-SECRET-KxsD11z743Hf5Gq9"
		wrongPw  = "Wr0ng-SECRET-pw"
	)
	secrets := []string{
		password, appID, wrongPw,
		base64.StdEncoding.EncodeToString([]byte(user + ";" + appID + ":" + password)),
		base64.StdEncoding.EncodeToString([]byte(user + ";" + appID + ":" + wrongPw)),
		user + ";" + appID,
	}
	c := &clock{now: t0}
	sim := genetecsim.New(genetecsim.WithClock(c.Now), genetecsim.WithUser(user, password), genetecsim.WithApplicationID(appID))
	srv := httptest.NewServer(sim)
	defer srv.Close()

	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := genetec.Config{BaseURL: srv.URL + genetecsim.DefaultBasePath, Username: user, Password: password, ApplicationID: appID}
	opts := []genetec.Option{genetec.WithLogger(logger), genetec.WithClock(c.Now), genetec.WithRetry(1, time.Millisecond, time.Millisecond)}
	p, err := genetec.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	badCfg := cfg
	badCfg.Password = wrongPw
	bad, err := genetec.New(badCfg, opts...)
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	var errs []error
	record := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	record(p.Ping(ctx))
	pr, err := p.Provision(ctx, grant(1))
	record(err)
	_, err = p.AccessLevels(ctx)
	record(err)
	record(p.Revoke(ctx, pr.Credential))
	record(bad.Ping(ctx))
	_, err = bad.Provision(ctx, grant(2))
	record(err)
	for _, f := range []genetecsim.Fault{
		{Status: 403}, {Status: 500}, {Status: 503, Times: 3}, {Status: 400},
		{Fail: &genetecsim.Failure{SdkErrorCode: "InvalidOperation", Message: "bad"}},
		{Drop: true, Times: 32}, // more than the attempts: net/http also resends a GET on each idle connection
	} {
		sim.Inject(f)
		record(p.Ping(ctx))
		sim.ClearFaults()
	}
	invalid := grant(3)
	invalid.Person.LastName = "x#y"
	_, err = p.Provision(ctx, invalid)
	record(err)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	record(p.Ping(cctx))
	// Validation errors of New.
	for _, mut := range []func(*genetec.Config){
		func(c *genetec.Config) { c.Password = password + "\x00" },
		func(c *genetec.Config) { c.ApplicationID = appID + ":" },
		func(c *genetec.Config) { c.BaseURL = "http://" + password + "@example.com/WebSdk" },
	} {
		c := cfg
		mut(&c)
		_, err := genetec.New(c)
		if err == nil {
			t.Fatal("bad config accepted")
		}
		record(err)
	}
	// Door events: refused credentials; then a stream that fails to open
	// once (logged with its error) before delivering an event.
	record(bad.Events(ctx, "", func(acs.DoorEvent) error { return nil }))
	pe, err := genetec.New(cfg, append(opts, genetec.WithTimers(newFakeTimers()))...)
	if err != nil {
		t.Fatal(err)
	}
	sim.Inject(genetecsim.Fault{Method: "GET", Path: "events", Status: 503})
	if _, err := sim.Swipe(genetecsim.SeedLobbyDoor, card(1), t0); err != nil {
		t.Fatal(err)
	}
	ectx, ecancel := context.WithCancel(ctx)
	record(pe.Events(ectx, "", func(acs.DoorEvent) error { ecancel(); return nil }))
	if !strings.Contains(logs.String(), "event stream interrupted") {
		t.Fatal("the failed stream was not logged")
	}
	// Transport failure: the server is gone.
	srv.Close()
	record(p.Ping(ctx))

	if len(errs) != 16 {
		t.Fatalf("%d errors recorded, want 16", len(errs))
	}
	texts := []string{logs.String()}
	for _, err := range errs {
		t.Log(err)
		texts = append(texts, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
		var ae *acs.Error
		if !errorsAs(err, &ae) {
			t.Errorf("not an *acs.Error: %v", err)
		}
	}
	if !strings.Contains(logs.String(), "acs request") {
		t.Fatal("nothing was logged at debug level")
	}
	for _, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("secret %q leaked in: %s", s, text)
			}
		}
	}
}

// Short and common passwords, and one equal to the user name: the refusal
// reads whole (before, the password "admin" for the user "admin" read
// `user "[REDACTED]"`), and the secret is not in it.
func TestShortSecretsDoNotMangleMessages(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct{ user, password, wantUser string }{
		{"admin", "admin", "the configured user"},
		{"operator", "a", `user "operator"`},
		{"operator", "password", `user "operator"`},
		{"operator", "Long-Wrong-Secret-7", `user "operator"`},
	} {
		cfg := testConfig(e.srv.URL)
		cfg.Username, cfg.Password = tc.user, tc.password
		p, err := genetec.New(cfg, genetec.WithRetry(-1, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		err = p.Ping(context.Background())
		want := "genetec ping: unauthenticated: the Web SDK refused the credentials of " + tc.wantUser + " (HTTP 401): check the user name, password and SDK application ID"
		if acs.CodeOf(err) != acs.Unauthenticated || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("user %q, password %q:\n got %v\nwant %s…", tc.user, tc.password, err, want)
		}
		if strings.Contains(err.Error(), "REDACTED") {
			t.Errorf("mangled: %v", err)
		}
		if len(tc.password) > 8 && strings.Contains(err.Error(), tc.password) {
			t.Errorf("the password is in the message: %v", err)
		}
	}
}
