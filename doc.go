// Package acsbridge connects a visitor management system (VMS) to physical
// access control systems (ACS): Genetec Security Center, LenelS2 OnGuard,
// Brivo, Avigilon Alta (Openpath), Verkada Access and LenelS2 S2 NetBox.
// When a visitor signs in, it creates a temporary credential for the
// right doors and the right time window; when the badge is returned, the
// visitor signs out, the visit expires or security removes them, it makes
// sure that credential stops opening doors, even if the ACS was unreachable
// or the VMS restarted in between.
//
// This package holds only documentation; the code lives in its packages.
//
// # Packages
//
//   - acs: the provider-neutral contract. Provider (ping, list access levels
//     and credential formats, provision a grant, revoke, remove a
//     cardholder), optional capabilities (door events, mobile passes, PIN
//     codes), the domain types, error codes with sentinels, and grant
//     validation.
//   - acs/acstest: the conformance kit every adapter passes, and Memory, an
//     in-memory Provider for tests and examples.
//   - acs/acshttp: the HTTP plumbing every adapter shares, open to adapters
//     outside this repository: TLS policy, plain HTTP only to loopback,
//     retries of idempotent requests honouring Retry-After, pacing,
//     redaction of secrets, per-key locks, backoff, a shared login.
//   - genetec, lenel, brivo, alta, verkada, netbox: one adapter per ACS
//     speaking its wire protocol, each with a stateful simulator
//     (genetecsim, lenelsim, brivosim, altasim, verkadasim, netboxsim) for
//     tests, examples and local development.
//   - origo: HID Origo mobile IDs for visitors in front of any of those
//     adapters (invitation, the card number once the phone accepted, its
//     card at the door ACS), with its simulator origo/origosim.
//   - wiegand: card data formats (H10301 26-bit, H10306, H10302, H10304,
//     Corporate 1000 35- and 48-bit): encode, decode, parity, and the one
//     card type (wiegand.Card, which acs.Card and badge.Card are).
//   - badge: numeric badge IDs, badge pools per location with their history,
//     and card-number ranges for issued (QR or mobile) credentials;
//     badge/qrcode renders the QR code (PNG, SVG) of an issued card number.
//   - visitor: the visit lifecycle a VMS calls: sign in, provision (a
//     badge, a card number, a PIN code), return the badge, sign out,
//     expiry, removal by security; policies, operator
//     permissions, the audit trail, the outbox that makes revocation
//     survive outages, crashes and replicas, and reconciliation with what
//     the ACS holds. visitor/sqlstore is its durable store, with one driver
//     package each: visitor/sqlstore/sqlite and visitor/sqlstore/postgres.
//   - cmd/acsctl, cmd/acsbench, cmd/acssoak: the command line (test a
//     connection, list access levels, provision and revoke a credential,
//     run a simulator: acsctl --help), the benchmark runner and the soak
//     runner.
//   - harness/chaos, harness/bench: the chaos suite and the measuring
//     harness; they check and measure the SDK and are not part of its API.
//   - internal: library plumbing only: the provider registry the commands
//     and harnesses share, what the simulators share, and test helpers.
//   - examples: runnable programs; examples/quickstart is the first to run,
//     and examples/embedded-engine is the smallest VMS (visitor.Engine, a
//     SQLite store, one ACS; Engine.Run kept going, acs.Closer providers
//     closed at the end).
//
// The code is licensed under the Apache License 2.0 (the LICENSE file).
//
// # The life of a visit
//
// A visitor signs in at a location. The lifecycle checks the watchlist and
// the visitor type's policy, takes a badge from the location's pool (the one
// scanned at the desk, or the next available one) or allocates a card number
// from the location's range, and asks the location's ACS, through its
// acs.Provider, to provision a grant: a cardholder keyed by the visit's ID, a
// credential with the badge's card data, the access levels the front-desk
// operator is allowed to grant, and a validity window that ends on its own.
//
// Every ACS operation is first written to an outbox in the store and only
// marked done when the ACS confirms it, so a provision or a revocation that
// meets an outage is retried until it lands. Provisioning is idempotent by
// the visit's ID, so a retry after a lost answer finds what exists instead
// of creating a duplicate.
//
// When the badge comes back, the visitor signs out, the sweeper finds the
// visit expired, or security removes the visitor, the credential is revoked;
// the badge returns to the pool only once the ACS has confirmed it. A
// revocation always wins over a provision still pending for the same visit.
package acsbridge
