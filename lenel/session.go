package lenel

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// fallbackLifetime is assumed when a login answer has no usable
// token_expiration_time.
const fallbackLifetime = 30 * time.Minute

// maxRenewMargin is how long before token_expiration_time the session is
// renewed, at most (a fifth of the lifetime for short-lived tokens).
const maxRenewMargin = 5 * time.Minute

// After a refused login, no new login is tried for about minLoginBackoff
// (less a random part of up to a quarter, so that replicas refused
// together do not try again in step), doubling with each refusal up to
// maxLoginBackoff: OnGuard accounts can lock after a few failed attempts.
const (
	minLoginBackoff = 30 * time.Second
	maxLoginBackoff = 15 * time.Minute
)

// session is an OpenAccess session: its token, a generation that tells
// it from the session it replaced, and when to renew it.
type session struct {
	token   string
	gen     uint64
	renewAt time.Time
}

type loginBody struct {
	UserName    string `json:"user_name"`
	Password    string `json:"password"`
	DirectoryID string `json:"directory_id,omitempty"`
}

type loginAnswer struct {
	SessionToken        string `json:"session_token"`
	TokenExpirationTime string `json:"token_expiration_time"`
}

// session returns a valid session token and its generation, logging in
// when there is none or it is about to expire. Concurrent callers share a
// single login (p.sess).
func (p *Provider) session(ctx context.Context, op string) (string, uint64, error) {
	if err := ctx.Err(); err != nil {
		return "", 0, acs.Wrap(op, Name, acs.Canceled, err)
	}
	p.smu.Lock()
	closed := p.closed
	p.smu.Unlock()
	if closed {
		return "", 0, errClosed(op)
	}
	s, err := p.sess.Get(ctx, func(ctx context.Context, _ session) (session, error) {
		return p.openSession(ctx, op)
	})
	if err == nil {
		return s.token, s.gen, nil
	}
	if ae := (*acs.Error)(nil); !errors.As(err, &ae) { // ctx ended while another caller logged in
		return "", 0, acs.Wrap(op, Name, acs.Canceled, err)
	}
	return "", 0, withOp(err, op)
}

// openSession is the fetch of p.sess: while a refused login is being
// backed off from it fails at once with the same error; otherwise it
// sends POST /authentication and records the outcome.
func (p *Provider) openSession(ctx context.Context, op string) (session, error) {
	p.smu.Lock()
	if p.loginErr != nil && p.now().Before(p.loginAt) {
		err := p.loginErr
		p.smu.Unlock()
		return session{}, err
	}
	p.smu.Unlock()
	tok, exp, err := p.login(ctx, op)
	return p.loggedIn(ctx, op, tok, exp, err)
}

// loggedIn records the outcome of a login: the new session and its
// generation, or the refusal that starts the back-off. A session that
// arrives after Close is logged out at once (Close waits for this, since
// the login is still in flight).
func (p *Provider) loggedIn(ctx context.Context, op string, tok string, exp time.Time, err error) (session, error) {
	p.smu.Lock()
	orphan := ""
	if err == nil && p.closed {
		// Close came while logging in: the new session must not stay
		// open at OnGuard.
		err, orphan = errClosed(op), tok
	}
	if code := acs.CodeOf(err); code == acs.Unauthenticated || code == acs.PermissionDenied {
		// Refused credentials: wait before trying again, so that
		// retries do not lock the OnGuard account.
		p.loginAt = p.now().Add(p.loginBackoff.Next())
		p.loginErr = err
	}
	var s session
	if err == nil {
		p.loginErr = nil
		p.loginBackoff.Reset()
		now := p.now()
		if exp.IsZero() || !exp.After(now) {
			exp = now.Add(fallbackLifetime)
		}
		p.gen++
		s = session{token: tok, gen: p.gen, renewAt: exp.Add(-min(maxRenewMargin, exp.Sub(now)/5))}
		p.lastUsed = now
		p.startLoopLocked()
	}
	p.smu.Unlock()
	if orphan != "" {
		p.logoutOrphan(ctx, orphan)
	}
	if err == nil {
		p.log.LogAttrs(ctx, slog.LevelDebug, "lenel session established", slog.String("op", op), slog.Time("expires", exp))
	}
	return s, err
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

// login sends POST /authentication.
func (p *Provider) login(ctx context.Context, op string) (string, time.Time, error) {
	var ans loginAnswer
	err := p.do(ctx, request{
		op: op, method: http.MethodPost, path: "/authentication", anonymous: true, idempotent: true,
		body: loginBody{UserName: p.cfg.Username, Password: p.cfg.Password, DirectoryID: p.cfg.DirectoryID},
	}, &ans)
	if err == nil && ans.SessionToken != "" {
		exp, _ := parseTime(ans.TokenExpirationTime)
		return ans.SessionToken, exp, nil
	}
	return "", time.Time{}, p.loginFailure(ctx, op, err)
}

// loginFailure classifies a login that gave no session (err is nil for a
// success answer without a token). Only a refusal of the credentials or
// the licence is Unauthenticated or PermissionDenied, which start the
// login back-off. OnGuard's answer to a wrong password is undocumented:
// a 401 or 403, and any answer in OpenAccess's error shape other than a
// 404 or 405, count as refusals. A 404, a 405, an answer that is not
// OpenAccess's and a success without a token may instead mean that the
// base URL does not lead to OpenAccess, so OpenAccess is asked (GET
// /version, which needs no session): when it does not answer there, the
// error is Misconfigured, names the expected path and starts no login
// back-off, since no credential was checked.
func (p *Provider) loginFailure(ctx context.Context, op string, err error) error {
	var ae *acs.Error
	var api *APIError
	switch {
	case err != nil && !errors.As(err, &ae):
		return err
	case err != nil && (ae.Code == acs.Canceled || ae.Code == acs.Unavailable || ae.Code == acs.RateLimited || ae.Code == acs.Misconfigured):
		return err
	case errors.As(err, &api) && api.Code == codeInvalidApplicationID:
		return refusal(ae, acs.PermissionDenied, "OnGuard refused the application ID (licence)")
	case api != nil && api.Status == http.StatusForbidden:
		return refusal(ae, acs.PermissionDenied, "OnGuard refused the login (account not allowed)")
	case api != nil && (api.Status == http.StatusUnauthorized || api.Code != "" && !wrongPathStatus(api.Status)):
		return refusal(ae, acs.Unauthenticated, "OnGuard refused the login (user name, password or directory)")
	}
	found, perr := p.openAccessAnswers(ctx, op)
	switch {
	case perr != nil:
		return perr
	case !found:
		return p.noAPI(op, err)
	case api != nil && api.Code != "":
		return refusal(ae, acs.Unauthenticated, "OnGuard refused the login (user name, password or directory)")
	case err != nil:
		ae.Code = acs.Unknown
		ae.Message = "OpenAccess's answer to the login was not understood"
		return err
	}
	return acs.Errorf(op, Name, acs.Unknown, "OnGuard's login answer holds no session token")
}

// wrongPathStatus reports whether an HTTP status may come from a server
// that does not know the path, rather than from OpenAccess.
func wrongPathStatus(status int) bool {
	return status == http.StatusNotFound || status == http.StatusMethodNotAllowed
}

func refusal(ae *acs.Error, code acs.Code, msg string) error {
	ae.Code = code
	if ae.Message == "" {
		ae.Message = msg
	}
	return ae
}

// openAccessAnswers reports whether OpenAccess answers GET /version at the
// base URL. The error is set only when that cannot be told yet (no answer,
// a server error, a cancelled context).
func (p *Provider) openAccessAnswers(ctx context.Context, op string) (bool, error) {
	var v struct {
		ProductName string `json:"product_name"`
		Version     string `json:"version"`
	}
	err := p.do(ctx, request{op: op, method: http.MethodGet, path: "/version", anonymous: true, idempotent: true}, &v)
	switch code := acs.CodeOf(err); {
	case err == nil:
		return v.Version != "" || v.ProductName != "", nil
	case code == acs.Canceled || code == acs.Unavailable || code == acs.RateLimited || code == acs.Misconfigured:
		return false, err
	}
	return false, nil
}

// apiPath is where OpenAccess lives on an OnGuard server.
const apiPath = "/api/access/onguard/openaccess"

// noAPI is the error for a base URL where OpenAccess does not answer.
func (p *Provider) noAPI(op string, cause error) error {
	path := "/"
	if u, err := url.Parse(p.hc.BaseURL()); err == nil && u.Path != "" {
		path = u.Path
	}
	e := acs.Errorf(op, Name, acs.Misconfigured,
		"the base URL does not point at the OnGuard OpenAccess API: nothing answers as OpenAccess at its path %q; the base URL should end in %s (such as https://onguard.example.com:8080%s)",
		path, apiPath, apiPath)
	var api *APIError
	if errors.As(cause, &api) {
		e.Err = api
	}
	return e
}

// invalidate forgets the session of generation gen, so the next call logs
// in again; a newer session is kept.
func (p *Provider) invalidate(gen uint64) {
	p.sess.Expire(func(s session) bool { return s.gen == gen })
}

// touch records that a request just went out.
func (p *Provider) touch() {
	now := p.now()
	p.smu.Lock()
	p.lastUsed = now
	p.smu.Unlock()
}

// KeepAlive sends GET /keepalive now when a session is open, resetting
// OnGuard's inactivity countdown, and does nothing otherwise. When OnGuard
// no longer knows the session, it is forgotten (the next call logs in
// again) and KeepAlive returns nil. The background loop calls it while the
// provider is idle; it is exported for callers who drive it themselves.
func (p *Provider) KeepAlive(ctx context.Context) error {
	const op = "keepalive"
	p.smu.Lock()
	closed := p.closed
	p.smu.Unlock()
	s, live := p.sess.Held()
	if closed || !live {
		return nil
	}
	err := p.do(ctx, request{op: op, method: http.MethodGet, path: "/keepalive", idempotent: true, token: s.token, gen: s.gen}, nil)
	if sessionRefused(err) {
		p.invalidate(s.gen)
		return nil
	}
	return err
}

// sessionRefused reports whether err answers a request made with a given
// session by refusing that session. Keepalive and logout can fail for no
// other reason than the session or the licence, so any 4xx other than 429
// and the licence code counts: OnGuard's exact answer is undocumented.
func sessionRefused(err error) bool {
	var api *APIError
	if acs.CodeOf(err) == acs.Unauthenticated {
		return true
	}
	return errors.As(err, &api) && api.Status >= 400 && api.Status < 500 &&
		api.Status != http.StatusTooManyRequests && api.Code != codeInvalidApplicationID
}

// startLoopLocked starts the keepalive loop once; p.smu is held.
func (p *Provider) startLoopLocked() {
	if p.loopStarted || p.closed || (p.keepAliveEvery <= 0 && p.ticks == nil) {
		return
	}
	p.loopStarted = true
	p.loopDone.Add(1)
	go p.loop()
}

func (p *Provider) loop() {
	defer p.loopDone.Done()
	ch := p.ticks
	if ch == nil {
		t := time.NewTicker(p.keepAliveEvery)
		defer t.Stop()
		ch = t.C
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-p.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		select {
		case <-p.stop:
			return
		case <-ch:
			p.tick(ctx)
			if p.onTick != nil {
				p.onTick()
			}
		}
	}
}

// tick renews a session about to expire, or keeps an idle one alive.
func (p *Provider) tick(ctx context.Context) {
	s, live := p.sess.Held()
	if !live {
		return
	}
	p.smu.Lock()
	last := p.lastUsed
	p.smu.Unlock()
	now := p.now()
	if !now.Before(s.renewAt) {
		if _, _, err := p.session(ctx, "keepalive"); err != nil {
			p.log.LogAttrs(ctx, slog.LevelWarn, "lenel session renewal failed", slog.String("error", err.Error()))
		}
		return
	}
	if now.Sub(last) < p.keepAliveEvery {
		return
	}
	if err := p.KeepAlive(ctx); err != nil {
		p.log.LogAttrs(ctx, slog.LevelWarn, "lenel keepalive failed", slog.String("error", err.Error()))
	}
}

// Close stops the keepalive loop and logs out (DELETE /authentication).
// A login still in flight is waited for (until ctx ends) and its session
// logged out as soon as it arrives, so that no session is left open at
// OnGuard. Later calls fail; Close itself may be called again and returns
// the first result.
func (p *Provider) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		p.smu.Lock()
		p.closed = true
		p.smu.Unlock()
		close(p.stop)
		p.loopDone.Wait()
		// A login in flight sees closed when it ends and logs its
		// session out; one that ended before closed was set left its
		// session held, to be logged out here.
		if err := p.sess.Wait(ctx); err != nil {
			p.closeErr = acs.Wrap("close", Name, acs.Canceled, err)
		}
		if s, live := p.sess.Held(); live {
			if err := p.logout(ctx, s.token, s.gen); err != nil && p.closeErr == nil {
				p.closeErr = err
			}
		}
		p.sess.Expire(func(session) bool { return true })
	})
	return p.closeErr
}

// logout ends the session tok at OnGuard; a session OnGuard no longer
// knows is already ended.
func (p *Provider) logout(ctx context.Context, tok string, gen uint64) error {
	err := p.do(ctx, request{op: "close", method: http.MethodDelete, path: "/authentication", idempotent: true, token: tok, gen: gen}, nil)
	if sessionRefused(err) {
		return nil
	}
	return err
}

// orphanLogoutTimeout bounds the logout of a session that arrived after
// Close.
const orphanLogoutTimeout = 30 * time.Second

// logoutOrphan logs out a session whose login ended after Close, even when
// the caller's context has ended meanwhile.
func (p *Provider) logoutOrphan(ctx context.Context, tok string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), orphanLogoutTimeout)
	defer cancel()
	if err := p.logout(ctx, tok, 0); err != nil {
		p.log.LogAttrs(ctx, slog.LevelWarn, "lenel logout of a session opened during Close failed", slog.String("error", err.Error()))
	}
}
