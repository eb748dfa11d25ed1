package visitor_test

import (
	"context"
	"fmt"
	"log"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/wiegand"
)

// The application chooses the OpenTelemetry SDK and hands the Engine its
// MeterProvider (an adapter takes the same provider through its own
// WithMeterProvider). Here a ManualReader stands in for an exporter: a
// revocation queued while the ACS is down shows in the outbox depth and
// the age of the oldest pending revocation.
func ExampleWithMeterProvider() {
	ctx := context.Background()
	reader := sdkmetric.NewManualReader()
	clock := visitor.NewManualClock(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	acsys := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}})
	engine, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{ID: "hq", Provider: acsys, Policy: visitor.Policy{
		Types:          map[string]visitor.VisitorType{"guest": {AccessLevels: []string{"lobby"}, AccessDuration: 8 * time.Hour}},
		DefaultType:    "guest",
		OperatorGroups: map[string][]string{"reception": {"lobby"}},
	}}}, visitor.WithClock(clock), visitor.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	if err != nil {
		log.Fatal(err)
	}
	desk := visitor.Operator{ID: "alice", Groups: []string{"reception"}}
	if _, err := engine.SignIn(ctx, desk, visitor.SignInRequest{VisitID: "visit-1", Location: "hq",
		Visitor: visitor.Visitor{FirstName: "Ada", LastName: "Lovelace"}}); err != nil {
		log.Fatal(err)
	}
	pool, _ := engine.Pool("hq")
	if _, err := pool.Add(ctx, badge.Badge{ID: "1042", Name: "Visitor 42", Card: badge.Card{Format: wiegand.H10301, Facility: 12, Number: 1042}}); err != nil {
		log.Fatal(err)
	}
	if _, err := engine.Provision(ctx, desk, "visit-1", visitor.ProvisionRequest{BadgeID: "1042"}); err != nil {
		log.Fatal(err)
	}
	acsys.SetDown(true)
	if _, err := engine.SignOut(ctx, desk, "visit-1", visitor.ViaDesk); err != nil {
		log.Fatal(err)
	}
	clock.Advance(2 * time.Minute)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		log.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Gauge[int64]:
				for _, dp := range data.DataPoints {
					if op, _ := dp.Attributes.Value("acs.operation"); dp.Value > 0 {
						fmt.Printf("%s{%s} = %d %s\n", m.Name, op.AsString(), dp.Value, m.Unit)
					}
				}
			case metricdata.Gauge[float64]:
				for _, dp := range data.DataPoints {
					fmt.Printf("%s = %g %s\n", m.Name, dp.Value, m.Unit)
				}
			}
		}
	}
	// Output:
	// acsbridge.outbox.depth{revoke} = 1 {item}
	// acsbridge.outbox.oldest_revocation.age = 120 s
}
