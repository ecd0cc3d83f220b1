package countdown

import (
	"context"
	"testing"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("bad test time %q: %v", s, err)
	}
	return v
}

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func mustLeads(t testing.TB, ss ...string) []watchers.Lead {
	t.Helper()
	l, err := watchers.ParseLeads(ss)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// exampleConfig is the configuration of the assignment's examples: zone
// Asia/Tokyo, alert_time 09:00, leads [30d, 7d, 1d, 0d], catch_up 7d.
func exampleConfig(t testing.TB) Config {
	return Config{
		WatcherID: "deadlines",
		Location:  mustLoc(t, "Asia/Tokyo"),
		AlertTime: 9 * time.Hour,
		LeadTimes: mustLeads(t, "30d", "7d", "1d", "0d"),
		CatchUp:   7 * 24 * time.Hour,
	}
}

// exampleEvents are the seed's events with their dated changes.
func exampleEvents(t testing.TB) []watchers.Event {
	created := mustTime(t, "2024-12-01T00:00:00+09:00")
	return []watchers.Event{
		{
			ID: "jp-fy2025-budget", Title: "Diet passes the FY2025 budget (FY starts April 1)",
			Due: "2025-03-31", Tags: []string{"japan", "budget"},
			Source:    "https://crsreports.congress.gov/product/pdf/IN/IN12466",
			CreatedAt: created,
			Changes: []watchers.Change{
				{At: mustTime(t, "2025-03-31T09:00:00+09:00"), Status: watchers.Happened},
			},
		},
		{
			ID: "ishiba-trump-summit", Title: "Ishiba–Trump summit",
			Due: "2025-02", Tags: []string{"japan", "us", "summit"}, CreatedAt: created,
			Changes: []watchers.Change{
				{At: mustTime(t, "2025-02-07T09:00:00+09:00"), Due: "2025-02-07", Status: watchers.Happened},
			},
		},
		{
			ID: "upper-house-election-2025", Title: "House of Councillors (Upper House) election",
			Due: "2025-07", Tags: []string{"japan", "election"}, CreatedAt: created,
			LeadTimes: mustLeads(t, "90d", "30d", "7d", "1d", "0d"),
			Changes: []watchers.Change{
				{At: mustTime(t, "2025-07-03T09:00:00+09:00"), Due: "2025-07-20", Status: watchers.Scheduled, Note: "election officially announced"},
				{At: mustTime(t, "2025-07-20T09:00:00+09:00"), Status: watchers.Happened},
			},
		},
		{
			ID: "trump-inauguration", Title: "Inauguration of President Trump",
			Due: "2025-01-20T12:00-05:00", Zone: "America/New_York", Tags: []string{"us"}, CreatedAt: created,
			Changes: []watchers.Change{
				{At: mustTime(t, "2025-01-20T12:00:00-05:00"), Status: watchers.Happened},
			},
		},
	}
}

// fakeSource is an in-memory EventSource with real behaviour: it returns
// the events whose next check time is due, with the time they were last
// looked at, and records what a check planned, as the store does.
type fakeSource struct {
	events []watchers.Event
	next   map[string]time.Time // zero: never again
	since  map[string]time.Time
	seen   map[string]bool
	calls  int
	err    error
}

func newFakeSource(evs ...watchers.Event) *fakeSource {
	return &fakeSource{events: evs, next: map[string]time.Time{}, since: map[string]time.Time{}, seen: map[string]bool{}}
}

func (f *fakeSource) DueEvents(_ context.Context, watcher string, now time.Time, limit int) ([]watchers.PlannedEvent, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	var out []watchers.PlannedEvent
	for _, ev := range f.events {
		if n := f.next[ev.ID]; f.seen[ev.ID] && (n.IsZero() || n.After(now)) {
			continue
		}
		out = append(out, watchers.PlannedEvent{Event: ev, Since: f.since[ev.ID]})
		if len(out) == watchers.BatchLimit(limit) {
			break
		}
	}
	return out, nil
}

// record stores a check's plans the way the store does.
func (f *fakeSource) record(now time.Time, res watchers.Result) {
	for _, p := range res.Next {
		f.seen[p.Event] = true
		f.next[p.Event] = p.At
		f.since[p.Event] = now
	}
}

// update replaces an event, as an admin edit does; it is looked at again.
func (f *fakeSource) update(ev watchers.Event) {
	for i := range f.events {
		if f.events[i].ID == ev.ID {
			f.events[i] = ev
		}
	}
	delete(f.next, ev.ID)
	f.seen[ev.ID] = false
}
