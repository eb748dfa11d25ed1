// Package chaos is the harness that checks the SDK's promises end to end
// under faults: one site per provider of the registry (internal/providers:
// genetecsim, lenelsim, brivosim, altasim, verkadasim, netboxsim) and one
// per credential issuer (origosim, in front of a door ACS of its own: a
// second genetecsim), each simulator on a loopback server behind an
// Injector that makes a share of requests fail in every way the
// simulators can (5xx, 429 and over-QPS answers with Retry-After, Origo's
// over-limit 403, timeouts before and after the change was committed,
// connections dropped before and after the commit, expired sessions and
// tokens, slow answers), the real adapters pointed at them (built through
// the registry; at the Origo site the registry's Issuer entry in front of
// the door's adapter), a lifecycle Driver that walks visits through
// package visitor's Engine, and Check, which compares the simulators' true
// state (their oracles) with the Engine's store: no credential live at an
// ACS for a visit that is not signed in, no duplicate cardholder or
// credential, no badge held twice, an audit trail consistent with every
// visit; and at the Origo site no Origo user left for a visit that ended,
// no second Origo user of a visit, no card live at the door without a
// mobile ID that Origo issued for it.
//
// At the Origo site every visitor gets a mobile ID: the simulated phone
// accepts the invitation after a delay of PhoneDelays on the test's clock
// (at once, within seconds, or within two minutes), so that provisions
// wait for it, visitors leave before it, and a drain that advances the
// clock sees every phone accept (no timer runs). Origo's callbacks reach
// every Issuer that Sims.Connect built.
//
// What the fleet knows about each simulator beyond the registry (how to
// start it with distinctive credentials, its faults in the vendor's own
// shape, its oracle; for an issuer also its door) is that provider's kit in
// kits.go (Origo's in issuer.go); a provider or issuer added to the
// registry joins every test here with its kit (TestEveryProviderHasAKit
// says when one is missing).
//
// The package is test support: the tests in this directory and the soak
// program in cmd/acssoak use it. It is a harness, not part of the SDK: its
// API may change in any release.
//
// # The tests
//
//	TestChaos                 2,000 lifecycles (500 with -short), 20% of requests failing
//	TestOutage                500 sign-outs (150) while every ACS is down, then the drain
//	TestCrash                 100 SIGKILLs (10) of a child running the lifecycle on SQLite
//	TestChaosReplicas         1,000 lifecycles (300) on three Engines sharing PostgreSQL
//	TestNoSecretsLeak         distinctive secrets never in logs, errors, panics, URLs, audit
//	TestReconcilePerAdapter   orphans, deleted and widened credentials found and repaired
//	TestTLS, TestPlainHTTP    verification on by default, custom CA, no plain http off loopback
//	TestAuthz*                one test per Engine entry point taking an Operator
//	TestNoGoroutineLeak,
//	TestEngineRunNoGoroutineLeak  nothing left running after Close, Run, RunDoorEvents
//	TestCheckFindsViolations  Check finds planted violations of each kind
//	TestCheckFindsIssuerViolations  … and each of the Origo site's, one at a time
//	Fuzz*                     inputs and ACS answers without a fuzz target of their own
//
// bugs_test.go holds focused reproductions of defects found in other
// packages; each skips with "known bug" or "known issue" while the defect
// is there and passes once it is fixed. Full-size runs and fuzzing:
//
//	go test -race -run 'TestChaos$|TestOutage$|TestCrash$' -v ./harness/chaos
//	go test -run '^$' -fuzz '^FuzzImportCSV$' -fuzztime 60s ./harness/chaos
//	go run ./cmd/acssoak -duration 10m
package chaos
