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
// Errors are *acs.Error values. A Fail envelope is classified by its
// SdkErrorCode (InvalidOperation → InvalidArgument; codes naming an
// unknown entity → NotFound; others by their wording) and carries a
// *SdkError for errors.As. HTTP 401 is Unauthenticated (bad user, password
// or application ID), 403 PermissionDenied (licence part number or SDK
// privilege), an HTML 400 InvalidArgument (an item name the server does
// not know), 429 and 5xx RateLimited and Unavailable. An answer in the
// legacy XML or JSON serializers is Unsupported (Security Center older
// than 5.8). Passwords and application IDs never appear in errors or logs.
//
// Only GET and DELETE requests are retried by the HTTP layer. A POST may
// create entities; Provision is safe to call again after any failure
// (see below), which is how a lost response is recovered.
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
// Provision makes five requests for a new visitor and three when
// everything already exists:
//
//	GET  report/EntityConfiguration?q=EntityTypes@Cardholder,Name=[visit\-1],NameSearchMode=Contains
//	GET  report/EntityConfiguration?q=EntityTypes@Credential,Name=H10301 42/1001,NameSearchMode=Contains
//	GET  entity?q=entity=<group>,Guid,EntityType[,entity=<found>,Guid,…]
//	POST entity?q=entity=NewEntity(Cardholder),Name=…,FirstName=…,LastName=…,EmailAddress=…,State=Active,ActivationMode=…,Guid
//	POST entity?q=entity=NewEntity(Credential),Name=…,CardholderGuid=…,Format=…,State=Active,ActivationMode=…,Guid,entity=<cardholder>,Groups@<group>
//
// The read checks that every access level is a cardholder group before
// anything is written, so an unknown level changes nothing. A card whose
// credential belongs to another cardholder and is active (or waiting for
// a future activation) is a Conflict; an inactive, expired or unassigned
// credential of the same card is deleted first (one more request), as
// Security Center is expected to refuse the same card data twice (the
// simulator does). A new card for a known external ID (a replaced badge)
// adds a credential and leaves the old one to Revoke. Within one Provider,
// work on the same external ID or card is serialised; two processes
// provisioning the same visit at the same instant can still both create a
// cardholder (the Web SDK has no conditional create), in which case later
// calls use the first and log a warning.
//
// Revoke deletes the credential (DELETE entity/<guid>): it then opens
// nothing, and the physical badge can be issued to the next visitor,
// which a credential left inactive would prevent. GUIDs are never reused,
// so a late or repeated revocation cannot hit the next visitor's
// credential. With a credential ID it reads the entity first (two
// requests) and refuses to delete anything that is not a credential; a
// credential an operator has meanwhile assigned to someone else is left
// alone. With only the external ID and card (a lost provision response)
// it searches both and deletes (four requests). RemoveCardholder deletes
// the cardholder's credentials and then the cardholder. Entities already
// gone are a success; an HTML 404 (a wrong base URL) is not.
//
// AccessLevels pages through report/EntityConfiguration?q=EntityTypes@CardholderGroup,Page=n,PageSize=m
// (a page holds m GUIDs plus one extra when a further page exists) and
// reads the names in batches of 50. CredentialFormats lists the two
// built-in card formats the adapter writes, without a request: no Web SDK
// endpoint for listing card formats is documented.
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
