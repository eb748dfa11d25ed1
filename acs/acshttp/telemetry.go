package acshttp

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/acsbridge/acsbridge/acs"
)

// ScopeName is the instrumentation scope of the Client's meter and
// tracer.
const ScopeName = "github.com/acsbridge/acsbridge/acs/acshttp"

// The names of the Client's instruments (see the package documentation
// for their units and attributes).
const (
	MetricRequestDuration = "acsbridge.acs.request.duration"
	MetricRequestErrors   = "acsbridge.acs.request.errors"
	MetricOverLimit       = "acsbridge.acs.request.over_limit"
)

// The attribute keys the Client records. Values are names, codes and
// classes only: never a path, a query, a body or a header, which may
// carry personal data or a secret.
const (
	AttrProvider    = attribute.Key("acs.provider")
	AttrOperation   = attribute.Key("acs.operation")
	AttrCode        = attribute.Key("acs.code")
	AttrStatusClass = attribute.Key("acs.status_class")
	AttrLimit       = attribute.Key("acs.limit")
	AttrAttempts    = attribute.Key("acs.attempts")
	attrMethod      = attribute.Key("http.request.method")
	attrStatus      = attribute.Key("http.response.status_code")
	attrServer      = attribute.Key("server.address")
)

// durationBuckets are the histogram's boundaries in seconds: from a fast
// LAN answer to a call near the default 30-second timeout.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// telemetry holds a Client's instruments. on is false when neither a
// meter provider nor a tracer provider was given: then nothing is
// measured and no attribute is built.
type telemetry struct {
	on       bool
	tracer   trace.Tracer
	duration metric.Float64Histogram
	errors   metric.Int64Counter
	overLim  metric.Int64Counter
}

// newTelemetry creates the instruments on mp and the tracer of tp (nil:
// the no-op providers; no global provider is consulted).
func newTelemetry(mp metric.MeterProvider, tp trace.TracerProvider) (*telemetry, error) {
	t := &telemetry{on: mp != nil || tp != nil}
	if mp == nil {
		mp = metricnoop.NewMeterProvider()
	}
	if tp == nil {
		tp = tracenoop.NewTracerProvider()
	}
	t.tracer = tp.Tracer(ScopeName)
	m := mp.Meter(ScopeName)
	var err error
	t.duration, err = m.Float64Histogram(MetricRequestDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of each HTTP attempt to an ACS, retries included, pacing excluded."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		return nil, err
	}
	t.errors, err = m.Int64Counter(MetricRequestErrors, metric.WithUnit("{error}"),
		metric.WithDescription("HTTP attempts to an ACS that failed or were answered with a status of 400 or more, by acs code."))
	if err != nil {
		return nil, err
	}
	t.overLim, err = m.Int64Counter(MetricOverLimit, metric.WithUnit("{answer}"),
		metric.WithDescription("Over-limit answers from an ACS (429 or its own slow-down answer) and requests the client's own rate limit could not send in time."))
	if err != nil {
		return nil, err
	}
	return t, nil
}

// callKey carries the request being sent to the transport, for the
// per-attempt measurements.
type callKey struct{}

// call is what the transport needs to know of the request of an attempt.
type call struct {
	op, method string
}

// startSpan starts the span of one Do call: "<provider> <op>", a client
// span with the provider, operation, method and host.
func (c *Client) startSpan(ctx context.Context, r Request) (context.Context, trace.Span) {
	if !c.tel.on {
		return ctx, trace.SpanFromContext(ctx)
	}
	return c.tel.tracer.Start(ctx, c.cfg.Provider+" "+r.Op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(AttrProvider.String(c.cfg.Provider), AttrOperation.String(r.Op),
			attrMethod.String(r.Method), attrServer.String(c.cfg.BaseURL.Hostname())))
}

// endSpan ends the span of a Do call with its final status or error.
func (c *Client) endSpan(span trace.Span, status, attempts int, err error) {
	if !c.tel.on {
		return
	}
	span.SetAttributes(AttrAttempts.Int(attempts))
	switch {
	case err != nil:
		code := c.failureCode(err)
		span.SetAttributes(AttrCode.String(code.String()))
		span.SetStatus(codes.Error, code.String())
	case status >= 400:
		span.SetAttributes(attrStatus.Int(status), AttrCode.String(CodeForStatus(status).String()))
		span.SetStatus(codes.Error, "HTTP "+strconv.Itoa(status))
	default:
		span.SetAttributes(attrStatus.Int(status))
	}
	span.End()
}

// failureCode is the acs code of a failure to get an answer.
func (c *Client) failureCode(err error) acs.Code {
	return acs.CodeOf(TransportFailure("", "", err))
}

// statusClass is "2xx" … "5xx", or "none" when no answer came.
func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "none"
	}
	return strconv.Itoa(status/100) + "xx"
}

// measure records one attempt: its duration with its status class, an
// error by code when it failed or was answered 400 or more, and an
// over-limit answer.
func (c *Client) measure(ctx context.Context, cl call, start time.Time, resp *http.Response, err error) {
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	base := []attribute.KeyValue{AttrProvider.String(c.cfg.Provider), AttrOperation.String(cl.op)}
	c.tel.duration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(append(base,
		attrMethod.String(cl.method), AttrStatusClass.String(statusClass(status)))...))
	code := acs.Unknown
	switch {
	case err != nil && ctx.Err() != nil:
		return // the caller gave up: not the ACS's error
	case err != nil:
		code = c.failureCode(c.transportError(err))
	case status >= 400:
		code = CodeForStatus(status)
		if status == http.StatusTooManyRequests || c.cfg.Throttled != nil && c.cfg.Throttled(status, peekBody(resp)) {
			code = acs.RateLimited
			c.tel.overLim.Add(ctx, 1, metric.WithAttributes(append(base, AttrLimit.String("acs"))...))
		}
	default:
		return
	}
	c.tel.errors.Add(ctx, 1, metric.WithAttributes(append(base, AttrCode.String(code.String()))...))
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("attempt failed", trace.WithAttributes(AttrCode.String(code.String()), AttrStatusClass.String(statusClass(status))))
	}
}

// paceExceeded records a request the client's own rate limiter could not
// send before its deadline.
func (c *Client) paceExceeded(ctx context.Context, op string) {
	if !c.tel.on {
		return
	}
	c.tel.overLim.Add(context.WithoutCancel(ctx), 1, metric.WithAttributes(AttrProvider.String(c.cfg.Provider),
		AttrOperation.String(op), AttrLimit.String("client")))
}

// measuredTransport measures every attempt that reaches the network (the
// pacing wait excluded).
type measuredTransport struct {
	c    *Client
	next http.RoundTripper
}

// RoundTrip sends r and records the attempt.
func (t *measuredTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	cl, ok := r.Context().Value(callKey{}).(call)
	if !ok || !t.c.tel.on {
		return t.next.RoundTrip(r)
	}
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	t.c.measure(r.Context(), cl, start, resp, err)
	return resp, err
}

// isPace reports whether err is the client's own limiter giving up.
func isPace(err error) bool {
	var pe *PaceError
	return errors.As(err, &pe)
}
