package lenelsim

import (
	"fmt"
	"slices"
	"testing"
)

// statuses returns the IDs of rows, in their order, with their STATUS.
func statuses(rows []instance) string {
	var s []string
	for _, r := range rows {
		s = append(s, fmt.Sprintf("%d:%d", r.int("ID"), r.int("STATUS")))
	}
	return fmt.Sprint(s)
}

// sortedIDs is the IDs of rows, sorted.
func sortedIDs(rows []instance) []int64 {
	var ids []int64
	for _, r := range rows {
		ids = append(ids, r.int("ID"))
	}
	slices.Sort(ids)
	return ids
}

// TestTableReplaceKeepsOrderAndIndex: replacing a row updates the cached
// order and index in place, and they answer as ones built afresh from the
// same rows do.
func TestTableReplaceKeepsOrderAndIndex(t *testing.T) {
	def := &typeDef{keys: []string{"ID"}}
	kept := &table{def: def, rows: map[string]instance{}}
	for i := range 30 {
		in := instance{"ID": int64(i + 1), "STATUS": int64(1)}
		kept.put(kept.keyOf(in), in)
	}
	_ = kept.sorted(nil)
	_ = kept.withValues("STATUS", map[int64]bool{1: true})
	for _, id := range []int64{7, 30, 1, 7} {
		next := kept.rows[formatInt(id)].clone()
		next["STATUS"] = next.int("STATUS") + 1
		kept.put(formatInt(id), next)
		if kept.order == nil || kept.index == nil {
			t.Fatalf("replacing row %d dropped the cached order or index", id)
		}
	}
	fresh := &table{def: def, rows: kept.rows}
	if got, want := statuses(kept.sorted(nil)), statuses(fresh.sorted(nil)); got != want {
		t.Fatalf("kept order %s, want %s", got, want)
	}
	for status := int64(1); status <= 3; status++ {
		set := map[int64]bool{status: true}
		got, want := sortedIDs(kept.withValues("STATUS", set)), sortedIDs(fresh.withValues("STATUS", set))
		if !slices.Equal(got, want) {
			t.Fatalf("STATUS %d: kept index gives %v, want %v", status, got, want)
		}
	}
	if got := sortedIDs(kept.withValues("STATUS", map[int64]bool{3: true})); !slices.Equal(got, []int64{7}) {
		t.Fatalf("STATUS 3: %v, want [7]", got)
	}
	// A new key drops both, to be rebuilt.
	in := instance{"ID": int64(99), "STATUS": int64(1)}
	kept.put(kept.keyOf(in), in)
	if kept.order != nil || kept.index != nil {
		t.Fatal("a new row kept a stale order or index")
	}
}
