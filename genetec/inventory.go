package genetec

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

var _ acs.Inventory = (*Provider)(nil)

// inventoryWorkers is how many batches of cardholders Holdings reads at
// once. Every request still waits for the Provider's rate limiter.
const inventoryWorkers = 8

// Projections read by Holdings.
var (
	heldHolderFields = []string{"Guid", "EntityType", "Name", "FirstName", "LastName", "State", "ActivationDate", "ExpirationDate", "Groups", "Credentials"}
	heldCredFields   = []string{"Guid", "EntityType", "Name", "State", "ActivationDate", "ExpirationDate", "CardholderGuid"}
)

// Holdings implements acs.Inventory: it delivers every cardholder whose
// name ends with the "[external-id]" marker Provision writes (with
// WithPartition, every such cardholder that is a member of the partition,
// whose members are read once first), with the credentials Security
// Center holds for it now. It reads the Web SDK
// every time, never a cache:
//
//	GET report/EntityConfiguration?q=EntityTypes@Cardholder,Page=n,PageSize=m   (every cardholder, page by page)
//	GET entity?q=entity=<cardholder>,Guid,EntityType,Name,FirstName,LastName,State,ActivationDate,ExpirationDate,Groups,Credentials,…   (50 a request)
//	GET entity?q=entity=<credential>,Guid,EntityType,Name,State,ActivationDate,ExpirationDate,CardholderGuid,…   (50 a request)
//
// Every cardholder is listed and the marker is checked on the names read
// back: the report's Name filter is not exact, and how it treats '[' is
// not documented (a search engine that reads it as a pattern would hide
// marked cardholders, and with them the orphans reconciliation looks
// for). The page after a full one is always read, so a server that does
// not add the "one extra" entity announcing a further page is still read
// to the end.
//
// Up to eight batches are read at once, each request paced by the
// Provider's rate limiter; fn is called from one goroutine at a time.
// Memory is bounded by the page size and the batches in flight, not by
// the number of cardholders. A cardholder deleted while the listing runs
// is left out (the Web SDK is asked, see settle); one deleted before it
// is read can shift the pages and make another skip a turn, to be seen by
// the next call.
//
// Each credential carries the cardholder's groups as access levels, and
// the window Security Center enforces: the intersection of the
// credential's activation period and its cardholder's (zero on a side
// neither bounds). Active means that the credential's and the
// cardholder's State are both Active. The card is read back from the
// credential's name, which Provision sets to the card ("H10301 42/1001");
// a credential renamed at Security Center is listed with a zero Card.
func (p *Provider) Holdings(ctx context.Context, fn func(acs.Holding) error) error {
	const op = "holdings"
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A buffer of one batch per reader lets the listing fetch its next
	// page while the readers work.
	batches := make(chan []guid, inventoryWorkers)
	results := make(chan heldBatch)
	var (
		wg      sync.WaitGroup
		pageErr error
	)
	wg.Go(func() {
		defer close(batches)
		pageErr = p.pageHolders(ctx, op, batches)
	})
	var workers sync.WaitGroup
	for range inventoryWorkers {
		workers.Go(func() {
			for b := range batches {
				hs, err := p.readHeld(ctx, op, b)
				select {
				case results <- heldBatch{hs, err}:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	go func() { workers.Wait(); close(results) }()
	err := deliverHeld(ctx, results, fn)
	cancel()
	for range results {
		// Let the workers see the cancellation and end.
	}
	wg.Wait()
	if err == nil {
		err = pageErr
	}
	return heldError(op, err)
}

// heldBatch is what a worker read: the holdings of one batch, or why not.
type heldBatch struct {
	holdings []acs.Holding
	err      error
}

// deliverHeld calls fn for each holding until the results end, a batch
// fails, fn fails or ctx ends.
func deliverHeld(ctx context.Context, results <-chan heldBatch, fn func(acs.Holding) error) error {
	for r := range results {
		if r.err != nil {
			return r.err
		}
		for _, h := range r.holdings {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(h); err != nil {
				return &fnError{err}
			}
		}
	}
	return ctx.Err()
}

// heldError returns fn's error unchanged, and classifies the rest.
func heldError(op string, err error) error {
	if fe, ok := err.(*fnError); ok {
		return fe.err
	}
	return acs.Wrap(op, Name, acs.Unknown, err)
}

// pageHolders lists every cardholder, page by page, and sends their GUIDs
// in batches of at most the read batch. The extra entity announcing a
// further page is left to that page, and GUIDs the previous page sent
// (entities shifted by a deletion or a creation) are not sent again. With
// a partition, only its members are sent (read once, before the first
// page: a cardholder created in it meanwhile is seen by the next call).
func (p *Provider) pageHolders(ctx context.Context, op string, out chan<- []guid) error {
	var prev map[guid]bool
	sc, err := p.readScope(ctx, op) // nil without a partition
	if err != nil {
		return err
	}
	for page := 1; page <= maxPages; page++ {
		ids, full, err := p.holderPage(ctx, op, page)
		if err != nil {
			return err
		}
		cur := make(map[guid]bool, len(ids))
		var fresh []guid
		for _, id := range ids {
			if !prev[id] && !cur[id] && sc.has(id) {
				fresh = append(fresh, id)
			}
			cur[id] = true
		}
		for len(fresh) > 0 {
			n := min(p.batchSize(), len(fresh))
			select {
			case out <- fresh[:n:n]:
			case <-ctx.Done():
				return ctx.Err()
			}
			fresh = fresh[n:]
		}
		if !full || len(cur) == 0 || mapsEqual(prev, cur) {
			return nil
		}
		prev = cur
	}
	return acs.Errorf(op, Name, acs.Unknown, "the cardholder listing did not end after %d pages", maxPages)
}

func mapsEqual(a, b map[guid]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// holderPage reads one page of the cardholder listing; full reports
// whether a further page may exist (the extra entity, or a full page).
func (p *Provider) holderPage(ctx context.Context, op string, page int) ([]guid, bool, error) {
	env, err := p.do(ctx, call{op: op, method: http.MethodGet, path: "/report/EntityConfiguration",
		q: "EntityTypes@" + typeCardholder + ",Page=" + strconv.Itoa(page) + ",PageSize=" + strconv.Itoa(p.pageSize)})
	if err != nil {
		return nil, false, err
	}
	if !isOk(env.Status) {
		return nil, false, acs.Errorf(op, Name, acs.Unknown, "listing cardholders answered %s instead of a full page", env.Status)
	}
	objs, err := objects(env.Result)
	if err != nil {
		return nil, false, acs.Wrap(op, Name, acs.Unknown, err)
	}
	full := len(objs) >= p.pageSize
	objs = objs[:min(len(objs), p.pageSize)]
	ids := make([]guid, 0, len(objs))
	for _, o := range objs {
		if g, ok := o.guid("Guid"); ok {
			ids = append(ids, g)
		}
	}
	return ids, full, nil
}

// readHeld reads a batch of cardholders and the credentials of those
// carrying the marker.
func (p *Provider) readHeld(ctx context.Context, op string, ids []guid) ([]acs.Holding, error) {
	segs := make([]readSeg, len(ids))
	for i, id := range ids {
		segs[i] = readSeg{id, heldHolderFields}
	}
	objs, _, err := p.readPresent(ctx, op, segs)
	if err != nil {
		return nil, err
	}
	var (
		holders []holderInfo
		exts    []string
		credIDs []readSeg
	)
	for _, id := range ids {
		o, ok := objs[id]
		if !ok {
			continue
		}
		h := toHolder(o)
		ext, marked := externalIDFromName(h.name)
		if !marked || !isPerson(h.typ) {
			continue
		}
		h.id = id
		holders, exts = append(holders, h), append(exts, ext)
		for _, c := range h.creds {
			credIDs = append(credIDs, readSeg{c, heldCredFields})
		}
	}
	creds, _, err := p.readPresent(ctx, op, credIDs)
	if err != nil {
		return nil, err
	}
	out := make([]acs.Holding, len(holders))
	for i, h := range holders {
		out[i] = holding(h, exts[i], creds)
	}
	return out, nil
}

// holding builds the acs.Holding of a marked cardholder from the
// credentials read.
func holding(h holderInfo, ext string, creds map[guid]object) acs.Holding {
	levels := make([]string, len(h.groups))
	for i, g := range h.groups {
		levels[i] = g.String()
	}
	hd := acs.Holding{
		Cardholder:  acs.CardholderRef{ID: h.id.String(), ExternalID: ext},
		FirstName:   h.first,
		LastName:    h.last,
		Credentials: []acs.HeldCredential{},
	}
	for _, id := range h.creds {
		o, ok := creds[id]
		if !ok {
			continue // deleted since the cardholder was read
		}
		c := toCred(o)
		if !strings.EqualFold(c.typ, typeCredential) || c.holder != zeroGUID && c.holder != h.id {
			continue
		}
		card, _ := cardFromName(c.name)
		hc := acs.HeldCredential{
			Ref: acs.CredentialRef{ID: id.String(), CardholderID: hd.Cardholder.ID,
				CardholderExternalID: ext, Card: card},
			Active:       strings.EqualFold(c.state, "Active") && strings.EqualFold(h.state, "Active"),
			AccessLevels: slices.Clone(levels),
		}
		hc.ValidFrom, hc.ValidUntil = intersect(h.from, h.until, c.from, c.until)
		hd.Credentials = append(hd.Credentials, hc)
	}
	return hd
}

// intersect returns the window inside both [f1, u1) and [f2, u2), where a
// zero bound is no bound.
func intersect(f1, u1, f2, u2 time.Time) (time.Time, time.Time) {
	from, until := f1, u1
	if f2.After(from) {
		from = f2
	}
	if !u2.IsZero() && (until.IsZero() || u2.Before(until)) {
		until = u2
	}
	return from, until
}
