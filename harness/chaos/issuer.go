package chaos

import (
	"bytes"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acstest"
	"github.com/acsbridge/acsbridge/internal/providers"
	"github.com/acsbridge/acsbridge/origo"
	"github.com/acsbridge/acsbridge/origo/origosim"
	"github.com/acsbridge/acsbridge/visitor"
)

// The Origo site: HID Origo's simulator (origosim) behind its Injector, in
// front of a door ACS of its own, a second Genetec simulator behind its
// own Injector. The provider is the registry's Origo issuer (package
// origo) in front of the registry's genetec adapter. Every grant is a
// mobile ID (the registry builds the issuer with WithMobileByDefault): the
// visitor's simulated phone accepts the invitation after PhoneDelays, and
// only then does the card Origo issued reach the door.

// callbackSecret is the setting, of the harness's own, holding the secret
// that authenticates Origo's callbacks (origo.WithCallbackSecret).
const callbackSecret providers.Setting = "origo-callback-secret"

// callbackHeader carries callbackSecret on each callback delivery.
const callbackHeader = "X-Callback-Secret"

// origoFacility is the facility code of the cards (H10301) that the Origo
// site's part number issues.
const origoFacility = 42

var origoKit = &kit{
	location: "ori-wing",
	credentials: func(tag func(string) string) providers.Config {
		c := genetecCredentials(tag)                       // the door's
		c[providers.OrigoClientSecret] = tag("OrgSec&+/=") // travels in a form body
		c[providers.OrigoCardFormat] = "h10301"
		c[providers.OrigoFacilityCode] = strconv.Itoa(origoFacility)
		c[callbackSecret] = tag("OrgHook")
		return c
	},
	sensitive: []providers.Setting{providers.AppID, callbackSecret},
	basic:     genetecBasic,
	start: func(s *Sims, cfg SimConfig, c providers.Config) (http.Handler, []string) {
		delay := cfg.AcceptAfter
		if delay == nil {
			delay = PhoneDelays(cfg.Seed)
		}
		s.Origo = origosim.New(
			origosim.WithClock(cfg.Clock),
			origosim.WithOrganization(origosim.DefaultOrganizationID, origosim.DefaultClientID, c[providers.OrigoClientSecret]),
			origosim.WithAcceptAfter(delay),
		)
		if c[callbackSecret] != "" {
			s.callbacks = newFanout()
			s.Origo.SetCallback(s.callbacks.srv.URL, http.Header{callbackHeader: {c[callbackSecret]}})
		}
		return s.Origo, nil
	},
	tokens: map[string][]string{origosim.TokenPath(origosim.DefaultOrganizationID): {"access_token"}},
	inject: origoInject,
	snapshot: func(site *Site, at time.Time, _ []string) Snapshot {
		snap := genetecSnapshot(site, site.sims.OrigoDoor, at)
		snap.Issuer = origoSnapshot(site.sims.Origo)
		return snap
	},
	cardKey:  genetecCard,
	doorKind: Genetec,
	startDoor: func(s *Sims, cfg SimConfig, c providers.Config) (http.Handler, []string, func(*Sims, Kind, int, *http.Request) bool) {
		s.OrigoDoor = newGenetecSim(cfg, c)
		inject := func(s *Sims, k Kind, v int, r *http.Request) bool { return genetecInject(s.OrigoDoor, k, v, r) }
		return s.OrigoDoor, genetecLevels, inject
	},
	heldCard: func(c visitor.Credential) string {
		if ref, ok := origoRefs().DoorRef(c.Ref); ok {
			return genetecCard(ref.Card)
		}
		return genetecCard(c.Card)
	},
	options: origoOptions,
}

// PhoneDelays returns how long the simulated phone of each visitor takes
// to accept an Origo invitation, drawn from seed and the external ID (a
// visit waits as long in every run with that seed): a third accept in the
// invitation's answer, a third within 2 seconds (often while the visitor
// is in: the provision waits, polls, then reaches the door), a third
// within 2 seconds to 2 minutes (mostly after the visitor left: the
// invitation is withdrawn before the phone accepts). The simulator
// accepts when a request arrives after the delay, on the test's clock
// (origosim.WithAcceptAfter), so a drain that advances the clock past
// every delay sees every phone accept: no provision waits for ever.
func PhoneDelays(seed uint64) func(externalID string) time.Duration {
	return func(ext string) time.Duration {
		h := fnv.New64a()
		_, _ = h.Write([]byte(ext))
		r := rand.New(rand.NewPCG(seed, h.Sum64()))
		switch r.IntN(3) {
		case 0:
			return 0
		case 1:
			return time.Millisecond + time.Duration(r.Int64N(int64(2*time.Second)))
		default:
			return 2*time.Second + time.Duration(r.Int64N(int64(118*time.Second)))
		}
	}
}

// origoOptions are the Origo issuer's options at the chaos site. It asks
// Origo about a waiting invitation every second to every minute
// (origo.WithPolling): a chaos lifecycle lasts seconds of simulated time,
// and the default floor of 30 seconds would see nearly every visitor
// leave before the first poll, leaving untested the path where the phone
// accepts while the visitor is in. Callbacks are authenticated with the
// site's callback secret.
func origoOptions(c providers.Config) []any {
	out := []any{origo.WithPolling(time.Second, time.Minute)}
	if secret := c[callbackSecret]; secret != "" {
		out = append(out, origo.WithCallbackSecret(callbackHeader, secret))
	}
	return out
}

// origoInject makes Origo's simulator fail the request r as kind k, in
// Origo's shape.
func origoInject(s *Sims, k Kind, v int, r *http.Request) bool {
	f := origosim.Fault{Method: r.Method, Path: r.URL.Path, Times: 1}
	switch k {
	case ServerError:
		// SCIM error bodies; the 503 with Retry-After.
		f.Kind, f.Status = origosim.FaultStatus, []int{500, 502, 503, 504}[v%4]
	case Throttled:
		// Over the organisation's limit: a 403 with the body of a
		// refused permission and no Retry-After (§4.4).
		f.Kind, f.Status = origosim.FaultStatus, http.StatusForbidden
	case VendorError:
		// A SCIM error of the API's own, or its gateway's 429.
		f.Kind, f.Status = origosim.FaultStatus, []int{500, 429}[v%2]
	case DropBefore:
		f.Kind = origosim.FaultDropBeforeCommit
	case DropAfter:
		f.Kind = origosim.FaultDropAfterCommit
	case SessionExpired:
		f.Kind = origosim.FaultExpireToken
	default:
		return false
	}
	s.Origo.AddFault(f)
	return true
}

// origoSnapshot reads what Origo holds: its users, their open invitations
// and the credentials issued to a phone and not revoked.
func origoSnapshot(o *origosim.Server) *IssuerSnapshot {
	is := &IssuerSnapshot{Users: map[string]int{}, Invitations: map[string]int{}}
	for _, u := range o.Users() {
		is.Users[u.ExternalID]++
		for _, inv := range u.Invitations {
			if inv.Status == origosim.InvitationPending {
				is.Invitations[u.ExternalID]++
			}
		}
		for _, c := range u.Credentials {
			if c.Status == origosim.CredentialIssued {
				card := acs.Card{Format: acs.H10301, Facility: origoFacility, Number: c.CardNumber}
				is.Credentials = append(is.Credentials, IssuedCredential{ID: c.ID, Holder: u.ExternalID, Card: genetecCard(card)})
			}
		}
	}
	return is
}

// origoRefs reads the references the Origo issuer returns
// (origo.Issuer.DoorRef), so that the oracle reads them as the issuer
// wrote them. It is configured as the chaos site's issuer is, and sends
// nothing.
var origoRefs = sync.OnceValue(func() *origo.Issuer {
	is, err := origo.New(acstest.NewMemory(nil), origo.Config{OrganizationID: origosim.DefaultOrganizationID,
		ClientID: origosim.DefaultClientID, ClientSecret: "unused", PartNumber: origosim.DefaultPartNumber,
		CardFormat: acs.H10301, FacilityCode: origoFacility})
	if err != nil {
		panic(err)
	}
	return is
})

// callbackHandler returns the callback receiver of an issuer that takes
// callbacks.
func callbackHandler(p acs.Provider) (http.Handler, bool) {
	is, ok := p.(*origo.Issuer)
	if !ok {
		return nil, false
	}
	h, err := is.Handler()
	return h, err == nil
}

// fanout is the loopback server Origo's simulator delivers its callbacks
// to. It passes each delivery to the receiver of every issuer that
// Connect built (the replicas test has three) and answers with the first
// one's status, or 503 when none listens (the crash test's issuers live
// in another process: their deliveries are lost, as HID's are when the
// receiver is down).
type fanout struct {
	srv *httptest.Server

	mu       sync.Mutex
	next     int
	handlers []fanoutEntry
}

type fanoutEntry struct {
	id int
	h  http.Handler
}

func newFanout() *fanout {
	f := &fanout{}
	f.srv = httptest.NewServer(f)
	return f
}

// add makes h receive the deliveries until the returned function is
// called.
func (f *fanout) add(h http.Handler) (remove func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	id := f.next
	f.handlers = append(f.handlers, fanoutEntry{id: id, h: h})
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for i, e := range f.handlers {
			if e.id == id {
				f.handlers = append(f.handlers[:i:i], f.handlers[i+1:]...)
				return
			}
		}
	}
}

func (f *fanout) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	hs := append([]fanoutEntry(nil), f.handlers...)
	f.mu.Unlock()
	status := http.StatusServiceUnavailable
	for i, e := range hs {
		rec := httptest.NewRecorder()
		req := r.Clone(r.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		e.h.ServeHTTP(rec, req)
		if i == 0 {
			status = rec.Code
		}
	}
	w.WriteHeader(status)
}

func (f *fanout) close() {
	f.srv.CloseClientConnections()
	f.srv.Close()
}
