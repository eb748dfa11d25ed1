package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/genetec/genetecsim"
	"github.com/acsbridge/acsbridge/wiegand"
)

// genetecFloor speaks the Web SDK: HTTP Basic with "user;appid", every
// operation in q=.
type genetecFloor struct {
	hc   *http.Client
	base string
	auth string
	// groups are the cardholder groups confirmed once: a client that
	// checks each group before its first use and trusts it afterwards
	// (the adapter trusts one for acshttp.DefaultCatalogTTL).
	groups sync.Map
}

func newGenetecFloor(url string, hc *http.Client) *genetecFloor {
	cred := genetecsim.DefaultUser + ";" + genetecsim.DefaultApplicationID + ":" + genetecsim.DefaultPassword
	return &genetecFloor{hc: hc, base: url + genetecsim.DefaultBasePath,
		auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(cred))}
}

type genetecGUID struct {
	Guid string
}

type genetecEntity struct {
	Guid           string
	EntityType     string
	CardholderGuid string
}

func (f *genetecFloor) call(ctx context.Context, method, path, q string, result any) error {
	u := f.base + path
	if q != "" {
		u += "?q=" + genetecQueryEscape(q)
	}
	body, err := send(ctx, f.hc, method, u, http.Header{"Authorization": {f.auth}, "Accept": {"text/json"}}, nil)
	if err != nil {
		return err
	}
	var env struct {
		Rsp struct {
			Status string
			Result json.RawMessage
		}
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return err
	}
	if env.Rsp.Status != "Ok" {
		return errors.New("genetec floor: " + env.Rsp.Status)
	}
	if result == nil || len(env.Rsp.Result) == 0 {
		return nil
	}
	return json.Unmarshal(env.Rsp.Result, result)
}

func dashless(g string) string { return strings.ReplaceAll(g, "-", "") }

func genetecTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// search runs a name search of the entities of typ.
func (f *genetecFloor) search(ctx context.Context, typ, name string) ([]genetecGUID, error) {
	var found []genetecGUID
	err := f.call(ctx, http.MethodGet, "/report/EntityConfiguration",
		"EntityTypes@"+typ+",Name="+genetecValue(name)+",NameSearchMode=Contains", &found)
	return found, err
}

// Provision: two searches, the group read (the first time),
// the cardholder, the search of
// its key again (the Web SDK has no conditional create, so of two
// processes that both created a cardholder for the visit, the later sees
// the other's only by looking), the credential with the group membership.
// When the searches find anything, one read of what they found (see
// existing) settles a repeated provision without a write.
func (f *genetecFloor) Provision(ctx context.Context, g acs.Grant) (FloorRef, error) {
	key := "[" + g.Person.ExternalID + "]"
	credName := g.Card.String()
	holders, err := f.search(ctx, "Cardholder", key)
	if err != nil {
		return FloorRef{}, err
	}
	creds, err := f.search(ctx, "Credential", credName)
	if err != nil {
		return FloorRef{}, err
	}
	group := dashless(g.AccessLevels[0])
	if len(holders)+len(creds) > 0 {
		ref, ok, err := f.existing(ctx, g, key, credName, group, holders, creds)
		if err != nil || ok {
			return ref, err
		}
	}
	if _, ok := f.groups.Load(group); !ok {
		var ge genetecEntity
		if err := f.call(ctx, http.MethodGet, "/entity", "entity="+group+",Guid,EntityType", &ge); err != nil {
			return FloorRef{}, err
		}
		f.groups.Store(group, true)
	}
	window := "SpecificActivationPeriod(" + genetecTime(g.ValidFrom) + "," + genetecTime(g.ValidUntil) + ")"
	var holder genetecGUID
	if err := f.call(ctx, http.MethodPost, "/entity",
		"entity=NewEntity(Cardholder),Name="+genetecValue(g.Person.FirstName+" "+g.Person.LastName+" "+key)+
			",FirstName="+genetecValue(g.Person.FirstName)+",LastName="+genetecValue(g.Person.LastName)+
			",EmailAddress="+genetecValue(g.Person.Email)+",State=Active,ActivationMode="+window+",Guid", &holder); err != nil {
		return FloorRef{}, err
	}
	twins, err := f.search(ctx, "Cardholder", key)
	if err != nil {
		return FloorRef{}, err
	}
	if len(twins) != 1 || !sameGUID(twins[0].Guid, holder.Guid) {
		return FloorRef{}, fmt.Errorf("genetec floor: %d cardholders carry %s; converging twins is left to the adapter", len(twins), key)
	}
	fr, err := wiegand.H10301.Encode(g.Card.Facility, g.Card.Number)
	if err != nil {
		return FloorRef{}, err
	}
	raw := strconv.FormatUint(fr.Value, 16)
	format := "<UndecodedWiegand><BitLength>26</BitLength><FormatType>00000000-0000-0000-0000-000000000200</FormatType><Raw>" +
		strings.Repeat("0", 32-len(raw)) + strings.ToUpper(raw) + "</Raw></UndecodedWiegand>"
	h := dashless(holder.Guid)
	var cred genetecGUID
	if err := f.call(ctx, http.MethodPost, "/entity",
		"entity=NewEntity(Credential),Name="+genetecValue(credName)+",CardholderGuid="+h+",Format="+format+
			",State=Active,ActivationMode="+window+",Guid,entity="+h+",Groups@"+group, &cred); err != nil {
		return FloorRef{}, err
	}
	return FloorRef{Holder: holder.Guid, Credential: cred.Guid, Card: g.Card}, nil
}

// genetecRecord is a cardholder, credential or group as the read of
// existing decodes it.
type genetecRecord struct {
	Guid, EntityType, Name            string
	FirstName, LastName, EmailAddress string
	State                             string
	ActivationDate, ExpirationDate    string
	Groups                            []string
	CardholderGuid                    string
}

// existing reads the entities the searches found in one request, with the
// adapter's fields (and the group first while it is unconfirmed). ok is
// false when none of them is the visitor's cardholder or a credential
// named after the card (the searches match names that merely contain the
// key or the card's name): the caller then creates them. ok is true when
// the cardholder and its credential of the card carry exactly the grant;
// anything else found of the visitor or the card is an error, as the
// floor does not update or converge.
func (f *genetecFloor) existing(ctx context.Context, g acs.Grant, key, credName, group string, holders, creds []genetecGUID) (ref FloorRef, ok bool, err error) {
	_, confirmed := f.groups.Load(group)
	var q strings.Builder
	if !confirmed {
		q.WriteString("entity=" + group + ",Guid,EntityType,")
	}
	for _, h := range holders {
		q.WriteString("entity=" + dashless(h.Guid) + ",Guid,EntityType,Name,FirstName,LastName,EmailAddress,State,ActivationDate,ExpirationDate,Groups,Credentials,")
	}
	for _, c := range creds {
		q.WriteString("entity=" + dashless(c.Guid) + ",Guid,EntityType,Name,State,ActivationDate,ExpirationDate,CardholderGuid,")
	}
	var raw json.RawMessage
	if err := f.call(ctx, http.MethodGet, "/entity", strings.TrimSuffix(q.String(), ","), &raw); err != nil {
		return FloorRef{}, false, err
	}
	// One segment is answered with an object, several with an array.
	var found []genetecRecord
	if raw = bytes.TrimSpace(raw); len(raw) > 0 && raw[0] == '{' {
		found = make([]genetecRecord, 1)
		err = json.Unmarshal(raw, &found[0])
	} else {
		err = json.Unmarshal(raw, &found)
	}
	if err != nil {
		return FloorRef{}, false, err
	}
	var holder, cred *genetecRecord
	groupSeen := confirmed
	for i := range found {
		e := &found[i]
		switch {
		case !confirmed && sameGUID(e.Guid, group):
			if e.EntityType != "CardholderGroup" {
				return FloorRef{}, false, fmt.Errorf("genetec floor: access level %s is a %q, not a cardholder group", group, e.EntityType)
			}
			groupSeen = true
		case (e.EntityType == "Cardholder" || e.EntityType == "Visitor") && strings.HasSuffix(e.Name, key):
			if holder != nil {
				return FloorRef{}, false, fmt.Errorf("genetec floor: several cardholders carry %s; converging twins is left to the adapter", key)
			}
			holder = e
		case e.EntityType == "Credential" && e.Name == credName:
			if cred != nil {
				return FloorRef{}, false, fmt.Errorf("genetec floor: several credentials are named %s; sorting them out is left to the adapter", credName)
			}
			cred = e
		}
	}
	if !groupSeen {
		return FloorRef{}, false, fmt.Errorf("genetec floor: access level %s was not read", group)
	}
	f.groups.Store(group, true)
	switch {
	case holder == nil && cred == nil:
		return FloorRef{}, false, nil
	case holder == nil || cred == nil || !sameGUID(cred.CardholderGuid, holder.Guid):
		return FloorRef{}, false, fmt.Errorf("genetec floor: %s or card %s exists without the other; completing or reassigning them is left to the adapter", key, credName)
	}
	from, until := g.ValidFrom, g.ValidUntil // compared to the second
	same := holder.EntityType == "Cardholder" &&
		holder.Name == g.Person.FirstName+" "+g.Person.LastName+" "+key &&
		holder.FirstName == g.Person.FirstName && holder.LastName == g.Person.LastName &&
		holder.EmailAddress == g.Person.Email &&
		holder.State == "Active" && sameTime(holder.ActivationDate, from) && sameTime(holder.ExpirationDate, until) &&
		len(holder.Groups) == 1 && sameGUID(holder.Groups[0], group) &&
		cred.State == "Active" && sameTime(cred.ActivationDate, from) && sameTime(cred.ExpirationDate, until)
	if !same {
		return FloorRef{}, false, fmt.Errorf("genetec floor: %s or its card %s differs from the grant; updating them is left to the adapter", key, credName)
	}
	return FloorRef{Holder: holder.Guid, Credential: cred.Guid, Card: g.Card}, true, nil
}

// Revoke: the entity read, the delete, then the card searched again: a
// twin cardholder that a concurrent provision created (and that survived
// the convergence, under another GUID) may hold the card too, and a
// revocation must reach it. The search matches names that contain the
// card's ("H10301 42/1" finds "H10301 42/10"), so only an empty answer
// settles the revocation without reading what was found.
func (f *genetecFloor) Revoke(ctx context.Context, ref FloorRef) error {
	id := dashless(ref.Credential)
	var e genetecEntity
	if err := f.call(ctx, http.MethodGet, "/entity", "entity="+id+",Guid,EntityType,CardholderGuid", &e); err != nil {
		return err
	}
	if err := f.call(ctx, http.MethodDelete, "/entity/"+id, "", nil); err != nil {
		return err
	}
	found, err := f.search(ctx, "Credential", ref.Card.String())
	if err != nil {
		return err
	}
	for _, c := range found {
		if !sameGUID(c.Guid, id) {
			return fmt.Errorf("genetec floor: the search of %s found other credentials; reading them is left to the adapter", ref.Card)
		}
	}
	return nil
}

// sameGUID compares two GUIDs written with or without dashes.
func sameGUID(a, b string) bool { return strings.EqualFold(dashless(a), dashless(b)) }

// genetecValue puts a backslash before each operator of the query
// language that may not appear bare inside a value.
func genetecValue(s string) string {
	if !strings.ContainsAny(s, `\,(){}=@-*$<>`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(`\,(){}=@-*$<>`, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// genetecQueryEscape percent-encodes q as the Web SDK samples do: letters,
// digits and ,=@()*:/!'$-._~ stay, everything else (a space too) is %XX.
func genetecQueryEscape(q string) string {
	const upper = "0123456789ABCDEF"
	b := make([]byte, 0, len(q)+len(q)/4)
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte(",=@()*:/!'$-._~", c) >= 0:
			b = append(b, c)
		default:
			b = append(b, '%', upper[c>>4], upper[c&15])
		}
	}
	return string(b)
}
