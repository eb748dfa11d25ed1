package brivosim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/acsbridge/acsbridge/brivo/brivosim"
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
