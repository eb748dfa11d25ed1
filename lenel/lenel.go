// Package lenel is an acs.Provider for LenelS2 OnGuard through its
// OpenAccess REST API (https://host:8080/api/access/onguard/openaccess).
// It provisions temporary visitor badges: a visitor record, a badge whose
// ID is the card number, and one access level assignment per access level,
// all bounded by the visit's window; and it revokes them the way OnGuard
// Front Desk signs a visitor out.
//
// # What it relies on
//
// The wire protocol follows the OpenAccess 7.5 specification (API
// version=1.0, which every public client sends) and what integrators' code
// and captured traffic show; it has been exercised against the simulator in
// package lenelsim, not against a live OnGuard server. Where the public record is uncertain,
// the adapter takes the confirmed path:
//
//   - Sessions: POST /authentication with the Application-Id header;
//     Application-Id and Session-Token on every later call; version=1.0 on
//     every call. The token is renewed shortly (at most 5 minutes) before
//     token_expiration_time; GET /keepalive is sent while idle (every 5
//     minutes by default); DELETE /authentication on Close. The answer to an
//     expired or unknown session is not documented, so any HTTP 401 other
//     than a licence refusal, or an error code naming the session or token,
//     makes the provider log in again once and resend; so does a 400 or
//     403 with an undocumented code when GET /keepalive with the same token
//     is refused too (the provider asks rather than guesses). Concurrent callers
//     share one session and one login. After a refused login (wrong
//     password, licence) no new login is tried for 30 seconds, doubling up
//     to 15 minutes (each wait less a random part of up to a quarter, so
//     that replicas refused together do not try again in step), so that
//     retries do not lock the account (OnGuard accounts may lock after
//     five failures); calls in between fail at
//     once with the same error. OnGuard's answer to a wrong password is
//     undocumented, so a refusal is a 401 or 403, or any answer in
//     OpenAccess's error shape other than a 404 or 405. A 404 or 405, an
//     answer that is not OpenAccess's (an HTML page) and a success without
//     a token make the provider ask GET /version, which needs no session:
//     when OpenAccess does not answer there either, the base URL is wrong,
//     the error is NotFound and names the expected path
//     (/api/access/onguard/openaccess), and no back-off starts. Close
//     during a login waits for it and logs the new session out.
//   - People: visitors are Lnl_Visitor records (Config.PersonType selects
//     Lnl_Cardholder instead). The caller's external ID is stored in the
//     SSNO property (Config.ExternalIDProperty selects another, for example
//     a user-defined field) and looked up with a filter on it.
//   - Badges: Lnl_Badge with PERSONID, TYPE (the grant's CredentialType,
//     else Config.BadgeTypeID, else the system default visitor badge type
//     from /settings/visit), ID (the card number, see BadgeIDFunc), STATUS
//     (the ID of the badge status named Config.ActiveStatus, looked up in
//     Lnl_BadgeStatus since the list is site-defined) and ACTIVATE /
//     DEACTIVATE (the grant's window). Each access level is an
//     Lnl_AccessLevelAssignment with the same window.
//   - Catalogues: the badge statuses, the default visitor badge type and
//     the access levels a grant names (checked with an Lnl_AccessLevel
//     lookup before anything is written) are read once however many
//     callers need them at the same moment, and trusted for 10 minutes; a
//     level, status or badge type the ACS then refuses (NotFound or
//     InvalidArgument) is read again by the next caller.
//   - Dates are sent as RFC 3339 in UTC with the offset written "+00:00"
//     (never "Z") and read in every form seen: with an offset or Z, with or
//     without fractional seconds, without an offset (read as UTC) and as a
//     date alone. OnGuard honours the time of day only when
//     activate_deactivate_dates_use_time is on in /settings/cardholder;
//     otherwise a badge stays valid until the end of its last day, and
//     Revoke is what ends it on time.
//   - Response property names are matched case-insensitively (OnGuard uses
//     a different casing per type). Create answers hold only the new key.
//   - Errors are {"error":{"code","message"}} bodies:
//     openaccess.general.invalidapplicationid (licence or Application-Id)
//     is PermissionDenied, openaccess.general.invalidrequestitem is
//     InvalidArgument, session errors are Unauthenticated, codes naming
//     "notfound" are NotFound; otherwise the HTTP status decides. Only the
//     first two codes were ever seen from OnGuard, so no decision that
//     matters rests on the others: see "Idempotency, revocation and badge
//     reuse".
//   - Filters: OpenAccess documents no escape for quotes in filter strings,
//     so filters only ever hold numeric keys and the external ID, which is
//     restricted to letters, digits, '-', '_' and '.'. Results are checked
//     again on the client for an exact (case-sensitive) match.
//
// # Idempotency, revocation and badge reuse
//
// Provision finds the visitor by external ID and the badge by its ID before
// creating anything, so repeating it after a lost answer creates nothing
// new. When creating a person, a badge or an access level assignment
// fails, the record is looked up before the error is believed: found (the
// answer was lost, or a replica made it meanwhile), Provision carries on
// with it. A
// badge ID that is active (status active and DEACTIVATE not passed) for
// another person is a Conflict. A badge ID whose record belongs to another
// person but is no longer active (returned, lost or expired) is a physical
// badge handed to the next visitor: its old record is deleted (with its
// assignments; the previous visitor record stays, and logged events are
// not touched) and a new one is created, because OnGuard keeps badge IDs
// unique and re-pointing the old record would move its audit trail to the
// new visitor.
//
// Revoke does what Front Desk does on sign-out: it sets the badge's status
// to Config.RevokedStatus (default "Returned") when it is active and moves
// DEACTIVATE to now when it lies later, keeping the record for audit.
// Config.DeleteAssignmentsOnRevoke also removes the badge's access level
// assignments. A reference whose BADGEKEY is gone but which names the
// external ID and the card is looked up by those too, since the card may
// have moved from a duplicate to the survivor. RemoveCardholder deletes
// the badges and then the record of the person with ref.ID and of every
// person with ref.ExternalID. Both succeed when the target is already gone.
//
// What OpenAccess answers a PUT or DELETE of a record that no longer
// exists is undocumented: a 400 invalidrequestitem, a 404, a 500 and even
// a success are all plausible, and lenelsim can give each
// (lenelsim.WithMissingAnswer). So no error code is read as "gone": after
// a failed change to a badge, an assignment or a person, the provider asks
// OnGuard whether the record still exists (GET /instances filtered on its
// numeric key). Absent, the change is moot and the call goes on; present,
// the original error is returned, a not-found code becoming Unknown (the
// record is there); when the lookup itself fails transiently, its
// retryable error is returned. Revoke and RemoveCardholder therefore never
// report their target as NotFound; a NotFound from them means that
// something else is missing (no OpenAccess API at the base URL).
//
// # Duplicates from replicas
//
// Nothing public says that OnGuard keeps the external ID property unique
// (a user-defined field would not be), and the adapter's per-key locks
// hold only within one process. So when several VMS replicas provision
// the same external ID at once (one replica's call still at a slow OnGuard
// when its lease passes to another), each may find no person and create
// one. Provision therefore converges, and every replica the same way:
//
//   - Right after creating a person it looks the external ID up again; of
//     two callers that both created one, the later to create sees both
//     records. When that lookup fails, the new record is deleted again
//     (unless a badge points at it already: a replica adopted it) and the
//     call fails: a call whose work passed to another replica is not
//     repeated, so it must not leave a duplicate behind.
//   - Whenever it finds, or after creating sees, more than one person whose
//     external ID property equals the grant's exactly, the survivor is the
//     one with the smallest ID (Lnl_Visitor or Lnl_Cardholder ID), a rule
//     every replica applies alike without talking to the others. Every
//     other record with that external ID is removed first, before the
//     survivor or a badge is changed, as RemoveCardholder does (its badges
//     first, with their assignments, then the person, checked gone); then
//     the survivor gets the grant's name fields, badge and assignments. A
//     badge record of the card held by such an extra is not a Conflict: it
//     goes with the extra, and the survivor gets the card. A second record
//     of the badge ID on the survivor itself goes too.
//   - Provisioned names the survivor and its badge, also to the replica
//     whose own record was removed.
//
// The later creator may be the call whose work passed to another replica,
// and that replica may have finished before the second record was made:
// then nobody else will see the duplicate. So the steps on which its
// removal depends are tried again after a failure, any error but a
// cancellation (a 500 too, which the HTTP client does not resend), as
// many times as WithRetry lets a request be sent again, with the same
// back-off: removing an extra, taking the new record back, and looking
// the external ID up after a create whose answer was lost.
//
// Any other failure part-way (a lookup that fails, a change refused)
// fails the call, and the next Provision for the external ID takes it up
// again from what OnGuard holds. Revoke and RemoveCardholder by external
// ID act on every record with that external ID, so duplicates that no
// Provision has cleaned up yet never make them fail or answer Conflict;
// Holdings lists each duplicate as a holding of its own, with its own
// cardholder ID.
//
// # The ACS's copy of visitor data
//
// RemoveCardholder deletes the person record at OnGuard (DELETE
// /instances, as integrators do for Lnl_Visitor and Lnl_Badge); nothing is
// kept or anonymised by the adapter. It then looks the record up and fails
// (Unknown) if OnGuard still holds it, so when RemoveCardholder succeeds no
// name, e-mail address, company or external ID of the visitor is left in
// an OnGuard person record. Two copies lie outside its reach: OnGuard's
// event log keeps the name it recorded with each door event (OpenAccess
// offers no way to erase logged events; the site's OnGuard retention
// settings govern them), and a badge record deleted to hand the physical
// badge to the next visitor leaves the previous person record in place
// until that person is removed in turn.
//
// Changes reach door controllers through OnGuard's download service, so
// expect a short lag after each call.
//
// # PINs
//
// Provider implements acs.PINIssuer with OnGuard's badge PIN
// (Lnl_Badge.PIN, listed among the badge's properties in the OpenAccess
// type schema; its type and whether it reads back are not in the public
// record): 4 to 9 digits, on a badge, so a PIN goes with a card
// (PINSupport.Standalone false; package visitor refuses a PIN-only
// request). ProvisionPIN looks the person and the badge of the grant's
// card up as Provision does and writes the PIN with one PUT; a visitor
// without that badge is a Conflict. The PIN opens what the badge opens
// (its status, window and access level assignments, set by Provision) at
// readers in a PIN mode ("card or PIN", or "card and PIN" with the card).
// RevokePIN writes an empty PIN to the badge (or, by external ID, to every
// badge of the person: a PIN is never read back, so none is skipped);
// revoking or deleting the badge ends its PIN too. The PIN is sent as a
// string, in that request's body only; generated PINs never start with 0,
// so an installation storing PINs as numbers loses nothing. Log records of
// the call are redacted (acshttp.WithPINs) and errors pass through
// acs.RedactPIN.
//
// # Inventory
//
// Provider implements acs.Inventory: Holdings lists the people whose
// Config.ExternalIDProperty holds a valid external ID (filter
// `PROPERTY != ""`, a plain SQL comparison of the kind integrators use),
// with their badges and access level assignments as OnGuard holds them
// now, in pages of 100 and filters that list up to about 80 IDs each (kept
// under IIS's default 2,048-byte query string), four requests at a time.
// Set WithCardFunc so that each listed credential names its card. With
// Config.PersonType Cardholder, use an ExternalIDProperty that only this
// SDK writes: employees' SSNO values would otherwise mark them.
//
// # Door events
//
// Provider implements acs.EventSource: Events polls GET /logged_events
// (the documented alternative to OnGuard's undocumented WebSocket event
// bridge) with a cursor of the last second read and the serial numbers
// already read in it, and delivers access decisions with the visitor's
// external ID, the door and, with WithCardFunc, the card. Its doc comment
// says what it relies on and where polling falls short. With WithCardFunc
// the Provider also implements acs.UnknownCardEvents (true): OnGuard logs
// the badge ID it read for an "Invalid Badge" too, so a card OnGuard does
// not know can be captured at a reader (tap to enrol,
// visitor.Engine.StartEnrolment); without it, events carry no card data.
//
// # Employee access
//
// Provider implements acs.EmployeeAccess, so that a VMS can make
// employees check in before their badge works (visitor.EmployeePolicy).
// An employee is an Lnl_Cardholder, named by its ID; by card it is the
// person holding the badge whose badge ID WithBadgeID computes from the
// card (an active badge preferred). OnGuard keeps no status on the
// cardholder, so the "toggle status" method toggles the status of the
// employee's badges: SetEmployeeEnabled moves every badge in
// Config.RevokedStatus to Config.ActiveStatus, or every active badge to
// Config.RevokedStatus (PUT /instances Lnl_Badge {BADGEKEY, STATUS}), and
// never touches a badge in another status (Lost, Terminated): employees
// start with their badges in Config.RevokedStatus. SetEmployeeLevels
// checks the levels (NotFound when one is missing, nothing changed), then
// adds or deletes only the missing or present Lnl_AccessLevelAssignment
// records of each active or revoked badge, without a window (the badge's
// applies). Each method reads the cardholder and its badges first (two
// requests, plus one per badge for assignments). OnGuard's answer to a
// change of a cardholder its directory synchronisation keeps is not
// public: a refusal whose message or code says read-only, synchronized,
// SCIM, LDAP, directory, managed by or cannot be modified is returned as
// acs.ReadOnly (PermissionDenied matching acs.ErrReadOnly).
package lenel

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
	"github.com/acsbridge/acsbridge/wiegand"
)

// Name is the provider name used in errors and logs.
const Name = "lenel"

// Person types.
const (
	Visitor    = "Lnl_Visitor"
	Cardholder = "Lnl_Cardholder"
)

// Defaults.
const (
	DefaultExternalIDProperty = "SSNO"
	DefaultActiveStatus       = "Active"
	DefaultRevokedStatus      = "Returned"
	DefaultKeepAlive          = 5 * time.Minute
	DefaultTimeout            = 45 * time.Second
)

// Config holds what is needed to reach an OnGuard server.
type Config struct {
	// BaseURL is the OpenAccess root, such as
	// https://onguard.example.com:8080/api/access/onguard/openaccess.
	BaseURL string
	// Username and Password of an OnGuard account allowed to view, add and
	// modify visitors (or cardholders) and badges, modify access level
	// assignments, and view badge types and access levels.
	Username string
	Password string
	// DirectoryID is optional: the directory of a directory account.
	DirectoryID string
	// ApplicationID is the licensed OpenAccess application ID.
	ApplicationID string

	// PersonType is Visitor (default) or Cardholder.
	PersonType string
	// ExternalIDProperty is the person property holding the caller's
	// external ID (default "SSNO").
	ExternalIDProperty string
	// BadgeTypeID is the badge type for grants without a CredentialType;
	// 0 means the system default visitor badge type (/settings/visit).
	BadgeTypeID int64
	// ActiveStatus and RevokedStatus name the badge statuses for a live
	// badge (default "Active") and a returned one (default "Returned").
	ActiveStatus  string
	RevokedStatus string
	// DeleteAssignmentsOnRevoke makes Revoke also delete the badge's access
	// level assignments.
	DeleteAssignmentsOnRevoke bool
}

// TLSOptions select how the server's certificate is checked (see
// acshttp.TLSOptions).
type TLSOptions = acshttp.TLSOptions

// BadgeIDFunc maps a card to the OnGuard badge ID (Lnl_Badge.ID). It must
// give different IDs to the different cards a site uses and return an ID
// from 1 to 2^63−1.
type BadgeIDFunc func(acs.Card) (int64, error)

// BadgeIDNumber uses the card number as the badge ID (the default). The
// facility code is then a property of the site's OnGuard card format,
// not of the badge.
func BadgeIDNumber(c acs.Card) (int64, error) {
	if c.Number == 0 || c.Number > math.MaxInt64 {
		return 0, fmt.Errorf("card number %d cannot be an OnGuard badge ID", c.Number)
	}
	return int64(c.Number), nil
}

// BadgeIDConcatenated uses the facility code followed by the card number
// zero-padded to pad digits (facility 42, card 1001, pad 5 → 4201001).
func BadgeIDConcatenated(pad int) BadgeIDFunc {
	return func(c acs.Card) (int64, error) {
		s, err := wiegand.Concatenated(c.Facility, c.Number, pad)
		if err != nil {
			return 0, err
		}
		var n int64
		for i := 0; i < len(s); i++ {
			if n > (math.MaxInt64-int64(s[i]-'0'))/10 {
				return 0, fmt.Errorf("badge ID %s is too large", s)
			}
			n = n*10 + int64(s[i]-'0')
		}
		if n == 0 {
			return 0, errors.New("badge ID 0 is not allowed")
		}
		return n, nil
	}
}

// CardFunc maps a badge ID read from OnGuard's event log back to the card
// it was made from: the inverse of the provider's BadgeIDFunc. ok is false
// when the badge ID is not a card of the site's layout.
type CardFunc func(badgeID int64) (c acs.Card, ok bool)

// CardNumber is the inverse of BadgeIDNumber for a site whose cards share
// one format and facility code: badge ID n is the card format
// facility/n. BadgeIDNumber drops the facility code, so it cannot be read
// back from the badge ID; it is the one given here.
func CardNumber(format acs.CardFormat, facility uint64) CardFunc {
	return func(id int64) (acs.Card, bool) {
		if id <= 0 {
			return acs.Card{}, false
		}
		c := acs.Card{Format: format, Facility: facility, Number: uint64(id)}
		return c, acs.ValidateCard(c) == nil
	}
}

// CardConcatenated is the inverse of BadgeIDConcatenated(pad): the last
// pad digits of the badge ID are the card number and the digits before
// them the facility code (4201001 with pad 5 is facility 42, card 1001).
func CardConcatenated(format acs.CardFormat, pad int) CardFunc {
	var div uint64 = 1
	for range max(pad, 0) {
		if div > math.MaxInt64/10 {
			break
		}
		div *= 10
	}
	return func(id int64) (acs.Card, bool) {
		if id <= 0 || pad <= 0 {
			return acs.Card{}, false
		}
		c := acs.Card{Format: format, Facility: uint64(id) / div, Number: uint64(id) % div}
		return c, acs.ValidateCard(c) == nil
	}
}

// checkCardFunc refuses a CardFunc that does not invert the BadgeIDFunc on
// a few sample badge IDs, so that events never report a card other than
// the one provisioned.
func checkCardFunc(badgeID BadgeIDFunc, cardOf CardFunc) error {
	if cardOf == nil {
		return nil
	}
	for _, id := range []int64{1, 1001, 12345, 4201001, 99999999} {
		c, ok := cardOf(id)
		if !ok {
			continue
		}
		back, err := badgeID(c)
		if err != nil || back != id {
			return fmt.Errorf("the card function does not invert the badge ID function: badge ID %d reads as card %s, which becomes badge ID %d", id, c, back)
		}
	}
	return nil
}

type options struct {
	http           acshttp.ClientOptions
	now            func() time.Time
	rules          acs.Rules
	keepAlive      time.Duration
	keepAliveTicks <-chan time.Time // tests step the keepalive loop
	badgeID        BadgeIDFunc
	cardOf         CardFunc
	events         eventSettings
	errs           []error
}

// Option configures a Provider. New reports every option given a value
// it cannot use, as an InvalidArgument error naming the option.
type Option func(*options)

func (o *options) invalid(format string, args ...any) {
	o.errs = append(o.errs, fmt.Errorf(format, args...))
}

// WithHTTPClient sends requests through c (its Transport is wrapped,
// never modified). It excludes WithTLS and WithTimeout: configure those
// on c.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.http.SetHTTPClient(c) } }

// WithTLS sets how the server's certificate is checked (default: the
// system roots, TLS 1.2 or later).
func WithTLS(t TLSOptions) Option { return func(o *options) { o.http.SetTLS(t) } }

// WithTimeout bounds each HTTP attempt (default DefaultTimeout; OnGuard
// itself gives up after 30 s; contexts still apply).
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
// answer; a rate of 0 turns the limiter off (the default:
// OpenAccess documents no rate limit).
func WithRateLimit(perSecond float64, burst int) Option {
	return func(o *options) { o.http.SetRateLimit(perSecond, burst) }
}

// WithRetry sets how many times idempotent requests are sent again after
// a transport failure, a 429 or a 502–504 (retries ≤ 0: never; default 3)
// and the bounds of the backoff between attempts (0 keeps the defaults,
// 200 ms and 10 s). It also bounds how often Provision tries again to
// remove a duplicate person after any failure (see "Duplicates from
// replicas" in the package doc).
func WithRetry(retries int, waitMin, waitMax time.Duration) Option {
	return func(o *options) { o.http.SetRetry(retries, waitMin, waitMax) }
}

// WithAllowInsecureHTTP permits plain http to a host that is not
// loopback.
func WithAllowInsecureHTTP() Option { return func(o *options) { o.http.AllowInsecureHTTP() } }

// WithLogger sets the logger (default: none). Requests are logged at debug
// level, without secrets.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.http.SetLogger(l) } }

// WithMeterProvider records the HTTP request metrics of package acshttp
// (request duration, errors by acs code, over-limit answers; see its
// documentation) on mp, with acs.provider "lenel". Default: none (nothing is
// recorded; the global provider is never used).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.http.SetMeterProvider(mp) }
}

// WithTracerProvider makes each HTTP request a client span of tp named
// "lenel <operation>", a child of the span in the caller's context. Spans
// carry names, codes and IDs only, never a path, a body or a secret.
// Default: none (the global provider is never used).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.http.SetTracerProvider(tp) }
}

// WithClock sets the clock used for badge windows on revoke, badge
// activity and session renewal (default time.Now).
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

// WithKeepAlive sets how often the background loop checks the session:
// it sends GET /keepalive when no request went out for that long, and logs
// in again when the token is about to expire. 0 turns the loop off
// (sessions are then renewed only when a call needs one).
func WithKeepAlive(interval time.Duration) Option {
	return func(o *options) {
		if interval < 0 {
			o.invalid("WithKeepAlive: negative interval %s", interval)
		}
		o.keepAlive = interval
	}
}

// WithBadgeID sets how a card becomes a badge ID (default BadgeIDNumber).
// Use WithCardFunc with its inverse so that door events carry cards.
func WithBadgeID(f BadgeIDFunc) Option {
	return func(o *options) {
		if f == nil {
			o.invalid("WithBadgeID: nil function")
		}
		o.badgeID = f
	}
}

// WithCardFunc sets how a badge ID in a door event becomes the card it was
// made from: the inverse of the BadgeIDFunc, such as CardNumber(acs.H10301,
// 42) for the default BadgeIDNumber at a site whose cards are H10301 with
// facility code 42. Without it door events carry no card data, since a
// badge ID alone does not name a format or, by default, a facility. New
// refuses a function that does not invert the BadgeIDFunc, and Provision
// then refuses a card that would not read back as itself (a card of
// another facility, say) before any network call.
func WithCardFunc(f CardFunc) Option {
	return func(o *options) {
		if f == nil {
			o.invalid("WithCardFunc: nil function")
		}
		o.cardOf = f
	}
}

// Provider is the OnGuard adapter. It is safe for concurrent use. Call
// Close when done, to stop the keepalive loop and log out.
type Provider struct {
	cfg     Config
	hc      *acshttp.Client
	log     *slog.Logger
	now     func() time.Time
	rules   acs.Rules
	badgeID BadgeIDFunc
	cardOf  CardFunc // nil: events carry no card data
	ev      eventSettings
	// concurrency is how many requests of one listing are in flight.
	concurrency int
	// appID is the Application-Id header's value (never modified).
	appID []string
	// hdrs are the headers of the session last used (see headers).
	hdrs atomic.Pointer[sessionHeaders]

	keepAliveEvery time.Duration
	ticks          <-chan time.Time
	onTick         func() // test hook, set before the first call

	// sess is the session every call shares, and its single login.
	sess acshttp.SharedLogin[session]

	// Session bookkeeping, guarded by smu.
	smu          sync.Mutex
	gen          uint64          // generation of the last session logged in
	loginErr     error           // the last refused login
	loginAt      time.Time       // no new login before this time after a refusal
	loginBackoff acshttp.Backoff // the wait after refused logins
	lastUsed     time.Time
	closed       bool
	loopStarted  bool
	stop         chan struct{}
	loopDone     sync.WaitGroup
	closeOnce    sync.Once
	closeErr     error

	locks acshttp.KeyedMutex

	// The retry policy (WithRetry), which also bounds how often the removal
	// of a duplicate person is tried (see persist).
	retries                    int
	retryWaitMin, retryWaitMax time.Duration

	// Catalogues, each loaded once for all callers and kept for
	// cacheTTL: the badge statuses, the default visitor badge type
	// (/settings/visit), and the access levels confirmed to exist.
	statuses  acshttp.Catalog[statusIDs]
	badgeType acshttp.Catalog[int64]
	levels    acshttp.Checked[int64]

	// Door event lookups (events.go), guarded by emu.
	emu     sync.Mutex
	people  map[int64]personEntry // cardholder_key → external ID
	readers readerCache
}

var (
	_ acs.Provider    = (*Provider)(nil)
	_ acs.Closer      = (*Provider)(nil)
	_ acs.EventSource = (*Provider)(nil)
)

// New validates cfg and the options and returns a Provider. It makes no
// network call.
func New(cfg Config, opts ...Option) (*Provider, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, acs.Wrap("new", Name, acs.InvalidArgument, err)
	}
	if err := checkConfig(&cfg); err != nil {
		return nil, acs.Wrap("new", Name, acs.InvalidArgument, err)
	}
	base, err := o.http.BaseURL(cfg.BaseURL)
	if err != nil {
		return nil, acs.Wrap("new", Name, acs.InvalidArgument, err)
	}
	hc, err := o.http.HTTPClient()
	if err != nil {
		return nil, acs.Wrap("new", Name, acs.InvalidArgument, err)
	}
	apiCfg := o.http.Config(Name, base, hc, cfg.Password, cfg.ApplicationID)
	apiCfg.ResendThrottled = true // a 429 (from a gateway: OpenAccess documents none) means nothing was done
	client, err := acshttp.New(apiCfg)
	if err != nil {
		return nil, acs.Wrap("new", Name, acs.InvalidArgument, err)
	}
	p := &Provider{
		cfg:            cfg,
		hc:             client,
		log:            o.http.Logger(),
		now:            o.now,
		rules:          o.rules,
		badgeID:        o.badgeID,
		cardOf:         o.cardOf,
		ev:             o.events,
		concurrency:    o.http.Concurrency(),
		appID:          []string{cfg.ApplicationID},
		keepAliveEvery: o.keepAlive,
		ticks:          o.keepAliveTicks,
		stop:           make(chan struct{}),
		loginBackoff:   acshttp.Backoff{Min: minLoginBackoff, Max: maxLoginBackoff},
	}
	p.retries, p.retryWaitMin, p.retryWaitMax = o.http.Retry()
	p.statuses.TTL, p.statuses.Now = cacheTTL, o.now
	p.badgeType.TTL, p.badgeType.Now = cacheTTL, o.now
	p.levels.TTL, p.levels.Now = cacheTTL, o.now
	p.sess.Usable = func(s session) bool { return p.now().Before(s.renewAt) }
	return p, nil
}

// newOptions applies opts over the defaults and reports every value they
// were given that New cannot use, and a card function that does not
// invert the badge ID function.
func newOptions(opts []Option) (options, error) {
	o := options{http: acshttp.NewClientOptions(DefaultTimeout, 0, 0), now: time.Now, keepAlive: DefaultKeepAlive,
		badgeID: BadgeIDNumber, events: defaultEventSettings()}
	for _, opt := range opts {
		opt(&o)
	}
	if err := errors.Join(append(o.errs, o.http.Err())...); err != nil {
		return o, err
	}
	return o, checkCardFunc(o.badgeID, o.cardOf)
}

func checkConfig(c *Config) error {
	switch {
	case c.Username == "":
		return errors.New("username is empty")
	case c.Password == "":
		return errors.New("password is empty")
	case c.ApplicationID == "":
		return errors.New("application ID is empty")
	}
	for _, f := range []struct{ name, v string }{
		{"username", c.Username}, {"application ID", c.ApplicationID}, {"directory ID", c.DirectoryID},
	} {
		for i := 0; i < len(f.v); i++ {
			if f.v[i] < 0x20 || f.v[i] == 0x7f {
				return fmt.Errorf("%s holds a control character", f.name)
			}
		}
	}
	if strings.ContainsAny(c.ApplicationID, " \t") || len(c.ApplicationID) > 256 {
		return errors.New("application ID must be at most 256 characters without spaces")
	}
	switch {
	case c.PersonType == "":
		c.PersonType = Visitor
	case strings.EqualFold(c.PersonType, Visitor):
		c.PersonType = Visitor
	case strings.EqualFold(c.PersonType, Cardholder):
		c.PersonType = Cardholder
	default:
		return fmt.Errorf("person type %q is neither %s nor %s", c.PersonType, Visitor, Cardholder)
	}
	if c.ExternalIDProperty == "" {
		c.ExternalIDProperty = DefaultExternalIDProperty
	}
	if !validProperty(c.ExternalIDProperty) {
		return fmt.Errorf("external ID property %q is not a property name (a letter, then letters, digits or '_')", c.ExternalIDProperty)
	}
	c.ExternalIDProperty = strings.ToUpper(c.ExternalIDProperty)
	if c.BadgeTypeID < 0 {
		return fmt.Errorf("badge type ID %d is negative", c.BadgeTypeID)
	}
	if c.ActiveStatus == "" {
		c.ActiveStatus = DefaultActiveStatus
	}
	if c.RevokedStatus == "" {
		c.RevokedStatus = DefaultRevokedStatus
	}
	if strings.EqualFold(c.ActiveStatus, c.RevokedStatus) {
		return errors.New("active and revoked badge statuses must differ")
	}
	return nil
}

// Name returns "lenel".
func (p *Provider) Name() string { return Name }

// redact removes the password and the current session token from s.
func (p *Provider) redact(s string) string {
	held, _ := p.sess.Held()
	return p.hc.Redact(s, held.token)
}
