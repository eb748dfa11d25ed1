package brivo

import (
	"strconv"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
)

// goneCase is one way of making a target disappear before a revoke or
// removal that must then succeed.
type goneCase struct {
	name string
	run  func(t *testing.T, e *env, p acs.Provisioned) error
}

var goneCases = []goneCase{
	{"revoke twice", func(t *testing.T, e *env, p acs.Provisioned) error {
		if err := e.p.Revoke(t.Context(), p.Credential); err != nil {
			t.Fatalf("first revoke: %v", err)
		}
		return e.p.Revoke(t.Context(), p.Credential)
	}},
	{"revoke after removal", func(t *testing.T, e *env, p acs.Provisioned) error {
		if err := e.p.RemoveCardholder(t.Context(), p.Cardholder); err != nil {
			t.Fatalf("remove: %v", err)
		}
		return e.p.Revoke(t.Context(), p.Credential)
	}},
	{"revoke by credential ID after removal", func(t *testing.T, e *env, p acs.Provisioned) error {
		if err := e.p.RemoveCardholder(t.Context(), p.Cardholder); err != nil {
			t.Fatalf("remove: %v", err)
		}
		return e.p.Revoke(t.Context(), acs.CredentialRef{ID: p.Credential.ID})
	}},
	{"revoke by credential ID after revoke", func(t *testing.T, e *env, p acs.Provisioned) error {
		if err := e.p.Revoke(t.Context(), p.Credential); err != nil {
			t.Fatalf("first revoke: %v", err)
		}
		return e.p.Revoke(t.Context(), acs.CredentialRef{ID: p.Credential.ID})
	}},
	{"remove twice", func(t *testing.T, e *env, p acs.Provisioned) error {
		if err := e.p.RemoveCardholder(t.Context(), p.Cardholder); err != nil {
			t.Fatalf("first remove: %v", err)
		}
		return e.p.RemoveCardholder(t.Context(), p.Cardholder)
	}},
	{"remove by ID twice", func(t *testing.T, e *env, p acs.Provisioned) error {
		ref := acs.CardholderRef{ID: p.Cardholder.ID}
		if err := e.p.RemoveCardholder(t.Context(), ref); err != nil {
			t.Fatalf("first remove: %v", err)
		}
		return e.p.RemoveCardholder(t.Context(), ref)
	}},
	{"lost unassign answer", func(t *testing.T, e *env, p acs.Provisioned) error {
		e.sim.AddFault(brivosim.Fault{Method: "DELETE", Path: "/users/*/credentials/*", Kind: brivosim.FaultDropAfterCommit})
		return e.p.Revoke(t.Context(), p.Credential)
	}},
	{"lost credential delete answer", func(t *testing.T, e *env, p acs.Provisioned) error {
		e.sim.AddFault(brivosim.Fault{Method: "DELETE", Path: "/credentials/*", Kind: brivosim.FaultDropAfterCommit})
		return e.p.Revoke(t.Context(), p.Credential)
	}},
	{"lost user delete answer", func(t *testing.T, e *env, p acs.Provisioned) error {
		e.sim.AddFault(brivosim.Fault{Method: "DELETE", Path: "/users/*", Kind: brivosim.FaultDropAfterCommit})
		return e.p.RemoveCardholder(t.Context(), p.Cardholder)
	}},
	{"removed behind our back", func(t *testing.T, e *env, p acs.Provisioned) error {
		if err := e.sim.DeleteUser(mustID(p.Cardholder.ID)); err != nil {
			t.Fatal(err)
		}
		if err := e.p.Revoke(t.Context(), p.Credential); err != nil {
			return err
		}
		return e.p.RemoveCardholder(t.Context(), p.Cardholder)
	}},
}

// Revoking or removing what is already gone succeeds, however Brivo says
// "missing": the adapter asks whether the target still exists instead of
// trusting the answer's code.
func TestGoneIsGoneWhateverTheAnswer(t *testing.T) {
	for _, style := range brivosim.MissingStyles() {
		for _, c := range goneCases {
			t.Run(style.String()+"/"+c.name, func(t *testing.T) {
				e, clk := clockEnv(t, brivosim.WithMissingStyle(style))
				level := e.levels()[0]
				p, err := e.p.Provision(t.Context(), testGrant(1, clk.Now(), level))
				if err != nil {
					t.Fatal(err)
				}
				if err := c.run(t, e, p); err != nil {
					t.Fatalf("got %v, want success", err)
				}
				if e.sim.Opens(p.Credential.ID, level, clk.Now()) {
					t.Error("the credential still opens")
				}
			})
		}
	}
}

// An answer the adapter cannot classify, while the target still exists,
// is an error, and never NotFound: the caller must not take it for gone.
func TestUncertainAnswerWhileTargetExists(t *testing.T) {
	type tc struct {
		name   string
		fault  brivosim.Fault
		remove bool
	}
	var cases []tc
	for _, status := range []int{400, 404, 409, 500} {
		for _, f := range []struct {
			method, path string
			remove       bool
		}{
			{"GET", "/users/*/credentials", false},
			{"DELETE", "/users/*/credentials/*", false},
			{"GET", "/users/*/credentials", true},
			{"DELETE", "/users/*/credentials/*", true},
			{"DELETE", "/users/*", true},
		} {
			op := "revoke"
			if f.remove {
				op = "remove"
			}
			cases = append(cases, tc{name: op + "/" + f.method + " " + f.path + "/" + itoa(status),
				fault:  brivosim.Fault{Method: f.method, Path: f.path, Kind: brivosim.FaultStatus, Status: status, Times: -1},
				remove: f.remove})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, clk := clockEnv(t)
			level := e.levels()[0]
			p, err := e.p.Provision(t.Context(), testGrant(1, clk.Now(), level))
			if err != nil {
				t.Fatal(err)
			}
			e.sim.AddFault(c.fault)
			if c.remove {
				err = e.p.RemoveCardholder(t.Context(), p.Cardholder)
			} else {
				err = e.p.Revoke(t.Context(), p.Credential)
			}
			e.sim.ClearFaults()
			if err == nil {
				t.Fatal("succeeded while the target still exists")
			}
			if acs.CodeOf(err) == acs.NotFound {
				t.Errorf("error %v is NotFound while the target still exists", err)
			}
			if _, ok := e.sim.User(p.Cardholder.ExternalID); !ok {
				t.Fatal("the user is gone: the fault did not apply")
			}
		})
	}
}

// The external-ID lookup answered by something other than Brivo (an HTML
// 404 from a proxy) does not make a revoke or a removal by external ID
// succeed: they ask Brivo another way (who holds the card, the user
// listing) and succeed only by doing the work, or fail when those answers
// are refused too.
func TestRevokeByExternalIDNeedsBrivosOwnNotFound(t *testing.T) {
	for _, others := range []bool{true, false} {
		name := "other questions answered"
		if !others {
			name = "other questions refused too"
		}
		t.Run(name, func(t *testing.T) {
			e, clk := clockEnv(t)
			level := e.levels()[0]
			p, err := e.p.Provision(t.Context(), testGrant(1, clk.Now(), level))
			if err != nil {
				t.Fatal(err)
			}
			e.sim.AddFault(brivosim.Fault{Method: "GET", Path: "/users/*/external", Kind: brivosim.FaultHTMLNotFound, Times: -1})
			if !others {
				e.sim.AddFault(brivosim.Fault{Method: "GET", Path: "/credentials", Kind: brivosim.FaultHTMLNotFound, Times: -1})
				e.sim.AddFault(brivosim.Fault{Method: "GET", Path: "/users", Kind: brivosim.FaultHTMLNotFound, Times: -1})
			}
			ref := acs.CredentialRef{CardholderExternalID: p.Cardholder.ExternalID, Card: p.Credential.Card}
			err = e.p.Revoke(t.Context(), ref)
			switch opens := e.sim.Opens(p.Credential.ID, level, clk.Now()); {
			case others && (err != nil || opens):
				t.Fatalf("revoke by external ID behind a proxy's 404, the card's holder answered: %v, opens %v", err, opens)
			case !others && (err == nil || acs.CodeOf(err) == acs.NotFound || !opens):
				t.Fatalf("revoke by external ID behind a proxy's 404: %v (opens %v), want an error other than NotFound", err, opens)
			}
			err = e.p.RemoveCardholder(t.Context(), acs.CardholderRef{ExternalID: p.Cardholder.ExternalID})
			_, kept := e.sim.User(p.Cardholder.ExternalID)
			switch {
			case others && (err != nil || kept):
				t.Fatalf("remove by external ID behind a proxy's 404, the user listing answered: %v, user kept %v", err, kept)
			case !others && (err == nil || !kept):
				t.Fatalf("remove by external ID behind a proxy's 404 succeeded (%v) or removed the user (%v)", err, !kept)
			}
		})
	}
}

// RemoveCardholder leaves no name or e-mail of the visitor at Brivo: the
// user is deleted, and so are its credentials, the mobile pass whose
// reference ID is the e-mail included. A pass credential that cannot be
// deleted fails the removal, so it is retried.
func TestRemoveCardholderLeavesNoPersonalData(t *testing.T) {
	for _, failDelete := range []bool{false, true} {
		name := "deleted"
		if failDelete {
			name = "pass delete refused"
		}
		t.Run(name, func(t *testing.T) {
			e, clk := clockEnv(t)
			g := testGrant(1, clk.Now(), e.levels()[0])
			p, err := e.p.Provision(t.Context(), g)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.p.IssueMobilePass(t.Context(), p.Cardholder, g.Person.Email, clk.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if failDelete {
				e.sim.AddFault(brivosim.Fault{Method: "DELETE", Path: "/credentials/*", Kind: brivosim.FaultStatus, Status: 500, Times: -1})
				if err := e.p.RemoveCardholder(t.Context(), p.Cardholder); err == nil {
					t.Fatal("removal succeeded while the pass credential holding the e-mail could not be deleted")
				}
				e.sim.ClearFaults()
			}
			if err := e.p.RemoveCardholder(t.Context(), p.Cardholder); err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{g.Person.FirstName, g.Person.LastName, g.Person.Email, g.Person.ExternalID} {
				if hits := e.sim.FindText(s); len(hits) > 0 {
					t.Errorf("%q still stored at Brivo: %v", s, hits)
				}
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// Deleting an event subscription twice succeeds however Brivo says
// "missing"; an uncertain answer while it exists is an error.
func TestDeleteSubscriptionGoneIsGone(t *testing.T) {
	for _, style := range brivosim.MissingStyles() {
		t.Run(style.String(), func(t *testing.T) {
			e, _ := clockEnv(t, brivosim.WithMissingStyle(style))
			sub, err := e.p.CreateEventSubscription(t.Context(), EventSubscription{URL: "https://vms.example.com/brivo/hook"})
			if err != nil {
				t.Fatal(err)
			}
			e.sim.AddFault(brivosim.Fault{Method: "DELETE", Path: "/event-subscriptions/*", Kind: brivosim.FaultStatus, Status: 404})
			if err := e.p.DeleteEventSubscription(t.Context(), sub.ID); err == nil || acs.CodeOf(err) == acs.NotFound {
				t.Fatalf("404 while it exists: %v", err)
			}
			for range 2 {
				if err := e.p.DeleteEventSubscription(t.Context(), sub.ID); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
