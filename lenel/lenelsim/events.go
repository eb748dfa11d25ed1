package lenelsim

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Reader time-and-attendance types (Lnl_Reader.TimeAttendanceType, as
// DataConduIT enumerates them): whether a reader is an entrance or an exit.
const (
	ReaderNone     int64 = 0
	ReaderEntrance int64 = 1
	ReaderExit     int64 = 2
)

// Access results of logged events: DataConduIT's AccessResult
// enumeration, which OpenAccess's access_result carries.
const (
	AccessOther         int64 = 0
	AccessUnknown       int64 = 1
	AccessGranted       int64 = 2
	AccessDenied        int64 = 3
	AccessNotApplicable int64 = 4
)

// Event types and subtypes the simulator writes in event_type and
// event_subtype. OnGuard's own numbering is not public; these are the
// simulator's choice, and clients should rely on access_result instead.
const (
	EventTypeAccess int64 = 0
	EventTypeAlarm  int64 = 1

	SubtypeGranted    int64 = 0 // "Access Granted"
	SubtypeDenied     int64 = 1 // "Access Denied"
	SubtypeInvalid    int64 = 2 // "Invalid Badge"
	SubtypeDoorForced int64 = 3 // "Door Forced Open"
)

// defaultPanelPrefix names panels: "Panel 1", "Panel 2", ...
const defaultPanelPrefix = "Panel "

// DoorSpec describes a door to add: a card reader on a panel, opening for
// the access levels listed.
type DoorSpec struct {
	// Panel is the controller's ID (0 means 1).
	Panel int64
	// Name is the reader's name, as logged events report it in device_name.
	Name string
	// TimeAttendance is ReaderNone, ReaderEntrance or ReaderExit.
	TimeAttendance int64
	// AccessLevels are the IDs of the access levels that include the
	// reader.
	AccessLevels []int64
	// Keypad gives the reader a keypad in "card or PIN" mode: a badge's
	// PIN entered there opens it as the badge would (see PINOpensDoor).
	Keypad bool
}

// Door is a card reader the simulator knows.
type Door struct {
	// ID is "<panel>:<reader>", as the lenel adapter reports
	// acs.DoorEvent.DoorID.
	ID             string
	PanelID        int64
	ReaderID       int64
	Name           string
	TimeAttendance int64
	AccessLevels   []int64
}

// LoggedEvent is one event in the simulator's event log.
type LoggedEvent struct {
	Serial       int64
	Time         time.Time // UTC, whole seconds
	DoorID       string
	PanelID      int64
	ReaderID     int64
	Description  string
	EventType    int64
	EventSubtype int64
	AccessResult int64
	// Entered reports whether the cardholder went through the door
	// (cardholder_entered).
	Entered bool
	// BadgeID is the badge ID read (0: none); PersonID the cardholder or
	// visitor holding it (0: none).
	BadgeID   int64
	PersonID  int64
	FirstName string
	LastName  string
}

// AddDoor adds a reader (an Lnl_Reader instance) and links it to its
// access levels, and returns it. Readers on a panel are numbered from 1.
func (s *Server) AddDoor(d DoorSpec) Door {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.Panel <= 0 {
		d.Panel = 1
	}
	if _, ok := s.panels[d.Panel]; !ok {
		s.panels[d.Panel] = defaultPanelPrefix + formatInt(d.Panel)
	}
	reader := s.nextSeq("reader:" + formatInt(d.Panel))
	in := instance{"PANELID": d.Panel, "READERID": reader, "NAME": d.Name, "TIMEATTENDANCETYPE": d.TimeAttendance}
	t := s.tables["lnl_reader"]
	id := t.keyOf(in)
	t.put(id, in)
	s.doorLevels[id] = slices.Clone(d.AccessLevels)
	if d.Keypad {
		s.keypads[id] = true
	}
	return s.doorLocked(id)
}

// doorLocked returns the door with the given ID; s.mu is held.
func (s *Server) doorLocked(id string) Door {
	r := s.tables["lnl_reader"].rows[id]
	name, _ := r["NAME"].(string)
	return Door{
		ID:             id,
		PanelID:        r.int("PANELID"),
		ReaderID:       r.int("READERID"),
		Name:           name,
		TimeAttendance: r.int("TIMEATTENDANCETYPE"),
		AccessLevels:   slices.Clone(s.doorLevels[id]),
	}
}

// Doors returns every door, ordered by panel and reader.
func (s *Server) Doors() []Door {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Door
	for _, r := range s.tables["lnl_reader"].sorted(nil) {
		out = append(out, s.doorLocked(s.tables["lnl_reader"].keyOf(r)))
	}
	return out
}

// Swipe presents the badge with the given badge ID (Lnl_Badge.ID, what the
// reader decodes from the card) at a door at time at (the zero time: the
// simulator's clock) and logs the decision as OnGuard does, with the next
// serial number. Access is granted iff the badge opens one of the door's
// access levels at that time, by the same rule as Opens; the cardholder
// then goes through the door. A badge ID no badge has is logged as
// "Invalid Badge", denied. A door that does not exist logs nothing and
// reports false.
func (s *Server) Swipe(badgeID int64, doorID string, at time.Time) (granted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.tables["lnl_reader"].rows[doorID]
	if !ok {
		return false
	}
	if at.IsZero() {
		at = s.now()
	}
	ev := LoggedEvent{
		Time: at, DoorID: doorID, PanelID: r.int("PANELID"), ReaderID: r.int("READERID"),
		EventType: EventTypeAccess, EventSubtype: SubtypeInvalid, Description: "Invalid Badge",
		AccessResult: AccessDenied, BadgeID: badgeID,
	}
	var badge instance
	for _, b := range s.tables["lnl_badge"].rows {
		if b.int("ID") == badgeID {
			badge = b
			break
		}
	}
	if badge != nil {
		ev.EventSubtype, ev.Description = SubtypeDenied, "Access Denied"
		if p, ok := s.person(badge.int("PERSONID")); ok {
			ev.PersonID = p.int("ID")
			ev.FirstName, _ = p["FIRSTNAME"].(string)
			ev.LastName, _ = p["LASTNAME"].(string)
		}
		for _, l := range s.doorLevels[doorID] {
			if s.opensLocked(badge.int("BADGEKEY"), l, at) {
				granted = true
				break
			}
		}
	}
	if granted {
		ev.EventSubtype, ev.Description, ev.AccessResult, ev.Entered = SubtypeGranted, "Access Granted", AccessGranted, true
	}
	s.logLocked(ev)
	return granted
}

// LogDoorForced logs a "Door Forced Open" alarm at a door: an event that is
// not an access decision (access_result "not applicable", no badge). It
// reports false when the door does not exist.
func (s *Server) LogDoorForced(doorID string, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.tables["lnl_reader"].rows[doorID]
	if !ok {
		return false
	}
	if at.IsZero() {
		at = s.now()
	}
	s.logLocked(LoggedEvent{
		Time: at, DoorID: doorID, PanelID: r.int("PANELID"), ReaderID: r.int("READERID"),
		EventType: EventTypeAlarm, EventSubtype: SubtypeDoorForced, Description: "Door Forced Open",
		AccessResult: AccessNotApplicable,
	})
	return true
}

// logLocked appends an event with the next serial number; s.mu is held.
// Times are kept to the second, as OnGuard logs them.
func (s *Server) logLocked(ev LoggedEvent) {
	s.serial++
	ev.Serial = s.serial
	ev.Time = ev.Time.UTC().Truncate(time.Second)
	s.events = append(s.events, ev)
	s.eventRows = append(s.eventRows, ev.row())
}

// LoggedEvents returns a copy of the event log, in serial order.
func (s *Server) LoggedEvents() []LoggedEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// loggedEventType describes the properties of logged events that filters
// and order_by may name.
var loggedEventType = func() *typeDef {
	t := &typeDef{name: "logged events", readOnly: true, relational: true, props: []propDef{
		{name: "SERIAL_NUMBER", out: "serial_number", kind: kindInt},
		{name: "TIMESTAMP", out: "timestamp", kind: kindTime},
		{name: "CONTROLLER_ID", out: "controller_id", kind: kindInt},
		{name: "DEVICE_ID", out: "device_id", kind: kindInt},
		{name: "EVENT_TYPE", out: "event_type", kind: kindInt},
		{name: "EVENT_SUBTYPE", out: "event_subtype", kind: kindInt},
		{name: "ACCESS_RESULT", out: "access_result", kind: kindInt},
		{name: "BADGE_ID", out: "badge_id", kind: kindInt},
		{name: "CARDHOLDER_KEY", out: "cardholder_key", kind: kindInt},
	}}
	t.index()
	return t
}()

// row is the event as a filterable instance; absent badge and cardholder
// are NULL.
func (e LoggedEvent) row() instance {
	in := instance{
		"SERIAL_NUMBER": e.Serial, "TIMESTAMP": e.Time, "CONTROLLER_ID": e.PanelID, "DEVICE_ID": e.ReaderID,
		"EVENT_TYPE": e.EventType, "EVENT_SUBTYPE": e.EventSubtype, "ACCESS_RESULT": e.AccessResult,
	}
	if e.BadgeID != 0 {
		in["BADGE_ID"] = e.BadgeID
	}
	if e.PersonID != 0 {
		in["CARDHOLDER_KEY"] = e.PersonID
	}
	return in
}

// orderKey is one order_by field.
type orderKey struct {
	prop *propDef
	desc bool
}

// parseOrderBy reads a comma-separated list of property names, each
// optionally followed by ASC or DESC. OpenAccess documents only "the
// field(s) to use when sorting the results".
func parseOrderBy(t *typeDef, s string) ([]orderKey, error) {
	var out []orderKey
	for part := range strings.SplitSeq(s, ",") {
		f := strings.Fields(part)
		if len(f) == 0 || len(f) > 2 {
			return nil, fmt.Errorf("malformed order_by %q", s)
		}
		p := t.prop(f[0])
		if p == nil || p.kind == kindString || p.kind == kindBool {
			return nil, fmt.Errorf("cannot order by %q", f[0])
		}
		k := orderKey{prop: p}
		if len(f) == 2 {
			switch strings.ToLower(f[1]) {
			case "asc":
			case "desc":
				k.desc = true
			default:
				return nil, fmt.Errorf("unknown sort direction %q", f[1])
			}
		}
		out = append(out, k)
	}
	return out, nil
}

func (s *Server) loggedEvents(c call) (any, *apiError) {
	if c.typeName != "" || c.hasProps {
		return nil, badItem("GET /logged_events takes no type_name or property_value_map.")
	}
	if strings.TrimSpace(c.filter) == "" {
		return nil, badItem("The filter parameter is required.")
	}
	t := loggedEventType
	f, err := parseFilter(t, c.filter)
	if err != nil {
		return nil, badItem("The filter is invalid: %s.", err.Error())
	}
	order := []orderKey{{prop: t.prop("SERIAL_NUMBER")}}
	if c.orderBy != "" {
		if order, err = parseOrderBy(t, c.orderBy); err != nil {
			return nil, badItem("The parameter order_by is invalid: %s.", err.Error())
		}
	}
	page, aerr := intParam("page_number", c.pageNumber, 1, 1, 1<<30)
	if aerr != nil {
		return nil, aerr
	}
	size, aerr := intParam("page_size", c.pageSize, 20, 1, 100)
	if aerr != nil {
		return nil, aerr
	}
	type match struct {
		ev  *LoggedEvent
		row instance
	}
	var all []match
	for i, r := range s.eventRows {
		if f.match(r) {
			all = append(all, match{&s.events[i], r})
		}
	}
	slices.SortStableFunc(all, func(a, b match) int {
		for _, k := range order {
			var c int
			if k.prop.kind == kindTime {
				at, _ := a.row[k.prop.name].(time.Time)
				bt, _ := b.row[k.prop.name].(time.Time)
				c = at.Compare(bt)
			} else {
				c = compareInt(a.row.int(k.prop.name), b.row.int(k.prop.name))
			}
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	total := len(all)
	pages := (total + size - 1) / size
	lo := min((page-1)*size, total)
	hi := min(lo+size, total)
	items := make([]eventJSON, 0, hi-lo)
	for _, m := range all[lo:hi] {
		items = append(items, s.eventOut(m.ev))
	}
	return map[string]any{
		"count":       len(items),
		"item_list":   items,
		"page_number": page,
		"page_size":   size,
		"total_items": total,
		"total_pages": pages,
		"version":     "1.0",
	}, nil
}

// eventJSON is OpenAccess's LoggedEvents object: a flat object (not a
// property_value_map) with snake_case names; absent values are null.
type eventJSON struct {
	SerialNumber        int64   `json:"serial_number"`
	Timestamp           string  `json:"timestamp"`
	Description         string  `json:"description"`
	ControllerID        int64   `json:"controller_id"`
	DeviceID            int64   `json:"device_id"`
	SubdeviceID         int64   `json:"subdevice_id"`
	SegmentID           int64   `json:"segment_id"`
	EventType           int64   `json:"event_type"`
	EventSubtype        int64   `json:"event_subtype"`
	EventText           string  `json:"event_text"`
	BadgeID             *int64  `json:"badge_id"`
	BadgeIDStr          *string `json:"badge_id_str"`
	BadgeExtendedID     *string `json:"badge_extended_id"`
	BadgeIssueCode      *int64  `json:"badge_issue_code"`
	AssetID             *int64  `json:"asset_id"`
	CardholderKey       *int64  `json:"cardholder_key"`
	AlarmPriority       int64   `json:"alarm_priority"`
	AccessResult        int64   `json:"access_result"`
	CardholderEntered   bool    `json:"cardholder_entered"`
	Duress              bool    `json:"duress"`
	ControllerName      string  `json:"controller_name"`
	EventSourceName     string  `json:"event_source_name"`
	CardholderFirstName *string `json:"cardholder_first_name"`
	CardholderLastName  *string `json:"cardholder_last_name"`
	DeviceName          string  `json:"device_name"`
	SubdeviceName       string  `json:"subdevice_name"`
	MustAcknowledge     bool    `json:"must_acknowledge"`
	MustMarkInProgress  bool    `json:"must_mark_in_progress"`
}

// eventOut writes an event; s.mu is held.
func (s *Server) eventOut(e *LoggedEvent) eventJSON {
	out := eventJSON{
		SerialNumber: e.Serial, Timestamp: s.formatTime(e.Time), Description: e.Description,
		ControllerID: e.PanelID, DeviceID: e.ReaderID, EventType: e.EventType, EventSubtype: e.EventSubtype,
		AccessResult: e.AccessResult, CardholderEntered: e.Entered, ControllerName: s.panels[e.PanelID],
	}
	if r, ok := s.tables["lnl_reader"].rows[e.DoorID]; ok {
		out.DeviceName, _ = r["NAME"].(string)
	}
	if e.BadgeID != 0 {
		id, str := e.BadgeID, formatInt(e.BadgeID)
		out.BadgeID, out.BadgeIDStr = &id, &str
	}
	if e.PersonID != 0 {
		key, first, last := e.PersonID, e.FirstName, e.LastName
		out.CardholderKey, out.CardholderFirstName, out.CardholderLastName = &key, &first, &last
	}
	return out
}

// parseInputTime reads a date in one of the accepted input layouts.
func parseInputTime(s string) (time.Time, error) {
	for _, l := range inputLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date with a numeric offset", s)
}
