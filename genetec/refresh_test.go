package genetec_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
)

// TestAccessLevelsConcurrentOrder: pages and name reads fetched several
// at a time give the groups in the order of the report, as one after the
// other does, and every group once.
func TestAccessLevelsConcurrentOrder(t *testing.T) {
	seq := newEnv(t, nil, genetec.WithPageSize(50), genetec.WithConcurrency(1))
	for i := range 330 { // 7 pages, each read in one batch of names
		seq.sim.AddGroup(fmt.Sprintf("Group %03d", i))
	}
	ctx := context.Background()
	want, err := seq.p.AccessLevels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 332 {
		t.Fatalf("%d levels one page after the other, want 332", len(want))
	}
	for range 5 {
		// A fresh simulator each time: a request cancelled past the end
		// may reach the server after the call returned.
		par := newEnv(t, nil, genetec.WithPageSize(50), genetec.WithConcurrency(5))
		for i := range 330 {
			par.sim.AddGroup(fmt.Sprintf("Group %03d", i))
		}
		got, err := par.p.AccessLevels(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d levels, want %d", len(got), len(want))
		}
		for i := range got {
			if got[i].Name != want[i].Name { // GUIDs differ between the simulators
				t.Fatalf("level %d is %q, want %q", i, got[i].Name, want[i].Name)
			}
		}
		// 7 pages (the last one not full), at most 4 more asked for past
		// the end, 7 name reads.
		reports, reads := 0, 0
		for _, r := range par.sim.Requests() {
			switch {
			case strings.HasPrefix(r.Path, "report/"):
				reports++
			case r.Path == "entity":
				reads++
			}
		}
		if reports < 7 || reports > 11 || reads != 7 {
			t.Fatalf("%d report pages and %d name reads, want 7–11 and 7", reports, reads)
		}
	}
}

// TestAccessLevelsFailedPart: a failure of a report page or of a name read
// fails the whole refresh: an error and no list.
func TestAccessLevelsFailedPart(t *testing.T) {
	for _, path := range []string{"report/", "entity"} {
		t.Run(strings.TrimSuffix(path, "/"), func(t *testing.T) {
			e := newEnv(t, nil, genetec.WithPageSize(7), genetec.WithConcurrency(4))
			for i := range 130 {
				e.sim.AddGroup(fmt.Sprintf("Group %03d", i))
			}
			// The first request to arrive is one of the first four pages,
			// all needed; every name read is needed. 400 is not retried.
			e.sim.Inject(genetecsim.Fault{Method: "GET", Path: path, Status: 400})
			levels, err := e.p.AccessLevels(context.Background())
			if err == nil || levels != nil {
				t.Fatalf("levels %d, err %v; want no list and an error", len(levels), err)
			}
			if c := acs.CodeOf(err); c != acs.InvalidArgument {
				t.Fatalf("code %v, want InvalidArgument: %v", c, err)
			}
			if !slices.ContainsFunc(e.sim.Requests(), func(r genetecsim.Request) bool { return r.Status == 400 }) {
				t.Fatal("the fault was not met")
			}
		})
	}
}
