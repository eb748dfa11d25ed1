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
	var (
		types    = map[string]bool{}
		name     string
		hasName  bool
		mode     = "startswith"
		page     = 0
		pageSize = 0
	)
	for _, it := range items {
		notFound := failf(codeInvalidOperation, "Could not find property '%s' from filter: '%s'", it.Name, it.Raw)
		switch strings.ToLower(it.Name) {
		case "entitytypes":
			if it.Kind != KindAdd {
				return searchResult{}, notFound
			}
			for _, v := range it.Values {
				t, ok := typeNames[strings.ToLower(v)]
				if !ok {
					return searchResult{}, failf(codeInvalidOperation, "Unknown entity type '%s'", v)
				}
				types[t] = true
			}
		case "name":
			if it.Kind != KindSet || it.Func != "" || it.XML {
				return searchResult{}, notFound
			}
			name, hasName = it.Value, true
		case "namesearchmode":
			if it.Kind != KindSet || it.Func != "" {
				return searchResult{}, notFound
			}
			switch m := strings.ToLower(it.Value); m {
			case "startswith", "contains", "endswith", "exact":
				mode = m
			default:
				return searchResult{}, failf(codeInvalidOperation, "'%s' is not a valid NameSearchMode", it.Value)
			}
		case "page", "pagesize":
			if it.Kind != KindSet || it.Func != "" {
				return searchResult{}, notFound
			}
			n, err := strconv.Atoi(it.Value)
			if err != nil || n < 1 {
				return searchResult{}, failf(codeInvalidOperation, "'%s' is not a valid %s", it.Value, it.Name)
			}
			if strings.EqualFold(it.Name, "page") {
				page = n
			} else {
				pageSize = n
			}
		default:
			return searchResult{}, notFound
		}
	}
	if len(types) == 0 {
		return searchResult{}, failf(codeInvalidOperation, "The report needs EntityTypes")
	}
	if pageSize > 0 && page == 0 {
		page = 1
	}
	if page > 0 && pageSize == 0 {
		pageSize = 100
	}
	lname := strings.ToLower(name)
	matches := st.sorted(func(e *entity) bool {
		if !types[e.typ] {
			return false
		}
		if !hasName {
			return true
		}
		n := strings.ToLower(e.name)
		switch mode {
		case "contains":
			return strings.Contains(n, lname)
		case "endswith":
			return strings.HasSuffix(n, lname)
		case "exact":
			return n == lname
		}
		return strings.HasPrefix(n, lname)
	})
	res := searchResult{status: "Ok"}
	if page > 0 {
		from := (page - 1) * pageSize
		if from > len(matches) {
			from = len(matches)
		}
		to := min(from+pageSize+1, len(matches))
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
