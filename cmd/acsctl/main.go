// Command acsctl tests a connection to an access control system, shows what
// it offers, provisions and revokes a credential, converts Wiegand card
// data, and runs the built-in simulators.
//
// Usage:
//
//	acsctl [global flags] <command> [command flags]
//
// Global flags (each also read from the environment as ACS_<NAME>, e.g.
// ACS_PASSWORD for --password; the command line wins):
//
//	--provider genetec|lenel|brivo
//	--url URL                 API base URL
//	--username U --password P
//	--app-id ID               Genetec application ID / Lenel Application-Id
//	--directory-id ID         Lenel directory (optional)
//	--auth-url URL            Brivo OAuth base (token endpoint <auth-url>/oauth/token)
//	--client-id ID --client-secret S --api-key K   Brivo
//	--ca-file FILE --insecure-skip-verify --timeout D
//	--allow-insecure-http     plain http to a non-loopback host
//	-o, --output text|json    (default text)
//
// Commands:
//
//	ping
//	sync
//	provision --first-name F --last-name L [--email E] [--external-id X]
//	          --facility-code N --card-number N [--format h10301]
//	          --access-level ID ... [--badge-type ID]
//	          --valid-from RFC3339 --valid-until RFC3339
//	revoke --credential-id ID [--cardholder-id ID]
//	wiegand encode --format F --facility-code N --card-number N
//	wiegand decode --format F (--hex H | --bits B)
//	simulate genetec|lenel|brivo [--addr 127.0.0.1:0]
//
// Exit status is 0 on success; otherwise a one-line error goes to stderr.
// No secret is ever printed.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	os.Exit(code)
}
