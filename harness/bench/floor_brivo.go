package bench

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/brivo/brivosim"
)

// brivoFloor speaks the Brivo API with one OAuth token taken at start.
// What differs from one Brivo account to another it asks for once, as an
// independent client must: the credential format of a 26-bit card and its
// field IDs (GET /credentials/formats, at start) and, before a group's
// first use, that the group exists (GET /groups, the contract's level
// check). The adapter does the same, and caches both.
type brivoFloor struct {
	hc     *http.Client
	base   string
	bearer string
	format brivoFormat
	groups sync.Map // group IDs confirmed to exist
}

// brivoFormat is the credential format of a 26-bit card.
type brivoFormat struct {
	id, cardField, facilityField int64
}

func newBrivoFloor(ctx context.Context, u string, hc *http.Client) (*brivoFloor, error) {
	c := brivosim.DefaultCredentials()
	form := url.Values{"grant_type": {"password"}, "username": {c.Username}, "password": {c.Password}}
	h := http.Header{
		"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(c.ClientID+":"+c.ClientSecret))},
		"Api-Key":       {c.APIKey},
		"Content-Type":  {"application/x-www-form-urlencoded"},
		"Accept":        {"application/json"},
	}
	data, err := send(ctx, hc, http.MethodPost, u+brivosim.TokenPath, h, []byte(form.Encode()))
	if err != nil {
		return nil, err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(data, &tok); err != nil {
		return nil, err
	}
	if tok.AccessToken == "" {
		return nil, errors.New("brivo floor: no access token")
	}
	f := &brivoFloor{hc: hc, base: u + brivosim.APIPrefix, bearer: "bearer " + tok.AccessToken}
	return f, f.readFormat(ctx)
}

// readFormat finds the account's 26-bit card format and its card number
// and facility code fields.
func (f *brivoFloor) readFormat(ctx context.Context) error {
	var list struct {
		Data []struct {
			ID     int64  `json:"id"`
			Name   string `json:"name"`
			Fields []struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"credentialFields"`
		} `json:"data"`
	}
	if err := f.call(ctx, http.MethodGet, "/credentials/formats?offset=0&pageSize=100", nil, &list); err != nil {
		return err
	}
	for _, d := range list.Data {
		if !strings.EqualFold(d.Name, "Standard 26 Bit") && !strings.EqualFold(d.Name, "HID 26 bit Card") {
			continue
		}
		f.format.id = d.ID
		for _, fl := range d.Fields {
			switch {
			case strings.HasSuffix(fl.Name, "card_number"):
				f.format.cardField = fl.ID
			case strings.HasSuffix(fl.Name, "facility_code"):
				f.format.facilityField = fl.ID
			}
		}
		return nil
	}
	return errors.New("brivo floor: the account has no 26-bit card format")
}

// checkGroup confirms, before a group's first use, that it exists.
func (f *brivoFloor) checkGroup(ctx context.Context, id string) error {
	if _, ok := f.groups.Load(id); ok {
		return nil
	}
	var list struct {
		Data []struct {
			ID int64 `json:"id"`
		} `json:"data"`
		Count int `json:"count"`
	}
	if err := f.call(ctx, http.MethodGet, "/groups?offset=0&pageSize=100", nil, &list); err != nil {
		return err
	}
	if list.Count > len(list.Data) {
		return fmt.Errorf("brivo floor: %d groups; paging is left to the adapter", list.Count)
	}
	for _, g := range list.Data {
		if strconv.FormatInt(g.ID, 10) == id {
			f.groups.Store(id, true)
			return nil
		}
	}
	return fmt.Errorf("brivo floor: no group %s", id)
}

func (f *brivoFloor) call(ctx context.Context, method, path string, in, out any) error {
	h := http.Header{"Api-Key": {brivosim.APIKey}, "Authorization": {f.bearer}, "Accept": {"application/json"}}
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
		h["Content-Type"] = []string{"application/json"}
	}
	data, err := send(ctx, f.hc, method, f.base+path, h, body)
	if err != nil || out == nil {
		return err
	}
	return json.Unmarshal(data, out)
}

type brivoID struct {
	ID int64 `json:"id"`
}

type brivoFieldValue struct {
	ID    int64  `json:"id"`
	Value string `json:"value"`
}

type brivoCredential struct {
	CredentialFormat brivoID           `json:"credentialFormat"`
	ReferenceID      string            `json:"referenceId"`
	FieldValues      []brivoFieldValue `json:"fieldValues"`
}

type brivoEmail struct {
	Address string `json:"address"`
	Type    string `json:"type"`
}

type brivoUser struct {
	FirstName  string       `json:"firstName"`
	LastName   string       `json:"lastName"`
	ExternalID string       `json:"externalId"`
	Emails     []brivoEmail `json:"emails"`
}

type brivoWindow struct {
	From string `json:"effectiveFrom"`
	To   string `json:"effectiveTo"`
}

// Provision: the user looked up by external ID (404 for a new visitor),
// the credential and the user created, the users of the visitor's names
// listed (Brivo does not document whether two creations at the same
// instant can both take one external ID, nor what the lookup by external
// ID answers when two users carry it, so a twin is found by listing the
// users of the same names, the documented filters, and comparing external
// IDs), the credential assigned with the window, the user put in the
// group. A user the lookup finds is a repeated provision, see again.
func (f *brivoFloor) Provision(ctx context.Context, g acs.Grant) (FloorRef, error) {
	if err := f.checkGroup(ctx, g.AccessLevels[0]); err != nil {
		return FloorRef{}, err
	}
	var found brivoFound
	err := f.call(ctx, http.MethodGet, "/users/"+url.PathEscape(g.Person.ExternalID)+"/external", nil, &found)
	if err == nil {
		return f.again(ctx, g, found)
	}
	if !hasStatus(err, http.StatusNotFound) {
		return FloorRef{}, err // only a 404 says the visitor is new
	}
	number := strconv.FormatUint(g.Card.Number, 10)
	var cred brivoID
	if err := f.call(ctx, http.MethodPost, "/credentials", brivoCredential{
		CredentialFormat: brivoID{f.format.id}, ReferenceID: number,
		FieldValues: []brivoFieldValue{{f.format.cardField, number}, {f.format.facilityField, strconv.FormatUint(g.Card.Facility, 10)}},
	}, &cred); err != nil {
		return FloorRef{}, err
	}
	var user brivoID
	if err := f.call(ctx, http.MethodPost, "/users", brivoUser{
		FirstName: g.Person.FirstName, LastName: g.Person.LastName, ExternalID: g.Person.ExternalID,
		Emails: []brivoEmail{{g.Person.Email, "work"}},
	}, &user); err != nil {
		return FloorRef{}, err
	}
	if err := f.onlyHolder(ctx, g, user.ID); err != nil {
		return FloorRef{}, err
	}
	u, c := strconv.FormatInt(user.ID, 10), strconv.FormatInt(cred.ID, 10)
	if err := f.call(ctx, http.MethodPut, "/users/"+u+"/credentials/"+c, brivoWindow{
		From: g.ValidFrom.UTC().Format(time.RFC3339), To: g.ValidUntil.UTC().Format(time.RFC3339),
	}, nil); err != nil {
		return FloorRef{}, err
	}
	if err := f.call(ctx, http.MethodPut, "/groups/"+g.AccessLevels[0]+"/users/"+u, nil, nil); err != nil {
		return FloorRef{}, err
	}
	return FloorRef{Holder: u, Credential: c}, nil
}

// onlyHolder lists the users of the visitor's names and fails when one
// other than user id carries the visitor's external ID.
func (f *brivoFloor) onlyHolder(ctx context.Context, g acs.Grant, id int64) error {
	filter := "firstname__eq:" + g.Person.FirstName + ";lastname__eq:" + g.Person.LastName
	var named struct {
		Data []struct {
			ID         int64  `json:"id"`
			ExternalID string `json:"externalId"`
		} `json:"data"`
		Count int `json:"count"`
	}
	if err := f.call(ctx, http.MethodGet, "/users?filter="+url.QueryEscape(filter)+"&offset=0&pageSize=100", nil, &named); err != nil {
		return err
	}
	if named.Count > len(named.Data) {
		return fmt.Errorf("brivo floor: %d users named %s %s; paging is left to the adapter", named.Count, g.Person.FirstName, g.Person.LastName)
	}
	for _, n := range named.Data {
		if n.ExternalID == g.Person.ExternalID && n.ID != id {
			return fmt.Errorf("brivo floor: users %d and %d carry external ID %q; converging them is left to the adapter", n.ID, id, g.Person.ExternalID)
		}
	}
	return nil
}

// brivoFound is the user the lookup by external ID answers.
type brivoFound struct {
	ID         int64  `json:"id"`
	ExternalID string `json:"externalId"`
	FirstName  string `json:"firstName"`
	LastName   string `json:"lastName"`
	Suspended  bool   `json:"suspended"`
}

// brivoHeld is a credential in a user's credential listing, with the
// window of its assignment. A field value names its field by id or by
// credentialFieldId.
type brivoHeld struct {
	ID               int64   `json:"id"`
	CredentialFormat brivoID `json:"credentialFormat"`
	FieldValues      []struct {
		ID      int64  `json:"id"`
		FieldID int64  `json:"credentialFieldId"`
		Value   string `json:"value"`
	} `json:"fieldValues"`
	brivoWindow
}

// again answers a repeated provision of user u without writing: the
// users of the visitor's names listed (u alone carries the external ID),
// u's credentials listed (the card's must be there, assigned for the
// grant's window) and u's groups listed (the grant's group and no
// other). Anything else would call for changes, which the floor leaves
// to the adapter: it is an error.
func (f *brivoFloor) again(ctx context.Context, g acs.Grant, u brivoFound) (FloorRef, error) {
	if u.ID <= 0 || u.ExternalID != g.Person.ExternalID || u.FirstName != g.Person.FirstName || u.LastName != g.Person.LastName || u.Suspended {
		return FloorRef{}, fmt.Errorf("brivo floor: user %d differs from the grant; changes are left to the adapter", u.ID)
	}
	if err := f.onlyHolder(ctx, g, u.ID); err != nil {
		return FloorRef{}, err
	}
	uid := strconv.FormatInt(u.ID, 10)
	var creds struct {
		Data  []brivoHeld `json:"data"`
		Count int         `json:"count"`
	}
	if err := f.call(ctx, http.MethodGet, "/users/"+uid+"/credentials?offset=0&pageSize=100", nil, &creds); err != nil {
		return FloorRef{}, err
	}
	if creds.Count > len(creds.Data) {
		return FloorRef{}, fmt.Errorf("brivo floor: user %s holds %d credentials; paging is left to the adapter", uid, creds.Count)
	}
	number, facility := strconv.FormatUint(g.Card.Number, 10), strconv.FormatUint(g.Card.Facility, 10)
	var cred *brivoHeld
	for i := range creds.Data {
		if f.isCard(&creds.Data[i], number, facility) {
			cred = &creds.Data[i]
			break
		}
	}
	if cred == nil || !sameTime(cred.From, g.ValidFrom) || !sameTime(cred.To, g.ValidUntil) {
		return FloorRef{}, fmt.Errorf("brivo floor: user %s does not hold card %s for the grant's window; changes are left to the adapter", uid, g.Card)
	}
	var groups struct {
		Data  []brivoID `json:"data"`
		Count int       `json:"count"`
	}
	if err := f.call(ctx, http.MethodGet, "/users/"+uid+"/groups?offset=0&pageSize=100", nil, &groups); err != nil {
		return FloorRef{}, err
	}
	if groups.Count > len(groups.Data) {
		return FloorRef{}, fmt.Errorf("brivo floor: user %s is in %d groups; paging is left to the adapter", uid, groups.Count)
	}
	if len(groups.Data) != 1 || strconv.FormatInt(groups.Data[0].ID, 10) != g.AccessLevels[0] {
		return FloorRef{}, fmt.Errorf("brivo floor: user %s is not in group %s alone; changes are left to the adapter", uid, g.AccessLevels[0])
	}
	return FloorRef{Holder: uid, Credential: strconv.FormatInt(cred.ID, 10)}, nil
}

// isCard reports whether c is of the 26-bit format and carries the card
// number and facility code given.
func (f *brivoFloor) isCard(c *brivoHeld, number, facility string) bool {
	if c.CredentialFormat.ID != f.format.id {
		return false
	}
	var n, fc string
	for _, v := range c.FieldValues {
		id := v.ID
		if id == 0 {
			id = v.FieldID
		}
		switch id {
		case f.format.cardField:
			n = v.Value
		case f.format.facilityField:
			fc = v.Value
		}
	}
	return n == number && fc == facility
}

// Revoke: the user's credentials listed, the credential unassigned and
// deleted.
func (f *brivoFloor) Revoke(ctx context.Context, ref FloorRef) error {
	var list struct {
		Data []brivoID `json:"data"`
	}
	if err := f.call(ctx, http.MethodGet, "/users/"+ref.Holder+"/credentials?offset=0&pageSize=100", nil, &list); err != nil {
		return err
	}
	if err := f.call(ctx, http.MethodDelete, "/users/"+ref.Holder+"/credentials/"+ref.Credential, nil, nil); err != nil {
		return err
	}
	return f.call(ctx, http.MethodDelete, "/credentials/"+ref.Credential, nil, nil)
}
