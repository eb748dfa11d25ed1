package visitor

import (
	"context"
	"log/slog"
	"runtime"
	"weak"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/acsbridge/acsbridge/acs"
)

// ScopeName is the instrumentation scope of the Engine's meter and
// tracer.
const ScopeName = "github.com/acsbridge/acsbridge/visitor"

// The names of the Engine's instruments (see the package documentation
// for their units and attributes).
const (
	MetricOutboxDepth       = "acsbridge.outbox.depth"
	MetricOldestRevocation  = "acsbridge.outbox.oldest_revocation.age"
	MetricACSOperations     = "acsbridge.acs.operations"
	MetricReconcileFindings = "acsbridge.reconcile.findings"
)

// The attributes the Engine records: IDs, names and codes only.
const (
	attrLocation  = attribute.Key("acsbridge.location")
	attrOperation = attribute.Key("acs.operation")
	attrProvider  = attribute.Key("acs.provider")
	attrOutcome   = attribute.Key("acsbridge.outcome")
	attrCode      = attribute.Key("acs.code")
	attrKind      = attribute.Key("acsbridge.finding")
	attrVisit     = attribute.Key("acsbridge.visit.id")
	attrItem      = attribute.Key("acsbridge.outbox.item.id")
	attrAttempt   = attribute.Key("acsbridge.outbox.attempt")
	attrOperator  = attribute.Key("acsbridge.operator.id")
)

// outcomeSkipped is the outcome of an outbox item no longer wanted: no
// call was made.
const outcomeSkipped Outcome = "skipped"

// WithMeterProvider records the Engine's metrics (outbox depth, age of the
// oldest pending revocation, ACS operations by outcome, reconciliation
// findings; see the package documentation) on mp. Default: none; the
// global provider is never used. The adapters have options of their own
// for their HTTP metrics.
func WithMeterProvider(mp metric.MeterProvider) Option { return func(e *Engine) { e.meters = mp } }

// WithTracerProvider makes each Engine operation (sign-in, provision, …)
// and each ACS call it makes a span of tp, and adds the trace and span
// IDs to the Engine's log records. Spans carry IDs, names and codes,
// never a visitor's name, e-mail or any secret. Default: none; the global
// provider is never used.
func WithTracerProvider(tp trace.TracerProvider) Option { return func(e *Engine) { e.tracers = tp } }

// telemetry holds the Engine's instruments. on is false when neither
// provider was given: then no attribute is built.
type telemetry struct {
	on       bool
	tracer   trace.Tracer
	acsOps   metric.Int64Counter
	findings metric.Int64Counter
}

// initTelemetry creates the Engine's instruments and registers the
// callback of its outbox gauges. The callback holds the Engine weakly and
// is unregistered when the Engine is garbage-collected, so a long-lived
// MeterProvider does not keep Engines alive.
func (e *Engine) initTelemetry() error {
	mp, tp := e.meters, e.tracers
	e.tel.on = mp != nil || tp != nil
	if tp != nil && e.log.Handler() != slog.DiscardHandler {
		e.log = slog.New(traceHandler{e.log.Handler()})
	}
	if mp == nil {
		mp = metricnoop.NewMeterProvider()
	}
	if tp == nil {
		tp = tracenoop.NewTracerProvider()
	}
	e.tel.tracer = tp.Tracer(ScopeName)
	m := mp.Meter(ScopeName)
	var err error
	if e.tel.acsOps, err = m.Int64Counter(MetricACSOperations, metric.WithUnit("{operation}"),
		metric.WithDescription("ACS operations of the outbox (provision, reprovision, revoke, remove_cardholder) by outcome.")); err != nil {
		return err
	}
	if e.tel.findings, err = m.Int64Counter(MetricReconcileFindings, metric.WithUnit("{finding}"),
		metric.WithDescription("Differences Reconcile found between the store and the ACS, by kind.")); err != nil {
		return err
	}
	depth, err := m.Int64ObservableGauge(MetricOutboxDepth, metric.WithUnit("{item}"),
		metric.WithDescription("ACS operations waiting in the outbox for the ACS's confirmation."))
	if err != nil {
		return err
	}
	age, err := m.Float64ObservableGauge(MetricOldestRevocation, metric.WithUnit("s"),
		metric.WithDescription("Age of the oldest revocation waiting in the outbox; 0 when none waits."))
	if err != nil {
		return err
	}
	if e.meters == nil {
		return nil // nobody collects: no callback, no store reads
	}
	return e.registerOutboxGauges(m, depth, age)
}

// registerOutboxGauges registers the callback of the outbox gauges.
func (e *Engine) registerOutboxGauges(m metric.Meter, depth metric.Int64ObservableGauge, age metric.Float64ObservableGauge) error {
	wp := weak.Make(e)
	reg, err := m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		if e := wp.Value(); e != nil {
			e.observeOutbox(ctx, o, depth, age)
		}
		return nil
	}, depth, age)
	if err != nil {
		return err
	}
	runtime.AddCleanup(e, func(r metric.Registration) { _ = r.Unregister() }, reg)
	return nil
}

// outboxOps are the operations the depth gauge reports, each location
// reporting all of them (0 when none waits) so that every series exists.
var outboxOps = [...]Op{OpProvision, OpReprovision, OpRevoke, OpRemoveCardholder}

// observeOutbox reads the outbox once and reports its depth by location
// and operation, and the age of each location's oldest revocation. A
// store that cannot be read reports nothing this time (and logs why).
func (e *Engine) observeOutbox(ctx context.Context, o metric.Observer, depth metric.Int64ObservableGauge, age metric.Float64ObservableGauge) {
	items, err := e.store.Outbox(ctx, "", 0)
	if err != nil {
		e.log.WarnContext(ctx, "visitor: outbox metrics not collected", "err", err)
		return
	}
	now := e.clock.Now()
	type key struct {
		loc string
		op  Op
	}
	counts := make(map[key]int64)
	oldest := make(map[string]float64)
	for _, it := range items {
		counts[key{it.Location, it.Op}]++
		if it.Op == OpRevoke {
			oldest[it.Location] = max(oldest[it.Location], now.Sub(it.CreatedAt).Seconds())
		}
	}
	for loc := range e.locs {
		for _, op := range outboxOps {
			o.ObserveInt64(depth, counts[key{loc, op}], metric.WithAttributes(attrLocation.String(loc), attrOperation.String(string(op))))
		}
		o.ObserveFloat64(age, oldest[loc], metric.WithAttributes(attrLocation.String(loc)))
	}
}

// countAttempt records the outcome of one ACS call of the outbox whose
// result was recorded: ok, retry (it failed and is tried again), failed
// (given up: a provision refused for good or out of its window) or
// skipped (no longer wanted, no call made).
func (e *Engine) countAttempt(ctx context.Context, it OutboxItem, a attempt, outcome Outcome) {
	if !e.tel.on {
		return
	}
	provider := e.providerName(it.Location)
	switch {
	case a.skipped:
		outcome = outcomeSkipped
	case a.err == nil:
		outcome = OutcomeOK
	}
	attrs := []attribute.KeyValue{attrLocation.String(it.Location), attrProvider.String(provider),
		attrOperation.String(string(it.Op)), attrOutcome.String(string(outcome))}
	if a.err != nil {
		attrs = append(attrs, attrCode.String(acs.CodeOf(a.err).String()))
	}
	e.tel.acsOps.Add(context.WithoutCancel(ctx), 1, metric.WithAttributes(attrs...))
}

// providerName is the name of location's provider ("" when the location
// is not configured here).
func (e *Engine) providerName(location string) string {
	if l := e.locs[location]; l != nil {
		return l.Provider.Name()
	}
	return ""
}

// countFindings records what a reconciliation found.
func (e *Engine) countFindings(ctx context.Context, rep ReconcileReport) {
	if !e.tel.on {
		return
	}
	ctx = context.WithoutCancel(ctx)
	for kind, n := range map[string]int{"orphan": rep.Orphans, "repair": rep.Repairs, "failed": rep.Failed} {
		if n > 0 {
			e.tel.findings.Add(ctx, int64(n), metric.WithAttributes(attrLocation.String(rep.Location), attrKind.String(kind)))
		}
	}
}

// opSpan is the span of one Engine operation or ACS call; the zero value
// (telemetry off) does nothing.
type opSpan struct{ span trace.Span }

// startSpan starts the span name with attrs, a child of ctx's.
func (e *Engine) startSpan(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, opSpan) {
	if !e.tel.on {
		return ctx, opSpan{}
	}
	ctx, sp := e.tel.tracer.Start(ctx, name, trace.WithAttributes(attrs...))
	return ctx, opSpan{sp}
}

// end ends the span with the visit it concerned and its error's code,
// and returns err unchanged.
func (s opSpan) end(visitID string, err error) error {
	if s.span == nil {
		return err
	}
	if visitID != "" {
		s.span.SetAttributes(attrVisit.String(visitID))
	}
	if err != nil {
		code := acs.CodeOf(err).String()
		s.span.SetAttributes(attrCode.String(code))
		s.span.SetStatus(codes.Error, code)
	}
	s.span.End()
	return err
}

// traceHandler adds the trace and span IDs of the record's context to
// every record.
type traceHandler struct{ slog.Handler }

// Handle adds trace_id and span_id when ctx holds a span.
func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the trace IDs on a derived handler.
func (h traceHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(as)}
}

// WithGroup keeps the trace IDs on a derived handler.
func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.Handler.WithGroup(name)}
}
