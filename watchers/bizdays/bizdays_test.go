package bizdays

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// weekdayDaysOff lists a year's holidays that fall on a weekday, as
// "MM-DD name", since those are the days the weekend rule alone misses.
func weekdayDaysOff(c Calendar, y int) []string {
	var out []string
	for d := civil(y, 1, 1); d.Year() == y; d = d.AddDate(0, 0, 1) {
		if name, ok := c.holiday(d.Date()); ok && d.Weekday() != time.Saturday && d.Weekday() != time.Sunday {
			out = append(out, d.Format("01-02")+" "+name)
		}
	}
	sort.Strings(out)
	return out
}

// TestJapan2025to2028 holds the calendar to the Cabinet Office's lists of
// national holidays (内閣府「国民の祝日」), substitute holidays (振替休日)
// and citizens' holidays (国民の休日) included, plus the government's
// Dec 29–Jan 3 closure. Only weekday entries are listed: a holiday on a
// Saturday changes no business day.
func TestJapan2025to2028(t *testing.T) {
	closure := func(y int) []string {
		var out []string
		for _, d := range []string{"01-02", "01-03", "12-29", "12-30", "12-31"} {
			wd, _ := time.Parse("2006-01-02", fmt.Sprintf("%d-%s", y, d))
			if wd.Weekday() != time.Saturday && wd.Weekday() != time.Sunday {
				out = append(out, d)
			}
		}
		return out
	}
	want := map[int][]string{
		2025: {"01-01", "01-13", "02-11", "02-24 substitute", "03-20", "04-29", "05-05", "05-06 substitute",
			"07-21", "08-11", "09-15", "09-23", "10-13", "11-03", "11-24 substitute"},
		2026: {"01-01", "01-12", "02-11", "02-23", "03-20", "04-29", "05-04", "05-05", "05-06 substitute",
			"07-20", "08-11", "09-21", "09-22 citizens", "09-23", "10-12", "11-03", "11-23"},
		2027: {"01-01", "01-11", "02-11", "02-23", "03-22 substitute", "04-29", "05-03", "05-04", "05-05",
			"07-19", "08-11", "09-20", "09-23", "10-11", "11-03", "11-23"},
		2028: {"01-10", "02-11", "02-23", "03-20", "05-03", "05-04", "05-05",
			"07-17", "08-11", "09-18", "09-22", "10-09", "11-03", "11-23"},
	}
	c := Calendar{Country: Japan}
	for y, days := range want {
		days = append(days, closure(y)...)
		var w, got []string
		for _, d := range days {
			w = append(w, d)
		}
		for _, g := range weekdayDaysOff(c, y) {
			date, name, _ := strings.Cut(g, " ")
			switch {
			case strings.HasPrefix(name, "substitute"):
				date += " substitute"
			case name == "citizens' holiday":
				date += " citizens"
			}
			got = append(got, date)
		}
		sort.Strings(w)
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("Japan %d weekday days off (-want +got):\n%s", y, diff)
		}
	}
}

// TestUSFederal2025to2028 holds the calendar to OPM's federal holiday
// lists, observed days included (5 U.S.C. 6103(b)).
func TestUSFederal2025to2028(t *testing.T) {
	want := map[int][]string{
		2025: {"01-01", "01-20", "02-17", "05-26", "06-19", "07-04", "09-01", "10-13", "11-11", "11-27", "12-25"},
		2026: {"01-01", "01-19", "02-16", "05-25", "06-19", "07-03 observed", "09-07", "10-12", "11-11", "11-26", "12-25"},
		// New Year's Day 2028 is a Saturday: observed on Friday 2027-12-31.
		2027: {"01-01", "01-18", "02-15", "05-31", "06-18 observed", "07-05 observed", "09-06", "10-11", "11-11",
			"11-25", "12-24 observed", "12-31 observed"},
		2028: {"01-17", "02-21", "05-29", "06-19", "07-04", "09-04", "10-09", "11-10 observed", "11-23", "12-25"},
	}
	c := Calendar{Country: US}
	for y, w := range want {
		var got []string
		for _, g := range weekdayDaysOff(c, y) {
			date, name, _ := strings.Cut(g, " ")
			if strings.HasSuffix(name, ", observed") {
				date += " observed"
			}
			got = append(got, date)
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("U.S. %d weekday days off (-want +got):\n%s", y, diff)
		}
	}
}

func TestCountryOf(t *testing.T) {
	for name, want := range map[string]Country{
		"Asia/Tokyo": Japan, "Japan": Japan, "America/New_York": US, "America/Los_Angeles": US,
		"US/Eastern": US, "Europe/London": None, "UTC": None, "Asia/Seoul": None,
	} {
		if got := CountryOf(zone(t, name)); got != want {
			t.Errorf("CountryOf(%s) = %q, want %q", name, got, want)
		}
	}
	if got := CountryOf(nil); got != None {
		t.Errorf("CountryOf(nil) = %q", got)
	}
}

func TestBefore(t *testing.T) {
	tests := []struct {
		zone string
		from string
		n    int
		want string
	}{
		// Golden Week 2026: May 2–6 are off (Sat, Sun, three holidays and
		// the substitute for May 3); Thursday May 7 − 1bd is Friday May 1.
		{"Asia/Tokyo", "2026-05-07", 1, "2026-05-01"},
		{"Asia/Tokyo", "2026-05-07", 2, "2026-04-30"},
		{"Asia/Tokyo", "2026-05-07", 3, "2026-04-28"}, // Apr 29 Shōwa Day
		// Golden Week 2025: May 3–6 off, May 6 the substitute.
		{"Asia/Tokyo", "2025-05-07", 1, "2025-05-02"},
		// New Year: Dec 29–Jan 3 closed, Jan 12 2026 Coming of Age Day.
		{"Asia/Tokyo", "2026-01-05", 1, "2025-12-26"},
		{"Asia/Tokyo", "2026-01-13", 5, "2026-01-05"},
		// Silver Week 2026: Sep 19–23 off, the 22nd a citizens' holiday.
		{"Asia/Tokyo", "2026-09-24", 1, "2026-09-18"},
		// Thanksgiving 2026 is Thursday Nov 26; the Friday after is a
		// business day for the federal government.
		{"America/New_York", "2026-11-30", 2, "2026-11-25"},
		{"America/New_York", "2026-11-30", 1, "2026-11-27"},
		{"America/New_York", "2026-07-06", 1, "2026-07-02"},
		// The Thanksgiving of a U.S. zone is no day off in Tokyo, nor
		// Golden Week in New York; other zones know only weekends.
		{"Asia/Tokyo", "2026-11-27", 1, "2026-11-26"},
		{"America/New_York", "2026-05-07", 1, "2026-05-06"},
		{"Europe/London", "2026-12-28", 1, "2026-12-25"},
		{"Europe/London", "2026-05-04", 1, "2026-05-01"},
		{"Asia/Tokyo", "2026-05-05", 0, "2026-05-05"},
	}
	for _, tt := range tests {
		t.Run(tt.zone+"/"+tt.from, func(t *testing.T) {
			from, _ := time.Parse("2006-01-02", tt.from)
			y, m, d := For(zone(t, tt.zone)).Before(from.Year(), from.Month(), from.Day(), tt.n)
			if got := civil(y, m, d).Format("2006-01-02"); got != tt.want {
				t.Errorf("Before(%s, %d) = %s, want %s", tt.from, tt.n, got, tt.want)
			}
		})
	}
}

func TestDayOff(t *testing.T) {
	tokyo, ny := zone(t, "Asia/Tokyo"), zone(t, "America/New_York")
	tests := []struct {
		loc     *time.Location
		date    string
		want    string
		wantOff bool
	}{
		{tokyo, "2025-05-06", "a public holiday in Japan (substitute holiday for Greenery Day)", true},
		{tokyo, "2026-09-22", "a public holiday in Japan (citizens' holiday)", true},
		{tokyo, "2025-07-20", "a Sunday", true},
		{tokyo, "2025-07-22", "", false},
		{ny, "2026-07-03", "a U.S. federal holiday (Independence Day, observed)", true},
		{ny, "2026-07-04", "a U.S. federal holiday (Independence Day)", true},
		{ny, "2025-11-27", "a U.S. federal holiday (Thanksgiving Day)", true},
	}
	for _, tt := range tests {
		d, _ := time.ParseInLocation("2006-01-02", tt.date, tt.loc)
		got, off := For(tt.loc).DayOff(d)
		if got != tt.want || off != tt.wantOff {
			t.Errorf("DayOff(%s in %s) = %q, %v; want %q, %v", tt.date, tt.loc, got, off, tt.want, tt.wantOff)
		}
	}
}

// TestConcurrent guards the lock around the holiday library, whose Japan
// tables write to shared values while computing (run with -race).
func TestConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := Calendar{Country: Japan}
			c.IsBusinessDay(2030+i, time.March, 20)
		}()
	}
	wg.Wait()
}
