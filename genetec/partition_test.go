package genetec_test

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/wiegand"
)

// partitionEnv is an env whose provider is confined to a new partition
// "Visitors HQ" (returned), with opts added to the usual ones.
func partitionEnv(t *testing.T, simOpts []genetecsim.Option, opts ...genetec.Option) (*env, string) {
	t.Helper()
	e := newEnv(t, simOpts)
	hq := e.sim.AddPartition("Visitors HQ")
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	base := []genetec.Option{genetec.WithClock(e.clock.Now), genetec.WithRetry(2, time.Millisecond, 5*time.Millisecond),
		genetec.WithLogger(logger), genetec.WithPartition(hq)}
	p, err := genetec.New(testConfig(e.srv.URL), append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	e.p = p
	return e, hq
}

// TestConformanceInPartition runs the kit against a provider confined to
// a partition.
func TestConformanceInPartition(t *testing.T) {
	acstest.Run(t, func(t *testing.T) acstest.Harness {
		e, _ := partitionEnv(t, nil)
		return harness{e}
	})
}

// TestPartitionOption: WithPartition takes a GUID in either form; Ping
// reports a partition that does not exist or an entity that is not one.
func TestPartitionOption(t *testing.T) {
	ctx := t.Context()
	if _, err := genetec.New(testConfig("http://127.0.0.1:4590"), genetec.WithPartition("visitors")); acs.CodeOf(err) != acs.InvalidArgument || !strings.Contains(err.Error(), "WithPartition") {
		t.Fatalf("New with a partition that is not a GUID: %v", err)
	}
	e, hq := partitionEnv(t, nil)
	if err := e.p.Ping(ctx); err != nil || e.p.Partition() != hq {
		t.Fatalf("Ping in partition %s: %v (Partition() %q)", hq, err, e.p.Partition())
	}
	for _, c := range []struct {
		partition string
		code      acs.Code
	}{
		{"0badc0de00004000800000000000f00d", acs.NotFound},
		{strings.ToUpper(strings.ReplaceAll(genetecsim.SeedLobbyGroup, "-", "")), acs.InvalidArgument},
	} {
		p, err := genetec.New(testConfig(e.srv.URL), genetec.WithPartition(c.partition), genetec.WithRetry(0, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Ping(ctx); acs.CodeOf(err) != c.code || !strings.Contains(err.Error(), "partition") {
			t.Fatalf("Ping with partition %s: %v, want %s", c.partition, err, c.code)
		}
	}
}

// TestPartitionFindsOnlyItsOwn: a cardholder carrying the same external ID
// in another partition is not the provider's: Provision creates the
// visitor in its partition beside it and finds its own again; when the
// other partition's cardholder also gets a credential of the same card (a
// server that accepts duplicate card data), Holdings, Revoke by external
// ID and card, and RemoveCardholder by external ID neither find nor touch
// it. A card live in another partition is still a Conflict, and nothing
// is created for it.
func TestPartitionFindsOnlyItsOwn(t *testing.T) {
	ctx := t.Context()
	e, hq := partitionEnv(t, []genetecsim.Option{genetecsim.WithDuplicateCardData()})
	annex := e.sim.AddPartition("Visitors Annex")
	g := grant(1)
	other := e.sim.AddCardholder("Ada Lovelace [visit-1]", "Ada", "Lovelace", genetecsim.SeedLobbyGroup)
	otherCred, ok := e.sim.AddCredential("H10301 42/3001", wiegand.H10301, 42, 3001, "Active", other, t0.Add(-time.Hour), t0.Add(24*time.Hour))
	if !ok || !e.sim.SetPartitions(other, annex) || !e.sim.SetPartitions(otherCred, annex) {
		t.Fatal("setting up the annex")
	}
	otherCreds := []string{otherCred}
	untouched := func(when string) {
		t.Helper()
		h, ok := e.sim.Cardholder(other)
		if !ok || h.Name != "Ada Lovelace [visit-1]" || !slices.Equal(h.Groups, []string{genetecsim.SeedLobbyGroup}) || !slices.Equal(e.sim.PartitionsOf(other), []string{annex}) {
			t.Fatalf("%s: the annex's cardholder changed: %+v", when, h)
		}
		for _, id := range otherCreds {
			if c, ok := e.sim.Credential(id); !ok || c.Cardholder != other || c.State != "Active" {
				t.Fatalf("%s: the annex's credential %s changed: %+v", when, id, c)
			}
		}
	}

	res, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	if res.Cardholder.ID == other || !res.Created || !slices.Equal(e.sim.PartitionsOf(res.Cardholder.ID), []string{hq}) ||
		!slices.Equal(e.sim.PartitionsOf(res.Credential.ID), []string{hq}) {
		t.Fatalf("provisioned %+v in partitions %v / %v", res, e.sim.PartitionsOf(res.Cardholder.ID), e.sim.PartitionsOf(res.Credential.ID))
	}
	untouched("after Provision")
	again, err := e.p.Provision(ctx, g)
	if err != nil || again.Created || again.Credential.ID != res.Credential.ID {
		t.Fatalf("provisioning again: %+v, %v; want the same credential found", again, err)
	}
	untouched("after the second Provision")

	// The annex's system issues the same card to its own cardholder.
	dup, ok := e.sim.AddCredential("H10301 42/1001", wiegand.H10301, 42, 1001, "Active", other, t0.Add(-time.Hour), t0.Add(24*time.Hour))
	if !ok || !e.sim.SetPartitions(dup, annex) {
		t.Fatal("adding the annex's credential of the same card")
	}
	otherCreds = append(otherCreds, dup)

	var held []string
	if err := e.p.Holdings(ctx, func(h acs.Holding) error { held = append(held, h.Cardholder.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(held, []string{res.Cardholder.ID}) {
		t.Fatalf("Holdings lists %v, want only %s", held, res.Cardholder.ID)
	}

	// A lost provision response: revoke by external ID and card only.
	if err := e.p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: g.Person.ExternalID, Card: g.Card}); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.sim.Credential(res.Credential.ID); ok {
		t.Fatal("Revoke left the provider's own credential")
	}
	untouched("after Revoke")
	if err := e.p.RemoveCardholder(ctx, acs.CardholderRef{ExternalID: g.Person.ExternalID}); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.sim.Cardholder(res.Cardholder.ID); ok {
		t.Fatal("RemoveCardholder left the provider's own cardholder")
	}
	untouched("after RemoveCardholder")

	before := e.sim.Census()
	g2 := grant(2)
	g2.Card.Number = 3001
	_, err = e.p.Provision(ctx, g2)
	if acs.CodeOf(err) != acs.Conflict || e.sim.Census() != before {
		t.Fatalf("provisioning a card live in another partition: %v, census %+v (was %+v)", err, e.sim.Census(), before)
	}
	untouched("after the refused Provision")
}

// sessionSwitcher is a transport that, once, lets another client of the
// same Security Center user switch the session's creation partition right
// after the adapter set it.
type sessionSwitcher struct {
	next      http.RoundTripper
	to        string // the partition the other client switches to
	mu        sync.Mutex
	switched  bool
	switchErr error
}

func (s *sessionSwitcher) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	if err != nil || r.Method != http.MethodPost || !strings.Contains(r.URL.Path, "/creationpartition/") {
		return resp, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.switched {
		return resp, err
	}
	s.switched = true
	u := *r.URL
	u.Path = u.Path[:strings.LastIndex(u.Path, "/")+1] + strings.ReplaceAll(s.to, "-", "")
	req, _ := http.NewRequestWithContext(context.WithoutCancel(r.Context()), http.MethodPost, u.String(), nil)
	req.Header = r.Header.Clone()
	req.ContentLength = 0
	other, oerr := s.next.RoundTrip(req)
	if oerr == nil {
		other.Body.Close()
	}
	s.switchErr = oerr
	return resp, err
}

// TestPartitionSessionSwitchedMeanwhile: another client of the same user
// switches the session's creation partition between the adapter's request
// setting it and the creation of the cardholder, which lands in the other
// partition. The twin check sees that it is not a member, deletes it and
// creates the cardholder again in the provider's partition.
func TestPartitionSessionSwitchedMeanwhile(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t, nil)
	hq := e.sim.AddPartition("Visitors HQ")
	annex := e.sim.AddPartition("Visitors Annex")
	sw := &sessionSwitcher{next: http.DefaultTransport, to: annex}
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, err := genetec.New(testConfig(e.srv.URL), genetec.WithClock(e.clock.Now), genetec.WithLogger(logger),
		genetec.WithPartition(hq), genetec.WithHTTPClient(&http.Client{Transport: sw}))
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Provision(ctx, grant(1))
	if err != nil || sw.switchErr != nil || !sw.switched {
		t.Fatalf("Provision: %v (switch: %v, %v)", err, sw.switched, sw.switchErr)
	}
	holders := holdersOf(e.sim, "visit-1")
	if len(holders) != 1 || holders[0].GUID != res.Cardholder.ID || !slices.Equal(e.sim.PartitionsOf(res.Cardholder.ID), []string{hq}) {
		t.Fatalf("cardholders carrying the key: %+v (partitions of the result %v)", holders, e.sim.PartitionsOf(res.Cardholder.ID))
	}
	if got := e.sim.PartitionMembers(annex); len(got) != 0 {
		t.Fatalf("the annex holds %v", got)
	}
	if !strings.Contains(e.logs.String(), "not in the provider's partition") {
		t.Fatalf("no warning about the misplaced cardholder in the log:\n%s", e.logs.String())
	}
	if !e.sim.Opens(res.Credential.ID, genetecsim.SeedLobbyGroup, t0) {
		t.Fatal("the credential does not open the lobby")
	}
}

// TestPartitionRequests checks the requests the package documentation
// lists for a new visitor in a partition: the six of Provision, plus the
// creation partition set before each creation and the members read at the
// twin check.
func TestPartitionRequests(t *testing.T) {
	e, hq := partitionEnv(t, nil)
	e.sim.ResetRequests()
	if _, err := e.p.Provision(t.Context(), grant(1)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range e.sim.Requests() {
		got = append(got, r.Method+" "+strings.SplitN(r.Path, "/", 2)[0])
	}
	want := []string{
		"GET report", "GET report", "GET entity", // the key, the card, the group
		"POST creationpartition", "POST entity", // the cardholder
		"GET report", "GET entity", // the twin check and the partition's members
		"POST creationpartition", "POST entity", // the credential and the groups
	}
	if !slices.Equal(got, want) {
		t.Fatalf("requests %q, want %q", got, want)
	}
	if n := e.countPrefix("POST", "creationpartition/"+strings.ReplaceAll(hq, "-", "")); n != 2 {
		t.Fatalf("%d creation-partition requests name HQ, want 2", n)
	}
}
