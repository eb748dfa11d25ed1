package bench

import (
	"context"
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
	"github.com/acsbridge/acsbridge/lenel/lenelsim"
)

// lenelFloor speaks OpenAccess: one session, Application-Id and
// Session-Token on every call, version=1.0 in every query. What differs
// from one OnGuard to another it asks for once, at start, as an
// independent client must: the IDs of the badge statuses Active and
// Returned (Lnl_BadgeStatus, a site-defined list) and the default visitor
// badge type (/settings/visit). The adapter does the same, and caches
// them.
type lenelFloor struct {
	hc    *http.Client
	base  string
	token string
	// active and returned are the badge status IDs, badgeType the
	// default visitor badge type.
	active, returned, badgeType int64
	// levels are the access levels confirmed once: checked before their
	// first use and trusted afterwards (the adapter trusts one for its
	// catalogue lifetime).
	levels sync.Map
}

func newLenelFloor(ctx context.Context, u string, hc *http.Client) (*lenelFloor, error) {
	f := &lenelFloor{hc: hc, base: u + lenelsim.BasePath}
	body, _ := json.Marshal(struct {
		UserName string `json:"user_name"`
		Password string `json:"password"`
	}{lenelsim.DefaultUser, lenelsim.DefaultPassword})
	h := http.Header{"Application-Id": {lenelsim.DefaultApplicationID}, "Accept": {"application/json"}, "Content-Type": {"application/json"}}
	data, err := send(ctx, hc, http.MethodPost, f.base+"/authentication?version=1.0", h, body)
	if err != nil {
		return nil, err
	}
	var ans struct {
		SessionToken string `json:"session_token"`
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		return nil, err
	}
	if ans.SessionToken == "" {
		return nil, errors.New("lenel floor: no session token")
	}
	f.token = ans.SessionToken
	if err := f.readStatuses(ctx); err != nil {
		return nil, err
	}
	return f, f.readBadgeType(ctx)
}

// readStatuses finds the IDs of the badge statuses Active and Returned.
func (f *lenelFloor) readStatuses(ctx context.Context) error {
	var list struct {
		ItemList []struct {
			PropertyValueMap struct {
				ID   int64
				Name string
			} `json:"property_value_map"`
		} `json:"item_list"`
	}
	data, err := send(ctx, f.hc, http.MethodGet, f.base+"/instances?page_number=1&page_size=100&type_name=Lnl_BadgeStatus&version=1.0", f.header(false), nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return err
	}
	for _, it := range list.ItemList {
		switch m := it.PropertyValueMap; {
		case strings.EqualFold(m.Name, "Active"):
			f.active = m.ID
		case strings.EqualFold(m.Name, "Returned"):
			f.returned = m.ID
		}
	}
	if f.active == 0 || f.returned == 0 {
		return errors.New("lenel floor: no badge status Active or Returned")
	}
	return nil
}

// readBadgeType reads the default visitor badge type.
func (f *lenelFloor) readBadgeType(ctx context.Context) error {
	data, err := send(ctx, f.hc, http.MethodGet, f.base+"/settings/visit?version=1.0", f.header(false), nil)
	if err != nil {
		return err
	}
	var ans struct {
		Type int64 `json:"default_visitor_badge_type_id"`
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		return err
	}
	if ans.Type <= 0 {
		return errors.New("lenel floor: no default visitor badge type")
	}
	f.badgeType = ans.Type
	return nil
}

func (f *lenelFloor) header(body bool) http.Header {
	h := http.Header{"Application-Id": {lenelsim.DefaultApplicationID}, "Accept": {"application/json"}, "Session-Token": {f.token}}
	if body {
		h["Content-Type"] = []string{"application/json"}
	}
	return h
}

type lenelList struct {
	ItemList []struct {
		PropertyValueMap struct {
			ID         int64
			BADGEKEY   int64
			STATUS     int64
			DEACTIVATE string
		} `json:"property_value_map"`
	} `json:"item_list"`
}

type lenelKey struct {
	PropertyValueMap struct {
		ID       int64
		BADGEKEY int64
	} `json:"property_value_map"`
}

// lenelPeople is the answer to the visitor lookup, as a repeated
// provision compares it with the grant.
type lenelPeople struct {
	ItemList []struct {
		PropertyValueMap struct {
			ID        int64
			SSNO      string
			FIRSTNAME string
			LASTNAME  string
			EMAIL     string
		} `json:"property_value_map"`
	} `json:"item_list"`
}

// lenelBadges is the answer to the badge lookup by badge ID.
type lenelBadges struct {
	ItemList []struct {
		PropertyValueMap struct {
			ID         int64
			BADGEKEY   int64
			PERSONID   int64
			STATUS     int64
			ACTIVATE   string
			DEACTIVATE string
		} `json:"property_value_map"`
	} `json:"item_list"`
}

// lenelAssignments is the answer to the lookup of a badge's access level
// assignments.
type lenelAssignments struct {
	ItemList []lenelAssignment `json:"item_list"`
}

// list decodes the instances of typeName matching filter into out.
func (f *lenelFloor) list(ctx context.Context, typeName, filter string, out any) error {
	data, err := send(ctx, f.hc, http.MethodGet, f.base+"/instances?filter="+url.QueryEscape(filter)+
		"&page_number=1&page_size=100&type_name="+typeName+"&version=1.0", f.header(false), nil)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}

func (f *lenelFloor) write(ctx context.Context, method string, v any, out *lenelKey) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	data, err := send(ctx, f.hc, method, f.base+"/instances?version=1.0", f.header(true), body)
	if err != nil || out == nil {
		return err
	}
	return json.Unmarshal(data, out)
}

func lenelTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }

type lenelVisitor struct {
	PropertyValueMap struct {
		EMAIL     string
		FIRSTNAME string
		LASTNAME  string
		SSNO      string
	} `json:"property_value_map"`
	TypeName string `json:"type_name"`
}

type lenelBadge struct {
	PropertyValueMap struct {
		ACTIVATE   string
		DEACTIVATE string
		ID         int64
		PERSONID   int64
		STATUS     int64
		TYPE       int64
	} `json:"property_value_map"`
	TypeName string `json:"type_name"`
}

type lenelAssignment struct {
	PropertyValueMap struct {
		ACCESSLEVELID int64
		ACTIVATE      string
		BADGEKEY      int64
		DEACTIVATE    string
	} `json:"property_value_map"`
	TypeName string `json:"type_name"`
}

type lenelRevoke struct {
	PropertyValueMap struct {
		BADGEKEY   int64
		DEACTIVATE string
		STATUS     int64
	} `json:"property_value_map"`
	TypeName string `json:"type_name"`
}

// Provision: the access level, the visitor and the badge looked up, the
// visitor created and looked up again (OpenAccess has no conditional
// create, so of two processes that both created the visitor, the later
// sees the other's only by looking), then the badge and the assignment
// created. A visitor found with exactly the grant's SSNO was provisioned
// before: see provisioned.
func (f *lenelFloor) Provision(ctx context.Context, g acs.Grant) (FloorRef, error) {
	var levels lenelList
	var people lenelPeople
	var badges lenelBadges
	if _, ok := f.levels.Load(g.AccessLevels[0]); !ok {
		if err := f.list(ctx, "Lnl_AccessLevel", "ID = "+g.AccessLevels[0], &levels); err != nil {
			return FloorRef{}, err
		}
		f.levels.Store(g.AccessLevels[0], true)
	}
	if err := f.list(ctx, "Lnl_Visitor", `SSNO = "`+g.Person.ExternalID+`"`, &people); err != nil {
		return FloorRef{}, err
	}
	badgeID := int64(g.Card.Number)
	if err := f.list(ctx, "Lnl_Badge", "ID = "+strconv.FormatInt(badgeID, 10), &badges); err != nil {
		return FloorRef{}, err
	}
	found := -1
	for i, it := range people.ItemList {
		if it.PropertyValueMap.SSNO != g.Person.ExternalID {
			continue // OpenAccess compared case-insensitively
		}
		if found >= 0 {
			return FloorRef{}, fmt.Errorf("lenel floor: several visitors carry SSNO %q; converging them is left to the adapter", g.Person.ExternalID)
		}
		found = i
	}
	if found >= 0 {
		return f.provisioned(ctx, g, &people, found, &badges)
	}
	var v lenelVisitor
	v.TypeName = "Lnl_Visitor"
	v.PropertyValueMap.EMAIL, v.PropertyValueMap.FIRSTNAME = g.Person.Email, g.Person.FirstName
	v.PropertyValueMap.LASTNAME, v.PropertyValueMap.SSNO = g.Person.LastName, g.Person.ExternalID
	var person lenelKey
	if err := f.write(ctx, http.MethodPost, &v, &person); err != nil {
		return FloorRef{}, err
	}
	var twins lenelList
	if err := f.list(ctx, "Lnl_Visitor", `SSNO = "`+g.Person.ExternalID+`"`, &twins); err != nil {
		return FloorRef{}, err
	}
	if len(twins.ItemList) != 1 || twins.ItemList[0].PropertyValueMap.ID != person.PropertyValueMap.ID {
		return FloorRef{}, fmt.Errorf("lenel floor: %d visitors carry SSNO %q; converging them is left to the adapter", len(twins.ItemList), g.Person.ExternalID)
	}
	from, until := lenelTime(g.ValidFrom), lenelTime(g.ValidUntil)
	var b lenelBadge
	b.TypeName = "Lnl_Badge"
	m := &b.PropertyValueMap
	m.ACTIVATE, m.DEACTIVATE, m.ID, m.PERSONID = from, until, badgeID, person.PropertyValueMap.ID
	m.STATUS, m.TYPE = f.active, f.badgeType
	var badge lenelKey
	if err := f.write(ctx, http.MethodPost, &b, &badge); err != nil {
		return FloorRef{}, err
	}
	level, err := strconv.ParseInt(g.AccessLevels[0], 10, 64)
	if err != nil {
		return FloorRef{}, err
	}
	var a lenelAssignment
	a.TypeName = "Lnl_AccessLevelAssignment"
	a.PropertyValueMap.ACCESSLEVELID, a.PropertyValueMap.ACTIVATE = level, from
	a.PropertyValueMap.BADGEKEY, a.PropertyValueMap.DEACTIVATE = badge.PropertyValueMap.BADGEKEY, until
	if err := f.write(ctx, http.MethodPost, &a, nil); err != nil {
		return FloorRef{}, err
	}
	return FloorRef{Holder: strconv.FormatInt(person.PropertyValueMap.ID, 10),
		Credential: strconv.FormatInt(badge.PropertyValueMap.BADGEKEY, 10)}, nil
}

// provisioned handles a repeated provision: people.ItemList[i] is the
// visitor with g's SSNO and badges the records of g's badge ID. When the
// visitor has g's name and e-mail, holds the one record of the badge ID,
// active with g's window, and the badge has exactly g's access level
// assigned with that window (what the adapter, after the same lookups of
// visitor, badge and assignments, leaves unchanged), it returns the
// visitor's ID and the badge key, as the first provision did. Anything
// else is an error: changing a provisioned visitor is left to the adapter.
func (f *lenelFloor) provisioned(ctx context.Context, g acs.Grant, people *lenelPeople, i int, badges *lenelBadges) (FloorRef, error) {
	p := &people.ItemList[i].PropertyValueMap
	differs := func(what string) (FloorRef, error) {
		return FloorRef{}, fmt.Errorf("lenel floor: visitor %q was provisioned with another %s; changing it is left to the adapter", g.Person.ExternalID, what)
	}
	if p.FIRSTNAME != g.Person.FirstName || p.LASTNAME != g.Person.LastName || p.EMAIL != g.Person.Email {
		return differs("name or e-mail")
	}
	if len(badges.ItemList) != 1 {
		return differs("badge")
	}
	b := &badges.ItemList[0].PropertyValueMap
	if b.ID != int64(g.Card.Number) || b.PERSONID != p.ID || b.STATUS != f.active ||
		!lenelSameTime(b.ACTIVATE, g.ValidFrom) || !lenelSameTime(b.DEACTIVATE, g.ValidUntil) {
		return differs("badge")
	}
	level, err := strconv.ParseInt(g.AccessLevels[0], 10, 64)
	if err != nil {
		return FloorRef{}, err
	}
	var as lenelAssignments
	if err := f.list(ctx, "Lnl_AccessLevelAssignment", "BADGEKEY = "+strconv.FormatInt(b.BADGEKEY, 10), &as); err != nil {
		return FloorRef{}, err
	}
	if len(g.AccessLevels) != 1 || len(as.ItemList) != 1 {
		return differs("access level")
	}
	a := &as.ItemList[0].PropertyValueMap
	if a.ACCESSLEVELID != level || a.BADGEKEY != b.BADGEKEY ||
		!lenelSameTime(a.ACTIVATE, g.ValidFrom) || !lenelSameTime(a.DEACTIVATE, g.ValidUntil) {
		return differs("access level")
	}
	return FloorRef{Holder: strconv.FormatInt(p.ID, 10), Credential: strconv.FormatInt(b.BADGEKEY, 10)}, nil
}

// lenelSameTime reports whether the OpenAccess date s is t to the second,
// as lenelTime writes it; a date it cannot read is not.
func lenelSameTime(s string, t time.Time) bool {
	v, err := time.Parse(time.RFC3339, s)
	return err == nil && v.Equal(t.Truncate(time.Second))
}

// Revoke: the badge read, then its status set to Returned and its
// deactivation moved to now.
func (f *lenelFloor) Revoke(ctx context.Context, ref FloorRef) error {
	var badges lenelList
	if err := f.list(ctx, "Lnl_Badge", "BADGEKEY = "+ref.Credential, &badges); err != nil {
		return err
	}
	if len(badges.ItemList) == 0 {
		return nil
	}
	var r lenelRevoke
	r.TypeName = "Lnl_Badge"
	r.PropertyValueMap.BADGEKEY = badges.ItemList[0].PropertyValueMap.BADGEKEY
	r.PropertyValueMap.DEACTIVATE = lenelTime(time.Now().Truncate(time.Second))
	r.PropertyValueMap.STATUS = f.returned
	return f.write(ctx, http.MethodPut, &r, nil)
}
