package netboxsim

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// handler runs one command; params lists the parameters it takes ("UDFn"
// stands for UDF1 to UDF20).
type handler struct {
	params string
	run    func(*Server, *command) *result
}

var handlers map[string]handler

func init() {
	personFields := "PERSONID FIRSTNAME MIDDLENAME LASTNAME NOTES ACTDATE EXPDATE PIN CONTACTEMAIL CONTACTPHONE MOBILEPHONE UDFn ACCESSLEVELS"
	credFields := "PERSONID CREDENTIALID ENCODEDNUM HOTSTAMP CARDFORMAT"
	handlers = map[string]handler{
		"Login":            {"USERNAME PASSWORD", (*Server).login},
		"Logout":           {"", (*Server).logout},
		"GetAPIVersion":    {"", (*Server).apiVersion},
		"GetAccessLevels":  {"STARTFROMKEY STARTFROMNAME WANTKEY", (*Server).getAccessLevels},
		"GetAccessLevel":   {"ACCESSLEVELKEY", (*Server).getAccessLevel},
		"GetCardFormats":   {"", (*Server).getCardFormats},
		"AddPerson":        {personFields, (*Server).addPerson},
		"ModifyPerson":     {personFields + " DELETED PERSONPURGE", (*Server).modifyPerson},
		"RemovePerson":     {"PERSONID", (*Server).removePerson},
		"GetPerson":        {"PERSONID WANTCREDENTIALID ACCESSLEVELDETAILS", (*Server).getPerson},
		"SearchPersonData": {"STARTFROMKEY NUMTORETURN LASTNAME FIRSTNAME HOTSTAMP DELETED UDFn", (*Server).searchPersonData},
		"AddCredential":    {"PERSONID CARDFORMAT ENCODEDNUM HOTSTAMP WANTCREDENTIALID CARDSTATUS CARDEXPDATE", (*Server).addCredential},
		"ModifyCredential": {credFields + " DISABLED CARDSTATUS CARDEXPDATE", (*Server).modifyCredential},
		"RemoveCredential": {credFields, (*Server).removeCredential},
		"GetAccessHistory": {"STARTLOGID AFTERLOGID ORDER MAXRECORDS ENCODEDNUM HOTSTAMP CARDFORMAT OLDESTDTTM NEWESTDTTM", (*Server).getAccessHistory},
	}
}

type level struct{ key, name string }

// Date forms on the wire: what the controller reads, what it writes.
const (
	inMinute  = "2006-01-02 15:04"
	inDay     = "2006-01-02"
	outLayout = "2006-01-02 15:04:05"
)

// parseDate reads an input date in the controller's zone; "" is no date.
func (s *Server) parseDate(v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, true
	}
	for _, layout := range []string{inMinute, inDay} {
		if t, err := time.ParseInLocation(layout, v, s.loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// formatDate writes a date in the controller's zone; no date is "".
func (s *Server) formatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(s.loc).Format(outLayout)
}

func truthy(v string) bool {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "TRUE", "1", "YES":
		return true
	}
	return false
}

// empty answers an empty collection; details is the empty SUCCESS form.
func (s *Server) emptyAnswer(details *node) *result {
	switch s.empty {
	case EmptyNotFound:
		return &result{code: "NOT FOUND"}
	case EmptySuccess:
		return ok(details)
	}
	return fail("NOT FOUND")
}

// missingAnswer answers a change of a record that does not exist.
func (s *Server) missingAnswer() *result {
	switch s.missing {
	case MissingFailNotFound:
		return fail("NOT FOUND")
	case MissingSuccess:
		return ok(nil)
	}
	return &result{code: "NOT FOUND"}
}

func (s *Server) login(c *command) *result {
	user, _ := c.param("USERNAME")
	pass, _ := c.param("PASSWORD")
	if want, found := s.users[user]; !found || want != pass || user == "" {
		return fail("Login failed")
	}
	id := s.newSession()
	s.sessions[id] = &session{user: user, lastSeen: s.now()}
	s.logins++
	return &result{code: "SUCCESS", sessionID: id}
}

func (s *Server) logout(c *command) *result {
	delete(s.sessions, c.session)
	s.logouts++
	return ok(nil)
}

func (s *Server) apiVersion(*command) *result {
	return ok(el("DETAILS", "").add(el("APIVERSION", s.version)))
}

func keyLess(a, b string) bool {
	x, err1 := strconv.ParseInt(a, 10, 64)
	y, err2 := strconv.ParseInt(b, 10, 64)
	if err1 == nil && err2 == nil {
		return x < y
	}
	return a < b
}

func (s *Server) getAccessLevels(c *command) *result {
	start, _ := c.param("STARTFROMKEY")
	wantKey, _ := c.param("WANTKEY")
	list := el("ACCESSLEVELS", "")
	next, last := "", ""
	for _, l := range s.levels {
		if start != "" && !keyLess(start, l.key) {
			continue
		}
		if len(list.kids) == s.pageSize {
			next = last
			break
		}
		last = l.key
		if truthy(wantKey) {
			list.add(el("ACCESSLEVEL", "").add(el("ACCESSLEVELKEY", l.key), el("ACCESSLEVELNAME", l.name)))
		} else {
			list.add(el("ACCESSLEVEL", l.name))
		}
	}
	if len(list.kids) == 0 {
		return s.emptyAnswer(el("DETAILS", "").add(list))
	}
	return ok(el("DETAILS", "").add(list, el("NEXTKEY", next)))
}

func (s *Server) getAccessLevel(c *command) *result {
	key, _ := c.param("ACCESSLEVELKEY")
	for _, l := range s.levels {
		if l.key == key {
			return ok(el("DETAILS", "").add(el("ACCESSLEVELKEY", l.key), el("ACCESSLEVELNAME", l.name)))
		}
	}
	return &result{code: "NOT FOUND"}
}

func (s *Server) getCardFormats(*command) *result {
	list := el("CARDFORMATS", "")
	for _, f := range s.formats {
		list.add(el("CARDFORMAT", f))
	}
	if len(s.formats) == 0 {
		return s.emptyAnswer(el("DETAILS", "").add(list))
	}
	return ok(el("DETAILS", "").add(list))
}

func (s *Server) levelByName(name string) (level, bool) {
	for _, l := range s.levels {
		if l.name == name {
			return l, true
		}
	}
	return level{}, false
}

// AddAccessLevel adds an access level and returns its key.
func (s *Server) AddAccessLevel(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, l := range s.levels {
		if k, err := strconv.ParseInt(l.key, 10, 64); err == nil && k > n {
			n = k
		}
	}
	key := strconv.FormatInt(n+1, 10)
	s.levels = append(s.levels, level{key, name})
	return key
}

// AccessLevels returns the access levels as key → name.
func (s *Server) AccessLevels() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[string]string{}
	for _, l := range s.levels {
		m[l.key] = l.name
	}
	return m
}

// AddCardFormat adds a card format name.
func (s *Server) AddCardFormat(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.formats, name) {
		s.formats = append(s.formats, name)
	}
}
