package brivosim_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/brivo/brivosim"
)

// Each missing style answers requests about a deleted user its own way,
// except a GET by ID, which is always 404.
func TestMissingStyles(t *testing.T) {
	want := map[brivosim.MissingStyle]struct {
		status int
		body   string
	}{
		brivosim.MissingNotFound:       {404, `{"code":404,"message":"Requested user not found"}`},
		brivosim.MissingNotFoundLegacy: {404, `{"message":"Requested user not found","code":404}`},
		brivosim.MissingNotFoundEmpty:  {404, ``},
		brivosim.MissingBadRequest:     {400, `{"code":400,"message":"Requested user not found"}`},
		brivosim.MissingForbidden:      {403, `{"code":403,"message":"You are not allowed to perform that action"}`},
		brivosim.MissingServerError:    {500, `{"code":500,"message":"Internal Server Error"}`},
	}
	for _, style := range brivosim.MissingStyles() {
		t.Run(style.String(), func(t *testing.T) {
			sim, c, _ := start(t, brivosim.WithMissingStyle(style))
			c.login()
			uid, err := sim.AddUser("Ada", "Visitor", "v-1")
			if err != nil {
				t.Fatal(err)
			}
			if err := sim.DeleteUser(uid); err != nil {
				t.Fatal(err)
			}
			path := "/users/" + strconv.FormatInt(uid, 10)
			st, body, _ := c.do("DELETE", path, "")
			if w := want[style]; st != w.status || body != w.body {
				t.Errorf("DELETE: %d %s, want %d %s", st, body, w.status, w.body)
			}
			if st, _, _ := c.do("GET", path+"/credentials", ""); st != want[style].status {
				t.Errorf("GET credentials: %d", st)
			}
			if st, _, _ := c.do("GET", path, ""); st != 404 {
				t.Errorf("GET by ID: %d, want 404", st)
			}
			if st, _, _ := c.do("GET", "/users/v-1/external", ""); st != 404 {
				t.Errorf("GET by external ID: %d, want 404", st)
			}
		})
	}
}

// The administrator helpers change what the oracle and the API show.
func TestAdminHelpers(t *testing.T) {
	sim, c, clk := start(t)
	c.login()
	now := clk.Now()
	g0, g1 := sim.Groups()[0].ID, sim.Groups()[1].ID
	uid, _ := sim.AddUser("Ada", "Visitor", "v-1")
	cid, err := sim.AddCredential(100, "", 1, 200)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.AssignCredential(uid, cid, now.Add(-time.Hour), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetGroups(uid, g0, g1); err != nil {
		t.Fatal(err)
	}
	cs, gs := strconv.FormatInt(cid, 10), strconv.FormatInt(g1, 10)
	later := now.Add(2 * time.Hour)
	if sim.Opens(cs, gs, later) {
		t.Fatal("opens after its window")
	}
	if err := sim.SetCredentialWindow(cid, now.Add(-time.Hour), now.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !sim.Opens(cs, gs, later) {
		t.Error("the widened window does not open")
	}
	c.want("GET", "/users/"+strconv.FormatInt(uid, 10)+"/credentials", "", 200, `"effectiveTo":"2026-03-02T12:00:00Z"`)
	if err := sim.RemoveMember(g1, uid); err != nil {
		t.Fatal(err)
	}
	if sim.Opens(cs, gs, now) {
		t.Error("opens a group the user left")
	}
	if u, _ := sim.User("v-1"); len(u.Groups) != 1 || u.Groups[0] != g0 {
		t.Errorf("groups %v", u.Groups)
	}
	if err := sim.UnassignCredential(cid); err != nil {
		t.Fatal(err)
	}
	if ci, _ := sim.Credential(cid); ci.UserID != 0 {
		t.Errorf("still assigned to %d", ci.UserID)
	}
	if err := sim.DeleteCredential(cid); err != nil {
		t.Fatal(err)
	}
	if _, ok := sim.Credential(cid); ok {
		t.Error("credential not deleted")
	}
	if err := sim.DeleteUser(uid); err != nil {
		t.Fatal(err)
	}
	if hits := sim.FindText("Visitor"); len(hits) != 0 {
		t.Errorf("deleted user still found: %v", hits)
	}
	if err := sim.SetGroups(uid, g0); err == nil {
		t.Error("SetGroups on a deleted user succeeded")
	}
}

// GET /users lists by last name with the fields recorded traffic shows.
func TestUserListingOrderAndFields(t *testing.T) {
	sim, c, _ := start(t)
	c.login()
	for _, n := range []string{"Zed", "Adams", "Moss"} {
		if _, err := sim.AddUser("Ann", n, "x-"+n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sim.AddUser("Bob", "Adams", ""); err != nil {
		t.Fatal(err)
	}
	body := c.want("GET", "/users?pageSize=100", "", 200, `"count":4`)
	order := []string{`"firstName":"Ann","lastName":"Adams"`, `"firstName":"Bob","lastName":"Adams"`, `"lastName":"Moss"`, `"lastName":"Zed"`}
	at := 0
	for _, o := range order {
		i := strings.Index(body[at:], o)
		if i < 0 {
			t.Fatalf("listing out of order at %s: %s", o, body)
		}
		at += i
	}
	if strings.Contains(body, "created") || strings.Count(body, "externalId") != 3 {
		t.Errorf("listing fields: %s", body)
	}
}
