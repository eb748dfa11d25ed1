package acshttp

import (
	"strings"
	"testing"
)

// Short and common secrets are not searched for: the message stays
// readable, and nothing leaks because no secret is formatted into it.
// Before this rule (every secret of 4 bytes or more replaced, and every
// secret at all in acsctl), the password "admin" turned
// `user "admin"` into `user "[REDACTED]"`, and a one-letter password
// replaced that letter everywhere.
func TestRedactLeavesShortAndCommonSecretsAlone(t *testing.T) {
	msg := `OnGuard refused the login of user "admin" (user name, password or directory): HTTP 401 openaccess.general.authenticationfailed`
	for _, secret := range []string{"a", "s", "admin", "password", "password123", "1234567890"} {
		if got := NewRedactor(secret).Redact(msg); got != msg {
			t.Errorf("secret %q mangled the message:\n%s", secret, got)
		}
		if got := RedactSecrets(msg, secret); got != msg {
			t.Errorf("RedactSecrets with %q mangled the message:\n%s", secret, got)
		}
	}
}

func TestRedactLongSecretsInEveryWireForm(t *testing.T) {
	const secret = `Long&Secret "pw"/42`
	r := NewRedactor(secret, "short")
	for _, form := range []string{secret, `Long&Secret \"pw\"/42`, `Long\u0026Secret \"pw\"/42`, "Long%26Secret+%22pw%22%2F42", "Long&Secret%20%22pw%22%2F42"} {
		got := r.Redact("echo: [" + form + "] short")
		if got != "echo: [[REDACTED]] short" {
			t.Errorf("form %q: %s", form, got)
		}
	}
	if got := r.Redact("x", "session-token-0123456789", "tok"); got != "x" {
		t.Errorf("%s", got)
	}
	if got := r.Redact("now session-token-0123456789 tok", "session-token-0123456789", "tok"); got != "now [REDACTED] tok" {
		t.Errorf("extra secrets: %s", got)
	}
}

// A server that echoes a request has the values of its secret-named
// fields blanked, however short: the protection a short secret has
// instead of being searched for.
func TestRedactBlanksSecretNamedFieldsWhateverTheirLength(t *testing.T) {
	r := NewRedactor()
	cases := map[string]string{
		`{"user_name":"admin","password":"a","directory_id":"d"}`:    `{"user_name":"admin","password":"[REDACTED]","directory_id":"d"}`,
		`bad request: grant_type=password&username=admin&password=a`: `bad request: grant_type=password&username=admin&password=[REDACTED]`,
		`refresh_token=rt-1&client_secret=x`:                         `refresh_token=[REDACTED]&client_secret=[REDACTED]`,
		`{"session_token": "abc\"def", "token_expiration_time":"t"}`: `{"session_token": "[REDACTED]", "token_expiration_time":"t"}`,
		`got Authorization: Basic YWRtaW46YQ== from you`:             `got Authorization: Basic [REDACTED] from you`,
		`header x-api-key: k1 refused`:                               `header x-api-key: [REDACTED] refused`,
		`<LOGIN><NAME>admin</NAME><PASSWORD>a</PASSWORD></LOGIN>`:    `<LOGIN><NAME>admin</NAME><PASSWORD>[REDACTED]</PASSWORD></LOGIN>`,
		// Prose about secrets is left alone.
		`Invalid user name or password.`:                          `Invalid user name or password.`,
		`the password: must be 8 characters`:                      `the password: must be 8 characters`,
		`{"message":"token expired","token_type":"bearer"}`:       `{"message":"token expired","token_type":"bearer"}`,
		`Full authentication is required to access this resource`: `Full authentication is required to access this resource`,
	}
	for in, want := range cases {
		if got := r.Redact(in); got != want {
			t.Errorf("Redact(%s)\n got %s\nwant %s", in, got, want)
		}
	}
}

func TestMentionDoesNotQuoteASecret(t *testing.T) {
	if got := Mention("user", "admin", "admin"); got != "the configured user" {
		t.Errorf("user name equal to the password quoted: %s", got)
	}
	if got := Mention("user", "operator", "admin", ""); got != `user "operator"` {
		t.Errorf("%s", got)
	}
}

func TestCheckBaseURLNeverQuotesUserInformation(t *testing.T) {
	for _, raw := range []string{"user:hunter2@acs.example.com", "https://user:hunter2@acs.example.com/%zz", "https://u:hunter2@[::1"} {
		_, err := CheckBaseURL(raw, false)
		if err == nil {
			t.Fatalf("%s accepted", raw)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error quotes the password: %v", err)
		}
	}
}
