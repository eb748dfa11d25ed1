// Package netboxsim is a stateful simulator of the LenelS2 S2 NetBox
// NBAPI (the XML-over-HTTP-POST "Web-Based API for S2 NetBox"), as far as
// a visitor-badge integration uses it. It is an http.Handler: serve it
// with net/http/httptest in tests or on a real port for manual work; the
// API lives at Path.
//
// # What it implements
//
// Following the wire notes (a transcription of LenelS2 doc #API-UG-14 with
// a live round trip against a 6.2.0 controller, and third-party clients):
//
//   - One POST per command of a <NETBOX-API> document, as raw XML (text/xml
//     or application/xml) or as the pre-6 form field APIcommand; every
//     answer is HTTP 200 text/xml <NETBOX><RESPONSE command num>, with
//     <CODE>SUCCESS|FAIL|NOT FOUND</CODE>, <ERRMSG> on FAIL, <DETAILS>.
//     A request the API cannot take is answered <APIERROR>n</APIERROR>
//     inside the RESPONSE (WithAPIErrorAtRoot puts it directly under
//     NETBOX, as another public client reads it): 3 no command, 4 an XML
//     document that does not parse, 5 a missing, unknown or expired
//     sessionid, 6 an unknown command. The pre-6 path LegacyPath answers
//     410 Gone, as 6.2.0 does; other paths 404, both as HTML pages.
//   - Login (USERNAME, PASSWORD) answering the sessionid attribute of
//     NETBOX; Logout; sessions expire after an idle timeout on the
//     injected clock (WithIdleTimeout); WithIntegrationAuthDisabled
//     mimics a controller without "Use login username/password": Login
//     succeeds and every later command is APIERROR 5.
//   - GetAPIVersion, GetAccessLevels (WANTKEY, STARTFROMKEY, NEXTKEY),
//     GetAccessLevel, GetCardFormats.
//   - People: AddPerson, ModifyPerson (ACCESSLEVELS as a list of names
//     that replaces the person's levels, or ACCESSLEVEL blocks with
//     ACCESSLEVELNAME and DELETE that add or remove one; DELETED;
//     PERSONPURGE), RemovePerson (a soft delete: GetPerson still answers
//     with DELETED TRUE), GetPerson (WANTCREDENTIALID), SearchPersonData
//     (HOTSTAMP, LASTNAME, UDFn, DELETED; pages with NEXTKEY). PERSONID
//     is the person's key: a second AddPerson with it is refused.
//   - Credentials: AddCredential (PERSONID, CARDFORMAT by name, ENCODEDNUM,
//     HOTSTAMP, WANTCREDENTIALID), ModifyCredential (DISABLED, CARDSTATUS,
//     CARDEXPDATE), RemoveCredential, each addressing a credential by
//     CREDENTIALID, or by ENCODEDNUM and CARDFORMAT (or HOTSTAMP), scoped
//     to PERSONID when given. An encoded number is unique per card format
//     across all credentials, disabled ones included: a second one is
//     refused (CODE DUPLICATE).
//   - PINs: the person's PIN field (AddPerson, ModifyPerson; an empty PIN
//     clears it, which the notes leave open) is digits only, 4 to 12 of
//     them, and unique among people not deleted: another person's PIN is
//     refused with CODE DUPLICATE (the notes are silent; a keypad PIN must
//     name one person). GetPerson and SearchPersonData never answer it.
//     A reader given a keypad (SetReaderKeypad) opens for a PIN by the
//     rule of Opens applied to the person (not deleted, within
//     ACTDATE/EXPDATE, holding a level the reader serves), whatever the
//     person's cards: PINOpensReader and, per level, PINOpens are the
//     keypad oracles.
//   - Dates are the controller's local time (WithTimeZone): ACTDATE,
//     EXPDATE and CARDEXPDATE are read as "YYYY-MM-DD HH:MM" or
//     "YYYY-MM-DD" and written as "YYYY-MM-DD HH:MM:SS".
//   - Door events: readers (AddReader) serve access levels; Swipe presents
//     an encoded number of a card format at a reader, decides with the
//     same rule as Opens and logs an ACCESS record. GetAccessHistory
//     serves the log: without AFTERLOGID or STARTLOGID the newest records
//     first; with AFTERLOGID the records from that LOGID on (inclusive, as
//     a live 6.2.0 walk suggests; WithExclusiveAfterLogID makes it strictly
//     after), ascending, at most MAXRECORDS, with NEXTLOGID. The card
//     filters ENCODEDNUM and CARDFORMAT apply; OLDESTDTTM, NEWESTDTTM,
//     ORDER and HOTSTAMP are accepted and ignored (a live 6.2.0 controller
//     was seen not to filter by date while paging by LOGID).
//   - The 6.2.0 quirk: an empty collection (no history, no person found by
//     a search, no card formats) answers FAIL with ERRMSG "NOT FOUND"
//     (WithEmptyAnswer selects NOT FOUND or an empty SUCCESS instead).
//
// It is strict on purpose, so that adapter mistakes show in tests: an
// unknown or repeated parameter, a date in another form, an unknown card
// format or access level name are refused with FAIL. Where the public
// record is silent the simulator makes a choice and says so: the ERRMSG
// texts, the TYPE and REASON codes of ACCESS records (TYPE 1 valid,
// 2 invalid; REASON empty when granted), the idle timeout, and the answer
// to a change of a record that does not exist (NOT FOUND by default;
// WithMissingAnswer selects FAIL "NOT FOUND" or a SUCCESS).
//
// # Faults, oracle and changes behind an adapter's back
//
// AddFault injects latency, APIERROR answers, any CODE/ERRMSG, non-NBAPI
// HTTP answers, session expiry, and connections dropped before or after
// the change was committed; WithLatency and SetLatency delay every
// request. ExpireSessions ends every session, as a controller restart
// would. The oracle (Opens, Census, Person, People,
// AccessLog, Sessions) reports the real state; Requests logs every
// request with the password redacted. DeleteCredential, SetPersonWindow,
// SetPersonLevels, SetCredentialDisabled and AddPerson change the state
// as an administrator would.
//
// A Server is safe for concurrent use.
package netboxsim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Paths of the NBAPI endpoint.
const (
	// Path is the NBAPI endpoint of NetBox 6.x.
	Path = "/nbws/goforms/nbapi"
	// LegacyPath is the endpoint before 6.x; 6.x answers it 410 Gone.
	LegacyPath = "/goforms/nbapi"
)

// Defaults of a new Server.
const (
	DefaultUsername    = "sim-api"
	DefaultPassword    = "sim-password"
	DefaultAPIVersion  = "6.2.0"
	DefaultIdleTimeout = 30 * time.Minute
	// DefaultTimeZone is the controller's zone unless WithTimeZone says
	// otherwise.
	DefaultTimeZone = "UTC"
	// DefaultPageSize bounds the entries of one GetAccessLevels or
	// SearchPersonData page.
	DefaultPageSize = 20
	// MaxRecords bounds one GetAccessHistory page.
	MaxRecords = 1000
)

// Seed data of a new Server (unless WithoutSeed).
const (
	LevelLobby      = "1" // access level key of "Lobby"
	LevelFloor3     = "2" // access level key of "Floor 3"
	LevelLab        = "3" // access level key of "R&D <Lab>", a name that needs escaping
	LevelLobbyName  = "Lobby"
	LevelFloor3Name = "Floor 3"
	LevelLabName    = "R&D <Lab>"

	ReaderLobby  = "1" // reader key of "Lobby In", serving Lobby
	ReaderFloor3 = "2" // reader key of "Floor 3 In", serving Floor 3

	// Card format names seeded.
	Format26     = "26 bit Wiegand"
	Format34     = "HID 34 bit"
	Format37     = "HID 37 bit"
	Format37NoFC = "HID 37 bit no facility"
	FormatC1k35  = "HID Corporate 1000 35 bit"
	FormatC1k48  = "HID Corporate 1000 48 bit"
	FormatMifare = "MIFARE CSN 32 bit"
)

// EmptyAnswer selects how an empty collection is answered.
type EmptyAnswer int

// Empty collection answers.
const (
	EmptyFailNotFound EmptyAnswer = iota // FAIL with ERRMSG "NOT FOUND" (6.2.0)
	EmptyNotFound                        // CODE NOT FOUND
	EmptySuccess                         // SUCCESS with an empty DETAILS
)

// MissingAnswer selects how a change of a record that does not exist is
// answered.
type MissingAnswer int

// Answers to a change of a missing record.
const (
	MissingNotFound     MissingAnswer = iota // CODE NOT FOUND
	MissingFailNotFound                      // FAIL with ERRMSG "NOT FOUND"
	MissingSuccess                           // SUCCESS, as if done
)

// Request is one request as the simulator saw it.
type Request struct {
	Command string
	// SessionID is the sessionid attribute sent (empty for Login).
	SessionID   string
	ContentType string
	// Params is the command's parameters in order, "NAME=value" joined by
	// "; ", nested blocks in brackets; PASSWORD is redacted.
	Params string
	// Body is the request body with the password redacted.
	Body []byte
	// Answer is "SUCCESS", "FAIL: errmsg", "NOT FOUND", "DUPLICATE",
	// "APIERROR n", "HTTP n" or "dropped".
	Answer string
	// Status is the HTTP status answered (200 for every NBAPI answer); 0
	// when the connection was dropped.
	Status int
}

type session struct {
	user     string
	lastSeen time.Time
}

// Server is the simulator. Create it with New.
type Server struct {
	now         func() time.Time
	sleep       func(ctx context.Context, d time.Duration) error
	newSession  func() string
	loc         *time.Location
	idle        time.Duration
	pageSize    int
	version     string
	empty       EmptyAnswer
	missing     MissingAnswer
	latency     time.Duration
	errAtRoot   bool
	exclusive   bool
	noIntegAuth bool
	legacy      bool

	mu       sync.Mutex
	users    map[string]string
	sessions map[string]*session
	logins   int
	logouts  int
	levels   []level // by key order
	formats  []string
	people   map[string]*person
	order    []string // PERSONIDs in creation order
	seq      int64    // person and credential numbering
	readers  []reader
	log      []Access
	faults   []*faultState
	reqs     []Request
}

// Option configures a Server.
type Option func(*Server)

// WithClock sets the simulator's clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithSleep sets how injected latency is waited (default a timer that
// stops when the request's context ends).
func WithSleep(f func(ctx context.Context, d time.Duration) error) Option {
	return func(s *Server) { s.sleep = f }
}

// WithTimeZone sets the controller's local time zone (default UTC): every
// date on the wire is a wall-clock time in it.
func WithTimeZone(loc *time.Location) Option { return func(s *Server) { s.loc = loc } }

// WithUser adds an API user (replacing the default one when WithoutSeed
// is also given).
func WithUser(name, password string) Option {
	return func(s *Server) { s.users[name] = password }
}

// WithSessionIDFunc sets how session IDs are made (default 64 random hex
// characters).
func WithSessionIDFunc(f func() string) Option { return func(s *Server) { s.newSession = f } }

// WithIdleTimeout sets how long an unused session lives (default
// DefaultIdleTimeout).
func WithIdleTimeout(d time.Duration) Option { return func(s *Server) { s.idle = d } }

// WithPageSize sets the entries per GetAccessLevels and SearchPersonData
// page (default DefaultPageSize).
func WithPageSize(n int) Option { return func(s *Server) { s.pageSize = max(n, 1) } }

// WithAPIVersion sets what GetAPIVersion answers (default 6.2.0).
func WithAPIVersion(v string) Option { return func(s *Server) { s.version = v } }

// WithEmptyAnswer selects how an empty collection is answered.
func WithEmptyAnswer(a EmptyAnswer) Option { return func(s *Server) { s.empty = a } }

// WithMissingAnswer selects how a change of a missing record is answered.
func WithMissingAnswer(a MissingAnswer) Option { return func(s *Server) { s.missing = a } }

// WithAPIErrorAtRoot puts APIERROR directly under NETBOX instead of inside
// RESPONSE.
func WithAPIErrorAtRoot() Option { return func(s *Server) { s.errAtRoot = true } }

// WithExclusiveAfterLogID makes GetAccessHistory's AFTERLOGID strictly
// exclusive (records after that LOGID), and NEXTLOGID the last LOGID of
// the page.
func WithExclusiveAfterLogID() Option { return func(s *Server) { s.exclusive = true } }

// WithIntegrationAuthDisabled mimics a controller whose Data Integration
// setting "Use login username/password" is off.
func WithIntegrationAuthDisabled() Option { return func(s *Server) { s.noIntegAuth = true } }

// WithLegacyPath serves the API at LegacyPath, as controllers before 6.x.
func WithLegacyPath() Option { return func(s *Server) { s.legacy = true } }

// WithoutDefaults removes the default user (give another with WithUser).
func WithoutDefaults() Option {
	return func(s *Server) { delete(s.users, DefaultUsername) }
}

// WithLatency delays every request by d (through the simulator's sleep).
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency = d } }

// SetLatency delays every later request by d (0: none).
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.latency = d
	s.mu.Unlock()
}

// WithoutSeed starts with no user, access level, card format or reader.
func WithoutSeed() Option {
	return func(s *Server) {
		s.users = map[string]string{}
		s.levels, s.formats, s.readers = nil, nil, nil
	}
}

// New returns a Server with the default user, access levels, card formats
// and readers (see the constants).
func New(opts ...Option) *Server {
	s := &Server{
		now: time.Now, sleep: sleepCtx, newSession: randomSessionID, loc: time.UTC,
		idle: DefaultIdleTimeout, pageSize: DefaultPageSize, version: DefaultAPIVersion,
		users: map[string]string{DefaultUsername: DefaultPassword}, sessions: map[string]*session{},
		people:  map[string]*person{},
		levels:  []level{{LevelLobby, LevelLobbyName}, {LevelFloor3, LevelFloor3Name}, {LevelLab, LevelLabName}},
		formats: []string{Format26, Format34, Format37, Format37NoFC, FormatC1k35, FormatC1k48, FormatMifare},
		readers: []reader{
			{key: ReaderLobby, name: "Lobby In", portalKey: "1", portalName: "Lobby Door", levels: []string{LevelLobbyName}},
			{key: ReaderFloor3, name: "Floor 3 In", portalKey: "2", portalName: "Floor 3 Door", levels: []string{LevelFloor3Name}},
		},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func randomSessionID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
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

// maxBody bounds a request body.
const maxBody = 1 << 20

// ServeHTTP answers one NBAPI request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	want, other := Path, LegacyPath
	if s.legacy {
		want, other = LegacyPath, Path
	}
	switch {
	case r.URL.Path == other && !s.legacy:
		htmlError(w, http.StatusGone, "Gone")
		return
	case r.URL.Path != want:
		htmlError(w, http.StatusNotFound, "Not Found")
		return
	case r.Method != http.MethodPost:
		htmlError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		htmlError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	doc := body
	if ct == "application/x-www-form-urlencoded" {
		v, err := url.ParseQuery(string(body))
		if err != nil {
			htmlError(w, http.StatusBadRequest, "Bad Request")
			return
		}
		doc = []byte(v.Get("APIcommand"))
	}
	s.serve(w, r, ct, body, doc)
}

// serve handles a request whose NBAPI document is doc.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, ct string, raw, doc []byte) {
	rec := Request{ContentType: ct, Body: redactBody(raw)}
	cmd, perr := parseCommand(doc)
	if cmd != nil {
		rec.Command, rec.SessionID, rec.Params = cmd.name, cmd.session, cmd.logParams()
	}
	if perr != 0 {
		s.reply(w, rec, &result{apiError: perr}, cmd)
		return
	}
	f := s.takeFault(cmd.name)
	s.mu.Lock()
	wait := s.latency + f.Latency
	s.mu.Unlock()
	if wait > 0 {
		if err := s.sleep(r.Context(), wait); err != nil {
			return
		}
	}
	if f.Before != nil {
		f.Before()
	}
	if f.DropBefore {
		s.record(rec, "dropped", 0)
		panic(http.ErrAbortHandler)
	}
	if res := f.answer(); res != nil {
		s.reply(w, rec, res, cmd)
		return
	}
	if f.ExpireSession {
		s.expire(cmd.session)
	}
	res := s.execute(cmd)
	if f.DropAfterCommit {
		s.record(rec, "dropped", 0)
		panic(http.ErrAbortHandler)
	}
	s.reply(w, rec, res, cmd)
}

// execute runs a parsed command under the lock.
func (s *Server) execute(cmd *command) *result {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := handlers[cmd.name]
	if !ok {
		return &result{apiError: 6}
	}
	if cmd.name != "Login" {
		if !s.sessionValidLocked(cmd.session) {
			return &result{apiError: 5}
		}
		if s.noIntegAuth && cmd.name != "Logout" {
			return &result{apiError: 5}
		}
	}
	if bad := cmd.checkParams(h.params); bad != "" {
		return fail(bad)
	}
	return h.run(s, cmd)
}

// sessionValidLocked reports whether id names a live session, and
// refreshes it.
func (s *Server) sessionValidLocked(id string) bool {
	ss, ok := s.sessions[id]
	if !ok || id == "" {
		return false
	}
	now := s.now()
	if s.idle > 0 && now.Sub(ss.lastSeen) >= s.idle {
		delete(s.sessions, id)
		return false
	}
	ss.lastSeen = now
	return true
}

func (s *Server) expire(id string) {
	s.mu.Lock()
	delete(s.sessions, id)
	s.mu.Unlock()
}

// ExpireSessions ends every session, as a controller restart would.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	clear(s.sessions)
	s.mu.Unlock()
}

// Sessions returns how many sessions are open, and how many Login and
// Logout commands succeeded so far.
func (s *Server) Sessions() (open, logins, logouts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for id, ss := range s.sessions {
		if s.idle > 0 && now.Sub(ss.lastSeen) >= s.idle {
			delete(s.sessions, id)
		}
	}
	return len(s.sessions), s.logins, s.logouts
}

// reply writes the answer and logs the request.
func (s *Server) reply(w http.ResponseWriter, rec Request, res *result, cmd *command) {
	if res.httpStatus != 0 {
		s.record(rec, "HTTP "+strconv.Itoa(res.httpStatus), res.httpStatus)
		if res.rawBody != "" {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(res.httpStatus)
			_, _ = io.WriteString(w, res.rawBody)
			return
		}
		htmlError(w, res.httpStatus, http.StatusText(res.httpStatus))
		return
	}
	s.record(rec, res.summary(), http.StatusOK)
	out, err := s.encode(res, cmd)
	if err != nil {
		htmlError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

func (s *Server) record(rec Request, answer string, status int) {
	rec.Answer, rec.Status = answer, status
	s.mu.Lock()
	s.reqs = append(s.reqs, rec)
	s.mu.Unlock()
}

// Requests returns the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	s.reqs = nil
	s.mu.Unlock()
}

func htmlError(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, "<html><head><title>"+strconv.Itoa(status)+" "+text+"</title></head><body><h1>"+text+"</h1></body></html>")
}

// redactBody replaces the password in a logged body.
func redactBody(b []byte) []byte {
	s := string(b)
	for _, pair := range [][2]string{{"<PASSWORD>", "</PASSWORD>"}, {"%3CPASSWORD%3E", "%3C%2FPASSWORD%3E"}} {
		i := strings.Index(s, pair[0])
		j := strings.Index(s, pair[1])
		if i >= 0 && j > i {
			s = s[:i+len(pair[0])] + "[REDACTED]" + s[j:]
		}
	}
	return []byte(s)
}
