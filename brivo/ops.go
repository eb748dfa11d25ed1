package brivo

import (
	"context"
	"errors"
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

// Ping logs in (when no valid token is held) and reads one group, which
// checks the URLs, the API key, the client credentials, the admin login and
// the admin's right to read groups.
func (p *Provider) Ping(ctx context.Context) error {
	const op = "ping"
	resp, err := p.call(ctx, op, request{method: http.MethodGet, path: "/groups",
		query: url.Values{"offset": {"0"}, "pageSize": {"1"}}, idempotent: true})
	if err != nil {
		return err
	}
	if !ok2xx(resp) {
		return p.pingMisdirected(resp, p.statusError(op, resp))
	}
	return nil
}

// AccessLevels lists every Brivo group (all pages) and refreshes the
// group cache.
func (p *Provider) AccessLevels(ctx context.Context) ([]acs.AccessLevel, error) {
	items, err := p.loadGroups(ctx, "access_levels")
	if err != nil {
		return nil, err
	}
	out := make([]acs.AccessLevel, len(items))
	for i, g := range items {
		out[i] = acs.AccessLevel{ID: idSegment(g.ID), Name: g.Name}
	}
	return out, nil
}

// AccessLevelByName returns the group whose name is exactly name. Brivo's
// name filter matches substrings, so the answer is narrowed here; a name
// that cannot be placed in a filter safely is looked for in the full
// listing instead. No group is NotFound; several groups of that name are a
// Conflict.
func (p *Provider) AccessLevelByName(ctx context.Context, name string) (acs.AccessLevel, error) {
	const op = "access_level_by_name"
	if name == "" {
		return acs.AccessLevel{}, acs.Errorf(op, Name, acs.InvalidArgument, "access level name is empty")
	}
	if err := acs.ValidateText("access level name", name, 200); err != nil {
		return acs.AccessLevel{}, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	var filter string
	if f, err := buildFilter(term{"name", "eq", []string{name}}); err == nil {
		filter = f
	}
	items, err := listAll[idName](ctx, p, op, "/groups", filter)
	if err != nil {
		return acs.AccessLevel{}, err
	}
	var found []idName
	for _, g := range items {
		if g.Name == name {
			found = append(found, g)
		}
	}
	switch len(found) {
	case 0:
		return acs.AccessLevel{}, acs.Errorf(op, Name, acs.NotFound, "no Brivo group is named %q", name)
	case 1:
		return acs.AccessLevel{ID: idSegment(found[0].ID), Name: found[0].Name}, nil
	}
	return acs.AccessLevel{}, acs.Errorf(op, Name, acs.Conflict, "%d Brivo groups are named %q", len(found), name)
}

// CredentialFormats lists the account's credential formats and refreshes
// the format cache. Format is set for the formats the adapter maps to a
// Wiegand layout by name.
func (p *Provider) CredentialFormats(ctx context.Context) ([]acs.CredentialFormat, error) {
	fs, err := p.loadFormats(ctx, "credential_formats")
	if err != nil {
		return nil, err
	}
	out := make([]acs.CredentialFormat, len(fs))
	for i, f := range fs {
		out[i] = acs.CredentialFormat{ID: idSegment(f.id), Name: f.name, Format: f.card}
	}
	return out, nil
}

// Provision makes sure the user with g.Person.ExternalID exists, holds a
// credential for g.Card assigned from g.ValidFrom to g.ValidUntil (whole
// seconds, UTC), and belongs to exactly the groups g.AccessLevels. See the
// package documentation for the requests it makes.
func (p *Provider) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	const op = "provision"
	if err := acs.ValidateGrant(g, p.rules); err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	extSeg, err := externalSegment(op, g.Person.ExternalID)
	if err != nil {
		return acs.Provisioned{}, err
	}
	groups := make([]int64, len(g.AccessLevels))
	for i, l := range g.AccessLevels {
		if groups[i], err = parseID(op, "access level", l); err != nil {
			return acs.Provisioned{}, err
		}
	}
	var credType int64
	if g.CredentialType != "" {
		if credType, err = parseID(op, "credential type", g.CredentialType); err != nil {
			return acs.Provisioned{}, err
		}
	}
	from, to := g.ValidFrom.UTC().Truncate(time.Second), g.ValidUntil.UTC().Truncate(time.Second)
	if !to.After(from) {
		return acs.Provisioned{}, acs.Errorf(op, Name, acs.InvalidArgument, "validity window is shorter than the one second Brivo can express")
	}
	encoded, err := encodeCard(g.Card)
	if err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if err := ctx.Err(); err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	unlock, err := p.locks.Lock(ctx, g.Person.ExternalID)
	if err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()

	f, err := p.resolveFormat(ctx, op, g.Card, credType)
	if err != nil {
		return acs.Provisioned{}, err
	}
	if err := p.ensureGroups(ctx, op, groups); err != nil {
		return acs.Provisioned{}, err
	}
	pv := provisionPlan{g: g, extSeg: extSeg, groups: groups, f: f, encoded: encoded, from: from, to: to}
	for attempt := 1; ; attempt++ {
		res, err := p.provisionOnce(ctx, op, &pv)
		if err == nil {
			return res, nil
		}
		fw := asFailedAfterWrite(err)
		switch {
		case ctx.Err() != nil:
			return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, ctx.Err())
		case fw != nil && attempt == maxProvisionAttempts:
			return acs.Provisioned{}, fw.err
		case errors.Is(err, errLookAgain) && attempt == maxProvisionAttempts:
			return acs.Provisioned{}, acs.Errorf(op, Name, acs.Unavailable,
				"the users carrying external ID %q kept changing while provisioning; try again", g.Person.ExternalID)
		case fw == nil && !errors.Is(err, errLookAgain):
			return acs.Provisioned{}, err
		}
		p.log.LogAttrs(ctx, slog.LevelInfo, "brivo: provision looks again after meeting a concurrent provision of the same visit, or a failure after a write",
			slog.String("provider", Name), slog.String("external_id", g.Person.ExternalID), slog.Int("attempt", attempt),
			slog.String("error", p.redact(err.Error())))
	}
}

// failedAfterWrite is a failure the next attempt may overcome by looking
// again: an error answer to a write after the attempt wrote something (a
// concurrent provision of the same visit converging twins can delete the
// user or unassign the credential this attempt works on), or any failure
// between the creation of a user and the end of the check for its twins,
// so that a twin this call created is converged even when the process
// that created it is not asked to provision the visit again (its lease
// has passed to another).
type failedAfterWrite struct{ err error }

func (f *failedAfterWrite) Error() string { return f.err.Error() }
func (f *failedAfterWrite) Unwrap() error { return f.err }

// asFailedAfterWrite returns the *failedAfterWrite in err's chain, or nil.
func asFailedAfterWrite(err error) *failedAfterWrite {
	var fw *failedAfterWrite
	errors.As(err, &fw)
	return fw
}

// provisionPlan is a validated grant with what Provision resolved for it.
type provisionPlan struct {
	g        acs.Grant
	extSeg   string
	groups   []int64
	f        brivoFormat
	encoded  string
	from, to time.Time
	// unchecked is set while this call has created a user and not yet
	// listed the users carrying the external ID since: failures then make
	// it look again rather than leave a twin it created.
	unchecked bool
}

// names returns the names Provision gives the user.
func (pv *provisionPlan) names() names {
	first, last := personNames(pv.g.Person)
	return names{first, last}
}

// isCard reports whether a credential carries the grant's card.
func (pv *provisionPlan) isCard(c credentialJSON) bool {
	return c.CredentialFormat.ID == pv.f.id && matchCard(c, &pv.f, pv.g.Card, pv.encoded)
}

// provisionOnce is one look at Brivo and the writes it calls for: find
// the user (converging twins), find the grant's card among its
// credentials, then make sure of the credential, the user, the
// assignment and the groups. It returns errLookAgain when it met twins
// (converged first) or a user of the same external ID created meanwhile.
func (p *Provider) provisionOnce(ctx context.Context, op string, pv *provisionPlan) (_ acs.Provisioned, err error) {
	var a attempt
	defer func() {
		if err != nil && !errors.Is(err, errLookAgain) && (a.wrote && uncertain(err) || pv.unchecked && (uncertain(err) || acs.IsRetryable(err))) {
			err = &failedAfterWrite{err}
		}
	}()
	// The steps are called directly (not through a list of functions) so
	// that pv and a stay on the stack.
	if err := p.findHolder(ctx, op, pv, &a); err != nil {
		return acs.Provisioned{}, err
	}
	if err := p.findHeldCard(ctx, op, pv, &a); err != nil {
		return acs.Provisioned{}, err
	}
	if err := p.ensureCredential(ctx, op, pv, &a); err != nil {
		return acs.Provisioned{}, err
	}
	if err := p.ensureUser(ctx, op, pv, &a); err != nil {
		return acs.Provisioned{}, err
	}
	if err := p.ensureAccess(ctx, op, pv, &a); err != nil {
		return acs.Provisioned{}, err
	}
	return a.provisioned(pv.g), nil
}

// attempt is what one provisionOnce found at Brivo and did there.
type attempt struct {
	u       userJSON
	found   bool            // u exists at Brivo
	held    *credentialJSON // the grant's card among u's credentials
	credID  int64
	wrote   bool // a write was made (or may have been)
	created bool // the user or the assignment is new
}

func (a *attempt) provisioned(g acs.Grant) acs.Provisioned {
	ext, uid := g.Person.ExternalID, idSegment(a.u.ID)
	return acs.Provisioned{
		Cardholder: acs.CardholderRef{ID: uid, ExternalID: ext},
		Credential: acs.CredentialRef{ID: idSegment(a.credID), CardholderID: uid,
			CardholderExternalID: ext, Card: g.Card},
		AccessLevels: slices.Clone(g.AccessLevels),
		Created:      a.created,
	}
}

// findHolder looks the user up by external ID. The lookup answers one
// user at most, so the others carrying the external ID are listed under
// the grant's names and the user's, and converged when there are any.
func (p *Provider) findHolder(ctx context.Context, op string, pv *provisionPlan, a *attempt) error {
	ext := pv.g.Person.ExternalID
	u, found, err := p.findUser(ctx, op, pv.extSeg, ext)
	switch {
	case err != nil:
		if u, found, err = p.userAfterRefusal(ctx, op, pv, err); err != nil {
			return err
		}
	case found:
		twins, err := p.twins(ctx, op, ext, pv.names(), names{u.FirstName, u.LastName})
		if err != nil {
			return err
		}
		pv.unchecked = false
		if slices.ContainsFunc(twins, func(x userJSON) bool { return x.ID != u.ID }) {
			a.wrote = true
			if u, err = p.converge(ctx, op, ext, append(twins, u), pv.isCard); err != nil {
				return err
			}
		}
	}
	a.u, a.found = u, found
	return nil
}

// findHeldCard looks for the grant's card among the found user's
// credentials.
func (p *Provider) findHeldCard(ctx context.Context, op string, pv *provisionPlan, a *attempt) error {
	if !a.found {
		return nil
	}
	creds, gone, err := p.userCredentials(ctx, op, a.u.ID)
	if err != nil {
		return err
	}
	a.found = !gone
	for i, c := range creds {
		if pv.isCard(c) {
			a.held = &creds[i]
			break
		}
	}
	return nil
}

// ensureCredential takes the held credential, or obtains one for the card
// (created, or a free one reused). It runs before the user is created, so
// that a card held by someone else is refused without leaving a user
// behind.
func (p *Provider) ensureCredential(ctx context.Context, op string, pv *provisionPlan, a *attempt) error {
	if a.held != nil {
		a.credID = a.held.ID
	} else {
		var err error
		if a.credID, err = p.obtainCredential(ctx, op, pv.f, pv.g.Card, pv.encoded); err != nil {
			if acs.CodeOf(err) == acs.Conflict {
				return p.conflictOnOwnCard(ctx, op, pv, a.u, a.found, err)
			}
			return err
		}
	}
	a.wrote = true
	return nil
}

// ensureUser creates the user when none was found, then checks for a twin
// another process may have created meanwhile (the later of two creators
// always sees the other's here); a found user that is suspended is
// resumed.
func (p *Provider) ensureUser(ctx context.Context, op string, pv *provisionPlan, a *attempt) error {
	if a.found {
		if a.u.Suspended {
			return p.setSuspended(ctx, op, a.u.ID, false)
		}
		return nil
	}
	pv.unchecked = true
	u, fresh, err := p.createUser(ctx, op, pv.g.Person, pv.extSeg)
	if err != nil {
		return err
	}
	a.u, a.created = u, true
	if fresh {
		ext := pv.g.Person.ExternalID
		twins, err := p.twins(ctx, op, ext, pv.names())
		if err != nil {
			return err
		}
		if slices.ContainsFunc(twins, func(x userJSON) bool { return x.ID != u.ID }) {
			survivor, err := p.converge(ctx, op, ext, append(twins, u), pv.isCard)
			if err != nil {
				return err
			}
			if survivor.ID != u.ID {
				return errLookAgain
			}
		}
	}
	pv.unchecked = false
	return nil
}

// ensureAccess assigns the credential to the user for the grant's window
// (unless it already is, for that window) and gives the user exactly the
// grant's groups.
func (p *Provider) ensureAccess(ctx context.Context, op string, pv *provisionPlan, a *attempt) error {
	if a.held == nil || !sameWindow(*a.held, pv.from, pv.to) {
		if err := p.assign(ctx, op, a.u.ID, a.credID, assignJSON{EffectiveFrom: pv.from.Format(wireTime), EffectiveTo: pv.to.Format(wireTime)}); err != nil {
			return err
		}
		a.created = a.created || a.held == nil
	}
	return p.syncGroups(ctx, op, a.u.ID, pv.groups, a.found)
}

// userAfterRefusal handles an error answer to the lookup by external ID:
// perhaps several users carry it (Brivo does not document what it answers
// then). The user listing is asked under the grant's names: twins are
// converged and the survivor used; none found leaves the lookup's error.
func (p *Provider) userAfterRefusal(ctx context.Context, op string, pv *provisionPlan, lookupErr error) (userJSON, bool, error) {
	if !uncertain(lookupErr) {
		return userJSON{}, false, lookupErr
	}
	ext := pv.g.Person.ExternalID
	twins, err := p.twins(ctx, op, ext, pv.names())
	if err != nil || len(twins) == 0 {
		return userJSON{}, false, lookupErr
	}
	p.log.LogAttrs(ctx, slog.LevelInfo, "brivo: lookup by external ID refused; the user listing found it",
		slog.String("provider", Name), slog.String("external_id", ext), slog.Int("users", len(twins)),
		slog.String("error", p.redact(lookupErr.Error())))
	survivor, err := p.converge(ctx, op, ext, twins, pv.isCard)
	return survivor, err == nil, err
}

// conflictOnOwnCard handles a card Brivo says is assigned to another user.
// When that user carries the grant's external ID it is not another
// visitor's: a concurrent provision created it (u not found), or it is a
// twin of u; twins are converged and the provision looks again. Otherwise
// the Conflict stands.
func (p *Provider) conflictOnOwnCard(ctx context.Context, op string, pv *provisionPlan, u userJSON, found bool, conflict error) error {
	ext := pv.g.Person.ExternalID
	_, holders, err := p.cardHolders(ctx, op, pv.g.Card, pv.encoded)
	if err != nil {
		return conflict
	}
	var ours []userJSON
	for _, h := range holders {
		if string(h.ExternalID) == ext {
			ours = append(ours, h)
		}
	}
	switch {
	case len(ours) == 0:
		return conflict
	case !found:
		return errLookAgain
	}
	twins, err := p.twins(ctx, op, ext, pv.names(), names{u.FirstName, u.LastName})
	if err != nil {
		return err
	}
	if _, err := p.converge(ctx, op, ext, append(append(twins, u), ours...), pv.isCard); err != nil {
		return err
	}
	return errLookAgain
}

func sameWindow(c credentialJSON, from, to time.Time) bool {
	f, ok1 := parseWireTime(c.EffectiveFrom)
	t, ok2 := parseWireTime(c.EffectiveTo)
	return ok1 && ok2 && f.Equal(from) && t.Equal(to)
}

// findUser looks a user up by external ID.
func (p *Provider) findUser(ctx context.Context, op, extSeg, ext string) (userJSON, bool, error) {
	resp, err := p.call(ctx, op, request{method: http.MethodGet, path: "/users/" + extSeg + "/external", idempotent: true})
	if err != nil {
		return userJSON{}, false, err
	}
	if brivoNotFound(resp) {
		return userJSON{}, false, nil
	}
	if !ok2xx(resp) {
		return userJSON{}, false, p.statusError(op, resp)
	}
	var u userJSON
	if err := p.decode(op, resp, &u); err != nil {
		return userJSON{}, false, err
	}
	if u.ID <= 0 || string(u.ExternalID) != ext {
		return userJSON{}, false, acs.Errorf(op, Name, acs.Unknown, "lookup of external ID %q answered with another user", ext)
	}
	return u, true, nil
}

// createUser creates the user; fresh reports that this call's POST
// created it. When the answer is lost, the user is looked up and, if
// absent, created again (once); when the external ID turns out taken (a
// concurrent creation), the user is looked up instead.
func (p *Provider) createUser(ctx context.Context, op string, person acs.Person, extSeg string) (u userJSON, fresh bool, err error) {
	body := createUserJSON{ExternalID: person.ExternalID}
	body.FirstName, body.LastName = personNames(person)
	if person.Email != "" {
		body.Emails = []emailJSON{{Address: person.Email, Type: "work"}}
	}
	var lastErr error
	for range 2 {
		resp, err := p.call(ctx, op, request{method: http.MethodPost, path: "/users", body: body})
		switch {
		case err != nil && !noAnswer(err):
			return userJSON{}, false, err
		case err != nil:
			lastErr = err
		case ok2xx(resp):
			var u userJSON
			if err := p.decode(op, resp, &u); err != nil {
				return userJSON{}, false, err
			}
			if u.ID <= 0 {
				return userJSON{}, false, acs.Errorf(op, Name, acs.Unknown, "user created without an ID")
			}
			return u, true, nil
		default:
			// Perhaps the external ID is taken by a concurrent creation
			// (Brivo's answer to that is not documented), or a failing
			// server created the user anyway: look before failing.
			err := p.statusError(op, resp)
			if uncertain(err) {
				if u, found, ferr := p.findUser(ctx, op, extSeg, person.ExternalID); ferr == nil && found {
					return u, false, nil
				}
			}
			return userJSON{}, false, err
		}
		// No answer: the user may have been created. Look before sending
		// again.
		u, found, ferr := p.findUser(ctx, op, extSeg, person.ExternalID)
		if ferr != nil {
			return userJSON{}, false, lastErr
		}
		if found {
			return u, true, nil
		}
	}
	return userJSON{}, false, lastErr
}

func (p *Provider) setSuspended(ctx context.Context, op string, uid int64, suspended bool) error {
	resp, err := p.call(ctx, op, request{method: http.MethodPut, path: idPath("/users/", uid, "/suspended"),
		body: map[string]bool{"suspended": suspended}, idempotent: true})
	if err != nil {
		return err
	}
	if !ok2xx(resp) {
		return p.statusError(op, resp)
	}
	return nil
}

// obtainCredential creates the credential for card, or finds the free one
// Brivo already holds for it. A card assigned to someone else is a
// Conflict.
func (p *Provider) obtainCredential(ctx context.Context, op string, f brivoFormat, card acs.Card, encoded string) (int64, error) {
	body := f.createBody(card, encoded)
	var lastErr error
	for range 2 {
		resp, err := p.call(ctx, op, request{method: http.MethodPost, path: "/credentials", body: body})
		if err != nil {
			if !noAnswer(err) {
				return 0, err
			}
			// The credential may have been created before the answer was
			// lost: look for it before sending again.
			id, ok, lerr := p.freeCredential(ctx, op, f, card, encoded)
			if lerr != nil {
				return 0, err
			}
			if ok {
				return id, nil
			}
			lastErr = err
			continue
		}
		if ok2xx(resp) {
			var c credentialJSON
			if err := p.decode(op, resp, &c); err != nil {
				return 0, err
			}
			if c.ID <= 0 {
				return 0, acs.Errorf(op, Name, acs.Unknown, "credential created without an ID")
			}
			return c.ID, nil
		}
		return p.credentialRefused(ctx, op, resp, f, card, encoded)
	}
	return 0, lastErr
}

// credentialRefused handles an error answer to POST /credentials. Brivo
// documents 400 "Duplicate Credential Found" for a card it already holds;
// rather than rely on that text alone, any 4xx answer that is not the
// gateway's or the token's is followed by a look for the card: a free
// credential for it is reused, one assigned to someone is a Conflict.
func (p *Provider) credentialRefused(ctx context.Context, op string, resp *acshttp.Response, f brivoFormat, card acs.Card, encoded string) (int64, error) {
	ae, ve := p.responseError(op, resp)
	dup := resp.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(ve.Message), "duplicate credential")
	if !dup && (ve.sure || resp.Status >= 500) {
		return 0, ae
	}
	id, ok, err := p.freeCredential(ctx, op, f, card, encoded)
	if err != nil || ok {
		return id, err
	}
	if !dup {
		held, err := p.cardHeld(ctx, op, f, card, encoded)
		if err != nil {
			return 0, err
		}
		if !held {
			return 0, ae
		}
	}
	return 0, &acs.Error{Op: op, Provider: Name, Code: acs.Conflict,
		Message: "card " + card.String() + " is assigned to another Brivo user", Err: ve}
}

// cardHeld reports whether Brivo holds a credential of format f for card,
// assigned or not (by reference ID and facility code).
func (p *Provider) cardHeld(ctx context.Context, op string, f brivoFormat, card acs.Card, encoded string) (bool, error) {
	terms := []term{{"reference_id", "eq", []string{strconv.FormatUint(card.Number, 10)}}}
	if f.facilityField != 0 {
		terms = append(terms, term{"facility_code", "eq", []string{strconv.FormatUint(card.Facility, 10)}})
	}
	filter, err := buildFilter(terms...)
	if err != nil {
		return false, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	creds, err := listAll[credentialJSON](ctx, p, op, "/credentials", filter)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(creds, func(c credentialJSON) bool {
		return c.CredentialFormat.ID == f.id && matchCard(c, &f, card, encoded)
	}), nil
}

// freeCredential finds an unassigned credential of format f for card: by
// reference ID (the card number) first, then among the free credentials of
// the facility in case it was registered with another reference.
func (p *Provider) freeCredential(ctx context.Context, op string, f brivoFormat, card acs.Card, encoded string) (int64, bool, error) {
	fc := []term{}
	if f.facilityField != 0 {
		fc = append(fc, term{"facility_code", "eq", []string{strconv.FormatUint(card.Facility, 10)}})
	}
	free := term{"status", "eq", []string{"unassigned"}}
	queries := [][]term{
		append(append([]term{{"reference_id", "eq", []string{strconv.FormatUint(card.Number, 10)}}}, fc...), free),
		append(slices.Clone(fc), free),
	}
	for _, terms := range queries {
		filter, err := buildFilter(terms...)
		if err != nil {
			return 0, false, acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
		creds, err := listAll[credentialJSON](ctx, p, op, "/credentials", filter)
		if err != nil {
			return 0, false, err
		}
		for _, c := range creds {
			if c.CredentialFormat.ID == f.id && matchCard(c, &f, card, encoded) {
				return c.ID, true, nil
			}
		}
	}
	return 0, false, nil
}

func (p *Provider) assign(ctx context.Context, op string, uid, cid int64, window assignJSON) error {
	resp, err := p.call(ctx, op, request{method: http.MethodPut,
		path: idPath2("/users/", uid, "/credentials/", cid), body: window, idempotent: true})
	if err != nil {
		return err
	}
	if !ok2xx(resp) {
		return p.statusError(op, resp)
	}
	return nil
}

// syncGroups makes the user a member of exactly want, removing before
// adding so that Brivo's 16-group limit is never crossed.
func (p *Provider) syncGroups(ctx context.Context, op string, uid int64, want []int64, existed bool) error {
	var have []int64
	if existed {
		cur, err := listAll[idName](ctx, p, op, idPath("/users/", uid, "/groups"), "")
		if err != nil {
			return err
		}
		for _, g := range cur {
			have = append(have, g.ID)
			if slices.Contains(want, g.ID) {
				continue
			}
			if err := p.leaveGroup(ctx, op, uid, g.ID); err != nil {
				return err
			}
		}
	}
	for _, gid := range want {
		if slices.Contains(have, gid) {
			continue
		}
		resp, err := p.call(ctx, op, request{method: http.MethodPut,
			path: idPath2("/groups/", gid, "/users/", uid), idempotent: true})
		if err != nil {
			return err
		}
		if !ok2xx(resp) {
			err := p.statusError(op, resp)
			if uncertain(err) {
				// Perhaps the group was deleted under us: list afresh next time.
				p.cat.groups.Invalidate()
			}
			return err
		}
	}
	return nil
}

// leaveGroup takes the user out of a group; an error answer is success
// once Brivo confirms that the user is not a member.
func (p *Provider) leaveGroup(ctx context.Context, op string, uid, gid int64) error {
	resp, err := p.call(ctx, op, request{method: http.MethodDelete,
		path: idPath2("/groups/", gid, "/users/", uid), idempotent: true})
	if err != nil || ok2xx(resp) {
		return err
	}
	_, err = p.settle(ctx, op, "group membership", p.statusError(op, resp),
		func() (bool, error) { return p.memberOf(ctx, op, uid, gid) })
	return err
}

// IssueMobilePass sends the cardholder a Brivo Mobile Pass invitation
// (POST /users/{id}/credentials/digital-invitations) to email, unless one
// is already pending, and bounds the pass's credential with effectiveTo =
// validUntil. The returned ID is the invitation's. Brivo answers 412 when
// the account's pass allotment is used up (a Conflict error).
func (p *Provider) IssueMobilePass(ctx context.Context, ref acs.CardholderRef, email string, validUntil time.Time) (acs.MobilePass, error) {
	const op = "issue_mobile_pass"
	if err := checkEmail(email); err != nil {
		return acs.MobilePass{}, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if validUntil.IsZero() || !validUntil.After(p.now()) {
		return acs.MobilePass{}, acs.Errorf(op, Name, acs.InvalidArgument, "validUntil must be in the future")
	}
	uid, found, unlock, err := p.cardholder(ctx, op, ref)
	if err != nil {
		return acs.MobilePass{}, err
	}
	if !found {
		return acs.MobilePass{}, acs.Errorf(op, Name, acs.NotFound, "no Brivo user has external ID %q; provision the cardholder first", ref.ExternalID)
	}
	defer unlock()
	inv, err := p.invite(ctx, op, uid, email)
	if err != nil {
		return acs.MobilePass{}, err
	}
	if inv.ID <= 0 {
		return acs.MobilePass{}, acs.Errorf(op, Name, acs.Unknown, "invitation without an ID")
	}
	if inv.CredentialID > 0 {
		if err := p.assign(ctx, op, uid, inv.CredentialID, assignJSON{EffectiveTo: validUntil.UTC().Truncate(time.Second).Format(wireTime)}); err != nil {
			return acs.MobilePass{}, err
		}
	}
	return acs.MobilePass{ID: idSegment(inv.ID)}, nil
}

// invite returns the user's pending invitation, or sends one to email.
// A lost answer, or an error answer that is not the gateway's or the
// token's (Brivo documents 409 for "already a pending invitation"), is
// followed by a look for the pending invitation before it is returned.
func (p *Provider) invite(ctx context.Context, op string, uid int64, email string) (invitationJSON, error) {
	path := idPath("/users/", uid, "/credentials/digital-invitations")
	inv, found, err := p.pendingInvitation(ctx, op, path)
	if err != nil || found {
		return inv, err
	}
	resp, err := p.call(ctx, op, request{method: http.MethodPost, path: path,
		query: url.Values{"sendInvitationEmail": {"true"}, "language": {p.language}},
		body:  map[string]string{"referenceId": email}})
	switch {
	case err != nil && !noAnswer(err):
		return inv, err
	case err == nil && ok2xx(resp):
		return inv, p.decode(op, resp, &inv)
	case err == nil:
		if err = p.statusError(op, resp); !uncertain(err) {
			return inv, err
		}
	}
	if pending, found, lerr := p.pendingInvitation(ctx, op, path); lerr == nil && found {
		return pending, nil
	}
	return inv, err
}

func (p *Provider) pendingInvitation(ctx context.Context, op, path string) (invitationJSON, bool, error) {
	filter, err := buildFilter(term{"status", "eq", []string{"pending"}})
	if err != nil {
		return invitationJSON{}, false, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	invs, err := listAll[invitationJSON](ctx, p, op, path, filter)
	if err != nil {
		return invitationJSON{}, false, err
	}
	for _, inv := range invs {
		if strings.EqualFold(inv.Status, "pending") {
			return inv, true, nil
		}
	}
	return invitationJSON{}, false, nil
}

func checkEmail(email string) error {
	if email == "" {
		return errors.New("e-mail address is empty")
	}
	if err := acs.ValidateText("email", email, acs.MaxEmailLen); err != nil {
		return err
	}
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(email, " \t") || strings.Contains(domain, "@") {
		return errors.New("e-mail address is malformed")
	}
	return nil
}
