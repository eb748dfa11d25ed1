package verkada

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// plan is a validated grant, ready for the wire.
type plan struct {
	person      acs.Person
	card        acs.Card
	typ         string // Verkada card type name
	hasFacility bool
	from, to    time.Time // whole seconds
	levels      []string
}

// planGrant validates a grant before any request.
func (p *Provider) planGrant(op string, g acs.Grant) (plan, error) {
	if err := acs.ValidateGrant(g, p.rules); err != nil {
		return plan{}, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	for _, l := range g.AccessLevels {
		if err := checkID(op, "access level", l); err != nil {
			return plan{}, err
		}
	}
	pl := plan{person: g.Person, card: g.Card, levels: slices.Clone(g.AccessLevels)}
	pl.typ, _ = typeName(g.Card.Format)
	if g.CredentialType != "" {
		if err := acs.ValidateText("credential type", g.CredentialType, 100); err != nil {
			return plan{}, acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
		pl.typ = canonicalType(g.CredentialType)
		if f, ok := formatOfType(pl.typ); ok && f != g.Card.Format {
			return plan{}, acs.Errorf(op, Name, acs.InvalidArgument,
				"credential type %q is for %s cards, the grant's card is %s", pl.typ, f, g.Card.Format)
		}
	}
	_, pl.hasFacility = g.Card.Format.MaxFacility()
	pl.from, pl.to = time.Unix(g.ValidFrom.Unix(), 0).UTC(), time.Unix(g.ValidUntil.Unix(), 0).UTC()
	if !pl.to.After(pl.from) {
		return plan{}, acs.Errorf(op, Name, acs.InvalidArgument, "validity window is shorter than the one second Verkada can express")
	}
	return pl, nil
}

// cardNumber reads a card's number from card_number, else card_number_hex,
// else card_number_base36.
func cardNumber(c cardJSON) (uint64, bool) {
	for _, f := range []struct {
		v    flexString
		base int
	}{{c.CardNumber, 10}, {c.CardNumberHex, 16}, {c.CardNumberBase36, 36}} {
		if v := strings.TrimSpace(string(f.v)); v != "" {
			n, err := strconv.ParseUint(v, f.base, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// sameData reports whether c holds card's number and, when the format has
// one, its facility code.
func sameData(c cardJSON, card acs.Card) bool {
	n, ok := cardNumber(c)
	if !ok || n != card.Number {
		return false
	}
	if _, has := card.Format.MaxFacility(); !has {
		return true
	}
	fc, ok := parseUint(string(c.FacilityCode))
	if strings.TrimSpace(string(c.FacilityCode)) == "" {
		fc, ok = 0, true
	}
	return ok && fc == card.Facility
}

// findCard returns the card among cs of the plan's type and data.
func findCard(cs []cardJSON, pl plan) (cardJSON, bool) {
	for _, c := range cs {
		if strings.EqualFold(canonicalType(c.Type), pl.typ) && sameData(c, pl.card) {
			return c, true
		}
	}
	return cardJSON{}, false
}

// made records what a provision created, so that a refusal can undo it.
type made struct {
	user, card bool
	userID     string
	cardID     string
}

// Provision makes sure the Verkada user with g.Person.ExternalID exists,
// holds an active card of g.Card, has start and end dates g.ValidFrom and
// g.ValidUntil (whole seconds), and belongs to exactly the access groups
// g.AccessLevels. See the package documentation for the requests it makes,
// and for how duplicates left by concurrent provisions converge.
func (p *Provider) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	const op = "provision"
	pl, err := p.planGrant(op, g)
	if err != nil {
		return acs.Provisioned{}, err
	}
	if err := ctx.Err(); err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	unlock, err := p.locks.Lock(ctx, pl.person.ExternalID)
	if err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	if err := p.ensureGroups(ctx, op, pl.levels); err != nil {
		return acs.Provisioned{}, err
	}
	// A round ends early when duplicates of the visit converged on a
	// survivor this call must look up again.
	for range maxRounds {
		res, again, err := p.provisionRound(ctx, op, pl)
		if !again {
			return res, err
		}
	}
	return acs.Provisioned{}, acs.Errorf(op, Name, acs.Unavailable,
		"users of external ID %q kept changing during the provision; retry", pl.person.ExternalID)
}

// maxRounds bounds the rounds of a provision (see provisionRound).
const maxRounds = 3

// provisionRound is one pass of a provision: look up, create what is
// missing, look again after a creation, set the window and the groups.
// again reports that duplicate users converged and the pass must be run
// again on the survivor.
func (p *Provider) provisionRound(ctx context.Context, op string, pl plan) (res acs.Provisioned, again bool, err error) {
	ext := pl.person.ExternalID
	au, found, err := p.findAccessUser(ctx, op, "external_id", ext)
	if err != nil {
		return acs.Provisioned{}, false, err
	}
	var m made
	if !found {
		if au, m.user, err = p.createUser(ctx, op, pl); err != nil {
			return acs.Provisioned{}, false, err
		}
	}
	m.userID = string(au.UserID)
	creating := len(matchingCards(au.Cards, pl)) == 0 // ensureCard creates the card
	c, cardMade, err := p.ensureCard(ctx, op, au, pl)
	if cardMade {
		m.card, m.cardID = true, string(c.CardID)
	}
	// The card may be held by another user of the external ID (a
	// concurrent provision's): such duplicates converge, and the provision
	// starts again. When the listing shows no other user, the holder may
	// still have been one: its own process's convergence can have removed
	// it between the refusal and the listing, its cards first. The card is
	// then free, or that process, starting over on this user, has created
	// it here, so a refused creation is sent once more; only a second
	// refusal with no other user listed is a Conflict.
	for retried := false; acs.CodeOf(err) == acs.Conflict; retried = true {
		ids, lerr := p.externalIDUsers(ctx, op, ext)
		if lerr != nil {
			return acs.Provisioned{}, false, lerr
		}
		if slices.ContainsFunc(ids, func(id string) bool { return id != m.userID }) {
			if _, err := p.convergeIDs(ctx, op, append(ids, m.userID)); err != nil {
				return acs.Provisioned{}, false, err
			}
			return acs.Provisioned{}, true, nil
		}
		if retried || !creating {
			break
		}
		c, cardMade, err = p.createCard(ctx, op, m.userID, pl)
		if cardMade {
			m.card, m.cardID = true, string(c.CardID)
		}
	}
	if err == nil && (m.user || cardMade) {
		var mine bool
		au, c, mine, again, err = p.lookAgain(ctx, op, pl, au, c)
		if again {
			return acs.Provisioned{}, true, nil
		}
		if err == nil && !mine {
			m.card = false // another process's card survived; this call's is gone
		}
	}
	if err == nil {
		err = p.ensureWindow(ctx, op, au, pl)
	}
	if err == nil {
		err = p.syncGroups(ctx, op, au, pl.levels)
	}
	if err != nil {
		p.undo(ctx, op, err, m)
		return acs.Provisioned{}, false, err
	}
	uid := string(au.UserID)
	return acs.Provisioned{
		Cardholder: acs.CardholderRef{ID: uid, ExternalID: ext},
		Credential: acs.CredentialRef{ID: string(c.CardID), CardholderID: uid,
			CardholderExternalID: ext, Card: pl.card},
		AccessLevels: slices.Clone(pl.levels),
		Created:      m.user || m.card,
	}, false, nil
}

// lookAgain is the look a provision takes right after it created the
// user or the card, so that the later of two concurrent creators always
// sees the earlier one's: the external ID is looked up again. When it
// answers another user, the users of the external ID converge on the
// smallest ID (again reports that this call's user was removed, and the
// provision must start over); the user's cards of the plan converge on
// the smallest card ID. It returns the user as read now and the
// surviving card, activated; mine reports that the card is the one c
// names.
func (p *Provider) lookAgain(ctx context.Context, op string, pl plan, au accessUserJSON, c cardJSON) (accessUserJSON, cardJSON, bool, bool, error) {
	uid := string(au.UserID)
	now, found, err := p.findAccessUser(ctx, op, "external_id", pl.person.ExternalID)
	if err != nil {
		return au, c, false, false, err
	}
	if !found || string(now.UserID) != uid {
		if found {
			survivor, err := p.convergeUsers(ctx, op, pl.person.ExternalID, uid, string(now.UserID))
			if err != nil {
				return au, c, false, false, err
			}
			if survivor != uid {
				return au, c, false, true, nil
			}
		}
		if now, found, err = p.findAccessUser(ctx, op, "user_id", uid); err != nil {
			return au, c, false, false, err
		}
		if !found {
			return au, c, false, false, acs.Errorf(op, Name, acs.Unavailable, "the Verkada user disappeared during the provision; retry")
		}
	}
	kept, ok, err := p.oneCard(ctx, op, now, pl)
	if err != nil {
		return au, c, false, false, err
	}
	if !ok {
		return au, c, false, false, acs.Errorf(op, Name, acs.Unavailable, "the card disappeared during the provision; retry")
	}
	if !kept.Active {
		if err := p.activate(ctx, op, uid, string(kept.CardID)); err != nil {
			return au, c, false, false, err
		}
	}
	return now, kept, kept.CardID == c.CardID, false, nil
}

// undo deletes what a failed provision created when the failure is a
// refusal (a Conflict, an unknown group, a permission): retrying would
// not succeed, so nothing must be left behind. After a transient failure
// everything stays, for the retry to complete.
func (p *Provider) undo(ctx context.Context, op string, cause error, m made) {
	if acs.IsRetryable(cause) || acs.CodeOf(cause) == acs.Canceled || ctx.Err() != nil {
		return
	}
	var errs []error
	// The card first, also when the user goes too: whether deleting a user
	// deletes its cards is not documented (§6).
	if m.card {
		errs = append(errs, p.deleteCard(ctx, op, m.userID, m.cardID))
	}
	if m.user {
		errs = append(errs, p.deleteUser(ctx, op, m.userID))
	}
	for _, err := range errs {
		if err != nil {
			p.log.LogAttrs(ctx, slog.LevelWarn, "verkada: could not undo a refused provision",
				slog.String("provider", Name), slog.String("op", op), slog.String("user_id", m.userID),
				slog.String("error", p.redact(err.Error())))
		}
	}
}

// findAccessUser reads the access-user object by user_id or external_id.
// A 404 means there is no such user. A 400 is ambiguous (Verkada documents
// no lookup errors), so the adapter asks Core whether the user exists.
func (p *Provider) findAccessUser(ctx context.Context, op, key, val string) (accessUserJSON, bool, error) {
	resp, err := p.call(ctx, op, request{method: http.MethodGet, path: "/access/v1/access_users/user",
		query: url.Values{key: {val}}, idempotent: true})
	switch {
	case err != nil:
		return accessUserJSON{}, false, err
	case resp.Status == http.StatusNotFound:
		return accessUserJSON{}, false, p.notFound(op, resp)
	case resp.Status == http.StatusBadRequest:
		exists, aerr := p.coreUserExists(ctx, op, key, val)
		if aerr != nil || exists {
			return accessUserJSON{}, false, p.statusError(op, resp)
		}
		return accessUserJSON{}, false, nil
	case !ok2xx(resp):
		return accessUserJSON{}, false, p.statusError(op, resp)
	}
	var au accessUserJSON
	if err := p.decode(op, resp, &au); err != nil {
		return accessUserJSON{}, false, err
	}
	if err := checkID(op, "user ID", string(au.UserID)); err != nil {
		return accessUserJSON{}, false, acs.Errorf(op, Name, acs.Unknown, "access-user answer without a usable user_id")
	}
	got := map[string]string{"external_id": string(au.ExternalID), "user_id": string(au.UserID)}[key]
	if got != val {
		return accessUserJSON{}, false, acs.Errorf(op, Name, acs.Unknown, "lookup by %s %q answered with another user", key, val)
	}
	return au, true, nil
}

// coreUserExists asks GET /core/v1/user whether a user exists.
func (p *Provider) coreUserExists(ctx context.Context, op, key, val string) (bool, error) {
	resp, err := p.call(ctx, op, request{method: http.MethodGet, path: "/core/v1/user",
		query: url.Values{key: {val}}, idempotent: true})
	switch {
	case err != nil:
		return false, err
	case resp.Status == http.StatusNotFound:
		return false, p.notFound(op, resp)
	case ok2xx(resp):
		return true, nil
	}
	return false, p.statusError(op, resp)
}

// createUser creates the Core user. When the answer is lost it asks
// whether the user exists before sending again (once); when the create is
// refused it asks too, in case the external ID was taken by a concurrent
// creation. created is false when the user found was not made by this
// call.
func (p *Provider) createUser(ctx context.Context, op string, pl plan) (au accessUserJSON, created bool, err error) {
	body := coreUserJSON{ExternalID: flexString(pl.person.ExternalID), FirstName: pl.person.FirstName,
		LastName: pl.person.LastName, Email: pl.person.Email, CompanyName: pl.person.Company, Department: p.marker}
	var lastErr error
	for attempt := range 2 {
		resp, err := p.call(ctx, op, request{method: http.MethodPost, path: "/core/v1/user", body: body})
		switch {
		case err != nil && !noAnswer(err):
			return au, false, err
		case err != nil:
			lastErr = err
		case ok2xx(resp):
			var u coreUserJSON
			if err := p.decode(op, resp, &u); err != nil {
				return au, false, err
			}
			if checkID(op, "user ID", string(u.UserID)) != nil {
				return au, false, acs.Errorf(op, Name, acs.Unknown, "user created without a usable user_id")
			}
			return accessUserJSON{UserID: u.UserID, ExternalID: body.ExternalID}, true, nil
		case resp.Status == http.StatusBadRequest || resp.Status == http.StatusConflict || resp.Status == http.StatusUnprocessableEntity:
			found, ok, ferr := p.findAccessUser(ctx, op, "external_id", pl.person.ExternalID)
			if ferr == nil && ok {
				return found, attempt > 0, nil
			}
			return au, false, p.statusError(op, resp)
		default:
			return au, false, p.statusError(op, resp)
		}
		found, ok, ferr := p.findAccessUser(ctx, op, "external_id", pl.person.ExternalID)
		if ferr != nil {
			return au, false, lastErr
		}
		if ok {
			return found, true, nil
		}
	}
	return au, false, lastErr
}

// ensureCard finds the plan's card among the user's (keeping the
// smallest card ID should the user hold it more than once) and activates
// it when it is inactive, or creates it.
func (p *Provider) ensureCard(ctx context.Context, op string, au accessUserJSON, pl plan) (cardJSON, bool, error) {
	c, ok, err := p.oneCard(ctx, op, au, pl)
	if err != nil {
		return cardJSON{}, false, err
	}
	if ok {
		if !c.Active {
			if err := p.activate(ctx, op, string(au.UserID), string(c.CardID)); err != nil {
				return c, false, err
			}
		}
		return c, false, nil
	}
	return p.createCard(ctx, op, string(au.UserID), pl)
}

// createCard creates the card with "active": true (a card is created
// inactive unless active is sent, §2.3) and activates it if the answer
// still says inactive. A lost answer or a refusal is checked by reading the
// user's cards: the card may have been created by an earlier attempt.
func (p *Provider) createCard(ctx context.Context, op, uid string, pl plan) (cardJSON, bool, error) {
	body := createCardJSON{Type: pl.typ, CardNumber: strconv.FormatUint(pl.card.Number, 10), Active: true}
	if pl.hasFacility {
		body.FacilityCode = strconv.FormatUint(pl.card.Facility, 10)
	}
	var lastErr error
	for attempt := range 2 {
		resp, err := p.call(ctx, op, request{method: http.MethodPost, path: "/access/v1/credentials/card",
			query: url.Values{"user_id": {uid}}, body: body})
		switch {
		case err != nil && !noAnswer(err):
			return cardJSON{}, false, err
		case err != nil:
			lastErr = err
		case ok2xx(resp):
			var c cardJSON
			if err := p.decode(op, resp, &c); err != nil {
				return cardJSON{}, false, err
			}
			if checkID(op, "card ID", string(c.CardID)) != nil {
				return cardJSON{}, false, acs.Errorf(op, Name, acs.Unknown, "card created without a usable card_id")
			}
			if !c.Active {
				return c, true, p.activate(ctx, op, uid, string(c.CardID))
			}
			return c, true, nil
		case resp.Status >= 400 && resp.Status < 500 && resp.Status != http.StatusUnauthorized &&
			resp.Status != http.StatusForbidden && resp.Status != http.StatusTooManyRequests:
			if c, ok, _ := p.heldCard(ctx, op, uid, pl); ok {
				// Created by the attempt whose answer was lost, or by
				// another process.
				return c, attempt > 0, nil
			}
			return cardJSON{}, false, p.cardRefusal(op, resp, pl)
		default:
			return cardJSON{}, false, p.statusError(op, resp)
		}
		c, ok, herr := p.heldCard(ctx, op, uid, pl)
		if herr != nil {
			return cardJSON{}, false, lastErr
		}
		if ok {
			return c, true, nil
		}
	}
	return cardJSON{}, false, lastErr
}

// heldCard reads the user's cards and returns the plan's card, activated.
func (p *Provider) heldCard(ctx context.Context, op, uid string, pl plan) (cardJSON, bool, error) {
	au, found, err := p.findAccessUser(ctx, op, "user_id", uid)
	if err != nil || !found {
		return cardJSON{}, false, err
	}
	c, ok := findCard(au.Cards, pl)
	if !ok {
		return cardJSON{}, false, nil
	}
	if !c.Active {
		if err := p.activate(ctx, op, uid, string(c.CardID)); err != nil {
			return cardJSON{}, false, err
		}
	}
	return c, true, nil
}

// duplicateWords are the words of a card refusal that mean the card is
// registered already. Verkada documents no such answer; its error bodies
// carry a message, which the adapter reads only after checking that the
// card is not the user's own.
var duplicateWords = []string{"exist", "duplicate", "already", "in use", "assigned", "taken"}

// cardRefusal classifies a refused card creation: 409, or a 400 or 422
// whose message says the card exists, is a Conflict (the card is held by
// another user, whose cards the API cannot search); anything else keeps
// its status's code.
func (p *Provider) cardRefusal(op string, resp *acshttp.Response, pl plan) error {
	ae, ve := p.responseError(op, resp)
	msg := strings.ToLower(ve.Message)
	conflict := resp.Status == http.StatusConflict
	for _, w := range duplicateWords {
		conflict = conflict || strings.Contains(msg, w)
	}
	if conflict {
		ae.Code = acs.Conflict
		ae.Message = "card " + pl.card.String() + " (" + pl.typ + ") is registered to another Verkada user"
	}
	return ae
}

func (p *Provider) activate(ctx context.Context, op, uid, cid string) error {
	resp, err := p.call(ctx, op, request{method: http.MethodPut, path: "/access/v1/credentials/card/activate",
		query: url.Values{"card_id": {cid}, "user_id": {uid}}, idempotent: true})
	if err != nil {
		return err
	}
	if !ok2xx(resp) {
		return p.statusError(op, resp)
	}
	return nil
}

// ensureWindow sets the user's start and end dates to the plan's, in the
// order that never makes the start fall after the end.
func (p *Provider) ensureWindow(ctx context.Context, op string, au accessUserJSON, pl plan) error {
	needStart := !au.StartDate.Equal(pl.from)
	needEnd := !au.EndDate.Equal(pl.to)
	endFirst := needEnd && !au.EndDate.IsZero() && !pl.from.Before(au.EndDate.Time)
	uid := string(au.UserID)
	if endFirst {
		if err := p.putDate(ctx, op, uid, "end_date", pl.to); err != nil {
			return err
		}
		needEnd = false
	}
	if needStart {
		if err := p.putDate(ctx, op, uid, "start_date", pl.from); err != nil {
			return err
		}
	}
	if needEnd {
		return p.putDate(ctx, op, uid, "end_date", pl.to)
	}
	return nil
}

// putDate sets start_date or end_date (Unix seconds as a string, §2.2).
func (p *Provider) putDate(ctx context.Context, op, uid, field string, t time.Time) error {
	v := strconv.FormatInt(t.Unix(), 10)
	var body any = startDateJSON{StartDate: v}
	if field == "end_date" {
		body = endDateJSON{EndDate: v}
	}
	resp, err := p.call(ctx, op, request{method: http.MethodPut, path: "/access/v1/access_users/user/" + field,
		query: url.Values{"user_id": {uid}}, body: body, idempotent: true})
	if err != nil {
		return err
	}
	if resp.Status == http.StatusNotFound {
		return acs.Errorf(op, Name, acs.Unavailable, "the Verkada user disappeared during the provision; retry")
	}
	if !ok2xx(resp) {
		return p.statusError(op, resp)
	}
	return nil
}

// syncGroups makes the user a member of exactly want, removing extra
// groups before adding missing ones (least privilege first).
func (p *Provider) syncGroups(ctx context.Context, op string, au accessUserJSON, want []string) error {
	uid := string(au.UserID)
	var have []string
	for _, g := range au.AccessGroups {
		have = append(have, string(g.GroupID))
		if slices.Contains(want, string(g.GroupID)) || checkID(op, "group ID", string(g.GroupID)) != nil {
			continue
		}
		resp, err := p.call(ctx, op, request{method: http.MethodDelete, path: "/access/v1/access_groups/group/user",
			query: url.Values{"group_id": {string(g.GroupID)}, "user_id": {uid}}, idempotent: true})
		if err != nil {
			return err
		}
		// Verkada's 404: the group or the membership is gone, the goal.
		if !ok2xx(resp) && (resp.Status != http.StatusNotFound || p.notFound(op, resp) != nil) {
			return p.statusError(op, resp)
		}
	}
	for _, gid := range want {
		if slices.Contains(have, gid) {
			continue
		}
		if err := p.addToGroup(ctx, op, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// addToGroup adds the user to a group. Verkada answers 200 with the user in
// successful_adds or unsuccessful_adds (§2.4); an unsuccessful add or a
// 404 is checked by asking (is the user a member now; does the group
// exist) rather than guessed from the answer.
func (p *Provider) addToGroup(ctx context.Context, op, uid, gid string) error {
	resp, err := p.call(ctx, op, request{method: http.MethodPut, path: "/access/v1/access_groups/group/user",
		query: url.Values{"group_id": {gid}}, body: map[string]string{"user_id": uid}, idempotent: true})
	if err != nil {
		return err
	}
	if resp.Status == http.StatusNotFound {
		p.groups.invalidate()
		if err := p.ensureGroups(ctx, op, []string{gid}); err != nil {
			return err
		}
		return acs.Errorf(op, Name, acs.Unavailable, "the Verkada user disappeared during the provision; retry")
	}
	if !ok2xx(resp) {
		return p.statusError(op, resp)
	}
	var ans struct {
		Failed []flexString `json:"unsuccessful_adds"`
	}
	if p.decode(op, resp, &ans) == nil && !slices.Contains(ans.Failed, flexString(uid)) {
		return nil
	}
	au, found, err := p.findAccessUser(ctx, op, "user_id", uid)
	if err != nil {
		return err
	}
	for _, g := range au.AccessGroups {
		if found && string(g.GroupID) == gid {
			return nil
		}
	}
	return acs.Errorf(op, Name, acs.Unknown, "Verkada did not add user %s to access group %s (unsuccessful_adds)", uid, gid)
}

// ---- revoke and remove ----

// Revoke deletes the card, so that it opens nothing and its number is free
// for the next visitor: the card with ref.ID and every card of ref.Card,
// on every user of the visit it can see. Those are the user the external
// ID answers and the referenced user; when those two differ (a sign that
// the external ID was given to more than one user, or that the user was
// replaced), every user the listing shows with the external ID too. A
// card that is not a user's of the visit is left alone: a stale revoke
// retried after the badge went to the next visitor cannot take it away.
// Absent cardholders and cards are a success; an ambiguous answer to a
// DELETE is settled by reading the cardholder's cards.
func (p *Provider) Revoke(ctx context.Context, ref acs.CredentialRef) error {
	const op = "revoke"
	if err := checkCredentialRef(op, ref); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	ext, uid := ref.CardholderExternalID, ref.CardholderID
	if ext != "" {
		unlock, err := p.locks.Lock(ctx, ext)
		if err != nil {
			return acs.Wrap(op, Name, acs.Canceled, err)
		}
		defer unlock()
	}
	users, err := p.visitUsers(ctx, op, ext, uid)
	if err != nil {
		return err
	}
	byCard := acs.ValidateCard(ref.Card) == nil
	for _, au := range users {
		for _, c := range au.Cards {
			if ref.ID != "" && string(c.CardID) == ref.ID || byCard && revokes(c, ref.Card) {
				if err := p.deleteCard(ctx, op, string(au.UserID), string(c.CardID)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// visitUsers reads the users of a visit: the one the external ID answers
// (when given) and uid (when given); when both are given and the lookup
// answers another user than uid, or none, every user the listing shows
// with the external ID as well.
func (p *Provider) visitUsers(ctx context.Context, op, ext, uid string) ([]accessUserJSON, error) {
	var users []accessUserJSON
	has := func(id string) bool {
		return slices.ContainsFunc(users, func(u accessUserJSON) bool { return string(u.UserID) == id })
	}
	read := func(key, val string) error {
		au, found, err := p.findAccessUser(ctx, op, key, val)
		if err == nil && found && !has(string(au.UserID)) {
			users = append(users, au)
		}
		return err
	}
	if ext != "" {
		if err := read("external_id", ext); err != nil {
			return nil, err
		}
	}
	if uid == "" || has(uid) {
		return users, nil
	}
	if err := read("user_id", uid); err != nil {
		return nil, err
	}
	if ext == "" {
		return users, nil
	}
	ids, err := p.externalIDUsers(ctx, op, ext)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if !has(id) {
			if err := read("user_id", id); err != nil {
				return nil, err
			}
		}
	}
	return users, nil
}

// checkCredentialRef validates a credential reference before any request.
func checkCredentialRef(op string, ref acs.CredentialRef) error {
	for _, f := range []struct{ what, v string }{{"credential ID", ref.ID}, {"cardholder ID", ref.CardholderID}} {
		if f.v != "" {
			if err := checkID(op, f.what, f.v); err != nil {
				return err
			}
		}
	}
	if ref.CardholderExternalID != "" {
		if err := acs.ValidateExternalID(ref.CardholderExternalID); err != nil {
			return acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
	}
	if ref.CardholderID == "" && ref.CardholderExternalID == "" {
		return acs.Errorf(op, Name, acs.InvalidArgument, "credential reference names no cardholder (Verkada cards are addressed through their user)")
	}
	if ref.ID == "" {
		if err := acs.ValidateCard(ref.Card); err != nil {
			return acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
	}
	return nil
}

// revokes reports whether a card is card: its data, and a type of card's
// format (or a type the adapter has no format for, which a grant may have
// named in CredentialType).
func revokes(c cardJSON, card acs.Card) bool {
	f, mapped := formatOfType(c.Type)
	return (!mapped || f == card.Format) && sameData(c, card)
}

// askable reports whether an error answer to a DELETE is settled by asking
// whether the target still exists: every answer but a refusal of the
// token or key (401, 403) and throttling (429). A 404 or 400 may mean
// "already gone" or something else; a 5xx (after the retries) may have
// come after the deletion was done.
func askable(resp *acshttp.Response) bool {
	switch resp.Status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		return false
	}
	return true
}

// notFound checks that a 404 is Verkada's (an empty body or a JSON
// object, as its error bodies are) and returns nil then; a 404 page from
// a proxy or a wrong base URL is an Unknown error, never "absent".
func (p *Provider) notFound(op string, resp *acshttp.Response) error {
	body := bytes.TrimSpace(resp.Body)
	if len(body) == 0 || body[0] == '{' {
		return nil
	}
	ae, _ := p.responseError(op, resp)
	ae.Code = acs.Unknown
	ae.Message = "a 404 answer that is not Verkada's; check the base URL and region"
	return ae
}

// deleteCard deletes a user's card. A 2xx is done; any other answer but a
// refusal of the key or throttling is settled by reading the user's
// cards: absent user or card is a success, a card still there returns the
// DELETE's error.
func (p *Provider) deleteCard(ctx context.Context, op, uid, cid string) error {
	resp, err := p.call(ctx, op, request{method: http.MethodDelete, path: "/access/v1/credentials/card",
		query: url.Values{"card_id": {cid}, "user_id": {uid}}, idempotent: true})
	if err != nil {
		return err
	}
	if ok2xx(resp) {
		return nil
	}
	if !askable(resp) {
		return p.statusError(op, resp)
	}
	au, found, ferr := p.findAccessUser(ctx, op, "user_id", uid)
	if ferr != nil {
		return ferr
	}
	if !found || !slices.ContainsFunc(au.Cards, func(c cardJSON) bool { return string(c.CardID) == cid }) {
		return nil
	}
	return p.statusError(op, resp)
}

// deleteUser deletes a Core user; an ambiguous answer is settled by asking
// whether the user still exists.
func (p *Provider) deleteUser(ctx context.Context, op, uid string) error {
	resp, err := p.call(ctx, op, request{method: http.MethodDelete, path: "/core/v1/user",
		query: url.Values{"user_id": {uid}}, idempotent: true})
	if err != nil {
		return err
	}
	if ok2xx(resp) {
		return nil
	}
	if !askable(resp) {
		return p.statusError(op, resp)
	}
	exists, ferr := p.coreUserExists(ctx, op, "user_id", uid)
	if ferr != nil {
		return ferr
	}
	if exists {
		return p.statusError(op, resp)
	}
	return nil
}

// RemoveCardholder deletes every card of the user, then the Core user,
// for every user of the visit: ref.ID, and each user the external ID
// answers, looked up again after each removal until none is left (should
// Verkada hold more than one user of it). The cards go first because
// Verkada does not document whether deleting a user deletes its cards
// (§6): this way their numbers are free and they open nothing even if the
// user's deletion is soft. An absent user is a success.
func (p *Provider) RemoveCardholder(ctx context.Context, ref acs.CardholderRef) error {
	const op = "remove_cardholder"
	if ref.ID != "" {
		if err := checkID(op, "cardholder ID", ref.ID); err != nil {
			return err
		}
	}
	if ref.ExternalID != "" {
		if err := acs.ValidateExternalID(ref.ExternalID); err != nil {
			return acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
	}
	if ref.ID == "" && ref.ExternalID == "" {
		return acs.Errorf(op, Name, acs.InvalidArgument, "cardholder reference has neither an ID nor an external ID")
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	if ref.ExternalID != "" {
		unlock, err := p.locks.Lock(ctx, ref.ExternalID)
		if err != nil {
			return acs.Wrap(op, Name, acs.Canceled, err)
		}
		defer unlock()
	}
	var removed []string
	for ref.ExternalID != "" {
		au, found, err := p.findAccessUser(ctx, op, "external_id", ref.ExternalID)
		if err != nil || !found {
			if err != nil {
				return err
			}
			break
		}
		if slices.Contains(removed, string(au.UserID)) || len(removed) >= maxTwins {
			return acs.Errorf(op, Name, acs.Unavailable, "Verkada still answers external ID %q with user %s after its deletion; retry",
				ref.ExternalID, string(au.UserID))
		}
		if err := p.removeAccessUser(ctx, op, au); err != nil {
			return err
		}
		removed = append(removed, string(au.UserID))
	}
	if ref.ID == "" || slices.Contains(removed, ref.ID) {
		return nil
	}
	return p.removeUser(ctx, op, ref.ID)
}

// maxTwins bounds the users of one external ID RemoveCardholder removes in
// one call.
const maxTwins = 10
