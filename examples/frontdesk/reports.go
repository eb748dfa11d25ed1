package main

// Muster (who is inside now, from door events), a visit's audit trail
// with its CSV export, and the simulators' door panel.

import (
	"net/http"
	"net/url"

	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
)

func (s *server) musterPage(w http.ResponseWriter, r *request) {
	rep, err := s.desk.Engine.Muster(r.Context(), r.site.ID)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, "muster", "Muster", map[string]any{"Report": rep})
}

func (s *server) musterCSV(w http.ResponseWriter, r *request) {
	rep, err := s.desk.Engine.Muster(r.Context(), r.site.ID)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="muster-`+r.site.ID+`.csv"`)
	if err := rep.WriteCSV(w); err != nil {
		s.log.Error("writing the muster CSV", "err", err)
	}
}

// auditLine is one audit record as the timeline shows it.
type auditLine struct {
	visitor.AuditRecord
	Levels []string
}

func (s *server) auditPage(w http.ResponseWriter, r *request) {
	recs, err := s.desk.Engine.Audit(r.Context(), visitor.AuditQuery{VisitID: r.visit.ID})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	lines := make([]auditLine, len(recs))
	for i, rec := range recs {
		lines[i].AuditRecord = rec
		for _, l := range rec.AccessLevels {
			lines[i].Levels = append(lines[i].Levels, r.site.LevelName(l))
		}
	}
	s.render(w, r, "audit", "Audit", map[string]any{"Visit": newRow(r.site, r.visit), "Lines": lines})
}

// auditCSV exports the visit's audit trail as CSV, straight from the
// engine's export.
func (s *server) auditCSV(w http.ResponseWriter, r *request) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="audit-`+r.visit.ID+`.csv"`)
	if err := s.desk.Engine.ExportAudit(r.Context(), w, visitor.AuditQuery{VisitID: r.visit.ID}, visitor.CSV); err != nil {
		s.log.Error("exporting an audit trail", "visit", r.visit.ID, "err", err)
	}
}

// doorsPage is the door panel of a simulated site: present any pool badge
// at any door and see the simulator's decision.
func (s *server) doorsPage(w http.ResponseWriter, r *request) {
	if r.site.Doors == nil {
		s.render(w, r, "doors", "Door panel", map[string]any{"Real": true})
		return
	}
	pool, err := s.desk.Engine.Pool(r.site.ID)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	badges, err := pool.List(r.Context(), badge.Filter{})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, "doors", "Door panel", map[string]any{
		"Doors": r.site.Doors.Doors(), "Badges": badges, "Swipes": r.site.Swipes(),
		"Badge": r.URL.Query().Get("badge"), "Door": r.URL.Query().Get("door"),
	})
}

// swipe presents a badge at a door of the simulator.
func (s *server) swipe(w http.ResponseWriter, r *request) {
	pool, err := s.desk.Engine.Pool(r.site.ID)
	if err != nil {
		s.fail(w, r, "/l/"+r.site.ID+"/doors", err)
		return
	}
	id, door := r.PostFormValue("badge"), r.PostFormValue("door")
	back := "/l/" + r.site.ID + "/doors?badge=" + url.QueryEscape(id) + "&door=" + url.QueryEscape(door)
	b, err := pool.Get(r.Context(), id)
	if err != nil {
		s.fail(w, r, back, err)
		return
	}
	sw, err := r.site.SwipeAt(b, door)
	if err != nil {
		s.fail(w, r, back, err)
		return
	}
	if sw.Granted {
		s.ok(w, r, back, "Granted: badge %s opened %s.", sw.BadgeID, sw.Door)
		return
	}
	s.sessions.addFlash(r.sess, "error", "Denied: badge "+sw.BadgeID+" did not open "+sw.Door+".")
	http.Redirect(w, r.Request, back, http.StatusSeeOther)
}
