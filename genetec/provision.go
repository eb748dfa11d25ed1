package genetec

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// plan is a validated grant with every value already escaped for q=.
type plan struct {
	ext                  string
	name, first, last    string
	email                string
	card                 acs.Card
	credName             string
	format               string // <UndecodedWiegand>… value
	groups               []guid
	from, until          time.Time
	activation           string // SpecificActivationPeriod(from,until)
	eName, eFirst, eLast string
	eEmail, eCredName    string
	// unchecked is set while this call has created a cardholder and not
	// yet searched the key since and converged what it found: failures
	// then make it look again rather than leave a twin it created.
	unchecked bool
}

// prepare checks what ValidateGrant does not (card formats this adapter
// can write, GUID access levels, the credential type) and escapes every
// value. It makes no request.
func (p *Provider) prepare(op string, g acs.Grant) (*plan, error) {
	invalid := func(format string, args ...any) error {
		return acs.Errorf(op, Name, acs.InvalidArgument, format, args...)
	}
	spec, ok := cardSpecs[g.Card.Format]
	if !ok {
		return nil, acs.Errorf(op, Name, acs.Unsupported,
			"card format %s is not supported: the Web SDK's raw Wiegand form is known only for Standard 26 bits (H10301) and HID H10302 37 bits", g.Card.Format)
	}
	if g.CredentialType != "" {
		ct, ok := parseGUID(g.CredentialType)
		want, _ := parseGUID(spec.formatType)
		if !ok || ct != want {
			return nil, invalid("credential type %q does not match card format %s (card format GUID %s)", g.CredentialType, g.Card.Format, spec.formatType)
		}
	}
	pl := &plan{
		ext:   g.Person.ExternalID,
		first: strings.TrimSpace(g.Person.FirstName),
		last:  strings.TrimSpace(g.Person.LastName),
		email: strings.TrimSpace(g.Person.Email),
		card:  g.Card,
		from:  g.ValidFrom.UTC().Truncate(time.Second),
		until: g.ValidUntil.UTC().Truncate(time.Second),
	}
	if !pl.until.After(pl.from) {
		return nil, invalid("validity window is shorter than one second")
	}
	for _, l := range g.AccessLevels {
		id, ok := parseGUID(l)
		if !ok {
			return nil, invalid("access level %q is not a Security Center cardholder group GUID", l)
		}
		if slices.Contains(pl.groups, id) {
			return nil, invalid("access level %s is listed twice", id)
		}
		pl.groups = append(pl.groups, id)
	}
	pl.name = cardholderName(pl.first, pl.last, pl.ext)
	pl.credName = credentialName(g.Card)
	var err error
	if pl.format, err = undecodedWiegand(spec, g.Card); err != nil {
		return nil, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	pl.activation = "SpecificActivationPeriod(" + wireTime(pl.from) + "," + wireTime(pl.until) + ")"
	for _, f := range []struct {
		field string
		in    string
		out   *string
	}{
		{"first name", pl.first, &pl.eFirst},
		{"last name", pl.last, &pl.eLast},
		{"email", pl.email, &pl.eEmail},
		{"cardholder name", pl.name, &pl.eName},
		{"credential name", pl.credName, &pl.eCredName},
	} {
		if *f.out, err = escapeValue(f.field, f.in); err != nil {
			return nil, acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
	}
	return pl, nil
}

func (pl *plan) sameWindow(from, until time.Time) bool {
	return from.Equal(pl.from) && until.Equal(pl.until)
}

func (pl *plan) levelIDs() []string {
	out := make([]string, len(pl.groups))
	for i, g := range pl.groups {
		out[i] = g.String()
	}
	return out
}

// Provision makes sure a cardholder named "First Last [external-id]"
// exists, holds an active credential named after the card ("H10301
// 42/1001") with the grant's card data and window, and belongs to exactly
// the grant's cardholder groups. See the package documentation for the
// requests it makes.
func (p *Provider) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	const op = "provision"
	if err := ctx.Err(); err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	if err := acs.ValidateGrant(g, p.rules); err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	pl, err := p.prepare(op, g)
	if err != nil {
		return acs.Provisioned{}, err
	}
	unlock, err := p.locks.Lock(ctx, "holder:"+pl.ext, "card:"+pl.credName)
	if err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	res, err := p.provision(ctx, op, pl)
	if c := acs.CodeOf(err); c == acs.NotFound || c == acs.InvalidArgument {
		// A group confirmed earlier may be gone: check it next time.
		p.groups.Forget(pl.groups...)
	}
	return res, acs.Wrap(op, Name, acs.Unknown, err)
}

// lookup finds the cardholder by its key and the card by its name (two
// searches), then reads the groups, cardholders and credentials in one
// request. Entities deleted since the searches are left out; an access
// level that does not exist is NotFound. With a partition, the
// partition's members are read when the searches found anything, and
// cardholders outside it are left out; credentials are kept, for
// pickCred to tell a card held elsewhere (sc says which are members).
func (p *Provider) lookup(ctx context.Context, op string, pl *plan) (holderIDs, credIDs []guid, objs map[guid]object, sc scope, err error) {
	if holderIDs, credIDs, sc, err = p.find(ctx, op, pl); err != nil {
		return nil, nil, nil, nil, err
	}
	// Groups confirmed within the cache TTL are not read again. When
	// nothing else is to be read (a new visitor), the groups are checked
	// on their own, once for every caller checking them at that moment;
	// otherwise they ride on the read of the cardholders and credentials.
	groups := p.groups.Unconfirmed(pl.groups)
	if len(groups) > 0 && len(holderIDs)+len(credIDs) == 0 {
		missing, ok, err := p.groups.Check(ctx, groups, func(ctx context.Context, ids []guid) ([]guid, error) {
			segs := make([]readSeg, len(ids))
			for i, id := range ids {
				segs[i] = readSeg{id, groupFields}
			}
			objs, _, err := p.readPresent(ctx, op, segs)
			if err != nil {
				return nil, err
			}
			return cardholderGroups(objs, ids), nil
		})
		if err != nil {
			return nil, nil, nil, nil, err
		}
		if !ok {
			return nil, nil, nil, nil, notAGroup(op, missing)
		}
		return holderIDs, credIDs, map[guid]object{}, sc, nil
	}
	segs := make([]readSeg, 0, len(groups)+len(holderIDs)+len(credIDs))
	for _, id := range groups {
		segs = append(segs, readSeg{id, groupFields})
	}
	for _, id := range holderIDs {
		segs = append(segs, readSeg{id, holderFields})
	}
	for _, id := range credIDs {
		segs = append(segs, readSeg{id, credFields})
	}
	objs, gone, err := p.readPresent(ctx, op, segs)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	for _, id := range groups {
		if slices.Contains(gone, id) {
			return nil, nil, nil, nil, acs.Errorf(op, Name, acs.NotFound, "access level %s does not exist in Security Center", id)
		}
	}
	ok := cardholderGroups(objs, groups)
	if len(ok) < len(groups) {
		for _, id := range groups {
			if !slices.Contains(ok, id) {
				return nil, nil, nil, nil, notAGroup(op, id)
			}
		}
	}
	p.groups.Confirm(ok...)
	return holderIDs, credIDs, objs, sc, nil
}

// find runs lookup's two searches and, with a partition and any result,
// reads the partition's members and keeps the cardholders among them.
func (p *Provider) find(ctx context.Context, op string, pl *plan) (holderIDs, credIDs []guid, sc scope, err error) {
	if holderIDs, err = p.search(ctx, op, typeCardholder, keyToken(pl.ext)); err != nil {
		return nil, nil, nil, err
	}
	if credIDs, err = p.search(ctx, op, typeCredential, pl.credName); err != nil {
		return nil, nil, nil, err
	}
	if len(holderIDs)+len(credIDs) == 0 {
		return nil, nil, nil, nil
	}
	if sc, err = p.readScope(ctx, op); err != nil {
		return nil, nil, nil, err
	}
	return sc.filter(holderIDs), credIDs, sc, nil
}

// cardholderGroups returns those of ids that objs shows as cardholder
// groups.
func cardholderGroups(objs map[guid]object, ids []guid) []guid {
	out := make([]guid, 0, len(ids))
	for _, id := range ids {
		if o, ok := objs[id]; ok && strings.EqualFold(o.str("EntityType"), typeGroup) {
			out = append(out, id)
		}
	}
	return out
}

func notAGroup(op string, id guid) error {
	return acs.Errorf(op, Name, acs.NotFound, "access level %s is not a cardholder group in Security Center", id)
}

// maxProvisionAttempts bounds how often one Provision looks again after
// another process's concurrent provision of the same visit got in its way.
const maxProvisionAttempts = 3

// maxUncheckedAttempts bounds the attempts of a Provision that has
// created a cardholder and not yet searched its key since: the twin it may
// have created is converged by no one else when the other process has
// already finished (and this one's lease has passed to it, so it is not
// asked again), so a few more looks are spent on it before giving up.
const maxUncheckedAttempts = maxProvisionAttempts + 5

// errLookAgain ends an attempt whose new cardholder lost to a twin (the
// survivor is another process's): the next attempt finds the survivor.
var errLookAgain = errors.New("the new cardholder has a twin that survives it")

// failedAfterWrite is a failure the next attempt may overcome by looking
// again: a write refused in a way a concurrent provision of the same visit
// explains (the card data taken meanwhile, a cardholder deleted by a
// converging twin), or any failure between the creation of a cardholder
// and the end of the check for its twins. A lost answer to that creation
// is thus recovered within the call (find, then create only what is
// missing), and a twin this call created is converged even when the
// process that created it is not asked to provision the visit again (its
// lease has passed to another).
type failedAfterWrite struct{ err error }

func (r *failedAfterWrite) Error() string { return r.err.Error() }
func (r *failedAfterWrite) Unwrap() error { return r.err }

// provision runs attempts until one succeeds, fails for a reason another
// look cannot change, or maxProvisionAttempts have run.
func (p *Provider) provision(ctx context.Context, op string, pl *plan) (acs.Provisioned, error) {
	for attempt := 1; ; attempt++ {
		res, err := p.provisionOnce(ctx, op, pl)
		limit := maxProvisionAttempts
		if pl.unchecked {
			limit = maxUncheckedAttempts
		}
		var fw *failedAfterWrite
		switch {
		case err == nil:
			return res, nil
		case ctx.Err() != nil:
			return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, ctx.Err())
		case errors.Is(err, errLookAgain) && attempt < limit:
		case errors.As(err, &fw) && attempt < limit:
			p.log.InfoContext(ctx, "provision failed after a write; looking again in case the write was made or a concurrent provision of the same visit explains the failure",
				"provider", Name, "external_id", pl.ext, "attempt", attempt, "error", fw.err.Error())
		case errors.As(err, &fw):
			if pl.unchecked {
				p.log.WarnContext(ctx, "provision gave up before checking the cardholder it created for twins; the next Provision, Revoke or RemoveCardholder of the visit handles any",
					"provider", Name, "external_id", pl.ext, "attempts", attempt, "error", fw.err.Error())
			}
			return acs.Provisioned{}, fw.err
		case errors.Is(err, errLookAgain):
			return acs.Provisioned{}, acs.Errorf(op, Name, acs.Unavailable,
				"cardholders carrying external ID %q kept changing while provisioning; try again", pl.ext)
		default:
			return acs.Provisioned{}, err
		}
	}
}

// provisionOnce is one look at Security Center and the writes it calls
// for: look the key, the card and the groups up; converge twins (several
// cardholders carrying the key: the one with the smallest GUID survives
// and the others are deleted with their credentials); clear credentials
// of the card that stand in the way; create the cardholder when there is
// none; then write the credential and the groups.
func (p *Provider) provisionOnce(ctx context.Context, op string, pl *plan) (_ acs.Provisioned, err error) {
	var a attempt
	defer func() {
		if err != nil && !errors.Is(err, errLookAgain) && (a.wrote && askable(err) || pl.unchecked && (askable(err) || acs.IsRetryable(err))) {
			err = &failedAfterWrite{err}
		}
	}()
	for _, step := range []func(context.Context, string, *plan, *attempt) error{
		p.lookUp, p.convergeHolders, p.clearCards, p.ensureHolder,
	} {
		if err := step(ctx, op, pl, &a); err != nil {
			return acs.Provisioned{}, err
		}
	}
	a.wrote = true
	credID, err := p.finalWrite(ctx, op, pl, a.holder, a.created, a.ours)
	if err != nil {
		return acs.Provisioned{}, err
	}
	chRef := acs.CardholderRef{ID: a.holder.id.String(), ExternalID: pl.ext}
	return acs.Provisioned{
		Cardholder: chRef,
		Credential: acs.CredentialRef{
			ID:                   credID.String(),
			CardholderID:         chRef.ID,
			CardholderExternalID: pl.ext,
			Card:                 pl.card,
		},
		AccessLevels: pl.levelIDs(),
		Created:      a.created || a.ours == nil,
	}, nil
}

// attempt is what one provisionOnce found in Security Center and did
// there.
type attempt struct {
	holderIDs, credIDs []guid
	objs               map[guid]object
	scope              scope       // the partition's members (nil: no partition)
	holder             *holderInfo // the cardholder carrying the key
	ours               *credInfo   // its credential of the card, when it has one
	wrote              bool        // a write was made (or may have been)
	created            bool        // the cardholder is new
}

// lookUp reads the cardholders carrying the key, the credentials of the
// card and the grant's groups, and refuses a group that is not a
// cardholder group.
func (p *Provider) lookUp(ctx context.Context, op string, pl *plan, a *attempt) error {
	var err error
	a.holderIDs, a.credIDs, a.objs, a.scope, err = p.lookup(ctx, op, pl)
	return err
}

// convergeHolders keeps the first of the cardholders carrying the key and
// deletes the others (twins) with their credentials.
func (p *Provider) convergeHolders(ctx context.Context, op string, pl *plan, a *attempt) error {
	holders := keyHolders(pl.ext, a.holderIDs, a.objs)
	if len(holders) == 0 {
		pl.unchecked = false // a cardholder this call created is not there
		return nil
	}
	a.holder = &holders[0]
	a.wrote = a.wrote || len(holders) > 1
	if err := p.removeTwins(ctx, op, pl.ext, holders[0], holders[1:]); err != nil {
		return err
	}
	pl.unchecked = false // one cardholder carries the key
	for _, h := range holders[1:] {
		for _, c := range h.creds {
			delete(a.objs, c) // deleted with its twin
		}
	}
	return nil
}

// clearCards picks the holder's credential of the card and deletes a
// second one; when the holder has none, it deletes the revoked, expired
// or unassigned credentials of the same card, which would make Security
// Center refuse duplicate card data.
func (p *Provider) clearCards(ctx context.Context, op string, pl *plan, a *attempt) error {
	ours, extra, stale, err := p.pickCred(op, pl, a.holder, a.credIDs, a.objs, a.scope)
	if err != nil {
		return err
	}
	a.ours = ours
	for _, c := range extra {
		a.wrote = true
		p.log.WarnContext(ctx, "the cardholder holds the card twice; deleting the extra credential",
			"provider", Name, "external_id", pl.ext, "kept", ours.id.String(), "deleted", c.id.String())
		if err := p.deleteEntity(ctx, op, c.id); err != nil {
			return err
		}
	}
	if ours != nil {
		return nil
	}
	for _, c := range stale {
		a.wrote = true
		p.log.InfoContext(ctx, "deleting an inactive credential of the same card before issuing it again",
			"provider", Name, "credential", c.id.String(), "state", c.state, "card", pl.credName)
		if err := p.deleteEntity(ctx, op, c.id); err != nil {
			return err
		}
	}
	return nil
}

// ensureHolder creates the cardholder when none carries the key, then
// checks for a twin another process may have created meanwhile.
func (p *Provider) ensureHolder(ctx context.Context, op string, pl *plan, a *attempt) error {
	if a.holder != nil {
		return nil
	}
	a.created = true
	a.wrote, pl.unchecked = true, true
	var err error
	if a.holder, err = p.createHolder(ctx, op, pl); err != nil {
		return err
	}
	if err := p.checkTwins(ctx, op, pl, *a.holder); err != nil {
		return err
	}
	pl.unchecked = false
	return nil
}

// keyHolders returns the cardholders (and visitors) among ids that carry
// the key, in the order of their GUIDs: the first is the survivor every
// process picks when there are several.
func keyHolders(ext string, ids []guid, objs map[guid]object) []holderInfo {
	var out []holderInfo
	for _, id := range ids {
		o, ok := objs[id]
		if !ok {
			continue
		}
		h := toHolder(o)
		if !isPerson(h.typ) || !ownsKey(h.name, ext) || slices.ContainsFunc(out, func(x holderInfo) bool { return x.id == id }) {
			continue
		}
		h.id = id
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b holderInfo) int { return bytes.Compare(a.id[:], b.id[:]) })
	return out
}

// checkTwins looks for other cardholders carrying the key right after
// created was created: two processes that both found none may both have
// created one. When there are, the one with the smallest GUID survives
// and the others are deleted with their credentials; errLookAgain says
// that created was one of them. The later of two creators always sees the
// other's cardholder here, so at least one of them converges.
func (p *Provider) checkTwins(ctx context.Context, op string, pl *plan, created holderInfo) error {
	ids, err := p.search(ctx, op, typeCardholder, keyToken(pl.ext))
	if err != nil {
		return err
	}
	if ids, err = p.placed(ctx, op, pl, created, ids); err != nil {
		return err
	}
	ids = slices.DeleteFunc(ids, func(g guid) bool { return g == created.id })
	if len(ids) == 0 {
		return nil
	}
	segs := make([]readSeg, len(ids))
	for i, id := range ids {
		segs[i] = readSeg{id, holderFields}
	}
	objs, _, err := p.readPresent(ctx, op, segs)
	if err != nil {
		return err
	}
	twins := keyHolders(pl.ext, ids, objs)
	if len(twins) == 0 {
		return nil
	}
	all := append(twins, created)
	slices.SortFunc(all, func(a, b holderInfo) int { return bytes.Compare(a.id[:], b.id[:]) })
	if err := p.removeTwins(ctx, op, pl.ext, all[0], all[1:]); err != nil {
		return err
	}
	if all[0].id != created.id {
		return errLookAgain
	}
	return nil
}

// removeTwins deletes the extra cardholders carrying the key, each after
// its credentials, so that survivor is the only one left.
func (p *Provider) removeTwins(ctx context.Context, op, ext string, survivor holderInfo, extras []holderInfo) error {
	for _, h := range extras {
		p.log.WarnContext(ctx, "several cardholders carry the same external ID; deleting the extra one and its credentials",
			"provider", Name, "external_id", ext, "survivor", survivor.id.String(), "deleted", h.id.String(), "credentials", len(h.creds))
	}
	return p.removeHolders(ctx, op, extras)
}

// pickCred sorts the credentials named after the card: the holder's own
// (ours: the one with the smallest GUID; the holder's others, twins a
// server accepting the same card data twice lets concurrent provisions
// create, in extra), those nobody holds any more (stale: only members of
// the partition, sc, which is nil without one; others are left alone),
// and a Conflict for one another cardholder holds, in any partition.
func (p *Provider) pickCred(op string, pl *plan, holder *holderInfo, ids []guid, objs map[guid]object, sc scope) (ours *credInfo, extra, stale []credInfo, err error) {
	now := p.now()
	var own []credInfo
	for _, id := range ids {
		o, ok := objs[id]
		if !ok {
			continue
		}
		c := toCred(o)
		if !strings.EqualFold(c.typ, typeCredential) || c.name != pl.credName {
			continue
		}
		switch {
		case holder != nil && c.holder == holder.id:
			if !slices.ContainsFunc(own, func(x credInfo) bool { return x.id == c.id }) {
				own = append(own, c)
			}
		case c.heldAt(now):
			return nil, nil, nil, acs.Errorf(op, Name, acs.Conflict,
				"card %s is held by another cardholder (credential %s, cardholder %s); revoke it there first", pl.card, c.id, c.holder)
		case sc.has(c.id):
			stale = append(stale, c)
		}
	}
	if len(own) == 0 {
		return nil, nil, stale, nil
	}
	slices.SortFunc(own, func(a, b credInfo) int { return bytes.Compare(a.id[:], b.id[:]) })
	return &own[0], own[1:], stale, nil
}

// placed checks, with a partition, that the cardholder this call created
// is a member of it and returns the ids that are. One created elsewhere
// (another client of the same Security Center user changed the
// session's creation partition between the two requests) is deleted, and
// errLookAgain makes the next attempt create it again.
func (p *Provider) placed(ctx context.Context, op string, pl *plan, created holderInfo, ids []guid) ([]guid, error) {
	sc, err := p.readScope(ctx, op)
	if err != nil || sc.has(created.id) {
		return sc.filter(ids), err
	}
	p.log.WarnContext(ctx, "the new cardholder is not in the provider's partition (the session's creation partition was changed meanwhile); deleting it and creating it again",
		"provider", Name, "external_id", pl.ext, "cardholder", created.id.String(), "partition", p.partGUID.String())
	if err := p.deleteEntity(ctx, op, created.id); err != nil {
		return nil, err
	}
	pl.unchecked = false // the cardholder this call created is gone
	return nil, errLookAgain
}

// createHolder creates the cardholder with its window (request 4), in the
// Provider's partition when it has one.
func (p *Provider) createHolder(ctx context.Context, op string, pl *plan) (*holderInfo, error) {
	if err := p.setCreationPartition(ctx, op); err != nil {
		return nil, err
	}
	var q qBuilder
	q.item("entity=NewEntity(", typeCardholder, ")")
	q.item("Name=", pl.eName)
	if pl.first != "" {
		q.item("FirstName=", pl.eFirst)
	}
	if pl.last != "" {
		q.item("LastName=", pl.eLast)
	}
	if pl.email != "" {
		q.item("EmailAddress=", pl.eEmail)
	}
	q.item("State=Active")
	q.item("ActivationMode=", pl.activation)
	q.item("Guid")
	id, err := p.write(ctx, op, q.String())
	if err != nil {
		return nil, err
	}
	if id == zeroGUID {
		return nil, acs.Errorf(op, Name, acs.Unknown, "the Web SDK created a cardholder without returning its GUID")
	}
	return &holderInfo{id: id}, nil
}

// finalWrite is request 5: one write creates or updates the credential
// and sets the cardholder's groups (and, for an existing cardholder, its
// details). It returns the credential's GUID.
func (p *Provider) finalWrite(ctx context.Context, op string, pl *plan, holder *holderInfo, newHolder bool, ours *credInfo) (guid, error) {
	var q qBuilder
	if ours == nil {
		if err := p.setCreationPartition(ctx, op); err != nil {
			return zeroGUID, err
		}
		q.item("entity=NewEntity(", typeCredential, ")")
		q.item("Name=", pl.eCredName)
		q.item("CardholderGuid=", holder.id.Hex())
		q.item("Format=", pl.format)
		q.item("State=Active")
		q.item("ActivationMode=", pl.activation)
		q.item("Guid")
	} else if !strings.EqualFold(ours.state, "Active") || !pl.sameWindow(ours.from, ours.until) {
		q.item("entity=", ours.id.Hex())
		q.item("State=Active")
		q.item("ActivationMode=", pl.activation)
	}
	if hs := holderChanges(pl, holder, newHolder); hs != "" {
		q.item("entity=", holder.id.Hex())
		q.item(hs)
	}
	if q.Len() == 0 {
		return ours.id, nil
	}
	id, err := p.write(ctx, op, q.String())
	switch {
	case err != nil:
		return zeroGUID, err
	case ours != nil:
		return ours.id, nil
	case id == zeroGUID:
		return zeroGUID, acs.Errorf(op, Name, acs.Unknown, "the Web SDK created a credential without returning its GUID")
	}
	return id, nil
}

// holderChanges lists what the cardholder's segment of request 5 sets:
// for an existing cardholder its details and window when they differ, and
// the group changes.
func holderChanges(pl *plan, holder *holderInfo, newHolder bool) string {
	var hs qBuilder
	if !newHolder {
		if holder.name != pl.name {
			hs.item("Name=", pl.eName)
		}
		if holder.first != pl.first {
			hs.item("FirstName=", pl.eFirst)
		}
		if holder.last != pl.last {
			hs.item("LastName=", pl.eLast)
		}
		if holder.email != pl.email {
			hs.item("EmailAddress=", pl.eEmail)
		}
		if !strings.EqualFold(holder.state, "Active") || !pl.sameWindow(holder.from, holder.until) {
			hs.item("State=Active")
			hs.item("ActivationMode=", pl.activation)
		}
	}
	for _, g := range pl.groups {
		if !slices.Contains(holder.groups, g) {
			hs.item("Groups@", g.Hex())
		}
	}
	for _, g := range holder.groups {
		if !slices.Contains(pl.groups, g) {
			hs.item("Groups-", g.Hex())
		}
	}
	return hs.String()
}
