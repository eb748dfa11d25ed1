package alta

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// rewriting is a transport that changes requests before sending them, or
// answers them itself when answer returns a response.
type rewriting struct {
	rewrite func(r *http.Request)
	answer  func(r *http.Request) *http.Response
}

func (t rewriting) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.answer != nil {
		if resp := t.answer(r); resp != nil {
			return resp, nil
		}
	}
	if t.rewrite != nil {
		r = r.Clone(r.Context())
		t.rewrite(r)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// groupListing lists the access levels of a simulator holding n more groups
// than its seeds and returns their names and the offsets of the /groups
// pages the server received, in the order received.
func groupListing(t *testing.T, n int, opts ...Option) (names []string, offsets []string, err error) {
	t.Helper()
	e := newEnv(t, nil, opts...)
	for i := range n {
		e.sim.AddGroup(fmt.Sprintf("Group %03d", i))
	}
	levels, err := e.p.AccessLevels(context.Background())
	for _, l := range levels {
		names = append(names, l.Name)
	}
	for _, r := range e.sim.Requests() {
		if strings.HasSuffix(r.Path, "/groups") {
			offsets = append(offsets, r.Query.Get("offset"))
		}
	}
	return names, offsets, err
}

// TestAccessLevelsConcurrentOrder: pages read several at a time give the
// groups in the order of one page after the other, each page once.
func TestAccessLevelsConcurrentOrder(t *testing.T) {
	want, seqOffsets, err := groupListing(t, 330, WithConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 330 || len(seqOffsets) != (len(want)+99)/100 {
		t.Fatalf("one after the other: %d levels in %d pages", len(want), len(seqOffsets))
	}
	for range 5 {
		got, offsets, err := groupListing(t, 330, WithConcurrency(5))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("concurrent listing differs:\n got %v\nwant %v", got, want)
		}
		if len(offsets) != len(seqOffsets) || offsets[0] != "0" {
			t.Fatalf("pages at offsets %v, want the %d of %v, the first one first", offsets, len(seqOffsets), seqOffsets)
		}
	}
}

// TestAccessLevelsFailedPage: a page failing after the first fails the
// whole listing: an error and no list.
func TestAccessLevelsFailedPage(t *testing.T) {
	refuse := rewriting{answer: func(r *http.Request) *http.Response {
		if !strings.HasSuffix(r.URL.Path, "/groups") || r.URL.Query().Get("offset") != "200" {
			return nil
		}
		return &http.Response{StatusCode: http.StatusBadRequest, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"message":"bad offset"}`)), Request: r}
	}}
	names, _, err := groupListing(t, 330, WithConcurrency(4), WithHTTPClient(&http.Client{Transport: refuse}))
	if err == nil || names != nil {
		t.Fatalf("AccessLevels = %d levels, %v; want an error and no list", len(names), err)
	}
}

// TestAccessLevelsShortPages: a server serving fewer items than asked for
// is read page after page from where its pages end, and nothing is
// skipped.
func TestAccessLevelsShortPages(t *testing.T) {
	want, _, err := groupListing(t, 330, WithConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	fifty := rewriting{rewrite: func(r *http.Request) {
		if q := r.URL.Query(); q.Get("limit") == "100" {
			q.Set("limit", "50")
			r.URL.RawQuery = q.Encode()
		}
	}}
	got, offsets, err := groupListing(t, 330, WithConcurrency(4), WithHTTPClient(&http.Client{Transport: fifty}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("listing with pages of 50 differs: %d levels, want %d", len(got), len(want))
	}
	if offsets[1] != "50" || len(offsets) != (len(want)+49)/50 {
		t.Fatalf("pages at offsets %v, want every 50", offsets)
	}
}
