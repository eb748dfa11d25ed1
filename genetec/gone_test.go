package genetec_test

import (
	"context"
	"strings"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
)

// missingModes are the two ways the simulator answers a request naming an
// entity that does not exist: the documented one (InvalidOperation, the
// reason in the message) and the simulator's own code.
var missingModes = []struct {
	name string
	mode genetecsim.MissingEntity
}{
	{"documented", genetecsim.MissingInvalidOperation},
	{"simulator code", genetecsim.MissingUnknownEntity},
}

// eachMissingMode runs fn once per missing-entity answer, each with a
// fresh simulator and provider.
func eachMissingMode(t *testing.T, fn func(t *testing.T, e *env), opts ...genetec.Option) {
	for _, m := range missingModes {
		t.Run(m.name, func(t *testing.T) {
			fn(t, newEnv(t, []genetecsim.Option{genetecsim.WithMissingEntity(m.mode)}, opts...))
		})
	}
}

// TestConformanceDocumentedErrors runs the kit against a simulator that
// answers a missing entity the documented way.
func TestConformanceDocumentedErrors(t *testing.T) {
	acstest.Run(t, func(t *testing.T) acstest.Harness {
		return harness{newEnv(t, []genetecsim.Option{genetecsim.WithMissingEntity(genetecsim.MissingInvalidOperation)})}
	})
}

func TestRevokeTwiceEitherAnswer(t *testing.T) {
	eachMissingMode(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		p, err := e.p.Provision(ctx, grant(1))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if err := e.p.Revoke(ctx, p.Credential); err != nil {
				t.Fatalf("revoke #%d: %v", i+1, err)
			}
		}
		// By cardholder and card, once the credential is gone.
		if err := e.p.Revoke(ctx, acs.CredentialRef{CardholderID: p.Cardholder.ID, Card: p.Credential.Card}); err != nil {
			t.Fatalf("revoke by cardholder ID and card: %v", err)
		}
		if _, ok := e.sim.Credential(p.Credential.ID); ok {
			t.Fatal("credential still exists")
		}
	})
}

func TestRevokeAfterRemoveEitherAnswer(t *testing.T) {
	eachMissingMode(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		g := grant(1)
		p, err := e.p.Provision(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.p.RemoveCardholder(ctx, p.Cardholder); err != nil {
			t.Fatal(err)
		}
		for _, ref := range []acs.CredentialRef{
			p.Credential,
			{ID: p.Credential.ID},
			{CardholderID: p.Cardholder.ID, Card: g.Card},
			{CardholderID: p.Cardholder.ID, CardholderExternalID: g.Person.ExternalID, Card: g.Card},
			{CardholderExternalID: g.Person.ExternalID, Card: g.Card},
		} {
			if err := e.p.Revoke(ctx, ref); err != nil {
				t.Errorf("revoke %+v after the cardholder was removed: %v", ref, err)
			}
		}
	})
}

func TestRemoveTwiceEitherAnswer(t *testing.T) {
	eachMissingMode(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		g := grant(1)
		p, err := e.p.Provision(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range []acs.CardholderRef{p.Cardholder, p.Cardholder, {ID: p.Cardholder.ID}, {ExternalID: g.Person.ExternalID}} {
			if err := e.p.RemoveCardholder(ctx, ref); err != nil {
				t.Errorf("remove %+v: %v", ref, err)
			}
		}
		if c := e.sim.Census(); c != (genetecsim.Census{}) {
			t.Fatalf("census %+v", c)
		}
	})
}

// TestLostDeleteEitherAnswer loses the answer to a DELETE that was
// carried out: the HTTP layer's retry, or the caller's next call, is told
// the entity is missing, which is the success it was after.
func TestLostDeleteEitherAnswer(t *testing.T) {
	ctx := context.Background()
	t.Run("retried by the HTTP layer", func(t *testing.T) {
		eachMissingMode(t, func(t *testing.T, e *env) {
			p, err := e.p.Provision(ctx, grant(1))
			if err != nil {
				t.Fatal(err)
			}
			e.sim.Inject(genetecsim.Fault{Method: "DELETE", DropAfterCommit: true})
			if err := e.p.Revoke(ctx, p.Credential); err != nil {
				t.Fatalf("revoke with a lost DELETE response: %v", err)
			}
			e.sim.Inject(genetecsim.Fault{Method: "DELETE", DropAfterCommit: true})
			if err := e.p.RemoveCardholder(ctx, p.Cardholder); err != nil {
				t.Fatalf("remove with a lost DELETE response: %v", err)
			}
			if c := e.sim.Census(); c != (genetecsim.Census{}) {
				t.Fatalf("census %+v", c)
			}
		})
	})
	t.Run("retried by the caller", func(t *testing.T) {
		eachMissingMode(t, func(t *testing.T, e *env) {
			p, err := e.p.Provision(ctx, grant(1))
			if err != nil {
				t.Fatal(err)
			}
			e.sim.Inject(genetecsim.Fault{Method: "DELETE", DropAfterCommit: true})
			err = e.p.Revoke(ctx, p.Credential)
			if !acs.IsRetryable(err) {
				t.Fatalf("revoke with a lost DELETE response and no retry: %v, want a retryable error", err)
			}
			if err := e.p.Revoke(ctx, p.Credential); err != nil {
				t.Fatalf("revoke again: %v", err)
			}
		}, genetec.WithRetry(-1, 0, 0))
	})
}

// TestGoneIsAskedNotAssumed: an answer claiming the entity is missing is
// not believed while the Web SDK says the entity exists, and an answer
// about existence the adapter cannot read decides nothing.
func TestGoneIsAskedNotAssumed(t *testing.T) {
	ctx := context.Background()
	eachMissingMode(t, func(t *testing.T, e *env) {
		p, err := e.p.Provision(ctx, grant(1))
		if err != nil {
			t.Fatal(err)
		}
		lie := &genetecsim.Failure{SdkErrorCode: "InvalidOperation", Message: "Unable to find entity " + hex(p.Credential.ID)}
		e.sim.Inject(genetecsim.Fault{Method: "DELETE", Fail: lie})
		err = e.p.Revoke(ctx, p.Credential)
		if err == nil || !acs.IsRetryable(err) {
			t.Fatalf("DELETE said missing, entity exists: got %v, want a retryable error", err)
		}
		if _, ok := e.sim.Credential(p.Credential.ID); !ok {
			t.Fatal("credential gone")
		}
		// A refusal for another reason is returned as it was classified.
		deny := &genetecsim.Failure{SdkErrorCode: "InvalidOperation", Message: "The user does not have the privilege to delete this entity"}
		e.sim.Inject(genetecsim.Fault{Method: "DELETE", Fail: deny})
		err = e.p.Revoke(ctx, p.Credential)
		if acs.CodeOf(err) != acs.PermissionDenied || !strings.Contains(err.Error(), "privilege") {
			t.Fatalf("refused DELETE: got %v, want PermissionDenied", err)
		}
		// The credential is gone but the existence check cannot be read:
		// no success is assumed.
		if err := e.p.Revoke(ctx, p.Credential); err != nil {
			t.Fatal(err)
		}
		e.sim.Inject(genetecsim.Fault{Path: "entity/exists", Status: 400})
		if err := e.p.Revoke(ctx, p.Credential); err == nil {
			t.Fatal("revoke succeeded although existence could not be checked")
		}
		if err := e.p.Revoke(ctx, p.Credential); err != nil {
			t.Fatalf("revoke once the check answers: %v", err)
		}
	})
}

// TestExistsAnswers feeds every plausible shape of the existence check's
// answer to a revocation whose credential is gone: "absent" shapes end
// it successfully, "present" and unreadable ones do not.
func TestExistsAnswers(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		body string
		gone bool
	}{
		{`{"Rsp":{"Status":"Ok","Result":false}}`, true},
		{`{"Rsp":{"Status":"Ok","Result":"False"}}`, true},
		{`{"Rsp":{"Status":"Ok","Result":{"Exists":false}}}`, true},
		{`{"Rsp":{"Status":"Ok","Result":{"exists":"false"}}}`, true},
		{`{"Rsp":{"Status":"Ok","Result":{"Result":false}}}`, true},
		{"\xEF\xBB\xBF" + `{"Rsp":{"Status":"Ok","Result":false}}`, true},
		{`{"Rsp":{"Status":"Ok","Result":true}}`, false},
		{`{"Rsp":{"Status":"Ok","Result":{"Exists":true}}}`, false},
		{`{"Rsp":{"Status":"Ok"}}`, false},
		{`{"Rsp":{"Status":"Ok","Result":null}}`, false},
		{`{"Rsp":{"Status":"Ok","Result":{"Guid":"x"}}}`, false},
		{`{"Rsp":{"Status":"Fail","Result":{"SdkErrorCode":"InvalidOperation","Message":"Unable to find entity"}}}`, false},
		{`<rsp status="ok"><Exists>false</Exists></rsp>`, false},
	} {
		t.Run(c.body, func(t *testing.T) {
			e := newEnv(t, []genetecsim.Option{genetecsim.WithMissingEntity(genetecsim.MissingInvalidOperation)})
			ref := acs.CredentialRef{ID: ghost}
			e.sim.Inject(genetecsim.Fault{Path: "entity/exists", Status: 200, Body: c.body, ContentType: "text/json", Times: 10})
			err := e.p.Revoke(ctx, ref)
			if (err == nil) != c.gone {
				t.Fatalf("got %v, want gone=%v", err, c.gone)
			}
		})
	}
}

// TestProvisionUnknownLevelEitherAnswer: an access level the Security
// Center does not have is NotFound, however the read refuses it.
func TestProvisionUnknownLevelEitherAnswer(t *testing.T) {
	eachMissingMode(t, func(t *testing.T, e *env) {
		g := grant(1, "0badc0de-0000-4000-8000-00000000f00d")
		before := e.sim.Census()
		_, err := e.p.Provision(context.Background(), g)
		if acs.CodeOf(err) != acs.NotFound || !strings.Contains(err.Error(), "0badc0de-0000-4000-8000-00000000f00d") {
			t.Fatalf("got %v, want NotFound naming the level", err)
		}
		if c := e.sim.Census(); c != before {
			t.Fatalf("census %+v, before %+v", c, before)
		}
	})
}

// ghostSearch makes the next name search answer the GUIDs it would, plus
// one of an entity that no longer exists: the read that follows names an
// entity deleted after the search, whatever the server answers then.
func ghostSearch(e *env, found ...string) {
	body := `{"Rsp":{"Status":"Ok","Result":[`
	for _, g := range found {
		body += `{"Guid":"` + g + `"},`
	}
	body += `{"Guid":"` + ghost + `"}]}}`
	e.sim.Inject(genetecsim.Fault{Method: "GET", Path: "report/EntityConfiguration", Status: 200, Body: body, ContentType: "text/json"})
}

const ghost = "0badc0de-0000-4000-8000-00000000f00d"

// TestVanishedEntityDuringLookupEitherAnswer: an entity found by a search
// and deleted before the read is left out, however the read refuses it.
func TestVanishedEntityDuringLookupEitherAnswer(t *testing.T) {
	eachMissingMode(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		g := grant(1)
		ghostSearch(e) // the cardholder search of a new visitor
		p, err := e.p.Provision(ctx, g)
		if err != nil {
			t.Fatalf("provision: %v", err)
		}
		ghostSearch(e, p.Credential.ID) // the credential search
		if err := e.p.Revoke(ctx, acs.CredentialRef{CardholderID: p.Cardholder.ID, Card: g.Card}); err != nil {
			t.Fatalf("revoke: %v", err)
		}
		if _, ok := e.sim.Credential(p.Credential.ID); ok {
			t.Fatal("credential not revoked")
		}
		ghostSearch(e, p.Cardholder.ID) // the cardholder search
		if err := e.p.RemoveCardholder(ctx, acs.CardholderRef{ExternalID: g.Person.ExternalID}); err != nil {
			t.Fatalf("remove: %v", err)
		}
		if _, ok := e.sim.Cardholder(p.Cardholder.ID); ok {
			t.Fatal("cardholder not removed")
		}
	})
}

// TestMissingClaimRetriedOnce: a read refused as naming a missing entity
// that the Web SDK says exists (a stale session cache) is read again once.
func TestMissingClaimRetriedOnce(t *testing.T) {
	eachMissingMode(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		g := grant(1)
		p, err := e.p.Provision(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		claim := &genetecsim.Failure{SdkErrorCode: "InvalidOperation", Message: "Unable to find entity " + hex(p.Credential.ID)}
		e.sim.Inject(genetecsim.Fault{Method: "GET", Path: "entity", Fail: claim})
		if err := e.p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: g.Person.ExternalID, Card: g.Card}); err != nil {
			t.Fatal(err)
		}
		if _, ok := e.sim.Credential(p.Credential.ID); ok {
			t.Fatal("credential not revoked")
		}
	})
}

// TestOmittedEntityIsNotGone: a read answered Ok without one of the
// entities asked for (a Partial answer, a null Result) proves nothing: the
// Web SDK is asked, and an entity that exists is not reported removed.
func TestOmittedEntityIsNotGone(t *testing.T) {
	eachMissingMode(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		g := grant(1)
		p, err := e.p.Provision(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		omit := genetecsim.Fault{Method: "GET", Path: "entity", Status: 200, ContentType: "text/json",
			Body: `{"Rsp":{"Status":"Ok","Result":null}}`}
		passExists := genetecsim.Fault{Path: "entity/exists", Times: 10}

		e.sim.Inject(passExists)
		e.sim.Inject(omit)
		if err := e.p.RemoveCardholder(ctx, p.Cardholder); err == nil {
			t.Fatal("remove succeeded on an answer that omitted the cardholder")
		}
		e.sim.ClearFaults()
		// Revocation by external ID and card: the read returns the
		// cardholder but omits the credential.
		e.sim.Inject(passExists)
		omit.Body = `{"Rsp":{"Status":"Partial","Result":[{"Guid":"` + p.Cardholder.ID + `","EntityType":"Cardholder","Name":"Ada Lovelace [visit-1]"}]}}`
		e.sim.Inject(omit)
		if err := e.p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: g.Person.ExternalID, Card: g.Card}); err == nil {
			t.Fatal("revoke succeeded on an answer that omitted the credential")
		}
		e.sim.ClearFaults()
		if !e.sim.Opens(p.Credential.ID, genetecsim.SeedLobbyGroup, t0) {
			t.Fatal("credential changed")
		}
		// Once the answers are whole, both succeed.
		if err := e.p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: g.Person.ExternalID, Card: g.Card}); err != nil {
			t.Fatal(err)
		}
		if err := e.p.RemoveCardholder(ctx, p.Cardholder); err != nil {
			t.Fatal(err)
		}
	})
}
