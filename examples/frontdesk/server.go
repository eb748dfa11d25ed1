package main

// The web server: routes, the checks every request passes (security
// headers, signed-in operator, CSRF token on every POST, location and
// visit lookups), and page rendering with html/template.

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/visitor"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// server serves the front desk of a Desk.
type server struct {
	desk     *Desk
	sessions *sessions
	pages    map[string]*template.Template
	log      *slog.Logger
	mux      *http.ServeMux
}

// newServer returns the front desk's HTTP handler. Session cookies are
// always marked Secure: browsers accept them from https and from the
// loopback address the demo listens on.
func newServer(d *Desk) (*server, error) {
	s := &server{desk: d, sessions: newSessions(8 * time.Hour), log: d.Log, mux: http.NewServeMux()}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	m := s.mux
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /{$}", s.home)
	m.HandleFunc("GET /signin", s.signInPage)
	m.HandleFunc("POST /signin", s.signIn)
	m.HandleFunc("POST /signout", s.operator(s.signOutOperator))

	m.HandleFunc("GET /l/{loc}/guestbook", s.operator(s.guestbook))
	m.HandleFunc("POST /l/{loc}/visits", s.operator(s.walkIn))
	m.HandleFunc("POST /l/{loc}/invitations", s.operator(s.invite))
	m.HandleFunc("POST /l/{loc}/visits/{id}/signin", s.operator(s.visit(s.signInInvited)))
	m.HandleFunc("GET /l/{loc}/visits/{id}/provision", s.operator(s.visit(s.provisionPage)))
	m.HandleFunc("POST /l/{loc}/visits/{id}/provision", s.operator(s.visit(s.provision)))
	m.HandleFunc("POST /l/{loc}/visits/{id}/return", s.operator(s.visit(s.returnBadge)))
	m.HandleFunc("POST /l/{loc}/visits/{id}/signout", s.operator(s.visit(s.signOutVisit)))
	m.HandleFunc("GET /l/{loc}/visits/{id}/audit", s.operator(s.visit(s.auditPage)))
	m.HandleFunc("GET /l/{loc}/visits/{id}/audit.csv", s.operator(s.visit(s.auditCSV)))
	m.HandleFunc("GET /l/{loc}/muster", s.operator(s.musterPage))
	m.HandleFunc("GET /l/{loc}/muster.csv", s.operator(s.musterCSV))
	m.HandleFunc("GET /l/{loc}/doors", s.operator(s.doorsPage))
	m.HandleFunc("POST /l/{loc}/doors/swipe", s.operator(s.swipe))
	m.HandleFunc("GET /l/{loc}/admin", s.admin(s.adminPage))
	m.HandleFunc("POST /l/{loc}/admin/test-connection", s.admin(s.testConnection))
	m.HandleFunc("POST /l/{loc}/admin/refresh", s.admin(s.refreshProvider))
	m.HandleFunc("POST /l/{loc}/admin/badges", s.admin(s.addBadge))

	m.HandleFunc("GET /kiosk/{loc}", s.kiosk(s.kioskPage))
	m.HandleFunc("POST /kiosk/{loc}/signin", s.kiosk(s.kioskSignIn))
	m.HandleFunc("POST /kiosk/{loc}/signout", s.kiosk(s.kioskSignOut))
	return s, nil
}

// ServeHTTP sets the security headers of every answer, then routes.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=63072000")
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	s.mux.ServeHTTP(w, r)
}

// request is what a handler gets: the session, the operator (nil at the
// kiosk), the site, and the visit for /visits/{id} routes.
type request struct {
	*http.Request
	sess  *session
	acct  *Account
	site  *Site
	visit visitor.Visit
}

type handler func(w http.ResponseWriter, r *request)

// withCSRF refuses a POST without the session's CSRF token.
func (s *server) withCSRF(w http.ResponseWriter, r *http.Request, sess *session) bool {
	if r.Method != http.MethodPost || checkCSRF(r, sess) {
		return true
	}
	s.log.Warn("refused a form without a valid CSRF token", "path", r.URL.Path)
	s.renderStatus(w, r, sess, http.StatusForbidden, "error", map[string]any{
		"Title":   "Form refused",
		"Message": "This form did not come from this front desk, or it has expired. Reload the page and try again.",
	})
	return false
}

// operator wraps h: a signed-in operator, a valid CSRF token on POST, and
// the location named by {loc}.
func (s *server) operator(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.sessions.get(r)
		var acct *Account
		if sess != nil {
			acct = s.desk.Operators.Get(sess.operator)
		}
		if acct == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/signin", http.StatusSeeOther)
				return
			}
			s.renderStatus(w, r, sess, http.StatusForbidden, "error", map[string]any{"Title": "Signed out", "Message": "Sign in first."})
			return
		}
		if !s.withCSRF(w, r, sess) {
			return
		}
		req := &request{Request: r, sess: sess, acct: acct}
		if loc := r.PathValue("loc"); loc != "" {
			if req.site = s.desk.Site(loc); req.site == nil {
				s.notFound(w, req)
				return
			}
		}
		h(w, req)
	}
}

// admin wraps h like operator, for operators with the admin role.
func (s *server) admin(h handler) http.HandlerFunc {
	return s.operator(func(w http.ResponseWriter, r *request) {
		if !r.acct.Admin {
			s.renderStatus(w, r.Request, r.sess, http.StatusForbidden, "error", map[string]any{
				"Title": "Admins only", "Message": "The admin pages are for operators with the admin role.",
			})
			return
		}
		h(w, r)
	})
}

// kiosk wraps h for the visitors' kiosk: no operator, but a session for
// the CSRF token, and the location named by {loc}.
func (s *server) kiosk(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var sess *session
		if r.Method == http.MethodGet {
			sess = s.sessions.start(w, r)
		} else {
			sess = s.sessions.get(r)
		}
		if !s.withCSRF(w, r, sess) {
			return
		}
		req := &request{Request: r, sess: sess, site: s.desk.Site(r.PathValue("loc"))}
		if sess != nil {
			req.acct = s.desk.Operators.Get(sess.operator)
		}
		if req.site == nil {
			s.notFound(w, req)
			return
		}
		h(w, req)
	}
}

// visit wraps h with the visit named by {id}, which must be at the
// location named by {loc}.
func (s *server) visit(h handler) handler {
	return func(w http.ResponseWriter, r *request) {
		v, err := s.desk.Engine.Visit(r.Context(), r.PathValue("id"))
		if err != nil || v.Location != r.site.ID {
			s.notFound(w, r)
			return
		}
		r.visit = v
		h(w, r)
	}
}

func (s *server) notFound(w http.ResponseWriter, r *request) {
	s.renderStatus(w, r.Request, r.sess, http.StatusNotFound, "error", map[string]any{"Title": "Not found", "Message": "There is no such page at this front desk."})
}

// ok and fail queue a message for the next page and redirect to it.
func (s *server) ok(w http.ResponseWriter, r *request, to, format string, args ...any) {
	s.sessions.addFlash(r.sess, "ok", fmt.Sprintf(format, args...))
	http.Redirect(w, r.Request, to, http.StatusSeeOther)
}

func (s *server) fail(w http.ResponseWriter, r *request, to string, err error) {
	s.sessions.addFlash(r.sess, "error", describe(err))
	http.Redirect(w, r.Request, to, http.StatusSeeOther)
}

// describe turns an error into the message an operator reads. Engine,
// badge and adapter errors say what happened and carry no secret (the
// adapters redact at the source), so they are shown as they are.
func describe(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "the access control system took too long to answer; try again"
	}
	return err.Error()
}

// page is the data every page gets.
type page struct {
	Title   string
	Acct    *Account
	Site    *Site
	Sites   []*Site
	CSRF    string
	Flashes []flash
	Kiosk   bool
	Data    any
	Now     time.Time
	Nav     string
}

func (s *server) parseTemplates() error {
	funcs := template.FuncMap{
		"when":  func(t time.Time) string { return fmtTime(t) },
		"clock": func(t time.Time) string { return fmtClock(t) },
		"join":  strings.Join,
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	s.pages = make(map[string]*template.Template)
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return err
		}
		s.pages[base] = t
	}
	return nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.Local()
	if y, m, d := t.Date(); y == time.Now().Year() && m == time.Now().Month() && d == time.Now().Day() {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02 15:04")
}

func fmtClock(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("15:04")
}

// render writes a page with status 200.
func (s *server) render(w http.ResponseWriter, r *request, name string, title string, data any) {
	p := page{Title: title, Acct: r.acct, Site: r.site, Data: data, Nav: name}
	s.write(w, r.Request, r.sess, http.StatusOK, name, p)
}

// renderStatus writes a simple page with a status.
func (s *server) renderStatus(w http.ResponseWriter, r *http.Request, sess *session, status int, name string, data map[string]any) {
	p := page{Title: fmt.Sprint(data["Title"]), Data: data}
	if sess != nil {
		p.Acct = s.desk.Operators.Get(sess.operator)
	}
	s.write(w, r, sess, status, name, p)
}

func (s *server) write(w http.ResponseWriter, r *http.Request, sess *session, status int, name string, p page) {
	t := s.pages[name]
	if t == nil {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	if sess != nil {
		p.CSRF = sess.csrf
		p.Flashes = s.sessions.takeFlashes(sess)
	}
	if p.Acct != nil {
		p.Sites = s.desk.Sites
	}
	p.Now = time.Now()
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.Error("rendering a page", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// home sends an operator to the first location's guestbook.
func (s *server) home(w http.ResponseWriter, r *http.Request) {
	sess := s.sessions.get(r)
	if sess == nil || s.desk.Operators.Get(sess.operator) == nil {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/l/"+s.desk.Sites[0].ID+"/guestbook", http.StatusSeeOther)
}

func (s *server) signInPage(w http.ResponseWriter, r *http.Request) {
	sess := s.sessions.start(w, r)
	if s.desk.Operators.Get(sess.operator) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.write(w, r, sess, http.StatusOK, "signin", page{Title: "Sign in"})
}

// signIn checks the operator's password and starts a new session, so that
// a session ID known before signing in is worth nothing after.
func (s *server) signIn(w http.ResponseWriter, r *http.Request) {
	sess := s.sessions.get(r)
	if !s.withCSRF(w, r, sess) {
		return
	}
	acct := s.desk.Operators.Check(r.PostFormValue("user"), r.PostFormValue("password"))
	if acct == nil {
		s.log.Info("sign-in refused")
		s.sessions.addFlash(sess, "error", "Unknown user name or wrong password.")
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	s.sessions.forget(sess)
	next := s.sessions.create(w, acct.ID)
	s.log.Info("operator signed in", "operator", acct.ID)
	s.sessions.addFlash(next, "ok", "Signed in as "+acct.Name+".")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *server) signOutOperator(w http.ResponseWriter, r *request) {
	s.sessions.end(w, r.sess)
	http.Redirect(w, r.Request, "/signin", http.StatusSeeOther)
}
