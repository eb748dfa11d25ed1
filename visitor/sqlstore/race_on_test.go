//go:build race

package sqlstore_test

// raceEnabled reports whether the race detector is on; the heaviest tests
// run fewer iterations under it, which slows them several times over.
const raceEnabled = true
