package altasim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/wiegand"
)

type credential struct {
	id       int64
	user     int64
	typeID   int64
	start    *time.Time
	end      *time.Time
	card     *card
	name     string // mobile, cloudKey or wallet name; pincode number
	created  time.Time
	updated  time.Time
	setupTok string
}

type card struct {
	id       int64
	formatID int64 // 0: no format (raw number)
	number   string
	facility string // "" when the format has none or none was given
	cardID   string
	numBits  int
	output   bool
}

func (s *Server) credentialJSON(c *credential) map[string]any {
	t := s.credType(c.typeID)
	m := map[string]any{"id": c.id, "startDate": formatOptTime(c.start), "endDate": formatOptTime(c.end),
		"createdAt": formatTime(c.created), "updatedAt": formatTime(c.updated)}
	if t != nil {
		m["credentialType"] = map[string]any{"id": t.ID, "name": t.Name, "modelName": t.ModelName}
	}
	switch {
	case c.card != nil:
		m["card"] = s.cardJSON(c.card)
	case t != nil && t.ModelName == "mobile":
		m["mobile"] = map[string]any{"id": c.id + 500000, "name": c.name, "hasSetupMobileToken": c.setupTok != ""}
	case t != nil && t.ModelName == "pincode":
		m["pincode"] = map[string]any{"id": c.id + 500000, "number": c.name}
	case t != nil:
		m[t.ModelName] = map[string]any{"id": c.id + 500000, "name": c.name}
	}
	return m
}

func (s *Server) cardJSON(k *card) map[string]any {
	m := map[string]any{"id": k.id, "number": k.number, "numBits": k.numBits, "isOutputEnabled": k.output,
		"facilityCode": nullable(k.facility), "cardId": nullable(k.cardID), "fields": nil, "cardFormat": nil}
	if f := s.cardFormat(k.formatID); f != nil {
		m["cardFormat"] = map[string]any{"id": f.ID, "code": f.Code, "numBits": f.NumBits}
		fields := map[string]any{"cardId": k.cardID}
		if name := f.facilityField(); name != "" && k.facility != "" {
			fields[name] = k.facility
		}
		m["fields"] = fields
	}
	return m
}

func (s *Server) userCredentials(uid int64) []*credential {
	var out []*credential
	for _, id := range sortedKeys(s.creds) {
		if c := s.creds[id]; c.user == uid {
			out = append(out, c)
		}
	}
	return out
}

func (s *Server) listUserCredentials(q url.Values, u *user) answer {
	if a, ok := onlyParams(q, listQuery...); !ok {
		return a
	}
	var items []map[string]any
	for _, c := range s.userCredentials(u.id) {
		items = append(items, s.credentialJSON(c))
	}
	return page(q, items, searchCredential)
}

// searchCredential is the text q is matched against: the card's numbers,
// the credential's name, and the holder's e-mail and names when embedded.
func searchCredential(m map[string]any) string {
	var parts []string
	if k, ok := m["card"].(map[string]any); ok {
		parts = append(parts, str(k["number"]), str(k["cardId"]), str(k["facilityCode"]))
	}
	for _, kind := range []string{"mobile", "pincode", "cloudKey", "wallet"} {
		if x, ok := m[kind].(map[string]any); ok {
			parts = append(parts, str(x["name"]), str(x["number"]))
		}
	}
	if u, ok := m["user"].(map[string]any); ok {
		id, _ := u["identity"].(map[string]any)
		parts = append(parts, str(id["email"]), str(id["firstName"]), str(id["lastName"]))
	}
	return strings.Join(parts, " ")
}

// listOrgCredentials serves GET /orgs/{orgId}/credentials: the credentials
// of every live user, each with its user embedded.
func (s *Server) listOrgCredentials(q url.Values) answer {
	if a, ok := onlyParams(q, listQuery...); !ok {
		return a
	}
	var items []map[string]any
	for _, id := range sortedKeys(s.creds) {
		c := s.creds[id]
		u := s.users[c.user]
		if u == nil || u.archived {
			continue
		}
		m := s.credentialJSON(c)
		m["user"] = s.userJSON(u)
		items = append(items, m)
	}
	return page(q, items, searchCredential)
}

func (s *Server) credentialRoute(m string, q url.Values, u *user, idSeg string, body []byte) answer {
	cid, ok := parseID(idSeg)
	c := s.creds[cid]
	if !ok || c == nil || c.user != u.id {
		return notFound("credential")
	}
	if a, ok := onlyParams(q); !ok {
		return a
	}
	return pick(m, map[string]func() answer{
		"GET":    func() answer { return dataAnswer(http.StatusOK, s.credentialJSON(c)) },
		"PATCH":  func() answer { return s.patchCredential(c, body) },
		"DELETE": func() answer { delete(s.creds, c.id); return noContent() },
	})
}

// cardBody is the card sub-object of a credential body (§1.5).
type cardBody struct {
	Number          *string           `json:"number"`
	CardFormatID    *int64            `json:"cardFormatId"`
	IsOutputEnabled *bool             `json:"isOutputEnabled"`
	FacilityCode    *string           `json:"facilityCode"`
	CardID          *string           `json:"cardId"`
	Fields          map[string]string `json:"fields"`
}

type namedBody struct {
	Name               string `json:"name"`
	MaxDurationSeconds *int   `json:"maxDurationSeconds"`
}

// credentialBody is the body of POST and PATCH …/credentials.
type credentialBody struct {
	CredentialTypeID *int64          `json:"credentialTypeId"`
	StartDate        json.RawMessage `json:"startDate"`
	EndDate          json.RawMessage `json:"endDate"`
	AllowReassign    bool            `json:"allowReassign"`
	BadgeConfigID    *int64          `json:"badgeConfigId"`
	Card             *cardBody       `json:"card"`
	Mobile           *namedBody      `json:"mobile"`
	Pincode          *struct {
		Number string `json:"number"`
	} `json:"pincode"`
	CloudKey     *namedBody `json:"cloudKey"`
	Wallet       *namedBody `json:"wallet"`
	LicensePlate *struct {
		Plate string `json:"plate"`
	} `json:"licensePlate"`
}

func (b *credentialBody) typed() int {
	n := 0
	for _, set := range []bool{b.Card != nil, b.Mobile != nil, b.Pincode != nil, b.CloudKey != nil, b.Wallet != nil, b.LicensePlate != nil} {
		if set {
			n++
		}
	}
	return n
}

// createCredential serves POST /users/{id}/credentials: credentialTypeId
// is required and exactly one typed sub-object must match its model.
func (s *Server) createCredential(q url.Values, u *user, body []byte) answer {
	if a, ok := onlyParams(q); !ok {
		return a
	}
	var b credentialBody
	if err := decodeStrict(body, &b); err != nil {
		return badRequest("invalid credential: " + err.Error())
	}
	if b.CredentialTypeID == nil {
		return badRequest("credentialTypeId is required")
	}
	t := s.credType(*b.CredentialTypeID)
	if t == nil {
		return badRequest("credentialTypeId " + strconv.FormatInt(*b.CredentialTypeID, 10) + " does not exist")
	}
	if b.typed() != 1 {
		return badRequest("exactly one credential sub-object is required")
	}
	now := s.now()
	c := &credential{id: s.nextCred, user: u.id, typeID: t.ID, created: now, updated: now}
	if a, ok := s.fillTyped(c, t, &b); !ok {
		return a
	}
	if a, ok := applyCredentialWindow(c, &b); !ok {
		return a
	}
	if a, ok := s.checkUniqueCard(c, b.AllowReassign); !ok {
		return a
	}
	if a, ok := s.checkUniquePIN(c); !ok {
		return a
	}
	s.nextCred++
	s.creds[c.id] = c
	return dataAnswer(http.StatusCreated, s.credentialJSON(c))
}

func (s *Server) fillTyped(c *credential, t *CredentialType, b *credentialBody) (answer, bool) {
	mismatch := badRequest("the credential sub-object does not match credential type " + t.ModelName)
	switch t.ModelName {
	case "card":
		if b.Card == nil {
			return mismatch, false
		}
		k, a, ok := s.parseCard(b.Card)
		if !ok {
			return a, false
		}
		k.id = s.nextCard
		s.nextCard++
		c.card = k
	case "mobile":
		if b.Mobile == nil {
			return mismatch, false
		}
		c.name = b.Mobile.Name
	case "pincode":
		if b.Pincode == nil || !digits(b.Pincode.Number) {
			return mismatch, false
		}
		c.name = b.Pincode.Number
	case "cloudKey":
		if b.CloudKey == nil {
			return mismatch, false
		}
		c.name = b.CloudKey.Name
	case "wallet":
		if b.Wallet == nil {
			return mismatch, false
		}
		c.name = b.Wallet.Name
	default:
		return mismatch, false
	}
	return answer{}, true
}

func digits(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseCard checks a card sub-object: digit strings; with a Wiegand
// format, the facility code and card ID (top level or in fields) and the
// raw number must describe the same frame, and either gives the other.
func (s *Server) parseCard(b *cardBody) (*card, answer, bool) {
	k := &card{output: b.IsOutputEnabled == nil || *b.IsOutputEnabled}
	bad := func(msg string) (*card, answer, bool) { return nil, badRequest(msg), false }
	pickField := func(top *string, names ...string) string {
		if top != nil {
			return *top
		}
		for _, n := range names {
			if v, ok := b.Fields[n]; ok {
				return v
			}
		}
		return ""
	}
	number := ""
	if b.Number != nil {
		number = strings.TrimSpace(*b.Number)
	}
	fc := pickField(b.FacilityCode, "facilityCode", "companyId", "companyCode", "siteCode")
	cn := pickField(b.CardID, "cardId")
	for _, v := range []string{number, fc, cn} {
		if v != "" && !digits(v) {
			return bad("card numbers must be digit strings")
		}
	}
	if b.CardFormatID == nil {
		if number == "" {
			return bad("card.number is required without a card format")
		}
		k.number, k.numBits = number, bitLen(mustUint(number))
		return k, answer{}, true
	}
	f := s.cardFormat(*b.CardFormatID)
	if f == nil {
		return bad("cardFormatId " + strconv.FormatInt(*b.CardFormatID, 10) + " does not exist")
	}
	k.formatID, k.numBits = f.ID, f.NumBits
	if !f.Wiegand.Known() {
		k.number, k.facility, k.cardID = number, fc, cn
		return k, answer{}, true
	}
	return s.wiegandCard(k, f, number, fc, cn)
}

func (s *Server) wiegandCard(k *card, f *CardFormat, number, fc, cn string) (*card, answer, bool) {
	bad := func(msg string) (*card, answer, bool) { return nil, badRequest(msg), false }
	if cn != "" {
		if fc != "" && !f.Wiegand.HasFacility() {
			return bad("card format " + f.Code + " has no facility code")
		}
		fr, err := f.Wiegand.Encode(mustUint(fc), mustUint(cn))
		if err != nil {
			return bad("card data does not fit format " + f.Code)
		}
		raw := strconv.FormatUint(fr.Value, 10)
		if number != "" && strings.TrimLeft(number, "0") != raw {
			return bad("card.number does not match the facility code and card ID")
		}
		number = raw
	} else if number != "" {
		fr, err := wiegand.NewFrame(f.NumBits, mustUint(number))
		if err != nil {
			return bad("card.number does not fit format " + f.Code)
		}
		c, err := f.Wiegand.Decode(fr)
		if err != nil {
			return bad("card.number is not a valid " + f.Code + " frame")
		}
		cn = strconv.FormatUint(c.Number, 10)
		if f.Wiegand.HasFacility() {
			fc = strconv.FormatUint(c.Facility, 10)
		}
	} else {
		return bad("card.number or card.cardId is required")
	}
	if f.Wiegand.HasFacility() && fc == "" {
		fc = "0"
	}
	k.number, k.facility, k.cardID = number, canonical(fc), canonical(cn)
	return k, answer{}, true
}

func mustUint(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

func canonical(s string) string {
	if s == "" {
		return ""
	}
	return strconv.FormatUint(mustUint(s), 10)
}

func applyCredentialWindow(c *credential, b *credentialBody) (answer, bool) {
	start, startSet, err1 := optTime(b.StartDate)
	end, endSet, err2 := optTime(b.EndDate)
	if err1 != nil || err2 != nil {
		return badRequest("startDate and endDate must be dates or ISO 8601 timestamps"), false
	}
	if startSet {
		c.start = start
	}
	if endSet {
		c.end = end
	}
	if c.start != nil && c.end != nil && !c.end.After(*c.start) {
		return badRequest("endDate must be after startDate"), false
	}
	return answer{}, true
}

// checkUniqueCard refuses, with WithUniqueCards, a card another live user
// holds (or moves it with allowReassign).
func (s *Server) checkUniqueCard(c *credential, reassign bool) (answer, bool) {
	if !s.uniqueCards || c.card == nil {
		return answer{}, true
	}
	for _, other := range s.creds {
		if other.id == c.id || other.card == nil || other.user == c.user || !sameCard(other.card, c.card) {
			continue
		}
		if u := s.users[other.user]; u == nil || u.archived {
			continue
		}
		if !reassign {
			return errAnswer(http.StatusConflict, "ConflictError", "card is already assigned to another user"), false
		}
		delete(s.creds, other.id)
	}
	return answer{}, true
}

func sameCard(a, b *card) bool {
	return a.formatID == b.formatID && strings.TrimLeft(a.number, "0") == strings.TrimLeft(b.number, "0")
}

// patchCredential changes the window or the card (§1.5); the type stays.
func (s *Server) patchCredential(c *credential, body []byte) answer {
	var b credentialBody
	if err := decodeStrict(body, &b); err != nil {
		return badRequest("invalid credential: " + err.Error())
	}
	if b.CredentialTypeID != nil {
		return badRequest("credentialTypeId cannot be changed")
	}
	cp := *c
	if b.Card != nil {
		if c.card == nil {
			return badRequest("not a card credential")
		}
		k, a, ok := s.parseCard(b.Card)
		if !ok {
			return a
		}
		k.id = c.card.id
		cp.card = k
	}
	if a, ok := applyCredentialWindow(&cp, &b); !ok {
		return a
	}
	if a, ok := s.checkUniqueCard(&cp, b.AllowReassign); !ok {
		return a
	}
	cp.updated = s.now()
	*c = cp
	return dataAnswer(http.StatusOK, s.credentialJSON(c))
}
