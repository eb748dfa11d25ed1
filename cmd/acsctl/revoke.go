package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/acsbridge/acsbridge/acs"
)

// revokeArgs are revoke's flags.
type revokeArgs struct{ credentialID, cardholderID string }

// revokeFlags defines revoke's flags.
func revokeFlags() (*flagSet, *revokeArgs) {
	o := &revokeArgs{}
	fs := newFlagSet("revoke")
	fs.String(&o.credentialID, "credential-id", "", "the credential `ID`: the credential_id provision printed (required)")
	fs.String(&o.cardholderID, "cardholder-id", "", "the cardholder `ID`: the cardholder_id provision printed; needed only when several cardholders hold credentials with that credential ID")
	return fs, o
}

// Outcomes of revoke, as its JSON "outcome" names them.
const (
	// outcomeRevoked: the ACS held the credential active; it is revoked.
	outcomeRevoked = "revoked"
	// outcomeAlreadyRevoked: the ACS held the credential, already
	// inactive; the revocation was sent again for any duplicate.
	outcomeAlreadyRevoked = "already_revoked"
	// outcomeNotFound: no cardholder acsbridge provisioned holds the
	// credential; nothing was sent.
	outcomeNotFound = "not_found"
	// outcomeUnchecked: the provider cannot list what it holds
	// (no acs.Inventory); the revocation was sent, and the adapter
	// reports success for a credential that does not exist.
	outcomeUnchecked = "unchecked"
)

// revokeResult is what revoke prints.
type revokeResult struct {
	// Revoked reports whether a credential that could open doors was
	// revoked by this call (false: nothing to revoke).
	Revoked      bool   `json:"revoked"`
	Outcome      string `json:"outcome"`
	CredentialID string `json:"credential_id"`
	CardholderID string `json:"cardholder_id,omitempty"`
}

func (a *app) revoke(ctx context.Context, args []string) error {
	fs, o := revokeFlags()
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("revoke: unexpected argument %q", fs.Arg(0))
	}
	if o.credentialID == "" {
		return usagef("revoke: --credential-id is required (the credential_id provision printed)")
	}
	p, err := a.newProvider()
	if err != nil {
		return err
	}
	defer closeProvider(p)
	res, err := revokeCredential(ctx, p, o.credentialID, o.cardholderID)
	if err != nil {
		return err
	}
	return a.emit(res, res.text(p.Name()))
}

// text is the result as revoke prints it.
func (r revokeResult) text(provider string) string {
	of := ""
	if r.CardholderID != "" {
		of = " of cardholder " + r.CardholderID
	}
	switch r.Outcome {
	case outcomeRevoked:
		return fmt.Sprintf("revoked credential %s%s\n", r.CredentialID, of)
	case outcomeAlreadyRevoked:
		return fmt.Sprintf("nothing to revoke: credential %s%s was already revoked at %s\n", r.CredentialID, of, provider)
	case outcomeNotFound:
		return fmt.Sprintf("nothing to revoke: %s holds no credential %s%s on a cardholder acsbridge provisioned; nothing was sent (check the credential_id provision printed)\n",
			provider, r.CredentialID, of)
	}
	return fmt.Sprintf("revoked credential %s%s (%s cannot list what it holds, so whether it existed is unknown: its adapter reports success for a credential that does not exist)\n",
		r.CredentialID, of, provider)
}

// revokeCredential revokes the credential credentialID after asking the
// ACS, through acs.Inventory, which cardholder acsbridge provisioned
// holds it (holderID, when given, narrows the search). A credential no
// such cardholder holds is not sent for revocation.
func revokeCredential(ctx context.Context, p acs.Provider, credentialID, holderID string) (revokeResult, error) {
	res := revokeResult{CredentialID: credentialID, CardholderID: holderID}
	inv, ok := p.(acs.Inventory)
	if !ok {
		if err := p.Revoke(ctx, acs.CredentialRef{ID: credentialID, CardholderID: holderID}); err != nil {
			return res, err
		}
		res.Revoked, res.Outcome = true, outcomeUnchecked
		return res, nil
	}
	found, err := findHeld(ctx, inv, credentialID, holderID)
	if err != nil {
		return res, err
	}
	switch len(found) {
	case 0:
		res.Outcome = outcomeNotFound
		return res, nil
	case 1:
	default:
		return res, usagef("revoke: credential ID %s is held by cardholders %s and %s at %s; pass --cardholder-id",
			credentialID, found[0].holder.ID, found[1].holder.ID, p.Name())
	}
	h := found[0]
	res.CardholderID = h.holder.ID
	// The external ID and the card reach a copy of the card on a duplicate
	// of the cardholder too (see acs.CredentialRef).
	ref := acs.CredentialRef{ID: credentialID, CardholderID: h.holder.ID, CardholderExternalID: h.holder.ExternalID, Card: h.cred.Ref.Card}
	if err := p.Revoke(ctx, ref); err != nil {
		return res, err
	}
	res.Revoked, res.Outcome = h.cred.Active, outcomeRevoked
	if !h.cred.Active {
		res.Outcome = outcomeAlreadyRevoked
	}
	return res, nil
}

// held is a credential the inventory lists and its cardholder.
type held struct {
	holder acs.CardholderRef
	cred   acs.HeldCredential
}

// errEnough stops the inventory listing once the answer is known.
var errEnough = errors.New("enough")

// findHeld lists the ACS's marked cardholders until it finds the
// credential credentialID (on holderID when given): it returns the one
// cardholder holding it, two when the ID is not unique without holderID,
// or none after the whole inventory.
func findHeld(ctx context.Context, inv acs.Inventory, credentialID, holderID string) ([]held, error) {
	var found []held
	err := inv.Holdings(ctx, func(h acs.Holding) error {
		if holderID != "" && h.Cardholder.ID != holderID {
			return nil
		}
		for _, c := range h.Credentials {
			if c.Ref.ID != credentialID {
				continue
			}
			if len(found) > 0 && found[0].holder.ID == h.Cardholder.ID {
				continue // the same cardholder delivered again
			}
			found = append(found, held{h.Cardholder, c})
			if holderID != "" || len(found) == 2 {
				return errEnough
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return nil, fmt.Errorf("revoke: asking which cardholder holds credential %s: %w", credentialID, err)
	}
	return found, nil
}
