package visitor

import (
	"context"
	"errors"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/badge"
)

// InviteRequest pre-registers a visit.
type InviteRequest struct {
	// VisitID is the caller's key for the visit (a valid ACS external ID);
	// empty to have one generated. Inviting again with the same key
	// returns the existing invitation.
	VisitID  string
	Location string
	// Type is the visitor type; empty means the policy's default.
	Type    string
	Visitor Visitor
	Host    string
	// ExpectedAt is the announced arrival. Required.
	ExpectedAt time.Time
	// Until optionally ends the access window (the meeting's end);
	// default ExpectedAt plus the type's access duration.
	Until time.Time
}

// SignInRequest signs a visitor in.
type SignInRequest struct {
	// VisitID names an invited visit, or is the caller's key for a walk-in
	// (empty to have one generated). Signing in again with the key of a
	// signed-in visit returns it unchanged.
	VisitID string
	// Location, Type, Visitor and Host describe a walk-in; for an invited
	// visit they are taken from the invitation (a different Location is
	// refused).
	Location string
	Type     string
	Visitor  Visitor
	Host     string
	// Provision, when set, provisions a credential right after the
	// sign-in, as Engine.Provision does, unless the visit already holds
	// one (a retried sign-in, or a credential issued before arrival).
	Provision *ProvisionRequest
}

// ProvisionRequest says which credential to issue and with which access
// levels.
type ProvisionRequest struct {
	// BadgeID is the scanned ID of the pool badge to hand out (scanner
	// input is accepted: a trailing CR/LF is removed). Empty means the
	// badge that has been available longest, unless FromRange is set.
	BadgeID string
	// FromRange issues a card number from the location's range (for a QR
	// code or a mobile credential) instead of a physical badge.
	FromRange bool
	// AccessLevels are the access level IDs to grant; empty means the
	// visitor type's defaults. Every level must be allowed by one of the
	// operator's groups and not forbidden to the type.
	AccessLevels []string
	// PIN issues a PIN code with the card (PINWithCard) or instead of it
	// (PINOnly). The PIN is returned once, so only Engine.ProvisionPIN
	// takes a PIN mode; Provision (and SignIn) refuse one.
	PIN PINMode
}

// newVisit validates what a new visit needs and returns it.
func (e *Engine) newVisit(op string, o Operator, id, location, typ string, p Visitor, host string, now time.Time) (Visit, *Location, VisitorType, error) {
	if err := validateOperator(op, o); err != nil {
		return Visit{}, nil, VisitorType{}, err
	}
	if id == "" {
		id = e.newID()
	}
	if err := acs.ValidateExternalID(id); err != nil {
		return Visit{}, nil, VisitorType{}, acs.Wrap(op, "", acs.InvalidArgument, err)
	}
	l := e.locs[location]
	if l == nil {
		return Visit{}, nil, VisitorType{}, refusal(op, acs.InvalidArgument, "location %.40q is not configured", location)
	}
	name, t, err := l.Policy.visitorType(typ)
	if err != nil {
		return Visit{}, nil, VisitorType{}, acs.Wrap(op, "", acs.InvalidArgument, err)
	}
	if err := validateVisitor(op, p, host); err != nil {
		return Visit{}, nil, VisitorType{}, err
	}
	return Visit{ID: id, Location: location, Type: name, Visitor: p, Host: host, CreatedAt: now}, l, t, nil
}

// screen runs the watchlist, if any, on v.
func (e *Engine) screen(ctx context.Context, op string, v Visit) (*WatchlistMatch, error) {
	if e.watch == nil {
		return nil, nil
	}
	m, err := e.watch.Screen(ctx, v)
	if err != nil {
		return nil, acs.Wrap(op, "", acs.Unavailable, err)
	}
	if m != nil && m.At.IsZero() {
		m.At = e.clock.Now()
	}
	return m, nil
}

// flag records a watchlist match on v.
func (r *run) flag(tx Tx, v *Visit, m *WatchlistMatch) error {
	if m == nil {
		return nil
	}
	v.Watchlist = m
	return r.audit(tx, v, AuditRecord{Action: ActWatchlist, Outcome: OutcomeOK, Reason: m.List + ": " + m.Reason})
}

// Invite pre-registers a visit. It starts Invited, or Expected when its
// advance-access window is already open; a credential may be provisioned
// for it before arrival (valid within the window). The watchlist screens
// the visitor; a match is recorded and refuses provisioning.
func (e *Engine) Invite(ctx context.Context, op Operator, req InviteRequest) (Visit, error) {
	ctx, span := e.startSpan(ctx, "visitor.invite", attrLocation.String(req.Location), attrOperator.String(op.ID))
	v, err := e.invite(ctx, op, req)
	return v, span.end(v.ID, err)
}

// invite is Invite without its span.
func (e *Engine) invite(ctx context.Context, op Operator, req InviteRequest) (Visit, error) {
	const opName = "invite"
	r := e.newRun(ctx, op.ID, true)
	base := AuditRecord{Action: ActInvite, VisitID: req.VisitID, Location: req.Location}
	v, l, t, err := e.newVisit(opName, op, req.VisitID, req.Location, req.Type, req.Visitor, req.Host, r.now)
	if err == nil {
		err = inviteWindow(opName, &v, req, t, &l.Policy, r.now)
	}
	var m *WatchlistMatch
	if err == nil {
		m, err = e.screen(ctx, opName, v)
	}
	if err != nil {
		e.refuse(r, base, err)
		return Visit{}, err
	}
	v.State = Invited
	if !r.now.Before(v.AccessFrom) {
		v.State = Expected
	}
	out, err := e.apply(r, opName, base, v.ID, &v, func(tx Tx, v *Visit) error {
		if err := r.audit(tx, v, AuditRecord{Action: ActInvite, From: "", Outcome: OutcomeOK}); err != nil {
			return err
		}
		return r.flag(tx, v, m)
	})
	if errors.Is(err, acs.ErrAlreadyExists) {
		cur, gerr := e.Visit(ctx, v.ID)
		if gerr == nil && (cur.State == Invited || cur.State == Expected) {
			return cur, nil
		}
		err = refusal(opName, acs.Conflict, "visit %s exists and is %s", v.ID, cur.State)
		e.refuse(r, base, err)
	}
	return out, err
}

func inviteWindow(op string, v *Visit, req InviteRequest, t VisitorType, p *Policy, now time.Time) error {
	if req.ExpectedAt.IsZero() {
		return refusal(op, acs.InvalidArgument, "invitation has no expected arrival")
	}
	until := req.Until
	if until.IsZero() {
		until = req.ExpectedAt.Add(t.duration())
	}
	from := req.ExpectedAt.Add(-t.AdvanceAccess)
	if !until.After(req.ExpectedAt) {
		return refusal(op, acs.InvalidArgument, "access window ends before the expected arrival")
	}
	if !until.After(now) {
		return refusal(op, acs.InvalidArgument, "access window is already over")
	}
	max := p.Rules.MaxValidity
	if max <= 0 {
		max = acs.DefaultMaxValidity
	}
	if d := until.Sub(from); d > max {
		return refusal(op, acs.InvalidArgument, "access window of %s is longer than the maximum %s", d, max)
	}
	v.ExpectedAt, v.AccessFrom, v.AccessUntil = req.ExpectedAt, from, until
	return nil
}

// SignIn signs a visitor in: an invited visit (by its ID) or a walk-in. Every
// sign-in is its own visit and its own cardholder at the ACS; nothing
// carries over from an earlier visit. The watchlist screens the visitor
// first; a match still signs the visitor in but refuses provisioning, and
// a watchlist error refuses the sign-in.
//
// With req.Provision set, a credential is provisioned right after the
// sign-in (see Provision). If that part is refused, the visitor stays
// signed in and SignIn returns the signed-in visit with the refusal.
func (e *Engine) SignIn(ctx context.Context, op Operator, req SignInRequest) (Visit, error) {
	ctx, span := e.startSpan(ctx, "visitor.sign_in", attrLocation.String(req.Location), attrOperator.String(op.ID))
	v, err := e.signIn(ctx, op, req)
	return v, span.end(v.ID, err)
}

// signIn is SignIn without its span.
func (e *Engine) signIn(ctx context.Context, op Operator, req SignInRequest) (Visit, error) {
	const opName = "sign_in"
	r := e.newRun(ctx, op.ID, true)
	base := AuditRecord{Action: ActSignIn, VisitID: req.VisitID, Location: req.Location}
	if err := validateOperator(opName, op); err != nil {
		e.refuse(r, base, err)
		return Visit{}, err
	}
	var v Visit
	var err error
	if req.VisitID != "" {
		v, err = e.store.Visit(ctx, req.VisitID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Visit{}, err
		}
	}
	if err == nil && v.ID != "" {
		v, err = e.signInExisting(r, opName, base, v, req)
	} else {
		v, err = e.signInWalkIn(r, opName, base, op, req)
	}
	if err != nil || req.Provision == nil || current(&v) >= 0 {
		return v, err // a retried sign-in finds the credential it provisioned
	}
	if rerr := e.notSynced(&v); rerr != nil {
		// The visitor type provisions invited visits only: the walk-in is
		// signed in with no ACS record, and the audit trail says why.
		e.refuse(r, AuditRecord{Action: ActProvision, VisitID: v.ID, Location: v.Location}, rerr)
		return v, nil
	}
	pv, err := e.Provision(ctx, op, v.ID, *req.Provision)
	if err != nil {
		return v, err
	}
	return pv, nil
}

// notSynced returns the refusal to provision v when its visitor type
// provisions invited visits only and v is a walk-in; nil otherwise.
func (e *Engine) notSynced(v *Visit) error {
	l := e.locs[v.Location]
	if l == nil || !v.WalkIn() {
		return nil
	}
	name, t, err := l.Policy.visitorType(v.Type)
	if err != nil || !t.InvitedOnly {
		return nil
	}
	return refusal("provision", acs.PermissionDenied,
		"visitor type %q provisions invited visitors only: walk-in visit %s gets no ACS record", name, v.ID)
}

func (e *Engine) signInWalkIn(r *run, opName string, base AuditRecord, op Operator, req SignInRequest) (Visit, error) {
	v, _, _, err := e.newVisit(opName, op, req.VisitID, req.Location, req.Type, req.Visitor, req.Host, r.now)
	var m *WatchlistMatch
	if err == nil {
		m, err = e.screen(r.ctx, opName, v)
	}
	if err != nil {
		e.refuse(r, base, err)
		return Visit{}, err
	}
	v.State, v.SignedInAt = SignedIn, r.now
	out, err := e.apply(r, opName, base, v.ID, &v, func(tx Tx, v *Visit) error {
		if err := r.audit(tx, v, AuditRecord{Action: ActSignIn, From: "", Outcome: OutcomeOK}); err != nil {
			return err
		}
		return r.flag(tx, v, m)
	})
	if errors.Is(err, acs.ErrAlreadyExists) { // created concurrently under the same key
		cur, gerr := e.store.Visit(r.ctx, v.ID)
		if gerr != nil {
			return Visit{}, storeErr(opName, gerr)
		}
		return e.signInExisting(r, opName, base, cur, req)
	}
	return out, err
}

func (e *Engine) signInExisting(r *run, opName string, base AuditRecord, v Visit, req SignInRequest) (Visit, error) {
	switch {
	case v.State == SignedIn:
		return v, nil
	case v.State.Ended():
		err := refusal(opName, acs.Conflict, "visit %s is %s; a new sign-in needs a new visit", v.ID, v.State)
		e.refuse(r, base, err)
		return Visit{}, err
	case req.Location != "" && req.Location != v.Location:
		err := refusal(opName, acs.InvalidArgument, "visit %s is invited at location %s, not %s", v.ID, v.Location, req.Location)
		e.refuse(r, base, err)
		return Visit{}, err
	}
	var m *WatchlistMatch
	if v.Watchlist == nil {
		var err error
		if m, err = e.screen(r.ctx, opName, v); err != nil {
			e.refuse(r, base, err)
			return Visit{}, err
		}
	}
	return e.apply(r, opName, base, v.ID, nil, func(tx Tx, v *Visit) error {
		switch {
		case v.State == SignedIn:
			return errUnchanged
		case v.State != Invited && v.State != Expected:
			return refusal(opName, acs.Conflict, "visit %s is %s; a new sign-in needs a new visit", v.ID, v.State)
		}
		from := v.State
		v.State, v.SignedInAt = SignedIn, r.now
		if err := r.audit(tx, v, AuditRecord{Action: ActSignIn, From: from, Outcome: OutcomeOK}); err != nil {
			return err
		}
		return r.flag(tx, v, m)
	})
}

// Provision issues a credential to an invited, expected or signed-in
// visit: the scanned pool badge, the next available one, or a card number
// from the range, with the requested access levels (or the type's
// defaults), valid from now for the type's access duration (no later than
// the automatic sign-out), or within the access window before sign-in.
//
// The badge is taken and the provision queued in one transaction, and then
// attempted at once. Refusals (PermissionDenied for a level the operator's
// groups do not allow, one forbidden to the type, or a watchlist match;
// Conflict for a badge that is not available or a visit that still holds
// one; InvalidArgument for bad input) change nothing and are audited. When
// the ACS is unreachable, Provision returns the visit with its credential
// CredPending and a nil error: the outbox worker retries. When the ACS
// refuses the grant, Provision returns the visit and the ACS error.
func (e *Engine) Provision(ctx context.Context, op Operator, visitID string, req ProvisionRequest) (Visit, error) {
	ctx, span := e.startSpan(ctx, "visitor.provision", attrOperator.String(op.ID))
	v, err := e.provision(ctx, op, visitID, req)
	return v, span.end(v.ID, err)
}

// provision is Provision without its span.
func (e *Engine) provision(ctx context.Context, op Operator, visitID string, req ProvisionRequest) (Visit, error) {
	const opName = "provision"
	r := e.newRun(ctx, op.ID, true)
	base := AuditRecord{Action: ActProvision, VisitID: visitID, BadgeID: req.BadgeID, AccessLevels: req.AccessLevels}
	err := validateOperator(opName, op)
	if err == nil && req.PIN != PINNone {
		err = refusal(opName, acs.InvalidArgument, "a PIN is returned once: request it with ProvisionPIN")
	}
	if err == nil && req.BadgeID != "" {
		if req.FromRange {
			err = refusal(opName, acs.InvalidArgument, "a badge ID and a card from the range were both requested")
		} else if req.BadgeID, err = badge.ParseScan(req.BadgeID); err != nil {
			err = acs.Wrap(opName, "", acs.InvalidArgument, err)
		}
	}
	if err != nil {
		e.refuse(r, base, err)
		return Visit{}, err
	}
	base.BadgeID = req.BadgeID
	return e.apply(r, opName, base, visitID, nil, func(tx Tx, v *Visit) error {
		return r.provision(tx, v, op, req)
	})
}

func (r *run) provision(tx Tx, v *Visit, op Operator, req ProvisionRequest) error {
	const opName = "provision"
	switch v.State {
	case Invited, Expected, SignedIn:
	default:
		return refusal(opName, acs.Conflict, "visit %s is %s", v.ID, v.State)
	}
	if v.Watchlist != nil {
		return refusal(opName, acs.PermissionDenied, "visit %s matched watchlist %q; no credential may be issued", v.ID, v.Watchlist.List)
	}
	if c := v.Current(); c != nil && (!c.Status.Done() || c.Holding()) {
		what := "a credential"
		if c.BadgeID != "" {
			what = "badge " + c.BadgeID
		}
		return refusal(opName, acs.Conflict, "visit %s still holds %s (%s); return it first", v.ID, what, c.Status)
	}
	pol := &r.loc.Policy
	typeName, t, err := pol.visitorType(v.Type)
	if err != nil {
		return acs.Wrap(opName, "", acs.InvalidArgument, err)
	}
	if err := r.e.notSynced(v); err != nil {
		return err
	}
	levels, err := pol.checkGrant(op, typeName, t, req.AccessLevels)
	if err != nil {
		return err
	}
	from, until := v.AccessFrom, v.AccessUntil
	if v.State == SignedIn {
		from, until = r.now, r.now.Add(t.duration())
		if pol.AutoSignOut > 0 {
			until = minTime(until, v.SignedInAt.Add(pol.AutoSignOut))
		}
	}
	if !until.After(r.now) || !until.After(from) {
		return refusal(opName, acs.Conflict, "visit %s has no access time left", v.ID)
	}
	c := Credential{
		AccessLevels: levels, ValidFrom: from, ValidUntil: until, Status: CredPending,
		IssuedBy: op.ID, IssuedAt: r.now,
	}
	if req.FromRange {
		a, err := tx.Cards().Allocate(r.ctx, v.Location, v.ID, r.now)
		if err != nil {
			return badgeErr(opName, err)
		}
		c.Source, c.Card, c.CredentialType = FromRange, a.Card, r.loc.CredentialType
	} else {
		b, err := tx.Badges().Acquire(r.ctx, v.Location, req.BadgeID, v.ID, r.now)
		if err != nil {
			return badgeErr(opName, err)
		}
		if b.Card.IsZero() {
			return refusal(opName, acs.InvalidArgument, "badge %s has no card data; register its format and card number", b.ID)
		}
		c.Source, c.BadgeID, c.Card, c.CredentialType = FromPool, b.ID, b.Card, b.CredentialType
	}
	g := acs.Grant{
		Person: acs.Person{
			ExternalID: v.ID, FirstName: v.Visitor.FirstName, LastName: v.Visitor.LastName,
			Email: v.Visitor.Email, Company: v.Visitor.Company,
		},
		Card: c.Card, CredentialType: c.CredentialType, AccessLevels: levels,
		ValidFrom: from, ValidUntil: until,
	}
	if err := acs.ValidateGrant(g, pol.Rules); err != nil {
		return acs.Wrap(opName, "", acs.InvalidArgument, err)
	}
	c.Ref = acs.CredentialRef{CardholderExternalID: v.ID, Card: c.Card}
	v.Credentials = append(v.Credentials, c)
	i := len(v.Credentials) - 1
	if err := r.audit(tx, v, credAudit(AuditRecord{Action: ActProvision, Outcome: OutcomeQueued}, &v.Credentials[i])); err != nil {
		return err
	}
	return r.enqueue(tx, v, OutboxItem{Op: OpProvision, Credential: i, Grant: &g})
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// current returns the index of v's current credential if the visit still
// holds it (not done, or done but its badge not yet back), or -1.
func current(v *Visit) int {
	if i := v.currentIndex(); i >= 0 {
		if c := &v.Credentials[i]; !c.Lost && (!c.Status.Done() || c.Holding()) {
			return i
		}
	}
	return -1
}

// ReturnBadge takes the visit's credential back while the visitor stays
// signed in: the credential is revoked, and the badge goes back to the pool
// (or the number to the range) once the ACS confirms the revocation. A
// visit without a credential to return is a Conflict.
func (e *Engine) ReturnBadge(ctx context.Context, op Operator, visitID string) (Visit, error) {
	ctx, span := e.startSpan(ctx, "visitor.return_badge", attrOperator.String(op.ID))
	v, err := e.returnBadge(ctx, op, visitID)
	return v, span.end(v.ID, err)
}

// returnBadge is ReturnBadge without its span.
func (e *Engine) returnBadge(ctx context.Context, op Operator, visitID string) (Visit, error) {
	const opName = "return_badge"
	r := e.newRun(ctx, op.ID, true)
	base := AuditRecord{Action: ActReturnBadge, VisitID: visitID}
	if err := validateOperator(opName, op); err != nil {
		e.refuse(r, base, err)
		return Visit{}, err
	}
	return e.apply(r, opName, base, visitID, nil, func(tx Tx, v *Visit) error {
		i := current(v)
		if i < 0 || v.State.Ended() {
			return refusal(opName, acs.Conflict, "visit %s (%s) holds no credential to return", v.ID, v.State)
		}
		if err := r.endCredential(tx, v, i, true); err != nil {
			return err
		}
		if err := r.endCompanionPIN(tx, v, i); err != nil {
			return err
		}
		c := &v.Credentials[i]
		out := OutcomeQueued
		if c.Status.Done() {
			out = OutcomeOK
		}
		return r.audit(tx, v, credAudit(AuditRecord{Action: ActReturnBadge, Outcome: out}, c))
	})
}

// ReportBadgeLost records that the visit's pool badge is lost: the badge is
// marked Lost at once (it is never handed out again until found) and its
// credential is revoked. The visitor's state does not change.
func (e *Engine) ReportBadgeLost(ctx context.Context, op Operator, visitID string) (Visit, error) {
	ctx, span := e.startSpan(ctx, "visitor.badge_lost", attrOperator.String(op.ID))
	v, err := e.reportBadgeLost(ctx, op, visitID)
	return v, span.end(v.ID, err)
}

// reportBadgeLost is ReportBadgeLost without its span.
func (e *Engine) reportBadgeLost(ctx context.Context, op Operator, visitID string) (Visit, error) {
	const opName = "badge_lost"
	r := e.newRun(ctx, op.ID, true)
	base := AuditRecord{Action: ActBadgeLost, VisitID: visitID}
	if err := validateOperator(opName, op); err != nil {
		e.refuse(r, base, err)
		return Visit{}, err
	}
	return e.apply(r, opName, base, visitID, nil, func(tx Tx, v *Visit) error {
		i := current(v)
		if i < 0 || v.Credentials[i].Source != FromPool || !v.Credentials[i].Holding() {
			return refusal(opName, acs.Conflict, "visit %s holds no badge", v.ID)
		}
		c := &v.Credentials[i]
		if _, err := tx.Badges().SetState(r.ctx, v.Location, c.BadgeID, badge.Lost, r.now); err != nil {
			return badgeErr(opName, err)
		}
		c.Lost = true
		if err := r.endCredential(tx, v, i, false); err != nil {
			return err
		}
		return r.audit(tx, v, credAudit(AuditRecord{Action: ActBadgeLost, Outcome: OutcomeOK}, c))
	})
}

// SignOut signs a visitor out (at a kiosk, by a receptionist, or
// automatically): every credential is revoked and its badge goes back to
// the pool once the ACS confirms. When the visitor type says so
// (VisitorType.SignOut is SignOutRemove), the cardholder is removed at the
// ACS at once instead, with every credential, and the badges go back once
// the ACS confirms the removal. Signing out an ended visit changes
// nothing and returns it; an invited or expected visit is a Conflict.
func (e *Engine) SignOut(ctx context.Context, op Operator, visitID string, via Method) (Visit, error) {
	ctx, span := e.startSpan(ctx, "visitor.sign_out", attrOperator.String(op.ID))
	v, err := e.signOut(ctx, op, visitID, via)
	return v, span.end(v.ID, err)
}

// signOut is SignOut without its span.
func (e *Engine) signOut(ctx context.Context, op Operator, visitID string, via Method) (Visit, error) {
	const opName = "sign_out"
	r := e.newRun(ctx, op.ID, true)
	base := AuditRecord{Action: ActSignOut, VisitID: visitID, Reason: string(via)}
	err := validateOperator(opName, op)
	if err == nil && via != ViaKiosk && via != ViaDesk && via != ViaAuto {
		err = refusal(opName, acs.InvalidArgument, "unknown sign-out method %.40q", via)
	}
	if err != nil {
		e.refuse(r, base, err)
		return Visit{}, err
	}
	return e.apply(r, opName, base, visitID, nil, func(tx Tx, v *Visit) error {
		switch {
		case v.State.Ended():
			return errUnchanged
		case v.State != SignedIn:
			return refusal(opName, acs.Conflict, "visit %s is %s, not signed in", v.ID, v.State)
		}
		return r.signOut(tx, v, via)
	})
}

func (r *run) signOut(tx Tx, v *Visit, via Method) error {
	rec := AuditRecord{Action: ActSignOut, Outcome: OutcomeOK, Reason: string(via)}
	name, t, err := r.loc.Policy.visitorType(v.Type)
	if err != nil || t.SignOut != SignOutRemove || v.CardholderRemoval {
		// A type no longer in the policy signs out the default way: a
		// sign-out is never refused for it.
		return r.end(tx, v, SignedOut, string(via), rec)
	}
	rec.From, rec.To = v.State, SignedOut
	v.State, v.EndedAt, v.EndedBy, v.EndReason = SignedOut, r.now, r.actor, string(via)
	if err := r.audit(tx, v, rec); err != nil {
		return err
	}
	if len(v.Credentials) == 0 {
		return nil // nothing was ever sent to the ACS
	}
	if err := r.audit(tx, v, AuditRecord{Action: ActACSRemove, Outcome: OutcomeQueued,
		Reason: "visitor type " + name + " removes the cardholder at sign-out"}); err != nil {
		return err
	}
	return r.removeAtACS(tx, v)
}

// Remove ends a visit at once on security's decision: everything the visit
// holds at the ACS is removed in one operation and the reason recorded.
// Only operators in one of the policy's SecurityGroups may remove
// (PermissionDenied otherwise, audited). An ended visit is a Conflict.
func (e *Engine) Remove(ctx context.Context, op Operator, visitID, reason string) (Visit, error) {
	ctx, span := e.startSpan(ctx, "visitor.remove", attrOperator.String(op.ID))
	v, err := e.remove(ctx, op, visitID, reason)
	return v, span.end(v.ID, err)
}

// remove is Remove without its span.
func (e *Engine) remove(ctx context.Context, op Operator, visitID, reason string) (Visit, error) {
	const opName = "remove"
	r := e.newRun(ctx, op.ID, true)
	base := AuditRecord{Action: ActRemove, VisitID: visitID, Reason: reason}
	err := validateOperator(opName, op)
	if err == nil {
		if reason == "" {
			err = refusal(opName, acs.InvalidArgument, "a removal needs a reason")
		} else if verr := acs.ValidateText("reason", reason, 500); verr != nil {
			err = acs.Wrap(opName, "", acs.InvalidArgument, verr)
		}
	}
	if err != nil {
		e.refuse(r, base, err)
		return Visit{}, err
	}
	return e.apply(r, opName, base, visitID, nil, func(tx Tx, v *Visit) error {
		if !r.loc.Policy.mayRemove(op) {
			return refusal(opName, acs.PermissionDenied, "operator %s is in no security group and may not remove visitors", op.ID)
		}
		if v.State.Ended() {
			return refusal(opName, acs.Conflict, "visit %s already ended (%s)", v.ID, v.State)
		}
		return r.remove(tx, v, reason)
	})
}

// ReportWatchlistMatch records a watchlist match found after check-in (or
// invitation) and removes the visitor as Remove does, on behalf of
// ActorWatchlist. For an ended visit the match is only recorded.
func (e *Engine) ReportWatchlistMatch(ctx context.Context, visitID string, m WatchlistMatch) (Visit, error) {
	ctx, span := e.startSpan(ctx, "visitor.watchlist")
	v, err := e.reportWatchlistMatch(ctx, visitID, m)
	return v, span.end(v.ID, err)
}

// reportWatchlistMatch is ReportWatchlistMatch without its span.
func (e *Engine) reportWatchlistMatch(ctx context.Context, visitID string, m WatchlistMatch) (Visit, error) {
	const opName = "watchlist"
	r := e.newRun(ctx, ActorWatchlist, true)
	base := AuditRecord{Action: ActWatchlist, VisitID: visitID}
	if m.List == "" {
		err := refusal(opName, acs.InvalidArgument, "watchlist match names no list")
		e.refuse(r, base, err)
		return Visit{}, err
	}
	if m.At.IsZero() {
		m.At = r.now
	}
	return e.apply(r, opName, base, visitID, nil, func(tx Tx, v *Visit) error {
		mm := m
		if err := r.flag(tx, v, &mm); err != nil {
			return err
		}
		if v.State.Ended() {
			return nil
		}
		return r.remove(tx, v, "watchlist "+m.List)
	})
}
