package simkit

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestPathMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, path string
		want          bool
	}{
		{"/users/*", "/users/42", true},
		{"/users/*", "/users/42/credentials", false},
		{"/users/*/credentials", "/users/42/credentials", true},
		{"/users", "/users/", true},
		{"/users", "/groups", false},
		{"*", "/x", true},
	} {
		if got := PathMatch(c.pattern, c.path); got != c.want {
			t.Errorf("PathMatch(%q, %q) = %v, want %v", c.pattern, c.path, got, c.want)
		}
	}
}

func TestWindowPerSecond(t *testing.T) {
	var w Window
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 900_000_000, time.UTC)
	for i := range 3 {
		if w.Over(t0, 3) {
			t.Fatalf("request %d of 3 in one second refused", i+1)
		}
	}
	if !w.Over(t0.Add(50*time.Millisecond), 3) {
		t.Fatal("a fourth request in the same second must be over the limit")
	}
	if w.Over(t0.Add(100*time.Millisecond), 3) {
		t.Fatal("a new second must start a new count, however close to the last request")
	}
	if w.Over(t0, 0) {
		t.Fatal("a limit of 0 is no limit")
	}
}

func TestWindowPerMinuteLeft(t *testing.T) {
	w := Window{Size: time.Minute}
	t0 := time.Date(2026, 12, 7, 9, 0, 40, 0, time.UTC)
	w.Over(t0, 1)
	if !w.Over(t0.Add(5*time.Second), 1) {
		t.Fatal("a second request in the minute must be over a limit of 1")
	}
	if got := w.Left(t0.Add(5 * time.Second)); got != 15*time.Second {
		t.Fatalf("Left = %v, want 15s", got)
	}
}

func TestHijackAndClose(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { HijackAndClose(w) }))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got an answer (%s), want the connection closed without one", resp.Status)
	}
}
