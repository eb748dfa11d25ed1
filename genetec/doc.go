// Package genetec is an acs.Provider for Genetec Security Center through
// its Web-based SDK (the "Web SDK" role, default port 4590, Base URI
// WebSdk). It needs Security Center 5.8 or later, for the text/json
// serializer, a Security Center user (Active Directory users cannot sign
// in to the Web SDK) with the "Log on using the SDK" privilege and the
// cardholder and credential privileges, and an SDK certificate whose part
// number is in the licence; its <ApplicationID> is Config.ApplicationID.
// Package genetecsim simulates the same API for tests.
//
// # Wire protocol
//
// Every request carries HTTP Basic authentication with the user name
// field "<user>;<application ID>", and Accept: text/json. There are no
// request bodies: every operation is encoded in the q= parameter, and a
// POST is sent with Content-Length: 0. Answers are the envelope
// {"Rsp":{"Status":…,"Result":…}}; the adapter checks Rsp.Status as well
// as the HTTP status, since a Fail comes with HTTP 200, and tolerates a
// UTF-8 byte-order mark. GUIDs are sent as 32 hex digits without dashes;
// both forms are accepted in answers, and callers get the dashed form.
//
// Errors are *acs.Error values. Public sources show one SdkErrorCode
// only, InvalidOperation, with the reason in the message ("Unable to find
// entity <guid>", "Could not find property 'Page' from filter: …"), and
// not the HTTP status a Fail comes with. A Fail envelope is therefore
// classified by its HTTP status first (401, 403, 429 and 5xx as below),
// then by its message (an entity that cannot be found → NotFound; a
// privilege → PermissionDenied; a timeout → Unavailable), then by its code
// (InvalidOperation → InvalidArgument), and carries a *SdkError for
// errors.As. HTTP 401 is Unauthenticated (bad user, password or
// application ID), 403 PermissionDenied (licence part number or SDK
// privilege), an HTML 400 InvalidArgument (an item name the server does
// not know), 429 and 5xx RateLimited and Unavailable. An answer in the
// legacy XML or JSON serializers is Unsupported (Security Center older
// than 5.8). Passwords and application IDs never appear in errors or logs.
//
// Whether an entity is gone is never inferred from an error. Where it
// decides the outcome (a DELETE, the read before one, the reads of a
// lookup), a refusal that may mean "missing", and an entity an Ok (or
// Partial) answer leaves out, are settled by asking
// GET entity/exists/<guid>: absent is what a deletion wanted, so a
// revocation or removal whose first answer was lost succeeds when
// repeated; present returns the refusal as classified, or as retryable
// Unavailable when it claimed the entity missing (a stale session cache).
// The answer's shape is not public: a JSON boolean, "true"/"false", or an
// object holding one under Exists, Exist, Result or Value are read;
// anything else, or a failure to ask, decides nothing and is an error,
// never a success. Refused credentials or privileges, throttling and
// outages are not asked about: they are answers in their own right.
//
// Only GET and DELETE requests are retried by the HTTP layer. A POST may
// create entities, so it is never sent again as it was: Provision is safe
// to call again after any failure (see below), which is how a lost
// response is recovered, and looks again by itself after a failed
// creation of a cardholder (see Twin cardholders).
//
// # What the adapter creates
//
// A visitor is a Cardholder entity (not a Visitor entity: cardholders
// with raw Wiegand credentials, group membership and activation periods
// are the path public production code confirms; visitor check-out and
// visitor group membership through the Web SDK are not documented). Its
// Name is "First Last [external-id]": the caller's external ID in square
// brackets at the end of the name is the idempotency key, found again
// with a name search and compared exactly (and only as the suffix, so a
// person's name cannot claim another visit's key). The cardholder gets
// FirstName, LastName and EmailAddress, State=Active and
// ActivationMode=SpecificActivationPeriod(from,until).
//
// The credential is named after the card ("H10301 42/1001"), which is how
// a card is found again, and is created assigned to the cardholder
// (CardholderGuid=) with the card data as
// Format=<UndecodedWiegand><BitLength>26</BitLength><FormatType>00000000-0000-0000-0000-000000000200</FormatType><Raw>…</Raw></UndecodedWiegand>,
// Raw being the whole frame, parity included, in 32 hex digits (computed
// by package wiegand), and the grant's window as its own
// ActivationMode=SpecificActivationPeriod(from,until). H10302 cards use
// BitLength 37 and the card format …0400; other formats are refused as
// Unsupported, since no Web SDK form for them is documented (the named
// WiegandStandardCredentialFormat constructor of the .NET SDK is not shown
// on the Web SDK). Access levels are cardholder groups, joined with
// Groups@ on the cardholder; groups the grant no longer lists are left
// with Groups-. Times are sent in UTC with a Z, to the second.
//
// # Requests
//
// Provision makes five requests for a new visitor (six when one of its
// groups was not checked in the last acshttp.DefaultCatalogTTL) and three
// when everything already exists:
//
//	GET  report/EntityConfiguration?q=EntityTypes@Cardholder,Name=[visit\-1],NameSearchMode=Contains
//	GET  report/EntityConfiguration?q=EntityTypes@Credential,Name=H10301 42/1001,NameSearchMode=Contains
//	GET  entity?q=entity=<group>,Guid,EntityType[,entity=<found>,Guid,…]
//	POST entity?q=entity=NewEntity(Cardholder),Name=…,FirstName=…,LastName=…,EmailAddress=…,State=Active,ActivationMode=…,Guid
//	GET  report/EntityConfiguration?q=EntityTypes@Cardholder,Name=[visit\-1],NameSearchMode=Contains   (the check for twins)
//	POST entity?q=entity=NewEntity(Credential),Name=…,CardholderGuid=…,Format=…,State=Active,ActivationMode=…,Guid,entity=<cardholder>,Groups@<group>
//
// The name searches use NameSearchMode=Contains (the only mode seen on
// the wire), so a card's search also finds the cards whose number starts
// with its own (42/1 finds 42/10…42/19, 42/100…); the adapter compares
// the names it reads back. When they are more than the server returns at
// once, the search answers TooManyResults and is run again page by page
// (Page=n,PageSize=m, as AccessLevels pages), so a card with many such
// neighbours can still be provisioned and revoked.
//
// The read checks that every access level is a cardholder group before
// anything is written, so an unknown level changes nothing. A group so
// confirmed is trusted for acshttp.DefaultCatalogTTL (10 minutes) and
// left out of the read (which is then skipped for a new visitor); the
// concurrent provisions naming an unconfirmed group share one check. A
// provision refused as NotFound or InvalidArgument forgets its groups, so
// that a group deleted meanwhile is checked, and refused, before the next
// write. A card whose
// credential belongs to another cardholder and is active (or waiting for
// a future activation) is a Conflict; an inactive, expired or unassigned
// credential of the same card is deleted first (one more request), as
// Security Center is expected to refuse the same card data twice (the
// simulator does, unless told otherwise). A new card for a known external
// ID (a replaced badge) adds a credential and leaves the old one to
// Revoke.
//
// # Twin cardholders
//
// Within one Provider, work on the same external ID or card is
// serialised, but several processes (VMS replicas, each with its own
// Provider) may provision the same visit at the same instant: the Web SDK
// has no conditional create, so two of them can both find no cardholder
// carrying the key and both create one. Provision converges such twins,
// and every process picks the same survivor: the cardholder (or visitor)
// with the smallest GUID, compared as the 16 bytes sent on the wire
// (Security Center documents no creation time to order them by). Each
// other twin is deleted after its credentials (DELETE entity/<guid>, as
// RemoveCardholder does; a twin exists only because of the race, and
// holds nothing the survivor does not get), and the survivor is then
// given the grant. Twins are converged whenever a Provision's search finds
// several, and right after Provision creates a cardholder: it searches
// the key again (the sixth request above), so that of two processes that
// both created one, the later always sees the other's. A process whose
// new cardholder is not the survivor deletes it and looks again; a write
// refused in a way a concurrent provision explains (the card data taken
// meanwhile, a cardholder deleted by a converging twin) is followed by
// another look too, and so is any failure between the creation of a
// cardholder and the next search of its key (a lost answer to the creation
// included): the process that created a twin may be the only one still
// working on the visit, the other having finished, so it does not leave
// the twin to a later call. That is at most three looks in all, or eight
// while a cardholder this call created has not been searched for since
// (its creator is then the only one that will converge its twin); the
// failure of the last is returned. A server that accepts the same
// card data twice may leave the survivor holding the card twice after
// such a race; Provision keeps the credential with the smallest GUID and
// deletes the others. A card is never left live on a deleted twin:
// deleting a cardholder leaves a credential created on it meanwhile
// unassigned, which opens nothing. The convergence relies on the name
// search seeing a cardholder as soon as it is created; a server whose
// search lags would let twins stay, which the next Provision, Revoke,
// RemoveCardholder and Holdings (each twin is its own holding) still
// handle. Provisioned values a process returned before its cardholder
// lost to a twin name deleted entities; revoking them still reaches the
// card on the survivor (see Revoke).
//
// Revoke deletes the credential (DELETE entity/<guid>): it then opens
// nothing, and the physical badge can be issued to the next visitor,
// which a credential left inactive would prevent. GUIDs are never reused,
// so a late or repeated revocation cannot hit the next visitor's
// credential. With a credential ID it reads the entity first and refuses
// to delete anything that is not a credential; a credential an operator
// has meanwhile assigned to someone else is left alone. When the
// reference also carries the external ID and the card (as the visitor
// package's always do), it then searches the card: every other
// credential named after it that a cardholder carrying the external ID
// holds (a twin's, or the survivor's after a convergence replaced the
// credential the reference names) is deleted too, which costs two more
// requests (the cardholder search and a read) only when such a credential
// exists. That is three requests by ID. With only the external ID and card
// (a lost provision response) it searches both and deletes (four
// requests), on every cardholder carrying the external ID. Revoking what
// is already gone costs one more request, the existence check. Twins never
// make a revocation fail.
//
// # Retention
//
// RemoveCardholder deletes the visitor's cardholder entity (DELETE
// entity/<guid>, the removal public production code uses; no
// anonymise-and-keep mode and no soft delete of cardholders is documented
// for the Web SDK), after deleting its credentials, which Security Center
// would otherwise keep unassigned. It also removes every other cardholder
// carrying the same external ID, found by the name search (twins, see
// above), so that when
// it succeeds no cardholder entity holds the visitor's name or e-mail
// address. Credentials are named after the card and hold no personal
// data. By ID it makes three requests plus the deletions: the read, the
// search for twins, and one DELETE per entity. What Security Center keeps
// in its own history (activity reports, the audit trail) is outside the
// Web SDK's reach; public sources do not say whether a deleted
// cardholder's name stays there.
//
// AccessLevels pages through report/EntityConfiguration?q=EntityTypes@CardholderGroup,Page=n,PageSize=m
// (a page holds m GUIDs plus one extra when a further page exists; a full
// page without the extra is followed too, in case a server does not add
// it) and reads the names in batches of 100 (WithReadBatch; eight
// requests in flight, pages and name reads alike, the next page asked for
// while names are read); groups deleted in between are left out. A read
// its host refuses as too long (HTTP 414, or a 400 or 404 page saying
// "too long") is read again in halves, down to 10, and the smaller batch
// is kept: the Web SDK documents no limit but "the query string length".
// 100 names make a 5 KB query; the widest read, 100 cardholders with ten
// properties each (Holdings), 13.5 KB, within the 16 KB that http.sys,
// the Windows HTTP host, allows a request line by default.
// CredentialFormats lists the two built-in card formats the adapter
// writes, without a request: no Web SDK endpoint for listing card formats
// is documented.
//
// # Inventory
//
// Provider implements acs.Inventory. Holdings lists every cardholder
// (report/EntityConfiguration?q=EntityTypes@Cardholder,Page=n,PageSize=m),
// keeps the members of the partition when the Provider has one (see
// Partitions), reads them in batches of 100 (WithReadBatch) and keeps
// those whose name ends with the "[external-id]" marker; it then reads
// their credentials in batches of 100. The report's Name filter is not used: it is not exact, and how it
// treats '[' is not documented. Eight batches are read at once, within
// the rate limit. Each credential carries the cardholder's groups as
// access levels and the window Security Center enforces, the intersection
// of the credential's activation period and the cardholder's. For 10,000
// visitors and the default page and batch sizes that is 221 requests (21
// pages, 100 cardholder reads, 100 credential reads).
//
// A keypad credential (see PINs) is listed like a card with a zero Card:
// its name carries no card data, and never its code.
//
// # PINs
//
// Provider implements acs.PINIssuer with Security Center keypad
// credentials, PINs of 4 to 12 digits, with or without a card.
// ProvisionPIN runs Provision's requests (the same twin convergence and
// partition rules) for a credential named "PIN [external-id]" whose
// Format is KeypadCredentialFormat(<pin>), the form the public VRFID
// integration sends (the only public source; the Developer Guide does not
// show it); a credential found with that name is given the code with one
// more write, entity=<guid>,Format=KeypadCredentialFormat(<pin>), which
// assumes the Web SDK sets the Format of an existing credential. The code
// is sent in that one POST's q= and nowhere else: acshttp logs no query,
// the adapter's log records of the call are redacted (acshttp.WithPINs)
// and its errors pass through acs.RedactPIN, so a server that quotes its
// request in an error message does not leak it. A code another credential
// holds is refused by Security Center (duplicate credential data); the
// adapter answers Conflict and deletes a cardholder the call created that
// holds nothing. RevokePIN deletes the keypad credential (by ID, and every
// "PIN [external-id]" credential of the cardholders carrying the key);
// RemoveCardholder deletes it with the cardholder. The PIN opens the
// cardholder's groups within the credential's and the cardholder's
// activation periods, at keypad readers configured in Config Tool for PIN
// (PIN only, or card or PIN); a "card and PIN" reader combines it with the
// card the way its access control unit is set up.
//
// # Partitions
//
// WithPartition confines a Provider to one Security Center partition: the
// cardholders and credentials it creates are created there, and it finds
// only its own there. The partition is a setting of the Provider, not of
// the grant: acs stays provider-neutral, and a VMS location whose visitors
// belong in a partition simply gets its own Provider (one per partition).
// What the adapter relies on, with the confidence of the public sources:
//
//   - Creation (official: Genetec's Web SDK constants and its WebSDKStudio
//     sample). New entities are placed in the root partition
//     (RootPartition) unless a creation partition is set for the session,
//     with POST creationpartition/<partition>. The adapter sends it right
//     before each creation (the cardholder, the credential), since the
//     setting belongs to the user's session, which ends after five idle
//     minutes. It does not use InsertIntoPartition(<partition>) after the
//     creation (seen only in third-party production code): between the two
//     requests the entity would sit in the root partition, visible to
//     whoever sees that.
//   - Membership (inferred). The partition's members are read with
//     entity=<partition>,Guid,EntityType,Members: Members is the Partition
//     entity's member list in Genetec's Platform SDK samples, and the Web
//     SDK reads entity properties by name (as it reads a cardholder group's
//     Members). No public source shows a report filter by partition, so
//     lookups filter their search results by that list: the key search of
//     Provision, its twin check, Revoke by card, RemoveCardholder and
//     Holdings see only cardholders that are members. A cardholder carrying
//     the same "[external-id]" in another partition is neither found nor
//     touched. Credentials of the card outside the partition are never
//     deleted as stale; one another cardholder holds is still a Conflict,
//     in any partition, since Security Center keeps card data unique.
//   - The session is shared by every client of the same Security Center
//     user. If one of them switches the creation partition between the
//     adapter's two requests, the new cardholder lands elsewhere: the twin
//     check sees it is not a member, deletes it and creates it again. A
//     credential created elsewhere the same way still belongs to the
//     visitor's cardholder and is found and revoked through it. Give each
//     partition's Provider its own Security Center user (with rights to
//     that partition) so that nothing else shares its session.
//
// Cost: Provision of a new visitor makes nine requests instead of six (two
// POST creationpartition and one read of the members, at the twin check);
// a lookup that finds anything reads the members once more. That answer
// lists every member of the partition (cardholders and credentials), so
// its size grows with the partition. Ping reads the partition too, so a
// wrong GUID shows at once (NotFound, or InvalidArgument for an entity
// that is not a partition).
//
// # Door events
//
// Provider implements acs.EventSource. Events opens the Web SDK's event
// stream first and subscribes second, as Genetec's sample requires:
//
//	GET  events                       (long-lived: "ConnectionId:<guid>", then parts and KeepAlive lines)
//	GET  events/subscribe?q=event(Door,AccessGranted),event(Door,AccessRefused)
//	GET  report/EntityConfiguration?q=EntityTypes@Door,Page=n,PageSize=m   (door list, cached 15 minutes)
//	GET  report/DoorActivity?q=Doors@<door>@<door>…,TimeRange.SetTimeRange(<from>,<to>)   (the catch-up)
//	POST events/closeconnection/<connection id>   (on every way out)
//
// Each part of the stream is a --GENETECBOUNDARY line, a "Content-type:"
// line and, for text/json, one JSON line {"Rsp":{…,"Result":{"EventType":…,
// "Timestamp":…,"SourceGuid":<door>,…}}}; bare KeepAlive lines and other
// event types are ignored. The stream is read only when the caller's
// function has returned: a slow function slows the stream and the adapter
// holds at most its 16 KiB read buffer and the part being read (at most
// 1 MiB); the server keeps the rest, or drops a client that falls too far
// behind, which the catch-up then covers. The catch-up holds the rows of
// one report window at a time, a size the server bounds.
//
// The Web SDK stream has no replay, so after subscribing Events catches up
// from report/DoorActivity: from the cursor's position (or EventOptions
// Lookback, 24 hours, when the cursor is empty) to the adapter's clock plus
// five minutes, in windows of ReportWindow (one hour; activity reports are
// not pageable) and for at most 50 doors a request. A window answered with
// TooManyResults is halved, down to one second. Only then are stream
// events delivered; an event both sources return is delivered once.
//
// Events reconnects by itself: a transport failure, a 5xx answer, a stream
// the server ends, or a stream silent for KeepAliveTimeout (30 s, measured
// only while waiting for the server) closes the connection, waits
// (BackoffMin doubling up to BackoffMax, each wait less a random part of
// up to a quarter, back to BackoffMin once a connection carried
// anything), then
// opens, subscribes and catches up again. Answers that are not retryable
// (refused credentials or privileges, Fail envelopes such as an unknown
// filter) end Events with that error; the caller's own error ends it
// unchanged; the end of its context ends it as Canceled. The stream
// request is not bound by WithTimeout (nor by the Timeout of a client given
// to WithHTTPClient): its context and the KeepAlive watchdog bound it.
//
// The cursor is an opaque string ("g1:…"): the second up to which every
// event counts as delivered, and the keys of the events delivered in the
// last 30 seconds before the newest (at most 32). An event's key hashes
// its decision, door, credential and second. Passing an event's cursor to
// a later call catches up from that second and skips those keys, so it
// resumes right after the event, across reconnections and restarts.
// Within one call the keys of the last 4096 events are also remembered.
//
// What is guaranteed: no event is delivered twice (within a call, or
// across calls that pass the cursor on); every event that happens while
// the stream is subscribed is delivered; events that happen while it is not
// are delivered as far as report/DoorActivity has them when the catch-up
// asks. What is not: an event that reaches Security Center more than 30
// seconds out of order (a unit uploading what it buffered while offline)
// is delivered when it arrives on the stream, but not caught up if a
// disconnection or restart falls in between; the same holds for more than
// 32 events within one second around a cursor, for events the report
// records only after the catch-up asked for their time, and for a clock
// more than 30 seconds apart from the server's. Two events with the same
// decision, door, credential and second (a card presented twice within a
// second) are delivered as one. EventOptions.LiveOnly turns the catch-up
// off: events that happen while the stream is down are then lost.
//
// Each event carries the door GUID and name (from the door list), the
// credential GUID, the card (read back from the credential's name, which
// this adapter sets to the card: credentials named otherwise, or deleted
// since the event, give no card), the cardholder GUID (from the event,
// else the credential's current cardholder) and the caller's external ID
// (the "[external-id]" ending the cardholder's name). Credentials and
// cardholders are read in batched entity reads and cached for 15 minutes,
// so a badge costs one or two reads however often it is used. Direction
// is always DirectionUnknown: no public source shows which side of the
// door an event concerns. The open stream holds one licensed SDK
// connection for as long as Events runs.
//
// Uncertain points: AccessRefused is the SDK's name for a denied access
// and is assumed on the Web SDK; the event fields beyond EventType,
// Timestamp and SourceGuid are not shown by public sources (CardholderGuid
// or Cardholder, CredentialGuid or Credential, and DoorGuid or Door are
// read), nor is the row shape of DoorActivity (read like a stream event),
// nor whether its time range includes its ends (overlaps are harmless),
// nor the KeepAlive interval, nor whether subscriptions outlive a
// connection (the adapter subscribes on every connection). Events do not
// use the role's streaming port (4591); the stream is served on the Web
// SDK port, as in Genetec's sample.
//
// # Employee access
//
// The Provider implements acs.EmployeeAccess, so that a VMS can make
// employees check in before their badge works (visitor.EmployeePolicy).
// An employee is a Cardholder entity created in Security Center (not a
// Visitor, and not one carrying this adapter's external-ID marker: those
// are NotFound), looked for in every partition.
//
//   - FindEmployee by GUID reads the cardholder (State, Groups,
//     Credentials) and its credentials' Format: two reads. By card it
//     first searches credentials named after the card (this adapter's
//     naming), then lists every credential page by page and reads each
//     one's raw Wiegand data in batches of 100, since the Web SDK documents
//     no search by card data: on a large system prefer the GUID (door
//     events carry the cardholder's).
//   - SetEmployeeEnabled reads the cardholder and, unless its State is
//     already the one wanted, writes entity=<guid>,State=Active (or
//     Inactive): an Inactive cardholder's credentials open no door. This
//     is the "toggle user status" method; employees start Inactive.
//   - SetEmployeeLevels reads the groups (each must be a cardholder group,
//     else NotFound and nothing changes) and the cardholder, then makes the
//     changes on the groups' side in one POST:
//     entity=<group>,AddCardholderIntoGroup(<guid>) or
//     RemoveCardholderFromGroup(<guid>) (STUDIO), for the groups whose
//     membership differs, since Security Center refuses to add a member
//     twice; a refusal that a concurrent change may explain is followed by
//     one more read and write.
//
// Cardholders kept by Active Directory or SCIM synchronisation are
// read-only in Security Center ("members managed by SCIM are read-only",
// Envoy's integration notes), and the wording of the refusal is not
// public: a refused write whose message says read-only, synchronized,
// SCIM, managed by, external directory or federated is returned as
// acs.ReadOnly (PermissionDenied matching acs.ErrReadOnly). Group
// membership changed on the group's side is expected to stay possible for
// such cardholders (Envoy: toggling access groups works with SCIM), which
// is why SetEmployeeLevels writes there.
//
// The Provider does not implement acs.UnknownCardEvents: the Web SDK's
// access events name the credential and cardholder, and no public source
// shows the raw data of a card Security Center does not know, so tap to
// enrol is not available with Security Center.
//
// # Query safety
//
// Every value placed in q= is escaped or refused before any request:
// the operators \ , ( ) { } = @ - * and also $ < > get a backslash in front;
// '#' (excluded by the query language), control characters and invalid
// UTF-8 are refused as InvalidArgument. '.' is left alone: it acts only
// with '(', which is always escaped. Entity references are always GUIDs
// generated by Security Center, never names. In the URL the query
// language's operators stay literal and everything else is
// percent-encoded, a space as %20 (not '+').
//
// # Uncertain points and the choices made
//
// Public sources confirm the backslash escape only for ',' inside a
// value; the adapter escapes the other operators the same way, as the
// developer guide's "prefix it with a backslash" rule suggests. Should a
// server store such escapes literally, the idempotency key is still
// recognised (both forms are accepted). The Fail envelope's exact shape
// and its error codes other than InvalidOperation, the JSON shape of
// entity collections (arrays of GUID strings or of {"Guid":…} objects are
// both read), the time zone of offset-less times (avoided by always
// sending Z) and the BOM are reconstructed from client code, not from
// Genetec documentation. Cold sessions (the first request after five idle
// minutes is slow) need nothing but a timeout that allows for them
// (DefaultTimeout).
package genetec
