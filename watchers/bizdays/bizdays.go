// Package bizdays says which local dates are business days in an event's
// zone, for lead times counted in business days ("5bd", DESIGN §10).
//
// A zone's country picks the holidays: Asia/Tokyo (and its alias Japan)
// uses Japan's national holidays, America/* and US/* the U.S. federal
// holidays; any other zone counts only weekends. The holiday dates come
// from github.com/rickar/cal/v2; the rules that turn them into days off
// are applied here (see japanDays and usDays).
package bizdays

import (
	"strings"
	"sync"
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/jp"
	"github.com/rickar/cal/v2/us"
)

// Country names a holiday calendar.
type Country string

// Countries with holiday calendars. None means weekends only.
const (
	None  Country = ""
	Japan Country = "JP"
	US    Country = "US"
)

// CountryOf returns the holiday calendar of a zone. America/* maps to the
// U.S. federal holidays as DESIGN §10 says, even for zones outside the
// U.S.: the team follows Washington, not Ottawa or Mexico City.
func CountryOf(loc *time.Location) Country {
	if loc == nil {
		return None
	}
	switch name := loc.String(); {
	case name == "Asia/Tokyo" || name == "Japan":
		return Japan
	case strings.HasPrefix(name, "America/") || strings.HasPrefix(name, "US/"):
		return US
	}
	return None
}

// Calendar knows the days off of one country.
type Calendar struct {
	Country Country
}

// For returns the calendar of a zone's country.
func For(loc *time.Location) Calendar { return Calendar{Country: CountryOf(loc)} }

// DayOff reports whether the local date of t (read in t's location) is not
// a business day, and why, e.g. "a Saturday" or "a public holiday in
// Japan (Children's Day)".
func (c Calendar) DayOff(t time.Time) (why string, off bool) {
	y, m, d := t.Date()
	if name, ok := c.holiday(y, m, d); ok {
		return "a " + c.kind() + " (" + name + ")", true
	}
	if wd := civil(y, m, d).Weekday(); wd == time.Saturday || wd == time.Sunday {
		return "a " + wd.String(), true
	}
	return "", false
}

// IsBusinessDay reports whether the date is neither a weekend day nor a
// holiday of the calendar's country.
func (c Calendar) IsBusinessDay(y int, m time.Month, d int) bool {
	if wd := civil(y, m, d).Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	_, hol := c.holiday(y, m, d)
	return !hol
}

// Before returns the date n business days before the given date: the n-th
// business day counting back from the day before it. n = 0 returns the
// date itself, business day or not, as a 0d lead does.
func (c Calendar) Before(y int, m time.Month, d int, n int) (int, time.Month, int) {
	t := civil(y, m, d)
	for n > 0 {
		t = t.AddDate(0, 0, -1)
		if c.IsBusinessDay(t.Date()) {
			n--
		}
	}
	return t.Date()
}

func (c Calendar) kind() string {
	switch c.Country {
	case Japan:
		return "public holiday in Japan"
	case US:
		return "U.S. federal holiday"
	}
	return "holiday"
}

func (c Calendar) holiday(y int, m time.Month, d int) (string, bool) {
	if c.Country == None {
		return "", false
	}
	name, ok := yearTable(c.Country, y)[civil(y, m, d).YearDay()]
	return name, ok
}

// civil is a date as a UTC midnight, so date arithmetic never meets DST.
func civil(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

type tableKey struct {
	c Country
	y int
}

var (
	// mu serializes every call into the holiday library as well as the
	// cache: rickar/cal's jp.VernalEquinoxDay writes to the shared Holiday
	// value on each Calc, a data race under concurrent ticks.
	mu     sync.Mutex
	tables = map[tableKey]map[int]string{}
)

// yearTable returns the days off of one year by day of year, built once.
func yearTable(c Country, y int) map[int]string {
	mu.Lock()
	defer mu.Unlock()
	k := tableKey{c, y}
	if t, ok := tables[k]; ok {
		return t
	}
	var t map[int]string
	switch c {
	case Japan:
		t = japanDays(y)
	case US:
		t = usDays(y)
	}
	tables[k] = t
	return t
}

// usFederal is 5 U.S.C. 6103(a). us.Holidays is not used because it also
// lists the day after Thanksgiving, which is not a federal holiday.
var usFederal = []*cal.Holiday{
	us.NewYear, us.MlkDay, us.PresidentsDay, us.MemorialDay, us.Juneteenth,
	us.IndependenceDay, us.LaborDay, us.ColumbusDay, us.VeteransDay,
	us.ThanksgivingDay, us.ChristmasDay,
}

// usDays lists year y's federal holidays and their observed days (5 U.S.C.
// 6103(b): Saturday → Friday, Sunday → Monday). The neighbouring years are
// looked at because New Year's Day on a Saturday is observed on December 31.
func usDays(y int) map[int]string {
	t := map[int]string{}
	for yy := y - 1; yy <= y+1; yy++ {
		for _, h := range usFederal {
			actual, observed := h.Calc(yy)
			if !actual.IsZero() && actual.Year() == y {
				addDay(t, actual, h.Name)
			}
			if !observed.IsZero() && !sameDay(observed, actual) && observed.Year() == y {
				addDay(t, observed, h.Name+", observed")
			}
		}
	}
	return t
}

// japanDays lists year y's days off in Japan. The library gives the
// national holidays (祝日); the Act on National Holidays' two other rules
// are applied here because the library's own handling of them is partial
// (Sunday → Monday only; citizens' holidays from a table that ends in
// 2032): a holiday on a Sunday moves to the next day that is not a holiday
// (振替休日, Art. 3(2)), and a day between two holidays is a day off
// (国民の休日, Art. 3(3)). Dec 29–Jan 3, when government offices close
// (行政機関の休日に関する法律 Art. 1), counts too: deadlines of the Diet and
// ministries do not fall in it, and no one is at work to be reminded.
func japanDays(y int) map[int]string {
	national := map[time.Time]string{}
	for yy := y - 1; yy <= y+1; yy++ {
		for _, h := range jp.Holidays {
			// A citizens' holiday is not a national holiday: the rule
			// below derives it, and it must not shift a substitute day.
			if h == jp.NationalHolidayBetweenRespectForTheAgedDayAndAutumnalEquinoxDay {
				continue
			}
			if actual, _ := h.Calc(yy); !actual.IsZero() {
				ay, am, ad := actual.Date()
				if _, dup := national[civil(ay, am, ad)]; !dup {
					national[civil(ay, am, ad)] = h.Name
				}
			}
		}
	}
	t := map[int]string{}
	for day, name := range national {
		if day.Year() == y {
			t[day.YearDay()] = name
		}
		if day.Weekday() == time.Sunday {
			sub := day.AddDate(0, 0, 1)
			for national[sub] != "" {
				sub = sub.AddDate(0, 0, 1)
			}
			if sub.Year() == y {
				addDay(t, sub, "substitute holiday for "+name)
			}
		}
		mid, next := day.AddDate(0, 0, 1), day.AddDate(0, 0, 2)
		if national[mid] == "" && national[next] != "" && mid.Year() == y {
			addDay(t, mid, "citizens' holiday")
		}
	}
	for _, d := range []time.Time{civil(y, time.January, 2), civil(y, time.January, 3),
		civil(y, time.December, 29), civil(y, time.December, 30), civil(y, time.December, 31)} {
		addDay(t, d, "year-end and New Year closure")
	}
	return t
}

// addDay records a day off unless a more specific name holds it already.
func addDay(t map[int]string, day time.Time, name string) {
	yd := day.YearDay()
	if _, ok := t[yd]; !ok {
		t[yd] = name
	}
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}
