package netboxsim

import (
	"strconv"
	"strings"
	"time"
)

// Opens reports whether the credential with the given CREDENTIALID opens
// doors of the access level with the given key at time at: its person
// exists and is not deleted, at lies within the person's ACTDATE/EXPDATE
// (an unset bound is open; EXPDATE is exclusive), the credential is not
// disabled, its CARDSTATUS is ACTIVE, its CARDEXPDATE (if set) has not
// passed, and the person holds the level.
func (s *Server) Opens(credentialID, levelKey string, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := ""
	for _, l := range s.levels {
		if l.key == levelKey {
			name = l.name
		}
	}
	for _, p := range s.people {
		for _, c := range p.creds {
			if c.id == credentialID {
				return name != "" && s.opensLocked(p, c, name, at)
			}
		}
	}
	return false
}

// opensLocked applies Opens' rule to one credential and level name.
func (s *Server) opensLocked(p *person, c *credential, levelName string, at time.Time) bool {
	switch {
	case p.deleted || c.disabled || !strings.EqualFold(c.status, "ACTIVE"):
		return false
	case !p.act.IsZero() && at.Before(p.act):
		return false
	case !p.exp.IsZero() && !at.Before(p.exp):
		return false
	case !c.exp.IsZero() && !at.Before(c.exp):
		return false
	}
	return contains(p.levels, levelName)
}

// Census counts what the controller stores.
type Census struct {
	People      int // person records, soft-deleted ones included
	Deleted     int // of which soft-deleted
	Credentials int
}

// Census counts the stored people and credentials.
func (s *Server) Census() Census {
	s.mu.Lock()
	defer s.mu.Unlock()
	var c Census
	for _, p := range s.people {
		c.People++
		if p.deleted {
			c.Deleted++
		}
		c.Credentials += len(p.creds)
	}
	return c
}

// PersonInfo is a person record as the controller holds it.
type PersonInfo struct {
	ID        string
	FirstName string
	LastName  string
	// Fields holds every text field stored (FIRSTNAME, LASTNAME, NOTES,
	// UDF1, …).
	Fields      map[string]string
	ActDate     time.Time // zero: unset
	ExpDate     time.Time // zero: unset
	Levels      []string  // access level names
	Deleted     bool
	Credentials []CredentialInfo
}

// CredentialInfo is a credential as the controller holds it.
type CredentialInfo struct {
	ID         string
	EncodedNum string
	HotStamp   string
	Format     string
	Disabled   bool
	Status     string
	ExpDate    time.Time
}

func (p *person) info() PersonInfo {
	in := PersonInfo{ID: p.id, FirstName: p.fields["FIRSTNAME"], LastName: p.fields["LASTNAME"],
		Fields: map[string]string{}, ActDate: p.act, ExpDate: p.exp, Levels: append([]string(nil), p.levels...), Deleted: p.deleted}
	for k, v := range p.fields {
		in.Fields[k] = v
	}
	for _, c := range p.creds {
		in.Credentials = append(in.Credentials, CredentialInfo{ID: c.id, EncodedNum: c.encoded, HotStamp: c.hotstamp,
			Format: c.format, Disabled: c.disabled, Status: c.status, ExpDate: c.exp})
	}
	return in
}

// Person returns the person with the given PERSONID.
func (s *Server) Person(id string) (PersonInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.people[id]
	if !ok {
		return PersonInfo{}, false
	}
	return p.info(), true
}

// People returns every person, in creation order.
func (s *Server) People() []PersonInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PersonInfo, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.people[id].info())
	}
	return out
}

// FindCredential returns the CREDENTIALID of the person's credential with
// the given card format and encoded number.
func (s *Server) FindCredential(personID, format, encoded string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.people[personID]; ok {
		for _, c := range p.creds {
			if c.format == format && c.encoded == encoded {
				return c.id, true
			}
		}
	}
	return "", false
}

// AddPerson stores a person as an administrator would (an employee, say):
// ID, names, window, levels (names) and credentials (IDs are assigned).
// It reports false when the ID is taken.
func (s *Server) AddPerson(in PersonInfo) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.people[in.ID]; taken || in.ID == "" {
		return false
	}
	p := &person{id: in.ID, seq: s.nextSeq(), fields: map[string]string{"FIRSTNAME": in.FirstName, "LASTNAME": in.LastName},
		act: in.ActDate, exp: in.ExpDate, levels: append([]string(nil), in.Levels...), deleted: in.Deleted}
	for k, v := range in.Fields {
		p.fields[k] = v
	}
	for _, c := range in.Credentials {
		st := c.Status
		if st == "" {
			st = "ACTIVE"
		}
		p.creds = append(p.creds, &credential{id: formatSeq(s.nextSeq()), encoded: c.EncodedNum, hotstamp: c.HotStamp,
			format: c.Format, disabled: c.Disabled, status: st, exp: c.ExpDate})
	}
	s.people[p.id] = p
	s.order = append(s.order, p.id)
	return true
}

// DeleteCredential removes a credential behind the adapter's back.
func (s *Server) DeleteCredential(personID, credentialID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.people[personID]
	if !ok {
		return false
	}
	for i, c := range p.creds {
		if c.id == credentialID {
			p.creds = append(p.creds[:i], p.creds[i+1:]...)
			return true
		}
	}
	return false
}

// SetPersonWindow changes a person's ACTDATE and EXPDATE behind the
// adapter's back (zero: unset).
func (s *Server) SetPersonWindow(personID string, act, exp time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.people[personID]
	if ok {
		p.act, p.exp = act, exp
	}
	return ok
}

// SetPersonLevels replaces a person's access levels (names) behind the
// adapter's back.
func (s *Server) SetPersonLevels(personID string, names ...string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.people[personID]
	if ok {
		p.levels = append([]string(nil), names...)
	}
	return ok
}

// SetCredentialDisabled disables or enables a credential behind the
// adapter's back.
func (s *Server) SetCredentialDisabled(credentialID string, disabled bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.people {
		for _, c := range p.creds {
			if c.id == credentialID {
				c.disabled = disabled
				return true
			}
		}
	}
	return false
}

func formatSeq(n int64) string { return strconv.FormatInt(n, 10) }
