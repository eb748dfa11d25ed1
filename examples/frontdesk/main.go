// Command frontdesk is the reference front desk of acsbridge: the web app
// a receptionist uses to sign visitors in, hand out badges that open the
// right doors, take them back and sign visitors out, with a kiosk where
// visitors sign themselves in and out, a muster report, audit trails,
// and an admin page per location.
//
//	go run ./examples/frontdesk
//
// starts it on http://127.0.0.1:8080 with a SQLite store in a temporary
// directory and simulators of Genetec Security Center (London HQ), LenelS2
// OnGuard (Paris Campus) and Brivo (Berlin Office), each with a door panel
// to swipe badges at. Two demo operators sign in: alice (group
// reception: may grant the lobby) and bob (groups security and admin: may
// grant the lobby and floor 3, and opens the admin pages). Their password
// is FRONTDESK_PASSWORD from the environment or, when unset, a random one
// per operator written to a file only you can read, whose path is printed.
//
// With -config FILE it drives real access control systems instead; see
// config.go for the file, whose secrets are names of environment
// variables, never the secrets themselves.
//
// setup.go holds the whole set-up of the visitor engine; the handlers
// (guestbook.go, kiosk.go, admin.go, reports.go) only call the engine.
//
// Flags:
//
//	-addr host:port     where to listen (default 127.0.0.1:8080); an
//	                    address off loopback needs -tls-cert and -tls-key
//	-config FILE        real ACSs and operators instead of the simulators
//	-db FILE            keep the SQLite store in FILE (default: a temporary
//	                    directory, removed on exit)
//	-tls-cert, -tls-key serve HTTPS with this certificate and key
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type options struct {
	addr, config, db, tlsCert, tlsKey string
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address; off loopback it needs -tls-cert and -tls-key")
	flag.StringVar(&o.config, "config", "", "config file of real ACSs and operators (default: three simulators and two demo operators)")
	flag.StringVar(&o.db, "db", "", "SQLite file (default: a temporary directory removed on exit)")
	flag.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file (PEM)")
	flag.StringVar(&o.tlsKey, "tls-key", "", "TLS key file (PEM)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, o, os.Stdout, log); err != nil {
		fmt.Fprintln(os.Stderr, "frontdesk:", err)
		os.Exit(1)
	}
}

// run starts the desk and serves it until ctx ends.
func run(ctx context.Context, o options, out io.Writer, log *slog.Logger) error {
	useTLS := o.tlsCert != "" || o.tlsKey != ""
	if useTLS && (o.tlsCert == "" || o.tlsKey == "") {
		return errors.New("-tls-cert and -tls-key go together")
	}
	if err := checkListen(o.addr, useTLS); err != nil {
		return err
	}
	setup := Setup{DBPath: o.db, Log: log}
	var notes []string
	if o.config != "" {
		cfg, err := LoadConfig(o.config)
		if err != nil {
			return err
		}
		if setup.Sites, err = cfg.BuildSites(ctx, log); err != nil {
			return err
		}
		if setup.Operators, err = cfg.BuildOperators(); err != nil {
			closeSites(setup.Sites)
			return err
		}
		if setup.DBPath == "" {
			setup.DBPath = cfg.Database
		}
	} else {
		sites, err := SimulatedSites(ctx)
		if err != nil {
			return err
		}
		setup.Sites = sites
		ops, file, err := DemoOperators(os.Getenv("FRONTDESK_PASSWORD"))
		if err != nil {
			closeSites(sites)
			return err
		}
		if file != "" {
			defer os.Remove(file)
			notes = append(notes, "their passwords are in "+file+" (readable by you only; removed on exit)")
		} else {
			notes = append(notes, "their password is FRONTDESK_PASSWORD")
		}
		setup.Operators = ops
	}
	desk, err := Start(ctx, setup)
	if err != nil {
		return err
	}
	defer desk.Close()
	srv, err := newServer(desk)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	fmt.Fprintf(out, "front desk at %s://%s/\n", scheme, ln.Addr())
	for _, s := range desk.Sites {
		fmt.Fprintf(out, "  %-14s %-8s kiosk at /kiosk/%s\n", s.ID, s.Provider.Name(), s.ID)
	}
	for _, a := range desk.Operators.List() {
		fmt.Fprintf(out, "  operator %-6s groups %v admin=%v\n", a.ID, a.Groups, a.Admin)
	}
	for _, n := range notes {
		fmt.Fprintln(out, "  "+n)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	done := make(chan error, 1)
	go func() {
		if useTLS {
			done <- hs.ServeTLS(ln, o.tlsCert, o.tlsKey)
		} else {
			done <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return hs.Shutdown(shut)
}

// checkListen refuses plain HTTP off loopback: session cookies and
// passwords must not cross a network in clear.
func checkListen(addr string, useTLS bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	if useTLS || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-addr %q is not a loopback address: serving plain HTTP there would send passwords and session cookies in clear; give -tls-cert and -tls-key", addr)
}

func closeSites(sites []*Site) {
	for _, s := range sites {
		if s.stop != nil {
			s.stop()
		}
	}
}

// DemoOperators returns the demo's two operators: alice at reception and
// bob in security (an admin). With an empty password each gets a random
// one, written to a new file readable by its owner only, whose path is
// returned.
func DemoOperators(password string) (*Accounts, string, error) {
	ops := NewAccounts()
	demo := []Account{
		{ID: "alice", Name: "Alice (reception)", Groups: []string{"reception"}},
		{ID: "bob", Name: "Bob (security)", Groups: []string{"security"}, Admin: true},
	}
	var file *os.File
	if password == "" {
		var err error
		if file, err = os.CreateTemp("", "frontdesk-operators-*.txt"); err != nil { // mode 0600
			return nil, "", err
		}
		defer file.Close()
	}
	for _, a := range demo {
		pw := password
		if file != nil {
			pw = randomToken()[:16]
			if _, err := fmt.Fprintf(file, "%s\t%s\n", a.ID, pw); err != nil {
				return nil, "", err
			}
		}
		if err := ops.Add(a, pw); err != nil {
			return nil, "", err
		}
	}
	if file == nil {
		return ops, "", nil
	}
	return ops, file.Name(), nil
}
