package chaos

import (
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/visitor"
)

// ACSCredential is a credential as an ACS stores it, read from the
// simulator's oracle.
type ACSCredential struct {
	// ID is the ACS's own identifier.
	ID string
	// Holder is the external ID of the cardholder holding it; empty when
	// the holder carries none.
	Holder string
	// Card is the site's key for the card data (see Site.CardKey).
	Card string
	// Live reports whether it opens one of the site's access levels at
	// the probe time.
	Live bool
}

// Snapshot is what one ACS holds, read from its simulator.
type Snapshot struct {
	// Holders counts the cardholders by external ID.
	Holders map[string]int
	// Anonymous counts cardholders without a recognisable external ID.
	Anonymous int
	// Credentials are the credentials assigned to cardholders.
	Credentials []ACSCredential
	// Unassigned counts credentials assigned to nobody (they open
	// nothing).
	Unassigned int
	// Issuer is, at a credential issuer's site (Origo), what the issuer
	// in front of the door holds; the fields above are the door's. It is
	// nil at a door provider's site.
	Issuer *IssuerSnapshot
}

// IssuerSnapshot is what a credential issuer (Origo) holds, read from its
// simulator.
type IssuerSnapshot struct {
	// Users counts the issuer's users by external ID ("" for a user
	// without one).
	Users map[string]int
	// Invitations counts the open invitations (pending, not expired) by
	// the external ID of their user.
	Invitations map[string]int
	// Credentials are the credentials issued to a phone and not revoked.
	Credentials []IssuedCredential
}

// IssuedCredential is a credential an issuer issued to a phone.
type IssuedCredential struct {
	// ID is the issuer's own identifier.
	ID string
	// Holder is the external ID of the user it was issued to.
	Holder string
	// Card is the site's key for the card it is at the door.
	Card string
}

// CardKey returns how the site's oracle identifies the card: the decoded
// card for Genetec (which stores the raw frame) and the Genetec door behind
// Origo, the badge ID (the card number) for Lenel, the card number for
// NetBox, facility code and number for the others.
func (site *Site) CardKey(c acs.Card) string { return kits[site.Kind].cardKey(c) }

// heldCard returns the site's key for the card that a visit's credential
// holds at the ACS: at an issuer's site, the card the issuer issued, which
// the credential's reference names (its Card is the Engine's own
// bookkeeping); elsewhere CardKey of its card.
func (site *Site) heldCard(c visitor.Credential) string {
	if k := kits[site.Kind]; k.heldCard != nil {
		return k.heldCard(c)
	}
	return site.CardKey(c.Card)
}

// Snapshot reads the site's true state. Credentials are probed at time at;
// visitIDs are the external IDs the caller knows (Brivo's oracle finds
// users by external ID only).
func (site *Site) Snapshot(at time.Time, visitIDs []string) Snapshot {
	return kits[site.Kind].snapshot(site, at, visitIDs)
}
