// Package visitor is the visit lifecycle a visitor management system (VMS)
// calls: sign-in, badge provisioning, badge return, sign-out, expiry and
// security removal, with per-location policy, operator permissions, a
// watchlist hook, an audit trail, and a durable outbox that makes sure no
// credential stays live after its visit.
//
// # Locations
//
// An Engine serves one or more locations. Each has its own ACS
// (an acs.Provider), badge pool and card-number range (kept in the Store,
// managed with Engine.Pool and Engine.Allocator) and Policy: visitor types
// with default access levels, access duration, advance access and
// forbidden levels, and what reaches the ACS (VisitorType.InvitedOnly:
// walk-ins get no ACS record; VisitorType.SignOut: sign-out revokes the
// credential or removes the cardholder at once); which access levels each operator user group may
// grant; who may remove visitors; when visits are signed out
// automatically.
//
// # States
//
//	Invited ──window opens──▶ Expected ──SignIn──▶ SignedIn ──SignOut──▶ SignedOut
//	   └───────────── SignIn ──────────────────────▲
//	Invited, Expected ──window ends (Sweep)──▶ Expired
//	Invited, Expected, SignedIn ──Remove, ReportWatchlistMatch──▶ Removed
//
// Within a visit, each credential goes Pending (queued) → Active (the ACS
// confirmed) → Revoking (return, sign-out, expiry, removal queued) →
// Revoked (the ACS confirmed), or Failed when the ACS refused it. "Badge
// provisioned" is a visit with a Pending or Active credential; "badge
// returned" is a signed-in visit whose last credential is Revoking or
// Revoked. Every visit is its own cardholder at the ACS, keyed by the visit
// ID, so nothing carries over from an earlier visit: each sign-in needs
// its own provisioning.
//
// # Operations
//
// Invite pre-registers; SignIn signs in an invited visit or a walk-in;
// Provision hands out a scanned badge, the next available one, or a card
// number from the range (QR code, mobile credential) with access levels the
// operator may grant; ProvisionPIN issues a PIN code with a card or
// instead of one (see PIN codes); QRCode renders the QR code of that number (PNG, SVG,
// in the payload format of the location's readers: Location.QR) for the
// VMS to mail or print; ReturnBadge revokes the credential and returns the
// badge while the visitor stays; ReportBadgeLost takes a badge out of
// circulation; SignOut ends the visit (kiosk, desk, automatic); Remove and
// ReportWatchlistMatch end it at once on security's word. Sweep signs
// visits out automatically, opens and closes access windows and revokes
// credentials whose window ended. Refusals change nothing, are audited, and
// are *acs.Error values: errors.Is(err, acs.ErrPermissionDenied),
// acs.ErrConflict, acs.ErrInvalidArgument, acs.ErrNotFound.
//
// # Guarantees
//
// Every state change that needs the ACS is written to the Store together
// with an outbox item, in one transaction, before the ACS is called. The
// Engine then attempts the item at once; if the ACS is down or the
// response is lost, the outbox worker (RunOutboxOnce, Run) retries with
// backoff until the ACS confirms, including after a restart and on another
// replica: items are claimed with leases. Consequently:
//
//   - A sign-in succeeds when the ACS is unreachable; its provisioning is
//     queued and visible as pending (Visit.Pending, Engine.Outbox).
//   - The operations of one visit run one at a time, in order, so a
//     revocation always wins over a provision queued before it. A queued
//     provision that nobody is executing is cancelled when the visit ends;
//     one that was attempted (its response may have been lost) is followed
//     by a revocation by cardholder external ID and card.
//   - A badge goes back to the pool, and a card number to the range, only
//     once the ACS has confirmed the revocation, so the next visitor never
//     receives a badge that still opens doors.
//   - Revocations are retried until confirmed; a provision is retried until
//     its credential's window ends.
//   - Every credential is issued with a validity window at the ACS (the
//     visitor type's access duration, no later than the automatic
//     sign-out), so access ends even if the VMS is gone.
//
// # PIN codes
//
// Where a location's policy enables them (Policy.PIN, the "PIN code
// credentials" check-box) and its ACS has keypad credentials
// (acs.PINIssuer), ProvisionPIN issues a PIN with the card (PINWithCard)
// or instead of it (PINOnly). The PIN is its own credential of the visit
// (Source FromPIN) with the card's levels and window; a PIN issued with a
// card follows it: the card stays Current, and returning it, signing out,
// expiry and removal revoke the PIN too, through the outbox like every ACS
// operation (retried until confirmed; a revocation wins over a provision
// still queued). PINs are generated from crypto/rand by the policy's
// length, never trivial (see ProvisionPIN), and unique among the live PINs
// of the location.
//
// Where each adapter keeps the PIN (acs.PINSupport says the lengths; all
// but lenel issue a PIN without a card):
//
//	genetec  keypad credential of the cardholder   4–12 digits, card optional
//	lenel    badge PIN on the visitor's badge      4–9 digits, with a card only
//	brivo    the user's PIN                        4–8 digits, card optional
//	alta     pincode credential of the user        4–8 digits, card optional
//	verkada  the access user's entry code          4–8 digits, card optional
//	netbox   the person's PIN field                4–8 digits, card optional
//
// The PIN leaves the Engine once, in ProvisionPIN's result. It is never
// logged, audited (records say "PIN" where a card would be) or stored in
// clear; errors from the ACS are passed through acs.RedactPIN. The store
// keeps:
//
//   - its tag, an HMAC-SHA-256 of location and PIN under a key derived
//     from WithPINKey, on the credential and in the store's PIN tags
//     (PINTx) while the PIN is live: enough to refuse a second live PIN
//     with the same digits and to free it after revocation, nothing to
//     read it back from;
//   - while its provision waits in the outbox, a sealed copy (AES-256-GCM
//     under another derived key, bound to the visit, location and
//     credential), deleted with the outbox item once the ACS confirms.
//
// The threat model: whoever reads the database (a leaked backup, a
// replica, an injection) learns no PIN, since a six-digit PIN space is
// searched in milliseconds only with the key, which the VMS keeps outside
// the database (a secrets manager). Whoever holds both the key and the
// database can recover the live PINs, as they could operate the VMS; the
// ACS keeps PINs in its own way. The choice of sealing over "generate a new
// PIN after a crash": the visitor already holds the PIN when the ACS is
// down or the process dies before the ACS confirms; a sealed copy lets any
// Engine with the key (a restart, another replica) send the same PIN, so
// it works once the ACS is back. An Engine without the key that sealed it
// cannot open it: the provision is retried as Unavailable (another replica
// may hold the key) until the PIN's window ends, then given up and
// revoked to be sure. WithPINKey takes older keys for rotation. Reconcile
// neither repairs nor re-sends PINs: a PIN lives no longer than its window
// at the ACS.
//
// # Replicas, stuck work and reconciliation
//
// Several Engines may share one Store. An outbox claim is fenced: no
// Engine claims more than its workers can finish within the lease
// (ClaimLimit), no ACS call starts on an item with less than the call
// timeout of lease left, and each claim has its own lease owner, checked
// when the outcome is recorded. An outcome that arrives after the lease
// was lost anyway (a paused process, a provider that ignores its context)
// is not dropped: a provision that reached the ACS for a credential no
// longer wanted is revoked again (ActLateOutcome). New refuses a lease
// shorter than two calls.
//
// An item that keeps failing is stuck (WithStuck: after 10 attempts or an
// hour by default, or at once when the ACS refuses a revocation for good):
// each further failure is audited (ActStuck, Outcome Escalated) and handed
// to the WithStuck handler, Engine.Stuck lists the stuck items, and the
// item is still retried, since a revocation is never given up. The door
// event consumer stops on a permanent refusal of the stream instead of
// retrying it.
//
// Reconcile compares what a location's ACS holds (acs.Inventory) with the
// Store and repairs the differences, whatever their cause: credentials
// live at the ACS for no active visit credential are revoked, active
// credentials the ACS lost or holds with other levels or another window
// are provisioned again, and cardholders of visits the Store does not know
// that open doors are removed; each finding is audited (ActReconcile).
// WithReconcile makes Run do it periodically.
//
// # Door events and mustering
//
// Where a location's provider implements acs.EventSource, RunDoorEvents
// consumes its door events and RecordDoorEvent links each to a visit: by
// the event's cardholder external ID (the visit ID), or else by its card
// data among the location's pool badges (the visit holding the badge at
// the event's time, or its last holder within
// DoorPolicy.LinkAfterRelease) and the numbers its range issued. A linked
// event updates Visit.Doors (the last door seen, the last that opened) and
// becomes an ActDoor audit record carrying the door, so each visit's door
// timeline is in its audit trail (DoorTimeline, AuditQuery). With
// DoorPolicy.MarkArrival, the first granted entry of an invited or
// expected visit signs it in. Events that match no visit go to the
// WithUnmatchedDoorEvents handler, where a VMS checks employees in by
// badge swipe.
//
// The consumer handles each event inside the provider's callback (no
// queue: a slow store slows the stream) and then saves its cursor in a
// CursorStore: WithCursorStore, or the Store itself when it implements
// CursorStore (MemoryStore does), or memory. After a failure or a restart
// it resumes from the saved cursor; an event delivered again changes
// nothing, since each visit remembers its latest events
// (DoorActivity.Recent).
//
// Muster reports who may be inside a location now: signed-in visits whose
// last door that opened was not an exit (MusterInside) or that no door has
// opened for yet (MusterUnseen), signed-in visits that left through an
// exit (MusterLeft), and invited or expected visits that badged in without
// signing in; each with where it was last seen. MusterReport.WriteJSON and
// WriteCSV export it.
//
// # Employees: check-in required for access
//
// A location whose Policy.Employees names a method makes employees check
// in before their existing badge works (the ACS's provider must implement
// acs.EmployeeAccess: genetec, lenel, brivo, alta, verkada, netbox and
// acstest.Memory do).
// CheckInEmployee (by the ACS's cardholder ID or a card the employee holds)
// enables the badge for EmployeePolicy.AccessDuration, either by toggling
// the cardholder's status (EmployeeToggleStatus: the cardholder starts
// disabled at the ACS) or by adding it to the configured access levels
// (EmployeeToggleLevels). When the duration ends (or at
// CheckOutEmployee) the sweeper queues the disable, which the outbox
// retries until the ACS confirms, as it does a visitor's revocation: across
// restarts, on another replica, through outages; a queued enable nobody is
// executing is cancelled, so a disable always wins. An employee a directory
// manages read-only at the ACS (SCIM) is refused clearly: the check-in
// returns an error matching acs.ErrReadOnly and the record says Failed.
// With EmployeePolicy.CheckInDoors, RunDoorEvents checks employees in by
// badge swipe at those doors: the first swipe of the disabled badge is
// refused, its event checks the employee in, the next swipe opens.
//
// Each employee has one check-in record per location, a Visit of type
// EmployeeType with Visit.Employee set (EmployeeRecordID, EmployeeRecord),
// signed in at every check-in and signed out at the end, so that the
// employee's enables and disables share one outbox queue and run in
// order. The audit trail records each check-in, end and ACS attempt on it;
// Muster and the operations of visits leave it alone.
//
// # Tap to enrol
//
// For blank, unnumbered cards, a location names an enrolment reader
// (Location.Enrolment: a desk reader opening no door). StartEnrolment
// makes it wait, for one visit at a time and up to a timeout (two minutes
// by default), for the next card presented there: the ACS refuses the
// blank card, and the refused door event, carrying the card's data, is
// captured by RecordDoorEvent (so RunDoorEvents must run) and provisioned
// for the visit like a pool badge (Credential.Source FromTap). The outcome
// is on the visit (Visit.Enrolment: captured, card held by someone else,
// timed out, cancelled) and in its audit trail (ActEnrolStart,
// ActEnrolCapture, ActEnrolEnd): a pool badge, a number of the range,
// another visit's card, or a card the ACS holds for another cardholder is
// refused as held; no card in time ends the enrolment when the sweeper
// next runs. It needs an ACS whose door events carry the data of unknown
// cards (acs.UnknownCardEvents): brivo (eventData.unknownWeigand), lenel
// with WithCardFunc (the badge ID OnGuard logs for an invalid badge),
// verkada (event_info.rawCard) and acstest.Memory; genetec, alta and
// netbox report no unknown card, and StartEnrolment refuses them as
// Unsupported.
//
// # Audit and retention
//
// Every transition, ACS attempt and refusal is an AuditRecord (who, what,
// when, badge, card, access levels, outcome, error), queryable per visit,
// per badge and per time range, and exportable as JSON lines or CSV
// (ExportAudit). Scrub (or WithRetention) erases personal data older than
// the retention period and keeps the anonymised records. WithACSRetention
// removes each visit's cardholder (name, e-mail) at the ACS a set time
// after the visit ended, through the outbox; each adapter documents
// whether its ACS deletes the record or keeps an anonymised one.
//
// # Storage and time
//
// The Store interface is shaped for database/sql (one transaction per
// call, leases for work sharing among replicas); MemoryStore implements it
// in memory and package storetest checks implementations. The clock is
// injected (WithClock, ManualClock), so tests drive expiry, backoff and the
// sweeper with explicit calls and never sleep.
//
// # Metrics and traces
//
// Through the OpenTelemetry API only; the application picks the SDK and
// passes its providers with WithMeterProvider and WithTracerProvider.
// Without them nothing is recorded and no global provider is used. The
// instruments, of meter ScopeName:
//
//	acsbridge.outbox.depth                  gauge, {item}          ACS operations waiting in the outbox for the
//	                                                               ACS's confirmation; attributes
//	                                                               acsbridge.location, acs.operation (provision,
//	                                                               reprovision, revoke, remove_cardholder), each
//	                                                               reported, 0 when none waits
//	acsbridge.outbox.oldest_revocation.age  gauge, s               age of the oldest revocation waiting, by
//	                                                               acsbridge.location; 0 when none waits
//	acsbridge.acs.operations                counter, {operation}   outbox ACS calls whose outcome was recorded:
//	                                                               acsbridge.location, acs.provider,
//	                                                               acs.operation, acsbridge.outcome (ok; retry:
//	                                                               failed, tried again; failed: given up, a
//	                                                               provision refused for good or out of its
//	                                                               window; skipped: no longer wanted) and, when
//	                                                               it failed, acs.code
//	acsbridge.reconcile.findings            counter, {finding}     what Reconcile found: acsbridge.location,
//	                                                               acsbridge.finding (orphan, repair, failed)
//
// The gauges are read from the Store when the application's reader
// collects (one Outbox listing per collection), at the Engine's clock.
// The adapters record the HTTP side (request duration, errors by acs code,
// over-limit answers; see package acshttp) when given the same providers.
//
// Each operation (Invite, SignIn, Provision, ReturnBadge, ReportBadgeLost,
// SignOut, Remove, ReportWatchlistMatch, Reconcile) is a span
// "visitor.<operation>" (visitor.sign_in, visitor.provision,
// visitor.return_badge, …), and each outbox attempt a span "acs <operation>"
// under it (or a root span when the outbox worker runs it), covering the
// ACS call, whose HTTP requests are its children, and the recording of its
// outcome. Spans carry IDs (visit, outbox item, operator, location),
// provider names and acs codes, never a visitor's name or e-mail; with a
// tracer provider, the Engine's log records carry trace_id and span_id.
package visitor
