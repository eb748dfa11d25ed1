package acshttp_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// An adapter takes the visit's key before it looks the cardholder up, so
// that two concurrent provisions of one visit create one cardholder.
func ExampleKeyedMutex() {
	var locks acshttp.KeyedMutex
	var mu sync.Mutex
	created := map[string]int{}
	provision := func(ctx context.Context, externalID string) error {
		unlock, err := locks.Lock(ctx, "holder:"+externalID)
		if err != nil {
			return err // ctx ended while another call held the key
		}
		defer unlock()
		mu.Lock()
		defer mu.Unlock()
		if created[externalID] == 0 { // find, else create
			created[externalID]++
		}
		return nil
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { _ = provision(context.Background(), "visit-42") })
	}
	wg.Wait()
	fmt.Println("cardholders created:", created["visit-42"])
	// Output: cardholders created: 1
}

// An event poller waits longer after each failed poll in a row, and
// starts again at Min after a success. Rand is fixed here so that the
// waits print the same every time; adapters leave it nil.
func ExampleBackoff() {
	b := acshttp.Backoff{Min: time.Second, Max: 10 * time.Second, Rand: func() float64 { return 0 }}
	for range 5 {
		fmt.Print(b.Next(), " ")
	}
	b.Reset()
	fmt.Println("| after a success:", b.Next())
	// Output: 1s 2s 4s 8s 10s | after a success: 1s
}

// Many concurrent callers need a session; one login serves them all.
func ExampleSharedLogin() {
	type session struct {
		token   string
		renewAt time.Time
	}
	var logins int
	var mu sync.Mutex
	login := func(ctx context.Context, prev session) (session, error) {
		mu.Lock()
		defer mu.Unlock()
		logins++
		return session{token: fmt.Sprint("session-", logins), renewAt: time.Now().Add(time.Hour)}, nil
	}
	s := acshttp.SharedLogin[session]{Usable: func(v session) bool { return time.Now().Before(v.renewAt) }}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := s.Get(context.Background(), login); err != nil {
				fmt.Println(err)
			}
		})
	}
	wg.Wait()
	// The ACS refused the session: expire it, and the next call logs in.
	held, _ := s.Held()
	s.Expire(func(v session) bool { return v.token == held.token })
	next, _ := s.Get(context.Background(), login)
	fmt.Println("logins:", logins, "now using", next.token)
	// Output: logins: 2 now using session-2
}

// Sleep is the wait of a retry loop: it ends early with the context.
func ExampleSleep() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := acshttp.Sleep(ctx, time.Hour)
	fmt.Println(errors.Is(err, context.Canceled))
	// Output: true
}
