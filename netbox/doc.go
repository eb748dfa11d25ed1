// Package netbox is an acs.Provider for LenelS2 S2 NetBox controllers
// through the NBAPI, the "Web-Based API for S2 NetBox": one HTTP POST of an
// XML <NETBOX-API> document per command, to
// https://controller/nbws/goforms/nbapi on NetBox 6.x (/goforms/nbapi
// before 6.x: Config.URL names the endpoint). A visitor is a NetBox person
// whose ACTDATE and EXPDATE are the visit's window, with the grant's
// access levels and one credential of the card.
//
// # Mapping
//
// An acs access level is a NetBox access level: AccessLevels lists each
// level's key (ACCESSLEVELKEY) as the ID and its name as the name, and
// Provision takes the keys; on the wire levels are assigned by name, as the
// NBAPI does, so the adapter maps keys to names (a key it does not know is
// NotFound, a name two levels share a Conflict). A credential format is a
// NetBox card format, by name (GetCardFormats); Config.Layouts says which
// Wiegand layout and facility code each decodes. A cardholder is a person;
// a credential is one of its ACCESSCARDS, whose ID is the CREDENTIALID.
//
// # Wire behaviour relied on
//
// The adapter follows the field names of LenelS2 doc #API-UG-14 (Feb 2020)
// as a public client transcribed them, that client's live round trip with a
// 6.2.0 controller, and third-party clients' wire stubs and code; it has
// been exercised against the simulator in package netboxsim, not a live
// controller. Where the notes are uncertain it takes the confirmed path:
//
//   - Requests are built with encoding/xml, never by concatenation: every
//     value is escaped by the encoder, and a value XML 1.0 cannot carry
//     exactly (invalid UTF-8, a control character, U+FFFE or U+FFFF) is
//     refused before any request with InvalidArgument, so a name with '<',
//     '&' or "]]>" is stored exactly and nothing can be injected. Answers
//     are read with encoding/xml too, which expands no entity but XML's
//     own; ISO-8859-1 answers are converted.
//   - Session: Login (USERNAME, PASSWORD) answers the session in the
//     sessionid attribute of <NETBOX>, sent back on every command as the
//     sessionid attribute of <NETBOX-API> (no cookie). Concurrent callers
//     share one session and one Login. APIERROR 5 (authentication failure,
//     also an expired session) makes the adapter log the refused session
//     out on the side, log in again once and resend the command, which was
//     not carried out; APIERROR 5 again right after the new Login means the
//     controller refuses API sessions (Data Integration's "Use login
//     username/password" off, or no Read-Write API privilege): that error
//     says so. Such a refusal, like a refused Login, starts a back-off of
//     30 seconds, doubling up to 15 minutes, during which calls fail at
//     once with the same error and no Login is sent.
//     Close sends Logout, and a Login still in flight when Close is called
//     is logged out as soon as it answers: every Login is matched by a
//     Logout, since the controller accumulates session files otherwise.
//     A session expiring mid-call costs 3 more requests (the refused
//     command, Logout of the refused session, Login). How long an idle
//     session lives is not documented; the adapter needs no keepalive,
//     since an expired session is replaced on the next call.
//   - Answers are HTTP 200 whatever happened. Each is classified: an
//     <APIERROR>n</APIERROR> (read inside RESPONSE or directly under
//     NETBOX, where public clients disagree) as 1 Unavailable, 2
//     PermissionDenied (the API is not enabled), 3 and 4 InvalidArgument, 5
//     Unauthenticated, 6 Unsupported; CODE NOT FOUND, and FAIL with ERRMSG
//     "NOT FOUND" (how 6.2.0 answers an empty collection), as NotFound,
//     which reads take for "absent" and writes never do (they ask, below);
//     DUPLICATE as AlreadyExists; another FAIL by words of its ERRMSG that
//     can mean nothing else (duplicate, permission, invalid, …), else
//     Unknown. An answer without a RESPONSE or CODE, for another command,
//     with a CODE other than SUCCESS, or that is not XML, is an error,
//     never a success. Other HTTP statuses come from a proxy or a wrong
//     URL: 404 is NotFound naming the 6.x path, 410 Gone names the pre-6
//     path on a 6.x controller. ERRMSG is read inside RESPONSE or its
//     DETAILS. The *Error type carries the command, the APIERROR or CODE,
//     and the ERRMSG.
//   - Dates are the controller's local time: Config.TimeZone names its zone
//     and the adapter converts. They are written "YYYY-MM-DD HH:MM" (the
//     documented input form; the dateformat attribute some clients send is
//     not, since what it changes is unknown) and read as
//     "YYYY-MM-DD HH:MM:SS" (the documented answer form) or any form with
//     a numeric offset, which is honoured. The controller stores windows
//     to the minute, so the window is rounded so that a badge never works
//     outside its visit: ValidUntil down to the last minute, a ValidFrom
//     still to come up to the next; a ValidFrom already passed (a walk-in
//     signing in now) down to its minute, since those seconds are over
//     when the credential is written, and rounding up would keep the
//     visitor out for up to a minute. A grant whose window holds no whole
//     minute is refused.
//     In the repeated hour of a DST change a wall-clock time names two
//     instants, and which one the controller means is not documented.
//   - Idempotency by PERSONID. The person's PERSONID (the "ID #" field,
//     chosen by the caller on AddPerson, and the key of GetPerson,
//     ModifyPerson, RemovePerson and the credential commands) is
//     Config.PersonIDPrefix followed by the grant's external ID. Not a
//     user-defined field, because PERSONID is what makes the find a
//     single GetPerson and keeps concurrent VMS replicas from creating
//     twins (the controller keeps one person per PERSONID, so a second
//     AddPerson with it is refused; a UDF is searched with
//     SearchPersonData, which may return several people, and would need
//     a convergence rule), and because access history records carry
//     PERSONID, so door events name the visit without a lookup. The
//     PERSONID length limit is not documented (a public client's stub sends
//     a 36-character UUID); an external ID of up to 64 characters plus the
//     prefix may exceed a controller's limit, which Provision then reports
//     as the controller's refusal.
//   - RemovePerson is a soft delete (GetPerson still answers, with DELETED
//     TRUE); ModifyPerson with PERSONPURGE TRUE erases the record.
//     ModifyPerson's ACCESSLEVELS as a list of bare names replaces all of
//     the person's levels (the additive ACCESSLEVEL blocks are not used).
//   - Credentials: AddCredential with PERSONID, CARDFORMAT (the name),
//     ENCODEDNUM (the card number: NetBox keeps the facility code in the
//     card format definition), HOTSTAMP (the card number too, so that the
//     card's holders can be found with SearchPersonData's HOTSTAMP filter)
//     and WANTCREDENTIALID; CARDSTATUS is left to its default (ACTIVE) and
//     CARDEXPDATE is not sent, its date form being undocumented: the
//     person's EXPDATE bounds the credential (a CARDEXPDATE set by hand at
//     the controller is left as it is; Holdings shows the credential's
//     window ending there). A credential is addressed by
//     PERSONID with CREDENTIALID, ENCODEDNUM and CARDFORMAT together.
//     The adapter relies on the controller refusing a second credential of
//     one card format and encoded number (a public client modifies and
//     removes credentials by ENCODEDNUM and CARDFORMAT alone, which needs
//     them unique, and another saw a DUPLICATE code): that is what keeps
//     two VMS replicas provisioning different visits with one card at the
//     same instant from both getting it.
//
// # Operations and their requests
//
// Provision validates the grant (acs.ValidateGrant, the card format, XML
// text, the window at minute resolution) before any request, then reads
// the access levels and card formats (cached for ten minutes, each read
// shared by the callers needing it at the same moment; a key missing from
// the cache reads them again), and:
//
//   - GetPerson (with WANTCREDENTIALID). Absent: AddPerson with the names,
//     window and levels; present: ModifyPerson only when something differs
//     (names, window to the minute, levels as a set, DELETED), setting the
//     whole person so that levels dropped from the grant go.
//   - A credential of the card on the person is reused (re-enabled with
//     ModifyCredential DISABLED 0 when it was revoked); otherwise
//     AddCredential.
//
// A first provision costs 6 requests when cold (Login, GetAccessLevels,
// GetCardFormats, GetPerson, AddPerson, AddCredential; the protocol minimum
// is 5, the card formats being read only to refuse an unknown one before
// anything is created), 3 once warm, and a repeat 1 (GetPerson): the
// minimum for both, since the lookup is what makes a retry find what a
// lost answer created. A re-provision that changes the levels or the
// window costs 2 (GetPerson, ModifyPerson).
//
// When AddPerson fails, the person is looked up before the error is
// believed: found (the answer was lost, or a replica created it), the call
// goes on with it. When AddCredential fails, the adapter asks who holds the
// card (the person itself, unless the controller refused the card as a
// duplicate, then SearchPersonData by hot stamp and GetPerson of each
// holder): the person itself (lost answer, or a replica) is success;
// another person whose credential is live (not disabled, status ACTIVE,
// not expired, person not deleted or expired) is a Conflict; only stale
// holders (a returned badge) have their credential record removed
// (RemoveCredential) and the credential is added again; a DUPLICATE
// refusal whose holder cannot be found by hot stamp is a Conflict. A
// returned badge handed to the next visitor thus costs 7 requests (the
// minimum, knowing where the stale record is, being 4). After a refusal, a
// person this call created is removed again (RemovePerson and
// PERSONPURGE, even when the caller's context ended), so a refused
// provision leaves nothing behind. When several credentials of the card
// sit on the person (a controller that took both from racing replicas),
// the smallest CREDENTIALID is kept and the others removed.
//
// Revoke reads the person (GetPerson) and disables the credential
// (ModifyCredential DISABLED 1): 2 requests, the minimum being 1; the
// lookup is there because whether ModifyCredential honours PERSONID or acts
// on the card at whichever person holds it is not documented, and a stale
// revoke must not take a badge from the next visitor. A credential is
// found by CREDENTIALID or by card among the referenced person's only.
//
// After any failed change of a record (ModifyCredential, RemoveCredential,
// RemovePerson, PERSONPURGE), the adapter never infers "gone" from the
// answer: it asks the controller (GetPerson) whether the record is still
// there and in which state. Gone, or already as wanted, is success; there,
// the original error stands (a NOT FOUND becomes Unknown, the record being
// there); when the question fails, its error is returned if retryable,
// else the original error, a NOT FOUND or DUPLICATE becoming Unknown
// (unchecked, it is no definite refusal; the same holds when AddPerson or
// AddCredential fails and the person cannot be read). Revoke and
// RemoveCardholder therefore succeed for what is already revoked or gone,
// whatever the controller answers.
//
// # Retention
//
// RemoveCardholder reads the person, sends RemovePerson (which ends access)
// and ModifyPerson PERSONPURGE, then GetPerson to check that the record is
// gone: 4 requests, and an Unknown error when the controller acknowledged
// the purge but still holds the person. When it succeeds, no name or
// external ID of the visitor is left in a NetBox person record. The
// access history keeps the PERSONID of each past access (so the visit's
// external ID), which the NBAPI offers no way to erase; the site's history
// retention governs it. With Config.KeepDeleted the person is only
// soft-deleted (its credentials disabled first) and keeps its names.
//
// # Inventory and door events
//
// The Provider implements acs.Inventory (Holdings: SearchPersonData for
// the PERSONIDs with the prefix, then GetPerson for each) and
// acs.EventSource (Events: GetAccessHistory polled with AFTERLOGID); their
// documentation says what they read and where they fall short.
//
// # Left out
//
// The StreamEvents multipart stream (one unverified source; it cannot
// resume from a cursor after a restart, so polling is needed anyway), the
// additive per-level ACTDATE/EXPDATE blocks, CARDEXPDATE, e-mail and company
// fields (their NBAPI names are not confirmed), MAC authentication (not
// implementable from public information), S2 Global, and mobile
// credentials (NetBox has none of its own). Tap to enrol
// (acs.UnknownCardEvents) is not available: a door event's card is read
// from the credential it names, and an unknown card names none.
//
// # PINs
//
// The Provider implements acs.PINIssuer with the person's PIN field
// (§3.2, high confidence for the field: the API guide's AddPerson and
// ModifyPerson parameter lists name PIN; writes to people are checked
// against the guide, not a live controller). ProvisionPIN makes the person
// exactly the grant (names, ACTDATE/EXPDATE, access levels), as Provision
// does, then sends ModifyPerson with PERSONID and PIN alone, which
// replaces the PIN it had; one PIN per person, with or without cards
// (PINSupport.Standalone), opening the person's levels within its window.
// RevokePIN sends ModifyPerson with an empty PIN, leaving the cards;
// RemoveCardholder purges the person with it. The Provisioned
// credential's ID is the PERSONID. Relied on without a source (low
// confidence): that an empty PIN clears it (the notes leave it open, and
// since GetPerson does not answer the PIN, the clearing cannot be read
// back; with Config.KeepDeleted the soft-deleted record keeps its PIN,
// opening nothing while it stays deleted); a length of 4 to 8 digits; and
// that a PIN another person holds is refused with CODE DUPLICATE (mapped
// to acs.Conflict; the simulator refuses it, NetBox's rule is not in the
// notes). The PIN travels in that ModifyPerson only; the adapter's log
// records of the call are redacted (acshttp.WithPINs) and its errors pass
// through acs.RedactPIN, even when the controller's ERRMSG quotes it.
//
// # Employee access
//
// The Provider implements acs.EmployeeAccess (visitor.EmployeePolicy). An
// employee is a person whose PERSONID lacks Config.PersonIDPrefix (those
// with it are visits: NotFound), named by its PERSONID (GetPerson: 1
// request), or found by card through SearchPersonData's HOTSTAMP filter
// and GetPerson of each candidate, matched on card format and ENCODEDNUM:
// an employee whose credential's hot stamp is not the card number is
// found by ID only (the NBAPI has no search by encoded number).
//
// NetBox keeps no enabled or suspended status on a person that the notes
// name: ACTDATE and EXPDATE are the administrator's dates, and DELETED is
// RemovePerson's soft delete. So the status method toggles the person's
// credentials, as the lenel adapter toggles OnGuard badges: ModifyCredential
// DISABLED 0 or 1 ([H] in the API guide's field list as transcribed, and a
// public client's wire stub sends DISABLED 1; the adapter's Revoke relies
// on the same command). Enabling touches only disabled credentials whose
// CARDSTATUS is ACTIVE, so a lost or stolen card is not brought back by a
// check-in; disabling disables every credential not yet disabled;
// employees start with their credentials disabled. Enabled means the
// person is within its ACTDATE and EXPDATE with a live credential, and a
// person outside those dates is refused a check-in (PermissionDenied). Each
// change reads the person first (GetPerson) and sends one ModifyCredential
// per credential to change. SetEmployeeLevels maps the keys to names
// (NotFound for an unknown one, nothing changed), reads the person and
// sends ModifyPerson with the whole list of level names ([H]: a list of
// bare names replaces the person's levels; the additive ACCESSLEVEL
// blocks are not used), which keeps the person's other levels but
// overwrites a change an administrator makes between the read and the
// write; a removal is confirmed by reading the person again.
//
// The notes name no refusal of a write to a person a directory keeps:
// when people are synchronised from Active Directory, "NBAPI writes to
// those fields are overwritten on the next sync" ([H], the guide, p.1).
// The adapter therefore recognises no read-only refusal (acs.ErrReadOnly
// is never returned; the kit's EmployeeReadOnly rule is skipped), and a
// write the sync overwrites is not seen. Credential DISABLED flags are not
// person fields; whether a sync also owns access levels is not known, so
// at sites that synchronise levels from a directory the status method is
// the safer choice.
package netbox
