package calendar

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/teambition/rrule-go"

	"github.com/policyteam/alertbot/watchers"
)

// Limits that keep a hostile or broken calendar from costing unbounded
// time or memory. With rules of at most one instance a day (parseRule),
// they bound a check to a few hundred thousand instances walked, whatever
// the calendar holds.
const (
	maxDepth       = 16     // nesting of BEGIN/END blocks
	maxIterations  = 50000  // recurrence instances walked per rule, before and in the window
	maxWalked      = 200000 // recurrence instances walked over the whole calendar
	maxPerEvent    = 1000   // instances of one event kept in the window, at least (see perSeries)
	maxOccurrences = 20000  // instances kept over the whole calendar
	maxInterval    = 1000   // RRULE INTERVAL; larger values overflow rrule-go's day arithmetic
	maxTitleRunes  = 300    // SUMMARY is cut to this length
	// VTIMEZONE transitions kept per observance and over the calendar.
	maxVTZTransition      = 2000
	maxVTZTransitionTotal = 20000
	maxTZOffset           = 18 * 3600
)

// perSeries is how many instances of one event are kept in a window of
// the given length: maxPerEvent, or more for a long horizon, so that a
// daily series (at most one instance a day, as parseRule allows) is never
// cut short within the horizon.
func perSeries(window time.Duration) int {
	return max(maxPerEvent, int(window/(24*time.Hour))+2)
}

// props returns the properties of a component named name, ignoring case
// (RFC 5545 names are case-insensitive; golang-ical keeps them as written).
func props(cb *ics.ComponentBase, name string) []*ics.IANAProperty {
	var out []*ics.IANAProperty
	for i := range cb.Properties {
		if strings.EqualFold(cb.Properties[i].IANAToken, name) {
			out = append(out, &cb.Properties[i])
		}
	}
	return out
}

// prop returns the first property named name, or nil.
func prop(cb *ics.ComponentBase, name string) *ics.IANAProperty {
	for i := range cb.Properties {
		if strings.EqualFold(cb.Properties[i].IANAToken, name) {
			return &cb.Properties[i]
		}
	}
	return nil
}

// propValue returns the trimmed value of the first property named name.
func propValue(cb *ics.ComponentBase, name string) string {
	if p := prop(cb, name); p != nil {
		return strings.TrimSpace(p.Value)
	}
	return ""
}

// param returns the first value of a property parameter, ignoring case.
func param(p *ics.IANAProperty, name string) string {
	for k, v := range p.ICalParameters {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
	}
	return ""
}

// icalTime is a DATE or DATE-TIME value as written: wall-clock fields
// carried in a UTC time.Time, and how to read them.
type icalTime struct {
	wall time.Time
	date bool   // VALUE=DATE, or an 8-digit value
	utc  bool   // ends in Z: wall is already UTC
	tzid string // the TZID parameter, "" when absent or blank
}

// parseTimeValue parses one DATE or DATE-TIME value: 20250720,
// 20250720T100000 or 20250720T100000Z.
func parseTimeValue(v string) (icalTime, error) {
	v = strings.ToUpper(strings.TrimSpace(v))
	bad := func() (icalTime, error) {
		shown, _ := watchers.Truncate(v, 40)
		return icalTime{}, fmt.Errorf("bad date-time %q (want 20250720, 20250720T100000 or 20250720T100000Z)", shown)
	}
	if len(v) < 8 || !digits(v[:8]) {
		return bad()
	}
	y, _ := strconv.Atoi(v[0:4])
	mo, _ := strconv.Atoi(v[4:6])
	d, _ := strconv.Atoi(v[6:8])
	if y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return bad()
	}
	var t icalTime
	if len(v) == 8 {
		t.date = true
		t.wall = time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
	} else {
		rest := v[8:]
		if rest[0] != 'T' {
			return bad()
		}
		rest = rest[1:]
		if strings.HasSuffix(rest, "Z") {
			t.utc = true
			rest = rest[:len(rest)-1]
		}
		if len(rest) != 6 || !digits(rest) {
			return bad()
		}
		h, _ := strconv.Atoi(rest[0:2])
		mi, _ := strconv.Atoi(rest[2:4])
		s, _ := strconv.Atoi(rest[4:6])
		if h > 23 || mi > 59 || s > 60 {
			return bad()
		}
		if s == 60 { // a leap second reads as the next minute's start
			s = 59
		}
		t.wall = time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC)
	}
	if t.wall.Day() != d {
		return icalTime{}, fmt.Errorf("bad date %q: %s %d has no day %d", v[:8], time.Month(mo), y, d)
	}
	return t, nil
}

// parseTimeProp parses a date-time property with its TZID and VALUE
// parameters. A date-only value is all-day even without VALUE=DATE, as
// Google Calendar writes it.
func parseTimeProp(p *ics.IANAProperty) (icalTime, error) {
	v := p.Value
	if strings.EqualFold(param(p, "VALUE"), "PERIOD") {
		v, _, _ = strings.Cut(v, "/")
	}
	t, err := parseTimeValue(v)
	if err != nil {
		return t, err
	}
	if !t.utc {
		t.tzid = param(p, "TZID")
	}
	return t, nil
}

// parseTimeList parses a property holding a comma-separated list of
// values (EXDATE, RDATE), each with the property's parameters.
func parseTimeList(p *ics.IANAProperty) ([]icalTime, error) {
	period := strings.EqualFold(param(p, "VALUE"), "PERIOD")
	tzid := param(p, "TZID")
	var out []icalTime
	for _, v := range strings.Split(p.Value, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if period {
			v, _, _ = strings.Cut(v, "/")
		}
		t, err := parseTimeValue(v)
		if err != nil {
			return nil, err
		}
		if !t.utc {
			t.tzid = tzid
		}
		out = append(out, t)
	}
	return out, nil
}

// parseDuration parses an RFC 5545 duration: [+-]P[nW] or
// [+-]P[nD][T[nH][nM][nS]].
func parseDuration(s string) (time.Duration, error) {
	orig := s
	bad := func() (time.Duration, error) {
		shown, _ := watchers.Truncate(orig, 40)
		return 0, fmt.Errorf("bad duration %q (want e.g. PT1H, P1D or P1W)", shown)
	}
	s = strings.ToUpper(strings.TrimSpace(s))
	neg := false
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		neg = s[0] == '-'
		s = s[1:]
	}
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return bad()
	}
	s = s[1:]
	var d time.Duration
	inTime := false
	seen := false
	for len(s) > 0 {
		if s[0] == 'T' {
			if inTime {
				return bad()
			}
			inTime = true
			s = s[1:]
			continue
		}
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i > 7 || i == len(s) {
			return bad()
		}
		n, _ := strconv.Atoi(s[:i])
		unit := s[i]
		s = s[i+1:]
		var u time.Duration
		switch {
		case unit == 'W' && !inTime:
			u = 7 * 24 * time.Hour
		case unit == 'D' && !inTime:
			u = 24 * time.Hour
		case unit == 'H' && inTime:
			u = time.Hour
		case unit == 'M' && inTime:
			u = time.Minute
		case unit == 'S' && inTime:
			u = time.Second
		default:
			return bad()
		}
		d += time.Duration(n) * u
		seen = true
	}
	if !seen || strings.HasSuffix(orig, "T") || strings.HasSuffix(orig, "t") {
		return bad()
	}
	if neg {
		d = -d
	}
	return d, nil
}

// parseOffset parses a UTC offset such as +0900, -0500 or +091859 into
// seconds east of UTC.
func parseOffset(s string) (int, error) {
	s = strings.TrimSpace(s)
	bad := func() (int, error) {
		shown, _ := watchers.Truncate(s, 20)
		return 0, fmt.Errorf("bad UTC offset %q (want e.g. +0900)", shown)
	}
	if len(s) != 5 && len(s) != 7 || (s[0] != '+' && s[0] != '-') || !digits(s[1:]) {
		return bad()
	}
	h, _ := strconv.Atoi(s[1:3])
	m, _ := strconv.Atoi(s[3:5])
	sec := 0
	if len(s) == 7 {
		sec, _ = strconv.Atoi(s[5:7])
	}
	if m > 59 || sec > 59 {
		return bad()
	}
	off := h*3600 + m*60 + sec
	if off > maxTZOffset {
		return bad()
	}
	if s[0] == '-' {
		off = -off
	}
	return off, nil
}

// errSubDaily refuses HOURLY, MINUTELY and SECONDLY rules: rrule-go can
// loop forever on some of them (an INTERVAL that never meets BYHOUR), and
// a dated-events bot has no use for them.
var errSubDaily = errors.New("recurrence more frequent than daily is not supported")

// timesPerDay is how many instances a rule makes on each day it matches:
// the product of its BYHOUR, BYMINUTE and BYSECOND lists (distinct
// values). Above 1 the rule is finer than daily whatever its FREQ, and
// rrule-go builds every instance of a whole period at once: one 706-byte
// rule with 24 × 60 × 60 times a day cost 3.5 GB and a minute.
func timesPerDay(o *rrule.ROption) int {
	n := 1
	for _, l := range [][]int{o.Byhour, o.Byminute, o.Bysecond} {
		if len(l) > 0 {
			n *= len(distinct(l))
		}
	}
	return n
}

func distinct(l []int) []int {
	out := make([]int, 0, len(l))
	for _, v := range l {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// parseRule parses and checks an RRULE value for expansion in wall-clock
// time from dtstart (wall fields in UTC). untilWall converts a UTC UNTIL
// to the series' wall clock.
func parseRule(value string, dtstart time.Time, allDay bool, untilWall func(time.Time) time.Time) (*rrule.ROption, error) {
	var parts []string
	var until icalTime
	hasUntil := false
	for _, part := range strings.Split(strings.TrimSpace(value), ";") {
		part = strings.TrimSpace(part)
		if part == "" { // libical accepts a trailing ";", rrule-go does not
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			shown, _ := watchers.Truncate(part, 40)
			return nil, fmt.Errorf("bad RRULE part %q", shown)
		}
		k = strings.ToUpper(strings.TrimSpace(k))
		v = strings.ToUpper(strings.TrimSpace(v))
		switch k {
		case "UNTIL":
			t, err := parseTimeValue(v)
			if err != nil {
				return nil, fmt.Errorf("RRULE UNTIL: %w", err)
			}
			until, hasUntil = t, true
			continue
		case "FREQ":
			switch v {
			case "YEARLY", "MONTHLY", "WEEKLY", "DAILY":
			case "HOURLY", "MINUTELY", "SECONDLY":
				return nil, errSubDaily
			default:
				shown, _ := watchers.Truncate(v, 20)
				return nil, fmt.Errorf("bad RRULE FREQ %q", shown)
			}
		case "INTERVAL":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxInterval {
				shown, _ := watchers.Truncate(v, 20)
				return nil, fmt.Errorf("bad RRULE INTERVAL %q (want 1-%d)", shown, maxInterval)
			}
		case "BYEASTER", "DTSTART":
			return nil, fmt.Errorf("RRULE %s is not supported", k)
		}
		parts = append(parts, k+"="+v)
	}
	opt, err := rrule.StrToROption(strings.Join(parts, ";"))
	if err != nil {
		shown, _ := watchers.Truncate(value, 60)
		return nil, fmt.Errorf("bad RRULE %q: %w", shown, err)
	}
	opt.Dtstart = dtstart
	if hasUntil {
		u := until.wall
		switch {
		case until.date:
			// A date UNTIL includes that whole day.
			u = u.Add(24*time.Hour - time.Second)
		case until.utc && !allDay:
			u = untilWall(u)
		}
		opt.Until = u
	}
	if n := timesPerDay(opt); n > 1 {
		return nil, fmt.Errorf("%w (BYHOUR × BYMINUTE × BYSECOND make %d instances a day)", errSubDaily, n)
	}
	if !possible(opt) {
		shown, _ := watchers.Truncate(value, 60)
		return nil, fmt.Errorf("RRULE %q never occurs", shown)
	}
	if _, err := rrule.NewRRule(*opt); err != nil {
		shown, _ := watchers.Truncate(value, 60)
		return nil, fmt.Errorf("bad RRULE %q: %w", shown, err)
	}
	return opt, nil
}

// fastForward moves an open-ended rule's DTSTART forward by whole periods
// to at least one period before target, so that expansion does not walk
// every instance since a start decades ago (a birthday calendar from
// 2004 costs 20 years of yearly day sets per event). The values rrule-go
// would derive from DTSTART are written out first, so the instances from
// the new start on are the same. DTSTART itself is added by the caller.
// Rules with COUNT depend on their true start and are left alone.
func fastForward(o *rrule.ROption, target time.Time) {
	dt := o.Dtstart
	if o.Count != 0 || !dt.Before(target) {
		return
	}
	n := o.Interval
	if n < 1 {
		n = 1
	}
	noDays := len(o.Byweekno) == 0 && len(o.Byyearday) == 0 && len(o.Bymonthday) == 0 &&
		len(o.Byweekday) == 0 && len(o.Byeaster) == 0
	var start time.Time
	switch o.Freq {
	case rrule.YEARLY:
		k := (target.Year() - 1 - dt.Year()) / n
		if k <= 0 {
			return
		}
		if noDays {
			if len(o.Bymonth) == 0 {
				o.Bymonth = []int{int(dt.Month())}
			}
			o.Bymonthday = []int{dt.Day()}
		}
		start = time.Date(dt.Year()+k*n, time.January, 1, 0, 0, 0, 0, time.UTC)
	case rrule.MONTHLY:
		months := (target.Year()*12 + int(target.Month()) - 1) - (dt.Year()*12 + int(dt.Month()) - 1) - 1
		k := months / n
		if k <= 0 {
			return
		}
		if noDays {
			o.Bymonthday = []int{dt.Day()}
		}
		start = time.Date(dt.Year(), dt.Month()+time.Month(k*n), 1, 0, 0, 0, 0, time.UTC)
	case rrule.WEEKLY:
		k := (int(target.Sub(dt)/(7*24*time.Hour)) - 1) / n
		if k <= 0 {
			return
		}
		if noDays {
			o.Byweekday = []rrule.Weekday{weekdays[dt.Weekday()]}
		}
		start = dt.AddDate(0, 0, 7*k*n)
	case rrule.DAILY:
		k := (int(target.Sub(dt)/(24*time.Hour)) - 1) / n
		if k <= 0 {
			return
		}
		start = dt.AddDate(0, 0, k*n)
	default:
		return
	}
	if len(o.Byhour) == 0 {
		o.Byhour = []int{dt.Hour()}
	}
	if len(o.Byminute) == 0 {
		o.Byminute = []int{dt.Minute()}
	}
	if len(o.Bysecond) == 0 {
		o.Bysecond = []int{dt.Second()}
	}
	o.Dtstart = start
}

var weekdays = [7]rrule.Weekday{rrule.SU, rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA}

// possible reports whether BYMONTH and BYMONTHDAY leave any date. A rule
// that matches no date makes rrule-go walk day by day to the year 9999.
func possible(o *rrule.ROption) bool {
	if len(o.Bymonthday) == 0 {
		return true
	}
	months := o.Bymonth
	if len(months) == 0 {
		return true // some month has 31 days
	}
	maxDays := [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	for _, m := range months {
		if m < 1 || m > 12 {
			continue
		}
		for _, d := range o.Bymonthday {
			if d < 0 {
				d = -d
			}
			if d >= 1 && d <= maxDays[m] {
				return true
			}
		}
	}
	return false
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
