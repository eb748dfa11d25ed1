package acshttp

import (
	"context"
	"io"
	"net/http"
	"time"
)

// attemptTransport bounds each attempt — sending the request, waiting for
// the answer and reading its body — by d, as http.Client.Timeout does.
//
// The Client applies the timeout of the http.Client it is given here
// rather than leaving it to net/http: net/http enforces Client.Timeout
// through a goroutine, a timer and a channel per request whenever the
// transport is not its own (and the Client wraps it), where a deadline on
// the request's context costs a fraction of that.
type attemptTransport struct {
	next http.RoundTripper
	d    time.Duration
}

// RoundTrip sends r with a context ending after d; the context ends when
// the answer's body is closed or read to its end, or when sending fails.
func (t *attemptTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(r.Context(), t.d)
	resp, err := t.next.RoundTrip(r.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{rc: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelBody ends an attempt's context when the body is closed or read to
// its end.
type cancelBody struct {
	rc     io.ReadCloser
	cancel context.CancelFunc // safe to call more than once
}

func (b *cancelBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.cancel()
	}
	return n, err
}

func (b *cancelBody) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}
