package badge_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/wiegand"
)

func ExampleValidateID() {
	for _, id := range []string{"1042", "007", "10O2", "12 34", "1٣4", ""} {
		if err := badge.ValidateID(id); err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%q ok\n", id)
	}
	// Output:
	// "1042" ok
	// "007" ok
	// badge: invalid badge ID "10O2": 'O' at position 3 is not a digit; only digits 0-9 are allowed
	// badge: invalid badge ID "12 34": ' ' at position 3 is not a digit; only digits 0-9 are allowed
	// badge: invalid badge ID "1٣4": '٣' (U+0663) at position 2 is not an ASCII digit; only digits 0-9 are allowed
	// badge: invalid badge ID: empty; a badge ID is 1 to 20 digits
}

func ExampleIDError() {
	err := badge.ValidateID("B-12")
	var ie *badge.IDError
	if errors.As(err, &ie) {
		fmt.Printf("character %q at position %d\n", ie.Char, ie.Pos)
	}
	fmt.Println(errors.Is(err, badge.ErrInvalidID), errors.Is(err, badge.ErrInvalid))
	// Output:
	// character 'B' at position 1
	// true true
}

func ExampleParseScan() {
	id, err := badge.ParseScan("0042\r\n") // a keyboard wedge ends the scan with Enter
	fmt.Printf("%q %v\n", id, err)
	// Output:
	// "0042" <nil>
}

// A front desk hands out a scanned badge and the next available one, then
// takes one back once the ACS has confirmed its credential is revoked.
func ExamplePool() {
	ctx := context.Background()
	clock := func() time.Time { return time.Date(2026, 3, 3, 14, 0, 0, 0, time.UTC) }
	pool, err := badge.NewPool(badge.NewMemoryStore(), "hq-lobby", badge.WithClock(clock))
	check(err)
	for _, id := range []string{"1001", "1002", "1003"} {
		_, err := pool.Add(ctx, badge.Badge{ID: id, Name: "Visitor " + id[2:]})
		check(err)
	}

	b, _ := pool.Acquire(ctx, "1002\r\n", "visit-ann") // scanned
	fmt.Println(b.ID, b.State, b.VisitID)
	b, _ = pool.AcquireNext(ctx, "visit-bob")
	fmt.Println(b.ID, b.State, b.VisitID)

	_, err = pool.Acquire(ctx, "1002", "visit-cid")
	fmt.Println(err)

	// ... the ACS confirms that Ann's credential is revoked ...
	b, _ = pool.Release(ctx, "1002", "visit-ann")
	fmt.Println(b.ID, b.State)
	// Output:
	// 1002 assigned visit-ann
	// 1001 assigned visit-bob
	// badge: not available: badge 1002 at location hq-lobby is assigned
	// 1002 available
}

func ExamplePool_ImportCSV() {
	ctx := context.Background()
	pool, err := badge.NewPool(badge.NewMemoryStore(), "hq-lobby")
	check(err)
	csv := `name,id,type
Visitor 01,1001,temp
Visitor 02,10O2,temp
Visitor 03,1003,temp
Visitor 04,1001,temp
`
	rep, err := pool.ImportCSV(ctx, strings.NewReader(csv))
	check(err)
	fmt.Println("added:", rep.Added)
	for _, e := range rep.Errors {
		fmt.Println(e)
	}
	// Output:
	// added: [1001 1003]
	// line 3: badge: invalid badge ID "10O2": 'O' at position 3 is not a digit; only digits 0-9 are allowed
	// line 5: badge: already exists: badge 1001 is a duplicate of line 2
}

func ExamplePool_HolderAt() {
	ctx := context.Background()
	now := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC) // a Tuesday
	pool, err := badge.NewPool(badge.NewMemoryStore(), "hq-lobby", badge.WithClock(func() time.Time { return now }))
	check(err)
	_, err = pool.Add(ctx, badge.Badge{ID: "1042", Name: "Visitor 42"})
	check(err)

	for _, visit := range []struct {
		id       string
		in, held time.Duration
	}{{"visit-ann", 0, 4 * time.Hour}, {"visit-bob", 30 * time.Minute, 3 * time.Hour}} {
		now = now.Add(visit.in)
		_, err = pool.Acquire(ctx, "1042", visit.id)
		check(err)
		now = now.Add(visit.held)
		_, err = pool.Release(ctx, "1042", visit.id)
		check(err)
	}

	a, err := pool.HolderAt(ctx, "1042", time.Date(2026, 3, 3, 14, 0, 0, 0, time.UTC))
	fmt.Println(a.VisitID, a.From.Format("15:04"), a.To.Format("15:04"), err)
	_, err = pool.HolderAt(ctx, "1042", time.Date(2026, 3, 3, 13, 15, 0, 0, time.UTC))
	fmt.Println(errors.Is(err, badge.ErrNotFound))
	// Output:
	// visit-bob 13:30 16:30 <nil>
	// true
}

func ExampleAllocator() {
	ctx := context.Background()
	alloc, err := badge.NewAllocator(badge.NewMemoryAllocationStore(), "hq-lobby")
	check(err)
	err = alloc.SetRange(ctx, badge.Range{Format: wiegand.H10301, Facility: 12, Min: 5000, Max: 5999})
	fmt.Println(err)

	a, err := alloc.Allocate(ctx, "visit-ann")
	check(err)
	fmt.Println(a.Card)

	// Issued numbers pin the range: this change would orphan 5000.
	err = alloc.SetRange(ctx, badge.Range{Format: wiegand.H10301, Facility: 12, Min: 6000, Max: 6999})
	fmt.Println(errors.Is(err, badge.ErrRangeInUse))

	// The ACS confirmed the revocation: the number may be reused.
	fmt.Println(alloc.Free(ctx, a.Card.Number, "visit-ann"))
	err = alloc.SetRange(ctx, badge.Range{Format: wiegand.H10301, Facility: 12, Min: 6000, Max: 6999})
	fmt.Println(err)
	// Output:
	// <nil>
	// H10301 12/5000
	// true
	// <nil>
	// <nil>
}

func ExampleRange_Validate() {
	r := badge.Range{Location: "hq-lobby", Format: wiegand.H10301, Facility: 12, Min: 10_000_000, Max: 99_999_999}
	fmt.Println(r.Validate())
	r.Format = wiegand.H10304
	fmt.Println(r.Validate())
	r.Format, r.Max = wiegand.H10304, 524_287
	r.Min = 0
	fmt.Println(r.Validate())
	// Output:
	// badge: invalid argument: range maximum 99999999 out of range for H10301 (0–65535)
	// badge: invalid argument: range maximum 99999999 out of range for H10304 (0–524287)
	// <nil>
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}
