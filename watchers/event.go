package watchers

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Status is where an event stands.
type Status string

// Statuses of DESIGN §4. Reminders are sent only while an event is
// Tentative or Scheduled.
const (
	Tentative Status = "tentative"
	Scheduled Status = "scheduled"
	Happened  Status = "happened"
	Postponed Status = "postponed"
	Cancelled Status = "cancelled"
)

// Statuses lists every valid status.
var Statuses = []Status{Tentative, Scheduled, Happened, Postponed, Cancelled}

// ParseStatus validates a status name.
func ParseStatus(s string) (Status, error) {
	st := Status(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Statuses, st) {
		return st, nil
	}
	return "", fmt.Errorf("unknown status %q (want tentative, scheduled, happened, postponed or cancelled)", s)
}

// Active reports whether reminders are still sent for the status.
func (s Status) Active() bool { return s == Tentative || s == Scheduled }

// DefaultStatus is the status of an event that does not state one.
func DefaultStatus(p Precision) Status {
	if p >= Month {
		return Tentative
	}
	return Scheduled
}

// Lead is a reminder offset before an event, such as 7d or 5bd.
type Lead struct {
	N    int
	Unit byte // 'm', 'h', 'd', 'w', or 'b' for business days (written "bd")
}

// maxBusinessDays bounds a bd lead: about four years of working days,
// more than any reminder needs, and each one is a step of the count.
const maxBusinessDays = 1000

// maxLeadPart bounds each number of a duration, as before units could be
// combined; maxLeadDays keeps the whole within what time.Duration holds.
const (
	maxLeadPart = 100000
	maxLeadDays = 290 * 365
)

// leadUnits are the units of a duration, largest first, in minutes.
var leadUnits = []struct {
	unit    byte
	minutes int64
}{{'w', 7 * 24 * 60}, {'d', 24 * 60}, {'h', 60}, {'m', 1}}

// leadError is the one message for a malformed duration: it says what a
// good one looks like.
func leadError(s string) error {
	return fmt.Errorf("bad duration %q (want a number and a unit m, h, d or w, or several from largest to smallest, e.g. 7d, 12h, 1h30m or 2w3d)", s)
}

// ParseLead parses "90d", "2w", "12h", "30m" or "0d", and combinations
// of units from largest to smallest ("1h30m", "2w3d", "1d12h"). A
// combination becomes one lead in its smallest unit, so it fires exactly
// as its single-unit spelling does: "2w3d" is 17d (at alert_time), "1h30m"
// is 90m. Full-width digits (７ｄ) are read as ASCII.
//
// "5bd" is five business days (DESIGN §10): it stands alone, since a
// business day has no fixed length to add to other units.
func ParseLead(s string) (Lead, error) {
	s = strings.TrimSpace(s)
	if hasNonASCII(s) {
		s = foldWidth(s)
	}
	if n, ok := strings.CutSuffix(s, "bd"); ok {
		return parseBusinessDays(s, n)
	}
	if len(s) < 2 {
		return Lead{}, leadError(s)
	}
	var total int64 // minutes
	var smallest byte
	next := 0 // index in leadUnits that the next unit may take at the earliest
	for rest := s; rest != ""; {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		// strconv.Atoi alone would accept "+7d" and "-0d".
		if i == 0 || i == len(rest) || i > 6 {
			return Lead{}, leadError(s)
		}
		n, _ := strconv.Atoi(rest[:i])
		u := -1
		for j := next; j < len(leadUnits); j++ {
			if leadUnits[j].unit == rest[i] {
				u = j
				break
			}
		}
		if u < 0 || n > maxLeadPart {
			return Lead{}, leadError(s)
		}
		total += int64(n) * leadUnits[u].minutes
		smallest, next, rest = leadUnits[u].unit, u+1, rest[i+1:]
	}
	if total > maxLeadDays*24*60 {
		return Lead{}, fmt.Errorf("bad duration %q: longer than %d years", s, maxLeadDays/365)
	}
	for _, lu := range leadUnits {
		if lu.unit == smallest {
			return Lead{N: int(total / lu.minutes), Unit: smallest}, nil
		}
	}
	return Lead{}, leadError(s)
}

// parseBusinessDays reads the number n of a lead s written "<n>bd".
func parseBusinessDays(s, n string) (Lead, error) {
	if n == "" || len(n) > 6 || strings.Trim(n, "0123456789") != "" {
		return Lead{}, fmt.Errorf("bad duration %q (business days are a number and bd alone, e.g. 5bd; they do not combine with other units)", s)
	}
	v, _ := strconv.Atoi(n)
	if v > maxBusinessDays {
		return Lead{}, fmt.Errorf("bad duration %q: more than %d business days", s, maxBusinessDays)
	}
	return Lead{N: v, Unit: 'b'}, nil
}

// String returns the lead as written, e.g. "7d" or "5bd".
func (l Lead) String() string {
	if l.Unit == 'b' {
		return strconv.Itoa(l.N) + "bd"
	}
	return strconv.Itoa(l.N) + string(l.Unit)
}

// WholeDays reports whether the lead counts calendar days (units d and w),
// which fire at the configured alert time rather than at an exact offset.
func (l Lead) WholeDays() bool { return l.Unit == 'd' || l.Unit == 'w' }

// BusinessDays reports whether the lead counts business days (bd): the
// planner counts them back on the event zone's holiday calendar.
func (l Lead) BusinessDays() bool { return l.Unit == 'b' }

// Days returns the number of calendar days of a d or w lead; for a bd lead,
// its number of business days, which is only a lower bound in calendar days.
func (l Lead) Days() int {
	if l.Unit == 'w' {
		return 7 * l.N
	}
	return l.N
}

// Duration returns the lead as an exact duration (a day is 24h). A bd lead
// has no fixed length; it returns its number of days as a lower bound.
func (l Lead) Duration() time.Duration {
	switch l.Unit {
	case 'm':
		return time.Duration(l.N) * time.Minute
	case 'h':
		return time.Duration(l.N) * time.Hour
	case 'd', 'b':
		return time.Duration(l.N) * 24 * time.Hour
	}
	return time.Duration(l.N) * 7 * 24 * time.Hour
}

// ParseLeads parses a list of leads.
func ParseLeads(ss []string) ([]Lead, error) {
	out := make([]Lead, 0, len(ss))
	for _, s := range ss {
		l, err := ParseLead(s)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// ParseDuration parses a duration in the units of DESIGN §4 (m, h, d, w),
// combined as ParseLead allows ("1h30m"), as used by catch_up, mute and
// "within". Business days are refused: those spans are exact.
func ParseDuration(s string) (time.Duration, error) {
	l, err := ParseLead(s)
	if err != nil {
		return 0, err
	}
	if l.BusinessDays() {
		return 0, fmt.Errorf("bad duration %q: business days (bd) are only for lead times; use m, h, d or w", s)
	}
	return l.Duration(), nil
}

// FormatDuration writes d in the largest whole unit: "7d", "2w", "90m".
func FormatDuration(d time.Duration) string {
	switch {
	case d%(7*24*time.Hour) == 0 && d != 0:
		return strconv.Itoa(int(d/(7*24*time.Hour))) + "w"
	case d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return strconv.Itoa(int(d/time.Minute)) + "m"
}

// IDPattern is the form of event and watcher ids.
var IDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// TagPattern is the form of tags: 1-64 lowercase letters of any script
// (予算, élection), digits, - and _, starting with a letter or digit.
// Letters without case (kanji, kana) count as lowercase; marks are allowed
// after the first character, since some scripts need them.
var TagPattern = regexp.MustCompile(`^[\p{Ll}\p{Lo}\p{Lm}\p{Nd}][\p{Ll}\p{Lo}\p{Lm}\p{Nd}\p{M}_-]{0,63}$`)

// TagRule says what a tag may be, with examples, for error messages.
const TagRule = "a tag is 1-64 lowercase letters (any script), digits, - and _, e.g. budget or 予算"

// ValidID returns an error unless id has the form [a-z0-9-]{1,64}.
func ValidID(what, id string) error {
	if !IDPattern.MatchString(id) {
		return fmt.Errorf("bad %s id %q: use 1-64 lowercase letters, digits and dashes", what, id)
	}
	return nil
}

// Event is a dated event as stored: its top-level fields and its dated
// changes. Its state at time t is the fields plus every change with At ≤ t.
type Event struct {
	ID        string
	Title     string
	Due       string // a form of DESIGN §4, resolved in Zone
	Zone      string // IANA zone; "" means the config's zone
	Status    Status // "" means DefaultStatus of the due's precision
	Tags      []string
	Source    string
	LeadTimes []Lead // nil means the watcher's defaults
	// Match are the event's names in any language, words or "/regex/"
	// (CompileMatch): sources that mention one with a date propose it.
	Match     []string
	Changes   []Change  // in order of At
	Origin    string    // "config", "chat" or "calendar:<watcher id>"
	CreatedAt time.Time // when the event first entered the database
}

// Change is a dated change of an event's due date, status or source.
type Change struct {
	At     time.Time
	Due    string // "" when unchanged
	Status Status // "" when unchanged
	Title  string // "" when unchanged
	Note   string
	Source string // "" when unchanged
	By     string // who made it: "config", "slack:U123", a watcher id
	// Quiet marks a change its source already announced (the calendar
	// watcher's calendar_changed), so date watchers do not alert it again.
	Quiet bool
}

// State is an event as it stands at one moment.
type State struct {
	Title  string
	Due    Due
	Status Status
	Source string
	Note   string // the note of the last change applied, if any
}

// Location returns the event's zone, falling back to def.
func (e *Event) Location(def *time.Location) (*time.Location, error) {
	if e.Zone == "" {
		return def, nil
	}
	loc, err := loadLocation(e.Zone)
	if err != nil || e.Zone == "Local" {
		return nil, fmt.Errorf("event %s: unknown time zone %q", e.ID, e.Zone)
	}
	return loc, nil
}

// StateAt returns the event's state at t: its fields plus every change
// with At ≤ t, applied in order. The status defaults by the precision of
// the due date in force, so a month that becomes a day becomes scheduled
// unless a status is given.
func (e *Event) StateAt(t time.Time, loc *time.Location) (State, error) {
	n := 0
	for n < len(e.Changes) && !e.Changes[n].At.After(t) {
		n++
	}
	return e.stateAfter(n, loc)
}

// StateAfter returns the event's state once its first n changes applied.
func (e *Event) stateAfter(n int, loc *time.Location) (State, error) {
	st := State{Title: e.Title, Source: e.Source}
	dueRaw, status := e.Due, e.Status
	for _, c := range e.Changes[:n] {
		if c.Due != "" {
			dueRaw = c.Due
			// A new date without a status re-defaults the status by its
			// precision (a month that becomes a day is scheduled), unless
			// the event is already over.
			if c.Status == "" && status != Happened && status != Cancelled {
				status = ""
			}
		}
		if c.Status != "" {
			status = c.Status
		}
		if c.Title != "" {
			st.Title = c.Title
		}
		if c.Source != "" {
			st.Source = c.Source
		}
		st.Note = c.Note
	}
	d, err := ParseDue(dueRaw, loc)
	if err != nil {
		return State{}, fmt.Errorf("event %s: %w", e.ID, err)
	}
	st.Due = d
	if status == "" {
		status = DefaultStatus(d.Precision)
	}
	st.Status = status
	return st, nil
}

// StateAfter returns the state once the first n changes are applied
// (n = 0: the top-level fields alone).
func (e *Event) StateAfter(n int, loc *time.Location) (State, error) {
	if n < 0 || n > len(e.Changes) {
		return State{}, fmt.Errorf("event %s: change %d out of range", e.ID, n)
	}
	return e.stateAfter(n, loc)
}

// HasTag reports whether the event carries tag.
func (e *Event) HasTag(tag string) bool { return slices.Contains(e.Tags, tag) }
