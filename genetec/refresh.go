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
	type page struct {
		ids   []guid
		more  bool
		names []map[guid]object
	}
	slots := make(chan struct{}, p.concurrency) // requests in flight
	acquire := func(ctx context.Context) error {
		select {
		case slots <- struct{}{}:
			return nil
		case <-ctx.Done():
			return acs.Wrap(op, Name, acs.Canceled, ctx.Err())
		}
	}
	fetch := func(ctx context.Context, i int) (page, error) {
		if err := acquire(ctx); err != nil {
			return page{}, err
		}
		env, err := p.do(ctx, call{op: op, method: http.MethodGet, path: "/report/EntityConfiguration",
			q: "EntityTypes@" + typ + ",Page=" + strconv.Itoa(i+1) + ",PageSize=" + strconv.Itoa(p.pageSize)})
		<-slots
		if err != nil {
			return page{}, err
		}
		if !strings.EqualFold(env.Status, statusOk) {
			return page{}, acs.Errorf(op, Name, acs.Unknown, "listing %ss answered %s instead of a full page", what, env.Status)
		}
		objs, err := objects(env.Result)
		if err != nil {
			return page{}, acs.Wrap(op, Name, acs.Unknown, err)
		}
		// A further page is announced by one extra entity; a full page
		// without it is read on too, in case a server does not follow
		// that rule.
		pg := page{ids: make([]guid, 0, min(len(objs), p.pageSize)), more: len(objs) >= p.pageSize}
		for _, o := range objs[:min(len(objs), p.pageSize)] {
			if g, ok := o.guid("Guid"); ok {
				pg.ids = append(pg.ids, g)
			}
		}
		batches := (len(pg.ids) + maxReadBatch - 1) / maxReadBatch
		pg.names, err = acshttp.FetchPages(ctx, batches, p.concurrency, func(ctx context.Context, b int) (map[guid]object, error) {
			batch := pg.ids[b*maxReadBatch : min((b+1)*maxReadBatch, len(pg.ids))]
			segs := make([]readSeg, len(batch))
			for i, id := range batch {
				segs[i] = readSeg{id, nameFields}
			}
			if err := acquire(ctx); err != nil {
				return nil, err
			}
			defer func() { <-slots }()
			objs, _, err := p.readBatchPresent(ctx, op, segs)
			return objs, err
		})
		return pg, err
	}
	var ids []guid
	seen := map[guid]bool{}
	names := map[guid]string{}
	accept := func(_ int, pg page) (bool, error) {
		fresh := 0
		for _, g := range pg.ids {
			if !seen[g] {
				seen[g] = true
				ids = append(ids, g)
				fresh++
			}
		}
		for _, objs := range pg.names {
			for id, o := range objs {
				names[id] = o.str("Name")
			}
		}
		// A page with nothing new ends a listing that would repeat itself.
		return !pg.more || fresh == 0, nil
	}
	ended, err := acshttp.FetchOrdered(ctx, maxPages, p.concurrency, fetch, accept)
	if err != nil {
		return nil, nil, err
	}
	if !ended {
		return nil, nil, acs.Errorf(op, Name, acs.Unknown, "the %s listing did not end after %d pages", what, maxPages)
	}
	return ids, names, nil
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
