package alta

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// Ping logs in (when no valid token is held) and reads one group of the
// organisation, which checks the URL, the login, the organisation ID and
// the right to read it.
func (p *Provider) Ping(ctx context.Context) error {
	const op = "ping"
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	resp, err := p.call(ctx, op, request{method: http.MethodGet, path: p.org("/groups"),
		query: url.Values{"limit": {"1"}, "offset": {"0"}}, idempotent: true})
	if err != nil {
		return err
	}
	if !ok2xx(resp) {
		return p.statusError(op, resp)
	}
	return nil
}

// AccessLevels lists every Alta group (all pages) and refreshes the group
// cache.
func (p *Provider) AccessLevels(ctx context.Context) ([]acs.AccessLevel, error) {
	const op = "access_levels"
	if err := ctx.Err(); err != nil {
		return nil, acs.Wrap(op, Name, acs.Canceled, err)
	}
	items, err := p.loadGroups(ctx, op)
	if err != nil {
		return nil, err
	}
	out := make([]acs.AccessLevel, 0, len(items))
	for _, g := range items {
		if g.ID > 0 {
			out = append(out, acs.AccessLevel{ID: idSegment(g.ID), Name: g.Name})
		}
	}
	return out, nil
}

// CredentialFormats lists the organisation's card formats and refreshes
// the cache. Format is set for the formats recognised as a Wiegand layout
// (by bit length and field widths); their IDs are what
// Grant.CredentialType takes.
func (p *Provider) CredentialFormats(ctx context.Context) ([]acs.CredentialFormat, error) {
	const op = "credential_formats"
	if err := ctx.Err(); err != nil {
		return nil, acs.Wrap(op, Name, acs.Canceled, err)
	}
	fs, err := p.loadFormats(ctx, op)
	if err != nil {
		return nil, err
	}
	out := make([]acs.CredentialFormat, len(fs))
	for i, f := range fs {
		out[i] = acs.CredentialFormat{ID: idSegment(f.id), Name: f.label, Format: f.card}
	}
	return out, nil
}

// provisionRun is one Provision call: the checked grant, what was
// resolved for it, and what the call created (undone after a refusal).
type provisionRun struct {
	p      *Provider
	op     string
	g      acs.Grant
	groups []int64
	from   time.Time
	to     time.Time
	email  string
	format cardFormat
	typeID int64
	raw    string // the card's raw number

	userID      int64 // the user provisioned, once known
	createdUser int64
	createdCred int64
}

// Provision makes sure the user with g.Person.ExternalID exists, holds a
// card credential for g.Card, carries the window g.ValidFrom–g.ValidUntil
// (on the user and the credential, whole seconds, UTC) and belongs to
// exactly the groups g.AccessLevels. See the package documentation for
// the requests it makes.
func (p *Provider) Provision(ctx context.Context, g acs.Grant) (acs.Provisioned, error) {
	const op = "provision"
	r, err := p.newRun(op, g)
	if err != nil {
		return acs.Provisioned{}, err
	}
	if err := ctx.Err(); err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	unlock, err := p.locks.Lock(ctx, "ext:"+g.Person.ExternalID, "card:"+r.raw+":"+g.Card.Format.String())
	if err != nil {
		return acs.Provisioned{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	res, err := r.run(ctx)
	if err != nil {
		if refusal(err) {
			r.undo(ctx)
		}
		return acs.Provisioned{}, err
	}
	return res, nil
}

// newRun checks a grant without any request.
func (p *Provider) newRun(op string, g acs.Grant) (*provisionRun, error) {
	if err := acs.ValidateGrant(g, p.rules); err != nil {
		return nil, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	r := &provisionRun{p: p, op: op, g: g, email: p.visitorEmail(g.Person.ExternalID),
		from: g.ValidFrom.UTC().Truncate(time.Second), to: g.ValidUntil.UTC().Truncate(time.Second)}
	for _, l := range g.AccessLevels {
		id, err := parseID(op, "access level", l)
		if err != nil {
			return nil, err
		}
		r.groups = append(r.groups, id)
	}
	if g.CredentialType != "" {
		id, err := parseID(op, "credential type (card format)", g.CredentialType)
		if err != nil {
			return nil, err
		}
		r.format.id = id
	}
	if !r.to.After(r.from) {
		return nil, acs.Errorf(op, Name, acs.InvalidArgument, "validity window is shorter than the one second Alta is given")
	}
	raw, err := rawNumber(g.Card)
	if err != nil {
		return nil, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	r.raw = raw
	return r, nil
}

// resolve fills in the catalogue entries: the card format, the card
// credential type, and the check that every group exists.
func (r *provisionRun) resolve(ctx context.Context) error {
	f, err := r.p.resolveFormat(ctx, r.op, r.g.Card, r.format.id)
	if err != nil {
		return err
	}
	r.format = f
	if r.typeID, err = r.p.typeID(ctx, r.op, "card"); err != nil {
		return err
	}
	return r.p.ensureGroups(ctx, r.op, r.groups)
}

// run does the provision: look up, check the card, create or adopt the
// user, set its groups, create or adjust the credential, in that order, so
// that the card opens doors only once everything else is in place.
// Duplicates of the visit found on the way, or seen right after a
// creation, converge on the smallest ID (see converge).
func (r *provisionRun) run(ctx context.Context) (acs.Provisioned, error) {
	p, op := r.p, r.op
	if err := r.resolve(ctx); err != nil {
		return acs.Provisioned{}, err
	}
	users, err := p.findUsers(ctx, op, r.email, false)
	if err != nil {
		return acs.Provisioned{}, err
	}
	found := len(users) > 0
	var u userJSON
	var held *credJSON
	if found {
		if u, err = r.converge(ctx, users); err != nil {
			return acs.Provisioned{}, err
		}
		creds, gone, err := p.userCredentials(ctx, op, int64(u.ID))
		if err != nil {
			return acs.Provisioned{}, err
		}
		found = !gone
		if held, err = r.keepOneCard(ctx, int64(u.ID), creds); err != nil {
			return acs.Provisioned{}, err
		}
	}
	if held == nil {
		self := int64(0)
		if found {
			self = int64(u.ID)
		}
		if h, ok, err := r.otherHolder(ctx, self, false); err != nil {
			return acs.Provisioned{}, err
		} else if ok && h.active {
			return acs.Provisioned{}, r.conflict(h, nil)
		}
	}
	created, groupsKnown := false, found
	if !found {
		if u, held, err = r.newUser(ctx); err != nil {
			return acs.Provisioned{}, err
		}
		created, groupsKnown = r.createdUser != 0, false
	} else if err := r.adopt(ctx, &u, false); err != nil {
		return acs.Provisioned{}, err
	}
	r.userID = int64(u.ID)
	if err := r.syncGroups(ctx, &u, groupsKnown); err != nil {
		return acs.Provisioned{}, err
	}
	credID, made, err := r.ensureCredential(ctx, int64(u.ID), held)
	if err != nil {
		return acs.Provisioned{}, err
	}
	uid := idSegment(u.ID)
	return acs.Provisioned{
		Cardholder: acs.CardholderRef{ID: uid, ExternalID: r.g.Person.ExternalID},
		Credential: acs.CredentialRef{ID: idSegment(credID), CardholderID: uid,
			CardholderExternalID: r.g.Person.ExternalID, Card: r.g.Card},
		AccessLevels: slices.Clone(r.g.AccessLevels),
		Created:      created || made,
	}, nil
}

// newUser creates the user, or adopts the archived one Alta brings back
// (cleaning its stale credentials, §1.3), or the live one that already
// has the e-mail (created meanwhile by another caller for the same visit:
// its credentials are looked at again, and it is not this call's to undo).
// After a creation it looks again: when another process created the
// visit's user too, the smallest ID survives (recheckUsers).
func (r *provisionRun) newUser(ctx context.Context) (userJSON, *credJSON, error) {
	u, from, err := r.createUser(ctx)
	if err != nil {
		return userJSON{}, nil, err
	}
	if from != existing {
		r.createdUser = int64(u.ID)
		survivor, err := r.recheckUsers(ctx, u)
		if err != nil {
			return userJSON{}, nil, err
		}
		if survivor.ID != u.ID {
			// Another process's user survives; this call's was removed.
			u, from = survivor, existing
		}
	}
	if from == broughtBack {
		r.p.log.LogAttrs(ctx, slog.LevelInfo, "alta: user brought back from soft deletion; cleaning it",
			slog.String("provider", Name), slog.Int64("user", int64(u.ID)))
	}
	if err := r.adopt(ctx, &u, from == broughtBack); err != nil {
		return userJSON{}, nil, err
	}
	if from != existing {
		return u, nil, nil
	}
	creds, _, err := r.p.userCredentials(ctx, r.op, int64(u.ID))
	if err != nil {
		return userJSON{}, nil, err
	}
	held, err := r.keepOneCard(ctx, int64(u.ID), creds)
	return u, held, err
}

// ensureCredential creates the card credential, or sets the window of the
// one held when it differs. made reports a creation. After a creation it
// looks again: when another process created a credential for the card
// too, the smallest ID survives (recheckCredential).
func (r *provisionRun) ensureCredential(ctx context.Context, uid int64, held *credJSON) (id int64, made bool, err error) {
	if held == nil {
		if id, err = r.createCredential(ctx, uid); err != nil {
			return 0, false, err
		}
		return r.recheckCredential(ctx, uid, id)
	}
	if from, to := held.window(); from.Equal(r.from) && to.Equal(r.to) {
		return int64(held.ID), false, nil
	}
	if err := r.patchWindow(ctx, uid, int64(held.ID)); err != nil {
		return 0, false, err
	}
	return int64(held.ID), false, nil
}

func (r *provisionRun) credentialBody() credentialBody {
	n := strconv.FormatUint(r.g.Card.Number, 10)
	card := &cardBody{Number: r.raw, CardFormatID: r.format.id, CardID: n, IsOutputEnabled: true,
		Fields: map[string]string{"cardId": n}}
	if name := r.format.facilityField; name != "" {
		fc := strconv.FormatUint(r.g.Card.Facility, 10)
		card.FacilityCode, card.Fields[name] = fc, fc
	}
	return credentialBody{CredentialTypeID: r.typeID, StartDate: r.from.Format(wireTime), EndDate: r.to.Format(wireTime), Card: card}
}

// createCredential creates the card credential. A lost answer is
// followed by a look at the user's credentials before one more try; a
// refusal is checked against every credential of the organisation, so
// that a card held by someone else is reported as a Conflict whatever
// Alta's answer said.
func (r *provisionRun) createCredential(ctx context.Context, uid int64) (int64, error) {
	p, op := r.p, r.op
	path := p.org("/users/" + idSegment(uid) + "/credentials")
	var lastErr error
	for range 2 {
		resp, err := p.call(ctx, op, request{method: http.MethodPost, path: path, body: r.credentialBody()})
		switch {
		case err != nil && !noAnswer(err):
			return 0, err
		case err != nil:
			lastErr = err
			creds, _, lerr := p.userCredentials(ctx, op, uid)
			if lerr != nil {
				return 0, err
			}
			if i := slices.IndexFunc(creds, func(c credJSON) bool { return p.holdsCard(c.Card, r.g.Card, r.raw) }); i >= 0 {
				return int64(creds[i].ID), nil
			}
			continue
		case ok2xx(resp):
			c, err := decodeData[credJSON](p, op, resp)
			if err == nil && c.ID <= 0 {
				err = acs.Errorf(op, Name, acs.Unknown, "credential created without an ID")
			}
			r.createdCred = int64(c.ID)
			return int64(c.ID), err
		case resp.Status == http.StatusUnauthorized || throttled(resp):
			return 0, p.statusError(op, resp)
		case resp.Status >= 400 && resp.Status < 500:
			refused := p.statusError(op, resp)
			if h, ok, herr := r.otherHolder(ctx, uid, true); herr == nil && ok {
				return 0, r.conflict(h, refused)
			}
			return 0, refused
		default:
			return 0, p.statusError(op, resp)
		}
	}
	return 0, lastErr
}

// undo deletes what this call created, after a refusal: the credential,
// then the user (a soft deletion, §1.3). Failures are logged: the next
// provision of the visit finds and completes what is left.
func (r *provisionRun) undo(ctx context.Context) {
	p, op := r.p, r.op
	if r.createdCred != 0 && r.createdUser == 0 {
		// The user existed before; only the credential is ours to remove.
		if err := p.deleteCredential(ctx, op, r.userID, r.createdCred); err != nil {
			p.logUndo(ctx, err)
		}
	}
	if r.createdUser == 0 {
		return
	}
	if err := p.removeUser(ctx, op, r.createdUser); err != nil {
		p.logUndo(ctx, err)
	}
}

func (p *Provider) logUndo(ctx context.Context, err error) {
	p.log.LogAttrs(ctx, slog.LevelWarn, "alta: could not undo a refused provision",
		slog.String("provider", Name), slog.String("error", p.redact(err.Error())))
}
