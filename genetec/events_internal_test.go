package genetec

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

func TestCursorRoundTrip(t *testing.T) {
	var p position
	p.lo = 1741597200
	for i, sec := range []int64{1741597201, 1741597203, 1741597203, 1741597202} {
		p.add(sec, uint64(i)*0x9e3779b97f4a7c15)
	}
	c := p.encode()
	if !strings.HasPrefix(c, "g1:1741597200:") {
		t.Fatalf("cursor %q", c)
	}
	q, err := parseCursor(c)
	if err != nil {
		t.Fatal(err)
	}
	if q.lo != p.lo || len(q.recent) != 4 || q.encode() != c {
		t.Fatalf("round trip %q → %+v → %q", c, q, q.encode())
	}
	for i, sec := range []int64{1741597201, 1741597203, 1741597203, 1741597202} {
		if !q.delivered(sec, uint64(i)*0x9e3779b97f4a7c15) {
			t.Errorf("entry %d lost", i)
		}
	}
	if q.delivered(1741597203, 42) || !q.delivered(1741597200, 42) {
		t.Error("delivered() ignores the key or the low mark")
	}
	if p, err := parseCursor(""); err != nil || p.lo != 0 || p.recent != nil {
		t.Errorf("empty cursor: %+v %v", p, err)
	}
}

// TestPositionWindow checks what the cursor forgets: events more than
// cursorWindow seconds behind the newest, and beyond cursorKeys entries.
func TestPositionWindow(t *testing.T) {
	var p position
	p.lo = 1000
	p.add(1001, 1)
	p.add(1040, 2) // 1001 is now more than 30 s behind
	if p.lo != 1010 || len(p.recent) != 1 || !p.delivered(1001, 99) || p.delivered(1011, 1) {
		t.Fatalf("after the window moved: %+v", p)
	}
	p.add(1005, 3) // late: counts as delivered already, changes nothing
	if p.lo != 1010 || len(p.recent) != 1 {
		t.Fatalf("a late event moved the position: %+v", p)
	}
	for k := range uint64(40) {
		p.add(1041+int64(k/4), 100+k) // 4 events a second
	}
	if len(p.recent) > cursorKeys || p.lo < 1041 {
		t.Fatalf("%d entries, lo %d", len(p.recent), p.lo)
	}
	// Whole seconds are dropped together: every kept second is complete.
	for k := range uint64(40) {
		sec := 1041 + int64(k/4)
		if sec > p.lo && !p.delivered(sec, 100+k) {
			t.Fatalf("second %d kept incomplete", sec)
		}
	}
	if n := len(p.encode()); n > 600 {
		t.Fatalf("cursor of %d bytes", n)
	}
	t.Logf("a full cursor is %d bytes", len(p.encode()))
	p.advance(1e6)
	if p.lo != 1e6 || len(p.recent) != 0 {
		t.Fatalf("advance: %+v", p)
	}
}

func FuzzParseCursor(f *testing.F) {
	var p position
	p.lo = 1741597200
	p.add(1741597201, 7)
	p.add(1741597230, 1<<63)
	for _, s := range []string{p.encode(), "g1:0:", "g1:1:1.AAAAAAAAAAA,2.AAAAAAAAAAA", "g1:-1:", "g1:1:0.AAAAAAAAAAA", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseCursor(s)
		if err != nil {
			return
		}
		q, err := parseCursor(p.encode())
		if err != nil || q.encode() != p.encode() {
			t.Fatalf("%q → %q does not parse back (%v)", s, p.encode(), err)
		}
		for i := 1; i < len(p.recent); i++ {
			if cmpEntry(p.recent[i-1], p.recent[i]) >= 0 || p.recent[i].sec <= p.lo {
				t.Fatalf("%q: entries out of order", s)
			}
		}
	})
}

func feedAll(pp *partParser, stream string) (bodies []string, errs int) {
	for _, line := range strings.Split(stream, "\n") {
		b, err := pp.feed([]byte(strings.TrimSuffix(line, "\r")))
		if err != nil {
			errs++
		}
		if b != nil {
			bodies = append(bodies, string(b))
		}
	}
	return bodies, errs
}

func TestPartParser(t *testing.T) {
	ev := `{"Rsp":{"Status":"Ok","Result":{"EventType":"AccessGranted"}}}`
	stream := strings.Join([]string{
		"KeepAlive",
		boundary, "Content-type: text/json", "", ev, // the simulator's form
		"keepalive",
		boundary, "Content-type: text/plain", "Content-Type: text/json; charset=utf-8", ev, // a text/plain header first
		boundary, "Content-type: text/xml", "<WebSdk><Rsp/></WebSdk>", "{\"skipped\":true}", // another type: skipped
		boundary, ev, // no content type
		ev,                                                                 // a further JSON line after a text/json part
		boundary, "Content-type: text/json", `{"Rsp":`, `{"Status":"Ok"}}`, // a body over two lines
		boundary, "Content-type: text/json", `{"Rsp":{"Status"`, // cut off…
		boundary, "Content-type: text/json", ev, // …and the next part is read
	}, "\r\n")
	var pp partParser
	bodies, errs := feedAll(&pp, stream)
	want := []string{ev, ev, ev, ev, "{\"Rsp\":\n{\"Status\":\"Ok\"}}", ev}
	if len(bodies) != len(want) || errs != 1 {
		t.Fatalf("got %d bodies %q and %d errors", len(bodies), bodies, errs)
	}
	for i := range want {
		if bodies[i] != want[i] {
			t.Errorf("body %d: %q, want %q", i, bodies[i], want[i])
		}
	}
	var big partParser
	big.feed([]byte(boundary))
	big.feed([]byte("Content-type: text/json"))
	chunk := []byte(`{"a":"` + strings.Repeat("x", 1<<16))
	var err error
	for i := 0; i < maxLine/len(chunk)+2 && err == nil; i++ {
		_, err = big.feed(chunk)
	}
	if err != errPartTooLong {
		t.Fatalf("an endless part: %v", err)
	}
}

func FuzzPartParser(f *testing.F) {
	f.Add([]byte(boundary + "\nContent-type: text/json\n{\"Rsp\":{\"Status\":\"Ok\",\"Result\":{\"EventType\":\"AccessGranted\",\"Timestamp\":\"2025-03-10T09:00:00Z\",\"SourceGuid\":\"3f8a2c1e6b4d4e7a9f052c6b8d1e7a90\"}}}\nKeepAlive\n"))
	f.Add([]byte("{\n}\n--GENETECBOUNDARY\n{\"a\":[\n1]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var pp partParser
		for _, line := range strings.Split(string(data), "\n") {
			b, _ := pp.feed([]byte(line))
			if len(pp.body) > maxLine+len(line)+1 {
				t.Fatal("the parser holds more than a part")
			}
			if b != nil {
				_, _, _ = parseEventPart(b)
			}
		}
	})
}

func TestEventFromObject(t *testing.T) {
	door := "3f8a2c1e-6b4d-4e7a-9f05-2c6b8d1e7a90"
	cred := "0d4f2b7a-9c11-4c2a-8e61-5a3e1f0c9b7d"
	holder := "c7d2e8a4-1f3b-4e59-a6c0-8b9d7e2f4a36"
	for _, body := range []string{
		`{"Rsp":{"Status":"Ok","Result":{"EventType":"AccessGranted","Timestamp":"2025-03-10T09:00:01.1234567Z","SourceGuid":"` + door + `","CardholderGuid":"` + holder + `","CredentialGuid":"` + cred + `"}}}`,
		`{"Rsp":{"Status":"Ok","Result":{"EventType":"accessgranted","Timestamp":"2025-03-10T09:00:01.9","DoorGuid":"` + hexOf(door) + `","Cardholder":"{` + holder + `}","Credential":"` + hexOf(cred) + `"}}}`,
		"\xEF\xBB\xBF" + `{"Rsp":{"Status":"Ok","Result":[{"EventType":"AccessGranted","Timestamp":"2025-03-10T09:00:01Z","Door":"` + door + `","CredentialGuid":"` + cred + `","CardholderGuid":"` + holder + `"}]}}`,
	} {
		e, ok, err := parseEventPart([]byte(body))
		if err != nil || !ok {
			t.Fatalf("%s: %v %v", body, ok, err)
		}
		if !e.granted || e.sec != time.Date(2025, 3, 10, 9, 0, 1, 0, time.UTC).Unix() || e.door.String() != door || e.cred.String() != cred || e.holder.String() != holder {
			t.Errorf("%s: %+v", body, e)
		}
	}
	// The key ignores the cardholder and the fraction of the second.
	a, _, _ := parseEventPart([]byte(`{"Rsp":{"Status":"Ok","Result":{"EventType":"AccessRefused","Timestamp":"2025-03-10T09:00:01.2Z","SourceGuid":"` + door + `","CredentialGuid":"` + cred + `"}}}`))
	b, _, _ := parseEventPart([]byte(`{"Rsp":{"Status":"Ok","Result":{"EventType":"AccessRefused","Timestamp":"2025-03-10T09:00:01.8Z","SourceGuid":"` + door + `","CredentialGuid":"` + cred + `","CardholderGuid":"` + holder + `"}}}`))
	c, _, _ := parseEventPart([]byte(`{"Rsp":{"Status":"Ok","Result":{"EventType":"AccessGranted","Timestamp":"2025-03-10T09:00:01.8Z","SourceGuid":"` + door + `","CredentialGuid":"` + cred + `"}}}`))
	if a.key != b.key || a.key == c.key {
		t.Errorf("keys %x %x %x", a.key, b.key, c.key)
	}
	for _, body := range []string{
		`{"Rsp":{"Status":"Ok","Result":{"EventType":"DoorOpenedForTooLong","Timestamp":"2025-03-10T09:00:01Z","SourceGuid":"` + door + `"}}}`,
		`{"Rsp":{"Status":"Ok","Result":{"AlarmTriggered":{}}}}`,
		`{"Rsp":{"Status":"Ok","Result":[]}}`,
	} {
		if _, ok, err := parseEventPart([]byte(body)); ok || err != nil {
			t.Errorf("%s: %v %v", body, ok, err)
		}
	}
	for _, body := range []string{
		`{"Rsp":{"Status":"Ok","Result":{"EventType":"AccessGranted","SourceGuid":"` + door + `"}}}`,
		`{"Rsp":{"Status":"Ok","Result":{"EventType":"AccessGranted","Timestamp":"2025-03-10T09:00:01Z"}}}`,
		`{"Rsp":{"Status":"Fail","Result":{"SdkErrorCode":"InvalidOperation"}}}`,
		`{"rsp":{"status":"ok"}}`,
		`[1]`,
	} {
		if _, ok, err := parseEventPart([]byte(body)); ok || err == nil {
			t.Errorf("%s: accepted", body)
		}
	}
}

func hexOf(g string) string { return strings.ReplaceAll(g, "-", "") }

func TestNamesToCallerData(t *testing.T) {
	for name, want := range map[string]string{
		"Ada Lovelace [visit-1]":                "visit-1",
		"[v.2_x]":                               "v.2_x",
		`Ada Lovelace [visit\-1]`:               "visit-1",
		"Ada [x] Lovelace [y]":                  "y",
		"Ada Lovelace":                          "",
		"Ada [bad id]":                          "",
		"Ada []":                                "",
		"Ada [" + strings.Repeat("a", 65) + "]": "",
	} {
		got, ok := externalIDFromName(name)
		if got != want || ok != (want != "") {
			t.Errorf("externalIDFromName(%q) = %q, %v", name, got, ok)
		}
	}
	for name, want := range map[string]acs.Card{
		"H10301 42/1001":         {Format: acs.H10301, Facility: 42, Number: 1001},
		"H10302 0/34359738367":   {Format: acs.H10302, Number: 34359738367},
		"H10301 256/1":           {},
		"H10301 042/1001":        {},
		"Badge of Ada":           {},
		"H10301 42/1001 (spare)": {},
		"XYZ 1/1":                {},
	} {
		got, ok := cardFromName(name)
		if got != want || ok != !want.IsZero() {
			t.Errorf("cardFromName(%q) = %v, %v", name, got, ok)
		}
	}
}

func TestEventOptions(t *testing.T) {
	for _, o := range []EventOptions{
		{KeepAliveTimeout: -1},
		{BackoffMin: time.Minute, BackoffMax: time.Second},
		{ReportWindow: time.Millisecond},
	} {
		if _, err := New(Config{BaseURL: "http://127.0.0.1/WebSdk", Username: "u", Password: "p", ApplicationID: "a"}, WithEvents(o)); acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("%+v: %v", o, err)
		}
	}
	if _, err := New(Config{BaseURL: "http://127.0.0.1/WebSdk", Username: "u", Password: "p", ApplicationID: "a"}, WithTimers(nil)); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("nil timers: %v", err)
	}
	o, err := EventOptions{}.withDefaults()
	if err != nil || o.KeepAliveTimeout != DefaultKeepAliveTimeout || o.Lookback != DefaultLookback || o.BackoffMax != DefaultBackoffMax {
		t.Fatalf("%+v %v", o, err)
	}
	var rt realTimers
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := rt.Sleep(ctx, time.Hour); err != context.Canceled {
		t.Fatalf("Sleep ignored the context: %v", err)
	}
	if err := rt.Sleep(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	fired := make(chan struct{})
	rt.AfterFunc(0, func() { close(fired) })
	<-fired
	if rt.AfterFunc(time.Hour, func() {})() != true {
		t.Fatal("stop did not stop")
	}
}

// BenchmarkEventPart measures the adapter's own work per stream event:
// four lines through the part parser, the JSON decoding, the key, the
// position and the cursor.
func BenchmarkEventPart(b *testing.B) {
	lines := [][]byte{
		[]byte(boundary), []byte("Content-type: text/json"), {},
		[]byte(`{"Rsp":{"Status":"Ok","Result":{"EventType":"AccessGranted","Timestamp":"2025-03-10T09:00:01Z","SourceGuid":"3f8a2c1e-6b4d-4e7a-9f05-2c6b8d1e7a90","CardholderGuid":"c7d2e8a4-1f3b-4e59-a6c0-8b9d7e2f4a36","CredentialGuid":"0d4f2b7a-9c11-4c2a-8e61-5a3e1f0c9b7d"}}}`),
	}
	var pp partParser
	var pos position
	seen := newSeenSet(seenCapacity)
	b.ReportAllocs()
	for i := range b.N {
		for _, l := range lines {
			body, err := pp.feed(l)
			if err != nil {
				b.Fatal(err)
			}
			if body == nil {
				continue
			}
			e, ok, err := parseEventPart(body)
			if !ok || err != nil {
				b.Fatal(ok, err)
			}
			e.sec += int64(i)
			e.key = eventKey(e)
			seen.add(e.key)
			pos.add(e.sec, e.key)
			_ = pos.encode()
		}
	}
}
