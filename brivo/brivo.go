// Package brivo is an acs.Provider for Brivo Access (formerly Brivo Onair)
// over its cloud REST API (api.brivo.com/v1/api, OAuth at auth.brivo.com,
// or the EU hosts).
//
// # Mapping
//
// An acs access level is a Brivo group; a cardholder is a Brivo user whose
// externalId is the grant's Person.ExternalID; a card is a Brivo credential
// of a card format, assigned to the user with effectiveFrom/effectiveTo set
// to the grant's window. Access comes from group membership, so the window
// lives on the credential assignment.
//
// # Wire behaviour relied on
//
// The adapter follows the documented API as of the 2025-11 documentation
// snapshot and the behaviour recorded in real 2017 traffic; where sources
// disagree it takes the confirmed path:
//
//   - OAuth password grant (the username is the Brivo admin ID) at
//     <auth>/oauth/token with Basic client credentials, the api-key header
//     and a form body (never the query string, which would put the password
//     in URLs). The access token's expires_in is read, not assumed (60 s in
//     2017, 300 s today); the adapter refreshes with the refresh-token grant
//     shortly before it runs out, and once on a 401 from the API; when the
//     refresh fails it logs in again. Concurrent callers share one token and
//     one refresh.
//   - Every API call carries api-key and "Authorization: bearer <token>".
//     Any 2xx is success (POST /credentials answers 201 in real traffic, 200
//     in the docs). Errors are read from {"code","message"}, the OAuth
//     {"error","error_description"} shape, or the Mashery gateway's HTML
//     (403 "Developer Inactive" for a bad API key; 596 "Service Not Found"
//     for a wrong path, verb or region).
//   - Brivo publishes no rate limit. The default client limit is 20
//     requests a second (a peer's development-key setting; raise it with
//     WithRateLimit for production keys). An over-QPS answer, inferred from
//     the Mashery gateway (403 "Developer Over Qps", Retry-After) and 429
//     are waited out and retried, POSTs included: the gateway refused them
//     before they reached Brivo.
//   - Users are found with GET /users/{externalId}/external (there is no
//     documented externalId filter) and created with POST /users.
//   - The credential format is resolved at run time from
//     GET /credentials/formats by name, never by a hard-coded ID: H10301 is
//     "Standard 26 Bit" (2017 catalogue) or "HID 26 bit Card" (current docs)
//     with fields card_number and facility_code; H10304, Corporate 1000 35
//     and 48 use Brivo's HID format names; H10302 and H10306 have no
//     unambiguous Brivo format and need Grant.CredentialType. Field values
//     are sent when the format lists card_number (as in recorded traffic);
//     otherwise the encodedCredential computed by package wiegand. The
//     referenceId is the decimal card number.
//   - A "Duplicate Credential Found" answer is resolved by listing
//     /credentials with filter reference_id, facility_code and
//     status__eq:unassigned; a free credential for the same card is reused
//     (physical badges are reused), none free means the card is held by
//     someone else: a Conflict error. Any other 4xx answer to POST
//     /credentials is checked the same way (the message text is not relied
//     on): a credential for the card, free or held, settles it.
//   - Credentials are assigned with PUT /users/{u}/credentials/{c} and both
//     dates; groups with PUT /groups/{g}/users/{u} (recorded traffic) one
//     at a time, removing the user's other groups first so that the user
//     never exceeds Brivo's 16-group limit and ends with exactly the
//     grant's groups.
//
// # Operations and their round trips
//
// Provision looks the user up by external ID and, when it exists, lists
// the users under its names (see Twin users below) and its credentials (a
// repeat provision creates nothing: it is idempotent by external ID and
// card). It creates the credential before the user so that a card held by
// someone else is refused without leaving a user behind. A first
// provision for one group costs 6 requests (lookup, credential, user, the
// check for twins, assignment, group), a repeat 4, the groups and formats
// being cached (10 minutes by default). A lost response to POST /users or
// POST /credentials is recovered within the call through the external-ID
// lookup and the duplicate path.
//
// Revoke lists the cardholder's credentials, then unassigns the credential
// and deletes it: 3 requests when the reference carries the IDs. It only
// touches a credential assigned to that cardholder or to another user
// carrying the reference's external ID (a twin), so a stale revoke
// retried after the badge went to the next visitor cannot take it away, and
// deleting (rather than only unassigning) means a credential ID is never
// reused for another holder. Once unassigned the credential opens nothing,
// so a failed delete is logged and the revoke still succeeds; a later
// provision of the card reuses the leftover through the duplicate path.
// When the credential is not among the cardholder's, Brivo is asked who
// holds it (GET /credentials/{id}/user, or for a card the assigned
// credentials with its reference ID): revoking what is already revoked
// costs 3 requests.
//
// RemoveCardholder looks the external ID up and lists the users under the
// found user's names, then for each user carrying the external ID lists
// its credentials and mobile-pass invitations, revokes every credential
// (unassign and delete), deletes the invitations' credentials and deletes
// the user (not merely suspends it): 7 requests for a visitor with one
// card.
//
// # PINs
//
// The Provider implements acs.PINIssuer with the user's PIN, which Brivo
// keeps on the user with its own validity ("effectiveFrom/effectiveTo
// (validity of the user's PIN)"; the PIN then appears among the user's
// credentials as format 2 "PIN Code"): 4 to 8 digits, with or without a
// card. ProvisionPIN finds or creates the user as Provision does (twins
// converged), then sends PATCH /users/{id} {"pin","effectiveFrom",
// "effectiveTo"} and sets the user's groups as Provision does. RevokePIN
// sends PATCH {"pin":null} to the user and its twins and reads each user
// back to check that no PIN is left: how Brivo treats a null PIN is not
// documented, and the read decides (the PIN read back is compared with
// nothing and not kept). A PIN another user holds is a Conflict (the
// simulator answers 400 "PIN is already in use"; an account that accepts
// duplicates relies on the VMS's own uniqueness). The PIN travels in the
// PATCH body only; log records of the call are redacted
// (acshttp.WithPINs) and errors pass through acs.RedactPIN. Brivo's own
// visitor endpoint (POST /brivo-visitor/create-and-assign-visitor-user,
// credentialType PIN) generates the PIN itself and e-mails it; it is not
// used, since the VMS generates, hands out and revokes the PIN.
//
// # Twin users
//
// Brivo documents externalId as "guaranteed to be unique within the
// client's Brivo Access account", so of two processes (VMS replicas, each
// with its own Provider) provisioning one visit at the same instant the
// second POST /users is expected to be refused, and the adapter then uses
// the first's user. Whether the guarantee holds for two creations at the
// same instant is not documented, nor what GET /users/{externalId}/external
// answers when two users carry the external ID, so the adapter also
// handles twins. It finds them with the documented user listing filtered
// by first and last name (GET /users?filter=firstname__eq:…;lastname__eq:…,
// which matches a part of each name; a name that cannot be placed in a
// filter is left out of it), keeping the users whose externalId is exactly
// the one wanted: the names are those of the grant, which concurrent
// provisions of one visit share. Provision lists them on every call, after
// the lookup or right after creating the user (so that of two processes
// that both created one, the later always sees the other's), and when the
// lookup answers an error. Every process picks the same survivor: the user
// with the smallest ID (Brivo's IDs grow with creation, so the oldest).
// The others are deleted as RemoveCardholder deletes a user (credentials
// unassigned and deleted, mobile passes deleted, then the user), except
// that the grant's card is only unassigned, and then assigned to the
// survivor: its credential ID survives the convergence. A process whose
// new user is not the survivor deletes it and looks again; so does a call
// whose write is answered with an error after an earlier write (a
// converging twin may have deleted the user or unassigned the credential
// it works on), and a call that created a user and has not listed the
// users since, whatever failed: the process that created a twin may be the
// only one still working on the visit, the other having finished, so it
// does not leave the twin to a later call. That is at most three looks in
// all; the failure of the last is returned. A card Brivo says is assigned to another user is no
// Conflict when that user carries the grant's external ID (a concurrent
// provision of the same visit created it): the provision looks again.
// Revoke and RemoveCardholder act on every user carrying the external ID,
// so twins never make them fail or leave a card live, and Holdings lists
// each twin as its own holding. Twins whose names differ from the grant's
// (renamed at Brivo) are not found by the listing; Holdings still shows
// them, and Revoke still finds the card through its holder.
//
// # Gone is gone
//
// Revoking or removing what is already gone succeeds, so both can be
// retried until they are confirmed. Brivo documents what "missing" looks
// like only for a GET of one record (404 {"code":404,"message":…}; real
// traffic: "Requested user not found" after DELETE /users/{id}, "No
// credential could be retrieved for credential id: …" after DELETE
// /credentials/{id}); what it answers to an unassignment, a DELETE or a
// sub-listing of something already gone is not documented. So the adapter
// never takes an error answer's code for "gone": any error answer but the
// gateway's throttling and key refusals, 596 and a refused token (a 400,
// a 403 with a JSON body, a 404, a 409, a 5xx…) is followed by a question
// to Brivo: GET /users/{id}, GET /credentials/{id}, the user's credential
// or group listing, or the credential listing filtered by reference_id and
// status__eq:assigned. Only Brivo's own 404 (no body, or a JSON body with
// code 404) to a GET by ID means absent; a 404 page from a proxy or a
// wrong base URL is an Unknown error. When the target is absent the
// operation succeeds; when it is there, the original error is returned,
// never as NotFound (the target is not gone); when the question fails,
// its error is returned. Each of these costs requests only when an answer
// was an error.
//
// # Retention
//
// RemoveCardholder deletes the user at Brivo: DELETE /users/{id} answers
// 204 and a later GET 404 in recorded traffic, and no archive of deleted
// users is documented. With it go the user's names, e-mail addresses,
// group memberships and mobile-pass invitations. Its credentials are
// deleted first: a card credential's reference ID is the card number,
// which names no one, so a failure to delete one (once unassigned) is only
// logged; a mobile pass's reference ID is the visitor's e-mail address, so
// a failure to delete it fails the removal, to be retried, before the user
// is deleted. When RemoveCardholder succeeds Brivo holds no name or e-mail
// address of the visitor that the API can reach. Brivo's event history
// keeps the name shown on each past event (the actor), which the API
// offers no way to erase.
//
// # Inventory
//
// The Provider implements acs.Inventory with Holdings: every Brivo user
// carrying an external ID (the only mark Provision writes; narrow it with
// WithInventoryPrefix) with the credentials assigned to it now, read from
// Brivo, never from a cache. See Holdings for the requests it makes.
//
// Person.Company is not sent (Brivo users have no such field; accounts
// model it with custom fields). Brivo requires both a first and a last
// name; a missing one is sent as "Visitor".
//
// # Door events
//
// The Provider implements acs.EventSource with Events, which polls GET
// /events/access (see its documentation for Brivo's 24-hour window, the
// paging by date and the cursor), and offers NewWebhookHandler for the
// real-time path: CreateEventSubscription registers the handler's URL
// with Brivo (POST /event-subscriptions), which then POSTs each matching
// event's JSON to it. Both map an event the same way: the door
// (eventObject), Granted from eventData.actionAllowed (else the inverse of
// securityAction.exception), the credential ID, the card from the
// credential's field values (GET /credentials/{id}) or the unknown card's
// Wiegand frame (eventData.unknownWeigand, decoded when exactly one known
// format fits), and the cardholder's external ID from the user the event
// names (actor, GET /users/{id}), both lookups cached. Brivo's event data
// carries no direction; WithDoorDirection marks entry and exit readers.
// Only credential decisions at a door are door events: administrator
// actions, panel, camera and audit events are skipped.
//
// Events ends with a non-retryable *acs.Error when Brivo refuses for good
// (credentials or API key refused, a missing permission, a 400), including
// during its lookups, and when an answer nobody can classify persists for
// 5 polls; the webhook handler pauses its lookups for five minutes after
// such a refusal rather than repeat a failed login per notification.
//
// Brivo documents neither a signature on notifications nor a retry of
// failed ones (it e-mails the subscription's errorEmail), so a VMS that
// must not miss an event runs Events as well, from its stored cursor:
// webhooks bring events within a second, polling guarantees them.
//
// The Provider implements acs.UnknownCardEvents (true): the unknown card's
// frame makes tap to enrol work with Brivo (visitor.Engine.StartEnrolment).
//
// # Employee access
//
// The Provider implements acs.EmployeeAccess, so that a VMS can make
// employees check in before their badge works (visitor.EmployeePolicy).
// An employee is a Brivo user, named by its user ID. FindEmployee reads
// the user, its groups and its credentials (GET /users/{id},
// /users/{id}/groups, /users/{id}/credentials), or, by card, first finds
// the user holding the card's assigned credential (as Revoke does).
// SetEmployeeEnabled reads the user and, unless it already is as wanted,
// suspends or reinstates it (PUT /users/{id}/suspended): a suspended
// user's credentials open no door ("toggle user status"; employees start
// suspended). SetEmployeeLevels checks the groups against the catalogue,
// lists the user's groups and sends only the differences (PUT or DELETE
// /groups/{group}/users/{id}). Brivo's answer to a change of a user its
// identity-provider sync manages is not documented: a refusal whose
// message says read-only, SCIM, identity provider, directory, synchronized,
// managed by or cannot be modified is returned as acs.ReadOnly
// (PermissionDenied matching acs.ErrReadOnly).
//
// # Safety
//
// Every value placed in a path segment is a decimal Brivo ID or a
// validated external ID ("." and ".." refused), escaped; every value placed
// in a filter is refused when it holds one of the filter syntax characters
// ; , : % or a control character, so a name like "a;b__eq:c" cannot widen
// a query. Secrets (password, client secret, API key, tokens) never appear
// in errors, log lines or URLs.
//
// A Provider is safe for concurrent use.
package brivo

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// Name is the provider name used in errors and logs.
const Name = "brivo"

// Brivo's hosts. The API key, the client credentials and the account must
// all belong to the same region.
const (
	DefaultBaseURL = "https://api.brivo.com/v1/api"
	DefaultAuthURL = "https://auth.brivo.com"
	EUBaseURL      = "https://api.eu.brivo.com/v1/api"
	EUAuthURL      = "https://auth.eu.brivo.com"
)

// DefaultRateLimit is the default client-side limit in requests a second.
const DefaultRateLimit = 20

// DefaultCacheTTL is how long the group and credential-format catalogues
// are cached.
const DefaultCacheTTL = 10 * time.Minute

// Config holds what is needed to reach a Brivo account. Every field but the
// two URLs is required.
type Config struct {
	// BaseURL is the API base including /v1/api (default DefaultBaseURL).
	BaseURL string
	// AuthURL is the OAuth server (default DefaultAuthURL).
	AuthURL string
	// ClientID and ClientSecret identify the API application.
	ClientID     string
	ClientSecret string
	// APIKey is the Mashery API key from developer.brivo.com.
	APIKey string
	// Username is the Brivo admin ID (not the e-mail) and Password its
	// password, for the OAuth password grant.
	Username string
	Password string
}

// TLSOptions selects how the servers' certificates are checked (see
// acshttp.TLSOptions).
type TLSOptions = acshttp.TLSOptions

// Option configures a Provider. New reports every option given a value
// it cannot use, as an InvalidArgument error naming the option.
type Option func(*options)

type options struct {
	http       acshttp.ClientOptions
	now        func() time.Time
	rules      acs.Rules
	cacheTTL   time.Duration
	language   string
	sleep      func(ctx context.Context, d time.Duration) error // how it waits; tests replace it
	events     EventOptions
	directions map[string]acs.Direction
	// invConcurrency and invPrefix tune Holdings (inventory.go).
	invConcurrency int
	invPrefix      string
	jitter         func() float64 // see Provider.jitter
	errs           []error
}

func (o *options) invalid(format string, args ...any) {
	o.errs = append(o.errs, fmt.Errorf(format, args...))
}

// WithHTTPClient sends requests through c (its Transport is wrapped,
// never modified). It excludes WithTLS and WithTimeout: configure those
// on c.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.http.SetHTTPClient(c) } }

// WithTLS sets how the servers' certificates are checked (default: the
// system roots, TLS 1.2 or later).
func WithTLS(t TLSOptions) Option { return func(o *options) { o.http.SetTLS(t) } }

// WithTimeout bounds each HTTP attempt (default DefaultTimeout; contexts
// still apply).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.http.SetTimeout(d) } }

// WithConcurrency sets how many requests of one listing (the pages of
// AccessLevels and of the other listings, once the first page has told
// how many there are) are in flight at once (default
// acshttp.DefaultConcurrency; 1: one after the other). The rate limit
// paces each of them.
func WithConcurrency(n int) Option { return func(o *options) { o.http.SetConcurrency(n) } }

// WithRateLimit paces requests to at most perSecond in any second as the
// server counts them (or burst in any burst/perSecond seconds when burst
// is larger: see acshttp.WindowsOf), slowing down after an over-limit
// answer; a rate of 0 turns the limiter off. The default is
// DefaultRateLimit in bursts of half of it.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(o *options) { o.http.SetRateLimit(perSecond, burst) }
}

// WithRetry sets how many times an idempotent (or gateway-throttled)
// request is sent again (retries ≤ 0: never; default 3) and the bounds of
// the backoff between attempts (0 keeps the defaults, 200 ms and 10 s). A
// Retry-After longer than waitMax is not waited out: the call fails with
// a RateLimited error carrying it.
func WithRetry(retries int, waitMin, waitMax time.Duration) Option {
	return func(o *options) { o.http.SetRetry(retries, waitMin, waitMax) }
}

// WithAllowInsecureHTTP permits plain http to a host that is not
// loopback, for the API, the auth server and webhook URLs.
func WithAllowInsecureHTTP() Option { return func(o *options) { o.http.AllowInsecureHTTP() } }

// WithLogger logs one debug line per HTTP attempt and token events.
// Secrets are never logged.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.http.SetLogger(l) } }

// WithMeterProvider records the HTTP request metrics of package acshttp
// (request duration, errors by acs code, over-limit answers; see its
// documentation) on mp, with acs.provider "brivo". Default: none (nothing is
// recorded; the global provider is never used).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.http.SetMeterProvider(mp) }
}

// WithTracerProvider makes each HTTP request a client span of tp named
// "brivo <operation>", a child of the span in the caller's context. Spans
// carry names, codes and IDs only, never a path, a body or a secret.
// Default: none (the global provider is never used).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.http.SetTracerProvider(tp) }
}

// WithClock sets the clock used for token expiry and the catalogue cache
// (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now == nil {
			o.invalid("WithClock: nil clock")
		}
		o.now = now
	}
}

// WithRules sets the grant validation rules.
func WithRules(r acs.Rules) Option { return func(o *options) { o.rules = r } }

// WithEvents tunes Events, the polling source of door events (see
// EventOptions).
func WithEvents(e EventOptions) Option {
	return func(o *options) {
		var err error
		if o.events, err = e.withDefaults(); err != nil {
			o.invalid("WithEvents: %w", err)
		}
	}
}

// WithCacheTTL sets how long the group and format catalogues are cached
// (default DefaultCacheTTL). An access level missing from the cache always
// triggers a fresh listing before it is refused.
func WithCacheTTL(d time.Duration) Option {
	return func(o *options) {
		if d <= 0 {
			o.invalid("WithCacheTTL: %s is not positive", d)
		}
		o.cacheTTL = d
	}
}

// WithDoorDirection marks a door (a Brivo access point ID) as an entry
// (acs.DirectionIn) or exit (acs.DirectionOut) reader. Brivo's event data
// has no direction, so door events carry the direction configured for their
// door, or acs.DirectionUnknown.
func WithDoorDirection(doorID string, d acs.Direction) Option {
	return func(o *options) {
		if _, err := parseID("new", "door ID", doorID); err != nil {
			o.invalid("WithDoorDirection: door ID %q is not a Brivo ID", truncate(doorID))
		}
		if d != acs.DirectionIn && d != acs.DirectionOut && d != acs.DirectionUnknown {
			o.invalid("WithDoorDirection: unknown direction %d", int(d))
		}
		if o.directions == nil {
			o.directions = map[string]acs.Direction{}
		}
		o.directions[doorID] = d
	}
}

// WithMobilePassLanguage sets the language of Brivo Mobile Pass invitation
// e-mails: en (default), fr, es, nl, de or sv.
func WithMobilePassLanguage(lang string) Option {
	return func(o *options) {
		switch lang {
		case "en", "fr", "es", "nl", "de", "sv":
		default:
			o.invalid("WithMobilePassLanguage: language %q is not one of en, fr, es, nl, de, sv", truncate(lang))
		}
		o.language = lang
	}
}

// Provider is the Brivo adapter. Create it with New.
type Provider struct {
	api          *acshttp.Client
	auth         *acshttp.Client
	cfg          Config
	basic        string // "Basic …" header value
	tokens       *tokenSource
	log          *slog.Logger
	now          func() time.Time
	rules        acs.Rules
	retryMax     int
	retryWaitMax time.Duration
	sleep        func(ctx context.Context, d time.Duration) error
	cat          catalog
	locks        acshttp.KeyedMutex
	language     string
	events       EventOptions
	directions   map[string]acs.Direction
	lookups      lookups
	insecureHTTP bool
	// invConcurrency and invPrefix tune Holdings (inventory.go).
	invConcurrency int
	invPrefix      string
	// concurrency is how many requests of one listing are in flight.
	concurrency int
	// hdr holds the values of the API requests' headers.
	hdr headerValues
	// observeHeld, when set, sees how many events a poll holds after each
	// page (tests check the bound).
	observeHeld func(n int)
	// jitter draws the event back-off's jitter; nil: random.
	jitter func() float64
}

var (
	_ acs.Provider         = (*Provider)(nil)
	_ acs.MobilePassIssuer = (*Provider)(nil)
)

// New validates the configuration and the options and returns a
// Provider. It makes no request: the first call logs in.
func New(cfg Config, opts ...Option) (*Provider, error) {
	fail := func(err error) (*Provider, error) { return nil, acs.Wrap("new", Name, acs.InvalidArgument, err) }
	o, err := newOptions(opts)
	if err != nil {
		return fail(err)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.AuthURL == "" {
		cfg.AuthURL = DefaultAuthURL
	}
	if err := checkConfig(cfg); err != nil {
		return fail(err)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.ClientID+":"+cfg.ClientSecret))
	api, auth, err := o.clients(cfg, basic)
	if err != nil {
		return fail(err)
	}
	retryMax, _, retryWaitMax := o.http.Retry()
	p := &Provider{
		api: api, auth: auth, cfg: cfg, basic: basic, log: o.http.Logger(), now: o.now, rules: o.rules,
		retryMax: retryMax, retryWaitMax: retryWaitMax, sleep: o.sleep, language: o.language,
		events: o.events, directions: maps.Clone(o.directions), insecureHTTP: o.http.InsecureHTTP(),
		invConcurrency: o.invConcurrency, invPrefix: o.invPrefix, jitter: o.jitter, concurrency: o.http.Concurrency(),
	}
	p.hdr.apiKey = []string{cfg.APIKey}
	p.cat.groups.TTL, p.cat.groups.Now = o.cacheTTL, o.now
	p.cat.formats.TTL, p.cat.formats.Now = o.cacheTTL, o.now
	p.lookups.init(o.cacheTTL)
	p.tokens = newTokenSource(p)
	return p, nil
}

// DefaultTimeout bounds each HTTP attempt unless WithTimeout says
// otherwise.
const DefaultTimeout = 30 * time.Second

// newOptions applies opts over the defaults and reports every value they
// were given that New cannot use.
func newOptions(opts []Option) (options, error) {
	o := options{http: acshttp.NewClientOptions(DefaultTimeout, DefaultRateLimit, DefaultRateLimit/2), now: time.Now,
		cacheTTL: DefaultCacheTTL, language: "en", sleep: acshttp.Sleep, invConcurrency: DefaultInventoryConcurrency}
	o.events, _ = EventOptions{}.withDefaults()
	for _, opt := range opts {
		opt(&o)
	}
	return o, errors.Join(append(o.errs, o.http.Err())...)
}

// checkConfig refuses a configuration with a missing credential, a
// control character in one, a client ID that cannot be sent in Basic
// credentials, or hosts that are not allowed or not in one region.
func checkConfig(cfg Config) error {
	for _, f := range [...]struct{ name, v string }{
		{"client ID", cfg.ClientID}, {"client secret", cfg.ClientSecret}, {"API key", cfg.APIKey},
		{"admin username", cfg.Username}, {"admin password", cfg.Password},
	} {
		if strings.TrimSpace(f.v) == "" {
			return fmt.Errorf("%s is required", f.name)
		}
		if strings.ContainsFunc(f.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return fmt.Errorf("%s contains a control character", f.name)
		}
	}
	if strings.Contains(cfg.ClientID, ":") {
		return errors.New("client ID must not contain ':'")
	}
	return nil
}

// clients returns the clients of the API and of the auth server: one HTTP
// client, one rate limit and one retry policy for both, and every secret
// of cfg redacted from what they report.
func (o *options) clients(cfg Config, basic string) (api, auth *acshttp.Client, err error) {
	apiURL, err := o.http.BaseURL(cfg.BaseURL)
	if err != nil {
		return nil, nil, fmt.Errorf("API base URL: %w", err)
	}
	authURL, err := o.http.BaseURL(cfg.AuthURL)
	if err != nil {
		return nil, nil, fmt.Errorf("auth URL: %w", err)
	}
	if err := sameRegion(apiURL, authURL); err != nil {
		return nil, nil, err
	}
	if err := checkHosts(apiURL, authURL); err != nil {
		return nil, nil, err
	}
	hc, err := o.http.HTTPClient()
	if err != nil {
		return nil, nil, err
	}
	secrets := []string{cfg.ClientSecret, cfg.APIKey, cfg.Password, strings.TrimPrefix(basic, "Basic ")}
	apiCfg := o.http.Config(Name, apiURL, hc, secrets...)
	apiCfg.Throttled = gatewayThrottled
	authCfg := apiCfg
	authCfg.BaseURL = authURL
	if api, err = acshttp.New(apiCfg); err != nil {
		return nil, nil, err
	}
	if auth, err = acshttp.New(authCfg); err != nil {
		return nil, nil, err
	}
	return api, auth, nil
}

// sameRegion refuses a US API host with the EU auth host and vice versa.
func sameRegion(api, auth *url.URL) error {
	region := func(host string) string {
		host = strings.ToLower(host)
		switch {
		case !strings.HasSuffix(host, ".brivo.com"):
			return ""
		case strings.Contains(host, ".eu."):
			return "EU"
		}
		return "US"
	}
	ra, rb := region(api.Hostname()), region(auth.Hostname())
	if ra != "" && rb != "" && ra != rb {
		return errors.New("API host " + api.Hostname() + " (" + ra + ") and auth host " + auth.Hostname() + " (" + rb + ") are in different regions")
	}
	return nil
}

// Name returns "brivo".
func (p *Provider) Name() string { return Name }
