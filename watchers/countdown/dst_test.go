package countdown

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/watchers"
)

// TestDSTGapAndOverlap holds the countdown to DESIGN §4's DST rule (RFC
// 5545 §3.3.5) in New York and London: an alert_time or instant in the
// skipped hour fires with the offset before the gap (an hour later on the
// clock), and one in the repeated hour fires at its first occurrence.
func TestDSTGapAndOverlap(t *testing.T) {
	tests := []struct {
		name      string
		zone      string
		alertTime time.Duration
		due       string
		leads     []string
		want      []fire
	}{
		{
			name: "New York alert_time in the gap", zone: "America/New_York", alertTime: 2*time.Hour + 30*time.Minute,
			due: "2025-03-10", leads: []string{"1d"},
			want: []fire{
				// 02:30 does not exist on 2025-03-09: 03:30 EDT, not 01:30 EST.
				{"deadlines/dst/reminder/1d@2025-03-10", "2025-03-09T03:30:00-04:00"},
				{"deadlines/dst/overdue@2025-03-10", "2025-03-11T02:30:00-04:00"},
			},
		},
		{
			name: "New York alert_time in the repeated hour", zone: "America/New_York", alertTime: time.Hour + 30*time.Minute,
			due: "2025-11-02", leads: []string{"0d"},
			want: []fire{
				{"deadlines/dst/reminder/0d@2025-11-02", "2025-11-02T01:30:00-04:00"}, // the first 01:30, EDT
				{"deadlines/dst/overdue@2025-11-02", "2025-11-03T01:30:00-05:00"},
			},
		},
		{
			name: "New York instant whose day lead falls in the gap", zone: "America/New_York", alertTime: 9 * time.Hour,
			due: "2025-03-10T02:30", leads: []string{"1d", "0d"},
			want: []fire{
				{"deadlines/dst/reminder/1d@2025-03-10T02:30", "2025-03-09T03:30:00-04:00"},
				{"deadlines/dst/reminder/0d@2025-03-10T02:30", "2025-03-10T02:30:00-04:00"},
				{"deadlines/dst/overdue@2025-03-10T02:30", "2025-03-11T09:00:00-04:00"},
			},
		},
		{
			name: "New York instant in the gap itself", zone: "America/New_York", alertTime: 9 * time.Hour,
			due: "2025-03-09T02:30", leads: []string{"0d"},
			want: []fire{
				{"deadlines/dst/reminder/0d@2025-03-09T02:30", "2025-03-09T03:30:00-04:00"},
				{"deadlines/dst/overdue@2025-03-09T02:30", "2025-03-10T09:00:00-04:00"},
			},
		},
		{
			name: "London alert_time in the gap", zone: "Europe/London", alertTime: time.Hour + 30*time.Minute,
			due: "2025-03-30", leads: []string{"0d"},
			want: []fire{
				{"deadlines/dst/reminder/0d@2025-03-30", "2025-03-30T02:30:00+01:00"},
				{"deadlines/dst/overdue@2025-03-30", "2025-03-31T01:30:00+01:00"},
			},
		},
		{
			name: "London alert_time in the repeated hour", zone: "Europe/London", alertTime: time.Hour + 30*time.Minute,
			due: "2025-10-26", leads: []string{"0d"},
			want: []fire{
				// The first 01:30, BST; time.Date alone gives the second (GMT).
				{"deadlines/dst/reminder/0d@2025-10-26", "2025-10-26T01:30:00+01:00"},
				{"deadlines/dst/overdue@2025-10-26", "2025-10-27T01:30:00Z"},
			},
		},
		{
			name: "London instant whose day lead falls in the repeated hour", zone: "Europe/London", alertTime: 9 * time.Hour,
			due: "2025-10-27T01:30", leads: []string{"1d"},
			want: []fire{
				{"deadlines/dst/reminder/1d@2025-10-27T01:30", "2025-10-26T01:30:00+01:00"},
				{"deadlines/dst/overdue@2025-10-27T01:30", "2025-10-28T09:00:00Z"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := exampleConfig(t)
			cfg.AlertTime = tt.alertTime
			cfg.LeadTimes = mustLeads(t, tt.leads...)
			ev := watchers.Event{ID: "dst", Title: "DST", Due: tt.due, Zone: tt.zone}
			ms, err := Plan(cfg, &ev)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, fires(ms, "deadlines", "dst")); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}
