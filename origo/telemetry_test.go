package origo

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/acsbridge/acsbridge/acs/acshttp"
	"github.com/acsbridge/acsbridge/origo/origosim"
)

// WithMeterProvider and WithTracerProvider reach the HTTP plumbing of both
// Origo hosts: every request is a span of provider origo, none carries the
// client secret, and the requests are measured.
func TestTelemetry(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	rec := tracetest.NewSpanRecorder()
	e := newEnv(t, nil, WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))),
		WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))))
	if err := e.iss.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range rec.Ended() {
		names[s.Name()] = true
		for _, kv := range s.Attributes() {
			if kv.Value.String() == origosim.DefaultClientSecret {
				t.Errorf("span %s carries the client secret in %s", s.Name(), kv.Key)
			}
		}
	}
	if !names["origo token"] || !names["origo ping"] {
		t.Errorf("spans %v, want the token request and the ping", names)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			found = found || m.Name == acshttp.MetricRequestDuration
		}
	}
	if !found {
		t.Errorf("no %s metric recorded", acshttp.MetricRequestDuration)
	}
}
