package verkada

import (
	"encoding/json"
	"testing"
)

// Whatever Verkada answers, reading it never panics.
func FuzzReadAnswers(f *testing.F) {
	for _, s := range []string{
		`{"user_id":"u","external_id":"v","access_groups":[{"group_id":"g","name":"n"},"g2"],"cards":[{"card_id":"c","type":"HID","facility_code":1,"card_number":"2","active":true}],"start_date":"1772442000","end_date":null}`,
		`{"start_date":1772442000.5,"end_date":"2026-03-02T09:00:00Z"}`,
		`{"event_id":"e","event_type":"door_granted","timestamp":"1772442000250","event_info":{"doorId":"d","accepted":true,"rawCard":"2020190"}}`,
		`{"cards":[{"card_number_hex":"ffffffffffffffffff"}]}`, `[]`, `null`, `{"start_date":"x"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var au accessUserJSON
		if json.Unmarshal([]byte(s), &au) == nil {
			for _, c := range au.Cards {
				cardOf(c)
				_, _ = cardNumber(c)
			}
		}
		if r, err := parseEvent([]byte(s)); err == nil {
			r.ev.doorDecision()
			decodeRawCard(string(r.ev.Info.RawCard))
		}
		_, _ = parseCursor("events", s)
	})
}
