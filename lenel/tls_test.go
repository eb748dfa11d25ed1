package lenel

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
)

func TestTLSVerifiedByDefault(t *testing.T) {
	srv := httptest.NewUnstartedServer(lenelsim.New())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	cfg := Config{
		BaseURL:       srv.URL + lenelsim.BasePath,
		Username:      lenelsim.DefaultUser,
		Password:      lenelsim.DefaultPassword,
		ApplicationID: lenelsim.DefaultApplicationID,
	}
	p, err := New(cfg, WithKeepAlive(0), WithRetry(-1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Ping(t.Context()); acs.CodeOf(err) != acs.Misconfigured {
		t.Fatalf("self-signed server accepted without its CA: %v", err)
	}

	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	p, err = New(cfg, WithTLS(TLSOptions{CAFile: ca}), WithKeepAlive(0), WithRateLimit(1000, 10))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	if err := p.Ping(t.Context()); err != nil {
		t.Fatalf("with the site CA: %v", err)
	}
}
