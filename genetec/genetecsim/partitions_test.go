package genetecsim_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/genetec/genetecsim"
)

// members reads a partition's Members through the Web SDK.
func (f *fixture) partitionMembers(t *testing.T, partition string) []string {
	t.Helper()
	a := mustOk(t, f.call(t, "GET", "entity", "entity="+hex(partition)+",Guid,EntityType,Members"))
	var r struct {
		EntityType string
		Members    []string
	}
	if err := json.Unmarshal(a.rsp.Result, &r); err != nil || r.EntityType != genetecsim.TypePartition {
		t.Fatalf("partition read %s", a.body)
	}
	return r.Members
}

// TestCreationPartition: new entities go to the root partition until the
// session sets a creation partition; then to that partition, until the
// session ends. A partition's Members lists exactly its members.
func TestCreationPartition(t *testing.T) {
	f := newFixture(t)
	hq := f.sim.AddPartition("Visitors HQ")
	annex := f.sim.AddPartition("Visitors Annex")
	create := func(name string) string {
		t.Helper()
		return guidOf(t, mustOk(t, f.call(t, "POST", "entity", "entity=NewEntity(Cardholder),Name="+name+",Guid")))
	}

	root := create("Root Person")
	if got := f.sim.PartitionsOf(root); !slices.Equal(got, []string{genetecsim.RootPartition}) {
		t.Fatalf("a cardholder created without a creation partition is in %v", got)
	}
	mustOk(t, f.call(t, "POST", "creationpartition/"+hex(hq), ""))
	inHQ := create("HQ Person")
	cred := guidOf(t, mustOk(t, f.call(t, "POST", "entity", "entity=NewEntity(Credential),Name=H10301 42/1001,CardholderGuid="+hex(inHQ)+",Format="+credXML(raw1001)+",Guid")))
	if f.sim.CreationPartition(genetecsim.DefaultUser) != hq {
		t.Fatal("the session's creation partition is not HQ")
	}
	if got := f.partitionMembers(t, hq); !slices.Equal(got, []string{inHQ, cred}) {
		t.Fatalf("HQ members %v, want the cardholder and credential created there", got)
	}
	if got := f.partitionMembers(t, annex); len(got) != 0 {
		t.Fatalf("Annex members %v, want none", got)
	}
	if got := f.partitionMembers(t, genetecsim.RootPartition); slices.Contains(got, inHQ) || !slices.Contains(got, root) {
		t.Fatalf("root members %v", got)
	}

	// The session ends after five idle minutes; the next one starts in
	// the root partition.
	f.mu.Lock()
	f.now = f.now.Add(6 * time.Minute)
	f.mu.Unlock()
	later := create("Later Person")
	if got := f.sim.PartitionsOf(later); !slices.Equal(got, []string{genetecsim.RootPartition}) {
		t.Fatalf("after the session ended a cardholder went to %v", got)
	}

	// Refusals: not a partition, an unknown GUID, a GET.
	mustFail(t, f.call(t, "POST", "creationpartition/"+hex(root), ""), "InvalidOperation", "not a partition")
	mustFail(t, f.call(t, "POST", "creationpartition/0123456789abcdef0123456789abcdef", ""), "InvalidOperation", "Unable to find entity")
	mustFail(t, f.call(t, "GET", "creationpartition/"+hex(hq), ""), "InvalidOperation", "Use POST")
}

// TestInsertIntoPartition: an existing entity joins and leaves partitions
// with InsertIntoPartition and RemoveFromPartition; a new one cannot.
func TestInsertIntoPartition(t *testing.T) {
	f := newFixture(t)
	hq := f.sim.AddPartition("Visitors HQ")
	ch := guidOf(t, mustOk(t, f.call(t, "POST", "entity", "entity=NewEntity(Cardholder),Name=Ada,Guid")))
	mustOk(t, f.call(t, "POST", "entity", "entity="+hex(ch)+",InsertIntoPartition("+hex(hq)+")"))
	if got := f.sim.PartitionsOf(ch); !slices.Equal(got, []string{genetecsim.RootPartition, hq}) {
		t.Fatalf("after InsertIntoPartition: %v", got)
	}
	mustOk(t, f.call(t, "POST", "entity", "entity="+hex(ch)+",RemoveFromPartition("+genetecsim.RootPartition+")"))
	if got := f.partitionMembers(t, hq); !slices.Equal(got, []string{ch}) || slices.Contains(f.partitionMembers(t, genetecsim.RootPartition), ch) {
		t.Fatalf("after RemoveFromPartition: HQ %v", got)
	}
	mustFail(t, f.call(t, "POST", "entity", "entity=NewEntity(Cardholder),Name=Bob,InsertIntoPartition("+hex(hq)+"),Guid"), "InvalidOperation", "new entity")
	mustFail(t, f.call(t, "POST", "entity", "entity="+hex(ch)+",InsertIntoPartition("+hex(ch)+")"), "InvalidOperation", "not a partition")
	if !f.sim.SetPartitions(ch, genetecsim.RootPartition) || !slices.Equal(f.sim.PartitionsOf(ch), []string{genetecsim.RootPartition}) {
		t.Fatal("SetPartitions did not move the cardholder back to the root partition")
	}
}
