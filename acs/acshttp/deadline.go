package acshttp

import (
	"context"
	"io"
)

// The Client bounds each attempt — sending the request, waiting for the
// answer and reading its body — by the Timeout of the http.Client it is
// given, as net/http would, but through a deadline on the attempt's
// context: net/http enforces Client.Timeout through a goroutine, a timer
// and a channel per request whenever the transport is not its own (and
// the Client wraps it), where a context deadline costs a fraction of
// that. See Client.send.
//
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
