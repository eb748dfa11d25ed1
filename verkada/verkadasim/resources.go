package verkadasim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ---- card types ----

// CardTypes lists the card type names the simulator accepts, as in
// Verkada's reference (research/more-acs.md §2.3); GDR's short aliases are
// accepted too (see CardTypeAliases).
var CardTypes = []string{
	"Standard 26-bit Wiegand", "HID 37-bit", "HID 37-bit No Facility Code", "HID 34-bit",
	"Casi Rusco 40-Bit", "HID Corporate 1000-35", "HID Corporate 1000-48", "HID iClass",
	"DESFire CSN", "Verkada DESFire", "Third Party DESFire 40X", "Apple Wallet Pass",
	"MiFare 4-Byte (32 bit) CSN", "Schlage 34-bit", "AWID 34-bit", "HID Infinity 37-bit", "iClass 35-bit",
}

// CardTypeAliases maps the short type names some clients send to the
// names of CardTypes.
var CardTypeAliases = map[string]string{
	"HID":                 "Standard 26-bit Wiegand",
	"HID37wFacilityCode":  "HID 37-bit",
	"HID37woFacilityCode": "HID 37-bit No Facility Code",
	"HID34":               "HID 34-bit",
	"CasiRusco":           "Casi Rusco 40-Bit",
	"Corporate1000_35":    "HID Corporate 1000-35",
	"Corporate1000_48":    "HID Corporate 1000-48",
	"iClass":              "HID iClass",
	"Schlage34":           "Schlage 34-bit",
	"AWID34":              "AWID 34-bit",
	"HIDInfinity37":       "HID Infinity 37-bit",
}

// withFacility are the types whose cards carry a facility code.
var withFacility = []string{
	"Standard 26-bit Wiegand", "HID 37-bit", "HID 34-bit", "HID Corporate 1000-35", "HID Corporate 1000-48",
	"Casi Rusco 40-Bit", "Schlage 34-bit", "AWID 34-bit", "HID Infinity 37-bit", "iClass 35-bit",
}

// canonicalType returns the name in CardTypes of a type or alias.
func canonicalType(t string) (string, bool) {
	if a, ok := CardTypeAliases[t]; ok {
		return a, true
	}
	if slices.Contains(CardTypes, t) {
		return t, true
	}
	return "", false
}

// ---- lookups ----

// userByKeys finds the user named by exactly one of the given query keys.
func (s *Server) userByKeys(q url.Values, keys ...string) (*user, answer, bool) {
	var key, val string
	for _, k := range keys {
		if v := q.Get(k); v != "" {
			if key != "" {
				return nil, errAnswer(http.StatusBadRequest, "Only one of "+strings.Join(keys, ", ")+" may be given"), false
			}
			key, val = k, v
		}
	}
	if key == "" {
		return nil, errAnswer(http.StatusBadRequest, "One of "+strings.Join(keys, ", ")+" is required"), false
	}
	var u *user
	switch key {
	case "user_id":
		u = s.users[val]
	case "external_id":
		u = s.users[s.byExternal[val]]
	case "email", "employee_id":
		for _, c := range s.sortedUsers() {
			if key == "email" && strings.EqualFold(c.email, val) || key == "employee_id" && c.employeeID == val {
				u = c
				break
			}
		}
	}
	if u == nil {
		return nil, errAnswer(http.StatusNotFound, "User not found"), false
	}
	return u, answer{}, true
}

func (s *Server) sortedUsers() []*user {
	out := make([]*user, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b *user) int { return strings.Compare(a.id, b.id) })
	return out
}

// ---- paging ----

// pageOf returns one page of n items for the query's page_size and
// page_token, and the token of the next page ("" after the last). The
// token is bound to the listing's fingerprint: reusing it with other
// filters is a 400.
func (s *Server) pageOf(q url.Values, n int, fingerprint string) (lo, hi int, next string, a answer, ok bool) {
	size := s.pageSize
	if v := q.Get("page_size"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > MaxPageSize {
			return 0, 0, "", errAnswer(http.StatusBadRequest, "page_size must be between 1 and 200"), false
		}
		size = p
	}
	if tok := q.Get("page_token"); tok != "" {
		fp, off, found := strings.Cut(s.pageQueries[tok], "|")
		o, err := strconv.Atoi(off)
		if !found || fp != fingerprint || err != nil {
			return 0, 0, "", errAnswer(http.StatusBadRequest, "Invalid page_token"), false
		}
		lo = o
	}
	lo = min(lo, n)
	hi = min(lo+size, n)
	if hi < n {
		next = randomToken()[3:19]
		s.pageQueries[next] = fingerprint + "|" + strconv.Itoa(hi)
	}
	return lo, hi, next, answer{}, true
}

// nullable returns nil for an empty string, so JSON shows null.
func nullable(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

func unixString(t *time.Time) *string {
	if t == nil {
		return nil
	}
	v := strconv.FormatInt(t.Unix(), 10)
	return &v
}

// ---- Core users ----

type coreUserIn struct {
	ExternalID    *string `json:"external_id"`
	FirstName     *string `json:"first_name"`
	MiddleName    *string `json:"middle_name"`
	LastName      *string `json:"last_name"`
	Email         *string `json:"email"`
	Phone         *string `json:"phone"`
	CompanyName   *string `json:"company_name"`
	Department    *string `json:"department"`
	DepartmentID  *string `json:"department_id"`
	EmployeeID    *string `json:"employee_id"`
	EmployeeTitle *string `json:"employee_title"`
	EmployeeType  *string `json:"employee_type"`
}

type coreUserOut struct {
	UserID        string  `json:"user_id"`
	ExternalID    *string `json:"external_id"`
	FirstName     *string `json:"first_name"`
	MiddleName    *string `json:"middle_name"`
	LastName      *string `json:"last_name"`
	Email         *string `json:"email"`
	Phone         *string `json:"phone"`
	CompanyName   *string `json:"company_name"`
	Department    *string `json:"department"`
	DepartmentID  *string `json:"department_id"`
	EmployeeID    *string `json:"employee_id"`
	EmployeeTitle *string `json:"employee_title"`
	EmployeeType  *string `json:"employee_type"`
	Active        bool    `json:"active"`
}

func coreUserJSON(u *user) coreUserOut {
	return coreUserOut{
		UserID: u.id, ExternalID: nullable(u.externalID), FirstName: nullable(u.first), MiddleName: nullable(u.middle),
		LastName: nullable(u.last), Email: nullable(u.email), Phone: nullable(u.phone), CompanyName: nullable(u.company),
		Department: nullable(u.department), DepartmentID: nullable(u.departmentID), EmployeeID: nullable(u.employeeID),
		EmployeeTitle: nullable(u.employeeTitle), EmployeeType: nullable(u.employeeT), Active: true,
	}
}

// apply copies the fields present in in to u.
func (in coreUserIn) apply(u *user) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&u.first, in.FirstName)
	set(&u.middle, in.MiddleName)
	set(&u.last, in.LastName)
	set(&u.email, in.Email)
	set(&u.phone, in.Phone)
	set(&u.company, in.CompanyName)
	set(&u.department, in.Department)
	set(&u.departmentID, in.DepartmentID)
	set(&u.employeeID, in.EmployeeID)
	set(&u.employeeTitle, in.EmployeeTitle)
	set(&u.employeeT, in.EmployeeType)
}

func (s *Server) createUser(q url.Values, body []byte) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	var in coreUserIn
	if err := decodeStrict(body, &in); err != nil {
		return errAnswer(http.StatusBadRequest, "Invalid request body: "+err.Error())
	}
	if in.ExternalID == nil || *in.ExternalID == "" {
		return errAnswer(http.StatusBadRequest, "external_id is required")
	}
	_, taken := s.byExternal[*in.ExternalID]
	if taken && !s.sharedExternal {
		return errAnswer(http.StatusBadRequest, "A user with this external_id already exists")
	}
	u := &user{id: s.nextID(kindUser), externalID: *in.ExternalID, groups: map[string]bool{}, created: s.now()}
	in.apply(u)
	if u.first == "" && u.last == "" && u.email == "" {
		return errAnswer(http.StatusBadRequest, "One of first_name, last_name or email is required")
	}
	s.users[u.id] = u
	if !taken {
		s.byExternal[u.externalID] = u.id
	}
	return jsonAnswer(http.StatusOK, coreUserJSON(u))
}

func (s *Server) getUser(q url.Values, _ []byte) answer {
	if a, ok := onlyParams(q, "user_id", "external_id"); !ok {
		return a
	}
	u, a, ok := s.userByKeys(q, "user_id", "external_id")
	if !ok {
		return a
	}
	return jsonAnswer(http.StatusOK, coreUserJSON(u))
}

func (s *Server) updateUser(q url.Values, body []byte) answer {
	if a, ok := onlyParams(q, "user_id", "external_id"); !ok {
		return a
	}
	u, a, ok := s.userByKeys(q, "user_id", "external_id")
	if !ok {
		return a
	}
	var in coreUserIn
	if err := decodeStrict(body, &in); err != nil {
		return errAnswer(http.StatusBadRequest, "Invalid request body: "+err.Error())
	}
	if in.ExternalID != nil && *in.ExternalID != u.externalID {
		if _, taken := s.byExternal[*in.ExternalID]; taken || *in.ExternalID == "" {
			return errAnswer(http.StatusBadRequest, "external_id is taken or empty")
		}
		delete(s.byExternal, u.externalID)
		u.externalID = *in.ExternalID
		s.byExternal[u.externalID] = u.id
	}
	in.apply(u)
	return jsonAnswer(http.StatusOK, coreUserJSON(u))
}

func (s *Server) deleteUser(q url.Values, _ []byte) answer {
	if a, ok := onlyParams(q, "user_id", "external_id"); !ok {
		return a
	}
	u, a, ok := s.userByKeys(q, "user_id", "external_id")
	if !ok {
		return a
	}
	s.removeUserLocked(u)
	return jsonAnswer(http.StatusOK, struct{}{})
}

// removeUserLocked deletes a user, its memberships and (unless keepCards)
// its cards.
func (s *Server) removeUserLocked(u *user) {
	for gid := range u.groups {
		if g := s.groups[gid]; g != nil {
			delete(g.members, u.id)
		}
	}
	for _, cid := range u.cards {
		if s.keepCards {
			s.cards[cid].user = ""
		} else {
			delete(s.cards, cid)
		}
	}
	delete(s.users, u.id)
	if s.byExternal[u.externalID] == u.id {
		// Another user may carry the external ID too (WithSharedExternalIDs,
		// AddTwin): the oldest one is found by it from now on.
		delete(s.byExternal, u.externalID)
		for _, o := range s.sortedUsers() {
			if o.externalID == u.externalID && u.externalID != "" {
				s.byExternal[o.externalID] = o.id
				break
			}
		}
	}
}

// ---- access users ----

type groupRef struct {
	GroupID string `json:"group_id"`
	Name    string `json:"name"`
}

type cardOut struct {
	CardID           string  `json:"card_id"`
	Type             string  `json:"type"`
	FacilityCode     *string `json:"facility_code"`
	CardNumber       string  `json:"card_number"`
	CardNumberHex    string  `json:"card_number_hex"`
	CardNumberBase36 string  `json:"card_number_base36"`
	Active           bool    `json:"active"`
}

type accessUserOut struct {
	AccessGroups  []groupRef `json:"access_groups"`
	BleUnlock     bool       `json:"ble_unlock"`
	Cards         []cardOut  `json:"cards"`
	EndDate       *string    `json:"end_date"`
	EntryCode     *string    `json:"entry_code"`
	ExternalID    *string    `json:"external_id"`
	LicensePlates []any      `json:"license_plates"`
	MfaCodes      []any      `json:"mfa_codes"`
	RemoteUnlock  bool       `json:"remote_unlock"`
	StartDate     *string    `json:"start_date"`
	UserID        string     `json:"user_id"`
}

type accessMemberOut struct {
	UserID        string  `json:"user_id"`
	ExternalID    *string `json:"external_id"`
	Email         *string `json:"email"`
	FullName      string  `json:"full_name"`
	EmployeeID    *string `json:"employee_id"`
	CompanyName   *string `json:"company_name"`
	Department    *string `json:"department"`
	DepartmentID  *string `json:"department_id"`
	EmployeeTitle *string `json:"employee_title"`
	IsVisitor     bool    `json:"is_visitor"`
	HasPhoto      bool    `json:"has_profile_photo"`
}

func cardJSON(c *card) cardOut {
	n, _ := strconv.ParseUint(c.number, 10, 64)
	return cardOut{CardID: c.id, Type: c.typ, FacilityCode: nullable(c.facility), CardNumber: c.number,
		CardNumberHex: strconv.FormatUint(n, 16), CardNumberBase36: strconv.FormatUint(n, 36), Active: c.active}
}

func (s *Server) accessUserJSON(u *user) accessUserOut {
	out := accessUserOut{AccessGroups: []groupRef{}, Cards: []cardOut{}, LicensePlates: []any{}, MfaCodes: []any{},
		ExternalID: nullable(u.externalID), UserID: u.id, StartDate: unixString(u.start), EndDate: unixString(u.end),
		EntryCode: nullable(u.entryCode)}
	for _, gid := range sortedKeys(u.groups) {
		out.AccessGroups = append(out.AccessGroups, groupRef{GroupID: gid, Name: s.groups[gid].name})
	}
	for _, cid := range u.cards {
		out.Cards = append(out.Cards, cardJSON(s.cards[cid]))
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (s *Server) listAccessUsers(q url.Values, _ []byte) answer {
	if a, ok := onlyParams(q, "page_size", "page_token"); !ok {
		return a
	}
	users := s.sortedUsers()
	lo, hi, next, a, ok := s.pageOf(q, len(users), "access_users")
	if !ok {
		return a
	}
	rows := make([]accessMemberOut, 0, hi-lo)
	for _, u := range users[lo:hi] {
		rows = append(rows, accessMemberOut{UserID: u.id, ExternalID: nullable(u.externalID), Email: nullable(u.email),
			FullName: strings.TrimSpace(u.first + " " + u.last), EmployeeID: nullable(u.employeeID),
			CompanyName: nullable(u.company), Department: nullable(u.department), DepartmentID: nullable(u.departmentID),
			EmployeeTitle: nullable(u.employeeTitle)})
	}
	return jsonAnswer(http.StatusOK, map[string]any{"access_members": rows, "next_page_token": nullable(next)})
}

var accessUserKeys = []string{"user_id", "external_id", "email", "employee_id"}

func (s *Server) getAccessUser(q url.Values, _ []byte) answer {
	if a, ok := onlyParams(q, accessUserKeys...); !ok {
		return a
	}
	u, a, ok := s.userByKeys(q, accessUserKeys...)
	if !ok {
		return a
	}
	return jsonAnswer(http.StatusOK, s.accessUserJSON(u))
}

// parseDate reads a start or end date: Unix seconds as a string or a
// number, or null (which clears it).
func parseDate(raw json.RawMessage) (*time.Time, bool) {
	v := strings.TrimSpace(string(raw))
	if v == "null" {
		return nil, true
	}
	v = strings.Trim(v, `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > 1<<40 {
		return nil, false
	}
	t := time.Unix(n, 0).UTC()
	return &t, true
}

func (s *Server) putDate(q url.Values, body []byte, field string) answer {
	if a, ok := onlyParams(q, accessUserKeys...); !ok {
		return a
	}
	u, a, ok := s.userByKeys(q, accessUserKeys...)
	if !ok {
		return a
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil || len(in) != 1 || in[field] == nil {
		return errAnswer(http.StatusBadRequest, "Body must be {\""+field+"\": <Unix timestamp in seconds>}")
	}
	t, ok := parseDate(in[field])
	if !ok {
		return errAnswer(http.StatusBadRequest, field+" must be a Unix timestamp in seconds")
	}
	start, end := u.start, u.end
	if field == "start_date" {
		start = t
	} else {
		end = t
	}
	if start != nil && end != nil && !start.Before(*end) {
		return errAnswer(http.StatusBadRequest, "start_date must be before end_date")
	}
	u.start, u.end = start, end
	return jsonAnswer(http.StatusOK, s.accessUserJSON(u))
}

func (s *Server) putStartDate(q url.Values, body []byte) answer {
	return s.putDate(q, body, "start_date")
}

func (s *Server) putEndDate(q url.Values, body []byte) answer {
	return s.putDate(q, body, "end_date")
}

// ---- cards ----

type cardIn struct {
	Type             *string `json:"type"`
	FacilityCode     *string `json:"facility_code"`
	CardNumber       *string `json:"card_number"`
	CardNumberHex    *string `json:"card_number_hex"`
	CardNumberBase36 *string `json:"card_number_base36"`
	Active           *bool   `json:"active"`
}

// number reads the card number from whichever form was sent.
func (in cardIn) number() (uint64, bool) {
	parse := func(p *string, base int) (uint64, bool) {
		n, err := strconv.ParseUint(strings.TrimSpace(*p), base, 64)
		return n, err == nil
	}
	switch {
	case in.CardNumber != nil && *in.CardNumber != "":
		return parse(in.CardNumber, 10)
	case in.CardNumberHex != nil && *in.CardNumberHex != "":
		return parse(in.CardNumberHex, 16)
	case in.CardNumberBase36 != nil && *in.CardNumberBase36 != "":
		return parse(in.CardNumberBase36, 36)
	}
	return 0, false
}

func (s *Server) createCard(q url.Values, body []byte) answer {
	if a, ok := onlyParams(q, "user_id", "external_id"); !ok {
		return a
	}
	u, a, ok := s.userByKeys(q, "user_id", "external_id")
	if !ok {
		return a
	}
	var in cardIn
	if err := decodeStrict(body, &in); err != nil {
		return errAnswer(http.StatusBadRequest, "Invalid request body: "+err.Error())
	}
	if in.Type == nil {
		return errAnswer(http.StatusBadRequest, "type is required")
	}
	canon, ok := canonicalType(*in.Type)
	if !ok {
		return errAnswer(http.StatusBadRequest, "Unknown card type")
	}
	n, ok := in.number()
	if !ok {
		return errAnswer(http.StatusBadRequest, "We require facility code and card number OR card_number_hex OR card_number_base36")
	}
	fac := ""
	if slices.Contains(withFacility, canon) && in.CardNumber != nil && *in.CardNumber != "" {
		if in.FacilityCode == nil {
			return errAnswer(http.StatusBadRequest, "We require facility code and card number OR card_number_hex OR card_number_base36")
		}
		f, err := strconv.ParseUint(strings.TrimSpace(*in.FacilityCode), 10, 64)
		if err != nil {
			return errAnswer(http.StatusBadRequest, "facility_code must be a number")
		}
		fac = strconv.FormatUint(f, 10)
	}
	num := strconv.FormatUint(n, 10)
	if !s.dupCards && s.findCardLocked(canon, fac, num) != nil {
		return errAnswer(http.StatusBadRequest, "Credential already exists in this organization")
	}
	c := &card{id: s.nextID(kindCard), user: u.id, typ: *in.Type, canonical: canon, facility: fac, number: num,
		active: in.Active != nil && *in.Active && !s.inactiveCards, created: s.now()}
	s.cards[c.id] = c
	u.cards = append(u.cards, c.id)
	return jsonAnswer(http.StatusOK, cardJSON(c))
}

// findCardLocked returns the registered card with the given identity.
func (s *Server) findCardLocked(canon, facility, number string) *card {
	for _, c := range s.cards {
		if c.canonical == canon && c.facility == facility && c.number == number {
			return c
		}
	}
	return nil
}

// userCard finds the card named by card_id that belongs to the user named
// by user_id or external_id.
func (s *Server) userCard(q url.Values) (*user, *card, answer, bool) {
	if a, ok := onlyParams(q, "card_id", "user_id", "external_id"); !ok {
		return nil, nil, a, false
	}
	u, a, ok := s.userByKeys(q, "user_id", "external_id")
	if !ok {
		return nil, nil, a, false
	}
	c := s.cards[q.Get("card_id")]
	if c == nil || c.user != u.id {
		return nil, nil, errAnswer(http.StatusNotFound, "Card not found"), false
	}
	return u, c, answer{}, true
}

func (s *Server) setCardActive(q url.Values, active bool) answer {
	_, c, a, ok := s.userCard(q)
	if !ok {
		return a
	}
	c.active = active
	return jsonAnswer(http.StatusOK, cardJSON(c))
}

func (s *Server) activateCard(q url.Values, _ []byte) answer   { return s.setCardActive(q, true) }
func (s *Server) deactivateCard(q url.Values, _ []byte) answer { return s.setCardActive(q, false) }

func (s *Server) deleteCard(q url.Values, _ []byte) answer {
	u, c, a, ok := s.userCard(q)
	if !ok {
		return a
	}
	s.dropCardLocked(u, c.id)
	return jsonAnswer(http.StatusOK, struct{}{})
}

func (s *Server) dropCardLocked(u *user, cid string) {
	delete(s.cards, cid)
	u.cards = slices.DeleteFunc(u.cards, func(id string) bool { return id == cid })
}

// passInvite serves POST /access/v1/access_users/user/pass/invite: it
// records the invitation and answers the access-user object.
func (s *Server) passInvite(q url.Values, body []byte) answer {
	if a, ok := onlyParams(q, accessUserKeys...); !ok {
		return a
	}
	u, a, ok := s.userByKeys(q, accessUserKeys...)
	if !ok {
		return a
	}
	if len(body) > 0 && strings.TrimSpace(string(body)) != "{}" {
		return errAnswer(http.StatusBadRequest, "This endpoint takes no body")
	}
	if u.email == "" {
		return errAnswer(http.StatusBadRequest, "User has no email address")
	}
	s.invites = append(s.invites, Invite{UserID: u.id, Email: u.email, Sent: s.now()})
	return jsonAnswer(http.StatusOK, s.accessUserJSON(u))
}

// ---- access groups ----

func (s *Server) sortedGroups() []*group {
	out := make([]*group, 0, len(s.groups))
	for _, g := range s.groups {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b *group) int { return strings.Compare(a.id, b.id) })
	return out
}

func (s *Server) listGroups(q url.Values, _ []byte) answer {
	if a, ok := onlyParams(q, "page_size", "page_token"); !ok {
		return a
	}
	gs := s.sortedGroups()
	lo, hi, next, a, ok := s.pageOf(q, len(gs), "access_groups")
	if !ok {
		return a
	}
	rows := make([]groupRef, 0, hi-lo)
	for _, g := range gs[lo:hi] {
		rows = append(rows, groupRef{GroupID: g.id, Name: g.name})
	}
	return jsonAnswer(http.StatusOK, map[string]any{"access_groups": rows, "next_page_token": nullable(next)})
}

func (s *Server) groupOf(q url.Values) (*group, answer, bool) {
	id := q.Get("group_id")
	if id == "" {
		return nil, errAnswer(http.StatusBadRequest, "group_id is required"), false
	}
	g := s.groups[id]
	if g == nil {
		return nil, errAnswer(http.StatusNotFound, "Access group not found"), false
	}
	return g, answer{}, true
}

func (s *Server) getGroup(q url.Values, _ []byte) answer {
	if a, ok := onlyParams(q, "group_id"); !ok {
		return a
	}
	g, a, ok := s.groupOf(q)
	if !ok {
		return a
	}
	return jsonAnswer(http.StatusOK, map[string]any{"group_id": g.id, "name": g.name, "user_ids": sortedKeys(g.members)})
}

func (s *Server) addMember(q url.Values, body []byte) answer {
	if a, ok := onlyParams(q, "group_id"); !ok {
		return a
	}
	g, a, ok := s.groupOf(q)
	if !ok {
		return a
	}
	var in struct {
		UserID     *string `json:"user_id"`
		ExternalID *string `json:"external_id"`
	}
	if err := decodeStrict(body, &in); err != nil || (in.UserID == nil) == (in.ExternalID == nil) {
		return errAnswer(http.StatusBadRequest, "Body must hold exactly one of user_id and external_id")
	}
	key := ""
	var u *user
	if in.UserID != nil {
		key, u = *in.UserID, s.users[*in.UserID]
	} else {
		key, u = *in.ExternalID, s.users[s.byExternal[*in.ExternalID]]
	}
	out := map[string]any{"group_id": g.id, "name": g.name, "successful_adds": []string{}, "unsuccessful_adds": []string{}}
	if u == nil {
		out["unsuccessful_adds"] = []string{key}
		return jsonAnswer(http.StatusOK, out)
	}
	g.members[u.id] = true
	u.groups[g.id] = true
	out["successful_adds"] = []string{key}
	return jsonAnswer(http.StatusOK, out)
}

func (s *Server) removeMember(q url.Values, _ []byte) answer {
	if a, ok := onlyParams(q, "group_id", "user_id", "external_id"); !ok {
		return a
	}
	g, a, ok := s.groupOf(q)
	if !ok {
		return a
	}
	u, a, ok := s.userByKeys(q, "user_id", "external_id")
	if !ok {
		return a
	}
	delete(g.members, u.id)
	delete(u.groups, g.id)
	return jsonAnswer(http.StatusOK, struct{}{})
}
