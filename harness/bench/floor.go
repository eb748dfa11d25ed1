package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// Floor is the protocol's floor: a minimal client that sends the requests
// a correct independent client needs to provision a new visitor and to
// revoke a credential by its ID — which are the requests the provider's
// adapter sends, with the same methods, paths, queries, bodies and
// authentication headers — and decodes only what the next request needs.
// "Correct" includes the checks for duplicates that VMS replicas
// provisioning one visit at the same instant can create: the cardholder
// looked up again after its creation and, for Genetec, the card searched
// again after a revocation. "Independent" means it knows no more of the
// installation than the adapter does: what differs from one site or
// account to another (Lenel's badge statuses and visitor badge type,
// Brivo's credential format and its field IDs, whether an access level
// exists) it asks the ACS for once, as the adapter does, rather than
// taking it from the simulator's seeds. A floor client handles only the path the
// benchmarks take: what such a check finds beyond the visitor's own
// record, it reports as an error instead of converging it. It validates
// nothing, never retries, paces nothing and logs nothing. It exists to be
// measured against the adapters.
type Floor interface {
	// Provision creates the cardholder and credential of g and grants
	// g.AccessLevels[0].
	Provision(ctx context.Context, g acs.Grant) (FloorRef, error)
	// Revoke ends the credential the way the adapter's Revoke does.
	Revoke(ctx context.Context, ref FloorRef) error
}

// FloorRef is what a floor client needs to revoke.
type FloorRef struct {
	Holder     string
	Credential string
	Card       acs.Card          // searched again after a Genetec revocation
	ref        acs.CredentialRef // set by Adapter
}

// Adapter drives an acs.Provider through the Floor interface, so that an
// adapter and a floor client are measured by the same code.
type Adapter struct{ P acs.Provider }

// Provision calls the provider's Provision.
func (a Adapter) Provision(ctx context.Context, g acs.Grant) (FloorRef, error) {
	p, err := a.P.Provision(ctx, g)
	return FloorRef{Holder: p.Cardholder.ID, Credential: p.Credential.ID, Card: p.Credential.Card, ref: p.Credential}, err
}

// Revoke calls the provider's Revoke with the reference Provision
// returned, as the visitor engine does.
func (a Adapter) Revoke(ctx context.Context, ref FloorRef) error {
	return a.P.Revoke(ctx, ref.ref)
}

// floors builds each provider's floor client; a provider without one is
// measured by request counts only (not by the cpu scenario and the Go
// benchmarks).
var floors = map[string]func(ctx context.Context, url string, hc *http.Client) (Floor, error){
	Genetec: func(_ context.Context, url string, hc *http.Client) (Floor, error) {
		return newGenetecFloor(url, hc), nil
	},
	Lenel: func(ctx context.Context, url string, hc *http.Client) (Floor, error) {
		f, err := newLenelFloor(ctx, url, hc)
		if err != nil {
			return nil, err
		}
		return f, nil
	},
	Brivo: func(ctx context.Context, url string, hc *http.Client) (Floor, error) {
		f, err := newBrivoFloor(ctx, url, hc)
		if err != nil {
			return nil, err
		}
		return f, nil
	},
}

// HasFloor reports whether provider has a floor client.
func HasFloor(provider string) bool { return floors[provider] != nil }

// FloorProviders returns the providers with a floor client, in the order
// of Providers.
func FloorProviders() []string {
	var out []string
	for _, p := range Providers {
		if HasFloor(p) {
			out = append(out, p)
		}
	}
	return out
}

// NewFloor returns provider's floor client for the simulator at url (its
// origin), logging in first where the protocol has sessions. hc nil means
// a client like the adapters' (a cloned default transport keeping up to
// 64 idle connections).
func NewFloor(ctx context.Context, provider, url string, hc *http.Client) (Floor, error) {
	if hc == nil {
		hc = FloorHTTPClient()
	}
	f, ok := floors[provider]
	if !ok {
		return nil, fmt.Errorf("bench: no floor client for provider %q; have %v", provider, FloorProviders())
	}
	return f(ctx, url, hc)
}

// FloorHTTPClient returns an HTTP client with the transport settings the
// adapters use.
func FloorHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// send performs one request and returns the body of a 2xx answer.
func send(ctx context.Context, hc *http.Client, method, url string, header http.Header, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	req.Header = header
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &statusError{method: method, path: req.URL.Path, status: resp.StatusCode}
	}
	return data, nil
}

// statusError is an answer of a status other than 2xx.
type statusError struct {
	method, path string
	status       int
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d", e.method, e.path, e.status)
}

// hasStatus reports whether err is an answer of that HTTP status.
func hasStatus(err error, status int) bool {
	var se *statusError
	return errors.As(err, &se) && se.status == status
}

// sameTime reports whether s, an RFC 3339 time an ACS answered, is t to
// the second (the precision the floor clients write).
func sameTime(s string, t time.Time) bool {
	v, err := time.Parse(time.RFC3339, s)
	return err == nil && v.Equal(t.Truncate(time.Second))
}
