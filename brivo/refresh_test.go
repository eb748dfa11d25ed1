package brivo

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/acsbridge/acsbridge/brivo/brivosim"
)

// TestAccessLevelsConcurrentOrder: the pages after the first, read
// several at a time, give the groups in Brivo's order, as one page after
// the other does.
func TestAccessLevelsConcurrentOrder(t *testing.T) {
	seq := newEnv(t, nil, WithConcurrency(1))
	par := newEnv(t, nil, WithConcurrency(6))
	for i := range 1234 { // 13 pages of 100
		seq.sim.AddGroup(fmt.Sprintf("Group %04d", i))
		par.sim.AddGroup(fmt.Sprintf("Group %04d", i))
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
		t.Fatalf("%d groups read concurrently differ from the %d read in sequence", len(got), len(want))
	}
}

// TestAccessLevelsFailedPage: a failure of any page fails the refresh:
// an error and no list.
func TestAccessLevelsFailedPage(t *testing.T) {
	for _, offset := range []string{"0", "100", "600", "1200"} {
		t.Run(offset, func(t *testing.T) {
			sim := brivosim.New()
			for i := range 1234 {
				sim.AddGroup(fmt.Sprintf("Group %04d", i))
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == brivosim.APIPrefix+"/groups" && r.URL.Query().Get("offset") == offset {
					http.Error(w, `{"code":400,"message":"refused"}`, http.StatusBadRequest)
					return
				}
				sim.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			p, err := New(simConfig(srv.URL), testOptions(WithConcurrency(6))...)
			if err != nil {
				t.Fatal(err)
			}
			levels, err := p.AccessLevels(context.Background())
			if err == nil || levels != nil {
				t.Fatalf("levels %d, err %v; want no list and an error", len(levels), err)
			}
		})
	}
}
