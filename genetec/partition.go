package genetec

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/acsbridge/acsbridge/acs"
)

// typePartition is the Web SDK's name of partition entities.
const typePartition = "Partition"

// RootPartition is the GUID of Security Center's root partition, where
// new entities are placed unless the session sets another creation
// partition.
const RootPartition = "00000000-0000-0000-0000-00000000000b"

// partitionFields are read from the partition to scope a lookup.
var partitionFields = []string{"Guid", "EntityType", "Members"}

// WithPartition confines the Provider to one Security Center partition
// (its GUID, in either form): the cardholders and credentials it creates
// are created there, and its lookups (the idempotency key, twins,
// revocation by card, cardholder removal) and Holdings see only the
// cardholders that are members of it. One Provider serves one partition;
// a VMS location whose visitors belong in a partition gets a Provider
// with that partition. See "Partitions" in the package documentation.
func WithPartition(partition string) Option {
	return func(o *options) {
		g, ok := parseGUID(partition)
		if !ok || g == zeroGUID {
			o.errs = append(o.errs, fmt.Errorf("WithPartition: %q is not a partition GUID", partition))
			return
		}
		o.partGUID = g
	}
}

// Partition returns the GUID of the partition the Provider is confined
// to, dashed, or "" when it has none.
func (p *Provider) Partition() string {
	if p.partGUID == zeroGUID {
		return ""
	}
	return p.partGUID.String()
}

// setCreationPartition makes the session create its entities in the
// Provider's partition: POST creationpartition/<guid>, sent right before
// every creation, since the setting belongs to the user's session, which
// ends after five idle minutes. Without a partition it does nothing.
func (p *Provider) setCreationPartition(ctx context.Context, op string) error {
	if p.partGUID == zeroGUID {
		return nil
	}
	env, err := p.do(ctx, call{op: op, method: http.MethodPost, path: "/creationpartition/" + p.partGUID.Hex()})
	if err != nil {
		return err
	}
	if !isOk(env.Status) {
		return acs.Errorf(op, Name, acs.Unknown, "setting the creation partition %s answered status %q", p.partGUID, env.Status)
	}
	return nil
}

// scope is the set of entities a lookup may find: the members of the
// Provider's partition. A nil scope (no partition) holds everything.
type scope map[guid]bool

// has reports whether id is in the scope.
func (s scope) has(id guid) bool { return s == nil || s[id] }

// filter returns the ids in the scope, in their order.
func (s scope) filter(ids []guid) []guid {
	if s == nil {
		return ids
	}
	out := make([]guid, 0, len(ids))
	for _, id := range ids {
		if s[id] {
			out = append(out, id)
		}
	}
	return out
}

// readScope reads the members of the Provider's partition
// (entity=<partition>,Guid,EntityType,Members); nil without a partition.
// A partition that does not exist is NotFound, an entity that is not a
// partition InvalidArgument.
func (p *Provider) readScope(ctx context.Context, op string) (scope, error) {
	if p.partGUID == zeroGUID {
		return nil, nil
	}
	objs, gone, err := p.readPresent(ctx, op, []readSeg{{p.partGUID, partitionFields}})
	if err != nil {
		return nil, err
	}
	if len(gone) > 0 {
		return nil, acs.Errorf(op, Name, acs.NotFound, "partition %s does not exist in Security Center", p.partGUID)
	}
	o := objs[p.partGUID]
	if typ := o.str("EntityType"); !strings.EqualFold(typ, typePartition) {
		return nil, acs.Errorf(op, Name, acs.InvalidArgument, "entity %s is a %q, not a partition", p.partGUID, typ)
	}
	members := o.guids("Members")
	s := make(scope, len(members))
	for _, m := range members {
		s[m] = true
	}
	return s, nil
}

// scoped returns the ids that are members of the Provider's partition,
// reading the members only when there is a partition and an id to check.
func (p *Provider) scoped(ctx context.Context, op string, ids []guid) ([]guid, error) {
	if p.partGUID == zeroGUID || len(ids) == 0 {
		return ids, nil
	}
	s, err := p.readScope(ctx, op)
	if err != nil {
		return nil, err
	}
	return s.filter(ids), nil
}
