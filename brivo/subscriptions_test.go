package brivo

import (
	"strings"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
)

func TestEventSubscriptionLifecycle(t *testing.T) {
	e, _ := clockEnv(t)
	ctx := t.Context()
	sub := EventSubscription{URL: "https://vms.example.com/brivo/events", ErrorEmail: "ops@example.com",
		Criteria: []Criterion{{Type: CriterionSite, Value: 7833522}, {Type: CriterionUser, Op: "NE", Value: 23361}}}
	created, err := e.p.CreateEventSubscription(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == "" || created.Name != DefaultSubscriptionName || len(created.Criteria) != 2 || created.Criteria[0].Op != "EQ" {
		t.Fatalf("created %+v", created)
	}
	body := bodies(e.sim.Requests())["POST /event-subscriptions"]
	if !strings.Contains(body, `{"criteriaType":"SITE","criteriaOperationType":"EQ","criteriaValue":7833522}`) ||
		!strings.Contains(body, `"errorEmail":"ops@example.com"`) {
		t.Errorf("request body %s", body)
	}

	// Again: found, nothing created.
	e.sim.ResetRequests()
	again, err := e.p.CreateEventSubscription(ctx, sub)
	if err != nil || again.ID != created.ID {
		t.Fatalf("again: %+v %v", again, err)
	}
	wantCalls(t, apiCalls(e.sim.Requests()), "GET /event-subscriptions?filter=name__eq%3Aacsbridge+door+events&offset=0&pageSize=100")

	// Other criteria: the subscription is updated in place.
	e.sim.ResetRequests()
	sub.Criteria = []Criterion{{Type: CriterionAccessPoint, Value: 408023598}}
	updated, err := e.p.CreateEventSubscription(ctx, sub)
	if err != nil || updated.ID != created.ID || len(updated.Criteria) != 1 || updated.Criteria[0].Type != CriterionAccessPoint {
		t.Fatalf("updated %+v %v", updated, err)
	}
	if calls := apiCalls(e.sim.Requests()); len(calls) != 2 || calls[1] != "PUT /event-subscriptions/"+created.ID {
		t.Errorf("calls %q", calls)
	}
	list, err := e.p.EventSubscriptions(ctx)
	if err != nil || len(list) != 1 || list[0].URL != sub.URL {
		t.Errorf("listed %+v %v", list, err)
	}
	for range 2 {
		if err := e.p.DeleteEventSubscription(ctx, created.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.sim.EventSubscriptions()); n != 0 {
		t.Errorf("%d subscriptions left", n)
	}
}

// A lost answer to the creation is recovered by looking it up: one
// subscription, not two.
func TestEventSubscriptionLostAnswer(t *testing.T) {
	for _, kind := range []brivosim.FaultKind{brivosim.FaultDropAfterCommit, brivosim.FaultDropBeforeCommit} {
		e, _ := clockEnv(t)
		e.sim.AddFault(brivosim.Fault{Method: "POST", Path: "/event-subscriptions", Kind: kind})
		got, err := e.p.CreateEventSubscription(t.Context(), EventSubscription{Name: "n", URL: "https://vms.example.com/hook"})
		if err != nil {
			t.Fatal(err)
		}
		if subs := e.sim.EventSubscriptions(); len(subs) != 1 || got.ID == "" {
			t.Errorf("fault %d: %d subscriptions, got %+v", kind, len(subs), got)
		}
	}
}

func TestEventSubscriptionValidation(t *testing.T) {
	e, _ := clockEnv(t)
	ok := "https://vms.example.com/hook"
	for _, tc := range []struct {
		name string
		sub  EventSubscription
	}{
		{"empty URL", EventSubscription{}},
		{"relative URL", EventSubscription{URL: "/hook"}},
		{"plain http", EventSubscription{URL: "http://vms.example.com/hook"}},
		{"credentials in URL", EventSubscription{URL: "https://user:secret@vms.example.com/hook"}},
		{"fragment", EventSubscription{URL: ok + "#x"}},
		{"ftp", EventSubscription{URL: "ftp://vms.example.com/hook"}},
		{"long URL", EventSubscription{URL: ok + "?" + strings.Repeat("a", 2100)}},
		{"control in name", EventSubscription{Name: "a\nb", URL: ok}},
		{"bad e-mail", EventSubscription{URL: ok, ErrorEmail: "ops"}},
		{"unknown criterion", EventSubscription{URL: ok, Criteria: []Criterion{{Type: "DOOR", Value: 1}}}},
		{"unknown operation", EventSubscription{URL: ok, Criteria: []Criterion{{Type: CriterionSite, Op: "GT", Value: 1}}}},
		{"no site ID", EventSubscription{URL: ok, Criteria: []Criterion{{Type: CriterionSite}}}},
		{"audit 2", EventSubscription{URL: ok, Criteria: []Criterion{{Type: CriterionAudit, Value: 2}}}},
	} {
		if _, err := e.p.CreateEventSubscription(t.Context(), tc.sub); acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	for _, id := range []string{"", "abc", "-1", "1/2"} {
		if err := e.p.DeleteEventSubscription(t.Context(), id); acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("delete %q: %v", id, err)
		}
	}
	if n := len(e.sim.Requests()); n != 0 {
		t.Errorf("%d requests for invalid input", n)
	}
	// Loopback http is allowed (tests, a local relay); so is any http
	// with WithAllowInsecureHTTP.
	if _, err := e.p.CreateEventSubscription(t.Context(), EventSubscription{URL: "http://127.0.0.1:8080/hook"}); err != nil {
		t.Error(err)
	}
	p, err := New(e.cfg, testOptions(WithAllowInsecureHTTP())...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.CreateEventSubscription(t.Context(), EventSubscription{URL: "http://vms.internal/hook"}); err != nil {
		t.Error(err)
	}
}
