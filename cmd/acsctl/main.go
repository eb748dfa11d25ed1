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
//	--provider genetec|lenel|brivo|alta|verkada|netbox
//	--url URL                 API base URL: required for genetec and lenel; optional for
//	                          brivo, alta (https://api.openpath.com) and verkada
//	                          (https://api.verkada.com, or the regional host); netbox: the
//	                          NBAPI endpoint, https://host/nbws/goforms/nbapi (required)
//	--username U --password P genetec, lenel, brivo, netbox; alta: the login e-mail and password
//	--app-id ID               Genetec application ID / Lenel Application-Id
//	--directory-id ID         Lenel directory (optional)
//	--auth-url URL            Brivo OAuth base (token endpoint <auth-url>/oauth/token)
//	--client-id ID --client-secret S   Brivo
//	--api-key K               Brivo API key; Verkada API key (exchanged at POST /token)
//	--org-id N                Alta organisation (every /orgs/{orgId}/... path)
//	--time-zone ZONE          NetBox controller's IANA time zone, such as America/New_York
//	                          (NBAPI dates are its local time; default UTC)
//	--card-format NAME        NetBox card format, by name as sync lists it, of cards
//	                          provision is given no --badge-type for (such as "26 bit Wiegand")
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
// group IDs, NetBox access level keys. provision prints the ACS's own IDs
// as cardholder_id and credential_id (Alta: user and credential ID;
// Verkada: user_id and card_id; NetBox: PERSONID and CREDENTIALID); revoke
// takes them back (Alta, Verkada and NetBox need both). For NetBox,
// --badge-type names the card format (else --card-format applies).
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
//	simulate genetec|lenel|brivo|alta|verkada|netbox [--addr 127.0.0.1:0]
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
	// NetBox dates are in the controller's zone (--time-zone); the zone
	// database is embedded for hosts that have none.
	_ "time/tzdata"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	os.Exit(code)
}
