package genetec_test

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
)

// pipeNet connects an HTTP client to a server through net.Pipe: no
// kernel buffers, a write completes only when the other side has read it,
// and every wait is one testing/synctest can see.
type pipeNet struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	read  atomic.Int64 // bytes the client side has read
}

func newPipeNet() *pipeNet { return &pipeNet{conns: make(chan net.Conn), done: make(chan struct{})} }

func (p *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-p.conns:
		return c, nil
	case <-p.done:
		return nil, net.ErrClosed
	}
}

func (p *pipeNet) Close() error { p.once.Do(func() { close(p.done) }); return nil }

func (p *pipeNet) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80} }

func (p *pipeNet) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case p.conns <- server:
		return &countingConn{Conn: client, n: &p.read}, nil
	case <-p.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// TestEventsBackPressure blocks the caller's function on the first of
// 1000 events: the adapter stops reading, holds at most its read buffers,
// and leaves the rest with the server. Then, with a server that drops a
// client falling 300 parts behind, the dropped stream is caught up from
// the report: every event once, in order.
func TestEventsBackPressure(t *testing.T) {
	const n = 1000
	for _, tc := range []struct {
		name      string
		streamBuf int
	}{
		{"server buffers", n + 1},
		{"server drops the slow client", 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sim := genetecsim.New(genetecsim.WithKeepAliveInterval(10*time.Second), genetecsim.WithStreamBuffer(tc.streamBuf))
				pn := newPipeNet()
				srv := &http.Server{Handler: sim}
				go srv.Serve(pn)
				tr := &http.Transport{DialContext: pn.dial}
				p, err := genetec.New(testConfig("http://127.0.0.1"), genetec.WithHTTPClient(&http.Client{Transport: tr}),
					genetec.WithEvents(genetec.EventOptions{Lookback: time.Hour}))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := p.Provision(context.Background(), acs.Grant{
					Person: acs.Person{ExternalID: "visit-1", FirstName: "Ada"}, Card: grant(1).Card,
					AccessLevels: []string{genetecsim.SeedLobbyGroup}, ValidFrom: time.Now(), ValidUntil: time.Now().Add(24 * time.Hour),
				}); err != nil {
					t.Fatal(err)
				}

				release := make(chan struct{})
				var mu sync.Mutex
				var got []acs.DoorEvent
				fn := func(e acs.DoorEvent) error {
					mu.Lock()
					got = append(got, e)
					first := len(got) == 1
					mu.Unlock()
					if first {
						<-release
					}
					return nil
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- p.Events(ctx, "", fn) }()
				var unblock sync.Once
				var stopped error
				stop := func() error {
					unblock.Do(func() { close(release) })
					cancel()
					if err := <-done; err != nil {
						stopped = err
					}
					srv.Close()
					tr.CloseIdleConnections()
					pn.Close()
					return stopped
				}
				var stopOnce sync.Once
				t.Cleanup(func() { stopOnce.Do(func() { stop() }) })
				synctest.Wait() // subscribed, caught up, waiting on the stream

				// One swipe a second of the bubble's clock (one badge at one
				// door makes at most one event a second).
				base := time.Now()
				swipe := func(i int) {
					if i > 0 {
						time.Sleep(time.Second)
					}
					if _, err := sim.Swipe(genetecsim.SeedLobbyDoor, card(1), time.Now()); err != nil {
						t.Fatal(err)
					}
				}
				swipe(0)
				synctest.Wait() // the function has the first event and blocks
				before := pn.read.Load()
				for i := 1; i < n; i++ {
					swipe(i)
				}
				synctest.Wait() // the server's writer is blocked too
				mu.Lock()
				calls := len(got)
				mu.Unlock()
				held := pn.read.Load() - before
				server := "the server dropped the connection"
				if s := sim.Streams(); len(s) == 1 {
					server = itoa(s[0].Pending) + " parts pending at the server"
				}
				t.Logf("while the function blocked: %d call, %d more bytes read by the adapter, %s", calls, held, server)
				if calls != 1 {
					t.Fatalf("%d calls while the first one blocked", calls)
				}
				// The adapter's 16 KiB buffer, the transport's 4 KiB one, and
				// the part being read.
				if held > 24<<10 {
					t.Fatalf("the adapter read %d bytes ahead of a blocked function", held)
				}
				if s := sim.Streams(); tc.streamBuf > n && (len(s) != 1 || s[0].Pending < n-2-int(held/200)) {
					t.Fatalf("the server does not hold the backlog: %+v", s)
				}

				unblock.Do(func() { close(release) })
				synctest.Wait()
				for {
					mu.Lock()
					k := len(got)
					mu.Unlock()
					if k >= n {
						break
					}
					select {
					case err := <-done:
						t.Fatalf("Events returned %v after %d events", err, k)
					case <-time.After(time.Second): // fake time: lets a reconnection's backoff pass
					}
				}
				var err2 error
				stopOnce.Do(func() { err2 = stop() })
				if acs.CodeOf(err2) != acs.Canceled {
					t.Fatalf("Events returned %v", err2)
				}

				if len(got) != n {
					t.Fatalf("%d events, want %d", len(got), n)
				}
				for i, e := range got {
					if !e.Time.Equal(base.Add(time.Duration(i) * time.Second)) {
						t.Fatalf("event %d at %v, want %v", i, e.Time, base.Add(time.Duration(i)*time.Second))
					}
				}
				streams := 0
				for _, r := range sim.Requests() {
					if r.Method == "GET" && r.Path == "events" {
						streams++
					}
				}
				t.Logf("%d events delivered once each over %d stream(s)", len(got), streams)
				if tc.streamBuf < n && streams < 2 {
					t.Fatal("the server never dropped the slow client")
				}
			})
		})
	}
}
