// Package simkit holds what the vendor simulators of this module share:
// matching an injected fault's path pattern, a rate limit counted in fixed
// windows of the server's clock, and a connection closed without an
// answer. Each simulator keeps its own fault types and answers, which
// follow its vendor's shapes.
package simkit

import (
	"net/http"
	"strings"
	"time"
)

// PathMatch reports whether path matches pattern segment by segment: "*"
// matches any one segment, every other segment must be equal. Leading and
// trailing slashes are ignored, so "/users/*" matches "/users/42".
func PathMatch(pattern, path string) bool {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	xs := strings.Split(strings.Trim(path, "/"), "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if ps[i] != "*" && ps[i] != xs[i] {
			return false
		}
	}
	return true
}

// HijackAndClose closes the request's connection without writing an
// answer, as a server that died mid-request would. Where the connection
// cannot be taken over, it aborts the handler, which also ends the
// answer early.
func HijackAndClose(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// Window counts requests in fixed windows of the server's clock (each
// second, each minute), as a vendor that documents "n requests per
// second" counts them. The zero Window counts per second. A Window is not
// safe for concurrent use: the simulator's lock guards it.
type Window struct {
	// Size is the length of a window (0: a second).
	Size  time.Duration
	start time.Time
	n     int
}

// Over counts one request at now and reports whether its window now
// holds more than limit requests. A limit of 0 or less is no limit, and
// nothing is counted.
func (w *Window) Over(now time.Time, limit int) bool {
	if limit <= 0 {
		return false
	}
	if start := now.Truncate(w.size()); !start.Equal(w.start) {
		w.start, w.n = start, 0
	}
	w.n++
	return w.n > limit
}

// Left returns how long the window of the last counted request lasts
// after now (at least zero).
func (w *Window) Left(now time.Time) time.Duration {
	return max(w.start.Add(w.size()).Sub(now), 0)
}

func (w *Window) size() time.Duration {
	if w.Size <= 0 {
		return time.Second
	}
	return w.Size
}
