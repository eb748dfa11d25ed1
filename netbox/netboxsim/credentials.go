package netboxsim

import (
	"strconv"
	"strings"
)

func digits(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (s *Server) addCredential(c *command) *result {
	id, _ := c.param("PERSONID")
	p, found := s.people[id]
	if !found || id == "" {
		return fail("Person not found")
	}
	format, _ := c.param("CARDFORMAT")
	if !contains(s.formats, format) {
		return fail("Invalid card format: " + format)
	}
	enc, hasEnc := c.param("ENCODEDNUM")
	hot, hasHot := c.param("HOTSTAMP")
	switch {
	case !hasEnc && !hasHot:
		return fail("ENCODEDNUM or HOTSTAMP is required")
	case hasEnc && !digits(enc):
		return fail("Invalid encoded number: " + enc)
	}
	if hasEnc && s.findCard(format, enc) != nil {
		return &result{code: "DUPLICATE", errmsg: "Credential already exists"}
	}
	cr := &credential{encoded: enc, hotstamp: hot, format: format, status: "ACTIVE"}
	if v, ok := c.param("CARDSTATUS"); ok && v != "" {
		cr.status = v
	}
	if v, ok := c.param("CARDEXPDATE"); ok {
		t, good := s.parseDate(v)
		if !good {
			return fail("Invalid date format for CARDEXPDATE: " + v)
		}
		cr.exp = t
	}
	cr.id = strconv.FormatInt(s.nextSeq(), 10)
	p.creds = append(p.creds, cr)
	d := el("DETAILS", "").add(el("PERSONID", p.id))
	if v, _ := c.param("WANTCREDENTIALID"); truthy(v) {
		d.add(el("CREDENTIALID", cr.id))
	}
	return ok(d)
}

// findCard returns the credential of a card format and encoded number.
func (s *Server) findCard(format, enc string) *credential {
	for _, p := range s.people {
		for _, c := range p.creds {
			if c.format == format && c.encoded == enc {
				return c
			}
		}
	}
	return nil
}

// addressed finds the credential a Modify or RemoveCredential names: by
// CREDENTIALID, else by ENCODEDNUM and CARDFORMAT, else by HOTSTAMP,
// within PERSONID's credentials when given.
func (s *Server) addressed(c *command) (*person, int) {
	pid, hasPerson := c.param("PERSONID")
	cid, hasID := c.param("CREDENTIALID")
	enc, hasEnc := c.param("ENCODEDNUM")
	format, _ := c.param("CARDFORMAT")
	hot, hasHot := c.param("HOTSTAMP")
	for _, id := range s.order {
		p := s.people[id]
		if hasPerson && p.id != pid {
			continue
		}
		for i, cr := range p.creds {
			switch {
			case hasID && cr.id == cid,
				!hasID && hasEnc && cr.encoded == enc && cr.format == format,
				!hasID && !hasEnc && hasHot && cr.hotstamp == hot:
				return p, i
			}
		}
	}
	return nil, -1
}

func (s *Server) modifyCredential(c *command) *result {
	p, i := s.addressed(c)
	if p == nil {
		return s.missingAnswer()
	}
	cr := *p.creds[i]
	if v, ok := c.param("DISABLED"); ok {
		switch strings.ToUpper(v) {
		case "1", "TRUE":
			cr.disabled = true
		case "0", "FALSE":
			cr.disabled = false
		default:
			return fail("Invalid value for DISABLED: " + v)
		}
	}
	if v, ok := c.param("CARDSTATUS"); ok {
		cr.status = v
	}
	if v, ok := c.param("CARDEXPDATE"); ok {
		t, good := s.parseDate(v)
		if !good {
			return fail("Invalid date format for CARDEXPDATE: " + v)
		}
		cr.exp = t
	}
	*p.creds[i] = cr
	return ok(nil)
}

func (s *Server) removeCredential(c *command) *result {
	p, i := s.addressed(c)
	if p == nil {
		return s.missingAnswer()
	}
	p.creds = append(p.creds[:i], p.creds[i+1:]...)
	return ok(nil)
}
