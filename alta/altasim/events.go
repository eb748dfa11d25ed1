package altasim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/wiegand"
)

// Entry is a door (an Alta entry) and the groups whose members it lets in.
// Alta links groups to doors through zones (§1.4); the simulator links them
// directly.
type Entry struct {
	ID       int64
	Name     string
	SiteID   int64
	SiteName string
	Groups   []int64
	// Keypad reports a keypad reader at the door: it opens for a PIN (a
	// pincode credential) as a card reader does for a card. See
	// PINOpensEntry.
	Keypad bool
}

// DefaultEntries are the doors of a new Server: the lobby (both default
// groups) and a floor door (the second group).
func DefaultEntries() []Entry {
	return []Entry{
		{ID: 42, Name: "Lobby", SiteID: 7, SiteName: "HQ", Groups: []int64{4822, 5729}},
		{ID: 43, Name: "Floor 3 East", SiteID: 7, SiteName: "HQ", Groups: []int64{5729}},
	}
}

type entry struct{ Entry }

// Activity is one row of the activity report, the fields of uiData the
// notes list (§1.7). Swipe records them; AddActivity stores any row.
type Activity struct {
	Time              time.Time
	UserID            int64
	UserEmail         string
	UserFirstName     string
	UserLastName      string
	UserExternalID    string
	CredentialType    string // credentialTypeModelName: card, mobile, …
	EntryID           int64  // 0: not a door event
	EntryName         string
	SiteID            int64
	Result            string // "granted" or "denied" here; Alta's values are not documented
	ResultDescription string
	DeniedReason      string
	Category          string
}

type activity struct {
	seq int64
	Activity
}

func (s *Server) listEntries(q url.Values) answer {
	if a, ok := onlyParams(q, listQuery...); !ok {
		return a
	}
	var items []map[string]any
	for _, id := range sortedKeys(s.entries) {
		e := s.entries[id]
		items = append(items, map[string]any{"id": e.ID, "name": e.Name, "site": map[string]any{"id": e.SiteID, "name": e.SiteName}})
	}
	return page(q, items, func(m map[string]any) string { return m["name"].(string) })
}

// AddActivity stores an activity row as Alta would after a door decision
// or any other event.
func (s *Server) AddActivity(a Activity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, &activity{seq: s.nextEvt, Activity: a})
	s.nextEvt++
}

// Swipe presents a card at an entry at the server's current time: the
// door opens when a credential of a live user carries the card and opens
// one of the entry's groups now (the oracle). It records the activity row
// and returns the decision.
func (s *Server) Swipe(entryID int64, f wiegand.Format, facility, number uint64) (bool, error) {
	fr, err := f.Encode(facility, number)
	if err != nil {
		return false, err
	}
	raw := strconv.FormatUint(fr.Value, 10)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[entryID]
	if e == nil {
		return false, fmt.Errorf("altasim: no entry %d", entryID)
	}
	now := s.now()
	a := Activity{Time: now, CredentialType: "card", EntryID: e.ID, EntryName: e.Name, SiteID: e.SiteID, Category: "entryAccess",
		Result: "denied", ResultDescription: "Access denied", DeniedReason: "unknown credential"}
	for _, id := range sortedKeys(s.creds) {
		c := s.creds[id]
		u := s.users[c.user]
		cf := (*CardFormat)(nil)
		if c.card != nil {
			cf = s.cardFormat(c.card.formatID)
		}
		if u == nil || u.archived || cf == nil || cf.Wiegand != f || strings.TrimLeft(c.card.number, "0") != raw {
			continue
		}
		a.UserID, a.UserEmail, a.UserFirstName, a.UserLastName, a.UserExternalID = u.id, u.email, u.first, u.last, u.externalID
		a.DeniedReason = "no access at this time"
		if slices.ContainsFunc(e.Groups, func(g int64) bool { return s.opensLocked(c.id, g, now) }) {
			a.Result, a.ResultDescription, a.DeniedReason = "granted", "Access granted", ""
			break
		}
	}
	s.events = append(s.events, &activity{seq: s.nextEvt, Activity: a})
	s.nextEvt++
	return a.Result == "granted", nil
}

func (a *activity) json() map[string]any {
	sec := float64(a.Time.UnixMilli()) / 1000
	ui := map[string]any{
		"time": sec, "timeIsoString": formatTime(a.Time), "userId": nullID(a.UserID), "userEmail": a.UserEmail,
		"userFirstName": nullable(a.UserFirstName), "userLastName": nullable(a.UserLastName),
		"userExternalId": nullable(a.UserExternalID), "credentialTypeModelName": nullable(a.CredentialType),
		"entryId": nullID(a.EntryID), "entryName": a.EntryName, "siteId": nullID(a.SiteID),
		"result": a.Result, "resultDescription": a.ResultDescription, "deniedReason": nullable(a.DeniedReason),
		"category": nullable(a.Category), "requestId": "req-" + strconv.FormatInt(a.seq, 10),
	}
	return map[string]any{"uiData": ui, "hookEvent": map[string]any{"id": a.seq}}
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// activityEvents serves GET /reports/activity/events: filter
// uiData.time:(from-to) in epoch seconds, both inclusive (default: the
// last 24 hours), newest first, paged by an opaque cursor bound to the
// filter; limit is a suggestion (the simulator serves half as many again).
func (s *Server) activityEvents(r *http.Request) answer {
	q := r.URL.Query()
	if a, ok := onlyParams(q, "limit", "cursor", "filter", "options", "customFieldIds"); !ok {
		return a
	}
	now := s.now()
	from, to := now.Add(-24*time.Hour), now
	filter := q.Get("filter")
	if filter != "" {
		var err error
		if from, to, err = parseTimeFilter(filter); err != nil {
			return badRequest(err.Error())
		}
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return badRequest("limit must be a positive integer")
		}
		limit = n
	}
	after, a, ok := s.decodeCursor(q.Get("cursor"), filter)
	if !ok {
		return a
	}
	rows := s.selectEvents(from, to, after)
	n := min(len(rows), limit+limit/2)
	data := make([]any, n)
	for i := range n {
		data[i] = rows[i].json()
	}
	cursors := map[string]any{"hasNextPage": n < len(rows), "nextCursor": nil}
	if n < len(rows) {
		cursors["nextCursor"] = encodeCursor(rows[n-1], filter)
	}
	return jsonAnswer(http.StatusOK, map[string]any{"totalCount": len(s.events), "filteredCount": len(rows), "cursors": cursors, "data": data})
}

// selectEvents returns the rows in [from, to] (to inclusive to the
// second), newest first, after the cursor's row when set.
func (s *Server) selectEvents(from, to time.Time, after *activity) []*activity {
	var out []*activity
	limit := to.Add(time.Second)
	for _, e := range s.events {
		if e.Time.Before(from) || !e.Time.Before(limit) {
			continue
		}
		if after != nil && !newer(after, e) {
			continue
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *activity) int {
		if newer(a, b) {
			return -1
		}
		if newer(b, a) {
			return 1
		}
		return 0
	})
	return out
}

// newer reports whether a comes before b in the listing (newest first).
func newer(a, b *activity) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.After(b.Time)
	}
	return a.seq > b.seq
}

// parseTimeFilter reads uiData.time:(from-to), epoch seconds.
func parseTimeFilter(f string) (time.Time, time.Time, error) {
	bad := fmt.Errorf("filter %q is not uiData.time:(<epochSeconds>-<epochSeconds>)", f)
	rest, ok := strings.CutPrefix(f, "uiData.time:(")
	if !ok || !strings.HasSuffix(rest, ")") {
		return time.Time{}, time.Time{}, bad
	}
	a, b, ok := strings.Cut(strings.TrimSuffix(rest, ")"), "-")
	x, err1 := strconv.ParseInt(a, 10, 64)
	y, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || y < x {
		return time.Time{}, time.Time{}, bad
	}
	return time.Unix(x, 0).UTC(), time.Unix(y, 0).UTC(), nil
}

func filterHash(filter string) string {
	h := sha256.Sum256([]byte(filter))
	return hex.EncodeToString(h[:6])
}

func encodeCursor(last *activity, filter string) string {
	raw := strconv.FormatInt(last.Time.UnixNano(), 10) + "~" + strconv.FormatInt(last.seq, 10) + "~" + filterHash(filter)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// decodeCursor returns the row a cursor points after; the cursor must
// have been issued for the same filter (§1.7).
func (s *Server) decodeCursor(c, filter string) (*activity, answer, bool) {
	if c == "" {
		return nil, answer{}, true
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	parts := strings.Split(string(b), "~")
	if err != nil || len(parts) != 3 {
		return nil, badRequest("invalid cursor"), false
	}
	if parts[2] != filterHash(filter) {
		return nil, badRequest("the same filter parameter is required across all calls of the same query"), false
	}
	ns, err1 := strconv.ParseInt(parts[0], 10, 64)
	seq, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return nil, badRequest("invalid cursor"), false
	}
	return &activity{seq: seq, Activity: Activity{Time: time.Unix(0, ns)}}, answer{}, true
}
