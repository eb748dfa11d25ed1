package visitor_test

import (
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/wiegand"
)

// One tracer provider given to the Engine and to an adapter: the HTTP
// requests of a provision are children of the Engine's ACS call, itself a
// child of the operator's Provision, all in one trace.
func TestOneTraceFromOperationToHTTPRequests(t *testing.T) {
	ctx := t.Context()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	clock := visitor.NewManualClock(t0)
	srv := httptest.NewServer(genetecsim.New(genetecsim.WithClock(clock.Now)))
	t.Cleanup(srv.Close)
	p, err := genetec.New(genetec.Config{
		BaseURL: srv.URL + genetecsim.DefaultBasePath, Username: genetecsim.DefaultUser,
		Password: genetecsim.DefaultPassword, ApplicationID: genetecsim.DefaultApplicationID,
	}, genetec.WithClock(clock.Now), genetec.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	pol := visitor.Policy{
		Types:          map[string]visitor.VisitorType{"guest": {AccessLevels: []string{genetecsim.SeedLobbyGroup}, AccessDuration: 8 * time.Hour}},
		DefaultType:    "guest",
		OperatorGroups: map[string][]string{"reception": {genetecsim.SeedLobbyGroup}},
	}
	e, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{ID: "hq", Provider: p, Policy: pol}},
		visitor.WithClock(clock), visitor.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := e.Pool("hq")
	if _, err := pool.Add(ctx, badge.Badge{ID: strconv.Itoa(1042), Name: "Visitor", Card: badge.Card{Format: wiegand.H10301, Facility: 42, Number: 1042}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.SignIn(ctx, desk, visitor.SignInRequest{VisitID: "visit-1", Location: "hq", Visitor: ada}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Provision(ctx, desk, "visit-1", visitor.ProvisionRequest{BadgeID: "1042"}); err != nil {
		t.Fatal(err)
	}
	var op, call sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		switch s.Name() {
		case "visitor.provision":
			op = s
		case "acs provision":
			call = s
		}
	}
	if op == nil || call == nil || call.Parent().SpanID() != op.SpanContext().SpanID() {
		t.Fatalf("no Engine provision with its ACS call as a child")
	}
	requests := 0
	for _, s := range rec.Ended() {
		if s.Parent().SpanID() == call.SpanContext().SpanID() {
			requests++
			if s.SpanContext().TraceID() != op.SpanContext().TraceID() || s.SpanKind().String() != "client" {
				t.Errorf("request span %s is not a client span of the operation's trace", s.Name())
			}
		}
	}
	if requests == 0 {
		t.Error("the adapter's HTTP requests are not children of the ACS call")
	}
}
