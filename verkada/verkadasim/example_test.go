package verkadasim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/verkada/verkadasim"
)

// call sends one request and decodes the JSON answer into out.
func call(method, url, token, body string, out any) int {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("x-verkada-auth", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(out)
	return resp.StatusCode
}

// Speaking Verkada's wire protocol to the simulator by hand: the API key
// buys a token, a user is created by external ID, and a card created
// without "active" is inactive, as Verkada documents.
func Example() {
	sim := verkadasim.New()
	srv := httptest.NewServer(sim)
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+verkadasim.TokenPath, nil)
	req.Header.Set("x-api-key", verkadasim.DefaultAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	var tok struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	fmt.Println("token", resp.StatusCode, tok.Token != "")

	var user struct {
		UserID string `json:"user_id"`
	}
	status := call("POST", srv.URL+"/core/v1/user", tok.Token, `{"external_id":"visit-1","first_name":"Ada"}`, &user)
	fmt.Println("user", status, user.UserID)

	var card struct {
		CardID string `json:"card_id"`
		Active bool   `json:"active"`
	}
	status = call("POST", srv.URL+"/access/v1/credentials/card?user_id="+user.UserID, tok.Token,
		`{"type":"HID","facility_code":"111","card_number":"55555"}`, &card)
	fmt.Println("card", status, card.CardID, "active", card.Active)
	fmt.Println("census", sim.Census())
	// Output:
	// token 200 true
	// user 200 75736572-0000-4000-8000-000000000001
	// card 200 63617264-0000-4000-8000-000000000001 active false
	// census {1 1}
}

// A visitor's badge at the simulator's doors: the oracle decides and the
// event is recorded for GET /events/v1/access.
func ExampleServer_Swipe() {
	sim := verkadasim.New()
	now := time.Now()
	uid, _ := sim.AddUser("Ada", "Lovelace", "visit-1")
	_, _ = sim.AddCard(uid, "Standard 26-bit Wiegand", 1, 200, true)
	_ = sim.SetGroups(uid, verkadasim.GroupID(1)) // Lobby
	_ = sim.SetWindow(uid, now.Add(-time.Hour), now.Add(8*time.Hour))

	for _, door := range []string{verkadasim.DoorID(1), verkadasim.DoorID(2)} {
		ev, _ := sim.Swipe("Standard 26-bit Wiegand", 1, 200, door, now)
		fmt.Println(ev.Type, ev.RawCard)
	}
	fmt.Println(len(sim.AccessEvents()), "events")
	// Output:
	// door_keycard_entered_accepted 2020190
	// door_keycard_entered_rejected 2020190
	// 2 events
}
