package lenel

import (
	"errors"
	"strconv"
	"strings"
)

// OpenAccess filters are a SQL-like language with no documented way to
// escape a quote inside a string literal. Every filter this package sends
// is therefore built here from two safe pieces only: property names that
// are fixed or validated when the provider is made (validProperty), and
// values that are either integers or strings of letters, digits, '-', '_'
// and '.' (validLiteral), so that no value can close its literal, add an
// operator or a wildcard. Names, e-mail addresses and other free text are
// never placed in a filter.

// validProperty reports whether s can be used as a property name in a
// filter: a letter followed by up to 63 letters, digits or underscores.
func validProperty(s string) bool {
	if len(s) == 0 || len(s) > 64 || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isLetter(s[i]) && !isDigit(s[i]) && s[i] != '_' {
			return false
		}
	}
	return true
}

// validLiteral reports whether s may be placed between double quotes in a
// filter: 1 to 64 letters, digits, '-', '_' and '.'.
func validLiteral(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLetter(c) && !isDigit(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }

var errUnsafeLiteral = errors.New("value is not safe in an OpenAccess filter: only letters, digits, '-', '_' and '.' (at most 64) are allowed")

// eqString returns `prop = "v"`, refusing any v that is not a valid
// literal.
func eqString(prop, v string) (string, error) {
	if !validProperty(prop) {
		return "", errors.New("invalid property name in filter")
	}
	if !validLiteral(v) {
		return "", errUnsafeLiteral
	}
	return prop + ` = "` + v + `"`, nil
}

// eqInt returns `prop = n`.
func eqInt(prop string, n int64) string {
	return prop + " = " + strconv.FormatInt(n, 10)
}

// andInts returns `a = n AND b = m`.
func andInts(a string, n int64, b string, m int64) string {
	return eqInt(a, n) + " AND " + eqInt(b, m)
}

// anyInt returns `prop = n1 OR prop = n2 ...`.
func anyInt(prop string, ns []int64) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = eqInt(prop, n)
	}
	return strings.Join(parts, " OR ")
}

// notEmpty returns `prop != ""`: the records whose property is set.
func notEmpty(prop string) (string, error) {
	if !validProperty(prop) {
		return "", errors.New("invalid property name in filter")
	}
	return prop + ` != ""`, nil
}
