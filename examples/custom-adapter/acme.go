package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// Acme is an acs.Provider for the imaginary Acme Doors controller, whose
// REST API is keyed the way an adapter wants it to be:
//
//	GET    /levels                             the access levels
//	PUT    /people/{externalID}                create or update a person
//	DELETE /people/{externalID}                remove a person and their cards
//	PUT    /cards/{format}/{facility}/{number} issue, update or deactivate a card
//
// Because every write is a PUT of a full state under the caller's key,
// provisioning is idempotent by construction and safe to retry.
type Acme struct {
	base   string
	apiKey string
	hc     *http.Client
}

var _ acs.Provider = (*Acme)(nil)

// NewAcme returns an adapter for the controller at base.
func NewAcme(base, apiKey string, hc *http.Client) (*Acme, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("acme: base URL %q is not an http(s) URL", base)
	}
	if apiKey == "" {
		return nil, errors.New("acme: API key is required")
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Acme{base: u.String(), apiKey: apiKey, hc: hc}, nil
}

// Name returns "acme".
func (a *Acme) Name() string { return "acme" }

// do sends one request and maps the answer to an acs error.
func (a *Acme) do(ctx context.Context, op, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return acs.Wrap(op, a.Name(), acs.InvalidArgument, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return acs.Wrap(op, a.Name(), acs.InvalidArgument, err)
	}
	req.Header.Set("X-Api-Key", a.apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return acs.Wrap(op, a.Name(), acs.Canceled, ctx.Err())
		}
		// Never return err itself: *url.Error repeats the URL.
		return acs.Errorf(op, a.Name(), acs.Unavailable, "controller unreachable")
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode < 300:
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				return acs.Wrap(op, a.Name(), acs.Unknown, err)
			}
		}
		return nil
	case resp.StatusCode == http.StatusNotFound:
		return acs.Errorf(op, a.Name(), acs.NotFound, "%s", bytes.TrimSpace(data))
	case resp.StatusCode == http.StatusConflict:
		return acs.Errorf(op, a.Name(), acs.Conflict, "%s", bytes.TrimSpace(data))
	case resp.StatusCode == http.StatusUnauthorized:
		return acs.Errorf(op, a.Name(), acs.Unauthenticated, "API key refused")
	case resp.StatusCode >= 500:
		return acs.Errorf(op, a.Name(), acs.Unavailable, "controller answered %d", resp.StatusCode)
	}
	return acs.Errorf(op, a.Name(), acs.InvalidArgument, "controller answered %d: %s", resp.StatusCode, bytes.TrimSpace(data))
}

// Ping lists the levels, which needs a valid API key.
func (a *Acme) Ping(ctx context.Context) error {
	_, err := a.levels(ctx, "ping")
	return err
}

func (a *Acme) levels(ctx context.Context, op string) ([]acs.AccessLevel, error) {
	var out []acs.AccessLevel
	err := a.do(ctx, op, http.MethodGet, "/levels", nil, &out)
	return out, err
}

// AccessLevels lists the controller's access levels.
func (a *Acme) AccessLevels(ctx context.Context) ([]acs.AccessLevel, error) {
	return a.levels(ctx, "access_levels")
}

// CredentialFormats lists the one format the controller reads.
func (a *Acme) CredentialFormats(ctx context.Context) ([]acs.CredentialFormat, error) {
	if err := ctx.Err(); err != nil {
		return nil, acs.Wrap("credential_formats", a.Name(), acs.Canceled, err)
	}
	return []acs.CredentialFormat{{ID: "H10301", Name: "26-bit", Format: acs.H10301}}, nil
}

func cardPath(c acs.Card) string {
	return "/cards/" + url.PathEscape(c.Format.String()) + "/" + strconv.FormatUint(c.Facility, 10) + "/" + strconv.FormatUint(c.Number, 10)
}

// card is the controller's card state.
type card struct {
	ID       string `json:"id"`
	PersonID string `json:"person_id"`
	// Holder is the external ID of the person the card is for; a
	// deactivation names it so that it never touches a card that has since
	// been issued to someone else.
	Holder  string    `json:"holder"`
	Levels  []string  `json:"levels"`
	From    time.Time `json:"from"`
	Until   time.Time `json:"until"`
	Active  bool      `json:"active"`
	Created bool      `json:"created"`
}

// Provision puts the person and the card.
func (a *Acme) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	const op = "provision"
	if err := acs.ValidateGrant(g, acs.Rules{}); err != nil {
		return acs.Provisioned{}, acs.Wrap(op, a.Name(), acs.InvalidArgument, err)
	}
	if g.Card.Format != acs.H10301 {
		return acs.Provisioned{}, acs.Errorf(op, a.Name(), acs.Unsupported, "the controller reads only H10301 cards")
	}
	// Check the levels first so that a refused grant leaves nothing behind.
	known, err := a.levels(ctx, op)
	if err != nil {
		return acs.Provisioned{}, err
	}
	for _, want := range g.AccessLevels {
		found := false
		for _, l := range known {
			found = found || l.ID == want
		}
		if !found {
			return acs.Provisioned{}, acs.Errorf(op, a.Name(), acs.NotFound, "access level %q does not exist", want)
		}
	}
	var person struct {
		ID      string `json:"id"`
		Created bool   `json:"created"`
	}
	in := map[string]string{"first_name": g.Person.FirstName, "last_name": g.Person.LastName, "email": g.Person.Email}
	if err := a.do(ctx, op, http.MethodPut, "/people/"+url.PathEscape(g.Person.ExternalID), in, &person); err != nil {
		return acs.Provisioned{}, err
	}
	var c card
	want := card{PersonID: person.ID, Holder: g.Person.ExternalID, Levels: g.AccessLevels, From: g.ValidFrom, Until: g.ValidUntil, Active: true}
	if err := a.do(ctx, op, http.MethodPut, cardPath(g.Card), want, &c); err != nil {
		if person.Created {
			// Undo what this call created: a refused card (held by
			// someone else) must leave no person behind.
			_ = a.RemoveCardholder(context.WithoutCancel(ctx), acs.CardholderRef{ID: person.ID, ExternalID: g.Person.ExternalID})
		}
		return acs.Provisioned{}, err
	}
	return acs.Provisioned{
		Cardholder:   acs.CardholderRef{ID: person.ID, ExternalID: g.Person.ExternalID},
		Credential:   acs.CredentialRef{ID: c.ID, CardholderID: person.ID, CardholderExternalID: g.Person.ExternalID, Card: g.Card},
		AccessLevels: append([]string(nil), g.AccessLevels...),
		Created:      person.Created || c.Created,
	}, nil
}

// Revoke deactivates the card, which the controller keys by its data. A
// reference with only an ID is refused: this controller needs the card.
func (a *Acme) Revoke(ctx context.Context, ref acs.CredentialRef) error {
	const op = "revoke"
	if err := acs.ValidateCard(ref.Card); err != nil {
		return acs.Wrap(op, a.Name(), acs.InvalidArgument, err)
	}
	err := a.do(ctx, op, http.MethodPut, cardPath(ref.Card), card{Holder: ref.CardholderExternalID, Active: false}, nil)
	if acs.CodeOf(err) == acs.NotFound {
		return nil
	}
	return err
}

// RemoveCardholder deletes the person and their cards.
func (a *Acme) RemoveCardholder(ctx context.Context, ref acs.CardholderRef) error {
	const op = "remove_cardholder"
	if err := acs.ValidateExternalID(ref.ExternalID); err != nil {
		return acs.Wrap(op, a.Name(), acs.InvalidArgument, err)
	}
	err := a.do(ctx, op, http.MethodDelete, "/people/"+url.PathEscape(ref.ExternalID), nil, nil)
	if acs.CodeOf(err) == acs.NotFound {
		return nil
	}
	return err
}
