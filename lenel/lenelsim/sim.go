// Package lenelsim is a stateful simulator of the LenelS2 OnGuard
// OpenAccess REST API, as far as a visitor-badge integration uses it. It is
// an http.Handler: serve it with net/http/httptest in tests or on a real
// port for manual work, under the base path BasePath.
//
// What it implements, following the public OpenAccess 7.5 specification and
// integrators' captured traffic:
//
//   - POST /authentication (Application-Id header; user_name, password,
//     optional directory_id) answering session_token and
//     token_expiration_time; DELETE /authentication; GET /keepalive;
//     GET /session. Sessions expire after an absolute lifetime and after
//     an idle timeout, both measured on the injected clock.
//   - GET /version (unauthenticated) and GET /settings/visit.
//   - /instances GET (filter, page_number, page_size ≤ 100, total_pages),
//     POST (create; the answer holds only the key), PUT (modify by key) and
//     DELETE (JSON body with the key), and GET /count, for Lnl_Cardholder,
//     Lnl_Visitor, Lnl_Badge, Lnl_BadgeType, Lnl_BadgeStatus,
//     Lnl_AccessLevel and Lnl_AccessLevelAssignment. Request property names
//     are case-insensitive; responses use each type's own casing (upper
//     case for people and badges, "ID"/"Name" for lookup types,
//     "AccessLevelID"/"BadgeKey" for assignments).
//   - Doors and door events: AddDoor adds a card reader (an Lnl_Reader
//     instance, readable through /instances) linked to access levels;
//     Swipe presents a badge ID at a door, decides with the same rule as
//     Opens (granted iff the badge opens one of the door's access levels at
//     that time), and logs the decision with the next serial number and a
//     timestamp to the second. GET /logged_events serves the log: a
//     required filter (with "<", "<=", ">", ">=" and dates allowed, see
//     below), order_by (comma-separated properties, each optionally ASC or
//     DESC; default serial_number), page_number and page_size ≤ 100; items
//     are flat LoggedEvents objects with snake_case names.
//   - Badge PINs: Lnl_Badge.PIN, digits only, stored but never returned
//     (the simulator's choice; OnGuard's own is not in the public record).
//     A door added with DoorSpec.Keypad has a keypad in "card or PIN"
//     mode: PINOpensDoor and, per access level, PINOpens are the keypad
//     oracles, by the rule of Opens applied to the badge with that PIN.
//   - Errors as {"error":{"code","message"},"version":"1.0"}.
//
// It is strict on purpose: a missing or wrong version parameter, an unknown
// parameter, property or type, a date written with "Z" instead of a
// numeric offset, a filter outside the supported subset (see below) and a
// queued request are all refused with an error, so adapter mistakes show up
// in tests. Where the public record is silent, the simulator makes a
// choice and says so: invalid or expired sessions are HTTP 401 with code
// CodeInvalidSession (WithInvalidSessionAnswer selects another), a wrong password is 401 with CodeAuthenticationFailed,
// an unknown instance in PUT or DELETE is 400 with CodeInvalidRequestItem
// (WithMissingAnswer selects another plausible answer), a path outside
// BasePath is an HTML 404 from the web server, badge IDs are unique across all badges, and a person cannot be deleted
// while badges still point at it.
//
// Supported filter syntax: comparisons "PROPERTY = literal" and
// "PROPERTY != literal" joined by AND and OR, where a literal is an integer
// or a double-quoted string without quotes inside; string comparison is
// case-insensitive. On /logged_events, integer and date properties also
// take "<", "<=", ">" and ">=", and a date literal is quoted with a numeric
// offset. Anything else (LIKE, parentheses, order_by outside
// /logged_events) is an error.
//
// Fault injection (AddFault): latency through an injectable sleep (also
// for every request, WithLatency), error answers such as 503 (in
// OpenAccess's JSON shape or as an HTML page), session expiry just before a
// request, a hook that changes the state as a request arrives, and a
// connection dropped before or after the server committed a change (or,
// for GET /logged_events, after the page was read). Where OpenAccess's
// answer is undocumented, options select each plausible one:
// WithMissingAnswer for a PUT or DELETE of a record that no longer exists,
// WithInvalidSessionAnswer for an expired session. The oracle (Opens,
// FindBadge, Census, Instances, LoggedEvents) reports the real state, and
// Requests returns a log of every request for request-shape tests.
//
// Administrator changes behind an adapter's back, for reconciliation
// tests: DeleteBadge, SetBadgeWindow, SetBadgeLevels and SetBadgeStatus;
// AddInstance seeds records directly (people an adapter did not create,
// large inventories).
//
// A Server is safe for concurrent use.
package lenelsim

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
	"strconv"
	"strings"
	"sync"
	"time"
)

// BasePath is where the API lives, as on a real OnGuard server
// (https://host:8080/api/access/onguard/openaccess).
const BasePath = "/api/access/onguard/openaccess"

// Error codes the simulator answers with. The first two were seen in real
// OnGuard traffic; the others are the simulator's choice where the public
// record has none.
const (
	CodeInvalidApplicationID = "openaccess.general.invalidapplicationid"
	CodeInvalidRequestItem   = "openaccess.general.invalidrequestitem"
	CodeInvalidSession       = "openaccess.general.invalidsession"
	CodeAuthenticationFailed = "openaccess.general.authenticationfailed"
	CodeInvalidRequest       = "openaccess.general.invalidrequest"
	CodeInternalError        = "openaccess.general.internalerror"
)

// Defaults of a new Server.
const (
	DefaultUser          = "sim-user"
	DefaultPassword      = "sim-password"
	DefaultApplicationID = "SIM_APPLICATION_ID"
	DefaultSessionTTL    = time.Hour
	DefaultIdleTimeout   = 15 * time.Minute
	// DefaultDateLayout writes dates in UTC with a numeric offset, such as
	// 2024-05-01T09:00:00+00:00.
	DefaultDateLayout = "2006-01-02T15:04:05-07:00"
)

// Seed data of a new Server.
const (
	LevelLobby  int64 = 1 // access level "Lobby"
	LevelFloor3 int64 = 2 // access level "Floor 3"

	BadgeTypeEmployee int64 = 1 // badge type "Employee"
	BadgeTypeVisitor  int64 = 2 // badge type "Visitor", the default visitor badge type

	StatusActive     int64 = 1 // badge status "Active"
	StatusLost       int64 = 2 // badge status "Lost"
	StatusReturned   int64 = 3 // badge status "Returned"
	StatusTerminated int64 = 4 // badge status "Terminated"
)

// Request is one request as the simulator saw it.
type Request struct {
	Method string
	// Path is relative to BasePath, such as "/instances".
	Path  string
	Query url.Values
	// TypeName is the type_name parameter from the query or the body.
	TypeName      string
	ApplicationID string
	SessionToken  string
	ContentType   string
	Body          []byte
	// Status is the answer's status; 0 when the connection was dropped.
	Status int
}

// Census counts the stored records.
type Census struct {
	Cardholders int // Lnl_Cardholder
	Visitors    int // Lnl_Visitor
	Badges      int // Lnl_Badge
	Assignments int // Lnl_AccessLevelAssignment
}

type user struct {
	password  string
	directory string
}

type session struct {
	user           string
	start, expires time.Time
	lastSeen       time.Time
}

// Server is the simulator. Create it with New.
type Server struct {
	now        func() time.Time
	sleep      func(ctx context.Context, d time.Duration) error
	newToken   func() string
	dateLayout string
	ttl, idle  time.Duration
	latency    time.Duration

	mu          sync.Mutex
	users       map[string]user
	apps        map[string]bool
	directories map[string]bool
	sessions    map[string]*session
	types       map[string]*typeDef // by lower-case name
	tables      map[string]*table   // by lower-case name
	seq         map[string]int64
	visitorType int64
	missing     MissingAnswer
	// sessionStatus and sessionCode answer an invalid session.
	sessionStatus int
	sessionCode   string
	faults        []*faultState
	log           []Request

	// Doors and logged events (events.go).
	doorLevels map[string][]int64 // by door ID, "panel:reader"
	keypads    map[string]bool    // doors with a keypad (DoorSpec.Keypad)
	panels     map[int64]string   // panel names
	events     []LoggedEvent      // in serial order
	eventRows  []instance         // events[i] as a filterable row
	serial     int64              // the last serial number given

	// readOnly holds the IDs of people a directory keeps (SetReadOnly).
	readOnly map[int64]bool
}

// Option configures a Server.
type Option func(*Server)

// WithClock sets the clock for session expiry, LASTCHANGED and the oracle's
// notion of now (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithSleep sets how injected latency waits (default: a timer that stops
// early when the request's context ends).
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(s *Server) { s.sleep = sleep }
}

// WithLatency makes every request wait d (through the simulator's sleep)
// before it is handled, in addition to any injected fault.
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency = d } }

// WithUser adds an account; directory is "" for an internal account or a
// directory ID that login must name.
func WithUser(name, password, directory string) Option {
	return func(s *Server) {
		s.users[name] = user{password: password, directory: directory}
		if directory != "" {
			s.directories[directory] = true
		}
	}
}

// WithApplicationID adds a licensed application ID.
func WithApplicationID(id string) Option { return func(s *Server) { s.apps[id] = true } }

// WithoutDefaults removes the default user and application ID.
func WithoutDefaults() Option {
	return func(s *Server) {
		delete(s.users, DefaultUser)
		delete(s.apps, DefaultApplicationID)
	}
}

// WithSessionTTL sets the absolute session lifetime (default
// DefaultSessionTTL).
func WithSessionTTL(d time.Duration) Option { return func(s *Server) { s.ttl = d } }

// WithIdleTimeout sets the inactivity timeout (default DefaultIdleTimeout;
// 0 disables it).
func WithIdleTimeout(d time.Duration) Option { return func(s *Server) { s.idle = d } }

// WithInvalidSessionAnswer sets the HTTP status and error code answered
// for an invalid or expired session token (default 401 and
// CodeInvalidSession, the simulator's own choice: OnGuard's answer is not
// documented).
func WithInvalidSessionAnswer(status int, code string) Option {
	return func(s *Server) { s.sessionStatus, s.sessionCode = status, code }
}

// WithTokenFunc sets how session tokens are made (default: a random GUID).
func WithTokenFunc(f func() string) Option { return func(s *Server) { s.newToken = f } }

// WithDateLayout sets the layout of dates in answers (default
// DefaultDateLayout; all dates are written in UTC). Use it to check that a
// client parses other forms, such as time.RFC3339 or "2006-01-02T15:04:05".
func WithDateLayout(layout string) Option { return func(s *Server) { s.dateLayout = layout } }

// New returns a simulator seeded with the default user and application ID,
// two access levels (LevelLobby, LevelFloor3), two badge types
// (BadgeTypeEmployee, BadgeTypeVisitor, the latter the default visitor
// badge type) and four badge statuses (StatusActive, StatusLost,
// StatusReturned, StatusTerminated).
func New(opts ...Option) *Server {
	s := &Server{
		now:           time.Now,
		sleep:         sleepCtx,
		newToken:      randomGUID,
		dateLayout:    DefaultDateLayout,
		sessionStatus: http.StatusUnauthorized,
		sessionCode:   CodeInvalidSession,
		ttl:           DefaultSessionTTL,
		idle:          DefaultIdleTimeout,
		users:         map[string]user{DefaultUser: {password: DefaultPassword}},
		apps:          map[string]bool{DefaultApplicationID: true},
		directories:   map[string]bool{},
		sessions:      map[string]*session{},
		types:         newTypes(),
		tables:        map[string]*table{},
		seq:           map[string]int64{},
		doorLevels:    map[string][]int64{},
		keypads:       map[string]bool{},
		panels:        map[int64]string{},
		readOnly:      map[int64]bool{},
	}
	for k, t := range s.types {
		s.tables[k] = &table{def: t, rows: map[string]instance{}}
	}
	for _, o := range opts {
		o(s)
	}
	s.AddAccessLevel("Lobby")
	s.AddAccessLevel("Floor 3")
	s.AddBadgeType("Employee", 0)
	s.visitorType = s.AddBadgeType("Visitor", 2)
	for _, n := range []string{"Active", "Lost", "Returned", "Terminated"} {
		s.AddBadgeStatus(n)
	}
	return s
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func randomGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (s *Server) nextSeq(name string) int64 {
	s.seq[name]++
	return s.seq[name]
}

func (s *Server) addLookup(typeName, name string, extra instance) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[strings.ToLower(typeName)]
	id := s.nextSeq(typeName)
	in := instance{"ID": id, "NAME": name}
	for k, v := range extra {
		in[k] = v
	}
	t.put(t.keyOf(in), in)
	return id
}

// AddAccessLevel adds an access level and returns its ID.
func (s *Server) AddAccessLevel(name string) int64 { return s.addLookup("Lnl_AccessLevel", name, nil) }

// AddBadgeType adds a badge type of the given class (0 Standard,
// 1 Temporary, 2 Visitor, 3 Guest, 4 Special purpose) and returns its ID.
func (s *Server) AddBadgeType(name string, class int64) int64 {
	return s.addLookup("Lnl_BadgeType", name, instance{"BADGETYPECLASS": class})
}

// AddBadgeStatus adds a badge status and returns its ID. The oracle treats
// a badge as active only when its status is named "Active".
func (s *Server) AddBadgeStatus(name string) int64 { return s.addLookup("Lnl_BadgeStatus", name, nil) }

// RemoveAccessLevel deletes an access level and its assignments.
func (s *Server) RemoveAccessLevel(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tables["lnl_accesslevel"].del(formatInt(id))
	as := s.tables["lnl_accesslevelassignment"]
	for k, r := range as.rows {
		if r.int("ACCESSLEVELID") == id {
			as.del(k)
		}
	}
}

// SetDefaultVisitorBadgeType sets what /settings/visit reports.
func (s *Server) SetDefaultVisitorBadgeType(id int64) {
	s.mu.Lock()
	s.visitorType = id
	s.mu.Unlock()
}

// ExpireSessions ends every session at once, as an OnGuard restart would.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	clear(s.sessions)
	s.mu.Unlock()
}

// Sessions returns how many sessions are live at the simulator's now.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	n := 0
	for _, ss := range s.sessions {
		if s.live(ss, now) {
			n++
		}
	}
	return n
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.log))
	copy(out, s.log)
	return out
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	s.log = nil
	s.mu.Unlock()
}

// apiError is an error answer.
type apiError struct {
	status  int
	code    string
	message string
	raw     string // when set, sent as an HTML body instead of the JSON error
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func badItem(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: CodeInvalidRequestItem, message: fmt.Sprintf(format, args...)}
}

func propError(name string) *apiError {
	return badItem("The property %s did not exist or contained an invalid value.", name)
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body []byte
	var err error
	if r.Body != nil {
		body, err = io.ReadAll(io.LimitReader(r.Body, 1<<20))
	}
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	rec := Request{
		Method:        r.Method,
		Path:          strings.TrimPrefix(r.URL.Path, BasePath),
		Query:         r.URL.Query(),
		ApplicationID: r.Header.Get("Application-Id"),
		SessionToken:  r.Header.Get("Session-Token"),
		ContentType:   r.Header.Get("Content-Type"),
		Body:          body,
	}
	if !strings.HasPrefix(r.URL.Path, BasePath+"/") {
		rec.Path = r.URL.Path
	}
	call, perr := parseCall(rec.Query, body)
	rec.TypeName = call.typeName

	f := s.takeFault(rec.Method, rec.Path, rec.TypeName)
	if d := s.latency + f.Latency; d > 0 {
		if err := s.sleep(r.Context(), d); err != nil {
			s.record(rec)
			return
		}
	}
	if f.Before != nil {
		f.Before()
	}
	if f.DropBefore {
		s.record(rec)
		drop(w)
		return
	}
	a := s.answer(r, rec, call, perr, f)
	if f.DropAfterCommit {
		s.record(rec)
		drop(w)
		return
	}
	rec.Status = a.status
	s.record(rec)
	if a.raw != "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.raw)
		return
	}
	data, _ := json.Marshal(a.out)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(a.status)
	_, _ = w.Write(data)
}

// reply is an answer to write: a JSON value, or an HTML body.
type reply struct {
	status int
	out    any
	raw    string
}

// answer handles a request whose fault is f (a fault's error answer
// replaces the handling).
func (s *Server) answer(r *http.Request, rec Request, c call, perr *apiError, f Fault) reply {
	switch {
	case f.Status != 0 && f.RawBody != "":
		return reply{status: f.Status, raw: f.RawBody}
	case f.Status != 0:
		code, msg := f.Code, f.Message
		if code == "" {
			code = CodeInternalError
		}
		if msg == "" {
			msg = "Simulated failure."
		}
		return reply{status: f.Status, out: errorBody(code, msg)}
	case !strings.HasPrefix(r.URL.Path, BasePath+"/"):
		// Not OpenAccess: the web server in front of it answers.
		return reply{status: http.StatusNotFound, raw: htmlNotFound}
	}
	if f.ExpireSession {
		s.mu.Lock()
		delete(s.sessions, rec.SessionToken)
		s.mu.Unlock()
	}
	res, aerr := any(nil), perr
	if perr == nil {
		res, aerr = s.route(rec, c)
	}
	switch {
	case aerr != nil && aerr.raw != "":
		return reply{status: aerr.status, raw: aerr.raw}
	case aerr != nil:
		return reply{status: aerr.status, out: errorBody(aerr.code, aerr.message)}
	}
	return reply{status: http.StatusOK, out: res}
}

func (s *Server) record(rec Request) {
	s.mu.Lock()
	s.log = append(s.log, rec)
	s.mu.Unlock()
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func errorBody(code, message string) map[string]any {
	return map[string]any{"error": map[string]string{"code": code, "message": message}, "version": "1.0"}
}

// call holds a request's parameters, merged from the query and the body.
type call struct {
	version    string
	queue      string
	typeName   string
	filter     string
	pageNumber string
	pageSize   string
	orderBy    string
	props      map[string]json.RawMessage
	hasProps   bool
	login      map[string]json.RawMessage
	extraQuery []string
}

// parseCall merges query and body parameters; the server "makes no
// distinction" between them, but a parameter given twice with different
// values is refused.
func parseCall(q url.Values, body []byte) (call, *apiError) {
	var c call
	fields := map[string]*string{
		"version": &c.version, "queue": &c.queue, "type_name": &c.typeName, "filter": &c.filter,
		"page_number": &c.pageNumber, "page_size": &c.pageSize, "order_by": &c.orderBy,
	}
	for k, vs := range q {
		dst, ok := fields[k]
		if !ok {
			c.extraQuery = append(c.extraQuery, k)
			continue
		}
		if len(vs) != 1 {
			return c, badItem("The parameter %s is given %d times.", k, len(vs))
		}
		*dst = vs[0]
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return c, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return c, badItem("The request body is not a JSON object.")
	}
	for k, raw := range top {
		if k == "property_value_map" {
			if err := json.Unmarshal(raw, &c.props); err != nil || c.props == nil {
				return c, badItem("property_value_map is not an object.")
			}
			c.hasProps = true
			continue
		}
		if dst, ok := fields[k]; ok {
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				var n json.Number
				if err := json.Unmarshal(raw, &n); err != nil {
					return c, badItem("The parameter %s has an invalid value.", k)
				}
				v = n.String()
			}
			if *dst != "" && *dst != v {
				return c, badItem("The parameter %s is given twice with different values.", k)
			}
			*dst = v
			continue
		}
		if c.login == nil {
			c.login = map[string]json.RawMessage{}
		}
		c.login[k] = raw
	}
	return c, nil
}

// route dispatches a request whose parameters parsed.
func (s *Server) route(rec Request, c call) (any, *apiError) {
	if c.version == "" {
		return nil, badItem("The version parameter is required.")
	}
	if c.version != "1.0" {
		return nil, badItem("Version %s is not supported.", c.version)
	}
	if c.queue != "" && c.queue != "false" {
		return nil, badItem("Queued requests are not supported by this server.")
	}
	if len(c.extraQuery) > 0 {
		return nil, badItem("Unknown parameter %s.", c.extraQuery[0])
	}
	key := rec.Method + " " + rec.Path
	if c.orderBy != "" && key != "GET /logged_events" {
		return nil, badItem("The parameter order_by is not supported by this server for %s.", key)
	}
	if key == "POST /authentication" {
		return s.login(rec, c)
	}
	if c.login != nil {
		for k := range c.login {
			return nil, badItem("Unknown body field %s.", k)
		}
	}
	if key == "GET /version" {
		return map[string]any{"product_name": "OnGuard 7.6 (simulated)", "product_version": "7.6.001", "version": "1.0"}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, token, aerr := s.authenticate(rec)
	if aerr != nil {
		return nil, aerr
	}
	switch key {
	case "DELETE /authentication":
		delete(s.sessions, token)
		return version(), nil
	case "GET /keepalive":
		return version(), nil
	case "GET /session":
		return map[string]any{
			"token_expiration_time": s.formatTime(sess.expires),
			"token_start_time":      s.formatTime(sess.start),
			"user_id":               sess.user,
			"version":               "1.0",
		}, nil
	case "GET /settings/visit":
		name := ""
		if bt, ok := s.tables["lnl_badgetype"].rows[formatInt(s.visitorType)]; ok {
			name, _ = bt["NAME"].(string)
		}
		return map[string]any{
			"default_visitor_badge_type_id":   s.visitorType,
			"default_visitor_badge_type_name": name,
			"version":                         "1.0",
		}, nil
	case "GET /instances":
		return s.getInstances(c)
	case "GET /count":
		return s.count(c)
	case "GET /logged_events":
		return s.loggedEvents(c)
	case "POST /instances":
		return s.addInstance(c)
	case "PUT /instances":
		return s.modifyInstance(c)
	case "DELETE /instances":
		return s.deleteInstance(c)
	}
	return nil, &apiError{status: http.StatusNotFound, code: CodeInvalidRequest, message: "Unknown operation " + key + "."}
}

func version() map[string]any { return map[string]any{"version": "1.0"} }

func (s *Server) formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(s.dateLayout)
}

func (s *Server) live(ss *session, now time.Time) bool {
	if !now.Before(ss.expires) {
		return false
	}
	return s.idle <= 0 || now.Sub(ss.lastSeen) <= s.idle
}

func (s *Server) checkApp(id string) *apiError {
	if id == "" || !s.apps[id] {
		name := id
		if name == "" {
			name = "(none)"
		}
		return &apiError{status: http.StatusUnauthorized, code: CodeInvalidApplicationID,
			message: "License violation. " + name + " is not licensed for use with OpenAccess."}
	}
	return nil
}

// authenticate checks the headers of a request; s.mu is held.
func (s *Server) authenticate(rec Request) (*session, string, *apiError) {
	if aerr := s.checkApp(rec.ApplicationID); aerr != nil {
		return nil, "", aerr
	}
	tok := rec.SessionToken
	ss, ok := s.sessions[tok]
	now := s.now()
	if !ok || tok == "" || !s.live(ss, now) {
		delete(s.sessions, tok)
		return nil, "", &apiError{status: s.sessionStatus, code: s.sessionCode, message: "The session token is invalid or has expired."}
	}
	ss.lastSeen = now
	return ss, tok, nil
}

func (s *Server) login(rec Request, c call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if aerr := s.checkApp(rec.ApplicationID); aerr != nil {
		return nil, aerr
	}
	var name, password, directory string
	for k, raw := range c.login {
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, badItem("The field %s must be a string.", k)
		}
		switch k {
		case "user_name":
			name = v
		case "password":
			password = v
		case "directory_id":
			directory = v
		case "oidc_token":
			return nil, badItem("OpenID Connect login is not supported by this server.")
		default:
			return nil, badItem("Unknown body field %s.", k)
		}
	}
	if directory != "" && !s.directories[directory] {
		return nil, badItem("The directory %s does not exist.", directory)
	}
	u, ok := s.users[name]
	if name == "" || !ok || u.password != password || u.directory != directory {
		return nil, &apiError{status: http.StatusUnauthorized, code: CodeAuthenticationFailed, message: "Invalid user name or password."}
	}
	now := s.now()
	tok := s.newToken()
	s.sessions[tok] = &session{user: name, start: now, expires: now.Add(s.ttl), lastSeen: now}
	return map[string]any{
		"session_token":         tok,
		"token_expiration_time": s.formatTime(now.Add(s.ttl)),
		"version":               "1.0",
	}, nil
}

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }
