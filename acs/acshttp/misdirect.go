package acshttp

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// SchemeError reports that the server at the base URL answered in
// another protocol than the URL's scheme names: plain HTTP on a port the
// URL addresses with https, or TLS on one it addresses with http. The
// server did answer, so this is a setting to fix, never "no answer": it is
// not retried, and TransportFailure classifies it acs.Misconfigured.
type SchemeError struct {
	// Scheme is the URL's scheme, "https" or "http".
	Scheme string
	// Host is the host and port the URL names.
	Host string
	// NotHTTP marks an https URL whose server answered neither TLS nor
	// HTTP.
	NotHTTP bool
}

// Error says what the server speaks and what to change.
func (e *SchemeError) Error() string {
	switch {
	case e.Scheme == "http":
		return fmt.Sprintf("the server at %s speaks TLS on that port: the URL says http, but the port expects https; use an https:// URL", e.Host)
	case e.NotHTTP:
		return fmt.Sprintf("the server at %s does not speak TLS on that port: the URL says https, but the first answer was not a TLS handshake; check the port", e.Host)
	}
	return fmt.Sprintf("the server at %s speaks plain HTTP on that port, not TLS: the URL says https, but the port answers http; use the server's https port, or an http:// URL if plain HTTP is intended", e.Host)
}

// CertificateError reports that the server's TLS certificate was not
// accepted: not signed by a trusted authority, expired, or issued for
// another name. The server did answer; TransportFailure classifies it
// acs.Misconfigured, and it is not retried.
type CertificateError struct {
	// Host is the host and port the URL names.
	Host string
	// Reason is the verifier's own words, such as "x509: certificate
	// signed by unknown authority".
	Reason string
}

// Error names the host, the reason and the remedies.
func (e *CertificateError) Error() string {
	return fmt.Sprintf("the TLS certificate of %s was not accepted (%s): give the site's CA in the TLS options (a CA file), or correct the server's certificate", e.Host, e.Reason)
}

// misdirected returns the SchemeError or CertificateError that err (a
// failure of one attempt to reach base, whose scheme and host are given)
// shows, or nil when it shows neither.
func misdirected(err error, scheme, host string) error {
	var rhe tls.RecordHeaderError
	switch {
	case errors.Is(err, http.ErrSchemeMismatch):
		return &SchemeError{Scheme: "https", Host: host}
	case errors.As(err, &rhe):
		return &SchemeError{Scheme: "https", Host: host, NotHTTP: string(rhe.RecordHeader[:]) != "HTTP/"}
	case scheme == "http" && strings.Contains(err.Error(), `malformed HTTP response "\x15\x03`):
		// A TLS alert record (0x15, version 3.x) where an HTTP answer
		// was expected.
		return &SchemeError{Scheme: "http", Host: host}
	}
	if reason := certificateReason(err); reason != "" {
		return &CertificateError{Host: host, Reason: reason}
	}
	return nil
}

// certificateReason returns the verifier's words when err is a refused
// certificate, or "".
func certificateReason(err error) string {
	var cve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &cve):
		return cve.Err.Error()
	case errors.As(err, &ua):
		return ua.Error()
	case errors.As(err, &he):
		return he.Error()
	case errors.As(err, &ci):
		return ci.Error()
	}
	return ""
}

// plainToTLSAnswers are the bodies web servers send to a plain-HTTP
// request on a TLS port: Go's net/http, nginx.
var plainToTLSAnswers = [][]byte{
	[]byte("Client sent an HTTP request to an HTTPS server"),
	[]byte("The plain HTTP request was sent to HTTPS port"),
}

// plainToTLSAnswer reports whether an answer to a plain-HTTP request says
// that the port expects TLS.
func plainToTLSAnswer(scheme string, status int, body []byte) bool {
	if scheme != "http" || status != http.StatusBadRequest {
		return false
	}
	for _, a := range plainToTLSAnswers {
		if bytes.Contains(body, a) {
			return true
		}
	}
	return false
}
