package lenel

import "context"

// The records below are what this package reads of the instances OnGuard
// answers with on the provisioning and revoking paths, decoded straight
// from the property_value_map: encoding/json matches their names to the
// properties case-insensitively, as upperProps does for props, and their
// field types read values as leniently as props does (optInt, in
// events.go, optStr and optTime), so that a record decodes the same
// either way and a value of the wrong kind never fails an answer.

// keyRecord holds the key properties of an instance that create reads
// from the answer to a POST.
type keyRecord struct {
	ID            optInt `json:"ID"`
	BadgeKey      optInt `json:"BADGEKEY"`
	AccessLevelID optInt `json:"ACCESSLEVELID"`
}

// int returns the key property name; any other name is not set.
func (k keyRecord) int(name string) (int64, bool) {
	var v optInt
	switch name {
	case "ID":
		v = k.ID
	case "BADGEKEY":
		v = k.BadgeKey
	case "ACCESSLEVELID":
		v = k.AccessLevelID
	}
	return v.n, v.ok
}

// badgeRecord is an Lnl_Badge as this package reads it.
type badgeRecord struct {
	ID         optInt  `json:"ID"`
	BadgeKey   optInt  `json:"BADGEKEY"`
	PersonID   optInt  `json:"PERSONID"`
	Status     optInt  `json:"STATUS"`
	Activate   optTime `json:"ACTIVATE"`
	Deactivate optTime `json:"DEACTIVATE"`
}

// window returns the badge's key, holder, status and window, and whether
// the record names both its key and its holder.
func (b badgeRecord) window() (badgeWindow, bool) {
	w := badgeWindow{key: b.BadgeKey.n, personID: b.PersonID.n, status: b.Status.n, from: b.Activate.t, until: b.Deactivate.t}
	return w, b.BadgeKey.ok && b.PersonID.ok
}

// badges lists the Lnl_Badge records matching filter.
func (p *Provider) badges(ctx context.Context, op, filter string) ([]badgeRecord, error) {
	return listOf[badgeRecord](ctx, p, op, "Lnl_Badge", filter)
}

// person is a person record (Config.PersonType) as this package reads it:
// the properties decoded from an answer, then its ID and its external ID
// (the value of Config.ExternalIDProperty) as listPeople sets them.
type person struct {
	ID           optInt `json:"ID"`
	SSNO         optStr `json:"SSNO"`
	FirstName    optStr `json:"FIRSTNAME"`
	LastName     optStr `json:"LASTNAME"`
	Email        optStr `json:"EMAIL"`
	Organization optStr `json:"ORGANIZATION"`

	id  int64 // 0 when the record has none
	ext string
}

// field returns the string property name, nil for a name person does
// not decode.
func (x *person) field(name string) *optStr {
	switch name {
	case "SSNO":
		return &x.SSNO
	case "FIRSTNAME":
		return &x.FirstName
	case "LASTNAME":
		return &x.LastName
	case "EMAIL":
		return &x.Email
	case "ORGANIZATION":
		return &x.Organization
	}
	return nil
}

// str returns the string property name, "" for a name person does not
// decode.
func (x *person) str(name string) string {
	if f := x.field(name); f != nil {
		return string(*f)
	}
	return ""
}

// listPeople lists the person records matching filter: decoded as person
// when it holds the external ID property, else read from property maps.
func (p *Provider) listPeople(ctx context.Context, op, filter string) ([]person, error) {
	prop := p.cfg.ExternalIDProperty
	if (&person{}).field(prop) == nil {
		return p.peopleFromProps(ctx, op, filter)
	}
	out, err := listOf[person](ctx, p, op, p.cfg.PersonType, filter)
	for i := range out {
		x := &out[i]
		x.id, x.ext = x.ID.n, x.str(prop)
	}
	return out, err
}

// peopleFromProps is listPeople for an external ID property that person
// does not decode (a user-defined field).
func (p *Provider) peopleFromProps(ctx context.Context, op, filter string) ([]person, error) {
	items, err := p.list(ctx, op, p.cfg.PersonType, filter)
	out := make([]person, len(items))
	for i, it := range items {
		id, ok := it.int("ID")
		out[i] = person{ID: optInt{id, ok}, FirstName: optStr(it.str("FIRSTNAME")), LastName: optStr(it.str("LASTNAME")),
			Email: optStr(it.str("EMAIL")), Organization: optStr(it.str("ORGANIZATION")),
			id: id, ext: it.str(p.cfg.ExternalIDProperty)}
	}
	return out, err
}
