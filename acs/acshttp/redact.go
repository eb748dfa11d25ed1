package acshttp

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// MinSecretLen is the length, in bytes, from which a secret is searched
// for in text and replaced by [REDACTED].
//
// # The redaction rule
//
// Secrets are kept out of text at the source: no request body or header
// is ever quoted in an error or a log line, base URLs carry no user
// information and no query (CheckBaseURL), no adapter puts a password,
// key or token into a path or query, and a message that would name a
// setting equal to a secret (a user name that is also the password) does
// not quote it. Redaction is the second line, for text that comes from
// outside: a server's error message, a transport error.
//
// There, a secret of MinSecretLen bytes or more is replaced wherever it
// occurs, as is each form it takes on the wire (JSON-escaped,
// URL-escaped). A shorter secret is not searched for: "a", "admin" or
// "password" occur in ordinary words, user names and numbers, and
// replacing them would mangle the message ("refu[REDACTED]ed", user
// "[REDACTED]") while an operator could no longer read it. Such a secret
// still never appears, because it is never formatted in; and a request
// echoed back by a server has the values of its secret-named fields
// ("password": …, password=…, Authorization: …, <Password>…</Password>)
// blanked whatever their length.
//
// Twelve bytes keep the words of the adapters' messages and the common
// weak passwords (the longest in breach top lists, "password123" and
// "1234567890", are shorter) out of the search, while the session tokens,
// OAuth tokens and API keys servers might echo are all longer.
const MinSecretLen = 12

// redacted replaces a secret in text.
const redacted = "[REDACTED]"

// secretFields match the values of fields named like secrets in text a
// server may have echoed from a request: JSON members, form or query
// pairs, HTTP credentials, XML elements.
var secretFields = []*regexp.Regexp{
	regexp.MustCompile(`(?i)("[\w.-]*(?:password|passwd|secret|token|apikey|api_key|api-key|authorization|sessionid)"\s*:\s*)"(?:[^"\\]|\\.)*"`),
	regexp.MustCompile(`(?i)(\b[\w.-]*(?:password|passwd|secret|token|apikey|api_key|api-key|sessionid)=)[^\s&"'<>]+`),
	regexp.MustCompile(`(?i)(\bauthorization\s*:\s*(?:basic|bearer)\s+)[^\s,;"'<>]+`),
	regexp.MustCompile(`(?i)(\b(?:x-api-key|api-key|session-token)\s*:\s*)[^\s,;"'<>]+`),
	regexp.MustCompile(`(?i)(<[\w:.-]*(?:password|passwd|secret|token|apikey|sessionid)>)[^<]+`),
}

// Redactor removes secrets from text by the rule of MinSecretLen. The
// zero value removes nothing but the values of secret-named fields. A
// Redactor is safe for concurrent use.
type Redactor struct {
	r *strings.Replacer // nil: no secret long enough
}

// NewRedactor returns a Redactor for secrets; those shorter than
// MinSecretLen are left out (see MinSecretLen for why that is safe).
func NewRedactor(secrets ...string) *Redactor {
	pairs := secretPairs(nil, secrets)
	if len(pairs) == 0 {
		return &Redactor{}
	}
	return &Redactor{r: strings.NewReplacer(pairs...)}
}

// secretPairs appends the replacement pairs of secrets to pairs: each
// secret of MinSecretLen bytes or more in each of its wire forms, longest
// first so that no shorter form cuts a longer one.
func secretPairs(pairs []string, secrets []string) []string {
	var forms []string
	for _, s := range secrets {
		if len(s) < MinSecretLen {
			continue
		}
		forms = append(forms, s, url.QueryEscape(s), url.PathEscape(s), jsonEscape(s, false), jsonEscape(s, true))
	}
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	forms = slices.Compact(forms)
	for _, f := range forms {
		pairs = append(pairs, f, redacted)
	}
	return pairs
}

// jsonEscape returns s as it appears inside a JSON string, with <, > and
// & escaped as \u003c and the like (as Go's encoder does) or not.
func jsonEscape(s string, html bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	_ = enc.Encode(s)
	out := bytes.TrimSpace(b.Bytes())
	return string(out[1 : len(out)-1])
}

// Redact returns s without the Redactor's secrets, without more (the
// session tokens of the moment, say, by the same length rule) and with
// the values of secret-named fields blanked.
func (r *Redactor) Redact(s string, more ...string) string {
	if r != nil && r.r != nil {
		s = r.r.Replace(s)
	}
	if pairs := secretPairs(nil, more); len(pairs) > 0 {
		s = strings.NewReplacer(pairs...).Replace(s)
	}
	return redactFields(s)
}

// redactFields blanks the values of secret-named fields in s.
func redactFields(s string) string {
	for i, re := range secretFields {
		if i == 0 {
			s = re.ReplaceAllString(s, `$1"`+redacted+`"`)
			continue
		}
		s = re.ReplaceAllString(s, "${1}"+redacted)
	}
	return s
}

// RedactSecrets returns s without secrets, by the rule of MinSecretLen:
// for a program (a command-line tool, say) that holds secrets of its own
// and prints errors that came from elsewhere.
func RedactSecrets(s string, secrets ...string) string {
	return NewRedactor().Redact(s, secrets...)
}

// Mention names a setting in a message: what followed by the quoted
// value (user "operator"), or "the configured " + what when the value
// equals one of secrets (a user name that is also the password), since
// quoting it would put that secret into text.
func Mention(what, value string, secrets ...string) string {
	for _, s := range secrets {
		if s != "" && value == s {
			return "the configured " + what
		}
	}
	return what + " " + strconv.Quote(value)
}
