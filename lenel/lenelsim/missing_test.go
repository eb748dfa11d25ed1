package lenelsim

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// rawCall sends a request and returns the status, content type and body.
func (c *client) rawCall(method, path, query, body string) (int, string, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+path+"?"+query, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Application-Id", DefaultApplicationID)
	req.Header.Set("Session-Token", c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(data)
}

func TestMissingAnswers(t *testing.T) {
	want := map[MissingAnswer]struct {
		status int
		code   string // "" for a body that is not the JSON error
	}{
		MissingInvalidRequestItem: {400, CodeInvalidRequestItem},
		MissingNotFound:           {404, CodeInstanceNotFound},
		MissingServerError:        {500, CodeInternalError},
		MissingPlainNotFound:      {404, ""},
		MissingSuccess:            {200, ""},
	}
	for _, m := range MissingAnswers() {
		t.Run(m.String(), func(t *testing.T) {
			c := newClient(t, WithMissingAnswer(m))
			c.login()
			before := c.sim.Census()
			for _, method := range []string{"PUT", "DELETE"} {
				st, ctype, body := c.rawCall(method, BasePath+"/instances", "version=1.0",
					`{"type_name":"Lnl_Badge","property_value_map":{"BADGEKEY":77,"STATUS":3}}`)
				w := want[m]
				if st != w.status {
					t.Errorf("%s of a missing badge: HTTP %d, want %d", method, st, w.status)
				}
				switch {
				case w.code != "" && !strings.Contains(body, `"code":"`+w.code+`"`):
					t.Errorf("%s: body %s, want code %s", method, body, w.code)
				case m == MissingPlainNotFound && (!strings.HasPrefix(ctype, "text/html") || strings.Contains(body, "{")):
					t.Errorf("%s: %s body %s, want HTML", method, ctype, body)
				}
			}
			if c.sim.Census() != before {
				t.Error("answering for a missing instance changed the state")
			}
		})
	}
}

func TestOutsideBasePathIsHTML(t *testing.T) {
	c := newClient(t)
	st, ctype, body := c.rawCall("POST", "/authentication", "version=1.0", `{"user_name":"u","password":"p"}`)
	if st != 404 || !strings.HasPrefix(ctype, "text/html") || strings.Contains(body, "openaccess") {
		t.Errorf("POST outside the base path: %d %s %s", st, ctype, body)
	}
	c.sim.AddFault(Fault{Path: "/keepalive", Status: 502, RawBody: "<html>Bad Gateway</html>"})
	c.login()
	if st, ctype, body := c.rawCall("GET", BasePath+"/keepalive", "version=1.0", ""); st != 502 || !strings.HasPrefix(ctype, "text/html") || body != "<html>Bad Gateway</html>" {
		t.Errorf("raw fault: %d %s %s", st, ctype, body)
	}
}
