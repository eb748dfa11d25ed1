package visitor

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Action names what an audit record is about. The values are stable.
type Action string

// Audit actions: the visit transitions and operator actions, the ACS
// operations, and the badge pool changes made on a visit's behalf.
const (
	ActInvite          Action = "invite"
	ActExpect          Action = "expect" // the advance-access window opened
	ActSignIn          Action = "sign_in"
	ActProvision       Action = "provision"
	ActReturnBadge     Action = "return_badge"
	ActBadgeLost       Action = "badge_lost"
	ActCredentialEnd   Action = "credential_expire" // the credential's window ended while signed in
	ActSignOut         Action = "sign_out"
	ActExpire          Action = "expire"
	ActRemove          Action = "remove"
	ActWatchlist       Action = "watchlist_match"
	ActACSProvision    Action = "acs_provision"
	ActACSRevoke       Action = "acs_revoke"
	ActACSRemove       Action = "acs_remove_cardholder"
	ActBadgeRelease    Action = "badge_release"
	ActCardFree        Action = "card_free"
	ActProvisionCancel Action = "provision_cancel" // a queued provision dropped because the visit ended first
	ActDoor            Action = "door"             // a door event of the visit's credential (AuditRecord.Door)
	ActLateOutcome     Action = "acs_late_outcome" // an ACS outcome recorded after its lease was lost (Reason says what followed)
	ActStuck           Action = "acs_stuck"        // an ACS operation is stuck: past the attempt or age limit, or refused for good (WithStuck)
	ActReconcile       Action = "reconcile"        // a difference between the ACS and the store found by Reconcile (Reason says which, Outcome what was done)
	ActACSReprovision  Action = "acs_reprovision"  // a credential re-provisioned to repair drift at the ACS
)

// Outcome says how an audited action turned out.
type Outcome string

// Audit outcomes.
const (
	OutcomeOK      Outcome = "ok"      // done (for ACS operations: confirmed by the ACS)
	OutcomeQueued  Outcome = "queued"  // recorded; the ACS part is in the outbox
	OutcomeRetry   Outcome = "retry"   // an ACS attempt failed and will be retried
	OutcomeFailed  Outcome = "failed"  // an ACS attempt failed for good
	OutcomeRefused Outcome = "refused" // refused by policy, permission, state or input; nothing changed
	OutcomeDenied  Outcome = "denied"  // a door event: the ACS did not open the door (granted ones are OK)
	// OutcomeEscalated: an ACS operation is stuck and reported (WithStuck); it is
	// still retried, at the longest backoff.
	OutcomeEscalated Outcome = "escalated"
)

// AuditRecord is one entry of the audit trail: who did what, when, to which
// visit and badge, with which access levels, and how it turned out.
type AuditRecord struct {
	// Seq orders records; assigned by the store.
	Seq      int64     `json:"seq"`
	Time     time.Time `json:"time"`
	VisitID  string    `json:"visit_id,omitempty"`
	Location string    `json:"location,omitempty"`
	// Actor is the operator ID, or ActorSystem or ActorWatchlist.
	Actor  string `json:"actor"`
	Action Action `json:"action"`
	// From and To are the visit states around a transition; equal when
	// the state did not change.
	From         State    `json:"from,omitempty"`
	To           State    `json:"to,omitempty"`
	BadgeID      string   `json:"badge_id,omitempty"`
	Card         string   `json:"card,omitempty"`
	AccessLevels []string `json:"access_levels,omitempty"`
	Outcome      Outcome  `json:"outcome"`
	Error        string   `json:"error,omitempty"`
	// Attempt is the attempt number of an ACS operation.
	Attempt int `json:"attempt,omitempty"`
	// Subject is the visitor's name and Reason the operator's or
	// watchlist's explanation: personal data, erased by Scrub.
	Subject  string `json:"subject,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Scrubbed bool   `json:"scrubbed,omitempty"`
	// Door is the door event of an ActDoor record, and the door of a
	// sign-in marked by a door event; zero otherwise. Time is then the
	// event's time as the ACS reported it.
	Door DoorSighting `json:"door,omitzero"`
}

// Scrub erases the personal data of r (Subject, Reason) and marks it
// Scrubbed.
func (r *AuditRecord) Scrub() {
	r.Subject, r.Reason, r.Scrubbed = "", "", true
}

// AuditQuery selects audit records. Zero fields match everything; set
// fields must all match.
type AuditQuery struct {
	VisitID  string
	Location string
	BadgeID  string
	// Since and Until bound Time: Since ≤ Time < Until.
	Since, Until time.Time
	// AfterSeq returns only records with a higher Seq (paging).
	AfterSeq int64
	// Limit caps the number of records; 0 or less means no limit.
	Limit int
}

// Match reports whether r passes the query (ignoring Limit).
func (q AuditQuery) Match(r *AuditRecord) bool {
	return (q.VisitID == "" || r.VisitID == q.VisitID) &&
		(q.Location == "" || r.Location == q.Location) &&
		(q.BadgeID == "" || r.BadgeID == q.BadgeID) &&
		(q.Since.IsZero() || !r.Time.Before(q.Since)) &&
		(q.Until.IsZero() || r.Time.Before(q.Until)) &&
		r.Seq > q.AfterSeq
}

// Format is an audit export format.
type Format string

// Export formats.
const (
	JSONLines Format = "jsonl" // one JSON object per line
	CSV       Format = "csv"   // RFC 4180, with a header line
)

// csvHeader is the header line of the CSV export, in column order.
var csvHeader = []string{
	"seq", "time", "visit_id", "location", "actor", "action", "from", "to",
	"badge_id", "card", "access_levels", "outcome", "error", "attempt", "subject", "reason", "scrubbed",
	"door_id", "door_name", "direction",
}

// CSVHeader returns the column names of the CSV export, in order.
func CSVHeader() []string { return slices.Clone(csvHeader) }

func (r *AuditRecord) csvRow(row []string) []string {
	attempt := ""
	if r.Attempt > 0 {
		attempt = strconv.Itoa(r.Attempt)
	}
	return append(row[:0],
		strconv.FormatInt(r.Seq, 10), r.Time.UTC().Format(time.RFC3339Nano), csvSafe(r.VisitID), csvSafe(r.Location),
		csvSafe(r.Actor), string(r.Action), string(r.From), string(r.To),
		r.BadgeID, r.Card, csvSafe(strings.Join(r.AccessLevels, ";")), string(r.Outcome), csvSafe(r.Error),
		attempt, csvSafe(r.Subject), csvSafe(r.Reason), strconv.FormatBool(r.Scrubbed),
		csvSafe(r.Door.DoorID), csvSafe(r.Door.DoorName), direction(r.Door))
}

// direction is the direction column of the CSV export: empty for records
// without a door.
func direction(d DoorSighting) string {
	if d.IsZero() {
		return ""
	}
	return d.Direction.String()
}

// csvSafe defuses cells a spreadsheet would run as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// AuditWriter writes audit records in one export format. Create it with
// NewAuditWriter, Write records, then Flush. It is not safe for concurrent
// use.
type AuditWriter struct {
	format Format
	enc    *json.Encoder
	csv    *csv.Writer
	row    []string
	header bool
}

// NewAuditWriter returns a writer of the given format onto w.
func NewAuditWriter(w io.Writer, f Format) (*AuditWriter, error) {
	switch f {
	case JSONLines:
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return &AuditWriter{format: f, enc: enc}, nil
	case CSV:
		return &AuditWriter{format: f, csv: csv.NewWriter(w)}, nil
	}
	return nil, fmt.Errorf("visitor: unknown audit export format %q (want %q or %q)", f, JSONLines, CSV)
}

// Write writes one record (preceded by the header line, for CSV).
func (a *AuditWriter) Write(r AuditRecord) error {
	if a.enc != nil {
		return a.enc.Encode(&r)
	}
	if !a.header {
		a.header = true
		if err := a.csv.Write(csvHeader); err != nil {
			return err
		}
	}
	a.row = r.csvRow(a.row)
	return a.csv.Write(a.row)
}

// Flush writes out buffered data (and, for CSV, the header line when no
// record was written) and reports any write error.
func (a *AuditWriter) Flush() error {
	if a.csv == nil {
		return nil
	}
	if !a.header {
		a.header = true
		if err := a.csv.Write(csvHeader); err != nil {
			return err
		}
	}
	a.csv.Flush()
	return a.csv.Error()
}
