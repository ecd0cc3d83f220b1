package countdown

import (
	"testing"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// TestRemainingExactUnderADay: under a day the remaining time is stated to
// the minute (DESIGN §4 "in 1 hour 30 minutes"), never rounded to hours.
func TestRemainingExactUnderADay(t *testing.T) {
	tokyo := mustLoc(t, "Asia/Tokyo")
	inst, err := watchers.ParseDue("2025-07-20T15:00", tokyo)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ now, want string }{
		{"2025-07-20T13:30:00+09:00", "in 1 hour 30 minutes"},
		{"2025-07-20T12:59:00+09:00", "in 2 hours 1 minute"},
		{"2025-07-20T12:00:00+09:00", "in 3 hours"},
		{"2025-07-20T14:59:00+09:00", "in 1 minute"},
		{"2025-07-19T15:01:00+09:00", "in 23 hours 59 minutes"},
		{"2025-07-20T16:30:00+09:00", "1 hour 30 minutes ago"},
		{"2025-07-19T15:00:00+09:00", "in 1 day"},
	} {
		if got := remaining(inst, mustTime(t, tt.now), tokyo); got != tt.want {
			t.Errorf("remaining at %s = %q, want %q", tt.now, got, tt.want)
		}
	}

	// The reminder of a 90-minute lead says so.
	cfg := exampleConfig(t)
	cfg.LeadTimes = mustLeads(t, "90m")
	ev := watchers.Event{ID: "call", Title: "Call", Due: "2025-07-20T15:00"}
	now := mustTime(t, "2025-07-20T13:30:00+09:00")
	alerts, _, _, err := Due(cfg, &ev, now.Add(-time.Second), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0].Text != "Due in 1 hour 30 minutes: 20 July 2025 15:00 JST." {
		t.Errorf("90m reminder = %+v, want one reading \"Due in 1 hour 30 minutes: 20 July 2025 15:00 JST.\"", alerts)
	}
}
