package brivosim

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CredentialInfo is a snapshot of a stored credential.
type CredentialInfo struct {
	ID          int64
	FormatID    int64
	ReferenceID string
	// Encoded is the encodedCredential: the Wiegand frame in hexadecimal,
	// parity bits included.
	Encoded string
	// Fields maps field names ("card_number", "facility_code") to values.
	Fields   map[string]string
	UserID   int64 // 0 when unassigned
	From, To time.Time
}

// UserInfo is a snapshot of a stored user.
type UserInfo struct {
	ID         int64
	ExternalID string
	FirstName  string
	LastName   string
	Emails     []string
	Suspended  bool
	Groups     []int64 // sorted
}

func (s *Server) credentialInfo(c *credential) CredentialInfo {
	ci := CredentialInfo{ID: c.id, FormatID: c.format.ID, ReferenceID: c.referenceID, Encoded: c.encoded,
		Fields: map[string]string{}, UserID: c.user, From: c.from, To: c.to}
	for id, v := range c.fields {
		ci.Fields[fieldName(c.format, id)] = v
	}
	return ci
}

// Opens is the oracle: whether credential credentialID opens the doors of
// group groupID at time at. It does when the credential exists and is
// assigned to a user who exists, is not suspended and is a member of the
// group, and at lies in [effectiveFrom, effectiveTo) of the assignment (an
// empty effectiveTo is open-ended).
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

// opensLocked is Opens with s.mu held.
func (s *Server) opensLocked(cid, gid int64, at time.Time) bool {
	c := s.credentials[cid]
	if c == nil || c.user == 0 {
		return false
	}
	u := s.users[c.user]
	if u == nil || u.suspended || !u.groups[gid] {
		return false
	}
	if at.Before(c.from) || !c.to.IsZero() && !at.Before(c.to) {
		return false
	}
	return true
}

// Census counts the users and credentials stored.
func (s *Server) Census() Census {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Census{Users: len(s.users), Credentials: len(s.credentials)}
}

// Credential returns a snapshot of the credential with the given ID.
func (s *Server) Credential(id int64) (CredentialInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.credentials[id]
	if c == nil {
		return CredentialInfo{}, false
	}
	return s.credentialInfo(c), true
}

// FindCredential returns the credential assigned to the user with the given
// external ID whose encodedCredential equals encoded (hexadecimal, compared
// without case or leading zeros).
func (s *Server) FindCredential(externalID, encoded string) (CredentialInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	uids := s.byExternal[externalID]
	if len(uids) == 0 {
		return CredentialInfo{}, false
	}
	n := normHex(encoded)
	for _, c := range s.sortedCredentials() {
		if slices.Contains(uids, c.user) && c.encoded != "" && normHex(c.encoded) == n {
			return s.credentialInfo(c), true
		}
	}
	return CredentialInfo{}, false
}

// Credentials returns snapshots of every credential, sorted by ID.
func (s *Server) Credentials() []CredentialInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CredentialInfo
	for _, c := range s.sortedCredentials() {
		out = append(out, s.credentialInfo(c))
	}
	return out
}

// User returns a snapshot of the user with the given external ID (the
// oldest, when several carry it).
func (s *Server) User(externalID string) (UserInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	uids := s.byExternal[externalID]
	if len(uids) == 0 {
		return UserInfo{}, false
	}
	return s.userInfo(s.users[uids[0]]), true
}

// Users returns snapshots of every user carrying the external ID, oldest
// first: more than one only when the server shares external IDs (see
// WithSharedExternalIDs).
func (s *Server) Users(externalID string) []UserInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []UserInfo
	for _, id := range s.byExternal[externalID] {
		out = append(out, s.userInfo(s.users[id]))
	}
	return out
}

func (s *Server) userInfo(u *user) UserInfo {
	ui := UserInfo{ID: u.id, ExternalID: u.externalID, FirstName: u.first, LastName: u.last, Suspended: u.suspended}
	for _, e := range u.emails {
		ui.Emails = append(ui.Emails, e.Address)
	}
	for g := range u.groups {
		ui.Groups = append(ui.Groups, g)
	}
	slices.Sort(ui.Groups)
	return ui
}

// GroupID returns the ID of a group as the decimal string the API uses.
func (g Group) GroupID() string { return strconv.FormatInt(g.ID, 10) }

// FindText returns where text occurs (compared without case) in what the
// server stores about people: users' names and e-mail addresses, and the
// reference IDs of credentials and mobile-pass invitations (an invitation's
// is the invitee's e-mail). Each hit reads like "user 15540780 emails".
// Retention tests use it to check that a removed visitor left nothing.
func (s *Server) FindText(text string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	has := func(v string) bool { return text != "" && strings.Contains(strings.ToLower(v), strings.ToLower(text)) }
	var out []string
	for _, u := range s.sortedUsers() {
		for _, f := range [...]struct{ name, v string }{{"firstName", u.first}, {"middleName", u.middle}, {"lastName", u.last}, {"externalId", u.externalID}} {
			if has(f.v) {
				out = append(out, fmt.Sprintf("user %d %s", u.id, f.name))
			}
		}
		for _, e := range u.emails {
			if has(e.Address) {
				out = append(out, fmt.Sprintf("user %d emails", u.id))
			}
		}
	}
	for _, c := range s.sortedCredentials() {
		if has(c.referenceID) {
			out = append(out, fmt.Sprintf("credential %d referenceId", c.id))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(s.invitations)) {
		if has(s.invitations[id].referenceID) {
			out = append(out, fmt.Sprintf("invitation %d referenceId", id))
		}
	}
	return out
}
