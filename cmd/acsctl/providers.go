package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/lenel"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
)

// require returns a usage error naming the first empty flag.
func require(provider string, flags ...[2]string) error {
	for _, f := range flags {
		if f[1] == "" {
			return usagef("--%s is required for %s", f[0], provider)
		}
	}
	return nil
}

// newProvider builds the provider selected by the global flags.
func (a *app) newProvider() (acs.Provider, error) {
	g := &a.g
	switch g.provider {
	case "":
		return nil, usagef("--provider is required (genetec, lenel or brivo)")
	case "lenel":
		if err := require("lenel", [2]string{"url", g.url}, [2]string{"username", g.username},
			[2]string{"password", g.password}, [2]string{"app-id", g.appID}); err != nil {
			return nil, err
		}
		opts := []lenel.Option{lenel.WithTLS(lenel.TLSOptions{CAFile: g.caFile, InsecureSkipVerify: g.insecureSkipVerify})}
		if g.allowInsecureHTTP {
			opts = append(opts, lenel.WithAllowInsecureHTTP())
		}
		return lenel.New(lenel.Config{
			BaseURL: g.url, Username: g.username, Password: g.password,
			DirectoryID: g.directoryID, ApplicationID: g.appID,
		}, opts...)
	case "genetec":
		if err := require("genetec", [2]string{"url", g.url}, [2]string{"username", g.username},
			[2]string{"password", g.password}, [2]string{"app-id", g.appID}); err != nil {
			return nil, err
		}
		opts := []genetec.Option{genetec.WithTLS(genetec.TLSOptions{CAFile: g.caFile, InsecureSkipVerify: g.insecureSkipVerify})}
		if g.allowInsecureHTTP {
			opts = append(opts, genetec.WithAllowInsecureHTTP())
		}
		return genetec.New(genetec.Config{BaseURL: g.url, Username: g.username, Password: g.password, ApplicationID: g.appID}, opts...)
	case "brivo":
		if err := require("brivo", [2]string{"client-id", g.clientID}, [2]string{"client-secret", g.clientSecret},
			[2]string{"api-key", g.apiKey}, [2]string{"username", g.username}, [2]string{"password", g.password}); err != nil {
			return nil, err
		}
		opts := []brivo.Option{brivo.WithTLS(brivo.TLSOptions{CAFile: g.caFile, InsecureSkipVerify: g.insecureSkipVerify})}
		if g.allowInsecureHTTP {
			opts = append(opts, brivo.WithAllowInsecureHTTP())
		}
		return brivo.New(brivo.Config{
			BaseURL: g.url, AuthURL: g.authURL, ClientID: g.clientID, ClientSecret: g.clientSecret,
			APIKey: g.apiKey, Username: g.username, Password: g.password,
		}, opts...)
	}
	return nil, usagef("unknown --provider %q; want genetec, lenel or brivo", g.provider)
}

// simInfo is the first line simulate prints: everything the other
// commands need to reach the simulator.
type simInfo struct {
	Provider     string `json:"provider"`
	URL          string `json:"url"`
	AuthURL      string `json:"auth_url,omitempty"`
	Username     string `json:"username,omitempty"`
	Password     string `json:"password,omitempty"`
	AppID        string `json:"app_id,omitempty"`
	ClientID     string `json:"client_id,omitempty"`
	ClientSecret string `json:"client_secret,omitempty"`
	APIKey       string `json:"api_key,omitempty"`
}

func (a *app) simulate(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("simulate: want genetec, lenel or brivo")
	}
	which := args[0]
	fs := newFlagSet("simulate " + which)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	var (
		handler http.Handler
		info    simInfo
	)
	switch which {
	case "lenel":
		handler = lenelsim.New()
		info = simInfo{Provider: "lenel", URL: base + lenelsim.BasePath, Username: lenelsim.DefaultUser,
			Password: lenelsim.DefaultPassword, AppID: lenelsim.DefaultApplicationID}
	case "genetec":
		handler = genetecsim.New()
		info = simInfo{Provider: "genetec", URL: base + genetecsim.DefaultBasePath, Username: genetecsim.DefaultUser,
			Password: genetecsim.DefaultPassword, AppID: genetecsim.DefaultApplicationID}
	case "brivo":
		handler = brivosim.New()
		c := brivosim.DefaultCredentials()
		info = simInfo{Provider: "brivo", URL: base + brivosim.APIPrefix, AuthURL: base, Username: c.Username,
			Password: c.Password, ClientID: c.ClientID, ClientSecret: c.ClientSecret, APIKey: c.APIKey}
	default:
		ln.Close()
		return usagef("simulate: unknown simulator %q; want genetec, lenel or brivo", which)
	}
	// The simulator's own demo credentials are printed on purpose: they are
	// what a developer passes to the other commands.
	if err := json.NewEncoder(a.stdout).Encode(info); err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}
