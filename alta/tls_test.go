package alta

import (
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/alta/altasim"
)

// Certificates are verified by default; a site's own CA is accepted with
// WithTLS.
func TestTLSVerifiedByDefault(t *testing.T) {
	clk := newFakeClock()
	srv := httptest.NewUnstartedServer(altasim.New(altasim.WithClock(clk.Now)))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()
	cfg := simConfig(srv.URL)

	p, err := New(cfg, testOptions(WithClock(clk.Now))...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Ping(t.Context()); acs.CodeOf(err) != acs.Misconfigured {
		t.Fatalf("self-signed certificate: %v, want misconfigured", err)
	}

	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	p, err = New(cfg, testOptions(WithClock(clk.Now), WithTLS(TLSOptions{CAFile: ca}))...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Ping(t.Context()); err != nil {
		t.Fatalf("with the site's CA: %v", err)
	}
}
