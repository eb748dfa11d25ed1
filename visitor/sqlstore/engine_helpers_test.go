package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/badge"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/wiegand"
)

var t0 = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

const hq = "hq"

var (
	desk  = visitor.Operator{ID: "alice", Groups: []string{"reception"}}
	guard = visitor.Operator{ID: "sam", Groups: []string{"security"}}
)

var levels = []acs.AccessLevel{{ID: "lobby", Name: "Lobby"}, {ID: "floor-3", Name: "Floor 3"}}

func policy() visitor.Policy {
	return visitor.Policy{
		Types: map[string]visitor.VisitorType{
			"guest": {AccessLevels: []string{"lobby"}, AccessDuration: 8 * time.Hour, AdvanceAccess: time.Hour},
		},
		DefaultType:    "guest",
		OperatorGroups: map[string][]string{"reception": {"lobby", "floor-3"}},
		SecurityGroups: []string{"security"},
		AutoSignOut:    12 * time.Hour,
	}
}

// newEngine returns an engine for location hq over store and provider.
func newEngine(t testing.TB, store visitor.Store, p acs.Provider, clock visitor.Clock, owner string, opts ...visitor.Option) *visitor.Engine {
	t.Helper()
	base := []visitor.Option{visitor.WithClock(clock), visitor.WithOwner(owner)}
	e, err := visitor.New(store, []visitor.Location{{ID: hq, Provider: p, Policy: policy(), CredentialType: "qr"}}, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// addBadges adds n pool badges to hq, numbered from 1001, each available a
// second after the previous one.
func addBadges(t testing.TB, bs badge.Store, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		id := fmt.Sprint(1001 + i)
		err := bs.Add(ctx, badge.Badge{Location: hq, ID: id, Name: "Visitor " + id, State: badge.Available,
			Since: t0.Add(time.Duration(i-n) * time.Second),
			Card:  badge.Card{Format: wiegand.H10301, Facility: 12, Number: uint64(1001 + i)}})
		if err != nil {
			t.Fatal(err)
		}
	}
}
