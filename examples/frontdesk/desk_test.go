package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
)

// Demo passwords of the tests' operators.
const (
	alicePassword = "alice-Secret-71"
	bobPassword   = "bob-Secret-93"
)

// syncBuffer collects log lines from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testDesk is a front desk over the three simulators, served on loopback.
type testDesk struct {
	*Desk
	url string
	log *syncBuffer
}

func testOperators(t testing.TB) *Accounts {
	t.Helper()
	ops := NewAccounts()
	if err := ops.Add(Account{ID: "alice", Name: "Alice (reception)", Groups: []string{"reception"}}, alicePassword); err != nil {
		t.Fatal(err)
	}
	if err := ops.Add(Account{ID: "bob", Name: "Bob (security)", Groups: []string{"security"}, Admin: true}, bobPassword); err != nil {
		t.Fatal(err)
	}
	return ops
}

// startDesk starts the demo front desk as main does, on a free loopback
// port, and stops it at the end of the test.
func startDesk(t testing.TB) *testDesk {
	t.Helper()
	ctx := context.Background()
	sites, err := SimulatedSites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	desk, err := Start(ctx, Setup{Sites: sites, Operators: testOperators(t), Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := newServer(desk)
	if err != nil {
		desk.Close()
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		desk.Close()
	})
	return &testDesk{Desk: desk, url: hs.URL, log: logs}
}
