package chaos_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/harness/chaos"
	"github.com/acsbridge/acsbridge/netbox"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/wiegand"
)

// Fuzz targets for the inputs that had none in their own packages, all
// black-box through public APIs: badge CSV import, scanner input, grant
// validation against the card codec, decimal card forms, visitor input
// through the Engine (alone and through the adapters into their
// simulators), and hostile answers from each ACS. Every error must be
// clear: valid UTF-8, no control characters (a log line cannot be forged
// through it), bounded in length however large the input.

// maxErrLen bounds an error message. Some errors quote the offending
// input whole (TestErrorsBounded lists them), so the fuzz targets allow a
// quoted copy of the input on top: what they refuse is amplification.
const maxErrLen = 2048

// checkErr fails the test when an error message is not clear: empty,
// longer than maxErrLen plus a quoted copy of the input (inputLen bytes),
// invalid UTF-8 or holding control characters.
func checkErr(t *testing.T, what string, err error, inputLen int) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	if msg == "" {
		t.Fatalf("%s: empty error message", what)
	}
	if len(msg) > maxErrLen+4*inputLen {
		t.Fatalf("%s: error message of %d bytes for %d bytes of input: %.300q…", what, len(msg), inputLen, msg)
	}
	if !utf8.ValidString(msg) {
		t.Fatalf("%s: error message is not valid UTF-8: %q", what, msg)
	}
	for _, r := range msg {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			t.Fatalf("%s: error message holds control character %U: %q", what, r, msg)
		}
	}
}

// FuzzImportCSV feeds arbitrary text to badge.Pool.ImportCSV: no panic,
// clear errors, every imported badge valid and present exactly once, and a
// second import of the same text adds nothing.
func FuzzImportCSV(f *testing.F) {
	for _, s := range []string{
		"name,id,type\nVisitor 1,1001,\n",
		"id,name,format,facility,number\n1001,V1,H10301,12,1001\n1002,V2,H10301,12,1002\n",
		"\uFEFFname,id,type\r\nA,1,x\r\n\r\nB,2,y\r\n",
		"Visitor 1,1001,,H10301,12,1001\nVisitor 2,1001,\n",
		`"Smith, J",42,"t"` + "\n",
		"id\n٣\n１\n-1\n 7 \n007\n7\n",
		"name,id\nA\x00B,5\nC,6\x1b[31m\n",
		"name,id,unknown\nA,1,x\n",
		"a,\"unterminated\n",
		strings.Repeat("x,", 5000) + "\n",
		"id,format,facility,number\n1,H10301,256,1\n2,H10302,1,5\n3,C1000-48,4194303,8388607\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		pool, err := badge.NewPool(badge.NewMemoryStore(), "site")
		if err != nil {
			t.Fatal(err)
		}
		rep, err := pool.ImportCSV(ctx, bytes.NewReader(data))
		checkErr(t, "import", err, len(data))
		for _, le := range rep.Errors {
			checkErr(t, "line error", le, len(data))
			if le.Line < 1 {
				t.Fatalf("line error without a line number: %v", le)
			}
		}
		list, lerr := pool.List(ctx, badge.Filter{})
		if lerr != nil {
			t.Fatal(lerr)
		}
		if len(list) != len(rep.Added) {
			t.Fatalf("%d badges in the pool, %d reported added", len(list), len(rep.Added))
		}
		seen := map[string]bool{}
		for _, b := range list {
			if seen[b.ID] {
				t.Fatalf("badge %q imported twice", b.ID)
			}
			seen[b.ID] = true
			if verr := badge.ValidateID(b.ID); verr != nil {
				t.Fatalf("imported badge with invalid ID %q: %v", b.ID, verr)
			}
			if verr := badge.ValidateCard(b.Card); verr != nil {
				t.Fatalf("imported badge %s with invalid card %v: %v", b.ID, b.Card, verr)
			}
			for _, s := range []string{b.Name, b.CredentialType} {
				if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
					t.Fatalf("imported badge %s with a control character or invalid UTF-8 in %q", b.ID, s)
				}
			}
			if b.State != badge.Available {
				t.Fatalf("imported badge %s is %s", b.ID, b.State)
			}
		}
		if err != nil {
			return
		}
		again, err := pool.ImportCSV(ctx, bytes.NewReader(data))
		if err != nil {
			t.Fatalf("second import of the same text: %v", err)
		}
		if len(again.Added) != 0 {
			t.Fatalf("second import added %v", again.Added)
		}
	})
}

// FuzzParseScan: whatever a scanner types, ParseScan returns a valid badge
// ID (digits only) or a clear error, and is idempotent.
func FuzzParseScan(f *testing.F) {
	for _, s := range []string{"1042\r\n", "1042", "\r\n", "0042\n", " 1042", "10\x0042", "١٠٤٢", "１０４２", "12345678901234567890", "123456789012345678901", "1042\r\r\n\n", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		id, err := badge.ParseScan(raw)
		checkErr(t, "parse scan", err, len(raw))
		if err != nil {
			if !errors.Is(err, badge.ErrInvalidID) && !errors.Is(err, badge.ErrInvalid) {
				t.Fatalf("error does not match ErrInvalidID: %v", err)
			}
			return
		}
		if verr := badge.ValidateID(id); verr != nil {
			t.Fatalf("ParseScan(%q) = %q, which ValidateID refuses: %v", raw, id, verr)
		}
		for i := 0; i < len(id); i++ {
			if id[i] < '0' || id[i] > '9' {
				t.Fatalf("ParseScan(%q) = %q holds a non-digit", raw, id)
			}
		}
		if again, err := badge.ParseScan(id); err != nil || again != id {
			t.Fatalf("ParseScan is not idempotent: %q → %q → %q, %v", raw, id, again, err)
		}
	})
}

// FuzzValidateGrant builds grants from arbitrary fields, the card format
// read from its name as JSON does. Reading the name and ValidateGrant never
// panic and give clear errors; a grant it accepts has text safe for every
// vendor (valid UTF-8, no control characters, bounded), an external ID of
// the documented alphabet, and card data the wiegand codec encodes and
// decodes back unchanged.
func FuzzValidateGrant(f *testing.F) {
	f.Add("visit-1", "Ada", "Lovelace", "ada@example.com", "ACME", "lobby", "floor-3", "H10301", uint64(12), uint64(1042), int64(0), int64(3600))
	f.Add("v.1_2-3", "", "Ó Súilleabháin", "", "", "a", "a", "C1000-48", uint64(4194303), uint64(8388607), int64(-5), int64(1))
	f.Add("x", " ", "\u2028", "\x00", "c", "", "b", "H10302", uint64(1), uint64(34359738367), int64(0), int64(31*24*3600+1))
	f.Add("../etc", "A\"B", "O'Neil]", "e@x;y", "a,b", "lobby'; DROP", "*", "h10301", uint64(256), uint64(65536), int64(1), int64(0))
	f.Add(strings.Repeat("a", 65), strings.Repeat("é", 101), "L", "", "", "1", "2", "H10304", uint64(65535), uint64(524288), int64(0), int64(60))
	f.Fuzz(func(t *testing.T, ext, first, last, email, company, l1, l2, format string, facility, number uint64, fromOff, dur int64) {
		var cf acs.CardFormat
		if ferr := cf.UnmarshalText([]byte(format)); ferr != nil {
			checkErr(t, "card format", ferr, len(format))
			if !errors.Is(ferr, wiegand.ErrFormat) {
				t.Fatalf("refused card format %q with an error not matching wiegand.ErrFormat: %v", format, ferr)
			}
			return
		}
		if name, _ := cf.MarshalText(); !strings.EqualFold(string(name), format) {
			t.Fatalf("card format %q reads as %v and writes as %q", format, cf, name)
		}
		from := t0.Add(time.Duration(fromOff%1e6) * time.Second)
		g := acs.Grant{
			Person:       acs.Person{ExternalID: ext, FirstName: first, LastName: last, Email: email, Company: company},
			Card:         acs.Card{Format: cf, Facility: facility, Number: number},
			AccessLevels: []string{l1, l2},
			ValidFrom:    from, ValidUntil: from.Add(time.Duration(dur%(1<<40)) * time.Second),
		}
		if l2 == "" {
			g.AccessLevels = g.AccessLevels[:1]
		}
		err := acs.ValidateGrant(g, acs.Rules{})
		checkErr(t, "validate grant", err, len(ext+first+last+email+company+l1+l2+format))
		if err != nil {
			if !errors.Is(err, acs.ErrInvalidArgument) {
				t.Fatalf("refusal is not InvalidArgument: %v", err)
			}
			return
		}
		if verr := acs.ValidateExternalID(ext); verr != nil {
			t.Fatalf("accepted external ID %q: %v", ext, verr)
		}
		for _, s := range []string{first, last, email, company, l1, l2} {
			if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) || utf8.RuneCountInString(s) > acs.MaxEmailLen {
				t.Fatalf("accepted unsafe text %q", s)
			}
		}
		if strings.TrimSpace(first) == "" && strings.TrimSpace(last) == "" {
			t.Fatal("accepted a person without a name")
		}
		fr, eerr := g.Card.Frame()
		if eerr != nil {
			t.Fatalf("ValidateGrant accepts card %s, which the wiegand codec cannot encode: %v", g.Card, eerr)
		}
		back, derr := g.Card.Format.Decode(fr)
		if derr != nil || back != g.Card {
			t.Fatalf("card %s encodes to %v and decodes back to %v, %v", g.Card, fr, back, derr)
		}
		if !g.ValidUntil.After(g.ValidFrom) || g.ValidUntil.Sub(g.ValidFrom) > acs.DefaultMaxValidity {
			t.Fatalf("accepted window %s–%s", g.ValidFrom, g.ValidUntil)
		}
	})
}

// FuzzDecimalCardForms: the decimal forms in which readers and ACSs print
// card data (facility and number concatenated, the combined 24-bit value)
// parse to values that print back to the same text, or give clear errors.
func FuzzDecimalCardForms(f *testing.F) {
	f.Add("4201001", 5, uint64(16777215))
	f.Add("0000000", 5, uint64(0))
	f.Add("25565535", 5, uint64(1<<24))
	f.Add("-1", 0, uint64(1))
	f.Add("１２３", 3, uint64(42))
	f.Add(strings.Repeat("9", 40), 20, ^uint64(0))
	f.Fuzz(func(t *testing.T, s string, pad int, combined uint64) {
		fac, num, err := wiegand.ParseConcatenated(s, pad)
		checkErr(t, "parse concatenated", err, len(s))
		if err == nil {
			back, err := wiegand.Concatenated(fac, num, pad)
			if err != nil {
				t.Fatalf("ParseConcatenated(%q, %d) = %d, %d, which Concatenated refuses: %v", s, pad, fac, num, err)
			}
			f2, n2, err := wiegand.ParseConcatenated(back, pad)
			if err != nil || f2 != fac || n2 != num {
				t.Fatalf("round trip %q → (%d, %d) → %q → (%d, %d), %v", s, fac, num, back, f2, n2, err)
			}
		}
		fac, num, err = wiegand.SplitCombined24(combined)
		checkErr(t, "split combined", err, 0)
		if err == nil {
			back, err := wiegand.Combined24(fac, num)
			if err != nil || back != combined {
				t.Fatalf("SplitCombined24(%d) = %d, %d; Combined24 gives %d, %v", combined, fac, num, back, err)
			}
		}
	})
}

// visitorInputs are the fields of a visit a VMS passes on from a form, a
// kiosk or an import.
type visitorInputs struct {
	visitID, first, last, email, company, host, typ, scan, level string
}

// FuzzVisitorSignIn signs arbitrary visitors in through the Engine with a
// provision, over an in-memory ACS. Refusals are clear, classified and
// change nothing; an accepted visit stores its visitor exactly as given,
// and the grant that reached the ACS passes acs.ValidateGrant.
func FuzzVisitorSignIn(f *testing.F) {
	f.Add("visit-1", "Ada", "Lovelace", "ada@example.com", "ACME", "host-1", "", "1001\r\n", "")
	f.Add("", "Zoë", "O'Brien", "", "Smith & Sons", "", "guest", "", "lobby")
	f.Add("v 1", "A\x00", "B", "", "", "", "", "", "")
	f.Add("v/../x", "Robert'); DROP TABLE visits;--", "]", "a@b\r\nBcc: x", "\u202e", "\x1b[2J", "GUEST", "１００１", "floor-3")
	f.Add(strings.Repeat("v", 65), strings.Repeat("é", 101), "x", strings.Repeat("e", 255), "", strings.Repeat("h", 201), "", "99999999999999999999999", "")
	f.Add("ok", "\xff\xfe", "", "", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, visitID, first, last, email, company, host, typ, scan, level string) {
		in := visitorInputs{visitID, first, last, email, company, host, typ, scan, level}
		inputLen := len(visitID + first + last + email + company + host + typ + scan + level)
		ctx := context.Background()
		mem := acstest.NewMemory([]acs.AccessLevel{{ID: "lobby", Name: "Lobby"}, {ID: "floor-3", Name: "Floor 3"}})
		e, err := visitor.New(visitor.NewMemoryStore(), []visitor.Location{{ID: "hq", Provider: mem, Policy: visitor.Policy{
			Types:          map[string]visitor.VisitorType{"guest": {AccessLevels: []string{"lobby"}}},
			DefaultType:    "guest",
			OperatorGroups: map[string][]string{"reception": {"lobby", "floor-3"}},
		}}}, visitor.WithClock(visitor.NewManualClock(t0)), visitor.WithIDs(func() string { return "generated-id" }))
		if err != nil {
			t.Fatal(err)
		}
		pool, _ := e.Pool("hq")
		if _, err := pool.Add(ctx, badge.Badge{ID: "1001", Name: "V1", Card: badge.Card{Format: wiegand.H10301, Facility: 1, Number: 1001}}); err != nil {
			t.Fatal(err)
		}
		var levels []string
		if in.level != "" {
			levels = []string{in.level}
		}
		op := visitor.Operator{ID: "desk", Groups: []string{"reception"}}
		v, err := e.SignIn(ctx, op, visitor.SignInRequest{VisitID: in.visitID, Location: "hq", Type: in.typ, Host: in.host,
			Visitor:   visitor.Visitor{FirstName: in.first, LastName: in.last, Email: in.email, Company: in.company},
			Provision: &visitor.ProvisionRequest{BadgeID: in.scan, AccessLevels: levels}})
		checkErr(t, "sign in", err, inputLen)
		if err != nil {
			switch acs.CodeOf(err) {
			case acs.InvalidArgument, acs.PermissionDenied, acs.Conflict, acs.NotFound:
			default:
				t.Fatalf("sign-in refused with code %s: %v", acs.CodeOf(err), err)
			}
		}
		visits, _ := e.Visits(ctx, visitor.VisitFilter{})
		if v.ID == "" {
			if len(visits) != 0 {
				t.Fatalf("a refused sign-in left %d visits", len(visits))
			}
			if c := mem.Census(); c.Cardholders+c.Credentials != 0 {
				t.Fatalf("a refused sign-in reached the ACS: %+v", c)
			}
			return
		}
		want := visitor.Visitor{FirstName: in.first, LastName: in.last, Email: in.email, Company: in.company}
		if v.Visitor != want || v.Host != in.host {
			t.Fatalf("stored visitor %+v host %q, given %+v host %q", v.Visitor, v.Host, want, in.host)
		}
		if aerr := acs.ValidateExternalID(v.ID); aerr != nil {
			t.Fatalf("visit ID %q: %v", v.ID, aerr)
		}
		if c := v.Current(); c != nil && c.Status == visitor.CredActive {
			g := acs.Grant{Person: acs.Person{ExternalID: v.ID, FirstName: in.first, LastName: in.last, Email: in.email, Company: in.company},
				Card: c.Card, AccessLevels: c.AccessLevels, ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil}
			if gerr := acs.ValidateGrant(g, acs.Rules{}); gerr != nil {
				t.Fatalf("a grant that ValidateGrant refuses reached the ACS: %v", gerr)
			}
			if !mem.Opens(c.Ref, c.AccessLevels[0], t0.Add(time.Minute)) {
				t.Fatal("active credential does not open its level")
			}
		} else if err == nil && v.Current() != nil {
			t.Fatalf("sign-in succeeded with credential %s", v.Current().Status)
		}
	})
}

// acsFuzz is one set of simulators and adapters shared by the executions
// of a fuzz target within a process.
type acsFuzz struct {
	once      sync.Once
	sims      *chaos.Sims
	providers []acs.Provider
	engine    *visitor.Engine
	clock     *visitor.ManualClock
	n         atomic.Int64
}

var engineFuzz acsFuzz

func (a *acsFuzz) init(t *testing.T) {
	a.once.Do(func() {
		a.clock = visitor.NewManualClock(t0)
		sec := chaos.DistinctSecrets()
		// Origo's phones accept at once: one sign-in provisions.
		a.sims = chaos.StartSims(chaos.SimConfig{Clock: a.clock.Now, Secrets: sec, AcceptAfter: func(string) time.Duration { return 0 }})
		var err error
		a.providers, _, err = a.sims.Connect(chaos.ProviderConfig{Clock: a.clock.Now, Secrets: sec, AttemptTimeout: 5 * time.Second})
		if err != nil {
			panic(err)
		}
		a.engine, err = visitor.New(visitor.NewMemoryStore(), chaos.Locations(a.sims.Sites, a.providers), visitor.WithClock(a.clock))
		if err != nil {
			panic(err)
		}
		if err := chaos.Stock(context.Background(), a.engine, a.sims.Sites, 1); err != nil {
			panic(err)
		}
	})
}

// FuzzVisitorNamesToACS signs visitors with arbitrary names in through the
// Engine and the real adapters into their simulators, and out again.
// Whatever the names hold (query-language operators, quotes, brackets,
// separators, non-ASCII), a visitor the Engine accepts reaches each ACS as
// exactly one cardholder with exactly the given names, and no other
// cardholder changes: nothing is injected into Genetec's q=, Lenel's
// filters, Brivo's filters and paths, Alta's searches, Verkada's queries,
// NetBox's XML commands or Origo's SCIM bodies (at the Origo site, one
// Origo user with the names and one cardholder at the door behind it).
func FuzzVisitorNamesToACS(f *testing.F) {
	f.Add("Ada", "Lovelace", "ada@example.com")
	f.Add(`A\,B=C`, `(x)@y-z*{}$<>`, "e@x")
	f.Add(`"quoted" OR 1=1`, `LASTNAME = "x" OR ID != 0`, "")
	f.Add("a;b__eq:c", "%2F..%2F", "x@y,z")
	f.Add("名前", "Ó Súilleabháin [visit-9]", "")
	f.Add("#hash", "semi;colon", "")
	f.Fuzz(func(t *testing.T, first, last, email string) {
		a := &engineFuzz
		a.init(t)
		ctx := context.Background()
		i := a.n.Add(1)
		site := a.sims.Sites[int(i)%len(a.sims.Sites)]
		id := "fz" + strconv.FormatInt(i, 10)
		who := visitor.Visitor{FirstName: first, LastName: last, Email: email}
		v, err := a.engine.SignIn(ctx, chaos.Desk, visitor.SignInRequest{VisitID: id, Location: site.Location, Visitor: who,
			Provision: &visitor.ProvisionRequest{FromRange: true}})
		checkErr(t, "sign in", err, len(first+last+email))
		if v.ID == "" {
			if acs.CodeOf(err) != acs.InvalidArgument {
				t.Fatalf("sign-in refused with code %s: %v", acs.CodeOf(err), err)
			}
			return
		}
		defer func() {
			if _, err := a.engine.SignOut(ctx, chaos.Desk, id, visitor.ViaDesk); err != nil {
				t.Fatalf("sign out: %v", err)
			}
			if p, _ := a.engine.Outbox(ctx, id); len(p) > 0 {
				t.Fatalf("sign-out left %d ACS operations pending: %s", len(p), p[0].LastError)
			}
		}()
		if err != nil {
			// Refused before any request: by the Engine's grant check
			// (no credential; see TestWhitespaceNameSignedInNotProvisioned)
			// or by the adapter (a failed credential).
			v, verr := a.engine.Visit(ctx, id)
			if verr != nil {
				t.Fatal(verr)
			}
			c := v.Current()
			var ae *acs.Error
			errors.As(err, &ae)
			switch {
			case acs.CodeOf(err) != acs.InvalidArgument:
				t.Fatalf("provision refused with code %s: %v", acs.CodeOf(err), err)
			case ae.Provider == "" && c != nil:
				t.Fatalf("the Engine refused the provision but the visit holds %+v", c)
			case ae.Provider != "" && (c == nil || c.Status != visitor.CredFailed):
				t.Fatalf("the adapter refused the provision; credential %+v", c)
			}
			return
		}
		c := v.Current()
		if c == nil || c.Status != visitor.CredActive {
			t.Fatalf("credential not active: %+v", c)
		}
		// An adapter may trim surrounding spaces; nothing else may change.
		same := func(got, given string) bool { return got == given || got == strings.TrimSpace(given) }
		switch site.Kind {
		case chaos.Genetec:
			var found []string
			for _, h := range a.sims.Genetec.Cardholders() {
				if strings.HasSuffix(h.Name, "["+id+"]") {
					found = append(found, h.Name)
					if !same(h.FirstName, first) || !same(h.LastName, last) {
						t.Fatalf("genetec stored %q %q for %q %q", h.FirstName, h.LastName, first, last)
					}
				}
			}
			if len(found) != 1 {
				t.Fatalf("genetec holds %d cardholders for %s: %q", len(found), id, found)
			}
		case chaos.Lenel:
			n := 0
			for _, p := range a.sims.Lenel.Instances("Lnl_Visitor") {
				if p["SSNO"] != id {
					continue
				}
				n++
				gotFirst, _ := p["FIRSTNAME"].(string)
				gotLast, _ := p["LASTNAME"].(string)
				if strings.TrimSpace(last) == "" {
					first, last = "", first
				}
				if !same(gotFirst, first) || !same(gotLast, last) {
					t.Fatalf("lenel stored %q %q for %q %q", gotFirst, gotLast, first, last)
				}
			}
			if n != 1 {
				t.Fatalf("lenel holds %d visitors for %s", n, id)
			}
		case chaos.Brivo:
			u, ok := a.sims.Brivo.User(id)
			if !ok {
				t.Fatalf("brivo holds no user %s", id)
			}
			if strings.TrimSpace(first) != "" && !same(u.FirstName, first) || strings.TrimSpace(last) != "" && !same(u.LastName, last) {
				t.Fatalf("brivo stored %q %q for %q %q", u.FirstName, u.LastName, first, last)
			}
		case chaos.Alta:
			n := 0
			for _, u := range a.sims.Alta.Users() {
				if u.ExternalID != id || u.Archived {
					continue
				}
				n++
				if strings.TrimSpace(first) != "" && !same(u.FirstName, first) || strings.TrimSpace(last) != "" && !same(u.LastName, last) {
					t.Fatalf("alta stored %q %q for %q %q", u.FirstName, u.LastName, first, last)
				}
			}
			if n != 1 {
				t.Fatalf("alta holds %d users for %s", n, id)
			}
		case chaos.Verkada:
			u, ok := a.sims.Verkada.User(id)
			if !ok {
				t.Fatalf("verkada holds no user %s", id)
			}
			if strings.TrimSpace(first) != "" && !same(u.FirstName, first) || strings.TrimSpace(last) != "" && !same(u.LastName, last) {
				t.Fatalf("verkada stored %q %q for %q %q", u.FirstName, u.LastName, first, last)
			}
		case chaos.Netbox:
			p, ok := a.sims.Netbox.Person(netbox.DefaultPersonIDPrefix + id)
			if !ok || p.Deleted {
				t.Fatalf("netbox holds no person %s", id)
			}
			if strings.TrimSpace(last) == "" {
				first, last = "", first
			}
			if !same(p.FirstName, first) || !same(p.LastName, last) {
				t.Fatalf("netbox stored %q %q for %q %q", p.FirstName, p.LastName, first, last)
			}
		case chaos.Origo:
			checkOrigoNames(t, a.sims, id, first, last, same)
		default:
			t.Fatalf("no name check for %s", site.Kind)
		}
	})
}

// checkOrigoNames checks that the Origo site holds one Origo user of
// visit id, with the given names, and one cardholder at its door.
func checkOrigoNames(t *testing.T, sims *chaos.Sims, id, first, last string, same func(got, given string) bool) {
	t.Helper()
	n := 0
	for _, u := range sims.Origo.Users() {
		if u.ExternalID != id {
			continue
		}
		n++
		if !same(u.GivenName, first) || !same(u.FamilyName, last) {
			t.Fatalf("origo stored %q %q for %q %q", u.GivenName, u.FamilyName, first, last)
		}
	}
	if n != 1 {
		t.Fatalf("origo holds %d users for %s", n, id)
	}
	found := 0
	for _, h := range sims.OrigoDoor.Cardholders() {
		if strings.HasSuffix(h.Name, "["+id+"]") {
			found++
		}
	}
	if found != 1 {
		t.Fatalf("the door behind origo holds %d cardholders for %s", found, id)
	}
}

// answersFuzz serves FuzzACSAnswers: the simulators, each behind a front
// server that replaces one chosen answer with the fuzzer's bytes.
type answersState struct {
	once   sync.Once
	sims   *chaos.Sims
	clock  *visitor.ManualClock
	sec    chaos.Secrets
	fronts map[string]*httptest.Server
	n      atomic.Int64

	mu     sync.Mutex
	kind   string
	at     int
	count  int
	status int
	ctype  string
	body   []byte
}

var answersFuzz answersState

func (a *answersState) init() {
	a.once.Do(func() {
		a.clock = visitor.NewManualClock(t0)
		a.sec = chaos.DistinctSecrets()
		a.sims = chaos.StartSims(chaos.SimConfig{Clock: a.clock.Now, Secrets: a.sec})
		a.fronts = map[string]*httptest.Server{}
		for _, site := range a.sims.Sites {
			a.fronts[site.Kind] = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if status, ctype, body, ok := a.take(site.Kind); ok {
					if ctype != "" {
						w.Header().Set("Content-Type", ctype)
					}
					w.WriteHeader(status)
					_, _ = w.Write(body)
					return
				}
				site.Faults.ServeHTTP(w, r)
			}))
		}
	})
}

func (a *answersState) arm(kind string, at, status int, ctype string, body []byte) {
	if status < 200 {
		status = 200
	}
	ctype = strings.Map(func(r rune) rune {
		if r < 0x20 || r >= 0x7f {
			return -1
		}
		return r
	}, ctype)
	a.mu.Lock()
	a.kind, a.at, a.count, a.status, a.ctype, a.body = kind, at, 0, status, ctype, body
	a.mu.Unlock()
}

func (a *answersState) disarm() {
	a.mu.Lock()
	a.kind = ""
	a.mu.Unlock()
}

func (a *answersState) take(kind string) (int, string, []byte, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.kind != kind {
		return 0, "", nil, false
	}
	a.count++
	if a.count != a.at {
		return 0, "", nil, false
	}
	return a.status, a.ctype, a.body, true
}

func (a *answersState) provider(t *testing.T, kind string) acs.Provider {
	p, err := chaos.NewProvider(kind, a.fronts[kind].URL, chaos.ProviderConfig{Clock: a.clock.Now, Secrets: a.sec, AttemptTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// FuzzACSAnswers makes one answer of each ACS arbitrary (status, content
// type, body) while the adapter provisions, revokes and lists: whatever
// comes back, the adapter must not panic, must classify the failure as an
// *acs.Error naming the provider, and must keep its error clear (bounded,
// no control characters, valid UTF-8) so that a hostile server cannot
// flood or forge the VMS's logs through it.
func FuzzACSAnswers(f *testing.F) {
	f.Add(uint8(0), uint8(1), 200, "application/json", []byte(`{}`))
	f.Add(uint8(1), uint8(2), 200, "text/json", []byte(`{"Rsp":{"Status":"Ok","Result":[{"Guid":"x"}]}}`))
	f.Add(uint8(2), uint8(3), 500, "application/json", []byte(`{"error":{"code":"x\ny","message":"line1\r\nline2\x1b[31m"}}`))
	f.Add(uint8(0), uint8(4), 400, "text/html", []byte("<html><title>\xff\xfe</title>"))
	f.Add(uint8(1), uint8(1), 200, "application/json", []byte(`{"session_token":"","token_expiration_time":"not a time"}`))
	f.Add(uint8(2), uint8(1), 200, "application/json", []byte(`{"access_token":"a","expires_in":-5}`))
	f.Add(uint8(2), uint8(2), 200, "application/json", []byte(`{"data":[{"id":1e400}],"count":-1}`))
	f.Add(uint8(0), uint8(3), 200, "text/json", bytes.Repeat([]byte(`{"Rsp":`), 10000))
	f.Add(uint8(1), uint8(5), 429, "", []byte(nil))
	f.Fuzz(func(t *testing.T, which, at uint8, status int, ctype string, body []byte) {
		a := &answersFuzz
		a.init()
		kind := chaos.Kinds[int(which)%len(chaos.Kinds)]
		site := a.sims.Site(kind)
		if status < 100 || status > 999 {
			status = 200
		}
		a.arm(kind, int(at%12)+1, status, ctype, body)
		defer a.disarm()
		p := a.provider(t, kind)
		defer chaos.CloseProviders([]acs.Provider{p})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		i := a.n.Add(1)
		g := acs.Grant{Person: acs.Person{ExternalID: "ha" + strconv.FormatInt(i, 10), FirstName: "Hostile", LastName: "Answer"},
			Card: acs.Card{Format: acs.H10301, Facility: 77, Number: uint64(i % 65536)}, AccessLevels: site.Levels[:1],
			ValidFrom: t0, ValidUntil: t0.Add(time.Hour)}
		calls := []struct {
			name string
			fn   func() error
		}{
			{"ping", func() error { return p.Ping(ctx) }},
			{"access levels", func() error { _, err := p.AccessLevels(ctx); return err }},
			{"provision", func() error {
				pr, err := p.Provision(ctx, g)
				if err == nil && (pr.Credential.CardholderExternalID != g.Person.ExternalID || pr.Credential.Card != g.Card) {
					return fmt.Errorf("provision answered a credential for %q %s", pr.Credential.CardholderExternalID, pr.Credential.Card)
				}
				return err
			}},
			{"revoke", func() error {
				return p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: g.Person.ExternalID, Card: g.Card})
			}},
			{"remove", func() error { return p.RemoveCardholder(ctx, acs.CardholderRef{ExternalID: g.Person.ExternalID}) }},
		}
		for _, c := range calls {
			err := c.fn()
			if err == nil {
				continue
			}
			// Whether an adapter passes the server's own text on raw is
			// TestACSErrorTextSanitised's matter; here: no panic, a
			// classified error, bounded.
			if n := len(err.Error()); n > maxErrLen {
				t.Fatalf("%s %s: error message of %d bytes", kind, c.name, n)
			}
			var ae *acs.Error
			if !errors.As(err, &ae) || ae.Provider != kind {
				t.Fatalf("%s %s: error is not an *acs.Error of the provider: %#v", kind, c.name, err)
			}
		}
	})
}
