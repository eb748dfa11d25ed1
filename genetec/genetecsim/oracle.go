package genetecsim

import (
	"slices"
	"time"

	"github.com/acsbridge/acsbridge/wiegand"
)

// Census counts what the server stores.
type Census struct {
	Cardholders int // cardholders and visitors
	Credentials int
}

// Census counts the cardholders (visitors included) and credentials.
func (s *Server) Census() Census {
	s.mu.Lock()
	defer s.mu.Unlock()
	var c Census
	for _, e := range s.st.byGUID {
		switch {
		case e.person():
			c.Cardholders++
		case e.typ == TypeCredential:
			c.Credentials++
		}
	}
	return c
}

// Opens is the oracle: it reports whether, at time at, the credential
// (a GUID with or without dashes) lets its holder through the doors of the
// cardholder group. That is the case when the credential exists, is
// Active and inside its activation window, is assigned to a cardholder
// that exists, is Active and inside its own window (a visitor: between
// Arrival and Departure when set), and that cardholder is a member of the
// group.
func (s *Server) Opens(credential, group string, at time.Time) bool {
	cg, ok1 := ParseGUID(credential)
	gg, ok2 := ParseGUID(group)
	if !ok1 || !ok2 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.opens(cg, gg, at)
}

// opens is Opens on canonical GUIDs; the caller holds Server.mu.
func (st *store) opens(cg, gg string, at time.Time) bool {
	c := st.byGUID[cg]
	if c == nil || c.typ != TypeCredential || c.state != "Active" || !c.act.contains(at) || c.holder == "" {
		return false
	}
	h := st.byGUID[c.holder]
	if h == nil || h.state != "Active" || !h.act.contains(at) {
		return false
	}
	if h.typ == TypeVisitor && (!h.arrival.IsZero() && at.Before(h.arrival) || !h.departure.IsZero() && !at.Before(h.departure)) {
		return false
	}
	if g := st.byGUID[gg]; g == nil || g.typ != TypeCardholderGroup {
		return false
	}
	return slices.Contains(h.groups, gg)
}

// FindCredential returns the GUID of the credential carrying the card
// (format, facility, number), as the card data it stores decodes.
func (s *Server) FindCredential(f wiegand.Format, facility, number uint64) (string, bool) {
	fr, err := f.Encode(facility, number)
	if err != nil {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.st.sorted(func(e *entity) bool { return e.typ == TypeCredential }) {
		if e.bits == int(fr.Len) && e.raw == fr.Value {
			return e.guid, true
		}
	}
	return "", false
}

// CardholderInfo is a snapshot of a cardholder or visitor.
type CardholderInfo struct {
	GUID        string
	Type        string // Cardholder or Visitor
	Name        string
	FirstName   string
	LastName    string
	Email       string
	State       string
	Groups      []string
	Credentials []string
	From        time.Time // zero when the activation mode sets none
	Until       time.Time
}

// CredentialInfo is a snapshot of a credential.
type CredentialInfo struct {
	GUID       string
	Name       string
	State      string
	Cardholder string // GUID; empty when unassigned
	BitLength  int
	FormatType string // FormatKeypad for a keypad credential
	Raw        uint64
	Keypad     bool      // a keypad credential; its code is never reported
	From       time.Time // zero when the activation mode sets none
	Until      time.Time
}

// GroupInfo is a snapshot of a cardholder group.
type GroupInfo struct {
	GUID    string
	Name    string
	Members []string
}

// Cardholder returns a snapshot of the cardholder or visitor with the GUID.
func (s *Server) Cardholder(guid string) (CardholderInfo, bool) {
	g, ok := ParseGUID(guid)
	if !ok {
		return CardholderInfo{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.st.byGUID[g]
	if e == nil || !e.person() {
		return CardholderInfo{}, false
	}
	return CardholderInfo{
		GUID: e.guid, Type: e.typ, Name: e.name, FirstName: e.first, LastName: e.last, Email: e.email,
		State: e.effectiveState(s.clock()), Groups: slices.Clone(e.groups), Credentials: s.st.credentialsOf(e.guid),
		From: e.act.from, Until: e.act.until,
	}, true
}

// Cardholders returns a snapshot of every cardholder and visitor in
// creation order.
func (s *Server) Cardholders() []CardholderInfo {
	s.mu.Lock()
	var guids []string
	for _, e := range s.st.sorted(func(e *entity) bool { return e.person() }) {
		guids = append(guids, e.guid)
	}
	s.mu.Unlock()
	out := make([]CardholderInfo, 0, len(guids))
	for _, g := range guids {
		if c, ok := s.Cardholder(g); ok {
			out = append(out, c)
		}
	}
	return out
}

// Credential returns a snapshot of the credential with the GUID.
func (s *Server) Credential(guid string) (CredentialInfo, bool) {
	g, ok := ParseGUID(guid)
	if !ok {
		return CredentialInfo{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.st.byGUID[g]
	if e == nil || e.typ != TypeCredential {
		return CredentialInfo{}, false
	}
	return CredentialInfo{
		GUID: e.guid, Name: e.name, State: e.effectiveState(s.clock()), Cardholder: e.holder,
		BitLength: e.bits, FormatType: e.formatType, Raw: e.raw, Keypad: e.keypad != "", From: e.act.from, Until: e.act.until,
	}, true
}

// Groups returns every cardholder group in creation order.
func (s *Server) Groups() []GroupInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []GroupInfo
	for _, g := range s.st.sorted(func(e *entity) bool { return e.typ == TypeCardholderGroup }) {
		gi := GroupInfo{GUID: g.guid, Name: g.name}
		for _, p := range s.st.sorted(func(p *entity) bool { return p.person() && slices.Contains(p.groups, g.guid) }) {
			gi.Members = append(gi.Members, p.guid)
		}
		out = append(out, gi)
	}
	return out
}

// AddGroup creates a cardholder group and returns its GUID.
func (s *Server) AddGroup(name string) string { return s.addGroup("", name) }

func (s *Server) addGroup(guid, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := &entity{guid: guid, typ: TypeCardholderGroup, name: name}
	s.st.insert(e, s.clock())
	return e.guid
}

// AddAccessRule creates a permanent access rule applying to the groups
// and returns its GUID. Bind doors to it with AddDoor: a door opens for
// the members of the groups of the rules that grant it (see DoorOpens).
// Schedules are not modelled: a rule applies at all times.
func (s *Server) AddAccessRule(name string, groups ...string) string {
	return s.addRule("", name, groups...)
}

func (s *Server) addRule(guid, name string, groups ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := &entity{guid: guid, typ: TypeAccessRule, name: name, groups: slices.Clone(groups)}
	s.st.insert(e, s.clock())
	return e.guid
}

// AddCredential stores a credential as an operator would in Config Tool:
// card data of format f (H10301 or H10302), the given name and state
// ("Active", "Inactive", …), assigned to holder when not empty, valid from
// from until until when until is not zero. It returns the credential's
// GUID, or false when the card data is invalid or held by another
// credential (unless the server accepts duplicate card data, see
// WithDuplicateCardData).
func (s *Server) AddCredential(name string, f wiegand.Format, facility, number uint64, state, holder string, from, until time.Time) (string, bool) {
	fr, err := f.Encode(facility, number)
	if err != nil {
		return "", false
	}
	var ft string
	switch f {
	case wiegand.H10301:
		ft = FormatStandard26
	case wiegand.H10302:
		ft = FormatH10302
	default:
		return "", false
	}
	e := &entity{typ: TypeCredential, name: name, state: state, bits: int(fr.Len), raw: fr.Value, formatType: ft}
	if !until.IsZero() {
		e.act = activation{kind: "SpecificActivationPeriod", from: from, until: until}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if holder != "" {
		h, ok := ParseGUID(holder)
		if !ok || s.st.byGUID[h] == nil || !s.st.byGUID[h].person() {
			return "", false
		}
		e.holder = h
	}
	for _, o := range s.st.byGUID {
		if !s.st.dupCards && o.typ == TypeCredential && o.bits == e.bits && o.raw == e.raw {
			return "", false
		}
	}
	s.st.insert(e, s.clock())
	return e.guid, true
}

// AddCardholder stores an active cardholder as an operator would and
// returns its GUID.
func (s *Server) AddCardholder(name, first, last string, groups ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var gs []string
	for _, g := range groups {
		if c, ok := ParseGUID(g); ok {
			gs = append(gs, c)
		}
	}
	e := &entity{typ: TypeCardholder, name: name, first: first, last: last, state: "Active", groups: gs}
	s.st.insert(e, s.clock())
	return e.guid
}
