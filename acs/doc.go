// Package acs is the provider-neutral contract between a visitor management
// system and an access control system (ACS).
//
// An adapter (package genetec, lenel, brivo, or your own) implements
// Provider: test the connection, list access levels and credential formats,
// provision a grant, revoke a credential, remove a cardholder. What only
// some systems can do lives in small optional interfaces (EventSource,
// MobilePassIssuer, PINIssuer, Inventory, EmployeeAccess, UnknownCardEvents,
// Closer), discovered with a type assertion; each documents what to do
// when it is absent.
//
// # PINs
//
// A PIN is a secret the visitor receives once. The PIN type redacts itself
// wherever it is printed or encoded; ParsePIN is the only way in and
// Reveal the only way out. PINIssuer (an ACS with keypad readers) sets and
// removes a cardholder's PIN; PINSupport says which lengths it takes and
// whether a PIN needs a card to live on. RedactPIN strips a PIN from an
// error that quotes it.
//
// # Errors
//
// Every adapter error is an *Error carrying the operation, the provider and
// a Code. errors.Is matches the code's sentinel (ErrNotFound, ErrRateLimited,
// …); errors.As reaches both the *Error and the vendor's own error type.
// Wrap classifies an error exactly once. IsRetryable says whether repeating
// the request later may succeed, and RetryAfterOf how long the ACS asked to
// wait.
//
// Errors are classified by what happened, not by the status that carried
// it: a 404 to a login whose URL lacks the API's path, an OAuth server
// and an API given each other's URLs, https to a port that speaks plain
// HTTP are Misconfigured (the server answered; fix the settings), never
// Unauthenticated or Unavailable, so that nobody checks a password or
// waits for an outage that is not there.
//
// # Validation
//
// ValidateGrant is shared by every adapter and runs before any network
// call: an invalid grant is an InvalidArgument error and changes nothing.
//
// # Card data
//
// CardFormat and Card are wiegand.Format and wiegand.Card, and H10301 …
// Corp1000_48 are wiegand's constants: the SDK has one card model, which
// package badge uses too, so card data passes from a badge pool to a grant
// and into an encoder without conversion, and a format is its name
// ("H10301", "C1000-35") in JSON and text. This is the one import of this
// package from the module: wiegand is a leaf that imports only the
// standard library, so the dependency graph stays acyclic and one-way
// (acs imports wiegand, wiegand imports nothing of ours), and the field
// ranges are no longer kept in a second table here.
//
// # Writing an adapter
//
// A new ACS is one package that implements Provider and passes the
// conformance kit in package acstest (acstest.Run; its package
// documentation lists every rule and what a Harness provides). Package
// acstest also holds Memory, an in-memory Provider for tests and examples.
// The brivo package documentation is the model for documenting what an
// adapter relies on; examples/custom-adapter is a small complete adapter.
//
// The checklist, each point a rule of the kit or a lesson from the
// adapters in this repository:
//
//  1. Validate first. Provision calls ValidateGrant (with the ACS's Rules)
//     before any request and returns its error, wrapped with Wrap; names,
//     external IDs and text go into the vendor's query language or XML
//     escaped by a real encoder, or are refused.
//  2. Name operations with constants ("provision", "revoke",
//     "remove_cardholder", "ping", "access_levels", "credential_formats",
//     "holdings", "events") and return *Error values carrying the op and
//     the provider name, classified once.
//  3. Find or create by external ID. Look the cardholder up by
//     Person.ExternalID (write it where the ACS can search it: an external
//     ID field, a custom field, a name suffix) and the credential by card
//     before creating either, so a retry after a lost response finds what
//     the first attempt made. Several VMS replicas may provision the same
//     external ID at once: tolerate (and clean up) a duplicate cardholder.
//  4. Make it exactly the grant. Re-provision sets the access levels to the
//     grant's (removing others) and overwrites the window. Levels and the
//     window may live on the cardholder rather than the card (Genetec,
//     Brivo's groups): wherever they live, they must end up as granted.
//  5. Undo what you created when the ACS refuses: after a Conflict (a card
//     held by someone else) no cardholder made by this call may remain.
//  6. Revoke only the referenced cardholder's credential: a stale revoke
//     retried after the badge went to the next visitor must not take it
//     away. With no credential ID, find it by card among the cardholder's.
//  7. Absent is success. Revoke and RemoveCardholder succeed when the
//     target is already revoked or gone. Never infer "gone" from an error
//     code only your simulator produces: when an answer is not certain,
//     ask the ACS whether the target exists.
//  8. Unknown access levels are NotFound, cards held by another cardholder
//     Conflict, refused credentials Unauthenticated or PermissionDenied,
//     outages Unavailable, throttling RateLimited with RetryAfter.
//  9. Keep secrets out of errors, logs and URLs (redact what the ACS echoes
//     back), verify TLS by default, allow plain HTTP only to loopback
//     unless the caller opts in, pace requests under the vendor's limit,
//     and retry only what is safe to repeat.
//  10. Offer what the ACS can: Inventory (needed by reconciliation),
//     EventSource, MobilePassIssuer, EmployeeAccess (employees who must
//     check in), UnknownCardEvents (tap to enrol), PINIssuer (never log,
//     echo or keep the PIN: Reveal it only into the request, and pass its
//     errors through RedactPIN), Closer for sessions or background work.
//  11. Document, in the package doc, the vendor behaviour relied on (with
//     the version or source), what each operation costs in round trips,
//     what RemoveCardholder leaves behind at the ACS, and what is left out.
//
// Package acs/acshttp holds the HTTP plumbing the adapters here share and
// adapters elsewhere may import: TLS policy with a custom CA, the
// plain-HTTP rule, idempotent retries honouring Retry-After, pacing,
// redaction of secrets, error classification of transport failures.
package acs
