package netbox

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// cardRec is a credential as GetPerson answers it.
type cardRec struct {
	id, encoded, hotstamp, format, status string
	disabled                              bool
	exp                                   time.Time // CARDEXPDATE; zero when unset
}

// personRec is a person as GetPerson answers it.
type personRec struct {
	id, first, last string
	actRaw, expRaw  string
	act, exp        time.Time // zero when unset
	deleted         bool
	levels          []string // names
	cards           []cardRec
}

func parseBool(s string) bool {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "TRUE", "1", "YES", "T", "Y":
		return true
	}
	return false
}

func parseUint(s string) (uint64, error) {
	return strconv.ParseUint(strings.TrimSpace(s), 10, 64)
}

// readPerson reads a person element (GetPerson's DETAILS).
func (p *Provider) readPerson(n *xnode) *personRec {
	r := &personRec{id: n.str("PERSONID"), first: n.raw("FIRSTNAME"), last: n.raw("LASTNAME"),
		actRaw: n.str("ACTDATE"), expRaw: n.str("EXPDATE"), deleted: parseBool(n.str("DELETED"))}
	r.act, _ = p.parseTime(r.actRaw)
	r.exp, _ = p.parseTime(r.expRaw)
	for _, l := range n.child("ACCESSLEVELS").children("ACCESSLEVEL") {
		name := l.text
		if l.child("ACCESSLEVELNAME") != nil {
			name = l.raw("ACCESSLEVELNAME")
		}
		if strings.TrimSpace(name) != "" {
			r.levels = append(r.levels, name)
		}
	}
	for _, c := range n.child("ACCESSCARDS").children("ACCESSCARD") {
		cr := cardRec{id: c.str("CREDENTIALID"), encoded: c.str("ENCODEDNUM"), hotstamp: c.str("HOTSTAMP"),
			format: c.raw("CARDFORMAT"), status: c.str("CARDSTATUS"), disabled: parseBool(c.str("DISABLED"))}
		cr.exp, _ = p.parseTime(c.str("CARDEXPDATE"))
		r.cards = append(r.cards, cr)
	}
	return r
}

// getPerson reads a person with its credentials and their IDs; nil when
// the controller has no person with that PERSONID.
func (p *Provider) getPerson(ctx context.Context, op, id string) (*personRec, error) {
	a, err := p.do(ctx, request{op: op, command: "GetPerson", idempotent: true,
		params: []param{pv("PERSONID", id), pv("WANTCREDENTIALID", "TRUE")}})
	if absent(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if a.details == nil {
		return nil, acs.Errorf(op, Name, acs.Unknown, "the controller answered GetPerson with SUCCESS but no DETAILS")
	}
	r := p.readPerson(a.details)
	if r.id != "" && r.id != id {
		return nil, acs.Errorf(op, Name, acs.Unknown, "the controller answered GetPerson %q with person %q", id, r.id)
	}
	r.id = id
	return r, nil
}

// live reports whether the credential can open a door at now as far as
// its own record goes: not disabled, status ACTIVE (the default), and its
// CARDEXPDATE not passed.
func (c cardRec) live(now time.Time) bool {
	return c.enabled() && (c.exp.IsZero() || now.Before(c.exp))
}

// enabled reports whether the credential is not disabled and its status
// is ACTIVE (the default).
func (c cardRec) enabled() bool {
	st := strings.TrimSpace(c.status)
	return !c.disabled && (st == "" || strings.EqualFold(st, "ACTIVE"))
}

// live reports whether the person can use a credential at now: not
// deleted, and the EXPDATE not passed.
func (r *personRec) live(now time.Time) bool {
	return !r.deleted && (r.exp.IsZero() || now.Before(r.exp))
}

// matching returns the person's credentials of a card format and encoded
// number, the smallest CREDENTIALID first.
func (r *personRec) matching(format, encoded string) []cardRec {
	var out []cardRec
	for _, c := range r.cards {
		if c.format == format && sameNumber(c.encoded, encoded) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b cardRec) int { return compareIDs(a.id, b.id) })
	return out
}

// sameNumber compares encoded numbers as numbers when both are decimal
// (a controller may write leading zeros), else as text.
func sameNumber(a, b string) bool {
	x, err1 := parseUint(a)
	y, err2 := parseUint(b)
	if err1 == nil && err2 == nil {
		return x == y
	}
	return a == b
}

// compareIDs orders IDs numerically when both are decimal, else as text.
func compareIDs(a, b string) int {
	x, err1 := parseUint(a)
	y, err2 := parseUint(b)
	if err1 == nil && err2 == nil {
		return cmp.Compare(x, y)
	}
	return strings.Compare(a, b)
}

// search lists the PERSONIDs SearchPersonData finds with the given
// filters, following NEXTKEY over every page.
func (p *Provider) search(ctx context.Context, op string, filters ...param) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	start := ""
	for range maxPages {
		params := slices.Clone(filters)
		if start != "" {
			params = append(params, pv("STARTFROMKEY", start))
		}
		a, err := p.do(ctx, request{op: op, command: "SearchPersonData", params: params, idempotent: true})
		if absent(err) {
			break // nobody (more): 6.2.0 answers an empty result so
		}
		if err != nil {
			return nil, err
		}
		for _, n := range a.details.child("PEOPLE").children("PERSON") {
			if id := n.str("PERSONID"); id != "" && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		next := a.details.str("NEXTKEY")
		if next == "" || next == "-1" || next == start {
			break
		}
		start = next
	}
	return ids, nil
}

// holding is a credential of a card found at some person.
type holding struct {
	person *personRec
	card   cardRec
}

// cardHolders finds the people holding a card: SearchPersonData by the
// hot stamp (deleted people included, since their records keep their
// credentials), then each candidate's credentials.
func (p *Provider) cardHolders(ctx context.Context, op, format, encoded, hotstamp string) ([]holding, error) {
	ids, err := p.search(ctx, op, pv("HOTSTAMP", hotstamp), pv("DELETED", "ALL"))
	if err != nil {
		return nil, err
	}
	var out []holding
	for _, id := range ids {
		r, err := p.getPerson(ctx, op, id)
		if err != nil {
			return nil, err
		}
		if r == nil {
			continue
		}
		for _, c := range r.matching(format, encoded) {
			out = append(out, holding{person: r, card: c})
		}
	}
	return out, nil
}

// credentialParams address one credential of a person: PERSONID,
// CREDENTIALID, and the card itself.
func credentialParams(personID string, c cardRec) []param {
	ps := []param{pv("PERSONID", personID)}
	if c.id != "" {
		ps = append(ps, pv("CREDENTIALID", c.id))
	}
	if c.encoded != "" {
		ps = append(ps, pv("ENCODEDNUM", c.encoded), pv("CARDFORMAT", c.format))
	}
	return ps
}

// removeCredential deletes one credential of a person. When the answer is
// an error, the controller is asked whether the credential is still there:
// gone is success.
func (p *Provider) removeCredential(ctx context.Context, op, personID string, c cardRec) error {
	_, err := p.do(ctx, request{op: op, command: "RemoveCredential", params: credentialParams(personID, c), idempotent: true})
	if err == nil || acs.CodeOf(err) == acs.Canceled {
		return err
	}
	return p.settleCredential(ctx, op, personID, c, err, func(*cardRec) bool { return false })
}

// setDisabled disables (or enables) one credential of a person, and asks
// the controller when the answer is an error: the credential gone, or
// already in the wanted state, is success.
func (p *Provider) setDisabled(ctx context.Context, op, personID string, c cardRec, disabled bool) error {
	params := append(credentialParams(personID, c), pv("DISABLED", boolParam(disabled)))
	if !disabled && !strings.EqualFold(strings.TrimSpace(c.status), "ACTIVE") && strings.TrimSpace(c.status) != "" {
		params = append(params, pv("CARDSTATUS", "ACTIVE"))
	}
	_, err := p.do(ctx, request{op: op, command: "ModifyCredential", params: params, idempotent: true})
	if err == nil || acs.CodeOf(err) == acs.Canceled {
		return err
	}
	now := p.now()
	return p.settleCredential(ctx, op, personID, c, err, func(cur *cardRec) bool { return cur.live(now) != disabled })
}

func boolParam(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// settleCredential asks, after a change of a credential failed with err,
// whether the change is moot: the person or the credential is gone, or
// done(credential) says it is as wanted. Otherwise err stands, a NotFound
// becoming Unknown (the credential is there); when asking fails, its own
// error is returned if retryable, else err as unconfirmed says.
func (p *Provider) settleCredential(ctx context.Context, op, personID string, c cardRec, err error, done func(*cardRec) bool) error {
	r, lerr := p.getPerson(ctx, op, personID)
	switch {
	case lerr != nil && (acs.IsRetryable(lerr) || acs.CodeOf(lerr) == acs.Canceled):
		return lerr
	case lerr != nil:
		return unconfirmed(err)
	case r == nil:
		return nil
	}
	for _, cur := range r.cards {
		if (c.id != "" && cur.id == c.id) || (c.id == "" && cur.format == c.format && sameNumber(cur.encoded, c.encoded)) {
			if done(&cur) {
				return nil
			}
			return notGone(err)
		}
	}
	return nil
}

// unconfirmed is the error of a change that failed with err when asking
// the controller about the record failed too. A refusal of the request
// itself (invalid, not permitted, unsupported) stands. An answer about
// the record's state (NOT FOUND, DUPLICATE) is what the question was to
// check: unchecked, it becomes Unknown, so that the caller tries again
// instead of taking it for a definite refusal (a NOT FOUND of a removal
// retried after its first answer was lost, say, would otherwise fail the
// provision that needed the removal).
func unconfirmed(err error) error {
	ae, ok := err.(*acs.Error)
	if !ok || (ae.Code != acs.NotFound && ae.Code != acs.AlreadyExists && ae.Code != acs.Conflict) {
		return err
	}
	cp := *ae
	cp.Code = acs.Unknown
	cp.Message = "the controller's answer could not be checked: asking whether the record is there failed"
	return &cp
}

// notGone turns a NotFound about a record that is there into Unknown.
func notGone(err error) error {
	if ae, ok := err.(*acs.Error); ok && ae.Code == acs.NotFound {
		cp := *ae
		cp.Code = acs.Unknown
		cp.Message = "the controller answered NOT FOUND, but the record is there"
		return &cp
	}
	return err
}
