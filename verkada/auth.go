package verkada

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// tokenSource holds the API token. Verkada tokens live 30 minutes and
// cannot be refreshed (§2.1): a new one is obtained by exchanging the API
// key again. One exchange runs at a time; callers arriving meanwhile wait
// for its result instead of starting their own.
type tokenSource struct {
	p *Provider

	mu       sync.Mutex
	token    string
	useUntil time.Time // when the token is replaced, before it runs out
	inflight *tokenCall
}

type tokenCall struct {
	done  chan struct{}
	token string
	err   *acs.Error // without Op; each caller copies it with its own
}

// get returns a token that is still young enough, exchanging the API key
// when there is none.
func (ts *tokenSource) get(ctx context.Context, op string) (string, error) {
	for {
		if err := ctx.Err(); err != nil {
			return "", acs.Wrap(op, Name, acs.Canceled, err)
		}
		ts.mu.Lock()
		if ts.token != "" && ts.p.now().Before(ts.useUntil) {
			tok := ts.token
			ts.mu.Unlock()
			return tok, nil
		}
		if c := ts.inflight; c != nil {
			ts.mu.Unlock()
			select {
			case <-c.done:
			case <-ctx.Done():
				return "", acs.Wrap(op, Name, acs.Canceled, ctx.Err())
			}
			if c.err == nil {
				return c.token, nil
			}
			if c.err.Code == acs.Canceled {
				continue // the leader's context ended, not ours: try again
			}
			e := *c.err
			e.Op = op
			return "", &e
		}
		c := &tokenCall{done: make(chan struct{})}
		ts.inflight = c
		ts.mu.Unlock()

		tok, err := ts.exchange(ctx)

		ts.mu.Lock()
		if err == nil {
			ts.token, ts.useUntil = tok, ts.p.now().Add(ts.p.tokenMaxAge)
			c.token = tok
		} else {
			c.err = err
		}
		ts.inflight = nil
		close(c.done)
		ts.mu.Unlock()
		if err != nil {
			e := *err
			e.Op = op
			return "", &e
		}
		return tok, nil
	}
}

// invalidate drops tok after the API refused it (401), so that the next
// get exchanges the key again. A token other than the current one is
// ignored: a newer token has already replaced it.
func (ts *tokenSource) invalidate(tok string) {
	ts.mu.Lock()
	if ts.token == tok {
		ts.token, ts.useUntil = "", time.Time{}
	}
	ts.mu.Unlock()
}

// current returns the token held, for redaction.
func (ts *tokenSource) current() string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.token
}

// exchange performs POST /token with the API key in x-api-key and reads
// {"token":"…"}.
func (ts *tokenSource) exchange(ctx context.Context) (string, *acs.Error) {
	p := ts.p
	h := http.Header{"X-Api-Key": {p.cfg.APIKey}, "Accept": {"application/json"}}
	// An exchange changes nothing worth protecting: safe to resend.
	resp, err := p.roundTrip(ctx, "token", request{method: http.MethodPost, path: "/token", idempotent: true}, nil, h)
	if err != nil {
		ae := asError(err)
		if ae.Code == acs.Unavailable {
			ae.Message = "no answer from Verkada's token exchange"
		}
		return "", ae
	}
	if !ok2xx(resp) {
		ae, _ := p.responseError("", resp)
		switch resp.Status {
		case http.StatusUnauthorized, http.StatusBadRequest:
			ae.Code, ae.Message = acs.Unauthenticated, "the API key was refused (missing, invalid, revoked, or of another region)"
		case http.StatusForbidden:
			ae.Message = "the API key may not obtain a token"
		}
		return "", ae
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(resp.Body, &tok); err != nil || tok.Token == "" {
		return "", &acs.Error{Provider: Name, Code: acs.Unauthenticated, Message: "the token exchange answered without a token"}
	}
	p.log.LogAttrs(ctx, slog.LevelDebug, "verkada: token obtained",
		slog.String("provider", Name), slog.Duration("use_for", p.tokenMaxAge))
	return tok.Token, nil
}

// asError returns the *acs.Error in err's chain (copied, without Op), or
// wraps err as Unknown.
func asError(err error) *acs.Error {
	var ae *acs.Error
	if errors.As(err, &ae) {
		c := *ae
		c.Op = ""
		return &c
	}
	return &acs.Error{Provider: Name, Code: acs.CodeOf(err), Err: err}
}
