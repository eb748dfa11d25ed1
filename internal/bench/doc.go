// Package bench is the measuring harness of the SDK: it starts the three
// vendor simulators on loopback (in this process or in a child process),
// builds adapters against them, and holds the "floor" clients — minimal
// hand-written net/http clients that send exactly the requests an adapter
// sends for a provision or a revocation, with no validation, retries,
// rate limiting or logging — so that an adapter's cost can be compared
// with the protocol's own.
//
// The Go benchmarks of this package (go test -bench . ./internal/bench)
// measure client CPU and allocations per operation; the program
// cmd/acsbench runs the load scenarios (burst, latency, refresh, sweep)
// and prints their figures. BENCHMARKS.md at the repository root explains
// the methods and records the results.
//
// Rate limits: brivosim answers requests over its limit with the Mashery
// gateway's 403 "Developer Over Qps", the answer Brivo's gateway is
// documented to give. Genetec and Lenel document no request-rate limit
// and no over-limit answer, so for them Limit wraps the simulator in a
// generic limiter that answers HTTP 429 with Retry-After; figures
// obtained with it say so.
package bench
