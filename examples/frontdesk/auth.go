package main

// Operators, sessions and CSRF protection. Passwords are kept as PBKDF2
// hashes; a session is a random ID in an HttpOnly, Secure, SameSite
// cookie that maps to server-side state (the operator, a CSRF token,
// the next page's messages); every POST must carry the session's CSRF
// token and, when the browser sends one, an Origin of this server.

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/visitor"
)

// Account is an operator who may sign in.
type Account struct {
	// ID is the operator's user name, recorded in the audit trail.
	ID string
	// Name is shown on the pages.
	Name string
	// Groups are the operator's user groups: each location's policy says
	// which access levels each group may grant.
	Groups []string
	// Admin opens the admin pages.
	Admin bool

	salt, hash []byte
}

// Operator is who the engine sees acting.
func (a *Account) Operator() visitor.Operator {
	return visitor.Operator{ID: a.ID, Groups: slices.Clone(a.Groups)}
}

// Accounts are the operators of a desk. Safe for concurrent use.
type Accounts struct {
	mu sync.Mutex
	m  map[string]*Account
}

const pbkdf2Iterations = 100_000

// NewAccounts returns an empty set of operators.
func NewAccounts() *Accounts { return &Accounts{m: make(map[string]*Account)} }

// Add registers an operator with a password (kept only as a salted hash).
func (as *Accounts) Add(a Account, password string) error {
	if a.ID == "" || password == "" {
		return errors.New("an operator needs a user name and a password")
	}
	a.salt = make([]byte, 16)
	if _, err := rand.Read(a.salt); err != nil {
		return err
	}
	h, err := pbkdf2.Key(sha256.New, password, a.salt, pbkdf2Iterations, 32)
	if err != nil {
		return err
	}
	a.hash = h
	as.mu.Lock()
	defer as.mu.Unlock()
	as.m[a.ID] = &a
	return nil
}

// List returns the operators by ID.
func (as *Accounts) List() []*Account {
	as.mu.Lock()
	defer as.mu.Unlock()
	var out []*Account
	for _, a := range as.m {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Get returns an operator, or nil.
func (as *Accounts) Get(id string) *Account {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.m[id]
}

// Check returns the operator whose user name and password these are, or
// nil. It takes as long for an unknown user as for a wrong password.
func (as *Accounts) Check(id, password string) *Account {
	a := as.Get(id)
	salt, want := make([]byte, 16), make([]byte, 32)
	if a != nil {
		salt, want = a.salt, a.hash
	}
	got, err := pbkdf2.Key(sha256.New, password, salt, pbkdf2Iterations, 32)
	if err != nil || subtle.ConstantTimeCompare(got, want) != 1 || a == nil {
		return nil
	}
	return a
}

// flash is a message shown once on the next page.
type flash struct {
	Kind string // "ok" or "error"
	Text string
}

// session is one browser's state on the server.
type session struct {
	id       string
	csrf     string
	operator string // "" until an operator signs in (the kiosk, the sign-in page)
	flashes  []flash
	seen     time.Time
}

// sessions keeps sessions in memory: a restart signs everybody out.
type sessions struct {
	mu     sync.Mutex
	m      map[string]*session
	idle   time.Duration
	secure bool
}

const sessionCookie = "frontdesk_session"

func newSessions(idle time.Duration) *sessions {
	return &sessions{m: make(map[string]*session), idle: idle, secure: true}
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// get returns the request's session, or nil.
func (ss *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[c.Value]
	if s == nil {
		return nil
	}
	if time.Since(s.seen) > ss.idle {
		delete(ss.m, s.id)
		return nil
	}
	s.seen = time.Now()
	return s
}

// start returns the request's session, starting one (and setting its
// cookie) when there is none.
func (ss *sessions) start(w http.ResponseWriter, r *http.Request) *session {
	if s := ss.get(r); s != nil {
		return s
	}
	return ss.create(w, "")
}

// maxSessions bounds the sessions kept: the kiosk and the sign-in page
// start one for every new browser, signed in or not.
const maxSessions = 10000

// create starts a new session for operator ("" for none) and sets its
// cookie. Past maxSessions, the session without an operator seen longest
// ago is forgotten.
func (ss *sessions) create(w http.ResponseWriter, operator string) *session {
	s := &session{id: randomToken(), csrf: randomToken(), operator: operator, seen: time.Now()}
	ss.mu.Lock()
	if len(ss.m) >= maxSessions {
		var oldest *session
		for id, o := range ss.m {
			if time.Since(o.seen) > ss.idle {
				delete(ss.m, id)
			} else if o.operator == "" && (oldest == nil || o.seen.Before(oldest.seen)) {
				oldest = o
			}
		}
		if oldest != nil && len(ss.m) >= maxSessions {
			delete(ss.m, oldest.id)
		}
	}
	ss.m[s.id] = s
	ss.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: s.id, Path: "/",
		HttpOnly: true, Secure: ss.secure, SameSite: http.SameSiteLaxMode,
	})
	return s
}

// forget ends a session on the server.
func (ss *sessions) forget(s *session) {
	if s == nil {
		return
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, s.id)
}

// end forgets the request's session and clears its cookie.
func (ss *sessions) end(w http.ResponseWriter, s *session) {
	ss.forget(s)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: ss.secure, SameSite: http.SameSiteLaxMode,
	})
}

// addFlash queues a message for the session's next page.
func (ss *sessions) addFlash(s *session, kind, text string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s.flashes = append(s.flashes, flash{kind, text})
}

// takeFlashes returns and clears the session's messages.
func (ss *sessions) takeFlashes(s *session) []flash {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	f := s.flashes
	s.flashes = nil
	return f
}

// checkCSRF reports whether a state-changing request may proceed: it
// belongs to a session, carries that session's token in the form field
// "csrf", and, when the browser names the page it came from (Origin), it
// came from this server.
func checkCSRF(r *http.Request, s *session) bool {
	if s == nil {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	got := r.PostFormValue("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}
