package visitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/badge/qrcode"
)

// Location is one site: its access control system, its rules, and the card
// type used for card numbers from its range. Its badge pool and card-number
// range live in the Store under the location's ID (see Engine.Pool and
// Engine.Allocator).
type Location struct {
	// ID is the location key (see badge.ValidateLocation).
	ID string
	// Provider is the location's ACS.
	Provider acs.Provider
	// Policy is the location's rules.
	Policy Policy
	// CredentialType is the ACS credential type (acs.Grant.CredentialType) of
	// card numbers issued from the range for QR codes and mobile
	// credentials; empty means the ACS default.
	CredentialType string
	// QR is how Engine.QRCode renders the QR code of a card number issued
	// from the range: the payload format the location's QR readers expect
	// (see package qrcode) and the image size. The zero value is the
	// decimal card number.
	QR qrcode.Options
	// Owns, when set, tells Reconcile which marked cardholders at this
	// location's ACS belong to this VMS when the store does not know their
	// visit; Reconcile removes only those that open doors. Nil means every
	// cardholder the adapter lists as marked. Set it when the adapter's
	// marker is shared with other systems (an ID property employees also
	// carry, another VMS on the same ACS), for example by an ID prefix the
	// VMS gives its visits.
	Owns func(acs.Holding) bool
	// Enrolment names the location's enrolment reader, where blank cards
	// are captured for a visit (StartEnrolment); the zero value has none.
	Enrolment EnrolmentReader
}

// Watchlist screens visitors. The VMS implements it over its own lists or
// a screening service.
//
// A match at sign-in (or invitation) flags the visit: it may sign in but
// gets no credential, and the refusal is audited. A match found later is
// reported with Engine.ReportWatchlistMatch and removes the visitor.
type Watchlist interface {
	// Screen returns a match for the visit's visitor, or nil. An error
	// fails the sign-in or invitation closed: nothing is recorded but the
	// refusal.
	Screen(ctx context.Context, v Visit) (*WatchlistMatch, error)
}

// Engine runs visits: it applies each operation to the Store in one
// transaction together with the outbox items of the ACS operations it
// needs, then attempts those at once; what fails is retried by the outbox
// worker (RunOutboxOnce, Run) until the ACS confirms. It is safe for
// concurrent use, and several Engines (VMS replicas) may share one Store.
type Engine struct {
	store Store
	locs  map[string]*Location
	clock Clock
	watch Watchlist
	log   *slog.Logger
	newID func() string

	owner       string
	incarnation string // random, per Engine value: see leaseOwner
	claims      atomic.Uint64
	lease       time.Duration
	callTimeout time.Duration
	minBackoff  time.Duration
	maxBackoff  time.Duration
	batch       int
	workers     int
	interval    time.Duration
	retention   time.Duration
	// acsRetention: how long after a visit ends its cardholder is removed
	// at the ACS (0: never).
	acsRetention time.Duration
	// reconcileEvery: how often Run reconciles each location (0: never).
	reconcileEvery time.Duration

	mu         sync.Mutex
	reconciled map[string]time.Time // location → when this Engine last reconciled it (Run)

	stuckAttempts int
	stuckAge      time.Duration
	onStuck       func(StuckItem)

	unmatched UnmatchedDoorFunc
	cursors   CursorStore
	// sleep waits d or until ctx ends (the door consumer's backoff).
	sleep func(ctx context.Context, d time.Duration) error

	cycled func() // test hook: called after each cycle of Run

	// Telemetry (telemetry.go): the providers given, and the instruments.
	meters  metric.MeterProvider
	tracers trace.TracerProvider
	tel     telemetry

	pins pinConfig // PIN key material and generator (pin.go)
}

// Option configures an Engine.
type Option func(*Engine)

// WithClock sets the clock (default SystemClock).
func WithClock(c Clock) Option { return func(e *Engine) { e.clock = c } }

// WithWatchlist screens every invitation and sign-in (default: none).
func WithWatchlist(w Watchlist) Option { return func(e *Engine) { e.watch = w } }

// WithLogger sets the logger for outbox retries and background errors
// (default: discard).
func WithLogger(l *slog.Logger) Option { return func(e *Engine) { e.log = l } }

// WithOwner names this Engine in outbox and sweep leases, so that replicas
// sharing a Store tell their leases apart (default: a random UUID).
func WithOwner(name string) Option { return func(e *Engine) { e.owner = name } }

// WithIDs sets the generator of visit and outbox item IDs (default
// uuid.NewString). IDs must be unique and valid ACS external IDs.
func WithIDs(f func() string) Option { return func(e *Engine) { e.newID = f } }

// WithLease sets how long a claimed outbox item or due visit stays with
// this Engine before another may take it over (default 2 minutes), and the
// timeout of each ACS call (default 30 seconds). The lease must be at least
// twice the call timeout: one call and the recording of its outcome must
// fit in it. No call starts on an item with less than the call timeout of
// lease left, and RunOutboxOnce claims no more than its workers can finish
// within the lease (see ClaimLimit).
func WithLease(lease, callTimeout time.Duration) Option {
	return func(e *Engine) { e.lease, e.callTimeout = lease, callTimeout }
}

// WithBackoff sets the delay before the first retry of a failed ACS
// operation and the cap it doubles up to (defaults 2 seconds and 5
// minutes). A Retry-After from the ACS is honoured when longer.
func WithBackoff(min, max time.Duration) Option {
	return func(e *Engine) { e.minBackoff, e.maxBackoff = min, max }
}

// WithBatch sets how many outbox items or due visits are claimed at once
// (default 100) and how many outbox items are executed concurrently
// (default 4). Outbox claims are further capped by what the workers can
// finish within the lease (see ClaimLimit and WithLease): with the
// defaults, 4 workers × (2 minutes ÷ 30 seconds − 1) = 12 items.
func WithBatch(batch, workers int) Option {
	return func(e *Engine) { e.batch, e.workers = batch, workers }
}

// WithInterval sets how often Run sweeps and drains the outbox (default 10
// seconds).
func WithInterval(d time.Duration) Option { return func(e *Engine) { e.interval = d } }

// WithRetention makes Sweep scrub personal data from visits that ended, and
// audit records written, more than d ago (default 0: never).
func WithRetention(d time.Duration) Option { return func(e *Engine) { e.retention = d } }

// WithACSRetention makes Sweep remove each visit's cardholder at the ACS d
// after the visit ended (default 0: never), through the outbox like any
// other ACS operation: retried until the ACS confirms, after whatever the
// visit has queued already. This is the ACS's copy of the visitor's name
// and e-mail; WithRetention scrubs the VMS's own. Each adapter documents
// whether its ACS deletes the cardholder or keeps an anonymised record.
func WithACSRetention(d time.Duration) Option { return func(e *Engine) { e.acsRetention = d } }

// New returns an Engine over store for the given locations.
func New(store Store, locations []Location, opts ...Option) (*Engine, error) {
	if store == nil {
		return nil, errors.New("visitor: nil Store")
	}
	e := &Engine{
		store:       store,
		locs:        make(map[string]*Location, len(locations)),
		clock:       SystemClock(),
		log:         slog.New(slog.DiscardHandler),
		newID:       uuid.NewString,
		lease:       2 * time.Minute,
		callTimeout: 30 * time.Second,
		minBackoff:  2 * time.Second,
		maxBackoff:  5 * time.Minute,
		batch:       100,
		workers:     4,
		interval:    10 * time.Second,

		reconciled:    make(map[string]time.Time),
		stuckAttempts: 10,
		stuckAge:      time.Hour,
	}
	for _, o := range opts {
		o(e)
	}
	if e.cursors == nil {
		if cs, ok := store.(CursorStore); ok {
			e.cursors = cs
		} else {
			e.cursors = NewMemoryCursors()
		}
	}
	if e.sleep == nil {
		e.sleep = e.clockSleep
	}
	if e.owner == "" {
		e.owner = "engine-" + uuid.NewString()
	}
	e.incarnation = uuid.NewString()[:8]
	if err := e.checkOptions(); err != nil {
		return nil, err
	}
	if err := e.initTelemetry(); err != nil {
		return nil, fmt.Errorf("visitor: instruments: %w", err)
	}
	if err := e.addLocations(locations); err != nil {
		return nil, err
	}
	if err := e.checkPINs(); err != nil {
		return nil, err
	}
	return e, nil
}

// checkOptions refuses option combinations that cannot work, saying which
// rule they break.
func (e *Engine) checkOptions() error {
	switch {
	case e.clock == nil || e.log == nil || e.newID == nil:
		return errors.New("visitor: nil clock, logger or ID generator")
	case e.callTimeout <= 0 || e.lease < 2*e.callTimeout:
		return fmt.Errorf("visitor: the lease (%s) must be at least twice the ACS call timeout (%s), which must be positive: a claimed item needs one whole call and the time to record its outcome within its lease (WithLease)", e.lease, e.callTimeout)
	case e.minBackoff <= 0 || e.maxBackoff < e.minBackoff:
		return fmt.Errorf("visitor: invalid backoff %s–%s", e.minBackoff, e.maxBackoff)
	case e.batch <= 0 || e.workers <= 0:
		return fmt.Errorf("visitor: batch (%d) and workers (%d) must be positive", e.batch, e.workers)
	case e.interval <= 0 || e.retention < 0 || e.acsRetention < 0 || e.reconcileEvery < 0:
		return errors.New("visitor: the interval must be positive, the retentions and the reconcile interval not negative")
	case e.stuckAttempts <= 0 || e.stuckAge <= 0:
		return fmt.Errorf("visitor: stuck limits must be positive, got %d attempts and %s (WithStuck)", e.stuckAttempts, e.stuckAge)
	}
	return nil
}

// addLocations validates and indexes the Engine's locations.
func (e *Engine) addLocations(locations []Location) error {
	if len(locations) == 0 {
		return errors.New("visitor: no locations")
	}
	for i := range locations {
		l := locations[i]
		if err := badge.ValidateLocation(l.ID); err != nil {
			return fmt.Errorf("visitor: location %d: %w", i+1, err)
		}
		if l.Provider == nil {
			return fmt.Errorf("visitor: location %s has no provider", l.ID)
		}
		if _, dup := e.locs[l.ID]; dup {
			return fmt.Errorf("visitor: location %s is listed twice", l.ID)
		}
		if err := l.Policy.Validate(); err != nil {
			return fmt.Errorf("location %s: %w", l.ID, err)
		}
		if err := checkEmployeeSupport(&l); err != nil {
			return err
		}
		if err := l.Enrolment.validate(); err != nil {
			return fmt.Errorf("location %s: %w", l.ID, err)
		}
		if !l.QR.Payload.Valid() {
			return fmt.Errorf("visitor: location %s: unknown QR payload format %q", l.ID, l.QR.Payload)
		}
		e.locs[l.ID] = &l
	}
	return nil
}

// Store returns the Engine's store.
func (e *Engine) Store() Store { return e.store }

// Pool returns the badge pool of a configured location, over the Engine's
// store and clock: add badges, mark them found or retired, read history.
func (e *Engine) Pool(location string) (*badge.Pool, error) {
	if e.locs[location] == nil {
		return nil, fmt.Errorf("visitor: location %q is not configured", location)
	}
	return badge.NewPool(e.store.Badges(), location, badge.WithClock(e.clock.Now))
}

// Allocator returns the card-number range allocator of a configured
// location, over the Engine's store and clock: set the range, list
// allocations.
func (e *Engine) Allocator(location string) (*badge.Allocator, error) {
	if e.locs[location] == nil {
		return nil, fmt.Errorf("visitor: location %q is not configured", location)
	}
	return badge.NewAllocator(e.store.Cards(), location, badge.WithClock(e.clock.Now))
}

// Visit returns a visit.
func (e *Engine) Visit(ctx context.Context, id string) (Visit, error) {
	v, err := e.store.Visit(ctx, id)
	return v, storeErr("visit", err)
}

// Visits lists visits.
func (e *Engine) Visits(ctx context.Context, f VisitFilter) ([]Visit, error) {
	return e.store.Visits(ctx, f)
}

// Outbox returns the visit's ACS operations that await confirmation (all
// visits' when visitID is ""), oldest first.
func (e *Engine) Outbox(ctx context.Context, visitID string) ([]OutboxItem, error) {
	return e.store.Outbox(ctx, visitID, 0)
}

// Audit returns the audit records matching q.
func (e *Engine) Audit(ctx context.Context, q AuditQuery) ([]AuditRecord, error) {
	return e.store.Audit(ctx, q)
}

// ExportAudit writes the records matching q to w in format f, reading them
// from the store in pages (q.Limit caps the total as usual).
func (e *Engine) ExportAudit(ctx context.Context, w io.Writer, q AuditQuery, f Format) error {
	aw, err := NewAuditWriter(w, f)
	if err != nil {
		return err
	}
	const page = 1000
	total := q.Limit
	n := 0
	for {
		pq := q
		pq.Limit = page
		if total > 0 && total-n < page {
			pq.Limit = total - n
		}
		recs, err := e.store.Audit(ctx, pq)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := aw.Write(r); err != nil {
				return err
			}
		}
		n += len(recs)
		if len(recs) < pq.Limit || (total > 0 && n >= total) {
			break
		}
		q.AfterSeq = recs[len(recs)-1].Seq
	}
	return aw.Flush()
}

// storeErr classifies a store error for callers: unknown visits are
// NotFound, existing ones AlreadyExists; anything else passes through.
func storeErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound):
		return &acs.Error{Op: op, Code: acs.NotFound, Err: err}
	case errors.Is(err, ErrExists):
		return &acs.Error{Op: op, Code: acs.AlreadyExists, Err: err}
	}
	return err
}

// refusal is an error an operation refuses with: audited, classified.
func refusal(op string, code acs.Code, format string, args ...any) error {
	return acs.Errorf(op, "", code, format, args...)
}

// isRefusal reports whether err is a refusal to audit (a classified error
// that is not a cancellation or an outage of the store).
func isRefusal(err error) bool {
	var ae *acs.Error
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.Code {
	case acs.Canceled, acs.Unavailable, acs.Unknown:
		return false
	}
	return true
}

// badgeErr classifies an error of package badge.
func badgeErr(op string, err error) error {
	code := acs.Unknown
	switch {
	case errors.Is(err, badge.ErrInvalid), errors.Is(err, badge.ErrNoRange):
		code = acs.InvalidArgument
	case errors.Is(err, badge.ErrNotFound):
		code = acs.NotFound
	case errors.Is(err, badge.ErrNotAvailable), errors.Is(err, badge.ErrVisitHasBadge),
		errors.Is(err, badge.ErrRangeFull), errors.Is(err, badge.ErrInvalidTransition):
		code = acs.Conflict
	default:
		return err
	}
	return &acs.Error{Op: op, Code: code, Err: err}
}

func validateOperator(op string, o Operator) error {
	if o.ID == "" {
		return refusal(op, acs.InvalidArgument, "operator has no ID")
	}
	if err := acs.ValidateText("operator ID", o.ID, 128); err != nil {
		return acs.Wrap(op, "", acs.InvalidArgument, err)
	}
	return nil
}

func validateVisitor(op string, p Visitor, host string) error {
	if err := acs.ValidateNames(p.FirstName, p.LastName); err != nil {
		return acs.Wrap(op, "", acs.InvalidArgument, err)
	}
	for _, f := range [...]struct {
		name, v string
		max     int
	}{
		{"first name", p.FirstName, acs.MaxNameLen},
		{"last name", p.LastName, acs.MaxNameLen},
		{"company", p.Company, acs.MaxNameLen},
		{"email", p.Email, acs.MaxEmailLen},
		{"host", host, 200},
	} {
		if err := acs.ValidateText(f.name, f.v, f.max); err != nil {
			return acs.Wrap(op, "", acs.InvalidArgument, err)
		}
	}
	return nil
}

// leaseOwner returns a lease owner unique to one claim: the Engine's name,
// a random incarnation and a claim counter. It is the fencing token the
// store checks when an outcome is recorded, so no two claims share one:
// not two goroutines of this Engine, not two Engines configured with the
// same WithOwner name, not this Engine before and after a restart.
func (e *Engine) leaseOwner() string {
	return e.owner + "#" + e.incarnation + "." + strconv.FormatUint(e.claims.Add(1), 10)
}

// backoff returns the delay before attempt+1 of an item: doubling from
// minBackoff to maxBackoff, spread by up to ±20% by a hash of the item ID
// (deterministic, yet replicas' retries do not line up), and at least what
// the ACS asked for.
func (e *Engine) backoff(it *OutboxItem, err error) time.Duration {
	d := e.minBackoff
	for i := 1; i < it.Attempts && d < e.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, e.maxBackoff)
	var h uint32 = 2166136261
	for i := 0; i < len(it.ID); i++ {
		h = (h ^ uint32(it.ID[i])) * 16777619
	}
	h = (h ^ uint32(it.Attempts)) * 16777619
	d += time.Duration(int64(d) / 5 * (int64(h%2001) - 1000) / 1000)
	if ra, ok := acs.RetryAfterOf(err); ok && ra > d {
		d = ra
	}
	return d
}
