// Package verkada is an acs.Provider for Verkada Access over Verkada's
// public REST API (api.verkada.com, or the EU and AU hosts).
//
// # Mapping
//
// An acs access level is a Verkada access group; a cardholder is a Verkada
// user whose external_id is the grant's Person.ExternalID; a card is a
// Verkada card credential of that user. Verkada keeps the validity window
// on the user (its access start and end dates), so the grant's window is
// stored there and applies to all of the user's credentials; an access
// group grants its doors through the access levels an administrator set up
// in Verkada Command.
//
// # Vendor facts relied on
//
// The wire notes are research/more-acs.md §2, which has no official
// machine-readable spec behind it: field names come from Verkada's
// reference pages and three public clients. Each fact below names its
// section; where a note is uncertain, the behaviour the adapter relies on
// and what it does about the other plausible answers are stated.
//
//   - §2.1 Hosts: https://api.verkada.com (US), https://api.eu.verkada.com,
//     https://api.au.verkada.com (DefaultBaseURL, EUBaseURL, AUBaseURL).
//     The API lives at the host's root.
//   - §2.1 Authentication: POST /token with the API key in x-api-key
//     answers {"token":"…"}; every other call sends the token in
//     x-verkada-auth. "API Tokens are valid for 30 minutes and cannot be
//     refreshed", so the adapter exchanges the key again after
//     DefaultTokenMaxAge (25 minutes, as public clients do) and once on a
//     401 (an expired token answers 401 {"id":"0e2d","message":"Token
//     expired"}), then resends the refused request, which changed nothing.
//     Concurrent callers share one token and one exchange. The key goes
//     only into x-api-key of POST /token, never into a URL, an error or a
//     log line; tokens likewise.
//   - §2.1 Keys are scoped per product: the key needs read/write on Core
//     (users) and Access. 403 ("API key does not have required
//     permissions", §2.5) is a PermissionDenied error.
//   - §2.2 Users: POST /core/v1/user with external_id, first_name,
//     last_name, email, company_name and department; the answer carries
//     user_id. DELETE /core/v1/user?user_id=… deletes. The department is
//     set to a marker (DefaultMarker, see WithMarker) by which Holdings
//     recognises the users the SDK created.
//   - §2.2 The access-user object, GET /access/v1/access_users/user?
//     external_id=…|user_id=…, holds access_groups, cards, start_date and
//     end_date: one read shows everything Provision needs to compare. A 404
//     means no such user. Verkada documents no lookup errors, so a 400 is
//     not taken to mean absent: the adapter asks GET /core/v1/user whether
//     the user exists. Dates are read as Unix seconds in a string or a
//     number, null or "" as unset (§6: "end_date null/clear semantics are
//     unclear"; the adapter never clears a date, it only sets both), or
//     RFC 3339 should Verkada answer so. access_groups entries are read as
//     {"group_id","name"} objects or bare ID strings.
//   - §2.2 The window: PUT /access/v1/access_users/user/start_date and
//     …/end_date with {"start_date":"<Unix seconds>"} (a string, as GDR
//     sends); "Before this time, all methods of access … invalid", "After
//     this time, all methods of access will be revoked". Whole seconds: the
//     grant's times are truncated. When a window moves wholly past the
//     current one the end is set first, so that the start never falls after
//     the end (an order Verkada may refuse; the simulator does).
//   - §2.3 Cards: POST /access/v1/credentials/card?user_id=… with
//     {"type","facility_code","card_number","active"} (strings for the
//     numbers, as Verkada's sample) answers the Card object with card_id.
//     "active defaults to False", so the adapter sends "active": true, and
//     activates the card (PUT …/card/activate?card_id=…&user_id=…) should
//     the answer still say inactive. DELETE /access/v1/credentials/card?
//     card_id=…&user_id=… answers {}.
//   - §2.3 Types: H10301 is "Standard 26-bit Wiegand", H10306 "HID
//     34-bit", H10302 "HID 37-bit No Facility Code" (sent without
//     facility_code), H10304 "HID 37-bit", Corporate 1000 "HID Corporate
//     1000-35" and "-48". Cards read back are matched by type name or GDR's
//     alias ("HID", "HID34", "HID37woFacilityCode", "HID37wFacilityCode",
//     "Corporate1000_35", "Corporate1000_48"), case-insensitively, and by
//     card_number, else card_number_hex, else card_number_base36.
//     CredentialFormats lists §2.3's type names (Verkada has no listing
//     endpoint) and Grant.CredentialType may name any type.
//   - §2.4 Access groups: GET /access/v1/access_groups lists
//     {"access_groups":[{group_id,name}]}; PUT /access/v1/access_groups/
//     group/user?group_id=… with {"user_id"} adds, answering
//     successful_adds/unsuccessful_adds; DELETE …/group/user?group_id=…&
//     user_id=… removes. A 2xx without the user in unsuccessful_adds is
//     success; with it, the adapter reads the user's groups before calling
//     it a failure; a 404 is settled by asking whether the group exists
//     (NotFound) or the user vanished (retryable).
//   - §2.5 Listings carry next_page_token, sent back as page_token until
//     an answer has none; the adapter follows it on every listing and
//     sends page_size (200, the maximum) only to the event listing, where
//     it is documented.
//   - §2.5 Errors: the body {"id","message","data"} is read into APIError;
//     400, 401, 403, 404, 429 and 5xx are classified by status.
//   - §2.5 Rate limit: "300 requests per minute per organization" with 429
//     (the source is a Databricks connector, §6). The adapter keeps a
//     client-side sliding window of DefaultRateLimit requests per rolling
//     minute (WithRateLimit(5, 300)), token exchanges and retries
//     included, so that no minute, however Verkada aligns it, sees more; a
//     429 pauses every caller until its Retry-After and the request is sent
//     again, creates included (a 429 is answered before anything is done).
//     A Retry-After longer than the retry wait (60 s by default, WithRetry)
//     is returned as a RateLimited error carrying it, and so is a wait of
//     the window that would outlast the caller's deadline (nothing is
//     sent).
//   - §2.5 Events: GET /events/v1/access with start_time, end_time (Unix
//     seconds), page_size and page_token; see Events.
//
// Where the notes are silent:
//
//   - Whether POST /core/v1/user refuses a taken external_id is not
//     documented (Verkada calls the external ID the third-party system's
//     unique identifier, not that it is enforced). The adapter looks the
//     external ID up before creating, and a refused create is followed by
//     another lookup (a concurrent creation is then used); should Verkada
//     accept the second user, the duplicates converge (see Several
//     processes).
//   - What Verkada answers to a second card with a registered type,
//     facility code and number is not documented. A refused card creation
//     (any 4xx but 401, 403 and 429) is first checked against the user's
//     own cards (an earlier attempt may have created it); otherwise a 409,
//     or a 400 or 422 whose message says the card exists ("exist",
//     "duplicate", "already", "in use", "assigned", "taken"), is a Conflict
//     unless another user of the same external ID shows up in the user
//     listing (it is then a duplicate of the visit, which converges) or
//     the creation sent once more succeeds or finds the card on the user
//     (see Several processes), and any other refusal keeps its code. The API offers no search of cards
//     by number, so the other holder cannot be named. Should Verkada accept
//     a second card of the number, the adapter notices it only on the
//     visit's own users (see Several processes).
//   - Whether deleting a user deletes its cards is not documented (§6), so
//     RemoveCardholder deletes the cards first.
//   - The event timestamp format and listing order are not documented; see
//     Events.
//
// # Operations and their round trips
//
// Counted against the simulator (TestRequestsPerOperation prints them),
// with the token held and the group catalogue cached (10 minutes,
// WithCacheTTL):
//
//   - Provision, new visitor, one group: 7 requests (lookup, create user,
//     create card, look again, start date, end date, add to group), the
//     protocol minimum once concurrent provisions are allowed for: no
//     endpoint combines these writes, and only the look after the
//     creations shows another process's. Each further group adds one.
//     Cold (first call of a process): 9, adding the token exchange and
//     the group listing.
//   - Provision repeated, nothing changed: 1 (the lookup). Drift is
//     repaired with one request per difference (an inactive card, a date,
//     a group too many or too few).
//   - Revoke with the card and user IDs (as Provision returns them): 2
//     (the lookup by external ID, whose cards show any duplicate, and the
//     DELETE). By external ID and card: 2. Already revoked: 1.
//   - RemoveCardholder: 1 read, 1 DELETE per card, 1 DELETE of the user,
//     1 more lookup of the external ID (another user may carry it).
//
// Provision looks the user up by external ID; when it is absent it
// creates the user, then the card, then sets the dates and finally the
// groups, so that the card only opens doors once its window is set. A lost
// answer to a create is recovered within the call by asking Verkada
// (lookup by external ID, the user's cards) before sending again, and
// idempotent requests are resent after transport failures and 500, 502,
// 503, 504. After a refusal (a Conflict, an unknown group, a missing
// permission) the call deletes what it created, the card or the user; a
// transient failure leaves everything for the retry to complete. An
// access level is checked against the group catalogue before any write: an
// unknown one is NotFound and changes nothing. The user ends with exactly
// the grant's groups (extra ones are removed first); other cards the user
// holds are left alone.
//
// Revoke deletes the card (rather than deactivating it), so that it opens
// nothing and its number is free for the next visitor: the referenced card
// and every card of the reference's card data on the user the external ID
// answers and on the referenced user (and, when those two differ, on every
// user the listing shows with the external ID). It only touches cards of
// the visit's users, so a stale revoke retried after the badge went to the
// next visitor cannot take it away; it does take the card from the same
// visit, should the visit have been given the same card again since.
// RemoveCardholder deletes every card of the user, then the user, for the
// referenced user and for each user the external ID answers, looked up
// again after each removal until none is left.
//
// # Several processes
//
// VMS replicas each have their own Provider, whose per-key locks do not
// reach the others: two of them may provision one visit at the same
// instant, both find nothing, and both create. Should Verkada accept the
// second user of the external ID or the second card of the number, it then
// holds the visit twice. Provision converges whenever it sees more than
// one: among the user's cards in its lookup, and in the lookup it takes
// again right after it created the user or the card, so that the later of
// two creators sees the earlier one's (the lookup by external_id answers
// one user; when it answers another than the one this call created or
// used, the user listing, GET /access/v1/access_users, is read for every
// user of the external ID). Every process picks the same survivor, the
// smallest ID (user IDs and card IDs compared as strings): the survivor
// carries the grant and the others are deleted, a user after its cards; a
// process whose own user was removed starts over on the survivor (three
// rounds at most, then a retryable Unavailable). A refused card creation
// that would be a Conflict reads the listing too, and a card held by
// another user of the external ID converges instead of being a Conflict.
// That holder may be gone by the time the listing is read: when Verkada
// accepts the second user and refuses the second card, the process whose
// newer user got the card removes that user, its cards first, as soon as
// its look shows the older one, possibly between the other process's
// refusal and its listing. So when the listing shows no other user, the
// creation is sent once more: the card is free then, or the other
// process, starting over on the survivor, has created it there (the
// refusal then finds it among the user's cards). Only a second refusal
// with still no other user listed is a Conflict; a card held by a
// stranger costs the creation, the read of the user's cards and the
// listing twice.
//
// One case stays out of sight: should Verkada accept both duplicates (the
// user and the card) and its lookup answer the newer of two users, the
// earlier creator's look may come before the later creation, and the later
// creator's look shows only its own user; a revoke through the newer
// user's reference then does not see the older one. RemoveCardholder
// still reaches both (each removal makes the lookup answer the next), and
// the reconciliation of the visitor package sees every marked user
// (Holdings lists them all). The listing is not read on every provision
// or revoke because it costs a request per page of the organisation's
// users, against a limit of 300 requests a minute.
//
// # Gone is gone
//
// Revoking or removing what is already gone succeeds, so both can be
// retried until confirmed. Verkada documents what a lookup of a missing
// user answers only as "404", so the adapter never takes another error
// answer for "gone": an error answer to a DELETE (anything but 401, 403
// and 429: a 400, a 404, a 409, a 5xx after the retries) is followed by a
// question, the user's access-user object (its cards) or GET
// /core/v1/user. Absent is a success; still there returns the DELETE's
// error. Only Verkada's own 404 (an empty body or a JSON object, as its
// error bodies are) means absent; a 404 page from a proxy or a wrong base
// URL is an Unknown error, so a revoke through it fails rather than
// reporting a revocation that did not happen.
//
// # Retention
//
// RemoveCardholder deletes the Core user, which holds the visitor's names,
// e-mail address and company; the cards are deleted first. Whether
// Verkada keeps a record of a deleted user, and its access events keep the
// name shown on them, is not documented (§6); the API offers no other way
// to erase either.
//
// Person.Company goes to company_name. Names travel only in JSON bodies;
// external IDs (letters, digits, '-', '_', '.') and Verkada IDs (letters,
// digits, '-', '_') are checked before they are placed in a query, so
// nothing a caller sends can add a query parameter.
//
// # Inventory and events
//
// The Provider implements acs.Inventory (Holdings, from the user listing
// and each marked user's access-user object) and acs.EventSource (Events,
// polling the access-event listing). Verkada's webhooks are not
// implemented: the notes give the notification envelope but not which
// fields say granted or who, and the signature header differs between the
// receivers quoted (§2.5, §6); polling is the documented path. Nor is the
// Verkada Pass invitation (acs.MobilePassIssuer): Verkada offers no way to
// see a pending invitation, so it could not be idempotent.
//
// Access events carry the presented card (event_info.rawCard), also of a
// card Verkada does not know, so the Provider implements
// acs.UnknownCardEvents and tap to enrol (visitor.Engine.StartEnrolment)
// works with Verkada.
//
// # Employee access
//
// The Provider implements acs.EmployeeAccess (visitor.EmployeePolicy). An
// employee is a Verkada user without the visitor marker department, named
// by its user_id; FindEmployee by ID costs 2 requests (GET /core/v1/user
// for the names and the department, then the access-user object). Verkada
// offers no search of cards by number, so FindEmployee by card reads the
// user listing and each unmarked user's access-user object until one holds
// the card: a request per page and per user, against 300 requests a
// minute, so a VMS checks employees in by ID where it can (Verkada's
// access events name the user).
//
// Verkada keeps no enabled/suspended status on an access user that the
// notes name. The Core user's "active" flag (§2.2, from one public
// client's response types) is not read or written: what it means (an
// activated Command account, say) is not documented, and nothing says it
// can be set. The status method therefore uses the access window, whose
// meaning Verkada's reference states: the start date ("Before this time,
// all methods of access … invalid", [H]) and the end date ("After this
// time, all methods of access will be revoked", [M], quoted by a public
// client). Enabled means the window holds now. SetEmployeeEnabled
// enables by moving the start date to now (less a minute, for clock
// skew) and disables by moving it to 2100-01-01 00:00 UTC, so employees
// start disabled with a start date to come; an administrator's end date
// is never moved by an enable. A user with an end date is disabled by
// moving the end date to now (the start must stay before it: the
// simulator refuses otherwise, and Verkada may), and is refused a
// check-in (PermissionDenied) once that date has passed or while its
// start is to come, since the enable could not be undone without moving
// the administrator's end date: for such users use the access_levels
// method. SetEmployeeLevels checks the groups against the catalogue
// (NotFound, nothing changed), reads the user, and adds or removes only
// the named memberships (§2.4's PUT and DELETE …/group/user, [M]).
//
// The notes say nothing of users a directory sync (SCIM) keeps: neither
// that Verkada refuses an API change to one, nor which fields a sync owns.
// The adapter therefore recognises no read-only refusal (a refused change
// keeps the code of its status, such as PermissionDenied for a 403, and
// acs.ErrReadOnly is never returned), and a change a sync later
// overwrites is not seen; the kit's EmployeeReadOnly rule is skipped.
//
// # PINs
//
// The Provider implements acs.PINIssuer with the access user's entry code
// (§2.3, medium confidence: the path and body come from an unofficial Go
// client that mirrors Verkada's public API, and a PowerShell module lists
// PINs among the calls it covers; Verkada's own reference page was not
// read). ProvisionPIN finds or creates the visit's user as Provision does
// (start and end dates, exactly the grant's access groups), then sets
// its code with PUT /access/v1/access_users/user/entry_code?user_id=…
// {"entry_code":"…"}, which replaces the code it had. A user holds one
// code, with or without cards (PINSupport.Standalone), bounded by the
// user's own start and end dates and opening its groups' doors. RevokePIN
// sends DELETE on the same path for every user of the visit, leaving its
// cards; RemoveCardholder deletes the user and its code with it. The
// Provisioned credential's ID is the user's. Relied on without a source:
// a length of 4 to 8 digits (the notes give none); that the access-user
// object shows entry_code (used only to skip a PUT of the same code, and
// to settle an error answer to the DELETE); and that a code another user
// holds is refused with 409, or 400 saying it is in use or already taken
// (mapped to acs.Conflict; the simulator keeps codes unique, Verkada's
// rule is not in the notes). The code travels in that PUT's body only; the
// adapter's log records of the call are redacted (acshttp.WithPINs) and
// its errors pass through acs.RedactPIN, even when Verkada echoes it.
//
// # Safety
//
// TLS verification is on by default (WithTLS adds a CA file); plain http
// is refused except to loopback hosts unless WithAllowInsecureHTTP. A
// Provider is safe for concurrent use; operations on one external ID are
// serialised within the process; see Several processes for operations of
// one visit in several processes.
package verkada
