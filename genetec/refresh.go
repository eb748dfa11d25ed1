package genetec

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/acsbridge/acsbridge/acs"
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
func (p *Provider) listNamed(ctx context.Context, op, typ, what string) ([]guid, map[guid]string, error) {
	var ids []guid
	seen := map[guid]bool{}
	for page := 1; ; page++ {
		if page > maxPages {
			return nil, nil, acs.Errorf(op, Name, acs.Unknown, "the %s listing did not end after %d pages", what, maxPages)
		}
		env, err := p.do(ctx, call{op: op, method: http.MethodGet, path: "/report/EntityConfiguration",
			q: "EntityTypes@" + typ + ",Page=" + strconv.Itoa(page) + ",PageSize=" + strconv.Itoa(p.pageSize)})
		if err != nil {
			return nil, nil, err
		}
		if !strings.EqualFold(env.Status, statusOk) {
			return nil, nil, acs.Errorf(op, Name, acs.Unknown, "listing %ss answered %s instead of a full page", what, env.Status)
		}
		objs, err := objects(env.Result)
		if err != nil {
			return nil, nil, acs.Wrap(op, Name, acs.Unknown, err)
		}
		// A further page is announced by one extra entity; a full page
		// without it is read on too, in case a server does not follow
		// that rule.
		more := len(objs) >= p.pageSize
		if len(objs) > p.pageSize {
			objs = objs[:p.pageSize]
		}
		fresh := 0
		for _, o := range objs {
			g, ok := o.guid("Guid")
			if !ok || seen[g] {
				continue
			}
			seen[g] = true
			ids = append(ids, g)
			fresh++
		}
		if !more || fresh == 0 {
			break
		}
	}
	segs := make([]readSeg, len(ids))
	for i, id := range ids {
		segs[i] = readSeg{id, []string{"Guid", "Name"}}
	}
	objs, _, err := p.readPresent(ctx, op, segs)
	if err != nil {
		return nil, nil, err
	}
	names := make(map[guid]string, len(objs))
	for id, o := range objs {
		names[id] = o.str("Name")
	}
	return ids, names, nil
}

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
