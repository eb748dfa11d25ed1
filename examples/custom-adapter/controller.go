package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/acsbridge/acsbridge/acs"
)

// controller is a stand-in for the Acme Doors controller: just enough of
// its API, in memory, for the adapter to run against, plus the oracle the
// conformance kit checks the adapter with.
type controller struct {
	apiKey string
	levels []acs.AccessLevel

	mu     sync.Mutex
	seq    int
	people map[string]string // external ID → person ID
	cards  map[string]*card  // card path → card
}

func newController(apiKey string) *controller {
	return &controller{
		apiKey: apiKey,
		levels: []acs.AccessLevel{{ID: "lobby", Name: "Lobby"}, {ID: "lab", Name: "Lab"}},
		people: map[string]string{},
		cards:  map[string]*card{},
	}
}

func (c *controller) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Api-Key") != c.apiKey {
		http.Error(w, "bad API key", http.StatusUnauthorized)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /levels", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, c.levels) })
	mux.HandleFunc("PUT /people/{ext}", func(w http.ResponseWriter, r *http.Request) {
		ext := r.PathValue("ext")
		id, ok := c.people[ext]
		if !ok {
			c.seq++
			id = "p" + strconv.Itoa(c.seq)
			c.people[ext] = id
		}
		writeJSON(w, map[string]any{"id": id, "created": !ok})
	})
	mux.HandleFunc("DELETE /people/{ext}", func(w http.ResponseWriter, r *http.Request) {
		ext := r.PathValue("ext")
		if _, ok := c.people[ext]; !ok {
			http.Error(w, "no such person", http.StatusNotFound)
			return
		}
		delete(c.people, ext)
		for k, cd := range c.cards {
			if cd.Holder == ext {
				delete(c.cards, k)
			}
		}
	})
	mux.HandleFunc("PUT /cards/{format}/{fc}/{cn}", func(w http.ResponseWriter, r *http.Request) {
		var in card
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, "bad JSON", http.StatusBadRequest)
			return
		}
		key := r.URL.Path
		cur, exists := c.cards[key]
		if !in.Active { // deactivation
			if !exists {
				http.Error(w, "no such card", http.StatusNotFound)
				return
			}
			if cur.Holder == in.Holder {
				cur.Active = false
			}
			writeJSON(w, cur)
			return
		}
		if exists && cur.Active && cur.Holder != in.Holder {
			http.Error(w, "card is active for another person", http.StatusConflict)
			return
		}
		for _, l := range in.Levels {
			if !slices.ContainsFunc(c.levels, func(x acs.AccessLevel) bool { return x.ID == l }) {
				http.Error(w, "no such level", http.StatusNotFound)
				return
			}
		}
		created := !exists || cur.Holder != in.Holder
		if created {
			c.seq++
			in.ID = "c" + strconv.Itoa(c.seq)
		} else {
			in.ID = cur.ID
		}
		stored := in
		c.cards[key] = &stored
		in.Created = created
		writeJSON(w, in)
	})
	mux.ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// opens is the oracle: does the card with this ID open the level at t?
func (c *controller) opens(id, level string, t time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cd := range c.cards {
		if cd.ID == id {
			_, holderExists := c.people[cd.Holder]
			return holderExists && cd.Active && !t.Before(cd.From) && t.Before(cd.Until) && slices.Contains(cd.Levels, level)
		}
	}
	return false
}

func (c *controller) census() (people, cards int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.people), len(c.cards)
}
