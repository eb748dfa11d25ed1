package brivo_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
	"github.com/acsbridge/acsbridge/wiegand"
)

// simProvider starts a simulator and returns a provider for it.
func simProvider(opts ...brivo.Option) (*brivosim.Server, *brivo.Provider, func()) {
	sim := brivosim.New()
	srv := httptest.NewServer(sim)
	c := brivosim.DefaultCredentials()
	p, err := brivo.New(brivo.Config{
		BaseURL: srv.URL + brivosim.APIPrefix, AuthURL: srv.URL,
		ClientID: c.ClientID, ClientSecret: c.ClientSecret, APIKey: c.APIKey,
		Username: c.Username, Password: c.Password,
	}, opts...)
	if err != nil {
		log.Fatal(err)
	}
	return sim, p, srv.Close
}

// provisionVisitor gives visit-2026-0042 card 1/200 for the Lobby group.
func provisionVisitor(ctx context.Context, p *brivo.Provider) {
	lobby, err := p.AccessLevelByName(ctx, "Lobby")
	if err != nil {
		log.Fatal(err)
	}
	now := time.Now()
	if _, err := p.Provision(ctx, acs.Grant{
		Person:       acs.Person{ExternalID: "visit-2026-0042", FirstName: "Ada", LastName: "Lovelace"},
		Card:         acs.Card{Format: acs.H10301, Facility: 1, Number: 200},
		AccessLevels: []string{lobby.ID},
		ValidFrom:    now.Add(-time.Hour),
		ValidUntil:   now.Add(8 * time.Hour),
	}); err != nil {
		log.Fatal(err)
	}
}

// Polling door events: the visitor's badge at the front door, then a card
// Brivo does not know. A VMS stores each event's Cursor and passes the
// last one to Events after a restart.
func ExampleProvider_Events() {
	sim, p, stop := simProvider(brivo.WithDoorDirection("408023598", acs.DirectionIn))
	defer stop()
	ctx := context.Background()
	provisionVisitor(ctx, p)

	// Swipes at the simulator's "Front Door", a minute ago.
	at := time.Now().Add(-time.Minute)
	_, _ = sim.Swipe(wiegand.Card{Format: wiegand.H10301, Facility: 1, Number: 200}, 408023598, at)
	_, _ = sim.Swipe(wiegand.Card{Format: wiegand.H10301, Facility: 1, Number: 999}, 408023598, at.Add(time.Second))

	done := errors.New("done")
	n := 0
	err := p.Events(ctx, "", func(e acs.DoorEvent) error {
		fmt.Printf("%s (%s): granted=%v card=%v visit=%q\n", e.DoorName, e.Direction, e.Granted, e.Card, e.Cardholder.ExternalID)
		if n++; n == 2 {
			return done
		}
		return nil
	})
	fmt.Println(errors.Is(err, done))
	// Output:
	// Front Door (in): granted=true card=H10301 1/200 visit="visit-2026-0042"
	// Front Door (in): granted=false card=H10301 1/999 visit=""
	// true
}

// Receiving door events in real time: the VMS mounts the handler, then
// registers its URL with Brivo. The simulator posts to the subscription
// when FlushWebhooks is called.
func ExampleNewWebhookHandler() {
	sim, p, stop := simProvider()
	defer stop()
	ctx := context.Background()
	provisionVisitor(ctx, p)

	h, err := brivo.NewWebhookHandler(func(e acs.DoorEvent) error {
		fmt.Printf("%s: granted=%v visit=%q\n", e.DoorName, e.Granted, e.Cardholder.ExternalID)
		return nil
	}, brivo.WithWebhookProvider(p))
	if err != nil {
		log.Fatal(err)
	}
	vms := httptest.NewServer(h) // in production: an https endpoint of the VMS
	defer vms.Close()
	sub, err := p.CreateEventSubscription(ctx, brivo.EventSubscription{
		Name:     "VMS door events",
		URL:      vms.URL + "/brivo/events",
		Criteria: []brivo.Criterion{{Type: brivo.CriterionAccessPoint, Value: 408023598}},
	})
	if err != nil {
		log.Fatal(err)
	}

	_, _ = sim.Swipe(wiegand.Card{Format: wiegand.H10301, Facility: 1, Number: 200}, 408023598, time.Now())
	for _, d := range sim.FlushWebhooks(ctx) {
		fmt.Println("delivered:", d.Delivered, d.Status)
	}
	fmt.Println(h.Stats().Delivered)
	if err := p.DeleteEventSubscription(ctx, sub.ID); err != nil {
		log.Fatal(err)
	}
	// Output:
	// Front Door: granted=true visit="visit-2026-0042"
	// delivered: true 200
	// 1
}
