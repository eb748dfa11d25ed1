package netbox

import (
	"io"
	"log"
	"net/http/httptest"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/netbox/netboxsim"
)

// Plain http only to loopback unless allowed; certificates are checked.
func TestTransportPolicy(t *testing.T) {
	cfg := Config{URL: "http://controller.example" + netboxsim.Path, Username: "u", Password: "p"}
	if _, err := New(cfg); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("plain http to a remote host: %v", err)
	}
	if _, err := New(cfg, WithAllowInsecureHTTP()); err != nil {
		t.Errorf("plain http allowed: %v", err)
	}
	srv := httptest.NewUnstartedServer(netboxsim.New())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	cfg.URL = srv.URL + netboxsim.Path
	cfg.Username, cfg.Password = netboxsim.DefaultUsername, netboxsim.DefaultPassword
	p, err := New(cfg, WithRetry(-1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Ping(t.Context()); acs.CodeOf(err) != acs.Misconfigured {
		t.Errorf("an unknown certificate: %v", err)
	}
	p, err = New(cfg, WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Ping(t.Context()); err != nil {
		t.Errorf("the server's own certificate: %v", err)
	}
	_ = p.Close(t.Context())
	if _, err := New(cfg, WithHTTPClient(srv.Client()), WithTLS(TLSOptions{InsecureSkipVerify: true})); acs.CodeOf(err) != acs.InvalidArgument {
		t.Errorf("WithHTTPClient and WithTLS together: %v", err)
	}
	for _, bad := range []Config{
		{URL: cfg.URL, Password: "p"},
		{URL: cfg.URL, Username: "u"},
		{URL: cfg.URL, Username: "u", Password: "p", TimeZone: "Mars/Olympus"},
		{URL: cfg.URL, Username: "u", Password: "p", PersonIDPrefix: "a-prefix-far-too-long-"},
		{URL: cfg.URL, Username: "u", Password: "p", Layouts: []Layout{{Name: "x", Format: 99}}},
		{URL: cfg.URL, Username: "u", Password: "p", Layouts: []Layout{{Name: "x"}}},
		{URL: cfg.URL, Username: "u", Password: "p", Layouts: []Layout{{Name: "x", Format: acs.H10301, Facility: 1}, {Name: "y", Format: acs.H10301, Facility: 1}}},
		{URL: "ftp://x", Username: "u", Password: "p"},
	} {
		if _, err := New(bad); acs.CodeOf(err) != acs.InvalidArgument {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}
