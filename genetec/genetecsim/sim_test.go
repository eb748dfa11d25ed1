package genetecsim_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/wiegand"
)

var t0 = time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)

type fixture struct {
	sim *genetecsim.Server
	srv *httptest.Server
	mu  sync.Mutex
	now time.Time
}

func newFixture(t *testing.T, opts ...genetecsim.Option) *fixture {
	f := &fixture{now: t0}
	f.sim = genetecsim.New(append([]genetecsim.Option{genetecsim.WithClock(f.clock)}, opts...)...)
	f.srv = httptest.NewServer(f.sim)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

type answer struct {
	status int
	header http.Header
	body   string
	rsp    struct {
		Status string
		Result json.RawMessage
	}
}

// call sends a request with valid credentials and Accept: text/json.
func (f *fixture) call(t *testing.T, method, path, q string) answer {
	t.Helper()
	return f.raw(t, method, path, q, func(r *http.Request) {
		r.SetBasicAuth(genetecsim.DefaultUser+";"+genetecsim.DefaultApplicationID, genetecsim.DefaultPassword)
		r.Header.Set("Accept", "text/json")
	})
}

func (f *fixture) raw(t *testing.T, method, path, q string, prep func(*http.Request)) answer {
	t.Helper()
	u := f.srv.URL + "/WebSdk/" + path
	if q != "" {
		u += "?q=" + strings.ReplaceAll(url.QueryEscape(q), "+", "%20")
	}
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	prep(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
	var env struct {
		Rsp *struct {
			Status string
			Result json.RawMessage
		}
	}
	if json.Unmarshal(b, &env) == nil && env.Rsp != nil {
		a.rsp = *env.Rsp
	}
	return a
}

func mustOk(t *testing.T, a answer) answer {
	t.Helper()
	if a.status != 200 || a.rsp.Status != "Ok" {
		t.Fatalf("answer %d %s", a.status, a.body)
	}
	return a
}

func mustFail(t *testing.T, a answer, code, msg string) {
	t.Helper()
	var r struct{ SdkErrorCode, Message string }
	_ = json.Unmarshal(a.rsp.Result, &r)
	if a.status != 200 || a.rsp.Status != "Fail" || r.SdkErrorCode != code || !strings.Contains(r.Message, msg) {
		t.Fatalf("answer %d %s, want Fail %s mentioning %q", a.status, a.body, code, msg)
	}
}

func guidOf(t *testing.T, a answer) string {
	t.Helper()
	var r struct{ Guid string }
	if err := json.Unmarshal(a.rsp.Result, &r); err != nil || r.Guid == "" {
		t.Fatalf("no Guid in %s", a.body)
	}
	return r.Guid
}

func hex(g string) string { return strings.ReplaceAll(g, "-", "") }

const raw1001 = "000000000000000000000000025407D2" // H10301 42/1001

func credXML(raw string) string {
	return "<UndecodedWiegand><BitLength>26</BitLength><FormatType>" + genetecsim.FormatStandard26 + "</FormatType><Raw>" + raw + "</Raw></UndecodedWiegand>"
}

func TestPingAndAuth(t *testing.T) {
	f := newFixture(t)
	a := mustOk(t, f.call(t, "GET", "", ""))
	if a.body != `{"Rsp":{"Status":"Ok"}}` || !strings.HasPrefix(a.header.Get("Content-Type"), "text/json") {
		t.Fatalf("ping answered %q (%s)", a.body, a.header.Get("Content-Type"))
	}
	a = f.raw(t, "GET", "", "", func(*http.Request) {})
	if a.status != 401 || a.header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no credentials: %d", a.status)
	}
	a = f.raw(t, "GET", "", "", func(r *http.Request) {
		r.SetBasicAuth(genetecsim.DefaultUser+";"+genetecsim.DefaultApplicationID, "wrong")
	})
	if a.status != 401 {
		t.Fatalf("wrong password: %d", a.status)
	}
	a = f.raw(t, "GET", "", "", func(r *http.Request) {
		r.SetBasicAuth(genetecsim.DefaultUser+";other-app", genetecsim.DefaultPassword)
	})
	if a.status != 403 {
		t.Fatalf("unlicensed application: %d", a.status)
	}
	a = f.raw(t, "GET", "", "", func(r *http.Request) {
		r.SetBasicAuth(genetecsim.DefaultUser+";"+genetecsim.DefaultApplicationID, genetecsim.DefaultPassword)
	})
	if a.status != 200 || !strings.HasPrefix(a.body, "<rsp") {
		t.Fatalf("without Accept: %d %s", a.status, a.body)
	}
	for _, r := range f.sim.Requests() {
		if strings.Contains(fmt.Sprintf("%+v", r), genetecsim.DefaultPassword) || strings.Contains(fmt.Sprintf("%+v", r), genetecsim.DefaultApplicationID) {
			t.Fatalf("request log holds a secret: %+v", r)
		}
	}
	if got := f.sim.Requests()[0]; got.User != genetecsim.DefaultUser || got.Accept != "text/json" || got.Rsp != "Ok" {
		t.Fatalf("log entry %+v", got)
	}
}

func TestPostMustBeEmpty(t *testing.T) {
	f := newFixture(t)
	// Without Content-Length.
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	auth := "Basic " + basic(genetecsim.DefaultUser+";"+genetecsim.DefaultApplicationID+":"+genetecsim.DefaultPassword)
	fmt.Fprintf(conn, "POST /WebSdk/entity?q=entity=NewEntity(Cardholder),Guid HTTP/1.1\r\nHost: x\r\nAccept: text/json\r\nAuthorization: %s\r\n\r\n", auth)
	line, _ := bufio.NewReader(conn).ReadString('\n')
	if !strings.Contains(line, "411") {
		t.Fatalf("POST without Content-Length: %q", line)
	}
	// With a body.
	req, _ := http.NewRequest("POST", f.srv.URL+"/WebSdk/entity?q=entity=NewEntity(Cardholder),Guid", strings.NewReader("x"))
	req.Header.Set("Authorization", auth)
	req.Header.Set("Accept", "text/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("POST with a body: %d", resp.StatusCode)
	}
	if c := f.sim.Census(); c.Cardholders != 0 {
		t.Fatal("a refused POST created something")
	}
}

func basic(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestEntityLifecycle(t *testing.T) {
	f := newFixture(t)
	ch := guidOf(t, mustOk(t, f.call(t, "POST", "entity",
		`entity=NewEntity(Cardholder),Name=Ada Lovelace [v\-1],FirstName=Ada,LastName=Love\,lace,EmailAddress=ada\@example.com,State=Active,ActivationMode=SpecificActivationPeriod(2025-03-10T08:00:00Z,2025-03-10T10:00:00),Guid`)))
	cred := guidOf(t, mustOk(t, f.call(t, "POST", "entity",
		"entity=NewEntity(Credential),Name=H10301 42/1001,CardholderGuid="+hex(ch)+",Format="+credXML(raw1001)+",Guid,entity="+hex(ch)+",Groups@"+hex(genetecsim.SeedLobbyGroup))))
	info, ok := f.sim.Cardholder(ch)
	if !ok || info.Name != "Ada Lovelace [v-1]" || info.LastName != "Love,lace" || info.Email != "ada@example.com" ||
		!slices.Equal(info.Groups, []string{genetecsim.SeedLobbyGroup}) || !slices.Equal(info.Credentials, []string{cred}) {
		t.Fatalf("stored %+v", info)
	}
	// One segment reads as an object, several as an array.
	a := mustOk(t, f.call(t, "GET", "entity", "entity="+ch+",Guid,groups,Credentials,ActivationDate,ExpirationDate,State"))
	want := `{"ActivationDate":"2025-03-10T08:00:00Z","Credentials":["` + cred + `"],"ExpirationDate":"2025-03-10T10:00:00Z","Groups":["` + genetecsim.SeedLobbyGroup + `"],"Guid":"` + ch + `","State":"Active"}`
	if string(a.rsp.Result) != want {
		t.Fatalf("read %s\nwant %s", a.rsp.Result, want)
	}
	a = mustOk(t, f.call(t, "GET", "entity", "entity="+hex(ch)+",Name,entity="+hex(cred)+",CardholderGuid,Format"))
	var arr []map[string]string
	if err := json.Unmarshal(a.rsp.Result, &arr); err != nil || len(arr) != 2 || arr[1]["CardholderGuid"] != ch || arr[1]["Format"] != credXML(raw1001) {
		t.Fatalf("read %s", a.rsp.Result)
	}
	if id, ok := f.sim.FindCredential(wiegand.H10301, 42, 1001); !ok || id != cred {
		t.Fatalf("FindCredential %q %v", id, ok)
	}
	// Oracle.
	for _, c := range []struct {
		at    time.Time
		group string
		want  bool
	}{
		{t0, genetecsim.SeedLobbyGroup, true},
		{t0, genetecsim.SeedFloor3Group, false},
		{t0.Add(-2 * time.Hour), genetecsim.SeedLobbyGroup, false},
		{t0.Add(time.Hour), genetecsim.SeedLobbyGroup, false},
	} {
		if got := f.sim.Opens(cred, c.group, c.at); got != c.want {
			t.Errorf("Opens(%s, %s) = %v", c.at, c.group, got)
		}
	}
	// A deactivated cardholder opens nothing.
	mustOk(t, f.call(t, "POST", "entity", "entity="+hex(ch)+",State=Inactive"))
	if f.sim.Opens(cred, genetecsim.SeedLobbyGroup, t0) {
		t.Fatal("inactive cardholder opens")
	}
	// Delete.
	mustOk(t, f.call(t, "DELETE", "entity/"+hex(cred), ""))
	mustFail(t, f.call(t, "DELETE", "entity/"+cred, ""), "InvalidOperation", "Unable to find entity "+cred)
	mustOk(t, f.call(t, "DELETE", "entity/"+ch, ""))
	if c := f.sim.Census(); c != (genetecsim.Census{}) {
		t.Fatalf("census %+v", c)
	}
}

func TestStrictness(t *testing.T) {
	f := newFixture(t)
	ch := guidOf(t, mustOk(t, f.call(t, "POST", "entity", "entity=NewEntity(Cardholder),Name=A,Guid")))
	g := hex(genetecsim.SeedLobbyGroup)
	for _, c := range []struct {
		method, q, code, msg string
	}{
		{"GET", "entity=" + ch + ",Name=B", "InvalidOperation", "Use POST"},
		{"GET", "entity=" + ch, "InvalidOperation", "at least one field"},
		{"GET", "entity=" + ch + ",Nickname", "InvalidOperation", "Could not find property 'Nickname'"},
		{"POST", "entity=" + ch + ",Name=a@b", "InvalidOperation", "unescaped '@'"},
		{"POST", "entity=" + ch + ",Name=Smith(x)", "InvalidOperation", "takes a text value"},
		{"POST", "entity=" + ch + ",Name=a\\", "InvalidOperation", "backslash"},
		{"POST", "entity=" + ch + ",Name=a#b", "InvalidOperation", "excluded"},
		{"POST", "entity=" + ch + ",ActivationDate=2025-01-01T00:00:00", "InvalidOperation", "has no setter"},
		{"POST", "entity=" + ch + ",ActivationMode=Sometimes(1)", "InvalidOperation", "not a valid ActivationMode"},
		{"POST", "entity=" + ch + ",Groups*", "InvalidOperation", "not supported"},
		{"POST", "entity=0badc0de00004000800000000000f00d,Name=x", "InvalidOperation", "Unable to find entity 0badc0de-0000-4000-8000-00000000f00d"},
		{"POST", "entity=NewEntity(Credential),Name=x,Guid", "InvalidOperation", "needs a Format"},
		{"POST", "entity=NewEntity(Credential),Format=" + credXML("000000000000000000000000025407D3"), "InvalidOperation", "not a valid H10301 frame"},
		{"POST", "entity=NewEntity(Credential),Format=WiegandStandardCredentialFormat(42,1001)", "InvalidOperation", "not supported by the simulator"},
		{"POST", "entity=NewEntity(Door),Name=x", "InvalidOperation", "creating one is not supported"},
		{"POST", "entity=NewEntity(Camera),Name=x", "InvalidOperation", "Unknown entity type"},
		{"POST", "Name=x", "InvalidOperation", "Expected 'entity='"},
		{"POST", "entity=LogicalId(Cardholder,1),Name=x", "InvalidOperation", "not supported by the simulator"},
		{"POST", "entity=" + ch + ",Groups@" + ch, "InvalidOperation", "not a cardholder group"},
		{"POST", "entity=" + ch + ",Groups-" + g, "InvalidOperation", "not a member"},
	} {
		t.Run(c.q, func(t *testing.T) {
			mustFail(t, f.call(t, c.method, "entity", c.q), c.code, c.msg)
		})
	}
	// Adding to a group twice fails (as public production code reports).
	mustOk(t, f.call(t, "POST", "entity", "entity="+ch+",Groups@"+g))
	mustFail(t, f.call(t, "POST", "entity", "entity="+ch+",Groups@"+g), "InvalidOperation", "already a member")
	// Two credentials with the same card data.
	mustOk(t, f.call(t, "POST", "entity", "entity=NewEntity(Credential),Format="+credXML(raw1001)))
	mustFail(t, f.call(t, "POST", "entity", "entity=NewEntity(Credential),Format="+credXML(raw1001)), "InvalidOperation", "same card data")
	// Unknown or wrongly-cased report names get an HTML 400.
	for _, p := range []string{"report/entityconfiguration", "report/dooractivity", "report/CardholderActivity", "nothing"} {
		if a := f.call(t, "GET", p, "EntityTypes@Cardholder"); a.status != 400 || !strings.Contains(a.body, "<html>") {
			t.Fatalf("%s: %d %s", p, a.status, a.body)
		}
	}
	// Other query parameters are refused; '+' is a literal plus.
	a := f.raw(t, "GET", "entity", "", func(r *http.Request) {
		r.SetBasicAuth(genetecsim.DefaultUser+";"+genetecsim.DefaultApplicationID, genetecsim.DefaultPassword)
		r.Header.Set("Accept", "text/json")
		r.URL.RawQuery = "q=entity=" + ch + ",Name&val=x"
	})
	mustFail(t, a, "InvalidOperation", "Unexpected query parameter")
	a = f.raw(t, "POST", "entity", "", func(r *http.Request) {
		r.SetBasicAuth(genetecsim.DefaultUser+";"+genetecsim.DefaultApplicationID, genetecsim.DefaultPassword)
		r.Header.Set("Accept", "text/json")
		r.URL.RawQuery = "q=entity=" + ch + ",FirstName=a+b"
	})
	mustOk(t, a)
	if info, _ := f.sim.Cardholder(ch); info.FirstName != "a+b" {
		t.Fatalf("'+' decoded as %q", info.FirstName)
	}
}

func TestVisitor(t *testing.T) {
	f := newFixture(t)
	v := guidOf(t, mustOk(t, f.call(t, "POST", "entity",
		"entity=NewEntity(Visitor),Name=V,Arrival=2025-03-10T08:00:00,Departure=2025-03-10T10:00:00,Guid")))
	mustFail(t, f.call(t, "POST", "entity", "entity="+v+",ActivationMode=SpecificDeactivation(2025-03-11T00:00:00Z)"), "InvalidOperation", "no setter")
	mustOk(t, f.call(t, "POST", "entity", "entity="+v+",Groups@"+genetecsim.SeedLobbyGroup))
	cred, ok := f.sim.AddCredential("c", wiegand.H10301, 1, 2, "Active", v, time.Time{}, time.Time{})
	if !ok {
		t.Fatal("AddCredential")
	}
	if !f.sim.Opens(cred, genetecsim.SeedLobbyGroup, t0) || f.sim.Opens(cred, genetecsim.SeedLobbyGroup, t0.Add(2*time.Hour)) {
		t.Fatal("visitor window not applied")
	}
	a := mustOk(t, f.call(t, "GET", "entity", "entity="+v+",EntityType,Arrival"))
	if string(a.rsp.Result) != `{"Arrival":"2025-03-10T08:00:00Z","EntityType":"Visitor"}` {
		t.Fatal(string(a.rsp.Result))
	}
}

func TestReportPaging(t *testing.T) {
	f := newFixture(t, genetecsim.WithoutSeed(), genetecsim.WithMaxResults(4))
	var ids []string
	for i := range 5 {
		ids = append(ids, f.sim.AddGroup(fmt.Sprintf("Group %d", i)))
	}
	page := func(q string) ([]string, string) {
		a := f.call(t, "GET", "report/EntityConfiguration", q)
		var r []struct{ Guid string }
		if err := json.Unmarshal(a.rsp.Result, &r); err != nil {
			t.Fatalf("%s: %s", q, a.body)
		}
		var out []string
		for _, x := range r {
			out = append(out, x.Guid)
		}
		return out, a.rsp.Status
	}
	for _, c := range []struct {
		q      string
		want   []string
		status string
	}{
		{"EntityTypes@CardholderGroup,Page=1,PageSize=2", ids[0:3], "Ok"},
		{"EntityTypes@CardholderGroup,Page=2,PageSize=2", ids[2:5], "Ok"},
		{"EntityTypes@CardholderGroup,Page=3,PageSize=2", ids[4:5], "Ok"},
		{"EntityTypes@Cardholdergroup", ids[0:4], "TooManyResults"},
		{"EntityTypes@CardholderGroup,Name=group 3", ids[3:4], "Ok"},
		{"EntityTypes@CardholderGroup,Name=oup 3", nil, "Ok"},
		{"EntityTypes@CardholderGroup,Name=oup 3,NameSearchMode=Contains", ids[3:4], "Ok"},
		{"EntityTypes@Cardholder@Credential", nil, "Ok"},
	} {
		got, status := page(c.q)
		if !slices.Equal(got, c.want) || status != c.status {
			t.Errorf("%s: %v %s, want %v %s", c.q, got, status, c.want, c.status)
		}
	}
	mustFail(t, f.call(t, "GET", "report/EntityConfiguration", "EntityTypes@CardholderGroup,Sort=Name"), "InvalidOperation", "Could not find property 'Sort' from filter: 'Sort=Name'")
	mustFail(t, f.call(t, "GET", "report/EntityConfiguration", "Name=x"), "InvalidOperation", "needs EntityTypes")
}

func TestFaults(t *testing.T) {
	var mu sync.Mutex
	var slept []time.Duration
	f := newFixture(t, genetecsim.WithSleep(func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		slept = append(slept, d)
		return nil
	}), genetecsim.WithColdStart(2*time.Second))
	f.sim.Inject(genetecsim.Fault{Method: "POST", Path: "entity", DropAfterCommit: true})
	f.sim.Inject(genetecsim.Fault{Path: "report/", Status: 503, RetryAfter: "7", Times: 2})
	f.sim.Inject(genetecsim.Fault{Method: "GET", Path: "", Delay: time.Minute})

	req, _ := http.NewRequest("POST", f.srv.URL+"/WebSdk/entity?q=entity=NewEntity(Cardholder),Name=A,Guid", nil)
	req.SetBasicAuth(genetecsim.DefaultUser+";"+genetecsim.DefaultApplicationID, genetecsim.DefaultPassword)
	req.Header.Set("Accept", "text/json")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("connection not dropped")
	}
	if c := f.sim.Census(); c.Cardholders != 1 {
		t.Fatal("the change was not committed")
	}
	for range 2 {
		a := f.call(t, "GET", "report/EntityConfiguration", "EntityTypes@Cardholder")
		if a.status != 503 || a.header.Get("Retry-After") != "7" {
			t.Fatalf("%d %v", a.status, a.header)
		}
	}
	mustOk(t, f.call(t, "GET", "report/EntityConfiguration", "EntityTypes@Cardholder"))
	mustOk(t, f.call(t, "GET", "", ""))
	log := f.sim.Requests()
	if len(log) != 5 || !log[0].Dropped || log[0].Status != 0 || log[1].Status != 503 || log[4].Rsp != "Ok" {
		t.Fatalf("log %+v", log)
	}
	mu.Lock()
	defer mu.Unlock()
	// The first request was a cold start; the last one had a delay.
	if !slices.Equal(slept, []time.Duration{2 * time.Second, time.Minute}) {
		t.Fatalf("slept %v", slept)
	}
}

func TestParseQuery(t *testing.T) {
	items, err := genetecsim.ParseQuery(`entity=NewEntity(Credential),Name=a\,b\@c,Format=<X><Y>1,2</Y></X>,ActivationMode=SpecificActivationPeriod(2025-01-01T00:00:00Z, 2025-01-02T00:00:00Z),Groups@(g1)@{g2},Credentials-g3,Guid`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"entity NewEntity [Credential]",
		"set Name a,b@c",
		"set Format <X><Y>1,2</Y></X> xml",
		"set ActivationMode SpecificActivationPeriod [2025-01-01T00:00:00Z 2025-01-02T00:00:00Z]",
		"add Groups [g1 g2]",
		"remove Credentials g3",
		"read Guid",
	}
	for i, it := range items {
		var s string
		switch {
		case it.Kind == genetecsim.KindEntity:
			s = fmt.Sprintf("%s %s %v", it.Kind, it.Func, it.Args)
		case it.XML:
			s = fmt.Sprintf("%s %s %s xml", it.Kind, it.Name, it.Value)
		case it.Func != "":
			s = fmt.Sprintf("%s %s %s %v", it.Kind, it.Name, it.Func, it.Args)
		case it.Kind == genetecsim.KindAdd:
			s = fmt.Sprintf("%s %s %v", it.Kind, it.Name, it.Values)
		case it.Kind == genetecsim.KindRead:
			s = fmt.Sprintf("%s %s", it.Kind, it.Name)
		default:
			s = fmt.Sprintf("%s %s %s", it.Kind, it.Name, it.Value)
		}
		if i >= len(want) || s != want[i] {
			t.Errorf("item %d: %q", i, s)
		}
	}
	if len(items) != len(want) {
		t.Fatalf("%d items", len(items))
	}
	for _, bad := range []string{"", ",", "a,,b", "a(", "a)", "Name=x,", `Name=x\`, "Name=<X>", "Name=a)b", "Name=a}b", "@x", "a*b", "Name=a\x01"} {
		if _, err := genetecsim.ParseQuery(bad); err == nil {
			t.Errorf("ParseQuery(%q) accepted", bad)
		}
	}
}

func Example() {
	now := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	sim := genetecsim.New(genetecsim.WithClock(func() time.Time { return now }))
	srv := httptest.NewServer(sim)
	defer srv.Close()

	// Any Web SDK client: here, plain net/http.
	q := "entity=NewEntity(Cardholder),Name=Ada Lovelace,State=Active,Guid"
	req, _ := http.NewRequest("POST", srv.URL+"/WebSdk/entity?q="+url.PathEscape(q), nil)
	req.SetBasicAuth(genetecsim.DefaultUser+";"+genetecsim.DefaultApplicationID, genetecsim.DefaultPassword)
	req.Header.Set("Accept", "text/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()

	fmt.Println(resp.StatusCode, sim.Census().Cardholders)
	for _, r := range sim.Requests() {
		fmt.Println(r.Method, r.Path, r.Q, r.Rsp)
	}
	// Output:
	// 200 1
	// POST entity entity=NewEntity(Cardholder),Name=Ada Lovelace,State=Active,Guid Ok
}

func TestMembershipAndAssignment(t *testing.T) {
	f := newFixture(t, genetecsim.WithBasePath("WebSDK"))
	lobby, floor3 := genetecsim.SeedLobbyGroup, genetecsim.SeedFloor3Group
	rule := f.sim.AddAccessRule("Extra", lobby)
	ch := f.sim.AddCardholder("A", "A", "B")
	other := f.sim.AddCardholder("C", "C", "D")
	cred, _ := f.sim.AddCredential("card", wiegand.H10301, 1, 1, "Active", "", time.Time{}, time.Time{})

	// Group side: Members@ and the STUDIO methods.
	mustOk(t, f.call(t, "POST", "entity", "entity="+lobby+",Members@("+hex(ch)+")"))
	mustOk(t, f.call(t, "POST", "entity", "entity="+floor3+",AddCardholderIntoGroup("+ch+")"))
	a := mustOk(t, f.call(t, "GET", "entity", "entity="+lobby+",Members,Name"))
	if string(a.rsp.Result) != `{"Members":["`+ch+`"],"Name":"Visitors - Lobby"}` {
		t.Fatal(string(a.rsp.Result))
	}
	mustFail(t, f.call(t, "POST", "entity", "entity="+lobby+",Members@"+ch), "InvalidOperation", "already a member")
	mustOk(t, f.call(t, "POST", "entity", "entity="+floor3+",RemoveCardholderFromGroup("+ch+")"))
	mustOk(t, f.call(t, "POST", "entity", "entity="+lobby+",Members-"+ch))
	mustFail(t, f.call(t, "POST", "entity", "entity="+lobby+",Members@"+cred), "InvalidOperation", "not a cardholder")
	mustFail(t, f.call(t, "POST", "entity", "entity="+lobby+",Explode()"), "InvalidOperation", "Unknown method")

	// Cardholder side: Credentials@ assigns, Credentials- unassigns.
	mustOk(t, f.call(t, "POST", "entity", "entity="+ch+",Credentials@"+cred+",Groups@"+lobby))
	if c, _ := f.sim.Credential(cred); c.Cardholder != ch {
		t.Fatalf("credential holder %q", c.Cardholder)
	}
	mustFail(t, f.call(t, "POST", "entity", "entity="+other+",Credentials@"+cred), "InvalidOperation", "assigned to another")
	mustFail(t, f.call(t, "POST", "entity", "entity="+other+",Credentials-"+cred), "InvalidOperation", "not assigned")
	if !f.sim.Opens(cred, lobby, t0) {
		t.Fatal("assigned credential does not open")
	}
	mustOk(t, f.call(t, "POST", "entity", "entity="+ch+",Credentials-"+cred))
	if f.sim.Opens(cred, lobby, t0) {
		t.Fatal("unassigned credential opens")
	}
	mustOk(t, f.call(t, "POST", "entity", "entity="+cred+",CardholderGuid="+ch))

	// Activation modes.
	mustOk(t, f.call(t, "POST", "entity", "entity="+cred+",ActivationMode=SpecificDeactivation(2025-03-10T10:00:00Z)"))
	if !f.sim.Opens(cred, lobby, t0) || f.sim.Opens(cred, lobby, t0.Add(time.Hour)) {
		t.Fatal("SpecificDeactivation not applied")
	}
	mustOk(t, f.call(t, "POST", "entity", "entity="+cred+",ActivationMode=RelativeDeactivation(6.00:00:00)"))
	if !f.sim.Opens(cred, lobby, t0.Add(time.Hour)) {
		t.Fatal("RelativeDeactivation (valid from first use) should not end the credential")
	}
	mustFail(t, f.call(t, "POST", "entity", "entity="+cred+",ActivationMode=RelativeDeactivation(6.25:00:00)"), "InvalidOperation", "not a valid ActivationMode")
	mustOk(t, f.call(t, "POST", "entity", "entity="+cred+",ActivationMode=SpecificActivationPeriod(2025-03-10T08:00:00Z,2025-03-10T09:00:00Z)"))
	a = mustOk(t, f.call(t, "GET", "entity", "entity="+cred+",State"))
	if string(a.rsp.Result) != `{"State":"Expired"}` {
		t.Fatalf("state after the window: %s", a.rsp.Result)
	}
	mustFail(t, f.call(t, "POST", "entity", "entity="+cred+",State=Broken"), "InvalidOperation", "not a valid State")
	mustOk(t, f.call(t, "POST", "entity", "entity="+cred+",State=Lost"))

	// Deleting a group drops its memberships and rules; deleting a
	// cardholder leaves its credentials unassigned.
	mustOk(t, f.call(t, "DELETE", "entity/"+lobby, ""))
	if info, _ := f.sim.Cardholder(ch); len(info.Groups) != 0 {
		t.Fatalf("groups after the group was deleted: %v", info.Groups)
	}
	mustOk(t, f.call(t, "DELETE", "entity/"+ch, ""))
	if c, _ := f.sim.Credential(cred); c.Cardholder != "" {
		t.Fatal("credential still assigned to a deleted cardholder")
	}
	a = mustOk(t, f.call(t, "GET", "entity", "entity="+rule+",EntityType,Name"))
	if string(a.rsp.Result) != `{"EntityType":"AccessRule","Name":"Extra"}` {
		t.Fatal(string(a.rsp.Result))
	}
	if len(f.sim.Groups()) != 1 {
		t.Fatal("groups", f.sim.Groups())
	}
}

func TestTimerSleepHonoursContext(t *testing.T) {
	f := newFixture(t) // default sleep: a timer
	f.sim.Inject(genetecsim.Fault{Delay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/WebSdk/", nil)
	req.SetBasicAuth(genetecsim.DefaultUser+";"+genetecsim.DefaultApplicationID, genetecsim.DefaultPassword)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("request finished despite the hour of latency")
	}
	// Close waits for the handler: it returns only if the sleep stopped
	// when the client went away.
	f.srv.Close()
	if n := len(f.sim.Requests()); n != 1 {
		t.Fatalf("%d requests logged", n)
	}
}

// WithDuplicateCardData accepts the same card data twice, over the wire
// and through AddCredential.
func TestDuplicateCardData(t *testing.T) {
	f := newFixture(t, genetecsim.WithDuplicateCardData())
	mustOk(t, f.call(t, "POST", "entity", "entity=NewEntity(Credential),Format="+credXML(raw1001)))
	mustOk(t, f.call(t, "POST", "entity", "entity=NewEntity(Credential),Format="+credXML(raw1001)))
	if _, ok := f.sim.AddCredential("H10301 42/1001", wiegand.H10301, 42, 1001, "Active", "", time.Time{}, time.Time{}); !ok {
		t.Fatal("AddCredential refused the card data")
	}
	if c := f.sim.Census(); c.Credentials != 3 {
		t.Fatalf("census %+v", c)
	}
}
