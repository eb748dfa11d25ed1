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
//	--provider genetec|lenel|brivo|alta|verkada
//	--url URL                 API base URL: required for genetec and lenel; optional for
//	                          brivo, alta (https://api.openpath.com) and verkada
//	                          (https://api.verkada.com, or the regional host)
//	--username U --password P genetec, lenel, brivo; alta: the login e-mail and password
//	--app-id ID               Genetec application ID / Lenel Application-Id
//	--directory-id ID         Lenel directory (optional)
//	--auth-url URL            Brivo OAuth base (token endpoint <auth-url>/oauth/token)
//	--client-id ID --client-secret S   Brivo
//	--api-key K               Brivo API key; Verkada API key (exchanged at POST /token)
//	--org-id N                Alta organisation (every /orgs/{orgId}/... path)
//	--ca-file FILE --insecure-skip-verify --timeout D
//	--allow-insecure-http     plain http to a non-loopback host
//	-o, --output text|json    (default text)
//
// Secrets (--password, --client-secret, --api-key) are best passed as
// ACS_PASSWORD, ACS_CLIENT_SECRET and ACS_API_KEY. The providers, and what
// each reads, come from the registry in internal/providers.
//
// Access level IDs are what sync prints: Genetec cardholder group GUIDs,
// Lenel access level IDs, Brivo group IDs, Alta group IDs, Verkada access
// group IDs. provision prints the ACS's own IDs as cardholder_id and
// credential_id (Alta: user and credential ID; Verkada: user_id and
// card_id); revoke takes them back (Alta and Verkada need both).
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
//	simulate genetec|lenel|brivo|alta|verkada [--addr 127.0.0.1:0]
//	          prints one JSON line first: the provider and every setting
//	          that reaches the simulator (url, username, org_id, api_key, …)
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
