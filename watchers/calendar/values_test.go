package calendar

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/teambition/rrule-go"
)

// TestFastForwardKeepsInstances checks that moving DTSTART forward gives
// the same instances in the window as walking from the true start.
func TestFastForwardKeepsInstances(t *testing.T) {
	rules := []string{
		"FREQ=YEARLY",
		"FREQ=YEARLY;INTERVAL=3",
		"FREQ=YEARLY;BYMONTH=3",
		"FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO",
		"FREQ=YEARLY;BYYEARDAY=100,-1",
		"FREQ=YEARLY;BYMONTH=11;BYDAY=1SU",
		"FREQ=MONTHLY",
		"FREQ=MONTHLY;INTERVAL=5",
		"FREQ=MONTHLY;BYDAY=2MO",
		"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
		"FREQ=MONTHLY;BYMONTHDAY=31",
		"FREQ=WEEKLY",
		"FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR",
		"FREQ=WEEKLY;WKST=SU;INTERVAL=3;BYDAY=SU,SA",
		"FREQ=DAILY",
		"FREQ=DAILY;INTERVAL=7",
		"FREQ=DAILY;BYMONTH=7;BYDAY=TU",
		"FREQ=YEARLY;UNTIL=20300101T000000Z",
	}
	starts := []time.Time{
		time.Date(1996, 2, 29, 9, 30, 0, 0, time.UTC), // a leap day
		time.Date(2004, 1, 31, 0, 0, 0, 0, time.UTC),  // a 31st
		time.Date(2019, 12, 30, 23, 59, 59, 0, time.UTC),
		time.Date(2025, 6, 29, 15, 0, 0, 0, time.UTC), // just before the window
	}
	from := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(4, 0, 0)
	for _, rule := range rules {
		total := 0
		for _, st := range starts {
			opt, err := parseRule(rule, st, false, func(u time.Time) time.Time { return u })
			if err != nil {
				t.Fatalf("%s: %v", rule, err)
			}
			plain, err := rrule.NewRRule(*opt)
			if err != nil {
				t.Fatal(err)
			}
			ff := *opt
			fastForward(&ff, from.Add(-48*time.Hour))
			fast, err := rrule.NewRRule(ff)
			if err != nil {
				t.Fatal(err)
			}
			want := plain.Between(from, to, true)
			got := fast.Between(from, to, true)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s from %v (-plain +fast):\n%s", rule, st, diff)
			}
			total += len(want)
		}
		if total == 0 {
			t.Errorf("%s: no instances, the comparison proves nothing", rule)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"PT1H":      time.Hour,
		"P1D":       24 * time.Hour,
		"P2W":       14 * 24 * time.Hour,
		"PT86400S":  24 * time.Hour,
		"P1DT2H30M": 26*time.Hour + 30*time.Minute,
		"-PT15M":    -15 * time.Minute,
	} {
		got, err := parseDuration(in)
		if err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "P", "PT", "1H", "P1H", "PT1D", "P1DT", "PXD", "P99999999D"} {
		if _, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) succeeded", in)
		}
	}
}

func TestParseOffset(t *testing.T) {
	for in, want := range map[string]int{"+0900": 9 * 3600, "-0500": -5 * 3600, "+091859": 9*3600 + 18*60 + 59, "-075258": -(7*3600 + 52*60 + 58)} {
		if got, err := parseOffset(in); err != nil || got != want {
			t.Errorf("parseOffset(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"+5744", "0900", "+09", "+0960", "+9900"} {
		if _, err := parseOffset(in); err == nil {
			t.Errorf("parseOffset(%q) succeeded", in)
		}
	}
}

func TestEventID(t *testing.T) {
	for _, uid := range []string{"", "---", "040000008200E00074C5B7101A82E00800000000", "日本語のUID", "a@b.c", string(make([]byte, 500))} {
		for _, suffix := range []string{"", "20250720", "20250720t1000"} {
			id := eventID(uid, suffix)
			if len(id) > 64 || id[0] != 'c' {
				t.Errorf("eventID(%q, %q) = %q", uid, suffix, id)
			}
			for _, c := range id {
				if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
					t.Errorf("eventID(%q, %q) = %q has %q", uid, suffix, id, c)
				}
			}
		}
	}
	if eventID("a@b.c", "") == eventID("a-b-c", "") {
		t.Error("different UIDs with the same slug share an id")
	}
}
