package genetec

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The cursor keeps the keys of the events delivered in the last
// cursorWindow seconds (at most cursorKeys of them); everything older
// counts as delivered. Events that reach the Web SDK out of order by up to
// cursorWindow seconds therefore resume exactly.
const (
	cursorPrefix    = "g1:"
	cursorWindow    = 30 // seconds
	cursorKeys      = 32
	maxCursorKeys   = 256 // accepted when parsing
	maxCursorLength = 8 << 10
)

// position is where a stream of events stands: every event of second lo
// or earlier counts as delivered, and of later events exactly those in
// recent. It is what a cursor encodes.
type position struct {
	lo     int64
	recent []posEntry // ascending by (sec, key), every sec > lo
}

type posEntry struct {
	sec int64
	key uint64
}

func cmpEntry(a, b posEntry) int {
	switch {
	case a.sec != b.sec:
		if a.sec < b.sec {
			return -1
		}
		return 1
	case a.key < b.key:
		return -1
	case a.key > b.key:
		return 1
	}
	return 0
}

// delivered reports whether the event counts as delivered.
func (p *position) delivered(sec int64, key uint64) bool {
	if sec <= p.lo {
		return true
	}
	_, found := slices.BinarySearchFunc(p.recent, posEntry{sec, key}, cmpEntry)
	return found
}

// add records a delivered event and forgets what falls out of the window.
// An event of second lo or earlier (one that arrived late) changes
// nothing: it already counts as delivered.
func (p *position) add(sec int64, key uint64) {
	if sec <= p.lo {
		return
	}
	e := posEntry{sec, key}
	i, found := slices.BinarySearchFunc(p.recent, e, cmpEntry)
	if found {
		return
	}
	p.recent = slices.Insert(p.recent, i, e)
	lo := max(p.lo, p.recent[len(p.recent)-1].sec-cursorWindow)
	if n := len(p.recent); n > cursorKeys {
		lo = max(lo, p.recent[n-cursorKeys-1].sec)
	}
	p.advance(lo)
}

// advance counts every event of second lo or earlier as delivered.
func (p *position) advance(lo int64) {
	if lo <= p.lo {
		return
	}
	p.lo = lo
	k := 0
	for k < len(p.recent) && p.recent[k].sec <= lo {
		k++
	}
	p.recent = slices.Delete(p.recent, 0, k)
}

// encode returns the cursor: "g1:<lo>:" followed by comma-separated
// entries "<second − lo in base 36>.<key in unpadded base64url>".
func (p *position) encode() string {
	b := make([]byte, 0, 24+len(p.recent)*16)
	b = append(b, cursorPrefix...)
	b = strconv.AppendInt(b, p.lo, 10)
	b = append(b, ':')
	var k [8]byte
	for i, e := range p.recent {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, e.sec-p.lo, 36)
		b = append(b, '.')
		binary.BigEndian.PutUint64(k[:], e.key)
		b = base64.RawURLEncoding.AppendEncode(b, k[:])
	}
	return string(b)
}

// parseCursor reads a cursor made by encode; "" is the zero position.
func parseCursor(s string) (position, error) {
	var p position
	if s == "" {
		return p, nil
	}
	bad := func(why string) (position, error) {
		return position{}, fmt.Errorf("cursor is not a Genetec event cursor: %s", why)
	}
	if len(s) > maxCursorLength {
		return bad("too long")
	}
	rest, ok := strings.CutPrefix(s, cursorPrefix)
	if !ok {
		return bad("unknown prefix")
	}
	loStr, entries, ok := strings.Cut(rest, ":")
	if !ok {
		return bad("missing ':'")
	}
	lo, err := strconv.ParseInt(loStr, 10, 64)
	if err != nil || lo < 0 || lo > 1<<40 {
		return bad("malformed time")
	}
	p.lo = lo
	if entries == "" {
		return p, nil
	}
	parts := strings.Split(entries, ",")
	if len(parts) > maxCursorKeys {
		return bad("too many entries")
	}
	for _, part := range parts {
		d, k, ok := strings.Cut(part, ".")
		if !ok {
			return bad("malformed entry")
		}
		delta, err := strconv.ParseInt(d, 36, 64)
		if err != nil || delta < 1 || delta > 1<<40 {
			return bad("malformed entry time")
		}
		key, err := base64.RawURLEncoding.DecodeString(k)
		if err != nil || len(key) != 8 {
			return bad("malformed entry key")
		}
		p.recent = append(p.recent, posEntry{lo + delta, binary.BigEndian.Uint64(key)})
	}
	slices.SortFunc(p.recent, cmpEntry)
	p.recent = slices.CompactFunc(p.recent, func(a, b posEntry) bool { return a == b })
	return p, nil
}

// seenSet remembers the keys of the last n events delivered, so that an
// event both the stream and the catch-up report return is delivered once.
// Its memory is fixed.
type seenSet struct {
	m    map[uint64]struct{}
	ring []uint64
	next int
}

func newSeenSet(n int) *seenSet {
	return &seenSet{m: make(map[uint64]struct{}, n), ring: make([]uint64, 0, n)}
}

func (s *seenSet) has(k uint64) bool { _, ok := s.m[k]; return ok }

func (s *seenSet) add(k uint64) {
	if s.has(k) {
		return
	}
	if len(s.ring) < cap(s.ring) {
		s.ring = append(s.ring, k)
	} else {
		delete(s.m, s.ring[s.next])
		s.ring[s.next] = k
		s.next = (s.next + 1) % len(s.ring)
	}
	s.m[k] = struct{}{}
}
