package brivosim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// subscription is an event subscription (a webhook registration).
type subscription struct {
	id         int64
	name       string
	url        string
	errorEmail string
	criteria   []criterion
	secret     string
}

type criterion struct {
	id    int64
	typ   string // SITE, USER, ACCESS-POINT, AUDIT
	op    string // EQ, NE
	value int64
}

// matches applies the criteria, all of which must hold. s.mu is held.
func (sub *subscription) matches(ev *event) bool {
	for _, c := range sub.criteria {
		var v int64
		switch c.typ {
		case "SITE":
			v = ev.SiteID
		case "USER":
			v = ev.UserID
		case "ACCESS-POINT":
			v = ev.DoorID
		case "AUDIT":
			v = 0 // access events; audit (journal) events are 1
		}
		if (v == c.value) != (c.op == "EQ") {
			return false
		}
	}
	return true
}

// delivery is one pending notification.
type delivery struct {
	sub      int64
	url      string
	event    string
	body     []byte
	attempts int
}

// Delivery is the outcome of one notification attempt.
type Delivery struct {
	SubscriptionID int64
	EventUUID      string
	URL            string
	Attempt        int    // 1 for the first attempt
	Status         int    // the receiver's HTTP status; 0 when none arrived
	Err            string // the transport error, if any
	// Delivered reports success: Brivo counts only 200 as delivered (peers
	// report that it does not accept 202).
	Delivered bool
	// Lost reports a notification dropped by LoseWebhooks: Brivo believes
	// it sent it, the receiver never saw it.
	Lost bool
}

// FlushWebhooks attempts every pending event-subscription notification
// once, in the order the events were recorded, and returns the outcomes.
// A notification that fails stays pending while it has retries left (see
// WithWebhookRetries); otherwise it is recorded in FailedDeliveries, as
// Brivo would e-mail the subscription's errorEmail. Calls are serialised;
// the server's lock is not held while posting, so a receiver may call the
// API. Notifications not attempted because ctx ended stay pending.
func (s *Server) FlushWebhooks(ctx context.Context) []Delivery {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	batch := s.pending
	s.pending = nil
	client := s.hookClient
	retries := s.hookRetries
	s.mu.Unlock()

	var out []Delivery
	var keep []*delivery
	var failed []Delivery
	for i, d := range batch {
		if ctx.Err() != nil {
			keep = append(keep, batch[i:]...)
			break
		}
		d.attempts++
		res := Delivery{SubscriptionID: d.sub, EventUUID: d.event, URL: d.url, Attempt: d.attempts}
		s.mu.Lock()
		lose := s.lose > 0
		if lose {
			s.lose--
		}
		s.mu.Unlock()
		if lose {
			res.Lost = true
			out = append(out, res)
			continue
		}
		res.Status, res.Err = post(ctx, client, d.url, d.body)
		res.Delivered = res.Status == http.StatusOK
		out = append(out, res)
		switch {
		case res.Delivered:
		case d.attempts <= retries:
			keep = append(keep, d)
		default:
			failed = append(failed, res)
		}
	}
	s.mu.Lock()
	s.pending = append(keep, s.pending...)
	s.failed = append(s.failed, failed...)
	s.deliveries = append(s.deliveries, out...)
	s.mu.Unlock()
	return out
}

func post(ctx context.Context, c *http.Client, u string, body []byte) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	return resp.StatusCode, ""
}

// PendingWebhooks returns how many notifications wait for FlushWebhooks.
func (s *Server) PendingWebhooks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// Deliveries returns every notification attempt so far.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// FailedDeliveries returns the notifications given up on (for which Brivo
// would e-mail the subscription's errorEmail).
func (s *Server) FailedDeliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.failed)
}

// LoseWebhooks makes the next n notifications vanish in transit: they
// count as sent and are never retried, the receiver never sees them.
func (s *Server) LoseWebhooks(n int) {
	s.mu.Lock()
	s.lose += n
	s.mu.Unlock()
}

// EventSubscription is a snapshot of a stored event subscription.
type EventSubscription struct {
	ID         int64
	Name       string
	URL        string
	ErrorEmail string
}

// EventSubscriptions returns the stored event subscriptions, sorted by ID.
func (s *Server) EventSubscriptions() []EventSubscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []EventSubscription
	for _, sub := range s.sortedSubscriptions() {
		out = append(out, EventSubscription{ID: sub.id, Name: sub.name, URL: sub.url, ErrorEmail: sub.errorEmail})
	}
	return out
}

func (s *Server) sortedSubscriptions() []*subscription {
	return sortedByID(s.subs, func(x *subscription) int64 { return x.id })
}

// ---- /event-subscriptions ----

type criterionIO struct {
	ID                    int64       `json:"id,omitempty"`
	CriteriaType          string      `json:"criteriaType"`
	CriteriaOperationType string      `json:"criteriaOperationType"`
	CriteriaValue         json.Number `json:"criteriaValue"`
}

type subscriptionIn struct {
	Name       string        `json:"name"`
	URL        string        `json:"url"`
	ErrorEmail string        `json:"errorEmail"`
	Criteria   []criterionIO `json:"criteria"`
}

type subscriptionOut struct {
	ID                  int64         `json:"id"`
	Name                string        `json:"name"`
	URL                 string        `json:"url"`
	ErrorEmail          string        `json:"errorEmail,omitempty"`
	Criteria            []criterionIO `json:"criteria"`
	EncryptedSecretWord string        `json:"encryptedSecretWord,omitempty"`
}

func subscriptionJSON(sub *subscription, withSecret bool) subscriptionOut {
	out := subscriptionOut{ID: sub.id, Name: sub.name, URL: sub.url, ErrorEmail: sub.errorEmail, Criteria: []criterionIO{}}
	for _, c := range sub.criteria {
		out.Criteria = append(out.Criteria, criterionIO{ID: c.id, CriteriaType: c.typ, CriteriaOperationType: c.op,
			CriteriaValue: json.Number(strconv.FormatInt(c.value, 10))})
	}
	if withSecret {
		out.EncryptedSecretWord = sub.secret
	}
	return out
}

// readSubscription validates a create or update body. s.mu is held.
func (s *Server) readSubscription(body []byte) (subscriptionIn, []criterion, answer, bool) {
	var in subscriptionIn
	if err := decodeStrict(body, &in); err != nil {
		return in, nil, errAnswer(http.StatusBadRequest, "Malformed request body: "+err.Error()), false
	}
	if strings.TrimSpace(in.Name) == "" || utf8.RuneCountInString(in.Name) > 255 || !utf8.ValidString(in.Name) {
		return in, nil, errAnswer(http.StatusBadRequest, "The event subscription name is required"), false
	}
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(in.URL) > 2048 {
		return in, nil, errAnswer(http.StatusBadRequest, "The event subscription url is not valid"), false
	}
	if in.ErrorEmail != "" && !strings.Contains(in.ErrorEmail, "@") {
		return in, nil, errAnswer(http.StatusBadRequest, "Invalid errorEmail"), false
	}
	crit, a, ok := s.readCriteria(in.Criteria)
	if !ok {
		return in, nil, a, false
	}
	for i := range crit {
		crit[i].id = s.nextCriterion
		s.nextCriterion++
	}
	return in, crit, answer{}, true
}

// readCriteria checks a subscription's criteria: an EQ or NE operation on
// a known site or access point, a user ID, or the audit flag.
func (s *Server) readCriteria(in []criterionIO) ([]criterion, answer, bool) {
	invalid := errAnswer(http.StatusBadRequest, "Invalid criteria provided")
	var crit []criterion
	for _, c := range in {
		v, err := c.CriteriaValue.Int64()
		if err != nil || c.ID != 0 || c.CriteriaOperationType != "EQ" && c.CriteriaOperationType != "NE" {
			return nil, invalid, false
		}
		switch c.CriteriaType {
		case "SITE":
			if _, ok := s.sites[v]; !ok {
				return nil, errAnswer(http.StatusBadRequest, "Event subscription contained invalid Site criteria"), false
			}
		case "ACCESS-POINT":
			if s.doors[v] == nil {
				return nil, errAnswer(http.StatusBadRequest, "Event subscription contained invalid Device criteria"), false
			}
		case "USER":
			if v <= 0 {
				return nil, invalid, false
			}
		case "AUDIT":
			if v != 0 && v != 1 {
				return nil, invalid, false
			}
		default:
			return nil, invalid, false
		}
		crit = append(crit, criterion{typ: c.CriteriaType, op: c.CriteriaOperationType, value: v})
	}
	return crit, answer{}, true
}

func (s *Server) createSubscription(q url.Values, body []byte) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	in, crit, a, ok := s.readSubscription(body)
	if !ok {
		return a
	}
	var secret [16]byte
	_, _ = rand.Read(secret[:])
	sub := &subscription{id: s.nextSub, name: in.Name, url: in.URL, errorEmail: in.ErrorEmail, criteria: crit,
		secret: base64.StdEncoding.EncodeToString(secret[:])}
	s.nextSub++
	s.subs[sub.id] = sub
	return jsonAnswer(http.StatusOK, subscriptionJSON(sub, true))
}

func (s *Server) lookupSubscription(id string) (*subscription, answer, bool) {
	return lookupByID(s.subs, id, "Invalid event subscription id", "Event subscription not found")
}

func (s *Server) getSubscription(q url.Values, id string) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	sub, a, ok := s.lookupSubscription(id)
	if !ok {
		return a
	}
	return jsonAnswer(http.StatusOK, subscriptionJSON(sub, true))
}

func (s *Server) updateSubscription(q url.Values, id string, body []byte) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	sub, a, ok := s.lookupSubscription(id)
	if !ok {
		return a
	}
	in, crit, a, ok := s.readSubscription(body)
	if !ok {
		return a
	}
	sub.name, sub.url, sub.errorEmail, sub.criteria = in.Name, in.URL, in.ErrorEmail, crit
	return jsonAnswer(http.StatusOK, subscriptionJSON(sub, true))
}

func (s *Server) deleteSubscription(q url.Values, id string) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	sub, a, ok := s.lookupSubscription(id)
	if !ok {
		return a
	}
	delete(s.subs, sub.id)
	// Notifications not yet sent for it are dropped.
	s.pending = slices.DeleteFunc(s.pending, func(d *delivery) bool { return d.sub == sub.id })
	return noContent()
}

func (s *Server) listSubscriptions(q url.Values) answer {
	off, size, clauses, a, ok := listQuery(q, map[string][]string{"name": {"eq"}})
	if !ok {
		return a
	}
	out := []subscriptionOut{}
	for _, sub := range s.sortedSubscriptions() {
		keep := true
		for _, c := range clauses {
			keep = keep && c.match(sub.name, true) // name__eq means "contains"
		}
		if keep {
			out = append(out, subscriptionJSON(sub, false))
		}
	}
	return pagedAnswer(out, off, size)
}

// defaultWebhookClient is the client used unless WithWebhookClient says
// otherwise.
func defaultWebhookClient() *http.Client { return &http.Client{Timeout: 10 * time.Second} }
