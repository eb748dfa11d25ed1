package netbox

import (
	"strings"
	"time"
)

// wireMinute is how dates are written: the documented input form, in the
// controller's local time.
const wireMinute = "2006-01-02 15:04"

// readLayouts are the forms dates are read in, without a zone (the
// controller's local time): the documented answer form first.
var readLayouts = []string{
	"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02",
	"01/02/2006 15:04:05", "01/02/2006 15:04", "01/02/2006",
}

// zonedLayouts are forms that carry their own offset (what the tzoffset
// date format may add); the offset is then honoured.
var zonedLayouts = []string{
	time.RFC3339, "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05 Z07:00", "2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05-0700", "2006-01-02 15:04 -0700",
}

// wireTime writes t as the controller's local wall-clock minute.
func (p *Provider) wireTime(t time.Time) string {
	return t.In(p.loc).Format(wireMinute)
}

// parseTime reads a date the controller wrote; empty is no date.
func (p *Provider) parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	for _, l := range zonedLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	for _, l := range readLayouts {
		if t, err := time.ParseInLocation(l, s, p.loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// wallMinute is a stored date as the local wall-clock minute it names, the
// form compared with what a grant asks for: comparing wall clocks rather
// than instants keeps a window in the repeated hour of a DST change
// stable.
func (p *Provider) wallMinute(s string) string {
	t, ok := p.parseTime(s)
	if !ok {
		return ""
	}
	return p.wireTime(t)
}

// window rounds a grant's window to whole minutes, the controller's
// resolution, so that the badge never works outside the visit: the end
// moves down to the last minute, and a start still to come (after now) up
// to the next. A start already passed moves down to its minute: the extra
// seconds lie before now, when the credential is being written, so they
// grant nothing, and rounding up would leave a visitor who just signed in
// at the door for up to a minute.
func window(from, until, now time.Time) (time.Time, time.Time) {
	f := from.Truncate(time.Minute)
	if f.Before(from) && from.After(now) {
		f = f.Add(time.Minute)
	}
	return f, until.Truncate(time.Minute)
}
