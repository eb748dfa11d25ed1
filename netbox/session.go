package netbox

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// After a refused login, no new login is tried for minLoginBackoff,
// doubling with each refusal up to maxLoginBackoff, so that retries do not
// hammer the controller or lock the API account.
const (
	minLoginBackoff = 30 * time.Second
	maxLoginBackoff = 15 * time.Minute
)

// logoutTimeout bounds a Logout sent on the side (of a refused session,
// or of one that arrived after Close).
const logoutTimeout = 10 * time.Second

// sessionState is the provider's NBAPI session, guarded by mu.
type sessionState struct {
	mu         sync.Mutex
	id         string
	gen        uint64
	inflight   *loginCall
	loginErr   error
	loginAt    time.Time
	loginDelay time.Duration
	closed     bool
	closeOnce  sync.Once
	closeErr   error
}

// loginCall is one Login that concurrent callers wait for.
type loginCall struct {
	done chan struct{}
	err  error
}

func (p *Provider) currentSession() string {
	p.sess.mu.Lock()
	defer p.sess.mu.Unlock()
	return p.sess.id
}

func errClosed(op string) error {
	return acs.Errorf(op, Name, acs.Unavailable, "provider is closed")
}

// withOp returns err (an *acs.Error shared with other callers) as a copy
// naming op.
func withOp(err error, op string) error {
	var ae *acs.Error
	if errors.As(err, &ae) {
		cp := *ae
		cp.Op = op
		return &cp
	}
	return err
}

// session returns the session ID and its generation, logging in when
// there is none. Concurrent callers share one Login.
func (p *Provider) session(ctx context.Context, op string) (string, uint64, error) {
	s := &p.sess
	for {
		if err := ctx.Err(); err != nil {
			return "", 0, acs.Wrap(op, Name, acs.Canceled, err)
		}
		s.mu.Lock()
		switch {
		case s.closed:
			s.mu.Unlock()
			return "", 0, errClosed(op)
		case s.id != "":
			id, gen := s.id, s.gen
			s.mu.Unlock()
			return id, gen, nil
		case s.inflight != nil:
			c := s.inflight
			s.mu.Unlock()
			if err := waitLogin(ctx, op, c); err != nil {
				return "", 0, err
			}
			continue
		case s.loginErr != nil && p.now().Before(s.loginAt):
			err := withOp(s.loginErr, op)
			s.mu.Unlock()
			return "", 0, err
		}
		c := &loginCall{done: make(chan struct{})}
		s.inflight = c
		s.mu.Unlock()
		id, err := p.login(ctx, op)
		gen, err := p.loggedIn(ctx, op, c, id, err)
		if err != nil {
			return "", 0, err
		}
		return id, gen, nil
	}
}

// waitLogin waits for another caller's Login; nil means look again.
func waitLogin(ctx context.Context, op string, c *loginCall) error {
	select {
	case <-c.done:
		if c.err == nil || acs.CodeOf(c.err) == acs.Canceled && ctx.Err() == nil {
			return nil // logged in, or its caller gave up: look again
		}
		return withOp(c.err, op)
	case <-ctx.Done():
		return acs.Wrap(op, Name, acs.Canceled, ctx.Err())
	}
}

// loggedIn records the outcome of the Login c: the new session, or the
// refusal that starts the back-off. A session that arrives after Close is
// logged out at once.
func (p *Provider) loggedIn(ctx context.Context, op string, c *loginCall, id string, err error) (uint64, error) {
	s := &p.sess
	s.mu.Lock()
	s.inflight = nil
	orphan := ""
	if err == nil && s.closed {
		err, orphan = errClosed(op), id
	}
	if code := acs.CodeOf(err); code == acs.Unauthenticated || code == acs.PermissionDenied {
		s.loginDelay = min(max(2*s.loginDelay, minLoginBackoff), maxLoginBackoff)
		s.loginAt = p.now().Add(s.loginDelay)
		s.loginErr = err
	}
	var gen uint64
	if err == nil {
		s.loginErr = nil // the delay grows on: a command that gets through resets it (do)
		s.id = id
		s.gen++
		gen = s.gen
	}
	c.err = err
	if orphan == "" {
		close(c.done)
	}
	s.mu.Unlock()
	if orphan != "" {
		p.logoutOnSide(ctx, orphan)
		close(c.done)
	}
	return gen, err
}

// login sends Login. A refusal of the credentials is Unauthenticated, an
// API that is not enabled PermissionDenied; both start the back-off.
func (p *Provider) login(ctx context.Context, op string) (string, error) {
	a, err := p.send(ctx, request{op: op, command: "Login", params: []param{
		pv("USERNAME", p.cfg.Username), pv("PASSWORD", p.cfg.Password)}}, "")
	if err == nil {
		if a.session == "" {
			return "", acs.Errorf(op, Name, acs.Unknown, "the controller answered Login with SUCCESS but no sessionid")
		}
		return a.session, nil
	}
	e, ok := nbapiError(err)
	if !ok {
		return "", err
	}
	ae := err.(*acs.Error)
	switch {
	case e.APIError == apiDisabled:
		ae.Code, ae.Message = acs.PermissionDenied, "the NBAPI is not enabled on the controller (Site Settings, Network Controller, Data Integration: Enable V2)"
	case e.APIError == apiAuthFailure || e.Code == "FAIL" || e.Code == "NOT FOUND":
		ae.Code, ae.Message = acs.Unauthenticated, "the controller refused the API user's name or password"
	}
	return "", ae
}

// refused forgets the session of generation gen after the controller
// answered APIERROR 5 to it, and logs it out on the side (so that a
// session the controller still keeps is not left open); a newer session is
// kept.
func (p *Provider) refused(ctx context.Context, gen uint64) {
	s := &p.sess
	s.mu.Lock()
	id := ""
	if s.gen == gen && s.id != "" {
		id, s.id = s.id, ""
	}
	s.mu.Unlock()
	if id != "" {
		p.logoutOnSide(ctx, id)
	}
}

// logoutOnSide sends Logout for a session the provider no longer uses,
// even when the caller's context has ended, and ignores the answer.
func (p *Provider) logoutOnSide(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), logoutTimeout)
	defer cancel()
	if _, err := p.send(ctx, request{op: "logout", command: "Logout", idempotent: true}, id); err != nil {
		p.log.LogAttrs(ctx, slog.LevelDebug, "netbox logout of a dropped session failed", slog.String("error", err.Error()))
	}
}

// do sends a command with the shared session. On APIERROR 5 (the session
// expired, or was never accepted) it logs in again once and resends: the
// command was not carried out, so resending is safe for every command. A
// second APIERROR 5 right after a fresh Login means the controller does
// not accept its API sessions at all.
func (p *Provider) do(ctx context.Context, r request) (answer, error) {
	for attempt := 0; ; attempt++ {
		id, gen, err := p.session(ctx, r.op)
		if err != nil {
			return answer{}, err
		}
		a, err := p.send(ctx, r, id)
		if e, ok := nbapiError(err); !ok || e.APIError != apiAuthFailure {
			if err == nil || ok {
				p.accepted()
			}
			return a, err
		}
		p.refused(ctx, gen)
		if attempt == 0 {
			p.log.LogAttrs(ctx, slog.LevelDebug, "netbox session refused; logging in again", slog.String("op", r.op))
			continue
		}
		ae := err.(*acs.Error)
		ae.Message = "the controller refuses the session right after Login: turn on Use login username/password " +
			"(Site Settings, Network Controller, Data Integration) and give the user Read-Write API privilege"
		p.backOff(ae)
		return a, ae
	}
}

// accepted resets the login back-off once the controller answered a
// command of a session.
func (p *Provider) accepted() {
	s := &p.sess
	s.mu.Lock()
	s.loginDelay = 0
	s.mu.Unlock()
}

// backOff makes calls fail at once with err, without a Login, for the
// login back-off: sessions the controller refuses right after Login would
// otherwise cost two Logins and two Logouts per call.
func (p *Provider) backOff(err error) {
	s := &p.sess
	s.mu.Lock()
	s.loginDelay = min(max(2*s.loginDelay, minLoginBackoff), maxLoginBackoff)
	s.loginAt = p.now().Add(s.loginDelay)
	s.loginErr = err
	s.mu.Unlock()
}

// Close logs the session out (Logout), waits for a Login in flight and
// logs its session out too, and stops Events. Later calls fail with
// Unavailable; Close may be called again and returns the first result.
func (p *Provider) Close(ctx context.Context) error {
	s := &p.sess
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		id, login := s.id, s.inflight
		s.id = ""
		s.mu.Unlock()
		close(p.stop)
		if login != nil {
			select {
			case <-login.done: // its caller logged the new session out
			case <-ctx.Done():
				s.closeErr = acs.Wrap("close", Name, acs.Canceled, ctx.Err())
			}
		}
		if id == "" {
			return
		}
		_, err := p.send(ctx, request{op: "close", command: "Logout", idempotent: true}, id)
		if e, ok := nbapiError(err); err != nil && !(ok && e.APIError == apiAuthFailure) && s.closeErr == nil {
			s.closeErr = err
		}
	})
	return s.closeErr
}
