package brivo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/acs/acshttp"
)

// Brivo's API and its OAuth server live on different hosts: the API at
// …/v1/api behind the Mashery gateway, the token endpoint at
// /oauth/token of the auth host. Given each other's URL, each answers in
// its own way, and those answers, not the status alone, say which URL is
// wrong: the token endpoint answering 404, 596, a web page, the API's
// {"code":…} shape or the API's "Full authentication is required" (for a
// request that did carry the client credentials) is not the OAuth server;
// the API answering 596 or a 404 that is not Brivo's to the group listing
// of Ping is not the API. Both are Misconfigured, never a refusal of the
// credentials.

// checkHosts refuses Brivo's own API host given as the auth URL and its
// auth host given as the API URL: the usual way to swap them.
func checkHosts(api, auth *url.URL) error {
	apiHost, authHost := strings.ToLower(api.Hostname()), strings.ToLower(auth.Hostname())
	switch {
	case strings.HasPrefix(apiHost, "auth.") && strings.HasSuffix(apiHost, ".brivo.com"):
		return fmt.Errorf("the API base URL names Brivo's OAuth host %s: the base URL is the API, such as %s, and the auth URL the OAuth host, such as %s; are the two swapped?",
			apiHost, DefaultBaseURL, DefaultAuthURL)
	case strings.HasPrefix(authHost, "api.") && strings.HasSuffix(authHost, ".brivo.com"):
		return fmt.Errorf("the auth URL names Brivo's API host %s: the auth URL is the OAuth host, such as %s, and the base URL the API, such as %s; are the two swapped?",
			authHost, DefaultAuthURL, DefaultBaseURL)
	}
	return nil
}

// looksLikeAPI reports whether a URL has the API's form (…/v1/api).
func looksLikeAPI(u string) bool { return strings.HasSuffix(strings.TrimRight(u, "/"), "/v1/api") }

// swapHint is the sentence to add when the two URLs look swapped, with
// its leading "; ", or "".
func (p *Provider) swapHint() string {
	if looksLikeAPI(p.auth.BaseURL()) && !looksLikeAPI(p.api.BaseURL()) {
		return "; the auth URL ends in /v1/api as the API's does and the base URL does not: the two look swapped"
	}
	return ""
}

// notOAuth says how an error answer to a token request shows that the
// auth URL leads to something other than Brivo's OAuth server, or "".
func notOAuth(resp *acshttp.Response, ve *APIError) string {
	body := bytes.TrimSpace(resp.Body)
	switch {
	case resp.Status == 596:
		return "the API gateway's 596 Service Not Found, as the API answers an unknown path"
	case resp.Status >= 500:
		return "" // an outage page says nothing about the URL
	case resp.Status == http.StatusNotFound || resp.Status == http.StatusMethodNotAllowed:
		return fmt.Sprintf("HTTP %d: there is no token endpoint there", resp.Status)
	case resp.Status == http.StatusUnauthorized && ve.OAuthError == "unauthorized" &&
		(strings.Contains(ve.Message, "Full authentication") || strings.HasPrefix(strings.ToLower(resp.Header.Get("WWW-Authenticate")), "bearer")):
		return "HTTP 401 asking for authentication although the client credentials were sent, as the API answers a request without an access token"
	case len(body) > 0 && body[0] != '{':
		return fmt.Sprintf("HTTP %d with a page, not OAuth's JSON", resp.Status)
	case ve.OAuthError == "" && ve.Code != 0:
		return fmt.Sprintf("HTTP %d in the API's {\"code\":…} shape, not OAuth's {\"error\":…}", resp.Status)
	}
	return ""
}

// authURLWrong is the error of a token request whose answer (described
// by what) is not the OAuth server's.
func (p *Provider) authURLWrong(ae *acs.Error, what string) *acs.Error {
	ae.Code, ae.RetryAfter = acs.Misconfigured, 0
	ae.Message = fmt.Sprintf("the auth URL %s does not point at Brivo's OAuth server: POST %s/oauth/token answered %s; the auth URL is the OAuth host without a path, such as %s%s",
		p.auth.BaseURL(), p.auth.BaseURL(), what, DefaultAuthURL, p.swapHint())
	return ae
}

// tokenAnswerNotOAuth says how a 2xx answer to a token request without
// an access token shows another server than the OAuth server, or "".
func tokenAnswerNotOAuth(body []byte) string {
	body = bytes.TrimSpace(body)
	var j map[string]json.RawMessage
	switch {
	case len(body) == 0:
		return ""
	case body[0] != '{' || json.Unmarshal(body, &j) != nil:
		return "a 2xx that is not JSON (a web page?)"
	case j["access_token"] == nil && (j["data"] != nil || j["count"] != nil):
		return "a 2xx listing in the API's shape, not a token"
	}
	return ""
}

// pingMisdirected turns the error answer of Ping's group listing into
// Misconfigured when it shows that the base URL is not Brivo's API: the
// gateway's 596 or a 404 that is not Brivo's. Any other answer stands.
func (p *Provider) pingMisdirected(resp *acshttp.Response, err error) error {
	var ae *acs.Error
	if !errors.As(err, &ae) || resp.Status != 596 && (resp.Status != http.StatusNotFound || brivoNotFound(resp)) {
		return err
	}
	hint := p.swapHint()
	switch {
	case hint != "":
	case p.api.BaseURL() == p.auth.BaseURL():
		hint = "; it is the auth URL as well"
	case !looksLikeAPI(p.api.BaseURL()):
		hint = "; it does not end in /v1/api"
	}
	cp := *ae
	cp.Code, cp.RetryAfter = acs.Misconfigured, 0
	cp.Message = fmt.Sprintf("the base URL %s does not point at the Brivo API: GET %s/groups answered HTTP %d, as a server without that API does; the base URL is the API, such as %s%s",
		p.api.BaseURL(), p.api.BaseURL(), resp.Status, DefaultBaseURL, hint)
	return &cp
}
