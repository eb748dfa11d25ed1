package chaos_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/harness/chaos"
	"github.com/acsbridge/acsbridge/visitor"
)

// idleConns ignores the goroutines of idle keep-alive HTTP connections
// (the client's two, the test server's one), which net/http keeps until
// one side closes the connection or the idle timeout.
var idleConns = []goleak.Option{
	goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
	goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	goleak.IgnoreAnyFunction("net/http.(*conn).serve"),
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// TestNoGoroutineLeak runs each adapter through every operation (with
// faults), its event stream and, for lenel, its keepalive loop ticking
// every few milliseconds; after Close (and the end of Events) no goroutine
// of the adapter may be left. Goroutines of idle keep-alive connections
// are counted and then must end once the server closes the connections.
func TestNoGoroutineLeak(t *testing.T) {
	ctx := context.Background()
	clock := visitor.NewManualClock(t0)
	sec := chaos.DistinctSecrets()
	sims := chaos.StartSims(chaos.SimConfig{Clock: clock.Now, Secrets: sec, Seed: 4})
	defer sims.Close()
	sims.SetFaultRate(0.2)
	for _, site := range sims.Sites {
		t.Run(site.Kind, func(t *testing.T) {
			base := goleak.IgnoreCurrent()
			p, err := chaos.NewSiteProvider(site.Info(), chaos.ProviderConfig{Clock: clock.Now, Secrets: sec, LenelKeepAlive: 3 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			h := &haystack{}
			providerCalls(ctx, h, p, site, clock.Now(), 5)
			for _, pn := range h.panics {
				t.Error(pn)
			}
			if es, ok := p.(acs.EventSource); ok {
				ectx, cancel := context.WithCancel(ctx)
				done := make(chan error, 1)
				before := site.Requests()
				go func() { done <- es.Events(ectx, "", func(acs.DoorEvent) error { return nil }) }()
				waitFor(t, "the event stream's requests", func() bool { return site.Requests() > before })
				c, ok := p.(acs.Closer)
				if ok {
					// Close must end a running stream by itself.
					if err := c.Close(ctx); err != nil && !errors.Is(err, acs.ErrUnavailable) && !errors.Is(err, acs.ErrRateLimited) {
						t.Logf("close: %v", err)
					}
				} else {
					cancel()
				}
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Fatal("Events did not return after Close or cancel")
				}
				cancel()
			}
			if site.Kind == chaos.Lenel {
				waitFor(t, "a keepalive request", func() bool {
					for _, r := range sims.Lenel.Requests() {
						if r.Path == "/keepalive" {
							return true
						}
					}
					return false
				})
			}
			chaos.CloseProviders([]acs.Provider{p})
			if err := goleak.Find(append([]goleak.Option{base}, idleConns...)...); err != nil {
				t.Errorf("goroutines left after Close:\n%v", err)
			}
			left := countIdleConnGoroutines()
			site.CloseClientConnections()
			if err := goleak.Find(base); err != nil {
				t.Errorf("goroutines left after Close and the server closing its connections:\n%v", err)
			}
			t.Logf("%s: %d calls; %d idle-connection goroutines left after Close until the server hung up", site.Kind, h.calls, left)
		})
	}
}

func countIdleConnGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "net/http.(*persistConn).readLoop")
}

// TestEngineRunNoGoroutineLeak runs the Engine's Run and RunDoorEvents
// against every adapter until their context ends: both return and
// leave no goroutine behind.
func TestEngineRunNoGoroutineLeak(t *testing.T) {
	base := goleak.IgnoreCurrent()
	func() {
		e := newEnv(t, envConfig{seed: 8, badges: 5})
		e.sims.SetFaultRate(0.2)
		ctx, cancel := context.WithCancel(context.Background())
		runDone := make(chan error, 1)
		doorDone := make(chan error, 1)
		go func() { runDone <- e.engine.Run(ctx) }()
		go func() { doorDone <- e.engine.RunDoorEvents(ctx) }()
		for i := range 20 {
			if err := e.driver.Lifecycle(ctx, i, chaos.WalkIn); err != nil && !isLenelLostDelete(err) {
				t.Error(err)
			}
			e.clock.Advance(11 * time.Second) // a tick of Run's interval
		}
		before := e.sims.Requests()
		waitFor(t, "requests of the door event consumers", func() bool { return e.sims.Requests() > before+6 })
		cancel()
		for _, ch := range []chan error{runDone, doorDone} {
			select {
			case err := <-ch:
				if err != nil {
					t.Errorf("run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run or RunDoorEvents did not return after its context ended")
			}
		}
		chaos.CloseProviders(e.providers)
		e.sims.Close()
	}()
	if err := goleak.Find(base); err != nil {
		t.Errorf("goroutines left after Run and RunDoorEvents returned and the providers were closed:\n%v", err)
	}
}
