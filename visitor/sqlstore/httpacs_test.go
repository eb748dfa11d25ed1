package sqlstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
)

// The crash test keeps the ACS outside the process it kills: an
// acstest.Memory in the test process, reached over loopback HTTP through
// the tiny JSON protocol below.

// acsServer serves an acstest.Memory. It can run a trigger at the n-th
// call that changes the ACS (provision, revoke, cardholder removal): before the change is made, or after it is made and before the
// response is written, as when a client dies waiting for an answer.
type acsServer struct {
	mem *acstest.Memory

	mu      sync.Mutex
	trigger *trigger
}

type trigger struct {
	left  int
	after bool
	ops   []string // the operations counted; all changes when empty
	fire  func()
}

func newACSServer(mem *acstest.Memory) *acsServer { return &acsServer{mem: mem} }

// arm sets the trigger to fire at the n-th change from now among ops (any
// change when ops is empty).
func (s *acsServer) arm(n int, after bool, ops []string, fire func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trigger = &trigger{left: n, after: after, ops: ops, fire: fire}
}

func (s *acsServer) disarm() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trigger = nil
}

// count counts one change and returns the trigger to fire for it.
func (s *acsServer) count(op string) *trigger {
	s.mu.Lock()
	defer s.mu.Unlock()
	tr := s.trigger
	if tr == nil || (len(tr.ops) > 0 && !slices.Contains(tr.ops, op)) {
		return nil
	}
	if tr.left--; tr.left > 0 {
		return nil
	}
	s.trigger = nil
	return tr
}

type acsFault struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (s *acsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.URL.Path, "/")
	// The ACS finishes what it started even if the caller goes away.
	ctx := context.WithoutCancel(r.Context())
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var tr *trigger
	if op == "provision" || op == "revoke" || op == "remove_cardholder" {
		tr = s.count(op)
	}
	if tr != nil && !tr.after {
		tr.fire()
		http.Error(w, "caller gone", http.StatusServiceUnavailable)
		return
	}
	var res any
	switch op {
	case "ping":
		err = s.mem.Ping(ctx)
	case "access_levels":
		res, err = s.mem.AccessLevels(ctx)
	case "formats":
		res, err = s.mem.CredentialFormats(ctx)
	case "provision":
		var g acs.Grant
		if err = json.Unmarshal(body, &g); err == nil {
			res, err = s.mem.Provision(ctx, g)
		}
	case "revoke":
		var ref acs.CredentialRef
		if err = json.Unmarshal(body, &ref); err == nil {
			err = s.mem.Revoke(ctx, ref)
		}
	case "remove_cardholder":
		var ref acs.CardholderRef
		if err = json.Unmarshal(body, &ref); err == nil {
			err = s.mem.RemoveCardholder(ctx, ref)
		}
	default:
		http.NotFound(w, r)
		return
	}
	if tr != nil {
		tr.fire()
	}
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusUnprocessableEntity)
		f := acsFault{Code: int(acs.CodeOf(err)), Message: err.Error()}
		_ = json.NewEncoder(w).Encode(f)
		return
	}
	_ = json.NewEncoder(w).Encode(res)
}

// httpACS is the acs.Provider that talks to an acsServer.
type httpACS struct {
	base string
	c    *http.Client
}

func (h *httpACS) call(ctx context.Context, op string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return acs.Wrap(op, "http", acs.InvalidArgument, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.base+"/"+op, bytes.NewReader(b))
	if err != nil {
		return acs.Wrap(op, "http", acs.InvalidArgument, err)
	}
	resp, err := h.c.Do(req)
	if err != nil {
		return acs.Wrap(op, "http", acs.Unavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var f acsFault
		if err := json.NewDecoder(resp.Body).Decode(&f); err != nil || f.Code == 0 {
			return acs.Errorf(op, "http", acs.Unavailable, "HTTP status %d", resp.StatusCode)
		}
		return &acs.Error{Op: op, Provider: "http", Code: acs.Code(f.Code), Message: f.Message}
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return acs.Wrap(op, "http", acs.Unavailable, fmt.Errorf("decode response: %w", err))
	}
	return nil
}

func (h *httpACS) Name() string                   { return "http" }
func (h *httpACS) Ping(ctx context.Context) error { return h.call(ctx, "ping", struct{}{}, nil) }

func (h *httpACS) AccessLevels(ctx context.Context) ([]acs.AccessLevel, error) {
	var out []acs.AccessLevel
	return out, h.call(ctx, "access_levels", struct{}{}, &out)
}

func (h *httpACS) CredentialFormats(ctx context.Context) ([]acs.CredentialFormat, error) {
	var out []acs.CredentialFormat
	return out, h.call(ctx, "formats", struct{}{}, &out)
}

func (h *httpACS) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	var out acs.Provisioned
	err := h.call(ctx, "provision", g, &out)
	return out, err
}

func (h *httpACS) Revoke(ctx context.Context, ref acs.CredentialRef) error {
	return h.call(ctx, "revoke", ref, nil)
}

func (h *httpACS) RemoveCardholder(ctx context.Context, ref acs.CardholderRef) error {
	return h.call(ctx, "remove_cardholder", ref, nil)
}

func newHTTPACS(base string) *httpACS {
	return &httpACS{base: base, c: &http.Client{Timeout: 10 * time.Second}}
}

var _ acs.Provider = (*httpACS)(nil)

// isACS reports whether err is an ACS or policy refusal rather than a
// store failure.
func isACS(err error) bool {
	var ae *acs.Error
	return errors.As(err, &ae)
}
