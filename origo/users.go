package origo

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// mobileUser is an Origo user as GET …/users/{id} shows it: its
// invitations and the credentials of its credential containers (phones).
type mobileUser struct {
	id          string
	ext         string // its externalId, when the answer gave it
	invitations []mobileInvitation
	creds       []mobileCred
}

type mobileInvitation struct {
	id, code, status string
	created, expires time.Time // zero when not given
}

type mobileCred struct {
	id, partNumber, status string
	card                   uint64
	hasCard                bool
}

// status normalises a status: upper case, without the "CREDENTIAL_" or
// "INVITATION_" prefix the events use.
func status(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "CREDENTIAL_")
	return strings.TrimPrefix(s, "INVITATION_")
}

// dead reports whether a credential status means it no longer works.
// Statuses are not documented (§6); these are the ones public clients
// name, and anything else with a card number counts as live.
func (c mobileCred) dead() bool {
	switch status(c.status) {
	case "REVOKED", "REVOKE_INITIATED", "REVOCATION_INITIATED", "DELETED", "EXPIRED", "CANCELLED", "CANCELED":
		return true
	}
	return false
}

// usable reports whether the credential carries a card number the door
// ACS can be given: the phone accepted and it was not revoked since.
func (c mobileCred) usable() bool {
	return c.hasCard && !c.dead() && status(c.status) != "SUSPENDED"
}

// closed reports whether an invitation can no longer bring a credential:
// cancelled, expired (by status or date) or deleted.
func (v mobileInvitation) closed(now time.Time) bool {
	switch status(v.status) {
	case "CANCELLED", "CANCELED", "EXPIRED", "DELETED", "REVOKED":
		return true
	}
	return !v.expires.IsZero() && !now.Before(v.expires)
}

// issued returns the first usable credential of part number pn, or nil.
func (u *mobileUser) issued(pn string) *mobileCred {
	for k := range u.creds {
		if c := &u.creds[k]; c.usable() && (c.partNumber == "" || c.partNumber == pn) {
			return c
		}
	}
	return nil
}

// openInvitation returns the oldest invitation that may still bring a
// credential, or nil: one that is not closed and, once ACKNOWLEDGED (the
// phone accepted; the credential is on its way), only while the user holds
// no dead credential (one revoked since, which that invitation brought).
// Invitation statuses are not documented (§6): PENDING is the one named;
// anything not known to be closed counts as open, so that an unknown
// status never makes the issuer invite again and again.
func (u *mobileUser) openInvitation(now time.Time) *mobileInvitation {
	deadCred := false
	for _, c := range u.creds {
		deadCred = deadCred || c.dead()
	}
	for k := range u.invitations {
		v := &u.invitations[k]
		if v.closed(now) || status(v.status) == "ACKNOWLEDGED" && deadCred {
			continue
		}
		return v
	}
	return nil
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}
	}
	return t
}

func invitationOf(j invitationJSON) mobileInvitation {
	return mobileInvitation{id: string(j.ID), code: j.InvitationCode, status: j.Status,
		created: parseTime(j.CreatedDate), expires: parseTime(j.ExpirationDate)}
}

func credOf(j credentialJSON) mobileCred {
	c := mobileCred{id: string(j.ID), partNumber: j.PartNumber, status: j.Status}
	if n, err := strconv.ParseUint(strings.TrimSpace(string(j.CardNumber)), 10, 64); err == nil {
		c.card, c.hasCard = n, true
	}
	return c
}

func userOf(j userJSON) mobileUser {
	u := mobileUser{id: string(j.ID), ext: j.ExternalID}
	for _, v := range j.Invitations {
		u.invitations = append(u.invitations, invitationOf(v))
	}
	for _, ct := range j.Containers {
		for _, c := range ct.Credentials {
			u.creds = append(u.creds, credOf(c))
		}
	}
	return u
}

// checkID refuses an ID read from Origo (or a reference) that is not safe
// in a path: 1 to 64 letters, digits, '-' and '_'.
func checkID(op, what, s string) error {
	if s == "" || len(s) > 64 {
		return acs.Errorf(op, Name, acs.InvalidArgument, "%s %.40q is not an Origo ID", what, s)
	}
	for k := 0; k < len(s); k++ {
		c := s[k]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return acs.Errorf(op, Name, acs.InvalidArgument, "%s %.40q is not an Origo ID", what, s)
		}
	}
	return nil
}

// scimString writes s as a SCIM filter value: a JSON string (RFC 7644
// §3.4.2.2), quotes, backslashes and control characters escaped. External
// IDs are validated before (letters, digits, '-', '_', '.'), so nothing
// needs escaping in practice; the encoder guarantees it regardless.
func scimString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// searchUsers finds the users whose externalId is ext (§4.3: POST
// …/users/.search, filter `externalId eq "…"`), oldest ID first. Origo
// may hold several (two creations that raced); all are returned.
func (i *Issuer) searchUsers(ctx context.Context, op, ext string) ([]string, error) {
	if err := acs.ValidateExternalID(ext); err != nil {
		return nil, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	body := map[string]any{"schemas": []string{schemaSearch}, "filter": "externalId eq " + scimString(ext),
		"startIndex": 1, "count": 20}
	resp, err := i.call(ctx, op, request{method: http.MethodPost, path: i.apiPath("users", ".search"), body: body, idempotent: true})
	if err != nil {
		return nil, err
	}
	if !ok2xx(resp.Status) {
		return nil, i.responseError(op, resp)
	}
	var list struct {
		Resources []userJSON `json:"Resources"`
	}
	if err := i.decode(op, resp, &list); err != nil {
		return nil, err
	}
	var ids []string
	for _, r := range list.Resources {
		if r.ExternalID != ext { // a search must not widen the match
			continue
		}
		if err := checkID(op, "user ID", string(r.ID)); err != nil {
			return nil, err
		}
		ids = append(ids, string(r.ID))
	}
	sortIDs(ids)
	return ids, nil
}

// sortIDs orders IDs numerically when they are numbers, else as text.
func sortIDs(ids []string) {
	less := func(a, b string) bool {
		if len(a) != len(b) {
			return len(a) < len(b)
		}
		return a < b
	}
	for x := 1; x < len(ids); x++ {
		for y := x; y > 0 && less(ids[y], ids[y-1]); y-- {
			ids[y], ids[y-1] = ids[y-1], ids[y]
		}
	}
}

// getUser reads a user with its invitations and credentials; found is
// false when Origo answers 404 (the user does not exist).
func (i *Issuer) getUser(ctx context.Context, op, id string) (u mobileUser, found bool, err error) {
	if err := checkID(op, "user ID", id); err != nil {
		return u, false, err
	}
	resp, err := i.call(ctx, op, request{method: http.MethodGet, path: i.apiPath("users", id), idempotent: true})
	switch {
	case err != nil:
		return u, false, err
	case resp.Status == http.StatusNotFound:
		return u, false, nil
	case !ok2xx(resp.Status):
		return u, false, i.responseError(op, resp)
	}
	var j userJSON
	if err := i.decode(op, resp, &j); err != nil {
		return u, false, err
	}
	u = userOf(j)
	u.id = id
	return u, true, nil
}

// createUser creates the SCIM user of p (§4.3), carrying the part number
// in the UserAction block as public clients do. It is not idempotent: the
// caller settles a lost answer by searching again.
func (i *Issuer) createUser(ctx context.Context, op string, p acs.Person) (string, error) {
	body := map[string]any{
		"schemas":        []string{schemaUser, schemaUserAction},
		"externalId":     p.ExternalID,
		"name":           nameJSON{FamilyName: p.LastName, GivenName: p.FirstName},
		schemaUserAction: map[string]string{"partNumber": i.cfg.PartNumber},
		"meta":           map[string]string{"resourceType": "PACSUser"},
	}
	if p.Email != "" {
		body["emails"] = []emailJSON{{Value: p.Email}}
	}
	resp, err := i.call(ctx, op, request{method: http.MethodPost, path: i.apiPath("users"), body: body})
	if err != nil {
		return "", err
	}
	if !ok2xx(resp.Status) {
		return "", i.responseError(op, resp)
	}
	var j userJSON
	if err := i.decode(op, resp, &j); err != nil {
		return "", err
	}
	if err := checkID(op, "user ID", string(j.ID)); err != nil {
		return "", err
	}
	return string(j.ID), nil
}

// invite creates an invitation code and assigns a credential of the part
// number (§4.3, POST …/users/{id}/invitation); Origo e-mails the code when
// email is set. The answer lists the invitation and the credential.
func (i *Issuer) invite(ctx context.Context, op, userID string, email bool) (mobileUser, error) {
	send := "N"
	if email {
		send = "Y"
	}
	body := map[string]any{
		"schemas": []string{schemaUserAction},
		schemaUserAction: map[string]string{"createInvitationCode": "Y", "sendInvitationEmail": send,
			"assignCredential": "Y", "partNumber": i.cfg.PartNumber, "credential": ""},
		"meta": map[string]string{"resourceType": "PACSUser"},
	}
	resp, err := i.call(ctx, op, request{method: http.MethodPost, path: i.apiPath("users", userID, "invitation"), body: body})
	if err != nil {
		return mobileUser{}, err
	}
	if !ok2xx(resp.Status) {
		return mobileUser{}, i.responseError(op, resp)
	}
	var j invitationAnswerJSON
	if err := i.decode(op, resp, &j); err != nil {
		return mobileUser{}, err
	}
	u := mobileUser{id: userID}
	for _, v := range j.Invitations {
		u.invitations = append(u.invitations, invitationOf(v))
	}
	for _, c := range j.Credentials {
		u.creds = append(u.creds, credOf(c))
	}
	return u, nil
}

// remove deletes a resource: "credential", "invitation" or "users". gone
// is true when Origo answered 404; the caller decides whether that needs
// confirming.
func (i *Issuer) remove(ctx context.Context, op, kind, id string) (gone bool, err error) {
	if err := checkID(op, kind+" ID", id); err != nil {
		return false, err
	}
	resp, err := i.call(ctx, op, request{method: http.MethodDelete, path: i.apiPath(kind, id), idempotent: true})
	switch {
	case err != nil:
		return false, err
	case resp.Status == http.StatusNotFound:
		return true, nil
	case !ok2xx(resp.Status):
		return false, i.responseError(op, resp)
	}
	return false, nil
}

// partNumbers lists the part numbers of the organisation (GET
// …/part-number, SCIM PartNumber resources).
func (i *Issuer) partNumbers(ctx context.Context, op string) ([]string, error) {
	resp, err := i.call(ctx, op, request{method: http.MethodGet, path: i.apiPath("part-number"), idempotent: true})
	if err != nil {
		return nil, err
	}
	if !ok2xx(resp.Status) {
		return nil, i.responseError(op, resp)
	}
	var list struct {
		Resources []struct {
			ID         flexID `json:"id"`
			PartNumber string `json:"partNumber"`
		} `json:"Resources"`
	}
	if err := i.decode(op, resp, &list); err != nil {
		return nil, err
	}
	var out []string
	for _, r := range list.Resources {
		out = append(out, cmpOr(r.PartNumber, string(r.ID)))
	}
	return out, nil
}
