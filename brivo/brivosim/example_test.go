package brivosim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/brivo/brivosim"
	"github.com/acsbridge/acsbridge/wiegand"
)

// Speaking Brivo's wire protocol to the simulator by hand: a password
// grant, then the credential recorded in real traffic (facility 1, card
// 200), whose encodedCredential the simulator computes.
func Example() {
	sim := brivosim.New()
	srv := httptest.NewServer(sim)
	defer srv.Close()

	form := url.Values{"grant_type": {"password"}, "username": {brivosim.Username}, "password": {brivosim.Password}}
	req, _ := http.NewRequest("POST", srv.URL+brivosim.TokenPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("api-key", brivosim.APIKey)
	req.SetBasicAuth(brivosim.ClientID, brivosim.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	fmt.Println("token", resp.StatusCode, "expires_in", tok.ExpiresIn)

	body := `{"credentialFormat":{"id":100},"referenceId":"200","fieldValues":[{"id":1,"value":"200"},{"id":2,"value":"1"}]}`
	req, _ = http.NewRequest("POST", srv.URL+brivosim.APIPrefix+"/credentials", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("api-key", brivosim.APIKey)
	req.Header.Set("Authorization", "bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	var cred struct {
		ID                int64  `json:"id"`
		EncodedCredential string `json:"encodedCredential"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&cred)
	resp.Body.Close()
	fmt.Println("credential", resp.StatusCode, cred.ID, cred.EncodedCredential)
	fmt.Println("census", sim.Census())
	// Output:
	// token 200 expires_in 300
	// credential 201 22197840 2020190
	// census {0 1}
}

// A visitor's badge at the simulator's doors: the oracle decides, the
// event is recorded for GET /events/access and queued for event
// subscriptions.
func ExampleServer_Swipe() {
	sim := brivosim.New()
	now := time.Now()
	uid, _ := sim.AddUser("Ada", "Lovelace", "visit-2026-0042")
	cid, _ := sim.AddCredential(100, "", 1, 200) // Standard 26 Bit, facility 1, card 200
	_ = sim.AssignCredential(uid, cid, now.Add(-time.Hour), now.Add(8*time.Hour))
	_ = sim.AddMember(11906588, uid) // Lobby
	back, _ := sim.AddDoor("Back Door", 11906589)

	badge := wiegand.Card{Format: wiegand.H10301, Facility: 1, Number: 200}
	for _, door := range []int64{408023598, back.ID} {
		ev, _ := sim.Swipe(badge, door, now)
		fmt.Println(door, ev.Granted, ev.ActionID)
	}
	ev, _ := sim.Swipe(wiegand.Card{Format: wiegand.H10301, Facility: 1, Number: 999}, 408023598, now)
	fmt.Println("unknown card:", ev.Granted, ev.UnknownWiegand)
	fmt.Println(len(sim.AccessEvents()), "events")
	// Output:
	// 408023598 true 2004
	// 408023600 false 5018
	// unknown card: false 20207CF
	// 3 events
}
