package alta

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// cardJSON is the card of a credential as Alta lists it (§1.5).
type cardJSON struct {
	ID         altaID     `json:"id"`
	Number     flexString `json:"number"`
	NumBits    int        `json:"numBits"`
	CardFormat *struct {
		ID altaID `json:"id"`
	} `json:"cardFormat"`
	FacilityCode flexString            `json:"facilityCode"`
	CardID       flexString            `json:"cardId"`
	Fields       map[string]flexString `json:"fields"`
}

// credJSON is a credential as Alta lists it; User is set in the
// organisation-wide listing only.
type credJSON struct {
	ID             altaID     `json:"id"`
	StartDate      flexString `json:"startDate"`
	EndDate        flexString `json:"endDate"`
	CredentialType *credType  `json:"credentialType"`
	Card           *cardJSON  `json:"card"`
	// Pincode is set on a PIN credential; its number is the PIN, read only
	// to compare it with the one being provisioned.
	Pincode *struct {
		Number flexString `json:"number"`
	} `json:"pincode"`
	User *userJSON `json:"user"`
}

func (c *credJSON) window() (time.Time, time.Time) {
	from, _ := parseWireTime(string(c.StartDate))
	to, _ := parseWireTime(string(c.EndDate))
	return from, to
}

// canon strips leading zeros from a digit string ("" stays "").
func canon(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if t := strings.TrimLeft(s, "0"); t != "" {
		return t
	}
	return "0"
}

func firstOf(vals ...flexString) string {
	for _, v := range vals {
		if v != "" {
			return string(v)
		}
	}
	return ""
}

// facilityOf returns a listed card's facility-like value.
func (k *cardJSON) facilityOf() string {
	vals := []flexString{k.FacilityCode}
	for _, n := range facilityNames {
		vals = append(vals, k.Fields[n])
	}
	return firstOf(vals...)
}

// holdsCard reports whether a listed card is card: its card ID (and
// facility code, when the format has one) or, without them, its raw
// number equals the card's. A card of a format recognised as another
// layout never matches.
func (p *Provider) holdsCard(k *cardJSON, card acs.Card, raw string) bool {
	if k == nil {
		return false
	}
	if k.CardFormat != nil && k.CardFormat.ID > 0 {
		if f, ok := p.cat.formatByID(int64(k.CardFormat.ID)); ok && f.card != 0 && f.card != card.Format {
			return false
		}
	}
	if cn := firstOf(k.CardID, k.Fields["cardId"]); cn != "" {
		if canon(cn) != strconv.FormatUint(card.Number, 10) {
			return false
		}
		if _, has := card.Format.MaxFacility(); has {
			fc := canon(k.facilityOf())
			return fc == strconv.FormatUint(card.Facility, 10) || fc == "" && card.Facility == 0
		}
		return true
	}
	if k.NumBits != 0 && k.NumBits != card.Format.Bits() {
		return false
	}
	return k.Number != "" && canon(string(k.Number)) == raw
}

// cardOf decodes a listed card into the acs card it carries, when its
// format is one the adapter recognises.
func (p *Provider) cardOf(k *cardJSON) (acs.Card, bool) {
	if k == nil || k.CardFormat == nil {
		return acs.Card{}, false
	}
	f, ok := p.cat.formatByID(int64(k.CardFormat.ID))
	cn := firstOf(k.CardID, k.Fields["cardId"])
	if !ok || f.card == 0 || cn == "" {
		return acs.Card{}, false
	}
	c := acs.Card{Format: f.card}
	var err error
	if c.Number, err = strconv.ParseUint(canon(cn), 10, 64); err != nil {
		return acs.Card{}, false
	}
	if fc := k.facilityOf(); fc != "" {
		if c.Facility, err = strconv.ParseUint(canon(fc), 10, 64); err != nil {
			return acs.Card{}, false
		}
	}
	return c, acs.ValidateCard(c) == nil
}

// ensureFormats loads the card-format catalogue when it is not cached, so
// that listed cards can be recognised.
func (p *Provider) ensureFormats(ctx context.Context, op string) error {
	if p.cat.cachedFormats() != nil {
		return nil
	}
	_, _, err := p.cat.formats.Get(ctx, p.formatLoader(op))
	return err
}

// userGone asks Alta whether a user exists: GET /users/{id} answering 404.
func (p *Provider) userGone(ctx context.Context, op string, uid int64) (bool, error) {
	resp, err := p.call(ctx, op, request{method: http.MethodGet, path: p.org("/users/" + idSegment(uid)), idempotent: true})
	if err != nil {
		return false, err
	}
	switch {
	case ok2xx(resp):
		return false, nil
	case resp.Status == http.StatusNotFound || resp.Status == http.StatusGone:
		return true, nil
	}
	return false, p.statusError(op, resp)
}

// userCredentials lists a user's credentials; gone reports that the user
// does not exist (a 404 confirmed by asking for the user).
func (p *Provider) userCredentials(ctx context.Context, op string, uid int64) (creds []credJSON, gone bool, err error) {
	creds, err = collect[credJSON](ctx, p, op, p.org("/users/"+idSegment(uid)+"/credentials"), nil)
	if acs.CodeOf(err) == acs.NotFound {
		if gone, gerr := p.userGone(ctx, op, uid); gerr != nil || !gone {
			return nil, false, errors.Join(err, gerr)
		}
		return nil, true, nil
	}
	return creds, false, err
}

// deleteCredential deletes a user's credential (§1.5). Any answer but a
// 2xx, and no answer at all, is settled by asking Alta whether the
// credential is still there: gone (or its user gone) is a success.
func (p *Provider) deleteCredential(ctx context.Context, op string, uid, cid int64) error {
	resp, err := p.call(ctx, op, request{method: http.MethodDelete,
		path: p.org("/users/" + idSegment(uid) + "/credentials/" + idSegment(cid)), idempotent: true})
	if err == nil && ok2xx(resp) {
		return nil
	}
	if err == nil {
		err = p.statusError(op, resp)
	} else if acs.CodeOf(err) == acs.Canceled {
		return err
	}
	creds, gone, lerr := p.userCredentials(ctx, op, uid)
	if lerr != nil {
		return unsettled(err, "credential")
	}
	if gone || !slices.ContainsFunc(creds, func(c credJSON) bool { return int64(c.ID) == cid }) {
		return nil
	}
	return stillThere(err, "credential")
}

// stillThere is the error of a delete whose target Alta still lists: a
// "not found" answer is then not believed, and the error is a retryable
// Unavailable, so that the deletion is tried again rather than taken as
// done.
func stillThere(err error, what string) error {
	return notFoundAsUnavailable(err, "Alta answered the delete with not found but still lists the "+what)
}

// unsettled is the error of a delete whose outcome could not be checked
// (the question failed too): a "not found" answer alone is not taken as
// final, so the deletion is retried rather than given up.
func unsettled(err error, what string) error {
	return notFoundAsUnavailable(err, "Alta answered the delete with not found and could not be asked whether the "+what+" is still there")
}

func notFoundAsUnavailable(err error, msg string) error {
	var ae *acs.Error
	if acs.CodeOf(err) != acs.NotFound || !errors.As(err, &ae) {
		return err
	}
	return &acs.Error{Op: ae.Op, Provider: Name, Code: acs.Unavailable, Message: msg, Err: ae.Err}
}

// credentialBody is the body of POST …/credentials for a card (§1.5).
type credentialBody struct {
	CredentialTypeID int64     `json:"credentialTypeId"`
	StartDate        string    `json:"startDate"`
	EndDate          string    `json:"endDate"`
	Card             *cardBody `json:"card,omitempty"`
}

type cardBody struct {
	Number          string            `json:"number"`
	CardFormatID    int64             `json:"cardFormatId"`
	FacilityCode    string            `json:"facilityCode,omitempty"`
	CardID          string            `json:"cardId"`
	Fields          map[string]string `json:"fields,omitempty"`
	IsOutputEnabled bool              `json:"isOutputEnabled"`
}

// windowBody is the body of PATCH …/credentials/{id}.
type windowBody struct {
	StartDate string `json:"startDate"`
	EndDate   string `json:"endDate"`
}

// holder is a credential of another user carrying the card.
type holder struct {
	userID int64
	active bool
}

// otherHolder looks for the card among the organisation's credentials
// (GET /credentials with q = the card ID; with full set, every
// credential): a holder other than self whose user is active and whose
// windows have not ended. An inactive holder is reported when no active
// one is found. Matching is exact, here, whatever q matched.
func (r *provisionRun) otherHolder(ctx context.Context, self int64, full bool) (holder, bool, error) {
	query := url.Values{"q": {strconv.FormatUint(r.g.Card.Number, 10)}}
	if full {
		query = nil
	}
	var found holder
	seen := false
	now := r.p.now()
	err := listAll(ctx, r.p, r.op, r.p.org("/credentials"), query, func(c credJSON) bool {
		if !r.p.holdsCard(c.Card, r.g.Card, r.raw) || c.User != nil && (int64(c.User.ID) == self || strings.EqualFold(c.User.Identity.Email, r.email)) {
			return true // the visit's own user, even one the lookup missed
		}
		h := holder{active: true}
		if c.User != nil {
			h.userID = int64(c.User.ID)
			_, cto := c.window()
			_, uto := c.User.window()
			ended := !cto.IsZero() && !now.Before(cto) || !uto.IsZero() && !now.Before(uto)
			h.active = c.User.Status == "A" && !ended
		}
		if !seen || h.active {
			found, seen = h, true
		}
		return !h.active
	})
	return found, seen, err
}

// conflict turns an active holder into a Conflict error.
func (r *provisionRun) conflict(h holder, cause error) error {
	who := "another Alta user"
	if h.userID > 0 {
		who = "Alta user " + strconv.FormatInt(h.userID, 10)
	}
	return &acs.Error{Op: r.op, Provider: Name, Code: acs.Conflict,
		Message: "card " + r.g.Card.String() + " is active for " + who, Err: cause}
}
