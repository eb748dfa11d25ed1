package main

// The Guestbook: today's visits at a location and their Actions
// (Provision Badge, Return Badge, Sign Out), walk-in sign-in and
// invitations. Each handler reads the form, calls the engine once, and
// shows what the engine answered.

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
)

// row is one visit as the Guestbook shows it.
type row struct {
	ID, Name, Company, Host, Type string
	State                         visitor.State
	StateLabel                    string
	SignedInAt, ExpectedAt        time.Time
	EndedAt                       time.Time
	Badge                         string
	Credential                    string
	Levels                        []string
	LastDoor                      string
	LastDoorGranted               bool
	Watchlist                     bool
	CanSignIn, CanProvision       bool
	CanReturn, CanSignOut         bool
}

var stateLabels = map[visitor.State]string{
	visitor.Invited: "Invited", visitor.Expected: "Expected", visitor.SignedIn: "Signed in",
	visitor.SignedOut: "Signed out", visitor.Expired: "Expired", visitor.Removed: "Removed",
}

func newRow(site *Site, v visitor.Visit) row {
	r := row{
		ID: v.ID, Name: v.Visitor.Name(), Company: v.Visitor.Company, Host: v.Host, Type: v.Type,
		State: v.State, StateLabel: stateLabels[v.State], SignedInAt: v.SignedInAt, ExpectedAt: v.ExpectedAt,
		EndedAt: v.EndedAt, Watchlist: v.Watchlist != nil,
	}
	open := v.State == visitor.Invited || v.State == visitor.Expected || v.State == visitor.SignedIn
	r.CanSignIn = v.State == visitor.Invited || v.State == visitor.Expected
	r.CanSignOut = v.State == visitor.SignedIn
	r.CanProvision = open && v.Watchlist == nil
	if c := v.Current(); c != nil {
		r.Badge, r.Credential = c.BadgeID, string(c.Status)
		if c.Status == visitor.CredRevoked && c.Release && !v.State.Ended() {
			r.Credential = "returned"
		}
		if c.Source == visitor.FromRange {
			r.Badge = "card " + c.Card.String()
		}
		for _, l := range c.AccessLevels {
			r.Levels = append(r.Levels, site.LevelName(l))
		}
		holding := !c.Lost && (!c.Status.Done() || c.Holding())
		r.CanReturn = open && c.Status.Live()
		r.CanProvision = r.CanProvision && !holding
	}
	if d := v.Doors.Last; !d.IsZero() {
		name := d.DoorName
		if name == "" {
			name = d.DoorID
		}
		verdict := "denied"
		if d.Granted {
			verdict = "granted"
		}
		r.LastDoor, r.LastDoorGranted = name+" · "+verdict+" · "+fmtTime(d.Time), d.Granted
	}
	return r
}

// today reports whether the Guestbook shows v today: it is still open, or
// it was created, expected or ended today.
func today(v visitor.Visit, now time.Time) bool {
	if !v.State.Ended() {
		return true
	}
	y, m, d := now.Local().Date()
	start := time.Date(y, m, d, 0, 0, 0, 0, time.Local)
	return !v.EndedAt.Before(start) || !v.CreatedAt.Before(start) || !v.ExpectedAt.Before(start)
}

func (s *server) guestbook(w http.ResponseWriter, r *request) {
	visits, err := s.desk.Engine.Visits(r.Context(), visitor.VisitFilter{Location: r.site.ID})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	now := time.Now()
	var rows []row
	for _, v := range visits {
		if today(v, now) {
			rows = append(rows, newRow(r.site, v))
		}
	}
	// Open visits first, then by arrival (newest first).
	slices.SortStableFunc(rows, func(a, b row) int {
		if ea, eb := a.State.Ended(), b.State.Ended(); ea != eb {
			if ea {
				return 1
			}
			return -1
		}
		ta, tb := a.SignedInAt, b.SignedInAt
		if ta.IsZero() {
			ta = a.ExpectedAt
		}
		if tb.IsZero() {
			tb = b.ExpectedAt
		}
		return tb.Compare(ta)
	})
	types := make([]string, 0, len(r.site.Policy.Types))
	for t := range r.site.Policy.Types {
		types = append(types, t)
	}
	slices.Sort(types)
	s.render(w, r, "guestbook", "Guestbook", map[string]any{
		"Rows": rows, "Types": types, "DefaultType": r.site.Policy.DefaultType,
		"Tomorrow": now.Add(time.Hour).Format("2006-01-02T15:04"),
	})
}

// renderError shows an error that prevents a page from being shown.
func (s *server) renderError(w http.ResponseWriter, r *request, err error) {
	s.log.Error("a page failed", "path", r.URL.Path, "err", err)
	s.renderStatus(w, r.Request, r.sess, http.StatusInternalServerError, "error", map[string]any{"Title": "Something went wrong", "Message": describe(err)})
}

func (s *server) guestbookURL(r *request) string { return "/l/" + r.site.ID + "/guestbook" }

// formVisitor reads the visitor fields of a form.
func formVisitor(r *request) visitor.Visitor {
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	return visitor.Visitor{FirstName: f("first"), LastName: f("last"), Company: f("company"), Email: f("email")}
}

// walkIn signs a visitor in at the desk.
func (s *server) walkIn(w http.ResponseWriter, r *request) {
	v, err := s.desk.Engine.SignIn(r.Context(), r.acct.Operator(), visitor.SignInRequest{
		Location: r.site.ID, Type: r.PostFormValue("type"), Visitor: formVisitor(r),
		Host: strings.TrimSpace(r.PostFormValue("host")),
	})
	if err != nil {
		s.fail(w, r, s.guestbookURL(r), err)
		return
	}
	s.ok(w, r, s.guestbookURL(r), "%s signed in (visit code %s).", v.Visitor.Name(), v.ID)
}

// invite pre-registers a visit.
func (s *server) invite(w http.ResponseWriter, r *request) {
	at, err := time.ParseInLocation("2006-01-02T15:04", r.PostFormValue("expected"), time.Local)
	if err != nil {
		s.sessions.addFlash(r.sess, "error", "Give the expected arrival as a date and a time.")
		http.Redirect(w, r.Request, s.guestbookURL(r), http.StatusSeeOther)
		return
	}
	v, err := s.desk.Engine.Invite(r.Context(), r.acct.Operator(), visitor.InviteRequest{
		Location: r.site.ID, Type: r.PostFormValue("type"), Visitor: formVisitor(r),
		Host: strings.TrimSpace(r.PostFormValue("host")), ExpectedAt: at,
	})
	if err != nil {
		s.fail(w, r, s.guestbookURL(r), err)
		return
	}
	s.ok(w, r, s.guestbookURL(r), "%s is invited for %s (visit code %s).", v.Visitor.Name(), fmtTime(v.ExpectedAt), v.ID)
}

// signInInvited signs in an invited visitor who arrived at the desk.
func (s *server) signInInvited(w http.ResponseWriter, r *request) {
	v, err := s.desk.Engine.SignIn(r.Context(), r.acct.Operator(), visitor.SignInRequest{VisitID: r.visit.ID, Location: r.site.ID})
	if err != nil {
		s.fail(w, r, s.guestbookURL(r), err)
		return
	}
	s.ok(w, r, s.guestbookURL(r), "%s signed in.", v.Visitor.Name())
}

// levelChoice is an access level on the Provision Badge form.
type levelChoice struct {
	ID, Name string
	Default  bool
}

// grantable returns the access levels the operator's groups may grant at
// the site, as the policy given to the engine says; the engine checks
// again on Provision, whatever the form sent.
func grantable(site *Site, acct *Account, typ string) []levelChoice {
	defaults := site.Policy.Types[typ].AccessLevels
	var out []levelChoice
	for _, g := range acct.Groups {
		for _, l := range site.Policy.OperatorGroups[g] {
			if !slices.ContainsFunc(out, func(c levelChoice) bool { return c.ID == l }) {
				out = append(out, levelChoice{ID: l, Name: site.LevelName(l), Default: slices.Contains(defaults, l)})
			}
		}
	}
	return out
}

// provisionPage is the Provision Badge form: the scan field (focused, for a
// keyboard wedge), the available badges (searchable), and the access
// levels the operator may grant.
func (s *server) provisionPage(w http.ResponseWriter, r *request) {
	pool, err := s.desk.Engine.Pool(r.site.ID)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	available, err := pool.List(r.Context(), badge.Filter{State: badge.Available})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	var shown []badge.Badge
	for _, b := range available {
		if q == "" || strings.HasPrefix(b.ID, q) || strings.Contains(strings.ToLower(b.Name), strings.ToLower(q)) {
			shown = append(shown, b)
		}
	}
	levels := grantable(r.site, r.acct, r.visit.Type)
	s.render(w, r, "provision", "Provision Badge", map[string]any{
		"Visit": newRow(r.site, r.visit), "Badges": shown, "Query": q, "Available": len(available),
		"Levels": levels, "FormatName": r.site.FormatName,
	})
}

// provision hands out the scanned or chosen badge with the chosen access
// level. A scanned ID that is not a badge, a badge that is not available
// and a level the operator may not grant are refused by the engine, and
// its refusal is shown.
func (s *server) provision(w http.ResponseWriter, r *request) {
	id := r.PostFormValue("scan")
	if strings.TrimSpace(id) == "" {
		id = r.PostFormValue("badge")
	}
	var levels []string
	for _, l := range r.PostForm["level"] {
		if l != "" {
			levels = append(levels, l)
		}
	}
	v, err := s.desk.Engine.Provision(r.Context(), r.acct.Operator(), r.visit.ID, visitor.ProvisionRequest{BadgeID: id, AccessLevels: levels})
	if err != nil {
		s.fail(w, r, "/l/"+r.site.ID+"/visits/"+r.visit.ID+"/provision", err)
		return
	}
	c := v.Current()
	status := "active"
	if c.Status != visitor.CredActive {
		status = string(c.Status) + ": the ACS has not confirmed it yet; the engine keeps trying"
	}
	s.ok(w, r, s.guestbookURL(r), "Badge %s provisioned for %s (%s).", c.BadgeID, v.Visitor.Name(), status)
}

// returnBadge takes the badge back; the visitor stays signed in.
func (s *server) returnBadge(w http.ResponseWriter, r *request) {
	v, err := s.desk.Engine.ReturnBadge(r.Context(), r.acct.Operator(), r.visit.ID)
	if err != nil {
		s.fail(w, r, s.guestbookURL(r), err)
		return
	}
	c := v.Current()
	s.ok(w, r, s.guestbookURL(r), "Badge %s returned (%s); %s stays signed in.", c.BadgeID, c.Status, v.Visitor.Name())
}

// signOutVisit signs a visitor out at the desk.
func (s *server) signOutVisit(w http.ResponseWriter, r *request) {
	v, err := s.desk.Engine.SignOut(r.Context(), r.acct.Operator(), r.visit.ID, visitor.ViaDesk)
	if err != nil {
		s.fail(w, r, s.guestbookURL(r), err)
		return
	}
	s.ok(w, r, s.guestbookURL(r), "%s signed out.", v.Visitor.Name())
}
