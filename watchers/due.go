// Package watchers holds the domain of what alertbot watches: events with
// dates of varying precision, the alerts they produce, and the watchers and
// cron runner that produce them. It imports nothing else from alertbot.
package watchers

import (
	"fmt"
	"strconv"
	"strings"
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
	Raw       string    // the form as written, e.g. "2025-07" or "JFY2025"
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

func (e *DueError) Error() string {
	return fmt.Sprintf("bad due date %q: %s (want 2025-07-20, 2025-07-20T10:30, 2025-07-20T10:30-05:00, 2025-07, 2025-Q3, 2025-H2, 2025, JFY2025 or USFY2025)", e.Input, e.Reason)
}

// ParseDue parses every form of DESIGN §4 into a window in loc:
// instants (with an offset, a zone name in brackets or after a space, or
// none, meaning loc), days, months, quarters, halves, years and Japanese or
// U.S. fiscal years.
func ParseDue(s string, loc *time.Location) (Due, error) {
	if loc == nil {
		loc = time.UTC
	}
	raw := strings.TrimSpace(s)
	bad := func(reason string) (Due, error) { return Due{}, &DueError{Input: s, Reason: reason} }
	if raw == "" {
		return bad("empty")
	}
	d := Due{Raw: raw}
	up := strings.ToUpper(raw)
	switch {
	case strings.HasPrefix(up, "JFY") || strings.HasPrefix(up, "USFY"):
		num := strings.TrimPrefix(strings.TrimPrefix(up, "JFY"), "USFY")
		y, err := year(num)
		if err != nil {
			return bad(err.Error())
		}
		d.Precision = FiscalYear
		if strings.HasPrefix(up, "JFY") {
			// Japan's fiscal year N runs April N to March N+1.
			d.Start = time.Date(y, time.April, 1, 0, 0, 0, 0, loc)
		} else {
			// The U.S. federal fiscal year N runs October N-1 to September N.
			d.Start = time.Date(y-1, time.October, 1, 0, 0, 0, 0, loc)
		}
		d.End = d.Start.AddDate(1, 0, 0)
		d.Raw = up
		return d, nil
	case strings.Contains(raw, "T") || strings.Contains(raw, "t"):
		t, err := parseInstant(raw, loc)
		if err != nil {
			return bad(err.Error())
		}
		d.Precision, d.Start, d.End = Instant, t, t
		return d, nil
	}
	parts := strings.Split(raw, "-")
	y, err := year(parts[0])
	if err != nil {
		return bad(err.Error())
	}
	switch len(parts) {
	case 1:
		d.Precision = Year
		d.Start = time.Date(y, time.January, 1, 0, 0, 0, 0, loc)
		d.End = d.Start.AddDate(1, 0, 0)
	case 2:
		p := strings.ToUpper(parts[1])
		switch {
		case len(p) == 2 && p[0] == 'Q' && p[1] >= '1' && p[1] <= '4':
			q := int(p[1] - '1')
			d.Precision = Quarter
			d.Start = time.Date(y, time.Month(1+3*q), 1, 0, 0, 0, 0, loc)
			d.End = d.Start.AddDate(0, 3, 0)
			d.Raw = parts[0] + "-" + p
		case len(p) == 2 && p[0] == 'H' && (p[1] == '1' || p[1] == '2'):
			h := int(p[1] - '1')
			d.Precision = Half
			d.Start = time.Date(y, time.Month(1+6*h), 1, 0, 0, 0, 0, loc)
			d.End = d.Start.AddDate(0, 6, 0)
			d.Raw = parts[0] + "-" + p
		default:
			m, err := twoDigits(parts[1], 1, 12, "month")
			if err != nil {
				return bad(err.Error())
			}
			d.Precision = Month
			d.Start = time.Date(y, time.Month(m), 1, 0, 0, 0, 0, loc)
			d.End = d.Start.AddDate(0, 1, 0)
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
		t := time.Date(y, time.Month(m), day, 0, 0, 0, 0, loc)
		if t.Day() != day {
			return bad(fmt.Sprintf("%s %d has no day %d", time.Month(m), y, day))
		}
		d.Precision = Day
		d.Start = t
		d.End = t.AddDate(0, 0, 1)
	default:
		return bad("too many parts")
	}
	return d, nil
}

func year(s string) (int, error) {
	if len(s) != 4 {
		return 0, fmt.Errorf("year %q must have four digits", s)
	}
	y, err := strconv.Atoi(s)
	if err != nil || y < 1900 || y > 2999 {
		return 0, fmt.Errorf("year %q out of range 1900-2999", s)
	}
	return y, nil
}

func twoDigits(s string, lo, hi int, what string) (int, error) {
	if len(s) != 2 {
		return 0, fmt.Errorf("%s %q must have two digits", what, s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s %q out of range %02d-%02d", what, s, lo, hi)
	}
	return n, nil
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
		name := strings.Trim(s[i:], "[] ")
		zl, err := time.LoadLocation(name)
		if err != nil || name == "" {
			return time.Time{}, fmt.Errorf("unknown time zone %q", name)
		}
		loc, s = zl, s[:i]
		t, err := parseInstant(s, loc)
		if err != nil {
			return t, err
		}
		return t, nil
	}
	s = strings.Replace(s, "t", "T", 1)
	for _, l := range instantLayouts {
		var t time.Time
		var err error
		if l.offset {
			t, err = time.Parse(l.layout, s)
		} else {
			t, err = time.ParseInLocation(l.layout, s, loc)
		}
		if err == nil {
			if !l.offset {
				// Reject wall times that do not exist in loc (spring-forward gaps).
				if t.Hour() != mustAtoi(s[11:13]) {
					return time.Time{}, fmt.Errorf("%s does not exist in %s (daylight-saving gap)", s, loc)
				}
				return t, nil
			}
			return t.In(loc), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date-time (want 2025-02-07T10:30 or 2025-02-07T10:30-05:00)")
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
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
