package countdown

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// staticSource hands out the same planned events on every call, so the
// benchmark measures the watcher, not the fake.
type staticSource []watchers.PlannedEvent

func (s staticSource) DueEvents(context.Context, string, time.Time, int) ([]watchers.PlannedEvent, error) {
	return s, nil
}

// benchEvents makes n events of every due form, a tenth of them with a
// zone of their own and a fifth with dated changes.
func benchEvents(b *testing.B, n int, since time.Time) staticSource {
	tokyo := mustLoc(b, "Asia/Tokyo")
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, tokyo)
	out := make(staticSource, n)
	for i := range out {
		day := base.AddDate(0, 0, i%400)
		ev := watchers.Event{ID: fmt.Sprintf("ev-%d", i), Title: "Event", Tags: []string{"japan"}, CreatedAt: base.AddDate(-1, 0, 0)}
		switch i % 10 {
		case 0, 1:
			ev.Due = day.Format("2006-01")
		case 2:
			ev.Due = day.Format("2006-01-02T15:04")
			ev.Zone = "America/New_York"
		default:
			ev.Due = day.Format("2006-01-02")
		}
		if i%5 == 4 {
			ev.Changes = []watchers.Change{
				{At: day.AddDate(0, 0, -20), Due: day.AddDate(0, 0, 7).Format("2006-01-02"), Note: "moved"},
				{At: day.AddDate(0, 0, 8), Status: watchers.Happened},
			}
		}
		out[i] = watchers.PlannedEvent{Event: ev, Since: since}
	}
	return out
}

// BenchmarkTick is one countdown tick over 100,000 due events (DESIGN §8:
// ≤ 100 ms).
func BenchmarkTick(b *testing.B) {
	cfg := exampleConfig(b)
	now := time.Date(2025, 6, 1, 9, 0, 0, 0, cfg.Location)
	src := benchEvents(b, 100_000, now.Add(-time.Minute))
	w := mustWatcher(b, cfg, src)
	b.ReportAllocs()
	b.ResetTimer()
	var alerts int
	for b.Loop() {
		res, err := w.Check(context.Background(), watchers.Input{Now: now})
		if err != nil {
			b.Fatal(err)
		}
		alerts = len(res.Alerts)
	}
	b.ReportMetric(float64(alerts), "alerts/tick")
}

// BenchmarkPlan is one event's whole timeline, with history.
func BenchmarkPlan(b *testing.B) {
	cfg := exampleConfig(b)
	ev := exampleEvents(b)[2]
	loc := cfg.Location
	var buf []Milestone
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = appendPlan(buf[:0], &cfg, &ev, loc)
		if err != nil {
			b.Fatal(err)
		}
	}
}
