package lenel

import (
	"cmp"
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

// statusIDs looks up the active and revoked badge statuses by name,
// from the cache while it is fresh (one listing for every caller that
// finds it stale at the same moment).
func (p *Provider) statusIDs(ctx context.Context, op string) (statusIDs, error) {
	if s, _, ok := p.statuses.Fresh(); ok {
		return s, nil
	}
	s, _, err := p.statuses.Get(ctx, func(ctx context.Context) (statusIDs, error) { return p.readStatusIDs(ctx, op) })
	return s, err
}

// loadStatusIDs reads the badge statuses from OnGuard afresh (a listing
// shared with the callers asking at the same moment) and caches the
// active and revoked IDs.
func (p *Provider) loadStatusIDs(ctx context.Context, op string) (statusIDs, error) {
	_, gen, _ := p.statuses.Peek()
	s, _, err := p.statuses.Reload(ctx, gen, func(ctx context.Context) (statusIDs, error) { return p.readStatusIDs(ctx, op) })
	return s, err
}

// readStatusIDs reads the badge statuses from OnGuard.
func (p *Provider) readStatusIDs(ctx context.Context, op string) (statusIDs, error) {
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
	return s, nil
}

// defaultBadgeType returns the system's default visitor badge type, from
// the cache while it is fresh (one read of /settings/visit for every
// caller that finds it stale at the same moment).
func (p *Provider) defaultBadgeType(ctx context.Context, op string) (int64, error) {
	if t, _, ok := p.badgeType.Fresh(); ok {
		return t, nil
	}
	t, _, err := p.badgeType.Get(ctx, func(ctx context.Context) (int64, error) { return p.readBadgeType(ctx, op) })
	return t, err
}

// readBadgeType reads the default visitor badge type from OnGuard.
func (p *Provider) readBadgeType(ctx context.Context, op string) (int64, error) {
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
	return t, nil
}

// findPeople returns every person whose external ID property equals ext
// exactly, ordered by ID: the first is the survivor that Provision keeps
// when several callers created one each (see the package doc).
func (p *Provider) findPeople(ctx context.Context, op, ext string) ([]person, error) {
	f, err := eqString(p.cfg.ExternalIDProperty, ext)
	if err != nil {
		return nil, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	items, err := p.listPeople(ctx, op, f)
	if err != nil {
		return nil, err
	}
	found := items[:0] // filtered in place
	for _, x := range items {
		if x.ext != ext {
			continue // the server compared case-insensitively
		}
		if x.id <= 0 {
			return nil, acs.Errorf(op, Name, acs.Unknown, "%s record for %q has no ID", p.cfg.PersonType, ext)
		}
		if !slices.ContainsFunc(found, func(y person) bool { return y.id == x.id }) {
			found = append(found, x)
		}
	}
	slices.SortFunc(found, func(a, b person) int { return cmp.Compare(a.id, b.id) })
	return found, nil
}

// badgeWindow is a badge's or assignment's status and window as stored.
type badgeWindow struct {
	key, personID, status int64
	from, until           time.Time
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
func (p *Provider) personUpdate(cur *person, pr acs.Person) map[string]any {
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
			_, err := p.create(ctx, op, "Lnl_AccessLevelAssignment", "ACCESSLEVELID", pm)
			if err == nil {
				continue
			}
			if cur, err = p.assignedAfter(ctx, op, badgeKey, l, err); err != nil {
				// A refusal may be about the badge, removed meanwhile
				// (then worth trying again), or about the level.
				if err = p.refused(ctx, op, "Lnl_Badge", keys{"BADGEKEY": badgeKey}, err); refusesID(err) {
					p.levels.Forget(l) // the level may be gone: check it next time
				}
				return err
			}
		}
		a, _ := cur.time("ACTIVATE")
		d, _ := cur.time("DEACTIVATE")
		if !a.Equal(from) || !d.Equal(until) {
			if err := p.modify(ctx, op, "Lnl_AccessLevelAssignment", pm); err != nil {
				return p.refused(ctx, op, "Lnl_AccessLevelAssignment", keys{"ACCESSLEVELID": l, "BADGEKEY": badgeKey}, err)
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

// assignedAfter asks, after creating the assignment of level l to the
// badge failed with err, whether it exists now: another caller (a
// replica) may have made it meanwhile, or the answer was lost after it
// was made. It returns the assignment when it is there, else err; a
// lookup that fails leaves the outcome open (unsettled).
func (p *Provider) assignedAfter(ctx context.Context, op string, badgeKey, l int64, err error) (props, error) {
	if acs.CodeOf(err) == acs.Canceled {
		return nil, err
	}
	as, lerr := p.list(ctx, op, "Lnl_AccessLevelAssignment", andInts("ACCESSLEVELID", l, "BADGEKEY", badgeKey))
	if lerr != nil {
		return nil, unsettled(err, lerr, "whether the assignment was made")
	}
	for _, a := range as {
		k, _ := a.int("BADGEKEY")
		id, _ := a.int("ACCESSLEVELID")
		if k == badgeKey && id == l {
			return a, nil
		}
	}
	return nil, err
}

// Revoke makes the badge stop opening doors: status Config.RevokedStatus
// when it is active, DEACTIVATE moved to now when it lies later, and, with
// Config.DeleteAssignmentsOnRevoke, its assignments deleted. The record is
// kept. ref.ID (the BADGEKEY) names the badge. Without it, the badge is
// the one of ref.Card's badge ID held by the person ref.CardholderID and
// by every person whose external ID is ref.CardholderExternalID (several,
// when replicas created duplicates; each is revoked). When ref.ID names a
// badge that no longer exists and ref also carries the external ID and
// the card, the card is looked for that way too: Provision may have moved
// it from a duplicate person to the survivor (see the package doc). A
// badge or person that does not exist is a success, also when it
// disappears during the call, whatever OpenAccess answers then (see the
// package doc).
func (p *Provider) Revoke(ctx context.Context, ref acs.CredentialRef) error {
	const op = "revoke"
	t, err := p.revokeTarget(op, ref)
	if err != nil {
		return err
	}
	if t.key != 0 {
		st, err := p.statusIDs(ctx, op)
		if err != nil {
			return err
		}
		found, err := p.revokeKey(ctx, op, st, t.key)
		if err != nil || found || t.badgeID == 0 {
			return err
		}
	}
	return p.revokeCard(ctx, op, t)
}

// revokeKey revokes the badge with the given BADGEKEY and reports whether
// it exists.
func (p *Provider) revokeKey(ctx context.Context, op string, st statusIDs, key int64) (bool, error) {
	items, err := p.badges(ctx, op, eqInt("BADGEKEY", key))
	if err != nil {
		return false, err
	}
	found := false
	for _, it := range items {
		// The key alone identifies the badge; a badge without PERSONID in
		// the answer is still revoked.
		b, _ := it.window()
		if b.key != key {
			continue
		}
		found = true
		if err := p.revokeBadge(ctx, op, st, b); err != nil {
			return true, err
		}
	}
	return found, nil
}

// revokeCard revokes the records of the badge ID held by the person
// t.personID and by every person with the external ID t.ext.
func (p *Provider) revokeCard(ctx context.Context, op string, t revocation) error {
	unlock, err := p.locks.Lock(ctx, "badge:"+strconv.FormatInt(t.badgeID, 10))
	if err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	var holders []int64
	if t.personID != 0 {
		holders = append(holders, t.personID)
	}
	if t.ext != "" {
		people, err := p.findPeople(ctx, op, t.ext)
		if err != nil {
			return err
		}
		for _, x := range people {
			if !slices.Contains(holders, x.id) {
				holders = append(holders, x.id)
			}
		}
	}
	if len(holders) == 0 {
		return nil // the person is gone
	}
	st, err := p.statusIDs(ctx, op)
	if err != nil {
		return err
	}
	filter := eqInt("ID", t.badgeID)
	if len(holders) == 1 {
		filter = andInts("ID", t.badgeID, "PERSONID", holders[0])
	}
	items, err := p.badges(ctx, op, filter)
	if err != nil {
		return err
	}
	var first error
	for _, it := range items {
		b, _ := it.window()
		if b.key == 0 || it.ID.n != t.badgeID || !slices.Contains(holders, b.personID) {
			continue
		}
		if err := p.revokeBadge(ctx, op, st, b); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// revocation names the badge to revoke: by BADGEKEY (key), or by badge ID
// and the person's ID or external ID (ext); with a key, a badge ID is set
// only when the card may be looked for by external ID too.
type revocation struct {
	key, badgeID, personID int64
	ext                    string
}

// revokeTarget validates ref before any network call.
func (p *Provider) revokeTarget(op string, ref acs.CredentialRef) (revocation, error) {
	var t revocation
	var err error
	switch {
	case ref.ID != "":
		if t.key, err = parseKey(op, "credential ID", ref.ID); err != nil {
			return t, err
		}
		// What the fallback by external ID needs; without it, the key
		// alone is revoked, as before any duplicate was possible.
		if ref.CardholderExternalID != "" && p.usableExternalID(ref.CardholderExternalID) && acs.ValidateCard(ref.Card) == nil {
			if id, err := p.badgeID(ref.Card); err == nil {
				t.badgeID, t.ext = id, ref.CardholderExternalID
			}
		}
		return t, nil
	case ref.CardholderID == "" && ref.CardholderExternalID == "":
		return t, acs.Errorf(op, Name, acs.InvalidArgument, "credential reference has neither an ID nor a cardholder")
	}
	if err := acs.ValidateCard(ref.Card); err != nil {
		return t, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if t.badgeID, err = p.badgeID(ref.Card); err != nil {
		return t, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if ref.CardholderID != "" {
		if t.personID, err = parseKey(op, "cardholder ID", ref.CardholderID); err != nil {
			return t, err
		}
		if p.usableExternalID(ref.CardholderExternalID) {
			t.ext = ref.CardholderExternalID
		}
		return t, nil
	}
	if err := acs.ValidateExternalID(ref.CardholderExternalID); err != nil {
		return t, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	t.ext = ref.CardholderExternalID
	return t, nil
}

// usableExternalID reports whether ext can be looked up: a valid external
// ID that a filter can hold.
func (p *Provider) usableExternalID(ext string) bool {
	return ext != "" && acs.ValidateExternalID(ext) == nil && validLiteral(ext)
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
// that none of the visitor's data stays in it (see the package doc). The
// people removed are ref.ID's and every person whose external ID is
// ref.ExternalID (several, when replicas created duplicates). An absent
// person is a success, whatever OpenAccess answers the DELETE.
func (p *Provider) RemoveCardholder(ctx context.Context, ref acs.CardholderRef) error {
	const op = "remove_cardholder"
	var holders []int64
	switch {
	case ref.ID != "":
		id, err := parseKey(op, "cardholder ID", ref.ID)
		if err != nil {
			return err
		}
		holders = append(holders, id)
	case ref.ExternalID != "":
		if err := acs.ValidateExternalID(ref.ExternalID); err != nil {
			return acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
	default:
		return acs.Errorf(op, Name, acs.InvalidArgument, "cardholder reference has neither an ID nor an external ID")
	}
	if p.usableExternalID(ref.ExternalID) {
		unlock, err := p.locks.Lock(ctx, "person:"+ref.ExternalID)
		if err != nil {
			return acs.Wrap(op, Name, acs.Canceled, err)
		}
		defer unlock()
	}
	if len(holders) == 0 || p.usableExternalID(ref.ExternalID) {
		people, err := p.findPeople(ctx, op, ref.ExternalID)
		if err != nil {
			return err
		}
		for _, x := range people {
			if !slices.Contains(holders, x.id) {
				holders = append(holders, x.id)
			}
		}
	}
	var first error
	for _, id := range holders {
		if err := p.removeHolder(ctx, op, id); err != nil {
			if acs.CodeOf(err) == acs.Canceled {
				return err
			}
			if first == nil {
				first = err
			}
		}
	}
	return first
}

// removeHolder deletes a person's badges and then the person.
func (p *Provider) removeHolder(ctx context.Context, op string, personID int64) error {
	badges, err := p.badges(ctx, op, eqInt("PERSONID", personID))
	if err != nil {
		return err
	}
	for _, it := range badges {
		b, ok := it.window()
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
	err := p.do(ctx, request{op: op, method: http.MethodDelete, path: "/instances", inst: instance{k.body(), typeName}, idempotent: true}, nil)
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

// refusesID reports whether an error may mean that OnGuard no longer
// knows an ID taken from a catalogue (a status, a badge type, an access
// level): the catalogue is then read again by the next caller.
func refusesID(err error) bool {
	c := acs.CodeOf(err)
	return c == acs.NotFound || c == acs.InvalidArgument
}
