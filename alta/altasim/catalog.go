package altasim

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/acsbridge/acsbridge/wiegand"
)

// Group is an access group as seeded or listed.
type Group struct {
	ID   int64
	Name string
}

// GroupID returns the ID as the decimal string the API and the adapter use.
func (g Group) GroupID() string { return strconv.FormatInt(g.ID, 10) }

// DefaultGroups are the groups a new Server holds unless WithGroups says
// otherwise (the IDs are those of the filter example in the API
// documentation, §1.7).
func DefaultGroups() []Group {
	return []Group{{ID: 4822, Name: "Lobby visitors"}, {ID: 5729, Name: "Floor 3"}}
}

// CredentialType is an entry of GET /orgs/{orgId}/credentialTypes.
type CredentialType struct {
	ID        int64
	Name      string
	ModelName string // the typed sub-object it takes: card, mobile, pincode, cloudKey, …
}

// DefaultCredentialTypes is the catalogue of a new Server: type 1 is
// mobile and type 2 card, as in the organisations the notes saw (§1.5).
func DefaultCredentialTypes() []CredentialType {
	return []CredentialType{
		{1, "Openpath Mobile", "mobile"},
		{2, "Card", "card"},
		{3, "PIN", "pincode"},
		{4, "Cloud Key", "cloudKey"},
		{5, "MIFARE CSN", "cardMifareCsn"},
		{6, "Wallet", "wallet"},
	}
}

// FormatField is one field of a card format's description.
type FormatField struct {
	Name         string // facilityCode, cardId, companyId, …
	DisplayName  string
	MaxBits      int
	RightmostBit int // position of the field's last bit, counted from the frame's last bit (0)
}

// CardFormat is an entry of GET /orgs/{orgId}/cardFormats.
type CardFormat struct {
	ID      int64
	Code    string
	Name    string
	NumBits int
	Fields  []FormatField
	// Wiegand is the layout used to check card data; zero for a format
	// the simulator stores without checking.
	Wiegand wiegand.Format
}

// wiegandFields describes the fields of a Wiegand layout.
func wiegandFields(f wiegand.Format, facilityName string) []FormatField {
	cardBits := bitLen(f.MaxCard())
	var out []FormatField
	// Every supported layout ends with one parity bit after the card field.
	if maxFC, ok := f.MaxFacility(); ok {
		out = append(out, FormatField{Name: facilityName, DisplayName: "Facility Code",
			MaxBits: bitLen(maxFC), RightmostBit: 1 + cardBits})
	}
	out = append(out, FormatField{Name: "cardId", DisplayName: "Card ID", MaxBits: cardBits, RightmostBit: 1})
	return out
}

func bitLen(max uint64) int {
	n := 0
	for max > 0 {
		n++
		max >>= 1
	}
	return n
}

// DefaultCardFormats is the card-format catalogue of a new Server. Its
// codes are the simulator's own: the adapter must recognise a format by
// its bit length and field layout, not by a name.
func DefaultCardFormats() []CardFormat {
	mk := func(id int64, code, name string, f wiegand.Format, facilityName string) CardFormat {
		return CardFormat{ID: id, Code: code, Name: name, NumBits: f.Bits(), Fields: wiegandFields(f, facilityName), Wiegand: f}
	}
	return []CardFormat{
		mk(1, "std26", "Standard 26-bit", wiegand.H10301, "facilityCode"),
		mk(2, "hid34", "HID 34-bit", wiegand.H10306, "facilityCode"),
		mk(3, "hid37fc", "HID 37-bit with facility code", wiegand.H10304, "facilityCode"),
		mk(4, "hid37", "HID 37-bit", wiegand.H10302, "facilityCode"),
		mk(5, "corp1000", "HID Corporate 1000 35-bit", wiegand.Corp1000_35, "companyId"),
		mk(6, "corp1000-48", "HID Corporate 1000 48-bit", wiegand.Corp1000_48, "companyId"),
	}
}

func (f *CardFormat) json() map[string]any {
	fields := make([]any, len(f.Fields))
	for i, fl := range f.Fields {
		fields[i] = map[string]any{"name": fl.Name, "displayName": fl.DisplayName, "maxBits": fl.MaxBits, "rightmostBit": fl.RightmostBit}
	}
	return map[string]any{"id": f.ID, "code": f.Code, "name": f.Name, "numBits": f.NumBits,
		"description": map[string]any{"numBits": f.NumBits, "fields": fields, "parityBits": []any{},
			"fixedBits": []any{}, "reverseBitOrder": false}}
}

// facilityField returns the name of the format's facility-like field, or "".
func (f *CardFormat) facilityField() string {
	for _, fl := range f.Fields {
		if fl.Name != "cardId" {
			return fl.Name
		}
	}
	return ""
}

func (s *Server) cardFormat(id int64) *CardFormat {
	for i := range s.cardFormats {
		if s.cardFormats[i].ID == id {
			return &s.cardFormats[i]
		}
	}
	return nil
}

func (s *Server) credType(id int64) *CredentialType {
	for i := range s.credTypes {
		if s.credTypes[i].ID == id {
			return &s.credTypes[i]
		}
	}
	return nil
}

// listQuery are the query parameters every list accepts (§1.8).
var listQuery = []string{"limit", "offset", "sort", "order", "q", "filter", "preFilter", "options"}

// maxLimit is the largest page the simulator serves.
const maxLimit = 1000

// page serves one page of a list: limit (default 1000, at most 1000) and
// offset, after keeping the items whose search text contains q.
func page[T any](q url.Values, items []T, text func(T) string) answer {
	return pageOf(q, items, text, func(it T) any { return it })
}

// pageOf is page for items rendered by render, called only for the items
// of the page served.
func pageOf[T any](q url.Values, items []T, text func(T) string, render func(T) any) answer {
	limit, offset := maxLimit, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return badRequest("limit must be a non-negative integer")
		}
		limit = min(n, maxLimit)
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return badRequest("offset must be a non-negative integer")
		}
		offset = n
	}
	total := len(items)
	if needle := strings.ToLower(strings.TrimSpace(q.Get("q"))); needle != "" && text != nil {
		items = slices.DeleteFunc(slices.Clone(items), func(it T) bool {
			return !strings.Contains(strings.ToLower(text(it)), needle)
		})
	}
	filtered := len(items)
	var data []T
	if offset < len(items) {
		data = items[offset:min(len(items), offset+limit)]
	}
	out := make([]any, len(data))
	for i, d := range data {
		out[i] = render(d)
	}
	return jsonAnswer(http.StatusOK, map[string]any{"totalCount": total, "filteredCount": filtered, "data": out})
}

func (s *Server) listGroups(q url.Values) answer {
	if a, ok := onlyParams(q, listQuery...); !ok {
		return a
	}
	return pageOf(q, sortedKeys(s.groups), func(id int64) string { return s.groups[id].name }, func(id int64) any {
		g := s.groups[id]
		return map[string]any{"id": g.id, "name": g.name, "description": g.description, "userCount": s.memberCount(id)}
	})
}

func (s *Server) memberCount(gid int64) int {
	n := 0
	for _, u := range s.users {
		if !u.archived && u.groups[gid] {
			n++
		}
	}
	return n
}

func (s *Server) createGroup(body []byte) answer {
	var in struct {
		Name          string `json:"name"`
		Description   string `json:"description"`
		BadgeConfigID *int64 `json:"badgeConfigId"`
	}
	if err := decodeStrict(body, &in); err != nil {
		return badRequest("invalid group: " + err.Error())
	}
	if strings.TrimSpace(in.Name) == "" {
		return badRequest("name is required")
	}
	g := &group{id: s.nextGrp, name: in.Name, description: in.Description}
	s.nextGrp++
	s.groups[g.id] = g
	return dataAnswer(http.StatusCreated, map[string]any{"id": g.id, "name": g.name, "description": g.description})
}

func (s *Server) listCredentialTypes(q url.Values) answer {
	if a, ok := onlyParams(q, listQuery...); !ok {
		return a
	}
	items := make([]map[string]any, len(s.credTypes))
	for i, t := range s.credTypes {
		items[i] = map[string]any{"id": t.ID, "name": t.Name, "modelName": t.ModelName}
	}
	return page(q, items, nil)
}

func (s *Server) listCardFormats(q url.Values) answer {
	if a, ok := onlyParams(q, listQuery...); !ok {
		return a
	}
	items := make([]map[string]any, len(s.cardFormats))
	for i := range s.cardFormats {
		items[i] = s.cardFormats[i].json()
	}
	return page(q, items, nil)
}

func sortedKeys[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
