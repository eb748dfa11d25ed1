package verkada

import "github.com/acsbridge/acsbridge/acs"

var _ acs.UnknownCardEvents = (*Provider)(nil)

// ReportsUnknownCards reports true (acs.UnknownCardEvents): every access
// event carries the presented card as event_info.rawCard, a card Verkada
// does not know included, which Events decodes into DoorEvent.Card when
// exactly one known format fits, so that tap to enrol works with Verkada.
func (p *Provider) ReportsUnknownCards() bool { return true }
