package main

// The kiosk: visitors sign themselves in or out by name or visit code.
// It needs no operator; the engine records the kiosk as the actor.

import (
	"errors"
	"net/http"
	"strings"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/visitor"
)

// kioskOperator is who the engine records for what visitors do at the
// location's kiosk. It belongs to no group: it may grant nothing.
func kioskOperator(site *Site) visitor.Operator {
	return visitor.Operator{ID: "kiosk-" + site.ID}
}

func (s *server) kioskPage(w http.ResponseWriter, r *request) {
	p := page{Title: "Welcome to " + r.site.Name, Site: r.site, Kiosk: true, Data: map[string]any{}}
	s.write(w, r.Request, r.sess, http.StatusOK, "kiosk", p)
}

func (s *server) kioskURL(r *request) string { return "/kiosk/" + r.site.ID }

// normalizeCode turns what a visitor typed into a visit code: upper case,
// without spaces, with the dash after four characters.
func normalizeCode(in string) string {
	c := strings.ToUpper(strings.Join(strings.Fields(in), ""))
	if len(c) == 8 && !strings.Contains(c, "-") {
		c = c[:4] + "-" + c[4:]
	}
	return c
}

// findByName returns the visits at the site in one of the states whose
// visitor has this first and last name (case-insensitively).
func (s *server) findByName(r *request, first, last string, states ...visitor.State) ([]visitor.Visit, error) {
	all, err := s.desk.Engine.Visits(r.Context(), visitor.VisitFilter{Location: r.site.ID, States: states})
	if err != nil {
		return nil, err
	}
	var out []visitor.Visit
	for _, v := range all {
		if strings.EqualFold(v.Visitor.FirstName, first) && strings.EqualFold(v.Visitor.LastName, last) {
			out = append(out, v)
		}
	}
	return out, nil
}

// kioskSignIn signs a visitor in: by visit code (an invitation), or by
// name (their invitation when there is exactly one, else as a walk-in).
func (s *server) kioskSignIn(w http.ResponseWriter, r *request) {
	op := kioskOperator(r.site)
	code := normalizeCode(r.PostFormValue("code"))
	first, last := strings.TrimSpace(r.PostFormValue("first")), strings.TrimSpace(r.PostFormValue("last"))
	req := visitor.SignInRequest{Location: r.site.ID}
	switch {
	case code != "":
		v, err := s.desk.Engine.Visit(r.Context(), code)
		if err != nil || v.Location != r.site.ID {
			s.kioskFail(w, r, "We found no invitation with that code. Please check it, or sign in with your name.")
			return
		}
		req.VisitID = code
	case first != "" || last != "":
		invited, err := s.findByName(r, first, last, visitor.Invited, visitor.Expected)
		if err != nil {
			s.kioskFail(w, r, "Signing in does not work right now. Please ask at the front desk.")
			return
		}
		if len(invited) == 1 {
			req.VisitID = invited[0].ID
		} else {
			req.Visitor = visitor.Visitor{FirstName: first, LastName: last}
		}
	default:
		s.kioskFail(w, r, "Please enter your name or your visit code.")
		return
	}
	v, err := s.desk.Engine.SignIn(r.Context(), op, req)
	if err != nil {
		s.kioskFail(w, r, kioskMessage(err))
		return
	}
	s.ok(w, r, s.kioskURL(r), "Welcome, %s! You are signed in. Your visit code is %s.", v.Visitor.FirstName, v.ID)
}

// kioskSignOut signs a visitor out by visit code, or by name when exactly
// one signed-in visitor has it.
func (s *server) kioskSignOut(w http.ResponseWriter, r *request) {
	code := normalizeCode(r.PostFormValue("code"))
	first, last := strings.TrimSpace(r.PostFormValue("first")), strings.TrimSpace(r.PostFormValue("last"))
	var id string
	switch {
	case code != "":
		v, err := s.desk.Engine.Visit(r.Context(), code)
		if err != nil || v.Location != r.site.ID || v.State != visitor.SignedIn {
			s.kioskFail(w, r, "We found nobody signed in with that code. Please check it, or ask at the front desk.")
			return
		}
		id = v.ID
	case first != "" && last != "":
		found, err := s.findByName(r, first, last, visitor.SignedIn)
		switch {
		case err != nil:
			s.kioskFail(w, r, "Signing out does not work right now. Please ask at the front desk.")
			return
		case len(found) == 0:
			s.kioskFail(w, r, "We found nobody signed in by that name. Please check it, or use your visit code.")
			return
		case len(found) > 1:
			s.kioskFail(w, r, "Several visitors have that name. Please sign out with your visit code.")
			return
		}
		id = found[0].ID
	default:
		s.kioskFail(w, r, "Please enter your first and last name, or your visit code.")
		return
	}
	v, err := s.desk.Engine.SignOut(r.Context(), kioskOperator(r.site), id, visitor.ViaKiosk)
	if err != nil {
		s.kioskFail(w, r, kioskMessage(err))
		return
	}
	s.ok(w, r, s.kioskURL(r), "Goodbye, %s! You are signed out. Please leave your badge at the desk.", v.Visitor.FirstName)
}

func (s *server) kioskFail(w http.ResponseWriter, r *request, msg string) {
	s.sessions.addFlash(r.sess, "error", msg)
	http.Redirect(w, r.Request, s.kioskURL(r), http.StatusSeeOther)
}

// kioskMessage words an engine refusal for a visitor: what to fix when it
// is their input, otherwise to ask at the desk (the details are in the
// audit trail).
func kioskMessage(err error) string {
	if acs.CodeOf(err) != acs.InvalidArgument {
		return "We could not do that here. Please ask at the front desk."
	}
	msg := "what you entered is not valid"
	for e := err; e != nil; e = errors.Unwrap(e) {
		if ae, ok := e.(*acs.Error); ok && ae.Message != "" {
			msg = ae.Message
		}
	}
	return "Please check what you entered: " + msg + "."
}
