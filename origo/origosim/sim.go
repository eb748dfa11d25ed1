// Package origosim is a stateful simulator of the subset of HID Origo that
// package origo uses: the OAuth client-credentials token endpoint and the
// Mobile Identities v2.2 API (SCIM users, user search, invitations,
// credentials, part numbers), with a simulated phone that accepts an
// invitation and CloudEvents callbacks to a registered URL. It serves
// tests, examples, benchmarks and `acsctl simulate origo`.
//
// A Server is an http.Handler serving both hosts at one origin (HID
// answers authentication at api.origo.hidglobal.com and Mobile Identities
// at ma.api.assaabloy.com; an adapter takes the two base URLs separately):
//
//	POST   /authentication/customer/{org}/token               form client_id, client_secret, grant_type=client_credentials
//	POST   /credential-management/customer/{org}/users         create a SCIM user (externalId, name, emails)
//	POST   /credential-management/customer/{org}/users/.search SearchRequest, filter externalId|emails eq "…"
//	GET    /credential-management/customer/{org}/users/{id}    the user with its invitations and credential containers
//	DELETE /credential-management/customer/{org}/users/{id}
//	POST   /credential-management/customer/{org}/users/{id}/invitation   UserAction with partNumber
//	DELETE /credential-management/customer/{org}/invitation/{id}
//	DELETE /credential-management/customer/{org}/credential/{id}
//	GET    /credential-management/customer/{org}/part-number[/{id}]
//
// Faithful to the wire notes (research/more-acs.md §4): tokens live one
// hour (expires_in 3600) on the injected clock and an expired or unknown
// one is answered 401; every call must carry Application-ID and
// Application-Version (400 otherwise) and every Mobile Identities body the
// content type application/vnd.assaabloy.ma.credential-management-2.2+json
// (415 otherwise); answers carry that content type; errors are SCIM error
// bodies ({"schemas":[…Error],"status":"404","detail":"…"}). An invitation
// creates an invitation code with status PENDING and reserves a credential
// of the part number; the card number exists only once the phone accepts
// (Accept): a credential container (the phone) then holds the credential,
// ISSUED with its cardNumber, and the invitation is ACKNOWLEDGED. Deleting a
// credential marks it REVOKED (it stays listed); deleting an invitation
// cancels it and releases its reserved credential; deleting a user deletes
// everything it holds.
//
// Where the notes are uncertain the simulator takes the strict choice and
// the adapter must not rely on anything else: IDs are JSON numbers; a
// second user with a taken externalId is accepted (nothing says Origo
// refuses it; WithUniqueExternalIDs refuses it with 409 instead); the rate
// limit (WithRateLimit, 50 requests in any 5 minutes per organisation when
// on) answers 403 with the same body as a permission refusal and no
// Retry-After, so that only persistence tells the two apart; search
// supports only `externalId eq "…"` and `emails eq "…"` (JSON string
// values, escapes included) and answers 400 invalidFilter to anything
// else.
//
// Callbacks: SetCallback registers a URL and the header that authenticates
// deliveries; Accept delivers an application/cloudevents-batch+json POST
// with an invitation event and a credential event, once, without retry
// (HID does not retry, the notes say). Deliveries lists what was sent and
// how the receiver answered.
//
// Fault injection: AddFault (a status with a SCIM error body, a dropped
// connection before or after the change is committed, token expiry, or a
// delay through the injectable sleep) for requests matching a method and
// a path (or path prefix), SetDown (every request dropped: an outage),
// SetLatency, ExpireTokens and SetRateLimit. The oracle (User, Users,
// Census) answers from the server's own state; Accept and AcceptWithCard
// act as the visitor's phone (WithAutoAccept and WithAcceptAfter make it
// accept by itself), AddUser and RevokeCredential as an
// administrator behind the adapter's back; Requests returns a log of
// every request without secrets.
//
// A Server is safe for concurrent use.
package origosim

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

// The simulator's default organisation and system account.
const (
	DefaultOrganizationID = "1000042"
	DefaultClientID       = DefaultOrganizationID + "-OSRV0000001"
	DefaultClientSecret   = "sim-origo-client-secret"
	// DefaultPartNumber is the part number seeded as available.
	DefaultPartNumber = "MID-SUB-CRD_FTPN_0042"
	// FirstCardNumber is the card number the first accepted credential
	// gets unless WithCardNumbers says otherwise; each next one is one
	// more.
	FirstCardNumber = 5001
)

// ContentType is the media type of Mobile Identities v2.2 bodies.
const ContentType = "application/vnd.assaabloy.ma.credential-management-2.2+json"

// TokenLifetime is how long an access token lives (expires_in 3600).
const TokenLifetime = time.Hour

// Rate limit of the notes: 50 requests in 5 minutes per organisation
// (applied only when WithRateLimit or SetRateLimit asks).
const (
	DefaultRateLimit = 50
	RateWindow       = 5 * time.Minute
)

// Schema URNs of the v2.2 API.
const (
	SchemaUser        = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaSearch      = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	SchemaList        = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	SchemaError       = "urn:ietf:params:scim:api:messages:2.0:Error"
	SchemaUserAction  = "urn:hid:scim:api:ma:2.2:UserAction"
	SchemaInvitation  = "urn:hid:scim:api:ma:2.2:UserInvitation"
	SchemaCredential  = "urn:hid:scim:api:ma:2.2:Credential"
	SchemaContainer   = "urn:hid:scim:api:ma:2.2:CredentialContainer"
	SchemaPartNumber  = "urn:hid:scim:api:ma:2.2:PartNumber"
	CredentialsPrefix = "/credential-management/customer/"
)

// TokenPath returns the token endpoint's path for an organisation.
func TokenPath(org string) string { return "/authentication/customer/" + org + "/token" }

// APIPath returns the path of the Mobile Identities API of an organisation
// ("/credential-management/customer/{org}"); resources are below it.
func APIPath(org string) string { return CredentialsPrefix + org }

// FaultKind selects what an injected fault does.
type FaultKind int

// The fault kinds.
const (
	// FaultStatus answers Fault.Status with a SCIM error body without doing
	// anything (a 503 carries Retry-After: 1).
	FaultStatus FaultKind = iota + 1
	// FaultDropBeforeCommit closes the connection without doing anything.
	FaultDropBeforeCommit
	// FaultDropAfterCommit does the request, then closes the connection
	// without answering: the change is made, the client never hears.
	FaultDropAfterCommit
	// FaultExpireToken expires every token just before the request is
	// checked.
	FaultExpireToken
	// FaultDelay waits Fault.Delay (through the sleep of WithSleep) and
	// then handles the request normally.
	FaultDelay
)

// Fault is an injected failure for requests matching Method and Path.
type Fault struct {
	// Method matches the request method; empty matches any.
	Method string
	// Path matches the request path exactly, or as a prefix when it ends
	// with '/' ("/authentication/" for the token endpoint,
	// APIPath(org)+"/users/" for everything below users); empty matches
	// every path.
	Path   string
	Kind   FaultKind
	Status int // for FaultStatus
	// Times is how many matching requests the fault affects (0 means 1;
	// negative means every one).
	Times int
	// Delay is the wait of FaultDelay.
	Delay time.Duration
}

// Request is one logged request. It never holds a secret: the client
// secret is removed from token requests and the bearer token is reduced to
// whether it was valid.
type Request struct {
	Time        time.Time
	Method      string
	Path        string
	RawQuery    string
	ContentType string
	// AppID and AppVersion are the Application-ID and Application-Version
	// headers.
	AppID, AppVersion string
	// Bearer reports whether an Authorization: Bearer header was sent.
	Bearer bool
	// Body is the request body (a token request's client_secret replaced
	// by "[REDACTED]").
	Body   string
	Status int // 0 when the connection was dropped
}

// Census counts what the server stores.
type Census struct {
	// Users counts users; Invitations pending invitations; Credentials
	// credentials that are issued and not revoked.
	Users, Invitations, Credentials int
}

// Option configures a Server.
type Option func(*Server)

// WithOrganization sets the organisation ID and the system account's
// client credentials the server accepts.
func WithOrganization(org, clientID, clientSecret string) Option {
	return func(s *Server) { s.org, s.clientID, s.clientSecret = org, clientID, clientSecret }
}

// WithClock sets the clock used for token expiry, the rate limit and
// resource times (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithSleep sets the function FaultDelay waits with (default: a timer that
// stops early when the request's context ends).
func WithSleep(sleep func(ctx context.Context, d time.Duration)) Option {
	return func(s *Server) { s.sleep = sleep }
}

// WithTokenLifetime sets how long a token lives (default TokenLifetime).
func WithTokenLifetime(d time.Duration) Option { return func(s *Server) { s.tokenLife = d } }

// WithRateLimit answers requests beyond n in any RateWindow of the
// server's clock with 403 (0, the default: no limit; DefaultRateLimit is
// the value of the notes). Token requests count too.
func WithRateLimit(n int) Option { return func(s *Server) { s.rateLimit = n } }

// WithPartNumbers replaces the seeded part numbers (default
// DefaultPartNumber).
func WithPartNumbers(pns ...string) Option {
	return func(s *Server) { s.partNumbers = slices.Clone(pns) }
}

// WithAutoAccept makes the phone accept every invitation at once: the
// invitation is answered ACKNOWLEDGED with its credential ISSUED and a
// card number, and the callbacks are delivered after the answer.
func WithAutoAccept() Option { return func(s *Server) { s.autoAccept = true } }

// WithAcceptAfter makes the phone accept each invitation by itself once
// delay(externalID) has passed on the server's clock since the invitation
// was created: at once when the delay is zero or less (as WithAutoAccept),
// otherwise when the server next handles a request at or after that time,
// before it handles the request, with the callbacks delivered after its
// answer. An invitation cancelled or expired by then is not accepted.
// delay is called with the server's lock held and must not call the
// server. Nothing happens while no request arrives: a test's manual clock
// decides when the phone accepts, and no timer runs.
func WithAcceptAfter(delay func(externalID string) time.Duration) Option {
	return func(s *Server) { s.acceptAfter = delay }
}

// WithCardNumbers sets how accepted credentials get their card numbers:
// next is called with the user's externalId and returns the number
// (default: FirstCardNumber, then one more each time).
func WithCardNumbers(next func(externalID string) uint64) Option {
	return func(s *Server) { s.cardNumbers = next }
}

// WithUniqueExternalIDs makes POST …/users refuse a taken externalId with
// 409 (uniqueness), the other plausible answer.
func WithUniqueExternalIDs() Option { return func(s *Server) { s.uniqueExternal = true } }

// WithCallbackClient sets the HTTP client callbacks are delivered with
// (default: a client with a 5-second timeout).
func WithCallbackClient(c *http.Client) Option { return func(s *Server) { s.cbClient = c } }

// Server simulates HID Origo. Create it with New.
type Server struct {
	org, clientID, clientSecret string
	now                         func() time.Time
	sleep                       func(ctx context.Context, d time.Duration)
	tokenLife                   time.Duration
	partNumbers                 []string
	autoAccept                  bool
	acceptAfter                 func(externalID string) time.Duration
	cardNumbers                 func(externalID string) uint64
	uniqueExternal              bool
	cbClient                    *http.Client

	mu          sync.Mutex
	latency     time.Duration
	rateLimit   int
	starts      []time.Time // request times within the rate window
	throttled   int
	down        bool
	faults      []*Fault
	log         []Request
	tokens      map[string]time.Time // token → expiry
	seq         int64
	nextCard    uint64
	users       map[int64]*user
	invitations map[int64]*invitation
	creds       map[int64]*credential
	callback    *callback
	deliveries  []Delivery
	pending     []Event             // events of auto-accepted invitations, delivered after the answer
	phone       map[int64]time.Time // invitation → when the phone accepts it (WithAcceptAfter)
}

// New returns a server with the default organisation, system account and
// part number.
func New(opts ...Option) *Server {
	s := &Server{
		org: DefaultOrganizationID, clientID: DefaultClientID, clientSecret: DefaultClientSecret,
		now: time.Now, tokenLife: TokenLifetime, partNumbers: []string{DefaultPartNumber},
		tokens: map[string]time.Time{}, users: map[int64]*user{}, invitations: map[int64]*invitation{},
		creds: map[int64]*credential{}, phone: map[int64]time.Time{}, nextCard: FirstCardNumber, seq: 1000,
		cbClient: &http.Client{Timeout: 5 * time.Second},
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
	return s
}

// Organization returns the organisation ID the server serves.
func (s *Server) Organization() string { return s.org }

// nextID returns a fresh resource ID. s.mu is held.
func (s *Server) nextID() int64 {
	s.seq++
	return s.seq
}

// SetLatency delays every request by d (through the sleep of WithSleep).
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.latency = max(d, 0)
	s.mu.Unlock()
}

// SetRateLimit changes the rate limit: n requests in any RateWindow (0:
// none).
func (s *Server) SetRateLimit(n int) {
	s.mu.Lock()
	s.rateLimit = n
	s.mu.Unlock()
}

// Throttled returns how many requests were answered 403 by the rate limit.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// SetDown makes every later request fail with a dropped connection (true),
// as during an outage, or be served again (false).
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
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

// answer is a response before it is written.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	entry := Request{
		Time: s.now(), Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
		ContentType: r.Header.Get("Content-Type"), AppID: r.Header.Get("Application-ID"),
		AppVersion: r.Header.Get("Application-Version"),
		Bearer:     strings.HasPrefix(r.Header.Get("Authorization"), "Bearer "),
		Body:       redactSecret(r.URL.Path, string(body)),
	}
	s.mu.Lock()
	fault := s.matchFault(r.Method, r.URL.Path)
	down, latency := s.down, s.latency
	s.mu.Unlock()
	if latency > 0 {
		s.sleep(r.Context(), latency)
	}
	if fault != nil && fault.Kind == FaultDelay {
		s.sleep(r.Context(), fault.Delay)
		fault = nil
	}

	s.mu.Lock()
	s.acceptDueLocked()
	var ans answer
	drop := down
	switch {
	case down:
	case fault != nil && fault.Kind == FaultDropBeforeCommit:
		drop = true
	case fault != nil && fault.Kind == FaultStatus:
		ans = statusAnswer(fault.Status)
	case s.overRate():
		s.throttled++
		ans = scimError(http.StatusForbidden, "", "Forbidden")
	default:
		if fault != nil && fault.Kind == FaultExpireToken {
			for t := range s.tokens {
				s.tokens[t] = time.Time{}
			}
		}
		ans = s.route(r, body)
		drop = fault != nil && fault.Kind == FaultDropAfterCommit
	}
	if !drop {
		entry.Status = ans.status
	}
	s.log = append(s.log, entry)
	events := s.pending
	s.pending = nil
	cb := s.callback
	s.mu.Unlock()

	if drop {
		simkit.HijackAndClose(w)
	} else {
		for k, vs := range ans.header {
			w.Header()[k] = vs
		}
		w.WriteHeader(ans.status)
		_, _ = w.Write(ans.body)
	}
	if len(events) > 0 {
		s.deliver(cb, events)
	}
}

// redactSecret removes the client secret from a token request body.
func redactSecret(path, body string) string {
	if !strings.HasPrefix(path, "/authentication/") {
		return body
	}
	q, err := url.ParseQuery(body)
	if err != nil {
		return "[unreadable form]"
	}
	if q.Has("client_secret") {
		q.Set("client_secret", "[REDACTED]")
	}
	return q.Encode()
}

func (s *Server) matchFault(method, path string) *Fault {
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, method) {
			continue
		}
		if f.Path != "" && path != f.Path && !(strings.HasSuffix(f.Path, "/") && strings.HasPrefix(path, f.Path)) {
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

// overRate counts the request in the rolling window and reports whether it
// is beyond the limit. A refused request counts too: HID counts requests,
// not successes.
func (s *Server) overRate() bool {
	if s.rateLimit <= 0 {
		return false
	}
	now := s.now()
	keep := s.starts[:0]
	for _, t := range s.starts {
		if now.Sub(t) < RateWindow {
			keep = append(keep, t)
		}
	}
	s.starts = append(keep, now)
	return len(s.starts) > s.rateLimit
}

// scimErrorJSON is a SCIM error body.
type scimErrorJSON struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail"`
}

func scimError(status int, scimType, detail string) answer {
	b, _ := json.Marshal(scimErrorJSON{Schemas: []string{SchemaError}, Status: fmt.Sprint(status), ScimType: scimType, Detail: detail})
	return answer{status: status, header: http.Header{"Content-Type": {ContentType}}, body: b}
}

func statusAnswer(status int) answer {
	msg := http.StatusText(status)
	if msg == "" {
		msg = "Error"
	}
	a := scimError(status, "", msg)
	if status == http.StatusServiceUnavailable {
		a.header.Set("Retry-After", "1")
	}
	return a
}

func jsonAnswer(status int, v any) answer {
	b, err := json.Marshal(v)
	if err != nil {
		return scimError(http.StatusInternalServerError, "", "Internal Server Error")
	}
	return answer{status: status, header: http.Header{"Content-Type": {ContentType}}, body: b}
}

func randomToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "origo_" + hex.EncodeToString(b[:])
}

// route dispatches a request. s.mu is held.
func (s *Server) route(r *http.Request, body []byte) answer {
	if r.Header.Get("Application-ID") == "" || r.Header.Get("Application-Version") == "" {
		return scimError(http.StatusBadRequest, "invalidValue", "Application-ID and Application-Version headers are required")
	}
	p := r.URL.Path
	if strings.HasPrefix(p, "/authentication/") {
		return s.token(r, body)
	}
	rest, ok := strings.CutPrefix(p, APIPath(s.org))
	if !ok {
		if strings.HasPrefix(p, CredentialsPrefix) {
			return scimError(http.StatusForbidden, "", "Forbidden")
		}
		return scimError(http.StatusNotFound, "", "Not Found")
	}
	if a, ok := s.authorize(r); !ok {
		return a
	}
	if len(body) > 0 && mediaType(r.Header.Get("Content-Type")) != ContentType {
		return scimError(http.StatusUnsupportedMediaType, "", "Content-Type must be "+ContentType)
	}
	return s.resource(r.Method, rest, body)
}

// mediaType returns the media type of a Content-Type header, lower case,
// without parameters.
func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// token serves POST /authentication/customer/{org}/token.
func (s *Server) token(r *http.Request, body []byte) answer {
	if r.Method != http.MethodPost || r.URL.Path != TokenPath(s.org) {
		return scimError(http.StatusNotFound, "", "Not Found")
	}
	if mediaType(r.Header.Get("Content-Type")) != "application/x-www-form-urlencoded" {
		return scimError(http.StatusUnsupportedMediaType, "", "Content-Type must be application/x-www-form-urlencoded")
	}
	f, err := url.ParseQuery(string(body))
	switch {
	case err != nil || f.Get("grant_type") != "client_credentials":
		return jsonAnswer(http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
	case f.Get("client_id") != s.clientID || f.Get("client_secret") != s.clientSecret || s.clientSecret == "":
		return jsonAnswer(http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
	}
	t := randomToken()
	s.tokens[t] = s.now().Add(s.tokenLife)
	return jsonAnswer(http.StatusOK, map[string]any{
		"access_token": t, "id_token": "sim.id.token", "token_type": "Bearer",
		"expires_in": int(s.tokenLife / time.Second),
	})
}

// authorize checks the bearer token of an API request.
func (s *Server) authorize(r *http.Request) (answer, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return scimError(http.StatusUnauthorized, "", "Unauthorized"), false
	}
	exp, ok := s.tokens[tok]
	if !ok || !s.now().Before(exp) {
		return scimError(http.StatusUnauthorized, "", "Unauthorized: token expired or invalid"), false
	}
	return answer{}, true
}
