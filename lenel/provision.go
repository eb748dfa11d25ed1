package lenel

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
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
	person   props // nil: to be created
	personID int64
	own      *badgeWindow  // the person's badge with this badge ID
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
	unlockPerson, err := p.locks.lock(ctx, "person:"+pr.ext)
	if err != nil {
		return acs.Provisioned{}, acs.Wrap(pr.op, Name, acs.Canceled, err)
	}
	defer unlockPerson()
	unlockBadge, err := p.locks.lock(ctx, "badge:"+strconv.FormatInt(pr.badgeID, 10))
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
	found, err := p.list(ctx, op, "Lnl_AccessLevel", anyInt("ID", pr.levels))
	if err != nil {
		return err
	}
	for _, l := range pr.levels {
		if !hasID(found, "ID", l) {
			return acs.Errorf(op, Name, acs.NotFound, "access level %d does not exist", l)
		}
	}
	if pr.person, err = p.findPerson(ctx, op, pr.ext); err != nil {
		return err
	}
	if pr.person != nil {
		if pr.personID, _ = pr.person.int("ID"); pr.personID == 0 {
			return acs.Errorf(op, Name, acs.Unknown, "%s record for %q has no ID", p.cfg.PersonType, pr.ext)
		}
	}
	return p.lookUpBadge(ctx, pr)
}

// lookUpBadge sorts the records of the badge ID into the person's own and
// stale ones held by others; one still active for another is a Conflict.
func (p *Provider) lookUpBadge(ctx context.Context, pr *provisioning) error {
	badges, err := p.list(ctx, pr.op, "Lnl_Badge", eqInt("ID", pr.badgeID))
	if err != nil {
		return err
	}
	now := p.now()
	for _, it := range badges {
		if id, _ := it.int("ID"); id != pr.badgeID {
			continue
		}
		b, ok := readBadge(it)
		if !ok {
			continue
		}
		if pr.personID != 0 && b.personID == pr.personID {
			if pr.own == nil || b.key > pr.own.key {
				pr.own = &b
			}
			continue
		}
		if b.live(pr.st.active, now) {
			return acs.Errorf(pr.op, Name, acs.Conflict, "card %s (badge ID %d) is active for another cardholder", pr.g.Card, pr.badgeID)
		}
		pr.stale = append(pr.stale, b)
	}
	return nil
}

// apply makes the changes: the person, stale badge records, the badge and
// its assignments.
func (p *Provider) apply(ctx context.Context, pr *provisioning) (acs.Provisioned, error) {
	op := pr.op
	created := false
	if pr.person == nil {
		id, err := p.create(ctx, op, p.cfg.PersonType, "ID", p.personProps(pr.g.Person, true))
		if err != nil {
			return acs.Provisioned{}, err
		}
		pr.personID, created = id, true
	} else if upd := p.personUpdate(pr.person, pr.g.Person); upd != nil {
		upd["ID"] = pr.personID
		if err := p.modify(ctx, op, p.cfg.PersonType, upd); err != nil {
			return acs.Provisioned{}, err
		}
	}
	for _, b := range pr.stale {
		// A returned badge handed to the next visitor: the old record goes.
		if err := p.remove(ctx, op, "Lnl_Badge", keys{"BADGEKEY": b.key}); err != nil {
			return acs.Provisioned{}, err
		}
	}
	badgeKey, newBadge, current, err := p.applyBadge(ctx, pr)
	if err != nil {
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
		return key, err == nil, nil, err
	}
	own := pr.own
	if own.status != pr.st.active || !own.from.Equal(pr.from) || !own.until.Equal(pr.until) || pr.g.CredentialType != "" {
		upd := map[string]any{"BADGEKEY": own.key, "STATUS": pr.st.active, "ACTIVATE": from, "DEACTIVATE": until}
		if pr.g.CredentialType != "" || p.cfg.BadgeTypeID > 0 {
			upd["TYPE"] = pr.typeID
		}
		if err := p.modify(ctx, op, "Lnl_Badge", upd); err != nil {
			return 0, false, nil, err
		}
	}
	current, err = p.list(ctx, op, "Lnl_AccessLevelAssignment", eqInt("BADGEKEY", own.key))
	return own.key, false, current, err
}
