// Command provision-revoke is the smallest complete program against one
// access control system: it provisions a temporary credential for a
// visitor, shows it, and revokes it.
//
// Point it at a real system with flags or the same ACS_* environment
// variables acsctl reads (the flags win):
//
//	go run ./examples/provision-revoke -provider genetec \
//	    -url https://sc.example.com:4590/WebSdk -username u -app-id APP \
//	    -level <cardholder group GUID> -facility 1 -card 200
//	    # password from ACS_PASSWORD
//
//	go run ./examples/provision-revoke -provider alta -url https://api.openpath.com \
//	    -username admin@example.com -org-id 5231 -level <group ID>
//	    # password from ACS_PASSWORD
//
//	go run ./examples/provision-revoke -provider verkada -url https://api.verkada.com \
//	    -level <access group ID>
//	    # API key from ACS_API_KEY
//
// Without -url it starts the chosen provider's simulator on loopback and
// uses that, so it runs anywhere:
//
//	go run ./examples/provision-revoke -provider brivo
//	go run ./examples/provision-revoke -provider alta
//	go run ./examples/provision-revoke -provider verkada
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/alta"
	"github.com/acsbridge/acsbridge/alta/altasim"
	"github.com/acsbridge/acsbridge/brivo"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/lenel"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
	"github.com/acsbridge/acsbridge/verkada"
	"github.com/acsbridge/acsbridge/verkada/verkadasim"
)

type config struct {
	provider, url, authURL, username, password, appID string
	clientID, clientSecret, apiKey, level             string
	orgID                                             int64
	facility, card                                    uint64
}

func main() {
	var c config
	env := func(name, def string) string {
		if v, ok := os.LookupEnv("ACS_" + name); ok {
			return v
		}
		return def
	}
	flag.StringVar(&c.provider, "provider", env("PROVIDER", "genetec"), "genetec, lenel, brivo, alta or verkada")
	flag.StringVar(&c.url, "url", env("URL", ""), "API base URL (empty: start a simulator)")
	flag.StringVar(&c.authURL, "auth-url", env("AUTH_URL", ""), "Brivo OAuth base URL")
	flag.StringVar(&c.username, "username", env("USERNAME", ""), "user name (Alta: the login e-mail)")
	flag.StringVar(&c.appID, "app-id", env("APP_ID", ""), "Genetec application ID / Lenel Application-Id")
	flag.StringVar(&c.clientID, "client-id", env("CLIENT_ID", ""), "Brivo client ID")
	org, _ := strconv.ParseInt(env("ORG_ID", "0"), 10, 64)
	flag.Int64Var(&c.orgID, "org-id", org, "Alta organisation ID")
	flag.StringVar(&c.level, "level", "", "access level ID (empty: the first one listed)")
	flag.Uint64Var(&c.facility, "facility", 1, "facility code")
	flag.Uint64Var(&c.card, "card", 200, "card number")
	flag.Parse()
	// Secrets come from the environment only, never from the command line.
	c.password, c.clientSecret, c.apiKey = env("PASSWORD", ""), env("CLIENT_SECRET", ""), env("API_KEY", "")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "provision-revoke:", err)
		os.Exit(1)
	}
}

// connect returns the provider, starting its simulator when no URL is set.
func connect(c config) (acs.Provider, func(), error) {
	stop := func() {}
	if c.url == "" {
		var srv *httptest.Server
		switch c.provider {
		case "genetec":
			srv = httptest.NewServer(genetecsim.New())
			c.url, c.username, c.password, c.appID = srv.URL+genetecsim.DefaultBasePath, genetecsim.DefaultUser, genetecsim.DefaultPassword, genetecsim.DefaultApplicationID
		case "lenel":
			srv = httptest.NewServer(lenelsim.New())
			c.url, c.username, c.password, c.appID = srv.URL+lenelsim.BasePath, lenelsim.DefaultUser, lenelsim.DefaultPassword, lenelsim.DefaultApplicationID
		case "brivo":
			srv = httptest.NewServer(brivosim.New())
			k := brivosim.DefaultCredentials()
			c.url, c.authURL = srv.URL+brivosim.APIPrefix, srv.URL
			c.username, c.password, c.clientID, c.clientSecret, c.apiKey = k.Username, k.Password, k.ClientID, k.ClientSecret, k.APIKey
		case "alta":
			srv = httptest.NewServer(altasim.New())
			k := altasim.DefaultCredentials()
			c.url, c.username, c.password, c.orgID = srv.URL+altasim.BasePath, k.Email, k.Password, altasim.OrgID
		case "verkada":
			srv = httptest.NewServer(verkadasim.New())
			c.url, c.apiKey = srv.URL+verkadasim.BasePath, verkadasim.DefaultAPIKey
		default:
			return nil, stop, fmt.Errorf("unknown provider %q", c.provider)
		}
		fmt.Printf("no -url given: using the %s simulator at %s\n", c.provider, c.url)
		stop = srv.Close
	}
	var (
		p   acs.Provider
		err error
	)
	switch c.provider {
	case "genetec":
		p, err = genetec.New(genetec.Config{BaseURL: c.url, Username: c.username, Password: c.password, ApplicationID: c.appID})
	case "lenel":
		p, err = lenel.New(lenel.Config{BaseURL: c.url, Username: c.username, Password: c.password, ApplicationID: c.appID})
	case "brivo":
		p, err = brivo.New(brivo.Config{BaseURL: c.url, AuthURL: c.authURL, ClientID: c.clientID, ClientSecret: c.clientSecret,
			APIKey: c.apiKey, Username: c.username, Password: c.password})
	case "alta":
		p, err = alta.New(alta.Config{BaseURL: c.url, Username: c.username, Password: c.password, OrgID: c.orgID})
	case "verkada":
		p, err = verkada.New(verkada.Config{BaseURL: c.url, APIKey: c.apiKey})
	default:
		err = fmt.Errorf("unknown provider %q", c.provider)
	}
	if err != nil {
		stop()
		return nil, func() {}, err
	}
	return p, stop, nil
}

func run(ctx context.Context, c config) error {
	p, stop, err := connect(c)
	if err != nil {
		return err
	}
	defer stop()
	if cl, ok := p.(acs.Closer); ok {
		defer cl.Close(context.WithoutCancel(ctx))
	}
	if err := p.Ping(ctx); err != nil {
		return err
	}
	if c.level == "" {
		levels, err := p.AccessLevels(ctx)
		if err != nil {
			return err
		}
		if len(levels) == 0 {
			return errors.New("the ACS lists no access level")
		}
		c.level = levels[0].ID
		fmt.Printf("using access level %q (%s)\n", levels[0].Name, levels[0].ID)
	}
	now := time.Now()
	got, err := p.Provision(ctx, acs.Grant{
		Person:       acs.Person{ExternalID: "example-visit-1", FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com"},
		Card:         acs.Card{Format: acs.H10301, Facility: c.facility, Number: c.card},
		AccessLevels: []string{c.level},
		ValidFrom:    now,
		ValidUntil:   now.Add(4 * time.Hour),
	})
	if err != nil {
		return err
	}
	fmt.Printf("provisioned credential %s for cardholder %s, valid until %s\n",
		got.Credential.ID, got.Cardholder.ID, now.Add(4*time.Hour).Format(time.Kitchen))
	if err := p.Revoke(ctx, got.Credential); err != nil {
		return err
	}
	fmt.Printf("revoked credential %s\n", got.Credential.ID)
	return p.RemoveCardholder(ctx, got.Cardholder)
}
