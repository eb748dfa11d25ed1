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
//     group calls, for Cardholder, Visitor, Credential, CardholderGroup and
//     AccessRule entities;
//   - DELETE entity/<guid>;
//   - GET report/EntityConfiguration?q=EntityTypes@…,Name=…,NameSearchMode=…,Page=…,PageSize=…
//     with the "one extra entity when a further page exists" paging rule
//     and TooManyResults for large unpaged answers.
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
// 400, so that client mistakes show up in tests. Backslash escapes are
// honoured for every character; '+' in the query is a literal plus.
//
// Where public sources are silent, the simulator makes these choices:
// an unknown entity is SdkErrorCode "UnknownEntity"; an entity read
// answers one object for one segment and an array for several; entity
// collections read as arrays of dashed GUID strings; times are read as
// RFC 3339 in UTC and accepted without an offset as UTC; segments of one
// request apply in order, each whole or not at all, and a failing segment
// leaves the earlier ones applied; deleting a cardholder leaves its
// credentials unassigned. ActivationDate and ExpirationDate have no
// setter (as reported for visitors by a real server); Visitor windows are
// Arrival and Departure.
//
// Faults are injected with Inject: added latency (waited out with an
// injectable sleep function, so tests do not wait on wall-clock time),
// any HTTP status (5xx, 401, 403, an HTML 400, a legacy body), a Fail
// envelope, a dropped connection, and a connection dropped after the
// request's changes were committed (the lost response). Sessions expire
// after five idle minutes of the injected clock (or ExpireSessions) and
// the first request of a new session waits the WithColdStart latency.
//
// The oracle (Opens, Census, FindCredential, Cardholder, Credential,
// Groups) reads the true state, and Requests returns the request log
// (method, path, decoded q, raw query, Accept and Content-Length headers,
// user name without password or application ID, answer) for
// request-shape tests. A Server is safe for concurrent use.
package genetecsim
