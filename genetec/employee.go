package genetec

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/wiegand"
)

var _ acs.EmployeeAccess = (*Provider)(nil)

// Projections read for employee access.
var (
	employeeFields     = []string{"Guid", "EntityType", "Name", "FirstName", "LastName", "State", "Groups", "Credentials"}
	employeeCredFields = []string{"Guid", "EntityType", "Name", "State", "CardholderGuid", "Format"}
)

// readOnlyWords match a refusal saying the cardholder is kept by a
// directory: Security Center's wording for a write to a cardholder
// synchronised by Active Directory or SCIM is not public, so the adapter
// reads the words such a refusal is likely to hold.
var readOnlyWords = regexp.MustCompile(`(?i)(read[- ]?only|synchroni[sz]ed|\bscim\b|managed by|external (directory|identity)|federat)`)

// FindEmployee finds a Security Center cardholder the VMS did not create
// (acs.EmployeeAccess): by its GUID, or by a card one of its credentials
// carries. A card is looked for first among credentials named after it
// (the name this adapter gives its own), then among every credential,
// read page by page with its raw Wiegand data (the Web SDK documents no
// search by card data). Visitors (Visitor entities) and cardholders
// carrying this adapter's external-ID marker are not employees: NotFound.
// Employees are looked for in every partition, also with WithPartition.
// Enabled is the cardholder's State (Active); AccessLevels its cardholder
// groups; Cards those of its credentials in Standard 26-bit or H10302
// format.
func (p *Provider) FindEmployee(ctx context.Context, q acs.EmployeeQuery) (acs.Employee, error) {
	const op = "find employee"
	if err := acs.ValidateEmployeeQuery(q); err != nil {
		return acs.Employee{}, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if err := ctx.Err(); err != nil {
		return acs.Employee{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	var id guid
	if q.ID != "" {
		var err error
		if id, err = employeeGUID(op, q.ID); err != nil {
			return acs.Employee{}, err
		}
	} else {
		var found bool
		var err error
		if id, found, err = p.employeeByCard(ctx, op, q.Card); err != nil {
			return acs.Employee{}, err
		}
		if !found {
			return acs.Employee{}, acs.Errorf(op, Name, acs.NotFound, "no cardholder holds card %s", q.Card)
		}
	}
	h, err := p.employeeHolder(ctx, op, id)
	if err != nil {
		return acs.Employee{}, err
	}
	return p.employeeOf(ctx, op, h)
}

func employeeGUID(op, id string) (guid, error) {
	g, ok := parseGUID(id)
	if !ok {
		return zeroGUID, acs.Errorf(op, Name, acs.InvalidArgument, "employee ID %q is not a GUID", id)
	}
	return g, nil
}

// employeeHolder reads an employee's cardholder entity: NotFound when
// Security Center confirms it absent, or when it is no employee.
func (p *Provider) employeeHolder(ctx context.Context, op string, id guid) (holderInfo, error) {
	objs, gone, err := p.readPresent(ctx, op, []readSeg{{id, employeeFields}})
	if err != nil {
		return holderInfo{}, err
	}
	if len(gone) > 0 {
		return holderInfo{}, acs.Errorf(op, Name, acs.NotFound, "cardholder %s does not exist", id)
	}
	h := toHolder(objs[id])
	h.id = id
	if _, marked := externalIDFromName(h.name); !strings.EqualFold(h.typ, typeCardholder) || marked {
		what := h.typ
		if marked {
			what = "visitor cardholder created by this SDK"
		}
		return holderInfo{}, acs.Errorf(op, Name, acs.NotFound, "entity %s is a %s, not an employee", id, what)
	}
	return h, nil
}

// employeeOf reads the credentials of an employee's cardholder.
func (p *Provider) employeeOf(ctx context.Context, op string, h holderInfo) (acs.Employee, error) {
	e := acs.Employee{
		Cardholder: acs.CardholderRef{ID: h.id.String()}, FirstName: h.first, LastName: h.last,
		Enabled: strings.EqualFold(h.state, "Active"), AccessLevels: []string{},
	}
	for _, g := range h.groups {
		e.AccessLevels = append(e.AccessLevels, g.String())
	}
	segs := make([]readSeg, len(h.creds))
	for i, c := range h.creds {
		segs[i] = readSeg{c, employeeCredFields}
	}
	creds, _, err := p.readPresent(ctx, op, segs)
	if err != nil {
		return acs.Employee{}, err
	}
	for _, c := range h.creds {
		if o, ok := creds[c]; ok {
			if card, ok := cardOfFormat(o.str("Format")); ok {
				e.Cards = append(e.Cards, card)
			}
		}
	}
	return e, nil
}

// undecodedFrame reads BitLength and Raw from a credential's
// <UndecodedWiegand> Format.
func undecodedFrame(format string) (wiegand.Frame, string, bool) {
	field := func(tag string) string {
		_, rest, ok := strings.Cut(format, "<"+tag+">")
		v, _, ok2 := strings.Cut(rest, "</"+tag+">")
		if !ok || !ok2 {
			return ""
		}
		return strings.TrimSpace(v)
	}
	bits, err := strconv.Atoi(field("BitLength"))
	raw := strings.TrimLeft(field("Raw"), "0")
	if err != nil || len(raw) > 16 {
		return wiegand.Frame{}, "", false
	}
	if raw == "" {
		raw = "0"
	}
	v, err := strconv.ParseUint(raw, 16, 64)
	if err != nil {
		return wiegand.Frame{}, "", false
	}
	fr, err := wiegand.NewFrame(bits, v)
	return fr, field("FormatType"), err == nil
}

// cardOfFormat decodes a credential's Format as a card, for the card
// formats this adapter knows.
func cardOfFormat(format string) (acs.Card, bool) {
	fr, ft, ok := undecodedFrame(format)
	if !ok {
		return acs.Card{}, false
	}
	ftg, _ := parseGUID(ft)
	for f, spec := range cardSpecs {
		if sg, _ := parseGUID(spec.formatType); sg == ftg {
			c, err := f.Decode(fr)
			return c, err == nil
		}
	}
	return acs.Card{}, false
}

// employeeByCard finds the cardholder holding a credential with the card's
// raw data: among credentials named after the card, then among all.
func (p *Provider) employeeByCard(ctx context.Context, op string, card acs.Card) (guid, bool, error) {
	want, err := card.Frame()
	if err != nil {
		return zeroGUID, false, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	named, err := p.search(ctx, op, typeCredential, credentialName(card))
	if err != nil {
		return zeroGUID, false, err
	}
	if id, ok, err := p.holderOfFrame(ctx, op, named, want); err != nil || ok {
		return id, ok, err
	}
	for page := 1; page <= maxPages; page++ {
		ids, full, err := p.entityPage(ctx, op, typeCredential, page)
		if err != nil {
			return zeroGUID, false, err
		}
		if id, ok, err := p.holderOfFrame(ctx, op, ids, want); err != nil || ok {
			return id, ok, err
		}
		if !full || len(ids) == 0 {
			return zeroGUID, false, nil
		}
	}
	return zeroGUID, false, acs.Errorf(op, Name, acs.Unknown, "the credential listing did not end after %d pages", maxPages)
}

// holderOfFrame reads the credentials and returns the holder of the first
// assigned one carrying the frame, preferring an active one.
func (p *Provider) holderOfFrame(ctx context.Context, op string, ids []guid, want wiegand.Frame) (guid, bool, error) {
	segs := make([]readSeg, len(ids))
	for i, id := range ids {
		segs[i] = readSeg{id, employeeCredFields}
	}
	objs, _, err := p.readPresent(ctx, op, segs)
	if err != nil {
		return zeroGUID, false, err
	}
	found := zeroGUID
	for _, id := range ids {
		o, ok := objs[id]
		if !ok || !strings.EqualFold(o.str("EntityType"), typeCredential) {
			continue
		}
		fr, _, ok := undecodedFrame(o.str("Format"))
		holder, _ := o.guid("CardholderGuid")
		if !ok || fr != want || holder == zeroGUID {
			continue
		}
		if strings.EqualFold(o.str("State"), "Active") {
			return holder, true, nil
		}
		if found == zeroGUID {
			found = holder
		}
	}
	return found, found != zeroGUID, nil
}

// entityPage reads one page of the listing of an entity type; full
// reports whether a further page may exist.
func (p *Provider) entityPage(ctx context.Context, op, typ string, page int) ([]guid, bool, error) {
	env, err := p.do(ctx, call{op: op, method: http.MethodGet, path: "/report/EntityConfiguration",
		q: "EntityTypes@" + typ + ",Page=" + strconv.Itoa(page) + ",PageSize=" + strconv.Itoa(p.pageSize)})
	if err != nil {
		return nil, false, err
	}
	if !isOk(env.Status) {
		return nil, false, acs.Errorf(op, Name, acs.Unknown, "listing %s entities answered %s instead of a full page", typ, env.Status)
	}
	objs, err := objects(env.Result)
	if err != nil {
		return nil, false, acs.Wrap(op, Name, acs.Unknown, err)
	}
	full := len(objs) >= p.pageSize
	var ids []guid
	for _, o := range objs[:min(len(objs), p.pageSize)] {
		if g, ok := o.guid("Guid"); ok {
			ids = append(ids, g)
		}
	}
	return ids, full, nil
}

// SetEmployeeEnabled sets an employee cardholder's State to Active or
// Inactive (acs.EmployeeAccess): one read and, unless the State already
// is the one wanted, POST entity?q=entity=<guid>,State=Active. An
// Inactive (or expired) cardholder's credentials open no door. A refusal
// whose message says the cardholder is read-only or synchronised (SCIM,
// Active Directory) is acs.ErrReadOnly.
func (p *Provider) SetEmployeeEnabled(ctx context.Context, id string, enabled bool) error {
	const op = "set employee enabled"
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	g, err := employeeGUID(op, id)
	if err != nil {
		return err
	}
	unlock, err := p.locks.Lock(ctx, "employee:"+g.Hex())
	if err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	h, err := p.employeeHolder(ctx, op, g)
	if err != nil {
		return err
	}
	active := strings.EqualFold(h.state, "Active")
	if active == enabled {
		return nil
	}
	state := "Inactive"
	if enabled {
		state = "Active"
	}
	_, err = p.write(ctx, op, "entity="+g.Hex()+",State="+state)
	return readOnlyError(op, g, err)
}

// readOnlyError turns a refused write to an employee into acs.ErrReadOnly
// when the refusal says the cardholder is kept by a directory.
func readOnlyError(op string, g guid, err error) error {
	var se *SDKError
	if err == nil || !errors.As(err, &se) || !readOnlyWords.MatchString(se.Message) {
		return err
	}
	return acs.ReadOnly(op, Name, "cardholder "+g.String()+" is managed read-only by a directory; toggle access groups instead", err)
}

// SetEmployeeLevels adds an employee cardholder to, or removes it from,
// cardholder groups (acs.EmployeeAccess). The groups are read first (one
// that is not a cardholder group is NotFound, and nothing changes), then
// the cardholder's Groups, and each change is made on the group's side,
// as STUDIO does: entity=<group>,AddCardholderIntoGroup(<guid>) or
// RemoveCardholderFromGroup(<guid>), all in one POST, for the groups whose
// membership differs (adding a member twice is refused by Security
// Center, so a group already joined is left alone). Changing membership
// on the group's side leaves the cardholder entity untouched, which is
// what lets a VMS toggle the groups of a cardholder a directory manages
// read-only.
func (p *Provider) SetEmployeeLevels(ctx context.Context, id string, levels []string, member bool) error {
	const op = "set employee levels"
	if err := acs.ValidateEmployeeLevels(levels); err != nil {
		return acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	g, err := employeeGUID(op, id)
	if err != nil {
		return err
	}
	groups, err := p.checkGroups(ctx, op, levels)
	if err != nil {
		return err
	}
	unlock, err := p.locks.Lock(ctx, "employee:"+g.Hex())
	if err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	var last error
	for range 2 { // once more after a refusal a concurrent change explains
		h, err := p.employeeHolder(ctx, op, g)
		if err != nil {
			return err
		}
		var q qBuilder
		for _, grp := range groups {
			if slices.Contains(h.groups, grp) == member {
				continue
			}
			call := "RemoveCardholderFromGroup("
			if member {
				call = "AddCardholderIntoGroup("
			}
			q.item("entity=", grp.Hex())
			q.item(call, g.Hex(), ")")
		}
		if q.Len() == 0 {
			return nil
		}
		if _, last = p.write(ctx, op, q.String()); last == nil || !askable(last) {
			return readOnlyError(op, g, last)
		}
	}
	return readOnlyError(op, g, last)
}

// checkGroups parses the access levels and checks that each is a
// cardholder group: one that is absent or of another type is NotFound.
func (p *Provider) checkGroups(ctx context.Context, op string, levels []string) ([]guid, error) {
	segs := make([]readSeg, len(levels))
	ids := make([]guid, len(levels))
	for i, l := range levels {
		g, ok := parseGUID(l)
		if !ok {
			return nil, acs.Errorf(op, Name, acs.InvalidArgument, "access level %q is not a cardholder group GUID", l)
		}
		ids[i], segs[i] = g, readSeg{g, groupFields}
	}
	objs, gone, err := p.readPresent(ctx, op, segs)
	if err != nil {
		return nil, err
	}
	if len(gone) > 0 {
		return nil, acs.Errorf(op, Name, acs.NotFound, "cardholder group %s does not exist", gone[0])
	}
	for _, g := range ids {
		if typ := objs[g].str("EntityType"); !strings.EqualFold(typ, typeGroup) {
			return nil, acs.Errorf(op, Name, acs.NotFound, "entity %s is a %s, not a cardholder group", g, typ)
		}
	}
	return ids, nil
}
