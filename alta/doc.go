// Package alta is an acs.Provider for Avigilon Alta (formerly Openpath)
// over its cloud REST API at api.openpath.com. It also implements
// acs.Inventory (Holdings) and acs.EventSource (Events).
//
// Section numbers (§1.x) refer to the Alta part of the research notes
// (research/more-acs.md); where a note is marked uncertain, the behaviour
// relied on is said here.
//
// # Mapping
//
// An access level is an Alta group (its decimal ID). A cardholder is an
// Alta user whose externalId is the grant's Person.ExternalID. A card is a
// card credential of that user. Access comes from group membership, and
// the grant's window is stored twice: as the user's startDate/endDate and
// as the credential's, so that either alone ends access on time.
//
// # Vendor facts relied on
//
//   - §1.1 Login: POST /auth/login with a JSON body {"email","password"}
//     (never in a URL), answered 201 with data.token and data.expiresAt.
//     The token's lifetime is read, not assumed: expiresAt − createdAt when
//     both are present (both on Alta's clock), else expiresAt − now, else one
//     hour; it is refreshed a fifth of its lifetime (at most a minute) before
//     it ends with POST /auth/accessTokens/refresh, which invalidates the old
//     token; a refused refresh, and any 401 from the API, leads to a new
//     login and one resend. Concurrent callers share one token, one refresh
//     and one login. An account that requires MFA cannot log in this way.
//   - §1.1, §6 (uncertain) Authorization header: the notes do not settle
//     whether Alta wants "Bearer <token>" (a connector's template) or the
//     bare token (the spec's apiKey type, an unattributed script). The
//     adapter sends Bearer first; when a fresh token is refused it tries
//     the bare token once, and keeps the first scheme Alta accepts for the
//     life of the Provider. WithTokenScheme fixes either.
//   - §1.1 HTTP Basic: a production integration authenticates every request
//     with Basic base64(user:key) and never logs in. WithBasicAuth does
//     that with Config.Username and Config.Password.
//   - §1.2 Every resource is under /orgs/{orgId}; Config.OrgID is required.
//   - §1.3 Users: POST /orgs/{orgId}/users → 201 data{…} with
//     identity.email (required, unique), identity.firstName/lastName,
//     externalId, startDate, endDate, startAndEndDateTimeZoneId,
//     hasRemoteUnlock; PATCH → 200; DELETE → 204; PUT …/status {"status"}.
//     The swagger types the dates as dates but Alta's values are ISO
//     timestamps: windows are sent as "2006-01-02T15:04:05.000Z" with
//     startAndEndDateTimeZoneId "UTC" (whole seconds), and read back either
//     way. Whether Alta enforces them to the minute is not documented (§6);
//     Revoke does not depend on it.
//   - §1.3 E-mail: Alta requires an e-mail and keeps it unique, soft-deleted
//     users included. The adapter never sends the visitor's own address:
//     each visit's user gets v-<128-bit hash of the external ID>@<domain>
//     (WithEmailDomain, default "visitors.acsbridge.invalid", a reserved
//     domain). So a visit can never land on a real person's account (an
//     employee visiting another site, a returning visitor), two visits never
//     collide, and the address is a second, unique key for the visit.
//     Person.Email and Person.Company are not sent.
//   - §1.3 Soft deletion: DELETE /users/{id} is soft; creating a user with
//     a deleted user's e-mail answers 201 with the archived user as it was,
//     with its stale credentials. A created user is taken as new only when
//     it comes back as sent (names, externalId, window), without groups,
//     and with a createdAt within two minutes of now; otherwise its
//     credentials are deleted and it is made to carry the grant (PATCH,
//     status A, groups), as the production integration does.
//   - §1.4 Groups: GET /orgs/{orgId}/groups lists them (the access levels);
//     PUT /users/{id}/groupIds {"groupIds":[…]} replaces a user's set, so a
//     re-provision leaves exactly the grant's groups.
//   - §1.5 Credentials: POST /users/{id}/credentials → 201 with the
//     required credentialTypeId, per-credential startDate/endDate and one
//     card{…} object; DELETE /users/{id}/credentials/{id} → 204; PATCH for
//     a new window. The card credential type is the lowest ID with
//     modelName "card" in GET /credentialTypes, never a hard-coded number
//     (type 2 in the orgs the notes saw).
//   - §1.5 Card formats: GET /cardFormats lists id, numBits and the
//     description's fields with their maxBits. A format is recognised as a
//     Wiegand layout by its bit length and field widths (cardId and at most
//     one of facilityCode, companyId, companyCode, siteCode), never by its
//     name or code; several formats of one layout resolve to the lowest ID,
//     and Grant.CredentialType (a card format ID, as CredentialFormats lists
//     them) picks one explicitly. A card is sent as cardFormatId,
//     facilityCode, cardId and fields, and as number, the raw frame (parity
//     included) in decimal, matching card.numBits (§1.5's card echo); the
//     notes do not say which of number and the fields Alta derives from
//     which, so both are sent and agree. A listed card is the grant's card
//     when its cardId (and facility code) or, without them, its number
//     match, and its format is not recognised as another layout.
//   - §1.8 Lists take limit and offset and answer {totalCount,
//     filteredCount, data}; pages of 100 are read until filteredCount (or
//     totalCount) is reached. The catalogues and AccessLevels read the
//     first page, then the others up to WithConcurrency (default 8) at
//     once, kept in order; a first page shorter than asked for (a server
//     capping its pages) is followed page after page instead, from where
//     it ended. q is a search whose fields the notes do not
//     list: the adapter uses it only to narrow a listing and matches every
//     item itself, so a q that searches less than hoped can only cost
//     requests (see below), never a wrong match.
//   - §1.8 Errors: no body shape is documented; {"name","message"},
//     {"error":{…}}, {"error":"…"} and text are read (redacted, at most 300
//     bytes) into APIError. Rate limits are not documented: 429, and a 403
//     whose message speaks of a rate limit (a third party's mapping), are
//     RateLimited; Retry-After is honoured, and the client limits itself to
//     DefaultRateLimit requests a second (WithRateLimit).
//   - §1.7 Events: GET /orgs/{orgId}/reports/activity/events with
//     filter=uiData.time:(from-to) in epoch seconds (both inclusive), paged
//     by cursors.nextCursor while cursors.hasNextPage, with the same filter
//     on every call of a query and a searchId option; limit is a suggestion.
//     Rows are read from uiData: time (epoch seconds, or milliseconds, or
//     timeIsoString), userId, userExternalId, credentialTypeModelName,
//     entryId, entryName, result, resultDescription, deniedReason. They
//     carry no card number the notes record: a card decision's card is the
//     user's only card credential (one lookup per user a minute). The
//     result values are not documented: a deniedReason or a result speaking
//     of denial or failure is a denial, one speaking of a grant or success a
//     grant, anything else not granted.
//
// # Operations and their round trips
//
// Provision validates the grant (acs.ValidateGrant, decimal group and
// format IDs) before any request, then: resolves the card format, the card
// credential type and the groups (cached for DefaultCacheTTL, each listing
// shared by the callers needing it at the same moment; an unknown group
// is NotFound before anything is written, after one fresh listing);
// looks the visit's users up (GET /users?q=<its e-mail>, matched exactly);
// lists the user's credentials when it exists; when the card is not among
// them, asks who holds the card (GET /credentials?q=<card ID>, each with
// its user, matched exactly): a holder other than the visit's users whose
// status is A and whose windows have not ended is a Conflict, before
// anything is written. Then it creates the user (or adopts it: PATCH when
// its person or window differ, PUT …/status A when it is not active), sets
// its groups (skipped when the listing shows them already exact), and
// creates the credential last (or PATCHes its window when it differs), so
// the card opens nothing until everything else is in place. Requests, as
// the tests print them (TestRoundTrips):
//
//	first provision, cold (login and catalogues)  11  (protocol minimum 11)
//	first provision, warm                          7  (lookup, card check, user, look again, groups, credential, look again)
//	repeat of the same grant                       2  (lookup, credentials)
//
// Alta documents no refusal of a card held by someone else, so only asking
// shows a Conflict; that question is the request after the lookup. Lost answers are
// recovered within the call: a create whose answer was lost is looked for
// before it is sent again. When Alta refuses a creation (the e-mail taken:
// the lookup's q missed the user), every user is read to find it, and the
// user found is adopted (never undone: this call did not create it); when
// Alta refuses the credential, every credential is read, and a holder
// found makes it a Conflict. After a Conflict or any other refusal, what the call
// created is undone (the credential, then the user); a failure whose
// outcome is unknown is left for the next call to complete. Provisions of
// one visit, and of one card, are serialised within the process.
//
// # Several processes
//
// VMS replicas each have their own Provider, whose per-key locks do not
// reach the others: two of them may provision one visit at the same
// instant, both find nothing, and both create. Alta then holds the card
// twice on the visit's user (the notes document no refusal of a second
// credential with one card, and the same user may carry it twice) or,
// should two creations of the visit's e-mail both pass (Alta keeps e-mails
// unique, §1.3, but the notes do not say that this holds for two creations
// at the same instant), two users. Provision converges whenever it sees
// more than one: in its lookup, and in the look it takes right after each
// of its creations (the users of the e-mail after creating the user, the
// user's credentials after creating the credential), so that the later of
// two creators always sees the earlier one's. Every process picks the
// same survivor, the smallest ID: the survivor is made to carry the grant
// (a credential's window is PATCHed when it differs) and the others are
// deleted, a duplicate user after its credentials. A process whose own
// creation lost answers the survivor. A card held by another user of the
// visit is never a Conflict.
//
// Revoke stops the card whatever duplicates exist: it looks the visit's
// users up (by the e-mail derived from the external ID, plus the
// referenced user), lists each one's credentials and deletes the one with
// the referenced ID and every one carrying the reference's card (3
// requests for one user and one card: lookup, listing, DELETE; 2 when
// already revoked). A user or credential that is gone is a success. Any
// answer to a DELETE but a 2xx, and no answer, is settled by asking Alta
// whether the credential is still there (a listing of the user's
// credentials, and GET /users/{id} when that is a 404): gone is a success;
// still there, or not known because the question failed too, is an error,
// Unavailable when Alta said "not found" (so it is retried, not believed).
// Only the visit's users' credentials are touched, so a stale revoke never
// takes a badge from the next visitor; it does take the card from the same
// visit, should the visit have been given the same card again since.
//
// RemoveCardholder looks the visit's users up the same way and deletes
// every credential of each, then the user (4 requests for one user with
// one card). The deletion is soft, so the credentials go first: nothing is
// left to come back with the user.
//
// Holdings reads every user and every credential of the organisation
// (two paged listings) and delivers the users carrying the marker (an
// externalId and an e-mail of the WithEmailDomain domain); each credential
// carries the user's groups, Active is the user's status A, and its window
// is the intersection of the user's and the credential's.
//
// Events polls the activity report from the cursor (or
// EventOptions.History ago) in windows of at most EventOptions.Window,
// EventOptions.Settle behind now, and delivers door events in order of
// time and row digest; see its documentation.
//
// # Left out
//
// acs.MobilePassIssuer is not implemented: Alta sends the mobile set-up
// e-mail to the user's identity e-mail (§1.5), which the adapter keeps
// synthetic for the reasons above, and the set-up token variant has no
// documented acceptance link to return as acs.MobilePass. Guest passes
// (cloud-key unlock links, §1.6) have no acs interface yet. Webhooks
// (hookActions, §1.7) are not used: their trigger schema, payload and
// signing are not documented. Tap to enrol (acs.UnknownCardEvents) is not
// available: the adapter reads a door event's card from the credential
// the event names, and an unknown card names none.
//
// # Employee access
//
// The Provider implements acs.EmployeeAccess (visitor.EmployeePolicy): an
// employee is an Alta user, named by its ID, or found by card through
// GET /credentials?q=<card number> (the match compared exactly); users
// carrying this adapter's synthetic visitor e-mail are not employees.
// SetEmployeeEnabled reads the user and moves its status between A and S
// (PUT /users/{id}/status; only A opens doors, and employees start
// suspended); a user with status I is never enabled by a check-in
// (PermissionDenied), the notes inferring that I means a deactivated
// account. SetEmployeeLevels checks the groups, reads the user, and sends
// one PATCH /users/{id}/groupIds {"add":[…]} or {"remove":[…]}, which
// touches only the named groups. Alta's answer to a change of a user its
// identity-provider sync keeps is not in the notes: a refusal whose
// message says read-only, SCIM, identity provider, directory,
// synchronized, managed by or IdP is acs.ReadOnly.
//
// # PINs
//
// The Provider implements acs.PINIssuer with Alta's pincode credential
// (§1.5, high confidence: Openpath's own Swagger lists the pincode
// {number} sub-object of POST /orgs/{orgId}/users/{userId}/credentials
// with the credential's own startDate/endDate). ProvisionPIN finds or
// creates the visit's user as Provision does (window, status A, exactly
// the grant's groups), resolves the credential type whose modelName is
// "pincode" from GET /credentialTypes, and creates a pincode credential
// with the PIN and the grant's window; another pincode credential of the
// user is deleted once the new one exists, so a PIN replaces the last. It
// needs no card (PINSupport.Standalone) and, with a card, is a second
// credential of the same user. RevokePIN deletes the pincode credential
// (DELETE …/credentials/{id}), leaving the card; RemoveCardholder deletes
// it with the user. Relied on without a source: a length of 4 to 8 digits
// (the notes give none), that the pincode's number is listed back in
// GET …/credentials (used only to find the credential already carrying
// the PIN; without it, a repeated provision creates a new credential and
// deletes the old), and that a PIN another user holds is refused with
// 409 (mapped to acs.Conflict; the simulator refuses it, Alta's rule is
// not in the notes). The PIN travels in the body of that POST only; the
// adapter's log records of the call are redacted (acshttp.WithPINs) and
// its errors pass through acs.RedactPIN, even when Alta echoes the PIN.
//
// # Safety
//
// Every value placed in a path is a decimal Alta ID; the only values
// placed in a query are the visit's derived e-mail, a card number, a time
// filter built from integers and the adapter's searchId. Names travel as
// JSON string values only. Secrets (the password, the Basic credential,
// current and recent tokens, and anything shaped like a JWT) never appear
// in errors, log lines or URLs. TLS certificates are verified unless
// WithTLS says otherwise; plain http is refused except to a loopback host
// or with WithAllowInsecureHTTP.
//
// A Provider is safe for concurrent use.
package alta
