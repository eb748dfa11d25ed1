package brivosim

import (
	"encoding/json"
	"net/http"
)

// MissingStyle selects how the server answers a request about a user,
// credential, group, membership, assignment or subscription that does not
// exist. Brivo documents 404 {"code","message"} for most of them, and real
// 2017 traffic shows 404 {"message","code"} for a user or credential read
// by ID after its deletion; what it answers to a DELETE, an unassignment
// or a sub-listing of something already gone is not documented, so a
// client must not rely on any one answer. The styles let tests run
// against each plausible one.
//
// A GET of one record by ID (GET /users/{id}, /users/{externalId}/external,
// /credentials/{id}, /groups/{id}, /event-subscriptions/{id}) always
// answers 404, as recorded in real traffic; the 404 styles set its body.
// Every other request about a missing record gets the style's whole answer.
type MissingStyle int

// The missing-record styles.
const (
	// MissingNotFound answers 404 {"code":404,"message":"…"} (the
	// documented shape; the default).
	MissingNotFound MissingStyle = iota
	// MissingNotFoundLegacy answers 404 {"message":"…","code":404}, the
	// field order of 2017 traffic.
	MissingNotFoundLegacy
	// MissingNotFoundEmpty answers 404 with no body.
	MissingNotFoundEmpty
	// MissingBadRequest answers 400 {"code":400,"message":"…"} to every
	// request but a GET by ID.
	MissingBadRequest
	// MissingForbidden answers 403 {"code":403,"message":"You are not
	// allowed to perform that action"} to every request but a GET by ID.
	MissingForbidden
	// MissingServerError answers 500 {"code":500,"message":"Internal
	// Server Error"} to every request but a GET by ID.
	MissingServerError
)

// MissingStyles lists every style, for tests that run against each.
func MissingStyles() []MissingStyle {
	return []MissingStyle{MissingNotFound, MissingNotFoundLegacy, MissingNotFoundEmpty,
		MissingBadRequest, MissingForbidden, MissingServerError}
}

// String names the style.
func (m MissingStyle) String() string {
	switch m {
	case MissingNotFound:
		return "404"
	case MissingNotFoundLegacy:
		return "404-legacy"
	case MissingNotFoundEmpty:
		return "404-empty"
	case MissingBadRequest:
		return "400"
	case MissingForbidden:
		return "403"
	case MissingServerError:
		return "500"
	}
	return "missing-style?"
}

// WithMissingStyle sets how requests about missing records are answered
// (default MissingNotFound).
func WithMissingStyle(m MissingStyle) Option { return func(s *Server) { s.missing = m } }

// SetMissingStyle changes how requests about missing records are answered.
func (s *Server) SetMissingStyle(m MissingStyle) {
	s.mu.Lock()
	s.missing = m
	s.mu.Unlock()
}

// getByID reports whether a request reads one record by its ID.
func getByID(method string, seg []string) bool {
	if method != http.MethodGet {
		return false
	}
	switch {
	case len(seg) == 2 && seg[0] == "credentials":
		return seg[1] != "formats"
	case len(seg) == 2:
		return seg[0] == "users" || seg[0] == "groups" || seg[0] == "event-subscriptions"
	case len(seg) == 3:
		return seg[0] == "users" && seg[2] == "external"
	}
	return false
}

// restyleMissing rewrites a 404 answer (every 404 the routes give is about
// a missing record) in the configured style. s.mu is held.
func (s *Server) restyleMissing(method string, seg []string, a answer) answer {
	if a.status != http.StatusNotFound || s.missing == MissingNotFound {
		return a
	}
	var e apiError
	_ = json.Unmarshal(a.body, &e)
	switch s.missing {
	case MissingNotFoundLegacy:
		return jsonAnswer(http.StatusNotFound, struct {
			Message string `json:"message"`
			Code    int    `json:"code"`
		}{e.Message, http.StatusNotFound})
	case MissingNotFoundEmpty:
		return answer{status: http.StatusNotFound}
	}
	if getByID(method, seg) {
		return a
	}
	switch s.missing {
	case MissingBadRequest:
		return errAnswer(http.StatusBadRequest, e.Message)
	case MissingForbidden:
		return errAnswer(http.StatusForbidden, "You are not allowed to perform that action")
	case MissingServerError:
		return errAnswer(http.StatusInternalServerError, "Internal Server Error")
	}
	return a
}
