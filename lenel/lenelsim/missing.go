package lenelsim

import (
	"net/http"
	"strconv"
)

// MissingAnswer selects how the simulator answers a PUT or DELETE
// /instances that names an instance that does not exist. OpenAccess's own
// answer is not documented (the public record holds no capture of it), so
// each of these is a plausible one; adapters are meant to be tested against
// all of them (see MissingAnswers).
type MissingAnswer int

const (
	// MissingInvalidRequestItem answers HTTP 400 with
	// CodeInvalidRequestItem, the code OnGuard sends for a key property that
	// "did not exist or contained an invalid value". The default.
	MissingInvalidRequestItem MissingAnswer = iota
	// MissingNotFound answers HTTP 404 with CodeInstanceNotFound, a code
	// never seen from a real OnGuard.
	MissingNotFound
	// MissingServerError answers HTTP 500 with CodeInternalError and a
	// .NET null-reference message, as a server whose code path reads the
	// missing record before checking it would fail.
	MissingServerError
	// MissingPlainNotFound answers HTTP 404 with an HTML body, not the
	// documented JSON error shape.
	MissingPlainNotFound
	// MissingSuccess answers HTTP 200 as if the change had been made, and
	// changes nothing.
	MissingSuccess
)

// CodeInstanceNotFound is what MissingNotFound answers with. It is the
// simulator's invention.
const CodeInstanceNotFound = "openaccess.general.instancenotfound"

// MissingAnswers lists every MissingAnswer.
func MissingAnswers() []MissingAnswer {
	return []MissingAnswer{MissingInvalidRequestItem, MissingNotFound, MissingServerError, MissingPlainNotFound, MissingSuccess}
}

// String names the mode, such as "invalidrequestitem".
func (m MissingAnswer) String() string {
	switch m {
	case MissingInvalidRequestItem:
		return "invalidrequestitem"
	case MissingNotFound:
		return "notfound"
	case MissingServerError:
		return "servererror"
	case MissingPlainNotFound:
		return "plainnotfound"
	case MissingSuccess:
		return "success"
	}
	return "missing(" + strconv.Itoa(int(m)) + ")"
}

// WithMissingAnswer sets how PUT and DELETE /instances answer for an
// instance that does not exist (default MissingInvalidRequestItem).
func WithMissingAnswer(m MissingAnswer) Option { return func(s *Server) { s.missing = m } }

// htmlNotFound is what a web server in front of OpenAccess answers for a
// path it does not know.
const htmlNotFound = "<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>"

// missingError is the answer to a PUT or DELETE of an unknown instance; nil
// in MissingSuccess mode (the caller then answers success).
func (s *Server) missingError(typeName, key string) *apiError {
	switch s.missing {
	case MissingNotFound:
		return &apiError{status: http.StatusNotFound, code: CodeInstanceNotFound, message: "The " + typeName + " instance " + key + " was not found."}
	case MissingServerError:
		return &apiError{status: http.StatusInternalServerError, code: CodeInternalError, message: "Object reference not set to an instance of an object."}
	case MissingPlainNotFound:
		return &apiError{status: http.StatusNotFound, raw: htmlNotFound}
	case MissingSuccess:
		return nil
	}
	return badItem("No instance of %s has the key %s.", typeName, key)
}
