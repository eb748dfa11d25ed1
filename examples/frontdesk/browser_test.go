package main

// Browser tests: the front desk driven through headless Chromium as an
// operator, a visitor at the kiosk and an attacker would use it. They
// skip when Chromium is not installed.

import (
	"bytes"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/visitor"
)

// signIn opens a new browser session (its own cookies) signed in as an
// operator.
func (d *testDesk) signIn(t *testing.T, user, password string) *tab {
	t.Helper()
	p := browser(t).newTab(t)
	p.navigate(d.url + "/signin")
	p.fill(map[string]string{`input[name=user]`: user, `input[name=password]`: password})
	p.click(`#signin-form button[type=submit]`)
	p.waitFor("signed in as "+user, `document.querySelector("#operator")`)
	return p
}

// walkIn signs a visitor in from the Guestbook's walk-in form and returns
// the visit ID (the visit code).
func walkIn(t *testing.T, p *tab, d *testDesk, site, first, last string) string {
	t.Helper()
	p.navigate(d.url + "/l/" + site + "/guestbook")
	p.fill(map[string]string{`#walkin-form input[name=first]`: first, `#walkin-form input[name=last]`: last, `#walkin-form input[name=company]`: "Analytical Engines Ltd"})
	p.click(`#walkin-form button[type=submit]`)
	p.waitText(`.flash.ok`, first+" "+last+" signed in")
	var id string
	p.eval(fmt.Sprintf(`Array.from(document.querySelectorAll("#guestbook tr[data-visit]")).find(r => r.querySelector(".name").innerText.includes(%s)).dataset.visit`, jsString(first+" "+last)), &id)
	return id
}

// row returns a CSS selector of the Guestbook row of a visit.
func rowSel(id string) string { return `#guestbook tr[data-visit="` + id + `"]` }

// action clicks an entry of a visit's Actions menu.
func action(p *tab, id, name string) {
	p.eval(fmt.Sprintf(`document.querySelector(%s).open = true`, jsString(rowSel(id)+" details.menu")), nil)
	p.click(rowSel(id) + ` [data-action="` + name + `"]`)
}

// swipe presents a badge at a door on the door panel and returns the
// simulator's decision as the page shows it.
func swipe(t *testing.T, p *tab, d *testDesk, site, badgeID, door string) string {
	t.Helper()
	p.navigate(d.url + "/l/" + site + "/doors")
	p.eval(fmt.Sprintf(`(() => {
		const b = document.querySelector("#swipe-badge"); b.value = %s;
		const d = document.querySelector("#swipe-door");
		const o = Array.from(d.options).find(o => o.text === %s);
		if (!o) throw new Error("no door " + %s);
		d.value = o.value; })()`, jsString(badgeID), jsString(door), jsString(door)), nil)
	p.click(`#swipe`)
	return p.text(`.flash`)
}

// The walk-through at each simulated ACS: sign in as an operator;
// provision by typing a badge ID and Enter into the focused scan field, as
// a keyboard wedge does; swipe at the simulator's door: granted, and the
// Guestbook shows the door; Return Badge: the same door denies while the
// visitor stays signed in; the audit trail tells it all.
func TestBrowserWedgeProvisionSwipeReturn(t *testing.T) {
	browser(t) // skips without Chromium
	d := startDesk(t)
	doors := map[string]string{"london-hq": "Lobby turnstile", "paris-campus": "Lobby turnstile", "berlin-office": "Front Door"}
	for i, site := range []string{"london-hq", "paris-campus", "berlin-office"} {
		t.Run(site, func(t *testing.T) {
			p := d.signIn(t, "alice", alicePassword)
			id := walkIn(t, p, d, site, "Ada", "Lovelace")
			badgeID := fmt.Sprint(1000*(i+1) + 1)

			action(p, id, "provision")
			var focused string
			p.eval(`document.activeElement.id`, &focused)
			if focused != "scan" {
				t.Fatalf("the Provision Badge page has %q focused, want the scan field", focused)
			}
			p.wedge(badgeID)
			p.waitFor("the scanned badge selected", `document.querySelector('input[name=badge][value="`+badgeID+`"]').checked`)
			p.waitText(`#scan-status`, "Badge "+badgeID+" selected")
			var level string
			p.eval(`document.querySelector("#level").selectedOptions[0].text`, &level)
			if !strings.Contains(level, "Lobby") {
				t.Fatalf("access level %q selected, want the lobby", level)
			}
			p.click(`#save`)
			p.waitText(`.flash.ok`, "Badge "+badgeID+" provisioned for Ada Lovelace (active)")
			if got := p.text(rowSel(id) + " td.badge"); !strings.Contains(got, badgeID) || !strings.Contains(got, "active") {
				t.Fatalf("Guestbook badge cell %q", got)
			}
			if got := p.text(rowSel(id) + " td.levels"); !strings.Contains(got, "Lobby") {
				t.Fatalf("Guestbook access level cell %q", got)
			}

			if got := swipe(t, p, d, site, badgeID, doors[site]); !strings.HasPrefix(got, "Granted") {
				t.Fatalf("swipe after provisioning: %q, want granted", got)
			}
			// The door event comes back through the adapter's event
			// stream to the engine, and the Guestbook shows it.
			p.reloadUntil(d.url+"/l/"+site+"/guestbook", "the door event in the Guestbook",
				fmt.Sprintf(`document.querySelector(%s).innerText.includes(%s)`, jsString(rowSel(id)+" td.door"), jsString(doors[site])))
			p.navigate(d.url + "/l/" + site + "/muster")
			if got := p.text(`#muster tr[data-visit="` + id + `"]`); !strings.Contains(got, "inside") || !strings.Contains(got, doors[site]) {
				t.Fatalf("muster row %q, want inside, last seen at %s", got, doors[site])
			}
			p.navigate(d.url + "/l/" + site + "/guestbook")

			action(p, id, "return")
			p.waitText(`.flash.ok`, "Badge "+badgeID+" returned")
			p.waitText(`.flash.ok`, "Ada Lovelace stays signed in")
			if got := p.text(rowSel(id) + " td.state"); !strings.Contains(got, "Signed in") {
				t.Fatalf("after Return Badge the visit is %q, want signed in", got)
			}
			if got := swipe(t, p, d, site, badgeID, doors[site]); !strings.HasPrefix(got, "Denied") {
				t.Fatalf("swipe after Return Badge: %q, want denied", got)
			}

			p.navigate(d.url + "/l/" + site + "/visits/" + id + "/audit")
			for _, a := range []string{"sign_in", "provision", "acs_provision", "door", "return_badge", "acs_revoke"} {
				p.waitFor("audit record "+a, `document.querySelector('#audit tr[data-action="`+a+`"]')`)
			}
		})
	}
}

// At the kiosk, with no operator signed in: a walk-in signs in by name,
// an invited visitor (invited from the Guestbook) by visit code; one signs
// out by visit code, the other by name; the Guestbook and the audit trail
// show the kiosk's doing.
func TestBrowserKioskSignInAndOut(t *testing.T) {
	browser(t) // skips without Chromium
	d := startDesk(t)
	const site = "paris-campus"
	kiosk := browser(t).newTab(t)
	kiosk.navigate(d.url + "/kiosk/" + site)
	if kiosk.text("header") != "Front desk" {
		t.Fatalf("the kiosk shows an operator's header: %q", kiosk.text("header"))
	}
	kiosk.fill(map[string]string{`#kiosk-signin input[name=first]`: "Grace", `#kiosk-signin input[name=last]`: "Hopper"})
	kiosk.click(`#kiosk-signin button[type=submit]`)
	kiosk.waitText(`.flash.ok`, "Welcome, Grace! You are signed in. Your visit code is ")
	msg := kiosk.text(`.flash.ok`)
	code := strings.TrimSuffix(msg[strings.LastIndex(msg, " ")+1:], ".")

	// Katherine was invited at the desk, and signs in with her code.
	desk := d.signIn(t, "alice", alicePassword)
	desk.navigate(d.url + "/l/" + site + "/guestbook")
	desk.fill(map[string]string{`#invite-form input[name=first]`: "Katherine", `#invite-form input[name=last]`: "Johnson", `#invite-form input[name=host]`: "Dr. Babbage"})
	desk.click(`#invite-form button[type=submit]`)
	desk.waitText(`.flash.ok`, "Katherine Johnson is invited for ")
	invited := desk.text(`.flash.ok`)
	invited = strings.TrimSuffix(invited[strings.LastIndex(invited, " ")+1:], ").")
	if got := desk.text(rowSel(invited) + " td.state"); !strings.Contains(got, "Invited") {
		t.Fatalf("the invitation %s in the Guestbook: %q", invited, got)
	}
	kiosk.fill(map[string]string{`#kiosk-signin input[name=code]`: invited})
	kiosk.click(`#kiosk-signin button[type=submit]`)
	kiosk.waitText(`.flash.ok`, "Welcome, Katherine! You are signed in. Your visit code is "+invited+".")
	kiosk.fill(map[string]string{`#kiosk-signin input[name=code]`: "ZZZZ-ZZZZ"})
	kiosk.click(`#kiosk-signin button[type=submit]`)
	kiosk.waitText(`.flash.error`, "We found no invitation with that code")

	desk.navigate(d.url + "/l/" + site + "/guestbook")
	if got := desk.text(rowSel(invited) + " td.state"); !strings.Contains(got, "Signed in") {
		t.Fatalf("Katherine's visit after the kiosk sign-in: %q", got)
	}
	if got := desk.text(rowSel(code) + " td.state"); !strings.Contains(got, "Signed in") {
		t.Fatalf("Grace's visit %s in the Guestbook: %q", code, got)
	}

	// A code typed in lower case, without its dash.
	kiosk.fill(map[string]string{`#kiosk-signout input[name=code]`: strings.ToLower(strings.ReplaceAll(code, "-", ""))})
	kiosk.click(`#kiosk-signout button[type=submit]`)
	kiosk.waitText(`.flash.ok`, "Goodbye, Grace! You are signed out.")
	kiosk.fill(map[string]string{`#kiosk-signout input[name=first]`: "katherine", `#kiosk-signout input[name=last]`: "JOHNSON"})
	kiosk.click(`#kiosk-signout button[type=submit]`)
	kiosk.waitText(`.flash.ok`, "Goodbye, Katherine!")
	kiosk.fill(map[string]string{`#kiosk-signout input[name=first]`: "Nobody", `#kiosk-signout input[name=last]`: "Here"})
	kiosk.click(`#kiosk-signout button[type=submit]`)
	kiosk.waitText(`.flash.error`, "We found nobody signed in by that name")

	desk.navigate(d.url + "/l/" + site + "/guestbook")
	if got := desk.text(rowSel(code) + " td.state"); !strings.Contains(got, "Signed out") {
		t.Fatalf("after the kiosk sign-out Grace's visit is %q", got)
	}
	desk.navigate(d.url + "/l/" + site + "/visits/" + code + "/audit")
	desk.waitFor("the kiosk's sign-out in the audit trail", `Array.from(document.querySelectorAll('#audit tr[data-action="sign_out"]')).some(r => r.innerText.includes("kiosk-`+site+`"))`)
}

// alice (reception) may grant the lobby only: the form offers nothing
// else, and a form that asks for floor 3 anyway (a stale or crafted one)
// is refused by the engine, whose refusal the page shows; the badge stays
// in the pool. bob (security) is offered floor 3 and gets it.
func TestBrowserAccessLevelRefused(t *testing.T) {
	browser(t) // skips without Chromium
	d := startDesk(t)
	const site = "london-hq"
	floor3 := levelNamed(mustLevels(t, d, site), "floor 3")
	alice := d.signIn(t, "alice", alicePassword)
	id := walkIn(t, alice, d, site, "Alan", "Turing")
	action(alice, id, "provision")
	var offered []string
	alice.eval(`Array.from(document.querySelectorAll("#level option")).map(o => o.text)`, &offered)
	if len(offered) != 1 || !strings.Contains(offered[0], "Lobby") {
		t.Fatalf("alice is offered %q, want the lobby only", offered)
	}
	alice.eval(fmt.Sprintf(`(() => { const o = new Option("Floor 3", %s, true, true); document.querySelector("#level").add(o); })()`, jsString(floor3)), nil)
	alice.wedge("1002")
	alice.waitText(`#scan-status`, "Badge 1002 selected")
	alice.click(`#save`)
	alice.waitText(`.flash.error`, "operator alice may not grant access level")
	if !strings.Contains(alice.text(`.flash.error`), "permission denied") {
		t.Fatalf("refusal %q does not say permission denied", alice.text(`.flash.error`))
	}
	alice.waitFor("badge 1002 still available", `document.querySelector('input[name=badge][value="1002"]')`)

	bob := d.signIn(t, "bob", bobPassword)
	bob.navigate(d.url + "/l/" + site + "/visits/" + id + "/provision")
	bob.eval(`Array.from(document.querySelectorAll("#level option")).map(o => o.text)`, &offered)
	if len(offered) != 2 {
		t.Fatalf("bob is offered %q, want the lobby and floor 3", offered)
	}
	bob.eval(fmt.Sprintf(`document.querySelector("#level").value = %s`, jsString(floor3)), nil)
	bob.wedge("1002")
	bob.waitText(`#scan-status`, "Badge 1002 selected")
	bob.click(`#save`)
	bob.waitText(`.flash.ok`, "Badge 1002 provisioned for Alan Turing (active)")
	if got := bob.text(rowSel(id) + " td.levels"); !strings.Contains(got, "Floor 3") {
		t.Fatalf("Guestbook access level %q, want floor 3", got)
	}
	if got := swipe(t, bob, d, site, "1002", "Floor 3 east door"); !strings.HasPrefix(got, "Granted") {
		t.Fatalf("floor 3 swipe: %q", got)
	}
}

func mustLevels(t *testing.T, d *testDesk, site string) []acs.AccessLevel {
	t.Helper()
	levels, _, _ := d.Site(site).Catalog()
	return levels
}

// Security Badges on the admin page: a letter in a badge ID is refused
// with the validation message and adds nothing; a numeric ID with a badge
// type from the ACS is added, found by searching the Provision Badge
// list, and provisioned. Test
// Connection and Refresh Provider answer from the ACS. alice, no admin, is
// refused the page.
func TestBrowserAdminBadges(t *testing.T) {
	browser(t) // skips without Chromium
	d := startDesk(t)
	const site = "berlin-office"
	bob := d.signIn(t, "bob", bobPassword)
	bob.navigate(d.url + "/l/" + site + "/admin")
	bob.click(`#test-connection`)
	bob.waitText(`.flash.ok`, "Connection to brivo works")
	bob.click(`#refresh-provider`)
	bob.waitText(`.flash.ok`, "Refreshed from brivo: 2 access levels, 6 badge types")
	bob.waitText(`#access-levels`, "Floor 3")

	bob.fill(map[string]string{`#badge-form input[name=name]`: "Visitor 42", `#badge-form input[name=id]`: "30a42"})
	bob.eval(`(() => { const s = document.querySelector('#badge-form select[name=type]'); s.value = Array.from(s.options).find(o => o.text === "Standard 26 Bit").value; })()`, nil)
	bob.click(`#badge-form button[type=submit]`)
	bob.waitText(`.flash.error`, `invalid badge ID "30a42": 'a' at position 3 is not a digit; only digits 0-9 are allowed`)
	var n int
	bob.eval(`document.querySelectorAll('#badge-list tr[data-badge="30a42"]').length`, &n)
	if n != 0 {
		t.Fatal("the refused badge is listed")
	}

	bob.fill(map[string]string{`#badge-form input[name=name]`: "Visitor 42", `#badge-form input[name=id]`: "3042"})
	bob.eval(`(() => { const s = document.querySelector('#badge-form select[name=type]'); s.value = Array.from(s.options).find(o => o.text === "Standard 26 Bit").value; })()`, nil)
	bob.click(`#badge-form button[type=submit]`)
	bob.waitText(`.flash.ok`, "Badge 3042 (Visitor 42) added.")
	if got := bob.text(`#badge-list tr[data-badge="3042"]`); !strings.Contains(got, "Standard 26 Bit") || !strings.Contains(got, "available") {
		t.Fatalf("new badge row %q", got)
	}

	id := walkIn(t, bob, d, site, "Hedy", "Lamarr")
	action(bob, id, "provision")
	bob.fill(map[string]string{`form.search input[name=q]`: "visitor 42"})
	bob.click(`form.search button`)
	var listed []string
	bob.eval(`Array.from(document.querySelectorAll("input[name=badge]")).map(r => r.value)`, &listed)
	if len(listed) != 1 || listed[0] != "3042" {
		t.Fatalf("searching for visitor 42 lists %q", listed)
	}
	bob.eval(`document.querySelector('input[name=badge][value="3042"]').click()`, nil)
	bob.click(`#save`)
	bob.waitText(`.flash.ok`, "Badge 3042 provisioned for Hedy Lamarr (active)")
	if got := swipe(t, bob, d, site, "3042", "Front Door"); !strings.HasPrefix(got, "Granted") {
		t.Fatalf("swipe of the new badge: %q", got)
	}

	alice := d.signIn(t, "alice", alicePassword)
	alice.navigate(d.url + "/l/" + site + "/admin")
	alice.waitText(`#error-message`, "The admin pages are for operators with the admin role.")
}

// CSRF: a second browser session, signed in as another operator, posts a
// Sign Out form without its CSRF token, and then with the first session's
// token: both are refused and the visit stays signed in. A page on another
// origin that posts the same form in the operator's own browser (cookies
// and all) is refused too.
func TestBrowserCSRF(t *testing.T) {
	browser(t) // skips without Chromium
	d := startDesk(t)
	const site = "london-hq"
	alice := d.signIn(t, "alice", alicePassword)
	id := walkIn(t, alice, d, site, "Mary", "Somerville")
	var aliceToken string
	alice.eval(`document.querySelector("input[name=csrf]").value`, &aliceToken)

	bob := d.signIn(t, "bob", bobPassword)
	bob.navigate(d.url + "/l/" + site + "/guestbook")
	form := rowSel(id) + ` form[action$="/signout"]`
	bob.eval(fmt.Sprintf(`document.querySelector(%s).remove()`, jsString(form+` input[name=csrf]`)), nil)
	bob.submit(fmt.Sprintf(`document.querySelector(%s).submit()`, jsString(form)))
	bob.waitText(`#error-message`, "This form did not come from this front desk")

	bob.navigate(d.url + "/l/" + site + "/guestbook")
	bob.eval(fmt.Sprintf(`document.querySelector(%s).value = %s`, jsString(form+` input[name=csrf]`), jsString(aliceToken)), nil)
	bob.submit(fmt.Sprintf(`document.querySelector(%s).submit()`, jsString(form)))
	bob.waitText(`#error-message`, "This form did not come from this front desk")

	// The attacker's page, on another origin, in alice's browser.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><form method="post" action="%s/l/%s/visits/%s/signout"><input name="csrf" value="guess"></form><script>document.forms[0].submit()</script>`,
			html.EscapeString(d.url), site, id)
	}))
	defer evil.Close()
	attacked := browser(t).tabIn(t, alice.contextID)
	attacked.navigate(evil.URL)
	attacked.waitText(`#error-message`, "This form did not come from this front desk")

	alice.navigate(d.url + "/l/" + site + "/guestbook")
	if got := alice.text(rowSel(id) + " td.state"); !strings.Contains(got, "Signed in") {
		t.Fatalf("after three forged sign-outs the visit is %q", got)
	}
	if strings.Contains(d.log.String(), aliceToken) {
		t.Fatal("a CSRF token is in the log")
	}
}

// The Guestbook as the README shows it (guestbook.png): a morning at
// Paris Campus (OnGuard) with a visitor inside, a contractor on floor 3, a returned
// badge, an invitation and a visitor gone, with one Actions menu open.
// The visits are set up through the engine, as another desk would; the
// picture is the browser's. FRONTDESK_SCREENSHOT=path writes it there
// (go test ./examples/frontdesk -run Screenshot with
// FRONTDESK_SCREENSHOT=$PWD/examples/frontdesk/guestbook.png); otherwise
// to a temporary directory.
func TestBrowserGuestbookScreenshot(t *testing.T) {
	browser(t) // skips without Chromium
	d := startDesk(t)
	const site = "paris-campus"
	ctx := t.Context()
	e, s := d.Engine, d.Site(site)
	alice := d.Operators.Get("alice").Operator()
	bob := d.Operators.Get("bob").Operator()
	pool, err := e.Pool(site)
	if err != nil {
		t.Fatal(err)
	}
	lobby, floor3 := s.Policy.Types["contractor"].AccessLevels[0], s.Policy.Types["contractor"].AccessLevels[1]
	visit := func(op visitor.Operator, first, last, company, host, typ string, badgeID string, levels ...string) string {
		t.Helper()
		v, err := e.SignIn(ctx, op, visitor.SignInRequest{Location: site, Type: typ, Host: host,
			Visitor: visitor.Visitor{FirstName: first, LastName: last, Company: company}})
		if err != nil {
			t.Fatal(err)
		}
		if badgeID != "" {
			if _, err := e.Provision(ctx, op, v.ID, visitor.ProvisionRequest{BadgeID: badgeID, AccessLevels: levels}); err != nil {
				t.Fatal(err)
			}
		}
		return v.ID
	}
	swipeAt := func(badgeID, door string) {
		t.Helper()
		b, err := pool.Get(ctx, badgeID)
		if err != nil {
			t.Fatal(err)
		}
		for _, dr := range s.Doors.Doors() {
			if dr.Name == door {
				if _, err := s.SwipeAt(b, dr.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	gone := visit(alice, "Mary", "Somerville", "Royal Institution", "Dr. Faraday", "guest", "")
	if _, err := e.SignOut(ctx, visitor.Operator{ID: "kiosk-" + site}, gone, visitor.ViaKiosk); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Invite(ctx, alice, visitor.InviteRequest{Location: site, Host: "Dr. Babbage",
		Visitor: visitor.Visitor{FirstName: "Katherine", LastName: "Johnson", Company: "NACA"}, ExpectedAt: time.Now().Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	grace := visit(alice, "Grace", "Hopper", "Eckert-Mauchly", "Dr. Babbage", "guest", "2003", lobby)
	swipeAt("2003", "Lobby turnstile")
	if _, err := e.ReturnBadge(ctx, alice, grace); err != nil {
		t.Fatal(err)
	}
	swipeAt("2003", "Lobby turnstile")
	alan := visit(bob, "Alan", "Turing", "Bletchley Park", "Facilities", "contractor", "2002", lobby, floor3)
	swipeAt("2002", "Floor 3")
	ada := visit(alice, "Ada", "Lovelace", "Analytical Engines Ltd", "Dr. Babbage", "guest", "2001", lobby)
	swipeAt("2001", "Lobby turnstile")

	p := d.signIn(t, "alice", alicePassword)
	url := d.url + "/l/" + site + "/guestbook"
	for _, w := range []struct{ id, door string }{{ada, "Lobby turnstile"}, {alan, "Floor 3"}, {grace, "denied"}} {
		p.reloadUntil(url, "the door events of "+w.id,
			fmt.Sprintf(`document.querySelector(%s).innerText.includes(%s)`, jsString(rowSel(w.id)+" td.door"), jsString(w.door)))
	}
	p.eval(fmt.Sprintf(`document.querySelector(%s).open = true`, jsString(rowSel(ada)+" details.menu")), nil)
	shot := filepath.Join(t.TempDir(), "guestbook.png")
	if env := os.Getenv("FRONTDESK_SCREENSHOT"); env != "" {
		shot = env
	}
	p.screenshot(shot)
	png, err := os.ReadFile(shot)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("screenshot %s is not a PNG: %v", shot, err)
	}
	t.Logf("Guestbook screenshot: %s (%d bytes)", shot, len(png))
	if dir := os.Getenv("FRONTDESK_SCREENSHOT_DIR"); dir != "" { // every page, to look at
		for name, path := range map[string]string{
			"provision": "/visits/" + alan + "/provision", "admin": "/admin", "muster": "/muster",
			"audit": "/visits/" + ada + "/audit", "doors": "/doors", "kiosk": "/kiosk",
		} {
			u := d.url + "/l/" + site + path
			if name == "kiosk" {
				u = d.url + "/kiosk/" + site
			}
			if name == "admin" {
				p = d.signIn(t, "bob", bobPassword)
			}
			p.navigate(u)
			p.screenshot(filepath.Join(dir, name+".png"))
		}
	}
}
