package genetec

import (
	"context"
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
		return p.revokeByID(ctx, op, id, holder)
	}
	var holderID guid
	if ref.CardholderID != "" {
		var ok bool
		if holderID, ok = parseGUID(ref.CardholderID); !ok {
			return acs.Errorf(op, Name, acs.InvalidArgument, "cardholder ID %q is not a GUID", ref.CardholderID)
		}
	} else if err := acs.ValidateExternalID(ref.CardholderExternalID); err != nil {
		return acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if err := ref.Card.Validate(); err != nil {
		return acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if _, ok := cardSpecs[ref.Card.Format]; !ok {
		// This adapter never issued such a card.
		return nil
	}
	credName := credentialName(ref.Card)
	unlock, err := p.locks.lock(ctx, "holder:"+ref.CardholderExternalID, "card:"+credName)
	if err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	defer unlock()

	var (
		holderIDs, credIDs []guid
		objs               map[guid]object
	)
	for attempt := 1; ; attempt++ {
		holderIDs, credIDs, objs, err = p.revokeLookup(ctx, op, holderID, ref.CardholderExternalID, credName)
		if err == nil {
			break
		}
		if !isGone(err) {
			return err
		}
		if holderID != zeroGUID {
			// A deleted cardholder's credentials are unassigned and
			// open nothing.
			if _, err := p.read(ctx, op, []readSeg{{holderID, []string{"Guid"}}}); isGone(err) {
				return nil
			}
		}
		if attempt == 2 {
			return changedUnderfoot(op, err)
		}
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
		if ref.CardholderID == "" && !ownsKey(h.name, ref.CardholderExternalID) {
			continue
		}
		if ref.CardholderID != "" && ref.CardholderExternalID != "" && !ownsKey(h.name, ref.CardholderExternalID) {
			return acs.Errorf(op, Name, acs.Conflict, "cardholder %s does not carry external ID %q; refusing to revoke its credentials", id, ref.CardholderExternalID)
		}
		mine[id] = true
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

// revokeLookup finds the cardholders (by ID, or by key) and the
// credentials named after the card, and reads them in one request. It
// stops early when either search finds nothing.
func (p *Provider) revokeLookup(ctx context.Context, op string, holderID guid, externalID, credName string) (holderIDs, credIDs []guid, objs map[guid]object, err error) {
	if holderID != zeroGUID {
		holderIDs = []guid{holderID}
	} else if holderIDs, err = p.search(ctx, op, typeCardholder, keyToken(externalID)); err != nil || len(holderIDs) == 0 {
		return nil, nil, nil, err
	}
	if credIDs, err = p.search(ctx, op, typeCredential, credName); err != nil || len(credIDs) == 0 {
		return nil, nil, nil, err
	}
	segs := make([]readSeg, 0, len(holderIDs)+len(credIDs))
	for _, id := range holderIDs {
		segs = append(segs, readSeg{id, []string{"Guid", "EntityType", "Name"}})
	}
	for _, id := range credIDs {
		segs = append(segs, readSeg{id, credFields})
	}
	objs, err = p.read(ctx, op, segs)
	return holderIDs, credIDs, objs, err
}

func (p *Provider) revokeByID(ctx context.Context, op string, id, holder guid) error {
	objs, err := p.read(ctx, op, []readSeg{{id, []string{"Guid", "EntityType", "CardholderGuid"}}})
	if isGone(err) {
		return nil
	}
	if err != nil {
		return err
	}
	o, ok := objs[id]
	if !ok {
		return acs.Errorf(op, Name, acs.Unknown, "the Web SDK did not return credential %s", id)
	}
	if typ := o.str("EntityType"); !strings.EqualFold(typ, typeCredential) {
		return acs.Errorf(op, Name, acs.InvalidArgument, "entity %s is a %s, not a credential; refusing to delete it", id, typ)
	}
	if cur, _ := o.guid("CardholderGuid"); holder != zeroGUID && cur != zeroGUID && cur != holder {
		p.log.InfoContext(ctx, "credential now belongs to another cardholder; nothing to revoke for this one",
			"provider", Name, "credential", id.String(), "cardholder", holder.String(), "current_cardholder", cur.String())
		return nil
	}
	return p.deleteEntity(ctx, op, id)
}

// RemoveCardholder deletes the cardholder and every credential it holds
// (Security Center would otherwise keep the credentials, unassigned). With
// ref.ID the entity must be a cardholder or visitor, and must carry
// ref.ExternalID in its name when that is given; without ref.ID every
// cardholder carrying ref.ExternalID is removed. An absent cardholder is a
// success.
func (p *Provider) RemoveCardholder(ctx context.Context, ref acs.CardholderRef) error {
	const op = "remove cardholder"
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	var ids []guid
	if ref.ID != "" {
		id, ok := parseGUID(ref.ID)
		if !ok {
			return acs.Errorf(op, Name, acs.InvalidArgument, "cardholder ID %q is not a GUID", ref.ID)
		}
		ids = []guid{id}
		if ref.ExternalID != "" {
			if err := acs.ValidateExternalID(ref.ExternalID); err != nil {
				return acs.Wrap(op, Name, acs.InvalidArgument, err)
			}
		}
	} else if err := acs.ValidateExternalID(ref.ExternalID); err != nil {
		return acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if ref.ExternalID != "" {
		unlock, err := p.locks.lock(ctx, "holder:"+ref.ExternalID)
		if err != nil {
			return acs.Wrap(op, Name, acs.Canceled, err)
		}
		defer unlock()
	}
	if ids == nil {
		var err error
		if ids, err = p.search(ctx, op, typeCardholder, keyToken(ref.ExternalID)); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
	}
	segs := make([]readSeg, len(ids))
	for i, id := range ids {
		segs[i] = readSeg{id, []string{"Guid", "EntityType", "Name", "Credentials"}}
	}
	objs, err := p.read(ctx, op, segs)
	if isGone(err) && ref.ID != "" {
		return nil
	}
	if err != nil {
		return err
	}
	for _, id := range ids {
		o, ok := objs[id]
		if !ok {
			continue
		}
		h := toHolder(o)
		switch {
		case !isPerson(h.typ):
			if ref.ID != "" {
				return acs.Errorf(op, Name, acs.InvalidArgument, "entity %s is a %s, not a cardholder; refusing to delete it", id, h.typ)
			}
			continue
		case ref.ExternalID != "" && !ownsKey(h.name, ref.ExternalID):
			if ref.ID != "" {
				return acs.Errorf(op, Name, acs.Conflict, "cardholder %s does not carry external ID %q; refusing to delete it", id, ref.ExternalID)
			}
			continue
		}
		for _, c := range h.creds {
			if err := p.deleteEntity(ctx, op, c); err != nil {
				return err
			}
		}
		if err := p.deleteEntity(ctx, op, id); err != nil {
			return err
		}
	}
	return nil
}
