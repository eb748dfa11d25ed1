package netboxsim

import (
	"strconv"
	"strings"
	"time"
)

// maxLevels is how many access levels a person may hold.
const maxLevels = 32

type person struct {
	id       string
	seq      int64
	fields   map[string]string // FIRSTNAME, LASTNAME, NOTES, UDFn, …
	act, exp time.Time
	levels   []string // names
	deleted  bool
	creds    []*credential
}

type credential struct {
	id                        string
	encoded, hotstamp, format string
	disabled                  bool
	status                    string
	exp                       time.Time
}

// plainFields are the person parameters stored as text.
var plainFields = []string{"FIRSTNAME", "MIDDLENAME", "LASTNAME", "NOTES", "PIN", "CONTACTEMAIL", "CONTACTPHONE", "MOBILEPHONE"}

func (s *Server) nextSeq() int64 {
	s.seq++
	return s.seq
}

// setFields applies the person parameters of c to p; it returns a FAIL
// message when one is malformed.
func (s *Server) setFields(p *person, c *command) string {
	for _, prm := range c.params {
		switch {
		case prm.name == "ACTDATE" || prm.name == "EXPDATE":
			t, ok := s.parseDate(prm.text)
			if !ok {
				return "Invalid date format for " + prm.name + ": " + prm.text
			}
			if prm.name == "ACTDATE" {
				p.act = t
			} else {
				p.exp = t
			}
		case prm.name == "ACCESSLEVELS":
			if msg := s.applyLevels(p, prm); msg != "" {
				return msg
			}
		case isUDF(prm.name) || contains(plainFields, prm.name):
			if len(prm.kids) > 0 {
				return "Invalid value for " + prm.name
			}
			p.fields[prm.name] = prm.text
		}
	}
	if strings.TrimSpace(p.fields["LASTNAME"]) == "" {
		return "LASTNAME is required"
	}
	return ""
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// applyLevels reads ACCESSLEVELS: a list of names replaces the person's
// levels; ACCESSLEVEL blocks with ACCESSLEVELNAME and DELETE add or remove
// one each.
func (s *Server) applyLevels(p *person, blk *node) string {
	var names []string
	blocks := 0
	for _, k := range blk.kids {
		if k.name != "ACCESSLEVEL" {
			return "Unknown element " + k.name + " in ACCESSLEVELS"
		}
		if len(k.kids) > 0 {
			blocks++
		}
	}
	if blocks > 0 && blocks != len(blk.kids) {
		return "ACCESSLEVELS mixes names and blocks"
	}
	if blocks == 0 {
		for _, k := range blk.kids {
			if _, ok := s.levelByName(k.text); !ok {
				return "Access level not found: " + k.text
			}
			if !contains(names, k.text) {
				names = append(names, k.text)
			}
		}
		if len(names) > maxLevels {
			return "Too many access levels"
		}
		p.levels = names
		return ""
	}
	return s.applyLevelBlocks(p, blk)
}

func (s *Server) applyLevelBlocks(p *person, blk *node) string {
	levels := append([]string(nil), p.levels...)
	for _, k := range blk.kids {
		name, del := "", false
		for _, f := range k.kids {
			switch f.name {
			case "ACCESSLEVELNAME":
				name = f.text
			case "DELETE":
				del = truthy(f.text)
			default:
				return "The simulator does not support " + f.name + " in an ACCESSLEVEL block"
			}
		}
		if _, ok := s.levelByName(name); !ok {
			return "Access level not found: " + name
		}
		i := indexOf(levels, name)
		switch {
		case del && i >= 0:
			levels = append(levels[:i], levels[i+1:]...)
		case !del && i < 0:
			levels = append(levels, name)
		}
	}
	if len(levels) > maxLevels {
		return "Too many access levels"
	}
	p.levels = levels
	return ""
}

func indexOf(list []string, v string) int {
	for i, x := range list {
		if x == v {
			return i
		}
	}
	return -1
}

func (s *Server) addPerson(c *command) *result {
	id, _ := c.param("PERSONID")
	if id != "" {
		if _, found := s.people[id]; found {
			return &result{code: "DUPLICATE", errmsg: "Person ID already exists"}
		}
	}
	p := &person{id: id, fields: map[string]string{}}
	if msg := s.setFields(p, c); msg != "" {
		return fail(msg)
	}
	if r := s.checkPIN(p); r != nil {
		return r
	}
	p.seq = s.nextSeq()
	if p.id == "" {
		p.id = "_" + strconv.FormatInt(p.seq, 10)
	}
	s.people[p.id] = p
	s.order = append(s.order, p.id)
	return ok(el("DETAILS", "").add(el("PERSONID", p.id)))
}

func (s *Server) modifyPerson(c *command) *result {
	id, _ := c.param("PERSONID")
	p, found := s.people[id]
	if !found {
		return s.missingAnswer()
	}
	if v, given := c.param("PERSONPURGE"); given && truthy(v) {
		s.purge(id)
		return ok(nil)
	}
	cp := *p
	cp.fields = map[string]string{}
	for k, v := range p.fields {
		cp.fields[k] = v
	}
	if msg := s.setFields(&cp, c); msg != "" {
		return fail(msg)
	}
	if v, given := c.param("DELETED"); given {
		cp.deleted = truthy(v)
	}
	if r := s.checkPIN(&cp); r != nil {
		return r
	}
	*p = cp
	return ok(nil)
}

func (s *Server) purge(id string) {
	delete(s.people, id)
	if i := indexOf(s.order, id); i >= 0 {
		s.order = append(s.order[:i], s.order[i+1:]...)
	}
}

func (s *Server) removePerson(c *command) *result {
	id, _ := c.param("PERSONID")
	p, found := s.people[id]
	if !found {
		return s.missingAnswer()
	}
	p.deleted = true
	return ok(nil)
}

func boolText(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

// personNode is a person as GetPerson and SearchPersonData answer it.
func (s *Server) personNode(name string, p *person, full, wantCredID bool) *node {
	n := el(name, "").add(el("PERSONID", p.id))
	for _, f := range []string{"FIRSTNAME", "MIDDLENAME", "LASTNAME"} {
		if v := p.fields[f]; v != "" {
			n.add(el(f, v))
		}
	}
	if !p.act.IsZero() {
		n.add(el("ACTDATE", s.formatDate(p.act)))
	}
	if !p.exp.IsZero() {
		n.add(el("EXPDATE", s.formatDate(p.exp)))
	}
	n.add(el("DELETED", boolText(p.deleted, "TRUE", "FALSE")))
	if !full {
		return n
	}
	for i := 1; i <= 20; i++ {
		if v := p.fields["UDF"+strconv.Itoa(i)]; v != "" {
			n.add(el("UDF"+strconv.Itoa(i), v))
		}
	}
	if len(p.levels) > 0 {
		ls := el("ACCESSLEVELS", "")
		for _, l := range p.levels {
			ls.add(el("ACCESSLEVEL", l))
		}
		n.add(ls)
	}
	if len(p.creds) > 0 {
		cs := el("ACCESSCARDS", "")
		for _, c := range p.creds {
			cs.add(s.credNode(c, wantCredID))
		}
		n.add(cs)
	}
	return n
}

func (s *Server) credNode(c *credential, wantID bool) *node {
	n := el("ACCESSCARD", "")
	if c.encoded != "" {
		n.add(el("ENCODEDNUM", c.encoded))
	}
	if c.hotstamp != "" {
		n.add(el("HOTSTAMP", c.hotstamp))
	}
	n.add(el("CARDFORMAT", c.format), el("DISABLED", boolText(c.disabled, "1", "0")), el("CARDSTATUS", c.status))
	if !c.exp.IsZero() {
		n.add(el("CARDEXPDATE", s.formatDate(c.exp)))
	}
	if wantID {
		n.add(el("CREDENTIALID", c.id))
	}
	return n
}

func (s *Server) getPerson(c *command) *result {
	id, _ := c.param("PERSONID")
	p, found := s.people[id]
	if !found || id == "" {
		return &result{code: "NOT FOUND"}
	}
	want, _ := c.param("WANTCREDENTIALID")
	d := s.personNode("DETAILS", p, true, truthy(want))
	return ok(d)
}

// searchPersonData lists people matching the filters, a page at a time.
func (s *Server) searchPersonData(c *command) *result {
	start, _ := c.param("STARTFROMKEY")
	size := s.pageSize
	if v, ok := c.param("NUMTORETURN"); ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			size = min(n, 1000)
		}
	}
	from, _ := strconv.ParseInt(start, 10, 64)
	list := el("PEOPLE", "")
	next := "-1"
	for _, id := range s.order {
		p := s.people[id]
		if p.seq <= from || !s.matches(p, c) {
			continue
		}
		if len(list.kids) == size {
			next = strconv.FormatInt(from, 10)
			break
		}
		list.add(s.personNode("PERSON", p, false, false))
		from = p.seq
	}
	if len(list.kids) == 0 {
		return s.emptyAnswer(el("DETAILS", "").add(list))
	}
	return ok(el("DETAILS", "").add(list, el("NEXTKEY", next)))
}

// matches applies SearchPersonData's filters.
func (s *Server) matches(p *person, c *command) bool {
	deleted := "FALSE"
	for _, prm := range c.params {
		switch {
		case prm.name == "DELETED":
			deleted = strings.ToUpper(prm.text)
		case prm.name == "HOTSTAMP":
			if !hasHotstamp(p, prm.text) {
				return false
			}
		case prm.name == "LASTNAME" || prm.name == "FIRSTNAME" || isUDF(prm.name):
			if !strings.EqualFold(p.fields[prm.name], prm.text) {
				return false
			}
		}
	}
	switch deleted {
	case "ALL":
		return true
	case "TRUE":
		return p.deleted
	}
	return !p.deleted
}

func hasHotstamp(p *person, h string) bool {
	for _, c := range p.creds {
		if c.hotstamp == h {
			return true
		}
	}
	return false
}
