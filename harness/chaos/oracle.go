package chaos

import (
	"time"

	"github.com/acsbridge/acsbridge/acs"
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
}

// CardKey returns how the site's oracle identifies the card: the decoded
// card for Genetec (which stores the raw frame), the badge ID (the card
// number) for Lenel, facility code and number for the others.
func (site *Site) CardKey(c acs.Card) string { return kits[site.Kind].cardKey(c) }

// Snapshot reads the site's true state. Credentials are probed at time at;
// visitIDs are the external IDs the caller knows (Brivo's oracle finds
// users by external ID only).
func (site *Site) Snapshot(at time.Time, visitIDs []string) Snapshot {
	return kits[site.Kind].snapshot(site, at, visitIDs)
}
