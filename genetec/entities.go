package genetec

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// Entity type names as the Web SDK spells them.
const (
	typeCardholder = "Cardholder"
	typeVisitor    = "Visitor"
	typeCredential = "Credential"
	typeGroup      = "CardholderGroup"
)

// Projections read back for each kind of entity. Every read starts with
// Guid so that results can be matched to requests.
var (
	groupFields  = []string{"Guid", "EntityType"}
	holderFields = []string{"Guid", "EntityType", "Name", "FirstName", "LastName", "EmailAddress", "State", "ActivationDate", "ExpirationDate", "Groups", "Credentials"}
	credFields   = []string{"Guid", "EntityType", "Name", "State", "ActivationDate", "ExpirationDate", "CardholderGuid"}
)

// holderInfo is a cardholder as read from the Web SDK.
type holderInfo struct {
	id                     guid
	typ, name, first, last string
	email, state           string
	from, until            time.Time
	groups, creds          []guid
}

func toHolder(o object) holderInfo {
	h := holderInfo{
		typ: o.str("EntityType"), name: o.str("Name"), first: o.str("FirstName"), last: o.str("LastName"),
		email: o.str("EmailAddress"), state: o.str("State"), groups: o.guids("Groups"), creds: o.guids("Credentials"),
	}
	h.id, _ = o.guid("Guid")
	h.from = parseBound(o.str("ActivationDate"))
	h.until = parseBound(o.str("ExpirationDate"))
	return h
}

func isPerson(typ string) bool {
	return strings.EqualFold(typ, typeCardholder) || strings.EqualFold(typ, typeVisitor)
}

// credInfo is a credential as read from the Web SDK.
type credInfo struct {
	id               guid
	typ, name, state string
	from, until      time.Time
	holder           guid
}

func toCred(o object) credInfo {
	c := credInfo{typ: o.str("EntityType"), name: o.str("Name"), state: o.str("State")}
	c.id, _ = o.guid("Guid")
	c.holder, _ = o.guid("CardholderGuid")
	c.from = parseBound(o.str("ActivationDate"))
	c.until = parseBound(o.str("ExpirationDate"))
	return c
}

// heldAt reports whether the credential still belongs to its cardholder at
// now: it is assigned, not expired, and either Active or waiting for an
// activation date in the future.
func (c credInfo) heldAt(now time.Time) bool {
	switch {
	case c.holder == zeroGUID:
		return false
	case strings.EqualFold(c.state, "Expired"):
		return false
	case !c.until.IsZero() && !now.Before(c.until):
		return false
	}
	return strings.EqualFold(c.state, "Active") || c.from.After(now)
}

// search runs report/EntityConfiguration for entities of typ whose Name
// contains name, and returns their GUIDs. The name filter is not exact:
// callers compare the names they read back. A search answered
// TooManyResults (more matches than the server returns at once: "42/1"
// also finds 42/10…42/19, 42/100…) is run again page by page.
func (p *Provider) search(ctx context.Context, op, typ, name string) ([]guid, error) {
	esc, err := escapeValue("name", name)
	if err != nil {
		return nil, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	q := "EntityTypes@" + typ + ",Name=" + esc + ",NameSearchMode=Contains"
	env, err := p.do(ctx, call{op: op, method: http.MethodGet, path: "/report/EntityConfiguration", q: q})
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(env.Status, statusTooManyResults) {
		return p.searchPages(ctx, op, typ, q)
	}
	if !strings.EqualFold(env.Status, statusOk) {
		return nil, acs.Errorf(op, Name, acs.Unknown, "searching %s entities by name answered %s instead of the full list", typ, env.Status)
	}
	out, err := resultGUIDs(env.Result)
	if err != nil {
		return nil, acs.Wrap(op, Name, acs.Unknown, err)
	}
	return out, nil
}

// searchPages runs the search q page by page and returns every GUID once.
// A page holds the page size plus one extra entity when a further page
// exists; a page adding nothing new ends the search too.
func (p *Provider) searchPages(ctx context.Context, op, typ, q string) ([]guid, error) {
	var out []guid
	seen := map[guid]bool{}
	for page := 1; page <= maxPages; page++ {
		env, err := p.do(ctx, call{op: op, method: http.MethodGet, path: "/report/EntityConfiguration",
			q: q + ",Page=" + strconv.Itoa(page) + ",PageSize=" + strconv.Itoa(p.pageSize)})
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(env.Status, statusOk) {
			return nil, acs.Errorf(op, Name, acs.Unknown, "searching %s entities by name, page %d answered %s instead of a full page", typ, page, env.Status)
		}
		ids, err := resultGUIDs(env.Result)
		if err != nil {
			return nil, acs.Wrap(op, Name, acs.Unknown, err)
		}
		fresh := 0
		for _, g := range ids[:min(len(ids), p.pageSize)] {
			if !seen[g] {
				seen[g] = true
				out = append(out, g)
				fresh++
			}
		}
		if len(ids) <= p.pageSize || fresh == 0 {
			return out, nil
		}
	}
	return nil, acs.Errorf(op, Name, acs.Unknown, "searching %s entities by name did not end after %d pages", typ, maxPages)
}

// readSeg is one entity= segment of a read.
type readSeg struct {
	id     guid
	fields []string
}

// read fetches the projections of several entities, in batches of at most
// the Provider's read batch, and returns the results by GUID. A batch
// refused as too long is read again in smaller ones, and the smaller size
// is kept (see WithReadBatch).
func (p *Provider) read(ctx context.Context, op string, segs []readSeg) (map[guid]object, error) {
	out := make(map[guid]object, len(segs))
	for len(segs) > 0 {
		n := min(p.batchSize(), len(segs))
		err := p.readInto(ctx, op, segs[:n], out)
		if err != nil && n > minReadBatch && errors.Is(err, errTooLong) {
			p.shrinkBatch(ctx, n)
			continue
		}
		if err != nil {
			return nil, err
		}
		segs = segs[n:]
	}
	return out, nil
}

// readInto sends one read naming segs and adds its objects to out.
func (p *Provider) readInto(ctx context.Context, op string, segs []readSeg, out map[guid]object) error {
	var q qBuilder
	for _, s := range segs {
		q.item("entity=", s.id.Hex())
		for _, f := range s.fields {
			q.item(f)
		}
	}
	env, err := p.do(ctx, call{op: op, method: http.MethodGet, path: "/entity", q: q.String()})
	if err != nil {
		return err
	}
	objs, err := objects(env.Result)
	if err != nil {
		return acs.Wrap(op, Name, acs.Unknown, err)
	}
	for _, o := range objs {
		if g, ok := o.guid("Guid"); ok {
			out[g] = o
		}
	}
	return nil
}

// batchSize is how many entities one read names at most.
func (p *Provider) batchSize() int { return int(p.readBatch.Load()) }

// shrinkBatch lowers the read batch after a read of refused entities was
// refused as too long: to half of that, at least minReadBatch, unless
// another read lowered it further already.
func (p *Provider) shrinkBatch(ctx context.Context, refused int) {
	next := int64(max(refused/2, minReadBatch))
	for {
		cur := p.readBatch.Load()
		if cur <= next {
			return
		}
		if p.readBatch.CompareAndSwap(cur, next) {
			p.log.WarnContext(ctx, "genetec: the Web SDK refused a read as too long; reading fewer entities per request from now on",
				"refused", refused, "batch", next)
			return
		}
	}
}

// write sends one POST entity?q= and returns the GUID of the first
// object of its result, if any.
func (p *Provider) write(ctx context.Context, op, q string) (guid, error) {
	env, err := p.do(ctx, call{op: op, method: http.MethodPost, path: "/entity", q: q})
	if err != nil {
		return zeroGUID, err
	}
	objs, err := objects(env.Result)
	if err != nil {
		return zeroGUID, acs.Wrap(op, Name, acs.Unknown, err)
	}
	for _, o := range objs {
		if g, ok := o.guid("Guid"); ok {
			return g, nil
		}
	}
	return zeroGUID, nil
}

// deleteEntity deletes one entity (DELETE entity/{id}). A refusal is
// settled by asking whether the entity still exists: absent is a success
// (a retried DELETE whose first answer was lost is told the entity is
// missing, in words no code distinguishes), present is the refusal. An
// HTTP 404 without an envelope (a wrong base URL) stays an error, since
// the existence check fails the same way.
func (p *Provider) deleteEntity(ctx context.Context, op string, id guid) error {
	_, err := p.do(ctx, call{op: op, method: http.MethodDelete, path: "/entity/" + id.Hex()})
	if err == nil {
		return nil
	}
	return p.settle(ctx, op, id, err)
}

// mentions reports whether an error's text names the GUID in either form.
func mentions(err error, g guid) bool {
	s := strings.ToLower(err.Error())
	return strings.Contains(s, g.Hex()) || strings.Contains(s, g.String())
}
