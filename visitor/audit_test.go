package visitor_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/visitor"
)

func TestAuditQueriesAndExport(t *testing.T) {
	f := newFixture(t)
	f.signIn("v1")
	f.provision("v1", visitor.ProvisionRequest{BadgeID: "1002"})
	f.clock.Advance(time.Hour)
	mid := f.now()
	f.signIn("v2")
	f.provision("v2", visitor.ProvisionRequest{BadgeID: "1003"})
	if _, err := f.e.SignOut(f.ctx, desk, "v1", visitor.ViaDesk); err != nil {
		t.Fatal(err)
	}
	f.signIn("v3")
	f.provision("v3", visitor.ProvisionRequest{BadgeID: "1002"}) // 1002 again, for another visit

	byBadge, _ := f.e.Audit(f.ctx, visitor.AuditQuery{BadgeID: "1002", Location: "hq"})
	visits := map[string]bool{}
	for _, r := range byBadge {
		if r.BadgeID != "1002" {
			t.Fatalf("badge query returned %+v", r)
		}
		visits[r.VisitID] = true
	}
	if !visits["v1"] || !visits["v3"] || visits["v2"] {
		t.Errorf("badge 1002's trail covers visits %v, want v1 and v3", visits)
	}
	before, _ := f.e.Audit(f.ctx, visitor.AuditQuery{Until: mid})
	after, _ := f.e.Audit(f.ctx, visitor.AuditQuery{Since: mid})
	all, _ := f.e.Audit(f.ctx, visitor.AuditQuery{})
	if len(before) == 0 || len(after) == 0 || len(before)+len(after) != len(all) {
		t.Errorf("time ranges split %d records into %d and %d", len(all), len(before), len(after))
	}
	for _, r := range before {
		if !r.Time.Before(mid) {
			t.Errorf("record at %s in the range before %s", r.Time, mid)
		}
	}

	// JSON lines: one record per line, decoding to the same records.
	var buf bytes.Buffer
	if err := f.e.ExportAudit(f.ctx, &buf, visitor.AuditQuery{}, visitor.JSONLines); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	var decoded []visitor.AuditRecord
	for sc.Scan() {
		var r visitor.AuditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		decoded = append(decoded, r)
	}
	if !reflect.DeepEqual(decoded, all) {
		t.Errorf("JSON lines export differs from the records (%d vs %d)", len(decoded), len(all))
	}

	// CSV: a header and one row per record.
	buf.Reset()
	if err := f.e.ExportAudit(f.ctx, &buf, visitor.AuditQuery{VisitID: "v1"}, visitor.CSV); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	v1, _ := f.e.Audit(f.ctx, visitor.AuditQuery{VisitID: "v1"})
	if len(rows) != len(v1)+1 || !reflect.DeepEqual(rows[0], visitor.CSVHeader()) {
		t.Fatalf("CSV has %d rows, header %v", len(rows), rows[0])
	}
	if err := f.e.ExportAudit(f.ctx, &buf, visitor.AuditQuery{}, "xml"); err == nil {
		t.Error("unknown export format accepted")
	}
}

func TestAuditExportPagesAndDefusesFormulas(t *testing.T) {
	f := newFixture(t)
	var recs []visitor.AuditRecord
	for i := range 2500 {
		recs = append(recs, visitor.AuditRecord{Time: f.now().Add(time.Duration(i) * time.Second), VisitID: "bulk", Action: visitor.ActSignIn, Outcome: visitor.OutcomeOK})
	}
	recs[0].Subject = "=HYPERLINK(\"http://evil\")"
	if err := f.store.AppendAudit(f.ctx, recs...); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.e.ExportAudit(f.ctx, &buf, visitor.AuditQuery{VisitID: "bulk"}, visitor.CSV); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2501 {
		t.Fatalf("exported %d rows, want 2500 and a header", len(rows)-1)
	}
	if got := rows[1][14]; !strings.HasPrefix(got, "'=") {
		t.Errorf("formula not defused: %q", got)
	}
	buf.Reset()
	if err := f.e.ExportAudit(f.ctx, &buf, visitor.AuditQuery{VisitID: "bulk", Limit: 1200}, visitor.JSONLines); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 1200 {
		t.Errorf("export with Limit 1200 wrote %d lines", n)
	}
}

func TestRetentionScrubsPersonalData(t *testing.T) {
	f := newFixture(t, visitor.WithRetention(30*24*time.Hour))
	f.signIn("old")
	f.provision("old", visitor.ProvisionRequest{BadgeID: "1004"})
	if _, err := f.e.Remove(f.ctx, security, "old", "shouted at the guard"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(20 * 24 * time.Hour)
	f.signIn("recent")
	f.clock.Advance(11 * 24 * time.Hour)
	res, err := f.e.Sweep(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.drain()
	if res.Scrubbed.Visits != 1 || res.Scrubbed.Records == 0 {
		t.Fatalf("scrubbed %+v", res.Scrubbed)
	}
	v := f.visit("old")
	if !v.Scrubbed || v.Visitor != (visitor.Visitor{}) || v.EndReason != "" || v.Current().BadgeID != "1004" || v.State != visitor.Removed {
		t.Errorf("scrubbed visit %+v", v)
	}
	recs, _ := f.e.Audit(f.ctx, visitor.AuditQuery{VisitID: "old"})
	for _, r := range recs {
		if !r.Scrubbed || r.Subject != "" || r.Reason != "" {
			t.Errorf("record not scrubbed: %+v", r)
		}
	}
	// The anonymised trail still answers who had badge 1004, and what happened.
	if byBadge, _ := f.e.Audit(f.ctx, visitor.AuditQuery{BadgeID: "1004"}); len(byBadge) == 0 || byBadge[0].VisitID != "old" {
		t.Errorf("badge trail lost: %+v", byBadge)
	}
	if v := f.visit("recent"); v.Scrubbed || v.Visitor.FirstName != "Ada" {
		t.Error("a recent visit was scrubbed")
	}
	// Active visits keep their data whatever their age.
	if r, _ := f.e.Audit(f.ctx, visitor.AuditQuery{VisitID: "recent"}); len(r) == 0 || r[0].Subject == "" {
		t.Error("recent records were scrubbed")
	}
}

func TestMoreTransitions(t *testing.T) {
	f := newFixture(t)
	// A guest arriving in an hour is already Expected (two hours' advance
	// access) and signs in from there.
	v, err := f.e.Invite(f.ctx, desk, visitor.InviteRequest{VisitID: "g", Location: "hq", Visitor: ada, ExpectedAt: f.now().Add(time.Hour)})
	if err != nil || v.State != visitor.Expected {
		t.Fatalf("guest invitation: %v, %s", err, v.State)
	}
	if v, err = f.e.SignIn(f.ctx, desk, visitor.SignInRequest{VisitID: "g"}); err != nil || v.State != visitor.SignedIn {
		t.Fatalf("expected guest signing in: %v, %s", err, v.State)
	}
	// An invited visit is removed without touching the ACS.
	if _, err := f.e.Invite(f.ctx, desk, visitor.InviteRequest{VisitID: "i", Location: "hq", Type: "contractor", Visitor: ada, ExpectedAt: f.now().Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	calls := f.acs.Calls()
	if v, err = f.e.Remove(f.ctx, security, "i", "withdrawn"); err != nil || v.State != visitor.Removed {
		t.Fatalf("removing an invitation: %v, %s", err, v.State)
	}
	if got := f.acs.Calls(); got["remove_cardholder"] != calls["remove_cardholder"] {
		t.Error("removing a visit without credentials called the ACS")
	}
	// An expected visit with a credential issued in advance is removed with
	// its credential.
	if _, err := f.e.Invite(f.ctx, desk, visitor.InviteRequest{VisitID: "e", Location: "hq", Visitor: ada, ExpectedAt: f.now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	f.provision("e", visitor.ProvisionRequest{BadgeID: "1005"})
	if !f.opens(f.visit("e"), "lobby") {
		t.Fatal("advance credential inactive within the window")
	}
	if v, err = f.e.Remove(f.ctx, security, "e", "host cancelled"); err != nil || v.State != visitor.Removed || v.Current().Status != visitor.CredRevoked {
		t.Fatalf("removing an expected visit: %v, %+v", err, v)
	}
	if f.opens(v, "lobby") || f.badgeState("1005").State.String() != "available" {
		t.Error("credential live or badge held after removal")
	}
	// Invited straight to Expired, no credential.
	if _, err := f.e.Invite(f.ctx, desk, visitor.InviteRequest{VisitID: "x", Location: "hq", Type: "contractor", Visitor: ada, ExpectedAt: f.now().Add(time.Hour), Until: f.now().Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(3 * time.Hour)
	if _, err := f.e.Sweep(f.ctx); err != nil {
		t.Fatal(err)
	}
	if v := f.visit("x"); v.State != visitor.Expired {
		t.Fatalf("invitation after its window: %s", v.State)
	}
	f.wantActions("x", "invite:ok", "expire:ok")
}
