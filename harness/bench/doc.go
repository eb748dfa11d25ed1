// Package bench is the measuring harness of the SDK: it starts the vendor
// simulators of the provider registry (internal/providers) on loopback (in
// this process or in a child process), builds the adapters against them
// through the registry, and holds the "floor" clients — minimal
// hand-written net/http clients that send the requests a correct
// independent client needs for a provision or a revocation (the checks
// for duplicate cardholders included), which are the requests the adapter
// sends, with no validation, retries, rate limiting or logging — so that
// an adapter's cost can be compared with the protocol's own. Every registered provider is counted
// (requests per operation, latency, refresh, burst, sweep); the CPU
// comparison needs a floor client, which Genetec, Lenel and Brivo have
// (FloorProviders).
//
// The Go benchmarks of this package (go test -bench . ./harness/bench)
// measure client CPU and allocations per operation; the program
// cmd/acsbench runs the load scenarios (burst, latency, refresh, sweep)
// and prints their figures. BENCHMARKS.md at the repository root explains
// the methods and records the results.
//
// Rate limits: brivosim answers requests over its limit with the Mashery
// gateway's 403 "Developer Over Qps", the answer Brivo's gateway is
// documented to give; verkadasim with Verkada's documented 429, counted
// per minute (a limit of n a second is 60·n a minute); altasim with a 429
// and Retry-After (Alta documents no limit; the simulator's choice).
// Genetec and Lenel document no request-rate limit and no over-limit
// answer, so for them Limit wraps the simulator in a generic limiter that
// answers HTTP 429 with Retry-After; figures obtained with it say so.
package bench
