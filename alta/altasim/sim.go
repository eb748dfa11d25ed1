// Package altasim is a stateful simulator of the Avigilon Alta (formerly
// Openpath) REST API at api.openpath.com, for tests, examples, benchmarks
// and trying the alta adapter without an Alta organisation.
//
// A Server is an http.Handler serving the API at the root of its origin, as
// api.openpath.com does (BasePath is empty):
//
//	POST /auth/login                       e-mail and password → 201 {"data":{"token",…}}
//	POST /auth/accessTokens/refresh        a new token; the old one stops working
//	POST /auth/logout
//	/orgs/{orgId}/users[/{userId}[/status|/groupIds|/groups|/credentials[/{id}]]]
//	/orgs/{orgId}/groups, /credentialTypes, /cardFormats, /credentials, /entries
//	/orgs/{orgId}/reports/activity/events  cursor-paged door activity
//
// Start it with httptest or on a real port:
//
//	sim := altasim.New()
//	log.Fatal(http.ListenAndServe("127.0.0.1:8080", sim))
//
// and point the adapter at it with the default credentials (Email,
// Password, OrgID).
//
// What it simulates, faithful to the research notes (§1 of more-acs.md):
// the login with a JSON body answered 201 with data.token, expiresAt and
// tokenScopeList (§1.1); the token in the Authorization header as "Bearer
// <token>" or bare (WithTokenScheme makes it strict either way, since the
// notes leave it open), or HTTP Basic with the login e-mail and password
// (§1.1, WithBasicAuth); tokens that expire on the injected clock and are
// replaced (and invalidated) by refresh; every resource under
// /orgs/{orgId} (§1.2); users with identity.email (unique, required),
// names, externalId, startDate/endDate and status I/A/S (§1.3); soft
// deletion: a deleted user disappears from every listing and lookup, and
// creating a user with its e-mail again answers 201 with the archived user
// as it was, with its old createdAt, its old fields and its stale
// credentials (§1.3); groups and the replace-the-set PUT and add/remove
// PATCH of /groupIds (§1.4); the credential-type catalogue (ids are
// configurable with WithCredentialTypes, so that nothing may hard-code
// them, §1.5) and the card-format catalogue with numBits and field layout
// (§1.5); card credentials with cardFormatId, facilityCode, cardId and the
// raw number (checked against each other when all are given), per
// credential startDate/endDate, PATCH and DELETE (§1.5); the list envelope
// {"totalCount","filteredCount","data"} with limit and offset, and q as a
// case-insensitive search (§1.8); pincode credentials (pincode {number},
// digits, with their own window, §1.5), kept unique among live users (a
// 409 ConflictError: the simulator's choice, the notes are silent), and
// entries given a keypad (SetEntryKeypad) that open for a PIN by the rule
// of Opens: PINOpensEntry and, per group, PINOpens are the keypad oracles;
// and activity events filtered by
// uiData.time:(from-to) in epoch seconds, paged by an opaque cursor that
// refuses a changed filter, with limit treated as a suggestion (§1.7).
//
// Where the notes say nothing, the simulator picks one plausible answer and
// the adapter must not depend on it: errors are {"name","message"} objects
// (§1.8 documents none); a second user with a live user's e-mail is a 409
// unless WithSharedEmails is set (the notes do not say that uniqueness
// holds for two creations at the same instant); the same card on two
// users is accepted unless WithUniqueCards is set, and twice on one user
// always (Alta's rule is not documented); rate limiting (none documented)
// is a 429 with Retry-After.
//
// It is strict on purpose, so adapter mistakes show: unknown paths are 404,
// unknown JSON fields and query parameters are 400, and a request for
// another organisation is 403.
//
// Fault injection: AddFault (a status, a dropped connection before or after
// the change is committed, a 429 with Retry-After, token expiry, or a
// delay through the injectable sleep, which lets a test hold concurrent
// requests at a gate, for requests matching a method and path), SetLatency
// with an injectable sleep, ExpireTokens and WithRateLimit. The oracle
// (Opens, Census, User, Credential, FindCredential) answers from the
// server's own state; "behind the back" helpers (DeleteCredential,
// SetCredentialWindow, SetUserWindow, SetUserGroups, SetUserStatus,
// DeleteUser, AddUser, AddCard) change it as an administrator would, for
// reconciliation tests, and AddTwin plants a second user of one visit, as
// two simultaneous creations might leave.
// Requests returns a log of every request without secrets.
//
// A Server is safe for concurrent use.
package altasim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/internal/simkit"
)

// The default credentials and organisation a new Server accepts. The
// organisation ID is the one a production integration hard-codes in the
// notes (§1.2).
const (
	Email    = "sim-admin@example.com"
	Password = "sim-password"
	OrgID    = 5231
	OrgName  = "Simulated Org"
)

// BasePath is the path under which the API is served: the root, as on
// api.openpath.com.
const BasePath = ""

// LoginPath and RefreshPath are the authentication endpoints.
const (
	LoginPath   = "/auth/login"
	RefreshPath = "/auth/accessTokens/refresh"
	LogoutPath  = "/auth/logout"
)

// Credentials are what the simulator accepts: the login e-mail and
// password, for POST /auth/login and for HTTP Basic.
type Credentials struct {
	Email    string
	Password string
}

// DefaultCredentials returns the credentials a new Server accepts unless
// WithCredentials says otherwise.
func DefaultCredentials() Credentials { return Credentials{Email: Email, Password: Password} }

// TokenScheme selects how the simulator expects the token in the
// Authorization header.
type TokenScheme int

// The token schemes.
const (
	// SchemeEither accepts "Bearer <token>" and the bare token (default).
	SchemeEither TokenScheme = iota
	// SchemeBearer accepts only "Bearer <token>".
	SchemeBearer
	// SchemeBare accepts only the bare token.
	SchemeBare
)

// FaultKind selects what an injected fault does.
type FaultKind int

// The fault kinds.
const (
	// FaultStatus answers Fault.Status with a {"name","message"} body
	// without doing anything; 429 and 503 carry Retry-After.
	FaultStatus FaultKind = iota + 1
	// FaultDropBeforeCommit closes the connection without doing anything.
	FaultDropBeforeCommit
	// FaultDropAfterCommit does the request, then closes the connection
	// without answering: the change is made, the client never hears.
	FaultDropAfterCommit
	// FaultRateLimit answers 429 with Retry-After, without doing anything.
	FaultRateLimit
	// FaultExpireToken expires every token just before the request is
	// checked, so it is answered 401 (TokenExpiredError).
	FaultExpireToken
	// FaultDelay waits Fault.Delay (through the sleep of WithSleep, so a
	// test can hold requests at a gate) and then handles the request
	// normally.
	FaultDelay
)

// Fault is an injected failure for requests matching Method and Path.
type Fault struct {
	// Method matches the request method; empty matches any.
	Method string
	// Path matches the path with the organisation prefix removed
	// ("/users", "/users/*/credentials": "*" matches one segment), or an
	// /auth path; empty matches every path.
	Path   string
	Kind   FaultKind
	Status int // for FaultStatus
	// Times is how many matching requests the fault affects (0 means 1;
	// negative means every one).
	Times int
	// Delay is the wait of FaultDelay.
	Delay time.Duration
}

// Request is one logged request. It never holds a secret: the login body is
// reduced to its field names, the Authorization header to its scheme.
type Request struct {
	Time        time.Time
	Method      string
	Path        string // the escaped path as received
	Query       url.Values
	RawQuery    string
	ContentType string
	// AuthScheme is "bearer", "bare", "basic" or "" (no header).
	AuthScheme string
	Body       string // the JSON body; for the login, the sorted field names
	Status     int    // 0 when the connection was dropped
}

// Census counts what the server stores and the API can reach: live users
// (not soft-deleted) and their credentials.
type Census struct {
	Users       int
	Credentials int
}

// Option configures a Server.
type Option func(*Server)

// WithCredentials sets the login the server accepts.
func WithCredentials(c Credentials) Option { return func(s *Server) { s.auth = c } }

// WithOrg sets the organisation ID and name (default OrgID, OrgName).
func WithOrg(id int64, name string) Option {
	return func(s *Server) { s.orgID, s.orgName = id, name }
}

// WithClock sets the clock used for token expiry, windows and timestamps
// (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithTokenLifetime sets how long a token is valid (default 1 h; the
// notes find no documented value).
func WithTokenLifetime(d time.Duration) Option { return func(s *Server) { s.tokenLife = d } }

// WithTokenScheme sets how the Authorization header must carry the token
// (default SchemeEither).
func WithTokenScheme(ts TokenScheme) Option { return func(s *Server) { s.scheme = ts } }

// WithBasicAuth allows or refuses HTTP Basic with the login e-mail and
// password (default allowed).
func WithBasicAuth(allowed bool) Option { return func(s *Server) { s.basic = allowed } }

// WithSleep sets the function SetLatency uses to wait (default: a timer
// that stops early when the request's context ends).
func WithSleep(sleep func(ctx context.Context, d time.Duration)) Option {
	return func(s *Server) { s.sleep = sleep }
}

// WithRateLimit answers more than perSecond API requests in one second of
// the server's clock with 429 and Retry-After (0, the default: no limit).
func WithRateLimit(perSecond int) Option { return func(s *Server) { s.rateLimit = perSecond } }

// WithRetryAfter sets the Retry-After seconds of 429 and 503 answers
// (default 1).
func WithRetryAfter(seconds int) Option { return func(s *Server) { s.retryAfter = seconds } }

// WithSharedEmails lets a creation with the e-mail of a live user create
// a second user rather than answer 409: Alta keeps e-mails unique (§1.3),
// but the notes do not say that two creations at the same instant cannot
// both pass. The e-mail then finds both users in listings; a soft-deleted
// user still comes back when its e-mail is used and no live user has it.
func WithSharedEmails() Option { return func(s *Server) { s.sharedEmails = true } }

// WithUniqueCards refuses (409) a card credential whose format, facility
// code and card ID another live user holds, unless allowReassign is sent.
// Off by default: Alta's rule is not documented.
func WithUniqueCards() Option { return func(s *Server) { s.uniqueCards = true } }

// WithGroups replaces the seeded groups.
func WithGroups(gs ...Group) Option { return func(s *Server) { s.seedGroups = slices.Clone(gs) } }

// WithCredentialTypes replaces the credential-type catalogue.
func WithCredentialTypes(ts ...CredentialType) Option {
	return func(s *Server) { s.credTypes = slices.Clone(ts) }
}

// WithCardFormats replaces the card-format catalogue.
func WithCardFormats(fs ...CardFormat) Option {
	return func(s *Server) { s.cardFormats = slices.Clone(fs) }
}

// WithEntries replaces the seeded entries (doors).
func WithEntries(es ...Entry) Option { return func(s *Server) { s.seedEntries = slices.Clone(es) } }

// Server simulates the Alta API. Create it with New.
type Server struct {
	auth         Credentials
	orgID        int64
	orgName      string
	now          func() time.Time
	tokenLife    time.Duration
	scheme       TokenScheme
	basic        bool
	sleep        func(ctx context.Context, d time.Duration)
	retryAfter   int
	uniqueCards  bool
	sharedEmails bool
	seedGroups   []Group
	seedEntries  []Entry
	credTypes    []CredentialType
	cardFormats  []CardFormat

	mu        sync.Mutex
	rateLimit int
	rate      simkit.Window // the per-second limit's count
	throttled int
	latency   time.Duration
	faults    []*Fault
	log       []Request
	tokens    map[string]time.Time // token → expiry

	users    map[int64]*user
	byEmail  map[string]int64 // lower-case e-mail → user, archived users included
	groups   map[int64]*group
	creds    map[int64]*credential
	entries  map[int64]*entry
	events   []*activity
	nextUser int64
	nextCred int64
	nextCard int64
	nextGrp  int64
	nextEvt  int64
	identity int64
}

// New returns a server seeded with the default catalogues, groups and
// entries.
func New(opts ...Option) *Server {
	s := &Server{
		auth: DefaultCredentials(), orgID: OrgID, orgName: OrgName, now: time.Now,
		tokenLife: time.Hour, basic: true, retryAfter: 1,
		seedGroups: DefaultGroups(), seedEntries: DefaultEntries(),
		credTypes: DefaultCredentialTypes(), cardFormats: DefaultCardFormats(),
		tokens: map[string]time.Time{}, users: map[int64]*user{}, byEmail: map[string]int64{},
		groups: map[int64]*group{}, creds: map[int64]*credential{}, entries: map[int64]*entry{},
		nextUser: 1000001, nextCred: 2000001, nextCard: 3000001, nextGrp: 9001, nextEvt: 1, identity: 777001,
	}
	s.sleep = func(ctx context.Context, d time.Duration) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	for _, o := range opts {
		o(s)
	}
	for _, g := range s.seedGroups {
		s.groups[g.ID] = &group{id: g.ID, name: g.Name}
		s.nextGrp = max(s.nextGrp, g.ID+1)
	}
	for _, e := range s.seedEntries {
		s.entries[e.ID] = &entry{Entry: e}
	}
	return s
}

// SetLatency delays every request by d (through the sleep of WithSleep).
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.latency = d
	s.mu.Unlock()
}

// SetRateLimit changes the simulated rate limit (0: none).
func (s *Server) SetRateLimit(perSecond int) {
	s.mu.Lock()
	s.rateLimit = perSecond
	s.mu.Unlock()
}

// Throttled returns how many requests were answered 429 because of the
// rate limit or an injected fault.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// AddFault injects a fault; faults are matched in the order added.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// ExpireTokens makes every token issued so far invalid.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	clear(s.tokens)
	s.mu.Unlock()
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	s.log = nil
	s.mu.Unlock()
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	entry := s.logEntry(r, body)
	rel := s.relPath(r.URL.EscapedPath())

	s.mu.Lock()
	latency := s.latency
	fault := s.matchFault(r.Method, rel)
	s.mu.Unlock()
	if latency > 0 {
		s.sleep(r.Context(), latency)
	}
	if fault != nil && fault.Kind == FaultDelay {
		s.sleep(r.Context(), fault.Delay)
		fault = nil
	}

	s.mu.Lock()
	var ans answer
	drop := false
	switch {
	case fault != nil && fault.Kind == FaultDropBeforeCommit:
		drop = true
	case fault != nil && fault.Kind == FaultStatus:
		ans = s.statusAnswer(fault.Status)
	case fault != nil && fault.Kind == FaultRateLimit:
		s.throttled++
		ans = s.statusAnswer(http.StatusTooManyRequests)
	default:
		if fault != nil && fault.Kind == FaultExpireToken {
			clear(s.tokens)
		}
		if s.rate.Over(s.now(), s.rateLimit) {
			s.throttled++
			ans = s.statusAnswer(http.StatusTooManyRequests)
			break
		}
		ans = s.route(r, body)
		drop = fault != nil && fault.Kind == FaultDropAfterCommit
	}
	if !drop {
		entry.Status = ans.status
	}
	s.log = append(s.log, entry)
	s.mu.Unlock()

	if drop {
		simkit.HijackAndClose(w)
		return
	}
	for k, vs := range ans.header {
		w.Header()[k] = vs
	}
	if ans.body != nil {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(ans.status)
	_, _ = w.Write(ans.body)
}

// logEntry records a request without its secrets.
func (s *Server) logEntry(r *http.Request, body []byte) Request {
	e := Request{Time: s.now(), Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
		ContentType: r.Header.Get("Content-Type"), Body: string(body)}
	e.Query, _ = url.ParseQuery(r.URL.RawQuery)
	switch h := r.Header.Get("Authorization"); {
	case h == "":
	case strings.HasPrefix(strings.ToLower(h), "bearer "):
		e.AuthScheme = "bearer"
	case strings.HasPrefix(strings.ToLower(h), "basic "):
		e.AuthScheme = "basic"
	default:
		e.AuthScheme = "bare"
	}
	if r.URL.Path == LoginPath {
		var m map[string]json.RawMessage
		if json.Unmarshal(body, &m) == nil {
			e.Body = strings.Join(slices.Sorted(mapKeys(m)), ",")
		} else {
			e.Body = "(unreadable)"
		}
	}
	return e
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// relPath strips /orgs/{orgId} so that faults match "/users/*".
func (s *Server) relPath(p string) string {
	prefix := "/orgs/"
	if !strings.HasPrefix(p, prefix) {
		return p
	}
	rest := p[len(prefix):]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[i:]
	}
	return "/"
}

func (s *Server) matchFault(method, rel string) *Fault {
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, method) {
			continue
		}
		if f.Path != "" && !simkit.PathMatch(f.Path, rel) {
			continue
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
		}
		return f
	}
	return nil
}

// answer is a response before it is written.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// apiError is the simulator's error body. The notes find no documented
// shape (§1.8); a name and a message is the one a client reads (ZB reads
// message).
type apiError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

func jsonAnswer(status int, v any) answer {
	b, err := json.Marshal(v)
	if err != nil {
		return errAnswer(http.StatusInternalServerError, "InternalServerError", "internal error")
	}
	return answer{status: status, body: b}
}

func dataAnswer(status int, v any) answer {
	return jsonAnswer(status, map[string]any{"data": v, "meta": map[string]any{"accessToken": nil}})
}

func errAnswer(status int, name, msg string) answer {
	return jsonAnswer(status, apiError{Name: name, Message: msg})
}

func noContent() answer { return answer{status: http.StatusNoContent} }

func notFound(what string) answer {
	return errAnswer(http.StatusNotFound, "NotFoundError", what+" not found")
}

func badRequest(msg string) answer { return errAnswer(http.StatusBadRequest, "BadRequestError", msg) }

// statusAnswer is the answer for an injected status.
func (s *Server) statusAnswer(status int) answer {
	name := strings.ReplaceAll(http.StatusText(status), " ", "") + "Error"
	a := errAnswer(status, name, http.StatusText(status))
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		a.header = http.Header{"Retry-After": {strconv.Itoa(s.retryAfter)}}
	}
	if status == http.StatusUnauthorized {
		a = errAnswer(status, "TokenExpiredError", "jwt expired")
	}
	return a
}

func randomToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	// Shaped like a JWT so that clients treat it as one; it is opaque here.
	return "eyJhbGciOiJIUzI1NiJ9." + hex.EncodeToString(b[:16]) + "." + hex.EncodeToString(b[16:])
}

// route dispatches a request. s.mu is held.
func (s *Server) route(r *http.Request, body []byte) answer {
	p := r.URL.EscapedPath()
	switch p {
	case LoginPath:
		if r.Method != http.MethodPost {
			return notFound("route")
		}
		return s.login(r, body)
	case RefreshPath:
		if r.Method != http.MethodPost {
			return notFound("route")
		}
		return s.refreshToken(r)
	case LogoutPath:
		if r.Method != http.MethodPost {
			return notFound("route")
		}
		if tok, ok := s.bearer(r); ok {
			delete(s.tokens, tok)
		}
		return noContent()
	}
	seg, ok := splitPath(p)
	if !ok || len(seg) < 3 || seg[0] != "orgs" {
		return notFound("route")
	}
	if a, ok := s.authorize(r); !ok {
		return a
	}
	org, ok := parseID(seg[1])
	if !ok || org != s.orgID {
		return errAnswer(http.StatusForbidden, "ForbiddenError", "token has no scope for this org")
	}
	if len(body) > 0 {
		ct := strings.ToLower(strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0]))
		if ct != "application/json" {
			return errAnswer(http.StatusUnsupportedMediaType, "UnsupportedMediaTypeError", "body must be application/json")
		}
	}
	return s.orgRoute(r, seg[2:], body)
}

func splitPath(p string) ([]string, bool) {
	raw := strings.Split(strings.TrimPrefix(p, "/"), "/")
	out := make([]string, len(raw))
	for i, x := range raw {
		v, err := url.PathUnescape(x)
		if err != nil || v == "" {
			return nil, false
		}
		out[i] = v
	}
	return out, true
}

// login serves POST /auth/login.
func (s *Server) login(r *http.Request, body []byte) answer {
	if r.URL.RawQuery != "" {
		return badRequest("credentials belong in the request body")
	}
	var in struct {
		Email             string          `json:"email"`
		Password          string          `json:"password"`
		MFA               json.RawMessage `json:"mfa"`
		NamespaceID       json.RawMessage `json:"namespaceId"`
		NamespaceNickname string          `json:"namespaceNickname"`
		ForMobileLogin    bool            `json:"forMobileLogin"`
	}
	if err := decodeStrict(body, &in); err != nil {
		return badRequest("invalid login body: " + err.Error())
	}
	if in.Email == "" || in.Password == "" {
		return badRequest("email and password are required")
	}
	if !strings.EqualFold(in.Email, s.auth.Email) || in.Password != s.auth.Password {
		return errAnswer(http.StatusUnauthorized, "UnauthorizedError", "Invalid email or password")
	}
	return s.issueToken(http.StatusCreated)
}

func (s *Server) issueToken(status int) answer {
	now := s.now()
	tok := randomToken()
	s.tokens[tok] = now.Add(s.tokenLife)
	orgScope := "o" + strconv.FormatInt(s.orgID, 10)
	return dataAnswer(status, map[string]any{
		"token":      tok,
		"createdAt":  formatTime(now),
		"expiresAt":  formatTime(now.Add(s.tokenLife)),
		"identityId": s.identity,
		"tokenScopeList": []any{map[string]any{
			"org":   map[string]any{"id": s.orgID, "name": s.orgName},
			"scope": []string{orgScope + "-user:w", orgScope + "-rpt:r"},
		}},
	})
}

// refreshToken serves POST /auth/accessTokens/refresh: a valid token is
// replaced by a new one and invalidated.
func (s *Server) refreshToken(r *http.Request) answer {
	tok, ok := s.bearer(r)
	if !ok {
		return errAnswer(http.StatusUnauthorized, "JsonWebTokenError", "jwt must be provided")
	}
	exp, ok := s.tokens[tok]
	if !ok || !s.now().Before(exp) {
		delete(s.tokens, tok)
		return errAnswer(http.StatusUnauthorized, "TokenExpiredError", "jwt expired")
	}
	delete(s.tokens, tok)
	return s.issueToken(http.StatusCreated)
}

// bearer returns the token of the Authorization header under the
// configured scheme.
func (s *Server) bearer(r *http.Request) (string, bool) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return "", false
	}
	scheme, rest, hasSpace := strings.Cut(h, " ")
	if hasSpace && strings.EqualFold(scheme, "bearer") {
		return strings.TrimSpace(rest), s.scheme != SchemeBare
	}
	if hasSpace {
		return "", false
	}
	return h, s.scheme != SchemeBearer
}

// authorize checks the token or the Basic credentials of an API request.
func (s *Server) authorize(r *http.Request) (answer, bool) {
	if user, pass, ok := r.BasicAuth(); ok {
		if !s.basic || !strings.EqualFold(user, s.auth.Email) || pass != s.auth.Password {
			return errAnswer(http.StatusUnauthorized, "UnauthorizedError", "Invalid credentials"), false
		}
		return answer{}, true
	}
	tok, ok := s.bearer(r)
	if !ok {
		return errAnswer(http.StatusUnauthorized, "JsonWebTokenError", "jwt malformed"), false
	}
	exp, known := s.tokens[tok]
	if !known {
		return errAnswer(http.StatusUnauthorized, "TokenNotFoundError", "token not found"), false
	}
	if !s.now().Before(exp) {
		delete(s.tokens, tok)
		return errAnswer(http.StatusUnauthorized, "TokenExpiredError", "jwt expired"), false
	}
	return answer{}, true
}

// BasicHeader returns the Authorization value of HTTP Basic for c, for
// tests of the Basic path.
func BasicHeader(c Credentials) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Email+":"+c.Password))
}

// decodeStrict decodes a JSON body refusing unknown fields and trailing data.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after JSON value")
	}
	return nil
}

// onlyParams refuses query parameters outside the allowed set.
func onlyParams(q url.Values, allowed ...string) (answer, bool) {
	for k := range q {
		if !slices.Contains(allowed, k) {
			return badRequest("unknown query parameter '" + k + "'"), false
		}
	}
	return answer{}, true
}

func parseID(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

// timeLayout is how the simulator writes timestamps: ISO 8601 in UTC with
// milliseconds, as the notes record (§1.3).
const timeLayout = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func formatOptTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return formatTime(*t)
}

// parseTime accepts an ISO 8601 timestamp or a bare date (read as
// midnight UTC).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("invalid date %q", s)
}
