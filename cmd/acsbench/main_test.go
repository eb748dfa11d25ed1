package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/acsbridge/acsbridge/harness/bench"
)

func TestMain(m *testing.M) {
	bench.MaybeServeChild() // the refresh scenario's simulator process
	os.Exit(m.Run())
}

func runScenario(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append(args, "-progress", "0"), &out, &errOut); err != nil {
		t.Fatalf("%v: %v\n%s%s", args, err, out.String(), errOut.String())
	}
	s := out.String()
	if !strings.Contains(s, "# machine: nproc=") || !strings.Contains(s, "# load average at the end: ") {
		t.Errorf("%v: no machine lines:\n%s", args, s)
	}
	return s
}

func wantLines(t *testing.T, s string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(s) {
			t.Errorf("output lacks %q:\n%s", p, s)
		}
	}
}

// The engine's sign-in with provisioning costs what a provision of a new
// visitor costs, and its sign-out what a revocation by ID costs. Counts
// are checked by provider name, so that a provider added to the registry
// does not change what is checked for the others.
func TestRoundTrips(t *testing.T) {
	s := runScenario(t, "-scenario", "roundtrips", "-levels", "250")
	// The two tables: counts, then the protocol minimum; row -> provider -> cell.
	var tables []map[string]map[string]string
	var cols []string
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if cells[0] == "operation" {
			cols = cells[1:]
			tables = append(tables, map[string]map[string]string{})
			continue
		}
		if len(tables) == 0 || len(cells) != 1+len(cols) {
			continue
		}
		row := map[string]string{}
		for i, c := range cols {
			row[c] = cells[1+i]
		}
		tables[len(tables)-1][cells[0]] = row
	}
	if len(tables) != 3 {
		t.Fatalf("want 3 tables (counts, protocol minimum, Origo in front of Genetec), got %d:\n%s", len(tables), s)
	}
	counts, minimum, origo := tables[0], tables[1], tables[2]
	// Origo's own requests, with the phone accepting at once: a new
	// visitor is a search, a creation and an invitation (the registry's
	// minimum, printed beside it); a repeat one read.
	for row, want := range map[string][2]string{"provision, new visitor": {"3", "3"}, "provision, repeated": {"1", "1"}} {
		if got := origo[row]; got["origo"] != want[0] || got["minimum"] != want[1] {
			t.Errorf("origo %s: %v, want %v", row, got, want)
		}
	}
	for _, name := range bench.Providers {
		if counts["provision, new visitor"][name] == "" {
			t.Errorf("%s: no count", name)
		}
		same := func(a, b string) {
			t.Helper()
			if x, y := counts[a][name], counts[b][name]; x != y {
				t.Errorf("%s: %q = %s, %q = %s; want equal", name, a, x, b, y)
			}
		}
		same("engine: sign-in with provisioning", "provision, new visitor")
		same("engine: sign-out", "revoke by credential ID (sign-out)")
	}
	// 250 levels: Genetec reads one 500-entity page and 3 batches of 100
	// names; Lenel, Brivo, Alta and Verkada read 3 pages of 100.
	for name, want := range map[string]string{bench.Genetec: "4", bench.Lenel: "3", bench.Brivo: "3", bench.Alta: "3", bench.Verkada: "3"} {
		if got := counts["refresh: list 250 access levels"][name]; got != want {
			t.Errorf("%s: refresh requests %s, want %s", name, got, want)
		}
	}
	// The protocol minimum of the registry is printed beside the counts.
	for name, want := range map[string]string{bench.Genetec: "1", bench.Lenel: "1", bench.Brivo: "2", bench.Alta: "1", bench.Verkada: "1"} {
		if got := minimum["revoke by credential ID (sign-out)"][name]; got != want {
			t.Errorf("%s: protocol minimum of a revocation by ID %s, want %s (the registry's)", name, got, want)
		}
	}
}

func TestBurst(t *testing.T) {
	s := runScenario(t, "-scenario", "burst", "-provider", "all", "-n", "6", "-rate", "400", "-concurrency", "3")
	wantLines(t, s, `## Burst: genetec`, `## Burst: lenel`, `## Burst: brivo`,
		`provisions ok +6 \(failed 0\)`, `over-limit answers +\d+`, `elapsed ÷ ideal +\d+\.\d+`)
}

func TestLatency(t *testing.T) {
	s := runScenario(t, "-scenario", "latency", "-provider", "brivo", "-n", "8", "-latency", "1ms")
	// A Brivo sign-in is the provision of a new visitor, 6 requests: the
	// user looked up by external ID (404), the credential and the user
	// created, the users of the same names listed (the check for twins a
	// concurrent provision may have created), the credential assigned with
	// its window, the user put in the group. 8 sign-ins: 48.
	wantLines(t, s, `requests +48 \(6\.00 per sign-in\)`, `p50 +\d+\.\d ms`, `p99 +\d+\.\d ms`, `not active / failed +0 / 0`)
}

func TestRefresh(t *testing.T) {
	s := runScenario(t, "-scenario", "refresh", "-provider", "lenel", "-levels", "230", "-latency", "0s")
	wantLines(t, s, `round 1: 230 levels in .*, 3 requests`, `round 2: 230 levels`, `heap: peak \d+\.\d MiB`,
		`(?m)^refresh lenel +levels 230 requests 3 concurrency 8 floor 0\.000s ratio n/a time \d+\.\d{3}s$`)
}

func TestSweep(t *testing.T) {
	s := runScenario(t, "-scenario", "sweep", "-provider", "genetec", "-n", "9", "-rate", "400", "-workers", "3", "-batch", "5")
	// A Genetec revocation by ID is 3 requests: the entity read (is it
	// still this cardholder's credential?), the DELETE, and the card's
	// name searched again (a twin cardholder may hold the card too). 9
	// visits: 27. Cards 1 to 9, because the search matches names that
	// contain the card's: with 12 visits, card 1's search finds cards 10
	// to 12 if the workers have not revoked them yet, and 2 more requests
	// (the cardholder search and a read) depend on the workers' order.
	wantLines(t, s, `visits examined +9; signed out and revoked 9; other 0`, `requests +27 `, `over-limit answers +\d+`)
}

func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	for _, args := range [][]string{{"-scenario", "nope"}, {"-scenario", "burst", "-provider", "acme"}, {"extra"},
		{"-scenario", "cpu", "-provider", "verkada"}} { // no floor client
		if err := run(context.Background(), args, &out, &errOut); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
