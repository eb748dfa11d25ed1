package acshttp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// reader collects what a ManualReader holds.
type reader struct {
	t *testing.T
	r *sdkmetric.ManualReader
}

func newReader(t *testing.T) (*reader, *sdkmetric.MeterProvider) {
	r := sdkmetric.NewManualReader()
	return &reader{t: t, r: r}, sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
}

// metric returns the metric named name, failing when it is absent or
// has another unit.
func (r *reader) metric(name, unit string) metricdata.Metrics {
	r.t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.r.Collect(context.Background(), &rm); err != nil {
		r.t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				if m.Unit != unit {
					r.t.Errorf("%s has unit %q, want %q", name, m.Unit, unit)
				}
				return m
			}
		}
	}
	r.t.Fatalf("no metric %s recorded", name)
	return metricdata.Metrics{}
}

// has reports whether set holds every attribute of want.
func has(set attribute.Set, want map[attribute.Key]string) bool {
	for k, v := range want {
		if got, ok := set.Value(k); !ok || got.String() != v {
			return false
		}
	}
	return true
}

// count sums the counter points matching want.
func (r *reader) count(name, unit string, want map[attribute.Key]string) int64 {
	r.t.Helper()
	sum, ok := r.metric(name, unit).Data.(metricdata.Sum[int64])
	if !ok {
		r.t.Fatalf("%s is not an int64 sum", name)
	}
	var n int64
	for _, dp := range sum.DataPoints {
		if has(dp.Attributes, want) {
			n += dp.Value
		}
	}
	return n
}

// histogram returns the count and sum of the histogram points matching want.
func (r *reader) histogram(name, unit string, want map[attribute.Key]string) (uint64, float64) {
	r.t.Helper()
	h, ok := r.metric(name, unit).Data.(metricdata.Histogram[float64])
	if !ok {
		r.t.Fatalf("%s is not a float64 histogram", name)
	}
	var n uint64
	var sum float64
	for _, dp := range h.DataPoints {
		if has(dp.Attributes, want) {
			n += dp.Count
			sum += dp.Sum
		}
	}
	return n, sum
}

// scripted answers each attempt with the next of its answers after the
// answer's delay (fake time inside a synctest bubble).
type scripted struct {
	mu      sync.Mutex
	answers []answer
}

type answer struct {
	delay  time.Duration
	status int
	body   string
	header http.Header
	err    error
}

func (s *scripted) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	a := s.answers[0]
	if len(s.answers) > 1 {
		s.answers = s.answers[1:]
	}
	s.mu.Unlock()
	time.Sleep(a.delay)
	if a.err != nil {
		return nil, a.err
	}
	h := a.header
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{StatusCode: a.status, Header: h, Body: io.NopCloser(strings.NewReader(a.body)), Request: r}, nil
}

func telemetryClient(t *testing.T, rt http.RoundTripper, mutate func(*Config)) (*Client, *reader, *tracetest.SpanRecorder) {
	t.Helper()
	rd, mp := newReader(t)
	rec := tracetest.NewSpanRecorder()
	u, _ := url.Parse("https://acs.example.com/api")
	cfg := Config{Provider: "test", BaseURL: u, HTTPClient: &http.Client{Transport: rt},
		RetryWaitMin: 100 * time.Millisecond, RetryWaitMax: time.Second,
		MeterProvider: mp, TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, rd, rec
}

// A 429 answered in 50 ms, retried after its Retry-After, then a 200
// answered in 250 ms: two attempts measured by status class, one error
// coded rate limited, one over-limit answer from the ACS, one span.
func TestRequestMetricsCountAnOverLimitAnswerAndItsRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &scripted{answers: []answer{
			{delay: 50 * time.Millisecond, status: 429, header: http.Header{"Retry-After": {"1"}}},
			{delay: 250 * time.Millisecond, status: 200, body: "{}"},
		}}
		c, rd, rec := telemetryClient(t, rt, nil)
		resp, err := c.Do(t.Context(), Request{Op: "list", Method: http.MethodGet, Path: "/groups", Idempotent: true})
		if err != nil || resp.Status != 200 || resp.Attempts != 2 {
			t.Fatalf("Do: %v %+v", err, resp)
		}
		base := map[attribute.Key]string{AttrProvider: "test", AttrOperation: "list", attrMethod: "GET"}
		with := func(k attribute.Key, v string) map[attribute.Key]string {
			m := map[attribute.Key]string{k: v}
			for bk, bv := range base {
				m[bk] = bv
			}
			return m
		}
		if n, sum := rd.histogram(MetricRequestDuration, "s", with(AttrStatusClass, "4xx")); n != 1 || sum != 0.05 {
			t.Errorf("4xx attempts: %d, %g s; want 1 of 0.05 s", n, sum)
		}
		if n, sum := rd.histogram(MetricRequestDuration, "s", with(AttrStatusClass, "2xx")); n != 1 || sum != 0.25 {
			t.Errorf("2xx attempts: %d, %g s; want 1 of 0.25 s", n, sum)
		}
		if n := rd.count(MetricRequestErrors, "{error}", map[attribute.Key]string{AttrProvider: "test", AttrCode: "rate limited"}); n != 1 {
			t.Errorf("rate-limited errors: %d, want 1", n)
		}
		if n := rd.count(MetricOverLimit, "{answer}", map[attribute.Key]string{AttrProvider: "test", AttrOperation: "list", AttrLimit: "acs"}); n != 1 {
			t.Errorf("over-limit answers: %d, want 1", n)
		}
		spans := rec.Ended()
		if len(spans) != 1 || spans[0].Name() != "test list" || spans[0].SpanKind().String() != "client" {
			t.Fatalf("spans %v, want one client span \"test list\"", spans)
		}
		attrs := attribute.NewSet(spans[0].Attributes()...)
		if !has(attrs, map[attribute.Key]string{AttrProvider: "test", AttrOperation: "list", attrStatus: "200", AttrAttempts: "2", attrServer: "acs.example.com"}) {
			t.Errorf("span attributes %v", spans[0].Attributes())
		}
		for _, kv := range spans[0].Attributes() {
			if strings.Contains(kv.Value.String(), "/groups") {
				t.Errorf("span carries the path: %v", kv)
			}
		}
	})
}

// Failures without an answer, a throttled 403 and the client's own pace.
func TestRequestMetricsClassifyFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &scripted{answers: []answer{
			{delay: 10 * time.Millisecond, err: errors.New("connection refused")},
			{status: 503},
			{status: 403, body: "Developer Over Qps"},
			{status: 404},
		}}
		c, rd, rec := telemetryClient(t, rt, func(cfg *Config) {
			cfg.RetryMax = -1
			cfg.Throttled = func(status int, body []byte) bool { return status == 403 && strings.Contains(string(body), "Over Qps") }
			cfg.Limiter = NewLimiter(1, 1)
		})
		ctx := t.Context()
		for range 4 {
			_, _ = c.Do(ctx, Request{Op: "get", Method: http.MethodGet, Idempotent: true})
			time.Sleep(time.Second) // the limiter's next token
		}
		short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
		_, _ = c.Do(short, Request{Op: "get", Method: http.MethodGet}) // the token is there
		_, err := c.Do(short, Request{Op: "get", Method: http.MethodGet})
		cancel()
		if !isPace(err) {
			t.Fatalf("second request within the second: %v, want a PaceError", err)
		}
		for code, want := range map[string]int64{"unavailable": 2, "rate limited": 1, "not found": 2} {
			if n := rd.count(MetricRequestErrors, "{error}", map[attribute.Key]string{AttrCode: code}); n != want {
				t.Errorf("errors coded %s: %d, want %d", code, n, want)
			}
		}
		if n := rd.count(MetricOverLimit, "{answer}", map[attribute.Key]string{AttrLimit: "acs"}); n != 1 {
			t.Errorf("throttled answers: %d, want 1", n)
		}
		if n := rd.count(MetricOverLimit, "{answer}", map[attribute.Key]string{AttrLimit: "client"}); n != 1 {
			t.Errorf("requests the client's limit could not send: %d, want 1", n)
		}
		if n, _ := rd.histogram(MetricRequestDuration, "s", map[attribute.Key]string{AttrStatusClass: "none"}); n != 1 {
			t.Errorf("attempts without an answer: %d, want 1", n)
		}
		spans := rec.Ended()
		if len(spans) != 6 || spans[0].Status().Code != codes.Error || spans[0].Status().Description != "unavailable" {
			t.Fatalf("%d spans; the first's status %+v", len(spans), spans[0].Status())
		}
	})
}

// Without providers nothing is measured, and no global provider is used.
func TestNoProvidersMeasureNothing(t *testing.T) {
	u, _ := url.Parse("https://acs.example.com")
	c, err := New(Config{Provider: "test", BaseURL: u, HTTPClient: &http.Client{Transport: &scripted{answers: []answer{{status: 200}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if c.tel.on {
		t.Fatal("telemetry on without a provider")
	}
	if _, err := c.Do(t.Context(), Request{Op: "get", Method: http.MethodGet}); err != nil {
		t.Fatal(err)
	}
}
