package main

// Browser tests: the front desk driven through headless Chromium as an
// operator, a visitor at the kiosk and an attacker would use it. They
// skip when Chromium is not installed.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
			if site == "london-hq" {
				shot := filepath.Join(t.TempDir(), "guestbook.png")
				if os.Getenv("FRONTDESK_SCREENSHOT") != "" {
					shot = os.Getenv("FRONTDESK_SCREENSHOT")
				}
				p.screenshot(shot)
				png, err := os.ReadFile(shot)
				if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
					t.Fatalf("screenshot %s is not a PNG: %v", shot, err)
				}
			}

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
