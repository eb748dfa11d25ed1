package alta

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// flexString reads a JSON string, number or null as text.
type flexString string

// UnmarshalJSON accepts "x", 12 and null.
func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		*f = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}

// userJSON is the part of an Alta user the adapter reads (§1.3).
type userJSON struct {
	ID         altaID     `json:"id"`
	Status     string     `json:"status"`
	StartDate  flexString `json:"startDate"`
	EndDate    flexString `json:"endDate"`
	ExternalID flexString `json:"externalId"`
	Identity   struct {
		Email     string     `json:"email"`
		FirstName flexString `json:"firstName"`
		LastName  flexString `json:"lastName"`
	} `json:"identity"`
	// Groups is nil when the answer did not list them.
	Groups    *[]idNameJSON `json:"groups"`
	CreatedAt string        `json:"createdAt"`
}

func (u *userJSON) groupIDs() []int64 {
	if u.Groups == nil {
		return nil
	}
	out := make([]int64, 0, len(*u.Groups))
	for _, g := range *u.Groups {
		out = append(out, int64(g.ID))
	}
	return out
}

// window returns the user's [startDate, endDate); zero times are open.
func (u *userJSON) window() (time.Time, time.Time) {
	from, _ := parseWireTime(string(u.StartDate))
	to, _ := parseWireTime(string(u.EndDate))
	return from, to
}

// visitorEmail is the e-mail address the adapter gives the user of an
// external ID: Alta requires an e-mail and keeps it unique, even across
// soft deletion (§1.3), so an address derived from the external ID makes
// the e-mail a second idempotency key that can never collide with a real
// person's account. The external ID is hashed because e-mail addresses
// compare without case and external IDs do not.
func (p *Provider) visitorEmail(externalID string) string {
	sum := sha256.Sum256([]byte(externalID))
	return "v-" + hex.EncodeToString(sum[:16]) + "@" + p.emailDomain
}

// isVisitorEmail reports whether an e-mail is one the adapter gives.
func (p *Provider) isVisitorEmail(email string) bool {
	local, domain, ok := strings.Cut(strings.ToLower(email), "@")
	return ok && domain == p.emailDomain && strings.HasPrefix(local, "v-") && len(local) == 34
}

// findUsers looks the users of an e-mail up: GET /users with q set to
// the address, every page, matched exactly here (q is a search, §1.8).
// With full set the search is skipped and every user is read: the answer
// does not then depend on what q searches. Alta keeps e-mails unique
// (§1.3), but should two creations of one visit both have passed, every
// user found is returned, sorted by ID (the survivor first, see
// converge).
func (p *Provider) findUsers(ctx context.Context, op, email string, full bool) ([]userJSON, error) {
	var query url.Values
	if !full {
		query = url.Values{"q": {email}}
	}
	var found []userJSON
	err := listAll(ctx, p, op, p.org("/users"), query, func(u userJSON) bool {
		if u.ID > 0 && strings.EqualFold(u.Identity.Email, email) && !slices.ContainsFunc(found, func(f userJSON) bool { return f.ID == u.ID }) {
			found = append(found, u)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(found, func(a, b userJSON) int { return cmp.Compare(a.ID, b.ID) })
	return found, nil
}

// userBody is the body of POST and PATCH /users.
type userBody struct {
	Identity        *identityBody `json:"identity,omitempty"`
	ExternalID      string        `json:"externalId,omitempty"`
	StartDate       string        `json:"startDate,omitempty"`
	EndDate         string        `json:"endDate,omitempty"`
	TimeZone        string        `json:"startAndEndDateTimeZoneId,omitempty"`
	HasRemoteUnlock *bool         `json:"hasRemoteUnlock,omitempty"`
}

type identityBody struct {
	Email     string `json:"email,omitempty"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
}

// wireZone is the zone the windows are given in; the timestamps carry Z
// as well, so it only matters to an Alta that reads dates without one.
const wireZone = "UTC"

// userFields is the body that makes a user carry the grant's person and
// window (without the e-mail, which only a creation sends).
func (r *provisionRun) userFields() userBody {
	no := false
	return userBody{
		Identity:   &identityBody{FirstName: strings.TrimSpace(r.g.Person.FirstName), LastName: strings.TrimSpace(r.g.Person.LastName)},
		ExternalID: r.g.Person.ExternalID, StartDate: r.from.Format(wireTime), EndDate: r.to.Format(wireTime),
		TimeZone: wireZone, HasRemoteUnlock: &no,
	}
}

// matchesGrant reports whether a user already carries the grant's names,
// external ID and window.
func (r *provisionRun) matchesGrant(u *userJSON) bool {
	from, to := u.window()
	return string(u.ExternalID) == r.g.Person.ExternalID &&
		strings.TrimSpace(string(u.Identity.FirstName)) == strings.TrimSpace(r.g.Person.FirstName) &&
		strings.TrimSpace(string(u.Identity.LastName)) == strings.TrimSpace(r.g.Person.LastName) &&
		from.Equal(r.from) && to.Equal(r.to)
}

// looksNew reports whether a user answered by POST /users is the one just
// created: created within two minutes of now, without groups, and carrying
// what was sent. Anything else may be an archived user brought back with
// its stale credentials (§1.3).
func (r *provisionRun) looksNew(u *userJSON) bool {
	created, ok := parseWireTime(u.CreatedAt)
	if !ok || u.Groups == nil || len(*u.Groups) > 0 || !r.matchesGrant(u) {
		return false
	}
	d := r.p.now().Sub(created)
	return d > -2*time.Minute && d < 2*time.Minute
}

// origin tells where the user answered by createUser comes from.
type origin int

const (
	created     origin = iota // made by this call
	broughtBack               // an archived user Alta brought back (§1.3), or possibly one
	existing                  // a live user that already had the e-mail
)

// originOf classifies a user answered to this call's creation.
func (r *provisionRun) originOf(u *userJSON) origin {
	if r.looksNew(u) {
		return created
	}
	return broughtBack
}

// createUser creates the visitor's user. A lost answer is followed by a
// lookup before one more try; an e-mail already in use (a concurrent or
// earlier creation) is looked up, the search first, then every user.
func (r *provisionRun) createUser(ctx context.Context) (userJSON, origin, error) {
	p, op := r.p, r.op
	body := r.userFields()
	body.Identity.Email = r.email
	var lastErr error
	for range 2 {
		resp, err := p.call(ctx, op, request{method: http.MethodPost, path: p.org("/users"), body: body})
		switch {
		case err != nil && !noAnswer(err):
			return userJSON{}, 0, err
		case err != nil:
			lastErr = err
			us, ferr := p.findUsers(ctx, op, r.email, false)
			if ferr != nil {
				return userJSON{}, 0, err
			}
			if len(us) > 0 {
				return us[0], r.originOf(&us[0]), nil
			}
			continue
		case ok2xx(resp):
			u, err := decodeData[userJSON](p, op, resp)
			if err == nil && u.ID <= 0 {
				err = acs.Errorf(op, Name, acs.Unknown, "user created without an ID")
			}
			return u, r.originOf(&u), err
		case resp.Status == http.StatusConflict || resp.Status == http.StatusBadRequest || resp.Status == http.StatusUnprocessableEntity:
			return r.existingUser(ctx, resp)
		default:
			return userJSON{}, 0, p.statusError(op, resp)
		}
	}
	return userJSON{}, 0, lastErr
}

// existingUser resolves a refused creation: the user of the e-mail is
// looked for (search, then every user); none means the refusal stands.
func (r *provisionRun) existingUser(ctx context.Context, resp *acshttp.Response) (userJSON, origin, error) {
	for _, full := range []bool{false, true} {
		us, err := r.p.findUsers(ctx, r.op, r.email, full)
		if err != nil {
			return userJSON{}, 0, err
		}
		if len(us) > 0 {
			return us[0], existing, nil
		}
	}
	return userJSON{}, 0, r.p.statusError(r.op, resp)
}

// adopt makes a user found or brought back carry the grant: its person
// and window (PATCH), status A (PUT /status), and, for a user that may be
// an archived one, no credential left from before (§1.3).
func (r *provisionRun) adopt(ctx context.Context, u *userJSON, stale bool) error {
	p, op := r.p, r.op
	uid := idSegment(u.ID)
	if stale {
		creds, _, err := p.userCredentials(ctx, op, int64(u.ID))
		if err != nil {
			return err
		}
		for _, c := range creds {
			if err := p.deleteCredential(ctx, op, int64(u.ID), int64(c.ID)); err != nil {
				return err
			}
		}
	}
	if !r.matchesGrant(u) {
		resp, err := p.call(ctx, op, request{method: http.MethodPatch, path: p.org("/users/" + uid), body: r.userFields(), idempotent: true})
		if err != nil {
			return err
		}
		if !ok2xx(resp) {
			return p.statusError(op, resp)
		}
	}
	if u.Status != "A" {
		resp, err := p.call(ctx, op, request{method: http.MethodPut, path: p.org("/users/" + uid + "/status"),
			body: map[string]string{"status": "A"}, idempotent: true})
		if err != nil {
			return err
		}
		if !ok2xx(resp) {
			return p.statusError(op, resp)
		}
	}
	return nil
}

// syncGroups makes the user a member of exactly want (PUT /groupIds
// replaces the set, §1.4), unless the user is listed with that set.
func (r *provisionRun) syncGroups(ctx context.Context, u *userJSON, known bool) error {
	p, op := r.p, r.op
	if known && u.Groups != nil && sameIDs(u.groupIDs(), r.groups) {
		return nil
	}
	resp, err := p.call(ctx, op, request{method: http.MethodPut, path: p.org("/users/" + idSegment(u.ID) + "/groupIds"),
		body: map[string][]int64{"groupIds": r.groups}, idempotent: true})
	if err != nil {
		return err
	}
	if ok2xx(resp) {
		return nil
	}
	if resp.Status == http.StatusBadRequest || resp.Status == http.StatusNotFound || resp.Status == http.StatusUnprocessableEntity {
		// Perhaps a group vanished since it was listed: ask again.
		p.cat.forgetGroups()
		if err := p.ensureGroups(ctx, op, r.groups); err != nil {
			return err
		}
	}
	return p.statusError(op, resp)
}

func sameIDs(a, b []int64) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
