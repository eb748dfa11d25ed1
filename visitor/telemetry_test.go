package visitor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/acsbridge/acsbridge/visitor"
)

// metrics reads what a ManualReader holds.
type metrics struct {
	t *testing.T
	r *sdkmetric.ManualReader
}

// find returns the metric named name, failing when it is absent or has
// another unit.
func (m metrics) find(name, unit string) metricdata.Aggregation {
	m.t.Helper()
	var rm metricdata.ResourceMetrics
	if err := m.r.Collect(context.Background(), &rm); err != nil {
		m.t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, x := range sm.Metrics {
			if x.Name == name {
				if x.Unit != unit {
					m.t.Errorf("%s has unit %q, want %q", name, x.Unit, unit)
				}
				return x.Data
			}
		}
	}
	m.t.Fatalf("no metric %s", name)
	return nil
}

// match reports whether set holds every attribute of want ("k=v" pairs).
func match(set attribute.Set, want ...string) bool {
	for _, kv := range want {
		k, v, _ := strings.Cut(kv, "=")
		if got, ok := set.Value(attribute.Key(k)); !ok || got.String() != v {
			return false
		}
	}
	return true
}

// depth is the outbox depth gauge at location hq for op.
func (m metrics) depth(op string) int64 {
	m.t.Helper()
	g := m.find(visitor.MetricOutboxDepth, "{item}").(metricdata.Gauge[int64])
	for _, dp := range g.DataPoints {
		if match(dp.Attributes, "acsbridge.location=hq", "acs.operation="+op) {
			return dp.Value
		}
	}
	m.t.Fatalf("no depth point for %s", op)
	return 0
}

// oldestRevocation is the age gauge at location hq, in seconds.
func (m metrics) oldestRevocation() float64 {
	m.t.Helper()
	g := m.find(visitor.MetricOldestRevocation, "s").(metricdata.Gauge[float64])
	for _, dp := range g.DataPoints {
		if match(dp.Attributes, "acsbridge.location=hq") {
			return dp.Value
		}
	}
	m.t.Fatal("no age point for hq")
	return 0
}

// count sums the counter name (unit unit) over the points matching want.
func (m metrics) count(name, unit string, want ...string) int64 {
	m.t.Helper()
	var n int64
	if s, ok := m.find(name, unit).(metricdata.Sum[int64]); ok {
		for _, dp := range s.DataPoints {
			if match(dp.Attributes, want...) {
				n += dp.Value
			}
		}
	}
	return n
}

func (m metrics) ops(want ...string) int64 {
	m.t.Helper()
	return m.count(visitor.MetricACSOperations, "{operation}", want...)
}

// A scripted visit: a badge provisioned, then returned while the ACS is
// down. The revocation waits in the outbox (depth 1) and the age of the
// oldest pending revocation grows with the clock, every failed attempt is
// counted with its acs code, and once the ACS is back the revocation
// completes and the gauges fall to 0. Reconcile's repair is a finding.
// Spans nest the ACS calls under the Engine's operations, carry no
// personal data, and the log records carry their trace ID.
func TestMetricsAndSpansOfAScriptedVisit(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	rec := tracetest.NewSpanRecorder()
	var logs bytes.Buffer
	f := newFixture(t, visitor.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))),
		visitor.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))),
		visitor.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	m := metrics{t: t, r: reader}

	f.signIn("v1")
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1001"})
	if n := m.ops("acs.operation=provision", "acsbridge.outcome=ok", "acs.provider=memory", "acsbridge.location=hq"); n != 1 {
		t.Errorf("completed provisions: %d, want 1", n)
	}
	if d, age := m.depth("provision"), m.oldestRevocation(); d != 0 || age != 0 {
		t.Errorf("after the provision: depth %d, oldest revocation %g s; want 0, 0", d, age)
	}

	f.acs.SetDown(true)
	if _, err := f.e.ReturnBadge(f.ctx, desk, "v1"); err != nil {
		t.Fatal(err)
	}
	if d, age := m.depth("revoke"), m.oldestRevocation(); d != 1 || age != 0 {
		t.Errorf("revocation during the outage: depth %d, age %g s; want 1, 0", d, age)
	}
	f.clock.Advance(90 * time.Second)
	if d, age := m.depth("revoke"), m.oldestRevocation(); d != 1 || age != 90 {
		t.Errorf("90 s into the outage: depth %d, age %g s; want 1, 90", d, age)
	}
	f.clock.Advance(10 * time.Minute)
	f.drain()
	if age := m.oldestRevocation(); age != 690 {
		t.Errorf("690 s into the outage: age %g s", age)
	}
	if n := m.ops("acs.operation=revoke", "acsbridge.outcome=retry", "acs.code=unavailable"); n != 2 {
		t.Errorf("failed revocation attempts: %d, want 2", n)
	}

	f.acs.SetDown(false)
	f.settle()
	if d, age := m.depth("revoke"), m.oldestRevocation(); d != 0 || age != 0 {
		t.Errorf("after the outage: depth %d, age %g s; want 0, 0", d, age)
	}
	if n := m.ops("acs.operation=revoke", "acsbridge.outcome=ok"); n != 1 {
		t.Errorf("completed revocations: %d, want 1", n)
	}

	f.signIn("v2")
	v2 := f.provision("v2", visitor.ProvisionRequest{BadgeID: "1002"})
	if !f.acs.DeleteCredential(v2.Credentials[0].Ref) {
		t.Fatal("no credential to delete at the ACS")
	}
	if _, err := f.e.Reconcile(f.ctx, "hq"); err != nil {
		t.Fatal(err)
	}
	if n := m.count(visitor.MetricReconcileFindings, "{finding}", "acsbridge.location=hq", "acsbridge.finding=repair"); n != 1 {
		t.Errorf("reconcile repairs: %d, want 1", n)
	}

	checkSpans(t, rec.Ended(), logs.String())
}

// checkSpans checks the nesting and content of the scripted visit's spans
// and the trace IDs of its log records.
func checkSpans(t *testing.T, spans []sdktrace.ReadOnlySpan, logs string) {
	t.Helper()
	byName := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byName[s.Name()] = append(byName[s.Name()], s)
		for _, kv := range s.Attributes() {
			if v := kv.Value.String(); strings.Contains(v, "Ada") || strings.Contains(v, "Lovelace") || strings.Contains(v, "@") {
				t.Errorf("span %s carries personal data in %s: %s", s.Name(), kv.Key, v)
			}
		}
	}
	for _, name := range []string{"visitor.sign_in", "visitor.provision", "visitor.return_badge", "visitor.reconcile", "acs provision", "acs revoke"} {
		if len(byName[name]) == 0 {
			t.Errorf("no span %s (have %v)", name, keys(byName))
		}
	}
	if len(byName["visitor.provision"]) == 0 || len(byName["acs provision"]) == 0 {
		return
	}
	parent, child := byName["visitor.provision"][0], byName["acs provision"][0]
	if child.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Error("the ACS provision is not a child of the Engine's provision")
	}
	if !match(attribute.NewSet(child.Attributes()...), "acsbridge.visit.id=v1", "acs.provider=memory", "acsbridge.location=hq") {
		t.Errorf("ACS span attributes %v", child.Attributes())
	}
	ret := byName["visitor.return_badge"][0].SpanContext().TraceID().String()
	found := false
	for line := range strings.SplitSeq(strings.TrimSpace(logs), "\n") {
		var r struct {
			Msg     string `json:"msg"`
			TraceID string `json:"trace_id"`
		}
		if json.Unmarshal([]byte(line), &r) == nil && strings.Contains(r.Msg, "will retry") && r.TraceID == ret {
			found = true
		}
	}
	if !found {
		t.Errorf("no retry warning carries the return's trace ID %s:\n%s", ret, logs)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Without providers the Engine records nothing and reads no outbox for
// metrics.
func TestNoProvidersNoMetrics(t *testing.T) {
	f := newFixture(t)
	f.signIn("v1")
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1001"})
}

// The outbox gauges' callback holds its Engine weakly: an Engine nobody
// uses any more is collected, and its gauges stop being reported, though
// the MeterProvider lives on.
func TestOutboxGaugesDoNotKeepAnEngineAlive(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	func() {
		newFixture(t, visitor.WithMeterProvider(mp))
		if d := (metrics{t: t, r: reader}).depth("revoke"); d != 0 {
			t.Fatalf("depth %d", d)
		}
	}()
	for range 50 {
		runtime.GC()
		time.Sleep(time.Millisecond)
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		points := 0
		for _, sm := range rm.ScopeMetrics {
			for _, x := range sm.Metrics {
				if g, ok := x.Data.(metricdata.Gauge[int64]); ok && x.Name == visitor.MetricOutboxDepth {
					points += len(g.DataPoints)
				}
			}
		}
		if points == 0 {
			return
		}
	}
	t.Error("the Engine is still reported after it was dropped")
}
