package visitor

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// MusterStatus says where a visitor is as far as the doors tell.
type MusterStatus string

// Muster statuses, in the order a muster report lists them.
const (
	// MusterInside: the last door that opened for the visit was not an
	// exit (an entry, or a door that reports no direction).
	MusterInside MusterStatus = "inside"
	// MusterUnseen: signed in, but no door has opened for the visit (no
	// badge yet, escorted, or an ACS without door events). Count them as
	// possibly inside.
	MusterUnseen MusterStatus = "unseen"
	// MusterLeft: signed in, but the last door that opened for the visit
	// was an exit: the visitor left without signing out.
	MusterLeft MusterStatus = "left"
)

func (s MusterStatus) rank() int {
	switch s {
	case MusterInside:
		return 0
	case MusterUnseen:
		return 1
	}
	return 2
}

// MusterEntry is one visitor in a muster report.
type MusterEntry struct {
	VisitID    string       `json:"visit_id"`
	Location   string       `json:"location"`
	Name       string       `json:"name"`
	Company    string       `json:"company,omitempty"`
	Host       string       `json:"host,omitempty"`
	Type       string       `json:"type"`
	State      State        `json:"state"`
	SignedInAt time.Time    `json:"signed_in_at,omitzero"`
	Status     MusterStatus `json:"status"`
	// BadgeID is the pool badge the visit holds, if any.
	BadgeID string `json:"badge_id,omitempty"`
	// LastSeen is the visit's latest door event, granted or denied: where
	// the visitor was last seen. LastGranted is the latest door that
	// opened, which decides Status.
	LastSeen    DoorSighting `json:"last_seen,omitzero"`
	LastGranted DoorSighting `json:"last_granted,omitzero"`
}

// MusterReport says who may be inside a location now and where each was
// last seen. It lists:
//
//   - every signed-in visit: MusterInside when the last door that opened
//     for it was not an exit, MusterUnseen when no door opened for it,
//     MusterLeft when the last one was an exit (left without signing out);
//   - every invited or expected visit (not signed in) whose last door that
//     opened was not an exit, as MusterInside: the visitor badged in
//     without signing in (DoorPolicy.MarkArrival off, or an entrance that
//     does not mark arrival).
//
// Entries are ordered inside, unseen, left, then by name and visit ID.
// Employees are not listed: their swipes go to the unmatched handler.
type MusterReport struct {
	// Location is the location reported on; empty for all of them.
	Location string    `json:"location,omitempty"`
	At       time.Time `json:"at"`
	// Inside, Unseen and Left count the entries of each status.
	Inside  int           `json:"inside"`
	Unseen  int           `json:"unseen"`
	Left    int           `json:"left"`
	Entries []MusterEntry `json:"entries"`
}

// Missing returns how many people must be accounted for: Inside plus
// Unseen.
func (r *MusterReport) Missing() int { return r.Inside + r.Unseen }

// Muster returns the muster report of a location ("" for every location),
// from the door events recorded on each visit (Visit.Doors) and the visit
// states, as of now.
func (e *Engine) Muster(ctx context.Context, location string) (MusterReport, error) {
	if location != "" && e.locs[location] == nil {
		return MusterReport{}, refusal("muster", acs.InvalidArgument, "location %q is not configured", location)
	}
	rep := MusterReport{Location: location, At: e.clock.Now(), Entries: []MusterEntry{}}
	const page = 1000
	f := VisitFilter{Location: location, States: []State{Invited, Expected, SignedIn}, Limit: page}
	for {
		vs, err := e.store.Visits(ctx, f)
		if err != nil {
			return MusterReport{}, err
		}
		for i := range vs {
			if en, ok := musterEntry(&vs[i]); ok {
				rep.Entries = append(rep.Entries, en)
			}
		}
		if len(vs) < page {
			break
		}
		f.AfterID = vs[len(vs)-1].ID
	}
	for _, en := range rep.Entries {
		switch en.Status {
		case MusterInside:
			rep.Inside++
		case MusterUnseen:
			rep.Unseen++
		default:
			rep.Left++
		}
	}
	slices.SortFunc(rep.Entries, func(a, b MusterEntry) int {
		return cmp.Or(cmp.Compare(a.Status.rank(), b.Status.rank()), cmp.Compare(a.Name, b.Name), cmp.Compare(a.VisitID, b.VisitID))
	})
	return rep, nil
}

// musterEntry returns v's muster entry, if it belongs in the report.
func musterEntry(v *Visit) (MusterEntry, bool) {
	if v.Employee != nil {
		return MusterEntry{}, false // employees are not visitors
	}
	st := MusterInside
	switch {
	case v.Doors.LastGranted.IsZero():
		st = MusterUnseen
	case !v.Doors.Inside():
		st = MusterLeft
	}
	if v.State != SignedIn && st != MusterInside {
		return MusterEntry{}, false
	}
	en := MusterEntry{
		VisitID: v.ID, Location: v.Location, Name: v.Visitor.Name(), Company: v.Visitor.Company,
		Host: v.Host, Type: v.Type, State: v.State, SignedInAt: v.SignedInAt, Status: st,
		LastSeen: v.Doors.Last, LastGranted: v.Doors.LastGranted,
	}
	if i := current(v); i >= 0 && v.Credentials[i].Source == FromPool && v.Credentials[i].Holding() {
		en.BadgeID = v.Credentials[i].BadgeID
	}
	return en, true
}

// WriteJSON writes the report as one JSON document.
func (r *MusterReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// musterHeader is the header line of the CSV muster export.
var musterHeader = []string{
	"visit_id", "location", "name", "company", "host", "type", "state", "signed_in_at", "status", "badge_id",
	"last_seen_time", "last_seen_door_id", "last_seen_door_name", "last_seen_granted", "last_seen_direction",
	"last_granted_time", "last_granted_door_id", "last_granted_door_name", "last_granted_direction",
}

// WriteCSV writes the entries as CSV (RFC 4180) with a header line; times
// are RFC 3339 in UTC, empty when unknown.
func (r *MusterReport) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(musterHeader); err != nil {
		return err
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, en := range r.Entries {
		s, g := en.LastSeen, en.LastGranted
		seenGranted, seenDir, grantedDir := "", "", ""
		if !s.IsZero() {
			seenGranted, seenDir = strconv.FormatBool(s.Granted), s.Direction.String()
		}
		if !g.IsZero() {
			grantedDir = g.Direction.String()
		}
		row := []string{
			csvSafe(en.VisitID), csvSafe(en.Location), csvSafe(en.Name), csvSafe(en.Company), csvSafe(en.Host),
			csvSafe(en.Type), string(en.State), ts(en.SignedInAt), string(en.Status), csvSafe(en.BadgeID),
			ts(s.Time), csvSafe(s.DoorID), csvSafe(s.DoorName), seenGranted, seenDir,
			ts(g.Time), csvSafe(g.DoorID), csvSafe(g.DoorName), grantedDir,
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
