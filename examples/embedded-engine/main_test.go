package main

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/internal/providers"
)

// The program runs against the OnGuard simulator, twice on one database
// (the badge is set up once), and leaves no credential active at the ACS.
func TestRunAgainstSimulator(t *testing.T) {
	sim := providers.Lenel.Simulate(providers.SimOptions{})
	srv := httptest.NewServer(sim.Handler)
	defer srv.Close()
	cfg := providers.Lenel.SimConfig(srv.URL)
	for s, v := range cfg {
		t.Setenv(s.Env(), v)
	}
	t.Setenv("ACS_LEVEL", sim.Levels[0])
	db := filepath.Join(t.TempDir(), "visits.db")
	for i := range 2 {
		var out bytes.Buffer
		if err := run(t.Context(), &out, db); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		if want := "signed_in with badge 1042 active\nsigned_out - credential revoked\n"; out.String() != want {
			t.Errorf("run %d printed %q, want %q", i+1, out.String(), want)
		}
	}
	p, err := providers.Lenel.Build(cfg, providers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.(acs.Closer).Close(t.Context())
	held := 0
	err = p.(acs.Inventory).Holdings(t.Context(), func(h acs.Holding) error {
		for _, c := range h.Credentials {
			held++
			if c.Active {
				t.Errorf("credential %s of %s is still active", c.Ref.ID, h.Cardholder.ExternalID)
			}
		}
		return nil
	})
	if err != nil || held == 0 {
		t.Errorf("holdings: %d credentials, %v", held, err)
	}
}

// The README shows this program exactly as it is, so it cannot go stale.
func TestREADMEShowsTheProgram(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	program := string(src[bytes.Index(src, []byte("package main")):])
	if !strings.Contains(string(readme), "```go\n"+program+"```\n") {
		t.Error("README.md does not show examples/embedded-engine/main.go from `package main` on, unchanged, in a go code block")
	}
}
