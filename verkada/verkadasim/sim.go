// Package verkadasim is a stateful simulator of the Verkada API (Core users,
// Access users, cards, access groups and access events), for tests,
// examples, benchmarks and trying the verkada adapter without a Verkada
// organisation.
//
// A Server is an http.Handler serving the API at its origin, as
// api.verkada.com does (BasePath is empty):
//
//	POST   /token                                   API key → 30-minute token
//	POST   /core/v1/user                            create a user (external_id required)
//	GET|PUT|DELETE /core/v1/user?user_id|external_id
//	GET    /access/v1/access_users                  {"access_members":[…]} (paged)
//	GET    /access/v1/access_users/user?user_id|external_id|email|employee_id
//	PUT    /access/v1/access_users/user/start_date  {"start_date":"<unix s>"}
//	PUT    /access/v1/access_users/user/end_date    {"end_date":"<unix s>"}
//	PUT|DELETE /access/v1/access_users/user/entry_code?user_id|…  {"entry_code":"<digits>"}
//	POST   /access/v1/credentials/card?user_id|external_id
//	PUT    /access/v1/credentials/card/activate|deactivate?card_id&user_id
//	DELETE /access/v1/credentials/card?card_id&user_id
//	GET    /access/v1/access_groups                 {"access_groups":[…]} (paged)
//	GET    /access/v1/access_groups/group?group_id
//	PUT    /access/v1/access_groups/group/user?group_id   {"user_id"} or {"external_id"}
//	DELETE /access/v1/access_groups/group/user?group_id&user_id|external_id
//	GET    /events/v1/access                        {"events":[…],"next_page_token"}
//	POST   /access/v1/access_users/user/pass/invite?user_id|…   Verkada Pass invitation (recorded, see Invites)
//
// Start it with httptest or on a real port:
//
//	sim := verkadasim.New()
//	log.Fatal(http.ListenAndServe("127.0.0.1:8080", sim))
//
// What it simulates, faithful to the wire notes (research/more-acs.md §2):
// the API-key exchange at POST /token (header x-api-key; every other call
// sends x-verkada-auth) with tokens that live 30 minutes on the injected
// clock and cannot be refreshed (an expired one gets 401 {"id":"0e2d",
// "message":"Token expired","data":null}); Core users with an external ID;
// the access-user object with its access groups, cards and start and end
// dates (Unix seconds as strings, null when unset); cards created inactive
// unless "active" is sent, with activate, deactivate and delete; access
// groups with membership answered as successful_adds/unsuccessful_adds; page
// tokens on every listing (default page size 100, at most 200); the error
// body {"id","message","data"} with the documented statuses (400, 401, 403,
// 404, 429, 5xx); and the documented limit of 300 requests a minute per
// organisation when WithRateLimit turns it on (429 "You have exceeded the
// API rate limit" with Retry-After until the minute ends).
//
// Entry codes (§2.3, medium confidence): PUT …/entry_code sets the user's
// one code (4 to 16 digits, the simulator's bounds), DELETE removes it, and
// the access-user object shows it. A code another user holds is refused
// with 400 "Entry code is already in use" (the notes are silent; the
// simulator keeps codes unique, as a keypad code must name one user). A
// door given a keypad (SetDoorKeypad) opens for an entry code by the rule
// of Opens, the user's groups and start and end dates: PINOpensDoor and,
// per group, PINOpens are the keypad oracles.
//
// Where the notes are silent the simulator takes the strict choice and the
// adapter does not rely on it (see the verkada package documentation): a
// second user with a taken external ID and a second card with the type,
// facility code and number of an existing card (whoever holds it, active
// or not) are refused with 400; a start date after the end date is refused
// with 400; deleting a user deletes its cards and memberships unless
// WithUserDeleteKeepsCards keeps the cards registered (opening nothing);
// events are listed newest first with ISO 8601 timestamps. Options model
// the other plausible answers where the adapter must cope with them:
// WithUserDeleteKeepsCards, WithCardsCreatedInactive, WithSharedExternalIDs
// (a taken external ID makes a second user; a lookup answers the oldest)
// and WithDuplicateCards (a registered card is registered again).
//
// It is strict on purpose, so adapter mistakes show: unknown paths get 404,
// unknown query parameters and JSON fields get 400.
//
// Fault injection: AddFault (a status with the vendor's body, a dropped
// connection before or after the change is committed, token expiry, or a
// delay through the injectable sleep, which lets a test hold concurrent
// requests at a gate, for requests matching a method and path), SetLatency
// with an injectable sleep, ExpireTokens, and SetRateLimit. The oracle
// (Opens, Census, User, Card, FindCard) answers from the server's own
// state; "behind the back" helpers (DeleteCard, SetCardActive, SetWindow,
// SetGroups, DeleteUser, AddUser, AddCard, AddGroup) change it as an
// administrator in Verkada Command would, and AddTwin plants a second user
// of one external ID, as two simultaneous creations might leave; Requests
// returns a log of every request for request-shape
// tests (without secrets). Doors, Swipe and the access-event listing
// support door-event tests.
//
// A Server is safe for concurrent use.
package verkadasim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/internal/simkit"
)

// DefaultAPIKey is the API key a new Server accepts unless WithAPIKey says
// otherwise.
const DefaultAPIKey = "sim-verkada-api-key"

// BasePath is the path under which the API is served: none, as on
// api.verkada.com. An adapter's base URL is the server's origin.
const BasePath = ""

// TokenPath is the path of the API-key exchange.
const TokenPath = "/token"

// TokenLifetime is how long an API token is valid ("API Tokens are valid
// for 30 minutes and cannot be refreshed").
const TokenLifetime = 30 * time.Minute

// DefaultRateLimit is Verkada's documented limit: 300 requests a minute per
// organisation. New applies it only when WithRateLimit asks.
const DefaultRateLimit = 300

// Page sizes of the listings.
const (
	DefaultPageSize = 100
	MaxPageSize     = 200
)

// FaultKind selects what an injected fault does.
type FaultKind int

// The fault kinds.
const (
	// FaultStatus answers Fault.Status with the vendor's error body without
	// doing anything: 401 "Token expired", 429 with Retry-After, 503 with
	// Retry-After, the status text otherwise.
	FaultStatus FaultKind = iota + 1
	// FaultDropBeforeCommit closes the connection without doing anything.
	FaultDropBeforeCommit
	// FaultDropAfterCommit does the request, then closes the connection
	// without answering: the change is made, the client never hears.
	FaultDropAfterCommit
	// FaultExpireToken expires every token just before the request is
	// checked, so an API request is answered 401 "Token expired".
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
	// Path matches the request path exactly ("/core/v1/user",
	// "/access/v1/credentials/card", TokenPath); empty matches every path.
	Path   string
	Kind   FaultKind
	Status int // for FaultStatus
	// Times is how many matching requests the fault affects (0 means 1;
	// negative means every one).
	Times int
	// Delay is the wait of FaultDelay.
	Delay time.Duration
}

// Request is one logged request. It never holds a secret: the API key and
// the token are reduced to whether they were right.
type Request struct {
	Time        time.Time
	Method      string
	Path        string
	Query       url.Values
	RawQuery    string
	ContentType string
	APIKeyOK    bool   // x-api-key carried the expected key
	TokenSent   bool   // x-verkada-auth was present
	Body        string // the JSON body
	Status      int    // 0 when the connection was dropped
}

// Census counts what the server stores.
type Census struct {
	Users int
	Cards int
}

// Option configures a Server.
type Option func(*Server)

// WithAPIKey sets the API key the server accepts.
func WithAPIKey(key string) Option { return func(s *Server) { s.apiKey = key } }

// WithClock sets the clock used for token expiry, start and end dates,
// the rate-limit window and event times (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithTokenLifetime sets how long a token lives (default TokenLifetime).
func WithTokenLifetime(d time.Duration) Option { return func(s *Server) { s.tokenLife = d } }

// WithSleep sets the function SetLatency uses to wait (default: a timer
// that stops early when the request's context ends).
func WithSleep(sleep func(ctx context.Context, d time.Duration)) Option {
	return func(s *Server) { s.sleep = sleep }
}

// WithRateLimit answers more than perMinute requests (token exchanges
// included) in one minute of the server's clock with 429 and Retry-After
// (0, the default: no limit; DefaultRateLimit is Verkada's value).
func WithRateLimit(perMinute int) Option { return func(s *Server) { s.rateLimit = perMinute } }

// WithRetryAfter sets the Retry-After seconds of injected 429 and 503
// answers (default 1). Answers of the rate limit itself say how long the
// current minute has left.
func WithRetryAfter(seconds int) Option { return func(s *Server) { s.retryAfter = seconds } }

// WithPageSize sets the default page size of listings (default
// DefaultPageSize); tests use a small one to exercise page tokens.
func WithPageSize(n int) Option { return func(s *Server) { s.pageSize = n } }

// WithGroups replaces the seeded access groups.
func WithGroups(gs ...Group) Option {
	return func(s *Server) { s.seedGroups = slices.Clone(gs) }
}

// WithUserDeleteKeepsCards makes DELETE /core/v1/user leave the user's
// cards registered (holding their numbers, opening nothing), one plausible
// reading of the undocumented delete semantics.
func WithUserDeleteKeepsCards() Option { return func(s *Server) { s.keepCards = true } }

// WithSharedExternalIDs makes POST /core/v1/user accept an external_id
// another user carries, creating a second user, as Verkada might (the
// notes do not say that it refuses a taken external_id, nor that such a
// rule holds for two creations at the same instant). A lookup by
// external_id then answers the oldest user carrying it.
func WithSharedExternalIDs() Option { return func(s *Server) { s.sharedExternal = true } }

// WithDuplicateCards makes POST /access/v1/credentials/card (and AddCard)
// accept a card whose type, facility code and number are registered
// already, as Verkada might (what it answers is not documented, §2.3).
func WithDuplicateCards() Option { return func(s *Server) { s.dupCards = true } }

// WithCardsCreatedInactive makes POST /access/v1/credentials/card create
// every card inactive whatever "active" says, so that clients must be
// ready to activate a card the answer shows inactive.
func WithCardsCreatedInactive() Option { return func(s *Server) { s.inactiveCards = true } }

// Server simulates the Verkada API. Create it with New.
type Server struct {
	apiKey     string
	now        func() time.Time
	tokenLife  time.Duration
	sleep      func(ctx context.Context, d time.Duration)
	retryAfter int
	pageSize   int
	keepCards  bool
	seedGroups []Group
	// inactiveCards ignores "active" on card creation.
	inactiveCards bool
	// sharedExternal accepts a taken external_id; dupCards a registered
	// card.
	sharedExternal bool
	dupCards       bool
	seedDoors      []Door

	mu          sync.Mutex
	rateLimit   int
	rate        simkit.Window // the per-minute limit's count (Size set in New)
	throttled   int
	latency     time.Duration
	faults      []*Fault
	log         []Request
	tokens      map[string]time.Time // token → expiry
	users       map[string]*user
	byExternal  map[string]string
	cards       map[string]*card
	groups      map[string]*group
	seq         map[uint32]int64 // per ID kind
	sites       map[string]Site
	doors       map[string]*Door
	events      []*event
	invites     []Invite
	pageQueries map[string]string // page token → query fingerprint|offset
}

type user struct {
	id, externalID                       string
	first, middle, last, email, phone    string
	company, department, departmentID    string
	employeeID, employeeTitle, employeeT string
	start, end                           *time.Time
	groups                               map[string]bool
	cards                                []string // card IDs in creation order
	entryCode                            string   // "" when none
	created                              time.Time
}

type card struct {
	id, user         string // user is "" for a card kept after its user was deleted
	typ              string // the type as sent
	canonical        string // the type's name in Verkada's list
	facility, number string // normalised decimal; facility "" when the type has none
	active           bool
	created          time.Time
}

type group struct {
	id, name string
	members  map[string]bool
}

// Group is an access group as seeded or listed.
type Group struct {
	ID   string
	Name string
}

// ID kinds: the first eight hex digits of a simulated ID spell its kind in
// ASCII, so that IDs are deterministic and recognisable.
const (
	kindUser  uint32 = 0x75736572 // "user"
	kindCard  uint32 = 0x63617264 // "card"
	kindGroup uint32 = 0x67727570 // "grup"
	kindDoor  uint32 = 0x646f6f72 // "door"
	kindSite  uint32 = 0x73697465 // "site"
	kindEvent uint32 = 0x65766e74 // "evnt"
)

// makeID formats the n-th ID of a kind as a UUID.
func makeID(kind uint32, n int64) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", kind, n)
}

// GroupID returns the ID of the n-th seeded group (1-based).
func GroupID(n int) string { return makeID(kindGroup, int64(n)) }

// DefaultGroups are the access groups a new Server holds unless WithGroups
// says otherwise: "Lobby" and "Floor 3".
func DefaultGroups() []Group {
	return []Group{{ID: GroupID(1), Name: "Lobby"}, {ID: GroupID(2), Name: "Floor 3"}}
}

// New returns a server seeded with the default groups, site and doors.
func New(opts ...Option) *Server {
	s := &Server{
		apiKey: DefaultAPIKey, now: time.Now, tokenLife: TokenLifetime, retryAfter: 1,
		pageSize: DefaultPageSize, seedGroups: DefaultGroups(), seedDoors: DefaultDoors(), rate: simkit.Window{Size: time.Minute},
		tokens: map[string]time.Time{}, users: map[string]*user{}, byExternal: map[string]string{},
		cards: map[string]*card{}, groups: map[string]*group{}, seq: map[uint32]int64{},
		sites: map[string]Site{}, doors: map[string]*Door{}, pageQueries: map[string]string{},
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
	s.pageSize = min(max(s.pageSize, 1), MaxPageSize)
	for _, g := range s.seedGroups {
		s.groups[g.ID] = &group{id: g.ID, name: g.Name, members: map[string]bool{}}
	}
	s.seq[kindGroup] = int64(len(s.seedGroups))
	s.seedDoorsLocked()
	return s
}

// nextID returns a fresh ID of a kind. s.mu is held (or s is not shared yet).
func (s *Server) nextID(kind uint32) string {
	s.seq[kind]++
	return makeID(kind, s.seq[kind])
}

// SetLatency delays every request by d (through the sleep of WithSleep).
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.latency = d
	s.mu.Unlock()
}

// SetRateLimit changes the per-minute rate limit (0: none).
func (s *Server) SetRateLimit(perMinute int) {
	s.mu.Lock()
	s.rateLimit = perMinute
	s.mu.Unlock()
}

// Throttled returns how many requests were answered 429, by the rate limit
// or an injected fault.
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

// ExpireTokens makes every token issued so far invalid (answered 401
// "Token expired").
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	for t := range s.tokens {
		s.tokens[t] = time.Time{}
	}
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
	query, qerr := url.ParseQuery(r.URL.RawQuery)
	entry := Request{
		Time: s.now(), Method: r.Method, Path: r.URL.EscapedPath(), Query: query, RawQuery: r.URL.RawQuery,
		ContentType: r.Header.Get("Content-Type"),
		APIKeyOK:    s.apiKey != "" && r.Header.Get("x-api-key") == s.apiKey,
		TokenSent:   r.Header.Get("x-verkada-auth") != "",
		Body:        string(body),
	}
	s.mu.Lock()
	latency := s.latency
	fault := s.matchFault(r.Method, r.URL.Path)
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
	case s.rate.Over(s.now(), s.rateLimit):
		ans = s.rateLimited()
	default:
		if fault != nil && fault.Kind == FaultExpireToken {
			for t := range s.tokens {
				s.tokens[t] = time.Time{}
			}
		}
		if qerr != nil {
			ans = errAnswer(http.StatusBadRequest, "Malformed query string")
		} else {
			ans = s.route(r, query, body)
		}
		drop = fault != nil && fault.Kind == FaultDropAfterCommit
	}
	if ans.status == http.StatusTooManyRequests {
		s.throttled++
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
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(ans.status)
	_, _ = w.Write(ans.body)
}

func (s *Server) matchFault(method, path string) *Fault {
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, method) {
			continue
		}
		if f.Path != "" && f.Path != path {
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

// rateLimited is the 429 of the per-minute limit, with Retry-After set to
// the whole seconds left in the current minute (at least 1).
func (s *Server) rateLimited() answer {
	left := s.rate.Left(s.now())
	secs := max(int((left+time.Second-1)/time.Second), 1)
	a := errAnswerID(http.StatusTooManyRequests, "429a", "You have exceeded the API rate limit")
	a.header = http.Header{"Retry-After": {fmt.Sprint(secs)}}
	return a
}

// answer is a response before it is written.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// apiError is Verkada's error body: {"id","message","data"}.
type apiError struct {
	ID      string `json:"id"`
	Message string `json:"message"`
	Data    any    `json:"data"`
}

func jsonAnswer(status int, v any) answer {
	b, err := json.Marshal(v)
	if err != nil {
		return errAnswer(http.StatusInternalServerError, "Internal Server Error")
	}
	return answer{status: status, body: b}
}

// errorIDs are the short error IDs of the simulator's error bodies; "0e2d"
// (token expired) is the one Verkada documents.
var errorIDs = map[int]string{
	http.StatusBadRequest: "4a00", http.StatusUnauthorized: "0e2d", http.StatusForbidden: "4f03",
	http.StatusNotFound: "4e04", http.StatusTooManyRequests: "429a", http.StatusInternalServerError: "5e00",
}

func errAnswer(status int, msg string) answer {
	id := errorIDs[status]
	if id == "" {
		id = fmt.Sprintf("%04x", status)
	}
	return errAnswerID(status, id, msg)
}

func errAnswerID(status int, id, msg string) answer {
	return jsonAnswer(status, apiError{ID: id, Message: msg})
}

// statusAnswer is the vendor's answer for an injected status.
func (s *Server) statusAnswer(status int) answer {
	switch status {
	case http.StatusUnauthorized:
		return errAnswerID(status, "0e2d", "Token expired")
	case http.StatusForbidden:
		return errAnswer(status, "API key does not have required permissions")
	case http.StatusTooManyRequests:
		a := errAnswer(status, "You have exceeded the API rate limit")
		a.header = http.Header{"Retry-After": {fmt.Sprint(s.retryAfter)}}
		return a
	case http.StatusServiceUnavailable:
		a := errAnswer(status, "Service Unavailable")
		a.header = http.Header{"Retry-After": {fmt.Sprint(s.retryAfter)}}
		return a
	}
	msg := http.StatusText(status)
	if msg == "" {
		msg = "Error"
	}
	return errAnswer(status, msg)
}

func randomToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "v2_" + hex.EncodeToString(b[:])
}

// token serves POST /token: the API key in x-api-key buys a token.
func (s *Server) token(r *http.Request) answer {
	if r.Method != http.MethodPost {
		return errAnswer(http.StatusNotFound, "Not Found")
	}
	if s.apiKey == "" || r.Header.Get("x-api-key") != s.apiKey {
		return errAnswerID(http.StatusUnauthorized, "4a01", "Missing or Invalid API Key")
	}
	t := randomToken()
	s.tokens[t] = s.now().Add(s.tokenLife)
	return jsonAnswer(http.StatusOK, map[string]string{"token": t})
}

// authorize checks the token of an API request.
func (s *Server) authorize(r *http.Request) (answer, bool) {
	tok := r.Header.Get("x-verkada-auth")
	if tok == "" {
		return errAnswerID(http.StatusUnauthorized, "4a01", "Missing or Invalid API Key"), false
	}
	exp, ok := s.tokens[tok]
	if !ok {
		return errAnswerID(http.StatusUnauthorized, "4a02", "Invalid token"), false
	}
	if !s.now().Before(exp) {
		return errAnswerID(http.StatusUnauthorized, "0e2d", "Token expired"), false
	}
	return answer{}, true
}

// route dispatches a request. s.mu is held.
func (s *Server) route(r *http.Request, q url.Values, body []byte) answer {
	if r.URL.Path == TokenPath {
		return s.token(r)
	}
	h, ok := routes[r.Method+" "+r.URL.Path]
	if !ok {
		return errAnswer(http.StatusNotFound, "Not Found")
	}
	if a, ok := s.authorize(r); !ok {
		return a
	}
	if len(body) > 0 {
		ct := strings.ToLower(strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0]))
		if ct != "application/json" {
			return errAnswer(http.StatusBadRequest, "Content-Type must be application/json")
		}
	}
	return h(s, q, body)
}

type handler func(s *Server, q url.Values, body []byte) answer

var routes map[string]handler

func init() {
	routes = map[string]handler{
		"POST /core/v1/user":                             (*Server).createUser,
		"GET /core/v1/user":                              (*Server).getUser,
		"PUT /core/v1/user":                              (*Server).updateUser,
		"DELETE /core/v1/user":                           (*Server).deleteUser,
		"GET /access/v1/access_users":                    (*Server).listAccessUsers,
		"GET /access/v1/access_users/user":               (*Server).getAccessUser,
		"PUT /access/v1/access_users/user/start_date":    (*Server).putStartDate,
		"PUT /access/v1/access_users/user/end_date":      (*Server).putEndDate,
		"POST /access/v1/credentials/card":               (*Server).createCard,
		"PUT /access/v1/credentials/card/activate":       (*Server).activateCard,
		"PUT /access/v1/credentials/card/deactivate":     (*Server).deactivateCard,
		"DELETE /access/v1/credentials/card":             (*Server).deleteCard,
		"GET /access/v1/access_groups":                   (*Server).listGroups,
		"GET /access/v1/access_groups/group":             (*Server).getGroup,
		"PUT /access/v1/access_groups/group/user":        (*Server).addMember,
		"DELETE /access/v1/access_groups/group/user":     (*Server).removeMember,
		"GET /events/v1/access":                          (*Server).listEvents,
		"POST /access/v1/access_users/user/pass/invite":  (*Server).passInvite,
		"PUT /access/v1/access_users/user/entry_code":    (*Server).putEntryCode,
		"DELETE /access/v1/access_users/user/entry_code": (*Server).deleteEntryCode,
	}
}

// decodeStrict decodes a JSON body refusing unknown fields and trailing data.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after JSON value")
	}
	return nil
}

// onlyParams refuses query parameters outside the allowed set and repeated
// ones.
func onlyParams(q url.Values, allowed ...string) (answer, bool) {
	for k, vs := range q {
		if !slices.Contains(allowed, k) {
			return errAnswer(http.StatusBadRequest, "Unknown query parameter '"+k+"'"), false
		}
		if len(vs) > 1 {
			return errAnswer(http.StatusBadRequest, "Query parameter '"+k+"' given more than once"), false
		}
	}
	return answer{}, true
}
