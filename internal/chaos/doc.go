// Package chaos is the harness that checks the SDK's promises end to end
// under faults: the three vendor simulators (genetecsim, lenelsim,
// brivosim) on loopback servers, each behind an Injector that makes a share
// of requests fail in every way the simulators can (5xx, 429 and over-QPS
// answers with Retry-After, timeouts before and after the change was
// committed, connections dropped before and after the commit, expired
// sessions and tokens, slow answers), the real adapters pointed at them, a
// lifecycle Driver that walks visits through package visitor's Engine, and
// Check, which compares the simulators' true state (their oracles) with
// the Engine's store: no credential live at an ACS for a visit that is not
// signed in, no duplicate cardholder or credential, no badge held twice, an
// audit trail consistent with every visit.
//
// The package is test support: the tests in this directory (chaos, outage,
// crash, hostile input, secrets, TLS, authorization, goroutine hygiene) and
// the soak program in internal/soak use it. Nothing here is part of the
// public API.
package chaos
