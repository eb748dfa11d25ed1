package altasim

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/wiegand"
)

// UserInfo is a snapshot of a stored user.
type UserInfo struct {
	ID         int64
	Email      string
	ExternalID string
	FirstName  string
	LastName   string
	Status     string // I, A or S
	Start, End time.Time
	TimeZone   string
	Groups     []int64 // sorted
	Archived   bool    // soft-deleted
	Created    time.Time
}

// CredentialInfo is a snapshot of a stored credential.
type CredentialInfo struct {
	ID         int64
	UserID     int64
	TypeID     int64
	Start, End time.Time
	// Card data, for card credentials.
	CardFormatID int64
	Number       string // the raw frame in decimal
	FacilityCode string
	CardID       string
	NumBits      int
	// Name is a mobile, cloud-key or wallet credential's name.
	Name string
}

func optValue(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func (s *Server) userInfo(u *user) UserInfo {
	ui := UserInfo{ID: u.id, Email: u.email, ExternalID: u.externalID, FirstName: u.first, LastName: u.last,
		Status: u.status, Start: optValue(u.start), End: optValue(u.end), TimeZone: u.timeZone,
		Groups: sortedKeys(u.groups), Archived: u.archived, Created: u.created}
	return ui
}

func credentialInfo(c *credential) CredentialInfo {
	ci := CredentialInfo{ID: c.id, UserID: c.user, TypeID: c.typeID, Start: optValue(c.start), End: optValue(c.end), Name: c.name}
	if c.card != nil {
		ci.CardFormatID, ci.Number, ci.FacilityCode, ci.CardID, ci.NumBits = c.card.formatID, c.card.number, c.card.facility, c.card.cardID, c.card.numBits
	}
	return ci
}

// Opens is the oracle: whether credential credentialID opens the doors of
// group groupID at time at. It does when the credential exists, its user
// is live (not soft-deleted), has status A and is a member of the group,
// and at lies inside both the user's and the credential's
// [startDate, endDate) (an absent bound is open).
func (s *Server) Opens(credentialID, groupID string, at time.Time) bool {
	cid, ok1 := parseID(credentialID)
	gid, ok2 := parseID(groupID)
	if !ok1 || !ok2 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opensLocked(cid, gid, at)
}

func (s *Server) opensLocked(cid, gid int64, at time.Time) bool {
	c := s.creds[cid]
	if c == nil {
		return false
	}
	u := s.users[c.user]
	if u == nil || u.archived || u.status != "A" || !u.groups[gid] {
		return false
	}
	return inWindow(at, u.start, u.end) && inWindow(at, c.start, c.end)
}

func inWindow(at time.Time, start, end *time.Time) bool {
	if start != nil && at.Before(*start) {
		return false
	}
	return end == nil || at.Before(*end)
}

// Census counts the live users and their credentials.
func (s *Server) Census() Census {
	s.mu.Lock()
	defer s.mu.Unlock()
	var c Census
	for _, u := range s.users {
		if !u.archived {
			c.Users++
		}
	}
	for _, cr := range s.creds {
		if u := s.users[cr.user]; u != nil && !u.archived {
			c.Credentials++
		}
	}
	return c
}

// User returns a snapshot of the user with the given external ID (live
// users first; an archived one when no live user has it).
func (s *Server) User(externalID string) (UserInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found *user
	for _, id := range sortedKeys(s.users) {
		u := s.users[id]
		if u.externalID == externalID && (found == nil || found.archived && !u.archived) {
			found = u
		}
	}
	if found == nil {
		return UserInfo{}, false
	}
	return s.userInfo(found), true
}

// UserByID returns a snapshot of a user, archived or not.
func (s *Server) UserByID(id int64) (UserInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	if u == nil {
		return UserInfo{}, false
	}
	return s.userInfo(u), true
}

// Users returns snapshots of every user, archived ones included, sorted
// by ID.
func (s *Server) Users() []UserInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []UserInfo
	for _, id := range sortedKeys(s.users) {
		out = append(out, s.userInfo(s.users[id]))
	}
	return out
}

// Credential returns a snapshot of a credential.
func (s *Server) Credential(id int64) (CredentialInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.creds[id]
	if c == nil {
		return CredentialInfo{}, false
	}
	return credentialInfo(c), true
}

// Credentials returns the credentials of a user, sorted by ID.
func (s *Server) Credentials(userID int64) []CredentialInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CredentialInfo
	for _, c := range s.userCredentials(userID) {
		out = append(out, credentialInfo(c))
	}
	return out
}

// FindCredential returns the card credential of the live user with the
// given external ID that carries card (format, facility, number).
func (s *Server) FindCredential(externalID string, f wiegand.Format, facility, number uint64) (CredentialInfo, bool) {
	fr, err := f.Encode(facility, number)
	if err != nil {
		return CredentialInfo{}, false
	}
	raw := strconv.FormatUint(fr.Value, 10)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range sortedKeys(s.creds) {
		c := s.creds[id]
		u := s.users[c.user]
		if c.card == nil || u == nil || u.archived || u.externalID != externalID {
			continue
		}
		if cf := s.cardFormat(c.card.formatID); cf != nil && cf.Wiegand == f && strings.TrimLeft(c.card.number, "0") == raw {
			return credentialInfo(c), true
		}
	}
	return CredentialInfo{}, false
}

// CredentialTypeID returns the ID of the credential type of a model
// ("card", "mobile", …), or 0.
func (s *Server) CredentialTypeID(model string) int64 {
	for _, t := range s.credTypes {
		if t.ModelName == model {
			return t.ID
		}
	}
	return 0
}

// Groups returns every group, sorted by ID.
func (s *Server) Groups() []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Group
	for _, id := range sortedKeys(s.groups) {
		out = append(out, Group{ID: id, Name: s.groups[id].name})
	}
	return out
}

// AddGroup adds a group, as an administrator would, and returns it.
func (s *Server) AddGroup(name string) Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &group{id: s.nextGrp, name: name}
	s.nextGrp++
	s.groups[g.id] = g
	return Group{ID: g.id, Name: name}
}

// ---- changes behind the adapter's back ----

// AddUser creates a live user as an administrator would (an employee, say)
// and returns its ID. The external ID may be empty.
func (s *Server) AddUser(email, firstName, lastName, externalID string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.byEmail[strings.ToLower(email)]; taken || !validEmail(email) {
		return 0, fmt.Errorf("altasim: e-mail %q is taken or invalid", email)
	}
	now := s.now()
	u := &user{id: s.nextUser, identityID: s.identity + s.nextUser, email: email, first: firstName, last: lastName,
		externalID: externalID, status: "A", created: now, updated: now, groups: map[int64]bool{}}
	s.nextUser++
	s.users[u.id] = u
	s.byEmail[strings.ToLower(email)] = u.id
	return u.id, nil
}

// AddTwin adds a second live user with the e-mail, names, external ID,
// window, status and groups of user userID (without its credentials), as
// Alta might hold after two creations of one visit at the same instant,
// whatever its e-mail rule, and returns the twin's ID.
func (s *Server) AddTwin(userID int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	orig := s.users[userID]
	if orig == nil || orig.archived {
		return 0, fmt.Errorf("altasim: no live user %d", userID)
	}
	now := s.now()
	u := *orig
	u.id, u.identityID, u.created, u.updated = s.nextUser, s.identity+s.nextUser, now, now
	u.groups = maps.Clone(orig.groups)
	s.nextUser++
	s.users[u.id] = &u
	return u.id, nil
}

// AddCard gives a user a card credential of a Wiegand format (as an
// administrator would) and returns the credential ID.
func (s *Server) AddCard(userID int64, f wiegand.Format, facility, number uint64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userID]
	idx := slices.IndexFunc(s.cardFormats, func(cf CardFormat) bool { return cf.Wiegand == f })
	typeID := int64(0)
	for _, t := range s.credTypes {
		if t.ModelName == "card" {
			typeID = t.ID
			break
		}
	}
	if u == nil || idx < 0 || typeID == 0 {
		return 0, fmt.Errorf("altasim: no user %d, card format %s or card credential type", userID, f)
	}
	fc, cn := strconv.FormatUint(facility, 10), strconv.FormatUint(number, 10)
	id := s.cardFormats[idx].ID
	k, a, ok := s.parseCard(&cardBody{CardFormatID: &id, FacilityCode: &fc, CardID: &cn})
	if !ok {
		return 0, fmt.Errorf("altasim: %s", a.body)
	}
	k.id = s.nextCard
	s.nextCard++
	now := s.now()
	c := &credential{id: s.nextCred, user: userID, typeID: typeID, card: k, created: now, updated: now}
	s.nextCred++
	s.creds[c.id] = c
	return c.id, nil
}

// DeleteCredential deletes a credential, as an administrator would.
func (s *Server) DeleteCredential(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.creds[id]
	delete(s.creds, id)
	return ok
}

// SetCredentialWindow changes a credential's window (a zero time clears
// that bound).
func (s *Server) SetCredentialWindow(id int64, start, end time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.creds[id]
	if c == nil {
		return fmt.Errorf("altasim: no credential %d", id)
	}
	c.start, c.end = optPtr(start), optPtr(end)
	c.updated = s.now()
	return nil
}

// SetUserWindow changes a user's window (a zero time clears that bound).
func (s *Server) SetUserWindow(id int64, start, end time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	if u == nil {
		return fmt.Errorf("altasim: no user %d", id)
	}
	u.start, u.end = optPtr(start), optPtr(end)
	u.updated = s.now()
	return nil
}

func optPtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// SetUserGroups replaces a user's groups.
func (s *Server) SetUserGroups(id int64, groups ...int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	if u == nil {
		return fmt.Errorf("altasim: no user %d", id)
	}
	u.groups = map[int64]bool{}
	for _, g := range groups {
		u.groups[g] = true
	}
	return nil
}

// SetUserStatus sets a user's status (I, A or S).
func (s *Server) SetUserStatus(id int64, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	if u == nil {
		return fmt.Errorf("altasim: no user %d", id)
	}
	u.status = status
	return nil
}

// DeleteUser soft-deletes a user as DELETE /users/{id} does.
func (s *Server) DeleteUser(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	if u == nil {
		return fmt.Errorf("altasim: no user %d", id)
	}
	u.archived = true
	return nil
}

// SetReadOnly marks a user as kept by an identity provider (SCIM sync) or
// not: while it is, changing its status (PUT /users/{id}/status) is
// refused with 403 and a message saying so; its groups may still change.
// Alta's real answer is not in the notes.
func (s *Server) SetReadOnly(id int64, readOnly bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	if u == nil {
		return fmt.Errorf("altasim: no user %d", id)
	}
	u.readOnly = readOnly
	return nil
}
