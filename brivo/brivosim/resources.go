package brivosim

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/acsbridge/acsbridge/wiegand"
)

// maxGroupsPerUser is Brivo's documented limit.
const maxGroupsPerUser = 16

// ---- paging and filters ----

// paging reads offset and pageSize (default 0 and 20, pageSize at most 100).
// sortedByID returns the values of m ordered by their numeric ID, the order
// Brivo lists every collection in.
func sortedByID[T any](m map[int64]T, id func(T) int64) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b T) int { return cmpInt(id(a), id(b)) })
	return out
}

// listQuery checks a listing's query: only offset, pageSize and filter,
// valid paging, and a filter on the allowed fields and operators.
func listQuery(q url.Values, filters map[string][]string) (off, size int, clauses []clause, a answer, ok bool) {
	if a, ok := onlyParams(q, "offset", "pageSize", "filter"); !ok {
		return 0, 0, nil, a, false
	}
	if off, size, a, ok = paging(q); !ok {
		return 0, 0, nil, a, false
	}
	if clauses, a, ok = parseFilter(q.Get("filter"), filters); !ok {
		return 0, 0, nil, a, false
	}
	return off, size, clauses, a, true
}

// lookupByID finds the record with the numeric ID in a path segment,
// answering 400 with badID for a malformed ID and 404 with notFound for an
// unknown one, as Brivo does.
func lookupByID[T any](m map[int64]*T, id, badID, notFound string) (*T, answer, bool) {
	n, ok := parseID(id)
	if !ok {
		return nil, errAnswer(http.StatusBadRequest, badID), false
	}
	v := m[n]
	if v == nil {
		return nil, errAnswer(http.StatusNotFound, notFound), false
	}
	return v, answer{}, true
}

// pageQuery checks a paged listing without a filter: only offset and
// pageSize, both valid.
func pageQuery(q url.Values) (off, size int, a answer, ok bool) {
	if a, ok := onlyParams(q, "offset", "pageSize"); !ok {
		return 0, 0, a, false
	}
	return paging(q)
}

func paging(q url.Values) (offset, size int, a answer, ok bool) {
	offset, size = 0, 20
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, errAnswer(http.StatusBadRequest, "Invalid offset"), false
		}
		offset = n
	}
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, errAnswer(http.StatusBadRequest, "Invalid pageSize"), false
		}
		if n > 100 {
			return 0, 0, errAnswer(http.StatusBadRequest, "pageSize must be less than or equal to 100"), false
		}
		size = n
	}
	return offset, size, answer{}, true
}

func page[T any](items []T, offset, size int) []T {
	if offset >= len(items) {
		return []T{}
	}
	return items[offset:min(offset+size, len(items))]
}

type pagedEnvelope[T any] struct {
	Data     []T `json:"data"`
	Offset   int `json:"offset"`
	PageSize int `json:"pageSize"`
	Count    int `json:"count"`
}

type countedEnvelope[T any] struct {
	Data  []T `json:"data"`
	Count int `json:"count"`
}

// pagedAnswer is the listing envelope {"data","offset","pageSize","count"}.
func pagedAnswer[T any](items []T, offset, size int) answer {
	return jsonAnswer(http.StatusOK, pagedEnvelope[T]{Data: page(items, offset, size), Offset: offset, PageSize: size, Count: len(items)})
}

// countedAnswer is the sub-listing envelope {"data","count"}.
func countedAnswer[T any](items []T) answer {
	if items == nil {
		items = []T{}
	}
	return jsonAnswer(http.StatusOK, countedEnvelope[T]{Data: items, Count: len(items)})
}

// clause is one term of a filter: field__op:v1,v2.
type clause struct {
	field, op string
	values    []string
}

// parseFilter parses Brivo's filter syntax, allowing only the given fields
// and operators.
func parseFilter(s string, allowed map[string][]string) ([]clause, answer, bool) {
	bad := errAnswer(http.StatusBadRequest, "Invalid filter format")
	if s == "" {
		return nil, answer{}, true
	}
	var out []clause
	for _, term := range strings.Split(s, ";") {
		field, rest, ok := strings.Cut(term, "__")
		if !ok {
			return nil, bad, false
		}
		op, vals, ok := strings.Cut(rest, ":")
		if !ok || field == "" || op == "" || vals == "" {
			return nil, bad, false
		}
		ops, known := allowed[field]
		if !known || !slices.Contains(ops, op) {
			return nil, bad, false
		}
		c := clause{field: field, op: op, values: strings.Split(vals, ",")}
		for _, v := range c.values {
			if v == "" {
				return nil, bad, false
			}
		}
		out = append(out, c)
	}
	return out, answer{}, true
}

// match applies eq (exact, or contains when contains is set) and ne.
func (c clause) match(v string, contains bool) bool {
	hit := false
	for _, want := range c.values {
		if contains && strings.Contains(strings.ToLower(v), strings.ToLower(want)) || !contains && v == want {
			hit = true
			break
		}
	}
	if c.op == "ne" {
		return !hit
	}
	return hit
}

// ---- users ----

type userOut struct {
	ID                 int64   `json:"id"`
	ExternalID         string  `json:"externalId,omitempty"`
	FirstName          string  `json:"firstName"`
	MiddleName         string  `json:"middleName,omitempty"`
	LastName           string  `json:"lastName"`
	Pin                string  `json:"pin,omitempty"`
	EffectiveFrom      string  `json:"effectiveFrom,omitempty"`
	EffectiveTo        string  `json:"effectiveTo,omitempty"`
	Emails             []email `json:"emails,omitempty"`
	PhoneNumbers       []phone `json:"phoneNumbers,omitempty"`
	Suspended          bool    `json:"suspended"`
	BleTwoFactorExempt bool    `json:"bleTwoFactorExempt"`
	Created            string  `json:"created"`
	Updated            string  `json:"updated"`
}

func userJSON(u *user) userOut {
	return userOut{
		ID: u.id, ExternalID: u.externalID, FirstName: u.first, MiddleName: u.middle, LastName: u.last,
		Pin: u.pin, EffectiveFrom: formatTime(u.pinFrom), EffectiveTo: formatTime(u.pinTo),
		Emails: u.emails, PhoneNumbers: u.phoneNumbers, Suspended: u.suspended, BleTwoFactorExempt: u.bleTwoFactorExempt,
		Created: formatTime(u.created), Updated: formatTime(u.updated),
	}
}

func (s *Server) newUser(first, last, external string) *user {
	now := s.now()
	u := &user{id: s.nextUser, externalID: external, first: first, last: last, created: now, updated: now, groups: map[int64]bool{}}
	s.nextUser++
	s.users[u.id] = u
	if external != "" {
		s.byExternal[external] = append(s.byExternal[external], u.id) // IDs only grow
	}
	return u
}

func (s *Server) sortedUsers() []*user {
	return sortedByID(s.users, func(x *user) int64 { return x.id })
}

// userListOut is a user as GET /users lists it: real 2017 traffic shows
// only these fields (externalId omitted when empty), while GET
// /users/{id} gives the whole user.
type userListOut struct {
	ID         int64  `json:"id"`
	ExternalID string `json:"externalId,omitempty"`
	FirstName  string `json:"firstName"`
	LastName   string `json:"lastName"`
	Suspended  bool   `json:"suspended"`
}

// listUsers serves GET /users in the order real traffic shows: by last
// name (then first name and ID), not by ID, so that users created or
// deleted during a paged read shift the pages after them. The documented
// filters firstname and lastname match a part of the name ("eq =
// contains"; the simulator ignores case), id matches exactly.
func (s *Server) listUsers(q url.Values) answer {
	off, size, clauses, a, ok := listQuery(q, map[string][]string{
		"firstname": {"eq"}, "lastname": {"eq"}, "id": {"eq", "ne"},
	})
	if !ok {
		return a
	}
	users := make([]*user, 0, len(s.users))
next:
	for _, u := range s.users {
		for _, c := range clauses {
			var hit bool
			switch c.field {
			case "firstname":
				hit = c.match(u.first, true)
			case "lastname":
				hit = c.match(u.last, true)
			case "id":
				hit = c.match(strconv.FormatInt(u.id, 10), false)
			}
			if !hit {
				continue next
			}
		}
		users = append(users, u)
	}
	slices.SortFunc(users, func(a, b *user) int {
		return cmp.Or(strings.Compare(a.last, b.last), strings.Compare(a.first, b.first), cmpInt(a.id, b.id))
	})
	out := []userListOut{}
	for _, u := range page(users, off, size) {
		out = append(out, userListOut{ID: u.id, ExternalID: u.externalID, FirstName: u.first, LastName: u.last, Suspended: u.suspended})
	}
	return jsonAnswer(http.StatusOK, pagedEnvelope[userListOut]{Data: out, Offset: off, PageSize: size, Count: len(users)})
}

type userIn struct {
	FirstName          string          `json:"firstName"`
	MiddleName         string          `json:"middleName"`
	LastName           string          `json:"lastName"`
	ExternalID         json.RawMessage `json:"externalId"`
	Pin                string          `json:"pin"`
	EffectiveFrom      string          `json:"effectiveFrom"`
	EffectiveTo        string          `json:"effectiveTo"`
	BleTwoFactorExempt bool            `json:"bleTwoFactorExempt"`
	Emails             []email         `json:"emails"`
	PhoneNumbers       []phone         `json:"phoneNumbers"`
	Suspended          bool            `json:"suspended"`
}

func (s *Server) createUser(q url.Values, body []byte) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	var in userIn
	if err := decodeStrict(body, &in); err != nil {
		return errAnswer(http.StatusBadRequest, "Malformed request body: "+err.Error())
	}
	if strings.TrimSpace(in.FirstName) == "" || strings.TrimSpace(in.LastName) == "" {
		return errAnswer(http.StatusBadRequest, "firstName and lastName are required")
	}
	for _, f := range []string{in.FirstName, in.MiddleName, in.LastName} {
		if !utf8.ValidString(f) || utf8.RuneCountInString(f) > 100 {
			return errAnswer(http.StatusBadRequest, "Invalid name")
		}
	}
	external := ""
	if len(in.ExternalID) > 0 && string(in.ExternalID) != "null" {
		// Sent as a string, or (as older clients did) as a number.
		if err := json.Unmarshal(in.ExternalID, &external); err != nil {
			var n json.Number
			if err := json.Unmarshal(in.ExternalID, &n); err != nil {
				return errAnswer(http.StatusBadRequest, "Invalid externalId")
			}
			external = n.String()
		}
	}
	if external != "" && s.shared == 0 {
		if _, taken := s.byExternal[external]; taken {
			return errAnswer(http.StatusBadRequest, "External ID already exists")
		}
	}
	for _, e := range in.Emails {
		if !strings.Contains(e.Address, "@") {
			return errAnswer(http.StatusBadRequest, "Invalid email address")
		}
	}
	var pinFrom, pinTo time.Time
	var err error
	if in.EffectiveFrom != "" {
		if pinFrom, err = parseTime(in.EffectiveFrom); err != nil {
			return errAnswer(http.StatusBadRequest, "Invalid effectiveFrom")
		}
	}
	if in.EffectiveTo != "" {
		if pinTo, err = parseTime(in.EffectiveTo); err != nil {
			return errAnswer(http.StatusBadRequest, "Invalid effectiveTo")
		}
	}
	u := s.newUser(in.FirstName, in.LastName, external)
	u.middle, u.emails, u.phoneNumbers = in.MiddleName, in.Emails, in.PhoneNumbers
	u.pin, u.pinFrom, u.pinTo = in.Pin, pinFrom, pinTo
	u.suspended, u.bleTwoFactorExempt = in.Suspended, in.BleTwoFactorExempt
	return jsonAnswer(http.StatusOK, userJSON(u))
}

func (s *Server) lookupUser(id string) (*user, answer, bool) {
	return lookupByID(s.users, id, "Invalid user id", "Requested user not found")
}

// userNotFound is the answer of relationship endpoints for a missing user:
// "User not found" rather than the user endpoint's message.
func userNotFound(a answer) answer {
	if a.status == http.StatusNotFound {
		return errAnswer(http.StatusNotFound, "User not found")
	}
	return a
}

func (s *Server) getUser(q url.Values, id string) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	u, a, ok := s.lookupUser(id)
	if !ok {
		return a
	}
	return jsonAnswer(http.StatusOK, userJSON(u))
}

func (s *Server) getUserByExternal(q url.Values, external string) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	ids := s.byExternal[external]
	switch {
	case len(ids) == 0:
		return errAnswer(http.StatusNotFound, "Requested user not found")
	case len(ids) > 1 && s.shared == LookupError:
		return errAnswer(http.StatusInternalServerError, "query did not return a unique result: "+strconv.Itoa(len(ids)))
	case len(ids) > 1 && s.shared == LookupNewest:
		return jsonAnswer(http.StatusOK, userJSON(s.users[ids[len(ids)-1]]))
	}
	return jsonAnswer(http.StatusOK, userJSON(s.users[ids[0]]))
}

func (s *Server) deleteUser(q url.Values, id string) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	u, a, ok := s.lookupUser(id)
	if !ok {
		return a
	}
	s.deleteUserLocked(u)
	return noContent()
}

// deleteUserLocked deletes a user: its credentials are unassigned, its
// memberships end, and its invitations, reachable only through the user,
// go with it. s.mu is held.
func (s *Server) deleteUserLocked(u *user) {
	for _, c := range s.held[u.id] {
		s.hold(c, 0, time.Time{}, time.Time{})
	}
	for gid := range u.groups {
		if g := s.groups[gid]; g != nil {
			delete(g.members, u.id)
		}
	}
	for id, inv := range s.invitations {
		if inv.user == u.id {
			delete(s.invitations, id)
		}
	}
	delete(s.users, u.id)
	if u.externalID != "" {
		ids := slices.DeleteFunc(s.byExternal[u.externalID], func(id int64) bool { return id == u.id })
		if len(ids) == 0 {
			delete(s.byExternal, u.externalID)
		} else {
			s.byExternal[u.externalID] = ids
		}
	}
}

func (s *Server) getSuspended(q url.Values, id string) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	u, a, ok := s.lookupUser(id)
	if !ok {
		return a
	}
	return jsonAnswer(http.StatusOK, map[string]any{"id": u.id, "suspended": u.suspended})
}

func (s *Server) putSuspended(q url.Values, id string, body []byte) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	u, a, ok := s.lookupUser(id)
	if !ok {
		return a
	}
	var in struct {
		Suspended *bool `json:"suspended"`
	}
	if err := decodeStrict(body, &in); err != nil || in.Suspended == nil {
		return errAnswer(http.StatusBadRequest, "Body must be {\"suspended\": true|false}")
	}
	if u.readOnly {
		return readOnlyAnswer()
	}
	u.suspended = *in.Suspended
	u.updated = s.now()
	return jsonAnswer(http.StatusOK, map[string]any{"id": u.id, "suspended": u.suspended})
}

type groupOut struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

func (s *Server) userGroups(q url.Values, id string) answer {
	off, size, a, ok := pageQuery(q)
	if !ok {
		return a
	}
	u, a, ok := s.lookupUser(id)
	if !ok {
		return a
	}
	var out []groupOut
	for gid := range u.groups {
		out = append(out, groupOut{gid, s.groups[gid].name})
	}
	slices.SortFunc(out, func(a, b groupOut) int { return cmpInt(a.ID, b.ID) })
	return countedAnswer(page(out, off, size))
}

// ---- groups ----

// sortedGroups returns the groups by ID, sorted again only after a change
// (a listing of 10,000 groups reads 100 pages). The caller must not
// modify the slice.
func (s *Server) sortedGroups() []*group {
	if s.groupOrder == nil {
		s.groupOrder = sortedByID(s.groups, func(x *group) int64 { return x.id })
	}
	return s.groupOrder
}

func (s *Server) listGroups(q url.Values) answer {
	off, size, clauses, a, ok := listQuery(q, map[string][]string{"name": {"eq", "ne"}})
	if !ok {
		return a
	}
	if len(clauses) == 0 { // the whole listing: only the page is built
		all := s.sortedGroups()
		pg := page(all, off, size)
		out := make([]groupOut, len(pg))
		for i, g := range pg {
			out[i] = groupOut{g.id, g.name}
		}
		return jsonAnswer(http.StatusOK, pagedEnvelope[groupOut]{Data: out, Offset: off, PageSize: size, Count: len(all)})
	}
	out := []groupOut{}
	for _, g := range s.sortedGroups() {
		keep := true
		for _, c := range clauses {
			keep = keep && c.match(g.name, true) // name__eq means "contains"
		}
		if keep {
			out = append(out, groupOut{g.id, g.name})
		}
	}
	return pagedAnswer(out, off, size)
}

func (s *Server) createGroup(q url.Values, body []byte) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeStrict(body, &in); err != nil {
		return errAnswer(http.StatusBadRequest, "Malformed request body: "+err.Error())
	}
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 35 {
		return errAnswer(http.StatusBadRequest, "Group name must be 1 to 35 characters")
	}
	id := s.nextGroup
	s.nextGroup++
	s.groups[id] = &group{id: id, name: in.Name, members: map[int64]bool{}}
	s.groupOrder = nil
	return jsonAnswer(http.StatusOK, groupOut{id, in.Name})
}

func (s *Server) lookupGroup(id string) (*group, answer, bool) {
	return lookupByID(s.groups, id, "Invalid group id", "Group not found")
}

func (s *Server) getGroup(q url.Values, id string) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	g, a, ok := s.lookupGroup(id)
	if !ok {
		return a
	}
	return jsonAnswer(http.StatusOK, groupOut{g.id, g.name})
}

func (s *Server) deleteGroup(q url.Values, id string) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	g, a, ok := s.lookupGroup(id)
	if !ok {
		return a
	}
	for uid := range g.members {
		if u := s.users[uid]; u != nil {
			delete(u.groups, g.id)
		}
	}
	delete(s.groups, g.id)
	s.groupOrder = nil
	return noContent()
}

func (s *Server) groupUsers(q url.Values, id string) answer {
	off, size, a, ok := pageQuery(q)
	if !ok {
		return a
	}
	g, a, ok := s.lookupGroup(id)
	if !ok {
		return a
	}
	out := []userOut{}
	for _, u := range s.sortedUsers() {
		if g.members[u.id] {
			out = append(out, userJSON(u))
		}
	}
	return pagedAnswer(out, off, size)
}

func (s *Server) addMember(q url.Values, gid, uid string, body []byte) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	if len(body) > 0 {
		return errAnswer(http.StatusBadRequest, "This request takes no body")
	}
	g, a, ok := s.lookupGroup(gid)
	if !ok {
		return a
	}
	u, a, ok := s.lookupUser(uid)
	if !ok {
		return userNotFound(a)
	}
	if !u.groups[g.id] && len(u.groups) >= maxGroupsPerUser {
		return errAnswer(http.StatusBadRequest, "A user cannot belong to more than 16 groups")
	}
	g.members[u.id] = true
	u.groups[g.id] = true
	return noContent()
}

func (s *Server) removeMember(q url.Values, gid, uid string) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	g, a, ok := s.lookupGroup(gid)
	if !ok {
		return a
	}
	u, a, ok := s.lookupUser(uid)
	if !ok {
		return userNotFound(a)
	}
	if !g.members[u.id] {
		return errAnswer(http.StatusNotFound, "User is not a member of the group")
	}
	delete(g.members, u.id)
	delete(u.groups, g.id)
	return noContent()
}

// ---- credential formats ----

func (s *Server) format(id int64) *Format {
	for i := range s.formats {
		if s.formats[i].ID == id {
			return &s.formats[i]
		}
	}
	return nil
}

type formatFieldOut struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type formatOut struct {
	ID               int64            `json:"id"`
	Name             string           `json:"name"`
	CredentialFields []formatFieldOut `json:"credentialFields"`
}

func (s *Server) listFormats(q url.Values) answer {
	off, size, a, ok := pageQuery(q)
	if !ok {
		return a
	}
	out := make([]formatOut, 0, len(s.formats))
	for _, f := range s.formats {
		fo := formatOut{ID: f.ID, Name: f.Name, CredentialFields: []formatFieldOut{}}
		for _, fl := range f.Fields {
			fo.CredentialFields = append(fo.CredentialFields, formatFieldOut(fl))
		}
		out = append(out, fo)
	}
	slices.SortFunc(out, func(a, b formatOut) int { return cmpInt(a.ID, b.ID) })
	return countedAnswer(page(out, off, size))
}

// ---- credentials ----

func fieldID(f *Format, name string) int64 {
	for _, fl := range f.Fields {
		if fl.Name == name {
			return fl.ID
		}
	}
	return 0
}

func (s *Server) fieldsOf(f *Format, facility, number uint64) map[int64]string {
	m := map[int64]string{}
	if id := fieldID(f, "card_number"); id != 0 {
		m[id] = strconv.FormatUint(number, 10)
	}
	if id := fieldID(f, "facility_code"); id != 0 && f.Wiegand.HasFacility() {
		m[id] = strconv.FormatUint(facility, 10)
	}
	return m
}

func normHex(s string) string {
	s = strings.TrimLeft(strings.ToUpper(s), "0")
	if s == "" {
		return "0"
	}
	return s
}

func (s *Server) duplicate(formatID int64, encoded string) *credential {
	n := normHex(encoded)
	for _, c := range s.credentials {
		if c.format.ID == formatID && c.encoded != "" && normHex(c.encoded) == n {
			return c
		}
	}
	return nil
}

type fieldValueOut struct {
	ID                int64  `json:"id,omitempty"`
	CredentialFieldID int64  `json:"credentialFieldId,omitempty"`
	Name              string `json:"name,omitempty"`
	Value             string `json:"value"`
}

type credentialOut struct {
	ID                int64           `json:"id"`
	CredentialFormat  groupOut        `json:"credentialFormat"`
	ReferenceID       string          `json:"referenceId"`
	EncodedCredential string          `json:"encodedCredential,omitempty"`
	FieldValues       []fieldValueOut `json:"fieldValues,omitempty"`
	Size              int             `json:"size,omitempty"`
	AccountID         int64           `json:"accountId"`
	EffectiveFrom     string          `json:"effectiveFrom,omitempty"`
	EffectiveTo       string          `json:"effectiveTo,omitempty"`
}

// The three shapes fieldValues take on the wire.
const (
	shapeCreate   = iota // {"id":1,"value":"200","name":"card_number"}
	shapeListing         // {"id":1,"value":"200","name":"acs.cards.format.card_number"}
	shapeUserList        // {"credentialFieldId":1,"value":"200"}
)

func credentialJSON(c *credential, shape int) credentialOut {
	out := credentialOut{
		ID: c.id, CredentialFormat: groupOut{c.format.ID, c.format.Name}, ReferenceID: c.referenceID,
		EncodedCredential: c.encoded, Size: c.size, AccountID: 1707325,
	}
	for _, fl := range c.format.Fields {
		v, ok := c.fields[fl.ID]
		if !ok {
			continue
		}
		switch shape {
		case shapeCreate:
			out.FieldValues = append(out.FieldValues, fieldValueOut{ID: fl.ID, Name: fl.Name, Value: v})
		case shapeListing:
			out.FieldValues = append(out.FieldValues, fieldValueOut{ID: fl.ID, Name: "acs.cards.format." + fl.Name, Value: v})
		default:
			out.FieldValues = append(out.FieldValues, fieldValueOut{CredentialFieldID: fl.ID, Value: v})
		}
	}
	if shape == shapeUserList {
		out.EffectiveFrom, out.EffectiveTo = formatTime(c.from), formatTime(c.to)
	}
	return out
}

func (s *Server) sortedCredentials() []*credential {
	return sortedByID(s.credentials, func(x *credential) int64 { return x.id })
}

func (s *Server) listCredentials(q url.Values) answer {
	off, size, clauses, a, ok := listQuery(q, map[string][]string{
		"reference_id": {"eq", "ne"}, "facility_code": {"eq", "ne"}, "status": {"eq"},
	})
	if !ok {
		return a
	}
	out := []credentialOut{}
	for _, c := range s.sortedCredentials() {
		keep := true
		for _, cl := range clauses {
			switch cl.field {
			case "reference_id":
				keep = keep && cl.match(c.referenceID, false)
			case "facility_code":
				keep = keep && cl.match(c.fields[fieldID(c.format, "facility_code")], false)
			case "status":
				st := "unassigned"
				if c.user != 0 {
					st = "assigned"
				}
				keep = keep && cl.match(st, false)
			}
		}
		if keep {
			out = append(out, credentialJSON(c, shapeListing))
		}
	}
	return pagedAnswer(out, off, size)
}

type credentialIn struct {
	CredentialFormat *struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"credentialFormat"`
	ReferenceID       string `json:"referenceId"`
	EncodedCredential string `json:"encodedCredential"`
	FieldValues       []struct {
		ID    int64  `json:"id"`
		Value string `json:"value"`
	} `json:"fieldValues"`
	Size                           int  `json:"size"`
	CredentialUsedWithOfflineLocks bool `json:"credentialUsedWithOfflineLocks"`
}

func (s *Server) createCredential(q url.Values, body []byte) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	var in credentialIn
	if err := decodeStrict(body, &in); err != nil {
		return errAnswer(http.StatusBadRequest, "Malformed request body: "+err.Error())
	}
	if in.CredentialFormat == nil {
		return errAnswer(http.StatusBadRequest, "credentialFormat is required")
	}
	f := s.format(in.CredentialFormat.ID)
	if f == nil {
		return errAnswer(http.StatusBadRequest, "Invalid credential format")
	}
	if f.ID == mobilePassFormatID {
		return errAnswer(http.StatusBadRequest, "Credential format not supported")
	}
	if in.ReferenceID == "" {
		return errAnswer(http.StatusBadRequest, "referenceId is required")
	}
	c := &credential{format: f, referenceID: in.ReferenceID, fields: map[int64]string{}, created: s.now()}
	var refused *answer
	switch {
	case in.EncodedCredential != "":
		refused = s.fromEncoded(c, in)
	case len(in.FieldValues) > 0:
		refused = s.fromFieldValues(c, in)
	default:
		a := errAnswer(http.StatusBadRequest, "encodedCredential or fieldValues is required")
		refused = &a
	}
	if refused != nil {
		return *refused
	}
	if s.duplicate(f.ID, c.encoded) != nil {
		return errAnswer(http.StatusBadRequest, "Duplicate Credential Found")
	}
	c.id = s.nextCred
	s.nextCred++
	s.credentials[c.id] = c
	return jsonAnswer(http.StatusCreated, credentialJSON(c, shapeCreate))
}

// fromEncoded fills c from an encodedCredential: a Wiegand frame of the
// format's length, decoded into its fields, or any hex string for a
// format that is not Wiegand. It returns the answer refusing one that
// does not fit.
func (s *Server) fromEncoded(c *credential, in credentialIn) *answer {
	invalid := errAnswer(http.StatusBadRequest, "Credential not valid")
	f := c.format
	if !f.Wiegand.Known() {
		for _, r := range in.EncodedCredential {
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return &invalid
			}
		}
		c.encoded = strings.ToUpper(in.EncodedCredential)
		c.size = in.Size
		return nil
	}
	fr, err := wiegand.ParseHex(in.EncodedCredential, f.Wiegand.Bits())
	if err != nil {
		return &invalid
	}
	card, err := f.Wiegand.Decode(fr)
	if err != nil {
		return &invalid
	}
	c.encoded, c.size = fr.Hex(), f.Wiegand.Bits()
	c.fields = s.fieldsOf(f, card.Facility, card.Number)
	return nil
}

// fromFieldValues fills c from fieldValues (card_number, and
// facility_code when the format has one), encoding the frame. It returns
// the answer refusing values that do not fit the format.
func (s *Server) fromFieldValues(c *credential, in credentialIn) *answer {
	refuse := func(msg string) *answer { a := errAnswer(http.StatusBadRequest, msg); return &a }
	f := c.format
	if !f.Wiegand.Known() || len(f.Fields) == 0 {
		return refuse("Credential format takes an encodedCredential")
	}
	vals := map[int64]uint64{}
	for _, fv := range in.FieldValues {
		if fieldName(f, fv.ID) == "" {
			return refuse("Unknown credential field id " + strconv.FormatInt(fv.ID, 10))
		}
		n, err := strconv.ParseUint(fv.Value, 10, 64)
		if err != nil {
			return refuse("Credential not valid")
		}
		vals[fv.ID] = n
	}
	cnID, fcID := fieldID(f, "card_number"), fieldID(f, "facility_code")
	number, okN := vals[cnID]
	facility, okF := vals[fcID]
	if !okN || fcID != 0 && f.Wiegand.HasFacility() && !okF {
		return refuse("Missing credential field value")
	}
	fr, err := f.Wiegand.Encode(facility, number)
	if err != nil {
		return refuse("Credential not valid")
	}
	c.encoded, c.size = fr.Hex(), f.Wiegand.Bits()
	c.fields = s.fieldsOf(f, facility, number)
	return nil
}

func fieldName(f *Format, id int64) string {
	for _, fl := range f.Fields {
		if fl.ID == id {
			return fl.Name
		}
	}
	return ""
}

func (s *Server) lookupCredential(id string) (*credential, answer, bool) {
	return lookupByID(s.credentials, id, "Invalid credential id", "No credential could be retrieved for credential id: "+id)
}

func (s *Server) getCredential(q url.Values, id string) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	c, a, ok := s.lookupCredential(id)
	if !ok {
		return a
	}
	return jsonAnswer(http.StatusOK, credentialJSON(c, shapeCreate))
}

func (s *Server) deleteCredential(q url.Values, id string) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	c, a, ok := s.lookupCredential(id)
	if !ok {
		return a
	}
	if c.user != 0 {
		return errAnswer(http.StatusBadRequest, "Credential is assigned to a user; unassign it first")
	}
	delete(s.credentials, c.id)
	return noContent()
}

func (s *Server) credentialUser(q url.Values, id string) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	c, a, ok := s.lookupCredential(id)
	if !ok {
		return a
	}
	u := s.users[c.user]
	if u == nil {
		return errAnswer(http.StatusNotFound, "Credential is not assigned to a user")
	}
	return jsonAnswer(http.StatusOK, userJSON(u))
}

func (s *Server) userCredentials(q url.Values, id string) answer {
	off, size, a, ok := pageQuery(q)
	if !ok {
		return a
	}
	u, a, ok := s.lookupUser(id)
	if !ok {
		return a
	}
	var out []credentialOut
	for _, c := range sortedByID(s.held[u.id], func(x *credential) int64 { return x.id }) {
		out = append(out, credentialJSON(c, shapeUserList))
	}
	return countedAnswer(page(out, off, size))
}

func (s *Server) assign(q url.Values, uid, cid string, body []byte) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	u, a, ok := s.lookupUser(uid)
	if !ok {
		return userNotFound(a)
	}
	c, a, ok := s.lookupCredential(cid)
	if !ok {
		return a
	}
	var in struct {
		EffectiveFrom *string `json:"effectiveFrom"`
		EffectiveTo   *string `json:"effectiveTo"`
	}
	if len(body) > 0 {
		if err := decodeStrict(body, &in); err != nil {
			return errAnswer(http.StatusBadRequest, "Malformed request body: "+err.Error())
		}
	}
	if c.user != 0 && c.user != u.id {
		return errAnswer(http.StatusBadRequest, "Credential not valid: it is assigned to another user")
	}
	now := s.now()
	from, to := c.from, c.to
	if c.user != u.id {
		from, to = now, time.Time{}
	}
	if in.EffectiveFrom != nil {
		t, err := parseTime(*in.EffectiveFrom)
		if err != nil {
			return errAnswer(http.StatusBadRequest, "Invalid effectiveFrom")
		}
		from = t
	}
	if in.EffectiveTo != nil {
		t, err := parseTime(*in.EffectiveTo)
		if err != nil {
			return errAnswer(http.StatusBadRequest, "Invalid effectiveTo")
		}
		to = t
	}
	if !to.IsZero() && !from.Before(to) {
		return errAnswer(http.StatusBadRequest, "effectiveFrom must be before effectiveTo")
	}
	s.hold(c, u.id, from, to)
	return noContent()
}

func (s *Server) unassign(q url.Values, uid, cid string) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	u, a, ok := s.lookupUser(uid)
	if !ok {
		return userNotFound(a)
	}
	c, a, ok := s.lookupCredential(cid)
	if !ok {
		return a
	}
	if c.user != u.id {
		return errAnswer(http.StatusNotFound, "Credential is not assigned to the user")
	}
	s.hold(c, 0, time.Time{}, time.Time{})
	return noContent()
}

// ---- digital invitations (Brivo Mobile Pass) ----

type invitationOut struct {
	ID           int64  `json:"id"`
	ReferenceID  string `json:"referenceId"`
	CredentialID int64  `json:"credentialId"`
	AccessCode   string `json:"accessCode"`
	Created      string `json:"created"`
	Expiration   string `json:"expiration"`
	Status       string `json:"status"`
	NfcEnabled   bool   `json:"nfcEnabled"`
	CancelDate   string `json:"cancelDate,omitempty"`
}

const millisLayout = "2006-01-02T15:04:05.000Z"

func (s *Server) invitationJSON(inv *invitation) invitationOut {
	st := inv.status
	if st == "PENDING" && !s.now().Before(inv.expiration) {
		st = "EXPIRED"
	}
	out := invitationOut{
		ID: inv.id, ReferenceID: inv.referenceID, CredentialID: inv.credential, AccessCode: inv.accessCode,
		Created: inv.created.UTC().Format(millisLayout), Expiration: inv.expiration.UTC().Format(millisLayout),
		Status: st, NfcEnabled: inv.nfc,
	}
	if !inv.cancelled.IsZero() {
		out.CancelDate = inv.cancelled.UTC().Format(millisLayout)
	}
	return out
}

func (s *Server) pendingInvitation(uid int64) *invitation {
	for _, inv := range s.invitations {
		if inv.user == uid && inv.status == "PENDING" && s.now().Before(inv.expiration) {
			return inv
		}
	}
	return nil
}

func (s *Server) listInvitations(q url.Values, uid string) answer {
	off, size, clauses, a, ok := listQuery(q, map[string][]string{"status": {"eq"}})
	if !ok {
		return a
	}
	u, a, ok := s.lookupUser(uid)
	if !ok {
		return a
	}
	var ids []int64
	for id, inv := range s.invitations {
		if inv.user == u.id {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []invitationOut
	for _, id := range ids {
		o := s.invitationJSON(s.invitations[id])
		keep := true
		for _, c := range clauses {
			for _, v := range c.values {
				switch strings.ToLower(v) {
				case "all", "pending", "redeemed", "expired", "cancelled":
				default:
					return errAnswer(http.StatusBadRequest, "Invalid filter format")
				}
			}
			keep = keep && (slices.Contains(c.values, "all") || c.match(strings.ToLower(o.Status), false))
		}
		if keep {
			out = append(out, o)
		}
	}
	return countedAnswer(page(out, off, size))
}

func (s *Server) createInvitation(q url.Values, uid string, body []byte) answer {
	if a, ok := onlyParams(q, "sendInvitationEmail", "language", "nfcEnabled"); !ok {
		return a
	}
	switch q.Get("language") {
	case "", "en", "fr", "es", "nl", "de", "sv":
	default:
		return errAnswer(http.StatusBadRequest, "Unsupported language")
	}
	for _, k := range []string{"sendInvitationEmail", "nfcEnabled"} {
		if v := q.Get(k); v != "" && v != "true" && v != "false" {
			return errAnswer(http.StatusBadRequest, "Invalid value for "+k)
		}
	}
	u, a, ok := s.lookupUser(uid)
	if !ok {
		return a
	}
	var in struct {
		ReferenceID string `json:"referenceId"`
	}
	if err := decodeStrict(body, &in); err != nil {
		return errAnswer(http.StatusBadRequest, "Malformed request body: "+err.Error())
	}
	if !strings.Contains(in.ReferenceID, "@") {
		return errAnswer(http.StatusBadRequest, "referenceId must be the e-mail address of the invitee")
	}
	if s.pendingInvitation(u.id) != nil {
		return errAnswer(http.StatusConflict, "There is already a pending invitation for the cardHolder")
	}
	used := 0
	for _, c := range s.credentials {
		if c.format.ID == mobilePassFormatID && c.user != 0 {
			used++
		}
	}
	if used >= s.allotment {
		return errAnswer(http.StatusPreconditionFailed, "You don't have any Brivo Wallet Passes available.")
	}
	f := s.format(mobilePassFormatID)
	if f == nil {
		f = &Format{ID: mobilePassFormatID, Name: "Brivo Mobile Pass"}
	}
	now := s.now()
	c := &credential{id: s.nextCred, format: f, referenceID: in.ReferenceID, fields: map[int64]string{},
		created: now}
	s.nextCred++
	s.credentials[c.id] = c
	s.hold(c, u.id, now, time.Time{})
	inv := &invitation{
		id: s.nextInvite, user: u.id, referenceID: in.ReferenceID, credential: c.id,
		accessCode: randomToken("")[:8], created: now, expiration: now.Add(72 * time.Hour),
		status: "PENDING", nfc: q.Get("nfcEnabled") == "true",
	}
	s.nextInvite++
	s.invitations[inv.id] = inv
	return jsonAnswer(http.StatusOK, s.invitationJSON(inv))
}

func (s *Server) cancelInvitation(q url.Values, uid string) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	u, a, ok := s.lookupUser(uid)
	if !ok {
		return a
	}
	inv := s.pendingInvitation(u.id)
	if inv == nil {
		return errAnswer(http.StatusNotFound, "No pending invitation for the cardHolder")
	}
	inv.status, inv.cancelled = "CANCELLED", s.now()
	if c := s.credentials[inv.credential]; c != nil {
		s.hold(c, 0, time.Time{}, time.Time{})
	}
	return jsonAnswer(http.StatusOK, s.invitationJSON(inv))
}
