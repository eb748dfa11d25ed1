package origosim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// CloudEvent types the simulator delivers (the names public clients
// handle; research/more-acs.md §4.4 and its sources).
const (
	EventInvitation = "com.origo.mi.invitation"
	EventCredential = "origo.credential-management.events.credential"
)

// BatchContentType is the media type of a callback delivery.
const BatchContentType = "application/cloudevents-batch+json"

// Event is one CloudEvent as delivered to the callback URL.
type Event struct {
	SpecVersion     string         `json:"specversion"`
	ID              string         `json:"id"`
	Source          string         `json:"source"`
	Type            string         `json:"type"`
	Time            string         `json:"time"`
	DataContentType string         `json:"datacontenttype"`
	OrganizationID  string         `json:"organizationId"`
	Data            map[string]any `json:"data"`
}

// Delivery is one callback POST and how the receiver answered.
type Delivery struct {
	Time   time.Time
	Events []Event
	// Status is the receiver's HTTP status; 0 when the POST failed (Err).
	Status int
	Err    error
}

type callback struct {
	url    string
	header http.Header
}

// SetCallback registers the URL credential lifecycle events are POSTed to,
// with header (a shared secret, an Authorization) on every delivery; an
// empty url stops deliveries.
func (s *Server) SetCallback(url string, header http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if url == "" {
		s.callback = nil
		return
	}
	s.callback = &callback{url: url, header: header.Clone()}
}

// Deliveries returns the callback deliveries made so far.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// deliver POSTs events to cb once, without retry, and records the
// outcome. s.mu is not held.
func (s *Server) deliver(cb *callback, events []Event) {
	if cb == nil {
		return
	}
	d := Delivery{Time: s.now(), Events: events}
	body, _ := json.Marshal(events)
	req, err := http.NewRequest(http.MethodPost, cb.url, bytes.NewReader(body))
	if err == nil {
		for k, vs := range cb.header {
			req.Header[k] = vs
		}
		req.Header.Set("Content-Type", BatchContentType)
		var resp *http.Response
		if resp, err = s.cbClient.Do(req); err == nil {
			d.Status = resp.StatusCode
			_ = resp.Body.Close()
		}
	}
	d.Err = err
	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()
}

// Accept acts as the visitor's phone: it acknowledges the latest pending
// invitation of the (oldest) user with externalID, issues its credential
// with the next card number (see WithCardNumbers) in a new credential
// container, and delivers the callbacks. It returns the issued credential.
func (s *Server) Accept(externalID string) (CredentialInfo, error) {
	return s.AcceptWithCard(externalID, 0)
}

// AcceptWithCard is Accept with a given card number (0: the next one).
func (s *Server) AcceptWithCard(externalID string, number uint64) (CredentialInfo, error) {
	s.mu.Lock()
	u := s.userByExternal(externalID)
	if u == nil {
		s.mu.Unlock()
		return CredentialInfo{}, fmt.Errorf("origosim: no user with externalId %q", externalID)
	}
	var inv *invitation
	for _, id := range slices.Backward(u.invitations) {
		if i := s.invitations[id]; i.status == InvitationPending && s.now().Before(i.expires) {
			inv = i
			break
		}
	}
	if inv == nil {
		s.mu.Unlock()
		return CredentialInfo{}, errors.New("origosim: the user has no pending invitation to accept")
	}
	events := s.acceptLocked(u, inv, number)
	c := credInfo(s.creds[inv.cred])
	cb := s.callback
	s.mu.Unlock()
	s.deliver(cb, events)
	return c, nil
}

// acceptLocked acknowledges inv on a new phone and issues its credential,
// returning the callback events. s.mu is held.
func (s *Server) acceptLocked(u *user, inv *invitation, number uint64) []Event {
	now := s.now()
	inv.status = InvitationAcknowledged
	c := s.creds[inv.cred]
	if c == nil {
		c = &credential{id: s.nextID(), user: u.id, partNumber: s.partNumbers[0]}
		s.creds[c.id] = c
		inv.cred = c.id
	}
	if number == 0 {
		if s.cardNumbers != nil {
			number = s.cardNumbers(u.externalID)
		} else {
			number = s.nextCard
			s.nextCard++
		}
	}
	ct := &container{id: s.nextID(), creds: []int64{c.id}}
	u.containers = append(u.containers, ct)
	c.status, c.card, c.container = CredentialIssued, number, ct.id
	u.modified = now
	userID := strconv.FormatInt(u.id, 10)
	return []Event{
		s.event(EventInvitation, now, map[string]any{"userId": userID, "invitationCode": inv.code,
			"status": "INVITATION_ACKNOWLEDGED", "organizationId": s.org}),
		s.event(EventCredential, now, map[string]any{"id": strconv.FormatInt(c.id, 10), "userId": userID,
			"organizationId": s.org, "status": "CREDENTIAL_ISSUED", "statusCode": 31,
			"metaData": map[string]any{"cardNumber": number, "partNumber": c.partNumber}}),
	}
}

// acceptDueLocked has the phone accept, in the order they were created,
// the invitations whose WithAcceptAfter time has come and that are still
// pending, queueing their callbacks for delivery after the current
// answer. s.mu is held.
func (s *Server) acceptDueLocked() {
	if len(s.phone) == 0 {
		return
	}
	now := s.now()
	var due []int64
	for id, at := range s.phone {
		if !now.Before(at) {
			due = append(due, id)
		}
	}
	slices.Sort(due)
	for _, id := range due {
		delete(s.phone, id)
		inv := s.invitations[id]
		if inv == nil || inv.status != InvitationPending || !now.Before(inv.expires) {
			continue
		}
		if u := s.users[inv.user]; u != nil {
			s.pending = append(s.pending, s.acceptLocked(u, inv, 0)...)
		}
	}
}

func (s *Server) event(typ string, at time.Time, data map[string]any) Event {
	return Event{SpecVersion: "1.0", ID: "evt-" + strconv.FormatInt(s.nextID(), 10), Source: "/origo/" + s.org,
		Type: typ, Time: stamp(at), DataContentType: "application/json", OrganizationID: s.org, Data: data}
}

// userByExternal returns the oldest user with externalID. s.mu is held.
func (s *Server) userByExternal(externalID string) *user {
	var found *user
	for _, u := range s.users {
		if u.externalID == externalID && (found == nil || u.id < found.id) {
			found = u
		}
	}
	return found
}

// ---- oracle ----

// InvitationInfo is a snapshot of an invitation.
type InvitationInfo struct {
	ID, Code, Status string
}

// CredentialInfo is a snapshot of a credential.
type CredentialInfo struct {
	ID, PartNumber, Status string
	// CardNumber is 0 until the phone accepted.
	CardNumber uint64
}

// UserInfo is a snapshot of a user and what it holds.
type UserInfo struct {
	ID, ExternalID, GivenName, FamilyName, Email string
	Invitations                                  []InvitationInfo
	Credentials                                  []CredentialInfo // reserved ones included, by ID
}

func credInfo(c *credential) CredentialInfo {
	return CredentialInfo{ID: strconv.FormatInt(c.id, 10), PartNumber: c.partNumber, Status: c.status, CardNumber: c.card}
}

func (s *Server) userInfo(u *user) UserInfo {
	ui := UserInfo{ID: strconv.FormatInt(u.id, 10), ExternalID: u.externalID, GivenName: u.given,
		FamilyName: u.family, Email: u.mail}
	for _, id := range u.invitations {
		j := s.invitationJSON(s.invitations[id])
		ui.Invitations = append(ui.Invitations, InvitationInfo{ID: strconv.FormatInt(j.ID, 10), Code: j.InvitationCode, Status: j.Status})
	}
	var ids []int64
	for id, c := range s.creds {
		if c.user == u.id {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		ui.Credentials = append(ui.Credentials, credInfo(s.creds[id]))
	}
	return ui
}

// User returns a snapshot of the oldest user with externalID.
func (s *Server) User(externalID string) (UserInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByExternal(externalID)
	if u == nil {
		return UserInfo{}, false
	}
	return s.userInfo(u), true
}

// Users returns snapshots of every user, by ID.
func (s *Server) Users() []UserInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int64, 0, len(s.users))
	for id := range s.users {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]UserInfo, 0, len(ids))
	for _, id := range ids {
		out = append(out, s.userInfo(s.users[id]))
	}
	return out
}

// Census counts users, pending invitations and issued credentials.
func (s *Server) Census() Census {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := Census{Users: len(s.users)}
	for _, inv := range s.invitations {
		if inv.status == InvitationPending && s.now().Before(inv.expires) {
			c.Invitations++
		}
	}
	for _, cr := range s.creds {
		if cr.status == CredentialIssued {
			c.Credentials++
		}
	}
	return c
}

// AddUser creates a user behind the adapter's back, as an administrator
// (or a twin creation) would, and returns its ID.
func (s *Server) AddUser(externalID, given, family, email string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	u := &user{id: s.nextID(), externalID: externalID, given: given, family: family, mail: email, created: now, modified: now}
	s.users[u.id] = u
	return strconv.FormatInt(u.id, 10)
}

// RevokeCredential marks a credential REVOKED behind the adapter's back,
// as an administrator in the Origo portal would; false when there is no
// such credential.
func (s *Server) RevokeCredential(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, _ := strconv.ParseInt(id, 10, 64)
	c := s.creds[n]
	if c == nil {
		return false
	}
	c.status = CredentialRevoked
	return true
}
