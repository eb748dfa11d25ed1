// Command custom-adapter shows how an integrator adds an access control
// system to acsbridge: Acme (acme.go) implements acs.Provider for an
// imaginary controller in about 200 lines, and the conformance kit in
// package acstest checks it against the controller's real state, the same
// kit the Genetec, Lenel and Brivo adapters pass. A stand-in controller
// (controller.go) runs on loopback so the program needs no hardware.
//
//	go run ./examples/custom-adapter
//	go test ./examples/custom-adapter
package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := acstest.Verify(ctx, func() (acstest.Harness, error) { return newHarness() })
	if err != nil {
		fmt.Fprintln(os.Stderr, "the acme adapter breaks the contract:")
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("the acme adapter keeps all %d rules of the acs contract\n", len(acstest.Rules()))
}

// harness gives the kit the adapter and an oracle into the controller.
type harness struct {
	srv  *httptest.Server
	ctrl *controller
	p    *Acme
}

func newHarness() (*harness, error) {
	ctrl := newController("acme-demo-key")
	srv := httptest.NewServer(ctrl)
	p, err := NewAcme(srv.URL, "acme-demo-key", srv.Client())
	if err != nil {
		srv.Close()
		return nil, err
	}
	return &harness{srv: srv, ctrl: ctrl, p: p}, nil
}

func (h *harness) Provider() acs.Provider { return h.p }
func (h *harness) AccessLevels() []string { return []string{"lobby", "lab"} }
func (h *harness) Now() time.Time         { return time.Now() }
func (h *harness) Close() error           { h.srv.Close(); return nil }

func (h *harness) Opens(_ context.Context, ref acs.CredentialRef, level string, at time.Time) (bool, error) {
	return h.ctrl.opens(ref.ID, level, at), nil
}

func (h *harness) Census(context.Context) (acstest.Census, error) {
	people, cards := h.ctrl.census()
	return acstest.Census{Cardholders: people, Credentials: cards}, nil
}
