package visitor

import (
	"slices"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// State is where a visit is in its life. The string values are stable:
// stores persist them and exports show them.
type State string

// Visit states. A visit starts Invited (pre-registered) or SignedIn (walk-in
// or arriving invitee) and ends SignedOut, Expired or Removed; an ended
// visit never changes state again. (An employee's check-in record, see
// Employee, goes from SignedOut to SignedIn again at each check-in.)
//
//	Invited ──window opens──▶ Expected ──SignIn──▶ SignedIn ──SignOut──▶ SignedOut
//	Invited, Expected ──window ends──▶ Expired
//	Invited, Expected, SignedIn ──Remove / watchlist──▶ Removed
//
// Whether a signed-in visitor holds a badge is told by the visit's current
// Credential (see CredentialStatus): provisioned, returned, and so on.
const (
	Invited   State = "invited"    // pre-registered; not yet in its access window
	Expected  State = "expected"   // its advance-access window is open; not yet signed in
	SignedIn  State = "signed_in"  // on site
	SignedOut State = "signed_out" // left: kiosk, receptionist or automatic sign-out
	Expired   State = "expired"    // invited or expected, never signed in, window over
	Removed   State = "removed"    // removed by security or after a watchlist match
)

// Valid reports whether s is one of the six states.
func (s State) Valid() bool {
	switch s {
	case Invited, Expected, SignedIn, SignedOut, Expired, Removed:
		return true
	}
	return false
}

// Ended reports whether s is a final state (SignedOut, Expired, Removed).
func (s State) Ended() bool { return s == SignedOut || s == Expired || s == Removed }

// CredentialStatus is where one credential of a visit is, as far as the
// ACS has confirmed.
type CredentialStatus string

// Credential statuses.
//
//	Pending ──ACS confirms──▶ Active ──return, sign-out, expiry…──▶ Revoking ──ACS confirms──▶ Revoked
//	Pending ──ended before any attempt──▶ Revoked
//	Pending ──refused by the ACS at the first attempt──▶ Failed
//	Pending ──ended or refused after an uncertain attempt──▶ Revoking
const (
	// CredPending: the provision is queued in the outbox and not yet
	// confirmed by the ACS (it may be down).
	CredPending CredentialStatus = "pending"
	// CredActive: the ACS confirmed the credential; it opens doors within
	// its window.
	CredActive CredentialStatus = "active"
	// CredRevoking: the revocation is queued and not yet confirmed.
	CredRevoking CredentialStatus = "revoking"
	// CredRevoked: the ACS confirmed the credential no longer opens doors
	// (or it never reached the ACS).
	CredRevoked CredentialStatus = "revoked"
	// CredFailed: the ACS refused the provision and nothing was created.
	CredFailed CredentialStatus = "failed"
)

// Live reports whether a credential in status s may open doors or is about
// to: Pending or Active.
func (s CredentialStatus) Live() bool { return s == CredPending || s == CredActive }

// Done reports whether s is final: Revoked or Failed.
func (s CredentialStatus) Done() bool { return s == CredRevoked || s == CredFailed }

// Source says where a credential's card came from.
type Source string

// Credential sources.
const (
	FromPool  Source = "pool"  // a physical badge from the location's badge pool
	FromRange Source = "range" // a card number from the location's range (QR code, mobile credential)
)

// Visitor is the person behind a visit. It is personal data: Visit.Scrub
// erases it.
type Visitor struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email,omitempty"`
	Company   string `json:"company,omitempty"`
}

// Name returns "First Last", or whichever of the two is set.
func (p Visitor) Name() string {
	switch {
	case p.FirstName == "":
		return p.LastName
	case p.LastName == "":
		return p.FirstName
	}
	return p.FirstName + " " + p.LastName
}

// WatchlistMatch describes a watchlist hit on a visit.
type WatchlistMatch struct {
	// List names the watchlist that matched.
	List string `json:"list"`
	// Reason is the VMS's explanation; personal data, erased by Scrub.
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// Credential is one credential issued to a visit: a physical badge or a
// card number from the range, with the access levels and window it was
// provisioned with and how far the ACS has confirmed it.
type Credential struct {
	Source Source `json:"source"`
	// BadgeID is the pool badge (Source FromPool); empty otherwise.
	BadgeID string `json:"badge_id,omitempty"`
	// Card is the card data provisioned at the ACS.
	Card acs.Card `json:"card"`
	// CredentialType is the ACS credential format or badge type, when set.
	CredentialType string    `json:"credential_type,omitempty"`
	AccessLevels   []string  `json:"access_levels"`
	ValidFrom      time.Time `json:"valid_from"`
	ValidUntil     time.Time `json:"valid_until"`

	Status CredentialStatus `json:"status"`
	// Ref is what the ACS returned once it confirmed the provision; before
	// that only CardholderExternalID and Card are set, which is enough to
	// revoke.
	Ref acs.CredentialRef `json:"ref"`

	IssuedBy string    `json:"issued_by"`
	IssuedAt time.Time `json:"issued_at"`
	// ActiveAt is when the ACS confirmed the provision; RevokedAt when it
	// confirmed the revocation.
	ActiveAt  time.Time `json:"active_at,omitzero"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`

	// Release is set when the badge (or card number) goes back to the pool
	// (or range) once the revocation is confirmed: on return, sign-out,
	// removal. It is unset when the credential only expired while the
	// visitor still holds the badge.
	Release bool `json:"release,omitempty"`
	// Released is set once the badge or number went back.
	Released bool `json:"released,omitempty"`
	// Lost is set when the badge was reported lost; it is never released.
	Lost bool `json:"lost,omitempty"`

	// Error is the last error the ACS returned for this credential.
	Error string `json:"error,omitempty"`

	// PIN is set on a PIN credential (Source FromPIN): what the visit
	// keeps of the PIN, never its digits (see Engine.ProvisionPIN).
	PIN *PINInfo `json:"pin,omitempty"`
}

// Holding reports whether the visit still holds the credential's badge or
// card number: not yet released to the pool or range and not lost.
func (c *Credential) Holding() bool { return !c.Released && !c.Lost }

// Visit is one visit: who, where, its state, and every credential issued for
// it. Each visit is its own cardholder at the ACS (its ID is the
// cardholder's external ID), so nothing carries over between visits.
//
// A Visit is plain data: stores persist it as they like (a JSON document,
// columns). Values returned by the Engine and Store are copies.
type Visit struct {
	ID       string  `json:"id"`
	Location string  `json:"location"`
	Type     string  `json:"type"`
	Visitor  Visitor `json:"visitor"`
	// Host is whom the visitor sees (free text or an employee ID).
	Host  string `json:"host,omitempty"`
	State State  `json:"state"`

	// ExpectedAt is the announced arrival of an invited visit. AccessFrom
	// and AccessUntil bound its access window: credentials issued before
	// sign-in are valid within it, it turns Expected at AccessFrom and
	// Expired at AccessUntil if the visitor never signs in.
	ExpectedAt  time.Time `json:"expected_at,omitzero"`
	AccessFrom  time.Time `json:"access_from,omitzero"`
	AccessUntil time.Time `json:"access_until,omitzero"`

	CreatedAt  time.Time `json:"created_at"`
	SignedInAt time.Time `json:"signed_in_at,omitzero"`
	EndedAt    time.Time `json:"ended_at,omitzero"`
	// EndedBy is the actor that ended the visit; EndReason the sign-out
	// method or the removal reason.
	EndedBy   string `json:"ended_by,omitempty"`
	EndReason string `json:"end_reason,omitempty"`

	// Watchlist is set when a watchlist matched the visitor; provisioning
	// is then refused.
	Watchlist *WatchlistMatch `json:"watchlist,omitempty"`

	// Credentials lists every credential issued for the visit, oldest
	// first; the last is the current one.
	Credentials []Credential `json:"credentials,omitempty"`

	// DueAt is when the sweeper must next look at the visit (auto sign-out,
	// window start or end, credential expiry); zero when never. The Engine
	// sets it; stores index it for Store.ClaimDue.
	DueAt time.Time `json:"due_at,omitzero"`

	// Doors is what the ACS's door events told about the visit: the last
	// door seen, the last that opened (see RecordDoorEvent); zero until
	// the first event.
	Doors DoorActivity `json:"doors,omitzero"`

	// CardholderRemovedAt is when the ACS confirmed the removal of the
	// visit's cardholder (security removal, or WithACSRetention); zero
	// until then.
	CardholderRemovedAt time.Time `json:"cardholder_removed_at,omitzero"`
	// CardholderRemoval is set once the removal of the visit's cardholder
	// at the ACS is queued.
	CardholderRemoval bool `json:"cardholder_removal,omitempty"`

	// Scrubbed is set once Scrub erased the personal data.
	Scrubbed bool `json:"scrubbed,omitempty"`

	// Employee is set on an employee's check-in record (see Employee and
	// CheckInEmployee); nil on visits.
	Employee *Employee `json:"employee,omitempty"`

	// Enrolment is the visit's latest tap-to-enrol request
	// (StartEnrolment); nil when there was none.
	Enrolment *Enrolment `json:"enrolment,omitempty"`

	// Version is set by the store: 1 when created, one more on every
	// update.
	Version int64 `json:"version"`
}

// Current returns the visit's most recent credential, or nil: the last
// one, unless that is a PIN issued alongside a card (PINInfo.WithCard),
// whose card is the current credential then. The pointer refers to v's
// Credentials slice.
func (v Visit) Current() *Credential {
	if i := v.currentIndex(); i >= 0 {
		return &v.Credentials[i]
	}
	return nil
}

// currentIndex is the index of Current, or -1.
func (v Visit) currentIndex() int {
	for i := len(v.Credentials) - 1; i >= 0; i-- {
		if p := v.Credentials[i].PIN; p == nil || !p.WithCard {
			return i
		}
	}
	return -1
}

// WalkIn reports whether the visit signed in without an invitation: it has
// no expected arrival (Invite requires one).
func (v Visit) WalkIn() bool { return v.ExpectedAt.IsZero() }

// Pending reports whether an ACS operation of the visit awaits confirmation:
// a provision or a revocation.
func (v Visit) Pending() bool {
	for i := range v.Credentials {
		if s := v.Credentials[i].Status; s == CredPending || s == CredRevoking {
			return true
		}
	}
	return false
}

// Clone returns a deep copy of v.
func (v Visit) Clone() Visit {
	if v.Watchlist != nil {
		w := *v.Watchlist
		v.Watchlist = &w
	}
	if v.Credentials != nil {
		cs := make([]Credential, len(v.Credentials))
		for i, c := range v.Credentials {
			c.AccessLevels = slices.Clone(c.AccessLevels)
			if c.PIN != nil {
				p := *c.PIN
				c.PIN = &p
			}
			cs[i] = c
		}
		v.Credentials = cs
	}
	v.Doors.Recent = slices.Clone(v.Doors.Recent)
	if v.Employee != nil {
		em := *v.Employee
		em.AccessLevels = slices.Clone(em.AccessLevels)
		v.Employee = &em
	}
	if v.Enrolment != nil {
		en := *v.Enrolment
		en.AccessLevels = slices.Clone(en.AccessLevels)
		v.Enrolment = &en
	}
	return v
}

// Scrub erases the personal data of v (visitor, host, watchlist reason) and
// marks it Scrubbed, keeping everything needed for an anonymised audit:
// IDs, location, type, states, times, badges, access levels.
func (v *Visit) Scrub() {
	v.Visitor = Visitor{}
	v.Host = ""
	if v.Watchlist != nil {
		v.Watchlist.Reason = ""
	}
	if v.State == Removed {
		v.EndReason = ""
	}
	v.Scrubbed = true
}

// Operator is who performs an operation: a front-desk user, a kiosk, a host.
// The VMS authenticates its users; the Engine checks what their user groups
// allow.
type Operator struct {
	// ID identifies the operator in the audit trail. Required.
	ID string `json:"id"`
	// Groups are the user groups the operator belongs to; Policy.OperatorGroups
	// says which access levels each may grant.
	Groups []string `json:"groups,omitempty"`
}

// Actors the Engine uses for what no operator did.
const (
	ActorSystem    = "system"    // the sweeper and the outbox worker
	ActorWatchlist = "watchlist" // a watchlist match
)

// Method says how a visitor signed out.
type Method string

// Sign-out methods.
const (
	ViaKiosk Method = "kiosk" // the visitor at a kiosk
	ViaDesk  Method = "desk"  // a receptionist
	ViaAuto  Method = "auto"  // the sweeper, after Policy.AutoSignOut
)
