package countdown

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/policyteam/alertbot/watchers"
)

// reminderTimes plans one event and returns its reminders as
// "lead at RFC3339".
func reminderTimes(t *testing.T, cfg Config, ev *watchers.Event) []string {
	t.Helper()
	ms, err := Plan(cfg, ev)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		if m.Kind == watchers.KindReminder {
			out = append(out, m.Lead.String()+" "+m.At.Format(time.RFC3339))
		}
	}
	return out
}

func TestBusinessDayLeads(t *testing.T) {
	tests := []struct {
		name  string
		zone  string
		due   string
		leads []string
		want  []string
	}{{
		// Golden Week 2026: Apr 29 (Wed) Shōwa Day, May 2–6 off (May 6 the
		// substitute for Sunday May 3).
		name: "golden week", zone: "Asia/Tokyo", due: "2026-05-08",
		leads: []string{"5bd", "2bd", "1bd", "0bd"},
		want: []string{
			"5bd 2026-04-27T09:00:00+09:00",
			"2bd 2026-05-01T09:00:00+09:00",
			"1bd 2026-05-07T09:00:00+09:00",
			"0bd 2026-05-08T09:00:00+09:00",
		},
	}, {
		// Government offices close Dec 29–Jan 3; Jan 12 2026 is Coming of
		// Age Day.
		name: "new year", zone: "Asia/Tokyo", due: "2026-01-13",
		leads: []string{"10bd", "5bd", "1bd"},
		want: []string{
			"10bd 2025-12-22T09:00:00+09:00",
			"5bd 2026-01-05T09:00:00+09:00",
			"1bd 2026-01-09T09:00:00+09:00",
		},
	}, {
		// Thanksgiving, Thursday Nov 26 2026; the Friday after works.
		name: "thanksgiving", zone: "America/New_York", due: "2026-11-30",
		leads: []string{"3bd", "2bd", "1bd"},
		want: []string{
			"3bd 2026-11-24T09:00:00-05:00",
			"2bd 2026-11-25T09:00:00-05:00",
			"1bd 2026-11-27T09:00:00-05:00",
		},
	}, {
		// An instant keeps its wall time, as with d leads.
		name: "instant", zone: "America/New_York", due: "2026-07-06T14:30",
		leads: []string{"1bd"},
		want:  []string{"1bd 2026-07-02T14:30:00-04:00"},
	}, {
		// A month window counts from its first day; its 0bd is the
		// window_open alert, as 0d is.
		name: "month window", zone: "Asia/Tokyo", due: "2025-05",
		leads: []string{"3bd", "0bd"},
		want:  []string{"3bd 2025-04-25T09:00:00+09:00"},
	}, {
		// Zones without a holiday calendar skip weekends only: Dec 25 and
		// 28 are working days in this count.
		name: "weekends only", zone: "Europe/London", due: "2026-12-29",
		leads: []string{"1bd", "3bd"},
		want: []string{
			"3bd 2026-12-24T09:00:00Z",
			"1bd 2026-12-28T09:00:00Z",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := exampleConfig(t)
			ev := &watchers.Event{ID: "e", Title: "E", Due: tt.due, Zone: tt.zone, LeadTimes: mustLeads(t, tt.leads...)}
			if diff := cmp.Diff(tt.want, reminderTimes(t, cfg, ev)); diff != "" {
				t.Errorf("reminders (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBusinessDayKey keeps the alert key readable and distinct from a
// calendar-day lead of the same number.
func TestBusinessDayKey(t *testing.T) {
	m := Milestone{Kind: watchers.KindReminder, Lead: mustLeads(t, "5bd")[0], Due: "2026-05-08"}
	if got, want := m.Key("deadlines", "e"), "deadlines/e/reminder/5bd@2026-05-08"; got != want {
		t.Errorf("Key = %q, want %q", got, want)
	}
}
