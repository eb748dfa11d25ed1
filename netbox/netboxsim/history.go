package netboxsim

import (
	"strconv"
	"time"
)

// reader is a card reader at a portal, serving access levels (by name).
type reader struct {
	key, name             string
	portalKey, portalName string
	levels                []string
	keypad                bool // opens for a person's PIN (SetReaderKeypad)
}

// Access is one record of the access log. The wire carries LOGID,
// PERSONID, READER, DTTM, NODEDTTM, TYPE, REASON, READERKEY and PORTALKEY;
// Format, EncodedNum and Granted are the oracle's.
type Access struct {
	LogID      int64
	PersonID   string // the credential's holder; empty for an unknown card
	Reader     string
	ReaderKey  string
	PortalKey  string
	Time       time.Time
	Type       string // "1" valid access, "2" invalid (the simulator's choice)
	Reason     string // empty when granted (the simulator's choice of codes otherwise)
	Format     string
	EncodedNum string
	Granted    bool
}

// Reason codes the simulator writes for a denied access.
const (
	ReasonUnknownCard = "1"
	ReasonNoAccess    = "2"
)

// AddReader adds a card reader at its own portal, serving the access
// levels with the given keys, and returns the reader's key.
func (s *Server) AddReader(name string, levelKeys ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strconv.Itoa(len(s.readers) + 1)
	r := reader{key: key, name: name, portalKey: key, portalName: name}
	for _, k := range levelKeys {
		for _, l := range s.levels {
			if l.key == k {
				r.levels = append(r.levels, l.name)
			}
		}
	}
	s.readers = append(s.readers, r)
	return key
}

// ReaderFor returns the key of a reader serving the access level with the
// given key.
func (s *Server) ReaderFor(levelKey string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := ""
	for _, l := range s.levels {
		if l.key == levelKey {
			name = l.name
		}
	}
	for _, r := range s.readers {
		if contains(r.levels, name) {
			return r.key, true
		}
	}
	return "", false
}

// Swipe presents the card with the given format name and encoded number at
// a reader, as the panel would: access is granted when the credential
// opens one of the reader's access levels now (the rule of Opens), and the
// decision is logged with the next LOGID. ok is false for an unknown
// reader.
func (s *Server) Swipe(readerKey, format, encoded string) (Access, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var r *reader
	for i := range s.readers {
		if s.readers[i].key == readerKey {
			r = &s.readers[i]
		}
	}
	if r == nil {
		return Access{}, false
	}
	now := s.now()
	a := Access{LogID: int64(len(s.log) + 1), Reader: r.name, ReaderKey: r.key, PortalKey: r.portalKey,
		Time: now.Truncate(time.Second), Type: "2", Reason: ReasonUnknownCard, Format: format, EncodedNum: encoded}
	if p, c := s.holder(format, encoded); c != nil {
		a.PersonID, a.Reason = p.id, ReasonNoAccess
		for _, l := range r.levels {
			if s.opensLocked(p, c, l, now) {
				a.Granted, a.Type, a.Reason = true, "1", ""
			}
		}
	}
	s.log = append(s.log, a)
	return a, true
}

func (s *Server) holder(format, enc string) (*person, *credential) {
	for _, p := range s.people {
		for _, c := range p.creds {
			if c.format == format && c.encoded == enc {
				return p, c
			}
		}
	}
	return nil, nil
}

// AccessLog returns the access log, oldest first.
func (s *Server) AccessLog() []Access {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Access(nil), s.log...)
}

// historyRange reads GetAccessHistory's position parameters: the first
// LOGID wanted (0: newest first) and the page size.
func (s *Server) historyRange(c *command) (from int64, limit int, msg string) {
	limit = 100
	if v, ok := c.param("MAXRECORDS"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, "Invalid MAXRECORDS: " + v
		}
		limit = min(n, MaxRecords)
	}
	for _, name := range []string{"AFTERLOGID", "STARTLOGID"} {
		v, ok := c.param(name)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, "Invalid " + name + ": " + v
		}
		if name == "AFTERLOGID" && s.exclusive {
			n++
		}
		from = max(n, 1)
	}
	return from, limit, ""
}

func (s *Server) getAccessHistory(c *command) *result {
	from, limit, msg := s.historyRange(c)
	if msg != "" {
		return fail(msg)
	}
	var picked []Access
	if from == 0 {
		for i := len(s.log) - 1; i >= 0 && len(picked) < limit; i-- {
			if s.historyMatch(s.log[i], c) {
				picked = append(picked, s.log[i])
			}
		}
	} else {
		for i := from - 1; i >= 0 && i < int64(len(s.log)) && len(picked) < limit; i++ {
			if s.historyMatch(s.log[i], c) {
				picked = append(picked, s.log[i])
			}
		}
	}
	list := el("ACCESSES", "")
	for _, a := range picked {
		list.add(s.accessNode(a))
	}
	if len(picked) == 0 {
		return s.emptyAnswer(el("DETAILS", "").add(list))
	}
	d := el("DETAILS", "").add(list)
	if from != 0 {
		next := picked[len(picked)-1].LogID
		if !s.exclusive {
			next++
		}
		d.add(el("NEXTLOGID", strconv.FormatInt(next, 10)))
	}
	return ok(d)
}

// historyMatch applies GetAccessHistory's card filters.
func (s *Server) historyMatch(a Access, c *command) bool {
	if v, ok := c.param("ENCODEDNUM"); ok && v != a.EncodedNum {
		return false
	}
	if v, ok := c.param("CARDFORMAT"); ok && v != a.Format {
		return false
	}
	return true
}

func (s *Server) accessNode(a Access) *node {
	ts := s.formatDate(a.Time)
	return el("ACCESS", "").add(
		el("LOGID", strconv.FormatInt(a.LogID, 10)), el("PERSONID", a.PersonID), el("READER", a.Reader),
		el("DTTM", ts), el("NODEDTTM", ts), el("TYPE", a.Type), el("REASON", a.Reason),
		el("READERKEY", a.ReaderKey), el("PORTALKEY", a.PortalKey))
}
