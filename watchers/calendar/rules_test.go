package calendar

import (
	"strings"
	"testing"

	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/sourcetest"
)

// TestInvalidRRuleKeepsDTStart: an event whose RRULE cannot be read keeps
// DTSTART's instance (RFC 5545: DTSTART is the first instance of the
// set), and the check reports the rule as a warning.
func TestInvalidRRuleKeepsDTStart(t *testing.T) {
	src := newSource(t, vcal(
		"BEGIN:VEVENT", "UID:session@example.org", "SUMMARY:Diet session opens",
		"DTSTART;TZID=Asia/Tokyo:20250801T100000", "RRULE:FREQ=INVALID_TYPE_CAUSES_ERROR", "END:VEVENT",
	))
	w := newTestWatcher(t, src, nil)
	r := sourcetest.Check(t, w, t0, nil)
	if len(r.Events) != 1 || r.Events[0].Due != "2025-08-01T10:00:00+09:00" || r.Events[0].Title != "Diet session opens" {
		t.Fatalf("events = %+v, want DTSTART's instance", r.Events)
	}
	for _, want := range []string{"first run: 1 events", "1 warning", `bad RRULE FREQ "INVALID_TYPE_CAUSES…"`, "DTSTART's instance kept"} {
		if !strings.Contains(r.Found, want) {
			t.Errorf("Found = %q, want it to contain %q", r.Found, want)
		}
	}

	// python-icalendar's case of the same: its event keeps its instance.
	data := readShared(t, "ics/python-icalendar", "calendars_issue_1081_invalid_rrule_freq.ics")
	_, exp := run(t, data, t0.AddDate(-50, 0, 0), t0.AddDate(10, 0, 0))
	if len(exp.occ) != 1 || len(exp.warnings) != 1 || len(exp.skipped) != 0 {
		t.Errorf("issue 1081 calendar: %d instances, warnings %q, skipped %q; want 1 instance and 1 warning", len(exp.occ), exp.warnings, exp.skipped)
	}
}

// TestSeriesCapScalesWithHorizon: the per-series cap grows with the
// horizon, so a weekday series over four years (about 1,044 instances)
// is kept whole, not cut at 1,000.
func TestSeriesCapScalesWithHorizon(t *testing.T) {
	src := newSource(t, vcal(
		"BEGIN:VEVENT", "UID:standup@example.org", "SUMMARY:Stand-up",
		"DTSTART;TZID=Asia/Tokyo:20250701T093000", "RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", "END:VEVENT",
	))
	w := newTestWatcher(t, src, func(s *watchers.Spec) { s.Horizon = "1461d" })
	r := sourcetest.Check(t, w, t0, nil)
	// 2025-07-01 to 2029-07-01: 1,044 weekdays (208 weeks and 4 days).
	if n := len(r.Events); n != 1044 {
		t.Errorf("%d instances, want 1044; found %q", n, r.Found)
	}
	if strings.Contains(r.Found, "skipped") {
		t.Errorf("Found = %q, want nothing skipped", r.Found)
	}
	if got := perSeries(3660 * 24 * 60 * 60 * 1e9); got < 3661 {
		t.Errorf("perSeries(10 years) = %d, want at least a day's instance for each day", got)
	}
}
