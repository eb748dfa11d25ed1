// Package badge manages the physical badges a front desk hands to visitors
// and the card numbers issued for generated credentials (QR codes, mobile
// credentials).
//
// # Badge IDs
//
// A badge ID is the number a keyboard-wedge scanner types when the badge is
// scanned, and the number an administrator registers. ValidateID accepts 1
// to MaxIDLen ASCII digits and nothing else; its *IDError names the first
// offending character and its position. IDs are strings kept exactly as
// given: "007" and "7" are different badges, because readers print the same
// card in several decimal forms and this package does not guess which ones
// are equal. ParseScan removes the CR/LF a scanner sends after a scan.
//
// # Pools
//
// A Pool is one location's set of badges, each Available, Assigned to a
// visit, Lost or Retired:
//
//	Available ──Acquire──▶ Assigned ──Release──▶ Available
//	Available, Assigned ──MarkLost──▶ Lost ──MarkFound──▶ Available
//	Available, Lost ──Retire──▶ Retired
//
// Badges are added one at a time (Pool.Add) or from CSV (Pool.ImportCSV,
// which reports bad lines by number and imports the good ones). The front
// desk acquires a scanned badge (Pool.Acquire) or the next available one
// (Pool.AcquireNext). Acquiring is one atomic Store operation, so two desks
// never hand the same badge to two visits; it is idempotent by visit, so a
// retried request never takes a second badge.
//
// Release is a separate, explicit call: a visit lifecycle revokes the
// badge's credential at the ACS and releases the badge only when the ACS has
// confirmed, so the next visitor never receives a badge that still opens
// doors for the previous one. Until then the badge stays Assigned.
//
// Every assignment is kept. Pool.History lists a badge's holders and
// Pool.HolderAt answers "who held badge 1042 at 14:00 last Tuesday".
//
// # Card data
//
// A badge's Card is the card data the ACS knows it by. Card is
// wiegand.Card, the same type as acs.Card, so a badge's card goes into a
// grant as it is; ValidateCard checks it against its format, and the zero
// Card (no card data recorded) is valid.
//
// # Card-number ranges
//
// An Allocator issues card numbers from a location's Range (format,
// facility code, Min–Max, validated against the wiegand format) to visits
// that get a generated credential. Allocation is atomic and idempotent by
// visit; a number is never held by two visits. Once numbers are issued the
// range's format and facility are fixed, and the range may only change in
// ways that keep every issued number inside it.
//
// # Storage
//
// Pools and Allocators keep their state in a Store and an AllocationStore.
// MemoryStore and MemoryAllocationStore keep it in memory; a durable store
// implements the same small interfaces, each method one short transaction,
// and is checked with package badgetest. Pools and Allocators take a clock
// (WithClock), so tests control every timestamp.
//
// All exported types are safe for concurrent use.
package badge
