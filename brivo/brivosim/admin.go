package brivosim

import (
	"fmt"
	"net/http"
	"slices"
	"time"
)

// hold assigns credential c to user uid with a window (uid 0: unassigned)
// and keeps the per-user index. s.mu is held.
func (s *Server) hold(c *credential, uid int64, from, to time.Time) {
	if c.user != 0 {
		delete(s.held[c.user], c.id)
		if len(s.held[c.user]) == 0 {
			delete(s.held, c.user)
		}
	}
	c.user, c.from, c.to = uid, from, to
	if uid != 0 {
		if s.held[uid] == nil {
			s.held[uid] = map[int64]*credential{}
		}
		s.held[uid][c.id] = c
	}
}

// The helpers below change the account as an administrator would in
// Brivo's web UI, behind the adapter's back: reconciliation tests use them
// to make the ACS drift from what the VMS believes.

// DeleteUser deletes a user as an administrator would: its credentials are
// unassigned (they stay in the account), its group memberships and
// mobile-pass invitations go with it.
func (s *Server) DeleteUser(userID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userID]
	if u == nil {
		return fmt.Errorf("brivosim: no user %d", userID)
	}
	s.deleteUserLocked(u)
	return nil
}

// DeleteCredential deletes a credential, unassigning it first when it is
// assigned.
func (s *Server) DeleteCredential(credentialID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.credentials[credentialID]
	if c == nil {
		return fmt.Errorf("brivosim: no credential %d", credentialID)
	}
	s.hold(c, 0, time.Time{}, time.Time{})
	delete(s.credentials, c.id)
	return nil
}

// UnassignCredential takes a credential away from the user holding it; it
// stays in the account, unassigned.
func (s *Server) UnassignCredential(credentialID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.credentials[credentialID]
	if c == nil || c.user == 0 {
		return fmt.Errorf("brivosim: credential %d does not exist or is not assigned", credentialID)
	}
	s.hold(c, 0, time.Time{}, time.Time{})
	return nil
}

// SetCredentialWindow changes the effective window of an assigned
// credential (a zero to is open-ended), as editing the assignment's
// effectiveFrom/effectiveTo would. Brivo keeps the window on the
// assignment: the user's own effectiveFrom/effectiveTo bound only its PIN.
func (s *Server) SetCredentialWindow(credentialID int64, from, to time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.credentials[credentialID]
	if c == nil || c.user == 0 {
		return fmt.Errorf("brivosim: credential %d does not exist or is not assigned", credentialID)
	}
	if !to.IsZero() && !from.Before(to) {
		return fmt.Errorf("brivosim: effectiveFrom %s is not before effectiveTo %s", from, to)
	}
	s.hold(c, c.user, from, to)
	return nil
}

// RemoveMember takes a user out of a group.
func (s *Server) RemoveMember(groupID, userID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, u := s.groups[groupID], s.users[userID]
	if g == nil || u == nil || !g.members[userID] {
		return fmt.Errorf("brivosim: user %d is not a member of group %d", userID, groupID)
	}
	delete(g.members, userID)
	delete(u.groups, groupID)
	return nil
}

// SetGroups makes a user a member of exactly the given groups (at most 16,
// Brivo's limit).
func (s *Server) SetGroups(userID int64, groupIDs ...int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userID]
	if u == nil {
		return fmt.Errorf("brivosim: no user %d", userID)
	}
	ids := slices.Compact(slices.Sorted(slices.Values(groupIDs)))
	if len(ids) > maxGroupsPerUser {
		return fmt.Errorf("brivosim: %d groups, more than Brivo's %d", len(ids), maxGroupsPerUser)
	}
	for _, id := range ids {
		if s.groups[id] == nil {
			return fmt.Errorf("brivosim: no group %d", id)
		}
	}
	for id := range u.groups {
		delete(s.groups[id].members, userID)
	}
	clear(u.groups)
	for _, id := range ids {
		s.groups[id].members[userID] = true
		u.groups[id] = true
	}
	return nil
}

// SetReadOnly marks a user as kept by an identity provider (SCIM or
// directory sync) or not: while it is, suspending or reinstating it (PUT
// /users/{id}/suspended) is refused with 403 and a message saying so,
// while its group membership may still change. Brivo's real answer is not
// documented.
func (s *Server) SetReadOnly(userID int64, readOnly bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userID]
	if u == nil {
		return fmt.Errorf("brivosim: no user %d", userID)
	}
	u.readOnly = readOnly
	return nil
}

func readOnlyAnswer() answer {
	return errAnswer(http.StatusForbidden, "User is managed by an identity provider and cannot be modified")
}
