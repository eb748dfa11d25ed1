package genetec

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// maxPages stops a listing that never ends (a server that keeps
// announcing a further page).
const maxPages = 10000

// AccessLevels lists every cardholder group: report/EntityConfiguration
// page by page (a page holds PageSize GUIDs plus one extra when a further
// page exists; the extra is dropped and read again as the first of the
// next page), then the names in batched entity reads.
func (p *Provider) AccessLevels(ctx context.Context) ([]acs.AccessLevel, error) {
	const op = "access levels"
	if err := ctx.Err(); err != nil {
		return nil, acs.Wrap(op, Name, acs.Canceled, err)
	}
	ids, names, err := p.listNamed(ctx, op, typeGroup, "cardholder group")
	if err != nil {
		return nil, err
	}
	out := make([]acs.AccessLevel, 0, len(ids))
	for _, id := range ids {
		if n, ok := names[id]; ok {
			out = append(out, acs.AccessLevel{ID: id.String(), Name: n})
		}
	}
	return out, nil
}

// listNamed lists every entity of typ (what names it in messages) with
// the paged EntityConfiguration report and reads their names in batches.
// Entities deleted between the listing and the read have no name and are
// left out of the map.
//
// Up to the provider's concurrency (WithConcurrency) requests are in
// flight at once, report pages and name reads alike: each page's names
// are read as soon as the page is in, while later pages are fetched.
// Report pages are asked for by number, so later pages are asked for
// before the current one answers whether more follow (one ahead at
// first, doubling with each page, up to the concurrency); those past the
// last page are cancelled and ignored. The GUIDs keep the report's order;
// any failure fails the whole listing.
func (p *Provider) listNamed(ctx context.Context, op, typ, what string) ([]guid, map[guid]string, error) {
	l := &namedListing{p: p, op: op, typ: typ, what: what, slots: make(chan struct{}, p.concurrency),
		seen: map[guid]bool{}, names: map[guid]string{}}
	ended, err := acshttp.FetchOrdered(ctx, maxPages, p.concurrency, l.fetch, l.accept)
	if err != nil {
		return nil, nil, err
	}
	if !ended {
		return nil, nil, acs.Errorf(op, Name, acs.Unknown, "the %s listing did not end after %d pages", what, maxPages)
	}
	return l.ids, l.names, nil
}

// namedListing is one listNamed: report pages and the name reads of each
// page share the slots, so no more than the Provider's concurrency of
// requests are in flight.
type namedListing struct {
	p       *Provider
	op, typ string
	what    string        // the entities, for messages
	slots   chan struct{} // requests in flight
	// Filled by accept, in the ACS's order.
	ids   []guid
	seen  map[guid]bool
	names map[guid]string
}

// namedPage is one report page with the names of its entities.
type namedPage struct {
	ids   []guid
	more  bool
	names []map[guid]object
}

// acquire takes a slot, or fails when ctx ends first.
func (l *namedListing) acquire(ctx context.Context) error {
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return acs.Wrap(l.op, Name, acs.Canceled, ctx.Err())
	}
}

// fetch reads report page i and then its entities' names.
func (l *namedListing) fetch(ctx context.Context, i int) (namedPage, error) {
	p := l.p
	if err := l.acquire(ctx); err != nil {
		return namedPage{}, err
	}
	env, err := p.do(ctx, call{op: l.op, method: http.MethodGet, path: "/report/EntityConfiguration",
		q: "EntityTypes@" + l.typ + ",Page=" + strconv.Itoa(i+1) + ",PageSize=" + strconv.Itoa(p.pageSize)})
	<-l.slots
	if err != nil {
		return namedPage{}, err
	}
	if !strings.EqualFold(env.Status, statusOk) {
		return namedPage{}, acs.Errorf(l.op, Name, acs.Unknown, "listing %ss answered %s instead of a full page", l.what, env.Status)
	}
	objs, err := objects(env.Result)
	if err != nil {
		return namedPage{}, acs.Wrap(l.op, Name, acs.Unknown, err)
	}
	// A further page is announced by one extra entity; a full page
	// without it is read on too, in case a server does not follow that
	// rule.
	pg := namedPage{ids: make([]guid, 0, min(len(objs), p.pageSize)), more: len(objs) >= p.pageSize}
	for _, o := range objs[:min(len(objs), p.pageSize)] {
		if g, ok := o.guid("Guid"); ok {
			pg.ids = append(pg.ids, g)
		}
	}
	pg.names, err = l.readNames(ctx, pg.ids)
	return pg, err
}

// readNames reads the names of ids in batches, concurrently.
func (l *namedListing) readNames(ctx context.Context, ids []guid) ([]map[guid]object, error) {
	size := l.p.batchSize()
	batches := (len(ids) + size - 1) / size
	return acshttp.FetchPages(ctx, batches, l.p.concurrency, func(ctx context.Context, b int) (map[guid]object, error) {
		batch := ids[b*size : min((b+1)*size, len(ids))]
		segs := make([]readSeg, len(batch))
		for i, id := range batch {
			segs[i] = readSeg{id, nameFields}
		}
		if err := l.acquire(ctx); err != nil {
			return nil, err
		}
		defer func() { <-l.slots }()
		objs, _, err := l.p.readBatchPresent(ctx, l.op, segs)
		return objs, err
	})
}

// accept takes the pages in the ACS's order and says when the listing
// ended: at a page that announces no further one, or one with nothing new
// (a listing that would repeat itself).
func (l *namedListing) accept(_ int, pg namedPage) (bool, error) {
	fresh := 0
	for _, g := range pg.ids {
		if !l.seen[g] {
			l.seen[g] = true
			l.ids = append(l.ids, g)
			fresh++
		}
	}
	for _, objs := range pg.names {
		for id, o := range objs {
			l.names[id] = o.str("Name")
		}
	}
	return !pg.more || fresh == 0, nil
}

var nameFields = []string{"Guid", "Name"}

// CredentialFormats lists the card formats this adapter can write: the
// Security Center built-in formats Standard 26 bits (H10301) and HID
// H10302 37 bits, by their card-format GUIDs. It makes no request: no
// public Web SDK endpoint lists card formats.
func (p *Provider) CredentialFormats(ctx context.Context) ([]acs.CredentialFormat, error) {
	const op = "credential formats"
	if err := ctx.Err(); err != nil {
		return nil, acs.Wrap(op, Name, acs.Canceled, err)
	}
	return []acs.CredentialFormat{
		{ID: FormatStandard26, Name: cardSpecs[acs.H10301].name, Format: acs.H10301},
		{ID: FormatH10302, Name: cardSpecs[acs.H10302].name, Format: acs.H10302},
	}, nil
}
