package brivo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// Criterion types of an event subscription.
const (
	CriterionSite        = "SITE"         // events at a site (Value: site ID)
	CriterionUser        = "USER"         // events of a user (Value: user ID)
	CriterionAccessPoint = "ACCESS-POINT" // events at a door (Value: access point ID)
	CriterionAudit       = "AUDIT"        // Value 1: audit (journal) events; 0: access events, the default
)

// DefaultSubscriptionName names subscriptions created without a name.
const DefaultSubscriptionName = "acsbridge door events"

// Criterion is one condition of an event subscription. Brivo ANDs them:
// conflicting EQ criteria never match.
type Criterion struct {
	Type string // CriterionSite, CriterionUser, CriterionAccessPoint or CriterionAudit
	// Op is "EQ" (the default when empty) or "NE".
	Op    string
	Value int64
}

// EventSubscription is a Brivo event subscription: Brivo POSTs each
// matching event's JSON to URL (see NewWebhookHandler).
type EventSubscription struct {
	ID   string
	Name string
	URL  string
	// ErrorEmail is notified by Brivo when a delivery fails (Brivo
	// documents no retry).
	ErrorEmail string
	Criteria   []Criterion
}

type criterionJSON struct {
	ID                    int64       `json:"id,omitempty"`
	CriteriaType          string      `json:"criteriaType"`
	CriteriaOperationType string      `json:"criteriaOperationType"`
	CriteriaValue         json.Number `json:"criteriaValue"`
}

type subscriptionJSON struct {
	ID         int64           `json:"id,omitempty"`
	Name       string          `json:"name"`
	URL        string          `json:"url"`
	ErrorEmail string          `json:"errorEmail,omitempty"`
	Criteria   []criterionJSON `json:"criteria"`
}

func (j subscriptionJSON) public() EventSubscription {
	s := EventSubscription{ID: idSegment(j.ID), Name: j.Name, URL: j.URL, ErrorEmail: j.ErrorEmail}
	for _, c := range j.Criteria {
		v, _ := c.CriteriaValue.Int64()
		s.Criteria = append(s.Criteria, Criterion{Type: c.CriteriaType, Op: c.CriteriaOperationType, Value: v})
	}
	return s
}

// checkSubscription validates a subscription and returns its request body.
func (p *Provider) checkSubscription(sub EventSubscription) (subscriptionJSON, error) {
	body := subscriptionJSON{Name: sub.Name, URL: sub.URL, ErrorEmail: sub.ErrorEmail, Criteria: []criterionJSON{}}
	if body.Name == "" {
		body.Name = DefaultSubscriptionName
	}
	if err := acs.ValidateText("subscription name", body.Name, 255); err != nil {
		return body, err
	}
	if err := p.checkHookURL(sub.URL); err != nil {
		return body, err
	}
	if sub.ErrorEmail != "" {
		if err := checkEmail(sub.ErrorEmail); err != nil {
			return body, err
		}
	}
	for _, c := range sub.Criteria {
		op := c.Op
		if op == "" {
			op = "EQ"
		}
		if op != "EQ" && op != "NE" {
			return body, fmt.Errorf("criterion operation %q is not EQ or NE", truncate(c.Op))
		}
		switch c.Type {
		case CriterionSite, CriterionUser, CriterionAccessPoint:
			if c.Value <= 0 {
				return body, fmt.Errorf("%s criterion needs a Brivo ID, got %d", c.Type, c.Value)
			}
		case CriterionAudit:
			if c.Value != 0 && c.Value != 1 {
				return body, fmt.Errorf("AUDIT criterion is 0 (access events) or 1 (audit events), got %d", c.Value)
			}
		default:
			return body, fmt.Errorf("criterion type %q is not one of SITE, USER, ACCESS-POINT, AUDIT", truncate(c.Type))
		}
		body.Criteria = append(body.Criteria, criterionJSON{CriteriaType: c.Type, CriteriaOperationType: op,
			CriteriaValue: json.Number(strconv.FormatInt(c.Value, 10))})
	}
	return body, nil
}

// checkHookURL applies the transport policy to a webhook URL: absolute,
// https (plain http only to a loopback host, or with
// WithAllowInsecureHTTP), and no user name or password in it.
func (p *Provider) checkHookURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("webhook URL is empty")
	}
	if len(raw) > 2048 {
		return fmt.Errorf("webhook URL is longer than 2048 bytes")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("webhook URL is not an absolute http(s) URL")
	}
	if u.User != nil {
		return fmt.Errorf("webhook URL must not carry a user name or password")
	}
	if u.Fragment != "" {
		return fmt.Errorf("webhook URL must not have a fragment")
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !p.insecureHTTP && !acshttp.IsLoopback(u.Hostname()) {
			return fmt.Errorf("webhook URL uses plain http to a non-loopback host; use https")
		}
	default:
		return fmt.Errorf("webhook URL scheme %q is not http or https", truncate(u.Scheme))
	}
	return nil
}

// CreateEventSubscription makes sure Brivo posts the events matching
// sub.Criteria to sub.URL (POST /event-subscriptions) and returns the
// subscription with its ID. It is idempotent by name and URL: an existing
// subscription with both is returned, updated (PUT) when its error e-mail
// or criteria differ, so a VMS may call it at every start. An empty name
// is DefaultSubscriptionName. The URL must be https (plain http only to a
// loopback host or with WithAllowInsecureHTTP) and carry no credentials.
func (p *Provider) CreateEventSubscription(ctx context.Context, sub EventSubscription) (EventSubscription, error) {
	const op = "create_event_subscription"
	body, err := p.checkSubscription(sub)
	if err != nil {
		return EventSubscription{}, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if err := ctx.Err(); err != nil {
		return EventSubscription{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	found, ok, err := p.findSubscription(ctx, op, body.Name, body.URL)
	if err != nil {
		return EventSubscription{}, err
	}
	if ok {
		if found.ErrorEmail == body.ErrorEmail && sameCriteria(found.Criteria, body.Criteria) {
			return found.public(), nil
		}
		return p.putSubscription(ctx, op, found.ID, body)
	}
	var lastErr error
	for range 2 {
		resp, err := p.call(ctx, op, request{method: http.MethodPost, path: "/event-subscriptions", body: body})
		switch {
		case err != nil && !noAnswer(err):
			return EventSubscription{}, err
		case err != nil:
			lastErr = err
		case ok2xx(resp):
			var out subscriptionJSON
			if err := p.decode(op, resp, &out); err != nil {
				return EventSubscription{}, err
			}
			if out.ID <= 0 {
				return EventSubscription{}, acs.Errorf(op, Name, acs.Unknown, "event subscription created without an ID")
			}
			return out.public(), nil
		default:
			return EventSubscription{}, p.statusError(op, resp)
		}
		// No answer: it may have been created. Look before sending again.
		found, ok, ferr := p.findSubscription(ctx, op, body.Name, body.URL)
		if ferr != nil {
			return EventSubscription{}, lastErr
		}
		if ok {
			return found.public(), nil
		}
	}
	return EventSubscription{}, lastErr
}

func sameCriteria(a, b []criterionJSON) bool {
	key := func(cs []criterionJSON) []string {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = c.CriteriaType + " " + c.CriteriaOperationType + " " + c.CriteriaValue.String()
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

func (p *Provider) putSubscription(ctx context.Context, op string, id int64, body subscriptionJSON) (EventSubscription, error) {
	resp, err := p.call(ctx, op, request{method: http.MethodPut, path: idPath("/event-subscriptions/", id, ""), body: body, idempotent: true})
	if err != nil {
		return EventSubscription{}, err
	}
	if !ok2xx(resp) {
		return EventSubscription{}, p.statusError(op, resp)
	}
	var out subscriptionJSON
	if err := p.decode(op, resp, &out); err != nil {
		return EventSubscription{}, err
	}
	if out.ID == 0 {
		out.ID = id
	}
	return out.public(), nil
}

// findSubscription lists the subscriptions (narrowed by Brivo's name
// filter, which matches substrings, when the name can be placed in one)
// and returns the one with exactly this name and URL.
func (p *Provider) findSubscription(ctx context.Context, op, name, hookURL string) (subscriptionJSON, bool, error) {
	var filter string
	if f, err := buildFilter(term{"name", "eq", []string{name}}); err == nil {
		filter = f
	}
	subs, err := listAll[subscriptionJSON](ctx, p, op, "/event-subscriptions", filter)
	if err != nil {
		return subscriptionJSON{}, false, err
	}
	for _, s := range subs {
		if s.Name == name && s.URL == hookURL {
			return s, true, nil
		}
	}
	return subscriptionJSON{}, false, nil
}

// EventSubscriptions lists the account's event subscriptions (all pages).
func (p *Provider) EventSubscriptions(ctx context.Context) ([]EventSubscription, error) {
	const op = "event_subscriptions"
	subs, err := listAll[subscriptionJSON](ctx, p, op, "/event-subscriptions", "")
	if err != nil {
		return nil, err
	}
	out := make([]EventSubscription, len(subs))
	for i, s := range subs {
		out[i] = s.public()
	}
	return out, nil
}

// DeleteEventSubscription deletes an event subscription. An absent one is
// a success, so the call can be retried until it is confirmed; an error
// answer counts as absent only once Brivo confirms it (GET
// /event-subscriptions/{id} answers 404).
func (p *Provider) DeleteEventSubscription(ctx context.Context, id string) error {
	const op = "delete_event_subscription"
	n, err := parseID(op, "event subscription ID", id)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	resp, err := p.call(ctx, op, request{method: http.MethodDelete, path: idPath("/event-subscriptions/", n, ""), idempotent: true})
	if err != nil {
		return err
	}
	if ok2xx(resp) {
		return nil
	}
	_, err = p.settle(ctx, op, "event subscription", p.statusError(op, resp),
		func() (bool, error) { return p.exists(ctx, op, idPath("/event-subscriptions/", n, ""), n) })
	return err
}
