package lenel

import (
	"context"
	"fmt"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
)

// TestAccessLevelsConcurrentOrder: the pages after the first, read
// several at a time, give the access levels in the order OpenAccess
// lists them, as one page after the other does.
func TestAccessLevelsConcurrentOrder(t *testing.T) {
	seq := newEnv(t, envOpts{opts: []Option{WithConcurrency(1)}})
	par := newEnv(t, envOpts{opts: []Option{WithConcurrency(6)}})
	for i := range 1234 { // 13 pages of 100
		seq.sim.AddAccessLevel(fmt.Sprintf("Level %04d", i))
		par.sim.AddAccessLevel(fmt.Sprintf("Level %04d", i))
	}
	ctx := context.Background()
	want, err := seq.p.AccessLevels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := par.p.AccessLevels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) < 1234 {
		t.Fatalf("%d levels read concurrently differ from the %d read in sequence", len(got), len(want))
	}
}

// TestAccessLevelsFailedPage: a failure of any page fails the refresh:
// an error and no list.
func TestAccessLevelsFailedPage(t *testing.T) {
	for _, skip := range []int{0, 1, 5, 12} {
		t.Run(fmt.Sprint(skip), func(t *testing.T) {
			e := newEnv(t, envOpts{opts: []Option{WithConcurrency(6)}})
			for i := range 1234 {
				e.sim.AddAccessLevel(fmt.Sprintf("Level %04d", i))
			}
			if _, err := e.p.CredentialFormats(context.Background()); err != nil { // log in
				t.Fatal(err)
			}
			e.sim.AddFault(lenelsim.Fault{Method: "GET", Path: "/instances", TypeName: "Lnl_AccessLevel", Skip: skip, Status: 400,
				Code: "openaccess.general.invalidargument", Message: "refused"})
			levels, err := e.p.AccessLevels(context.Background())
			if err == nil || levels != nil {
				t.Fatalf("levels %d, err %v; want no list and an error", len(levels), err)
			}
			if c := acs.CodeOf(err); c != acs.InvalidArgument && c != acs.Unknown {
				t.Fatalf("code %v: %v", c, err)
			}
		})
	}
}
