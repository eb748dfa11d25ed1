package wiegand

// A deliberately naive reference encoder, written bit by bit from the
// 1-based layout descriptions (research/cardformats-and-peers.md §A1). It
// shares no code with the mask-based implementation and is used to
// cross-check it.

type refParity struct {
	kind  ParityKind
	pos   int
	odd   bool
	cover func(p int) bool
}

type refLayout struct {
	bits           int
	fcStart, fcLen int
	cnStart, cnLen int
	parities       []refParity // in computation (and check) order
}

func refLayouts() map[Format]refLayout {
	in := func(a, b int) func(int) bool { return func(p int) bool { return p >= a && p <= b } }
	return map[Format]refLayout{
		H10301: {26, 2, 8, 10, 16, []refParity{
			{ParityEven, 1, false, in(2, 13)},
			{ParityOdd, 26, true, in(14, 25)},
		}},
		H10306: {34, 2, 16, 18, 16, []refParity{
			{ParityEven, 1, false, in(2, 17)},
			{ParityOdd, 34, true, in(18, 33)},
		}},
		H10302: {37, 0, 0, 2, 35, []refParity{
			{ParityEven, 1, false, in(2, 19)},
			{ParityOdd, 37, true, in(19, 36)},
		}},
		H10304: {37, 2, 16, 18, 19, []refParity{
			{ParityEven, 1, false, in(2, 19)},
			{ParityOdd, 37, true, in(19, 36)},
		}},
		Corp1000_35: {35, 3, 12, 15, 20, []refParity{
			{ParityEven, 2, false, func(p int) bool { return p >= 3 && p <= 34 && p%3 != 2 }},
			{ParityOdd, 35, true, func(p int) bool { return p >= 2 && p <= 34 && p%3 != 1 }},
			{ParityOverallOdd, 1, true, in(2, 35)},
		}},
		Corp1000_48: {48, 3, 22, 25, 23, []refParity{
			{ParityEven, 2, false, func(p int) bool { return p >= 4 && p <= 47 && p%3 != 0 }},
			{ParityOdd, 48, true, func(p int) bool { return p >= 3 && p <= 46 && p%3 != 2 }},
			{ParityOverallOdd, 1, true, in(2, 48)},
		}},
	}
}

// refEncode returns the wire bits (index 0 is b1) as a '0'/'1' string.
func refEncode(l refLayout, fc, cn uint64) string {
	b := make([]byte, l.bits+1) // 1-based
	put := func(start, n int, v uint64) {
		for i := 0; i < n; i++ {
			b[start+i] = byte(v >> uint(n-1-i) & 1)
		}
	}
	if l.fcLen > 0 {
		put(l.fcStart, l.fcLen, fc)
	}
	put(l.cnStart, l.cnLen, cn)
	for _, par := range l.parities {
		ones := 0
		for p := 1; p <= l.bits; p++ {
			if par.cover(p) {
				ones += int(b[p])
			}
		}
		if par.odd {
			b[par.pos] = byte(1 - ones%2)
		} else {
			b[par.pos] = byte(ones % 2)
		}
	}
	out := make([]byte, l.bits)
	for p := 1; p <= l.bits; p++ {
		out[p-1] = '0' + b[p]
	}
	return string(out)
}

// refFirstFailure returns the parity a single flip at position p breaks
// first, in check order.
func refFirstFailure(l refLayout, p int) refParity {
	for _, par := range l.parities {
		if par.pos == p || par.cover(p) {
			return par
		}
	}
	return refParity{}
}
