package chaos

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/alta/altasim"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/internal/providers"
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
	"github.com/acsbridge/acsbridge/netbox"
	"github.com/acsbridge/acsbridge/netbox/netboxsim"
	"github.com/acsbridge/acsbridge/verkada/verkadasim"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/wiegand"
)

// kit is what the fleet knows about one provider's simulator beyond the
// provider registry (internal/providers): how to start it with distinctive
// credentials, its faults in the vendor's own shape, and its oracle. A
// provider in the registry joins the fleet with one kit in kits.
type kit struct {
	// location is the site's default visitor location.
	location string
	// credentials returns distinctive credentials, tagging each value that
	// must never leak with tag, and the other settings that must match
	// how start configures the simulator (NetBox's time zone).
	credentials func(tag func(string) string) providers.Config
	// sensitive lists settings that must not leak besides the registry's
	// secrets (the application IDs).
	sensitive []providers.Setting
	// basic returns the HTTP Basic tokens the credentials would travel as.
	basic func(c providers.Config) []string
	// start creates the simulator on cfg.Clock, accepting creds, keeps it
	// in s, and returns its handler and the access levels visitors get,
	// the lobby first.
	start func(s *Sims, cfg SimConfig, creds providers.Config) (http.Handler, []string)
	// tokens maps the paths whose JSON answers carry session or access
	// tokens to the keys that hold them, so that the tokens can be
	// searched for in logs and errors.
	tokens map[string][]string
	// inject makes the simulator fail the request r as kind k (variant
	// picks among the forms); false leaves it to the Injector's generic
	// 503.
	inject func(s *Sims, k Kind, variant int, r *http.Request) bool
	// snapshot reads what the simulator holds (see Site.Snapshot).
	snapshot func(site *Site, at time.Time, visitIDs []string) Snapshot
	// cardKey is how the oracle names a card (see Site.CardKey).
	cardKey func(c acs.Card) string

	// The kit of a credential issuer's site (Origo) also has these; a door
	// provider's kit leaves them nil.

	// doorKind is the kind of the door ACS simulated behind the issuer.
	doorKind string
	// startDoor creates that door ACS's own simulator on cfg.Clock,
	// accepting creds (the door's settings are in the issuer site's
	// Config), keeps it in s, and returns its handler, the access levels
	// visitors get (the lobby first) and how its requests fail (as
	// inject does). start then returns nil levels.
	startDoor func(s *Sims, cfg SimConfig, creds providers.Config) (http.Handler, []string, func(s *Sims, k Kind, variant int, r *http.Request) bool)
	// heldCard is the card key, at the door, of the card a visit's
	// credential holds (the card the issuer issued, read from the
	// credential's reference); nil: cardKey of the credential's card.
	heldCard func(c visitor.Credential) string
	// options are adapter options of the issuer's own type for the
	// settings c (through providers.Options.Extra).
	options func(c providers.Config) []any
}

// kits holds the kit of every provider kind.
var kits = map[string]*kit{
	Genetec: genetecKit,
	Lenel:   lenelKit,
	Brivo:   brivoKit,
	Alta:    altaKit,
	Verkada: verkadaKit,
	Netbox:  netboxKit,
	Origo:   origoKit,
}

// facilityNumber is the card key of the ACSs that store a card as facility
// code and number.
func facilityNumber(c acs.Card) string {
	return strconv.FormatUint(c.Facility, 10) + "/" + strconv.FormatUint(c.Number, 10)
}

// decimalKey is facilityNumber for the decimal strings an oracle holds.
func decimalKey(facility, number string) string {
	f, err1 := strconv.ParseUint(facility, 10, 64)
	n, err2 := strconv.ParseUint(number, 10, 64)
	if err1 != nil || err2 != nil {
		return facility + "/" + number
	}
	return facilityNumber(acs.Card{Facility: f, Number: n})
}

// opensAny reports whether f says credential cred opens one of the site's
// levels at time at.
func (site *Site) opensAny(f func(cred, level string, at time.Time) bool, cred string, at time.Time) bool {
	for _, l := range site.Levels {
		if f(cred, l, at) {
			return true
		}
	}
	return false
}

func basic(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}

var genetecKit = &kit{
	location:    "gen-hq",
	credentials: genetecCredentials,
	sensitive:   []providers.Setting{providers.AppID},
	basic:       genetecBasic,
	start: func(s *Sims, cfg SimConfig, c providers.Config) (http.Handler, []string) {
		s.Genetec = newGenetecSim(cfg, c)
		return s.Genetec, genetecLevels
	},
	inject: func(s *Sims, k Kind, v int, r *http.Request) bool { return genetecInject(s.Genetec, k, v, r) },
	snapshot: func(site *Site, at time.Time, _ []string) Snapshot {
		return genetecSnapshot(site, site.sims.Genetec, at)
	},
	cardKey: genetecCard,
}

// The Genetec kit's parts, shared with the Genetec simulator behind the
// Origo site.

func genetecCredentials(tag func(string) string) providers.Config {
	return providers.Config{providers.Username: "vms-operator", providers.Password: tag("GenPw#Zq8"), providers.AppID: tag("GenApp")}
}

func genetecBasic(c providers.Config) []string {
	return []string{basic(c[providers.Username]+";"+c[providers.AppID], c[providers.Password])}
}

var genetecLevels = []string{genetecsim.SeedLobbyGroup, genetecsim.SeedFloor3Group}

func newGenetecSim(cfg SimConfig, c providers.Config) *genetecsim.Server {
	return genetecsim.New(
		genetecsim.WithClock(cfg.Clock),
		genetecsim.WithUser(c[providers.Username], c[providers.Password]),
		genetecsim.WithApplicationID(c[providers.AppID]),
		genetecsim.WithColdStart(2*time.Millisecond),
	)
}

func genetecInject(g *genetecsim.Server, k Kind, v int, r *http.Request) bool {
	rel := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, genetecsim.DefaultBasePath), "/")
	f := genetecsim.Fault{Method: r.Method, Path: rel, Times: 1}
	switch k {
	case ServerError:
		f.Status = []int{500, 502, 503}[v%3]
		if f.Status == 503 {
			f.RetryAfter = "1"
		}
	case Throttled:
		f.Status, f.RetryAfter = http.StatusTooManyRequests, "2"
	case VendorError:
		f.Fail = &genetecsim.Failure{SdkErrorCode: "ServerBusy", Message: "The Directory is busy; try again."}
	case DropBefore:
		f.Drop = true
	case DropAfter:
		f.DropAfterCommit = true
	case SessionExpired:
		g.ExpireSessions()
		return true
	default:
		return false
	}
	g.Inject(f)
	return true
}

func genetecSnapshot(site *Site, g *genetecsim.Server, at time.Time) Snapshot {
	snap := Snapshot{Holders: map[string]int{}}
	assigned := 0
	for _, h := range g.Cardholders() {
		ext := genetecExternalID(h.Name)
		if ext == "" {
			snap.Anonymous++
		} else {
			snap.Holders[ext]++
		}
		for _, id := range h.Credentials {
			ci, ok := g.Credential(id)
			if !ok {
				continue
			}
			assigned++
			snap.Credentials = append(snap.Credentials, ACSCredential{ID: id, Holder: ext,
				Card: genetecCardKey(ci.BitLength, ci.Raw), Live: site.opensAny(g.Opens, id, at)})
		}
	}
	snap.Unassigned = g.Census().Credentials - assigned
	return snap
}

// genetecCard is Genetec's card key: Genetec stores the raw frame, the
// oracle the decoded card.
func genetecCard(c acs.Card) string { return c.String() }

var lenelKit = &kit{
	location: "len-campus",
	credentials: func(tag func(string) string) providers.Config {
		return providers.Config{providers.Username: "vms-operator", providers.Password: tag("LenPw!Kx3"), providers.AppID: tag("LENAPP")}
	},
	sensitive: []providers.Setting{providers.AppID},
	basic:     func(providers.Config) []string { return nil },
	start: func(s *Sims, cfg SimConfig, c providers.Config) (http.Handler, []string) {
		s.Lenel = lenelsim.New(
			lenelsim.WithoutDefaults(),
			lenelsim.WithClock(cfg.Clock),
			lenelsim.WithUser(c[providers.Username], c[providers.Password], ""),
			lenelsim.WithApplicationID(c[providers.AppID]),
			lenelsim.WithTokenFunc(s.lenelToken),
		)
		return s.Lenel, []string{strconv.FormatInt(lenelsim.LevelLobby, 10), strconv.FormatInt(lenelsim.LevelFloor3, 10)}
	},
	inject: func(s *Sims, k Kind, v int, r *http.Request) bool {
		path := r.URL.Path
		if strings.HasPrefix(path, lenelsim.BasePath+"/") {
			path = strings.TrimPrefix(path, lenelsim.BasePath)
		}
		f := lenelsim.Fault{Method: r.Method, Path: path, Times: 1}
		switch k {
		case ServerError:
			f.Status = []int{500, 502, 503}[v%3]
		case Throttled:
			f.Status = http.StatusTooManyRequests
		case VendorError:
			f.Status, f.Code, f.Message = http.StatusInternalServerError, lenelsim.CodeInternalError, "The database is busy."
		case DropBefore:
			f.DropBefore = true
		case DropAfter:
			f.DropAfterCommit = true
		case SessionExpired:
			f.ExpireSession = true
		default:
			return false
		}
		s.Lenel.AddFault(f)
		return true
	},
	snapshot: func(site *Site, at time.Time, _ []string) Snapshot {
		snap := Snapshot{Holders: map[string]int{}}
		l := site.sims.Lenel
		ssno := map[int64]string{}
		for _, v := range l.Instances("Lnl_Visitor") {
			id, _ := v["ID"].(int64)
			ext, _ := v["SSNO"].(string)
			ssno[id] = ext
			if ext == "" {
				snap.Anonymous++
			} else {
				snap.Holders[ext]++
			}
		}
		for _, b := range l.Instances("Lnl_Badge") {
			key, _ := b["BADGEKEY"].(int64)
			pid, _ := b["PERSONID"].(int64)
			num, _ := b["ID"].(int64)
			holder, ok := ssno[pid]
			if !ok {
				snap.Unassigned++
				continue
			}
			k := strconv.FormatInt(key, 10)
			snap.Credentials = append(snap.Credentials, ACSCredential{ID: k, Holder: holder,
				Card: "badge " + strconv.FormatInt(num, 10), Live: site.opensAny(l.Opens, k, at)})
		}
		return snap
	},
	// Lenel's badge ID is the card number.
	cardKey: func(c acs.Card) string { return "badge " + strconv.FormatUint(c.Number, 10) },
}

var brivoKit = &kit{
	location: "brv-office",
	credentials: func(tag func(string) string) providers.Config {
		return providers.Config{providers.ClientID: "vms-client", providers.ClientSecret: tag("BrvSecret"),
			providers.APIKey: tag("BrvKey"), providers.Username: "vms-admin", providers.Password: tag("BrvPw%2F&x")}
	},
	basic: func(c providers.Config) []string {
		return []string{basic(c[providers.ClientID], c[providers.ClientSecret])}
	},
	start: func(s *Sims, cfg SimConfig, c providers.Config) (http.Handler, []string) {
		s.Brivo = brivosim.New(
			brivosim.WithClock(cfg.Clock),
			brivosim.WithCredentials(brivosim.Credentials{
				ClientID: c[providers.ClientID], ClientSecret: c[providers.ClientSecret], APIKey: c[providers.APIKey],
				Username: c[providers.Username], Password: c[providers.Password],
			}),
			brivosim.WithRetryAfter(2),
		)
		gs := brivosim.DefaultGroups()
		return s.Brivo, []string{gs[0].GroupID(), gs[1].GroupID()}
	},
	tokens: map[string][]string{brivosim.TokenPath: {"access_token", "refresh_token"}},
	inject: func(s *Sims, k Kind, v int, r *http.Request) bool {
		rel := strings.TrimPrefix(r.URL.EscapedPath(), brivosim.APIPrefix)
		if r.URL.Path == brivosim.TokenPath {
			rel = brivosim.TokenPath
		}
		f := brivosim.Fault{Method: r.Method, Path: rel, Times: 1}
		switch k {
		case ServerError:
			f.Kind, f.Status = brivosim.FaultStatus, []int{500, 502, 503}[v%3]
		case Throttled:
			if v%2 == 0 {
				f.Kind = brivosim.FaultOverQPS
			} else {
				f.Kind, f.Status = brivosim.FaultStatus, http.StatusTooManyRequests
			}
		case VendorError:
			f.Kind, f.Status = brivosim.FaultStatus, http.StatusServiceUnavailable
		case DropBefore:
			f.Kind = brivosim.FaultDropBeforeCommit
		case DropAfter:
			f.Kind = brivosim.FaultDropAfterCommit
		case SessionExpired:
			f.Kind = brivosim.FaultExpireToken
			if v%4 == 0 {
				s.Brivo.ExpireRefreshTokens()
			}
		default:
			return false
		}
		s.Brivo.AddFault(f)
		return true
	},
	// Brivo's oracle finds users by external ID only.
	snapshot: func(site *Site, at time.Time, visitIDs []string) Snapshot {
		snap := Snapshot{Holders: map[string]int{}}
		b := site.sims.Brivo
		users := map[int64]string{}
		for _, ext := range visitIDs {
			if u, ok := b.User(ext); ok {
				users[u.ID] = ext
				snap.Holders[ext]++
			}
		}
		snap.Anonymous = b.Census().Users - len(users)
		for _, c := range b.Credentials() {
			if c.UserID == 0 {
				snap.Unassigned++
				continue
			}
			id := strconv.FormatInt(c.ID, 10)
			snap.Credentials = append(snap.Credentials, ACSCredential{ID: id, Holder: users[c.UserID],
				Card: decimalKey(c.Fields["facility_code"], c.Fields["card_number"]), Live: site.opensAny(b.Opens, id, at)})
		}
		return snap
	},
	cardKey: facilityNumber,
}

var altaKit = &kit{
	location: "alta-lab",
	credentials: func(tag func(string) string) providers.Config {
		return providers.Config{providers.Username: "vms-admin@example.com", providers.Password: tag("AltPw&q9")}
	},
	basic: func(c providers.Config) []string {
		return []string{basic(c[providers.Username], c[providers.Password])}
	},
	start: func(s *Sims, cfg SimConfig, c providers.Config) (http.Handler, []string) {
		s.Alta = altasim.New(
			altasim.WithClock(cfg.Clock),
			altasim.WithCredentials(altasim.Credentials{Email: c[providers.Username], Password: c[providers.Password]}),
		)
		gs := altasim.DefaultGroups()
		return s.Alta, []string{gs[0].GroupID(), gs[1].GroupID()}
	},
	tokens: map[string][]string{altasim.LoginPath: {"token"}, altasim.RefreshPath: {"token"}},
	inject: func(s *Sims, k Kind, v int, r *http.Request) bool {
		// Faults match the path without the organisation prefix.
		rel := r.URL.EscapedPath()
		if rest, ok := strings.CutPrefix(rel, "/orgs/"); ok {
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				rel = rest[i:]
			}
		}
		f := altasim.Fault{Method: r.Method, Path: rel, Times: 1}
		switch k {
		case ServerError:
			f.Kind, f.Status = altasim.FaultStatus, []int{500, 502, 503}[v%3]
		case Throttled:
			f.Kind = altasim.FaultRateLimit
		case VendorError:
			// Alta documents no error body; a 503 with Retry-After.
			f.Kind, f.Status = altasim.FaultStatus, http.StatusServiceUnavailable
		case DropBefore:
			f.Kind = altasim.FaultDropBeforeCommit
		case DropAfter:
			f.Kind = altasim.FaultDropAfterCommit
		case SessionExpired:
			f.Kind = altasim.FaultExpireToken
		default:
			return false
		}
		s.Alta.AddFault(f)
		return true
	},
	// Soft-deleted users are gone from the API and open nothing; their
	// credentials count as unassigned.
	snapshot: func(site *Site, at time.Time, _ []string) Snapshot {
		snap := Snapshot{Holders: map[string]int{}}
		a := site.sims.Alta
		for _, u := range a.Users() {
			creds := a.Credentials(u.ID)
			if u.Archived {
				snap.Unassigned += len(creds)
				continue
			}
			if u.ExternalID == "" {
				snap.Anonymous++
			} else {
				snap.Holders[u.ExternalID]++
			}
			for _, c := range creds {
				id := strconv.FormatInt(c.ID, 10)
				snap.Credentials = append(snap.Credentials, ACSCredential{ID: id, Holder: u.ExternalID,
					Card: decimalKey(c.FacilityCode, c.CardID), Live: site.opensAny(a.Opens, id, at)})
			}
		}
		return snap
	},
	cardKey: facilityNumber,
}

var verkadaKit = &kit{
	location: "vkd-annex",
	credentials: func(tag func(string) string) providers.Config {
		return providers.Config{providers.APIKey: tag("VkdKey")}
	},
	basic: func(providers.Config) []string { return nil },
	start: func(s *Sims, cfg SimConfig, c providers.Config) (http.Handler, []string) {
		s.Verkada = verkadasim.New(
			verkadasim.WithClock(cfg.Clock),
			verkadasim.WithAPIKey(c[providers.APIKey]),
		)
		return s.Verkada, []string{verkadasim.GroupID(1), verkadasim.GroupID(2)}
	},
	tokens: map[string][]string{verkadasim.TokenPath: {"token"}},
	inject: func(s *Sims, k Kind, v int, r *http.Request) bool {
		f := verkadasim.Fault{Method: r.Method, Path: r.URL.Path, Times: 1}
		switch k {
		case ServerError:
			f.Kind, f.Status = verkadasim.FaultStatus, []int{500, 502, 503}[v%3]
		case Throttled:
			f.Kind, f.Status = verkadasim.FaultStatus, http.StatusTooManyRequests
		case VendorError:
			f.Kind, f.Status = verkadasim.FaultStatus, http.StatusServiceUnavailable
		case DropBefore:
			f.Kind = verkadasim.FaultDropBeforeCommit
		case DropAfter:
			f.Kind = verkadasim.FaultDropAfterCommit
		case SessionExpired:
			f.Kind = verkadasim.FaultExpireToken
		default:
			return false
		}
		s.Verkada.AddFault(f)
		return true
	},
	snapshot: func(site *Site, at time.Time, _ []string) Snapshot {
		snap := Snapshot{Holders: map[string]int{}}
		v := site.sims.Verkada
		assigned := 0
		for _, u := range v.Users() {
			if u.ExternalID == "" {
				snap.Anonymous++
			} else {
				snap.Holders[u.ExternalID]++
			}
			for _, c := range u.Cards {
				assigned++
				snap.Credentials = append(snap.Credentials, ACSCredential{ID: c.ID, Holder: u.ExternalID,
					Card: decimalKey(c.Facility, c.Number), Live: site.opensAny(v.Opens, c.ID, at)})
			}
		}
		snap.Unassigned = v.Census().Cards - assigned
		return snap
	},
	cardKey: facilityNumber,
}

// netboxZone is the chaos NetBox controller's time zone: NBAPI dates are
// its wall-clock time, so the adapter converts every window.
const netboxZone = "America/New_York"

var netboxKit = &kit{
	location: "nbx-plant",
	credentials: func(tag func(string) string) providers.Config {
		// A password that needs escaping in XML.
		return providers.Config{providers.Username: "vms-api", providers.Password: tag("NbxPw<&>q7"), providers.TimeZone: netboxZone}
	},
	basic: func(providers.Config) []string { return nil },
	start: func(s *Sims, cfg SimConfig, c providers.Config) (http.Handler, []string) {
		loc, err := time.LoadLocation(netboxZone)
		if err != nil {
			panic(err)
		}
		s.Netbox = netboxsim.New(
			netboxsim.WithoutDefaults(),
			netboxsim.WithClock(cfg.Clock),
			netboxsim.WithUser(c[providers.Username], c[providers.Password]),
			netboxsim.WithTimeZone(loc),
			netboxsim.WithSessionIDFunc(s.netboxSession),
		)
		return s.Netbox, []string{netboxsim.LevelLobby, netboxsim.LevelFloor3}
	},
	inject: func(s *Sims, k Kind, v int, r *http.Request) bool {
		// Every command is a POST to one path: the fault names the
		// request's command.
		f := netboxsim.Fault{Command: netboxCommand(r), Times: 1}
		switch k {
		case ServerError:
			// From a proxy in front of the controller: the NBAPI itself
			// answers everything with 200.
			f.HTTPStatus = []int{500, 502, 503}[v%3]
		case Throttled:
			f.HTTPStatus = http.StatusTooManyRequests
		case VendorError:
			if v%2 == 0 {
				f.APIError = 1 // the API failed to initialise
			} else {
				f.Code, f.ErrMsg = "FAIL", "The database is busy; try again later."
			}
		case DropBefore:
			f.DropBefore = true
		case DropAfter:
			f.DropAfterCommit = true
		case SessionExpired:
			if v%4 == 0 {
				s.Netbox.ExpireSessions() // a controller restart
				return true
			}
			f.ExpireSession = true
		default:
			return false
		}
		s.Netbox.AddFault(f)
		return true
	},
	// Soft-deleted people count as cardholders: RemoveCardholder purges
	// the record, so one left behind is a stale cardholder.
	snapshot: func(site *Site, at time.Time, _ []string) Snapshot {
		snap := Snapshot{Holders: map[string]int{}}
		n := site.sims.Netbox
		for _, p := range n.People() {
			ext, ok := strings.CutPrefix(p.ID, netbox.DefaultPersonIDPrefix)
			if !ok || ext == "" {
				snap.Anonymous++
			} else {
				snap.Holders[ext]++
			}
			for _, c := range p.Credentials {
				snap.Credentials = append(snap.Credentials, ACSCredential{ID: c.ID, Holder: ext,
					Card: netboxCardKey(c.EncodedNum), Live: site.opensAny(n.Opens, c.ID, at)})
			}
		}
		return snap
	},
	// NetBox keeps the facility code in the card format: a credential is
	// its encoded number (the card number).
	cardKey: func(c acs.Card) string { return netboxCardKey(strconv.FormatUint(c.Number, 10)) },
}

func netboxCardKey(encoded string) string {
	if n, err := strconv.ParseUint(encoded, 10, 64); err == nil {
		encoded = strconv.FormatUint(n, 10)
	}
	return "card " + encoded
}

var netboxCommandName = regexp.MustCompile(`<COMMAND\b[^>]*\bname\s*=\s*["']([A-Za-z]+)["']`)

// netboxCommand returns the NBAPI command a request carries ("" when none
// is found), leaving the body for the simulator to read.
func netboxCommand(r *http.Request) string {
	if r.Body == nil {
		return ""
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return ""
	}
	doc := string(body)
	if v, err := url.ParseQuery(doc); err == nil && v.Has("APIcommand") {
		doc = v.Get("APIcommand")
	}
	if m := netboxCommandName.FindStringSubmatch(doc); m != nil {
		return m[1]
	}
	return ""
}

// genetecExternalID extracts the external ID the genetec adapter puts at
// the end of a cardholder's name in square brackets.
func genetecExternalID(name string) string {
	if !strings.HasSuffix(name, "]") {
		return ""
	}
	i := strings.LastIndexByte(name, '[')
	if i < 0 {
		return ""
	}
	return strings.ReplaceAll(name[i+1:len(name)-1], `\`, "")
}

func genetecCardKey(bits int, raw uint64) string {
	var f wiegand.Format
	switch bits {
	case 26:
		f = wiegand.H10301
	case 37:
		f = wiegand.H10302
	}
	if f.Known() {
		if c, err := f.Decode(wiegand.Frame{Len: uint8(bits), Value: raw}); err == nil {
			return c.String()
		}
	}
	return "raw " + strconv.Itoa(bits) + "/" + strconv.FormatUint(raw, 16)
}
