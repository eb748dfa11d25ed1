package main

// The admin page of a location: Test Connection, Refresh Provider (the
// ACS's access levels and badge types), Security Badges, and the policy
// the engine runs with (operator groups and the access levels they may
// grant, visitor types).

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/badge"
)

// groupRow is an operator group and the access levels it may grant.
type groupRow struct {
	Group     string
	Levels    []string
	Operators []string
	Security  bool
}

// typeRow is a visitor type of the policy.
type typeRow struct {
	Name      string
	Default   bool
	Levels    []string
	Forbidden []string
	Duration  time.Duration
}

func (s *server) adminPage(w http.ResponseWriter, r *request) {
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
	levels, formats, refreshed := r.site.Catalog()
	pol := r.site.Policy
	var groups []groupRow
	for g, ls := range pol.OperatorGroups {
		row := groupRow{Group: g, Security: slices.Contains(pol.SecurityGroups, g)}
		for _, l := range ls {
			row.Levels = append(row.Levels, r.site.LevelName(l))
		}
		for _, a := range s.desk.Operators.List() {
			if slices.Contains(a.Groups, g) {
				row.Operators = append(row.Operators, a.ID)
			}
		}
		groups = append(groups, row)
	}
	slices.SortFunc(groups, func(a, b groupRow) int { return strings.Compare(a.Group, b.Group) })
	var types []typeRow
	for name, t := range pol.Types {
		row := typeRow{Name: name, Default: name == pol.DefaultType, Duration: t.AccessDuration}
		for _, l := range t.AccessLevels {
			row.Levels = append(row.Levels, r.site.LevelName(l))
		}
		for _, l := range t.Forbidden {
			row.Forbidden = append(row.Forbidden, r.site.LevelName(l))
		}
		types = append(types, row)
	}
	slices.SortFunc(types, func(a, b typeRow) int { return strings.Compare(a.Name, b.Name) })
	s.render(w, r, "admin", "Admin", map[string]any{
		"Provider": r.site.Provider.Name(), "Levels": levels, "Formats": formats, "Refreshed": refreshed,
		"Badges": badges, "Groups": groups, "Types": types, "AutoSignOut": pol.AutoSignOut,
		"FormatName": r.site.FormatName,
	})
}

func (s *server) adminURL(r *request) string { return "/l/" + r.site.ID + "/admin" }

// testConnection asks the ACS whether the connection and its credentials
// work.
func (s *server) testConnection(w http.ResponseWriter, r *request) {
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	start := time.Now()
	if err := r.site.Provider.Ping(ctx); err != nil {
		s.fail(w, r, s.adminURL(r), err)
		return
	}
	s.ok(w, r, s.adminURL(r), "Connection to %s works (%s).", r.site.Provider.Name(), time.Since(start).Round(time.Millisecond))
}

// refreshProvider reads the ACS's access levels and badge types again.
func (s *server) refreshProvider(w http.ResponseWriter, r *request) {
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if err := r.site.Refresh(ctx); err != nil {
		s.fail(w, r, s.adminURL(r), err)
		return
	}
	levels, formats, _ := r.site.Catalog()
	s.ok(w, r, s.adminURL(r), "Refreshed from %s: %d access levels, %d badge types.", r.site.Provider.Name(), len(levels), len(formats))
}

// addBadge registers a security badge: a name, the badge's numeric ID and
// a badge type from the ACS. The badge package refuses an ID that is not
// a number, and says why.
func (s *server) addBadge(w http.ResponseWriter, r *request) {
	pool, err := s.desk.Engine.Pool(r.site.ID)
	if err != nil {
		s.fail(w, r, s.adminURL(r), err)
		return
	}
	b := r.site.NewBadge(r.PostFormValue("id"), strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("type"))
	added, err := pool.Add(r.Context(), b)
	if err != nil {
		s.fail(w, r, s.adminURL(r)+"#badges", err)
		return
	}
	s.ok(w, r, s.adminURL(r)+"#badges", "Badge %s (%s) added.", added.ID, added.Name)
}
