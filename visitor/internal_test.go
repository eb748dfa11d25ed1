package visitor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/wiegand"
)

func TestBackoff(t *testing.T) {
	e := &Engine{minBackoff: 2 * time.Second, maxBackoff: 5 * time.Minute}
	var prev time.Duration
	for attempts := 1; attempts <= 12; attempts++ {
		it := &OutboxItem{ID: "item-1", Attempts: attempts}
		d := e.backoff(it, errors.New("down"))
		base := min(2*time.Second<<(attempts-1), 5*time.Minute)
		if d < base*8/10 || d > base*12/10 {
			t.Errorf("attempt %d: backoff %s outside %s ±20%%", attempts, d, base)
		}
		if base < 5*time.Minute && d <= prev {
			t.Errorf("attempt %d: backoff %s does not grow from %s", attempts, d, prev)
		}
		if d != e.backoff(it, errors.New("down")) {
			t.Errorf("attempt %d: backoff is not deterministic", attempts)
		}
		prev = d
	}
	// Two items do not retry in lockstep.
	a := e.backoff(&OutboxItem{ID: "a", Attempts: 3}, nil)
	b := e.backoff(&OutboxItem{ID: "b", Attempts: 3}, nil)
	if a == b {
		t.Errorf("items a and b back off identically (%s)", a)
	}
	// Retry-After is honoured when longer.
	ra := &acs.Error{Code: acs.RateLimited, RetryAfter: time.Hour}
	if d := e.backoff(&OutboxItem{ID: "x", Attempts: 1}, ra); d != time.Hour {
		t.Errorf("backoff with Retry-After 1h: %s", d)
	}
}

func TestManualClockTicker(t *testing.T) {
	c := NewManualClock(time.Unix(0, 0))
	tk := c.NewTicker(10 * time.Second)
	c.Advance(9 * time.Second)
	select {
	case <-tk.C():
		t.Fatal("ticked early")
	default:
	}
	c.Advance(time.Second)
	select {
	case at := <-tk.C():
		if !at.Equal(time.Unix(10, 0)) {
			t.Errorf("tick at %s", at)
		}
	default:
		t.Fatal("no tick at 10s")
	}
	c.Advance(time.Minute) // six periods, one pending tick
	<-tk.C()
	select {
	case <-tk.C():
		t.Fatal("more than one pending tick")
	default:
	}
	tk.Stop()
	c.Advance(time.Hour)
	select {
	case <-tk.C():
		t.Fatal("stopped ticker ticked")
	default:
	}
}

func TestRunLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	clock := NewManualClock(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	m := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby"}})
	pol := Policy{
		Types:       map[string]VisitorType{"guest": {AccessLevels: []string{"lobby"}}},
		DefaultType: "guest", OperatorGroups: map[string][]string{"desk": {"lobby"}}, AutoSignOut: time.Hour,
	}
	e, err := New(NewMemoryStore(), []Location{{ID: "hq", Provider: m, Policy: pol}}, WithClock(clock), WithInterval(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	cycles := make(chan struct{})
	e.cycled = func() { cycles <- struct{}{} }
	pool, _ := e.Pool("hq")
	if _, err := pool.Add(ctx, badge.Badge{ID: "1", Name: "one", Card: badge.Card{Format: wiegand.H10301, Number: 1}}); err != nil {
		t.Fatal(err)
	}
	op := Operator{ID: "desk-1", Groups: []string{"desk"}}
	m.SetDown(true)
	if _, err := e.SignIn(ctx, op, SignInRequest{VisitID: "v1", Location: "hq", Visitor: Visitor{FirstName: "Ada"}, Provision: &ProvisionRequest{}}); err != nil {
		t.Fatal(err)
	}
	m.SetDown(false)

	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	<-cycles // the first cycle runs at once; the provision is not due yet
	if v, _ := e.Visit(ctx, "v1"); v.Current().Status != CredPending {
		t.Fatalf("provisioned before its backoff: %s", v.Current().Status)
	}
	clock.Advance(30 * time.Second) // one tick: the retry is due
	<-cycles
	if v, _ := e.Visit(ctx, "v1"); v.Current().Status != CredActive {
		t.Fatalf("after a tick: %s", v.Current().Status)
	}
	clock.Advance(time.Hour) // the auto sign-out is due; the tick sweeps and revokes
	<-cycles
	if v, _ := e.Visit(ctx, "v1"); v.State != SignedOut || v.Current().Status != CredRevoked {
		t.Fatalf("after the auto sign-out tick: %s, %s", v.State, v.Current().Status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	m := acstest.NewMemory(nil)
	good := Location{ID: "hq", Provider: m, Policy: Policy{Types: map[string]VisitorType{"guest": {}}}}
	cases := []struct {
		name string
		locs []Location
		opts []Option
	}{
		{"no locations", nil, nil},
		{"bad location ID", []Location{{ID: "h q", Provider: m, Policy: good.Policy}}, nil},
		{"no provider", []Location{{ID: "hq", Policy: good.Policy}}, nil},
		{"duplicate location", []Location{good, good}, nil},
		{"call timeout not below lease", []Location{good}, []Option{WithLease(time.Minute, time.Minute)}},
		{"lease shorter than two calls", []Location{good}, []Option{WithLease(time.Minute, 40*time.Second)}},
		{"zero stuck attempts", []Location{good}, []Option{WithStuck(0, time.Hour, nil)}},
		{"negative ACS retention", []Location{good}, []Option{WithACSRetention(-time.Hour)}},
		{"bad backoff", []Location{good}, []Option{WithBackoff(time.Minute, time.Second)}},
		{"zero workers", []Location{good}, []Option{WithBatch(10, 0)}},
		{"zero interval", []Location{good}, []Option{WithInterval(0)}},
		{"nil clock", []Location{good}, []Option{WithClock(nil)}},
		{"no types", []Location{{ID: "hq", Provider: m}}, nil},
	}
	for _, c := range cases {
		if _, err := New(NewMemoryStore(), c.locs, c.opts...); err == nil {
			t.Errorf("%s: New accepted it", c.name)
		}
	}
	if _, err := New(nil, []Location{good}); err == nil {
		t.Error("New accepted a nil store")
	}
	if _, err := New(NewMemoryStore(), []Location{good}); err != nil {
		t.Errorf("minimal configuration refused: %v", err)
	}
}

func TestPolicyValidate(t *testing.T) {
	ok := func() Policy {
		return Policy{
			Types:          map[string]VisitorType{"guest": {AccessLevels: []string{"lobby"}, Forbidden: []string{"lab"}}},
			OperatorGroups: map[string][]string{"desk": {"lobby"}},
		}
	}
	mutations := map[string]func(p *Policy){
		"unknown default type": func(p *Policy) { p.DefaultType = "vip" },
		"negative duration":    func(p *Policy) { p.Types["x"] = VisitorType{AccessDuration: -time.Hour} },
		"window over max": func(p *Policy) {
			p.Types["x"] = VisitorType{AccessDuration: 30 * 24 * time.Hour, AdvanceAccess: 2 * 24 * time.Hour}
		},
		"empty default level":    func(p *Policy) { p.Types["x"] = VisitorType{AccessLevels: []string{""}} },
		"default also forbidden": func(p *Policy) { p.Types["x"] = VisitorType{AccessLevels: []string{"lab"}, Forbidden: []string{"lab"}} },
		"empty group level":      func(p *Policy) { p.OperatorGroups["g"] = []string{""} },
		"negative auto sign-out": func(p *Policy) { p.AutoSignOut = -time.Minute },
		"no types":               func(p *Policy) { p.Types = nil },
	}
	p := ok()
	if err := p.Validate(); err != nil {
		t.Fatalf("valid policy refused: %v", err)
	}
	for name, mutate := range mutations {
		p := ok()
		mutate(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A custom maximum validity allows longer windows.
	p = ok()
	p.Types["x"] = VisitorType{AccessDuration: 40 * 24 * time.Hour}
	p.Rules.MaxValidity = 60 * 24 * time.Hour
	if err := p.Validate(); err != nil {
		t.Errorf("window within a custom maximum refused: %v", err)
	}
}
