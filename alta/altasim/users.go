package altasim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

type group struct {
	id          int64
	name        string
	description string
}

type user struct {
	id              int64
	identityID      int64
	email           string
	first, last     string
	externalID      string
	status          string // I, A or S
	readOnly        bool   // kept by an identity provider (SetReadOnly)
	start, end      *time.Time
	timeZone        string
	hasRemoteUnlock bool
	created         time.Time
	updated         time.Time
	archived        bool // soft-deleted
	groups          map[int64]bool
}

// orgRoute dispatches the path after /orgs/{orgId}. s.mu is held.
func (s *Server) orgRoute(r *http.Request, seg []string, body []byte) answer {
	q := r.URL.Query()
	m := r.Method
	switch {
	case len(seg) == 1 && seg[0] == "users":
		return pick(m, map[string]func() answer{"GET": func() answer { return s.listUsers(q) }, "POST": func() answer { return s.createUser(q, body) }})
	case len(seg) >= 2 && seg[0] == "users":
		return s.userRoute(m, q, seg[1:], body)
	case len(seg) == 1 && seg[0] == "groups":
		return pick(m, map[string]func() answer{"GET": func() answer { return s.listGroups(q) }, "POST": func() answer { return s.createGroup(body) }})
	case len(seg) == 1 && seg[0] == "credentialTypes":
		return pick(m, map[string]func() answer{"GET": func() answer { return s.listCredentialTypes(q) }})
	case len(seg) == 1 && seg[0] == "cardFormats":
		return pick(m, map[string]func() answer{"GET": func() answer { return s.listCardFormats(q) }})
	case len(seg) == 1 && seg[0] == "credentials":
		return pick(m, map[string]func() answer{"GET": func() answer { return s.listOrgCredentials(q) }})
	case len(seg) == 1 && seg[0] == "entries":
		return pick(m, map[string]func() answer{"GET": func() answer { return s.listEntries(q) }})
	case len(seg) == 3 && seg[0] == "reports" && seg[1] == "activity" && seg[2] == "events":
		return pick(m, map[string]func() answer{"GET": func() answer { return s.activityEvents(r) }})
	}
	return notFound("route")
}

// pick runs the handler of the method, or answers 404 as for an unknown
// route.
func pick(method string, handlers map[string]func() answer) answer {
	if h, ok := handlers[method]; ok {
		return h()
	}
	return notFound("route")
}

func (s *Server) userRoute(m string, q url.Values, seg []string, body []byte) answer {
	uid, ok := parseID(seg[0])
	if !ok {
		return notFound("user")
	}
	u := s.users[uid]
	if u == nil || u.archived {
		return notFound("user")
	}
	switch {
	case len(seg) == 1:
		return pick(m, map[string]func() answer{
			"GET":    func() answer { return s.getUser(q, u) },
			"PATCH":  func() answer { return s.patchUser(q, u, body) },
			"DELETE": func() answer { return s.deleteUser(q, u) },
		})
	case len(seg) == 2 && seg[1] == "status":
		return pick(m, map[string]func() answer{"PUT": func() answer { return s.putStatus(q, u, body) }})
	case len(seg) == 2 && seg[1] == "groupIds":
		return pick(m, map[string]func() answer{
			"PUT":   func() answer { return s.putGroupIDs(q, u, body) },
			"PATCH": func() answer { return s.patchGroupIDs(q, u, body) },
		})
	case len(seg) == 2 && seg[1] == "groups":
		return pick(m, map[string]func() answer{"GET": func() answer { return s.userGroups(q, u) }})
	case len(seg) == 2 && seg[1] == "credentials":
		return pick(m, map[string]func() answer{
			"GET":  func() answer { return s.listUserCredentials(q, u) },
			"POST": func() answer { return s.createCredential(q, u, body) },
		})
	case len(seg) == 3 && seg[1] == "credentials":
		return s.credentialRoute(m, q, u, seg[2], body)
	}
	return notFound("route")
}

func (s *Server) userJSON(u *user) map[string]any {
	groups := make([]any, 0, len(u.groups))
	for _, gid := range sortedKeys(u.groups) {
		if g := s.groups[gid]; g != nil {
			groups = append(groups, map[string]any{"id": g.id, "name": g.name})
		}
	}
	var ext any
	if u.externalID != "" {
		ext = u.externalID
	}
	var tz any
	if u.timeZone != "" {
		tz = u.timeZone
	}
	full := strings.TrimSpace(u.first + " " + u.last)
	return map[string]any{
		"id": u.id, "opal": "opal:prod:user:" + strconv.FormatInt(u.id, 10), "status": u.status,
		"startDate": formatOptTime(u.start), "endDate": formatOptTime(u.end), "startAndEndDateTimeZoneId": tz,
		"externalId": ext, "hasRemoteUnlock": u.hasRemoteUnlock, "isOverrideAllowed": false,
		"identity": map[string]any{"id": u.identityID, "email": u.email, "firstName": nullable(u.first),
			"lastName": nullable(u.last), "fullName": full},
		"groups": groups, "createdAt": formatTime(u.created), "updatedAt": formatTime(u.updated),
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) liveUsers() []*user {
	var out []*user
	for _, id := range sortedKeys(s.users) {
		if u := s.users[id]; !u.archived {
			out = append(out, u)
		}
	}
	return out
}

// listUsers serves the user list: live users only, q searched in the
// e-mail and the names (not in externalId: the notes do not say it is).
func (s *Server) listUsers(q url.Values) answer {
	if a, ok := onlyParams(q, append(listQuery, "cursor", "ccursor", "withBuildings", "isAttachedToAtLeastOneIntercom")...); !ok {
		return a
	}
	users := s.liveUsers()
	items := make([]map[string]any, len(users))
	for i, u := range users {
		items[i] = s.userJSON(u)
	}
	a := page(q, items, func(m map[string]any) string {
		id := m["identity"].(map[string]any)
		return strings.Join([]string{id["email"].(string), str(id["firstName"]), str(id["lastName"])}, " ")
	})
	return withCursors(a)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// withCursors adds the cursors object users carry (§1.8); offset paging
// is what the simulator serves, so hasNextPage is computed from it.
func withCursors(a answer) answer {
	if a.status != http.StatusOK {
		return a
	}
	var m map[string]any
	if json.Unmarshal(a.body, &m) != nil {
		return a
	}
	m["cursors"] = map[string]any{"nextCursor": nil, "hasNextPage": false}
	return jsonAnswer(http.StatusOK, m)
}

func (s *Server) getUser(q url.Values, u *user) answer {
	if a, ok := onlyParams(q, "options"); !ok {
		return a
	}
	return dataAnswer(http.StatusOK, s.userJSON(u))
}

// userBody is the body of POST and PATCH /users. Nullable fields are raw so
// that null (clear) and absent (keep) differ.
type userBody struct {
	Identity *struct {
		Email       *string          `json:"email"`
		Password    *string          `json:"password"`
		FirstName   json.RawMessage  `json:"firstName"`
		MiddleName  json.RawMessage  `json:"middleName"`
		LastName    json.RawMessage  `json:"lastName"`
		MobilePhone json.RawMessage  `json:"mobilePhone"`
		Language    *string          `json:"language"`
		Nicknames   *json.RawMessage `json:"nicknames"`
	} `json:"identity"`
	StartDate         json.RawMessage `json:"startDate"`
	EndDate           json.RawMessage `json:"endDate"`
	TimeZone          json.RawMessage `json:"startAndEndDateTimeZoneId"`
	HasRemoteUnlock   *bool           `json:"hasRemoteUnlock"`
	IsOverrideAllowed *bool           `json:"isOverrideAllowed"`
	ExternalID        json.RawMessage `json:"externalId"`
	PersonID          json.RawMessage `json:"personId"`
	Department        json.RawMessage `json:"department"`
	Title             json.RawMessage `json:"title"`
}

// optString reads a nullable string: set reports presence, the value is
// "" for null.
func optString(raw json.RawMessage) (v string, set bool, err error) {
	if raw == nil {
		return "", false, nil
	}
	if string(raw) == "null" {
		return "", true, nil
	}
	err = json.Unmarshal(raw, &v)
	return v, true, err
}

func optTime(raw json.RawMessage) (t *time.Time, set bool, err error) {
	v, set, err := optString(raw)
	if err != nil || !set || v == "" {
		return nil, set, err
	}
	tt, err := parseTime(v)
	if err != nil {
		return nil, true, err
	}
	return &tt, true, nil
}

// applyUser applies a body to u (a new user or a PATCH).
func (s *Server) applyUser(u *user, b *userBody) answer {
	if b.Identity != nil {
		if b.Identity.Email != nil {
			if a, ok := s.setEmail(u, *b.Identity.Email); !ok {
				return a
			}
		}
		for _, f := range []struct {
			raw json.RawMessage
			dst *string
		}{{b.Identity.FirstName, &u.first}, {b.Identity.LastName, &u.last}} {
			v, set, err := optString(f.raw)
			if err != nil || set && v != "" && (strings.TrimSpace(v) == "" || len([]rune(v)) > 100) {
				return badRequest("names must be 1 to 100 characters")
			}
			if set {
				*f.dst = strings.TrimSpace(v)
			}
		}
	}
	if a, ok := s.applyWindow(u, b); !ok {
		return a
	}
	if v, set, err := optString(b.ExternalID); err != nil {
		return badRequest("externalId must be a string")
	} else if set {
		u.externalID = v
	}
	if b.HasRemoteUnlock != nil {
		u.hasRemoteUnlock = *b.HasRemoteUnlock
	}
	return answer{}
}

func (s *Server) applyWindow(u *user, b *userBody) (answer, bool) {
	start, startSet, err1 := optTime(b.StartDate)
	end, endSet, err2 := optTime(b.EndDate)
	tz, tzSet, err3 := optString(b.TimeZone)
	if err1 != nil || err2 != nil {
		return badRequest("startDate and endDate must be dates or ISO 8601 timestamps"), false
	}
	if err3 != nil || tzSet && tz != "" && !validZone(tz) {
		return badRequest("startAndEndDateTimeZoneId must be an IANA time zone"), false
	}
	if startSet {
		u.start = start
	}
	if endSet {
		u.end = end
	}
	if tzSet {
		u.timeZone = tz
	}
	if u.start != nil && u.end != nil && !u.end.After(*u.start) {
		return badRequest("endDate must be after startDate"), false
	}
	return answer{}, true
}

func validZone(tz string) bool {
	if strings.Contains(tz, "..") {
		return false
	}
	_, err := time.LoadLocation(tz)
	return err == nil
}

func validEmail(e string) bool {
	if len(e) == 0 || len(e) > 254 {
		return false
	}
	for i := 0; i < len(e); i++ {
		if c := e[i]; c < '!' || c > '~' {
			return false
		}
	}
	local, domain, ok := strings.Cut(e, "@")
	return ok && local != "" && domain != "" && !strings.Contains(domain, "@")
}

func (s *Server) setEmail(u *user, email string) (answer, bool) {
	email = strings.TrimSpace(email)
	if !validEmail(email) {
		return badRequest("identity.email is not a valid e-mail address"), false
	}
	key := strings.ToLower(email)
	if other, taken := s.byEmail[key]; taken && other != u.id {
		return errAnswer(http.StatusConflict, "ConflictError", "a user with this email already exists"), false
	}
	delete(s.byEmail, strings.ToLower(u.email))
	u.email = email
	s.byEmail[key] = u.id
	return answer{}, true
}

// createUser serves POST /users. An e-mail of a soft-deleted user brings
// that user back as it was (201, old createdAt, old fields, stale
// credentials, §1.3); one of a live user is a 409.
func (s *Server) createUser(q url.Values, body []byte) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	var b userBody
	if err := decodeStrict(body, &b); err != nil {
		return badRequest("invalid user: " + err.Error())
	}
	if b.Identity == nil || b.Identity.Email == nil {
		return badRequest("identity.email is required")
	}
	key := strings.ToLower(strings.TrimSpace(*b.Identity.Email))
	prev, taken := s.byEmail[key]
	if taken {
		live := slices.ContainsFunc(s.liveUsers(), func(u *user) bool { return strings.EqualFold(u.email, key) })
		switch {
		case !live:
			u := s.users[prev]
			u.archived = false
			return dataAnswer(http.StatusCreated, s.userJSON(u))
		case !s.sharedEmails:
			return errAnswer(http.StatusConflict, "ConflictError", "a user with this email already exists")
		}
	}
	now := s.now()
	u := &user{id: s.nextUser, identityID: s.identity + s.nextUser, status: "A", created: now, updated: now, groups: map[int64]bool{}}
	if taken {
		// WithSharedEmails: a second user with the e-mail. setEmail
		// refuses a taken address, so it is set here.
		email := strings.TrimSpace(*b.Identity.Email)
		b.Identity.Email = nil
		u.email = email
	}
	if a := s.applyUser(u, &b); a.status != 0 {
		if !taken {
			delete(s.byEmail, key)
		}
		return a
	}
	s.nextUser++
	s.users[u.id] = u
	if !taken {
		s.byEmail[key] = u.id
	}
	return dataAnswer(http.StatusCreated, s.userJSON(u))
}

func (s *Server) patchUser(q url.Values, u *user, body []byte) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	var b userBody
	if err := decodeStrict(body, &b); err != nil {
		return badRequest("invalid user: " + err.Error())
	}
	// Apply to a copy so that a refused PATCH changes nothing.
	cp := *u
	cp.groups = u.groups
	if a := s.applyUser(&cp, &b); a.status != 0 {
		if cp.email != u.email {
			delete(s.byEmail, strings.ToLower(cp.email))
			s.byEmail[strings.ToLower(u.email)] = u.id
		}
		return a
	}
	cp.updated = s.now()
	*u = cp
	return dataAnswer(http.StatusOK, s.userJSON(u))
}

// deleteUser soft-deletes: the user vanishes from the API but keeps its
// fields, groups and credentials for a later re-creation (§1.3).
func (s *Server) deleteUser(q url.Values, u *user) answer {
	if a, ok := onlyParams(q, "options"); !ok {
		return a
	}
	u.archived = true
	u.updated = s.now()
	return noContent()
}

func (s *Server) putStatus(q url.Values, u *user, body []byte) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	var in struct {
		Status string `json:"status"`
	}
	if err := decodeStrict(body, &in); err != nil {
		return badRequest("invalid status: " + err.Error())
	}
	switch in.Status {
	case "I", "A", "S":
	default:
		return badRequest("status must be I, A or S")
	}
	if u.readOnly {
		return errAnswer(http.StatusForbidden, "ForbiddenError", "User is managed by an identity provider (SCIM) and is read-only")
	}
	u.status = in.Status
	u.updated = s.now()
	return noContent()
}

func (s *Server) checkGroups(ids []int64) (answer, bool) {
	for _, id := range ids {
		if s.groups[id] == nil {
			return badRequest("group " + strconv.FormatInt(id, 10) + " does not exist"), false
		}
	}
	return answer{}, true
}

// putGroupIDs replaces the user's groups (§1.4).
func (s *Server) putGroupIDs(q url.Values, u *user, body []byte) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	var in struct {
		GroupIDs *[]int64 `json:"groupIds"`
	}
	if err := decodeStrict(body, &in); err != nil || in.GroupIDs == nil {
		return badRequest("groupIds (an array of group IDs) is required")
	}
	if a, ok := s.checkGroups(*in.GroupIDs); !ok {
		return a
	}
	u.groups = map[int64]bool{}
	for _, id := range *in.GroupIDs {
		u.groups[id] = true
	}
	u.updated = s.now()
	return noContent()
}

func (s *Server) patchGroupIDs(q url.Values, u *user, body []byte) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	var in struct {
		Add    []int64 `json:"add"`
		Remove []int64 `json:"remove"`
	}
	if err := decodeStrict(body, &in); err != nil {
		return badRequest("invalid body: " + err.Error())
	}
	if a, ok := s.checkGroups(slices.Concat(in.Add, in.Remove)); !ok {
		return a
	}
	for _, id := range in.Remove {
		delete(u.groups, id)
	}
	for _, id := range in.Add {
		u.groups[id] = true
	}
	u.updated = s.now()
	return noContent()
}

func (s *Server) userGroups(q url.Values, u *user) answer {
	if a, ok := onlyParams(q, listQuery...); !ok {
		return a
	}
	var items []map[string]any
	for _, id := range sortedKeys(u.groups) {
		if g := s.groups[id]; g != nil {
			items = append(items, map[string]any{"id": g.id, "name": g.name})
		}
	}
	return page(q, items, func(m map[string]any) string { return m["name"].(string) })
}
