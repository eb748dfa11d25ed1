package brivosim_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/brivo/brivosim"
)

// A taken external ID is refused by default, accepted under
// WithSharedExternalIDs, and the lookup then answers as configured.
func TestSharedExternalIDs(t *testing.T) {
	_, c, _ := start(t)
	c.login()
	c.want("POST", "/users", `{"firstName":"Ada","lastName":"Lovelace","externalId":"v-1"}`, 200, `"externalId":"v-1"`)
	c.want("POST", "/users", `{"firstName":"Ada","lastName":"Lovelace","externalId":"v-1"}`, 400, "External ID already exists")

	for _, tc := range []struct {
		style  brivosim.SharedLookup
		status int
		want   string
	}{
		{brivosim.LookupOldest, 200, `"id":15540780`},
		{brivosim.LookupNewest, 200, `"id":15540781`},
		{brivosim.LookupError, 500, `"code":500`},
	} {
		sim, c, _ := start(t, brivosim.WithSharedExternalIDs(tc.style))
		c.login()
		c.want("POST", "/users", `{"firstName":"Ada","lastName":"Lovelace","externalId":"v-1"}`, 200, `"id":15540780`)
		if _, err := sim.AddUser("Ada", "Lovelace", "v-1"); err != nil {
			t.Fatal(err)
		}
		c.want("GET", "/users/v-1/external", "", tc.status, tc.want)
		if us := sim.Users("v-1"); len(us) != 2 || us[0].ID != 15540780 || us[1].ID != 15540781 {
			t.Fatalf("Users: %+v", us)
		}
		if err := sim.DeleteUser(15540780); err != nil {
			t.Fatal(err)
		}
		c.want("GET", "/users/v-1/external", "", 200, `"id":15540781`)
		if u, ok := sim.User("v-1"); !ok || u.ID != 15540781 {
			t.Fatalf("User: %+v %v", u, ok)
		}
	}
}

// GET /users filters by a part of the first and last names, without case,
// and refuses fields it does not document.
func TestUserListingFilters(t *testing.T) {
	sim, c, _ := start(t)
	c.login()
	for _, n := range [][2]string{{"Ada", "Lovelace"}, {"Adam", "Lovelace"}, {"Ada", "Byron"}} {
		if _, err := sim.AddUser(n[0], n[1], ""); err != nil {
			t.Fatal(err)
		}
	}
	body := c.want("GET", "/users?filter=firstname__eq:ada;lastname__eq:LOVE", "", 200, `"count":2`)
	if !strings.Contains(body, `"Adam"`) || strings.Contains(body, "Byron") {
		t.Fatalf("listing %s", body)
	}
	c.want("GET", "/users?filter=id__eq:15540782", "", 200, `"count":1`)
	c.want("GET", "/users?filter=externalid__eq:x", "", 400, "Invalid filter format")
}

// FaultDelay holds a request in the sleep function, then handles it.
func TestFaultDelay(t *testing.T) {
	held := make(chan time.Duration, 1)
	sim, c, _ := start(t, brivosim.WithSleep(func(_ context.Context, d time.Duration) { held <- d }))
	c.login()
	sim.AddFault(brivosim.Fault{Method: "POST", Path: "/users", Kind: brivosim.FaultDelay, Delay: time.Minute})
	c.want("POST", "/users", `{"firstName":"Ada","lastName":"Lovelace","externalId":"v-1"}`, 200, `"externalId":"v-1"`)
	if d := <-held; d != time.Minute {
		t.Fatalf("slept %s", d)
	}
}
