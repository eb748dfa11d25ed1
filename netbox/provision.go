package netbox

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// undoTimeout bounds the removal of a person a refused provision created.
const undoTimeout = 30 * time.Second

// plan is one Provision call: what the grant asks for, as it goes on the
// wire.
type plan struct {
	op                  string
	g                   acs.Grant
	personID            string
	first, last         string
	format              string // the NetBox card format name
	encoded, hotstamp   string
	fromWire, untilWire string
	levels              []string // names, once looked up
}

// planGrant validates g and works out what goes on the wire, before any
// network call.
func (p *Provider) planGrant(op string, g acs.Grant) (*plan, error) {
	if err := acs.ValidateGrant(g, p.rules); err != nil {
		return nil, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	pl, err := p.planPerson(op, g)
	if err != nil {
		return nil, err
	}
	if pl.format, err = p.formatFor(op, g); err != nil {
		return nil, err
	}
	pl.encoded = strconv.FormatUint(g.Card.Number, 10)
	pl.hotstamp = pl.encoded
	return pl, nil
}

// planPerson works out the person's part of a checked grant: its
// PERSONID, names and window on the wire.
func (p *Provider) planPerson(op string, g acs.Grant) (*plan, error) {
	pl := &plan{op: op, g: g, personID: p.cfg.PersonIDPrefix + g.Person.ExternalID,
		first: g.Person.FirstName, last: g.Person.LastName}
	if strings.TrimSpace(pl.last) == "" {
		// NetBox requires LASTNAME: a person with a first name only gets
		// it as the last name.
		pl.first, pl.last = "", pl.first
	}
	for _, f := range []struct{ name, v string }{{"first name", pl.first}, {"last name", pl.last}} {
		if err := xmlText(f.v); err != nil {
			return nil, acs.Errorf(op, Name, acs.InvalidArgument, "%s %v", f.name, err)
		}
	}
	from, until := window(g.ValidFrom, g.ValidUntil, p.now())
	if !until.After(from) {
		return nil, acs.Errorf(op, Name, acs.InvalidArgument,
			"validity window %s – %s holds no whole minute; the controller stores windows to the minute",
			g.ValidFrom.UTC().Format(time.RFC3339), g.ValidUntil.UTC().Format(time.RFC3339))
	}
	pl.fromWire, pl.untilWire = p.wireTime(from), p.wireTime(until)
	return pl, nil
}

// formatFor picks the NetBox card format of a grant: its CredentialType,
// else the Layout matching its card, else Config.CardFormat. A format with
// a Layout must decode the card's layout and facility code.
func (p *Provider) formatFor(op string, g acs.Grant) (string, error) {
	name := g.CredentialType
	if name == "" {
		for _, l := range p.cfg.Layouts {
			if l.Format == g.Card.Format && l.Facility == g.Card.Facility {
				return l.Name, nil
			}
		}
		name = p.cfg.CardFormat
	}
	if name == "" {
		return "", acs.Errorf(op, Name, acs.InvalidArgument,
			"no NetBox card format for card %s: add a Layout for it, or set Config.CardFormat or the grant's CredentialType", g.Card)
	}
	if err := xmlText(name); err != nil {
		return "", acs.Errorf(op, Name, acs.InvalidArgument, "credential type %v", err)
	}
	if l, ok := p.layoutByName(name); ok && (l.Format != g.Card.Format || l.Facility != g.Card.Facility) {
		return "", acs.Errorf(op, Name, acs.InvalidArgument,
			"card format %q decodes %s with facility code %d; card %s would not open a door", name, l.Format, l.Facility, g.Card)
	}
	return name, nil
}

// Provision makes sure the person with PERSONID Config.PersonIDPrefix +
// g.Person.ExternalID exists with the grant's names, window (ACTDATE and
// EXPDATE, to the minute, in the controller's time zone) and exactly the
// grant's access levels, and holds an enabled credential of the card (see
// the package documentation for the requests and the guarantees).
func (p *Provider) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	const op = "provision"
	pl, err := p.planGrant(op, g)
	if err != nil {
		return acs.Provisioned{}, err
	}
	if err := ctx.Err(); err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	for _, key := range []string{"person:" + pl.personID, "card:" + pl.format + "\x00" + pl.encoded} {
		unlock, err := p.locks.Lock(ctx, key)
		if err != nil {
			return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, err)
		}
		defer unlock()
	}
	if pl.levels, err = p.levelNames(ctx, op, g.AccessLevels); err != nil {
		return acs.Provisioned{}, err
	}
	if err := p.checkFormat(ctx, op, pl.format); err != nil {
		return acs.Provisioned{}, err
	}
	return p.provision(ctx, pl)
}

// provision applies a checked plan: the person, then the credential; a
// person this call created is removed again when the credential is
// refused.
func (p *Provider) provision(ctx context.Context, pl *plan) (acs.Provisioned, error) {
	cur, err := p.getPerson(ctx, pl.op, pl.personID)
	if err != nil {
		return acs.Provisioned{}, err
	}
	created := false
	if cur == nil {
		cur, created, err = p.createPerson(ctx, pl)
	} else {
		err = p.updatePerson(ctx, pl, cur)
	}
	if err != nil {
		return acs.Provisioned{}, err
	}
	cred, newCred, err := p.ensureCredential(ctx, pl, cur)
	if err != nil {
		if created && !acs.IsRetryable(err) && acs.CodeOf(err) != acs.Canceled {
			p.undo(ctx, pl)
		}
		return acs.Provisioned{}, err
	}
	ext := pl.g.Person.ExternalID
	return acs.Provisioned{
		Cardholder:   acs.CardholderRef{ID: pl.personID, ExternalID: ext},
		Credential:   acs.CredentialRef{ID: cred.id, CardholderID: pl.personID, CardholderExternalID: ext, Card: pl.g.Card},
		AccessLevels: slices.Clone(pl.g.AccessLevels),
		Created:      created || newCred,
	}, nil
}

// personParams are the person's fields as the grant wants them; the list
// of level names replaces the person's levels.
func (p *Provider) personParams(pl *plan, modify bool) []param {
	ps := []param{pv("PERSONID", pl.personID)}
	if pl.first != "" || modify {
		ps = append(ps, pv("FIRSTNAME", pl.first))
	}
	ps = append(ps, pv("LASTNAME", pl.last), pv("ACTDATE", pl.fromWire), pv("EXPDATE", pl.untilWire))
	levels := make([]param, len(pl.levels))
	for i, n := range pl.levels {
		levels[i] = pv("ACCESSLEVEL", n)
	}
	return append(ps, block("ACCESSLEVELS", levels...))
}

// createPerson sends AddPerson with the grant's names, window and levels.
// When that fails, the controller is asked whether the person exists now
// (the answer was lost after the record was made, or another VMS replica
// made it meanwhile): found, the call goes on with it, made exactly the
// grant.
func (p *Provider) createPerson(ctx context.Context, pl *plan) (*personRec, bool, error) {
	_, err := p.do(ctx, request{op: pl.op, command: "AddPerson", params: p.personParams(pl, false)})
	if err == nil {
		return &personRec{id: pl.personID, first: pl.first, last: pl.last, levels: pl.levels}, true, nil
	}
	if acs.CodeOf(err) == acs.Canceled {
		return nil, false, err
	}
	cur, lerr := p.getPerson(ctx, pl.op, pl.personID)
	switch {
	case lerr != nil && (acs.IsRetryable(lerr) || acs.CodeOf(lerr) == acs.Canceled):
		return nil, false, lerr
	case lerr != nil:
		return nil, false, unconfirmed(err)
	case cur == nil:
		return nil, false, err
	}
	if err := p.updatePerson(ctx, pl, cur); err != nil {
		return nil, false, err
	}
	// A person without credentials is treated as this call's own, so
	// that a refused card does not leave it behind.
	return cur, len(cur.cards) == 0, nil
}

// updatePerson makes an existing person exactly the grant (names, window,
// levels, not deleted) with one ModifyPerson, or nothing when it already
// is.
func (p *Provider) updatePerson(ctx context.Context, pl *plan, cur *personRec) error {
	if cur.first == pl.first && cur.last == pl.last && !cur.deleted && sameSet(cur.levels, pl.levels) &&
		p.wallMinute(cur.actRaw) == pl.fromWire && p.wallMinute(cur.expRaw) == pl.untilWire {
		return nil
	}
	params := p.personParams(pl, true)
	if cur.deleted {
		params = append(params, pv("DELETED", "FALSE"))
	}
	_, err := p.do(ctx, request{op: pl.op, command: "ModifyPerson", params: params, idempotent: true})
	if absent(err) {
		return acs.Errorf(pl.op, Name, acs.Unavailable, "person %q was removed during the call; provision again", pl.personID)
	}
	return err
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// ensureCredential makes the person hold exactly one enabled credential of
// the card: the one with the smallest CREDENTIALID, when several were made
// by concurrent calls, the others removed.
func (p *Provider) ensureCredential(ctx context.Context, pl *plan, cur *personRec) (cardRec, bool, error) {
	own := cur.matching(pl.format, pl.encoded)
	if len(own) == 0 {
		return p.addCredential(ctx, pl)
	}
	keep := own[0]
	if keep.id == "" {
		return cardRec{}, false, acs.Errorf(pl.op, Name, acs.Unknown, "the controller lists the credential without its CREDENTIALID")
	}
	for _, twin := range own[1:] {
		if err := p.removeCredential(ctx, pl.op, pl.personID, twin); err != nil {
			return cardRec{}, false, err
		}
	}
	if !keep.live(p.now()) {
		if err := p.setDisabled(ctx, pl.op, pl.personID, keep, false); err != nil {
			return cardRec{}, false, err
		}
	}
	return keep, false, nil
}

// addCredential sends AddCredential. When it fails, the controller is
// asked who holds the card (see afterRefusal); a stale holder's record is
// removed and the credential added once more.
func (p *Provider) addCredential(ctx context.Context, pl *plan) (cardRec, bool, error) {
	params := []param{pv("PERSONID", pl.personID), pv("CARDFORMAT", pl.format), pv("ENCODEDNUM", pl.encoded),
		pv("HOTSTAMP", pl.hotstamp), pv("WANTCREDENTIALID", "TRUE")}
	for attempt := 0; ; attempt++ {
		a, err := p.do(ctx, request{op: pl.op, command: "AddCredential", params: params})
		if err == nil {
			return p.added(ctx, pl, a)
		}
		if acs.CodeOf(err) == acs.Canceled {
			return cardRec{}, false, err
		}
		c, found, retry, aerr := p.afterRefusal(ctx, pl, err)
		switch {
		case found:
			return c, true, nil
		case aerr != nil:
			return cardRec{}, false, aerr
		case !retry || attempt > 0:
			return cardRec{}, false, err
		}
	}
}

// added reads the new credential's ID from AddCredential's answer, or
// from the person when the answer lacks it.
func (p *Provider) added(ctx context.Context, pl *plan, a answer) (cardRec, bool, error) {
	c := cardRec{id: a.details.str("CREDENTIALID"), encoded: pl.encoded, hotstamp: pl.hotstamp, format: pl.format}
	if c.id != "" {
		return c, true, nil
	}
	cur, err := p.getPerson(ctx, pl.op, pl.personID)
	if err != nil {
		return cardRec{}, false, err
	}
	if cur != nil {
		if own := cur.matching(pl.format, pl.encoded); len(own) > 0 && own[0].id != "" {
			return own[0], true, nil
		}
	}
	return cardRec{}, false, acs.Errorf(pl.op, Name, acs.Unknown, "the controller accepted the credential but does not list it with a CREDENTIALID")
}

// afterRefusal asks, after AddCredential failed with err, what holds the
// card. The person itself (the answer was lost, or a replica added it):
// found. Another person with the card live: a Conflict. Only stale holders
// (disabled, expired or deleted: a returned badge): their records are
// removed and retry is set. Nobody found by the hot stamp: err stands, a
// duplicate refusal as a Conflict. Unless the controller refused the card
// as a duplicate, the person is read first: the answer may have been lost
// after the credential was added, or the person removed meanwhile.
func (p *Provider) afterRefusal(ctx context.Context, pl *plan, err error) (c cardRec, found, retry bool, _ error) {
	if acs.CodeOf(err) != acs.AlreadyExists {
		cur, lerr := p.getPerson(ctx, pl.op, pl.personID)
		switch {
		case lerr != nil && (acs.IsRetryable(lerr) || acs.CodeOf(lerr) == acs.Canceled):
			return c, false, false, lerr
		case lerr != nil:
			return c, false, false, unconfirmed(err)
		case cur == nil:
			return c, false, false, acs.Errorf(pl.op, Name, acs.Unavailable, "person %q was removed during the call; provision again", pl.personID)
		case len(cur.matching(pl.format, pl.encoded)) > 0:
			c, _, err := p.ensureCredential(ctx, pl, cur)
			return c, err == nil, false, err
		}
	}
	holders, herr := p.cardHolders(ctx, pl.op, pl.format, pl.encoded, pl.hotstamp)
	if herr != nil {
		return c, false, false, herr
	}
	now := p.now()
	for _, h := range holders {
		if h.person.id == pl.personID {
			c, _, err := p.ensureCredential(ctx, pl, h.person)
			return c, err == nil, false, err
		}
		if h.person.live(now) && h.card.live(now) {
			return c, false, false, acs.Errorf(pl.op, Name, acs.Conflict, "card %s is active for another person at the controller", pl.g.Card)
		}
	}
	for _, h := range holders {
		if err := p.removeCredential(ctx, pl.op, h.person.id, h.card); err != nil {
			return c, false, false, err
		}
		retry = true
	}
	switch {
	case retry:
		return c, false, true, nil
	case acs.CodeOf(err) == acs.AlreadyExists:
		return c, false, false, acs.Errorf(pl.op, Name, acs.Conflict,
			"the controller refuses card %s as a duplicate; no person holding it was found by its hot stamp", pl.g.Card)
	}
	return c, false, false, err
}
