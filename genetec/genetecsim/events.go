package genetecsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/wiegand"
)

// Event types the simulator emits, and the only ones it accepts in a
// subscription.
const (
	EventAccessGranted = "AccessGranted"
	EventAccessRefused = "AccessRefused"
)

// StreamBoundary is the line that starts every part of the event stream.
const StreamBoundary = "--GENETECBOUNDARY"

// Defaults of the event stream.
const (
	// DefaultKeepAliveInterval is how often an event stream sends a bare
	// KeepAlive line. Public sources do not give the real interval.
	DefaultKeepAliveInterval = 10 * time.Second
	// DefaultStreamBuffer is how many event parts a stream holds for a
	// client that does not read them before the server drops it.
	DefaultStreamBuffer = 10000
)

// Card is the data a reader sends when a badge is presented: the SDK's
// one card type, wiegand.Card (acs.Card and badge.Card are the same type).
// A credential carries wiegand.H10301 or wiegand.H10302 cards.
type Card = wiegand.Card

// Event is one access decision at a door, as recorded by Swipe.
type Event struct {
	Seq        int       // 1, 2, … in the order of the swipes
	Type       string    // EventAccessGranted or EventAccessRefused
	Time       time.Time // when the card was presented (UTC)
	Door       string    // door GUID
	Credential string    // credential GUID; empty for a card no credential carries
	Cardholder string    // cardholder GUID; empty when unknown or unassigned
}

// Granted reports whether the door let the card through.
func (e Event) Granted() bool { return e.Type == EventAccessGranted }

// wireEvent is an event as the stream and the DoorActivity report write
// it. EventType, Timestamp and SourceGuid are the fields public samples
// read; CardholderGuid and CredentialGuid are named after the Security
// Center SDK's access-control report columns, which public Web SDK
// sources do not show.
type wireEvent struct {
	EventType      string
	Timestamp      string
	SourceGuid     string
	CardholderGuid string `json:",omitempty"`
	CredentialGuid string `json:",omitempty"`
}

func (e Event) wire() wireEvent {
	return wireEvent{
		EventType:      e.Type,
		Timestamp:      e.Time.UTC().Format(time.RFC3339Nano),
		SourceGuid:     e.Door,
		CardholderGuid: e.Cardholder,
		CredentialGuid: e.Credential,
	}
}

type endKind int

const (
	endNone  endKind = iota
	endClose         // end the response cleanly (closeconnection, EndStreams)
	endDrop          // abort the connection (DropStreams, a full buffer)
)

// streamConn is one open GET events response. Its fields are guarded by
// Server.mu, except wake.
type streamConn struct {
	id         string
	user       string
	wake       chan struct{}
	queue      [][]byte // rendered parts not yet written
	keepAlives int      // KeepAlive lines requested by Server.KeepAlive
	stalled    bool
	end        endKind
	written    int
}

func (c *streamConn) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// eventState is the event log, the open streams and the subscriptions.
// It is guarded by Server.mu.
type eventState struct {
	log     []Event
	conns   map[string]*streamConn
	subs    map[string]map[string]bool // user → "source|EventType", source "door" or a door GUID
	cutNext int
}

func (ev *eventState) init() {
	ev.conns = map[string]*streamConn{}
	ev.subs = map[string]map[string]bool{}
}

// AddDoor creates a door granted by the access rules (GUIDs) and returns
// its GUID, or false when one of the rules is not an access rule.
func (s *Server) AddDoor(name string, rules ...string) (string, bool) {
	return s.addDoor("", name, rules...)
}

func (s *Server) addDoor(guid, name string, rules ...string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var rs []*entity
	for _, r := range rules {
		g, ok := ParseGUID(r)
		if !ok || s.st.byGUID[g] == nil || s.st.byGUID[g].typ != TypeAccessRule {
			return "", false
		}
		rs = append(rs, s.st.byGUID[g])
	}
	d := &entity{guid: guid, typ: TypeDoor, name: name}
	s.st.insert(d, s.clock())
	for _, r := range rs {
		if !slices.Contains(r.doors, d.guid) {
			r.doors = append(r.doors, d.guid)
		}
	}
	return d.guid, true
}

// DoorInfo is a snapshot of a door.
type DoorInfo struct {
	GUID   string
	Name   string
	Rules  []string // access rules granting the door
	Groups []string // cardholder groups those rules apply to
}

// Doors returns every door in creation order.
func (s *Server) Doors() []DoorInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []DoorInfo
	for _, d := range s.st.sorted(func(e *entity) bool { return e.typ == TypeDoor }) {
		di := DoorInfo{GUID: d.guid, Name: d.name}
		for _, r := range s.st.rulesOf(d.guid) {
			di.Rules = append(di.Rules, r.guid)
			for _, g := range r.groups {
				if !slices.Contains(di.Groups, g) {
					di.Groups = append(di.Groups, g)
				}
			}
		}
		out = append(out, di)
	}
	return out
}

func (st *store) rulesOf(door string) []*entity {
	return st.sorted(func(e *entity) bool { return e.typ == TypeAccessRule && slices.Contains(e.doors, door) })
}

// DoorOpens is the door oracle: it reports whether, at time at, the
// credential (a GUID) opens the door. That is the case when an access
// rule granting the door applies to a cardholder group the credential
// opens (see Opens): the conformance kit's rule, applied to the door's
// access levels.
func (s *Server) DoorOpens(credential, door string, at time.Time) bool {
	cg, ok1 := ParseGUID(credential)
	dg, ok2 := ParseGUID(door)
	if !ok1 || !ok2 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.doorOpens(cg, dg, at)
}

func (st *store) doorOpens(cg, dg string, at time.Time) bool {
	for _, e := range st.byGUID {
		if e.typ != TypeAccessRule || !slices.Contains(e.doors, dg) {
			continue
		}
		for _, g := range e.groups {
			if st.opens(cg, g, at) {
				return true
			}
		}
	}
	return false
}

// Swipe presents card at the door at time at, as a reader would: the
// door decides with DoorOpens (a card no credential carries is refused),
// the decision is recorded in the event log (Events, the DoorActivity
// report) and written to every event stream subscribed to it. It returns
// the recorded event; an unknown door or card data that does not fit its
// format is an error and records nothing.
func (s *Server) Swipe(door string, card Card, at time.Time) (Event, error) {
	dg, ok := ParseGUID(door)
	if !ok {
		return Event{}, fmt.Errorf("genetecsim: %q is not a door GUID", door)
	}
	fr, err := card.Format.Encode(card.Facility, card.Number)
	if err != nil {
		return Event{}, fmt.Errorf("genetecsim: card: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.st.byGUID[dg]; d == nil || d.typ != TypeDoor {
		return Event{}, fmt.Errorf("genetecsim: no door %s", dg)
	}
	e := Event{Type: EventAccessRefused, Time: at.UTC(), Door: dg}
	for _, c := range s.st.byGUID {
		if c.typ == TypeCredential && c.bits == int(fr.Len) && c.raw == fr.Value {
			e.Credential, e.Cardholder = c.guid, c.holder
			if s.st.doorOpens(c.guid, dg, at) {
				e.Type = EventAccessGranted
			}
			break
		}
	}
	e.Seq = len(s.ev.log) + 1
	s.ev.log = append(s.ev.log, e)
	s.emitLocked(e)
	return e, nil
}

// Events returns the event log in the order of the swipes.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ev.log)
}

func renderPart(e Event) []byte {
	res, _ := json.Marshal(e.wire())
	b := make([]byte, 0, 96+len(res))
	b = append(b, StreamBoundary+"\r\nContent-type: text/json\r\n\r\n"+`{"Rsp":{"Status":"Ok","Result":`...)
	b = append(b, res...)
	b = append(b, "}}\r\n"...)
	return b
}

// emitLocked queues e on every stream subscribed to it. A stream whose
// buffer is full is dropped.
func (s *Server) emitLocked(e Event) {
	var part []byte
	for _, c := range s.ev.conns {
		subs := s.ev.subs[c.user]
		if !subs["door|"+e.Type] && !subs[e.Door+"|"+e.Type] {
			continue
		}
		if len(c.queue) >= s.streamBuf {
			c.end = endDrop
			s.removeLocked(c)
			c.poke()
			continue
		}
		if part == nil {
			part = renderPart(e)
		}
		c.queue = append(c.queue, part)
		c.poke()
	}
}

// removeLocked forgets a stream; a user's subscriptions end with the
// last of their streams.
func (s *Server) removeLocked(c *streamConn) {
	if s.ev.conns[c.id] != c {
		return
	}
	delete(s.ev.conns, c.id)
	for _, o := range s.ev.conns {
		if o.user == c.user {
			return
		}
	}
	delete(s.ev.subs, c.user)
}

func (s *Server) endStream(c *streamConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(c)
}

// StreamInfo is a snapshot of an open event stream.
type StreamInfo struct {
	ID      string // the ConnectionId the stream announced
	User    string
	Pending int // event parts queued and not yet written
	Written int // event parts written
	Stalled bool
}

// Streams returns the open event streams, ordered by ConnectionId.
func (s *Server) Streams() []StreamInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]StreamInfo, 0, len(s.ev.conns))
	for _, c := range s.ev.conns {
		out = append(out, StreamInfo{ID: c.id, User: c.user, Pending: len(c.queue), Written: c.written, Stalled: c.stalled})
	}
	slices.SortFunc(out, func(a, b StreamInfo) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Subscribed returns a user's subscriptions as "source,EventType", source
// being "Door" (every door) or a door GUID, sorted.
func (s *Server) Subscribed(user string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.ev.subs[user] {
		src, typ, _ := strings.Cut(k, "|")
		if src == "door" {
			src = TypeDoor
		}
		out = append(out, src+","+typ)
	}
	slices.Sort(out)
	return out
}

func (s *Server) endAll(kind endKind) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.ev.conns {
		c.end = kind
		s.removeLocked(c)
		c.poke()
		n++
	}
	return n
}

// DropStreams aborts every open event stream (the connection is closed
// without ending the response, as when the network or the Web SDK role
// fails) and returns how many there were. Subscriptions end with them.
func (s *Server) DropStreams() int { return s.endAll(endDrop) }

// EndStreams ends every open event stream cleanly, as closeconnection
// does, and returns how many there were.
func (s *Server) EndStreams() int { return s.endAll(endClose) }

// StallStreams makes every open event stream go silent while staying
// connected: events are queued but not written, and no KeepAlive is sent
// (a half-open connection). It returns how many streams it stalled;
// streams opened later are not affected.
func (s *Server) StallStreams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.ev.conns {
		c.stalled = true
	}
	return len(s.ev.conns)
}

// CutNextPart makes the next event part any stream writes stop halfway,
// after which that connection is aborted. The event stays in the log.
func (s *Server) CutNextPart() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ev.cutNext++
}

// KeepAlive writes one KeepAlive line on every open, unstalled stream.
func (s *Server) KeepAlive() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.ev.conns {
		c.keepAlives++
		c.poke()
	}
}

// SetKeepAliveInterval changes how often streams send KeepAlive lines on
// their own (0 stops them).
func (s *Server) SetKeepAliveInterval(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keepAlive = max(d, 0)
	for _, c := range s.ev.conns {
		c.poke()
	}
}

var keepAliveLine = []byte("KeepAlive\r\n")

// serveStream writes the event stream: the ConnectionId line, then event
// parts and KeepAlive lines until the stream is ended or the client goes.
func (s *Server) serveStream(w http.ResponseWriter, r *http.Request, c *streamConn) {
	defer s.endStream(c)
	rc := http.NewResponseController(w)
	send := func(b []byte) bool {
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send([]byte("ConnectionId:" + c.id + "\r\n")) {
		return
	}
	var ka keepAliveTicker
	defer ka.stop()
	for {
		st := s.nextStep(c)
		switch st.end {
		case endDrop:
			panic(http.ErrAbortHandler)
		case endClose:
			return
		}
		ka.every(st.keepAlive)
		if st.cut {
			send(st.part[:len(st.part)/2])
			panic(http.ErrAbortHandler)
		}
		if st.part != nil {
			if !send(st.part) {
				return
			}
			s.mu.Lock()
			c.written++
			s.mu.Unlock()
		}
		for range st.keepAlives {
			if !send(keepAliveLine) {
				return
			}
		}
		if st.more {
			continue
		}
		select {
		case <-r.Context().Done():
			return
		case <-c.wake:
		case <-ka.c:
			s.mu.Lock()
			quiet := c.stalled
			s.mu.Unlock()
			if !quiet && !send(keepAliveLine) {
				return
			}
		}
	}
}

// streamStep is what a stream does next.
type streamStep struct {
	end        endKind
	part       []byte        // the next part to send, if any
	cut        bool          // send half of part, then drop the connection
	keepAlives int           // KeepAlive lines asked for, after the queued parts
	more       bool          // further parts wait
	keepAlive  time.Duration // the KeepAlive interval now
}

// nextStep takes the next part off c's queue: one part at a time, so
// that what a slow client has not read stays in the queue (Pending)
// rather than in the stream's goroutine. A stalled stream sends nothing.
func (s *Server) nextStep(c *streamConn) streamStep {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := streamStep{end: c.end, keepAlive: s.keepAlive}
	if !c.stalled && c.end == endNone {
		if len(c.queue) > 0 {
			st.part = c.queue[0]
			c.queue[0] = nil
			c.queue = c.queue[1:]
			if len(c.queue) == 0 {
				c.queue = nil
			}
			if s.ev.cutNext > 0 {
				s.ev.cutNext--
				st.cut = true
			}
		}
		if len(c.queue) == 0 {
			// KeepAlive lines asked for go after the parts queued before.
			st.keepAlives, c.keepAlives = c.keepAlives, 0
		}
	}
	st.more = len(c.queue) > 0 && !c.stalled
	return st
}

// keepAliveTicker ticks every KeepAlive interval, following changes of
// the interval (0: no ticks).
type keepAliveTicker struct {
	interval time.Duration
	set      bool
	t        *time.Ticker
	c        <-chan time.Time
}

func (k *keepAliveTicker) every(d time.Duration) {
	if k.set && d == k.interval {
		return
	}
	k.stop()
	k.interval, k.set = d, true
	if d > 0 {
		k.t = time.NewTicker(d)
		k.c = k.t.C
	}
}

func (k *keepAliveTicker) stop() {
	if k.t != nil {
		k.t.Stop()
		k.t, k.c = nil, nil
	}
}

// eventsRoute serves events (the stream), events/subscribe,
// events/unsubscribe, events/subscribed and events/closeconnection/{id}.
func (s *Server) eventsRoute(method, sub, q string, hasQ bool, user string) answer {
	lower := strings.ToLower(sub)
	switch {
	case lower == "" || lower == "/":
		if method != http.MethodGet || hasQ {
			return s.fail(failf(codeInvalidOperation, "The event stream is opened with GET events"))
		}
		return s.openStream(user)
	case lower == "/subscribe" || lower == "/unsubscribe":
		if method != http.MethodGet {
			return s.fail(failf(codeInvalidOperation, "Subscriptions are changed with GET"))
		}
		if !hasQ {
			return s.fail(failf(codeInvalidOperation, "Missing q parameter"))
		}
		return s.changeSubscriptions(user, q, lower == "/subscribe")
	case lower == "/subscribed":
		if method != http.MethodGet || hasQ {
			return s.fail(failf(codeInvalidOperation, "Use GET events/subscribed"))
		}
		return s.envelope("Ok", s.subscribedResult(user))
	case strings.HasPrefix(lower, "/closeconnection/"):
		if method != http.MethodPost || hasQ {
			return s.fail(failf(codeInvalidOperation, "Close the event connection with POST events/closeconnection/{connectionId}"))
		}
		return s.closeConnection(user, sub[len("/closeconnection/"):])
	}
	return htmlAnswer(http.StatusBadRequest, "400 Bad Request")
}

// openStream answers GET events: a new connection of user's session,
// served as a multipart stream.
func (s *Server) openStream(user string) answer {
	c := &streamConn{id: newGUID(), user: user, wake: make(chan struct{}, 1)}
	s.mu.Lock()
	s.ev.conns[c.id] = c
	s.mu.Unlock()
	h := http.Header{"Content-Type": {"multipart/mixed; boundary=GENETECBOUNDARY"}, "Cache-Control": {"no-cache"}}
	return answer{status: http.StatusOK, header: h, stream: c}
}

// changeSubscriptions answers events/subscribe (which needs an open event
// connection of the session) and events/unsubscribe.
func (s *Server) changeSubscriptions(user, q string, subscribe bool) answer {
	keys, ferr := s.subscriptionKeys(q)
	if ferr != nil {
		return s.fail(ferr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !subscribe {
		for _, k := range keys {
			delete(s.ev.subs[user], k)
		}
		return s.envelope("Ok", nil)
	}
	open := false
	for _, c := range s.ev.conns {
		open = open || c.user == user
	}
	if !open {
		return s.fail(failf(codeInvalidOperation, "No event connection is open for this session: open GET events before subscribing"))
	}
	if s.ev.subs[user] == nil {
		s.ev.subs[user] = map[string]bool{}
	}
	for _, k := range keys {
		s.ev.subs[user][k] = true
	}
	return s.envelope("Ok", nil)
}

// closeConnection answers POST events/closeconnection/{id}: the stream
// of that connection of the session ends cleanly.
func (s *Server) closeConnection(user, rawID string) answer {
	id, ok := ParseGUID(rawID)
	if !ok {
		return s.fail(failf(codeInvalidOperation, "'%s' is not a connection id", rawID))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.ev.conns[id]
	if c == nil || c.user != user {
		if s.st.missing == MissingUnknownEntity {
			return s.fail(failf(codeUnknownEntity, "Event connection '%s' was not found", id))
		}
		return s.fail(failf(codeInvalidOperation, "Unable to find event connection %s", id))
	}
	c.end = endClose
	s.removeLocked(c)
	c.poke()
	return s.envelope("Ok", nil)
}

// subscriptionKeys parses event(source,EventType)[,event(…)…].
func (s *Server) subscriptionKeys(q string) ([]string, *sdkError) {
	items, err := ParseQuery(q)
	if err != nil {
		return nil, failf(codeInvalidOperation, "%s", err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for _, it := range items {
		if it.Kind != KindCall || !strings.EqualFold(it.Func, "event") || it.Name != it.Func || len(it.Args) != 2 {
			return nil, failf(codeInvalidOperation, "Expected event(source,eventType), got '%s'", it.Raw)
		}
		src, typ := it.Args[0], it.Args[1]
		switch {
		case strings.EqualFold(src, TypeDoor):
			src = "door"
		default:
			g, ok := ParseGUID(src)
			if !ok {
				return nil, failf(codeInvalidOperation, "Event source '%s' is not supported by the simulator (use Door or a door GUID)", src)
			}
			if d := s.st.byGUID[g]; d == nil || d.typ != TypeDoor {
				return nil, s.st.unknown(g)
			}
			src = g
		}
		switch {
		case strings.EqualFold(typ, EventAccessGranted):
			typ = EventAccessGranted
		case strings.EqualFold(typ, EventAccessRefused):
			typ = EventAccessRefused
		default:
			return nil, failf(codeInvalidOperation, "Event type '%s' is not supported by the simulator", typ)
		}
		keys = append(keys, src+"|"+typ)
	}
	return keys, nil
}

type subscribedItem struct {
	EventType string
	Entities  []string
}

func (s *Server) subscribedResult(user string) []subscribedItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	byType := map[string][]string{}
	for k := range s.ev.subs[user] {
		src, typ, _ := strings.Cut(k, "|")
		if src == "door" {
			for _, d := range s.st.sorted(func(e *entity) bool { return e.typ == TypeDoor }) {
				byType[typ] = append(byType[typ], d.guid)
			}
			continue
		}
		byType[typ] = append(byType[typ], src)
	}
	out := []subscribedItem{}
	for _, typ := range []string{EventAccessGranted, EventAccessRefused} {
		if ents, ok := byType[typ]; ok {
			slices.Sort(ents)
			out = append(out, subscribedItem{EventType: typ, Entities: slices.Compact(ents)})
		}
	}
	return out
}

// doorActivity runs report/DoorActivity?q=Doors@g[@g…],TimeRange.SetTimeRange(from,to).
// Both filters are required; the range includes both ends; unknown door
// GUIDs match nothing. Rows come newest first (by event time, then by
// swipe); more than maxResults rows answer TooManyResults with the newest
// maxResults. Paging is refused, as
// the real server refuses it on activity reports.
func (s *Server) doorActivity(q string) answer {
	items, err := ParseQuery(q)
	if err != nil {
		return s.fail(failf(codeInvalidOperation, "%s", err.Error()))
	}
	doors := map[string]bool{}
	var from, to time.Time
	ranged := false
	for _, it := range items {
		switch {
		case strings.EqualFold(it.Name, "Doors") && it.Kind == KindAdd:
			for _, v := range it.Values {
				g, ok := ParseGUID(v)
				if !ok {
					return s.fail(failf(codeInvalidOperation, "'%s' is not a GUID", v))
				}
				doors[g] = true
			}
		case strings.EqualFold(it.Name, "TimeRange") && it.Kind == KindCall && strings.EqualFold(it.Func, "SetTimeRange"):
			if len(it.Args) != 2 {
				return s.fail(failf(codeInvalidOperation, "SetTimeRange takes a start and an end"))
			}
			var ok1, ok2 bool
			from, ok1 = parseTime(it.Args[0])
			to, ok2 = parseTime(it.Args[1])
			if !ok1 || !ok2 || to.Before(from) {
				return s.fail(failf(codeInvalidOperation, "'%s' is not a valid time range", it.Raw))
			}
			ranged = true
		default:
			return s.fail(failf(codeInvalidOperation, "Could not find property '%s' from filter: '%s'", it.Name, it.Raw))
		}
	}
	if len(doors) == 0 {
		return s.fail(failf(codeInvalidOperation, "The report needs Doors"))
	}
	if !ranged {
		return s.fail(failf(codeInvalidOperation, "The report needs TimeRange.SetTimeRange(start,end)"))
	}
	s.mu.Lock()
	var match []Event
	for _, e := range s.ev.log {
		if doors[e.Door] && !e.Time.Before(from) && !e.Time.After(to) {
			match = append(match, e)
		}
	}
	s.mu.Unlock()
	slices.SortStableFunc(match, func(a, b Event) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return b.Seq - a.Seq
	})
	rows := make([]wireEvent, len(match))
	for i, e := range match {
		rows[i] = e.wire()
	}
	status := "Ok"
	if len(rows) > s.maxResults {
		status, rows = "TooManyResults", rows[:s.maxResults]
	}
	return s.envelope(status, rows)
}
