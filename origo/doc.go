// Package origo issues HID Origo mobile IDs (Seos credentials on phones)
// to visitors and provisions their cards at the building's access control
// system, whatever it is. Origo opens no doors of its own: the ACS whose
// readers accept the phone does. An Issuer is therefore an acs.Provider
// in front of another acs.Provider, the door ACS (genetec, lenel, brivo,
// …, or your own).
//
// # Why a provider in front of a provider
//
// The choice was between an optional interface in package acs (a
// provider that can also issue mobile IDs) and a wrapper that is itself a
// Provider. The wrapper won, for three reasons:
//
//   - Package visitor knows acs.Provider only, and its outbox is what makes
//     a provision retried until its window ends and a revocation retried
//     until confirmed, across crashes, replicas and leases. As a Provider,
//     the issuer gets all of it unchanged: each mobile ID is one provision
//     and one revocation in the visit's queue, in order, with nothing new
//     in the Store. An optional interface would need the Engine to learn a
//     second kind of work (invite now, provision later) and every Store a
//     place to keep it.
//   - Revoking touches two systems in a fixed order (the door first, then
//     Origo: below). One Provider call per outbox item keeps the order and
//     makes the pair retried as a unit until both confirmed.
//   - Every other caller of a Provider (acsctl, the conformance kit, the
//     chaos suite) uses it as it is.
//
// The cost is that the wait for the phone shows as a retryable error, and
// that the references carry the IDs of both systems.
//
// # What Provision does
//
// A grant whose CredentialType is CredentialType (give it to the visitor
// location, visitor.Location.CredentialType, so that card numbers "from
// the range" become mobile IDs), or any grant without one under
// WithMobileByDefault, is a mobile ID; every other grant goes to the door
// ACS unchanged, so physical badges work at the same location.
//
// For a mobile ID, each visit is one Origo user whose externalId is the
// grant's Person.ExternalID (the visit ID). Provision finds the user
// (search by externalId) or, once the grant's access levels are known to
// exist at the door ACS, creates it, and invites it once with the
// configured part number (Origo e-mails the invitation code when the
// person has an e-mail address; Status shows it for the VMS to hand over
// otherwise). When Origo lists the user's credential as issued with a card
// number, Provision provisions that card, as CardFormat and FacilityCode
// of the Config say, at the door ACS for the grant's access levels and
// window, and returns references that join both systems:
//
//	cardholder ID  origo:<Origo user>:<door cardholder ID>
//	credential ID  origo:<Origo user>:<Origo credential>:<card number>:<door credential ID>
//
// The grant's own Card is not used for a mobile ID: HID assigns the card
// number from the part number's range (the visitor engine's range number
// stays its own bookkeeping). The returned reference carries the card
// Origo issued; DoorRef extracts the door ACS's reference.
//
// # Waiting for the phone
//
// The card number exists only once the visitor accepted the invitation in
// an app that embeds the Origo Mobile SDK, minutes or days later. Until
// then Provision returns an Unavailable *acs.Error wrapping ErrNotAccepted,
// whose RetryAfter says when asking again is worthwhile, and the visitor
// outbox retries it:
//
//   - Not hot. Origo is asked (one read of the user) no sooner than an
//     eighth of the invitation's age after the last time, between 30
//     seconds and 15 minutes (WithPolling); a call sooner than that sends
//     nothing. Over a day of waiting that is about a hundred reads. The
//     outbox's own backoff (up to 5 minutes by default) spaces its
//     attempts; without callbacks configured, RetryAfter is the whole wait
//     until the next read.
//   - Faster with callbacks. Handler receives Origo's CloudEvents; an
//     event about a user whose invitation waits lifts the wait, so the
//     next attempt reads the user at once and provisions the door. Nothing
//     is decided on a callback's word: the read decides. A lost callback
//     (HID does not retry, §4.4) costs only the polling delay.
//   - Never given up early. The outbox retries a provision until the
//     credential's window ends; then the visitor engine revokes it (an
//     earlier attempt created something), which deletes the invitation and
//     the user.
//   - Revocation wins. The visitor engine runs a visit's operations one at
//     a time and in order: at sign-out a provision waiting in the queue is
//     cancelled, and since it was attempted, a revocation by external ID
//     follows; a provision in flight is followed by the revocation queued
//     behind it. Revoke without an ID removes every Origo user of the
//     external ID with its open invitations and credentials, so a sign-out
//     before the phone accepted deletes the user and the invitation, and
//     the phone can no longer accept.
//   - No stuck reports for the wait. ErrNotAccepted wraps
//     acs.ErrAwaitingPerson, so the visitor engine keeps retrying an
//     invitation that waits for hours without reporting it stuck
//     (visitor.WithStuck) or listing it in Engine.Stuck; an outage of
//     Origo or of the door ACS is reported as usual.
//
// A visit has one mobile ID. Every user Provision goes on with was read
// at Origo first (a user found by a search, including after a creation
// whose answer was lost, is read before anything is decided), and a user
// that holds an issued credential or an open invitation is never invited
// again. Two replicas can still both read a user before either invited
// it, and both invite: Provision converges on one mobile ID, the first
// issued credential of the part number (else the oldest open invitation).
// Any other live credential has its card revoked at the door ACS first
// and is then deleted at Origo, and any other open invitation is deleted.
//
// A card the door ACS refuses for good (a Conflict: another cardholder
// holds the number; an unknown level; a number that does not fit the
// configured format) removes the Origo user before the refusal is
// returned, so that nothing of a refused provision remains.
//
// # What Revoke does
//
// The door first: the card stops opening before anything changes at
// Origo, and a failure at Origo leaves the Origo credential, which names
// the card, for the retry to find. A revocation reaches everything the
// visit holds, whatever reference the engine kept: after the door's
// revocation of the reference's card (by the door's ID, or by external ID
// and card for a reference without an ID), every Origo user of the
// external ID is found and read, every card Origo issued any of them is
// revoked at the door by external ID and card, and only then are their
// credentials, open invitations and the users deleted at Origo. So two
// users or two mobile IDs left by replicas that raced leave no card open.
// A reference with another ID is a physical badge's and goes to the door
// unchanged. RemoveCardholder
// removes the door cardholder and every Origo user of the external ID.
// Each step treats an absent target as done, and a 404 to a deletion is
// confirmed by reading.
//
// # Vendor facts relied on
//
// The wire notes are research/more-acs.md §4; HID's OpenAPI is behind its
// documentation site and was not available. Confidence as the notes mark
// it: [H] vendor documentation, [M] working third-party code (PlaceOS's
// driver, a C# visitor app), [L] a single unverified claim.
//
//   - §4.2 [H] OAuth client credentials of a system account: POST
//     {auth}/authentication/customer/{org}/token, form client_id,
//     client_secret, grant_type=client_credentials, answering access_token
//     and expires_in (3600). The token is renewed 5 minutes before it ends
//     and once after a 401, which resends the refused request; concurrent
//     callers share one token request. The secret goes only into that
//     form body; it is redacted from every error and log line, as is the
//     token.
//   - §4.2 [M] Every call carries Application-ID and Application-Version
//     (Config; HID ties the ID to partner certification). Hosts
//     (DefaultAuthURL, DefaultBaseURL and the certification hosts) [M].
//   - §4.3 [M] Mobile Identities v2.2 under {base}/credential-management/
//     customer/{org}, bodies and answers of type ContentType: users
//     created as SCIM users (externalId, name, emails, a UserAction block
//     with the part number); POST …/users/.search with a SearchRequest
//     whose filter is externalId eq "<value>", the value written as a JSON
//     string (RFC 7644) after acs.ValidateExternalID refused anything but
//     letters, digits, '-', '_' and '.'; GET …/users/{id} answering the
//     user with its urn:hid:scim:api:ma:2.2:UserInvitation entries and
//     CredentialContainer entries holding Credential entries (id,
//     partNumber, cardNumber, status); POST …/users/{id}/invitation with
//     createInvitationCode, sendInvitationEmail, assignCredential and
//     partNumber, answering an Invitation and a Credential section; DELETE
//     …/credential/{id}, …/invitation/{id} and …/users/{id}; GET
//     …/part-number (Ping checks the configured one is there).
//   - §4.3 [H] The invitation goes PENDING, then acknowledged in the app.
//   - §4.4 [H] Callbacks are CloudEvents POSTed as
//     application/cloudevents-batch+json, answered 200, optionally
//     authenticated. Event types and their data (userId, status such as
//     CREDENTIAL_ISSUED) are [L], from one public client; the issuer reads
//     data.userId (and data.externalId when present) and nothing else.
//   - §4.4 [L] 50 requests in 5 minutes per organisation, over-limit
//     answered 403. The issuer keeps a client-side sliding window of 50
//     requests in any 5 minutes, token requests and retries included
//     (WithRateLimit; lower it when other integrations share the
//     organisation).
//
// Where the notes are silent or uncertain, what the issuer does:
//
//   - 403 means either "over the limit" or "not allowed", and nothing
//     documented tells them apart. A 403 is RateLimited (retryable; every
//     request pauses a minute, or the Retry-After given) until 403s have
//     lasted longer than the 5-minute rate window with no other answer in
//     between, which the rate limit cannot do: then it is PermissionDenied.
//     No text of the answer is relied on.
//   - Statuses are not documented (§6). A credential counts as issued when
//     it has a card number and its status is not a revoked, expired,
//     cancelled, deleted or suspended one; an invitation as open unless its
//     status or expirationDate says it is over, so that an unknown status
//     never makes the issuer invite again and again.
//   - IDs are read as JSON numbers or strings, and checked (letters,
//     digits, '-', '_') before they go into a path.
//   - Whether Origo refuses a second user with a taken externalId is not
//     known. The issuer searches before creating; a creation whose answer
//     was lost is settled by searching again and reading what it finds;
//     should two users of one external ID exist (two replicas that raced),
//     Provision keeps the one whose phone accepted (else the oldest) and
//     removes the others, their cards revoked at the door first.
//   - Whether Origo refuses a second invitation of a user that holds one
//     is not known either; the issuer never sends one, and converges on
//     one mobile ID should two replicas have raced (What Provision does).
//   - Whether deleting a user deletes its credentials and invitations is
//     not known (§6), so they are deleted first. Whether deleting a
//     credential stops the phone at once or after a sync is not known
//     either; the door ACS's revocation is what stops the doors, and it
//     comes first.
//   - A lost answer to an invitation is settled by reading the user, so a
//     visitor never gets two invitation e-mails for one provision.
//   - The error body is read as a SCIM error (scimType, detail, or
//     message) into APIError when it is one; codes come from the status.
//
// # Operations and their round trips
//
// Origo's requests, counted against the simulator (the tests log them;
// the door ACS's come on top, as its package documents them):
//
//   - Provision of a new visitor: a search, a creation and an invitation
//     (3, plus the token once an hour), then one read per poll while the
//     invitation waits, and the read that finds the card number (1), then
//     the door ACS's provision. The protocol's minimum is the same 4: the
//     search is what makes a retry after a lost answer idempotent, and the
//     card number is known only from a read. A creation whose answer was
//     lost costs a second search and a read of the user it finds (5 before
//     the polls).
//   - Converging after two replicas raced: per extra mobile ID, the door's
//     revocation of its card and the credential's deletion (1); per extra
//     open invitation, its deletion (1).
//   - Provision again with nothing to change: 1 read (the user is
//     remembered), then the door's provision.
//   - Revoke by the returned IDs: the door's revocation, then a search, a
//     read, the credential's deletion and the user's (4), with the door's
//     revocation by card of each card the visit's users hold. The minimum
//     is 2; the search and the read are what find a second user or a
//     second mobile ID of the visit whatever reference was kept.
//   - Revoke without an ID (a sign-out before the phone accepted): the
//     door's revocation by card, a search, a read, the invitation's
//     deletion and the user's (4).
//   - Ping: the door's ping, the token and the part-number listing.
//
// With 50 requests in 5 minutes, an organisation takes about 12 new
// visitors (4 requests each) in 5 minutes, fewer while many invitations
// are polled: the rate-limit window queues the rest, and a call that would
// wait past its deadline is a RateLimited error carrying the wait.
//
// # Errors
//
// Errors are *acs.Error with the op and provider "origo" (errors of the
// door ACS keep its name), classified once: 400 InvalidArgument; 401,
// after one new token, Unauthenticated (refused client credentials too);
// 403 RateLimited or PermissionDenied as above; 404 to a read means
// absent; 409 Conflict; 415 Unsupported; 429 RateLimited; 5xx and
// transport failures Unavailable, resent when the request is idempotent
// (reads, searches, deletions, the token request; creations and
// invitations never: a lost answer is settled by looking). The vendor's
// answer is reachable with errors.As as *APIError.
//
// # What is left out
//
//   - acs.Inventory: the Issuer does not implement it, so visitor
//     reconciliation is unsupported at an Origo location (it would need
//     one Origo read per visitor under a limit of 50 in 5 minutes). Every
//     card still carries its visit's window at the door ACS.
//   - A credential deleted at Origo behind the issuer's back (a lost phone
//     wiped by an administrator) keeps its card at the door until the
//     visit ends or is signed out.
//   - Credential Management v3 (wallet passes) and PKI client assertions.
//   - What the issuer remembers between calls (each external ID's Origo
//     user, when it last asked) is per process and only saves requests:
//     after a restart the next call searches and reads again.
package origo
