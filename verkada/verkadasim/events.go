package verkadasim

import (
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

// Site is a Verkada site (a building), as access events report it.
type Site struct {
	ID   string
	Name string
}

// Door is a door with a reader, opened for the members of any of its
// access groups (in Verkada through access levels, which the simulator
// folds into the door).
type Door struct {
	ID     string
	Name   string
	SiteID string
	Groups []string
	// Direction is what the door's events report in event_info.direction:
	// "entry", "exit" or "" (the field's values are not documented).
	Direction string
	// Keypad reports a keypad reader at the door: it opens for a user's
	// entry code (see PINOpensDoor).
	Keypad bool
}

// DefaultSite is the site a new Server holds.
func DefaultSite() Site { return Site{ID: makeID(kindSite, 1), Name: "Headquarters"} }

// DoorID returns the ID of the n-th seeded door (1-based).
func DoorID(n int) string { return makeID(kindDoor, int64(n)) }

// DefaultDoors are the doors a new Server holds unless WithDoors says
// otherwise: "Front Door" (entry) for the Lobby group and "Floor 3 Door"
// for the Floor 3 group.
func DefaultDoors() []Door {
	site := DefaultSite().ID
	return []Door{
		{ID: DoorID(1), Name: "Front Door", SiteID: site, Groups: []string{GroupID(1)}, Direction: "entry"},
		{ID: DoorID(2), Name: "Floor 3 Door", SiteID: site, Groups: []string{GroupID(2)}},
	}
}

// WithDoors replaces the seeded doors. Doors whose SiteID is empty belong
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

func (s *Server) seedDoorsLocked() {
	site := DefaultSite()
	s.sites[site.ID] = site
	for _, d := range s.seedDoors {
		if d.SiteID == "" {
			d.SiteID = site.ID
		}
		if d.ID == "" {
			d.ID = s.nextID(kindDoor)
		}
		s.doors[d.ID] = &d
	}
	s.seq[kindDoor] = max(s.seq[kindDoor], int64(len(s.seedDoors)))
}

// AddDoor adds a door at the default site opened by the given groups.
func (s *Server) AddDoor(name string, groups ...string) Door {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := &Door{ID: s.nextID(kindDoor), Name: name, SiteID: DefaultSite().ID, Groups: slices.Clone(groups)}
	s.doors[d.ID] = d
	return *d
}

// AccessEvent is a snapshot of a recorded access event.
type AccessEvent struct {
	ID      string
	Type    string    // event_type, such as door_keycard_entered_accepted
	Time    time.Time // millisecond precision, UTC
	DoorID  string
	SiteID  string
	UserID  string // "" for an unknown card
	Granted bool
	// RawCard is the presented Wiegand frame in hexadecimal (the card
	// number in decimal for a type without a Wiegand layout).
	RawCard   string
	Direction string
	// JSON is the event as /events/v1/access lists it.
	JSON []byte
}

type event struct{ AccessEvent }

// Event types the simulator records (the first is in Verkada's list; the
// rejected one follows its naming).
const (
	EventKeycardAccepted = "door_keycard_entered_accepted"
	EventKeycardRejected = "door_keycard_entered_rejected"
)

// WiegandCardType returns the name in CardTypes of the card type with
// Wiegand layout f ("" for a format without one), for oracles that find a
// card by its format, facility code and number.
func WiegandCardType(f wiegand.Format) string {
	for _, t := range CardTypes {
		if wiegandOf(t) == f {
			return t
		}
	}
	return ""
}

// wiegandOf maps a card type to its Wiegand layout, when it has one.
func wiegandOf(canon string) wiegand.Format {
	switch canon {
	case "Standard 26-bit Wiegand":
		return wiegand.H10301
	case "HID 34-bit":
		return wiegand.H10306
	case "HID 37-bit No Facility Code":
		return wiegand.H10302
	case "HID 37-bit":
		return wiegand.H10304
	case "HID Corporate 1000-35":
		return wiegand.Corp1000_35
	case "HID Corporate 1000-48":
		return wiegand.Corp1000_48
	}
	return 0
}

// Swipe presents a card (type or alias, facility code, number) at a door
// at time at, decides with the oracle (Opens on any of the door's groups)
// and records the access event.
func (s *Server) Swipe(cardType string, facility, number uint64, doorID string, at time.Time) (AccessEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.doors[doorID]
	canon, ok := canonicalType(cardType)
	if d == nil || !ok {
		return AccessEvent{}, fmt.Errorf("verkadasim: no door %s or unknown card type %q", doorID, cardType)
	}
	raw := strconv.FormatUint(number, 10)
	if f := wiegandOf(canon); f.Known() {
		fr, err := f.Encode(facility, number)
		if err != nil {
			return AccessEvent{}, err
		}
		raw = fr.Hex()
	}
	fac := ""
	if slices.Contains(withFacility, canon) {
		fac = strconv.FormatUint(facility, 10)
	}
	ev := AccessEvent{ID: s.nextID(kindEvent), Time: at.UTC().Truncate(time.Millisecond), DoorID: d.ID,
		SiteID: d.SiteID, RawCard: raw, Direction: d.Direction}
	if c := s.findCardLocked(canon, fac, strconv.FormatUint(number, 10)); c != nil {
		ev.UserID = c.user
		for _, g := range d.Groups {
			ev.Granted = ev.Granted || s.opensLocked(c.id, g, at)
		}
	}
	ev.Type = EventKeycardRejected
	if ev.Granted {
		ev.Type = EventKeycardAccepted
	}
	ev.JSON = s.eventJSON(ev, d)
	s.events = append(s.events, &event{ev})
	return ev, nil
}

// AddSystemEvent records an access event that is not a door decision
// (such as a door held open), for tests that must skip it.
func (s *Server) AddSystemEvent(eventType, doorID string, at time.Time) AccessEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev := AccessEvent{ID: s.nextID(kindEvent), Type: eventType, Time: at.UTC().Truncate(time.Millisecond), DoorID: doorID}
	body := map[string]any{"event_id": ev.ID, "event_type": eventType, "timestamp": ev.Time.Format(eventTime),
		"device_id": doorID, "site_id": DefaultSite().ID, "event_info": map[string]any{"doorId": doorID}}
	ev.JSON, _ = json.Marshal(body)
	s.events = append(s.events, &event{ev})
	return ev
}

// AccessEvents returns every recorded event in the order recorded.
func (s *Server) AccessEvents() []AccessEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]AccessEvent, len(s.events))
	for i, e := range s.events {
		out[i] = e.AccessEvent
	}
	return out
}

const eventTime = "2006-01-02T15:04:05.000Z"

func (s *Server) eventJSON(ev AccessEvent, d *Door) []byte {
	info := map[string]any{
		"accepted": ev.Granted, "doorId": d.ID, "siteId": d.SiteID, "siteName": s.sites[d.SiteID].Name,
		"rawCard": ev.RawCard, "direction": nullable(ev.Direction), "userId": nullable(ev.UserID),
		"doorInfo": map[string]any{"name": d.Name}, "eventType": ev.Type, "uuid": ev.ID,
	}
	if u := s.users[ev.UserID]; u != nil {
		info["userName"] = strings.TrimSpace(u.first + " " + u.last)
	}
	b, _ := json.Marshal(map[string]any{
		"event_id": ev.ID, "event_type": ev.Type, "timestamp": ev.Time.Format(eventTime),
		"device_id": d.ID, "device_type": "access_controller", "site_id": d.SiteID, "event_info": info,
	})
	return b
}

// listEvents serves GET /events/v1/access: events whose timestamp lies in
// [start_time, end_time] (Unix seconds, both inclusive to the second;
// defaults: the last hour until now), newest first, filtered by
// event_type (comma-separated), site_id, device_id and user_id, in pages.
func (s *Server) listEvents(q url.Values, _ []byte) answer {
	if a, ok := onlyParams(q, "start_time", "end_time", "page_size", "page_token", "event_type", "site_id", "device_id", "user_id"); !ok {
		return a
	}
	now := s.now()
	start, end := now.Add(-time.Hour), now
	for _, p := range []struct {
		key string
		dst *time.Time
	}{{"start_time", &start}, {"end_time", &end}} {
		if v := q.Get(p.key); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return errAnswer(http.StatusBadRequest, p.key+" must be a Unix timestamp in seconds")
			}
			*p.dst = time.Unix(n, 0)
		}
	}
	if end.Before(start) {
		return errAnswer(http.StatusBadRequest, "end_time must not be before start_time")
	}
	types := strings.Split(q.Get("event_type"), ",")
	var hits []*event
	for _, e := range s.events {
		sec := e.Time.Unix()
		switch {
		case sec < start.Unix() || sec > end.Unix(),
			q.Get("event_type") != "" && !slices.Contains(types, e.Type),
			q.Get("site_id") != "" && e.SiteID != q.Get("site_id"),
			q.Get("device_id") != "" && e.DoorID != q.Get("device_id"),
			q.Get("user_id") != "" && e.UserID != q.Get("user_id"):
			continue
		}
		hits = append(hits, e)
	}
	slices.SortStableFunc(hits, func(a, b *event) int { return b.Time.Compare(a.Time) })
	fp := "events?" + strings.Join([]string{strconv.FormatInt(start.Unix(), 10), strconv.FormatInt(end.Unix(), 10),
		q.Get("event_type"), q.Get("site_id"), q.Get("device_id"), q.Get("user_id")}, "&")
	lo, hi, next, a, ok := s.pageOf(q, len(hits), fp)
	if !ok {
		return a
	}
	rows := make([]json.RawMessage, 0, hi-lo)
	for _, e := range hits[lo:hi] {
		rows = append(rows, e.JSON)
	}
	return jsonAnswer(http.StatusOK, map[string]any{"events": rows, "next_page_token": nullable(next)})
}
