package netbox

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/acsbridge/acsbridge/netbox/netboxsim"
)

// The password and session IDs never reach an error or a log line, even
// when the controller echoes them.
func TestSecretsStayOut(t *testing.T) {
	var mu sync.Mutex
	var sessions []string
	newID := func() string {
		mu.Lock()
		defer mu.Unlock()
		id := strings.Repeat("5e55", 15) + string(rune('a'+len(sessions))) + "0f0"
		sessions = append(sessions, id)
		return id
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnv(t, envOpts{sim: []netboxsim.Option{netboxsim.WithSessionIDFunc(newID)}, opts: []Option{WithLogger(logger)}})
	ctx := t.Context()
	var errs []error
	note := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	note(e.p.Ping(ctx))
	e.sim.AddFault(netboxsim.Fault{Command: "GetPerson", Code: "FAIL", ErrMsg: "bad session " + sessions[0] + " for password " + netboxsim.DefaultPassword})
	_, err := e.p.Provision(ctx, e.grant(1))
	note(err)
	e.sim.AddFault(netboxsim.Fault{Command: "GetPerson", ExpireSession: true})
	e.sim.AddFault(netboxsim.Fault{Command: "AddPerson", HTTPStatus: http.StatusBadGateway, RawBody: netboxsim.DefaultPassword})
	_, err = e.p.Provision(ctx, e.grant(2))
	note(err)
	e.sim.AddFault(netboxsim.Fault{Command: "GetPerson", DropBefore: true, Times: 3})
	_, err = e.p.Provision(ctx, e.grant(3))
	note(err)
	note(e.p.Close(context.Background()))
	if len(errs) < 3 {
		t.Fatalf("only %d errors to look at: %v", len(errs), errs)
	}
	secrets := append([]string{netboxsim.DefaultPassword}, sessions...)
	for _, err := range errs {
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error shows a secret: %v", err)
			}
		}
	}
	for _, s := range secrets {
		if strings.Contains(logs.String(), s) {
			t.Errorf("log shows a secret:\n%s", logs.String())
		}
	}
	if !strings.Contains(errs[0].Error(), "[REDACTED]") {
		t.Errorf("the echoed secrets are not marked as redacted: %v", errs[0])
	}
}
