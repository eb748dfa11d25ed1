package genetecsim_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/wiegand"
)

// stream is a raw GET events response read line by line.
type stream struct {
	t      *testing.T
	resp   *http.Response
	lines  chan string
	errc   chan error
	id     string
	cancel context.CancelFunc
}

func (f *fixture) openStream(t *testing.T) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/WebSdk/events", nil)
	req.SetBasicAuth(genetecsim.DefaultUser+";"+genetecsim.DefaultApplicationID, genetecsim.DefaultPassword)
	req.Header.Set("Accept", "text/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &stream{t: t, resp: resp, lines: make(chan string, 1024), errc: make(chan error, 1), cancel: cancel}
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		err := sc.Err()
		if err == nil {
			err = io.EOF
		}
		s.errc <- err
		close(s.lines)
	}()
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	first := s.next()
	id, ok := strings.CutPrefix(first, "ConnectionId:")
	if !ok {
		t.Fatalf("first line %q", first)
	}
	s.id = id
	return s
}

// next returns the next line, failing after a generous real-time limit.
func (s *stream) next() string {
	s.t.Helper()
	select {
	case l, ok := <-s.lines:
		if !ok {
			s.t.Fatalf("stream ended: %v", <-s.errc)
		}
		return l
	case <-time.After(10 * time.Second):
		s.t.Fatal("no line")
	}
	return ""
}

// end waits for the end of the stream and returns how it ended.
func (s *stream) end() error {
	s.t.Helper()
	for {
		select {
		case _, ok := <-s.lines:
			if !ok {
				return <-s.errc
			}
		case <-time.After(10 * time.Second):
			s.t.Fatal("the stream did not end")
		}
	}
}

type wireEvent struct {
	EventType, Timestamp, SourceGuid, CardholderGuid, CredentialGuid string
}

// part reads one event part: boundary, content type, blank line, JSON.
func (s *stream) part() wireEvent {
	s.t.Helper()
	for _, want := range []string{genetecsim.StreamBoundary, "Content-type: text/json", ""} {
		if l := s.next(); l != want {
			s.t.Fatalf("line %q, want %q", l, want)
		}
	}
	var env struct {
		Rsp struct {
			Status string
			Result wireEvent
		}
	}
	l := s.next()
	if err := json.Unmarshal([]byte(l), &env); err != nil || env.Rsp.Status != "Ok" {
		s.t.Fatalf("body %q: %v", l, err)
	}
	return env.Rsp.Result
}

func (f *fixture) visitor(t *testing.T, number uint64, groups ...string) (holder, cred string) {
	t.Helper()
	holder = f.sim.AddCardholder("Ada [v"+string(rune('0'+number%10))+"]", "Ada", "Lovelace", groups...)
	cred, ok := f.sim.AddCredential("H10301 42/"+string(rune('0'+number%10)), wiegand.H10301, 42, number, "Active", holder, time.Time{}, time.Time{})
	if !ok {
		t.Fatal("credential refused")
	}
	return holder, cred
}

func lobbyCard(n uint64) genetecsim.Card {
	return genetecsim.Card{Format: wiegand.H10301, Facility: 42, Number: n}
}

func TestDoorsAndSwipe(t *testing.T) {
	f := newFixture(t)
	doors := f.sim.Doors()
	if len(doors) != 2 || doors[0].GUID != genetecsim.SeedLobbyDoor || doors[0].Name != "Lobby turnstile" ||
		!slices.Equal(doors[0].Rules, []string{genetecsim.SeedLobbyRule}) || !slices.Equal(doors[1].Groups, []string{genetecsim.SeedFloor3Group}) {
		t.Fatalf("doors %+v", doors)
	}
	holder, cred := f.visitor(t, 1, genetecsim.SeedLobbyGroup)
	ev, err := f.sim.Swipe(genetecsim.SeedLobbyDoor, lobbyCard(1), t0)
	if err != nil || !ev.Granted() || ev.Seq != 1 || ev.Credential != cred || ev.Cardholder != holder || ev.Door != genetecsim.SeedLobbyDoor || !ev.Time.Equal(t0) {
		t.Fatalf("lobby: %+v %v", ev, err)
	}
	if ev, _ := f.sim.Swipe(genetecsim.SeedFloor3Door, lobbyCard(1), t0); ev.Granted() || ev.Type != genetecsim.EventAccessRefused || ev.Credential != cred {
		t.Fatalf("floor 3: %+v", ev)
	}
	if ev, _ := f.sim.Swipe(hex(genetecsim.SeedLobbyDoor), lobbyCard(2), t0); ev.Granted() || ev.Credential != "" || ev.Cardholder != "" {
		t.Fatalf("unknown card: %+v", ev)
	}
	// A new door granted by the floor 3 rule and a new rule for the lobby group.
	rule := f.sim.AddAccessRule("Annex, always", genetecsim.SeedLobbyGroup)
	annex, ok := f.sim.AddDoor("Annex", rule, genetecsim.SeedFloor3Rule)
	if !ok || !f.sim.DoorOpens(cred, annex, t0) || f.sim.DoorOpens(cred, genetecsim.SeedFloor3Door, t0) {
		t.Fatal("door oracle")
	}
	if _, ok := f.sim.AddDoor("Nowhere", genetecsim.SeedLobbyGroup); ok {
		t.Fatal("a group accepted as an access rule")
	}
	// The door oracle follows the credential oracle: a lost card is refused.
	mustOk(t, f.call(t, "POST", "entity", "entity="+hex(cred)+",State=Lost"))
	if ev, _ := f.sim.Swipe(genetecsim.SeedLobbyDoor, lobbyCard(1), t0); ev.Granted() {
		t.Fatal("a lost card opened the lobby")
	}
	for _, bad := range []string{"not-a-guid", genetecsim.SeedLobbyGroup} {
		if _, err := f.sim.Swipe(bad, lobbyCard(1), t0); err == nil {
			t.Errorf("swipe at %q accepted", bad)
		}
	}
	if _, err := f.sim.Swipe(genetecsim.SeedLobbyDoor, lobbyCard(1<<20), t0); err == nil {
		t.Error("a card number beyond H10301 accepted")
	}
	if got := f.sim.Events(); len(got) != 4 || got[3].Seq != 4 {
		t.Fatalf("log %+v", got)
	}
	// Doors are listed like other entities.
	a := mustOk(t, f.call(t, "GET", "report/EntityConfiguration", "EntityTypes@Door"))
	if !strings.Contains(string(a.rsp.Result), genetecsim.SeedFloor3Door) {
		t.Fatalf("doors not listed: %s", a.rsp.Result)
	}
}

func TestEventStream(t *testing.T) {
	f := newFixture(t, genetecsim.WithKeepAliveInterval(0))
	holder, cred := f.visitor(t, 1, genetecsim.SeedLobbyGroup)

	// Subscribing needs an open stream.
	mustFail(t, f.call(t, "GET", "events/subscribe", "event(Door,AccessGranted)"), "InvalidOperation", "open GET events before subscribing")
	s := f.openStream(t)
	if ct := s.resp.Header.Get("Content-Type"); !strings.Contains(ct, "GENETECBOUNDARY") {
		t.Fatalf("content type %q", ct)
	}
	mustOk(t, f.call(t, "GET", "events/subscribe", "event(Door,AccessGranted),event("+hex(genetecsim.SeedLobbyDoor)+",AccessRefused)"))
	if got := f.sim.Subscribed(genetecsim.DefaultUser); !slices.Equal(got, []string{genetecsim.SeedLobbyDoor + ",AccessRefused", "Door,AccessGranted"}) {
		t.Fatalf("subscribed %v", got)
	}
	a := mustOk(t, f.call(t, "GET", "events/subscribed", ""))
	var subs []struct {
		EventType string
		Entities  []string
	}
	if err := json.Unmarshal(a.rsp.Result, &subs); err != nil || len(subs) != 2 || len(subs[0].Entities) != 2 || !slices.Equal(subs[1].Entities, []string{genetecsim.SeedLobbyDoor}) {
		t.Fatalf("subscribed %s", a.rsp.Result)
	}

	f.sim.Swipe(genetecsim.SeedLobbyDoor, lobbyCard(1), t0)
	f.sim.Swipe(genetecsim.SeedFloor3Door, lobbyCard(1), t0.Add(time.Second)) // refused at floor 3: not subscribed
	f.sim.Swipe(genetecsim.SeedLobbyDoor, lobbyCard(9), t0.Add(2*time.Second))
	f.sim.KeepAlive()
	got := s.part()
	if got != (wireEvent{"AccessGranted", "2025-03-10T09:00:00Z", genetecsim.SeedLobbyDoor, holder, cred}) {
		t.Fatalf("granted %+v", got)
	}
	if got := s.part(); got != (wireEvent{EventType: "AccessRefused", Timestamp: "2025-03-10T09:00:02Z", SourceGuid: genetecsim.SeedLobbyDoor}) {
		t.Fatalf("refused %+v", got)
	}
	if l := s.next(); l != "KeepAlive" {
		t.Fatalf("line %q", l)
	}
	if st := f.sim.Streams(); len(st) != 1 || st[0].ID != s.id || st[0].Written != 2 || st[0].Pending != 0 {
		t.Fatalf("streams %+v", st)
	}

	mustOk(t, f.call(t, "GET", "events/unsubscribe", "event(Door,AccessGranted)"))
	f.sim.Swipe(genetecsim.SeedLobbyDoor, lobbyCard(1), t0.Add(3*time.Second))
	f.sim.Swipe(genetecsim.SeedLobbyDoor, lobbyCard(8), t0.Add(4*time.Second))
	if got := s.part(); got.Timestamp != "2025-03-10T09:00:04Z" {
		t.Fatalf("after unsubscribing: %+v", got)
	}

	// Strictness.
	mustFail(t, f.call(t, "GET", "events/subscribe", "event(Camera,CameraMotion)"), "InvalidOperation", "not supported by the simulator")
	mustFail(t, f.call(t, "GET", "events/subscribe", "event(Door,DoorOpen)"), "InvalidOperation", "not supported by the simulator")
	mustFail(t, f.call(t, "GET", "events/subscribe", "event(LogicalID(Door,1),AccessGranted)"), "InvalidOperation", "not supported by the simulator")
	mustFail(t, f.call(t, "GET", "events/subscribe", "event("+hex(genetecsim.SeedLobbyGroup)+",AccessGranted)"), "InvalidOperation", "Unable to find entity")
	mustFail(t, f.call(t, "GET", "events/subscribe", "Door,AccessGranted"), "InvalidOperation", "Expected event(source,eventType)")
	mustFail(t, f.call(t, "POST", "events/subscribe", "event(Door,AccessGranted)"), "InvalidOperation", "GET")
	mustFail(t, f.call(t, "POST", "events/closeconnection/0badc0de00004000800000000000f00d", ""), "InvalidOperation", "Unable to find event connection")

	// closeconnection ends the response cleanly and the subscriptions
	// with the session's last stream.
	mustOk(t, f.call(t, "POST", "events/closeconnection/"+hex(s.id), ""))
	if err := s.end(); err != io.EOF {
		t.Fatalf("closed stream ended with %v", err)
	}
	if len(f.sim.Streams()) != 0 || len(f.sim.Subscribed(genetecsim.DefaultUser)) != 0 {
		t.Fatal("the stream or its subscriptions outlived closeconnection")
	}
	var paths []string
	for _, r := range f.sim.Requests() {
		paths = append(paths, r.Method+" "+r.Path)
	}
	if !slices.Contains(paths, "GET events") || !slices.Contains(paths, "POST events/closeconnection/"+hex(s.id)) {
		t.Fatalf("log %v", paths)
	}
}

func TestEventStreamFaults(t *testing.T) {
	f := newFixture(t, genetecsim.WithKeepAliveInterval(0), genetecsim.WithStreamBuffer(3))
	f.visitor(t, 1, genetecsim.SeedLobbyGroup)
	subscribe := func() *stream {
		s := f.openStream(t)
		mustOk(t, f.call(t, "GET", "events/subscribe", "event(Door,AccessGranted),event(Door,AccessRefused)"))
		return s
	}

	s := subscribe()
	f.sim.CutNextPart()
	f.sim.Swipe(genetecsim.SeedLobbyDoor, lobbyCard(1), t0)
	if l := s.next(); l != genetecsim.StreamBoundary {
		t.Fatalf("line %q", l)
	}
	if err := s.end(); err == nil || errors.Is(err, io.EOF) && err == io.EOF {
		t.Fatalf("a cut part ended with %v, want an abrupt end", err)
	}

	s = subscribe()
	if f.sim.DropStreams() != 1 {
		t.Fatal("nothing dropped")
	}
	if err := s.end(); err == io.EOF {
		t.Fatal("a dropped stream ended cleanly")
	}
	s = subscribe()
	if f.sim.EndStreams() != 1 || s.end() != io.EOF {
		t.Fatal("EndStreams")
	}

	// A stalled stream sends nothing, events pile up, and one more than
	// the buffer drops it.
	s = subscribe()
	f.sim.StallStreams()
	for i := range 3 {
		f.sim.Swipe(genetecsim.SeedLobbyDoor, lobbyCard(1), t0.Add(time.Duration(i)*time.Second))
	}
	f.sim.KeepAlive()
	if st := f.sim.Streams(); len(st) != 1 || !st[0].Stalled || st[0].Pending != 3 || st[0].Written != 0 {
		t.Fatalf("stalled %+v", st)
	}
	select {
	case l := <-s.lines:
		t.Fatalf("a stalled stream wrote %q", l)
	default:
	}
	f.sim.Swipe(genetecsim.SeedLobbyDoor, lobbyCard(1), t0.Add(3*time.Second))
	if len(f.sim.Streams()) != 0 {
		t.Fatal("an overflowing stream was kept")
	}
	if err := s.end(); err == io.EOF {
		t.Fatal("an overflowing stream ended cleanly")
	}

	// The faults of other requests apply to GET events too.
	f.sim.Inject(genetecsim.Fault{Method: "GET", Path: "events", Status: 503})
	if a := f.call(t, "GET", "events", ""); a.status != 503 {
		t.Fatalf("status %d", a.status)
	}

	// Automatic KeepAlive lines, and changing their interval.
	s = subscribe()
	f.sim.SetKeepAliveInterval(time.Millisecond)
	for range 3 {
		if l := s.next(); l != "KeepAlive" {
			t.Fatalf("line %q", l)
		}
	}
	f.sim.SetKeepAliveInterval(0)
}

func TestDoorActivityReport(t *testing.T) {
	f := newFixture(t, genetecsim.WithMaxResults(3))
	f.visitor(t, 1, genetecsim.SeedLobbyGroup)
	for i := range 5 {
		f.sim.Swipe(genetecsim.SeedLobbyDoor, lobbyCard(1), t0.Add(time.Duration(i)*time.Minute))
	}
	f.sim.Swipe(genetecsim.SeedFloor3Door, lobbyCard(1), t0.Add(time.Minute))
	rows := func(a answer) []wireEvent {
		var out []wireEvent
		if err := json.Unmarshal(a.rsp.Result, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	a := mustOk(t, f.call(t, "GET", "report/DoorActivity", "Doors@"+hex(genetecsim.SeedLobbyDoor)+"@"+hex(genetecsim.SeedFloor3Door)+",TimeRange.SetTimeRange(2025-03-10T09:01:00Z,2025-03-10T09:02:00Z)"))
	r := rows(a)
	if len(r) != 3 || r[0].Timestamp != "2025-03-10T09:02:00Z" || r[2].SourceGuid != genetecsim.SeedLobbyDoor || r[1].SourceGuid != genetecsim.SeedFloor3Door {
		t.Fatalf("rows (newest first, both ends included) %+v", r)
	}
	a = f.call(t, "GET", "report/DoorActivity", "Doors@"+genetecsim.SeedLobbyDoor+",TimeRange.SetTimeRange(2025-03-10T00:00:00,2025-03-11T00:00:00)")
	if a.rsp.Status != "TooManyResults" || len(rows(a)) != 3 || rows(a)[0].Timestamp != "2025-03-10T09:04:00Z" {
		t.Fatalf("truncated: %s %s", a.rsp.Status, a.body)
	}
	a = mustOk(t, f.call(t, "GET", "report/DoorActivity", "Doors@0badc0de00004000800000000000f00d,TimeRange.SetTimeRange(2025-03-10T00:00:00Z,2025-03-11T00:00:00Z)"))
	if string(a.rsp.Result) != "[]" {
		t.Fatalf("unknown door: %s", a.rsp.Result)
	}
	for q, msg := range map[string]string{
		"Doors@" + hex(genetecsim.SeedLobbyDoor) + ",TimeRange.SetTimeRange(2025-03-10T00:00:00Z,2025-03-11T00:00:00Z),Page=1": "Could not find property 'Page' from filter: 'Page=1'",
		"TimeRange.SetTimeRange(2025-03-10T00:00:00Z,2025-03-11T00:00:00Z)":                                                    "needs Doors",
		"Doors@" + hex(genetecsim.SeedLobbyDoor):                                                                               "needs TimeRange",
		"Doors@" + hex(genetecsim.SeedLobbyDoor) + ",TimeRange.SetTimeRange(2025-03-11T00:00:00Z,2025-03-10T00:00:00Z)":        "not a valid time range",
		"Doors@" + hex(genetecsim.SeedLobbyDoor) + ",TimeRange.SetTimeRange(yesterday)":                                        "start and an end",
		"Doors@nope,TimeRange.SetTimeRange(2025-03-10T00:00:00Z,2025-03-11T00:00:00Z)":                                         "not a GUID",
	} {
		mustFail(t, f.call(t, "GET", "report/DoorActivity", q), "InvalidOperation", msg)
	}
}

// A badge presented at the seed doors: the door decides with the same
// oracle the conformance kit uses, and the decision is logged for the
// event stream and the DoorActivity report.
func ExampleServer_Swipe() {
	now := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	sim := genetecsim.New(genetecsim.WithClock(func() time.Time { return now }))
	ada := sim.AddCardholder("Ada Lovelace [visit-1]", "Ada", "Lovelace", genetecsim.SeedLobbyGroup)
	cred, _ := sim.AddCredential("H10301 42/1001", wiegand.H10301, 42, 1001, "Active", ada, now, now.Add(4*time.Hour))
	badge := genetecsim.Card{Format: wiegand.H10301, Facility: 42, Number: 1001}

	for _, s := range []struct {
		door string
		at   time.Time
	}{
		{genetecsim.SeedLobbyDoor, now},
		{genetecsim.SeedFloor3Door, now},
		{genetecsim.SeedLobbyDoor, now.Add(5 * time.Hour)}, // after the credential's window
	} {
		ev, err := sim.Swipe(s.door, badge, s.at)
		if err != nil {
			panic(err)
		}
		fmt.Println(ev.Seq, ev.Type, ev.Credential == cred, sim.DoorOpens(cred, s.door, s.at))
	}
	// Output:
	// 1 AccessGranted true true
	// 2 AccessRefused true false
	// 3 AccessRefused true false
}
