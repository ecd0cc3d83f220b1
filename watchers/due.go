// Package watchers holds the domain of what alertbot watches: events with
// dates of varying precision, the alerts they produce, and the watchers and
// cron runner that produce them. It imports nothing else from alertbot.
package watchers

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Precision says how exactly a due date is known.
type Precision int

// Precisions from finest to coarsest. Month and coarser are "tentative"
// windows: the exact day is not yet set.
const (
	Instant Precision = iota
	Day
	Month
	Quarter
	Half
	Year
	FiscalYear
)

var precisionNames = [...]string{"instant", "day", "month", "quarter", "half", "year", "fiscal year"}

// String returns the precision's name, e.g. "month".
func (p Precision) String() string {
	if p < 0 || int(p) >= len(precisionNames) {
		return "unknown"
	}
	return precisionNames[p]
}

// Due is a resolved due date: a window [Start, End) in the event's zone.
// For an instant, Start equals End.
type Due struct {
	Raw       string    // the canonical form, e.g. "2025-07" or "JFY2025" (令和9年度 reads as "JFY2027")
	Precision Precision // how exactly the date is known
	Start     time.Time // first instant of the window, in the event's zone
	End       time.Time // first instant after the window (== Start for an instant)
}

// IsZero reports whether d is the zero Due.
func (d Due) IsZero() bool { return d.Raw == "" }

// Coarse reports whether the window is a month or wider, i.e. tentative.
func (d Due) Coarse() bool { return d.Precision >= Month }

// String returns the form as written.
func (d Due) String() string { return d.Raw }

// DueError is a malformed due date, with the form that was expected.
type DueError struct {
	Input  string
	Reason string
}

// Error returns the reason with the forms that are accepted.
func (e *DueError) Error() string {
	// The input is cut: errors echo it to chat, where a pasted page must
	// not come back whole.
	in, _ := Truncate(e.Input, 60)
	return fmt.Sprintf("bad due date %q: %s (want 2025-07-20, 2025-07-20T10:30, 2025-07-20T10:30-05:00, 2025-07, 2025-Q3, 2025-H2, 2025, JFY2025, USFY2025, or 2027年3月31日, 令和9年3月, 令和9年度)", in, e.Reason)
}

// ParseDue parses every form of DESIGN §4 into a window in loc:
// instants (with an offset, a zone name in brackets or after a space, or
// none, meaning loc), days, months, quarters, halves, years and Japanese or
// U.S. fiscal years; and the Japanese forms of §9 (2027年3月31日,
// 令和9年3月, 令和9年度, 元年, full-width and kanji numerals), whose Raw is
// their canonical form.
func ParseDue(s string, loc *time.Location) (Due, error) {
	if loc == nil {
		loc = time.UTC
	}
	raw := strings.TrimSpace(s)
	if d, ok := parseCommon(raw, loc); ok {
		return d, nil
	}
	return parseDue(s, raw, loc)
}

// parseCommon parses the common valid forms (day, month, and instants
// without offset) by position, as a tick over many events needs; it
// reports false for anything else, including invalid values, which
// parseDue then explains.
func parseCommon(raw string, loc *time.Location) (Due, bool) {
	n := len(raw)
	if n != 7 && n != 10 && n != 16 && n != 19 {
		return Due{}, false
	}
	num := func(i, w int) int {
		v := 0
		for _, c := range []byte(raw[i : i+w]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, m := num(0, 4), num(5, 2)
	if raw[4] != '-' || y < 1900 || y > 2999 || m < 1 || m > 12 {
		return Due{}, false
	}
	if n == 7 {
		start := Date(y, time.Month(m), 1, 0, 0, 0, 0, loc)
		return Due{Raw: raw, Precision: Month, Start: start, End: Date(y, time.Month(m+1), 1, 0, 0, 0, 0, loc)}, true
	}
	day := num(8, 2)
	if raw[7] != '-' || day < 1 || day > daysIn(time.Month(m), y) {
		return Due{}, false
	}
	if n == 10 {
		start := Date(y, time.Month(m), day, 0, 0, 0, 0, loc)
		return Due{Raw: raw, Precision: Day, Start: start, End: Date(y, time.Month(m), day+1, 0, 0, 0, 0, loc)}, true
	}
	hh, mm, ss := num(11, 2), num(14, 2), 0
	if n == 19 {
		if raw[16] != ':' {
			return Due{}, false
		}
		ss = num(17, 2)
	}
	if raw[10] != 'T' || raw[13] != ':' || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59 {
		return Due{}, false
	}
	t := Date(y, time.Month(m), day, hh, mm, ss, 0, loc)
	return Due{Raw: raw, Precision: Instant, Start: t, End: t}, true
}

func daysIn(m time.Month, y int) int {
	if m == time.February {
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	}
	if m == time.April || m == time.June || m == time.September || m == time.November {
		return 30
	}
	return 31
}

// maxDueLen bounds what parseDue reads: the longest form, an instant with
// nanoseconds and a long zone name, is under 80 bytes, and the reasons
// quote parts of the input, which must stay short in chat.
const maxDueLen = 120

// parseDue is ParseDue for every form, with the reasons for rejecting one.
func parseDue(s, raw string, loc *time.Location) (Due, error) {
	bad := func(reason string) (Due, error) { return Due{}, &DueError{Input: s, Reason: reason} }
	if raw == "" {
		return bad("empty")
	}
	if len(raw) > maxDueLen {
		return bad(fmt.Sprintf("%d bytes is too long for a date", len(raw)))
	}
	if hasNonASCII(raw) {
		return parseJapanese(s, raw, loc)
	}
	d := Due{Raw: raw}
	up := raw
	if c := raw[0]; c == 'J' || c == 'j' || c == 'U' || c == 'u' {
		up = strings.ToUpper(raw)
	}
	switch {
	case strings.HasPrefix(up, "JFY") || strings.HasPrefix(up, "USFY"):
		num, japan := strings.CutPrefix(up, "JFY")
		if !japan {
			num = strings.TrimPrefix(up, "USFY")
		}
		y, err := year(num)
		if err != nil {
			return bad(err.Error())
		}
		d.Precision = FiscalYear
		if japan {
			// Japan's fiscal year N runs April N to March N+1.
			d.Start, d.End = Date(y, time.April, 1, 0, 0, 0, 0, loc), Date(y+1, time.April, 1, 0, 0, 0, 0, loc)
		} else {
			// The U.S. federal fiscal year N runs October N-1 to September N.
			d.Start, d.End = Date(y-1, time.October, 1, 0, 0, 0, 0, loc), Date(y, time.October, 1, 0, 0, 0, 0, loc)
		}
		d.Raw = up
		return d, nil
	case strings.ContainsAny(raw, "Tt"):
		t, err := parseInstant(raw, loc)
		if err != nil {
			return bad(err.Error())
		}
		d.Precision, d.Start, d.End = Instant, t, t
		return d, nil
	}
	// Split on "-" into at most three parts without allocating: a tick
	// parses every due event's date.
	var buf [3]string
	n := 0
	for rest, more := raw, true; more; n++ {
		if n == len(buf) {
			return bad("too many parts")
		}
		buf[n], rest, more = strings.Cut(rest, "-")
	}
	parts := buf[:n]
	y, err := year(parts[0])
	if err != nil {
		return bad(err.Error())
	}
	switch len(parts) {
	case 1:
		d.Precision = Year
		d.Start, d.End = Date(y, time.January, 1, 0, 0, 0, 0, loc), Date(y+1, time.January, 1, 0, 0, 0, 0, loc)
	case 2:
		p := parts[1]
		if p != "" && (p[0] == 'q' || p[0] == 'h') {
			p = strings.ToUpper(p)
		}
		switch {
		case len(p) == 2 && p[0] == 'Q' && p[1] >= '1' && p[1] <= '4':
			q := int(p[1] - '1')
			d.Precision = Quarter
			d.Start, d.End = Date(y, time.Month(1+3*q), 1, 0, 0, 0, 0, loc), Date(y, time.Month(4+3*q), 1, 0, 0, 0, 0, loc)
			d.Raw = parts[0] + "-" + p
		case len(p) == 2 && p[0] == 'H' && (p[1] == '1' || p[1] == '2'):
			h := int(p[1] - '1')
			d.Precision = Half
			d.Start, d.End = Date(y, time.Month(1+6*h), 1, 0, 0, 0, 0, loc), Date(y, time.Month(7+6*h), 1, 0, 0, 0, 0, loc)
			d.Raw = parts[0] + "-" + p
		case p != "" && p[0] == 'Q':
			return bad(fmt.Sprintf("quarter %q must be Q1, Q2, Q3 or Q4", parts[1]))
		case p != "" && p[0] == 'H':
			return bad(fmt.Sprintf("half %q must be H1 or H2", parts[1]))
		default:
			m, err := twoDigits(parts[1], 1, 12, "month")
			if err != nil {
				return bad(err.Error())
			}
			d.Precision = Month
			d.Start, d.End = Date(y, time.Month(m), 1, 0, 0, 0, 0, loc), Date(y, time.Month(m+1), 1, 0, 0, 0, 0, loc)
		}
	case 3:
		m, err := twoDigits(parts[1], 1, 12, "month")
		if err != nil {
			return bad(err.Error())
		}
		day, err := twoDigits(parts[2], 1, 31, "day")
		if err != nil {
			return bad(err.Error())
		}
		if day > daysIn(time.Month(m), y) {
			return bad(fmt.Sprintf("%s %d has no day %d", time.Month(m), y, day))
		}
		d.Precision = Day
		d.Start, d.End = Date(y, time.Month(m), day, 0, 0, 0, 0, loc), Date(y, time.Month(m), day+1, 0, 0, 0, 0, loc)
	}
	return d, nil
}

func year(s string) (int, error) {
	if len(s) != 4 || !allDigits(s) {
		return 0, fmt.Errorf("year %q must have four digits", s)
	}
	y := digits(s)
	if y < 1900 || y > 2999 {
		return 0, fmt.Errorf("year %q out of range 1900-2999", s)
	}
	return y, nil
}

func twoDigits(s string, lo, hi int, what string) (int, error) {
	// Only plain digits: strconv.Atoi would take "+7" as 7.
	if len(s) != 2 || !allDigits(s) {
		return 0, fmt.Errorf("%s %q must have two digits", what, s)
	}
	n := digits(s)
	if n < lo || n > hi {
		return 0, fmt.Errorf("%s %q out of range %02d-%02d", what, s, lo, hi)
	}
	return n, nil
}

// digits is the value of a short string of ASCII digits.
func digits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// zoneCache keeps loaded zones: time.LoadLocation reads and parses the
// zone file on every call, which a tick over many events cannot afford.
var zoneCache sync.Map // name → *time.Location

// loadLocation is time.LoadLocation with a cache.
func loadLocation(name string) (*time.Location, error) {
	if v, ok := zoneCache.Load(name); ok {
		return v.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zoneCache.Store(name, loc)
	return loc, nil
}

// instantLayouts are tried in order; those without an offset are local to
// the event's zone.
var instantLayouts = []struct {
	layout string
	offset bool
}{
	{time.RFC3339Nano, true},
	{"2006-01-02T15:04Z07:00", true},
	{"2006-01-02T15:04:05", false},
	{"2006-01-02T15:04", false},
}

func parseInstant(s string, loc *time.Location) (time.Time, error) {
	// A zone name may follow in brackets (RFC 9557) or after a space.
	if i := strings.IndexAny(s, "[ "); i > 0 {
		name := s[i+1:]
		if s[i] == '[' {
			if !strings.HasSuffix(name, "]") {
				return time.Time{}, fmt.Errorf("zone name %q lacks its closing bracket", name)
			}
			name = strings.TrimSuffix(name, "]")
		}
		name = strings.TrimSpace(name)
		if name == "" || name == "Local" {
			return time.Time{}, fmt.Errorf("unknown time zone %q", name)
		}
		zl, err := loadLocation(name)
		if err != nil {
			return time.Time{}, fmt.Errorf("unknown time zone %q", name)
		}
		return parseInstant(s[:i], zl)
	}
	s = strings.Replace(s, "t", "T", 1)
	// Try only the layouts that can match, so the common forms parse
	// without building errors for the others.
	hasOffset := len(s) > 16 && strings.ContainsAny(s[16:], "Zz+-")
	for _, l := range instantLayouts {
		if l.offset != hasOffset {
			continue
		}
		if l.offset {
			if t, err := time.Parse(l.layout, s); err == nil {
				return t.In(loc), nil
			}
			continue
		}
		w, err := time.Parse(l.layout, s)
		if err != nil {
			continue
		}
		// The wall time becomes an instant by the one DST rule (Date).
		return Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc), nil
	}
	return time.Time{}, fmt.Errorf("not a date-time (want 2025-02-07T10:30 or 2025-02-07T10:30-05:00)")
}

// Describe returns the window for people: "20 July 2025", "February 2025",
// "Q3 2025 (July–September)", "JFY2025 (April 2025 – March 2026)", or for
// an instant "7 February 2025 10:30 JST".
func (d Due) Describe() string {
	s := d.Start
	switch d.Precision {
	case Instant:
		return s.Format("2 January 2006 15:04 MST")
	case Day:
		return s.Format("Mon 2 January 2006")
	case Month:
		return s.Format("January 2006")
	case Quarter, Half:
		last := d.End.AddDate(0, -1, 0)
		return fmt.Sprintf("%s (%s–%s %d)", d.Raw[5:]+" "+d.Raw[:4], s.Month(), last.Month(), last.Year())
	case Year:
		return s.Format("2006")
	case FiscalYear:
		last := d.End.AddDate(0, -1, 0)
		return fmt.Sprintf("%s (%s %d – %s %d)", d.Raw, s.Month(), s.Year(), last.Month(), last.Year())
	}
	return d.Raw
}
