package main

// The config file for real access control systems (-config FILE): the
// locations, each with its ACS, badge card data, policy and badges, and
// the operators. Secrets are never in the file: each "*_env" field names
// the environment variable that holds one. An example:
//
//	{
//	  "database": "/var/lib/frontdesk/visits.db",
//	  "locations": [{
//	    "id": "london-hq", "name": "London HQ",
//	    "provider": "genetec",
//	    "url": "https://sc.example.com:4590/WebSdk",
//	    "username": "vms",
//	    "password_env": "LONDON_ACS_PASSWORD",
//	    "application_id_env": "LONDON_ACS_APPLICATION_ID",
//	    "ca_file": "/etc/frontdesk/london-ca.pem",
//	    "card_format": "H10301", "facility": 10,
//	    "policy": {
//	      "types": {"guest": {"access_levels": ["<access level ID>"], "access_duration": "8h"}},
//	      "default_type": "guest",
//	      "operator_groups": {"reception": ["<access level ID>"]},
//	      "security_groups": ["security"],
//	      "auto_sign_out": "12h"
//	    },
//	    "badges": [{"id": "1001", "name": "Visitor 01"}]
//	  }],
//	  "operators": [
//	    {"id": "alice", "name": "Alice", "groups": ["reception"], "password_env": "FRONTDESK_ALICE_PASSWORD"},
//	    {"id": "bob", "name": "Bob", "groups": ["security"], "admin": true, "password_env": "FRONTDESK_BOB_PASSWORD"}
//	  ]
//	}
//
// Providers and their fields: "genetec" (url, username, password_env,
// application_id_env), "lenel" (url, username, password_env,
// application_id_env, directory_id), "brivo" (url, auth_url, username,
// password_env, client_id, client_secret_env, api_key_env). Access level
// IDs are those the admin page lists after Refresh Provider (and
// `acsctl sync` prints). Every adapter verifies TLS certificates and
// refuses plain HTTP off loopback.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo"
	"github.com/acsbridge/acsbridge/genetec"
	"github.com/acsbridge/acsbridge/lenel"
	"github.com/acsbridge/acsbridge/visitor"
	"github.com/acsbridge/acsbridge/wiegand"
)

// Config is the -config file.
type Config struct {
	Database  string           `json:"database"`
	Locations []LocationConfig `json:"locations"`
	Operators []OperatorConfig `json:"operators"`
}

// LocationConfig is one location and its ACS.
type LocationConfig struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Provider string `json:"provider"`

	URL         string `json:"url"`
	AuthURL     string `json:"auth_url"`
	Username    string `json:"username"`
	DirectoryID string `json:"directory_id"`
	ClientID    string `json:"client_id"`
	CAFile      string `json:"ca_file"`

	PasswordEnv      string `json:"password_env"`
	ApplicationIDEnv string `json:"application_id_env"`
	ClientSecretEnv  string `json:"client_secret_env"`
	APIKeyEnv        string `json:"api_key_env"`

	CardFormat wiegand.Format `json:"card_format"` // "H10301" when absent
	Facility   uint64         `json:"facility"`
	Policy     PolicyConfig   `json:"policy"`
	Badges     []BadgeConfig  `json:"badges"`
}

// PolicyConfig is visitor.Policy with durations written as "8h".
type PolicyConfig struct {
	Types          map[string]TypeConfig `json:"types"`
	DefaultType    string                `json:"default_type"`
	OperatorGroups map[string][]string   `json:"operator_groups"`
	SecurityGroups []string              `json:"security_groups"`
	AutoSignOut    string                `json:"auto_sign_out"`
	MarkArrival    bool                  `json:"mark_arrival"`
}

// TypeConfig is a visitor type.
type TypeConfig struct {
	AccessLevels   []string `json:"access_levels"`
	Forbidden      []string `json:"forbidden"`
	AccessDuration string   `json:"access_duration"`
	AdvanceAccess  string   `json:"advance_access"`
}

// BadgeConfig is a badge of a location's pool.
type BadgeConfig struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

// OperatorConfig is an operator; the password comes from the environment.
type OperatorConfig struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Groups      []string `json:"groups"`
	Admin       bool     `json:"admin"`
	PasswordEnv string   `json:"password_env"`
}

// LoadConfig reads a config file, refusing unknown fields (a "password"
// written into the file is an error, not a silently ignored secret).
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(c.Locations) == 0 {
		return nil, fmt.Errorf("%s: no locations", path)
	}
	if len(c.Operators) == 0 {
		return nil, fmt.Errorf("%s: no operators", path)
	}
	return &c, nil
}

// secret reads a secret from the environment variable name.
func secret(field, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	v := os.Getenv(name)
	if v == "" {
		return "", fmt.Errorf("%s: environment variable %s is not set", field, name)
	}
	return v, nil
}

// BuildSites connects to each location's ACS. It makes no request: Start
// reads the access levels, which tests the connection.
func (c *Config) BuildSites(ctx context.Context, log *slog.Logger) ([]*Site, error) {
	var sites []*Site
	for _, lc := range c.Locations {
		s, err := lc.site(log)
		if err != nil {
			closeSites(sites)
			return nil, fmt.Errorf("location %q: %w", lc.ID, err)
		}
		sites = append(sites, s)
	}
	return sites, nil
}

func (lc LocationConfig) site(log *slog.Logger) (*Site, error) {
	password, err := secret("password_env", lc.PasswordEnv)
	if err != nil {
		return nil, err
	}
	appID, err := secret("application_id_env", lc.ApplicationIDEnv)
	if err != nil {
		return nil, err
	}
	var p acs.Provider
	switch lc.Provider {
	case "genetec":
		p, err = genetec.New(genetec.Config{BaseURL: lc.URL, Username: lc.Username, Password: password, ApplicationID: appID},
			genetec.WithTLS(genetec.TLSOptions{CAFile: lc.CAFile}), genetec.WithLogger(log))
	case "lenel":
		p, err = lenel.New(lenel.Config{BaseURL: lc.URL, Username: lc.Username, Password: password, DirectoryID: lc.DirectoryID, ApplicationID: appID},
			lenel.WithTLS(lenel.TLSOptions{CAFile: lc.CAFile}), lenel.WithLogger(log))
	case "brivo":
		var clientSecret, apiKey string
		if clientSecret, err = secret("client_secret_env", lc.ClientSecretEnv); err != nil {
			return nil, err
		}
		if apiKey, err = secret("api_key_env", lc.APIKeyEnv); err != nil {
			return nil, err
		}
		p, err = brivo.New(brivo.Config{BaseURL: lc.URL, AuthURL: lc.AuthURL, ClientID: lc.ClientID, ClientSecret: clientSecret,
			APIKey: apiKey, Username: lc.Username, Password: password},
			brivo.WithTLS(brivo.TLSOptions{CAFile: lc.CAFile}), brivo.WithLogger(log))
	default:
		return nil, fmt.Errorf("unknown provider %q (genetec, lenel or brivo)", lc.Provider)
	}
	if err != nil {
		return nil, err
	}
	s := &Site{ID: lc.ID, Name: lc.Name, Provider: p, Facility: lc.Facility, CardFormat: wiegand.H10301}
	if s.Name == "" {
		s.Name = lc.ID
	}
	if c, ok := p.(acs.Closer); ok {
		s.stop = func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = c.Close(ctx)
		}
	}
	if lc.CardFormat != 0 {
		s.CardFormat = lc.CardFormat
	}
	if s.Policy, err = lc.Policy.policy(); err != nil {
		return nil, err
	}
	for _, b := range lc.Badges {
		s.Badges = append(s.Badges, s.NewBadge(b.ID, b.Name, b.Type))
	}
	return s, nil
}

func duration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", field, err)
	}
	return d, nil
}

func (pc PolicyConfig) policy() (visitor.Policy, error) {
	p := visitor.Policy{
		Types: map[string]visitor.VisitorType{}, DefaultType: pc.DefaultType, OperatorGroups: pc.OperatorGroups,
		SecurityGroups: pc.SecurityGroups, Doors: visitor.DoorPolicy{MarkArrival: pc.MarkArrival},
	}
	var err error
	if p.AutoSignOut, err = duration("auto_sign_out", pc.AutoSignOut); err != nil {
		return p, err
	}
	for name, tc := range pc.Types {
		t := visitor.VisitorType{AccessLevels: tc.AccessLevels, Forbidden: tc.Forbidden}
		if t.AccessDuration, err = duration(name+" access_duration", tc.AccessDuration); err != nil {
			return p, err
		}
		if t.AdvanceAccess, err = duration(name+" advance_access", tc.AdvanceAccess); err != nil {
			return p, err
		}
		p.Types[name] = t
	}
	return p, p.Validate()
}

// BuildOperators registers the operators with their passwords from the
// environment.
func (c *Config) BuildOperators() (*Accounts, error) {
	ops := NewAccounts()
	for _, oc := range c.Operators {
		if oc.PasswordEnv == "" {
			return nil, fmt.Errorf("operator %q: no password_env", oc.ID)
		}
		pw, err := secret("operator "+oc.ID+" password_env", oc.PasswordEnv)
		if err != nil {
			return nil, err
		}
		name := oc.Name
		if name == "" {
			name = oc.ID
		}
		if err := ops.Add(Account{ID: oc.ID, Name: name, Groups: oc.Groups, Admin: oc.Admin}, pw); err != nil {
			return nil, err
		}
	}
	return ops, nil
}
