package netbox

import (
	"context"
	"strings"

	"github.com/acsbridge/acsbridge/acs"
)

// Holdings implements acs.Inventory: it lists the people SearchPersonData
// returns (every page; NetBox's default leaves soft-deleted people out,
// and any that come back are skipped) whose PERSONID is
// Config.PersonIDPrefix followed by a valid external ID, and reads each
// with GetPerson: one request per page of people and one per marked
// person, in turn. Each credential carries its card when Config.Layouts
// maps its format (else a zero card), the person's access levels as keys,
// and the person's ACTDATE and EXPDATE as the window (CARDEXPDATE when it
// ends earlier). A credential is Active when it is not disabled, its
// status is ACTIVE and its person is not deleted.
func (p *Provider) Holdings(ctx context.Context, fn func(acs.Holding) error) error {
	const op = "holdings"
	if err := ctx.Err(); err != nil {
		return acs.Wrap(op, Name, acs.Canceled, err)
	}
	ids, err := p.search(ctx, op)
	if err != nil {
		return err
	}
	for _, id := range ids {
		ext, ok := strings.CutPrefix(id, p.cfg.PersonIDPrefix)
		if !ok || acs.ValidateExternalID(ext) != nil {
			continue
		}
		r, err := p.getPerson(ctx, op, id)
		if err != nil {
			return err
		}
		if r == nil || r.deleted {
			continue // removed since the search, or soft-deleted
		}
		h, err := p.holding(ctx, op, r, ext)
		if err != nil {
			return err
		}
		if err := fn(h); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return acs.Wrap(op, Name, acs.Canceled, err)
		}
	}
	return nil
}

// holding describes one marked person as the controller holds it.
func (p *Provider) holding(ctx context.Context, op string, r *personRec, ext string) (acs.Holding, error) {
	keys, err := p.levelKeys(ctx, op, r.levels)
	if err != nil {
		return acs.Holding{}, err
	}
	h := acs.Holding{Cardholder: acs.CardholderRef{ID: r.id, ExternalID: ext}, FirstName: r.first, LastName: r.last,
		Credentials: []acs.HeldCredential{}}
	for _, c := range r.cards {
		card, _ := p.cardOf(c.format, c.encoded)
		until := r.exp
		if !c.exp.IsZero() && (until.IsZero() || c.exp.Before(until)) {
			until = c.exp
		}
		h.Credentials = append(h.Credentials, acs.HeldCredential{
			Ref:          acs.CredentialRef{ID: c.id, CardholderID: r.id, CardholderExternalID: ext, Card: card},
			Active:       !r.deleted && c.enabled(),
			AccessLevels: keys,
			ValidFrom:    r.act,
			ValidUntil:   until,
		})
	}
	return h, nil
}
