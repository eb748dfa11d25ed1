package brivo

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/wiegand"
)

// BenchmarkEventsPoll reads 1000 door events of 10 visitors through
// Events, against the simulator on loopback (lookups cached after the
// first run). The metric events/s is per delivered event.
func BenchmarkEventsPoll(b *testing.B) {
	e := newEnv(b, nil)
	ctx := context.Background()
	level := e.levels()[0]
	now := time.Now()
	for n := range 10 {
		g := benchGrant(n, now.Add(-2*time.Hour), level)
		g.ValidUntil = now.Add(time.Hour)
		if _, err := e.p.Provision(ctx, g); err != nil {
			b.Fatal(err)
		}
	}
	start := now.Add(-time.Hour)
	for i := range 1000 {
		c := wiegand.Card{Format: wiegand.H10301, Facility: 7, Number: uint64(i % 10)}
		if _, err := e.sim.Swipe(c, frontDoor, start.Add(time.Duration(i)*time.Second)); err != nil {
			b.Fatal(err)
		}
	}
	cursor := formatCursor(start.Add(-time.Second), "0")
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := e.p.Events(ctx, cursor, func(acs.DoorEvent) error {
			if n++; n == 1000 {
				return errStop
			}
			return nil
		})
		if !errors.Is(err, errStop) {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkWebhook handles one notification (parse, dedup, fn) without
// lookups or network.
func BenchmarkWebhook(b *testing.B) {
	h, err := NewWebhookHandler(func(acs.DoorEvent) error { return nil }, WithWebhookDedup(1024))
	if err != nil {
		b.Fatal(err)
	}
	bodies := make([]string, 4096)
	for i := range bodies {
		bodies[i] = doorEventJSON("e" + strconv.Itoa(i))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(bodies[i%len(bodies)]))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
		i++
	}
}

// BenchmarkWebhookEndToEnd posts notifications from the simulator to the
// handler over loopback, with lookups through the provider (cached).
func BenchmarkWebhookEndToEnd(b *testing.B) {
	e := newEnv(b, nil)
	ctx := context.Background()
	now := time.Now()
	g := benchGrant(1, now.Add(-time.Hour), e.levels()[0])
	if _, err := e.p.Provision(ctx, g); err != nil {
		b.Fatal(err)
	}
	h, err := NewWebhookHandler(func(acs.DoorEvent) error { return nil }, WithWebhookProvider(e.p))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	if _, err := e.p.CreateEventSubscription(ctx, EventSubscription{URL: srv.URL}); err != nil {
		b.Fatal(err)
	}
	c := wiegand.Card{Format: wiegand.H10301, Facility: 7, Number: 1}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.sim.Swipe(c, frontDoor, now); err != nil {
			b.Fatal(err)
		}
		if d := e.sim.FlushWebhooks(ctx); len(d) != 1 || !d[0].Delivered {
			b.Fatalf("%+v", d)
		}
	}
}

// BenchmarkMapEvent parses and maps one event (no lookups).
func BenchmarkMapEvent(b *testing.B) {
	body := []byte(doorEventJSON("ae217d80-f38b-4521-aaaa-c3b84e763552"))
	b.ReportAllocs()
	for b.Loop() {
		r, err := parseEvent(body)
		if err != nil {
			b.Fatal(err)
		}
		if de, _, _ := mapDoorEvent(&r, nil); de.DoorID == "" {
			b.Fatal("no door")
		}
	}
}
