package acshttp

import (
	"context"
	"errors"
	"net/http"
	"time"

	"golang.org/x/time/rate"

	"github.com/acsbridge/acsbridge/acs"
)

// NewLimiter returns a limiter allowing perSecond requests a second with
// the given burst (at least 1). perSecond ≤ 0 means unlimited (nil).
func NewLimiter(perSecond float64, burst int) *rate.Limiter {
	if perSecond <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	return rate.NewLimiter(rate.Limit(perSecond), burst)
}

// CodeForStatus maps an HTTP status to an acs code, for answers whose body
// says nothing more specific.
func CodeForStatus(status int) acs.Code {
	switch {
	case status == http.StatusBadRequest, status == http.StatusUnprocessableEntity:
		return acs.InvalidArgument
	case status == http.StatusUnauthorized:
		return acs.Unauthenticated
	case status == http.StatusForbidden:
		return acs.PermissionDenied
	case status == http.StatusNotFound, status == http.StatusGone:
		return acs.NotFound
	case status == http.StatusConflict:
		return acs.Conflict
	case status == http.StatusTooManyRequests:
		return acs.RateLimited
	case status == http.StatusNotImplemented:
		return acs.Unsupported
	case status >= 500:
		return acs.Unavailable
	}
	return acs.Unknown
}

// TransportFailure classifies an error from Client.Do: a context error is
// Canceled; the client's own rate limiter running out of time (PaceError)
// is RateLimited, since nothing was sent; an answer too large to read
// (OversizeError) is Unknown, since the ACS did answer and asking again
// would get the same; a server speaking another protocol than the URL
// says (SchemeError) or a refused certificate (CertificateError) is
// Misconfigured, since the server answered and only a setting can change
// that; anything else (no answer arrived) is Unavailable.
func TransportFailure(op, provider string, err error) error {
	var pe *PaceError
	var oe *OversizeError
	var se *SchemeError
	var ce *CertificateError
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return acs.Wrap(op, provider, acs.Canceled, err)
	case errors.As(err, &pe):
		return &acs.Error{Op: op, Provider: provider, Code: acs.RateLimited, Err: err}
	case errors.As(err, &oe):
		return &acs.Error{Op: op, Provider: provider, Code: acs.Unknown, Err: err}
	case errors.As(err, &se), errors.As(err, &ce):
		return &acs.Error{Op: op, Provider: provider, Code: acs.Misconfigured, Err: err}
	}
	return &acs.Error{Op: op, Provider: provider, Code: acs.Unavailable, Message: "no answer from the ACS", Err: err}
}

// StatusError builds the error for a non-2xx answer whose body the adapter
// could not interpret further; the message must already be redacted.
func StatusError(op, provider string, resp *Response, code acs.Code, message string) error {
	e := &acs.Error{Op: op, Provider: provider, Code: code, Message: message}
	if d, ok := RetryAfter(resp.Header, time.Now()); ok {
		e.RetryAfter = d
	}
	return e
}
