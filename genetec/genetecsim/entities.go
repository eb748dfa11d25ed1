package genetecsim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/wiegand"
)

// Entity type names, as the Web SDK spells them.
const (
	TypeCardholder      = "Cardholder"
	TypeVisitor         = "Visitor"
	TypeCredential      = "Credential"
	TypeCardholderGroup = "CardholderGroup"
	TypeAccessRule      = "AccessRule"
	TypeDoor            = "Door"
	TypePartition       = "Partition"
)

var typeNames = map[string]string{
	"cardholder":      TypeCardholder,
	"visitor":         TypeVisitor,
	"credential":      TypeCredential,
	"cardholdergroup": TypeCardholderGroup,
	"accessrule":      TypeAccessRule,
	"door":            TypeDoor,
	"partition":       TypePartition,
}

// Card-format GUIDs accepted in <UndecodedWiegand><FormatType>.
const (
	FormatStandard26 = "00000000-0000-0000-0000-000000000200" // HID H10301 26-bit
	FormatH10302     = "00000000-0000-0000-0000-000000000400" // HID H10302 37-bit
	zeroGUID         = "00000000-0000-0000-0000-000000000000"
)

// sdkError is a Fail envelope's content.
type sdkError struct {
	code, msg string
}

func (e *sdkError) Error() string { return e.code + ": " + e.msg }

func failf(code, format string, args ...any) *sdkError {
	return &sdkError{code: code, msg: fmt.Sprintf(format, args...)}
}

const (
	codeInvalidOperation = "InvalidOperation"
	codeUnknownEntity    = "UnknownEntity"
)

// activation is an ActivationMode value.
type activation struct {
	kind        string // "", SpecificActivationPeriod, SpecificDeactivation, RelativeDeactivation
	from, until time.Time
	relative    time.Duration
}

func (a activation) contains(t time.Time) bool {
	switch a.kind {
	case "SpecificActivationPeriod":
		return !t.Before(a.from) && t.Before(a.until)
	case "SpecificDeactivation":
		return t.Before(a.until)
	}
	return true
}

func (a activation) expired(t time.Time) bool {
	switch a.kind {
	case "SpecificActivationPeriod", "SpecificDeactivation":
		return !t.Before(a.until)
	}
	return false
}

type entity struct {
	guid        string
	typ         string
	seq         int
	created     time.Time
	name        string
	description string
	logicalID   int

	// Cardholder and Visitor.
	first, last, email string
	state              string // Active, Inactive (people); Active, Inactive, Lost, Stolen (credentials)
	act                activation
	arrival, departure time.Time
	groups             []string // a person's groups; the groups an access rule applies to

	// AccessRule: the doors it grants.
	doors []string

	// Credential.
	holder     string
	bits       int
	raw        uint64
	formatType string
	keypad     string // the code of a keypad credential (KeypadCredentialFormat); "" for a card

	// partitions are the partitions the entity is a member of (see
	// partitions.go).
	partitions []string

	// readOnly marks a person kept by a directory (SetReadOnly): writes to
	// the entity itself are refused, membership changes made on a group's
	// side are not.
	readOnly bool
}

func (e *entity) person() bool { return e.typ == TypeCardholder || e.typ == TypeVisitor }

func (e *entity) clone() *entity {
	c := *e
	c.groups = slices.Clone(e.groups)
	c.doors = slices.Clone(e.doors)
	c.partitions = slices.Clone(e.partitions)
	return &c
}

// store is the simulator's database. It is guarded by Server.mu.
type store struct {
	byGUID map[string]*entity
	// order holds the entities of byGUID by creation (seq); built on
	// demand and dropped when an entity is inserted or deleted.
	order   []*entity
	seq     int
	missing MissingEntity
	// dupCards accepts a second credential with the same card data.
	dupCards bool
	// held indexes credential GUIDs by cardholder, in creation order. It
	// is built on demand and dropped by every change (see changed).
	held map[string][]string
	// creation is the creation partition of the session whose request is
	// running (set around store.run); empty for the root partition.
	creation string
}

// changed drops what is derived from the entities.
func (st *store) changed() { st.held = nil }

// unknown is the Fail answer for a GUID that names no entity.
func (st *store) unknown(g string) *sdkError {
	if st.missing == MissingUnknownEntity {
		return failf(codeUnknownEntity, "Entity '%s' was not found", g)
	}
	return failf(codeInvalidOperation, "Unable to find entity %s", g)
}

func newStore() *store {
	st := &store{byGUID: map[string]*entity{}}
	st.byGUID[RootPartition] = &entity{guid: RootPartition, typ: TypePartition, name: "Root"}
	return st
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatGUID(b)
}

func formatGUID(b [16]byte) string {
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ParseGUID accepts a GUID with or without dashes (and optional braces)
// and returns it in the dashed lower-case form.
func ParseGUID(s string) (string, bool) {
	s = strings.TrimPrefix(strings.TrimSuffix(s, "}"), "{")
	var h string
	switch len(s) {
	case 32:
		h = s
	case 36:
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return "", false
		}
		h = s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	default:
		return "", false
	}
	var b [16]byte
	if _, err := hex.Decode(b[:], []byte(h)); err != nil {
		return "", false
	}
	return formatGUID(b), true
}

func (st *store) insert(e *entity, now time.Time) {
	st.seq++
	e.seq = st.seq
	e.created = now
	if e.guid == "" {
		e.guid = newGUID()
	}
	if len(e.partitions) == 0 && e.typ != TypePartition {
		e.partitions = []string{cmpOr(st.creation, RootPartition)}
	}
	st.byGUID[e.guid] = e
	st.order = nil
	st.changed()
}

// sorted returns the entities pred keeps, in creation order.
func (st *store) sorted(pred func(*entity) bool) []*entity {
	if st.order == nil {
		st.order = make([]*entity, 0, len(st.byGUID))
		for _, e := range st.byGUID {
			st.order = append(st.order, e)
		}
		slices.SortFunc(st.order, func(a, b *entity) int { return a.seq - b.seq })
	}
	var out []*entity
	for _, e := range st.order {
		if pred(e) {
			out = append(out, e)
		}
	}
	return out
}

func (st *store) credentialsOf(holder string) []string {
	if st.held == nil {
		st.held = map[string][]string{}
		for _, e := range st.sorted(func(e *entity) bool { return e.typ == TypeCredential && e.holder != "" }) {
			st.held[e.holder] = append(st.held[e.holder], e.guid)
		}
	}
	return slices.Clone(st.held[holder])
}

func (st *store) delete(guid string) {
	e := st.byGUID[guid]
	if e == nil {
		return
	}
	delete(st.byGUID, guid)
	st.order = nil
	st.changed()
	switch {
	case e.person():
		for _, c := range st.byGUID {
			if c.typ == TypeCredential && c.holder == guid {
				c.holder = ""
			}
		}
	case e.typ == TypeCardholderGroup:
		for _, p := range st.byGUID {
			p.groups = slices.DeleteFunc(p.groups, func(g string) bool { return g == guid })
		}
	case e.typ == TypeDoor:
		for _, r := range st.byGUID {
			r.doors = slices.DeleteFunc(r.doors, func(d string) bool { return d == guid })
		}
	case e.typ == TypePartition:
		for _, o := range st.byGUID {
			o.partitions = slices.DeleteFunc(o.partitions, func(p string) bool { return p == guid })
		}
	}
}

// effectiveState is the state a read reports: an active entity whose
// window has ended reads as Expired.
func (e *entity) effectiveState(now time.Time) string {
	if e.state == "Active" && e.act.expired(now) {
		return "Expired"
	}
	if e.typ == TypeVisitor && e.state == "Active" && !e.departure.IsZero() && !now.Before(e.departure) {
		return "Expired"
	}
	return e.state
}

// segment is one entity= reference and the operations after it.
type segment struct {
	ref   Item
	ops   []Item
	reads []string
}

func splitSegments(items []Item) ([]segment, *sdkError) {
	var segs []segment
	for _, it := range items {
		if it.Kind == KindEntity {
			segs = append(segs, segment{ref: it})
			continue
		}
		if len(segs) == 0 {
			return nil, failf(codeInvalidOperation, "Expected 'entity=' before '%s'", it.Raw)
		}
		s := &segs[len(segs)-1]
		if it.Kind == KindRead {
			s.reads = append(s.reads, it.Name)
		} else {
			s.ops = append(s.ops, it)
		}
	}
	return segs, nil
}

func (s segment) writes() bool {
	return len(s.ops) > 0 || strings.EqualFold(s.ref.Func, "NewEntity")
}

// run executes the segments of an entity request in order. Each segment
// is applied whole or not at all; the request as a whole is not
// transactional: segments before a failing one stay applied.
func (st *store) run(segs []segment, now time.Time) ([]map[string]any, *sdkError) {
	var results []map[string]any
	for _, sg := range segs {
		e, err := st.runSegment(sg, now)
		if err != nil {
			return nil, err
		}
		if len(sg.reads) > 0 {
			obj := make(map[string]any, len(sg.reads))
			for _, r := range sg.reads {
				v, err := st.read(e, r, now)
				if err != nil {
					return nil, err
				}
				obj[canonicalField(r)] = v
			}
			results = append(results, obj)
		}
	}
	return results, nil
}

func (st *store) runSegment(sg segment, now time.Time) (*entity, *sdkError) {
	var (
		target *entity
		isNew  bool
	)
	switch {
	case strings.EqualFold(sg.ref.Func, "NewEntity"):
		e, err := newEntity(sg.ref)
		if err != nil {
			return nil, err
		}
		target, isNew = e, true
	case sg.ref.Func != "":
		return nil, failf(codeInvalidOperation, "Entity reference '%s' is not supported by the simulator", sg.ref.Raw)
	default:
		g, ok := ParseGUID(sg.ref.Value)
		if !ok {
			return nil, failf(codeInvalidOperation, "'%s' is not an entity GUID", sg.ref.Value)
		}
		cur := st.byGUID[g]
		if cur == nil {
			return nil, st.unknown(g)
		}
		if len(sg.ops) == 0 {
			return cur, nil
		}
		if cur.readOnly {
			return nil, failf(codeInvalidOperation, "The cardholder '%s' is synchronized from an external directory and is read-only", cur.name)
		}
		target = cur.clone()
	}
	var deferred []func()
	for _, op := range sg.ops {
		fn, err := st.apply(target, isNew, op, now)
		if err != nil {
			return nil, err
		}
		if fn != nil {
			deferred = append(deferred, fn)
		}
	}
	if err := st.checkCredential(target); err != nil {
		return nil, err
	}
	if isNew {
		if target.name == "" {
			target.name = "New_" + target.typ + "_" + strings.ReplaceAll(newGUID(), "-", "")
		}
		st.insert(target, now)
	} else {
		*st.byGUID[target.guid] = *target
	}
	for _, fn := range deferred {
		fn()
	}
	st.changed()
	return st.byGUID[target.guid], nil
}

// newEntity is the entity of NewEntity(type) (NewEntity(AccessRule,
// Permanent) too), not yet stored: people and credentials start Active.
func newEntity(ref Item) (*entity, *sdkError) {
	if len(ref.Args) < 1 || len(ref.Args) > 2 {
		return nil, failf(codeInvalidOperation, "NewEntity takes an entity type")
	}
	typ, ok := typeNames[strings.ToLower(ref.Args[0])]
	if !ok {
		return nil, failf(codeInvalidOperation, "Unknown entity type '%s'", ref.Args[0])
	}
	if typ == TypeDoor {
		return nil, failf(codeInvalidOperation, "Doors are configured with their access control unit; creating one is not supported by the simulator")
	}
	if len(ref.Args) == 2 && !(typ == TypeAccessRule && strings.EqualFold(ref.Args[1], "Permanent")) {
		return nil, failf(codeInvalidOperation, "Unexpected argument '%s' to NewEntity(%s)", ref.Args[1], typ)
	}
	e := &entity{typ: typ}
	if e.person() || typ == TypeCredential {
		e.state = "Active"
	}
	return e, nil
}

// checkCredential refuses a credential without a format, and one whose
// card data another credential holds (unless duplicates are allowed).
func (st *store) checkCredential(e *entity) *sdkError {
	if e.typ != TypeCredential {
		return nil
	}
	if e.bits == 0 && e.keypad == "" {
		return failf(codeInvalidOperation, "A credential needs a Format")
	}
	if e.keypad != "" {
		return st.checkKeypad(e)
	}
	for _, o := range st.byGUID {
		if !st.dupCards && o.typ == TypeCredential && o.guid != e.guid && o.bits == e.bits && o.raw == e.raw {
			return failf(codeInvalidOperation, "A credential with the same card data already exists ('%s')", o.name)
		}
	}
	return nil
}

// apply performs one operation on e (a working copy). Changes to other
// entities are returned as a function run when the segment commits.
func (st *store) apply(e *entity, isNew bool, op Item, now time.Time) (func(), *sdkError) {
	prop := strings.ToLower(op.Name)
	switch op.Kind {
	case KindSet:
		return nil, st.set(e, prop, op)
	case KindAdd, KindRemove:
		return st.collection(e, isNew, prop, op)
	case KindClear:
		return nil, failf(codeInvalidOperation, "Clearing '%s' is not supported by the simulator", op.Name)
	case KindCall:
		return st.call(e, isNew, op)
	}
	return nil, failf(codeInvalidOperation, "Unexpected '%s'", op.Raw)
}

func plain(op Item) (string, *sdkError) {
	if op.Func != "" || op.XML {
		return "", failf(codeInvalidOperation, "Property '%s' takes a text value, not '%s'", op.Name, op.Value)
	}
	return op.Value, nil
}

func (st *store) set(e *entity, prop string, op Item) *sdkError {
	var set func(e *entity, prop string, op Item) *sdkError
	switch prop {
	case "name", "description", "firstname", "lastname", "emailaddress":
		set = st.setText
	case "logicalid":
		set = st.setLogicalID
	case "state":
		set = st.setState
	case "activationmode":
		set = st.setActivation
	case "activationdate", "expirationdate":
		return failf(codeInvalidOperation, "The property %s has no setter", op.Name)
	case "arrival", "departure":
		set = st.setVisitTime
	case "cardholderguid":
		set = st.setHolder
	case "format":
		set = st.setFormat
	default:
		return noProperty(e, op)
	}
	return set(e, prop, op)
}

// noProperty is the Web SDK's answer to a property the entity type lacks.
func noProperty(e *entity, op Item) *sdkError {
	return failf(codeInvalidOperation, "Could not find property '%s' on entity type %s", op.Name, e.typ)
}

// setText sets Name, Description, or a person's FirstName, LastName or
// EmailAddress.
func (st *store) setText(e *entity, prop string, op Item) *sdkError {
	v, err := plain(op)
	if err != nil {
		return err
	}
	switch prop {
	case "name":
		e.name = v
	case "description":
		e.description = v
	default:
		if !e.person() {
			return noProperty(e, op)
		}
		switch prop {
		case "firstname":
			e.first = v
		case "lastname":
			e.last = v
		default:
			e.email = v
		}
	}
	return nil
}

// setLogicalID sets LogicalId, a number.
func (st *store) setLogicalID(e *entity, _ string, op Item) *sdkError {
	v, err := plain(op)
	if err != nil {
		return err
	}
	n, perr := strconv.Atoi(v)
	if perr != nil || n < 0 {
		return failf(codeInvalidOperation, "LogicalId '%s' is not a number", v)
	}
	e.logicalID = n
	return nil
}

// setState sets the State of a person (Active, Inactive) or a credential
// (also Lost, Stolen).
func (st *store) setState(e *entity, _ string, op Item) *sdkError {
	v, err := plain(op)
	if err != nil {
		return err
	}
	allowed := []string{"Active", "Inactive"}
	switch {
	case e.typ == TypeCredential:
		allowed = append(allowed, "Lost", "Stolen")
	case !e.person():
		return noProperty(e, op)
	}
	for _, a := range allowed {
		if strings.EqualFold(a, v) {
			e.state = a
			return nil
		}
	}
	return failf(codeInvalidOperation, "'%s' is not a valid State for %s", v, e.typ)
}

// setActivation sets the ActivationMode of a cardholder or a credential;
// a visitor's has no setter.
func (st *store) setActivation(e *entity, _ string, op Item) *sdkError {
	if e.typ == TypeVisitor {
		return failf(codeInvalidOperation, "The property ActivationMode has no setter")
	}
	if !e.person() && e.typ != TypeCredential {
		return noProperty(e, op)
	}
	a, err := parseActivation(op)
	if err != nil {
		return err
	}
	e.act = a
	return nil
}

// setVisitTime sets a visitor's Arrival or Departure.
func (st *store) setVisitTime(e *entity, prop string, op Item) *sdkError {
	if e.typ != TypeVisitor {
		return noProperty(e, op)
	}
	v, err := plain(op)
	if err != nil {
		return err
	}
	t, ok := parseTime(v)
	if !ok {
		return failf(codeInvalidOperation, "'%s' is not a DateTime", v)
	}
	if prop == "arrival" {
		e.arrival = t
	} else {
		e.departure = t
	}
	return nil
}

// setHolder sets a credential's CardholderGuid: a person, or the zero
// GUID to unassign it.
func (st *store) setHolder(e *entity, _ string, op Item) *sdkError {
	if e.typ != TypeCredential {
		return noProperty(e, op)
	}
	v, err := plain(op)
	if err != nil {
		return err
	}
	g, ok := ParseGUID(v)
	if !ok {
		return failf(codeInvalidOperation, "'%s' is not a GUID", v)
	}
	if g == zeroGUID {
		e.holder = ""
		return nil
	}
	h := st.byGUID[g]
	if h == nil {
		return st.unknown(g)
	}
	if !h.person() {
		return failf(codeInvalidOperation, "Entity '%s' is a %s, not a cardholder", g, h.typ)
	}
	e.holder = g
	return nil
}

// setFormat sets a credential's Format from a card format XML value.
func (st *store) setFormat(e *entity, _ string, op Item) *sdkError {
	if e.typ != TypeCredential {
		return noProperty(e, op)
	}
	if strings.EqualFold(op.Func, "KeypadCredentialFormat") {
		return setKeypad(e, op)
	}
	if !op.XML {
		return failf(codeInvalidOperation, "Credential format '%s' is not supported by the simulator", op.Value)
	}
	bits, raw, ft, err := parseUndecoded(op.Value)
	if err != nil {
		return err
	}
	e.bits, e.raw, e.formatType, e.keypad = bits, raw, ft, ""
	return nil
}

func (st *store) collection(e *entity, isNew bool, prop string, op Item) (func(), *sdkError) {
	add := op.Kind == KindAdd
	switch {
	case prop == "groups" && e.person():
		for _, v := range op.Values {
			if err := st.memberChange(e, v, add); err != nil {
				return nil, err
			}
		}
		if !add {
			return nil, st.memberChange(e, op.Value, false)
		}
		return nil, nil
	case prop == "credentials" && e.person():
		if isNew {
			return nil, failf(codeInvalidOperation, "Credentials of a new entity are not supported by the simulator; set CardholderGuid on the credential")
		}
		if add && len(op.Values) != 1 {
			return nil, failf(codeInvalidOperation, "Add one credential at a time")
		}
		g, ok := ParseGUID(op.Value)
		if !ok {
			return nil, failf(codeInvalidOperation, "'%s' is not a GUID", op.Value)
		}
		c := st.byGUID[g]
		if c == nil {
			return nil, st.unknown(g)
		}
		if c.typ != TypeCredential {
			return nil, failf(codeInvalidOperation, "Entity '%s' is a %s, not a credential", g, c.typ)
		}
		holder := e.guid
		if add {
			if c.holder != "" && c.holder != holder {
				return nil, failf(codeInvalidOperation, "Credential '%s' is assigned to another cardholder", c.name)
			}
			return func() { c.holder = holder }, nil
		}
		if c.holder != holder {
			return nil, failf(codeInvalidOperation, "Credential '%s' is not assigned to this cardholder", c.name)
		}
		return func() { c.holder = "" }, nil
	case prop == "members" && e.typ == TypeCardholderGroup:
		if isNew {
			return nil, failf(codeInvalidOperation, "Members of a new group are not supported by the simulator")
		}
		var fns []func()
		vals := op.Values
		if !add {
			vals = []string{op.Value}
		}
		for _, v := range vals {
			fn, err := st.groupSide(e.guid, v, add)
			if err != nil {
				return nil, err
			}
			fns = append(fns, fn)
		}
		return func() {
			for _, fn := range fns {
				fn()
			}
		}, nil
	}
	return nil, failf(codeInvalidOperation, "Could not find collection '%s' on entity type %s", op.Name, e.typ)
}

// memberChange adds or removes group v on person e (a working copy).
func (st *store) memberChange(e *entity, v string, add bool) *sdkError {
	g, ok := ParseGUID(v)
	if !ok {
		return failf(codeInvalidOperation, "'%s' is not a GUID", v)
	}
	grp := st.byGUID[g]
	if grp == nil {
		return st.unknown(g)
	}
	if grp.typ != TypeCardholderGroup {
		return failf(codeInvalidOperation, "Entity '%s' is a %s, not a cardholder group", g, grp.typ)
	}
	has := slices.Contains(e.groups, g)
	switch {
	case add && has:
		return failf(codeInvalidOperation, "The cardholder is already a member of group '%s'", grp.name)
	case !add && !has:
		return failf(codeInvalidOperation, "The cardholder is not a member of group '%s'", grp.name)
	case add:
		e.groups = append(e.groups, g)
	default:
		e.groups = slices.DeleteFunc(e.groups, func(x string) bool { return x == g })
	}
	return nil
}

// groupSide prepares a membership change requested on the group.
func (st *store) groupSide(group, v string, add bool) (func(), *sdkError) {
	g, ok := ParseGUID(v)
	if !ok {
		return nil, failf(codeInvalidOperation, "'%s' is not a GUID", v)
	}
	p := st.byGUID[g]
	if p == nil {
		return nil, st.unknown(g)
	}
	if !p.person() {
		return nil, failf(codeInvalidOperation, "Entity '%s' is a %s, not a cardholder", g, p.typ)
	}
	work := p.clone()
	if err := st.memberChange(work, group, add); err != nil {
		return nil, err
	}
	return func() { p.groups = work.groups }, nil
}

func (st *store) call(e *entity, isNew bool, op Item) (func(), *sdkError) {
	switch strings.ToLower(op.Func) {
	case "addcardholderintogroup", "removecardholderfromgroup":
		if e.typ != TypeCardholderGroup || isNew {
			break
		}
		if len(op.Args) != 1 {
			return nil, failf(codeInvalidOperation, "%s takes one cardholder", op.Func)
		}
		return st.groupSide(e.guid, op.Args[0], strings.HasPrefix(strings.ToLower(op.Func), "add"))
	case "insertintopartition", "removefrompartition":
		return nil, st.partitionCall(e, isNew, op)
	}
	return nil, failf(codeInvalidOperation, "Unknown method '%s' on entity type %s", op.Func, e.typ)
}

func parseActivation(op Item) (activation, *sdkError) {
	bad := func() (activation, *sdkError) {
		return activation{}, failf(codeInvalidOperation, "'%s' is not a valid ActivationMode", op.Value)
	}
	var a activation
	switch strings.ToLower(op.Func) {
	case "specificactivationperiod":
		if len(op.Args) != 2 {
			return bad()
		}
		from, ok1 := parseTime(op.Args[0])
		until, ok2 := parseTime(op.Args[1])
		if !ok1 || !ok2 || !until.After(from) {
			return bad()
		}
		a = activation{kind: "SpecificActivationPeriod", from: from, until: until}
	case "specificdeactivation":
		if len(op.Args) != 1 {
			return bad()
		}
		until, ok := parseTime(op.Args[0])
		if !ok {
			return bad()
		}
		a = activation{kind: "SpecificDeactivation", until: until}
	case "relativedeactivation":
		if len(op.Args) != 1 {
			return bad()
		}
		d, ok := parseTimeSpan(op.Args[0])
		if !ok {
			return bad()
		}
		a = activation{kind: "RelativeDeactivation", relative: d}
	default:
		return bad()
	}
	return a, nil
}

// parseTime reads an ISO-8601 date-time; without an offset it is UTC.
func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05Z07", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseTimeSpan reads a .NET TimeSpan: [d.]HH:MM:SS.
func parseTimeSpan(s string) (time.Duration, bool) {
	days := 0
	if i := strings.IndexByte(s, '.'); i >= 0 && i < strings.IndexByte(s, ':') {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 {
			return 0, false
		}
		days, s = n, s[i+1:]
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0, false
	}
	var v [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || i == 0 && n > 23 || i > 0 && n > 59 {
			return 0, false
		}
		v[i] = n
	}
	return time.Duration(days)*24*time.Hour + time.Duration(v[0])*time.Hour + time.Duration(v[1])*time.Minute + time.Duration(v[2])*time.Second, true
}

// parseUndecoded reads <UndecodedWiegand><BitLength>n</BitLength>
// <FormatType>guid</FormatType><Raw>hex</Raw></UndecodedWiegand> and checks
// the frame against the format named by FormatType.
func parseUndecoded(x string) (bits int, raw uint64, formatType string, err *sdkError) {
	bad := func(why string) (int, uint64, string, *sdkError) {
		return 0, 0, "", failf(codeInvalidOperation, "Invalid credential format: %s", why)
	}
	const open, close = "<UndecodedWiegand>", "</UndecodedWiegand>"
	if !strings.HasPrefix(x, open) || !strings.HasSuffix(x, close) {
		return bad("expected <UndecodedWiegand>")
	}
	body := x[len(open) : len(x)-len(close)]
	fields := map[string]string{}
	for body != "" {
		if body[0] != '<' {
			return bad("unexpected text")
		}
		end := strings.IndexByte(body, '>')
		if end < 0 {
			return bad("unterminated element")
		}
		tag := body[1:end]
		closer := "</" + tag + ">"
		k := strings.Index(body, closer)
		if k < 0 {
			return bad("unterminated <" + tag + ">")
		}
		if _, dup := fields[tag]; dup {
			return bad("repeated <" + tag + ">")
		}
		fields[tag] = body[end+1 : k]
		body = body[k+len(closer):]
	}
	if len(fields) != 3 {
		return bad("expected BitLength, FormatType and Raw")
	}
	n, perr := strconv.Atoi(fields["BitLength"])
	if perr != nil || n < 1 || n > 64 {
		return bad("BitLength")
	}
	ft, ok := ParseGUID(fields["FormatType"])
	if !ok {
		return bad("FormatType")
	}
	h := fields["Raw"]
	if len(h) != 32 {
		return bad("Raw must be 32 hex digits")
	}
	if strings.TrimLeft(h[:16], "0") != "" {
		return bad("Raw does not fit BitLength")
	}
	v, perr := strconv.ParseUint(h[16:], 16, 64)
	if perr != nil {
		return bad("Raw is not hexadecimal")
	}
	fr, ferr := wiegand.NewFrame(n, v)
	if ferr != nil {
		return bad("Raw does not fit BitLength")
	}
	var f wiegand.Format
	switch ft {
	case FormatStandard26:
		f = wiegand.H10301
	case FormatH10302:
		f = wiegand.H10302
	default:
		return bad("unknown FormatType " + ft)
	}
	if _, derr := f.Decode(fr); derr != nil {
		return bad("Raw is not a valid " + f.String() + " frame: " + derr.Error())
	}
	return n, v, ft, nil
}

var fieldNames = map[string]string{}

func init() {
	for _, f := range []string{"Guid", "Name", "Description", "EntityType", "LogicalId", "FirstName", "LastName",
		"EmailAddress", "State", "ActivationDate", "ExpirationDate", "Arrival", "Departure", "Groups",
		"Credentials", "CardholderGuid", "Format", "Members"} {
		fieldNames[strings.ToLower(f)] = f
	}
}

// canonicalField returns the property name as the server spells it in
// results (property names are case-insensitive in requests).
func canonicalField(f string) string {
	if c, ok := fieldNames[strings.ToLower(f)]; ok {
		return c
	}
	return f
}

func jsonTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func (st *store) read(e *entity, field string, now time.Time) (any, *sdkError) {
	prop := strings.ToLower(field)
	switch prop {
	case "guid":
		return e.guid, nil
	case "name":
		return e.name, nil
	case "description":
		return e.description, nil
	case "entitytype":
		return e.typ, nil
	case "logicalid":
		if e.logicalID == 0 {
			return nil, nil
		}
		return e.logicalID, nil
	}
	var v any
	var ok bool
	switch {
	case e.person():
		v, ok = st.readPerson(e, prop, now)
	case e.typ == TypeCredential:
		v, ok = readCredential(e, prop, now)
	case e.typ == TypeCardholderGroup && prop == "members":
		v, ok = st.members(e), true
	case e.typ == TypePartition && prop == "members":
		v, ok = st.partitionMembers(e.guid), true
	}
	if !ok {
		return nil, failf(codeInvalidOperation, "Could not find property '%s' on entity type %s", field, e.typ)
	}
	return v, nil
}

// readPerson reads a property of a cardholder or visitor; false when it
// has none of that name.
func (st *store) readPerson(e *entity, prop string, now time.Time) (any, bool) {
	switch prop {
	case "firstname":
		return e.first, true
	case "lastname":
		return e.last, true
	case "emailaddress":
		return e.email, true
	case "state":
		return e.effectiveState(now), true
	case "activationdate":
		return jsonTime(e.act.from), true
	case "expirationdate":
		return jsonTime(e.act.until), true
	case "groups":
		return nonNil(slices.Clone(e.groups)), true
	case "credentials":
		return nonNil(st.credentialsOf(e.guid)), true
	case "arrival":
		return jsonTime(e.arrival), e.typ == TypeVisitor
	case "departure":
		return jsonTime(e.departure), e.typ == TypeVisitor
	}
	return nil, false
}

// readCredential reads a property of a credential; false when it has
// none of that name.
func readCredential(e *entity, prop string, now time.Time) (any, bool) {
	switch prop {
	case "state":
		return e.effectiveState(now), true
	case "activationdate":
		return jsonTime(e.act.from), true
	case "expirationdate":
		return jsonTime(e.act.until), true
	case "cardholderguid":
		if e.holder == "" {
			return zeroGUID, true
		}
		return e.holder, true
	case "format":
		if e.keypad != "" {
			return "KeypadCredentialFormat(" + e.keypad + ")", true
		}
		return undecodedXML(e.bits, e.formatType, e.raw), true
	}
	return nil, false
}

// members lists the GUIDs of a cardholder group's members.
func (st *store) members(g *entity) []string {
	var out []string
	for _, p := range st.sorted(func(p *entity) bool { return p.person() && slices.Contains(p.groups, g.guid) }) {
		out = append(out, p.guid)
	}
	return nonNil(out)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func undecodedXML(bits int, formatType string, raw uint64) string {
	return fmt.Sprintf("<UndecodedWiegand><BitLength>%d</BitLength><FormatType>%s</FormatType><Raw>%032X</Raw></UndecodedWiegand>", bits, formatType, raw)
}
