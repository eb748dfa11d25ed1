package origo

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// Media types of CloudEvents callbacks (§4.4): HID delivers batches; a
// single structured event is accepted too.
const (
	BatchContentType  = "application/cloudevents-batch+json"
	SingleContentType = "application/cloudevents+json"
)

// Event is one CloudEvents callback the Handler accepted, reduced to what
// the issuer reads. Invitation codes are never read or kept.
type Event struct {
	ID, Type, Source string
	Time             time.Time // zero when absent or unreadable
	// UserID is the Origo user the event is about (data.userId);
	// ExternalID its externalId, when the event carries one.
	UserID, ExternalID string
	// Status is data.status, such as "CREDENTIAL_ISSUED" or
	// "INVITATION_ACKNOWLEDGED".
	Status string
	// Waiting reports whether an invitation of that user was waiting in
	// this process: its next Provision asks Origo at once.
	Waiting bool
}

// callbackAuth is how deliveries authenticate: a header carrying a
// shared secret, HTTP Basic credentials, or both (each configured one must
// match).
type callbackAuth struct {
	header, secret string
	user, password string
}

func (a callbackAuth) set() bool { return a.secret != "" || a.password != "" }

// equal compares in constant time, whatever the lengths.
func equal(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

func (a callbackAuth) check(r *http.Request) bool {
	ok := true
	if a.secret != "" {
		ok = equal(r.Header.Get(a.header), a.secret)
	}
	if a.password != "" {
		u, p, has := r.BasicAuth()
		// Both comparisons run, so that timing tells nothing of which failed.
		userOK, passOK := equal(u, a.user), equal(p, a.password)
		ok = ok && has && userOK && passOK
	}
	return ok
}

// Handler returns the http.Handler that receives Origo's CloudEvents
// callbacks (register its URL for credential and invitation events in the
// Origo portal). It accepts POSTs of application/cloudevents-batch+json
// (or one application/cloudevents+json event) of at most 1 MiB,
// authenticated as WithCallbackSecret or WithCallbackBasicAuth say, and
// answers 200; bad authentication is 401, another method 405, another
// content type 415, a larger body 413 and malformed JSON 400.
//
// A callback only speeds things up: an event about a user whose invitation
// waits lifts the polling wait, so the next Provision asks Origo at once
// and provisions the door ACS once Origo confirms. Nothing is provisioned
// or revoked on an event's word, and a lost callback (HID does not retry)
// costs only the polling delay. Without authentication configured, Handler
// is an InvalidArgument error.
func (i *Issuer) Handler() (http.Handler, error) {
	if !i.cbAuth.set() {
		return nil, acs.Errorf("callbacks", Name, acs.InvalidArgument, "no callback authentication configured: use WithCallbackSecret or WithCallbackBasicAuth")
	}
	return http.HandlerFunc(i.serveCallback), nil
}

func (i *Issuer) serveCallback(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !i.cbAuth.check(r) {
		if i.cbAuth.password != "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="origo-callbacks"`)
		}
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	mt, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	if mt != BatchContentType && mt != SingleContentType {
		http.Error(w, "content type must be "+BatchContentType, http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCallbackBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	events, err := parseEvents(body, mt == BatchContentType)
	if err != nil {
		http.Error(w, "malformed CloudEvents JSON", http.StatusBadRequest)
		return
	}
	for _, e := range events {
		e.Waiting = i.waits.hint(e.UserID, e.ExternalID)
		i.log.LogAttrs(r.Context(), slog.LevelDebug, "origo: callback", slog.String("type", e.Type),
			slog.String("user", e.UserID), slog.String("status", e.Status), slog.Bool("waiting", e.Waiting))
		if i.onEvent != nil {
			i.onEvent(e)
		}
	}
	w.WriteHeader(http.StatusOK)
}

// cloudEventJSON is a structured CloudEvent as Origo sends it.
type cloudEventJSON struct {
	ID     string          `json:"id"`
	Source string          `json:"source"`
	Type   string          `json:"type"`
	Time   string          `json:"time"`
	Data   json.RawMessage `json:"data"`
}

// parseEvents reads a batch (a JSON array) or one event (an object).
// Events without a type are skipped.
func parseEvents(body []byte, batch bool) ([]Event, error) {
	var raw []cloudEventJSON
	body = bytes.TrimSpace(body)
	if batch {
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, err
		}
	} else {
		var one cloudEventJSON
		if err := json.Unmarshal(body, &one); err != nil {
			return nil, err
		}
		raw = []cloudEventJSON{one}
	}
	out := make([]Event, 0, len(raw))
	for _, c := range raw {
		if c.Type == "" {
			continue
		}
		e := Event{ID: c.ID, Type: c.Type, Source: c.Source, Time: parseTime(c.Time)}
		var d struct {
			UserID     flexID `json:"userId"`
			ID         flexID `json:"id"`
			ExternalID string `json:"externalId"`
			Status     string `json:"status"`
		}
		if len(c.Data) > 0 && json.Unmarshal(c.Data, &d) == nil {
			e.UserID, e.ExternalID, e.Status = string(d.UserID), d.ExternalID, d.Status
			if e.UserID == "" && strings.HasSuffix(c.Type, ".user") {
				e.UserID = string(d.ID)
			}
		}
		out = append(out, e)
	}
	return out, nil
}
