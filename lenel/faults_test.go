package lenel

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
)

func TestDroppedConnectionAfterCommitProvisionsOnce(t *testing.T) {
	for _, typeName := range []string{"Lnl_Visitor", "Lnl_Badge", "Lnl_AccessLevelAssignment"} {
		t.Run(typeName, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			ctx := t.Context()
			e.sim.AddFault(lenelsim.Fault{Method: "POST", TypeName: typeName, DropAfterCommit: true})
			g := e.grant(1)
			// The record is looked up after the failed create and found.
			p, err := e.p.Provision(ctx, g)
			if err != nil {
				t.Fatalf("provision with a lost answer: %v, want the record found", err)
			}
			// A retry, as the outbox makes after an error, changes nothing.
			if p2, err := e.p.Provision(ctx, g); err != nil || p2.Credential != p.Credential || p2.Created {
				t.Fatalf("retry: %+v, %v; want %+v, not created", p2, err, p.Credential)
			}
			if c := e.sim.Census(); c.Visitors != 1 || c.Badges != 1 || c.Assignments != 1 {
				t.Errorf("census %+v, want one of each", c)
			}
			if !e.opens(p.Credential, "1", e.clock.Now()) {
				t.Error("badge does not open")
			}
			if n := count(e.requests(), "POST", "/instances", typeName); n != 1 {
				t.Errorf("%s created %d times (a non-idempotent POST must not be resent)", typeName, n)
			}
		})
	}
}

func TestTransientErrorsRetriedOnlyWhenIdempotent(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	if err := e.p.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	e.sim.AddFault(lenelsim.Fault{Method: "GET", Path: "/instances", Status: 503, Times: 2})
	if _, err := e.p.AccessLevels(ctx); err != nil {
		t.Fatalf("GET after two 503s: %v", err)
	}
	e.sim.AddFault(lenelsim.Fault{Method: "GET", Path: "/instances", DropBefore: true})
	if _, err := e.p.AccessLevels(ctx); err != nil {
		t.Fatalf("GET after a dropped connection: %v", err)
	}
	e.sim.AddFault(lenelsim.Fault{Method: "POST", TypeName: "Lnl_Visitor", Status: 503})
	_, err := e.p.Provision(ctx, e.grant(1))
	if acs.CodeOf(err) != acs.Unavailable || !acs.IsRetryable(err) {
		t.Fatalf("POST answered 503: %v, want a retryable unavailable error", err)
	}
	if n := count(e.requests(), "POST", "/instances", "Lnl_Visitor"); n != 1 {
		t.Errorf("POST sent %d times, want 1", n)
	}
	if e.sim.Census().Visitors != 0 {
		t.Error("visitor created despite the 503")
	}
	// Errors beyond the retry budget surface.
	e.sim.AddFault(lenelsim.Fault{Method: "GET", Status: 502, Times: 10})
	if _, err := e.p.AccessLevels(ctx); acs.CodeOf(err) != acs.Unavailable {
		t.Errorf("persistent 502: %v", err)
	}
}

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		status int
		code   string
		want   acs.Code
	}{
		{400, "openaccess.general.invalidrequestitem", acs.InvalidArgument},
		{401, "openaccess.general.sessionexpired", acs.Unauthenticated},
		{401, "openaccess.general.invalidapplicationid", acs.PermissionDenied},
		{404, "openaccess.general.instancenotfound", acs.NotFound},
		{403, "openaccess.general.forbidden", acs.PermissionDenied},
		{409, "openaccess.general.busy", acs.Conflict},
		{429, "openaccess.general.throttled", acs.RateLimited},
		{500, "openaccess.general.internalerror", acs.Unavailable},
		{418, "openaccess.general.teapot", acs.Unknown},
	}
	for _, c := range cases {
		e := newEnv(t, envOpts{opts: []Option{WithRetry(-1, 0, 0)}})
		if err := e.p.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
		e.sim.AddFault(lenelsim.Fault{Path: "/instances", Status: c.status, Code: c.code, Message: "simulated", Times: 2})
		_, err := e.p.AccessLevels(t.Context())
		if got := acs.CodeOf(err); got != c.want {
			t.Errorf("HTTP %d %q: code %v, want %v (%v)", c.status, c.code, got, c.want, err)
		}
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != c.status || ae.Code != c.code || ae.Message != "simulated" {
			t.Errorf("HTTP %d: APIError %+v", c.status, ae)
		}
	}
}

func TestInvalidRequestItemFromServer(t *testing.T) {
	// A badge type the server lacks: OnGuard refuses the badge; the error
	// carries the server's message.
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.BadgeTypeID = 99 }})
	_, err := e.p.Provision(t.Context(), e.grant(1))
	if acs.CodeOf(err) != acs.InvalidArgument || !strings.Contains(err.Error(), "TYPE") {
		t.Fatalf("got %v, want invalid argument naming TYPE", err)
	}
}

func TestMissingBadgeStatusIsReported(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.RevokedStatus = "Handed back" }})
	_, err := e.p.Provision(t.Context(), e.grant(1))
	if acs.CodeOf(err) != acs.InvalidArgument || !strings.Contains(err.Error(), `"Handed back"`) {
		t.Fatalf("got %v", err)
	}
	if e.sim.Census() != (lenelsim.Census{}) {
		t.Error("backend changed")
	}
}

func TestCardReuseDeletesReturnedBadgeRecord(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	a := e.grant(1)
	pa, err := e.p.Provision(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.p.Revoke(ctx, pa.Credential); err != nil {
		t.Fatal(err)
	}
	b := e.grant(2)
	b.Card = a.Card
	e.sim.ResetRequests()
	pb, err := e.p.Provision(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if got := count(e.requests(), "DELETE", "/instances", "Lnl_Badge"); got != 1 {
		t.Errorf("old badge record deleted %d times, want 1", got)
	}
	badges := e.sim.Instances("Lnl_Badge")
	if len(badges) != 1 || badges[0]["PERSONID"] != int64(2) {
		t.Errorf("badges %v, want one held by person 2", badges)
	}
	if e.sim.Census().Visitors != 2 {
		t.Error("the previous visitor record should stay")
	}
	if !e.opens(pb.Credential, "1", e.clock.Now()) || e.opens(pa.Credential, "1", e.clock.Now()) {
		t.Error("oracle: the new holder should open, the old reference should not")
	}
	// Revoking the old reference again must not touch the new holder.
	if err := e.p.Revoke(ctx, pa.Credential); err != nil {
		t.Fatal(err)
	}
	if err := e.p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: a.Person.ExternalID, Card: a.Card}); err != nil {
		t.Fatal(err)
	}
	if !e.opens(pb.Credential, "1", e.clock.Now()) {
		t.Error("revoking the previous holder's reference revoked the new holder")
	}
}

func TestExpiredButActiveBadgeCanBeReused(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	a := e.grant(1)
	if _, err := e.p.Provision(ctx, a); err != nil {
		t.Fatal(err)
	}
	b := e.grant(2)
	b.Card = a.Card
	if _, err := e.p.Provision(ctx, b); acs.CodeOf(err) != acs.Conflict {
		t.Fatalf("card active for another: %v, want conflict", err)
	}
	e.clock.Advance(3 * time.Hour) // a's window is over; never revoked
	b = e.grant(2)
	b.Card = a.Card
	if _, err := e.p.Provision(ctx, b); err != nil {
		t.Fatalf("card whose window ended: %v", err)
	}
}

func TestCancelledContextMakesNoRequest(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for name, err := range map[string]error{
		"ping":   e.p.Ping(ctx),
		"revoke": e.p.Revoke(ctx, acs.CredentialRef{ID: "1"}),
		"remove": e.p.RemoveCardholder(ctx, acs.CardholderRef{ID: "1"}),
	} {
		if !errors.Is(err, context.Canceled) || acs.CodeOf(err) != acs.Canceled {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := e.p.Provision(ctx, e.grant(1)); acs.CodeOf(err) != acs.Canceled {
		t.Errorf("provision: %v", err)
	}
	if n := len(e.requests()); n != 0 {
		t.Errorf("%d requests with a cancelled context", n)
	}
}

func TestLatencyHonoursContext(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	sleep := func(ctx context.Context, d time.Duration) error {
		entered <- struct{}{}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	e := newEnv(t, envOpts{sim: []lenelsim.Option{lenelsim.WithSleep(sleep)}, opts: []Option{WithRetry(-1, 0, 0)}})
	if err := e.p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.sim.AddFault(lenelsim.Fault{Path: "/keepalive", Latency: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- e.p.Ping(ctx) }()
	<-entered // the request is in flight
	cancel()
	if err := <-errc; acs.CodeOf(err) != acs.Canceled || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled slow call: %v", err)
	}
	close(release)
}

func TestBadInputRefusedBeforeAnyRequest(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	g := e.grant(1)
	g.AccessLevels = []string{"lobby"}
	if _, err := e.p.Provision(ctx, g); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("non-numeric level: %v", err)
	}
	g = e.grant(1)
	g.AccessLevels = []string{"01"}
	if _, err := e.p.Provision(ctx, g); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("level with a leading zero: %v", err)
	}
	g = e.grant(1)
	g.Card.Number = 0
	if _, err := e.p.Provision(ctx, g); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("card number 0: %v", err)
	}
	for _, ref := range []acs.CredentialRef{
		{},
		{ID: "abc"},
		{ID: "-4"},
		{CardholderExternalID: `x" OR 1=1`, Card: g.Card},
		{CardholderExternalID: "ok", Card: acs.Card{Format: 99}},
		{CardholderID: "1 OR 1=1", Card: e.grant(1).Card},
	} {
		if err := e.p.Revoke(ctx, ref); acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("revoke %+v: %v", ref, err)
		}
	}
	for _, ref := range []acs.CardholderRef{{}, {ID: "x"}, {ExternalID: `a"b`}} {
		if err := e.p.RemoveCardholder(ctx, ref); acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("remove %+v: %v", ref, err)
		}
	}
	if n := len(e.requests()); n != 0 {
		t.Errorf("%d requests for bad input", n)
	}
}

func TestNoSecretInErrorsOrLogs(t *testing.T) {
	const password = "Pa55-SECRET-xyz"
	const token = "Tok-SECRET-abc123"
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnv(t, envOpts{
		sim: []lenelsim.Option{
			lenelsim.WithUser("op", password, ""),
			lenelsim.WithTokenFunc(func() string { return token }),
		},
		cfg:  func(c *Config) { c.Username, c.Password = "op", password },
		opts: []Option{WithLogger(logger), WithRetry(1, time.Millisecond, time.Millisecond)},
	})
	bad := newEnv(t, envOpts{
		cfg:  func(c *Config) { c.Password = password },
		opts: []Option{WithLogger(logger)},
	})
	ctx := t.Context()
	var errs []error
	collect := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	collect(bad.p.Ping(ctx)) // wrong password
	p, err := e.p.Provision(ctx, e.grant(1))
	collect(err)
	// The server echoes secrets in an error message and fails in other ways.
	e.sim.AddFault(lenelsim.Fault{Path: "/instances", Status: 500, Message: "boom " + password + " " + token, Times: 2})
	_, err = e.p.AccessLevels(ctx)
	collect(err)
	e.sim.AddFault(lenelsim.Fault{Path: "/instances", Status: 400, Code: "openaccess.general.invalidrequestitem", Message: "bad " + token})
	collect(e.p.Revoke(ctx, p.Credential))
	e.sim.ExpireSessions()
	collect(e.p.Revoke(ctx, p.Credential))
	e.sim.AddFault(lenelsim.Fault{Method: "POST", Path: "/authentication", DropBefore: true, Times: 5})
	e.sim.ExpireSessions()
	collect(e.p.Ping(ctx))
	collect(e.p.Close(ctx))
	if len(errs) < 4 {
		t.Fatalf("only %d failing operations ran: %v", len(errs), errs)
	}
	for _, err := range errs {
		for _, s := range []string{password, token} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error contains a secret: %v", err)
			}
			var ae *APIError
			if errors.As(err, &ae) && strings.Contains(ae.Message, s) {
				t.Errorf("APIError message contains a secret")
			}
		}
	}
	for _, err := range errs {
		t.Logf("error: %v", err)
	}
	if logs.Len() == 0 {
		t.Fatal("nothing logged at debug level")
	}
	for _, s := range []string{password, token} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("log contains a secret:\n%s", logs.String())
		}
	}
}
