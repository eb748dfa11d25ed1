package lenel

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
)

// replicaSet is one simulator driven by several separately constructed
// providers, as several VMS replicas (separate processes) would: nothing
// is shared between the providers but OnGuard.
type replicaSet struct {
	e  *env // the simulator, clock and configuration; e.p is replica 0
	ps []*Provider
}

// gate wraps replica i's view of the simulator, so that a test can hold a
// request before or after the simulator handled it, or answer it itself;
// a nil answer drops the connection.
type gate func(i int, r *http.Request, serve func() *httptest.ResponseRecorder) *httptest.ResponseRecorder

// newReplicas returns n providers for one simulator, each with its own
// loopback server in front of it, through g when g is not nil.
func newReplicas(t *testing.T, n int, cfg func(*Config), g gate) *replicaSet {
	t.Helper()
	e := newEnv(t, envOpts{cfg: cfg})
	rs := &replicaSet{e: e}
	for i := range n {
		h := http.Handler(e.sim)
		if g != nil {
			h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				serve := func() *httptest.ResponseRecorder {
					rec := httptest.NewRecorder()
					e.sim.ServeHTTP(rec, r)
					return rec
				}
				rec := g(i, r, serve)
				if rec == nil {
					panic(http.ErrAbortHandler) // the connection drops without an answer
				}
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				_, _ = w.Write(rec.Body.Bytes())
			})
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		c := e.cfg
		c.BaseURL = srv.URL + lenelsim.BasePath
		p, err := New(c, WithClock(e.clock.Now), WithRetry(2, time.Millisecond, 5*time.Millisecond), WithKeepAlive(0))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close(context.Background()) })
		rs.ps = append(rs.ps, p)
	}
	return rs
}

// creates reports whether r creates a record of the given type, and leaves
// r's body readable.
func creates(r *http.Request, typeName string) bool {
	if r.Method != http.MethodPost || r.Body == nil {
		return false
	}
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	var v struct {
		TypeName string `json:"type_name"`
	}
	return json.Unmarshal(b, &v) == nil && v.TypeName == typeName
}

// barrier releases its callers once n of them have arrived.
type barrier struct {
	mu   sync.Mutex
	n    int
	done chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, done: make(chan struct{})} }

func (b *barrier) wait(ctx context.Context) {
	b.mu.Lock()
	b.n--
	if b.n == 0 {
		close(b.done)
	}
	b.mu.Unlock()
	select {
	case <-b.done:
	case <-ctx.Done():
	}
}

// provisionAll provisions g through every provider at once and returns
// each result.
func provisionAll(ctx context.Context, rs *replicaSet, g acs.Grant) ([]acs.Provisioned, []error) {
	res := make([]acs.Provisioned, len(rs.ps))
	errs := make([]error, len(rs.ps))
	var wg sync.WaitGroup
	for i, p := range rs.ps {
		wg.Go(func() { res[i], errs[i] = p.Provision(ctx, g) })
	}
	wg.Wait()
	return res, errs
}

// converged checks that OnGuard holds exactly one person with the grant's
// external ID, holding the grant's card, and no other record of the card.
func converged(t *testing.T, rs *replicaSet, g acs.Grant, res []acs.Provisioned) {
	t.Helper()
	e := rs.e
	typeName := personType(e.cfg)
	var people []string
	for _, in := range e.sim.Instances(typeName) {
		if in["SSNO"] == g.Person.ExternalID {
			people = append(people, strconv.FormatInt(in["ID"].(int64), 10))
		}
	}
	if len(people) != 1 {
		t.Fatalf("%d %s records with external ID %s (%v), want 1", len(people), typeName, g.Person.ExternalID, people)
	}
	var badges []map[string]any
	for _, b := range e.sim.Instances("Lnl_Badge") {
		if b["ID"] == int64(g.Card.Number) {
			badges = append(badges, b)
		}
	}
	if len(badges) != 1 {
		t.Fatalf("%d badge records of card %s, want 1: %v", len(badges), g.Card, badges)
	}
	if got := strconv.FormatInt(badges[0]["PERSONID"].(int64), 10); got != people[0] {
		t.Errorf("the badge belongs to person %s, want the survivor %s", got, people[0])
	}
	for i, p := range res {
		if p.Cardholder.ID != people[0] || p.Credential.ID != strconv.FormatInt(badges[0]["BADGEKEY"].(int64), 10) {
			t.Errorf("replica %d answered %+v; OnGuard holds person %s with badge %v", i, p, people[0], badges[0]["BADGEKEY"])
		}
		for _, l := range g.AccessLevels {
			if !e.opens(p.Credential, l, e.clock.Now()) {
				t.Errorf("replica %d's credential does not open level %s", i, l)
			}
		}
	}
	if c := e.sim.Census(); c.Visitors+c.Cardholders != 1 || c.Badges != 1 || c.Assignments != len(g.AccessLevels) {
		t.Errorf("census %+v, want one person, one badge, %d assignments", c, len(g.AccessLevels))
	}
}

// revokedEverywhere revokes through each replica's own answer and by
// external ID, and checks that the card opens nothing.
func revokedEverywhere(t *testing.T, rs *replicaSet, g acs.Grant, res []acs.Provisioned) {
	t.Helper()
	ctx := t.Context()
	for i, p := range rs.ps {
		noError(t, "revoke by the replica's reference", p.Revoke(ctx, res[i].Credential))
		noError(t, "revoke by external ID", p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: g.Person.ExternalID, Card: g.Card}))
	}
	for _, b := range rs.e.sim.Instances("Lnl_Badge") {
		for _, l := range []string{"1", "2"} {
			if rs.e.sim.Opens(strconv.FormatInt(b["BADGEKEY"].(int64), 10), l, rs.e.clock.Now()) {
				t.Errorf("badge %v still opens level %s after revoke", b["BADGEKEY"], l)
			}
		}
	}
}

var personTypes = map[string]func(*Config){
	"visitor":    nil,
	"cardholder": func(c *Config) { c.PersonType = Cardholder },
}

// Two replicas find no person with the external ID, then both create one
// before either looks again: both must end on the same survivor, with one
// badge, and revoking must work.
func TestReplicasCreatingTheSamePersonConverge(t *testing.T) {
	for name, cfg := range personTypes {
		t.Run(name, func(t *testing.T) {
			arrived, committed := newBarrier(2), newBarrier(2)
			var once [2]sync.Once
			typeName := personType(Config{})
			if cfg != nil {
				typeName = Cardholder
			}
			rs := newReplicas(t, 2, cfg, func(i int, r *http.Request, serve func() *httptest.ResponseRecorder) *httptest.ResponseRecorder {
				first := false
				if creates(r, typeName) {
					once[i].Do(func() { first = true })
				}
				if !first {
					return serve()
				}
				arrived.wait(r.Context()) // both looked up and found no one
				rec := serve()
				committed.wait(r.Context()) // both created before either looks again
				return rec
			})
			g := rs.e.grant(1, "1", "2")
			res, errs := provisionAll(t.Context(), rs, g)
			for i, err := range errs {
				noError(t, "replica "+strconv.Itoa(i)+" provision", err)
			}
			converged(t, rs, g, res)
			revokedEverywhere(t, rs, g, res)
		})
	}
}

// Replica 1 finds no person while replica 0 is still at OnGuard, and
// creates its own after replica 0 finished: the later creator sees both
// records, removes its own and adopts replica 0's badge.
func TestReplicaCreatingLaterCleansUp(t *testing.T) {
	for name, cfg := range personTypes {
		t.Run(name, func(t *testing.T) {
			oneLookedUp, zeroDone := make(chan struct{}), make(chan struct{})
			var once [2]sync.Once
			typeName := personType(Config{})
			if cfg != nil {
				typeName = Cardholder
			}
			rs := newReplicas(t, 2, cfg, func(i int, r *http.Request, serve func() *httptest.ResponseRecorder) *httptest.ResponseRecorder {
				if creates(r, typeName) {
					once[i].Do(func() {
						if i == 0 {
							<-oneLookedUp
						} else {
							close(oneLookedUp)
							<-zeroDone
						}
					})
				}
				return serve()
			})
			g := rs.e.grant(1, "1", "2")
			ctx := t.Context()
			res := make([]acs.Provisioned, 2)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			wg.Go(func() { res[0], errs[0] = rs.ps[0].Provision(ctx, g); close(zeroDone) })
			wg.Go(func() { res[1], errs[1] = rs.ps[1].Provision(ctx, g) })
			wg.Wait()
			for i, err := range errs {
				noError(t, "replica "+strconv.Itoa(i)+" provision", err)
			}
			converged(t, rs, g, res)
			if res[1].Created {
				t.Error("the later replica reports a creation; its record was removed and the badge adopted")
			}
			revokedEverywhere(t, rs, g, res)
		})
	}
}

// plant adds a person with the external ID directly to OnGuard, and for
// each card number given a badge, active for the next hour on level 1.
func plant(t *testing.T, e *env, ext string, cards ...uint64) (personID int64, badgeKeys []int64) {
	t.Helper()
	props := map[string]any{"SSNO": ext, "LASTNAME": "Planted", "FIRSTNAME": "Ada"}
	k, err := e.sim.AddInstance(personType(e.cfg), props)
	if err != nil {
		t.Fatal(err)
	}
	personID = k["ID"]
	now := e.clock.Now()
	for _, n := range cards {
		b, err := e.sim.AddInstance("Lnl_Badge", map[string]any{
			"PERSONID": personID, "ID": int64(n), "TYPE": lenelsim.BadgeTypeVisitor, "STATUS": lenelsim.StatusActive,
			"ACTIVATE": now.Add(-time.Minute), "DEACTIVATE": now.Add(time.Hour),
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.sim.AddInstance("Lnl_AccessLevelAssignment", map[string]any{"ACCESSLEVELID": lenelsim.LevelLobby, "BADGEKEY": b["BADGEKEY"]}); err != nil {
			t.Fatal(err)
		}
		badgeKeys = append(badgeKeys, b["BADGEKEY"])
	}
	return personID, badgeKeys
}

func (e *env) opensKey(key int64) bool {
	return e.sim.Opens(strconv.FormatInt(key, 10), "1", e.clock.Now())
}

func card(n uint64) acs.Card { return acs.Card{Format: acs.H10301, Facility: 42, Number: n} }

func TestRevokeActsOnEveryDuplicate(t *testing.T) {
	for name, cfg := range personTypes {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOpts{cfg: cfg})
			ctx := t.Context()
			_, k1 := plant(t, e, "visit-1", 1001)
			v2, k2 := plant(t, e, "visit-1", 2001)
			// The card is on the second record, not the survivor.
			noError(t, "revoke by external ID", e.p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: "visit-1", Card: card(2001)}))
			if e.opensKey(k2[0]) {
				t.Error("the card on the second record still opens")
			}
			// By the second record's ID and the external ID: the card is
			// on the first.
			noError(t, "revoke by cardholder and external ID", e.p.Revoke(ctx, acs.CredentialRef{
				CardholderID: strconv.FormatInt(v2, 10), CardholderExternalID: "visit-1", Card: card(1001)}))
			if e.opensKey(k1[0]) {
				t.Error("the card on the first record still opens")
			}
		})
	}
}

// A credential reference whose badge was removed with a duplicate person
// still revokes the card, which lives on under the survivor.
func TestRevokeByKeyFollowsTheCardToTheSurvivor(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := t.Context()
	_, p := provisioned(t, e, 1)
	key, _ := strconv.ParseInt(p.Credential.ID, 10, 64)
	if !e.sim.DeleteBadge(p.Credential.ID) {
		t.Fatal("badge not deleted")
	}
	_, moved := plant(t, e, "visit-1", p.Credential.Card.Number)
	if moved[0] == key {
		t.Fatal("the planted badge reuses the key")
	}
	noError(t, "revoke by the old reference", e.p.Revoke(ctx, p.Credential))
	if e.opensKey(moved[0]) {
		t.Error("the card still opens on the other record")
	}
}

func TestRemoveCardholderRemovesEveryDuplicate(t *testing.T) {
	for name, cfg := range personTypes {
		t.Run(name, func(t *testing.T) {
			for _, by := range []string{"external ID", "ID and external ID", "ID of the second and external ID"} {
				t.Run(by, func(t *testing.T) {
					e := newEnv(t, envOpts{cfg: cfg})
					v1, _ := plant(t, e, "visit-1", 1001)
					v2, _ := plant(t, e, "visit-1", 2001, 2002)
					plant(t, e, "visit-2", 3001)
					ref := acs.CardholderRef{ExternalID: "visit-1"}
					switch by {
					case "ID and external ID":
						ref.ID = strconv.FormatInt(v1, 10)
					case "ID of the second and external ID":
						ref.ID = strconv.FormatInt(v2, 10)
					}
					noError(t, "remove", e.p.RemoveCardholder(t.Context(), ref))
					if c := e.sim.Census(); c.Visitors+c.Cardholders != 1 || c.Badges != 1 {
						t.Errorf("census %+v, want only visit-2's person and badge", c)
					}
					noError(t, "remove again", e.p.RemoveCardholder(t.Context(), ref))
				})
			}
		})
	}
}

// Duplicates already at OnGuard (replicas that crashed before cleaning up):
// Provision keeps the smallest ID, moves the card to it and removes the
// others with their badges.
func TestProvisionConvergesOnDuplicatesFound(t *testing.T) {
	for name, cfg := range personTypes {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOpts{cfg: cfg})
			v1, _ := plant(t, e, "visit-1")
			plant(t, e, "visit-1", 1001, 2001) // the grant's card, live, and an older one
			plant(t, e, "visit-1")
			g := e.grant(1, "1", "2")
			p, err := e.p.Provision(t.Context(), g)
			if err != nil {
				t.Fatalf("provision with duplicates: %v (code %v)", err, acs.CodeOf(err))
			}
			if p.Cardholder.ID != strconv.FormatInt(v1, 10) {
				t.Errorf("provisioned for person %s, want the smallest ID %d", p.Cardholder.ID, v1)
			}
			converged(t, &replicaSet{e: e}, g, []acs.Provisioned{p})
		})
	}
}

func TestHoldingsListsDuplicatesSeparately(t *testing.T) {
	e := newEnv(t, envOpts{opts: []Option{kitCards}})
	v1, k1 := plant(t, e, "visit-1", 1001)
	v2, k2 := plant(t, e, "visit-1", 2001)
	var got []acs.Holding
	if err := e.p.Holdings(t.Context(), func(h acs.Holding) error { got = append(got, h); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d holdings, want 2: %+v", len(got), got)
	}
	want := map[string]string{strconv.FormatInt(v1, 10): strconv.FormatInt(k1[0], 10), strconv.FormatInt(v2, 10): strconv.FormatInt(k2[0], 10)}
	for _, h := range got {
		if h.Cardholder.ExternalID != "visit-1" || len(h.Credentials) != 1 || want[h.Cardholder.ID] != h.Credentials[0].Ref.ID {
			t.Errorf("holding %+v; want persons %v with their own badge", h, want)
		}
		delete(want, h.Cardholder.ID)
	}
}

// The later of two creators cannot look the external ID up again (OnGuard
// fails the lookup): it takes its new record back rather than leave a
// duplicate that nobody cleans up, since a call whose work passed to
// another replica is not repeated.
func TestReplicaTakesItsRecordBackWhenTheRecheckFails(t *testing.T) {
	oneLookedUp, zeroDone := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var created bool
	var mu sync.Mutex
	rs := newReplicas(t, 2, nil, func(i int, r *http.Request, serve func() *httptest.ResponseRecorder) *httptest.ResponseRecorder {
		if i == 0 {
			if creates(r, Visitor) {
				<-oneLookedUp
			}
			return serve()
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case creates(r, Visitor):
			once.Do(func() { close(oneLookedUp); <-zeroDone })
			created = true
		case created && r.Method == http.MethodGet && r.URL.Query().Get("type_name") == Visitor:
			rec := httptest.NewRecorder()
			rec.Header().Set("Content-Type", "application/json")
			rec.WriteHeader(http.StatusServiceUnavailable)
			_, _ = rec.WriteString(`{"error":{"code":"openaccess.general.internalerror","message":"The database is busy."}}`)
			return rec
		}
		return serve()
	})
	g := rs.e.grant(1, "1", "2")
	ctx := t.Context()
	res := make([]acs.Provisioned, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	wg.Go(func() { res[0], errs[0] = rs.ps[0].Provision(ctx, g); close(zeroDone) })
	wg.Go(func() { res[1], errs[1] = rs.ps[1].Provision(ctx, g) })
	wg.Wait()
	noError(t, "replica 0 provision", errs[0])
	if !acs.IsRetryable(errs[1]) {
		t.Errorf("replica 1 provision with the lookup failing: %v, want a retryable error", errs[1])
	}
	converged(t, rs, g, res[:1])
}

// Alone, too: a failed lookup after the create leaves no person behind.
func TestProvisionTakesThePersonBackWhenTheRecheckFails(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.sim.AddFault(lenelsim.Fault{Method: http.MethodGet, Path: "/instances", TypeName: Visitor, Skip: 1, Times: 3, Status: http.StatusServiceUnavailable})
	g := e.grant(1)
	if _, err := e.p.Provision(t.Context(), g); !acs.IsRetryable(err) {
		t.Fatalf("provision with the lookup after the create failing: %v, want a retryable error", err)
	}
	if c := e.sim.Census(); c != (lenelsim.Census{}) {
		t.Errorf("census %+v after the failed provision, want nothing left", c)
	}
	p, err := e.p.Provision(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	converged(t, &replicaSet{e: e}, g, []acs.Provisioned{p})
}

// The later creator's create is carried out but its answer is lost: the
// record is looked up before the error is believed, found with the
// earlier one, and the two converge.
func TestReplicaWhoseCreateAnswerIsLostConverges(t *testing.T) {
	oneLookedUp, zeroDone := make(chan struct{}), make(chan struct{})
	var once [2]sync.Once
	rs := newReplicas(t, 2, nil, func(i int, r *http.Request, serve func() *httptest.ResponseRecorder) *httptest.ResponseRecorder {
		if !creates(r, Visitor) {
			return serve()
		}
		lost := false
		once[i].Do(func() {
			if i == 0 {
				<-oneLookedUp
				return
			}
			close(oneLookedUp)
			<-zeroDone
			lost = true
		})
		rec := serve()
		if lost {
			return nil
		}
		return rec
	})
	g := rs.e.grant(1, "1", "2")
	ctx := t.Context()
	res := make([]acs.Provisioned, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	wg.Go(func() { res[0], errs[0] = rs.ps[0].Provision(ctx, g); close(zeroDone) })
	wg.Go(func() { res[1], errs[1] = rs.ps[1].Provision(ctx, g) })
	wg.Wait()
	for i, err := range errs {
		noError(t, "replica "+strconv.Itoa(i)+" provision", err)
	}
	converged(t, rs, g, res)
}

// sends reports whether r is a request with the given method about a
// record of the given type (its type_name query or body), and leaves r's
// body readable.
func sends(r *http.Request, method, typeName string) bool {
	if r.Method != method {
		return false
	}
	if method == http.MethodGet {
		return r.URL.Query().Get("type_name") == typeName
	}
	if r.Body == nil {
		return false
	}
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	var v struct {
		TypeName string `json:"type_name"`
	}
	return json.Unmarshal(b, &v) == nil && v.TypeName == typeName
}

// busy is OnGuard's answer to a request it could not carry out: an HTTP
// 500, which the HTTP client does not send again.
func busy() *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Type", "application/json")
	rec.WriteHeader(http.StatusInternalServerError)
	_, _ = rec.WriteString(`{"error":{"code":"` + lenelsim.CodeInternalError + `","message":"The database is busy."}}`)
	return rec
}

// The later of two creators is a call whose work passed to another
// replica: the other one has finished, with its own record, before this
// one creates a second. Whatever single request of the later call fails
// after its create, no second person may stay at OnGuard, since nobody
// repeats the later call: the steps that remove its record are tried
// again, and a call that fails anyway has removed it first.
func TestLaterCreatorLeavesNoDuplicateWhenAStepFailsOnce(t *testing.T) {
	type failure func(r *http.Request) bool
	deletesPerson := func(r *http.Request) bool { return sends(r, http.MethodDelete, Visitor) }
	listsPeople := func(r *http.Request) bool {
		return sends(r, http.MethodGet, Visitor) && strings.HasPrefix(r.URL.Query().Get("filter"), "SSNO")
	}
	for _, c := range []struct {
		name string
		// fail lists the requests of the later call, after its create, that
		// fail once each (the first that matches).
		fail []failure
		// lost: the later create is carried out but its answer is lost.
		lost bool
		// email: the later call's grant changes the e-mail address, so the
		// survivor is updated.
		email string
		// ok: the later call succeeds (else it fails retryably).
		ok bool
	}{
		{name: "the removal of its record", fail: []failure{deletesPerson}, ok: true},
		{name: "the listing of its record's badges", fail: []failure{func(r *http.Request) bool {
			return sends(r, http.MethodGet, "Lnl_Badge") && strings.HasPrefix(r.URL.Query().Get("filter"), "PERSONID")
		}}, ok: true},
		{name: "the lookup after the lost create answer", lost: true, fail: []failure{listsPeople}, ok: true},
		{name: "the recheck, then the take-back", fail: []failure{listsPeople, deletesPerson}},
		{name: "the update of the survivor", email: "ada.new@example.com", fail: []failure{func(r *http.Request) bool {
			return sends(r, http.MethodPut, Visitor)
		}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			oneLookedUp, zeroDone := make(chan struct{}), make(chan struct{})
			var mu sync.Mutex
			created, failed := false, make([]bool, len(c.fail))
			rs := newReplicas(t, 2, nil, func(i int, r *http.Request, serve func() *httptest.ResponseRecorder) *httptest.ResponseRecorder {
				if i == 0 {
					if creates(r, Visitor) {
						<-oneLookedUp
					}
					return serve()
				}
				mu.Lock()
				defer mu.Unlock()
				if !created && creates(r, Visitor) {
					close(oneLookedUp)
					<-zeroDone
					created = true
					rec := serve()
					if c.lost {
						return nil
					}
					return rec
				}
				for k, f := range c.fail {
					if created && !failed[k] && f(r) {
						failed[k] = true
						return busy()
					}
				}
				return serve()
			})
			g := rs.e.grant(1, "1", "2")
			g1 := g
			if c.email != "" {
				g1.Person.Email = c.email
			}
			ctx := t.Context()
			res := make([]acs.Provisioned, 2)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			wg.Go(func() { res[0], errs[0] = rs.ps[0].Provision(ctx, g); close(zeroDone) })
			wg.Go(func() { res[1], errs[1] = rs.ps[1].Provision(ctx, g1) })
			wg.Wait()
			for k, f := range failed {
				if !f {
					t.Fatalf("failure %d was never injected", k)
				}
			}
			noError(t, "replica 0 provision", errs[0])
			if c.ok {
				noError(t, "replica 1 provision", errs[1])
				converged(t, rs, g, res)
				return
			}
			if !acs.IsRetryable(errs[1]) {
				t.Errorf("replica 1 provision: %v, want a retryable error", errs[1])
			}
			converged(t, rs, g, res[:1])
		})
	}
}
