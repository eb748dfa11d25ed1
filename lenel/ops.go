package lenel

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// cacheTTL is how long badge status IDs and the default visitor badge
// type are reused before being looked up again.
const cacheTTL = 10 * time.Minute

type statusIDs struct {
	active, revoked int64
}

// Ping logs in if needed and sends GET /keepalive, which tests the
// connection, the licence and the credentials.
func (p *Provider) Ping(ctx context.Context) error {
	return p.do(ctx, request{op: "ping", method: http.MethodGet, path: "/keepalive", idempotent: true}, nil)
}

// AccessLevels lists every Lnl_AccessLevel (all pages).
func (p *Provider) AccessLevels(ctx context.Context) ([]acs.AccessLevel, error) {
	items, err := p.list(ctx, "access_levels", "Lnl_AccessLevel", "")
	if err != nil {
		return nil, err
	}
	out := make([]acs.AccessLevel, 0, len(items))
	for _, it := range items {
		if id, ok := it.int("ID"); ok {
			out = append(out, acs.AccessLevel{ID: strconv.FormatInt(id, 10), Name: it.str("NAME")})
		}
	}
	return out, nil
}

// CredentialFormats lists every Lnl_BadgeType (all pages). Badge types do
// not name a Wiegand layout, so Format is empty.
func (p *Provider) CredentialFormats(ctx context.Context) ([]acs.CredentialFormat, error) {
	items, err := p.list(ctx, "credential_formats", "Lnl_BadgeType", "")
	if err != nil {
		return nil, err
	}
	out := make([]acs.CredentialFormat, 0, len(items))
	for _, it := range items {
		if id, ok := it.int("ID"); ok {
			out = append(out, acs.CredentialFormat{ID: strconv.FormatInt(id, 10), Name: it.str("NAME")})
		}
	}
	return out, nil
}

// parseKey reads a positive numeric OnGuard key given by the caller.
func parseKey(op, what, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != s {
		return 0, acs.Errorf(op, Name, acs.InvalidArgument, "%s %q is not an OnGuard ID (a positive integer)", what, s)
	}
	return n, nil
}

// statusIDs looks up the active and revoked badge statuses by name.
func (p *Provider) statusIDs(ctx context.Context, op string) (statusIDs, error) {
	p.cmu.Lock()
	if p.statuses != nil && p.now().Sub(p.statusAt) < cacheTTL {
		s := *p.statuses
		p.cmu.Unlock()
		return s, nil
	}
	p.cmu.Unlock()
	return p.loadStatusIDs(ctx, op)
}

// loadStatusIDs reads the badge statuses from OnGuard and caches the
// active and revoked IDs.
func (p *Provider) loadStatusIDs(ctx context.Context, op string) (statusIDs, error) {
	items, err := p.list(ctx, op, "Lnl_BadgeStatus", "")
	if err != nil {
		return statusIDs{}, err
	}
	var s statusIDs
	var names []string
	for _, it := range items {
		id, ok := it.int("ID")
		name := strings.TrimSpace(it.str("NAME"))
		if !ok || name == "" {
			continue
		}
		names = append(names, name)
		switch {
		case strings.EqualFold(name, p.cfg.ActiveStatus) && s.active == 0:
			s.active = id
		case strings.EqualFold(name, p.cfg.RevokedStatus) && s.revoked == 0:
			s.revoked = id
		}
	}
	for _, miss := range []struct {
		id   int64
		name string
	}{{s.active, p.cfg.ActiveStatus}, {s.revoked, p.cfg.RevokedStatus}} {
		if miss.id == 0 {
			// InvalidArgument, not NotFound: the configuration names a
			// status OnGuard lacks, and from Revoke a NotFound could be
			// read as "the badge is gone".
			return statusIDs{}, acs.Errorf(op, Name, acs.InvalidArgument, "OnGuard has no badge status named %q (it has: %s); check Config.ActiveStatus and Config.RevokedStatus", miss.name, strings.Join(names, ", "))
		}
	}
	p.cmu.Lock()
	p.statuses, p.statusAt = &s, p.now()
	p.cmu.Unlock()
	return s, nil
}

// defaultBadgeType returns the system's default visitor badge type.
func (p *Provider) defaultBadgeType(ctx context.Context, op string) (int64, error) {
	p.cmu.Lock()
	if p.badgeType != 0 && p.now().Sub(p.typeAt) < cacheTTL {
		t := p.badgeType
		p.cmu.Unlock()
		return t, nil
	}
	p.cmu.Unlock()
	var ans struct {
		DefaultVisitorBadgeTypeID flexInt `json:"default_visitor_badge_type_id"`
	}
	if err := p.do(ctx, request{op: op, method: http.MethodGet, path: "/settings/visit", idempotent: true}, &ans); err != nil {
		return 0, err
	}
	t := int64(ans.DefaultVisitorBadgeTypeID)
	if t <= 0 {
		return 0, acs.Errorf(op, Name, acs.NotFound, "OnGuard has no default visitor badge type; set Config.BadgeTypeID")
	}
	p.cmu.Lock()
	p.badgeType, p.typeAt = t, p.now()
	p.cmu.Unlock()
	return t, nil
}

// findPerson returns the person whose external ID property equals ext
// exactly, or nil. Several matches are a Conflict.
func (p *Provider) findPerson(ctx context.Context, op, ext string) (props, error) {
	f, err := eqString(p.cfg.ExternalIDProperty, ext)
	if err != nil {
		return nil, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	items, err := p.list(ctx, op, p.cfg.PersonType, f)
	if err != nil {
		return nil, err
	}
	var found props
	for _, it := range items {
		if it.str(p.cfg.ExternalIDProperty) != ext {
			continue // the server compared case-insensitively
		}
		if found != nil {
			return nil, acs.Errorf(op, Name, acs.Conflict, "several %s records have %s %q", p.cfg.PersonType, p.cfg.ExternalIDProperty, ext)
		}
		found = it
	}
	return found, nil
}

// badgeWindow is a badge's or assignment's status and window as stored.
type badgeWindow struct {
	key, personID, status int64
	from, until           time.Time
}

func readBadge(it props) (badgeWindow, bool) {
	var b badgeWindow
	var ok1, ok2 bool
	b.key, ok1 = it.int("BADGEKEY")
	b.personID, ok2 = it.int("PERSONID")
	b.status, _ = it.int("STATUS")
	b.from, _ = it.time("ACTIVATE")
	b.until, _ = it.time("DEACTIVATE")
	return b, ok1 && ok2
}

// live reports whether a badge opens doors at now as far as its own record
// goes: the active status and a window not yet ended.
func (b badgeWindow) live(active int64, now time.Time) bool {
	return b.status == active && (b.until.IsZero() || now.Before(b.until))
}

func hasID(items []props, prop string, id int64) bool {
	for _, it := range items {
		if v, ok := it.int(prop); ok && v == id {
			return true
		}
	}
	return false
}

// personProps are the properties of a new (or updated) person record.
// OnGuard requires LASTNAME; a person with a first name only gets it as
// the last name.
func (p *Provider) personProps(pr acs.Person, withExternal bool) map[string]any {
	m := map[string]any{}
	if withExternal {
		m[p.cfg.ExternalIDProperty] = pr.ExternalID
	}
	first, last := strings.TrimSpace(pr.FirstName), strings.TrimSpace(pr.LastName)
	if last == "" {
		first, last = "", first
	}
	m["LASTNAME"] = last
	if first != "" {
		m["FIRSTNAME"] = first
	}
	if pr.Email != "" {
		m["EMAIL"] = pr.Email
	}
	if pr.Company != "" && p.cfg.PersonType == Visitor {
		m["ORGANIZATION"] = pr.Company
	}
	return m
}

// personUpdate returns the changed properties of an existing person, or
// nil when nothing changed. Fields the grant leaves empty are kept.
func (p *Provider) personUpdate(cur props, pr acs.Person) map[string]any {
	upd := map[string]any{}
	for k, v := range p.personProps(pr, false) {
		if cur.str(k) != v.(string) {
			upd[k] = v
		}
	}
	if len(upd) == 0 {
		return nil
	}
	return upd
}

// syncAssignments makes the badge hold exactly the given levels with the
// window; current are its existing assignments.
func (p *Provider) syncAssignments(ctx context.Context, op string, badgeKey int64, levels []int64, from, until time.Time, current []props) error {
	have := map[int64]props{}
	for _, it := range current {
		if l, ok := it.int("ACCESSLEVELID"); ok {
			if k, _ := it.int("BADGEKEY"); k == badgeKey {
				have[l] = it
			}
		}
	}
	for _, l := range levels {
		pm := map[string]any{"ACCESSLEVELID": l, "BADGEKEY": badgeKey, "ACTIVATE": formatTime(from), "DEACTIVATE": formatTime(until)}
		cur, ok := have[l]
		delete(have, l)
		if !ok {
			if _, err := p.create(ctx, op, "Lnl_AccessLevelAssignment", "ACCESSLEVELID", pm); err != nil {
				return err
			}
			continue
		}
		a, _ := cur.time("ACTIVATE")
		d, _ := cur.time("DEACTIVATE")
		if !a.Equal(from) || !d.Equal(until) {
			if err := p.modify(ctx, op, "Lnl_AccessLevelAssignment", pm); err != nil {
				return err
			}
		}
	}
	extra := make([]int64, 0, len(have))
	for l := range have {
		extra = append(extra, l)
	}
	slices.Sort(extra)
	for _, l := range extra {
		if err := p.remove(ctx, op, "Lnl_AccessLevelAssignment", keys{"ACCESSLEVELID": l, "BADGEKEY": badgeKey}); err != nil {
			return err
		}
	}
	return nil
}

// Revoke makes the badge stop opening doors: status Config.RevokedStatus
// when it is active, DEACTIVATE moved to now when it lies later, and, with
// Config.DeleteAssignmentsOnRevoke, its assignments deleted. The record is
// kept. With ref.ID (the BADGEKEY) empty, the badge is found by
// ref.CardholderID or ref.CardholderExternalID and ref.Card. A badge or
// person that does not exist is a success, also when it disappears during
// the call, whatever OpenAccess answers then (see the package doc).
func (p *Provider) Revoke(ctx context.Context, ref acs.CredentialRef) error {
	const op = "revoke"
	t, err := p.revokeTarget(op, ref)
	if err != nil {
		return err
	}
	filter := eqInt("BADGEKEY", t.key)
	if t.key == 0 {
		unlock, err := p.locks.lock(ctx, "badge:"+strconv.FormatInt(t.badgeID, 10))
		if err != nil {
			return acs.Wrap(op, Name, acs.Canceled, err)
		}
		defer unlock()
		if t.personID == 0 {
			person, err := p.findPerson(ctx, op, ref.CardholderExternalID)
			if err != nil || person == nil {
				return err // nil when the person is gone
			}
			t.personID, _ = person.int("ID")
		}
		filter = andInts("ID", t.badgeID, "PERSONID", t.personID)
	}
	st, err := p.statusIDs(ctx, op)
	if err != nil {
		return err
	}
	items, err := p.list(ctx, op, "Lnl_Badge", filter)
	if err != nil {
		return err
	}
	for _, it := range items {
		// By BADGEKEY the key alone identifies the badge; a badge without
		// PERSONID in the answer is still revoked.
		b, _ := readBadge(it)
		if b.key == 0 || (t.personID != 0 && b.personID != t.personID) || (t.key != 0 && b.key != t.key) {
			continue
		}
		if id, _ := it.int("ID"); t.badgeID != 0 && id != t.badgeID {
			continue
		}
		if err := p.revokeBadge(ctx, op, st, b); err != nil {
			return err
		}
	}
	return nil
}

// revocation names the badge to revoke: by BADGEKEY (key), or by badge ID
// and the person's ID (0 until looked up by external ID).
type revocation struct {
	key, badgeID, personID int64
}

// revokeTarget validates ref before any network call.
func (p *Provider) revokeTarget(op string, ref acs.CredentialRef) (revocation, error) {
	var t revocation
	var err error
	switch {
	case ref.ID != "":
		t.key, err = parseKey(op, "credential ID", ref.ID)
		return t, err
	case ref.CardholderID == "" && ref.CardholderExternalID == "":
		return t, acs.Errorf(op, Name, acs.InvalidArgument, "credential reference has neither an ID nor a cardholder")
	}
	if err := ref.Card.Validate(); err != nil {
		return t, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if t.badgeID, err = p.badgeID(ref.Card); err != nil {
		return t, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if ref.CardholderID != "" {
		t.personID, err = parseKey(op, "cardholder ID", ref.CardholderID)
		return t, err
	}
	if err := acs.ValidateExternalID(ref.CardholderExternalID); err != nil {
		return t, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	return t, nil
}

// revokeBadge sets the revoked status and ends the window of one badge
// (and deletes its assignments when configured). A badge that disappears
// meanwhile is revoked.
func (p *Provider) revokeBadge(ctx context.Context, op string, st statusIDs, b badgeWindow) error {
	end := p.now().UTC().Truncate(time.Second)
	if !b.from.IsZero() && end.Before(b.from) {
		end = b.from // revoked before it started: an empty window
	}
	upd := map[string]any{"BADGEKEY": b.key}
	if b.status == st.active {
		upd["STATUS"] = st.revoked
	}
	if b.until.IsZero() || b.until.After(end) {
		upd["DEACTIVATE"] = formatTime(end)
	}
	if len(upd) > 1 {
		if err := p.modify(ctx, op, "Lnl_Badge", upd); err != nil {
			return p.settle(ctx, op, "Lnl_Badge", keys{"BADGEKEY": b.key}, err) // nil: gone
		}
	}
	if !p.cfg.DeleteAssignmentsOnRevoke {
		return nil
	}
	as, err := p.list(ctx, op, "Lnl_AccessLevelAssignment", eqInt("BADGEKEY", b.key))
	if err != nil {
		return err
	}
	return p.syncAssignments(ctx, op, b.key, nil, time.Time{}, time.Time{}, as)
}

// RemoveCardholder deletes the person's badges (their assignments go with
// them) and then the person record, and checks that the record is gone, so
// that none of the visitor's data stays in it (see the package doc). ref.ID
// is the person ID; without it the person is found by ref.ExternalID. An
// absent person is a success, whatever OpenAccess answers the DELETE.
func (p *Provider) RemoveCardholder(ctx context.Context, ref acs.CardholderRef) error {
	const op = "remove_cardholder"
	var personID int64
	switch {
	case ref.ID != "":
		var err error
		if personID, err = parseKey(op, "cardholder ID", ref.ID); err != nil {
			return err
		}
	case ref.ExternalID != "":
		if err := acs.ValidateExternalID(ref.ExternalID); err != nil {
			return acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
	default:
		return acs.Errorf(op, Name, acs.InvalidArgument, "cardholder reference has neither an ID nor an external ID")
	}
	if ref.ExternalID != "" && validLiteral(ref.ExternalID) {
		unlock, err := p.locks.lock(ctx, "person:"+ref.ExternalID)
		if err != nil {
			return acs.Wrap(op, Name, acs.Canceled, err)
		}
		defer unlock()
	}
	if personID == 0 {
		person, err := p.findPerson(ctx, op, ref.ExternalID)
		if err != nil {
			return err
		}
		if person == nil {
			return nil
		}
		personID, _ = person.int("ID")
	}
	badges, err := p.list(ctx, op, "Lnl_Badge", eqInt("PERSONID", personID))
	if err != nil {
		return err
	}
	for _, it := range badges {
		b, ok := readBadge(it)
		if !ok || b.personID != personID {
			continue
		}
		if err := p.remove(ctx, op, "Lnl_Badge", keys{"BADGEKEY": b.key}); err != nil {
			return err
		}
	}
	return p.removePerson(ctx, op, personID)
}

// removePerson deletes the person record and makes sure it is gone, so
// that no name or e-mail address stays at OnGuard once RemoveCardholder
// succeeds, whatever OnGuard answered.
func (p *Provider) removePerson(ctx context.Context, op string, personID int64) error {
	k := keys{"ID": personID}
	typeName := p.cfg.PersonType
	err := p.do(ctx, request{op: op, method: http.MethodDelete, path: "/instances", body: instanceBody(typeName, k.body()), idempotent: true}, nil)
	if acs.CodeOf(err) == acs.Canceled {
		return err
	}
	left, lerr := p.list(ctx, op, typeName, k.filter())
	switch {
	case err != nil:
		return settled(typeName, k, err, left, lerr)
	case lerr != nil:
		return lerr
	case k.in(left):
		return acs.Errorf(op, Name, acs.Unknown, "OpenAccess acknowledged deleting %s %d, but the record is still there", typeName, personID)
	}
	return nil
}
