package visitor

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/badge"
)

// PINMode says whether a provision issues a PIN code (ProvisionRequest.PIN).
// The string values are stable.
type PINMode string

// PIN modes.
const (
	// PINNone issues no PIN (the default).
	PINNone PINMode = ""
	// PINWithCard issues a PIN alongside the card: the card is
	// provisioned, then the PIN.
	PINWithCard PINMode = "with_card"
	// PINOnly issues a PIN instead of a card.
	PINOnly PINMode = "only"
)

// FromPIN is the Source of a PIN credential: no badge or card number, a
// code the visitor enters at keypad readers.
const FromPIN Source = "pin"

// DefaultPINLength is the length of generated PINs when PINPolicy.Length
// is zero (and the ACS takes it).
const DefaultPINLength = 6

// Outbox operations of PIN credentials.
const (
	OpProvisionPIN Op = "provision_pin" // acs.PINIssuer.ProvisionPIN(PINGrant, with the sealed PIN)
	OpRevokePIN    Op = "revoke_pin"    // acs.PINIssuer.RevokePIN(Ref)
)

// PINPolicy is a location's PIN setting (Policy.PIN).
type PINPolicy struct {
	// Enabled is the location's "PIN code credentials" check-box: PINs
	// may be issued there. New refuses it for a provider without
	// acs.PINIssuer or an Engine without WithPINKey.
	Enabled bool `json:"enabled,omitempty"`
	// Length is the number of digits of generated PINs: 0 means
	// DefaultPINLength, brought within what the ACS takes; otherwise it
	// must lie within acs.MinPINLen–acs.MaxPINLen and the ACS's limits.
	Length int `json:"length,omitempty"`
}

// PINInfo is what a visit keeps of a PIN it was issued: never the digits.
type PINInfo struct {
	// Tag is the PIN's keyed hash (HMAC-SHA-256 under the Engine's PIN
	// key, with the location), in hex: what makes PINs unique among the
	// live PINs of a location (PINTx) and frees the PIN once revoked.
	Tag string `json:"tag"`
	// Length is the number of digits.
	Length int `json:"length"`
	// WithCard is set when the PIN was issued alongside the card
	// credential just before it in Visit.Credentials; that card stays the
	// visit's current credential, and returning it revokes the PIN too.
	WithCard bool `json:"with_card,omitempty"`
}

// PINTx is implemented by the Tx of stores that keep the tags of live
// PINs, so that no two live PINs of a location are the same. MemoryStore
// and package sqlstore implement it; an Engine over a store without it
// issues no PINs.
type PINTx interface {
	// ClaimPINTag records tag as live at location for the transaction's
	// visit. A tag already claimed, by any visit, is ErrExists.
	ClaimPINTag(location, tag string) error
	// ReleasePINTag frees the tag when the transaction's visit holds it;
	// otherwise it does nothing.
	ReleasePINTag(location, tag string) error
}

// pinConfig is the Engine's PIN key material and generator.
type pinConfig struct {
	// sealKeys open sealed PINs, the current key first; tagKey hashes.
	sealKeys [][]byte
	tagKey   []byte
	// gen generates a PIN of n digits (a test hook).
	gen func(n int) (acs.PIN, error)
}

// WithPINKey gives the Engine the secret that protects PINs in the store:
// at least 32 bytes the VMS keeps outside the database (a secrets manager,
// a KMS-unwrapped key). Keys derived from it seal the PIN in the outbox
// item that sends it to the ACS (AES-256-GCM), so that any Engine with the
// key re-sends the same PIN after a crash or an outage, and hash it into
// the tag that keeps live PINs unique. older keys still open PINs sealed
// before a rotation; tags are made with the current key only, so until the
// PINs issued before a rotation end (their windows are bounded by the
// policy's Rules), a new PIN is checked against those issued since (and
// against the ACS, where it refuses a PIN it holds). Without this option
// the Engine issues no PINs.
func WithPINKey(key []byte, older ...[]byte) Option {
	return func(e *Engine) {
		e.pins.sealKeys, e.pins.tagKey = nil, nil
		for i, k := range append([][]byte{key}, older...) {
			if len(k) < 32 {
				e.pins.sealKeys = nil
				e.pins.tagKey = []byte{} // refused by checkPINs
				return
			}
			e.pins.sealKeys = append(e.pins.sealKeys, derive(k, "acsbridge/visitor PIN seal v1"))
			if i == 0 {
				e.pins.tagKey = derive(k, "acsbridge/visitor PIN tag v1")
			}
		}
	}
}

func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// checkPINs refuses, at New, a location whose policy enables PINs that
// cannot be issued: no key, a provider without acs.PINIssuer, a length
// the ACS does not take.
func (e *Engine) checkPINs() error {
	if e.pins.tagKey != nil && len(e.pins.tagKey) == 0 {
		return errors.New("visitor: WithPINKey needs keys of at least 32 bytes")
	}
	if e.pins.gen == nil {
		e.pins.gen = generatePIN
	}
	for _, l := range e.locs {
		pp := l.Policy.PIN
		if pp.Length != 0 && (pp.Length < acs.MinPINLen || pp.Length > acs.MaxPINLen) {
			return fmt.Errorf("visitor: location %s: PIN length %d is outside %d–%d", l.ID, pp.Length, acs.MinPINLen, acs.MaxPINLen)
		}
		if !pp.Enabled {
			continue
		}
		if e.pins.tagKey == nil {
			return fmt.Errorf("visitor: location %s issues PINs but the Engine has no PIN key (WithPINKey)", l.ID)
		}
		pi, ok := l.Provider.(acs.PINIssuer)
		if !ok {
			return fmt.Errorf("visitor: location %s issues PINs but its ACS (%s) has no keypad credentials (acs.PINIssuer)", l.ID, l.Provider.Name())
		}
		if s := pi.PINSupport(); pp.Length != 0 && (pp.Length < s.MinLen || pp.Length > s.MaxLen) {
			return fmt.Errorf("visitor: location %s: PIN length %d is outside the %d–%d digits %s takes", l.ID, pp.Length, s.MinLen, s.MaxLen, l.Provider.Name())
		}
	}
	return nil
}

// pinLength is the length of PINs generated for l.
func pinLength(l *Location, s acs.PINSupport) int {
	if n := l.Policy.PIN.Length; n != 0 {
		return n
	}
	return min(max(DefaultPINLength, s.MinLen), s.MaxLen)
}

// ProvisionPIN issues a credential with a PIN code, alongside a card
// (req.PIN PINWithCard: the badge or range card of req, provisioned as
// Provision does, then the PIN) or instead of one (PINOnly). It returns
// the visit and the PIN, which the VMS hands to the visitor: this is the
// only time the PIN leaves the Engine. The store keeps a keyed hash of it
// and, until the ACS confirms, a sealed copy in the outbox (see the
// package documentation, "PIN codes").
//
// The PIN is generated by the location's policy: PINPolicy.Length digits
// (DefaultPINLength), never starting with 0, never trivial (one digit
// repeated, a run such as 1234 or 9876 or any constant step, a repeated
// pattern such as 1212 or 123123), and unique among the live PINs of the
// location. It opens the credential's access levels within its window and
// is revoked with it (return, sign-out, expiry, removal), through the
// outbox like every ACS operation.
//
// Refusals are those of Provision, plus: InvalidArgument for a request
// without a PIN mode (or a PIN-only request naming a badge or the range);
// PermissionDenied when the location's policy does not enable PINs;
// Unsupported when the Engine has no PIN key, the store keeps no PIN tags,
// or the location's ACS cannot issue the PIN (no acs.PINIssuer, or a
// PIN-only request to an ACS that keeps PINs on cards), before any ACS
// call. When the ACS is unreachable the visit returns with its PIN
// credential CredPending, the PIN and a nil error; when the ACS refuses
// it, the visit, a zero PIN and the ACS error (never quoting the PIN).
func (e *Engine) ProvisionPIN(ctx context.Context, op Operator, visitID string, req ProvisionRequest) (Visit, acs.PIN, error) {
	ctx, span := e.startSpan(ctx, "visitor.provision_pin", attrOperator.String(op.ID))
	v, pin, err := e.provisionPIN(ctx, op, visitID, req)
	return v, pin, span.end(v.ID, err)
}

// provisionPIN is ProvisionPIN without its span.
func (e *Engine) provisionPIN(ctx context.Context, op Operator, visitID string, req ProvisionRequest) (Visit, acs.PIN, error) {
	const opName = "provision"
	r := e.newRun(ctx, op.ID, true)
	base := AuditRecord{Action: ActProvision, VisitID: visitID, BadgeID: req.BadgeID, AccessLevels: req.AccessLevels, Card: "PIN"}
	pi, err := e.checkPINRequest(ctx, opName, op, visitID, &req)
	if err != nil {
		e.refuse(r, base, err)
		return Visit{}, acs.PIN{}, err
	}
	base.BadgeID = req.BadgeID
	var pin acs.PIN
	v, err := e.apply(r, opName, base, visitID, nil, func(tx Tx, v *Visit) error {
		var err error
		pin, err = r.provisionPIN(tx, v, op, req, pi)
		return err
	})
	if v.ID == "" {
		return Visit{}, acs.PIN{}, err
	}
	if err == nil && req.PIN == PINWithCard {
		v, err = e.attemptPIN(ctx, op.ID, v)
	}
	if c := pinCredential(&v); c == nil || !c.Status.Live() {
		return v, acs.PIN{}, err
	}
	return v, pin, err
}

// checkPINRequest refuses, before any transaction or ACS call, a PIN
// request the Engine, the policy or the ACS cannot serve.
func (e *Engine) checkPINRequest(ctx context.Context, opName string, op Operator, visitID string, req *ProvisionRequest) (acs.PINIssuer, error) {
	if err := validateOperator(opName, op); err != nil {
		return nil, err
	}
	switch {
	case req.PIN != PINWithCard && req.PIN != PINOnly:
		return nil, refusal(opName, acs.InvalidArgument, "ProvisionPIN needs a PIN mode (%q or %q), got %.20q", PINWithCard, PINOnly, req.PIN)
	case req.PIN == PINOnly && (req.BadgeID != "" || req.FromRange):
		return nil, refusal(opName, acs.InvalidArgument, "a PIN-only credential takes no badge or card number")
	case req.BadgeID != "" && req.FromRange:
		return nil, refusal(opName, acs.InvalidArgument, "a badge ID and a card from the range were both requested")
	case e.pins.tagKey == nil:
		return nil, refusal(opName, acs.Unsupported, "this engine issues no PINs: it has no PIN key (WithPINKey)")
	}
	if req.BadgeID != "" {
		id, err := badge.ParseScan(req.BadgeID)
		if err != nil {
			return nil, acs.Wrap(opName, "", acs.InvalidArgument, err)
		}
		req.BadgeID = id
	}
	v, err := e.store.Visit(ctx, visitID)
	if err != nil {
		return nil, storeErr(opName, err)
	}
	l := e.locs[v.Location]
	if l == nil {
		return nil, refusal(opName, acs.Unsupported, "location %q of visit %s is not configured on this engine", v.Location, v.ID)
	}
	pi, ok := l.Provider.(acs.PINIssuer)
	if !ok {
		return nil, refusal(opName, acs.Unsupported, "the ACS of location %s (%s) has no keypad credentials", l.ID, l.Provider.Name())
	}
	if !l.Policy.PIN.Enabled {
		return nil, refusal(opName, acs.PermissionDenied, "location %s does not issue PIN codes (Policy.PIN)", l.ID)
	}
	if req.PIN == PINOnly && !pi.PINSupport().Standalone {
		return nil, refusal(opName, acs.Unsupported, "the ACS of location %s (%s) keeps a PIN on a card: issue the PIN with a card", l.ID, l.Provider.Name())
	}
	return pi, nil
}

// provisionPIN is ProvisionPIN's transaction: the card (as Provision)
// when the PIN goes with one, then the PIN credential, its tag claimed and
// its provision queued with the PIN sealed. It returns the new PIN.
func (r *run) provisionPIN(tx Tx, v *Visit, op Operator, req ProvisionRequest, pi acs.PINIssuer) (acs.PIN, error) {
	const opName = "provision"
	ptx, ok := tx.(PINTx)
	if !ok {
		return acs.PIN{}, refusal(opName, acs.Unsupported, "the store keeps no PIN tags (visitor.PINTx)")
	}
	var c Credential
	var card acs.Card
	if req.PIN == PINWithCard {
		if err := r.provision(tx, v, op, req); err != nil {
			return acs.PIN{}, err
		}
		cc := v.Current()
		card = cc.Card
		c = Credential{AccessLevels: slices.Clone(cc.AccessLevels), ValidFrom: cc.ValidFrom, ValidUntil: cc.ValidUntil}
	} else {
		levels, from, until, err := r.pinOnlyGrant(v, op, req)
		if err != nil {
			return acs.PIN{}, err
		}
		c = Credential{AccessLevels: levels, ValidFrom: from, ValidUntil: until}
	}
	pin, tag, err := r.newPIN(ptx, v, pinLength(r.loc, pi.PINSupport()))
	if err != nil {
		return acs.PIN{}, err
	}
	c.Source, c.Status, c.IssuedBy, c.IssuedAt = FromPIN, CredPending, op.ID, r.now
	c.Ref = acs.CredentialRef{CardholderExternalID: v.ID}
	c.PIN = &PINInfo{Tag: tag, Length: pin.Len(), WithCard: req.PIN == PINWithCard}
	g := acs.PINGrant{
		Person: acs.Person{
			ExternalID: v.ID, FirstName: v.Visitor.FirstName, LastName: v.Visitor.LastName,
			Email: v.Visitor.Email, Company: v.Visitor.Company,
		},
		Card: card, AccessLevels: slices.Clone(c.AccessLevels), ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil,
	}
	withPIN := g
	withPIN.PIN = pin
	if err := acs.ValidatePINGrant(withPIN, r.loc.Policy.Rules); err != nil {
		return acs.PIN{}, acs.Wrap(opName, "", acs.InvalidArgument, err)
	}
	if err := pi.PINSupport().Check(withPIN); err != nil {
		return acs.PIN{}, acs.Wrap(opName, "", acs.CodeOf(err), err)
	}
	v.Credentials = append(v.Credentials, c)
	i := len(v.Credentials) - 1
	sealed, err := r.e.sealPIN(pin, v, i)
	if err != nil {
		return acs.PIN{}, err
	}
	if err := r.audit(tx, v, credAudit(AuditRecord{Action: ActProvision, Outcome: OutcomeQueued}, &v.Credentials[i])); err != nil {
		return acs.PIN{}, err
	}
	return pin, r.enqueue(tx, v, OutboxItem{Op: OpProvisionPIN, Credential: i, PINGrant: &g, SealedPIN: sealed})
}

// pinOnlyGrant checks a PIN-only provision as Provision checks a card's
// (state, watchlist, a credential still held, type, synced, levels) and
// returns its levels and window.
func (r *run) pinOnlyGrant(v *Visit, op Operator, req ProvisionRequest) (levels []string, from, until time.Time, err error) {
	const opName = "provision"
	switch v.State {
	case Invited, Expected, SignedIn:
	default:
		return nil, from, until, refusal(opName, acs.Conflict, "visit %s is %s", v.ID, v.State)
	}
	if v.Watchlist != nil {
		return nil, from, until, refusal(opName, acs.PermissionDenied, "visit %s matched watchlist %q; no credential may be issued", v.ID, v.Watchlist.List)
	}
	if c := v.Current(); c != nil && (!c.Status.Done() || c.Holding()) {
		return nil, from, until, refusal(opName, acs.Conflict, "visit %s still holds a credential (%s); return it first", v.ID, c.Status)
	}
	pol := &r.loc.Policy
	typeName, t, err := pol.visitorType(v.Type)
	if err != nil {
		return nil, from, until, acs.Wrap(opName, "", acs.InvalidArgument, err)
	}
	if err := r.e.notSynced(v); err != nil {
		return nil, from, until, err
	}
	if levels, err = pol.checkGrant(op, typeName, t, req.AccessLevels); err != nil {
		return nil, from, until, err
	}
	from, until = v.AccessFrom, v.AccessUntil
	if v.State == SignedIn {
		from, until = r.now, r.now.Add(t.duration())
		if pol.AutoSignOut > 0 {
			until = minTime(until, v.SignedInAt.Add(pol.AutoSignOut))
		}
	}
	if !until.After(r.now) || !until.After(from) {
		return nil, from, until, refusal(opName, acs.Conflict, "visit %s has no access time left", v.ID)
	}
	return levels, from, until, nil
}

// maxPINTries bounds how many PINs are generated before a provision gives
// up finding one not live at the location.
const maxPINTries = 20

// newPIN generates a PIN of n digits that is not trivial and claims its
// tag among the live PINs of v's location, trying again on a collision.
func (r *run) newPIN(ptx PINTx, v *Visit, n int) (acs.PIN, string, error) {
	for range maxPINTries {
		pin, err := r.e.pins.gen(n)
		if err != nil {
			return acs.PIN{}, "", acs.Wrap("provision", "", acs.Unavailable, err)
		}
		if pin.Len() != n || trivialPIN(pin.Reveal()) {
			continue
		}
		tag := r.e.pinTag(v.Location, pin)
		switch err := ptx.ClaimPINTag(v.Location, tag); {
		case err == nil:
			return pin, tag, nil
		case !errors.Is(err, ErrExists):
			return acs.PIN{}, "", err
		}
	}
	return acs.PIN{}, "", refusal("provision", acs.Conflict, "no unused PIN of %d digits found at location %s after %d tries", n, v.Location, maxPINTries)
}

// generatePIN returns n random digits, the first not 0.
func generatePIN(n int) (acs.PIN, error) {
	b := make([]byte, n)
	for i := range b {
		lo := int64(0)
		if i == 0 {
			lo = 1
		}
		d, err := rand.Int(rand.Reader, big.NewInt(10-lo))
		if err != nil {
			return acs.PIN{}, err
		}
		b[i] = byte('0' + lo + d.Int64())
	}
	return acs.ParsePIN(string(b))
}

// trivialPIN reports a PIN that is easy to guess: a leading 0 (an ACS
// that stores PINs as numbers would drop it), digits in a constant step
// (1111, 1234, 9876, 2468, 8901: steps counted modulo 10), or a repeated
// pattern (1212, 123123, 12121).
func trivialPIN(s string) bool {
	if len(s) < 2 || s[0] == '0' {
		return true
	}
	step := (int(s[1]) - int(s[0]) + 10) % 10
	constant := true
	for i := 2; i < len(s) && constant; i++ {
		constant = (int(s[i])-int(s[i-1])+10)%10 == step
	}
	if constant {
		return true
	}
	for p := 1; p <= len(s)/2; p++ {
		periodic := true
		for i := p; i < len(s) && periodic; i++ {
			periodic = s[i] == s[i-p]
		}
		if periodic {
			return true
		}
	}
	return false
}

// pinTag is the keyed hash of pin at location, in hex (128 bits).
func (e *Engine) pinTag(location string, pin acs.PIN) string {
	m := hmac.New(sha256.New, e.pins.tagKey)
	m.Write([]byte(location))
	m.Write([]byte{0})
	m.Write([]byte(pin.Reveal()))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// pinAAD binds a sealed PIN to its visit, location and credential, so that
// it cannot be moved to another outbox item.
func pinAAD(visitID, location string, i int) []byte {
	return []byte("acsbridge/visitor PIN\x00" + visitID + "\x00" + location + "\x00" + strconv.Itoa(i))
}

// sealPIN encrypts pin for credential i of v with the current key:
// version byte 1, a random 12-byte nonce, then AES-256-GCM's output.
func (e *Engine) sealPIN(pin acs.PIN, v *Visit, i int) ([]byte, error) {
	gcm, err := newGCM(e.pins.sealKeys[0])
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+gcm.NonceSize(), 1+gcm.NonceSize()+pin.Len()+gcm.Overhead())
	out[0] = 1
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	return gcm.Seal(out, out[1:], []byte(pin.Reveal()), pinAAD(v.ID, v.Location, i)), nil
}

// unsealPIN opens the PIN of an OpProvisionPIN item with any of the
// Engine's keys. An Engine without the key that sealed it cannot: that is
// Unavailable (another replica may have it; the item is retried until its
// window ends).
func (e *Engine) unsealPIN(it OutboxItem) (acs.PIN, error) {
	s := it.SealedPIN
	for _, k := range e.pins.sealKeys {
		gcm, err := newGCM(k)
		if err != nil || len(s) < 1+gcm.NonceSize() || s[0] != 1 {
			break
		}
		plain, err := gcm.Open(nil, s[1:1+gcm.NonceSize()], s[1+gcm.NonceSize():], pinAAD(it.VisitID, it.Location, it.Credential))
		if err == nil {
			return acs.ParsePIN(string(plain))
		}
	}
	return acs.PIN{}, acs.Errorf(string(OpProvisionPIN), "", acs.Unavailable,
		"this engine cannot open the sealed PIN: it has no PIN key or not the one that sealed it (WithPINKey)")
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// callPIN makes the ACS call of a PIN outbox item: the PIN unsealed into
// the grant of a provision, or the revocation. Errors never quote the
// PIN.
func (e *Engine) callPIN(ctx context.Context, l *Location, it OutboxItem) (acs.Provisioned, error) {
	pi, ok := l.Provider.(acs.PINIssuer)
	if !ok {
		return acs.Provisioned{}, acs.Errorf(string(it.Op), l.Provider.Name(), acs.Unsupported, "the ACS of location %s has no keypad credentials", l.ID)
	}
	if it.Op == OpRevokePIN {
		return acs.Provisioned{}, pi.RevokePIN(ctx, *it.Ref)
	}
	pin, err := e.unsealPIN(it)
	if err != nil {
		return acs.Provisioned{}, err
	}
	g := *it.PINGrant
	g.PIN = pin
	p, err := pi.ProvisionPIN(ctx, g)
	return p, acs.RedactPIN(err, pin)
}

// attemptPIN attempts at once the PIN provision ProvisionPIN queued behind
// its card, once the card is confirmed: the queued item is taken over
// (cancelled and queued again, leased to this run) when it is the head of
// the visit's queue and nobody has attempted it. Otherwise the outbox
// worker attempts it in turn.
func (e *Engine) attemptPIN(ctx context.Context, actor string, v Visit) (Visit, error) {
	r := e.newRun(ctx, actor, true)
	nv, err := e.store.Update(ctx, v.ID, r.txFunc(func(tx Tx, v *Visit) error {
		queued, err := tx.Outbox()
		if err != nil {
			return err
		}
		if len(queued) == 0 || queued[0].Op != OpProvisionPIN || queued[0].Attempts > 0 || queued[0].Leased(r.now) {
			return errUnchanged
		}
		it := queued[0]
		if err := tx.Cancel(it.ID); err != nil {
			return err
		}
		it.Attempts, it.LeaseOwner, it.LeaseUntil = 0, "", time.Time{}
		return r.enqueue(tx, v, it)
	}))
	switch {
	case errors.Is(err, errUnchanged):
		return v, nil
	case err != nil:
		e.log.WarnContext(ctx, "visitor: the queued PIN provision was left to the outbox worker", "visit", v.ID, "err", err)
		return v, nil
	}
	return e.runNow(ctx, r.next, nv)
}

// pinCredential returns the visit's most recent PIN credential, or nil.
func pinCredential(v *Visit) *Credential {
	for i := len(v.Credentials) - 1; i >= 0; i-- {
		if v.Credentials[i].Source == FromPIN {
			return &v.Credentials[i]
		}
	}
	return nil
}

// releasePIN frees the tag of PIN credential i once it is revoked or was
// refused, so that the PIN may be issued again, and marks it released.
func (r *run) releasePIN(tx Tx, v *Visit, i int) error {
	c := &v.Credentials[i]
	if c.PIN != nil {
		ptx, ok := tx.(PINTx)
		if !ok {
			return refusal("release", acs.Unsupported, "the store keeps no PIN tags (visitor.PINTx)")
		}
		if err := ptx.ReleasePINTag(v.Location, c.PIN.Tag); err != nil {
			return err
		}
	}
	c.Released = true
	return nil
}

// endCompanionPIN ends the PIN issued with card credential i, if any:
// returning a card returns its PIN.
func (r *run) endCompanionPIN(tx Tx, v *Visit, i int) error {
	j := i + 1
	if j >= len(v.Credentials) {
		return nil
	}
	c := &v.Credentials[j]
	if c.PIN == nil || !c.PIN.WithCard || (c.Status.Done() && !c.Holding()) {
		return nil
	}
	return r.endCredential(tx, v, j, true)
}
