package genetecsim

import (
	"slices"
	"strings"
	"time"
)

// The methods below change the server's state behind its clients' backs,
// as an administrator working in Config Tool would. Reconciliation tests
// use them to make the ACS drift from what a client provisioned.

// DeleteCredential deletes a credential. It returns false when no
// credential has the GUID (with or without dashes).
func (s *Server) DeleteCredential(guid string) bool {
	g, ok := ParseGUID(guid)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.st.byGUID[g]; e == nil || e.typ != TypeCredential {
		return false
	}
	s.st.delete(g)
	return true
}

// SetWindow sets the activation period of a cardholder or credential, as
// ActivationMode=SpecificActivationPeriod(from,until) would; a zero until
// removes it (the entity is then active without bounds). Security Center
// enforces both windows: a credential opens only inside its own period and
// its cardholder's, so widening one of them alone changes nothing a door
// sees. It returns false when no cardholder or credential has the GUID,
// or when until is not after from.
func (s *Server) SetWindow(guid string, from, until time.Time) bool {
	g, ok := ParseGUID(guid)
	if !ok || !until.IsZero() && !until.After(from) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.st.byGUID[g]
	if e == nil || e.typ != TypeCardholder && e.typ != TypeCredential {
		return false
	}
	e.act = activation{}
	if !until.IsZero() {
		e.act = activation{kind: "SpecificActivationPeriod", from: from.UTC(), until: until.UTC()}
	}
	s.st.changed()
	return true
}

// SetGroups replaces the cardholder groups (the access levels) of a
// cardholder or visitor. It returns false when no cardholder has the
// GUID or a group does not exist.
func (s *Server) SetGroups(cardholder string, groups ...string) bool {
	g, ok := ParseGUID(cardholder)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.st.byGUID[g]
	if e == nil || !e.person() {
		return false
	}
	var gs []string
	for _, raw := range groups {
		id, ok := ParseGUID(raw)
		if grp := s.st.byGUID[id]; !ok || grp == nil || grp.typ != TypeCardholderGroup {
			return false
		}
		if !slices.Contains(gs, id) {
			gs = append(gs, id)
		}
	}
	e.groups = gs
	s.st.changed()
	return true
}

// SetState sets the State of a cardholder, visitor or credential:
// "Active" or "Inactive", and for a credential also "Lost" or "Stolen"
// (any case). It returns false when no such entity has the GUID or the
// state does not apply to it.
func (s *Server) SetState(guid, state string) bool {
	g, ok := ParseGUID(guid)
	if !ok {
		return false
	}
	allowed := []string{"Active", "Inactive"}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.st.byGUID[g]
	switch {
	case e == nil:
		return false
	case e.typ == TypeCredential:
		allowed = append(allowed, "Lost", "Stolen")
	case !e.person():
		return false
	}
	for _, a := range allowed {
		if strings.EqualFold(a, state) {
			e.state = a
			s.st.changed()
			return true
		}
	}
	return false
}

// SetReadOnly marks a cardholder as kept by a directory (Active Directory
// or SCIM synchronisation) or not: while it is, every write to the entity
// itself (State, names, Groups@ on the cardholder, its credentials) is
// refused with a Fail saying the cardholder is synchronized and
// read-only, while a cardholder group may still add or remove it
// (AddCardholderIntoGroup, Members@). Security Center's exact wording is
// not public. It returns false when no cardholder has the GUID.
func (s *Server) SetReadOnly(guid string, readOnly bool) bool {
	g, ok := ParseGUID(guid)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.st.byGUID[g]
	if e == nil || !e.person() {
		return false
	}
	e.readOnly = readOnly
	return true
}
