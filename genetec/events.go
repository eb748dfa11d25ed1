package genetec

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// Defaults of EventOptions.
const (
	// DefaultKeepAliveTimeout is how long the event stream may stay
	// silent before it is reopened. The Web SDK's KeepAlive interval is
	// not documented; a public client treats 5 s of silence as a dead
	// stream, so 30 s leaves a wide margin.
	DefaultKeepAliveTimeout = 30 * time.Second
	// DefaultBackoffMin and DefaultBackoffMax bound the wait before
	// reconnecting.
	DefaultBackoffMin = time.Second
	DefaultBackoffMax = time.Minute
	// DefaultLookback is how far back Events starts with an empty cursor.
	DefaultLookback = 24 * time.Hour
	// DefaultReportWindow is the longest time range of one DoorActivity
	// request (activity reports are not pageable and slow on long ranges).
	DefaultReportWindow = time.Hour
)

// Event types subscribed to, as the SDK's EventType enumeration names them.
const (
	eventGranted = "AccessGranted"
	eventRefused = "AccessRefused"
)

const (
	subscription = "event(Door," + eventGranted + "),event(Door," + eventRefused + ")"
	boundary     = "--GENETECBOUNDARY"
	// reportSlack extends the catch-up past the adapter's clock, for a
	// server whose clock is slightly ahead.
	reportSlack = 5 * time.Minute
	// closeTimeout bounds the closeconnection request sent on the way out.
	closeTimeout = 10 * time.Second
	// maxLine bounds one line of the stream (and one JSON part).
	maxLine = 1 << 20
	// streamBuffer is the read buffer of the stream: with one line being
	// handled, the most of the stream the adapter holds.
	streamBuffer = 16 << 10
	// seenCapacity is how many recent event keys are remembered to drop
	// an event the stream and the catch-up report both return.
	seenCapacity = 4096
)

// EventOptions tunes Events. Zero fields keep their defaults.
type EventOptions struct {
	// KeepAliveTimeout is how long the stream may stay silent (no event
	// and no KeepAlive line) before it is taken for dead and reopened
	// (default DefaultKeepAliveTimeout).
	KeepAliveTimeout time.Duration
	// BackoffMin and BackoffMax bound the wait before reconnecting; it
	// doubles after each attempt that received nothing (defaults
	// DefaultBackoffMin and DefaultBackoffMax).
	BackoffMin, BackoffMax time.Duration
	// Lookback is how far back Events starts when the cursor is empty
	// (default DefaultLookback).
	Lookback time.Duration
	// ReportWindow is the longest time range one DoorActivity request
	// covers (default DefaultReportWindow); a range the server answers
	// with TooManyResults is halved down to one second.
	ReportWindow time.Duration
	// LiveOnly skips the catch-up from the DoorActivity report after
	// (re)connecting: only events that happen while the stream is
	// subscribed are delivered.
	LiveOnly bool
}

func (e EventOptions) withDefaults() (EventOptions, error) {
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"KeepAliveTimeout", &e.KeepAliveTimeout, DefaultKeepAliveTimeout},
		{"BackoffMin", &e.BackoffMin, DefaultBackoffMin},
		{"BackoffMax", &e.BackoffMax, DefaultBackoffMax},
		{"Lookback", &e.Lookback, DefaultLookback},
		{"ReportWindow", &e.ReportWindow, DefaultReportWindow},
	} {
		switch {
		case *d.v < 0:
			return e, fmt.Errorf("EventOptions.%s is negative", d.name)
		case *d.v == 0:
			*d.v = d.def
		}
	}
	if e.BackoffMax < e.BackoffMin {
		return e, errors.New("EventOptions.BackoffMax is below BackoffMin")
	}
	if e.ReportWindow < time.Second {
		return e, errors.New("EventOptions.ReportWindow is below one second")
	}
	return e, nil
}

// timers is how Events waits: Sleep for the reconnect backoff, AfterFunc
// for the KeepAlive watchdog. Providers use the runtime's timers
// (realTimers); tests set a fake through export_test.go so that nothing
// waits on wall-clock time.
type timers interface {
	// Sleep waits d, or until ctx ends and then returns its error.
	Sleep(ctx context.Context, d time.Duration) error
	// AfterFunc calls f in its own goroutine after d unless stop is
	// called first; stop reports whether it prevented the call.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type realTimers struct{}

func (realTimers) Sleep(ctx context.Context, d time.Duration) error { return acshttp.Sleep(ctx, d) }

func (realTimers) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// errStalled is the cause given to a stream's context when the watchdog
// fires.
var errStalled = errors.New("event stream silent")

// fnError carries the caller's error out of the delivery loop.
type fnError struct{ err error }

func (e *fnError) Error() string { return e.err.Error() }

// Events implements acs.EventSource over the Web SDK event stream: see
// "Door events" in the package documentation for the requests, the
// cursor and what is guaranteed. It delivers access granted and access
// refused events of every door to fn, one at a time, until ctx ends
// (an error with code Canceled) or fn returns an error (returned as is).
// An invalid cursor is an InvalidArgument error before any request;
// credentials or privileges the Web SDK refuses end it with that error;
// transport failures, 5xx answers and a silent stream are retried with
// backoff for as long as ctx lasts.
func (p *Provider) Events(ctx context.Context, cursor string, fn func(acs.DoorEvent) error) error {
	const op = "events"
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	if fn == nil {
		return acs.Errorf(op, Name, acs.InvalidArgument, "nil event function")
	}
	pos, err := parseCursor(cursor)
	if err != nil {
		return acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if cursor == "" {
		pos.lo = p.now().Add(-p.events.Lookback).Unix()
	}
	r := &eventRun{p: p, fn: fn, pos: pos, seen: newSeenSet(seenCapacity)}
	return r.run(ctx)
}

// eventRun is the state of one Events call.
type eventRun struct {
	p    *Provider
	fn   func(acs.DoorEvent) error
	pos  position
	seen *seenSet
}

func (r *eventRun) run(ctx context.Context) error {
	const op = "events"
	p := r.p
	backoff := acshttp.Backoff{Min: p.events.BackoffMin, Max: p.events.BackoffMax}
	for attempt := 1; ; attempt++ {
		progressed, err := r.connect(ctx)
		if cerr := ctx.Err(); cerr != nil {
			return acs.Wrap(op, Name, acs.Canceled, cerr)
		}
		if err == nil {
			err = acs.Errorf(op, Name, acs.Unavailable, "the event stream ended")
		}
		var fe *fnError
		if errors.As(err, &fe) {
			return fe.err
		}
		if !acs.IsRetryable(err) {
			return err
		}
		if progressed {
			backoff.Reset()
		}
		delay := backoff.Next()
		p.log.WarnContext(ctx, "genetec: event stream interrupted; reconnecting", "error", err, "attempt", attempt, "delay", delay)
		if err := p.timers.Sleep(ctx, delay); err != nil {
			return acs.Wrap(op, Name, acs.Canceled, err)
		}
	}
}

// connect runs one connection: open the stream, subscribe, catch up from
// the report, then deliver from the stream until it fails. It reports
// whether anything arrived on the stream after the subscription, and
// always returns an error.
func (r *eventRun) connect(ctx context.Context) (bool, error) {
	p := r.p
	connCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s, err := p.openStream(connCtx, cancel)
	if err != nil {
		return false, err
	}
	defer s.close(ctx)
	if err := p.subscribe(ctx); err != nil {
		return false, err
	}
	if !p.events.LiveOnly {
		if err := r.catchUp(ctx); err != nil {
			return false, err
		}
	}
	return r.pump(ctx, connCtx, s)
}

func (p *Provider) subscribe(ctx context.Context) error {
	const op = "events"
	env, err := p.do(ctx, call{op: op, method: http.MethodGet, path: "/events/subscribe", q: subscription})
	if err != nil {
		return err
	}
	if !isOk(env.Status) {
		return acs.Errorf(op, Name, acs.Unknown, "subscribing to door events answered %s", env.Status)
	}
	return nil
}

// eventStream is one open GET events response.
type eventStream struct {
	p      *Provider
	id     guid
	body   io.ReadCloser
	br     *bufio.Reader
	parts  partParser
	line   []byte // a line longer than the buffer, being assembled
	closed bool
}

// watchedBody arms the KeepAlive watchdog around every read of the
// stream, so that only time spent waiting for the server counts, never
// time spent in the caller's function.
type watchedBody struct {
	rc     io.ReadCloser
	timers timers
	d      time.Duration
	fire   func()
}

func (w *watchedBody) Read(b []byte) (int, error) {
	stop := w.timers.AfterFunc(w.d, w.fire)
	n, err := w.rc.Read(b)
	stop()
	return n, err
}

func (w *watchedBody) Close() error { return w.rc.Close() }

// openStream sends GET events and reads the ConnectionId line. The
// watchdog covers the wait for the answer as well.
func (p *Provider) openStream(ctx context.Context, cancel context.CancelCauseFunc) (*eventStream, error) {
	const op = "events"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/events", nil)
	if err != nil {
		return nil, acs.Wrap(op, Name, acs.InvalidArgument, errors.New(p.http.Redact(err.Error())))
	}
	req.Header.Set("Authorization", p.auth)
	req.Header.Set("Accept", "text/json")
	fire := func() { cancel(errStalled) }
	stop := p.timers.AfterFunc(p.events.KeepAliveTimeout, fire)
	resp, err := p.stream.Do(req)
	stop()
	if err != nil {
		return nil, p.streamError(ctx, err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		_, derr := p.decode(op, &acshttp.Response{Status: resp.StatusCode, Header: resp.Header, Body: body})
		if derr == nil {
			derr = acs.Errorf(op, Name, acs.Unknown, "the Web SDK answered HTTP %d to GET events", resp.StatusCode)
		}
		return nil, derr
	}
	wb := &watchedBody{rc: resp.Body, timers: p.timers, d: p.events.KeepAliveTimeout, fire: fire}
	s := &eventStream{p: p, body: wb, br: bufio.NewReaderSize(wb, streamBuffer)}
	for {
		line, err := s.readLine()
		if err != nil {
			s.body.Close()
			return nil, p.streamError(ctx, err)
		}
		line = bytes.TrimSpace(bytes.TrimPrefix(line, bom))
		if len(line) == 0 || bytes.EqualFold(line, []byte("KeepAlive")) {
			continue
		}
		const prefix = "connectionid:"
		if len(line) > len(prefix) && bytes.EqualFold(line[:len(prefix)], []byte(prefix)) {
			id, ok := parseGUID(string(bytes.TrimSpace(line[len(prefix):])))
			if !ok {
				s.body.Close()
				return nil, acs.Errorf(op, Name, acs.Unknown, "the event stream announced a malformed ConnectionId")
			}
			s.id = id
			p.log.DebugContext(ctx, "genetec: event stream open", "connection", id.String())
			return s, nil
		}
		s.body.Close()
		if _, derr := p.decode(op, &acshttp.Response{Status: http.StatusOK, Body: line}); derr != nil {
			return nil, derr
		}
		return nil, acs.Errorf(op, Name, acs.Unsupported, "the event stream did not start with a ConnectionId line")
	}
}

// streamError classifies a failure to read the stream.
func (p *Provider) streamError(ctx context.Context, err error) error {
	const op = "events"
	if errors.Is(context.Cause(ctx), errStalled) {
		return acs.Errorf(op, Name, acs.Unavailable, "the event stream stayed silent for %s (no event and no KeepAlive)", p.events.KeepAliveTimeout)
	}
	if cerr := ctx.Err(); cerr != nil {
		return acs.Wrap(op, Name, acs.Canceled, cerr)
	}
	if errors.Is(err, io.EOF) {
		return acs.Errorf(op, Name, acs.Unavailable, "the Web SDK ended the event stream")
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &acs.Error{Op: op, Provider: Name, Code: acs.Unavailable, Message: "event stream interrupted",
		Err: errors.New(p.http.Redact(err.Error()))}
}

// readLine returns the next line without its line ending. The slice is
// valid until the next call.
func (s *eventStream) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		chunk, err := s.br.ReadSlice('\n')
		switch {
		case err == nil:
			if len(s.line) > 0 {
				s.line = append(s.line, chunk...)
				chunk = s.line
			}
			return bytes.TrimRight(chunk, "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			if len(s.line)+len(chunk) > maxLine {
				return nil, fmt.Errorf("a line of the event stream is longer than %d bytes", maxLine)
			}
			s.line = append(s.line, chunk...)
		case errors.Is(err, io.EOF) && len(s.line)+len(chunk) > 0:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

// close closes the response and asks the Web SDK to release the
// connection (POST events/closeconnection/{id}), even when ctx has
// ended. Failures are only logged: the server forgets a dead connection
// on its own.
func (s *eventStream) close(ctx context.Context) {
	if s.closed {
		return
	}
	s.closed = true
	s.body.Close()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	if _, err := s.p.do(cctx, call{op: "events", method: http.MethodPost, path: "/events/closeconnection/" + s.id.Hex()}); err != nil {
		s.p.log.DebugContext(ctx, "genetec: closing the event connection failed", "connection", s.id.String(), "error", err)
	}
}

// pump reads the stream and delivers its events until it fails.
func (r *eventRun) pump(ctx, connCtx context.Context, s *eventStream) (bool, error) {
	progressed := false
	for {
		line, err := s.readLine()
		if err != nil {
			return progressed, r.p.streamError(connCtx, err)
		}
		progressed = true
		body, perr := s.parts.feed(line)
		if perr != nil {
			r.p.log.WarnContext(ctx, "genetec: skipped a malformed part of the event stream", "error", perr)
			continue
		}
		if body == nil {
			continue
		}
		ev, ok, err := parseEventPart(body)
		if err != nil {
			r.p.log.WarnContext(ctx, "genetec: skipped an event the adapter could not read", "error", err, "bytes", len(body))
			continue
		}
		if !ok {
			continue
		}
		if err := r.deliver(ctx, []rawEvent{ev}, false); err != nil {
			return progressed, err
		}
	}
}

func isOk(status string) bool { return strings.EqualFold(status, statusOk) }
