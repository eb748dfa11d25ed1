package lenel

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

var _ acs.Inventory = (*Provider)(nil)

// inventoryWorkers is how many requests Holdings keeps in flight at once;
// the provider's rate limit (WithRateLimit) still paces them.
const inventoryWorkers = 4

// maxFilterLen bounds the URL-encoded length of a filter that lists keys
// ("PERSONID = 1 OR PERSONID = 2 ..."), so that a whole query string stays
// under 2,048 bytes, the default limit of IIS (maxQueryString). OnGuard's
// web tier may allow more, but nothing public says so.
const maxFilterLen = 1800

// Holdings implements acs.Inventory: it delivers every person of
// Config.PersonType whose Config.ExternalIDProperty holds a valid external
// ID (the marker Provision writes), with each of the person's badges as
// OnGuard holds them now. Nothing is taken from a cache: the badge status
// names are read again too.
//
// For each badge: Ref.ID is the BADGEKEY; Ref.Card is the card the badge
// ID stands for when WithCardFunc is set, and the zero Card otherwise (a
// badge ID alone names no format or facility). Active is whether the
// badge's status is Config.ActiveStatus (OnGuard's person records have no
// disabled state that the adapter uses: a person exists or not).
// AccessLevels are the badge's access level assignments. ValidFrom and
// ValidUntil are the badge's ACTIVATE and DEACTIVATE, narrowed to the span
// its assignments' own windows cover, since a door opens only within both;
// an unset or unreadable date is an open bound.
//
// Requests: people in pages of 100 (filter `PROPERTY != ""`), then, for
// batches of people, their badges with one filter listing their IDs and
// the badges' assignments likewise, each filter kept under maxFilterLen;
// inventoryWorkers requests at a time. Memory holds a few batches and the
// set of person IDs already delivered (a person listed on two pages while
// records change is delivered once).
//
// With Config.PersonType Cardholder, choose an ExternalIDProperty that
// only this SDK writes (a user-defined field): employees whose SSNO is set
// would otherwise be listed as marked.
func (p *Provider) Holdings(ctx context.Context, fn func(acs.Holding) error) error {
	const op = "holdings"
	marker, err := notEmpty(p.cfg.ExternalIDProperty)
	if err != nil {
		return acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	st, err := p.loadStatusIDs(ctx, op)
	if err != nil {
		return err
	}
	iv := &inventory{p: p, op: op, active: st.active, marker: marker}
	return iv.run(ctx, fn)
}

// inventory is one run of Holdings.
type inventory struct {
	p      *Provider
	op     string
	active int64
	marker string
	sem    chan struct{} // one token per request in flight

	cancel context.CancelFunc
	once   sync.Once
	err    error // the first failure
}

// heldPerson is a marked person as listed, then with its badges.
type heldPerson struct {
	id               int64
	ext, first, last string
	badges           []badgeRecord
}

func (iv *inventory) fail(err error) {
	iv.once.Do(func() { iv.err = err; iv.cancel() })
}

// run lists the first page of people, then pipelines: the other pages →
// batches of people → their badges → batches of badges → their
// assignments → holdings, which fn gets on this goroutine. Each stage runs
// inventoryWorkers goroutines (one for regrouping), and a semaphore keeps
// at most inventoryWorkers requests in flight in all.
func (iv *inventory) run(parent context.Context, fn func(acs.Holding) error) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	iv.cancel, iv.sem = cancel, make(chan struct{}, inventoryWorkers)
	first, pages, err := iv.page(ctx, 1)
	if err != nil {
		return err
	}
	found := make(chan []heldPerson, inventoryWorkers)
	people := make(chan []heldPerson, inventoryWorkers)
	withBadges := make(chan []heldPerson, inventoryWorkers)
	forLevels := make(chan []heldPerson, inventoryWorkers)
	out := make(chan acs.Holding, inventoryWorkers)
	var all sync.WaitGroup
	var next atomic.Int64
	next.Store(1)
	stage(&all, found, func() { iv.fetchPages(ctx, &next, pages, found) })
	all.Go(func() { regroup(ctx, first, found, people, iv.personCost()) })
	stage(&all, withBadges, func() { iv.badges(ctx, people, withBadges) })
	all.Go(func() { regroup(ctx, nil, withBadges, forLevels, badgeCost) })
	stage(&all, out, func() { iv.levels(ctx, forLevels, out) })
	var fnErr error
	for h := range out {
		if fnErr != nil || ctx.Err() != nil {
			continue // draining until every stage has stopped
		}
		if fnErr = fn(h); fnErr != nil {
			cancel()
		}
	}
	cancel()
	all.Wait() // every stage has ended: iv.err is settled
	switch {
	case fnErr != nil:
		return fnErr
	case iv.err != nil:
		return iv.err
	case parent.Err() != nil:
		return acs.Wrap(iv.op, Name, acs.Canceled, parent.Err())
	}
	return nil
}

// stage runs inventoryWorkers copies of work and closes ch when all ended.
func stage[T any](all *sync.WaitGroup, ch chan T, work func()) {
	var wg sync.WaitGroup
	for range inventoryWorkers {
		wg.Go(work)
	}
	all.Go(func() { wg.Wait(); close(ch) })
}

// list is Provider.list holding a request token.
func (iv *inventory) list(ctx context.Context, typeName, filter string) ([]props, error) {
	if err := iv.acquire(ctx); err != nil {
		return nil, err
	}
	defer func() { <-iv.sem }()
	return iv.p.list(ctx, iv.op, typeName, filter)
}

// listBadges is Provider.badges holding a request token.
func (iv *inventory) listBadges(ctx context.Context, filter string) ([]badgeRecord, error) {
	if err := iv.acquire(ctx); err != nil {
		return nil, err
	}
	defer func() { <-iv.sem }()
	return iv.p.badges(ctx, iv.op, filter)
}

// acquire takes a request token, which the caller gives back.
func (iv *inventory) acquire(ctx context.Context) error {
	select {
	case iv.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return acs.Wrap(iv.op, Name, acs.Canceled, ctx.Err())
	}
}

// page lists page n of the marked people and returns them with the number
// of pages.
func (iv *inventory) page(ctx context.Context, n int) ([]heldPerson, int, error) {
	q := url.Values{"type_name": {iv.p.cfg.PersonType}, "filter": {iv.marker},
		"page_number": {strconv.Itoa(n)}, "page_size": {strconv.Itoa(pageSize)}}
	var res pageOf[rawMap]
	select {
	case iv.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, 0, acs.Wrap(iv.op, Name, acs.Canceled, ctx.Err())
	}
	err := iv.p.do(ctx, request{op: iv.op, method: http.MethodGet, path: "/instances", query: q, idempotent: true}, &res)
	<-iv.sem
	if err != nil {
		return nil, 0, err
	}
	if res.TotalPages > maxPages {
		return nil, 0, acs.Errorf(iv.op, Name, acs.Unknown, "%s listing has more than %d pages", iv.p.cfg.PersonType, maxPages)
	}
	prop := iv.p.cfg.ExternalIDProperty
	people := make([]heldPerson, 0, len(res.ItemList))
	for _, it := range res.ItemList {
		pr := upperProps(it.Props)
		id, ok := pr.int("ID")
		ext := pr.str(prop)
		if !ok || id <= 0 || acs.ValidateExternalID(ext) != nil || !validLiteral(ext) {
			continue // not marked by Provision
		}
		people = append(people, heldPerson{id: id, ext: ext, first: pr.str("FIRSTNAME"), last: pr.str("LASTNAME")})
	}
	return people, res.TotalPages, nil
}

// fetchPages lists the pages after the first, taking page numbers from
// next, until there are none left.
func (iv *inventory) fetchPages(ctx context.Context, next *atomic.Int64, pages int, found chan<- []heldPerson) {
	for {
		n := int(next.Add(1))
		if n > pages || ctx.Err() != nil {
			return
		}
		people, _, err := iv.page(ctx, n)
		if err != nil {
			iv.fail(err)
			return
		}
		if !send(ctx, found, people) {
			return
		}
	}
}

func send[T any](ctx context.Context, ch chan<- T, v T) bool {
	select {
	case ch <- v:
		return true
	case <-ctx.Done():
		return false
	}
}

// termLen is the URL-encoded length of "prop = n OR ".
func termLen(prop string, n int64) int {
	return len(url.QueryEscape(eqInt(prop, n) + " OR "))
}

// personCost is a person's share of a PERSONID filter; -1 for a person
// already passed on (listed on two pages while records changed).
func (iv *inventory) personCost() func(heldPerson) int {
	seen := map[int64]bool{}
	return func(h heldPerson) int {
		if seen[h.id] {
			return -1
		}
		seen[h.id] = true
		return termLen("PERSONID", h.id)
	}
}

// badgeCost is a person's share of a BADGEKEY filter.
func badgeCost(h heldPerson) int {
	n := 0
	for _, b := range h.badges {
		n += termLen("BADGEKEY", b.BadgeKey.n)
	}
	return n
}

// regroup passes the people from first and in on to out in batches whose
// filter (by cost) fits maxFilterLen, skipping those of cost -1, and
// closes out when in is closed.
func regroup(ctx context.Context, first []heldPerson, in <-chan []heldPerson, out chan<- []heldPerson, cost func(heldPerson) int) {
	defer close(out)
	var cur []heldPerson
	size := 0
	add := func(people []heldPerson) bool {
		for _, h := range people {
			n := cost(h)
			if n < 0 {
				continue
			}
			if size+n > maxFilterLen && len(cur) > 0 {
				if !send(ctx, out, cur) {
					return false
				}
				cur, size = nil, 0
			}
			cur, size = append(cur, h), size+n
		}
		return true
	}
	if !add(first) {
		return
	}
	for people := range in {
		if !add(people) {
			return
		}
	}
	if len(cur) > 0 {
		send(ctx, out, cur)
	}
}

// badges reads the badges of each batch of people.
func (iv *inventory) badges(ctx context.Context, in <-chan []heldPerson, out chan<- []heldPerson) {
	for people := range in {
		byID := make(map[int64]*heldPerson, len(people))
		ids := make([]int64, len(people))
		for i := range people {
			byID[people[i].id], ids[i] = &people[i], people[i].id
		}
		items, err := iv.listBadges(ctx, anyInt("PERSONID", ids))
		if err != nil {
			iv.fail(err)
			return
		}
		for _, it := range items {
			if b, ok := it.window(); ok && byID[b.personID] != nil {
				byID[b.personID].badges = append(byID[b.personID].badges, it)
			}
		}
		if !send(ctx, out, people) {
			return
		}
	}
}

// levels reads the assignments of each batch of people's badges and sends
// their holdings on.
func (iv *inventory) levels(ctx context.Context, in <-chan []heldPerson, out chan<- acs.Holding) {
	for people := range in {
		var keys []int64
		for _, h := range people {
			for _, b := range h.badges {
				keys = append(keys, b.BadgeKey.n)
			}
		}
		assigned, err := iv.assignments(ctx, keys)
		if err != nil {
			iv.fail(err)
			return
		}
		for _, h := range people {
			if !send(ctx, out, iv.holding(h, assigned)) {
				return
			}
		}
	}
}

// assignments lists the assignments of the given badges by badge key, in
// filters that fit maxFilterLen (one, unless a person holds very many).
func (iv *inventory) assignments(ctx context.Context, keys []int64) (map[int64][]props, error) {
	out := map[int64][]props{}
	for len(keys) > 0 {
		n, size := 0, 0
		for n < len(keys) && (n == 0 || size+termLen("BADGEKEY", keys[n]) <= maxFilterLen) {
			size += termLen("BADGEKEY", keys[n])
			n++
		}
		chunk := keys[:n]
		keys = keys[n:]
		items, err := iv.list(ctx, "Lnl_AccessLevelAssignment", anyInt("BADGEKEY", chunk))
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if k, ok := it.int("BADGEKEY"); ok && slices.Contains(chunk, k) {
				out[k] = append(out[k], it)
			}
		}
	}
	return out, nil
}

// holding builds one person's holding; badges are in BADGEKEY order.
func (iv *inventory) holding(h heldPerson, assigned map[int64][]props) acs.Holding {
	badges := h.badges
	pid := strconv.FormatInt(h.id, 10)
	hd := acs.Holding{
		Cardholder:  acs.CardholderRef{ID: pid, ExternalID: h.ext},
		FirstName:   h.first,
		LastName:    h.last,
		Credentials: make([]acs.HeldCredential, 0, len(badges)),
	}
	for _, it := range badges {
		b, _ := it.window()
		ref := acs.CredentialRef{ID: strconv.FormatInt(b.key, 10), CardholderID: pid, CardholderExternalID: h.ext}
		if it.ID.ok && iv.p.cardOf != nil {
			if c, ok := iv.p.cardOf(it.ID.n); ok {
				ref.Card = c
			}
		}
		levels, windows := levelsOf(assigned[b.key])
		from, until := heldWindow(b, windows)
		hd.Credentials = append(hd.Credentials, acs.HeldCredential{
			Ref: ref, Active: b.status == iv.active, AccessLevels: levels, ValidFrom: from, ValidUntil: until,
		})
	}
	slices.SortFunc(hd.Credentials, func(a, b acs.HeldCredential) int {
		x, _ := strconv.ParseInt(a.Ref.ID, 10, 64)
		y, _ := strconv.ParseInt(b.Ref.ID, 10, 64)
		return cmp.Compare(x, y)
	})
	return hd
}

// levelsOf returns the access level IDs of a badge's assignments, in
// numeric order, and their windows.
func levelsOf(as []props) ([]string, []badgeWindow) {
	ids := make([]int64, 0, len(as))
	windows := make([]badgeWindow, 0, len(as))
	for _, a := range as {
		l, ok := a.int("ACCESSLEVELID")
		if !ok {
			continue
		}
		var w badgeWindow
		w.from, _ = a.time("ACTIVATE")
		w.until, _ = a.time("DEACTIVATE")
		ids = append(ids, l)
		windows = append(windows, w)
	}
	slices.Sort(ids)
	levels := make([]string, len(ids))
	for i, l := range ids {
		levels[i] = strconv.FormatInt(l, 10)
	}
	return levels, windows
}

// heldWindow is the window in which the badge can open a door: its own,
// narrowed to the span its assignments' windows cover. A zero time is an
// open bound.
func heldWindow(b badgeWindow, as []badgeWindow) (from, until time.Time) {
	from, until = b.from, b.until
	if len(as) == 0 {
		return from, until
	}
	hf, hu := as[0].from, as[0].until
	for _, a := range as[1:] {
		if !hf.IsZero() && (a.from.IsZero() || a.from.Before(hf)) {
			hf = a.from
		}
		if !hu.IsZero() && (a.until.IsZero() || a.until.After(hu)) {
			hu = a.until
		}
	}
	if !hf.IsZero() && (from.IsZero() || hf.After(from)) {
		from = hf
	}
	if !hu.IsZero() && (until.IsZero() || hu.Before(until)) {
		until = hu
	}
	return from, until
}
