package genetecsim

import (
	"slices"
	"strings"
)

// RootPartition is the GUID of Security Center's root partition, where
// new entities are placed unless the session sets another creation
// partition (Genetec's Web SDK constants).
const RootPartition = "00000000-0000-0000-0000-00000000000b"

// Partitions, as the simulator models them:
//
//   - every entity but a partition is a member of one or more partitions;
//     the root partition always exists;
//   - a new entity is placed in its session's creation partition, set with
//     POST creationpartition/{partition} (the WebSDKStudio sample's
//     request), or else in the root partition; a session ends after five
//     idle minutes and its successor starts with the root partition again;
//   - a partition's Members (entity={partition},Members) lists its
//     members' GUIDs in creation order, as Genetec's Platform SDK samples
//     read Partition.Members;
//   - InsertIntoPartition({partition}) and RemoveFromPartition({partition})
//     on an existing entity add and remove a membership (the calls a
//     production Web SDK client makes after each creation); on a new
//     entity they are refused, since public sources show them only after
//     the creation;
//   - deleting a partition leaves its members in their other partitions.
//
// Partition rights of users (who may see which partition) are not
// modelled: the simulator's user sees every partition.

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// partitionMembers lists the GUIDs of a partition's members in creation
// order.
func (st *store) partitionMembers(partition string) []string {
	var out []string
	for _, e := range st.sorted(func(e *entity) bool { return slices.Contains(e.partitions, partition) }) {
		out = append(out, e.guid)
	}
	return nonNil(out)
}

// partition returns the partition with the GUID (any form), or a Fail.
func (st *store) partition(v string) (string, *sdkError) {
	g, ok := ParseGUID(v)
	if !ok {
		return "", failf(codeInvalidOperation, "'%s' is not a GUID", v)
	}
	p := st.byGUID[g]
	if p == nil {
		return "", st.unknown(g)
	}
	if p.typ != TypePartition {
		return "", failf(codeInvalidOperation, "Entity '%s' is a %s, not a partition", g, p.typ)
	}
	return g, nil
}

// partitionCall applies InsertIntoPartition or RemoveFromPartition to e
// (a working copy of an existing entity).
func (st *store) partitionCall(e *entity, isNew bool, op Item) *sdkError {
	switch {
	case isNew:
		return failf(codeInvalidOperation, "%s on a new entity is not supported by the simulator; call it once the entity exists", op.Func)
	case e.typ == TypePartition:
		return failf(codeInvalidOperation, "Unknown method '%s' on entity type %s", op.Func, e.typ)
	case len(op.Args) != 1:
		return failf(codeInvalidOperation, "%s takes one partition", op.Func)
	}
	g, err := st.partition(op.Args[0])
	if err != nil {
		return err
	}
	has := slices.Contains(e.partitions, g)
	switch insert := strings.EqualFold(op.Func, "InsertIntoPartition"); {
	case insert && !has:
		e.partitions = append(e.partitions, g)
	case !insert && has:
		e.partitions = slices.DeleteFunc(e.partitions, func(p string) bool { return p == g })
	}
	return nil
}

// setCreationPartition answers POST creationpartition/{partition}: the
// user's session creates its entities there until the session ends.
func (s *Server) setCreationPartition(user, id string) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.st.partition(id)
	if err != nil {
		return s.fail(err)
	}
	if g == RootPartition {
		delete(s.creation, user)
	} else {
		s.creation[user] = g
	}
	return s.envelope("Ok", nil)
}

// AddPartition creates a partition, as an administrator would in Config
// Tool, and returns its GUID.
func (s *Server) AddPartition(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := &entity{typ: TypePartition, name: name}
	s.st.insert(e, s.clock())
	return e.guid
}

// SetPartitions makes the entity a member of exactly the given partitions
// (at least one), behind the clients' backs; false when the entity or a
// partition does not exist.
func (s *Server) SetPartitions(guid string, partitions ...string) bool {
	g, ok := ParseGUID(guid)
	if !ok || len(partitions) == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.st.byGUID[g]
	if e == nil || e.typ == TypePartition {
		return false
	}
	var ps []string
	for _, p := range partitions {
		pg, err := s.st.partition(p)
		if err != nil {
			return false
		}
		if !slices.Contains(ps, pg) {
			ps = append(ps, pg)
		}
	}
	e.partitions = ps
	s.st.changed()
	return true
}

// PartitionsOf returns the partitions the entity is a member of; nil when
// it does not exist.
func (s *Server) PartitionsOf(guid string) []string {
	g, ok := ParseGUID(guid)
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.st.byGUID[g]; e != nil {
		return slices.Clone(e.partitions)
	}
	return nil
}

// PartitionMembers returns the GUIDs of the partition's members in
// creation order; nil when it is not a partition.
func (s *Server) PartitionMembers(partition string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.st.partition(partition)
	if err != nil {
		return nil
	}
	return s.st.partitionMembers(g)
}

// CreationPartition returns the creation partition of the user's current
// session (RootPartition when none was set or the session ended).
func (s *Server) CreationPartition(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cmpOr(s.creation[user], RootPartition)
}
