package brivosim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/wiegand"
)

// Site is a Brivo site (a building), as access events report it.
type Site struct {
	ID   int64
	Name string
}

// Door is an access point: a door with a reader at a site, opened by the
// members of any of its groups (Brivo grants access through group
// permissions on access points).
type Door struct {
	ID     int64
	Name   string
	SiteID int64
	Groups []int64
}

// DefaultSite is the site a new Server holds: the one of Brivo's event
// samples.
func DefaultSite() Site { return Site{ID: 7833522, Name: "Home base"} }

// DefaultDoors are the doors a new Server holds unless WithDoors says
// otherwise: "Front Door" (the ID of Brivo's event samples) opened by the
// Lobby group and "Floor 3 Door" opened by the Floor 3 group.
func DefaultDoors() []Door {
	return []Door{
		{ID: 408023598, Name: "Front Door", SiteID: 7833522, Groups: []int64{11906588}},
		{ID: 408023599, Name: "Floor 3 Door", SiteID: 7833522, Groups: []int64{11906589, 11906588}},
	}
}

// WithDoors replaces the seeded doors. Doors whose SiteID is zero belong
// to DefaultSite.
func WithDoors(ds ...Door) Option {
	return func(s *Server) {
		s.seedDoors = make([]Door, len(ds))
		for i, d := range ds {
			d.Groups = slices.Clone(d.Groups)
			s.seedDoors[i] = d
		}
	}
}

// WithWebhookClient sets the HTTP client that delivers event-subscription
// notifications (default: a client with a 10 s timeout).
func WithWebhookClient(c *http.Client) Option { return func(s *Server) { s.hookClient = c } }

// WithWebhookRetries sets how many times a failed notification is tried
// again, one more attempt per FlushWebhooks call (default 0). Brivo
// documents no retry: it e-mails the subscription's errorEmail when a
// delivery fails, which the simulator records (FailedDeliveries).
func WithWebhookRetries(n int) Option { return func(s *Server) { s.hookRetries = max(n, 0) } }

// Security actions the simulator records. 2004 and 5018 appear in Brivo's
// samples; 5012 for an unknown card is inferred from the documented use of
// credentialBitLength and failedConversion "with the 5012 event".
const (
	ActionUserEntry     = 2004 // access granted to a user's credential
	ActionUnknownCard   = 5012 // a card Brivo does not know
	ActionUnauthorized  = 5018 // a known credential without access here and now
	ActionAdminPulse    = 5064 // an administrator pulsed the door open
	deviceTypeDoor      = 1
	objectTypeAccessPnt = 2
)

var actionText = map[int]string{
	ActionUserEntry:    "User Entry",
	ActionUnknownCard:  "Failed Access: Unknown Card",
	ActionUnauthorized: "Failed Access: Unauthorized Access Attempt",
	ActionAdminPulse:   "Administrator Pulse Output",
}

// AccessEvent is a snapshot of a recorded access event.
type AccessEvent struct {
	UUID     string
	Occurred time.Time // millisecond precision, UTC
	DoorID   int64
	SiteID   int64
	// UserID is the user who presented the credential (0 when unknown).
	UserID int64
	// CredentialID is the credential presented (0 for an unknown card).
	CredentialID int64
	// UnknownWiegand is the presented frame in hexadecimal when the card is
	// not known to Brivo.
	UnknownWiegand string
	Granted        bool
	ActionID       int
	// JSON is the event as /events/access lists it.
	JSON []byte
}

// event is a recorded access event.
type event struct {
	AccessEvent
	exception bool
	hook      []byte // the body posted to event subscriptions
}

type door struct {
	id     int64
	name   string
	site   int64
	groups []int64
	keypad bool // a keypad reader (SetDoorKeypad)
}

func (s *Server) seedDoorsLocked() {
	s.sites = map[int64]Site{}
	site := DefaultSite()
	s.sites[site.ID] = site
	s.doors = map[int64]*door{}
	s.nextDoor = 408023600
	for _, d := range s.seedDoors {
		if d.SiteID == 0 {
			d.SiteID = site.ID
		}
		if _, ok := s.sites[d.SiteID]; !ok {
			s.sites[d.SiteID] = Site{ID: d.SiteID, Name: "Site " + strconv.FormatInt(d.SiteID, 10)}
		}
		s.doors[d.ID] = &door{id: d.ID, name: d.Name, site: d.SiteID, groups: slices.Clone(d.Groups)}
		if d.ID >= s.nextDoor {
			s.nextDoor = d.ID + 1
		}
	}
}

// AddDoor adds a door at DefaultSite opened by the given groups and
// returns it with its new ID.
func (s *Server) AddDoor(name string, groups ...int64) (Door, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range groups {
		if s.groups[g] == nil {
			return Door{}, fmt.Errorf("brivosim: no group %d", g)
		}
	}
	d := &door{id: s.nextDoor, name: name, site: DefaultSite().ID, groups: slices.Clone(groups)}
	s.nextDoor++
	s.doors[d.id] = d
	return Door{ID: d.id, Name: d.name, SiteID: d.site, Groups: slices.Clone(d.groups)}, nil
}

// SetDoorGroups replaces the groups whose members a door opens for.
func (s *Server) SetDoorGroups(doorID int64, groups ...int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.doors[doorID]
	if d == nil {
		return fmt.Errorf("brivosim: no door %d", doorID)
	}
	d.groups = slices.Clone(groups)
	return nil
}

// Doors returns every door, sorted by ID.
func (s *Server) Doors() []Door {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Door, 0, len(s.doors))
	for _, d := range s.doors {
		out = append(out, Door{ID: d.id, Name: d.name, SiteID: d.site, Groups: slices.Clone(d.groups)})
	}
	slices.SortFunc(out, func(a, b Door) int { return cmpInt(a.ID, b.ID) })
	return out
}

// Swipe presents a card at a door's reader at time at, decides with the
// oracle (granted iff a credential of the card's Wiegand format and data
// exists, is assigned, and Opens one of the door's groups at at), records
// the access event (GET /events/access) and queues its notification to
// every matching event subscription (FlushWebhooks delivers them). A card
// Brivo does not know is a denied event carrying the frame as
// unknownWeigand.
func (s *Server) Swipe(card wiegand.Card, doorID int64, at time.Time) (AccessEvent, error) {
	fr, err := card.Frame()
	if err != nil {
		return AccessEvent{}, fmt.Errorf("brivosim: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.doors[doorID]
	if d == nil {
		return AccessEvent{}, fmt.Errorf("brivosim: no door %d", doorID)
	}
	n := normHex(fr.Hex())
	var found *credential
	for _, c := range s.sortedCredentials() {
		if c.format.Wiegand == card.Format && c.encoded != "" && normHex(c.encoded) == n {
			found = c
			break
		}
	}
	if found == nil {
		return s.recordSwipe(d, nil, fr, at), nil
	}
	return s.recordSwipe(d, found, wiegand.Frame{}, at), nil
}

// SwipeCredential presents a stored credential (a card or a mobile pass)
// at a door, like Swipe.
func (s *Server) SwipeCredential(credentialID, doorID int64, at time.Time) (AccessEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.doors[doorID]
	if d == nil {
		return AccessEvent{}, fmt.Errorf("brivosim: no door %d", doorID)
	}
	c := s.credentials[credentialID]
	if c == nil {
		return AccessEvent{}, fmt.Errorf("brivosim: no credential %d", credentialID)
	}
	return s.recordSwipe(d, c, wiegand.Frame{}, at), nil
}

// PulseDoor records an administrator opening a door remotely
// ("Administrator Pulse Output", as in Brivo's samples): an access event
// that is not a credential decision.
func (s *Server) PulseDoor(doorID int64, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.doors[doorID]
	if d == nil {
		return fmt.Errorf("brivosim: no door %d", doorID)
	}
	ev := s.newEvent(d, at, ActionAdminPulse, false)
	ev.actor = &actorOut{ID: 10457058, Name: "qa admin"}
	ev.data.ActorName = "qa admin"
	s.storeEvent(ev)
	return nil
}

// eventDraft is an event being built.
type eventDraft struct {
	info  AccessEvent
	out   eventOut
	actor *actorOut
	data  eventDataOut
}

func (s *Server) newEvent(d *door, at time.Time, action int, allowed bool) *eventDraft {
	at = at.UTC().Truncate(time.Millisecond)
	site := s.sites[d.site]
	ev := &eventDraft{info: AccessEvent{UUID: newUUID(), Occurred: at, DoorID: d.id, SiteID: site.ID, Granted: allowed, ActionID: action}}
	ev.out = eventOut{
		UUID:           ev.info.UUID,
		SecurityAction: securityActionOut{ID: action, Action: actionText[action], Exception: action != ActionUserEntry && action != ActionAdminPulse},
		EventObject:    &eventObjectOut{ID: d.id, Name: d.name, DeviceType: groupOut{deviceTypeDoor, "Door"}},
		Site:           &siteOut{ID: site.ID, SiteName: site.Name},
		Occurred:       at.Format(millisLayout),
		Processed:      at.Format(millisLayout),
	}
	ev.data = eventDataOut{ObjectName: d.name, ObjectGroupName: site.Name, ActionAllowed: allowed,
		ObjectTypeID: objectTypeAccessPnt, DeviceTypeID: deviceTypeDoor}
	return ev
}

// recordSwipe decides and records a swipe. s.mu is held.
func (s *Server) recordSwipe(d *door, c *credential, unknown wiegand.Frame, at time.Time) AccessEvent {
	if c == nil {
		ev := s.newEvent(d, at, ActionUnknownCard, false)
		h := unknown.Hex()
		ev.info.UnknownWiegand = h
		ev.data.UnknownWeigand = h
		ev.data.CredentialBitLength = int(unknown.Len)
		ev.data.Credentials = []eventCredOut{{ReferenceID: h}}
		return s.storeEvent(ev)
	}
	granted := false
	for _, g := range d.groups {
		if s.opensLocked(c.id, g, at) {
			granted = true
			break
		}
	}
	action := ActionUnauthorized
	if granted {
		action = ActionUserEntry
	}
	ev := s.newEvent(d, at, action, granted)
	ev.info.CredentialID = c.id
	ev.data.Credentials = []eventCredOut{{ID: c.id}}
	if u := s.users[c.user]; u != nil {
		name := strings.TrimSpace(u.first + " " + u.last)
		ev.info.UserID = u.id
		ev.actor = &actorOut{ID: u.id, Name: name}
		ev.data.ActorName = name
	}
	return s.storeEvent(ev)
}

// storeEvent renders, stores and queues an event. s.mu is held.
func (s *Server) storeEvent(d *eventDraft) AccessEvent {
	d.out.Actor = d.actor
	d.out.EventData = d.data
	listed, err := json.Marshal(d.out)
	if err != nil {
		panic(err) // the types above always marshal
	}
	d.out.ObjectType = "ACCESS_POINT"
	hook, err := json.Marshal(d.out)
	if err != nil {
		panic(err)
	}
	d.info.JSON = listed
	ev := &event{AccessEvent: d.info, exception: d.out.SecurityAction.Exception, hook: hook}
	i, _ := slices.BinarySearchFunc(s.events, ev, func(a, b *event) int {
		if c := a.Occurred.Compare(b.Occurred); c != 0 {
			return c
		}
		return strings.Compare(a.UUID, b.UUID)
	})
	s.events = slices.Insert(s.events, i, ev)
	for _, sub := range s.sortedSubscriptions() {
		if sub.matches(ev) {
			s.pending = append(s.pending, &delivery{sub: sub.id, url: sub.url, event: ev.UUID, body: hook})
		}
	}
	return s.snapshot(ev)
}

func (s *Server) snapshot(ev *event) AccessEvent {
	a := ev.AccessEvent
	a.JSON = slices.Clone(a.JSON)
	return a
}

// AccessEvents returns every recorded access event in the order a poller
// delivers them: by occurrence time, then by UUID.
func (s *Server) AccessEvents() []AccessEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]AccessEvent, len(s.events))
	for i, ev := range s.events {
		out[i] = s.snapshot(ev)
	}
	return out
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ---- the event JSON ----

type securityActionOut struct {
	ID        int    `json:"securityActionId"`
	Action    string `json:"action"`
	Exception bool   `json:"exception"`
}

type actorOut struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type eventObjectOut struct {
	ID         int64    `json:"id"`
	Name       string   `json:"name"`
	DeviceType groupOut `json:"deviceType"`
}

type siteOut struct {
	ID       int64  `json:"id"`
	SiteName string `json:"siteName"`
}

type eventCredOut struct {
	ID          int64  `json:"id,omitempty"`
	ReferenceID string `json:"reference_id,omitempty"`
}

type eventDataOut struct {
	ActorName           string         `json:"actorName,omitempty"`
	ObjectName          string         `json:"objectName,omitempty"`
	ObjectGroupName     string         `json:"objectGroupName,omitempty"`
	ActionAllowed       bool           `json:"actionAllowed"`
	ObjectTypeID        int            `json:"objectTypeId"`
	DeviceTypeID        int            `json:"deviceTypeId,omitempty"`
	Credentials         []eventCredOut `json:"credentials,omitempty"`
	UnknownWeigand      string         `json:"unknownWeigand,omitempty"`
	CredentialBitLength int            `json:"credentialBitLength,omitempty"`
}

type eventOut struct {
	ObjectType     string            `json:"objectType,omitempty"`
	UUID           string            `json:"uuid"`
	SecurityAction securityActionOut `json:"securityAction"`
	Actor          *actorOut         `json:"actor,omitempty"`
	EventObject    *eventObjectOut   `json:"eventObject,omitempty"`
	Site           *siteOut          `json:"site,omitempty"`
	Occurred       string            `json:"occurred"`
	Processed      string            `json:"processed"`
	EventData      eventDataOut      `json:"eventData"`
}

// ---- GET /events/access ----

// maxEventWindow is the longest occurred range a listing may span.
const maxEventWindow = 24 * time.Hour

type eventPage struct {
	Data     []json.RawMessage `json:"data"`
	PageSize int               `json:"pageSize"`
}

// listAccessEvents serves GET /events/access: newest first; the occurred
// filter bounds (gt, lt) are truncated to the hour and exclusive, default
// to the current UTC day, and may span at most 24 hours; offset is a date,
// and the page holds the events that occurred at or before it (inclusive,
// so paging with the minimum occurred of the last page repeats the events
// of that instant rather than losing them).
func (s *Server) listAccessEvents(q url.Values) answer {
	eq, a, ok := s.readEventQuery(q)
	if !ok {
		return a
	}
	page := eventPage{Data: []json.RawMessage{}, PageSize: eq.size}
	// Everything after the upper bound is skipped by binary search.
	upper := len(s.events)
	if !eq.offset.IsZero() {
		upper, _ = slices.BinarySearchFunc(s.events, eq.offset, func(e *event, t time.Time) int {
			if e.Occurred.After(t) {
				return 1
			}
			return -1
		})
	}
	for i := upper - 1; i >= 0 && len(page.Data) < eq.size; i-- {
		ev := s.events[i]
		if !ev.Occurred.After(eq.gt) {
			break
		}
		if eq.matches(ev) {
			page.Data = append(page.Data, ev.JSON)
		}
	}
	return jsonAnswer(http.StatusOK, page)
}

// eventQuery is a listing of access events: the page size, the offset
// (list events before it), and the filter.
type eventQuery struct {
	size               int
	offset             time.Time
	gt, lt             time.Time // occurred window, exclusive
	object, site       int64
	hasObject, hasSite bool
	types              map[string]bool // event_type values
}

// matches reports whether ev lies inside the window (its lower bound is
// checked by the caller, which stops there) and passes the filters.
func (eq *eventQuery) matches(ev *event) bool {
	switch {
	case !ev.Occurred.Before(eq.lt):
		return false
	case eq.hasObject && ev.DoorID != eq.object, eq.hasSite && ev.SiteID != eq.site:
		return false
	case len(eq.types) > 0 && !(eq.types["exception"] && ev.exception || eq.types["non_exception"] && !ev.exception):
		return false
	}
	return true
}

// readEventQuery reads the parameters of GET /events/access the way
// Brivo checks them; ok is false with the answer to a query it refuses.
func (s *Server) readEventQuery(q url.Values) (eq eventQuery, _ answer, ok bool) {
	if a, ok := onlyParams(q, "offset", "pageSize", "filter"); !ok {
		return eq, a, false
	}
	invalid := errAnswer(http.StatusBadRequest, "Invalid listing criteria provided")
	eq.size = 20
	if v, ok := q["pageSize"]; ok {
		n, err := strconv.Atoi(v[0])
		if len(v) != 1 || err != nil || n < 1 || n > 100 {
			return eq, errAnswer(http.StatusBadRequest, "pageSize must be between 1 and 100"), false
		}
		eq.size = n
	}
	if v, ok := q["offset"]; ok {
		t, err := parseTime(v[0])
		if len(v) != 1 || err != nil {
			return eq, invalid, false
		}
		eq.offset = t
	}
	if len(q["filter"]) > 1 {
		return eq, invalid, false
	}
	clauses, a, ok := parseFilter(q.Get("filter"), map[string][]string{
		"occurred": {"gt", "lt"}, "object": {"eq"}, "site": {"eq"}, "event_type": {"eq"},
	})
	if !ok {
		return eq, a, false
	}
	now := s.now().UTC()
	eq.gt, eq.lt = now.Truncate(24*time.Hour), now
	if !eq.readClauses(clauses) {
		return eq, invalid, false
	}
	if eq.hasObject && eq.hasSite {
		return eq, errAnswer(http.StatusBadRequest, "The object and site filters cannot be combined"), false
	}
	if eq.lt.Sub(eq.gt) > maxEventWindow {
		return eq, errAnswer(http.StatusBadRequest, "An occurred range cannot be longer than a 24 hour period"), false
	}
	return eq, answer{}, true
}

// readClauses applies the filter's clauses; false when one is invalid (a
// bound given twice, a value that does not parse, an unknown event type).
// Occurred bounds are truncated to the hour, as Brivo does.
func (eq *eventQuery) readClauses(clauses []clause) bool {
	var hasGT, hasLT bool
	eq.types = map[string]bool{}
	for _, c := range clauses {
		switch c.field {
		case "occurred":
			if len(c.values) != 1 {
				return false
			}
			t, err := parseTime(c.values[0])
			if err != nil || c.op == "gt" && hasGT || c.op != "gt" && hasLT {
				return false
			}
			t = t.Truncate(time.Hour)
			if c.op == "gt" {
				eq.gt, hasGT = t, true
			} else {
				eq.lt, hasLT = t, true
			}
		case "object", "site":
			if len(c.values) != 1 {
				return false
			}
			id, ok := parseID(c.values[0])
			if !ok {
				return false
			}
			if c.field == "object" {
				eq.object, eq.hasObject = id, true
			} else {
				eq.site, eq.hasSite = id, true
			}
		case "event_type":
			for _, v := range c.values {
				switch v {
				case "non_exception", "exception", "camera", "video_linkable":
					eq.types[v] = true
				default:
					return false
				}
			}
		}
	}
	return true
}
