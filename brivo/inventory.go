package brivo

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/acsbridge/acsbridge/acs"
)

var _ acs.Inventory = (*Provider)(nil)

// DefaultInventoryConcurrency is how many users' details Holdings reads at
// once (within the provider's rate limit).
const DefaultInventoryConcurrency = 8

// listOverlap is how many users each page of the user listing repeats
// from the page before: Brivo lists users by last name, so a user deleted
// during the read shifts the later pages back by one; the overlap keeps
// up to that many deletions from hiding a user.
const listOverlap = 10

// WithInventoryConcurrency sets how many users' details Holdings reads at
// once (default DefaultInventoryConcurrency). The rate limit still
// applies to every request.
func WithInventoryConcurrency(n int) Option {
	return func(o *options) {
		if n < 1 {
			o.invalid("WithInventoryConcurrency: %d is not positive", n)
		}
		o.invConcurrency = n
	}
}

// WithInventoryPrefix makes Holdings deliver only users whose external ID
// starts with prefix. Brivo has no other mark for what Provision created
// than the external ID it writes, so a VMS whose external IDs share a
// prefix (say "visit-") should set it when other integrations (directory
// sync) also give Brivo users external IDs.
func WithInventoryPrefix(prefix string) Option { return func(o *options) { o.invPrefix = prefix } }

// Holdings implements acs.Inventory: it delivers every Brivo user carrying
// an external ID (the mark Provision writes: a valid acs external ID,
// starting with the WithInventoryPrefix prefix when set) with the
// credentials assigned to it now.
//
// It reads Brivo, never a cache: GET /users page by page (100 a page, the
// pages overlapping by 10), then for each marked user, concurrently (see
// WithInventoryConcurrency) and within the rate limit, GET
// /users/{id}/credentials (the assignments and their effective dates) and
// GET /users/{id}/groups. Each credential's Ref carries the card read from
// its field values (zero for a mobile pass), its window is the
// assignment's effectiveFrom/effectiveTo (Brivo keeps the window there;
// the user's own dates bound only its PIN), its access levels are the
// user's groups, and it is Active unless the user is suspended (a listed
// credential is assigned). The format catalogue is read once per call.
// That is 2 requests per marked user plus one per 90 users listed.
//
// A user deleted during the read is left out; users created during it may
// be missed. It holds at most a few pages of users at a time, plus the ID
// of each marked user delivered (so that none is delivered twice).
func (p *Provider) Holdings(ctx context.Context, fn func(acs.Holding) error) error {
	const op = "holdings"
	if fn == nil {
		return acs.Errorf(op, Name, acs.InvalidArgument, "fn is nil")
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	_, err := p.loadFormats(ctx, op)
	if err != nil {
		return err
	}
	work, cancel := context.WithCancel(ctx)
	defer cancel()
	users := make(chan userJSON, p.invConcurrency)
	results := make(chan heldResult, p.invConcurrency)
	listed := make(chan error, 1)
	go func() {
		defer close(users)
		listed <- p.listMarked(work, op, users)
	}()
	var wg sync.WaitGroup
	for range p.invConcurrency {
		wg.Go(func() {
			for u := range users {
				h, ok, err := p.holding(work, op, u)
				select {
				case results <- heldResult{h, ok, err}:
				case <-work.Done():
					return
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	err = deliverHoldings(ctx, op, results, fn)
	cancel()
	for range results {
		// Let the workers finish.
	}
	if err != nil {
		return err
	}
	return <-listed
}

type heldResult struct {
	h   acs.Holding
	ok  bool // false: the user is gone
	err error
}

// deliverHoldings passes the results to fn one at a time until they end,
// one fails, fn fails, or ctx ends.
func deliverHoldings(ctx context.Context, op string, results <-chan heldResult, fn func(acs.Holding) error) error {
	for r := range results {
		if r.err != nil {
			return r.err
		}
		if err := ctx.Err(); err != nil {
			return acs.Wrap(op, Name, acs.Canceled, err)
		}
		if !r.ok {
			continue
		}
		if err := fn(r.h); err != nil {
			return err
		}
	}
	return nil
}

// marked reports whether an external ID is one Provision may have written.
func (p *Provider) marked(ext string) bool {
	return ext != "" && strings.HasPrefix(ext, p.invPrefix) && acs.ValidateExternalID(ext) == nil &&
		ext != "." && ext != ".."
}

// listMarked pages through GET /users and sends each marked user once.
func (p *Provider) listMarked(ctx context.Context, op string, out chan<- userJSON) error {
	sent := map[int64]bool{}
	offset := 0
	for range maxPages {
		q := url.Values{"offset": {strconv.Itoa(offset)}, "pageSize": {strconv.Itoa(pageSize)}}
		resp, err := p.call(ctx, op, request{method: http.MethodGet, path: "/users", query: q, idempotent: true})
		if err != nil {
			return err
		}
		if !ok2xx(resp) {
			return p.statusError(op, resp)
		}
		var pg pageJSON[userJSON]
		if err := p.decode(op, resp, &pg); err != nil {
			return err
		}
		for _, u := range pg.Data {
			if u.ID <= 0 || sent[u.ID] || !p.marked(string(u.ExternalID)) {
				continue
			}
			sent[u.ID] = true
			select {
			case out <- u:
			case <-ctx.Done():
				return acs.Wrap(op, Name, acs.Canceled, ctx.Err())
			}
		}
		end := offset + len(pg.Data)
		if len(pg.Data) < pageSize || pg.Count != nil && end >= *pg.Count {
			return nil
		}
		offset = end - listOverlap
	}
	return acs.Errorf(op, Name, acs.Unknown, "the user listing did not end after %d pages", maxPages)
}

// holding reads a user's credentials and groups; ok is false when the user
// turned out to be gone.
func (p *Provider) holding(ctx context.Context, op string, u userJSON) (acs.Holding, bool, error) {
	creds, gone, err := p.userCredentials(ctx, op, u.ID)
	if err != nil || gone {
		return acs.Holding{}, false, err
	}
	groups, gone, err := p.userGroups(ctx, op, u.ID)
	if err != nil || gone {
		return acs.Holding{}, false, err
	}
	levels := make([]string, len(groups))
	for i, g := range groups {
		levels[i] = idSegment(g.ID)
	}
	slices.Sort(levels)
	uid, ext := idSegment(u.ID), string(u.ExternalID)
	h := acs.Holding{Cardholder: acs.CardholderRef{ID: uid, ExternalID: ext},
		FirstName: u.FirstName, LastName: u.LastName, Credentials: make([]acs.HeldCredential, 0, len(creds))}
	for _, c := range creds {
		card, _ := p.cardOf(c)
		hc := acs.HeldCredential{
			Ref:    acs.CredentialRef{ID: idSegment(c.ID), CardholderID: uid, CardholderExternalID: ext, Card: card},
			Active: !u.Suspended, AccessLevels: slices.Clone(levels),
		}
		if t, ok := parseWireTime(c.EffectiveFrom); ok {
			hc.ValidFrom = t.UTC()
		}
		if t, ok := parseWireTime(c.EffectiveTo); ok {
			hc.ValidUntil = t.UTC()
		}
		h.Credentials = append(h.Credentials, hc)
	}
	return h, true, nil
}
