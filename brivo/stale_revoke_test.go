package brivo

import (
	"strconv"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
)

// TestRevokeAfterLateProvisionReachesTheNewCredential: a process whose
// lease was lost provisions the visit again while another revokes it (the
// gate holds the late provision's first request until the revocation is
// done). The revocation deleted the credential, so the late provision
// creates a new one for the same card and assigns it. The revocation the
// engine then runs (its reference still names the deleted credential)
// must reach the new credential through the card: nothing of the card
// may open after it.
func TestRevokeAfterLateProvisionReachesTheNewCredential(t *testing.T) {
	gt := newGate(2)
	e, clk := twinEnv(t, 0, brivosim.WithSleep(gt.sleep))
	g := testGrant(1, clk.Now(), e.levels()[0])
	first, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	late := e.secondProvider(t)
	e.sim.AddFault(brivosim.Fault{Method: "GET", Path: "/users/*/external", Kind: brivosim.FaultDelay, Delay: time.Nanosecond})
	var lateRes acs.Provisioned
	var lateErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		lateRes, lateErr = late.Provision(t.Context(), g)
	}()
	<-gt.entered // the late provision is at Brivo, before it has looked
	if err := e.p.Revoke(t.Context(), first.Credential); err != nil {
		t.Fatal(err)
	}
	gt.release()
	<-done
	if lateErr != nil {
		t.Fatalf("the late provision: %v", lateErr)
	}
	if lateRes.Credential.ID == first.Credential.ID {
		t.Fatalf("the late provision reused credential %s: the interleaving was not exercised", lateRes.Credential.ID)
	}
	// The revocation queued for the credential runs with the reference
	// of the provision the engine recorded.
	if err := e.p.Revoke(t.Context(), first.Credential); err != nil {
		t.Fatal(err)
	}
	for _, c := range e.sim.Credentials() {
		if e.sim.Opens(strconv.FormatInt(c.ID, 10), g.AccessLevels[0], clk.Now()) {
			t.Errorf("credential %d (user %d) still opens after the revocation", c.ID, c.UserID)
		}
	}
}
