package calendar

import (
	"context"
	"testing"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// FuzzCalendarParse feeds arbitrary bytes to the parse and expansion
// entry point: it must return, without panicking, either an error or
// well-formed instances.
func FuzzCalendarParse(f *testing.F) {
	for _, seed := range []string{
		vcal(cat(summit, election, briefing, briefingCancel, hearing)...),
		vcal("BEGIN:VEVENT", "UID:x", "DTSTART;TZID=Tokyo Standard Time:20250910T100000", "RRULE:FREQ=DAILY;COUNT=3", "EXDATE:20250911T010000Z", "END:VEVENT"),
		vcal("BEGIN:VTIMEZONE", "TZID:X", "BEGIN:STANDARD", "DTSTART:19700101T000000", "TZOFFSETFROM:+0900", "TZOFFSETTO:+0900",
			"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "END:STANDARD", "END:VTIMEZONE",
			"BEGIN:VEVENT", "UID:y", "DTSTART;TZID=X:20250910T100000", "DURATION:P1DT2H", "RDATE;VALUE=PERIOD:20251001T000000Z/PT1H", "END:VEVENT"),
		"BEGIN:VEVENT\r\nUID:bare\r\nDTSTART;VALUE=DATE:20250720\r\nEND:VEVENT\r\n",
		"\xef\xbb\xbfBEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;;VALUE=DATE-TIME:\r\nEND:VEVENT\r\n",
		"BEGIN:VCALENDAR\nBEGIN:VEVENT\nRRULE:FREQ=WEEKLY;BYSETPOS=1;BYDAY=MO,TU;\nDTSTART:20250101\nRECURRENCE-ID:20250107\nEND:VEVENT\n",
	} {
		f.Add([]byte(seed))
	}
	now := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	w := &Watcher{spec: watchers.Spec{ID: "f", URL: "https://example.org/c.ics"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		exp, err := expand(ctx, data, expandOptions{from: now.Add(-24 * time.Hour), to: now.Add(400 * 24 * time.Hour), floating: utcZone})
		if err != nil {
			return
		}
		for _, o := range exp.occ {
			e := w.event(o, exp.floating)
			if !watchers.IDPattern.MatchString(e.ID) {
				t.Fatalf("bad id %q", e.ID)
			}
			if _, err := watchers.ParseDue(e.Due, time.UTC); err != nil {
				t.Fatalf("event %s: %v", e.ID, err)
			}
		}
	})
}
