package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/acsbridge/acsbridge/acs"
)

// resolveLevels maps each --access-level value to the ID of one of the
// ACS's access levels: a value that is an ID is that level; otherwise the
// level whose name is the value exactly, else the one whose name equals
// it ignoring case. A name several levels share is refused with their IDs,
// so that the caller picks one; a value that matches nothing is refused
// with the command that lists them. An ID given twice (or by ID and by
// name) is granted once.
func resolveLevels(provider string, levels []acs.AccessLevel, given []string) ([]string, error) {
	var out []string
	for _, v := range given {
		id, err := resolveLevel(provider, levels, v)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// resolveLevel maps one --access-level value to an access level ID.
func resolveLevel(provider string, levels []acs.AccessLevel, v string) (string, error) {
	for _, l := range levels {
		if l.ID == v {
			return l.ID, nil
		}
	}
	match := func(same func(a, b string) bool) []acs.AccessLevel {
		var out []acs.AccessLevel
		for _, l := range levels {
			if same(l.Name, v) {
				out = append(out, l)
			}
		}
		return out
	}
	found := match(func(a, b string) bool { return a == b })
	if len(found) == 0 {
		found = match(strings.EqualFold)
	}
	switch len(found) {
	case 1:
		return found[0].ID, nil
	case 0:
		return "", usagef("provision: %s has no access level with the ID or name %q; list them with: acsctl --provider %s … sync",
			provider, v, provider)
	}
	var cands []string
	for _, l := range found {
		cands = append(cands, fmt.Sprintf("%s (%q)", l.ID, l.Name))
	}
	return "", usagef("provision: access level name %q is ambiguous at %s: %d levels have it: %s; pass one of those IDs instead",
		v, provider, len(found), strings.Join(cands, ", "))
}
