// Command acsctl tests a connection to an access control system, shows what
// it offers, provisions and revokes a credential, converts Wiegand card
// data, and runs the built-in simulators. `acsctl --help`, `acsctl help
// <command>` and `acsctl <command> --help` print the same reference with
// every flag, environment variable and an example; `acsctl help providers`
// lists what each provider reads.
//
// Usage:
//
//	acsctl [global flags] <command> [command flags]
//	acsctl --version
//
// Global flags (each also read from the environment as ACS_<NAME>, e.g.
// ACS_PASSWORD for --password; the command line wins):
//
//	--provider genetec|lenel|brivo|alta|verkada|netbox
//	--url URL                 API base URL: required for genetec, lenel and netbox;
//	                          optional for brivo, alta and verkada (their cloud hosts)
//	--username U --password P genetec, lenel, brivo, netbox; alta: the login e-mail
//	--app-id ID               Genetec application ID / Lenel Application-Id
//	--directory-id ID         Lenel directory (optional)
//	--auth-url URL            Brivo OAuth base (token endpoint <auth-url>/oauth/token)
//	--client-id ID --client-secret S   Brivo
//	--api-key K               Brivo API key; Verkada API key (exchanged at POST /token)
//	--org-id N                Alta organisation (every /orgs/{orgId}/... path)
//	--time-zone ZONE          NetBox controller's IANA time zone (default UTC)
//	--card-format NAME        NetBox card format of cards given no --badge-type
//	--issuer origo            HID Origo mobile IDs in front of --provider, the door ACS
//	--origo-url URL --origo-auth-url URL   Origo's Mobile Identities and authentication
//	                          hosts (default https://ma.api.assaabloy.com and
//	                          https://api.origo.hidglobal.com)
//	--origo-org N --origo-client-id ID --origo-client-secret S   the organisation and
//	                          its system account (OAuth client credentials)
//	--origo-app-id ID         the Application-ID header HID certified (optional)
//	--origo-part-number PN    the mobile ID part number invitations assign
//	--origo-card-format F --origo-facility-code N   the Wiegand format (h10301, …) and
//	                          facility code of the part number's card numbers
//	--ca-file FILE --insecure-skip-verify --timeout D
//	--allow-insecure-http     plain http to a non-loopback host (refused otherwise)
//	-o, --output text|json    (default text)
//	--version                 module version, VCS revision and time, Go version
//
// Every missing required setting is named at once with its variable.
// Secrets (--password, --client-secret, --api-key, --origo-client-secret)
// are best passed as ACS_PASSWORD, ACS_CLIENT_SECRET, ACS_API_KEY and
// ACS_ORIGO_CLIENT_SECRET. The providers, and what
// each reads, come from the registry in internal/providers.
//
// With --issuer origo, provision issues a HID Origo mobile ID and, once
// the visitor's phone accepted the invitation, provisions its card at the
// door ACS of --provider (Origo assigns the card number, which provision
// prints; --card-number is not used). Until then it fails "not accepted
// yet": run it again with the same --external-id. revoke takes the IDs it
// printed and deletes the mobile ID at Origo too; a --badge-type of the
// door ACS provisions a physical card there instead.
//
// Commands:
//
//	ping
//	sync                       access levels and credential formats: ID and name
//	provision --first-name F --last-name L [--email E] [--external-id X]
//	          [--format h10301] [--facility-code N] --card-number N
//	          --access-level ID|NAME ... [--badge-type ID]
//	          [--valid-from TIME] --valid-until TIME
//	revoke --credential-id ID [--cardholder-id ID]
//	wiegand encode --format F [--facility-code N] --card-number N
//	wiegand decode --format F (--hex H | --bits B)
//	simulate genetec|lenel|brivo|alta|verkada|netbox|origo [--addr 127.0.0.1:0] [--outlive-parent]
//	completion bash|zsh
//	help [command | providers]
//
// provision takes access levels by ID or by name as sync lists them (a
// name several levels share is refused, listing their IDs); it requires
// --facility-code when the card format has a facility field, and refuses a
// window that ends before it starts or is already over. TIME is RFC 3339,
// "now", or "+8h" (from now). It prints the ACS's own cardholder_id and
// credential_id.
//
// revoke looks the credential up in the ACS's inventory of the cardholders
// acsbridge provisioned (acs.Inventory): it revokes it when found; when the
// ACS holds no such credential, or holds it already revoked, it prints
// "nothing to revoke" (JSON "revoked": false, "outcome": "not_found" or
// "already_revoked") and exits 0, sending nothing for a credential it does
// not hold.
//
// simulate prints one JSON line first: the provider and every setting that
// reaches the simulator (url, username, org_id, api_key, …). It stops on
// SIGINT or SIGTERM, and when the process that started it exits (its parent
// process ID changes; checked every 200 ms), so that killing
// `go run ./cmd/acsctl simulate brivo` leaves no simulator behind, unless
// --outlive-parent. The Origo simulator's phone accepts every invitation
// at once.
//
// Exit status: 0 on success, for help and --version, and for "nothing to
// revoke"; 1 when the ACS, the network or the simulator failed; 2 for a
// mistake on the command line. An error is one line on stderr. No secret
// is ever printed.
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
