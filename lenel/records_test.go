package lenel

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// propertyMaps are property_value_maps in the forms a record must read as
// props does: names in any case, numbers as strings or with a fraction,
// nulls, absent properties and values of the wrong kind.
var propertyMaps = []string{
	`{"ID":13426,"BADGEKEY":7,"PERSONID":12,"STATUS":1,"ACTIVATE":"2024-05-01T09:00:00+00:00","DEACTIVATE":"2024-05-02T09:00:00Z"}`,
	`{"id":"13426","BadgeKey":" 7 ","personId":12.0,"Status":1.2e1,"activate":"2024-05-01 09:00:00","deactivate":null}`,
	`{"ID":null,"BADGEKEY":"seven","PERSONID":true,"STATUS":{"a":1},"ACTIVATE":20240501,"DEACTIVATE":"yesterday"}`,
	`{"BADGEKEY":1.5,"ACTIVATE":"","DEACTIVATE":"2024-05-01"}`,
	`{"ID":"1\u0033","BADGEKEY":"","ACTIVATE":"2024-05-01T09:00:00.5\u002B02:00"}`,
	`{}`,
	`null`,
}

// asProps decodes a property_value_map the way list does.
func asProps(t *testing.T, pm string) props {
	t.Helper()
	var m rawMap
	if err := json.Unmarshal([]byte(pm), &m); err != nil {
		t.Fatal(err)
	}
	return upperProps(m)
}

// TestBadgeRecordReadsAsProps checks that a badge decoded as badgeRecord
// reads exactly as the same answer read through props.
func TestBadgeRecordReadsAsProps(t *testing.T) {
	for _, pm := range propertyMaps {
		var b badgeRecord
		if err := json.Unmarshal([]byte(pm), &b); err != nil {
			t.Fatalf("%s: %v", pm, err)
		}
		p := asProps(t, pm)
		var want badgeWindow
		var ok1, ok2 bool
		want.key, ok1 = p.int("BADGEKEY")
		want.personID, ok2 = p.int("PERSONID")
		want.status, _ = p.int("STATUS")
		want.from, _ = p.time("ACTIVATE")
		want.until, _ = p.time("DEACTIVATE")
		got, ok := b.window()
		if got != want || ok != (ok1 && ok2) {
			t.Errorf("%s: window %+v %v, props read %+v %v", pm, got, ok, want, ok1 && ok2)
		}
		if id, ok := p.int("ID"); b.ID.n != id || b.ID.ok != ok {
			t.Errorf("%s: ID %+v, props read %d %v", pm, b.ID, id, ok)
		}
	}
}

func TestBadgeRecordLenientValues(t *testing.T) {
	var b badgeRecord
	if err := json.Unmarshal([]byte(propertyMaps[1]), &b); err != nil {
		t.Fatal(err)
	}
	w, ok := b.window()
	from := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	if !ok || b.ID.n != 13426 || w.key != 7 || w.personID != 12 || w.status != 12 || !w.from.Equal(from) || !w.until.IsZero() {
		t.Errorf("lenient badge: %+v %+v %v", b.ID, w, ok)
	}
	b = badgeRecord{}
	if err := json.Unmarshal([]byte(propertyMaps[2]), &b); err != nil {
		t.Fatal(err)
	}
	if w, ok := b.window(); ok || b.ID.ok || w != (badgeWindow{}) {
		t.Errorf("values of the wrong kind: %+v %+v %v", b.ID, w, ok)
	}
}

// TestPersonReadsAsProps checks the person fields against props, a number
// or null where a string belongs reading as "".
func TestPersonReadsAsProps(t *testing.T) {
	for _, pm := range []string{
		`{"ID":5,"SSNO":"visit-1","FIRSTNAME":"Ada","LASTNAME":"L\u00f6w","EMAIL":"a@b.c","ORGANIZATION":"Acme"}`,
		`{"id":"5","ssno":42,"FirstName":null,"lastname":"\"Q\"","Email":""}`,
		`{"LASTNAME":"X"}`,
	} {
		var x person
		if err := json.Unmarshal([]byte(pm), &x); err != nil {
			t.Fatalf("%s: %v", pm, err)
		}
		p := asProps(t, pm)
		for _, name := range []string{"SSNO", "FIRSTNAME", "LASTNAME", "EMAIL", "ORGANIZATION"} {
			if got, want := x.str(name), p.str(name); got != want {
				t.Errorf("%s: %s = %q, props read %q", pm, name, got, want)
			}
		}
		if id, ok := p.int("ID"); x.ID.n != id || x.ID.ok != ok {
			t.Errorf("%s: ID %+v, props read %d %v", pm, x.ID, id, ok)
		}
	}
	if (&person{}).str("MIDNAME") != "" || (&person{}).field("MIDNAME") != nil {
		t.Error("a property person does not decode reads as set")
	}
}

func TestKeyRecord(t *testing.T) {
	var it itemOf[keyRecord]
	if err := json.Unmarshal([]byte(`{"type_name":"Lnl_Badge","property_value_map":{"BadgeKey":"31","ID":"x","AccessLevelId":4.0}}`), &it); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		n    int64
		ok   bool
	}{{"BADGEKEY", 31, true}, {"ID", 0, false}, {"ACCESSLEVELID", 4, true}, {"PERSONID", 0, false}} {
		if n, ok := it.Props.int(c.name); n != c.n || ok != c.ok {
			t.Errorf("%s = %d %v, want %d %v", c.name, n, ok, c.n, c.ok)
		}
	}
}

// TestInstancesQuery checks the listing's query against url.Values.Encode,
// for every byte a filter could hold.
func TestInstancesQuery(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, c := range []struct{ filter, typeName string }{
		{"", "Lnl_BadgeStatus"},
		{`SSNO = "visit-1.a_b~"`, "Lnl_Visitor"},
		{"ID = 1 OR ID = 22", "Lnl_AccessLevel"},
		{string(all), "Lnl Odd&Type"},
	} {
		for _, n := range []int{1, 12, 10000} {
			q := url.Values{"page_number": {strconv.Itoa(n)}, "page_size": {"100"}, "type_name": {c.typeName}, "version": {"1.0"}}
			if c.filter != "" {
				q.Set("filter", c.filter)
			}
			if got, want := instancesQuery(c.filter, n, c.typeName), q.Encode(); got != want {
				t.Errorf("instancesQuery(%q, %d, %q)\n got %s\nwant %s", c.filter, n, c.typeName, got, want)
			}
		}
	}
}

// TestExternalIDInOtherProperty provisions and revokes with an external ID
// property that person does not decode (read from property maps): the
// second provision finds the person the first made.
func TestExternalIDInOtherProperty(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.ExternalIDProperty = "city" }})
	ctx := context.Background()
	g := e.grant(1)
	first, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	g.Person.LastName = "Renamed"
	again, err := e.p.Provision(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	if again.Cardholder.ID != first.Cardholder.ID || again.Credential.ID != first.Credential.ID {
		t.Fatalf("second provision made %+v, first %+v", again, first)
	}
	if c := e.sim.Census(); c.Visitors != 1 {
		t.Fatalf("%d visitors, want 1", c.Visitors)
	}
	if err := e.p.Revoke(ctx, acs.CredentialRef{CardholderExternalID: g.Person.ExternalID, Card: g.Card}); err != nil {
		t.Fatal(err)
	}
	if e.opens(first.Credential, "1", e.clock.Now()) {
		t.Error("the revoked badge still opens")
	}
}
