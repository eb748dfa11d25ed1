package netboxsim

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// client posts raw NBAPI documents to a simulator.
type client struct {
	t       *testing.T
	srv     *httptest.Server
	s       *Server
	session string
}

func newClient(t *testing.T, opts ...Option) *client {
	now := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	n := 0
	s := New(append([]Option{WithClock(clock), WithSessionIDFunc(func() string { n++; return "S" + strings.Repeat("0", 62) + string(rune('0'+n)) })}, opts...)...)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &client{t: t, srv: srv, s: s}
}

func (c *client) post(path, contentType, body string) (int, string) {
	c.t.Helper()
	resp, err := http.Post(c.srv.URL+path, contentType, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// cmd sends one command with the client's session and returns the answer.
func (c *client) cmd(name, params string) string {
	c.t.Helper()
	attr := ""
	if c.session != "" {
		attr = ` sessionid="` + c.session + `"`
	}
	status, body := c.post(Path, "text/xml", `<NETBOX-API`+attr+`><COMMAND name="`+name+`" num="7"><PARAMS>`+params+`</PARAMS></COMMAND></NETBOX-API>`)
	if status != http.StatusOK {
		c.t.Fatalf("%s: HTTP %d", name, status)
	}
	return body
}

func (c *client) login() {
	c.t.Helper()
	body := c.cmd("Login", "<USERNAME>"+DefaultUsername+"</USERNAME><PASSWORD>"+DefaultPassword+"</PASSWORD>")
	i := strings.Index(body, `sessionid="`)
	if i < 0 {
		c.t.Fatalf("Login answered %s", body)
	}
	c.session = body[i+11 : i+11+64]
}

func expect(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s:\n  got  %s\n  want %s", what, got, want)
	}
}

func TestEnvelope(t *testing.T) {
	c := newClient(t)
	expect(t, "GetAPIVersion without a session", c.cmd("GetAPIVersion", ""),
		`<NETBOX><RESPONSE command="GetAPIVersion" num="7"><APIERROR>5</APIERROR></RESPONSE></NETBOX>`)
	c.login()
	expect(t, "GetAPIVersion", c.cmd("GetAPIVersion", ""),
		`<NETBOX><RESPONSE command="GetAPIVersion" num="7"><CODE>SUCCESS</CODE><DETAILS><APIVERSION>6.2.0</APIVERSION></DETAILS></RESPONSE></NETBOX>`)
	expect(t, "an empty log (6.2.0)", c.cmd("GetAccessHistory", "<AFTERLOGID>0</AFTERLOGID>"),
		`<NETBOX><RESPONSE command="GetAccessHistory" num="7"><CODE>FAIL</CODE><ERRMSG>NOT FOUND</ERRMSG></RESPONSE></NETBOX>`)
	expect(t, "a missing person", c.cmd("GetPerson", "<PERSONID>nobody</PERSONID>"),
		`<NETBOX><RESPONSE command="GetPerson" num="7"><CODE>NOT FOUND</CODE></RESPONSE></NETBOX>`)
	expect(t, "an unknown command", c.cmd("Teleport", ""), `<NETBOX><RESPONSE command="Teleport" num="7"><APIERROR>6</APIERROR></RESPONSE></NETBOX>`)
	expect(t, "an unknown parameter", c.cmd("GetCardFormats", "<WHAT>1</WHAT>"),
		`<NETBOX><RESPONSE command="GetCardFormats" num="7"><CODE>FAIL</CODE><ERRMSG>Unknown parameter WHAT</ERRMSG></RESPONSE></NETBOX>`)
	_, body := c.post(Path, "text/xml", "<NETBOX-API><COMMAND")
	expect(t, "a document that does not parse", body, `<NETBOX><RESPONSE><APIERROR>4</APIERROR></RESPONSE></NETBOX>`)
	_, body = c.post(Path, "text/xml", "<NETBOX-API></NETBOX-API>")
	expect(t, "no command", body, `<NETBOX><RESPONSE><APIERROR>3</APIERROR></RESPONSE></NETBOX>`)
	form := url.Values{"APIcommand": {`<NETBOX-API sessionid="` + c.session + `"><COMMAND name="GetAPIVersion" num="1"></COMMAND></NETBOX-API>`}}
	_, body = c.post(Path, "application/x-www-form-urlencoded", form.Encode())
	if !strings.Contains(body, "<APIVERSION>6.2.0</APIVERSION>") {
		t.Errorf("form-encoded command answered %s", body)
	}
	if status, _ := c.post(LegacyPath, "text/xml", ""); status != http.StatusGone {
		t.Errorf("the pre-6 path answered %d", status)
	}
	if status, _ := c.post("/other", "text/xml", ""); status != http.StatusNotFound {
		t.Errorf("another path answered %d", status)
	}
	for _, r := range c.s.Requests() {
		if strings.Contains(string(r.Body), DefaultPassword) || strings.Contains(r.Params, DefaultPassword) {
			t.Errorf("the log holds the password: %s", r.Body)
		}
	}
}

func TestAPIErrorAtRoot(t *testing.T) {
	c := newClient(t, WithAPIErrorAtRoot())
	expect(t, "no session", c.cmd("GetAPIVersion", ""), `<NETBOX><APIERROR>5</APIERROR></NETBOX>`)
}

func TestPeopleAndCredentials(t *testing.T) {
	c := newClient(t)
	c.login()
	add := `<PERSONID>p1</PERSONID><FIRSTNAME>R&amp;D</FIRSTNAME><LASTNAME>Lee</LASTNAME><ACTDATE>2025-03-10 09:00</ACTDATE>` +
		`<EXPDATE>2025-03-10 10:00</EXPDATE><ACCESSLEVELS><ACCESSLEVEL>Lobby</ACCESSLEVEL></ACCESSLEVELS>`
	expect(t, "AddPerson", c.cmd("AddPerson", add), `<NETBOX><RESPONSE command="AddPerson" num="7"><CODE>SUCCESS</CODE><DETAILS><PERSONID>p1</PERSONID></DETAILS></RESPONSE></NETBOX>`)
	expect(t, "AddPerson again", c.cmd("AddPerson", add), `<NETBOX><RESPONSE command="AddPerson" num="7"><CODE>DUPLICATE</CODE><ERRMSG>Person ID already exists</ERRMSG></RESPONSE></NETBOX>`)
	cred := `<PERSONID>p1</PERSONID><CARDFORMAT>26 bit Wiegand</CARDFORMAT><ENCODEDNUM>1001</ENCODEDNUM><HOTSTAMP>1001</HOTSTAMP><WANTCREDENTIALID>TRUE</WANTCREDENTIALID>`
	expect(t, "AddCredential", c.cmd("AddCredential", cred),
		`<NETBOX><RESPONSE command="AddCredential" num="7"><CODE>SUCCESS</CODE><DETAILS><PERSONID>p1</PERSONID><CREDENTIALID>2</CREDENTIALID></DETAILS></RESPONSE></NETBOX>`)
	if !strings.Contains(c.cmd("AddCredential", cred), "<CODE>DUPLICATE</CODE>") {
		t.Error("a second credential of the card was accepted")
	}
	expect(t, "GetPerson", c.cmd("GetPerson", "<PERSONID>p1</PERSONID><WANTCREDENTIALID>TRUE</WANTCREDENTIALID>"),
		`<NETBOX><RESPONSE command="GetPerson" num="7"><CODE>SUCCESS</CODE><DETAILS><PERSONID>p1</PERSONID><FIRSTNAME>R&amp;D</FIRSTNAME><LASTNAME>Lee</LASTNAME>`+
			`<ACTDATE>2025-03-10 09:00:00</ACTDATE><EXPDATE>2025-03-10 10:00:00</EXPDATE><DELETED>FALSE</DELETED><ACCESSLEVELS><ACCESSLEVEL>Lobby</ACCESSLEVEL></ACCESSLEVELS>`+
			`<ACCESSCARDS><ACCESSCARD><ENCODEDNUM>1001</ENCODEDNUM><HOTSTAMP>1001</HOTSTAMP><CARDFORMAT>26 bit Wiegand</CARDFORMAT><DISABLED>0</DISABLED><CARDSTATUS>ACTIVE</CARDSTATUS>`+
			`<CREDENTIALID>2</CREDENTIALID></ACCESSCARD></ACCESSCARDS></DETAILS></RESPONSE></NETBOX>`)
	at := time.Date(2025, 3, 10, 9, 30, 0, 0, time.UTC)
	if !c.s.Opens("2", LevelLobby, at) || c.s.Opens("2", LevelFloor3, at) || c.s.Opens("2", LevelLobby, at.Add(time.Hour)) {
		t.Error("Opens disagrees with the stored person")
	}
	if !strings.Contains(c.cmd("AddPerson", `<PERSONID>p2</PERSONID><LASTNAME>X</LASTNAME><ACTDATE>10/03/2025</ACTDATE>`), "Invalid date format") {
		t.Error("a date in another form was accepted")
	}
	c.cmd("ModifyCredential", "<PERSONID>p1</PERSONID><CREDENTIALID>2</CREDENTIALID><DISABLED>1</DISABLED>")
	if c.s.Opens("2", LevelLobby, at) {
		t.Error("a disabled credential opens")
	}
	c.cmd("RemovePerson", "<PERSONID>p1</PERSONID>")
	if !strings.Contains(c.cmd("GetPerson", "<PERSONID>p1</PERSONID>"), "<DELETED>TRUE</DELETED>") {
		t.Error("a removed person is not kept as deleted")
	}
	if !strings.Contains(c.cmd("SearchPersonData", "<HOTSTAMP>1001</HOTSTAMP>"), "<ERRMSG>NOT FOUND</ERRMSG>") {
		t.Error("a search finds a deleted person by default")
	}
	if !strings.Contains(c.cmd("SearchPersonData", "<HOTSTAMP>1001</HOTSTAMP><DELETED>ALL</DELETED>"), "<PERSONID>p1</PERSONID>") {
		t.Error("DELETED ALL does not find the deleted person")
	}
	c.cmd("ModifyPerson", "<PERSONID>p1</PERSONID><PERSONPURGE>TRUE</PERSONPURGE>")
	if got := c.s.Census(); got.People != 0 || got.Credentials != 0 {
		t.Errorf("census after the purge %+v", got)
	}
}

func TestPagingAndSessions(t *testing.T) {
	c := newClient(t, WithPageSize(2), WithIdleTimeout(time.Minute))
	c.login()
	first := c.cmd("GetAccessLevels", "<WANTKEY>TRUE</WANTKEY>")
	if !strings.Contains(first, "<ACCESSLEVELKEY>2</ACCESSLEVELKEY>") || !strings.Contains(first, "<NEXTKEY>2</NEXTKEY>") {
		t.Errorf("first page %s", first)
	}
	last := c.cmd("GetAccessLevels", "<WANTKEY>TRUE</WANTKEY><STARTFROMKEY>2</STARTFROMKEY>")
	if !strings.Contains(last, "<ACCESSLEVELNAME>R&amp;D &lt;Lab&gt;</ACCESSLEVELNAME>") || !strings.Contains(last, "<NEXTKEY></NEXTKEY>") {
		t.Errorf("last page %s", last)
	}
	if open, logins, _ := c.s.Sessions(); open != 1 || logins != 1 {
		t.Errorf("%d open, %d logins", open, logins)
	}
	c.cmd("Logout", "")
	if !strings.Contains(c.cmd("GetAPIVersion", ""), "<APIERROR>5</APIERROR>") {
		t.Error("a logged-out session is accepted")
	}
}

func TestFaults(t *testing.T) {
	c := newClient(t)
	c.login()
	c.s.AddFault(Fault{Command: "GetAPIVersion", Code: "FAIL", ErrMsg: "busy"})
	expect(t, "an injected FAIL", c.cmd("GetAPIVersion", ""), `<NETBOX><RESPONSE command="GetAPIVersion" num="7"><CODE>FAIL</CODE><ERRMSG>busy</ERRMSG></RESPONSE></NETBOX>`)
	c.s.AddFault(Fault{Command: "AddPerson", DropAfterCommit: true})
	if _, err := http.Post(c.srv.URL+Path, "text/xml", strings.NewReader(`<NETBOX-API sessionid="`+c.session+
		`"><COMMAND name="AddPerson" num="1"><PARAMS><PERSONID>p9</PERSONID><LASTNAME>Lost</LASTNAME></PARAMS></COMMAND></NETBOX-API>`)); err == nil {
		t.Error("the dropped answer arrived")
	}
	if _, ok := c.s.Person("p9"); !ok {
		t.Error("the change of a dropped answer was not committed")
	}
	c.s.AddFault(Fault{Command: "GetAPIVersion", ExpireSession: true})
	if !strings.Contains(c.cmd("GetAPIVersion", ""), "<APIERROR>5</APIERROR>") {
		t.Error("the expired session was accepted")
	}
	if c.s.PendingFaults() != 0 {
		t.Errorf("%d faults left", c.s.PendingFaults())
	}
}

func TestAccessHistory(t *testing.T) {
	c := newClient(t)
	c.login()
	for range 3 {
		c.s.Swipe(ReaderLobby, Format26, "5")
	}
	newest := c.cmd("GetAccessHistory", "<MAXRECORDS>1</MAXRECORDS>")
	if !strings.Contains(newest, "<LOGID>3</LOGID>") || strings.Contains(newest, "NEXTLOGID") {
		t.Errorf("newest first: %s", newest)
	}
	after := c.cmd("GetAccessHistory", "<AFTERLOGID>2</AFTERLOGID>")
	if !strings.Contains(after, "<LOGID>2</LOGID>") || !strings.Contains(after, "<NEXTLOGID>4</NEXTLOGID>") {
		t.Errorf("AFTERLOGID 2: %s", after)
	}
	if got := c.s.AccessLog(); len(got) != 3 || got[0].Granted || got[0].Reason != ReasonUnknownCard {
		t.Errorf("log %+v", got)
	}
}
