package genetec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/wiegand"
)

// partParser follows the parts of the event stream, one line at a time:
// a --GENETECBOUNDARY line, a "Content-type:" line (text/plain header
// lines are skipped, as Genetec's sample does), then the body. A text/json
// body is one JSON line, or several lines until they form a JSON value.
// Parts of another type are skipped. KeepAlive and empty lines are
// ignored anywhere. The zero value is ready to use.
type partParser struct {
	state int
	body  []byte
}

const (
	partIdle   = iota // between parts
	partHeader        // after a boundary, waiting for the content type
	partJSON          // inside a text/json body
	partSkip          // inside a body of another type
)

var errPartTooLong = errors.New("an event part is longer than the limit")

// feed takes one line without its line ending and returns a complete
// JSON body when this line ends one (a copy, owned by the caller). An
// error reports a part it gave up on; parsing continues with the next.
func (pp *partParser) feed(line []byte) ([]byte, error) {
	t := bytes.TrimSpace(line)
	switch {
	case len(t) == 0, bytes.EqualFold(t, []byte("KeepAlive")):
		return nil, nil
	case bytes.EqualFold(t, []byte(boundary)):
		var err error
		if pp.state == partJSON && len(pp.body) > 0 {
			err = fmt.Errorf("a text/json part ended with %d bytes that are not JSON", len(pp.body))
		}
		pp.state, pp.body = partHeader, pp.body[:0]
		return nil, err
	}
	switch pp.state {
	case partHeader:
		const ct = "content-type:"
		if len(t) >= len(ct) && bytes.EqualFold(t[:len(ct)], []byte(ct)) {
			mime, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(string(t[len(ct):]))), ";")
			switch strings.TrimSpace(mime) {
			case "text/plain":
			case "text/json":
				pp.state = partJSON
			default:
				pp.state = partSkip
			}
			return nil, nil
		}
		if t[0] != '{' {
			return nil, nil
		}
		pp.state = partJSON // a body without a content type: read it as text/json
	case partIdle:
		if t[0] != '{' {
			return nil, nil
		}
		pp.state = partJSON // a further JSON line after a text/json part
	case partSkip:
		return nil, nil
	}
	if len(pp.body)+len(t) > maxLine {
		pp.state, pp.body = partSkip, pp.body[:0]
		return nil, errPartTooLong
	}
	pp.body = append(pp.body, t...)
	if !json.Valid(pp.body) {
		pp.body = append(pp.body, '\n')
		return nil, nil
	}
	out := bytes.Clone(pp.body)
	pp.state, pp.body = partIdle, pp.body[:0]
	return out, nil
}

// rawEvent is an access event as read from the stream or the report.
type rawEvent struct {
	granted bool
	at      time.Time
	sec     int64 // at in Unix seconds: the time part of the key and the cursor
	door    guid
	holder  guid
	cred    guid
	key     uint64
}

// wireEvent is an access event as the stream and the DoorActivity report
// write it. EventType, Timestamp and SourceGuid are what Genetec's sample
// reads; the other fields are not shown by public Web SDK sources, so each
// has the spellings the SDK's report columns suggest. Field names match
// case-insensitively.
type wireEvent struct {
	EventType, Timestamp               string
	SourceGuid, DoorGuid, Door, Source looseGUID
	CardholderGuid, Cardholder         looseGUID
	CredentialGuid, Credential         looseGUID
}

// looseGUID reads a GUID written as a string (either form) or as an
// object with a Guid field; anything else reads as no GUID.
type looseGUID guid

func (g *looseGUID) UnmarshalJSON(b []byte) error {
	var s string
	switch b = bytes.TrimSpace(b); {
	case len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && bytes.IndexByte(b, '\\') < 0:
		s = string(b[1 : len(b)-1])
	case len(b) > 0 && b[0] == '"':
		if json.Unmarshal(b, &s) != nil {
			return nil
		}
	case len(b) > 0 && b[0] == '{':
		var o struct{ Guid string }
		if json.Unmarshal(b, &o) != nil {
			return nil
		}
		s = o.Guid
	default:
		return nil
	}
	if v, ok := parseGUID(s); ok {
		*g = looseGUID(v)
	}
	return nil
}

func firstGUID(gs ...looseGUID) guid {
	for _, g := range gs {
		if guid(g) != zeroGUID {
			return guid(g)
		}
	}
	return zeroGUID
}

// parseEventPart reads one text/json part of the stream: a Rsp envelope
// whose Result is the event. ok is false for events other than access
// granted or refused (alarms, other subscriptions of the same session).
func parseEventPart(body []byte) (rawEvent, bool, error) {
	var env struct {
		Rsp *struct {
			Status string
			Result json.RawMessage
		}
	}
	if err := json.Unmarshal(bytes.TrimPrefix(body, bom), &env); err != nil {
		return rawEvent{}, false, err
	}
	switch {
	case env.Rsp == nil:
		return rawEvent{}, false, errors.New("the part is not a Rsp envelope")
	case strings.EqualFold(env.Rsp.Status, statusFail):
		return rawEvent{}, false, errors.New("the part is a Fail envelope")
	}
	ws, err := decodeWireEvents(env.Rsp.Result)
	if err != nil {
		return rawEvent{}, false, err
	}
	if len(ws) != 1 {
		return rawEvent{}, false, nil
	}
	return ws[0].event()
}

// decodeWireEvents reads a Result holding one event (an object) or
// several (an array).
func decodeWireEvents(result json.RawMessage) ([]wireEvent, error) {
	result = bytes.TrimSpace(result)
	if len(result) == 0 || string(result) == "null" {
		return nil, errors.New("the answer has no Result")
	}
	if result[0] == '[' {
		var ws []wireEvent
		err := json.Unmarshal(result, &ws)
		return ws, err
	}
	var w wireEvent
	if err := json.Unmarshal(result, &w); err != nil {
		return nil, err
	}
	return []wireEvent{w}, nil
}

// event checks and converts a wire event; ok is false for other event
// types.
func (w *wireEvent) event() (rawEvent, bool, error) {
	var e rawEvent
	switch {
	case strings.EqualFold(w.EventType, eventGranted):
		e.granted = true
	case strings.EqualFold(w.EventType, eventRefused):
	default:
		return e, false, nil
	}
	at, ok := parseWireTime(w.Timestamp)
	if !ok {
		return e, false, fmt.Errorf("an access event has no readable Timestamp")
	}
	e.at, e.sec = at, at.Unix()
	if e.door = firstGUID(w.SourceGuid, w.DoorGuid, w.Door, w.Source); e.door == zeroGUID {
		return e, false, fmt.Errorf("an access event names no door")
	}
	e.holder = firstGUID(w.CardholderGuid, w.Cardholder)
	e.cred = firstGUID(w.CredentialGuid, w.Credential)
	e.key = eventKey(e)
	return e, true, nil
}

// eventKey identifies an event the same way whether it came from the
// stream or the report: FNV-1a over the decision, the door, the
// credential and the second it happened. (The cardholder is left out:
// it follows from the credential, and a source may omit it.) Two refusals
// of unknown cards at the same door within one second share a key and
// are delivered once.
func eventKey(e rawEvent) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	mix := func(b byte) { h = (h ^ uint64(b)) * prime }
	if e.granted {
		mix(1)
	} else {
		mix(0)
	}
	for _, b := range e.door {
		mix(b)
	}
	for _, b := range e.cred {
		mix(b)
	}
	for i := range 8 {
		mix(byte(uint64(e.sec) >> (8 * i)))
	}
	return h
}

// cardFromName reads the card of a credential named by this adapter
// ("H10301 42/1001", see credentialName).
func cardFromName(name string) (acs.Card, bool) {
	f, rest, ok := strings.Cut(name, " ")
	if !ok {
		return acs.Card{}, false
	}
	fac, num, ok := strings.Cut(rest, "/")
	if !ok {
		return acs.Card{}, false
	}
	var c acs.Card
	var err0, err1, err2 error
	c.Format, err0 = wiegand.ParseFormat(f)
	c.Facility, err1 = strconv.ParseUint(fac, 10, 64)
	c.Number, err2 = strconv.ParseUint(num, 10, 64)
	if err0 != nil || err1 != nil || err2 != nil || acs.ValidateCard(c) != nil || credentialName(c) != name {
		return acs.Card{}, false
	}
	return c, true
}

// externalIDFromName reads the caller's key at the end of a cardholder
// name ("First Last [external-id]", see cardholderName), also in the
// backslash-escaped form a server might store literally.
func externalIDFromName(name string) (string, bool) {
	if !strings.HasSuffix(name, "]") {
		return "", false
	}
	i := strings.LastIndexByte(name, '[')
	if i < 0 {
		return "", false
	}
	id := name[i+1 : len(name)-1]
	if strings.IndexByte(id, '\\') >= 0 {
		var b strings.Builder
		for j := 0; j < len(id); j++ {
			if id[j] == '\\' && j+1 < len(id) && strings.IndexByte(escapeChars, id[j+1]) >= 0 {
				j++
			}
			b.WriteByte(id[j])
		}
		id = b.String()
	}
	if acs.ValidateExternalID(id) != nil {
		return "", false
	}
	return id, true
}
