package brivo

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// parseBrivoFilter splits a filter value the way Brivo's grammar reads it:
// clauses on ';', field and operator on the first "__", values after the
// first ':' split on ','.
func parseBrivoFilter(s string) []term {
	var out []term
	for _, c := range strings.Split(s, ";") {
		field, rest, _ := strings.Cut(c, "__")
		op, vals, _ := strings.Cut(rest, ":")
		out = append(out, term{field, op, strings.Split(vals, ",")})
	}
	return out
}

// recorder is an http.RoundTripper answering like a small Brivo account
// and recording every request URL.
type recorder struct {
	mu   sync.Mutex
	urls []*url.URL
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	r.mu.Lock()
	u := *req.URL
	r.urls = append(r.urls, &u)
	r.mu.Unlock()
	status, body := http.StatusNotFound, `{"code":404,"message":"Not found"}`
	switch p := req.URL.EscapedPath(); {
	case p == "/oauth/token":
		status, body = 200, `{"access_token":"tok-0123456789","token_type":"bearer","refresh_token":"ref-0123456789","expires_in":300}`
	case p == "/v1/api/groups":
		status, body = 200, `{"data":[{"id":11906588,"name":"Lobby"}],"offset":0,"pageSize":100,"count":1}`
	case p == "/v1/api/credentials/formats":
		status, body = 200, `{"data":[{"id":100,"name":"Standard 26 Bit","credentialFields":[{"id":1,"name":"card_number"},{"id":2,"name":"facility_code"}]}],"count":1}`
	case req.Method == http.MethodGet && p == "/v1/api/credentials":
		status, body = 200, `{"data":[],"offset":0,"pageSize":100,"count":0}`
	case req.Method == http.MethodPost && p == "/v1/api/credentials":
		status, body = 201, `{"id":22197840,"credentialFormat":{"id":100},"referenceId":"1"}`
	case req.Method == http.MethodPost && p == "/v1/api/users":
		status, body = 200, `{"id":15540780,"externalId":"x"}`
	case req.Method == http.MethodPut:
		status, body = 204, ``
	}
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkURL fails unless u is one of the adapter's routes with every
// variable segment a decimal ID or exactly the escaped external ID, and
// its filter exactly the intended clauses.
func checkURL(t *testing.T, u *url.URL, name, ext string) {
	t.Helper()
	if u.Host != "brivo.test" {
		t.Fatalf("request to host %q", u.Host)
	}
	esc := u.EscapedPath()
	if esc == "/oauth/token" {
		if u.RawQuery != "" {
			t.Fatalf("token request with a query")
		}
		return
	}
	rest, ok := strings.CutPrefix(esc, "/v1/api/")
	if !ok {
		t.Fatalf("path %q outside the API", esc)
	}
	segs := strings.Split(rest, "/")
	if dec := strings.Split(strings.TrimPrefix(u.Path, "/v1/api/"), "/"); len(dec) != len(segs) {
		t.Fatalf("path %q decodes to %d segments, not %d", esc, len(dec), len(segs))
	}
	shape := make([]string, len(segs))
	for i, s := range segs {
		switch {
		case i == 1 && segs[0] == "users" && len(segs) == 3 && segs[2] == "external":
			dec, err := url.PathUnescape(s)
			if err != nil || dec != ext || s != url.PathEscape(ext) || acs.ValidateExternalID(dec) != nil || dec == "." || dec == ".." {
				t.Fatalf("external ID segment %q for %q", s, ext)
			}
			shape[i] = "EXT"
		case isDigits(s):
			shape[i] = "ID"
		default:
			shape[i] = s
		}
	}
	routes := []string{
		"groups", "credentials/formats", "credentials", "users", "users/EXT/external", "users/ID/credentials",
		"users/ID/credentials/ID", "credentials/ID", "credentials/ID/user", "users/ID/groups", "groups/ID/users/ID",
		"users/ID", "users/ID/credentials/digital-invitations",
	}
	if r := strings.Join(shape, "/"); !slices.Contains(routes, r) {
		t.Fatalf("path %q has shape %q, not a route", esc, r)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		t.Fatalf("query %q: %v", u.RawQuery, err)
	}
	for k, vs := range q {
		if len(vs) != 1 {
			t.Fatalf("query key %q repeated", k)
		}
		switch k {
		case "offset", "pageSize":
			if !isDigits(vs[0]) {
				t.Fatalf("%s=%q", k, vs[0])
			}
		case "filter":
			for _, c := range parseBrivoFilter(vs[0]) {
				switch c.field {
				case "name":
					if c.op != "eq" || !slices.Equal(c.values, []string{name}) {
						t.Fatalf("name filter %q widened to %+v", vs[0], c)
					}
				case "reference_id", "facility_code":
					if c.op != "eq" || len(c.values) != 1 || !isDigits(c.values[0]) {
						t.Fatalf("filter clause %+v", c)
					}
				case "status":
					if c.op != "eq" || len(c.values) != 1 || c.values[0] != "unassigned" && c.values[0] != "pending" && c.values[0] != "assigned" {
						t.Fatalf("filter clause %+v", c)
					}
				case "firstname":
					// The search for twins, under the grant's first name
					// ("Visitor" when it has none).
					want := name
					if want == "" {
						want = "Visitor"
					}
					if c.op != "eq" || !slices.Equal(c.values, []string{want}) {
						t.Fatalf("first-name filter %q widened to %+v", vs[0], c)
					}
				case "lastname":
					if c.op != "eq" || !slices.Equal(c.values, []string{"X"}) {
						t.Fatalf("last-name filter %q widened to %+v", vs[0], c)
					}
				default:
					t.Fatalf("filter %q has clause %+v", vs[0], c)
				}
			}
		default:
			t.Fatalf("unexpected query key %q", k)
		}
	}
}

// FuzzInjection feeds arbitrary names, external IDs and IDs to every
// operation that places a caller's value in a path or a filter, and checks
// each request sent: a value is escaped into exactly one path segment, or
// placed in a filter as exactly one value, or refused.
func FuzzInjection(f *testing.F) {
	for _, s := range [][3]string{
		{"a;b__eq:c", "visit-1", "11906588"},
		{"Lobby", "..", "1/2"},
		{"x,y", ".", "%2e%2e"},
		{"name__eq:", "a/b", "12;34"},
		{"100%", "a%2Fb", "-1"},
		{"R&D lab", "v.1", "00"},
		{" lead", "a?b", "1e5"},
		{"\x00", "a#b", "11906588?x=1"},
		{"Ω", "Ω", "٣"},
		{"a:b", "x;y", "9223372036854775807"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, name, ext, id string) {
		// The builders alone.
		if flt, err := buildFilter(term{"name", "eq", []string{name}}); err == nil {
			got := parseBrivoFilter(flt)
			if len(got) != 1 || got[0].field != "name" || got[0].op != "eq" || !slices.Equal(got[0].values, []string{name}) {
				t.Fatalf("filter for %q reads back as %+v", name, got)
			}
			if strings.Count(flt, ":") != 1 {
				t.Fatalf("filter %q has more than one ':'", flt)
			}
		}
		if seg, err := externalSegment("fuzz", ext); err == nil {
			if dec, derr := url.PathUnescape(seg); derr != nil || dec != ext || strings.ContainsAny(seg, "/?#") || seg == "." || seg == ".." {
				t.Fatalf("external ID %q escapes to segment %q", ext, seg)
			}
		} else if acs.CodeOf(err) != acs.InvalidArgument {
			t.Fatalf("external ID %q refused with %v", ext, err)
		}
		if n, err := parseID("fuzz", "ID", id); err == nil && (!isDigits(id) || idSegment(n) != strings.TrimLeft(id, "0")) {
			t.Fatalf("ID %q accepted as %d", id, n)
		}

		// The operations, through a recording transport.
		rec := &recorder{}
		p, err := New(Config{BaseURL: "https://brivo.test/v1/api", AuthURL: "https://brivo.test", ClientID: "id",
			ClientSecret: "secret", APIKey: "key", Username: "admin", Password: "pw"},
			WithHTTPClient(&http.Client{Transport: rec}), WithRateLimit(0, 0), WithRetry(-1, time.Millisecond, time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		now := time.Now()
		card := acs.Card{Format: acs.H10301, Facility: 1, Number: 200}
		_, _ = p.AccessLevelByName(ctx, name)
		_ = p.Revoke(ctx, acs.CredentialRef{ID: id, CardholderExternalID: ext, Card: card})
		_ = p.Revoke(ctx, acs.CredentialRef{ID: id})
		_ = p.Revoke(ctx, acs.CredentialRef{CardholderID: id, Card: card})
		_ = p.RemoveCardholder(ctx, acs.CardholderRef{ExternalID: ext})
		_ = p.RemoveCardholder(ctx, acs.CardholderRef{ID: id})
		_, _ = p.IssueMobilePass(ctx, acs.CardholderRef{ID: id, ExternalID: ext}, "a@example.com", now.Add(time.Hour))
		_, _ = p.Provision(ctx, acs.Grant{
			Person: acs.Person{ExternalID: ext, FirstName: name, LastName: "X"}, Card: card,
			AccessLevels: []string{id}, CredentialType: id, ValidFrom: now, ValidUntil: now.Add(time.Hour),
		})
		_, _ = p.Provision(ctx, acs.Grant{
			Person: acs.Person{ExternalID: ext, FirstName: name, LastName: "X"}, Card: card,
			AccessLevels: []string{id}, ValidFrom: now, ValidUntil: now.Add(time.Hour),
		})
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, u := range rec.urls {
			checkURL(t, u, name, ext)
		}
	})
}
