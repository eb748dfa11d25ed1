package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/visitor/sqlstore/sqlite"
	"github.com/acsbridge/acsbridge/wiegand"
)

// Location is the location ID of the engines the harness builds.
const Location = "hq"

// Desk is the operator who signs visitors in: the "desk" group may grant
// the location's access level.
var Desk = visitor.Operator{ID: "desk-1", Groups: []string{"desk"}}

// Policy is the harness's location policy: one visitor type, "guest",
// whose credentials grant level for eight hours; visits are signed out
// automatically twelve hours after sign-in.
func Policy(level string) visitor.Policy {
	return visitor.Policy{
		Types:          map[string]visitor.VisitorType{"guest": {AccessLevels: []string{level}, AccessDuration: 8 * time.Hour}},
		DefaultType:    "guest",
		OperatorGroups: map[string][]string{"desk": {level}},
		AutoSignOut:    12 * time.Hour,
	}
}

// OpenStore opens the visit store kind names: "memory", or "sqlite" (a
// fresh database in dir). close releases it.
func OpenStore(ctx context.Context, kind, dir string) (st visitor.Store, close func(), err error) {
	switch kind {
	case "memory", "":
		return visitor.NewMemoryStore(), func() {}, nil
	case "sqlite":
		path := filepath.Join(dir, "visits.db")
		_ = os.Remove(path)
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, nil, err
		}
		return s, func() { _ = s.Close() }, nil
	}
	return nil, nil, fmt.Errorf("bench: unknown store %q; want memory or sqlite", kind)
}

// NewEngine returns an engine with one location served by p, whose card
// numbers come from an H10301 range (facility 42, numbers 1 to cards),
// set up in st unless a range is already there.
func NewEngine(ctx context.Context, st visitor.Store, p acs.Provider, level string, cards int, opts ...visitor.Option) (*visitor.Engine, error) {
	e, err := visitor.New(st, []visitor.Location{{ID: Location, Provider: p, Policy: Policy(level)}}, opts...)
	if err != nil {
		return nil, err
	}
	al, err := e.Allocator(Location)
	if err != nil {
		return nil, err
	}
	r := badge.Range{Location: Location, Format: wiegand.H10301, Facility: 42, Min: 1, Max: uint64(cards)}
	if err := al.SetRange(ctx, r); err != nil {
		return nil, err
	}
	return e, nil
}

// SignIn signs visitor n in with a card number from the range and returns
// how long it took until the call returned, and whether the credential is
// then active at the ACS.
func SignIn(ctx context.Context, e *visitor.Engine, n int) (time.Duration, bool, error) {
	start := time.Now()
	v, err := e.SignIn(ctx, Desk, visitor.SignInRequest{
		VisitID: fmt.Sprintf("visit-%06d", n), Location: Location,
		Visitor:   visitor.Visitor{FirstName: "Guest", LastName: fmt.Sprintf("N%06d", n), Email: fmt.Sprintf("guest%d@example.com", n)},
		Provision: &visitor.ProvisionRequest{FromRange: true},
	})
	d := time.Since(start)
	if err != nil {
		return d, false, err
	}
	c := v.Current()
	return d, c != nil && c.Status == visitor.CredActive, nil
}
