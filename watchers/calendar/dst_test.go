package calendar

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDSTGapAndOverlap holds local DTSTARTs and RRULE instances to RFC
// 5545 §3.3.5 (DESIGN §4) in New York and London, and in a calendar's own
// VTIMEZONE: a time in the skipped hour takes the offset before the gap,
// a repeated time is its first occurrence.
func TestDSTGapAndOverlap(t *testing.T) {
	myEastern := []string{
		"BEGIN:VTIMEZONE", "TZID:My Eastern",
		"BEGIN:STANDARD", "DTSTART:19701101T020000", "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU",
		"TZOFFSETFROM:-0400", "TZOFFSETTO:-0500", "TZNAME:EST", "END:STANDARD",
		"BEGIN:DAYLIGHT", "DTSTART:19700308T020000", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU",
		"TZOFFSETFROM:-0500", "TZOFFSETTO:-0400", "TZNAME:EDT", "END:DAYLIGHT", "END:VTIMEZONE",
	}
	one := func(tzid, wall string) string {
		return vcal(append(myEastern, "BEGIN:VEVENT", "UID:e", "SUMMARY:E", "DTSTART;TZID="+tzid+":"+wall, "END:VEVENT")...)
	}
	for _, tc := range []struct {
		name, body, want string
	}{
		{"New York gap", one("America/New_York", "20250309T023000"), "2025-03-09T03:30:00-04:00"},
		{"New York overlap", one("America/New_York", "20251102T013000"), "2025-11-02T01:30:00-04:00"},
		{"London gap", one("Europe/London", "20250330T013000"), "2025-03-30T02:30:00+01:00"},
		{"London overlap", one("Europe/London", "20251026T013000"), "2025-10-26T01:30:00+01:00"},
		{"Windows name, London overlap", one("GMT Standard Time", "20251026T013000"), "2025-10-26T01:30:00+01:00"},
		{"own VTIMEZONE gap", one("My Eastern", "20250309T023000"), "2025-03-09T03:30:00-04:00"},
		{"own VTIMEZONE overlap", one("My Eastern", "20251102T013000"), "2025-11-02T01:30:00-04:00"},
		{"own VTIMEZONE after overlap", one("My Eastern", "20251102T023000"), "2025-11-02T02:30:00-05:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, _ := run(t, tc.body, t0.AddDate(0, -6, 0), t0.AddDate(1, 0, 0))
			if len(evs) != 1 {
				t.Fatalf("events = %+v", briefs(evs))
			}
			if got, _ := time.Parse(time.RFC3339, evs[0].Due); !got.Equal(mustRFC3339(t, tc.want)) {
				t.Errorf("due %s, want %s", evs[0].Due, tc.want)
			}
		})
	}

	// A daily 02:30 and 01:30 in New York and London: each instance at the
	// same wall time, except on the day the time does not exist (an hour
	// later, by the offset before the gap) or exists twice (the first).
	rrules := vcal(
		"BEGIN:VEVENT", "UID:ny-spring", "SUMMARY:NY", "DTSTART;TZID=America/New_York:20250308T023000", "RRULE:FREQ=DAILY;COUNT=3", "END:VEVENT",
		"BEGIN:VEVENT", "UID:ny-autumn", "SUMMARY:NY", "DTSTART;TZID=America/New_York:20251101T013000", "RRULE:FREQ=DAILY;COUNT=3", "END:VEVENT",
		"BEGIN:VEVENT", "UID:ldn-spring", "SUMMARY:London", "DTSTART;TZID=Europe/London:20250329T013000", "RRULE:FREQ=DAILY;COUNT=3", "END:VEVENT",
		"BEGIN:VEVENT", "UID:ldn-autumn", "SUMMARY:London", "DTSTART;TZID=Europe/London:20251025T013000", "RRULE:FREQ=DAILY;COUNT=3", "END:VEVENT",
	)
	evs, _ := run(t, rrules, t0.AddDate(0, -6, 0), t0.AddDate(1, 0, 0))
	var got []string
	for _, e := range evs {
		got = append(got, e.Due)
	}
	want := []string{
		"2025-03-08T02:30:00-05:00", "2025-03-09T03:30:00-04:00", "2025-03-10T02:30:00-04:00",
		"2025-03-29T01:30:00Z", "2025-03-30T02:30:00+01:00", "2025-03-31T01:30:00+01:00",
		"2025-10-25T01:30:00+01:00", "2025-10-26T01:30:00+01:00", "2025-10-27T01:30:00Z",
		"2025-11-01T01:30:00-04:00", "2025-11-02T01:30:00-04:00", "2025-11-03T01:30:00-05:00",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("instances (-want +got):\n%s", diff)
	}
}

func mustRFC3339(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
