package verkadasim

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// CardInfo is a snapshot of a stored card.
type CardInfo struct {
	ID     string
	UserID string // "" for a card kept after its user was deleted
	// Type is the type as sent; Canonical its name in CardTypes.
	Type, Canonical string
	// Facility is "" for types without a facility code.
	Facility string
	Number   string
	Active   bool
}

// UserInfo is a snapshot of a stored user.
type UserInfo struct {
	ID, ExternalID                string
	FirstName, LastName           string
	Email, Company, Department    string
	EmployeeTitle                 string
	Start, End                    time.Time // zero when unset
	Groups                        []string  // sorted
	Cards                         []CardInfo
	MiddleName, Phone, EmployeeID string
}

// Invite is a recorded Verkada Pass invitation.
type Invite struct {
	UserID string
	Email  string
	Sent   time.Time
}

func cardInfo(c *card) CardInfo {
	return CardInfo{ID: c.id, UserID: c.user, Type: c.typ, Canonical: c.canonical, Facility: c.facility,
		Number: c.number, Active: c.active}
}

func (s *Server) userInfo(u *user) UserInfo {
	ui := UserInfo{ID: u.id, ExternalID: u.externalID, FirstName: u.first, LastName: u.last, Email: u.email,
		Company: u.company, Department: u.department, EmployeeTitle: u.employeeTitle, Groups: sortedKeys(u.groups),
		MiddleName: u.middle, Phone: u.phone, EmployeeID: u.employeeID}
	if u.start != nil {
		ui.Start = *u.start
	}
	if u.end != nil {
		ui.End = *u.end
	}
	for _, cid := range u.cards {
		ui.Cards = append(ui.Cards, cardInfo(s.cards[cid]))
	}
	return ui
}

// Opens is the oracle: whether card cardID opens the doors of access group
// groupID at time at. It does when the card is active and belongs to a
// user who is a member of the group, and at is not before the user's
// start date and before its end date (an unset date is no bound).
func (s *Server) Opens(cardID, groupID string, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opensLocked(cardID, groupID, at)
}

func (s *Server) opensLocked(cardID, groupID string, at time.Time) bool {
	c := s.cards[cardID]
	if c == nil || !c.active || c.user == "" {
		return false
	}
	u := s.users[c.user]
	if u == nil || !u.groups[groupID] {
		return false
	}
	if u.start != nil && at.Before(*u.start) || u.end != nil && !at.Before(*u.end) {
		return false
	}
	return true
}

// Census counts the users and cards stored.
func (s *Server) Census() Census {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Census{Users: len(s.users), Cards: len(s.cards)}
}

// User returns a snapshot of the user with the given external ID.
func (s *Server) User(externalID string) (UserInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[s.byExternal[externalID]]
	if u == nil {
		return UserInfo{}, false
	}
	return s.userInfo(u), true
}

// UserByID returns a snapshot of the user with the given user ID.
func (s *Server) UserByID(id string) (UserInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	if u == nil {
		return UserInfo{}, false
	}
	return s.userInfo(u), true
}

// Users returns snapshots of every user, sorted by ID.
func (s *Server) Users() []UserInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []UserInfo
	for _, u := range s.sortedUsers() {
		out = append(out, s.userInfo(u))
	}
	return out
}

// Card returns a snapshot of the card with the given ID.
func (s *Server) Card(id string) (CardInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cards[id]
	if c == nil {
		return CardInfo{}, false
	}
	return cardInfo(c), true
}

// FindCard returns the card of the user with the given external ID whose
// type (or alias), facility code and number are the given ones; facility
// is ignored for types without one.
func (s *Server) FindCard(externalID, cardType string, facility, number uint64) (CardInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[s.byExternal[externalID]]
	canon, ok := canonicalType(cardType)
	if u == nil || !ok {
		return CardInfo{}, false
	}
	fac := ""
	if slices.Contains(withFacility, canon) {
		fac = strconv.FormatUint(facility, 10)
	}
	for _, cid := range u.cards {
		c := s.cards[cid]
		if c.canonical == canon && c.facility == fac && c.number == strconv.FormatUint(number, 10) {
			return cardInfo(c), true
		}
	}
	return CardInfo{}, false
}

// Groups returns every access group, sorted by ID.
func (s *Server) Groups() []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Group
	for _, g := range s.sortedGroups() {
		out = append(out, Group{ID: g.id, Name: g.name})
	}
	return out
}

// Invites returns the Verkada Pass invitations sent so far.
func (s *Server) Invites() []Invite {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.invites)
}

// ---- behind the back: what an administrator does in Verkada Command ----

// AddGroup adds an access group and returns it with its new ID.
func (s *Server) AddGroup(name string) Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextID(kindGroup)
	s.groups[id] = &group{id: id, name: name, members: map[string]bool{}}
	return Group{ID: id, Name: name}
}

// DeleteGroup deletes an access group and its memberships.
func (s *Server) DeleteGroup(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[id]
	if g == nil {
		return fmt.Errorf("verkadasim: no group %s", id)
	}
	for uid := range g.members {
		delete(s.users[uid].groups, id)
	}
	delete(s.groups, id)
	return nil
}

// AddUser creates a user and returns its ID. The external ID may be empty;
// a taken one is an error.
func (s *Server) AddUser(firstName, lastName, externalID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if externalID != "" {
		if _, taken := s.byExternal[externalID]; taken {
			return "", fmt.Errorf("verkadasim: external ID %q is taken", externalID)
		}
	}
	u := &user{id: s.nextID(kindUser), externalID: externalID, first: firstName, last: lastName,
		groups: map[string]bool{}, created: s.now()}
	s.users[u.id] = u
	if externalID != "" {
		s.byExternal[externalID] = u.id
	}
	return u.id, nil
}

// AddTwin adds a second user with the external ID, names, e-mail,
// company, department, dates and groups of user userID (without its
// cards), as Verkada might hold after two creations of one visit at the
// same instant, whatever WithSharedExternalIDs says, and returns the
// twin's ID. A lookup by external_id keeps answering the older user.
func (s *Server) AddTwin(userID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	orig := s.users[userID]
	if orig == nil || orig.externalID == "" {
		return "", fmt.Errorf("verkadasim: no user %s with an external ID", userID)
	}
	u := *orig
	u.id, u.cards, u.created = s.nextID(kindUser), nil, s.now()
	u.groups = map[string]bool{}
	for gid := range orig.groups {
		u.groups[gid] = true
		s.groups[gid].members[u.id] = true
	}
	s.users[u.id] = &u
	return u.id, nil
}

// AddCard gives a user a card and returns its ID; a card with the same
// type, facility code and number anywhere is an error unless
// WithDuplicateCards is set.
func (s *Server) AddCard(userID, cardType string, facility, number uint64, active bool) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userID]
	canon, ok := canonicalType(cardType)
	if u == nil || !ok {
		return "", fmt.Errorf("verkadasim: no user %s or unknown card type %q", userID, cardType)
	}
	fac := ""
	if slices.Contains(withFacility, canon) {
		fac = strconv.FormatUint(facility, 10)
	}
	num := strconv.FormatUint(number, 10)
	if !s.dupCards && s.findCardLocked(canon, fac, num) != nil {
		return "", fmt.Errorf("verkadasim: card %s %s/%s exists", canon, fac, num)
	}
	c := &card{id: s.nextID(kindCard), user: u.id, typ: cardType, canonical: canon, facility: fac, number: num,
		active: active, created: s.now()}
	s.cards[c.id] = c
	u.cards = append(u.cards, c.id)
	return c.id, nil
}

// SetCardActive activates or deactivates a card.
func (s *Server) SetCardActive(cardID string, active bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cards[cardID]
	if c == nil {
		return fmt.Errorf("verkadasim: no card %s", cardID)
	}
	c.active = active
	return nil
}

// DeleteCard deletes a card.
func (s *Server) DeleteCard(cardID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cards[cardID]
	if c == nil {
		return fmt.Errorf("verkadasim: no card %s", cardID)
	}
	if u := s.users[c.user]; u != nil {
		s.dropCardLocked(u, cardID)
	} else {
		delete(s.cards, cardID)
	}
	return nil
}

// SetWindow sets a user's start and end dates (a zero time unsets one),
// truncated to whole seconds as the API stores them.
func (s *Server) SetWindow(userID string, start, end time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userID]
	if u == nil {
		return fmt.Errorf("verkadasim: no user %s", userID)
	}
	at := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = time.Unix(t.Unix(), 0).UTC()
		return &t
	}
	u.start, u.end = at(start), at(end)
	return nil
}

// SetGroups makes a user a member of exactly the given groups.
func (s *Server) SetGroups(userID string, groupIDs ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userID]
	if u == nil {
		return fmt.Errorf("verkadasim: no user %s", userID)
	}
	for _, gid := range groupIDs {
		if s.groups[gid] == nil {
			return fmt.Errorf("verkadasim: no group %s", gid)
		}
	}
	for gid := range u.groups {
		delete(s.groups[gid].members, userID)
	}
	clear(u.groups)
	for _, gid := range groupIDs {
		u.groups[gid] = true
		s.groups[gid].members[userID] = true
	}
	return nil
}

// DeleteUser deletes a user as DELETE /core/v1/user does.
func (s *Server) DeleteUser(userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userID]
	if u == nil {
		return fmt.Errorf("verkadasim: no user %s", userID)
	}
	s.removeUserLocked(u)
	return nil
}
