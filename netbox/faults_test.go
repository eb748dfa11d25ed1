package netbox

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/netbox/netboxsim"
)

// Every answer is classified; nothing unclassified passes for a success.
func TestAnswersClassified(t *testing.T) {
	cases := []struct {
		name  string
		fault netboxsim.Fault
		want  acs.Code
		text  string
	}{
		{"APIERROR 1", netboxsim.Fault{APIError: 1}, acs.Unavailable, "APIERROR 1"},
		{"APIERROR 2", netboxsim.Fault{APIError: 2}, acs.PermissionDenied, "not enabled"},
		{"APIERROR 3", netboxsim.Fault{APIError: 3}, acs.InvalidArgument, "no command"},
		{"APIERROR 4", netboxsim.Fault{APIError: 4}, acs.InvalidArgument, "parse"},
		{"APIERROR 6", netboxsim.Fault{APIError: 6}, acs.Unsupported, "unknown command"},
		{"APIERROR 9", netboxsim.Fault{APIError: 9}, acs.Unknown, "undocumented"},
		{"FAIL invalid", netboxsim.Fault{Code: "FAIL", ErrMsg: "Invalid date format"}, acs.InvalidArgument, "Invalid date"},
		{"FAIL privilege", netboxsim.Fault{Code: "FAIL", ErrMsg: "User lacks API privilege"}, acs.PermissionDenied, "privilege"},
		{"FAIL unexplained", netboxsim.Fault{Code: "FAIL", ErrMsg: "Something happened"}, acs.Unknown, "Something happened"},
		{"FAIL without ERRMSG", netboxsim.Fault{Code: "FAIL"}, acs.Unknown, "FAIL"},
		{"another CODE", netboxsim.Fault{Code: "PARTIAL"}, acs.Unknown, "PARTIAL"},
		{"HTTP 503", netboxsim.Fault{HTTPStatus: http.StatusServiceUnavailable, Times: 3}, acs.Unavailable, "HTTP 503"},
		{"HTTP 404", netboxsim.Fault{HTTPStatus: http.StatusNotFound}, acs.Misconfigured, "/nbws/goforms/nbapi"},
		{"HTTP 200 HTML", netboxsim.Fault{HTTPStatus: http.StatusOK, RawBody: "<html><body>Login</body></html>"}, acs.Unknown, "not an NBAPI answer"},
		{"HTTP 200 text", netboxsim.Fault{HTTPStatus: http.StatusOK, RawBody: "OK"}, acs.Unknown, "not an NBAPI answer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			if err := e.p.Ping(t.Context()); err != nil {
				t.Fatal(err)
			}
			f := c.fault
			f.Command = "GetAccessLevels"
			e.sim.AddFault(f)
			_, err := e.p.AccessLevels(t.Context())
			var ae *acs.Error
			switch {
			case !errors.As(err, &ae):
				t.Fatalf("got %v, want an *acs.Error", err)
			case ae.Code != c.want || ae.Provider != Name || ae.Op != "access_levels":
				t.Errorf("got %v (code %v, op %q), want code %v", err, ae.Code, ae.Op, c.want)
			case !strings.Contains(err.Error(), c.text):
				t.Errorf("error %q does not say %q", err, c.text)
			}
		})
	}
}

// An unclassified answer to AddCredential is not a success: the adapter
// asks, finds no credential, fails, and removes the person it created.
func TestUnclassifiedWriteIsNoSuccess(t *testing.T) {
	for _, f := range []netboxsim.Fault{
		{Command: "AddCredential", Code: "MAYBE"},
		{Command: "AddCredential", Code: "FAIL", ErrMsg: "Operation could not be completed"},
		{Command: "AddCredential", HTTPStatus: http.StatusOK, RawBody: "<NETBOX><RESPONSE command=\"AddCredential\" num=\"1\"></RESPONSE></NETBOX>"},
	} {
		e := newEnv(t, envOpts{})
		e.sim.AddFault(f)
		_, err := e.p.Provision(t.Context(), e.grant(1))
		if acs.CodeOf(err) != acs.Unknown {
			t.Errorf("%+v: got %v, want an Unknown error", f, err)
		}
		if c := e.sim.Census(); c.People != 0 || c.Credentials != 0 {
			t.Errorf("%+v: census %+v after the refused provision", f, c)
		}
	}
}

// An answer lost after the controller made the record: the provision
// finds it and carries on, creating nothing twice.
func TestDroppedAnswers(t *testing.T) {
	for _, cmd := range []string{"AddPerson", "AddCredential", "ModifyPerson"} {
		t.Run(cmd, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			g := e.grant(1)
			if cmd == "ModifyPerson" {
				if _, err := e.p.Provision(t.Context(), g); err != nil {
					t.Fatal(err)
				}
				g.AccessLevels = []string{netboxsim.LevelFloor3}
			}
			e.sim.AddFault(netboxsim.Fault{Command: cmd, DropAfterCommit: true})
			p, err := e.p.Provision(t.Context(), g)
			if err != nil {
				t.Fatal(err)
			}
			if c := e.sim.Census(); c.People != 1 || c.Credentials != 1 {
				t.Errorf("census %+v", c)
			}
			if !e.opens(p.Credential, g.AccessLevels[0], e.clock.Now()) {
				t.Error("the credential does not open its level")
			}
		})
	}
}

// A request that never reached the controller fails the provision as
// Unavailable; provisioning again completes it.
func TestDroppedBeforeAddPerson(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.sim.AddFault(netboxsim.Fault{Command: "AddPerson", DropBefore: true})
	g := e.grant(1)
	if _, err := e.p.Provision(t.Context(), g); acs.CodeOf(err) != acs.Unavailable {
		t.Fatalf("got %v, want Unavailable", err)
	}
	if _, err := e.p.Provision(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	if c := e.sim.Census(); c.People != 1 || c.Credentials != 1 {
		t.Errorf("census %+v", c)
	}
}

// A slow controller and a deadline: Canceled, and the cause is the
// context's.
func TestDeadline(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	e := newEnv(t, envOpts{sim: []netboxsim.Option{netboxsim.WithSleep(func(rctx context.Context, _ time.Duration) error {
		cancel() // the caller gives up while the controller is slow
		<-rctx.Done()
		return rctx.Err()
	})}})
	e.sim.AddFault(netboxsim.Fault{Command: "GetPerson", Latency: time.Hour})
	_, err := e.p.Provision(ctx, e.grant(1))
	if acs.CodeOf(err) != acs.Canceled || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if c := e.sim.Census(); c.People != 0 {
		t.Errorf("census %+v", c)
	}
}

// Revoke never infers "gone" from an answer: a NOT FOUND for a credential
// that is there is an error; a credential removed while the revoke runs is
// a success.
func TestRevokeAsksTheController(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	p, err := e.p.Provision(ctx, e.grant(1))
	if err != nil {
		t.Fatal(err)
	}
	e.sim.AddFault(netboxsim.Fault{Command: "ModifyCredential", Code: "FAIL", ErrMsg: "NOT FOUND"})
	err = e.p.Revoke(ctx, p.Credential)
	if err == nil || acs.CodeOf(err) == acs.NotFound {
		t.Fatalf("revoke answered NOT FOUND for a credential that is there: %v", err)
	}
	if !e.opens(p.Credential, netboxsim.LevelLobby, e.clock.Now()) {
		t.Fatal("the failed revoke changed the credential")
	}
	e.sim.AddFault(netboxsim.Fault{Command: "ModifyCredential", Code: "FAIL", ErrMsg: "NOT FOUND",
		Before: func() { e.sim.DeleteCredential(p.Cardholder.ID, p.Credential.ID) }})
	if err := e.p.Revoke(ctx, p.Credential); err != nil {
		t.Fatalf("revoke of a credential removed meanwhile: %v", err)
	}
	e.sim.AddFault(netboxsim.Fault{Command: "GetPerson", Code: "FAIL", ErrMsg: "NOT FOUND"})
	if err := e.p.Revoke(ctx, p.Credential); err != nil {
		t.Fatalf("revoke of a person the controller says is not found: %v", err)
	}
}

// RemoveCardholder checks that the purge took: a controller that says
// SUCCESS and keeps the record is an error.
func TestPurgeChecked(t *testing.T) {
	e := newEnv(t, envOpts{})
	p, err := e.p.Provision(t.Context(), e.grant(1))
	if err != nil {
		t.Fatal(err)
	}
	e.sim.AddFault(netboxsim.Fault{Command: "ModifyPerson", Code: "SUCCESS"})
	err = e.p.RemoveCardholder(t.Context(), p.Cardholder)
	if acs.CodeOf(err) != acs.Unknown || !strings.Contains(err.Error(), "still holds") {
		t.Fatalf("got %v", err)
	}
	if e.opens(p.Credential, netboxsim.LevelLobby, e.clock.Now()) {
		t.Error("the soft-deleted person's credential opens")
	}
	if err := e.p.RemoveCardholder(t.Context(), p.Cardholder); err != nil {
		t.Fatalf("removing again: %v", err)
	}
	if c := e.sim.Census(); c.People != 0 {
		t.Errorf("census %+v", c)
	}
}

// Config.KeepDeleted stops at the soft delete, credentials disabled.
func TestKeepDeleted(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.KeepDeleted = true }})
	ctx := t.Context()
	g := e.grant(1)
	p, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.p.RemoveCardholder(ctx, p.Cardholder); err != nil {
		t.Fatal(err)
	}
	got, ok := e.sim.Person(p.Cardholder.ID)
	if !ok || !got.Deleted || len(got.Credentials) != 1 || !got.Credentials[0].Disabled {
		t.Fatalf("person %+v", got)
	}
	// The visit comes back: the record is revived and its credential
	// enabled again.
	if _, err := e.p.Provision(ctx, g); err != nil {
		t.Fatal(err)
	}
	if !e.opens(p.Credential, netboxsim.LevelLobby, e.clock.Now()) {
		t.Error("the revived person's credential does not open")
	}
}

// When a change fails with an answer about the record's state (NOT FOUND,
// DUPLICATE) and asking the controller about the record fails too, the
// answer is not passed on as a definite refusal: the caller retries, and
// the retry succeeds. Seen under chaos: a returned badge's stale record
// removed, the answer lost, the resent RemoveCredential answered NOT FOUND
// and the check unanswered failed the next visitor's provision for good.
func TestUncheckedAnswersAreNotDefinite(t *testing.T) {
	busy := func(skip int) netboxsim.Fault {
		return netboxsim.Fault{Command: "GetPerson", Skip: skip, Code: "FAIL", ErrMsg: "Something happened"}
	}
	t.Run("stale record removed, answer lost", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		ctx := t.Context()
		g1 := e.grant(1)
		p1, err := e.p.Provision(ctx, g1)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.p.Revoke(ctx, p1.Credential); err != nil {
			t.Fatal(err)
		}
		g2 := e.grant(2)
		g2.Card = g1.Card
		// GetPerson of visit 2, then of the stale holder; the third asks
		// whether the stale record is still there.
		e.sim.AddFault(netboxsim.Fault{Command: "RemoveCredential", DropAfterCommit: true})
		e.sim.AddFault(busy(2))
		_, err = e.p.Provision(ctx, g2)
		if acs.CodeOf(err) != acs.Unknown {
			t.Fatalf("got %v, want an Unknown error", err)
		}
		if got := count(e.sim.Requests(), "RemoveCredential"); got != 2 {
			t.Errorf("RemoveCredential sent %d times, want 2 (the lost answer, then NOT FOUND)", got)
		}
		p2, err := e.p.Provision(ctx, g2)
		if err != nil {
			t.Fatalf("provision again: %v", err)
		}
		if !e.opens(p2.Credential, netboxsim.LevelLobby, e.clock.Now()) {
			t.Error("the card does not open for the next visitor")
		}
	})
	t.Run("AddPerson answered DUPLICATE", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		e.sim.AddFault(netboxsim.Fault{Command: "AddPerson", Code: "DUPLICATE"})
		e.sim.AddFault(busy(1))
		_, err := e.p.Provision(t.Context(), e.grant(1))
		if acs.CodeOf(err) != acs.Unknown {
			t.Fatalf("got %v, want an Unknown error", err)
		}
		if _, err := e.p.Provision(t.Context(), e.grant(1)); err != nil {
			t.Fatalf("provision again: %v", err)
		}
	})
	t.Run("removal answered NOT FOUND", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		p, err := e.p.Provision(t.Context(), e.grant(1))
		if err != nil {
			t.Fatal(err)
		}
		e.sim.AddFault(netboxsim.Fault{Command: "RemovePerson", Code: "NOT FOUND"})
		e.sim.AddFault(busy(1))
		if err := e.p.RemoveCardholder(t.Context(), p.Cardholder); acs.CodeOf(err) != acs.Unknown {
			t.Fatalf("got %v, want an Unknown error", err)
		}
		if err := e.p.RemoveCardholder(t.Context(), p.Cardholder); err != nil {
			t.Fatalf("remove again: %v", err)
		}
		if c := e.sim.Census(); c.People != 0 {
			t.Errorf("census %+v", c)
		}
	})
}
