// Package acstest is the conformance kit every acs.Provider must pass, and
// Memory, an in-memory Provider for tests and examples.
//
// # Running the kit
//
// An adapter's test gives the kit a fresh Harness per rule:
//
//	func TestConformance(t *testing.T) {
//		acstest.Run(t, func(t *testing.T) acstest.Harness { return newHarness(t) })
//	}
//
// Run runs every rule as a subtest; Verify runs the same rules without a
// *testing.T and returns the violations joined into one error (for the
// kit's own tests, or a command that checks an adapter against a test ACS).
// Each rule runs under its own deadline (WithRuleTimeout, default 2
// minutes), enforced even when the provider ignores its context: a hung
// rule fails with its name and the kit goes on to the next. A failure is a
// *Violation naming the rule, what it expects, what the oracle saw and the
// likely fix. A rule about an optional interface the provider does not
// implement is skipped.
//
// # What a Harness provides
//
// The kit never believes the adapter about the backend: every rule checks
// the backend's own state through the harness, its oracle.
//
//   - Provider: the adapter under test, pointed at the backend.
//   - AccessLevels: IDs of at least two levels that exist in the backend.
//   - Opens: whether, in the backend, a credential opens a level's doors at
//     a given time (read the simulator's state, or ask a test ACS).
//   - Census: how many cardholders and credentials the backend stores.
//   - Now: the backend's clock; grant windows are built around it, in
//     whole seconds, from a minute ago to two hours ahead.
//
// Optional: UnknownLevelHarness (a well-formed level ID the backend lacks,
// when the kit's default would be refused as malformed), SwipeHarness (the
// backend presents a card at a door, so that EventSource is checked),
// EmployeeHarness (the backend stores a cardholder as an administrator
// would, so that EmployeeAccess is checked: Memory.AddEmployee is one),
// PINHarness (the backend says whether a PIN entered at a keypad opens a
// level's doors, so that PINIssuer is checked; required when the provider
// implements acs.PINIssuer), and io.Closer (called after each rule).
//
// Grants use H10301 cards (facility 42) unless a rule says otherwise, and
// external IDs "acstest-visit-N". Provisioned must carry the cardholder's ID
// and external ID, and the credential's ID, cardholder ID, cardholder
// external ID and card.
//
// # The rules
//
// In the order they run (Rules lists them too):
//
//	Ping                      Ping succeeds: the connection and credentials work.
//	ListAccessLevels          every level of the backend is listed, with a name
//	                          (all pages: operators pick levels from this list).
//	ListCredentialFormats     at least one format, each with an ID.
//	ProvisionGrantsAccess     a grant opens exactly its levels, a minute inside
//	                          each edge of its window and not a minute outside
//	                          (a badge must not work before or after its visit).
//	ProvisionIsIdempotent     the same grant again returns the same references and
//	                          creates nothing (retries after a lost response).
//	ReprovisionMakesItExactlyTheGrant
//	                          fewer levels and a shorter window on re-provision
//	                          leave only the new grant (no level kept by mistake).
//	EveryDeclaredFormat       each format CredentialFormats maps to a Wiegand
//	                          layout provisions and opens (no format declared
//	                          that the adapter cannot encode).
//	RevokeDeactivates         a revoked credential opens nothing.
//	RevokeTwice               revoking again succeeds (retries until confirmed).
//	RevokeByExternalID        external ID and card suffice (the provision's
//	                          response was lost, so no ACS ID is known).
//	RevokeUnknown             a credential that never existed revokes fine.
//	RevokeAfterRemove         the IDs of a removed cardholder's credential revoke
//	                          fine (absent is success, whatever the ACS answers).
//	RemoveCardholder          removal ends access, removes the cardholder and is
//	                          idempotent, by ID or external ID.
//	InvalidGrantsChangeNothing
//	                          invalid grants are InvalidArgument before any
//	                          request (names, external ID, card range, window).
//	UnknownAccessLevel        an unknown level is NotFound, as the Provider
//	                          contract says, and changes nothing.
//	CardHeldByAnother         a card live for one cardholder is a Conflict for
//	                          another, stays with the first, and the refused call
//	                          leaves no cardholder behind.
//	CardReuseAfterRevoke      a returned card can go to the next visitor.
//	CancelledContext          a cancelled context stops every method with a
//	                          Canceled error and changes nothing.
//	ConcurrentProvisions      20 concurrent provisions, no cross-talk.
//	Inventory                 acs.Inventory lists each cardholder once with its
//	                          card, levels and window, a revoked card as not
//	                          opening, and stops when fn fails.
//	EventsResume              acs.EventSource delivers each swipe once, and
//	                          resuming from a cursor delivers exactly the rest.
//	MobilePass                acs.MobilePassIssuer issues one pass per
//	                          cardholder, however often asked.
//	EmployeeFind              acs.EmployeeAccess finds an employee by ID and
//	                          by card, with its status and levels.
//	EmployeeStatus            enabling a disabled employee opens its levels'
//	                          doors, disabling closes them; both idempotent.
//	EmployeeLevels            adding a level opens its doors, removing it
//	                          closes them, other levels stay; idempotent.
//	EmployeeUnknownLevel      an unknown level is NotFound and changes nothing.
//	EmployeeReadOnly          a status change of a cardholder managed
//	                          read-only (directory sync) is refused with
//	                          acs.ErrReadOnly and changes nothing.
//	EmployeeCancelled         a cancelled context changes nothing.
//	PINProvisionOpens         acs.PINIssuer: a PIN opens exactly its levels at a
//	                          keypad, only inside its window; complete references.
//	PINIsIdempotent           the same PIN grant again creates nothing.
//	PINReplaces               a new PIN for the cardholder replaces the old one.
//	PINRevoke                 RevokePIN ends the PIN by reference and by external
//	                          ID, twice, and for a PIN that never existed.
//	PINRemoveCardholder       removing the cardholder ends its PIN.
//	PINInvalidChangesNothing  invalid PIN grants are refused before any request,
//	                          and no error quotes the PIN.
//	PINCancelledContext       a cancelled context stops both PIN methods.
//
// The PIN rules use distinctive 8-digit PINs (or the ACS's length limits)
// and, for an ACS that keeps PINs on cards (PINSupport.Standalone false),
// provision the visitor's card first and name it in the PIN grant.
//
// The package acs documentation has the checklist for writing an adapter.
package acstest
