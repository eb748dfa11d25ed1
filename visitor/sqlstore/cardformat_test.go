package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor/sqlstore/sqlite"
	"github.com/acsbridge/acsbridge/wiegand"
)

// oldVisitDoc and oldItemDoc are a visit and an outbox item exactly as
// the builds before acs.CardFormat became wiegand.Format stored them (the
// format was a string then): card formats by name, "H10301" and
// "C1000-35".
const (
	oldVisitDoc = `{"id":"old-1","location":"hq","type":"","visitor":{"first_name":"","last_name":""},"state":"signed_in","created_at":"2026-11-22T09:00:00Z","signed_in_at":"2026-11-22T09:00:00Z","credentials":[{"source":"pool","badge_id":"1001","card":{"format":"H10301","facility":12,"number":1001},"access_levels":["lobby"],"valid_from":"2026-11-22T09:00:00Z","valid_until":"2026-11-22T17:00:00Z","status":"active","ref":{"id":"cred-1","cardholder_id":"ch-1","cardholder_external_id":"old-1","card":{"format":"H10301","facility":12,"number":1001}},"issued_by":"","issued_at":"0001-01-01T00:00:00Z"},{"source":"range","card":{"format":"C1000-35","facility":7,"number":5},"access_levels":["lobby"],"valid_from":"2026-11-22T09:00:00Z","valid_until":"2026-11-22T17:00:00Z","status":"pending","ref":{"cardholder_external_id":"old-1","card":{"format":"C1000-35","facility":7,"number":5}},"issued_by":"","issued_at":"0001-01-01T00:00:00Z"}],"doors":{"last":{"location":"hq","door_id":"d1","time":"2026-11-22T09:01:00Z","granted":true,"direction":"unknown","card":{"format":"H10301","facility":12,"number":1001}}},"version":0}`
	oldItemDoc  = `{"id":"ob-1","seq":0,"visit_id":"old-1","location":"hq","op":"provision","credential":1,"grant":{"person":{"external_id":"old-1","first_name":"Ada","last_name":""},"card":{"format":"C1000-35","facility":7,"number":5},"access_levels":["lobby"],"valid_from":"2026-11-22T09:00:00Z","valid_until":"2026-11-22T17:00:00Z"},"created_at":"2026-11-22T09:00:00Z","attempts":0,"next_attempt":"0001-01-01T00:00:00Z"}`
)

// A database written before the card format became one type loads
// unchanged: the card_format columns and the JSON documents hold format
// names, read back as the same formats; and this build writes the same
// names and the same documents.
func TestSQLiteStoredCardFormats(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	// The rows an earlier build wrote.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO badges (location, id, name, type, card_format, card_facility, card_number, state, visit_id, since)
			VALUES ('hq', '1001', 'Visitor 1001', '', 'H10301', 12, 1001, 'available', NULL, 0)`,
		`INSERT INTO badges (location, id, name, type, card_format, card_facility, card_number, state, visit_id, since)
			VALUES ('hq', '1002', 'Visitor 1002', '', 'C1000-35', 7, 1002, 'available', NULL, 0)`,
		`INSERT INTO badges (location, id, name, type, card_format, card_facility, card_number, state, visit_id, since)
			VALUES ('hq', '1003', 'Visitor 1003', '', '', 0, 0, 'available', NULL, 0)`,
		`INSERT INTO card_ranges (location, card_format, card_facility, min_number, max_number, free_seq)
			VALUES ('hq', 'C1000-35', 7, 1, 10, 1)`,
		`INSERT INTO card_free (location, seq, lo, hi) VALUES ('hq', 0, 6, 10)`,
		`INSERT INTO card_allocs (location, number, visit_id, at) VALUES ('hq', 5, 'old-1', 0)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := db.Exec(`INSERT INTO visits (id, location, state, due_at, ended_at, scrubbed, version, lease_owner, lease_until, doc)
		VALUES ('old-1', 'hq', 'signed_in', NULL, NULL, 0, 1, '', 0, ?)`, oldVisitDoc); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO outbox (id, visit_id, attempts, next_attempt, lease_owner, lease_until, last_error, doc)
		VALUES ('ob-1', 'old-1', 0, 0, '', 0, '', ?)`, oldItemDoc); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h10301 := acs.Card{Format: acs.H10301, Facility: 12, Number: 1001}
	c1000 := acs.Card{Format: acs.Corp1000_35, Facility: 7, Number: 5}

	bs, err := s.Badges().List(ctx, hq, badge.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]badge.Card{
		"1001": h10301,
		"1002": {Format: wiegand.Corp1000_35, Facility: 7, Number: 1002},
		"1003": {},
	}
	if len(bs) != len(want) {
		t.Fatalf("%d badges, want %d", len(bs), len(want))
	}
	for _, b := range bs {
		if b.Card != want[b.ID] {
			t.Errorf("badge %s has card %v, want %v", b.ID, b.Card, want[b.ID])
		}
	}
	r, err := s.Cards().Range(ctx, hq)
	if err != nil || r.Format != wiegand.Corp1000_35 || r.Facility != 7 {
		t.Fatalf("Range = %+v, %v", r, err)
	}
	allocs, err := s.Cards().Allocations(ctx, hq)
	if err != nil || len(allocs) != 1 || allocs[0].Card != c1000 {
		t.Fatalf("Allocations = %+v, %v", allocs, err)
	}
	a, err := s.Cards().Allocate(ctx, hq, "new-1", time.Unix(60, 0))
	if err != nil || a.Card != (badge.Card{Format: wiegand.Corp1000_35, Facility: 7, Number: 6}) {
		t.Fatalf("Allocate = %+v, %v", a, err)
	}

	v, err := s.Visit(ctx, "old-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Credentials) != 2 || v.Credentials[0].Card != h10301 || v.Credentials[0].Ref.Card != h10301 ||
		v.Credentials[1].Card != c1000 || v.Credentials[1].Ref.Card != c1000 || v.Doors.Last.Card != h10301 {
		t.Fatalf("visit read back as %+v", v)
	}
	v.Version = 0
	if b, err := json.Marshal(v); err != nil || string(b) != oldVisitDoc {
		t.Errorf("visit written back as\n%s, %v\nwant\n%s", b, err, oldVisitDoc)
	}
	items, err := s.Outbox(ctx, "old-1", 0)
	if err != nil || len(items) != 1 || items[0].Grant == nil || items[0].Grant.Card != c1000 {
		t.Fatalf("Outbox = %+v, %v", items, err)
	}
	if err := acs.ValidateGrant(*items[0].Grant, acs.Rules{}); err != nil {
		t.Errorf("stored grant no longer valid: %v", err)
	}

	// What this build writes is what the earlier build wrote.
	if err := s.Badges().Add(ctx, badge.Badge{Location: "annex", ID: "2001", Name: "Visitor 2001",
		Card: badge.Card{Format: wiegand.Corp1000_48, Facility: 3, Number: 2001}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Cards().SetRange(ctx, badge.Range{Location: "annex", Format: wiegand.H10304, Facility: 9, Min: 1, Max: 5}); err != nil {
		t.Fatal(err)
	}
	db, err = sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for q, want := range map[string]string{
		`SELECT card_format FROM badges WHERE location = 'annex' AND id = '2001'`: "C1000-48",
		`SELECT card_format FROM badges WHERE location = 'hq' AND id = '1003'`:    "",
		`SELECT card_format FROM card_ranges WHERE location = 'annex'`:            "H10304",
	} {
		var got string
		if err := db.QueryRow(q).Scan(&got); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", q, got, err, want)
		}
	}
}
