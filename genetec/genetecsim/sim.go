package genetecsim

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Defaults of a new Server.
const (
	DefaultBasePath      = "/WebSdk"
	DefaultUser          = "admin"
	DefaultPassword      = "simulator-password"
	DefaultApplicationID = "simulator-application-id"
	// DefaultSessionIdle is how long a Web SDK session survives without
	// requests (five minutes, per the SDK developer guide).
	DefaultSessionIdle = 5 * time.Minute
	// DefaultMaxResults bounds an unpaged report before it answers
	// TooManyResults.
	DefaultMaxResults = 1000
)

// The cardholder groups every new Server starts with (unless WithoutSeed),
// each with an access rule granting it a door.
const (
	SeedLobbyGroup  = "5a3e1f0c-9b7d-4c2a-8e61-0d4f2b7a9c11" // "Visitors - Lobby"
	SeedFloor3Group = "c7d2e8a4-1f3b-4e59-a6c0-8b9d7e2f4a36" // "Visitors - Floor 3"

	SeedLobbyRule  = "0e4b6d2a-7c1f-4a39-9d85-3f2a1b6c8e04" // "Lobby doors, always": SeedLobbyGroup → SeedLobbyDoor
	SeedFloor3Rule = "9b1c3e5f-2d4a-4f6b-8c7e-1a0d9f8b2c53" // "Floor 3 doors, office hours": SeedFloor3Group → SeedFloor3Door

	SeedLobbyDoor  = "3f8a2c1e-6b4d-4e7a-9f05-2c6b8d1e7a90" // "Lobby turnstile"
	SeedFloor3Door = "a6d4e2c8-0b1f-4c3a-8e7d-5f9b1a2c4d68" // "Floor 3 east door"
)

// Server simulates the Genetec Security Center Web-based SDK for the
// requests the genetec adapter makes. It is an http.Handler; mount it with
// httptest.NewServer or http.ListenAndServe and point the adapter at
// URL+DefaultBasePath.
//
// It keeps cardholders, visitors, credentials, cardholder groups and
// access rules in memory and speaks the text/json envelope. It is strict:
// a request it does not understand gets a Fail envelope (or an HTML 400 for
// an unknown item name, as the real server does), so that client mistakes
// show up in tests. Server is safe for concurrent use.
type Server struct {
	basePath   string
	user       string
	password   string
	appID      string
	clock      func() time.Time
	sleep      func(ctx context.Context, d time.Duration) error
	idle       time.Duration
	coldStart  time.Duration
	latency    time.Duration
	bom        bool
	maxResults int
	seed       bool
	keepAlive  time.Duration
	streamBuf  int
	missing    MissingEntity
	dupCards   bool
	maxURL     int

	mu       sync.Mutex
	st       *store
	faults   []*Fault
	log      []Request
	lastSeen map[string]time.Time
	// creation is each user session's creation partition (POST
	// creationpartition/{guid}); it ends with the session.
	creation map[string]string
	// keypads are the doors with a keypad reader (SetKeypad).
	keypads map[string]bool
	colds   int
	ev      eventState
}

// Option configures a Server.
type Option func(*Server)

// WithBasePath sets the role's Base URI (default "/WebSdk").
func WithBasePath(p string) Option {
	return func(s *Server) { s.basePath = "/" + strings.Trim(p, "/") }
}

// WithUser sets the Security Center user name and password the server
// accepts.
func WithUser(user, password string) Option {
	return func(s *Server) { s.user, s.password = user, password }
}

// WithApplicationID sets the SDK application ID the licence allows; any
// other ID is answered with 403 Forbidden.
func WithApplicationID(id string) Option { return func(s *Server) { s.appID = id } }

// WithClock sets the server's clock (default time.Now). Activation
// windows, expiry and session idleness are judged by it.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.clock = now } }

// WithSleep sets how injected latency is waited out (default: a timer that
// stops early when the request's context ends). Tests inject a function
// that blocks on a channel, so nothing waits on wall-clock time.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(s *Server) { s.sleep = sleep }
}

// WithSessionIdle sets how long a session survives without requests
// (default DefaultSessionIdle).
func WithSessionIdle(d time.Duration) Option { return func(s *Server) { s.idle = d } }

// WithColdStart sets the latency of the first request of a new session
// (default 0): the Web SDK role connects to the Directory and warms its
// cache before answering.
func WithColdStart(d time.Duration) Option { return func(s *Server) { s.coldStart = d } }

// WithLatency adds d to every request (the event stream's start
// included), waited out with the server's sleep function (WithSleep)
// before the request is handled: the round trip to a Security Center
// across a network. Faults add their Delay on top.
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency = max(d, 0) } }

// WithBOM makes every JSON answer start with a UTF-8 byte-order mark.
func WithBOM(on bool) Option { return func(s *Server) { s.bom = on } }

// WithMaxResults bounds unpaged reports (default DefaultMaxResults).
func WithMaxResults(n int) Option { return func(s *Server) { s.maxResults = n } }

// WithoutSeed starts the server with no cardholder groups, access rules
// or doors.
func WithoutSeed() Option { return func(s *Server) { s.seed = false } }

// WithKeepAliveInterval sets how often every event stream sends a bare
// KeepAlive line (default DefaultKeepAliveInterval, on wall-clock time);
// 0 sends none. Tests usually pass 0 and call KeepAlive themselves.
func WithKeepAliveInterval(d time.Duration) Option {
	return func(s *Server) { s.keepAlive = max(d, 0) }
}

// WithStreamBuffer sets how many event parts an event stream may hold
// for a client that does not read them (default DefaultStreamBuffer).
// One more drops that connection, as a server protecting itself from a
// stalled client would.
func WithStreamBuffer(n int) Option { return func(s *Server) { s.streamBuf = max(n, 1) } }

// MissingEntity selects how the server answers a request that names an
// entity that does not exist.
type MissingEntity int

const (
	// MissingInvalidOperation answers as public sources show a real
	// server doing: SdkErrorCode "InvalidOperation" (the only code seen
	// on the wire) with the reason in the message, "Unable to find entity
	// <guid>". It is the default.
	MissingInvalidOperation MissingEntity = iota
	// MissingUnknownEntity answers SdkErrorCode "UnknownEntity" with the
	// message "Entity '<guid>' was not found". No public source shows
	// this code: it is an invented answer, kept so that clients can be
	// tested against a server that names the case in its code.
	MissingUnknownEntity
)

// WithMissingEntity sets how a missing entity is answered (default
// MissingInvalidOperation).
func WithMissingEntity(m MissingEntity) Option { return func(s *Server) { s.missing = m } }

// WithDuplicateCardData makes the server accept a credential whose card
// data another credential already carries (by default it is refused with
// a Fail envelope). Public sources do not show how Security Center
// answers; this option lets clients be tested against a server that
// accepts the same card twice, on one cardholder or on two.
func WithDuplicateCardData() Option { return func(s *Server) { s.dupCards = true } }

// WithMaxURL makes the server refuse a request whose URL (path and query
// string, as sent on the request line) is longer than n bytes, with 414
// URI Too Long and an HTML page, as an HTTP host bounding its URLs does.
// The Web SDK documents no length of its own ("the only limitation is
// the query string length"); n ≤ 0, the default, sets none.
func WithMaxURL(n int) Option { return func(s *Server) { s.maxURL = n } }

// New returns a Server with the seed groups SeedLobbyGroup and
// SeedFloor3Group, each granted a door (SeedLobbyDoor, SeedFloor3Door) by
// an access rule (SeedLobbyRule, SeedFloor3Rule).
func New(opts ...Option) *Server {
	s := &Server{
		basePath:   DefaultBasePath,
		user:       DefaultUser,
		password:   DefaultPassword,
		appID:      DefaultApplicationID,
		clock:      time.Now,
		sleep:      timerSleep,
		idle:       DefaultSessionIdle,
		maxResults: DefaultMaxResults,
		seed:       true,
		keepAlive:  DefaultKeepAliveInterval,
		streamBuf:  DefaultStreamBuffer,
		st:         newStore(),
		lastSeen:   map[string]time.Time{},
		creation:   map[string]string{},
	}
	for _, o := range opts {
		o(s)
	}
	s.st.missing = s.missing
	s.st.dupCards = s.dupCards
	s.ev.init()
	if s.seed {
		s.addGroup(SeedLobbyGroup, "Visitors - Lobby")
		s.addGroup(SeedFloor3Group, "Visitors - Floor 3")
		s.addRule(SeedLobbyRule, "Lobby doors, always", SeedLobbyGroup)
		s.addRule(SeedFloor3Rule, "Floor 3 doors, office hours", SeedFloor3Group)
		s.addDoor(SeedLobbyDoor, "Lobby turnstile", SeedLobbyRule)
		s.addDoor(SeedFloor3Door, "Floor 3 east door", SeedFloor3Rule)
	}
	return s
}

func timerSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Now returns the server's current time.
func (s *Server) Now() time.Time { return s.clock() }

// Fault changes how the server answers the next matching requests. Faults
// are consulted in the order they were injected; each applies to Times
// requests (one when zero) and is then forgotten.
type Fault struct {
	// Method and Path select requests: an empty Method matches any, and
	// Path is a case-insensitive prefix of the path after the Base URI
	// ("entity", "report/", "" for all).
	Method string
	Path   string
	Times  int

	// Delay is added latency, waited out with the server's sleep function
	// before anything else happens.
	Delay time.Duration
	// Status answers with this HTTP status (401, 403, 500, 503, …) without
	// handling the request. Body and ContentType default to an HTML page;
	// RetryAfter sets the Retry-After header.
	Status      int
	Body        string
	ContentType string
	RetryAfter  string
	// Fail answers 200 with a Fail envelope without handling the request.
	Fail *Failure
	// Drop closes the connection without handling the request.
	Drop bool
	// DropAfterCommit handles the request (its changes are committed) and
	// then closes the connection without answering: the lost response.
	DropAfterCommit bool
}

// Failure is the content of a Fail envelope.
type Failure struct {
	SdkErrorCode string
	Message      string
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults forgets every pending fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// ExpireSessions ends every session, so that the next request of each
// user is a cold start.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.lastSeen)
	clear(s.creation)
}

// ColdStarts returns how many requests opened a new session.
func (s *Server) ColdStarts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.colds
}

// Request is one entry of the request log.
type Request struct {
	Method string
	// Path is the path after the Base URI without its leading slash:
	// "" (ping), "entity", "entity/<guid>", "report/EntityConfiguration".
	Path string
	// Q is the decoded q= parameter ('+' is kept as '+', not read as a
	// space); RawQuery is the query string as sent.
	Q        string
	RawQuery string
	// Accept and ContentLength are the request's headers ("" when absent).
	Accept        string
	ContentLength string
	// User is the Security Center user name of the Authorization header,
	// without the application ID or password; empty when absent.
	User string
	// Status is the HTTP status answered (0 when the connection was
	// dropped) and Rsp the envelope status ("Ok", "Fail", …; "" when the
	// answer was not a text/json envelope).
	Status  int
	Rsp     string
	Dropped bool
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// answer is a response prepared before it is written.
type answer struct {
	status int
	header http.Header
	body   []byte
	rsp    string
	stream *streamConn // an event stream to serve after the header
}

func (s *Server) envelope(status string, result any) answer {
	rsp := map[string]any{"Status": status}
	if result != nil {
		rsp["Result"] = result
	}
	body, _ := json.Marshal(map[string]any{"Rsp": rsp})
	if s.bom {
		body = append([]byte("\xEF\xBB\xBF"), body...)
	}
	h := http.Header{"Content-Type": {"text/json; charset=utf-8"}}
	return answer{status: http.StatusOK, header: h, body: body, rsp: status}
}

func (s *Server) fail(e *sdkError) answer {
	return s.envelope("Fail", map[string]any{"SdkErrorCode": e.code, "Message": e.msg})
}

func htmlAnswer(status int, title string) answer {
	body := "<!DOCTYPE html><html><head><title>" + title + "</title></head><body><h1>" + title + "</h1></body></html>"
	return answer{status: status, header: http.Header{"Content-Type": {"text/html; charset=utf-8"}}, body: []byte(body)}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	entry := Request{
		Method:        r.Method,
		RawQuery:      r.URL.RawQuery,
		Accept:        r.Header.Get("Accept"),
		ContentLength: r.Header.Get("Content-Length"),
	}
	a, dropAfter := s.handle(r, &entry)
	entry.Status, entry.Rsp = a.status, a.rsp
	if a.status == 0 || dropAfter {
		entry.Status, entry.Rsp, entry.Dropped = 0, "", true
	}
	s.mu.Lock()
	s.log = append(s.log, entry)
	s.mu.Unlock()
	if entry.Dropped {
		if a.stream != nil {
			s.endStream(a.stream)
		}
		panic(http.ErrAbortHandler)
	}
	for k, v := range a.header {
		w.Header()[k] = v
	}
	w.WriteHeader(a.status)
	if a.stream != nil {
		s.serveStream(w, r, a.stream)
		return
	}
	_, _ = w.Write(a.body)
}

func (s *Server) handle(r *http.Request, entry *Request) (answer, bool) {
	rel, ok := s.relPath(r.URL.Path)
	if !ok {
		return htmlAnswer(http.StatusNotFound, "404 Not Found"), false
	}
	entry.Path = rel
	if s.maxURL > 0 && len(r.RequestURI) > s.maxURL {
		return htmlAnswer(http.StatusRequestURITooLong, "Request URL Too Long"), false
	}

	user, app, pass, hasAuth := basicAuth(r)
	if hasAuth {
		entry.User = user
	}
	if !hasAuth || !eq(user, s.user) || !eq(pass, s.password) {
		a := htmlAnswer(http.StatusUnauthorized, "401 Unauthorized")
		a.header.Set("WWW-Authenticate", `Basic realm="WebSdk"`)
		return a, false
	}
	if !eq(app, s.appID) {
		return htmlAnswer(http.StatusForbidden, "403 Forbidden"), false
	}

	if s.latency > 0 {
		if err := s.sleep(r.Context(), s.latency); err != nil {
			return answer{}, false
		}
	}
	f := s.takeFault(r.Method, rel)
	if f != nil && f.Delay > 0 {
		if err := s.sleep(r.Context(), f.Delay); err != nil {
			return answer{}, false
		}
	}
	if d := s.touchSession(user); d > 0 {
		if err := s.sleep(r.Context(), d); err != nil {
			return answer{}, false
		}
	}
	if f != nil {
		switch {
		case f.Drop:
			return answer{}, false
		case f.Status != 0:
			a := htmlAnswer(f.Status, http.StatusText(f.Status))
			if f.Body != "" {
				a.body = []byte(f.Body)
				ct := f.ContentType
				if ct == "" {
					ct = "text/plain; charset=utf-8"
				}
				a.header.Set("Content-Type", ct)
			}
			if f.RetryAfter != "" {
				a.header.Set("Retry-After", f.RetryAfter)
			}
			return a, false
		case f.Fail != nil:
			return s.fail(&sdkError{code: f.Fail.SdkErrorCode, msg: f.Fail.Message}), false
		}
	}
	a := s.route(r, rel, entry)
	return a, f != nil && f.DropAfterCommit
}

func (s *Server) relPath(p string) (string, bool) {
	if len(p) < len(s.basePath) || !strings.EqualFold(p[:len(s.basePath)], s.basePath) {
		return "", false
	}
	rest := p[len(s.basePath):]
	if rest != "" && rest[0] != '/' {
		return "", false
	}
	return strings.TrimPrefix(rest, "/"), true
}

func eq(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// basicAuth decodes "Basic base64(user;appid:password)".
func basicAuth(r *http.Request) (user, app, pass string, ok bool) {
	h := r.Header.Get("Authorization")
	const prefix = "Basic "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(h[len(prefix):])
	if err != nil {
		return "", "", "", false
	}
	cred := string(raw)
	colon := strings.IndexByte(cred, ':')
	if colon < 0 {
		return "", "", "", false
	}
	userApp, pass := cred[:colon], cred[colon+1:]
	semi := strings.LastIndexByte(userApp, ';')
	if semi < 0 {
		return userApp, "", pass, true
	}
	return userApp[:semi], userApp[semi+1:], pass, true
}

func (s *Server) takeFault(method, rel string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, method) {
			continue
		}
		if len(rel) < len(f.Path) || !strings.EqualFold(rel[:len(f.Path)], f.Path) {
			continue
		}
		f.Times--
		if f.Times <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return f
	}
	return nil
}

// touchSession records activity and returns the cold-start latency when
// the user had no live session.
func (s *Server) touchSession(user string) time.Duration {
	now := s.clock()
	s.mu.Lock()
	defer s.mu.Unlock()
	last, ok := s.lastSeen[user]
	s.lastSeen[user] = now
	if ok && now.Sub(last) <= s.idle {
		return 0
	}
	delete(s.creation, user) // a new session starts in the root partition
	s.colds++
	return s.coldStart
}

func acceptsTextJSON(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
		if strings.EqualFold(mt, "text/json") {
			return true
		}
	}
	return false
}

// query extracts q from the raw query, decoding percent escapes but
// keeping '+' literal. Any other parameter is refused.
func query(raw string) (string, bool, *sdkError) {
	if raw == "" {
		return "", false, nil
	}
	var q string
	found := false
	for _, kv := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k != "q" {
			return "", false, failf(codeInvalidOperation, "Unexpected query parameter '%s'", k)
		}
		if found {
			return "", false, failf(codeInvalidOperation, "Repeated query parameter 'q'")
		}
		dv, err := url.PathUnescape(v)
		if err != nil {
			return "", false, failf(codeInvalidOperation, "Malformed percent-encoding in q")
		}
		q, found = dv, true
	}
	return q, found, nil
}

func (s *Server) route(r *http.Request, rel string, entry *Request) answer {
	if a, ok := checkRequest(r); !ok {
		return a
	}
	q, hasQ, qerr := query(r.URL.RawQuery)
	if qerr != nil {
		return s.fail(qerr)
	}
	entry.Q = q
	lower := strings.ToLower(rel)
	switch {
	case lower == "":
		if r.Method != http.MethodGet || hasQ {
			return s.fail(failf(codeInvalidOperation, "Unsupported request"))
		}
		return s.envelope("Ok", nil)
	case lower == "entity":
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			return s.fail(failf(codeInvalidOperation, "Method %s is not supported on entity", r.Method))
		}
		if !hasQ {
			return s.fail(failf(codeInvalidOperation, "Missing q parameter"))
		}
		return s.entityQuery(r.Method, q, entry.User)
	case strings.HasPrefix(lower, "creationpartition/"):
		if r.Method != http.MethodPost || hasQ {
			return s.fail(failf(codeInvalidOperation, "Use POST creationpartition/{partition}"))
		}
		return s.setCreationPartition(entry.User, rel[len("creationpartition/"):])
	case strings.HasPrefix(lower, "entity/exists/"):
		if r.Method != http.MethodGet || hasQ {
			return s.fail(failf(codeInvalidOperation, "Use GET entity/exists/{id}"))
		}
		return s.exists(rel[len("entity/exists/"):])
	case strings.HasPrefix(lower, "entity/"):
		if r.Method != http.MethodDelete || hasQ {
			return s.fail(failf(codeInvalidOperation, "Only DELETE is supported on entity/{id} by the simulator"))
		}
		return s.deleteEntity(rel[len("entity/"):])
	case lower == "events" || strings.HasPrefix(lower, "events/"):
		return s.eventsRoute(r.Method, rel[len("events"):], q, hasQ, entry.User)
	case strings.HasPrefix(lower, "report/"):
		return s.reportRoute(r.Method, rel[len("report/"):], q, hasQ)
	}
	return htmlAnswer(http.StatusBadRequest, "400 Bad Request")
}

// checkRequest refuses what the Web SDK refuses before reading a request:
// an Accept without text/json (the real server then answers in its legacy
// XML serializer, which the simulator does not speak), and a POST or PUT
// without a Content-Length or with a body.
func checkRequest(r *http.Request) (answer, bool) {
	if !acceptsTextJSON(r.Header.Get("Accept")) {
		body := `<rsp status="fail"><error><message>The simulator only serves Accept: text/json</message></error></rsp>`
		return answer{status: http.StatusOK, header: http.Header{"Content-Type": {"application/xml"}}, body: []byte(body)}, false
	}
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		return answer{}, true
	}
	if r.Header.Get("Content-Length") == "" || len(r.TransferEncoding) > 0 {
		return htmlAnswer(http.StatusLengthRequired, "411 Length Required"), false
	}
	if r.ContentLength > 0 {
		return htmlAnswer(http.StatusBadRequest, "400 Bad Request: the Web SDK takes no request body"), false
	}
	return answer{}, true
}

// reportRoute serves report/EntityConfiguration and report/DoorActivity;
// unknown or wrongly-cased report names get an HTML 400.
func (s *Server) reportRoute(method, name, q string, hasQ bool) answer {
	switch {
	case name != "EntityConfiguration" && name != "DoorActivity":
		return htmlAnswer(http.StatusBadRequest, "400 Bad Request")
	case method != http.MethodGet:
		return s.fail(failf(codeInvalidOperation, "Reports are read with GET"))
	case !hasQ:
		return s.fail(failf(codeInvalidOperation, "Missing q parameter"))
	case name == "DoorActivity":
		return s.doorActivity(q)
	}
	return s.report(q)
}

func (s *Server) entityQuery(method, q, user string) answer {
	items, err := ParseQuery(q)
	if err != nil {
		return s.fail(failf(codeInvalidOperation, "%s", err.Error()))
	}
	segs, ferr := splitSegments(items)
	if ferr != nil {
		return s.fail(ferr)
	}
	for _, sg := range segs {
		if sg.writes() && method != http.MethodPost {
			return s.fail(failf(codeInvalidOperation, "Use POST to create or modify entities"))
		}
		if !sg.writes() && len(sg.reads) == 0 {
			return s.fail(failf(codeInvalidOperation, "Specify at least one field to retrieve after '%s'", sg.ref.Raw))
		}
	}
	now := s.clock()
	s.mu.Lock()
	s.st.creation = s.creation[user]
	results, ferr := s.st.run(segs, now)
	s.st.creation = ""
	s.mu.Unlock()
	if ferr != nil {
		return s.fail(ferr)
	}
	switch len(results) {
	case 0:
		return s.envelope("Ok", nil)
	case 1:
		return s.envelope("Ok", results[0])
	}
	return s.envelope("Ok", results)
}

func (s *Server) deleteEntity(id string) answer {
	g, ok := ParseGUID(id)
	if !ok {
		return s.fail(failf(codeInvalidOperation, "'%s' is not an entity GUID", id))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.byGUID[g] == nil {
		return s.fail(s.st.unknown(g))
	}
	s.st.delete(g)
	return s.envelope("Ok", nil)
}

// exists answers GET entity/exists/{id}. Public sources list the
// endpoint but not its answer; the simulator answers
// {"Rsp":{"Status":"Ok","Result":{"Exists":true|false}}}.
func (s *Server) exists(id string) answer {
	g, ok := ParseGUID(id)
	if !ok {
		return s.fail(failf(codeInvalidOperation, "'%s' is not an entity GUID", id))
	}
	s.mu.Lock()
	found := s.st.byGUID[g] != nil
	s.mu.Unlock()
	return s.envelope("Ok", map[string]any{"Exists": found})
}

func (s *Server) report(q string) answer {
	items, err := ParseQuery(q)
	if err != nil {
		return s.fail(failf(codeInvalidOperation, "%s", err.Error()))
	}
	s.mu.Lock()
	res, ferr := s.st.search(items, s.maxResults)
	s.mu.Unlock()
	if ferr != nil {
		return s.fail(ferr)
	}
	out := make([]map[string]string, len(res.guids))
	for i, g := range res.guids {
		out[i] = map[string]string{"Guid": g}
	}
	return s.envelope(res.status, out)
}
