package origo

import (
	"context"
	"fmt"

	"github.com/acsbridge/acsbridge/acs"
)

// MobileID is what Origo holds for one external ID: its user, the open
// invitation and the issued credential.
type MobileID struct {
	UserID string
	// InvitationID, InvitationCode and InvitationStatus describe the open
	// invitation; empty when there is none. The code lets whoever holds it
	// claim the visitor's mobile ID in the app: hand it to the visitor
	// only (String leaves it out).
	InvitationID, InvitationCode, InvitationStatus string
	// CredentialID and CredentialStatus describe the issued credential;
	// empty until the phone accepted.
	CredentialID, CredentialStatus string
	// Card is the door card of the issued credential; zero until then.
	Card acs.Card
}

// String describes m without the invitation code.
func (m MobileID) String() string {
	s := "origo user " + m.UserID
	if m.InvitationID != "" {
		s += fmt.Sprintf(", invitation %s %s", m.InvitationID, m.InvitationStatus)
	}
	if m.CredentialID != "" {
		s += fmt.Sprintf(", credential %s %s, card %s", m.CredentialID, m.CredentialStatus, m.Card)
	}
	return s
}

// Status reads what Origo holds for externalID (a search, or the user the
// issuer remembers, and a read): for a VMS that shows the invitation code
// at the desk or tells the visitor to accept it. An external ID without an
// Origo user is a NotFound error.
func (i *Issuer) Status(ctx context.Context, externalID string) (MobileID, error) {
	const op = "status"
	if err := acs.ValidateExternalID(externalID); err != nil {
		return MobileID{}, acs.Wrap(op, Name, acs.InvalidArgument, err)
	}
	if err := ctx.Err(); err != nil {
		return MobileID{}, acs.Wrap(op, Name, acs.Canceled, err)
	}
	ids := []string{}
	if id, ok := i.waits.userOf(externalID); ok {
		ids = append(ids, id)
	} else {
		var err error
		if ids, err = i.searchUsers(ctx, op, externalID); err != nil {
			return MobileID{}, err
		}
	}
	for _, id := range ids {
		u, found, err := i.getUser(ctx, op, id)
		if err != nil {
			return MobileID{}, err
		}
		if found {
			return i.describe(u), nil
		}
	}
	return MobileID{}, acs.Errorf(op, Name, acs.NotFound, "no Origo user has external ID %s", externalID)
}

func (i *Issuer) describe(u mobileUser) MobileID {
	m := MobileID{UserID: u.id}
	if v := u.openInvitation(i.now()); v != nil {
		m.InvitationID, m.InvitationCode, m.InvitationStatus = v.id, v.code, status(v.status)
	}
	if c := u.issued(i.cfg.PartNumber); c != nil {
		m.CredentialID, m.CredentialStatus, m.Card = c.id, status(c.status), i.card(c.card)
	}
	return m
}
