package genetec_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
)

// entityReads returns, for each GET entity?q= read the server received,
// how many entities it named and the status it was answered with.
func entityReads(sim *genetecsim.Server) (sizes, statuses []int) {
	for _, r := range sim.Requests() {
		if r.Method == "GET" && r.Path == "entity" {
			sizes = append(sizes, strings.Count(r.RawQuery, "entity="))
			statuses = append(statuses, r.Status)
		}
	}
	return sizes, statuses
}

// groupsEnv is a simulator holding n groups beside its two seeds, and a
// Provider reading them one request at a time.
func groupsEnv(t *testing.T, n int, simOpts []genetecsim.Option, opts ...genetec.Option) *env {
	t.Helper()
	e := newEnv(t, simOpts, append([]genetec.Option{genetec.WithConcurrency(1)}, opts...)...)
	for i := range n {
		e.sim.AddGroup(fmt.Sprintf("Group %03d", i))
	}
	return e
}

// TestReadBatchDefault: a refresh of 252 groups reads their names 100 at a
// time.
func TestReadBatchDefault(t *testing.T) {
	e := groupsEnv(t, 250, nil)
	levels, err := e.p.AccessLevels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sizes, _ := entityReads(e.sim)
	if len(levels) != 252 || fmt.Sprint(sizes) != "[100 100 52]" {
		t.Fatalf("%d levels with reads of %v, want 252 with [100 100 52]", len(levels), sizes)
	}
}

// TestReadBatchTooLong: a host refusing a read of 100 entities as too long,
// in each way a Windows host says so, has it read again in halves; the
// next refresh reads 50 at a time from the start, with no refusal.
func TestReadBatchTooLong(t *testing.T) {
	page := func(status int, title string) *genetecsim.Fault {
		return &genetecsim.Fault{Method: "GET", Path: "entity", Times: 1, Status: status,
			ContentType: "text/html", Body: "<html><head><title>" + title + "</title></head><body><h2>" + title + "</h2></body></html>"}
	}
	cases := []struct {
		name  string
		sim   []genetecsim.Option
		fault *genetecsim.Fault
	}{
		{"414 from a URL limit", []genetecsim.Option{genetecsim.WithMaxURL(4000)}, nil},
		{"http.sys 400", nil, page(400, "Bad Request - Request Too Long")},
		{"IIS 404.15", nil, page(404, "HTTP Error 404.15 - Not Found: the request filtering module is configured to deny a request where the query string is too long")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := groupsEnv(t, 250, c.sim)
			if c.fault != nil {
				e.sim.Inject(*c.fault)
			}
			ctx := context.Background()
			levels, err := e.p.AccessLevels(ctx)
			if err != nil {
				t.Fatal(err)
			}
			sizes, statuses := entityReads(e.sim)
			if len(levels) != 252 || sizes[0] != 100 || statuses[0] < 400 || sizes[1] != 50 || statuses[1] != 200 {
				t.Fatalf("%d levels with reads of %v answered %v, want 252, a refused read of 100, then 50", len(levels), sizes, statuses)
			}
			before := len(sizes)
			again, err := e.p.AccessLevels(ctx)
			if err != nil {
				t.Fatal(err)
			}
			sizes, statuses = entityReads(e.sim)
			if len(again) != 252 || fmt.Sprint(sizes[before:]) != "[50 50 50 50 50 2]" || fmt.Sprint(statuses[before:]) != "[200 200 200 200 200 200]" {
				t.Fatalf("second refresh: %d levels with reads of %v answered %v, want 252 read 50 at a time", len(again), sizes[before:], statuses[before:])
			}
			if !strings.Contains(e.logs.String(), "refused a read as too long") {
				t.Fatalf("no warning logged:\n%s", e.logs)
			}
		})
	}
}

// TestReadBatchPlain400: a 400 that does not say "too long" fails the read
// at once; the batch stays as it is.
func TestReadBatchPlain400(t *testing.T) {
	e := groupsEnv(t, 250, nil)
	e.sim.Inject(genetecsim.Fault{Method: "GET", Path: "entity", Times: 1, Status: 400})
	ctx := context.Background()
	if levels, err := e.p.AccessLevels(ctx); err == nil || levels != nil {
		t.Fatalf("AccessLevels = %d levels, %v; want an error", len(levels), err)
	}
	sizes, _ := entityReads(e.sim)
	if fmt.Sprint(sizes) != "[100]" {
		t.Fatalf("reads of %v, want one of 100", sizes)
	}
	if _, err := e.p.AccessLevels(ctx); err != nil {
		t.Fatal(err)
	}
	sizes, _ = entityReads(e.sim)
	if fmt.Sprint(sizes[1:]) != "[100 100 52]" {
		t.Fatalf("reads of %v after the failure, want [100 100 52]", sizes[1:])
	}
}

// TestReadBatchFloor: a host refusing even 10 entities ends the halving at
// 10 with an InvalidArgument error that says why.
func TestReadBatchFloor(t *testing.T) {
	e := groupsEnv(t, 250, []genetecsim.Option{genetecsim.WithMaxURL(300)})
	levels, err := e.p.AccessLevels(context.Background())
	if levels != nil || acs.CodeOf(err) != acs.InvalidArgument || !strings.Contains(fmt.Sprint(err), "too long") {
		t.Fatalf("AccessLevels = %d levels, %v; want InvalidArgument saying too long", len(levels), err)
	}
	sizes, statuses := entityReads(e.sim)
	if fmt.Sprint(sizes) != "[100 50 25 12 10]" || fmt.Sprint(statuses) != "[414 414 414 414 414]" {
		t.Fatalf("reads of %v answered %v, want [100 50 25 12 10] all refused", sizes, statuses)
	}
}

// TestReadBatchOption: WithReadBatch sets the batch; a size below 1 is
// refused by New.
func TestReadBatchOption(t *testing.T) {
	e := groupsEnv(t, 50, nil, genetec.WithReadBatch(20))
	if _, err := e.p.AccessLevels(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sizes, _ := entityReads(e.sim); fmt.Sprint(sizes) != "[20 20 12]" {
		t.Fatalf("reads of %v, want [20 20 12]", sizes)
	}
	_, err := genetec.New(testConfig("http://127.0.0.1:1"), genetec.WithReadBatch(0))
	var ae *acs.Error
	if !errors.As(err, &ae) || ae.Code != acs.InvalidArgument || !strings.Contains(err.Error(), "WithReadBatch") {
		t.Fatalf("New with WithReadBatch(0) = %v, want InvalidArgument naming the option", err)
	}
}
