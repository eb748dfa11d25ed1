package genetecsim

import (
	"strconv"
	"strings"
)

// searchResult is the answer to an EntityConfiguration report.
type searchResult struct {
	status string // Ok or TooManyResults
	guids  []string
}

// search runs report/EntityConfiguration. Supported filters:
// EntityTypes@T[@T…] (required), Name=, NameSearchMode= (StartsWith, the
// default, Contains, EndsWith or Exact; case-insensitive matching),
// Page= and PageSize=. A page holds PageSize entities plus one extra
// when a further page exists. Without paging, more than maxResults
// matches answer TooManyResults with the first maxResults.
func (st *store) search(items []Item, maxResults int) (searchResult, *sdkError) {
	q, err := readSearch(items)
	if err != nil {
		return searchResult{}, err
	}
	matches := st.sorted(q.matches)
	res := searchResult{status: "Ok"}
	if q.page > 0 {
		from := min((q.page-1)*q.pageSize, len(matches))
		to := min(from+q.pageSize+1, len(matches))
		matches = matches[from:to]
	} else if len(matches) > maxResults {
		res.status = "TooManyResults"
		matches = matches[:maxResults]
	}
	res.guids = make([]string, len(matches))
	for i, e := range matches {
		res.guids[i] = e.guid
	}
	return res, nil
}

// searchQuery is an EntityConfiguration report's query.
type searchQuery struct {
	types          map[string]bool
	name           string // lower case
	hasName        bool
	mode           string // NameSearchMode, lower case
	page, pageSize int
}

// readSearch reads the report's query items the way the Web SDK checks
// them: EntityTypes is required; Page and PageSize default to each other.
func readSearch(items []Item) (searchQuery, *sdkError) {
	q := searchQuery{types: map[string]bool{}, mode: "startswith"}
	for _, it := range items {
		if err := q.read(it); err != nil {
			return q, err
		}
	}
	if len(q.types) == 0 {
		return q, failf(codeInvalidOperation, "The report needs EntityTypes")
	}
	if q.pageSize > 0 && q.page == 0 {
		q.page = 1
	}
	if q.page > 0 && q.pageSize == 0 {
		q.pageSize = 100
	}
	return q, nil
}

// read applies one query item.
func (q *searchQuery) read(it Item) *sdkError {
	notFound := failf(codeInvalidOperation, "Could not find property '%s' from filter: '%s'", it.Name, it.Raw)
	prop := strings.ToLower(it.Name)
	switch {
	case prop == "entitytypes" && it.Kind == KindAdd:
		for _, v := range it.Values {
			t, ok := typeNames[strings.ToLower(v)]
			if !ok {
				return failf(codeInvalidOperation, "Unknown entity type '%s'", v)
			}
			q.types[t] = true
		}
	case it.Kind != KindSet || it.Func != "":
		return notFound
	case prop == "name" && !it.XML:
		q.name, q.hasName = strings.ToLower(it.Value), true
	case prop == "namesearchmode":
		switch m := strings.ToLower(it.Value); m {
		case "startswith", "contains", "endswith", "exact":
			q.mode = m
		default:
			return failf(codeInvalidOperation, "'%s' is not a valid NameSearchMode", it.Value)
		}
	case prop == "page" || prop == "pagesize":
		n, err := strconv.Atoi(it.Value)
		if err != nil || n < 1 {
			return failf(codeInvalidOperation, "'%s' is not a valid %s", it.Value, it.Name)
		}
		if prop == "page" {
			q.page = n
		} else {
			q.pageSize = n
		}
	default:
		return notFound
	}
	return nil
}

// matches reports whether e is of one of the types and its name matches.
func (q *searchQuery) matches(e *entity) bool {
	if !q.types[e.typ] {
		return false
	}
	if !q.hasName {
		return true
	}
	n := strings.ToLower(e.name)
	switch q.mode {
	case "contains":
		return strings.Contains(n, q.name)
	case "endswith":
		return strings.HasSuffix(n, q.name)
	case "exact":
		return n == q.name
	}
	return strings.HasPrefix(n, q.name)
}
