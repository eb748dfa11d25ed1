package origo

import (
	"strconv"
	"strings"

	"github.com/acsbridge/acsbridge/acs"
)

// refPrefix starts the IDs of the references Provision returns for a
// mobile ID. They join the Origo IDs with the door ACS's own:
//
//	cardholder  origo:<Origo user ID>:<door cardholder ID>
//	credential  origo:<Origo user ID>:<Origo credential ID>:<card number>:<door credential ID>
//
// Origo IDs are letters, digits, '-' and '_' (checkID), so the door's ID,
// last, may hold anything, colons included. The card number is the one
// Origo issued: the visitor engine keeps its own card in the reference's
// Card field, and Revoke must give the door ACS the card it holds.
const refPrefix = "origo:"

// holderID returns the cardholder reference ID of a mobile ID.
func holderID(userID, doorID string) string {
	return refPrefix + userID + ":" + doorID
}

// credID returns the credential reference ID of a mobile ID.
func credID(userID, credentialID string, card uint64, doorID string) string {
	return refPrefix + userID + ":" + credentialID + ":" + strconv.FormatUint(card, 10) + ":" + doorID
}

// mobileRef is a parsed credential reference ID.
type mobileRef struct {
	userID, credentialID string
	card                 uint64
	doorID               string
}

// parseCredID reads a credential reference ID of a mobile ID; ok is false
// for any other ID (a door credential's, or a malformed one).
func parseCredID(id string) (r mobileRef, ok bool) {
	rest, ok := strings.CutPrefix(id, refPrefix)
	if !ok {
		return r, false
	}
	parts := strings.SplitN(rest, ":", 4)
	if len(parts) != 4 || checkID("", "", parts[0]) != nil || checkID("", "", parts[1]) != nil {
		return r, false
	}
	n, err := strconv.ParseUint(parts[2], 10, 64)
	if err != nil {
		return r, false
	}
	return mobileRef{userID: parts[0], credentialID: parts[1], card: n, doorID: parts[3]}, true
}

// parseHolderID reads a cardholder reference ID of a mobile ID.
func parseHolderID(id string) (userID, doorID string, ok bool) {
	rest, ok := strings.CutPrefix(id, refPrefix)
	if !ok {
		return "", "", false
	}
	userID, doorID, ok = strings.Cut(rest, ":")
	if !ok || checkID("", "", userID) != nil {
		return "", "", false
	}
	return userID, doorID, true
}

// DoorRef returns the door ACS's reference of a credential reference
// Provision returned for a mobile ID: the door's credential and cardholder
// IDs and the card Origo issued, as the door ACS holds them (for an
// oracle, a report, or a call to the door provider itself). ok is false
// for a reference that is not a mobile ID's; such a reference already is
// the door's.
func (i *Issuer) DoorRef(ref acs.CredentialRef) (acs.CredentialRef, bool) {
	m, ok := parseCredID(ref.ID)
	if !ok {
		return ref, false
	}
	out := acs.CredentialRef{ID: m.doorID, CardholderExternalID: ref.CardholderExternalID,
		Card: acs.Card{Format: i.cfg.CardFormat, Facility: i.cfg.FacilityCode, Number: m.card}}
	if _, doorHolder, ok := parseHolderID(ref.CardholderID); ok {
		out.CardholderID = doorHolder
	}
	return out, true
}

// card returns the door card of an Origo card number.
func (i *Issuer) card(number uint64) acs.Card {
	return acs.Card{Format: i.cfg.CardFormat, Facility: i.cfg.FacilityCode, Number: number}
}
