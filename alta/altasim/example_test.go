package altasim_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/alta/altasim"
	"github.com/acsbridge/acsbridge/wiegand"
)

// Speaking Alta's wire protocol to the simulator: log in, create a
// visitor, give it a group and a card, and present the card at a door.
func Example() {
	sim := altasim.New()
	srv := httptest.NewServer(sim)
	defer srv.Close()

	call := func(method, path, token, body string) map[string]any {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		fmt.Println(method, path, resp.StatusCode)
		return m
	}
	login := call("POST", altasim.LoginPath, "", `{"email":"`+altasim.Email+`","password":"`+altasim.Password+`"}`)
	token := login["data"].(map[string]any)["token"].(string)

	org := fmt.Sprintf("/orgs/%d", altasim.OrgID)
	now := time.Now().UTC()
	user := call("POST", org+"/users", token, fmt.Sprintf(
		`{"identity":{"email":"ada@visitors.example","firstName":"Ada"},"externalId":"visit-1","startDate":%q,"endDate":%q}`,
		now.Add(-time.Minute).Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339)))
	uid := int64(user["data"].(map[string]any)["id"].(float64))
	call("PUT", fmt.Sprintf("%s/users/%d/groupIds", org, uid), token, `{"groupIds":[4822]}`)
	call("POST", fmt.Sprintf("%s/users/%d/credentials", org, uid), token,
		fmt.Sprintf(`{"credentialTypeId":%d,"card":{"cardFormatId":1,"facilityCode":"1","cardId":"200"}}`, sim.CredentialTypeID("card")))

	opened, _ := sim.Swipe(42, wiegand.H10301, 1, 200)
	fmt.Println("lobby opens:", opened)
	// Output:
	// POST /auth/login 201
	// POST /orgs/5231/users 201
	// PUT /orgs/5231/users/1000001/groupIds 204
	// POST /orgs/5231/users/1000001/credentials 201
	// lobby opens: true
}
