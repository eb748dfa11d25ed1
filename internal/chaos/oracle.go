package chaos

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
	"github.com/acsbridge/acsbridge/wiegand"
)

// ACSCredential is a credential as an ACS stores it, read from the
// simulator's oracle.
type ACSCredential struct {
	// ID is the ACS's own identifier.
	ID string
	// Holder is the external ID of the cardholder holding it; empty when
	// the holder carries none.
	Holder string
	// Card is the site's key for the card data (see Site.CardKey).
	Card string
	// Live reports whether it opens one of the site's access levels at
	// the probe time.
	Live bool
}

// Snapshot is what one ACS holds, read from its simulator.
type Snapshot struct {
	// Holders counts the cardholders by external ID.
	Holders map[string]int
	// Anonymous counts cardholders without a recognisable external ID.
	Anonymous int
	// Credentials are the credentials assigned to cardholders.
	Credentials []ACSCredential
	// Unassigned counts credentials assigned to nobody (they open
	// nothing).
	Unassigned int
}

// CardKey returns how the site's oracle identifies the card: the decoded
// card for Genetec (which stores the raw frame), the badge ID (the card
// number) for Lenel, facility and number for Brivo.
func (site *Site) CardKey(c acs.Card) string {
	switch site.Kind {
	case Lenel:
		return "badge " + strconv.FormatUint(c.Number, 10)
	case Brivo:
		return strconv.FormatUint(c.Facility, 10) + "/" + strconv.FormatUint(c.Number, 10)
	}
	return c.String()
}

// Snapshot reads the site's true state. Credentials are probed at time at;
// visitIDs are the external IDs the caller knows (Brivo's oracle finds
// users by external ID only).
func (site *Site) Snapshot(at time.Time, visitIDs []string) Snapshot {
	snap := Snapshot{Holders: map[string]int{}}
	opens := func(f func(cred, level string, at time.Time) bool, cred string) bool {
		for _, l := range site.Levels {
			if f(cred, l, at) {
				return true
			}
		}
		return false
	}
	switch site.Kind {
	case Genetec:
		g := site.sims.Genetec
		assigned := 0
		for _, h := range g.Cardholders() {
			ext := genetecExternalID(h.Name)
			if ext == "" {
				snap.Anonymous++
			} else {
				snap.Holders[ext]++
			}
			for _, id := range h.Credentials {
				ci, ok := g.Credential(id)
				if !ok {
					continue
				}
				assigned++
				snap.Credentials = append(snap.Credentials, ACSCredential{ID: id, Holder: ext,
					Card: genetecCardKey(ci.BitLength, ci.Raw), Live: opens(g.Opens, id)})
			}
		}
		snap.Unassigned = g.Census().Credentials - assigned
	case Lenel:
		l := site.sims.Lenel
		ssno := map[int64]string{}
		for _, v := range l.Instances("Lnl_Visitor") {
			id, _ := v["ID"].(int64)
			ext, _ := v["SSNO"].(string)
			ssno[id] = ext
			if ext == "" {
				snap.Anonymous++
			} else {
				snap.Holders[ext]++
			}
		}
		for _, b := range l.Instances("Lnl_Badge") {
			key, _ := b["BADGEKEY"].(int64)
			pid, _ := b["PERSONID"].(int64)
			num, _ := b["ID"].(int64)
			holder, ok := ssno[pid]
			if !ok {
				snap.Unassigned++
				continue
			}
			k := strconv.FormatInt(key, 10)
			snap.Credentials = append(snap.Credentials, ACSCredential{ID: k, Holder: holder,
				Card: "badge " + strconv.FormatInt(num, 10), Live: opens(l.Opens, k)})
		}
	case Brivo:
		b := site.sims.Brivo
		users := map[int64]string{}
		for _, ext := range visitIDs {
			if u, ok := b.User(ext); ok {
				users[u.ID] = ext
				snap.Holders[ext]++
			}
		}
		snap.Anonymous = b.Census().Users - len(users)
		for _, c := range b.Credentials() {
			if c.UserID == 0 {
				snap.Unassigned++
				continue
			}
			id := strconv.FormatInt(c.ID, 10)
			snap.Credentials = append(snap.Credentials, ACSCredential{ID: id, Holder: users[c.UserID],
				Card: c.Fields["facility_code"] + "/" + c.Fields["card_number"], Live: opens(b.Opens, id)})
		}
	}
	return snap
}

// genetecExternalID extracts the external ID the genetec adapter puts at
// the end of a cardholder's name in square brackets.
func genetecExternalID(name string) string {
	if !strings.HasSuffix(name, "]") {
		return ""
	}
	i := strings.LastIndexByte(name, '[')
	if i < 0 {
		return ""
	}
	return strings.ReplaceAll(name[i+1:len(name)-1], `\`, "")
}

func genetecCardKey(bits int, raw uint64) string {
	var f wiegand.Format
	switch bits {
	case 26:
		f = wiegand.H10301
	case 37:
		f = wiegand.H10302
	}
	if f.Valid() {
		if c, err := f.Decode(wiegand.Frame{Len: uint8(bits), Value: raw}); err == nil {
			return c.String()
		}
	}
	return fmt.Sprintf("raw %d/%x", bits, raw)
}
