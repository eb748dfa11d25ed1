package netboxsim_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/acsbridge/acsbridge/netbox/netboxsim"
)

// One NBAPI command per POST: Login answers the session in NETBOX's
// sessionid attribute, which later commands send back.
func Example() {
	sim := netboxsim.New(netboxsim.WithSessionIDFunc(func() string { return strings.Repeat("ab", 32) }))
	srv := httptest.NewServer(sim)
	defer srv.Close()
	post := func(doc string) string {
		resp, err := http.Post(srv.URL+netboxsim.Path, "text/xml", strings.NewReader(doc))
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	fmt.Println(post(`<NETBOX-API><COMMAND name="Login" num="1"><PARAMS><USERNAME>` + netboxsim.DefaultUsername +
		`</USERNAME><PASSWORD>` + netboxsim.DefaultPassword + `</PASSWORD></PARAMS></COMMAND></NETBOX-API>`))
	session := strings.Repeat("ab", 32)
	fmt.Println(post(`<NETBOX-API sessionid="` + session + `"><COMMAND name="GetCardFormats" num="2"></COMMAND></NETBOX-API>`))
	fmt.Println(post(`<NETBOX-API sessionid="` + session + `"><COMMAND name="SearchPersonData" num="3"><PARAMS><LASTNAME>Lee</LASTNAME></PARAMS></COMMAND></NETBOX-API>`))
	// Output:
	// <NETBOX sessionid="abababababababababababababababababababababababababababababababab"><RESPONSE command="Login" num="1"><CODE>SUCCESS</CODE></RESPONSE></NETBOX>
	// <NETBOX><RESPONSE command="GetCardFormats" num="2"><CODE>SUCCESS</CODE><DETAILS><CARDFORMATS><CARDFORMAT>26 bit Wiegand</CARDFORMAT><CARDFORMAT>HID 34 bit</CARDFORMAT><CARDFORMAT>HID 37 bit</CARDFORMAT><CARDFORMAT>HID 37 bit no facility</CARDFORMAT><CARDFORMAT>HID Corporate 1000 35 bit</CARDFORMAT><CARDFORMAT>HID Corporate 1000 48 bit</CARDFORMAT><CARDFORMAT>MIFARE CSN 32 bit</CARDFORMAT></CARDFORMATS></DETAILS></RESPONSE></NETBOX>
	// <NETBOX><RESPONSE command="SearchPersonData" num="3"><CODE>FAIL</CODE><ERRMSG>NOT FOUND</ERRMSG></RESPONSE></NETBOX>
}
