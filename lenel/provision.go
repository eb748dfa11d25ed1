package lenel

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// provisioning is one Provision call: what the grant asks for, then what
// OnGuard holds.
type provisioning struct {
	op          string
	g           acs.Grant
	ext         string
	levels      []int64
	badgeID     int64
	typeID      int64 // 0 until known: the system default
	from, until time.Time

	st       statusIDs
	person   *person // the survivor; nil: to be created
	personID int64
	extras   []int64       // other people with the external ID, to be removed
	own      *badgeWindow  // the survivor's badge with this badge ID
	twins    []badgeWindow // the survivor's other records of this badge ID
	stale    []badgeWindow // records of this badge ID held by others, no longer active
}

// Provision makes sure the visitor with g.Person.ExternalID exists, holds
// a badge whose ID is the card's badge ID, active from g.ValidFrom to
// g.ValidUntil, and has exactly the access levels of g for that window.
func (p *Provider) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	pr, err := p.checkGrant("provision", g)
	if err != nil {
		return acs.Provisioned{}, err
	}
	unlockPerson, err := p.locks.Lock(ctx, "person:"+pr.ext)
	if err != nil {
		return acs.Provisioned{}, acs.Wrap(pr.op, Name, acs.Canceled, err)
	}
	defer unlockPerson()
	unlockBadge, err := p.locks.Lock(ctx, "badge:"+strconv.FormatInt(pr.badgeID, 10))
	if err != nil {
		return acs.Provisioned{}, acs.Wrap(pr.op, Name, acs.Canceled, err)
	}
	defer unlockBadge()
	// Look everything up before changing anything.
	if err := p.lookUp(ctx, pr); err != nil {
		return acs.Provisioned{}, err
	}
	return p.apply(ctx, pr)
}

// checkGrant validates g before any network call.
func (p *Provider) checkGrant(op string, g acs.Grant) (*provisioning, error) {
	if err := acs.ValidateGrant(g, p.rules); err != nil {
		return nil, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	pr := &provisioning{op: op, g: g, ext: g.Person.ExternalID, levels: make([]int64, len(g.AccessLevels))}
	for i, s := range g.AccessLevels {
		id, err := parseKey(op, "access level", s)
		if err != nil {
			return nil, err
		}
		pr.levels[i] = id
	}
	var err error
	if pr.badgeID, err = p.badgeID(g.Card); err != nil {
		return nil, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if p.cardOf != nil {
		switch back, ok := p.cardOf(pr.badgeID); {
		case !ok:
			return nil, acs.Errorf(op, Name, acs.InvalidArgument,
				"card %s does not fit the site's card layout: its badge ID %d reads back as no card", g.Card, pr.badgeID)
		case back != g.Card:
			return nil, acs.Errorf(op, Name, acs.InvalidArgument,
				"card %s does not fit the site's card layout: its badge ID %d would read back in door events as %s", g.Card, pr.badgeID, back)
		}
	}
	switch {
	case g.CredentialType != "":
		if pr.typeID, err = parseKey(op, "credential type", g.CredentialType); err != nil {
			return nil, err
		}
	case p.cfg.BadgeTypeID > 0:
		pr.typeID = p.cfg.BadgeTypeID
	}
	if strings.TrimSpace(g.Person.FirstName+g.Person.LastName) == "" {
		return nil, acs.Errorf(op, Name, acs.InvalidArgument, "person has no name other than spaces")
	}
	if !validLiteral(pr.ext) {
		return nil, acs.Wrap(op, Name, acs.InvalidArgument, errUnsafeLiteral)
	}
	pr.from, pr.until = g.ValidFrom.UTC().Truncate(time.Second), g.ValidUntil.UTC().Truncate(time.Second)
	return pr, nil
}

// lookUp reads what Provision needs: statuses, badge type, levels, the
// person and the records of the badge ID.
func (p *Provider) lookUp(ctx context.Context, pr *provisioning) error {
	op := pr.op
	var err error
	if pr.st, err = p.statusIDs(ctx, op); err != nil {
		return err
	}
	if pr.typeID == 0 {
		if pr.typeID, err = p.defaultBadgeType(ctx, op); err != nil {
			return err
		}
	} else if pr.g.CredentialType != "" {
		types, err := p.list(ctx, op, "Lnl_BadgeType", eqInt("ID", pr.typeID))
		if err != nil {
			return err
		}
		if !hasID(types, "ID", pr.typeID) {
			return acs.Errorf(op, Name, acs.NotFound, "badge type %d does not exist", pr.typeID)
		}
	}
	// Every level must exist before anything is written. Levels
	// confirmed within cacheTTL are trusted; the others are asked for,
	// once for every caller asking at the same moment.
	if len(p.levels.Unconfirmed(pr.levels)) == 0 {
		return p.lookUpPerson(ctx, pr)
	}
	missing, ok, err := p.levels.Check(ctx, pr.levels, func(ctx context.Context, ids []int64) ([]int64, error) {
		found, err := p.list(ctx, op, "Lnl_AccessLevel", anyInt("ID", ids))
		if err != nil {
			return nil, err
		}
		var ok []int64
		for _, l := range ids {
			if hasID(found, "ID", l) {
				ok = append(ok, l)
			}
		}
		return ok, nil
	})
	if err != nil {
		return err
	}
	if !ok {
		return acs.Errorf(op, Name, acs.NotFound, "access level %d does not exist", missing)
	}
	return p.lookUpPerson(ctx, pr)
}

// lookUpPerson reads the person records of the external ID and the
// records of the badge ID.
func (p *Provider) lookUpPerson(ctx context.Context, pr *provisioning) error {
	people, err := p.findPeople(ctx, pr.op, pr.ext)
	if err != nil {
		return err
	}
	pr.survive(people)
	return p.lookUpBadge(ctx, pr)
}

// survive makes the first of people (the smallest ID) the person the grant
// goes to and the others extras to remove; no people leaves the person to
// be created.
func (pr *provisioning) survive(people []person) {
	pr.person, pr.extras = nil, nil
	if len(people) == 0 {
		return
	}
	pr.person, pr.personID = &people[0], people[0].id
	for _, x := range people[1:] {
		pr.extras = append(pr.extras, x.id)
	}
}

// lookUpBadge sorts the records of the badge ID into the survivor's own
// (the newest; older twins go) and stale ones held by others; one still
// active for someone else is a Conflict. Records held by the extras are
// left to their removal.
func (p *Provider) lookUpBadge(ctx context.Context, pr *provisioning) error {
	badges, err := p.badges(ctx, pr.op, eqInt("ID", pr.badgeID))
	if err != nil {
		return err
	}
	pr.own, pr.twins, pr.stale = nil, nil, nil
	now := p.now()
	for _, it := range badges {
		if it.ID.n != pr.badgeID {
			continue
		}
		b, ok := it.window()
		if !ok || slices.Contains(pr.extras, b.personID) {
			continue
		}
		if pr.personID != 0 && b.personID == pr.personID {
			if pr.own != nil && b.key < pr.own.key {
				pr.twins = append(pr.twins, b)
				continue
			}
			if pr.own != nil {
				pr.twins = append(pr.twins, *pr.own)
			}
			pr.own = &b
			continue
		}
		if b.live(pr.st.active, now) {
			return acs.Errorf(pr.op, Name, acs.Conflict, "card %s (badge ID %d) is active for another cardholder", pr.g.Card, pr.badgeID)
		}
		pr.stale = append(pr.stale, b)
	}
	return nil
}

// apply makes the changes: the person, the removal of duplicate people
// and of stale badge records, the badge and its assignments.
func (p *Provider) apply(ctx context.Context, pr *provisioning) (acs.Provisioned, error) {
	op := pr.op
	created, resort := false, false
	if pr.person == nil {
		id, err := p.create(ctx, op, p.cfg.PersonType, "ID", p.personProps(pr.g.Person, true))
		switch {
		case err != nil:
			if err := p.personAfter(ctx, pr, err); err != nil {
				return acs.Provisioned{}, err
			}
			resort = true
		default:
			pr.personID = id
			others, err := p.recheck(ctx, pr)
			if err != nil {
				p.takeBack(ctx, op, id)
				return acs.Provisioned{}, err
			}
			created, resort = pr.personID == id, others
		}
	}
	for _, id := range pr.extras {
		// A duplicate made by another caller (a replica) racing on the
		// same external ID, or by this call when it created the person
		// after a replica did: the survivor holds the grant, the extra
		// goes, before the survivor or a badge is changed. A call whose
		// work passed to another replica is not repeated, so its own
		// record must not outlive one failed request: the removal is
		// tried again.
		if err := p.persist(ctx, func() error { return p.removeHolder(ctx, op, id) }); err != nil {
			return acs.Provisioned{}, err
		}
	}
	if resort {
		// The survivor was found after creating: the badge records are
		// sorted again against it.
		if err := p.lookUpBadge(ctx, pr); err != nil {
			return acs.Provisioned{}, err
		}
	}
	if pr.person != nil {
		if upd := p.personUpdate(pr.person, pr.g.Person); upd != nil {
			upd["ID"] = pr.personID
			if err := p.modify(ctx, op, p.cfg.PersonType, upd); err != nil {
				return acs.Provisioned{}, err
			}
		}
	}
	for _, b := range append(pr.twins, pr.stale...) {
		// A returned badge handed to the next visitor, or a second record
		// of the badge ID on the survivor: the old record goes.
		if err := p.remove(ctx, op, "Lnl_Badge", keys{"BADGEKEY": b.key}); err != nil {
			return acs.Provisioned{}, err
		}
	}
	badgeKey, newBadge, current, err := p.applyBadge(ctx, pr)
	if err != nil {
		if refusesID(err) { // a status or badge type may be gone: read them again next time
			p.statuses.Invalidate()
			p.badgeType.Invalidate()
		}
		return acs.Provisioned{}, err
	}
	if err := p.syncAssignments(ctx, op, badgeKey, pr.levels, pr.from, pr.until, current); err != nil {
		return acs.Provisioned{}, err
	}
	pid, bk := strconv.FormatInt(pr.personID, 10), strconv.FormatInt(badgeKey, 10)
	return acs.Provisioned{
		Cardholder:   acs.CardholderRef{ID: pid, ExternalID: pr.ext},
		Credential:   acs.CredentialRef{ID: bk, CardholderID: pid, CardholderExternalID: pr.ext, Card: pr.g.Card},
		AccessLevels: slices.Clone(pr.g.AccessLevels),
		Created:      created || newBadge,
	}, nil
}

// recheck looks the external ID up again right after the person record
// was created, since another caller (a replica) may have created one too
// after finding none: of two such callers, the later to create sees both
// records. The survivor rule then picks the same record for every caller;
// others reports that there were other records, so that the badge records
// are sorted again against the survivor. A listing without the new record
// (it was removed meanwhile, or the search lags) keeps it.
func (p *Provider) recheck(ctx context.Context, pr *provisioning) (others bool, err error) {
	people, err := p.findPeople(ctx, pr.op, pr.ext)
	if err != nil {
		return false, err
	}
	if len(people) == 0 || len(people) == 1 && people[0].id == pr.personID {
		return false, nil
	}
	created := pr.personID
	pr.survive(people)
	if pr.personID != created && !slices.Contains(pr.extras, created) {
		pr.extras = append(pr.extras, created)
	}
	if pr.personID == created {
		pr.person = nil // as created: nothing to update
	}
	return true, nil
}

// personAfter asks, after creating the person failed with err, whether a
// person with the external ID exists now: the answer was lost after the
// record was made, or a replica made one meanwhile. Found, the survivor
// rule picks the person the grant goes to, as after a create; otherwise
// err stands. A lookup that fails leaves the outcome open (unsettled). The
// lookup is tried again after a failure (persist): a record made by a
// call whose work passed to another replica, and whose answer was lost,
// is known to nobody else.
func (p *Provider) personAfter(ctx context.Context, pr *provisioning, err error) error {
	if acs.CodeOf(err) == acs.Canceled {
		return err
	}
	var people []person
	lerr := p.persist(ctx, func() (err error) {
		people, err = p.findPeople(ctx, pr.op, pr.ext)
		return err
	})
	switch {
	case lerr != nil:
		return unsettled(err, lerr, "whether the "+p.cfg.PersonType+" was made")
	case len(people) == 0:
		return err
	}
	pr.survive(people)
	return nil
}

// takeBack deletes the person record just created when looking the
// external ID up again failed: without knowing whether a replica created
// one too, the call leaves nothing behind that could remain a duplicate,
// since a call whose work passed to another replica is not repeated. A
// record that holds a badge meanwhile was adopted by a replica as the
// survivor and stays. A failed attempt is tried again (persist); a last
// failure is ignored: the call fails anyway, and the next Provision or
// RemoveCardholder for the external ID, if any, takes the record up.
func (p *Provider) takeBack(ctx context.Context, op string, id int64) {
	if ctx.Err() != nil {
		return
	}
	_ = p.persist(ctx, func() error {
		badges, err := p.badges(ctx, op, eqInt("PERSONID", id))
		if err != nil {
			return err
		}
		for _, it := range badges {
			if b, ok := it.window(); ok && b.personID == id {
				return nil
			}
		}
		return p.removePerson(ctx, op, id)
	})
}

// persist runs f, the part of Provision on which depends whether a
// duplicate person made by a replica race stays at OnGuard (removing it,
// or finding it after a lost create answer), and runs it again after a
// failure as many times as WithRetry lets an idempotent request be sent
// again, waiting the retry back-off in between. Every error but a
// cancellation is tried again, a 500 too (the HTTP client does not resend
// one): the call may be one whose work passed to another replica, which
// nobody repeats, so a duplicate it leaves after one failed request would
// stay. The last error is returned.
func (p *Provider) persist(ctx context.Context, f func() error) error {
	b := acshttp.Backoff{Min: p.retryWaitMin, Max: p.retryWaitMax}
	for attempt := 0; ; attempt++ {
		err := f()
		if err == nil || acs.CodeOf(err) == acs.Canceled || attempt >= p.retries {
			return err
		}
		if acshttp.Sleep(ctx, b.Next()) != nil {
			return err
		}
	}
}

// applyBadge creates the badge, or updates the person's own one and reads
// its current assignments.
func (p *Provider) applyBadge(ctx context.Context, pr *provisioning) (key int64, created bool, current []props, err error) {
	op, from, until := pr.op, formatTime(pr.from), formatTime(pr.until)
	if pr.own == nil {
		key, err = p.create(ctx, op, "Lnl_Badge", "BADGEKEY", map[string]any{
			"PERSONID":   pr.personID,
			"TYPE":       pr.typeID,
			"ID":         pr.badgeID,
			"STATUS":     pr.st.active,
			"ACTIVATE":   from,
			"DEACTIVATE": until,
		})
		if err == nil || acs.CodeOf(err) == acs.Canceled {
			return key, err == nil, nil, err
		}
		// Another caller (a replica) may have created the same badge for
		// the same person meanwhile, or the answer was lost after the
		// record was made: ask, and carry on with the record if it is
		// there. Otherwise the create's error stands.
		if lerr := p.lookUpBadge(ctx, pr); lerr != nil {
			if acs.CodeOf(lerr) == acs.Conflict {
				return 0, false, nil, lerr
			}
			return 0, false, nil, unsettled(err, lerr, "whether the badge was made")
		}
		if pr.own == nil {
			return 0, false, nil, err
		}
	}
	own := pr.own
	if own.status != pr.st.active || !own.from.Equal(pr.from) || !own.until.Equal(pr.until) || pr.g.CredentialType != "" {
		upd := map[string]any{"BADGEKEY": own.key, "STATUS": pr.st.active, "ACTIVATE": from, "DEACTIVATE": until}
		if pr.g.CredentialType != "" || p.cfg.BadgeTypeID > 0 {
			upd["TYPE"] = pr.typeID
		}
		if err := p.modify(ctx, op, "Lnl_Badge", upd); err != nil {
			return 0, false, nil, p.refused(ctx, op, "Lnl_Badge", keys{"BADGEKEY": own.key}, err)
		}
	}
	current, err = p.list(ctx, op, "Lnl_AccessLevelAssignment", eqInt("BADGEKEY", own.key))
	return own.key, false, current, err
}
