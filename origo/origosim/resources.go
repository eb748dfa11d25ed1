package origosim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// InvitationLifetime is how long an invitation code can be acknowledged.
const InvitationLifetime = 7 * 24 * time.Hour

// Invitation and credential statuses as the API answers them.
const (
	InvitationPending      = "PENDING"
	InvitationAcknowledged = "ACKNOWLEDGED"
	InvitationCancelled    = "CANCELLED"
	InvitationExpired      = "EXPIRED"

	CredentialReserved = "RESERVED" // before the phone accepts: no card number yet
	CredentialIssued   = "ISSUED"
	CredentialRevoked  = "REVOKED"
)

type user struct {
	id                              int64
	externalID, given, family, mail string
	created, modified               time.Time
	invitations                     []int64
	containers                      []*container
}

type container struct {
	id    int64
	creds []int64
}

type invitation struct {
	id, user, cred   int64
	code, status     string
	created, expires time.Time
}

type credential struct {
	id, user   int64
	partNumber string
	status     string
	card       uint64 // 0 until issued
	container  int64  // 0 until issued
}

// ---- JSON shapes ----

type nameJSON struct {
	FamilyName string `json:"familyName,omitempty"`
	GivenName  string `json:"givenName,omitempty"`
}

type emailJSON struct {
	Value   string `json:"value"`
	Primary bool   `json:"primary,omitempty"`
}

type metaJSON struct {
	ResourceType string `json:"resourceType,omitempty"`
	Created      string `json:"created,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
	Location     string `json:"location,omitempty"`
}

type invitationJSON struct {
	ID             int64  `json:"id"`
	InvitationCode string `json:"invitationCode"`
	Status         string `json:"status"`
	CreatedDate    string `json:"createdDate"`
	ExpirationDate string `json:"expirationDate"`
}

type credentialJSON struct {
	ID                     int64  `json:"id"`
	PartNumber             string `json:"partNumber"`
	PartnumberFriendlyName string `json:"partnumberFriendlyName"`
	CardNumber             string `json:"cardNumber,omitempty"`
	Status                 string `json:"status"`
	CredentialType         string `json:"credentialType"`
}

type containerJSON struct {
	ID           int64            `json:"id"`
	Status       string           `json:"status"`
	Manufacturer string           `json:"manufacturer"`
	Model        string           `json:"model"`
	Credentials  []credentialJSON `json:"urn:hid:scim:api:ma:2.2:Credential"`
}

type userJSON struct {
	Schemas     []string         `json:"schemas"`
	ID          int64            `json:"id"`
	ExternalID  string           `json:"externalId,omitempty"`
	Name        nameJSON         `json:"name"`
	Emails      []emailJSON      `json:"emails,omitempty"`
	Status      string           `json:"status"`
	Meta        metaJSON         `json:"meta"`
	Invitations []invitationJSON `json:"urn:hid:scim:api:ma:2.2:UserInvitation,omitempty"`
	Containers  []containerJSON  `json:"urn:hid:scim:api:ma:2.2:CredentialContainer,omitempty"`
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// resource dispatches a Mobile Identities request; rest is the path below
// APIPath(org). s.mu is held.
func (s *Server) resource(method, rest string, body []byte) answer {
	parts := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	switch {
	case method == http.MethodPost && rest == "/users":
		return s.createUser(body)
	case method == http.MethodPost && rest == "/users/.search":
		return s.search(body)
	case len(parts) == 2 && parts[0] == "users" && method == http.MethodGet:
		return s.withUser(parts[1], func(u *user) answer { return jsonAnswer(http.StatusOK, s.userJSON(u, true)) })
	case len(parts) == 2 && parts[0] == "users" && method == http.MethodDelete:
		return s.withUser(parts[1], s.deleteUser)
	case len(parts) == 3 && parts[0] == "users" && parts[2] == "invitation" && method == http.MethodPost:
		return s.withUser(parts[1], func(u *user) answer { return s.invite(u, body) })
	case len(parts) == 2 && parts[0] == "invitation" && method == http.MethodDelete:
		return s.deleteInvitation(parts[1])
	case len(parts) == 2 && parts[0] == "credential" && method == http.MethodDelete:
		return s.deleteCredential(parts[1])
	case rest == "/part-number" && method == http.MethodGet:
		return s.listParts()
	case len(parts) == 2 && parts[0] == "part-number" && method == http.MethodGet:
		return s.getPart(parts[1])
	}
	return scimError(http.StatusNotFound, "", "Not Found")
}

// decodeStrict decodes a JSON body refusing unknown fields and trailing data.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

func (s *Server) withUser(id string, fn func(*user) answer) answer {
	n, err := strconv.ParseInt(id, 10, 64)
	u := s.users[n]
	if err != nil || u == nil {
		return scimError(http.StatusNotFound, "", "User "+strconv.Quote(id)+" not found")
	}
	return fn(u)
}

// userJSON renders u; full adds its invitations and credential
// containers (GET), which search results do not carry.
func (s *Server) userJSON(u *user, full bool) userJSON {
	j := userJSON{
		Schemas: []string{SchemaUser}, ID: u.id, ExternalID: u.externalID,
		Name: nameJSON{FamilyName: u.family, GivenName: u.given}, Status: "ACTIVE",
		Meta: metaJSON{ResourceType: "PACSUser", Created: stamp(u.created), LastModified: stamp(u.modified),
			Location: APIPath(s.org) + "/users/" + strconv.FormatInt(u.id, 10)},
	}
	if u.mail != "" {
		j.Emails = []emailJSON{{Value: u.mail, Primary: true}}
	}
	if !full {
		return j
	}
	j.Schemas = append(j.Schemas, SchemaInvitation, SchemaContainer)
	for _, id := range u.invitations {
		j.Invitations = append(j.Invitations, s.invitationJSON(s.invitations[id]))
	}
	for _, c := range u.containers {
		cj := containerJSON{ID: c.id, Status: "ACTIVE", Manufacturer: "Simulated", Model: "Phone",
			Credentials: []credentialJSON{}}
		for _, cid := range c.creds {
			cj.Credentials = append(cj.Credentials, credJSON(s.creds[cid]))
		}
		j.Containers = append(j.Containers, cj)
	}
	return j
}

func (s *Server) invitationJSON(inv *invitation) invitationJSON {
	st := inv.status
	if st == InvitationPending && !s.now().Before(inv.expires) {
		st = InvitationExpired
	}
	return invitationJSON{ID: inv.id, InvitationCode: inv.code, Status: st, CreatedDate: stamp(inv.created),
		ExpirationDate: stamp(inv.expires)}
}

func credJSON(c *credential) credentialJSON {
	j := credentialJSON{ID: c.id, PartNumber: c.partNumber, PartnumberFriendlyName: "Simulated mobile ID " + c.partNumber,
		Status: c.status, CredentialType: "SEOS"}
	if c.card != 0 {
		j.CardNumber = strconv.FormatUint(c.card, 10)
	}
	return j
}

// createUserBody is POST …/users.
type createUserBody struct {
	Schemas    []string    `json:"schemas"`
	ExternalID string      `json:"externalId"`
	Name       nameJSON    `json:"name"`
	Emails     []emailJSON `json:"emails"`
	Action     *struct {
		PartNumber string `json:"partNumber"`
	} `json:"urn:hid:scim:api:ma:2.2:UserAction"`
	Meta *metaJSON `json:"meta"`
}

func (s *Server) createUser(body []byte) answer {
	var b createUserBody
	if err := decodeStrict(body, &b); err != nil {
		return scimError(http.StatusBadRequest, "invalidSyntax", "Malformed user: "+err.Error())
	}
	switch {
	case !slices.Contains(b.Schemas, SchemaUser):
		return scimError(http.StatusBadRequest, "invalidValue", "schemas must include "+SchemaUser)
	case strings.TrimSpace(b.Name.FamilyName) == "" && strings.TrimSpace(b.Name.GivenName) == "":
		return scimError(http.StatusBadRequest, "invalidValue", "name.familyName or name.givenName is required")
	case b.Action != nil && b.Action.PartNumber != "" && !slices.Contains(s.partNumbers, b.Action.PartNumber):
		return scimError(http.StatusBadRequest, "invalidValue", "Unknown part number")
	}
	if s.uniqueExternal && b.ExternalID != "" {
		for _, u := range s.users {
			if u.externalID == b.ExternalID {
				return scimError(http.StatusConflict, "uniqueness", "externalId is already in use")
			}
		}
	}
	now := s.now()
	u := &user{id: s.nextID(), externalID: b.ExternalID, given: b.Name.GivenName, family: b.Name.FamilyName,
		created: now, modified: now}
	if len(b.Emails) > 0 {
		u.mail = b.Emails[0].Value
	}
	s.users[u.id] = u
	return jsonAnswer(http.StatusCreated, s.userJSON(u, false))
}

// searchBody is POST …/users/.search.
type searchBody struct {
	Schemas    []string `json:"schemas"`
	Attributes []string `json:"attributes"`
	Filter     string   `json:"filter"`
	SortOrder  string   `json:"sortOrder"`
	StartIndex int      `json:"startIndex"`
	Count      *int     `json:"count"`
}

func (s *Server) search(body []byte) answer {
	var b searchBody
	if err := decodeStrict(body, &b); err != nil {
		return scimError(http.StatusBadRequest, "invalidSyntax", "Malformed search: "+err.Error())
	}
	if !slices.Contains(b.Schemas, SchemaSearch) {
		return scimError(http.StatusBadRequest, "invalidValue", "schemas must include "+SchemaSearch)
	}
	attr, value, err := parseFilter(b.Filter)
	if err != nil {
		return scimError(http.StatusBadRequest, "invalidFilter", err.Error())
	}
	var found []*user
	for _, u := range s.users {
		if attr == "externalid" && u.externalID == value || attr != "externalid" && strings.EqualFold(u.mail, value) {
			found = append(found, u)
		}
	}
	slices.SortFunc(found, func(a, b *user) int { return int(a.id - b.id) })
	start := max(b.StartIndex, 1)
	count := 100
	if b.Count != nil {
		count = max(*b.Count, 0)
	}
	page := []userJSON{}
	for i := start - 1; i < len(found) && len(page) < count; i++ {
		page = append(page, s.userJSON(found[i], false))
	}
	return jsonAnswer(http.StatusOK, map[string]any{
		"schemas": []string{SchemaList}, "totalResults": len(found), "itemsPerPage": len(page),
		"startIndex": start, "Resources": page,
	})
}

// parseFilter reads `externalId eq "…"`, `emails eq "…"` or
// `emails.value eq "…"`, whose value is a JSON string. It returns the
// attribute in lower case ("externalid" or "emails").
func parseFilter(f string) (attr, value string, err error) {
	f = strings.TrimSpace(f)
	name, rest, ok := strings.Cut(f, " ")
	if !ok {
		return "", "", fmt.Errorf("unsupported filter %q", f)
	}
	switch strings.ToLower(name) {
	case "externalid":
		attr = "externalid"
	case "emails", "emails.value":
		attr = "emails"
	default:
		return "", "", fmt.Errorf("unsupported filter attribute %q", name)
	}
	op, rest, ok := strings.Cut(strings.TrimSpace(rest), " ")
	if !ok || !strings.EqualFold(op, "eq") {
		return "", "", fmt.Errorf("unsupported filter operator in %q", f)
	}
	rest = strings.TrimSpace(rest)
	if !strings.HasPrefix(rest, `"`) || json.Unmarshal([]byte(rest), &value) != nil {
		return "", "", fmt.Errorf("filter value %s is not a JSON string", rest)
	}
	return attr, value, nil
}

func (s *Server) deleteUser(u *user) answer {
	for _, id := range u.invitations {
		delete(s.invitations, id)
	}
	for id, c := range s.creds {
		if c.user == u.id {
			delete(s.creds, id)
		}
	}
	delete(s.users, u.id)
	return answer{status: http.StatusNoContent}
}

// inviteBody is POST …/users/{id}/invitation.
type inviteBody struct {
	Schemas []string `json:"schemas"`
	Action  *struct {
		CreateInvitationCode string `json:"createInvitationCode"`
		SendInvitationEmail  string `json:"sendInvitationEmail"`
		AssignCredential     string `json:"assignCredential"`
		PartNumber           string `json:"partNumber"`
		Credential           string `json:"credential"`
	} `json:"urn:hid:scim:api:ma:2.2:UserAction"`
	Meta *metaJSON `json:"meta"`
}

func yn(v string) bool { return v == "Y" || v == "N" }

func (s *Server) invite(u *user, body []byte) answer {
	var b inviteBody
	if err := decodeStrict(body, &b); err != nil {
		return scimError(http.StatusBadRequest, "invalidSyntax", "Malformed user action: "+err.Error())
	}
	a := b.Action
	switch {
	case !slices.Contains(b.Schemas, SchemaUserAction) || a == nil:
		return scimError(http.StatusBadRequest, "invalidValue", "a "+SchemaUserAction+" block is required")
	case a.CreateInvitationCode != "Y" || !yn(a.SendInvitationEmail) || !yn(a.AssignCredential):
		return scimError(http.StatusBadRequest, "invalidValue", "createInvitationCode must be Y; sendInvitationEmail and assignCredential Y or N")
	case a.SendInvitationEmail == "Y" && u.mail == "":
		return scimError(http.StatusBadRequest, "invalidValue", "The user has no e-mail address to send the invitation to")
	case a.AssignCredential == "Y" && !slices.Contains(s.partNumbers, a.PartNumber):
		return scimError(http.StatusBadRequest, "invalidValue", "Unknown part number")
	}
	now := s.now()
	inv := &invitation{id: s.nextID(), user: u.id, code: invitationCode(), status: InvitationPending,
		created: now, expires: now.Add(InvitationLifetime)}
	s.invitations[inv.id] = inv
	u.invitations = append(u.invitations, inv.id)
	u.modified = now
	var cred *credential
	if a.AssignCredential == "Y" {
		cred = &credential{id: s.nextID(), user: u.id, partNumber: a.PartNumber, status: CredentialReserved}
		s.creds[cred.id] = cred
		inv.cred = cred.id
	}
	switch {
	case s.autoAccept:
		s.pending = append(s.pending, s.acceptLocked(u, inv, 0)...)
	case s.acceptAfter != nil:
		if d := s.acceptAfter(u.externalID); d > 0 {
			s.phone[inv.id] = now.Add(d)
		} else {
			s.pending = append(s.pending, s.acceptLocked(u, inv, 0)...)
		}
	}
	out := map[string]any{
		"schemas":        []string{SchemaInvitation, SchemaCredential},
		SchemaInvitation: []invitationJSON{s.invitationJSON(inv)},
		SchemaCredential: []credentialJSON{},
	}
	if cred != nil {
		out[SchemaCredential] = []credentialJSON{credJSON(cred)}
	}
	return jsonAnswer(http.StatusCreated, out)
}

func invitationCode() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	h := strings.ToUpper(hex.EncodeToString(b))
	return h[:4] + "-" + h[4:8] + "-" + h[8:12] + "-" + h[12:16]
}

func (s *Server) deleteInvitation(id string) answer {
	n, err := strconv.ParseInt(id, 10, 64)
	inv := s.invitations[n]
	if err != nil || inv == nil {
		return scimError(http.StatusNotFound, "", "Invitation "+strconv.Quote(id)+" not found")
	}
	if inv.status == InvitationPending {
		inv.status = InvitationCancelled
		if c := s.creds[inv.cred]; c != nil && c.status == CredentialReserved {
			delete(s.creds, c.id)
		}
	}
	return answer{status: http.StatusNoContent}
}

func (s *Server) deleteCredential(id string) answer {
	n, err := strconv.ParseInt(id, 10, 64)
	c := s.creds[n]
	if err != nil || c == nil || c.status == CredentialRevoked {
		return scimError(http.StatusNotFound, "", "Credential "+strconv.Quote(id)+" not found")
	}
	if c.status == CredentialReserved {
		delete(s.creds, c.id)
	} else {
		c.status = CredentialRevoked
	}
	if u := s.users[c.user]; u != nil {
		u.modified = s.now()
	}
	return answer{status: http.StatusNoContent}
}

func (s *Server) partJSON(i int, pn string) map[string]any {
	return map[string]any{"schemas": []string{SchemaPartNumber}, "id": i + 1, "partNumber": pn,
		"friendlyName": "Simulated mobile ID " + pn, "availableQty": 1000}
}

func (s *Server) listParts() answer {
	res := []map[string]any{}
	for i, pn := range s.partNumbers {
		res = append(res, s.partJSON(i, pn))
	}
	return jsonAnswer(http.StatusOK, map[string]any{"schemas": []string{SchemaList}, "totalResults": len(res),
		"itemsPerPage": len(res), "startIndex": 1, "Resources": res})
}

func (s *Server) getPart(id string) answer {
	n, err := strconv.Atoi(id)
	if err != nil || n < 1 || n > len(s.partNumbers) {
		return scimError(http.StatusNotFound, "", "Part number "+strconv.Quote(id)+" not found")
	}
	return jsonAnswer(http.StatusOK, s.partJSON(n-1, s.partNumbers[n-1]))
}
