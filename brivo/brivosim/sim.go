// Package brivosim is a stateful simulator of the Brivo Access (Onair) REST
// API and its OAuth server, for tests, examples, benchmarks and trying the
// brivo adapter without a Brivo account.
//
// A Server is an http.Handler serving both hosts on one origin:
//
//	POST /oauth/token          the auth server (auth.brivo.com)
//	/v1/api/...                the API (api.brivo.com)
//
// so an adapter under test points its auth URL at the server's origin and
// its API base URL at origin + "/v1/api". Start it with httptest or on a
// real port:
//
//	sim := brivosim.New()
//	log.Fatal(http.ListenAndServe("127.0.0.1:8080", sim))
//
// What it simulates, faithful to the wire format the adapter relies on:
// the password and refresh-token grants with Basic client credentials and
// the api-key header (tokens expire on the injected clock; refresh tokens
// rotate); the Mashery gateway's HTML answers (403 "Developer Inactive" for a
// bad api-key, 403 "Developer Over Qps" with Retry-After over the optional
// rate limit, 596 "Service Not Found" for an unknown verb or path); users
// with external IDs, suspension and deletion; groups with membership (at
// most 16 groups per user); the credential-format catalogue (id 100
// "Standard 26 Bit" with fields 1 card_number and 2 facility_code, and
// others); credentials whose encodedCredential is computed from their field
// values by package wiegand, with "Duplicate Credential Found" for a second
// credential of the same format and encoded value; assignments with
// effectiveFrom/effectiveTo; Brivo Mobile Pass digital invitations; the
// paged envelope {"data","offset","pageSize","count"} with pageSize ≤ 100;
// and the filter subset reference_id, facility_code and status on
// /credentials, firstname, lastname and id on /users, name on /groups,
// status on invitations. External IDs are unique (a taken one is refused
// with 400 "External ID already exists", as Brivo documents them unique)
// unless WithSharedExternalIDs says otherwise.
//
// User PINs: PATCH /users/{id} (the documented partial update) sets the
// names, pin (4 to 8 digits; null or "" removes it; one another user
// holds is a 400 "PIN is already in use", the simulator's choice) and
// effectiveFrom/effectiveTo, the PIN's validity. A door given a keypad
// (SetDoorKeypad) opens for a PIN of a member of one of its groups, not
// suspended, within that validity: PINOpensDoor and, per group, PINOpens
// are the keypad oracles.
//
// Door events: doors (access points, see Door) belong to a site and open
// for the members of their groups. Swipe presents a card at a door,
// decides with the oracle (Opens on any of the door's groups), records the
// access event in Brivo's event JSON (uuid, securityAction, actor,
// eventObject, site, occurred, eventData with actionAllowed, credentials
// and, for an unknown card, unknownWeigand) and queues a notification to
// every event subscription whose criteria match. GET /events/access lists
// the events newest first with Brivo's rules: an occurred window of at
// most 24 hours (filter occurred__gt/occurred__lt, truncated to the hour,
// exclusive, the current UTC day by default), paging by date (offset = the
// minimum occurred of the last page read; the simulator includes events at
// exactly the offset, so equal timestamps are repeated, never lost), and
// the object, site and event_type filters. /event-subscriptions is served
// in full (create, list with a name filter, get, update, delete), and
// FlushWebhooks posts pending notifications to the subscriptions' URLs,
// synchronously, so tests stay deterministic. Brivo documents no delivery
// retry (it e-mails errorEmail on failure); WithWebhookRetries simulates
// one, LoseWebhooks loses notifications in transit, and AddFault applies
// to the event paths like to any other.
//
// It is strict on purpose, so adapter mistakes show: unknown paths and
// verbs get 596, unknown JSON fields and query parameters get a 400 in
// Brivo's {"code","message"} shape, and grant parameters in the token URL
// (where they would leak a password into logs) are refused.
//
// GET /users lists users by last name (then first name and ID), with only
// id, externalId, firstName, lastName and suspended, as recorded traffic
// shows (its firstname and lastname filters match a part of the name,
// without case); GET /users/{id} gives the whole user. Deleting a user
// unassigns its credentials (they stay in the account) and deletes its
// memberships and mobile-pass invitations.
//
// Fault injection: AddFault (a status, a dropped connection before or
// after the change is committed, a Mashery over-QPS answer, access-token
// expiry, a proxy's HTML 404, Brivo's 403 for a missing permission, or a
// delay waited out with the injectable sleep, for requests matching a
// method and path),
// WithMissingStyle (each plausible way Brivo may answer a request about a
// record that is gone: 404 with either field order or no body, 400, 403,
// 500), WithSharedExternalIDs (a server that accepts a taken external ID,
// answering the lookup by external ID with the oldest user, the newest,
// or a 500), SetLatency with an injectable sleep, ExpireAccessTokens and
// ExpireRefreshTokens, and SetRateLimit. The oracle (Opens, Census,
// Credential, User, Users, FindText) answers from the server's own state, and
// Requests returns a log of every request for request-shape tests (without
// secrets).
//
// Administrator helpers change the account behind the client's back, for
// reconciliation tests: AddUser (under WithSharedExternalIDs it plants a
// twin carrying a taken external ID), AddMember, RemoveMember, SetGroups,
// SetSuspended, AddCredential, AssignCredential, UnassignCredential,
// SetCredentialWindow, DeleteCredential and DeleteUser.
//
// A Server is safe for concurrent use.
package brivosim

import (
	"bytes"
	"context"
	"crypto/rand"
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
	"github.com/acsbridge/acsbridge/wiegand"
)

// The default credentials the simulator accepts.
const (
	ClientID     = "sim-client-id"
	ClientSecret = "sim-client-secret"
	APIKey       = "sim-api-key"
	Username     = "sim-admin"
	Password     = "sim-password"
)

// APIPrefix is the path under which the API is served, as on api.brivo.com.
const APIPrefix = "/v1/api"

// TokenPath is the path of the OAuth token endpoint, as on auth.brivo.com.
const TokenPath = "/oauth/token"

// Credentials are what the simulator accepts from clients.
type Credentials struct {
	ClientID     string
	ClientSecret string
	APIKey       string
	Username     string // the Brivo admin ID of the password grant
	Password     string
}

// DefaultCredentials returns the credentials a new Server accepts unless
// WithCredentials says otherwise.
func DefaultCredentials() Credentials {
	return Credentials{ClientID: ClientID, ClientSecret: ClientSecret, APIKey: APIKey, Username: Username, Password: Password}
}

// Group is an access group as seeded or listed.
type Group struct {
	ID   int64
	Name string
}

// FormatField is one field of a credential format.
type FormatField struct {
	ID   int64
	Name string // "card_number" or "facility_code" for the Wiegand formats
}

// Format is an entry of the credential-format catalogue.
type Format struct {
	ID     int64
	Name   string
	Fields []FormatField
	// Wiegand is the layout used to compute encodedCredential from the
	// fields; zero for formats without one (mobile pass, unknown format).
	Wiegand wiegand.Format
}

// DefaultFormats returns the catalogue a new Server offers: the ids and
// names seen in real 2017 traffic (id 100 "Standard 26 Bit" with fields 1
// card_number and 2 facility_code, and others).
func DefaultFormats() []Format {
	return []Format{
		{ID: 100, Name: "Standard 26 Bit", Fields: []FormatField{{1, "card_number"}, {2, "facility_code"}}, Wiegand: wiegand.H10301},
		{ID: 102, Name: "HID Corporate 1000", Fields: []FormatField{{5, "card_number"}, {6, "facility_code"}}, Wiegand: wiegand.Corp1000_35},
		{ID: 103, Name: "HID 37 Bit w/ Fac. Code", Fields: []FormatField{{10, "card_number"}, {11, "facility_code"}}, Wiegand: wiegand.H10304},
		{ID: 304, Name: "HID Corporate 1000 48-bit", Fields: []FormatField{{106, "card_number"}, {107, "facility_code"}}, Wiegand: wiegand.Corp1000_48},
		{ID: 110, Name: "Unknown format"},
		{ID: 307, Name: "Brivo Mobile Pass"},
	}
}

// DefaultGroups are the groups a new Server holds unless WithGroups says
// otherwise.
func DefaultGroups() []Group {
	return []Group{{ID: 11906588, Name: "Lobby"}, {ID: 11906589, Name: "Floor 3"}}
}

// Mobile-pass format id used for digital invitations.
const mobilePassFormatID = 307

// FaultKind selects what an injected fault does.
type FaultKind int

// The fault kinds.
const (
	// FaultStatus answers Fault.Status with the vendor's body for it
	// without doing anything: HTML for 403 ("Developer Inactive") and 596,
	// the OAuth shape for 401 (invalid_token, or invalid_grant at the
	// token endpoint), Retry-After on 429 and 503, JSON
	// {"code","message"} otherwise.
	FaultStatus FaultKind = iota + 1
	// FaultDropBeforeCommit closes the connection without doing anything.
	FaultDropBeforeCommit
	// FaultDropAfterCommit does the request, then closes the connection
	// without answering: the change is made, the client never hears.
	FaultDropAfterCommit
	// FaultOverQPS answers the Mashery gateway's 403 "Developer Over Qps"
	// with Retry-After, without doing anything.
	FaultOverQPS
	// FaultExpireToken expires every access token just before the
	// request is checked, so it is answered 401 {"error":"invalid_token"}.
	FaultExpireToken
	// FaultHTMLNotFound answers 404 with an HTML page, as a proxy or load
	// balancer in front of the API would, without doing anything.
	FaultHTMLNotFound
	// FaultForbidden answers Brivo's own 403 {"code":403,"message":"You
	// are not allowed to perform that action"} (a missing permission; the
	// gateway's 403 pages are FaultStatus 403 and FaultOverQPS), without
	// doing anything.
	FaultForbidden
	// FaultDelay waits Fault.Delay (through the sleep of WithSleep, so a
	// test can hold the request on a channel instead of the clock), then
	// handles the request as usual.
	FaultDelay
)

// Fault is an injected failure for requests matching Method and Path.
type Fault struct {
	// Method matches the request method; empty matches any.
	Method string
	// Path matches the path relative to the API prefix ("/credentials",
	// "/users/*/credentials/*": "*" matches one segment) or TokenPath for
	// the auth server; empty matches every path.
	Path   string
	Kind   FaultKind
	Status int           // for FaultStatus
	Delay  time.Duration // for FaultDelay
	// Times is how many matching requests the fault affects (0 means 1;
	// negative means every one).
	Times int
}

// Request is one logged request. It never holds a secret: the token
// endpoint's body is reduced to its grant type, and headers to whether
// they were right.
type Request struct {
	Time        time.Time
	Method      string
	Path        string // the escaped path as received, including the API prefix
	Query       url.Values
	RawQuery    string
	ContentType string
	AuthScheme  string // "bearer", "basic" or "" (lower case)
	APIKeyOK    bool   // the api-key header carried the expected key
	Body        string // the JSON body of an API request; "grant_type=…" for the token endpoint
	Status      int    // 0 when the connection was dropped
}

// Census counts what the server stores.
type Census struct {
	Users       int
	Credentials int
}

// Option configures a Server.
type Option func(*Server)

// WithCredentials sets the credentials the server accepts.
func WithCredentials(c Credentials) Option { return func(s *Server) { s.auth = c } }

// WithClock sets the clock used for token expiry, effective dates and
// timestamps (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithTokenLifetime sets the access-token lifetime reported as expires_in
// (default 300 s, Brivo's current value).
func WithTokenLifetime(d time.Duration) Option { return func(s *Server) { s.tokenLife = d } }

// WithRefreshLifetime sets how long a refresh token stays valid (default
// 24 h; Brivo does not document it).
func WithRefreshLifetime(d time.Duration) Option { return func(s *Server) { s.refreshLife = d } }

// WithSleep sets the function SetLatency uses to wait (default: a timer
// that stops early when the request's context ends).
func WithSleep(sleep func(ctx context.Context, d time.Duration)) Option {
	return func(s *Server) { s.sleep = sleep }
}

// WithRateLimit makes the server answer more than perSecond API requests in
// one second of its clock with the gateway's 403 "Developer Over Qps"
// (0, the default: no limit).
func WithRateLimit(perSecond int) Option { return func(s *Server) { s.rateLimit = perSecond } }

// WithRetryAfter sets the Retry-After seconds of over-QPS answers
// (default 1, as the Mashery gateway sends).
func WithRetryAfter(seconds int) Option { return func(s *Server) { s.retryAfter = seconds } }

// WithFormats replaces the credential-format catalogue.
func WithFormats(fs ...Format) Option {
	return func(s *Server) { s.formats = slices.Clone(fs) }
}

// WithGroups replaces the seeded groups.
func WithGroups(gs ...Group) Option {
	return func(s *Server) { s.seedGroups = slices.Clone(gs) }
}

// WithMobilePassAllotment sets how many Brivo Mobile Passes the account may
// hand out (default 500).
func WithMobilePassAllotment(n int) Option { return func(s *Server) { s.allotment = n } }

// SharedLookup selects what GET /users/{externalId}/external answers when
// several users carry the external ID (see WithSharedExternalIDs).
type SharedLookup int

const (
	// LookupOldest answers the user with the smallest ID.
	LookupOldest SharedLookup = iota + 1
	// LookupNewest answers the user with the largest ID.
	LookupNewest
	// LookupError answers 500 {"code":500,"message":…}, as a server
	// whose query expects one row at most would.
	LookupError
)

// WithSharedExternalIDs makes the server accept a user whose external ID
// another user already carries (POST /users and AddUser), and answer a
// lookup by that external ID as l says. Brivo documents externalId as
// "guaranteed to be unique within the client's Brivo Access account" and
// the server refuses a taken one by default (400 "External ID already
// exists"); whether that holds for two creations at the same instant is
// not documented, so this option lets clients be tested against a server
// where it does not.
func WithSharedExternalIDs(l SharedLookup) Option { return func(s *Server) { s.shared = l } }

// Server simulates the Brivo API and auth server. Create it with New.
type Server struct {
	auth        Credentials
	now         func() time.Time
	tokenLife   time.Duration
	refreshLife time.Duration
	sleep       func(ctx context.Context, d time.Duration)
	retryAfter  int
	allotment   int
	formats     []Format
	seedGroups  []Group
	seedDoors   []Door
	hookClient  *http.Client
	hookRetries int
	flushMu     sync.Mutex // one FlushWebhooks at a time

	mu        sync.Mutex
	rateLimit int
	rate      simkit.Window // the per-second limit's count
	throttled int
	latency   time.Duration
	missing   MissingStyle
	faults    []*Fault
	log       []Request

	access  map[string]time.Time // access token → expiry
	refresh map[string]time.Time // refresh token → expiry

	users       map[int64]*user
	byExternal  map[string][]int64 // external ID → the users carrying it, by ID
	shared      SharedLookup       // 0: external IDs are unique
	groups      map[int64]*group
	groupOrder  []*group // groups by ID; nil when stale
	credentials map[int64]*credential
	held        map[int64]map[int64]*credential // user ID → the credentials assigned to it
	invitations map[int64]*invitation
	nextUser    int64
	nextGroup   int64
	nextCred    int64
	nextInvite  int64

	sites         map[int64]Site
	doors         map[int64]*door
	nextDoor      int64
	events        []*event // sorted by (Occurred, UUID)
	subs          map[int64]*subscription
	nextSub       int64
	nextCriterion int64
	pending       []*delivery
	deliveries    []Delivery
	failed        []Delivery
	lose          int
}

type user struct {
	id                  int64
	externalID          string
	first, middle, last string
	emails              []email
	phoneNumbers        []phone
	pin                 string
	pinFrom, pinTo      time.Time // validity of the PIN
	bleTwoFactorExempt  bool
	suspended           bool
	created, updated    time.Time
	groups              map[int64]bool
	// readOnly marks a user an identity provider keeps (SetReadOnly).
	readOnly bool
}

type email struct {
	Address string `json:"address"`
	Type    string `json:"type,omitempty"`
}

type phone struct {
	Number string `json:"number"`
	Type   string `json:"type,omitempty"`
}

type group struct {
	id      int64
	name    string
	members map[int64]bool
}

type credential struct {
	id          int64
	format      *Format
	referenceID string
	encoded     string
	fields      map[int64]string
	size        int
	user        int64 // 0: unassigned
	from, to    time.Time
	created     time.Time
}

type invitation struct {
	id          int64
	user        int64
	referenceID string
	credential  int64
	accessCode  string
	created     time.Time
	expiration  time.Time
	status      string
	cancelled   time.Time
	nfc         bool
}

// New returns a server seeded with the default formats and groups.
func New(opts ...Option) *Server {
	s := &Server{
		auth:          DefaultCredentials(),
		now:           time.Now,
		tokenLife:     300 * time.Second,
		refreshLife:   24 * time.Hour,
		retryAfter:    1,
		allotment:     500,
		formats:       DefaultFormats(),
		seedGroups:    DefaultGroups(),
		seedDoors:     DefaultDoors(),
		hookClient:    defaultWebhookClient(),
		access:        map[string]time.Time{},
		refresh:       map[string]time.Time{},
		users:         map[int64]*user{},
		byExternal:    map[string][]int64{},
		groups:        map[int64]*group{},
		credentials:   map[int64]*credential{},
		held:          map[int64]map[int64]*credential{},
		invitations:   map[int64]*invitation{},
		nextUser:      15540780,
		nextGroup:     11906600,
		nextCred:      22197840,
		nextInvite:    740,
		subs:          map[int64]*subscription{},
		nextSub:       2452345,
		nextCriterion: 349,
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
		s.groups[g.ID] = &group{id: g.ID, name: g.Name, members: map[int64]bool{}}
		if g.ID >= s.nextGroup {
			s.nextGroup = g.ID + 1
		}
	}
	if s.hookClient == nil {
		s.hookClient = defaultWebhookClient()
	}
	s.seedDoorsLocked()
	return s
}

// AddGroup adds a group and returns it with its new ID.
func (s *Server) AddGroup(name string) Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextGroup
	s.nextGroup++
	s.groups[id] = &group{id: id, name: name, members: map[int64]bool{}}
	s.groupOrder = nil
	return Group{ID: id, Name: name}
}

// Groups returns every group, sorted by ID.
func (s *Server) Groups() []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Group, 0, len(s.groups))
	for _, g := range s.groups {
		out = append(out, Group{ID: g.id, Name: g.name})
	}
	slices.SortFunc(out, func(a, b Group) int { return cmpInt(a.ID, b.ID) })
	return out
}

// AddUser creates a user as an administrator would in Brivo's web UI and
// returns its ID. The external ID may be empty; a taken one is an error,
// unless the server shares external IDs (WithSharedExternalIDs): then it
// plants a second user carrying it, as concurrent creations leave them.
func (s *Server) AddUser(firstName, lastName, externalID string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if externalID != "" && s.shared == 0 {
		if _, taken := s.byExternal[externalID]; taken {
			return 0, fmt.Errorf("brivosim: external ID %q is taken", externalID)
		}
	}
	u := s.newUser(firstName, lastName, externalID)
	return u.id, nil
}

// AddMember puts a user into a group, as an administrator would.
func (s *Server) AddMember(groupID, userID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, u := s.groups[groupID], s.users[userID]
	if g == nil || u == nil {
		return fmt.Errorf("brivosim: no group %d or user %d", groupID, userID)
	}
	g.members[userID] = true
	u.groups[groupID] = true
	return nil
}

// SetSuspended suspends or reinstates a user, as an administrator would.
func (s *Server) SetSuspended(userID int64, suspended bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userID]
	if u == nil {
		return fmt.Errorf("brivosim: no user %d", userID)
	}
	u.suspended = suspended
	return nil
}

// AddCredential registers an unassigned card credential of a Wiegand
// format from its facility code and card number, as an administrator
// entering badge stock would, and returns its ID. An empty referenceID
// means the decimal card number.
func (s *Server) AddCredential(formatID int64, referenceID string, facility, number uint64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.format(formatID)
	if f == nil || !f.Wiegand.Known() {
		return 0, fmt.Errorf("brivosim: format %d is not a Wiegand card format", formatID)
	}
	fr, err := f.Wiegand.Encode(facility, number)
	if err != nil {
		return 0, err
	}
	enc := fr.Hex()
	if s.duplicate(formatID, enc) != nil {
		return 0, fmt.Errorf("brivosim: duplicate credential")
	}
	if referenceID == "" {
		referenceID = strconv.FormatUint(number, 10)
	}
	c := &credential{id: s.nextCred, format: f, referenceID: referenceID, encoded: enc,
		fields: s.fieldsOf(f, facility, number), size: f.Wiegand.Bits(), created: s.now()}
	s.nextCred++
	s.credentials[c.id] = c
	return c.id, nil
}

// AssignCredential assigns a credential to a user with an effective window
// (a zero to means open-ended), as an administrator would.
func (s *Server) AssignCredential(userID, credentialID int64, from, to time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, c := s.users[userID], s.credentials[credentialID]
	if u == nil || c == nil {
		return fmt.Errorf("brivosim: no user %d or credential %d", userID, credentialID)
	}
	if c.user != 0 && c.user != userID {
		return fmt.Errorf("brivosim: credential %d is assigned to user %d", credentialID, c.user)
	}
	s.hold(c, userID, from, to)
	return nil
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

// Throttled returns how many requests were answered "Developer Over Qps"
// because of the simulated rate limit or an injected fault.
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

// ExpireAccessTokens makes every access token issued so far invalid.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	clear(s.access)
	s.mu.Unlock()
}

// ExpireRefreshTokens makes every refresh token issued so far invalid.
func (s *Server) ExpireRefreshTokens() {
	s.mu.Lock()
	clear(s.refresh)
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
	query, qerr := parseQuery(r.URL.RawQuery)
	entry, rel := s.logEntry(r, query, body)
	isToken := r.URL.Path == TokenPath

	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		s.sleep(r.Context(), latency)
	}

	s.mu.Lock()
	ans, drop := s.answer(r, rel, isToken, query, qerr, body)
	if !drop {
		entry.Status = ans.status
	}
	s.log = append(s.log, entry)
	s.mu.Unlock()

	if drop {
		simkit.HijackAndClose(w)
		return
	}
	ans.write(w)
}

// logEntry returns the request log entry of r, without its answer, and
// the path relative to the API (TokenPath for the token endpoint).
// Passwords, refresh tokens and client secrets are never logged, wherever
// a client put them.
func (s *Server) logEntry(r *http.Request, query url.Values, body []byte) (Request, string) {
	entry := Request{
		Time:        s.now(),
		Method:      r.Method,
		Path:        r.URL.EscapedPath(),
		Query:       query,
		RawQuery:    r.URL.RawQuery,
		ContentType: r.Header.Get("Content-Type"),
		APIKeyOK:    r.Header.Get("api-key") == s.auth.APIKey && s.auth.APIKey != "",
	}
	if scheme, _, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok {
		entry.AuthScheme = strings.ToLower(scheme)
	}
	if r.URL.Path != TokenPath {
		entry.Body = string(body)
		return entry, strings.TrimPrefix(entry.Path, APIPrefix)
	}
	for _, k := range []string{"password", "refresh_token", "client_secret"} {
		if _, ok := entry.Query[k]; ok {
			entry.Query[k] = []string{"REDACTED"}
		}
	}
	entry.RawQuery = entry.Query.Encode()
	if form, err := url.ParseQuery(string(body)); err == nil && form.Get("grant_type") != "" {
		entry.Body = "grant_type=" + form.Get("grant_type")
	}
	return entry, TokenPath
}

// answer decides the answer to r: an injected fault's, the rate limit's,
// the token endpoint's or the API's. drop reports that the connection is
// to be closed without an answer. s.mu is held (and released while a
// FaultDelay is waited out).
func (s *Server) answer(r *http.Request, rel string, isToken bool, query url.Values, qerr error, body []byte) (ans answer, drop bool) {
	fault := s.matchFault(r.Method, rel)
	if fault != nil && fault.Kind == FaultDelay {
		d := fault.Delay
		s.mu.Unlock()
		s.sleep(r.Context(), d)
		s.mu.Lock()
		fault = nil
	}
	if fault != nil {
		switch fault.Kind {
		case FaultDropBeforeCommit:
			return answer{}, true
		case FaultStatus:
			return s.statusAnswer(fault.Status, isToken), false
		case FaultHTMLNotFound:
			return htmlAnswer(http.StatusNotFound, "404 Not Found", nil), false
		case FaultForbidden:
			return errAnswer(http.StatusForbidden, "You are not allowed to perform that action"), false
		case FaultOverQPS:
			s.throttled++
			return s.overQPS(), false
		case FaultExpireToken:
			clear(s.access)
		}
	}
	if !isToken && s.rate.Over(s.now(), s.rateLimit) {
		s.throttled++
		return s.overQPS(), false
	}
	switch {
	case qerr != nil:
		ans = errAnswer(http.StatusBadRequest, "Malformed query string")
	case isToken:
		ans = s.token(r, body)
	default:
		ans = s.api(r, query, body)
	}
	return ans, fault != nil && fault.Kind == FaultDropAfterCommit
}

// write sends the answer with the gateway's headers.
func (a answer) write(w http.ResponseWriter) {
	for k, vs := range a.header {
		w.Header()[k] = vs
	}
	w.Header().Set("Server", "Mashery Proxy")
	w.Header().Set("Brivo-Api-Version", "1.18.1-5")
	if a.body != nil && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
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

type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func jsonAnswer(status int, v any) answer {
	b, err := json.Marshal(v)
	if err != nil {
		return errAnswer(http.StatusInternalServerError, "Internal Server Error")
	}
	return answer{status: status, body: b}
}

func errAnswer(status int, msg string) answer {
	return jsonAnswer(status, apiError{Code: status, Message: msg})
}

func htmlAnswer(status int, h1 string, header http.Header) answer {
	if header == nil {
		header = http.Header{}
	}
	header.Set("Content-Type", "text/html")
	body := "<html><head><title>" + h1 + "</title></head><body><h1>" + h1 + "</h1></body></html>"
	return answer{status: status, header: header, body: []byte(body)}
}

func noContent() answer { return answer{status: http.StatusNoContent} }

func notFoundService() answer { return htmlAnswer(596, "596 Service Not Found", nil) }

func developerInactive() answer {
	return htmlAnswer(http.StatusForbidden, "Developer Inactive",
		http.Header{"X-Mashery-Error-Code": {"ERR_403_DEVELOPER_INACTIVE"}})
}

func (s *Server) overQPS() answer {
	return htmlAnswer(http.StatusForbidden, "Developer Over Qps", http.Header{
		"X-Mashery-Error-Code": {"ERR_403_DEVELOPER_OVER_QPS"},
		"Retry-After":          {strconv.Itoa(s.retryAfter)},
	})
}

// statusAnswer is the vendor's answer for an injected status: the gateway's
// HTML for 403 and 596, the OAuth shape for 401, Retry-After on 429 and
// 503, and {"code","message"} otherwise.
func (s *Server) statusAnswer(status int, isToken bool) answer {
	switch status {
	case http.StatusForbidden:
		return developerInactive()
	case 596:
		return notFoundService()
	case http.StatusUnauthorized:
		if isToken {
			return oauthError(status, "invalid_grant", "Bad credentials")
		}
		return oauthError(status, "invalid_token", "")
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		a := errAnswer(status, http.StatusText(status))
		a.header = http.Header{"Retry-After": {strconv.Itoa(s.retryAfter)}}
		return a
	}
	msg := http.StatusText(status)
	if msg == "" {
		msg = "Error"
	}
	return errAnswer(status, msg)
}

func oauthError(status int, code, desc string) answer {
	m := map[string]string{"error": code}
	if desc != "" {
		m["error_description"] = desc
	}
	return jsonAnswer(status, m)
}

func randomToken(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// token serves POST /oauth/token.
func (s *Server) token(r *http.Request, body []byte) answer {
	if r.Method != http.MethodPost {
		return notFoundService()
	}
	if r.Header.Get("api-key") != s.auth.APIKey {
		return developerInactive()
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		return oauthError(http.StatusUnauthorized, "unauthorized", "Full authentication is required to access this resource")
	}
	if id != s.auth.ClientID || secret != s.auth.ClientSecret {
		return jsonAnswer(http.StatusUnauthorized, map[string]any{
			"status": 401, "error": "Unauthorized", "message": "Bad credentials", "path": TokenPath})
	}
	if r.URL.RawQuery != "" {
		return oauthError(http.StatusBadRequest, "invalid_request", "grant parameters must be sent in the request body")
	}
	ct := strings.ToLower(strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0]))
	switch ct {
	case "application/x-www-form-urlencoded":
	case "application/json":
		return oauthError(http.StatusBadRequest, "invalid_request", "JSON is not supported in the request body")
	default:
		return oauthError(http.StatusUnsupportedMediaType, "invalid_request", "Content type '"+ct+"' not supported")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return oauthError(http.StatusBadRequest, "invalid_request", "malformed form body")
	}
	now := s.now()
	switch form.Get("grant_type") {
	case "password":
		if form.Get("username") != s.auth.Username || form.Get("password") != s.auth.Password {
			return oauthError(http.StatusUnauthorized, "invalid_grant", "Bad credentials")
		}
	case "refresh_token":
		rt := form.Get("refresh_token")
		exp, ok := s.refresh[rt]
		if !ok || !now.Before(exp) {
			delete(s.refresh, rt)
			return oauthError(http.StatusUnauthorized, "invalid_token", "Invalid refresh token")
		}
		delete(s.refresh, rt) // refresh tokens rotate
	case "":
		return oauthError(http.StatusBadRequest, "invalid_request", "Missing grant type")
	default:
		return oauthError(http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type")
	}
	at, rt := randomToken("at-"), randomToken("rt-")
	s.access[at] = now.Add(s.tokenLife)
	s.refresh[rt] = now.Add(s.refreshLife)
	return jsonAnswer(http.StatusOK, map[string]any{
		"access_token":  at,
		"token_type":    "bearer",
		"refresh_token": rt,
		"expires_in":    int(s.tokenLife / time.Second),
		"scope":         "brivo.api",
		"jti":           randomToken(""),
	})
}

// authorize checks the gateway key and the bearer token of an API request.
func (s *Server) authorize(r *http.Request) (answer, bool) {
	if r.Header.Get("api-key") != s.auth.APIKey {
		return developerInactive(), false
	}
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || tok == "" {
		return oauthError(http.StatusUnauthorized, "unauthorized", "Full authentication is required to access this resource"), false
	}
	exp, ok := s.access[tok]
	if !ok || !s.now().Before(exp) {
		delete(s.access, tok)
		return oauthError(http.StatusUnauthorized, "invalid_token", ""), false
	}
	return answer{}, true
}

// parseQuery reads a query string splitting on '&' only, as Brivo's Java
// servers do: a raw ';' inside a filter value is data, not a separator.
func parseQuery(raw string) (url.Values, error) {
	q := url.Values{}
	if raw == "" {
		return q, nil
	}
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, err
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return nil, err
		}
		q[key] = append(q[key], val)
	}
	return q, nil
}

// api routes an API request. s.mu is held.
func (s *Server) api(r *http.Request, q url.Values, body []byte) answer {
	esc := r.URL.EscapedPath()
	if !strings.HasPrefix(esc, APIPrefix+"/") {
		return notFoundService()
	}
	raw := strings.Split(strings.TrimPrefix(esc, APIPrefix+"/"), "/")
	seg := make([]string, len(raw))
	for i, p := range raw {
		v, err := url.PathUnescape(p)
		if err != nil || v == "" {
			return notFoundService()
		}
		seg[i] = v
	}
	if a, ok := s.authorize(r); !ok {
		return a
	}
	if len(body) > 0 {
		ct := strings.ToLower(strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0]))
		if ct != "application/json" {
			return errAnswer(http.StatusUnsupportedMediaType, "Content type '"+ct+"' not supported")
		}
	}
	return s.restyleMissing(r.Method, seg, s.route(r.Method, seg, q, body))
}

// route serves an authorized API request: the handler of the resource
// named by the first path segment. s.mu is held.
func (s *Server) route(m string, seg []string, q url.Values, body []byte) answer {
	var serve func(m string, seg []string, q url.Values, body []byte) answer
	switch seg[0] {
	case "users":
		serve = s.serveUsers
	case "groups":
		serve = s.serveGroups
	case "credentials":
		serve = s.serveCredentials
	case "events":
		serve = s.serveEvents
	case "event-subscriptions":
		serve = s.serveSubscriptions
	default:
		return notFoundService()
	}
	return serve(m, seg, q, body)
}

// serveUsers serves /users, /users/{id} and the user's sub-resources.
func (s *Server) serveUsers(m string, seg []string, q url.Values, body []byte) answer {
	switch {
	case len(seg) == 1 && m == http.MethodGet:
		return s.listUsers(q)
	case len(seg) == 1 && m == http.MethodPost:
		return s.createUser(q, body)
	case len(seg) == 2 && m == http.MethodGet:
		return s.getUser(q, seg[1])
	case len(seg) == 2 && m == http.MethodDelete:
		return s.deleteUser(q, seg[1])
	case len(seg) == 2 && m == http.MethodPatch:
		return s.patchUser(q, seg[1], body)
	case len(seg) == 3 && seg[2] == "external" && m == http.MethodGet:
		return s.getUserByExternal(q, seg[1])
	case len(seg) == 3 && seg[2] == "suspended" && m == http.MethodGet:
		return s.getSuspended(q, seg[1])
	case len(seg) == 3 && seg[2] == "suspended" && m == http.MethodPut:
		return s.putSuspended(q, seg[1], body)
	case len(seg) == 3 && seg[2] == "groups" && m == http.MethodGet:
		return s.userGroups(q, seg[1])
	case len(seg) >= 3 && seg[2] == "credentials":
		return s.serveUserCredentials(m, seg, q, body)
	}
	return notFoundService()
}

// serveUserCredentials serves /users/{id}/credentials, the assignment of
// one credential and the user's mobile-pass invitations.
func (s *Server) serveUserCredentials(m string, seg []string, q url.Values, body []byte) answer {
	switch {
	case len(seg) == 3 && m == http.MethodGet:
		return s.userCredentials(q, seg[1])
	case len(seg) == 4 && seg[3] == "digital-invitations":
		switch m {
		case http.MethodGet:
			return s.listInvitations(q, seg[1])
		case http.MethodPost:
			return s.createInvitation(q, seg[1], body)
		case http.MethodDelete:
			return s.cancelInvitation(q, seg[1])
		}
	case len(seg) == 4 && m == http.MethodPut:
		return s.assign(q, seg[1], seg[3], body)
	case len(seg) == 4 && m == http.MethodDelete:
		return s.unassign(q, seg[1], seg[3])
	}
	return notFoundService()
}

// serveGroups serves /groups, /groups/{id} and the group's members.
func (s *Server) serveGroups(m string, seg []string, q url.Values, body []byte) answer {
	switch {
	case len(seg) == 1 && m == http.MethodGet:
		return s.listGroups(q)
	case len(seg) == 1 && m == http.MethodPost:
		return s.createGroup(q, body)
	case len(seg) == 2 && m == http.MethodGet:
		return s.getGroup(q, seg[1])
	case len(seg) == 2 && m == http.MethodDelete:
		return s.deleteGroup(q, seg[1])
	case len(seg) == 3 && seg[2] == "users" && m == http.MethodGet:
		return s.groupUsers(q, seg[1])
	case len(seg) == 4 && seg[2] == "users" && m == http.MethodPut:
		return s.addMember(q, seg[1], seg[3], body)
	case len(seg) == 4 && seg[2] == "users" && m == http.MethodDelete:
		return s.removeMember(q, seg[1], seg[3])
	}
	return notFoundService()
}

// serveCredentials serves /credentials, the format catalogue,
// /credentials/{id} and the credential's user.
func (s *Server) serveCredentials(m string, seg []string, q url.Values, body []byte) answer {
	switch {
	case len(seg) == 2 && seg[1] == "formats":
		if m == http.MethodGet {
			return s.listFormats(q)
		}
	case len(seg) == 1 && m == http.MethodGet:
		return s.listCredentials(q)
	case len(seg) == 1 && m == http.MethodPost:
		return s.createCredential(q, body)
	case len(seg) == 2 && m == http.MethodGet:
		return s.getCredential(q, seg[1])
	case len(seg) == 2 && m == http.MethodDelete:
		return s.deleteCredential(q, seg[1])
	case len(seg) == 3 && seg[2] == "user" && m == http.MethodGet:
		return s.credentialUser(q, seg[1])
	}
	return notFoundService()
}

// serveEvents serves /events/access.
func (s *Server) serveEvents(m string, seg []string, q url.Values, _ []byte) answer {
	if len(seg) == 2 && seg[1] == "access" && m == http.MethodGet {
		return s.listAccessEvents(q)
	}
	return notFoundService()
}

// serveSubscriptions serves /event-subscriptions and
// /event-subscriptions/{id}.
func (s *Server) serveSubscriptions(m string, seg []string, q url.Values, body []byte) answer {
	switch {
	case len(seg) == 1 && m == http.MethodGet:
		return s.listSubscriptions(q)
	case len(seg) == 1 && m == http.MethodPost:
		return s.createSubscription(q, body)
	case len(seg) == 2 && m == http.MethodGet:
		return s.getSubscription(q, seg[1])
	case len(seg) == 2 && m == http.MethodPut:
		return s.updateSubscription(q, seg[1], body)
	case len(seg) == 2 && m == http.MethodDelete:
		return s.deleteSubscription(q, seg[1])
	}
	return notFoundService()
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
			return errAnswer(http.StatusBadRequest, "Unknown query parameter '"+k+"'"), false
		}
	}
	return answer{}, true
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
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

const timeLayout = "2006-01-02T15:04:05Z"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

// parseTime accepts ISO 8601 with or without fractional seconds and an
// offset, and a bare date.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("invalid date %q", s)
}
