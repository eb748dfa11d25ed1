package lenel

import (
	"context"
	"strings"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
)

// eachMissingAnswer runs f once for every way the simulator can answer a
// PUT or DELETE of an instance that no longer exists: OpenAccess's own
// answer is undocumented, so the adapter must be right with each.
func eachMissingAnswer(t *testing.T, cfg func(*Config), f func(t *testing.T, e *env)) {
	for _, m := range lenelsim.MissingAnswers() {
		t.Run(m.String(), func(t *testing.T) {
			f(t, newEnv(t, envOpts{sim: []lenelsim.Option{lenelsim.WithMissingAnswer(m)}, cfg: cfg}))
		})
	}
}

// provisioned provisions visitor n on levels 1 and 2.
func provisioned(t *testing.T, e *env, n int) (acs.Grant, acs.Provisioned) {
	t.Helper()
	g := e.grant(n, "1", "2")
	p, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	return g, p
}

func noError(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v (code %v)", what, err, acs.CodeOf(err))
	}
}

func TestRevokeTwiceWhateverTheMissingAnswer(t *testing.T) {
	for name, cfg := range map[string]func(*Config){
		"keep-assignments":   nil,
		"delete-assignments": func(c *Config) { c.DeleteAssignmentsOnRevoke = true },
	} {
		t.Run(name, func(t *testing.T) {
			eachMissingAnswer(t, cfg, func(t *testing.T, e *env) {
				ctx := t.Context()
				g, p := provisioned(t, e, 1)
				noError(t, "revoke", e.p.Revoke(ctx, p.Credential))
				noError(t, "revoke again", e.p.Revoke(ctx, p.Credential))
				noError(t, "revoke by card", e.p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: g.Person.ExternalID, Card: g.Card}))
				if e.opens(p.Credential, "1", e.clock.Now()) {
					t.Error("badge still opens")
				}
			})
		})
	}
}

func TestRevokeAfterRemoveCardholderWhateverTheMissingAnswer(t *testing.T) {
	eachMissingAnswer(t, nil, func(t *testing.T, e *env) {
		ctx := t.Context()
		g, p := provisioned(t, e, 1)
		noError(t, "remove", e.p.RemoveCardholder(ctx, p.Cardholder))
		noError(t, "revoke by ID", e.p.Revoke(ctx, p.Credential))
		noError(t, "revoke by cardholder ID and card", e.p.Revoke(ctx, acs.CredentialRef{CardholderID: p.Cardholder.ID, Card: g.Card}))
		noError(t, "revoke by external ID and card", e.p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: g.Person.ExternalID, Card: g.Card}))
		if c := e.sim.Census(); c != (lenelsim.Census{}) {
			t.Errorf("census %+v, want empty", c)
		}
	})
}

func TestRemoveTwiceWhateverTheMissingAnswer(t *testing.T) {
	eachMissingAnswer(t, nil, func(t *testing.T, e *env) {
		ctx := t.Context()
		_, p := provisioned(t, e, 1)
		noError(t, "remove", e.p.RemoveCardholder(ctx, p.Cardholder))
		noError(t, "remove again by ID", e.p.RemoveCardholder(ctx, acs.CardholderRef{ID: p.Cardholder.ID}))
		noError(t, "remove again by external ID", e.p.RemoveCardholder(ctx, acs.CardholderRef{ExternalID: p.Cardholder.ExternalID}))
		if c := e.sim.Census(); c != (lenelsim.Census{}) {
			t.Errorf("census %+v, want empty", c)
		}
	})
}

// A DELETE whose answer is lost is repeated by the HTTP layer; the repeat
// meets a record that is gone.
func TestLostDeleteAnswerThenRetryWhateverTheMissingAnswer(t *testing.T) {
	for _, typeName := range []string{"Lnl_Badge", Visitor} {
		t.Run(typeName, func(t *testing.T) {
			eachMissingAnswer(t, nil, func(t *testing.T, e *env) {
				_, p := provisioned(t, e, 1)
				e.sim.AddFault(lenelsim.Fault{Method: "DELETE", TypeName: typeName, DropAfterCommit: true})
				noError(t, "remove with a lost DELETE answer", e.p.RemoveCardholder(t.Context(), p.Cardholder))
				if c := e.sim.Census(); c != (lenelsim.Census{}) {
					t.Errorf("census %+v, want empty", c)
				}
			})
		})
	}
}

// The badge disappears (an administrator deletes it) between Revoke's
// lookup and its change.
func TestBadgeDeletedDuringRevokeWhateverTheMissingAnswer(t *testing.T) {
	eachMissingAnswer(t, nil, func(t *testing.T, e *env) {
		_, p := provisioned(t, e, 1)
		e.sim.AddFault(lenelsim.Fault{Method: "PUT", TypeName: "Lnl_Badge", Before: func() { e.sim.DeleteBadge(p.Credential.ID) }})
		noError(t, "revoke", e.p.Revoke(t.Context(), p.Credential))
	})
}

// An assignment disappears between Revoke's listing and its DELETE.
func TestAssignmentDeletedDuringRevokeWhateverTheMissingAnswer(t *testing.T) {
	eachMissingAnswer(t, func(c *Config) { c.DeleteAssignmentsOnRevoke = true }, func(t *testing.T, e *env) {
		_, p := provisioned(t, e, 1)
		e.sim.AddFault(lenelsim.Fault{Method: "DELETE", TypeName: "Lnl_AccessLevelAssignment",
			Before: func() { _ = e.sim.SetBadgeLevels(p.Credential.ID, "2") }})
		noError(t, "revoke", e.p.Revoke(t.Context(), p.Credential))
		if c := e.sim.Census(); c.Assignments != 0 {
			t.Errorf("census %+v, want no assignment left", c)
		}
	})
}

// An answer that looks like "missing" while the record is still there is
// an error, never NotFound (which a caller could read as gone).
func TestNotFoundAnswerForExistingTargetIsAnError(t *testing.T) {
	faults := map[string]lenelsim.Fault{
		"invented-code": {Status: 404, Code: lenelsim.CodeInstanceNotFound, Message: "not found"},
		"html-404":      {Status: 404, RawBody: "<html><body>Not Found</body></html>"},
	}
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOpts{opts: []Option{WithRetry(-1, 0, 0)}})
			ctx := t.Context()
			_, p := provisioned(t, e, 1)

			put := f
			put.Method, put.TypeName = "PUT", "Lnl_Badge"
			e.sim.AddFault(put)
			err := e.p.Revoke(ctx, p.Credential)
			if err == nil || acs.CodeOf(err) == acs.NotFound {
				t.Errorf("revoke answered %s while the badge exists: %v, want an error other than not found", name, err)
			}
			if !e.opens(p.Credential, "1", e.clock.Now()) {
				t.Fatal("the badge was changed after all")
			}

			del := f
			del.Method, del.TypeName = "DELETE", "Lnl_Badge"
			e.sim.AddFault(del)
			err = e.p.RemoveCardholder(ctx, p.Cardholder)
			if err == nil || acs.CodeOf(err) == acs.NotFound {
				t.Errorf("remove answered %s while the badge exists: %v, want an error other than not found", name, err)
			}
			if e.sim.Census().Badges != 1 {
				t.Fatal("the badge was deleted after all")
			}
			// Once OnGuard behaves, the retry succeeds.
			noError(t, "revoke retried", e.p.Revoke(ctx, p.Credential))
			noError(t, "remove retried", e.p.RemoveCardholder(ctx, p.Cardholder))
		})
	}
}

// A server error for a record that still exists stays retryable.
func TestServerErrorForExistingTargetStaysRetryable(t *testing.T) {
	e := newEnv(t, envOpts{opts: []Option{WithRetry(-1, 0, 0)}})
	_, p := provisioned(t, e, 1)
	e.sim.AddFault(lenelsim.Fault{Method: "DELETE", TypeName: "Lnl_Badge", Status: 500})
	err := e.p.RemoveCardholder(t.Context(), p.Cardholder)
	if !acs.IsRetryable(err) {
		t.Errorf("remove answered 500 while the badge exists: %v, want a retryable error", err)
	}
}

// When RemoveCardholder succeeds, no name or e-mail of the visitor is left
// at OnGuard, even when OnGuard acknowledges a DELETE it did not carry out.
func TestRemoveCardholderLeavesNoPersonalData(t *testing.T) {
	for _, personType := range []string{Visitor, Cardholder} {
		t.Run(personType, func(t *testing.T) {
			e := newEnv(t, envOpts{cfg: func(c *Config) { c.PersonType = personType }})
			ctx := t.Context()
			g, p := provisioned(t, e, 1)
			e.sim.AddFault(lenelsim.Fault{Method: "DELETE", TypeName: personType, Status: 200, RawBody: `{"version":"1.0"}`})
			err := e.p.RemoveCardholder(ctx, p.Cardholder)
			if err == nil && leftBehind(e, personType, g) {
				t.Error("RemoveCardholder succeeded while the person record with the visitor's name is still there")
			}
			noError(t, "remove", e.p.RemoveCardholder(ctx, p.Cardholder))
			if leftBehind(e, personType, g) {
				t.Error("the visitor's name or e-mail is still stored")
			}
		})
	}
}

func leftBehind(e *env, personType string, g acs.Grant) bool {
	for _, in := range e.sim.Instances(personType) {
		for _, v := range in {
			if s, ok := v.(string); ok && (strings.Contains(s, g.Person.LastName) || strings.Contains(s, g.Person.Email) || s == g.Person.ExternalID) {
				return true
			}
		}
	}
	return false
}

// Revoke never answers NotFound for a configuration OnGuard lacks: a
// caller could read it as "the badge is gone".
func TestRevokeWithUnknownStatusIsNotNotFound(t *testing.T) {
	e := newEnv(t, envOpts{})
	_, p := provisioned(t, e, 1)
	cfg := e.cfg
	cfg.RevokedStatus = "Handed back"
	q, err := New(cfg, WithClock(e.clock.Now), WithKeepAlive(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close(context.Background()) })
	if err := q.Revoke(t.Context(), p.Credential); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("revoke with a revoked status OnGuard lacks: %v, want invalid argument", err)
	}
	if !e.opens(p.Credential, "1", e.clock.Now()) {
		t.Error("badge changed")
	}
}
