package visitor

import (
	"fmt"
	"slices"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// DefaultAccessDuration is how long a credential is valid when the visitor
// type sets no AccessDuration.
const DefaultAccessDuration = 12 * time.Hour

// VisitorType is what a location's policy says about one kind of visitor
// (guest, contractor, interview…).
type VisitorType struct {
	// AccessLevels are granted when a provision names none. A type without
	// defaults gets no credential unless the operator names levels.
	AccessLevels []string `json:"access_levels,omitempty"`
	// Forbidden access levels are never granted to this type, whoever asks.
	Forbidden []string `json:"forbidden,omitempty"`
	// AccessDuration is how long a credential issued at sign-in is valid
	// (DefaultAccessDuration when zero), and how long an invited visit's
	// window lasts after its expected arrival.
	AccessDuration time.Duration `json:"access_duration,omitempty"`
	// AdvanceAccess opens an invited visit's access window this long
	// before the expected arrival (the Expected state). Zero opens it at
	// the expected arrival.
	AdvanceAccess time.Duration `json:"advance_access,omitempty"`
	// InvitedOnly provisions only invited visits of this type at the ACS
	// ("only invited guests are synced"): a walk-in (Visit.WalkIn) signs
	// in as usual but gets no ACS record. SignIn then skips its
	// provisioning and succeeds; Provision refuses it (PermissionDenied);
	// both are audited as a refused provision saying why.
	InvitedOnly bool `json:"invited_only,omitempty"`
	// SignOut says what signing out (kiosk, desk or automatic) does at the
	// ACS: SignOutRevoke (the default) revokes the visit's credentials and
	// leaves the cardholder until WithACSRetention removes it;
	// SignOutRemove removes the cardholder at once, with every credential
	// it holds, as a security removal does. Expiry and removal are not
	// sign-outs and keep their own behaviour.
	SignOut SignOutAction `json:"sign_out,omitempty"`
}

// SignOutAction is what sign-out does at the ACS (VisitorType.SignOut).
// The string values are stable: policies store them.
type SignOutAction string

// Sign-out actions.
const (
	// SignOutRevoke revokes the credentials and keeps the cardholder (the
	// default, also when empty).
	SignOutRevoke SignOutAction = "revoke"
	// SignOutRemove removes the cardholder and its credentials at once
	// (acs.Provider.RemoveCardholder, through the outbox).
	SignOutRemove SignOutAction = "remove"
)

// Valid reports whether a is a sign-out action or empty.
func (a SignOutAction) Valid() bool { return a == "" || a == SignOutRevoke || a == SignOutRemove }

func (t VisitorType) duration() time.Duration {
	if t.AccessDuration > 0 {
		return t.AccessDuration
	}
	return DefaultAccessDuration
}

// Policy is a location's rules: visitor types, which access levels each
// operator user group may grant, who may remove visitors, and when visits
// are signed out automatically.
type Policy struct {
	// Types maps a visitor type name to its rules. A visit's type must be
	// listed.
	Types map[string]VisitorType `json:"types"`
	// DefaultType is the type of visits that name none; empty means a
	// visit must name its type.
	DefaultType string `json:"default_type,omitempty"`
	// OperatorGroups maps an operator user group to the access levels its members
	// may grant. An operator may grant a level when any of their groups
	// allows it.
	OperatorGroups map[string][]string `json:"operator_groups"`
	// SecurityGroups are the user groups whose members may remove a
	// visitor. With none, only a watchlist match removes.
	SecurityGroups []string `json:"security_groups,omitempty"`
	// AutoSignOut signs a visit out this long after sign-in; zero never
	// does. Credentials issued at sign-in end no later than that.
	AutoSignOut time.Duration `json:"auto_sign_out,omitempty"`
	// Rules bound the grants sent to the ACS (window length).
	Rules acs.Rules `json:"rules,omitzero"`
	// Doors says what door events do: arrival marking, linking.
	Doors DoorPolicy `json:"doors,omitzero"`
	// Employees says whether employees must check in before their badge
	// works, and how (see CheckInEmployee).
	Employees EmployeePolicy `json:"employees,omitzero"`
	// PIN says whether PIN codes may be issued here, and how long they
	// are (see Engine.ProvisionPIN).
	PIN PINPolicy `json:"pin,omitzero"`
}

// Validate checks the policy: at least one type, a listed default type,
// durations within the grant rules, no empty level IDs, and no type whose
// defaults include one of its forbidden levels.
func (p *Policy) Validate() error {
	if len(p.Types) == 0 {
		return fmt.Errorf("visitor: policy has no visitor types")
	}
	if p.DefaultType != "" {
		if _, ok := p.Types[p.DefaultType]; !ok {
			return fmt.Errorf("visitor: policy default type %q is not one of its types", p.DefaultType)
		}
	}
	max := p.Rules.MaxValidity
	if max <= 0 {
		max = acs.DefaultMaxValidity
	}
	for name, t := range p.Types {
		if t.AccessDuration < 0 || t.AdvanceAccess < 0 {
			return fmt.Errorf("visitor: visitor type %q has a negative duration", name)
		}
		if !t.SignOut.Valid() {
			return fmt.Errorf("visitor: visitor type %q has an unknown sign-out action %q (want %q or %q)", name, t.SignOut, SignOutRevoke, SignOutRemove)
		}
		if d := t.duration() + t.AdvanceAccess; d > max {
			return fmt.Errorf("visitor: visitor type %q has an access window of %s, longer than the maximum %s", name, d, max)
		}
		for _, l := range slices.Concat(t.AccessLevels, t.Forbidden) {
			if l == "" {
				return fmt.Errorf("visitor: visitor type %q lists an empty access level", name)
			}
		}
		for _, l := range t.AccessLevels {
			if slices.Contains(t.Forbidden, l) {
				return fmt.Errorf("visitor: visitor type %q has access level %q both as a default and as forbidden", name, l)
			}
		}
	}
	for g, levels := range p.OperatorGroups {
		for _, l := range levels {
			if l == "" {
				return fmt.Errorf("visitor: user group %q lists an empty access level", g)
			}
		}
	}
	if p.AutoSignOut < 0 {
		return fmt.Errorf("visitor: negative auto sign-out delay")
	}
	if err := p.Employees.validate(); err != nil {
		return err
	}
	return p.Doors.validate()
}

// visitorType returns the rules of the named type (the default type when
// name is empty) and the resolved name.
func (p *Policy) visitorType(name string) (string, VisitorType, error) {
	if name == "" {
		name = p.DefaultType
	}
	t, ok := p.Types[name]
	if !ok {
		if name == "" {
			return "", VisitorType{}, fmt.Errorf("visit names no visitor type and the location has no default type")
		}
		return "", VisitorType{}, fmt.Errorf("unknown visitor type %.40q", name)
	}
	return name, t, nil
}

// mayGrant reports whether one of the operator's groups allows level.
func (p *Policy) mayGrant(op Operator, level string) bool {
	for _, g := range op.Groups {
		if slices.Contains(p.OperatorGroups[g], level) {
			return true
		}
	}
	return false
}

// mayRemove reports whether the operator is in a security group.
func (p *Policy) mayRemove(op Operator) bool {
	for _, g := range op.Groups {
		if slices.Contains(p.SecurityGroups, g) {
			return true
		}
	}
	return false
}

// checkGrant decides which access levels a provision gets: the requested
// ones, or the type's defaults when none are requested. It refuses
// (PermissionDenied) a level forbidden to the type or not allowed to the
// operator, and (InvalidArgument) an empty selection.
func (p *Policy) checkGrant(op Operator, typeName string, t VisitorType, requested []string) ([]string, error) {
	levels := requested
	if len(levels) == 0 {
		levels = t.AccessLevels
	}
	if len(levels) == 0 {
		return nil, acs.Errorf("provision", "", acs.InvalidArgument, "no access levels requested and visitor type %q has no default", typeName)
	}
	for i, l := range levels {
		if l == "" {
			return nil, acs.Errorf("provision", "", acs.InvalidArgument, "access level %d is empty", i+1)
		}
		if slices.Contains(levels[:i], l) {
			return nil, acs.Errorf("provision", "", acs.InvalidArgument, "access level %q is listed twice", l)
		}
		if slices.Contains(t.Forbidden, l) {
			return nil, acs.Errorf("provision", "", acs.PermissionDenied, "access level %q is never granted to visitor type %q", l, typeName)
		}
		if !p.mayGrant(op, l) {
			return nil, acs.Errorf("provision", "", acs.PermissionDenied, "operator %s may not grant access level %q", op.ID, l)
		}
	}
	return slices.Clone(levels), nil
}
