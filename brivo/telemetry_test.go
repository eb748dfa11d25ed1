package brivo

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/acsbridge/acsbridge/acs/acshttp"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
)

// WithMeterProvider and WithTracerProvider reach the HTTP plumbing of both
// of Brivo's clients: a 429 and the gateway's "Developer Over Qps" count as
// over-limit answers of provider brivo, and every request is a span.
func TestTelemetryCountsOverLimitAnswers(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	rec := tracetest.NewSpanRecorder()
	e, _ := clockEnv(t, brivosim.WithRetryAfter(0))
	p, err := New(e.cfg, testOptions(WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))),
		WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))))...)
	if err != nil {
		t.Fatal(err)
	}
	e.sim.AddFault(brivosim.Fault{Method: "GET", Path: "/groups", Kind: brivosim.FaultStatus, Status: 429, Times: 1})
	e.sim.AddFault(brivosim.Fault{Method: "GET", Path: "/groups", Kind: brivosim.FaultOverQPS, Times: 1})
	if err := p.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if m.Name != acshttp.MetricOverLimit || !ok {
				continue
			}
			for _, dp := range sum.DataPoints {
				prov, _ := dp.Attributes.Value(acshttp.AttrProvider)
				op, _ := dp.Attributes.Value(acshttp.AttrOperation)
				lim, _ := dp.Attributes.Value(acshttp.AttrLimit)
				got[prov.String()+" "+op.String()+" "+lim.String()] += dp.Value
			}
		}
	}
	if got["brivo ping acs"] != 2 || len(got) != 1 {
		t.Errorf("over-limit answers %v, want 2 of brivo ping from the ACS", got)
	}
	names := map[string]bool{}
	for _, s := range rec.Ended() {
		names[s.Name()] = true
		for _, kv := range s.Attributes() {
			if v := kv.Value.String(); kv.Key != attribute.Key("server.address") && (v == e.cfg.Password || v == e.cfg.APIKey) {
				t.Errorf("span %s carries a secret in %s", s.Name(), kv.Key)
			}
		}
	}
	if !names["brivo token"] || !names["brivo ping"] {
		t.Errorf("spans %v, want the token request and the ping", names)
	}
}
