// Package genetecsim simulates the Genetec Security Center Web-based SDK
// (text/json serializer) closely enough to test the genetec adapter, its
// callers and their failure handling without a Security Center.
//
// A Server is an http.Handler: mount it with httptest.NewServer (or on a
// real port) and point a client at URL+"/WebSdk". It implements:
//
//   - GET / (the liveness check) answering {"Rsp":{"Status":"Ok"}};
//   - GET and POST entity?q=…: entity=<guid> and entity=NewEntity(Type)
//     segments with field reads, Prop=value, Prop@value, Prop-value and
//     group calls, for Cardholder, Visitor, Credential, CardholderGroup,
//     AccessRule and Partition entities (Door entities are read, not
//     created), InsertIntoPartition(<partition>) and
//     RemoveFromPartition(<partition>) on existing entities, and a
//     partition's Members;
//   - POST creationpartition/<guid>, the session's creation partition;
//   - DELETE entity/<guid>;
//   - GET entity/exists/<guid>, answering {"Rsp":{"Status":"Ok","Result":{"Exists":true|false}}}
//     (the endpoint is listed by public sources, its answer is not);
//   - GET report/EntityConfiguration?q=EntityTypes@…,Name=…,NameSearchMode=…,Page=…,PageSize=…
//     with the "one extra entity when a further page exists" paging rule
//     and TooManyResults for large unpaged answers;
//   - GET events, the event stream: a "ConnectionId:<guid>" line, then for
//     each event a part (a --GENETECBOUNDARY line, "Content-type:
//     text/json", an empty line, one JSON line {"Rsp":{"Status":"Ok",
//     "Result":{"EventType":…,"Timestamp":…,"SourceGuid":<door>,
//     "CardholderGuid":…,"CredentialGuid":…}}}) and bare KeepAlive lines;
//   - GET events/subscribe and events/unsubscribe?q=event(Door|<door guid>,AccessGranted|AccessRefused),…,
//     GET events/subscribed, and POST events/closeconnection/<connection id>;
//   - GET report/DoorActivity?q=Doors@<guid>[@<guid>…],TimeRange.SetTimeRange(<from>,<to>),
//     rows shaped like stream events, newest first, TooManyResults past
//     WithMaxResults, and paging refused as the real server refuses it.
//
// Doors are granted by access rules, and access rules apply to cardholder
// groups: the seed doors SeedLobbyDoor and SeedFloor3Door are granted by
// SeedLobbyRule and SeedFloor3Rule to SeedLobbyGroup and SeedFloor3Group.
// Swipe presents a card at a door as a reader would: the door oracle
// (DoorOpens: the credential opens one of the door's groups, by Opens, at
// that time) decides, an unknown card is refused, and the event is logged
// (Events, DoorActivity) and written to every subscribed stream.
//
// Keypad credentials (Format=KeypadCredentialFormat(<code>), the form the
// public VRFID integration sends) carry a PIN instead of card data, one
// code per credential, refused when another credential carries it. Doors
// given a keypad (SetKeypad) open for a PIN by the same rule as for a
// card: PINOpensDoor and, per group, PINOpens are the keypad oracles. A
// keypad credential's Format reads back as KeypadCredentialFormat(<code>),
// the simulator's guess at what the real server returns; the adapter never
// reads it.
//
// It enforces what the real server requires: HTTP Basic authentication
// with "<user>;<application ID>" (401 for a wrong user or password, 403
// for an application ID the licence does not list), Accept: text/json
// (otherwise it answers in legacy XML), POST with Content-Length: 0 and no
// body (411 and 400 otherwise), POST for any write, GUIDs with or without
// dashes. It is strict where the real server's behaviour is unknown: a
// query it does not understand, an unknown property, an operator
// character left unescaped inside a value, adding a cardholder to a group
// twice, or two credentials with the same card data all get a Fail
// envelope ({"Rsp":{"Status":"Fail","Result":{"SdkErrorCode":…,"Message":…}}}
// with HTTP 200), and an unknown or wrongly-cased report name an HTML
// 400, so that client mistakes show up in tests. WithDuplicateCardData
// accepts the same card data twice instead, to test clients against a
// server that does. Backslash escapes are
// honoured for every character; '+' in the query is a literal plus.
//
// A request naming an entity that does not exist is answered the way
// public sources show a real server answering: SdkErrorCode
// "InvalidOperation", the only code seen on the wire, and the message
// "Unable to find entity <guid>". WithMissingEntity(MissingUnknownEntity)
// answers with the code "UnknownEntity" instead, which no public source
// shows, to test clients against both.
//
// Where public sources are silent, the simulator makes these choices: an
// entity read answers one object for one segment and an array for several; entity
// collections read as arrays of dashed GUID strings; times are read as
// RFC 3339 in UTC and accepted without an offset as UTC; segments of one
// request apply in order, each whole or not at all, and a failing segment
// leaves the earlier ones applied; deleting a cardholder leaves its
// credentials unassigned. ActivationDate and ExpirationDate have no
// setter (as reported for visitors by a real server); Visitor windows are
// Arrival and Departure.
//
// Where public sources are silent about events, the simulator chooses:
// subscriptions belong to the user's session and end with its last open
// stream; subscribing needs an open stream; only AccessGranted and
// AccessRefused of doors can be subscribed to; the stream's Content-Type
// is multipart/mixed with boundary GENETECBOUNDARY; KeepAlive lines come
// every WithKeepAliveInterval (10 s of wall-clock time by default; 0 for
// none, with KeepAlive sending one on demand); a stream keeps at most
// WithStreamBuffer parts for a client that does not read and is dropped
// past that; DoorActivity includes both ends of its range and ignores
// unknown doors.
//
// WithLatency adds the same latency to every request, for measurements.
// Faults are injected with Inject: added latency (waited out with an
// injectable sleep function, so tests do not wait on wall-clock time),
// any HTTP status (5xx, 401, 403, an HTML 400, a legacy body), a Fail
// envelope, a dropped connection, and a connection dropped after the
// request's changes were committed (the lost response). Inject applies to
// GET events and its siblings too. Event streams have their own faults:
// DropStreams (the connection aborted), EndStreams (ended cleanly),
// CutNextPart (a part stops halfway and the connection is aborted),
// StallStreams (connected but silent: no part, no KeepAlive) and
// SetKeepAliveInterval(0) (no KeepAlive lines). Sessions expire
// after five idle minutes of the injected clock (or ExpireSessions) and
// the first request of a new session waits the WithColdStart latency.
//
// Partitions: every entity is a member of one or more partitions (the
// root partition RootPartition always exists; AddPartition adds others).
// A new entity goes to its session's creation partition, or to the root
// partition when the session set none; the setting ends with the session
// (five idle minutes, or ExpireSessions). Members of a partition lists
// its members, and that is how a client confines its lookups to one
// partition: an entity of another partition is not among them.
// Partition rights of users are not modelled (the user sees every
// partition). SetPartitions moves an entity behind the clients' backs;
// PartitionsOf, PartitionMembers and CreationPartition read the truth.
//
// DeleteCredential, SetWindow, SetGroups and SetState change the state
// behind the clients' backs, as an administrator in Config Tool would,
// for reconciliation tests; AddCardholder and AddCredential create
// entities the same way (twin cardholders carrying one visit's
// "[external-id]" marker, for instance).
//
// The oracle (Opens, DoorOpens, Census, FindCredential, Cardholder,
// Credential, Groups, Doors, Events, Streams, Subscribed) reads the true
// state, and Requests returns the request log
// (method, path, decoded q, raw query, Accept and Content-Length headers,
// user name without password or application ID, answer) for
// request-shape tests. A Server is safe for concurrent use.
package genetecsim
