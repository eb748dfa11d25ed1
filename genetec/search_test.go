package genetec_test

import (
	"context"
	"strings"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
)

// TestSearchTooManyResults: a card's name search that finds more
// credentials than the server returns at once (TooManyResults: "42/7"
// also finds 42/70…42/79) is run again page by page, so the card can
// still be provisioned again and revoked; its neighbours stay active.
func TestSearchTooManyResults(t *testing.T) {
	e := newEnv(t, []genetecsim.Option{genetecsim.WithMaxResults(5)}, genetec.WithPageSize(4))
	ctx := context.Background()
	refs := map[uint64]acs.CredentialRef{}
	for i, num := range []uint64{7, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79} {
		g := grant(i)
		g.Card.Number = num
		p, err := e.p.Provision(ctx, g)
		if err != nil {
			t.Fatalf("provision card %d: %v", num, err)
		}
		refs[num] = p.Credential
	}
	again := grant(0)
	again.Card.Number = 7
	before := len(e.sim.Requests())
	p, err := e.p.Provision(ctx, again)
	if err != nil || p.Credential.ID != refs[7].ID {
		t.Fatalf("provision of card 7 again = %v, %v; want its credential %s", p.Credential.ID, err, refs[7].ID)
	}
	paged := 0
	for _, r := range e.sim.Requests()[before:] {
		if strings.Contains(r.Q, "Page=") && strings.Contains(r.Q, "Name=") {
			paged++
		}
	}
	if paged < 3 {
		t.Fatalf("%d paged name searches, want at least 3 (11 matches, pages of 4)", paged)
	}
	if err := e.p.Revoke(ctx, refs[7]); err != nil {
		t.Fatalf("revoke card 7: %v", err)
	}
	h := harness{e}
	for num, ref := range refs {
		opens, err := h.Opens(ctx, ref, genetecsim.SeedLobbyGroup, t0)
		if err != nil {
			t.Fatal(err)
		}
		if opens != (num != 7) {
			t.Errorf("card %d opens: %v, want %v", num, opens, num != 7)
		}
	}
}
