package genetec

import (
	"context"
	"slices"
	"strings"

	"github.com/acsbridge/acsbridge/acs"
)

// Revoke deletes the credential, so that it opens nothing and its card
// can be issued to the next visitor. With ref.ID it reads the entity first
// and deletes it only if it is a credential, and only if it still belongs
// to ref.CardholderID when that is given (a credential an operator has
// since moved to someone else is no longer this visitor's: nothing is
// done). Without ref.ID it finds the cardholder by ref.CardholderID or
// ref.CardholderExternalID and deletes its credentials named after
// ref.Card. A credential or cardholder that no longer exists is a success.
//
// Whenever ref carries the external ID and the card, every credential
// named after the card held by any cardholder carrying that external ID
// is deleted too (after the one ref.ID names, when given): two processes
// provisioning one visit at the same instant can create twin cardholders,
// and the converging provision may have issued the card again on the
// twin that survives, under another GUID.
func (p *Provider) Revoke(ctx context.Context, ref acs.CredentialRef) error {
	const op = "revoke"
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	if ref.ID != "" {
		id, ok := parseGUID(ref.ID)
		if !ok {
			return acs.Errorf(op, Name, acs.InvalidArgument, "credential ID %q is not a GUID", ref.ID)
		}
		var holder guid
		if ref.CardholderID != "" {
			if holder, ok = parseGUID(ref.CardholderID); !ok {
				return acs.Errorf(op, Name, acs.InvalidArgument, "cardholder ID %q is not a GUID", ref.CardholderID)
			}
		}
		sweep := ref.CardholderExternalID != "" && acs.ValidateExternalID(ref.CardholderExternalID) == nil && acs.ValidateCard(ref.Card) == nil
		if _, ok := cardSpecs[ref.Card.Format]; !ok || !sweep {
			return p.revokeByID(ctx, op, id, holder)
		}
		credName := credentialName(ref.Card)
		unlock, err := p.locks.Lock(ctx, "holder:"+ref.CardholderExternalID, "card:"+credName)
		if err != nil {
			return acs.Wrap(op, Name, acs.Canceled, err)
		}
		defer unlock()
		if err := p.revokeByID(ctx, op, id, holder); err != nil {
			return err
		}
		return p.revokeByCard(ctx, op, holder, ref.CardholderExternalID, credName, id, false)
	}
	var holderID guid
	if ref.CardholderID != "" {
		var ok bool
		if holderID, ok = parseGUID(ref.CardholderID); !ok {
			return acs.Errorf(op, Name, acs.InvalidArgument, "cardholder ID %q is not a GUID", ref.CardholderID)
		}
	}
	if ref.CardholderID == "" || ref.CardholderExternalID != "" {
		if err := acs.ValidateExternalID(ref.CardholderExternalID); err != nil {
			return acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
	}
	if err := acs.ValidateCard(ref.Card); err != nil {
		return acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if _, ok := cardSpecs[ref.Card.Format]; !ok {
		// This adapter never issued such a card.
		return nil
	}
	credName := credentialName(ref.Card)
	unlock, err := p.locks.Lock(ctx, "holder:"+ref.CardholderExternalID, "card:"+credName)
	if err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()
	return p.revokeByCard(ctx, op, holderID, ref.CardholderExternalID, credName, zeroGUID, true)
}

// revokeByCard deletes the credentials named after the card that belong
// to the cardholder holderID (when given) or to any cardholder carrying
// ext (when given): every twin, so that a duplicate cannot keep the card
// live. done is a credential already deleted by ID, left out. When strict,
// a holderID that does not carry ext is a Conflict (the reference is
// inconsistent); otherwise that cardholder is simply not searched.
func (p *Provider) revokeByCard(ctx context.Context, op string, holderID guid, ext, credName string, done guid, strict bool) error {
	credIDs, err := p.search(ctx, op, typeCredential, credName)
	if err != nil {
		return err
	}
	credIDs = slices.DeleteFunc(credIDs, func(g guid) bool { return g == done })
	if len(credIDs) == 0 {
		return nil
	}
	var holderIDs []guid
	if ext != "" {
		if holderIDs, err = p.search(ctx, op, typeCardholder, keyToken(ext)); err != nil {
			return err
		}
		if holderIDs, err = p.scoped(ctx, op, holderIDs); err != nil {
			return err
		}
	}
	if holderID != zeroGUID && !slices.Contains(holderIDs, holderID) {
		holderIDs = append(holderIDs, holderID)
	}
	if len(holderIDs) == 0 {
		return nil
	}
	segs := make([]readSeg, 0, len(holderIDs)+len(credIDs))
	for _, id := range holderIDs {
		segs = append(segs, readSeg{id, []string{"Guid", "EntityType", "Name"}})
	}
	for _, id := range credIDs {
		segs = append(segs, readSeg{id, credFields})
	}
	// Entities deleted meanwhile are left out: a deleted cardholder opens
	// nothing (access is granted to people, not to credentials).
	objs, _, err := p.readPresent(ctx, op, segs)
	if err != nil {
		return err
	}
	mine := map[guid]bool{}
	for _, id := range holderIDs {
		o, ok := objs[id]
		if !ok {
			continue
		}
		h := toHolder(o)
		if !isPerson(h.typ) {
			continue
		}
		carries := ext != "" && ownsKey(h.name, ext)
		switch {
		case carries, id == holderID && ext == "":
			mine[id] = true
		case id == holderID && strict:
			return acs.Errorf(op, Name, acs.Conflict, "cardholder %s does not carry external ID %q; refusing to revoke its credentials", id, ext)
		}
	}
	for _, id := range credIDs {
		o, ok := objs[id]
		if !ok {
			continue
		}
		c := toCred(o)
		if !strings.EqualFold(c.typ, typeCredential) || c.name != credName || !mine[c.holder] {
			continue
		}
		if err := p.deleteEntity(ctx, op, c.id); err != nil {
			return err
		}
	}
	return nil
}

// revokeByID reads the entity, checks that it is a credential still
// belonging to holder (when given), and deletes it. An entity the Web SDK
// confirms absent is a success.
func (p *Provider) revokeByID(ctx context.Context, op string, id, holder guid) error {
	objs, gone, err := p.readPresent(ctx, op, []readSeg{{id, []string{"Guid", "EntityType", "CardholderGuid"}}})
	if err != nil {
		return err
	}
	if len(gone) > 0 {
		return nil
	}
	o := objs[id]
	typ := o.str("EntityType")
	switch {
	case typ == "":
		return p.settle(ctx, op, id, acs.Errorf(op, Name, acs.Unknown, "the Web SDK did not say what entity %s is", id))
	case !strings.EqualFold(typ, typeCredential):
		return acs.Errorf(op, Name, acs.InvalidArgument, "entity %s is a %s, not a credential; refusing to delete it", id, typ)
	}
	if cur, _ := o.guid("CardholderGuid"); holder != zeroGUID && cur != zeroGUID && cur != holder {
		p.log.InfoContext(ctx, "credential now belongs to another cardholder; nothing to revoke for this one",
			"provider", Name, "credential", id.String(), "cardholder", holder.String(), "current_cardholder", cur.String())
		return nil
	}
	return p.deleteEntity(ctx, op, id)
}

// RemoveCardholder deletes the visitor's cardholder entity and every
// credential it holds (Security Center would otherwise keep the
// credentials, unassigned), so that Security Center keeps no record of the
// visitor's name or e-mail address. With ref.ID the entity must be a
// cardholder or visitor, and must carry ref.ExternalID in its name when
// that is given. Every other cardholder carrying the same external ID
// (ref.ExternalID, else the one in the entity's name) is removed too: two
// processes provisioning one visit at the same instant can create two.
// An absent cardholder is a success, once the Web SDK confirms it absent.
func (p *Provider) RemoveCardholder(ctx context.Context, ref acs.CardholderRef) error {
	const op = "remove cardholder"
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	var id guid
	if ref.ID != "" {
		var ok bool
		if id, ok = parseGUID(ref.ID); !ok {
			return acs.Errorf(op, Name, acs.InvalidArgument, "cardholder ID %q is not a GUID", ref.ID)
		}
	}
	if ref.ID == "" || ref.ExternalID != "" {
		if err := acs.ValidateExternalID(ref.ExternalID); err != nil {
			return acs.Wrap(op, Name, acs.InvalidArgument, err)
		}
	}
	ext := ref.ExternalID
	if ext != "" {
		unlock, err := p.locks.Lock(ctx, "holder:"+ext)
		if err != nil {
			return acs.Wrap(op, Name, acs.Canceled, err)
		}
		defer unlock()
	}
	var holders []holderInfo
	if id != zeroGUID {
		h, found, err := p.holderByID(ctx, op, id, ext)
		if err != nil || !found {
			if err == nil && ext != "" {
				return p.removeByKey(ctx, op, ext, id, nil)
			}
			return err
		}
		holders = append(holders, h)
		if ext == "" {
			if ext, _ = externalIDFromName(h.name); ext == "" {
				return p.removeHolders(ctx, op, holders)
			}
			unlock, err := p.locks.Lock(ctx, "holder:"+ext)
			if err != nil {
				return acs.Wrap(op, Name, acs.Canceled, err)
			}
			defer unlock()
		}
	}
	return p.removeByKey(ctx, op, ext, id, holders)
}

// removeByKey removes holders and every other cardholder carrying ext.
func (p *Provider) removeByKey(ctx context.Context, op, ext string, skip guid, holders []holderInfo) error {
	more, err := p.holdersByKey(ctx, op, ext, skip)
	if err != nil {
		return err
	}
	return p.removeHolders(ctx, op, append(holders, more...))
}

// removeFields are read from a cardholder before it is removed.
var removeFields = []string{"Guid", "EntityType", "Name", "Credentials"}

// holderByID reads the cardholder to remove; found is false when the Web
// SDK confirms it absent. An entity that is not a person, or does not
// carry ext (when given), is refused.
func (p *Provider) holderByID(ctx context.Context, op string, id guid, ext string) (holderInfo, bool, error) {
	objs, gone, err := p.readPresent(ctx, op, []readSeg{{id, removeFields}})
	if err != nil || len(gone) > 0 {
		return holderInfo{}, false, err
	}
	h := toHolder(objs[id])
	switch {
	case h.typ == "":
		err := p.settle(ctx, op, id, acs.Errorf(op, Name, acs.Unknown, "the Web SDK did not say what entity %s is", id))
		return holderInfo{}, false, err
	case !isPerson(h.typ):
		return holderInfo{}, false, acs.Errorf(op, Name, acs.InvalidArgument, "entity %s is a %s, not a cardholder; refusing to delete it", id, h.typ)
	case ext != "" && !ownsKey(h.name, ext):
		return holderInfo{}, false, acs.Errorf(op, Name, acs.Conflict, "cardholder %s does not carry external ID %q; refusing to delete it", id, ext)
	}
	h.id = id
	return h, true, nil
}

// holdersByKey finds every cardholder carrying ext, except skip, among
// the members of the Provider's partition when it has one.
func (p *Provider) holdersByKey(ctx context.Context, op, ext string, skip guid) ([]holderInfo, error) {
	ids, err := p.search(ctx, op, typeCardholder, keyToken(ext))
	if err != nil {
		return nil, err
	}
	if ids, err = p.scoped(ctx, op, ids); err != nil {
		return nil, err
	}
	ids = slices.DeleteFunc(ids, func(g guid) bool { return g == skip })
	segs := make([]readSeg, len(ids))
	for i, id := range ids {
		segs[i] = readSeg{id, removeFields}
	}
	objs, _, err := p.readPresent(ctx, op, segs)
	if err != nil {
		return nil, err
	}
	var out []holderInfo
	for _, id := range ids {
		o, ok := objs[id]
		if !ok {
			continue
		}
		if h := toHolder(o); isPerson(h.typ) && ownsKey(h.name, ext) {
			h.id = id
			out = append(out, h)
		}
	}
	return out, nil
}

// removeHolders deletes each cardholder's credentials, then the
// cardholder.
func (p *Provider) removeHolders(ctx context.Context, op string, holders []holderInfo) error {
	for _, h := range holders {
		for _, c := range h.creds {
			if err := p.deleteEntity(ctx, op, c); err != nil {
				return err
			}
		}
		if err := p.deleteEntity(ctx, op, h.id); err != nil {
			return err
		}
	}
	return nil
}
