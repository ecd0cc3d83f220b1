package countdown

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/watchers"
)

type fire struct {
	Key string
	At  string // RFC 3339 with the event zone's offset
}

func fires(ms []Milestone, watcher, event string) []fire {
	var out []fire
	for _, m := range ms {
		out = append(out, fire{m.Key(watcher, event), m.At.Format(time.RFC3339)})
	}
	return out
}

// examplePlans are the exact fire instants of every alert of the examples,
// worked out by hand from DESIGN §4.
var examplePlans = map[string][]fire{
	"jp-fy2025-budget": {
		{"deadlines/jp-fy2025-budget/reminder/30d@2025-03-31", "2025-03-01T09:00:00+09:00"},
		{"deadlines/jp-fy2025-budget/reminder/7d@2025-03-31", "2025-03-24T09:00:00+09:00"},
		{"deadlines/jp-fy2025-budget/reminder/1d@2025-03-31", "2025-03-30T09:00:00+09:00"},
		// The 0d reminder would fire at the change's instant, which belongs
		// to the new (happened) state; overdue likewise.
		{"deadlines/jp-fy2025-budget/changed@2025-03-31T00:00:00Z", "2025-03-31T09:00:00+09:00"},
	},
	"ishiba-trump-summit": {
		{"deadlines/ishiba-trump-summit/reminder/30d@2025-02", "2025-01-02T09:00:00+09:00"},
		{"deadlines/ishiba-trump-summit/reminder/7d@2025-02", "2025-01-25T09:00:00+09:00"},
		{"deadlines/ishiba-trump-summit/reminder/1d@2025-02", "2025-01-31T09:00:00+09:00"},
		{"deadlines/ishiba-trump-summit/window_open@2025-02", "2025-02-01T09:00:00+09:00"},
		{"deadlines/ishiba-trump-summit/changed@2025-02-07T00:00:00Z", "2025-02-07T09:00:00+09:00"},
	},
	"upper-house-election-2025": {
		{"deadlines/upper-house-election-2025/reminder/90d@2025-07", "2025-04-02T09:00:00+09:00"},
		{"deadlines/upper-house-election-2025/reminder/30d@2025-07", "2025-06-01T09:00:00+09:00"},
		{"deadlines/upper-house-election-2025/reminder/7d@2025-07", "2025-06-24T09:00:00+09:00"},
		{"deadlines/upper-house-election-2025/reminder/1d@2025-07", "2025-06-30T09:00:00+09:00"},
		{"deadlines/upper-house-election-2025/window_open@2025-07", "2025-07-01T09:00:00+09:00"},
		{"deadlines/upper-house-election-2025/changed@2025-07-03T00:00:00Z", "2025-07-03T09:00:00+09:00"},
		// 90d and 30d before 2025-07-20 are before the change: covered.
		{"deadlines/upper-house-election-2025/reminder/7d@2025-07-20", "2025-07-13T09:00:00+09:00"},
		{"deadlines/upper-house-election-2025/reminder/1d@2025-07-20", "2025-07-19T09:00:00+09:00"},
		{"deadlines/upper-house-election-2025/changed@2025-07-20T00:00:00Z", "2025-07-20T09:00:00+09:00"},
	},
	"trump-inauguration": {
		{"deadlines/trump-inauguration/reminder/30d@2025-01-20T12:00-05:00", "2024-12-21T12:00:00-05:00"},
		{"deadlines/trump-inauguration/reminder/7d@2025-01-20T12:00-05:00", "2025-01-13T12:00:00-05:00"},
		{"deadlines/trump-inauguration/reminder/1d@2025-01-20T12:00-05:00", "2025-01-19T12:00:00-05:00"},
		{"deadlines/trump-inauguration/changed@2025-01-20T17:00:00Z", "2025-01-20T12:00:00-05:00"},
	},
}

func TestPlanExamples(t *testing.T) {
	cfg := exampleConfig(t)
	for _, ev := range exampleEvents(t) {
		t.Run(ev.ID, func(t *testing.T) {
			ms, err := Plan(cfg, &ev)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(examplePlans[ev.ID], fires(ms, cfg.WatcherID, ev.ID)); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCheckFiresExamplesOnTime runs the watcher the way replay does: a bot
// started before the first milestone and never down, ticking exactly at
// each event's next check time. Every alert must go out at its exact
// instant, once.
func TestCheckFiresExamplesOnTime(t *testing.T) {
	cfg := exampleConfig(t)
	src := newFakeSource(exampleEvents(t)...)
	w := mustWatcher(t, cfg, src)
	got := map[string][]fire{}
	now := mustTime(t, "2024-12-01T00:00:00+09:00")
	for range 100 {
		res, err := w.Check(context.Background(), watchers.Input{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range res.Alerts {
			if !a.At.Equal(now) {
				t.Errorf("%s sent at %s, due at %s", a.Key, now, a.At)
			}
			got[a.Event] = append(got[a.Event], fire{a.Key, a.At.Format(time.RFC3339)})
		}
		src.record(now, res)
		next := time.Time{}
		for _, at := range src.next {
			if !at.IsZero() && (next.IsZero() || at.Before(next)) {
				next = at
			}
		}
		if next.IsZero() {
			break
		}
		now = next
	}
	if diff := cmp.Diff(examplePlans, got); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
}

func TestAlertContent(t *testing.T) {
	cfg := exampleConfig(t)
	evs := exampleEvents(t)
	byID := map[string]*watchers.Event{}
	for i := range evs {
		byID[evs[i].ID] = &evs[i]
	}
	tests := []struct {
		event    string
		now      string
		key      string
		title    string
		text     string
		severity watchers.Severity
		fields   []watchers.Field
	}{
		{
			event: "jp-fy2025-budget", now: "2025-03-24T09:00:00+09:00",
			key:      "deadlines/jp-fy2025-budget/reminder/7d@2025-03-31",
			title:    "Diet passes the FY2025 budget (FY starts April 1)",
			text:     "Due in 7 days: Mon 31 March 2025.",
			severity: watchers.Info,
			fields: []watchers.Field{
				{Name: "Due", Value: "Mon 31 March 2025", Time: mustTime(t, "2025-03-31T00:00:00+09:00")},
				{Name: "Status", Value: "scheduled"},
				{Name: "Countdown", Value: "in 7 days"},
			},
		},
		{
			event: "ishiba-trump-summit", now: "2025-01-02T09:00:00+09:00",
			key:      "deadlines/ishiba-trump-summit/reminder/30d@2025-02",
			title:    "Ishiba–Trump summit",
			text:     "Due: expected in February 2025 — exact date not set; the window opens in 30 days.",
			severity: watchers.Info,
			fields: []watchers.Field{
				{Name: "Due", Value: "February 2025", Time: mustTime(t, "2025-02-01T00:00:00+09:00")},
				{Name: "Status", Value: "tentative"},
				{Name: "Countdown", Value: "the window opens in 30 days"},
			},
		},
		{
			event: "ishiba-trump-summit", now: "2025-02-01T09:00:00+09:00",
			key:      "deadlines/ishiba-trump-summit/window_open@2025-02",
			title:    "Ishiba–Trump summit",
			text:     "The window is open: expected in February 2025 — exact date not set; its last day is in 27 days.",
			severity: watchers.Notice,
			fields: []watchers.Field{
				{Name: "Due", Value: "February 2025", Time: mustTime(t, "2025-02-01T00:00:00+09:00")},
				{Name: "Status", Value: "tentative"},
				{Name: "Countdown", Value: "the window is open; its last day is in 27 days"},
			},
		},
		{
			event: "ishiba-trump-summit", now: "2025-02-07T09:00:00+09:00",
			key:      "deadlines/ishiba-trump-summit/changed@2025-02-07T00:00:00Z",
			title:    "Ishiba–Trump summit",
			text:     "Due: February 2025 (tentative) → Fri 7 February 2025 (happened)",
			severity: watchers.Notice,
			fields: []watchers.Field{
				{Name: "Due", Value: "Fri 7 February 2025", Time: mustTime(t, "2025-02-07T00:00:00+09:00")},
				{Name: "Status", Value: "happened"},
				{Name: "Countdown", Value: "today"},
			},
		},
		{
			event: "upper-house-election-2025", now: "2025-07-03T09:00:00+09:00",
			key:      "deadlines/upper-house-election-2025/changed@2025-07-03T00:00:00Z",
			title:    "House of Councillors (Upper House) election",
			text:     "Due: July 2025 (tentative) → Sun 20 July 2025 (scheduled)\nNote: election officially announced",
			severity: watchers.Notice,
			fields: []watchers.Field{
				{Name: "Due", Value: "Sun 20 July 2025", Time: mustTime(t, "2025-07-20T00:00:00+09:00")},
				{Name: "Status", Value: "scheduled"},
				{Name: "Countdown", Value: "in 17 days"},
			},
		},
		{
			event: "upper-house-election-2025", now: "2025-07-19T09:00:00+09:00",
			key:      "deadlines/upper-house-election-2025/reminder/1d@2025-07-20",
			title:    "House of Councillors (Upper House) election",
			text:     "Due tomorrow: Sun 20 July 2025.",
			severity: watchers.Info,
			fields: []watchers.Field{
				{Name: "Due", Value: "Sun 20 July 2025", Time: mustTime(t, "2025-07-20T00:00:00+09:00")},
				{Name: "Status", Value: "scheduled"},
				{Name: "Countdown", Value: "tomorrow"},
			},
		},
		{
			event: "trump-inauguration", now: "2025-01-19T12:00:00-05:00",
			key:      "deadlines/trump-inauguration/reminder/1d@2025-01-20T12:00-05:00",
			title:    "Inauguration of President Trump",
			text:     "Due in 1 day: 20 January 2025 12:00 EST.",
			severity: watchers.Info,
			fields: []watchers.Field{
				{Name: "Due", Value: "20 January 2025 12:00 EST", Time: mustTime(t, "2025-01-20T12:00:00-05:00")},
				{Name: "Status", Value: "scheduled"},
				{Name: "Countdown", Value: "in 1 day"},
			},
		},
		{
			event: "trump-inauguration", now: "2025-01-20T12:00:00-05:00",
			key:      "deadlines/trump-inauguration/changed@2025-01-20T17:00:00Z",
			title:    "Inauguration of President Trump",
			text:     "Status: scheduled → happened",
			severity: watchers.Notice,
			fields: []watchers.Field{
				{Name: "Due", Value: "20 January 2025 12:00 EST", Time: mustTime(t, "2025-01-20T12:00:00-05:00")},
				{Name: "Status", Value: "happened"},
				{Name: "Countdown", Value: "now"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			ev := byID[tt.event]
			now := mustTime(t, tt.now)
			// Looked at a minute ago: only this milestone is in the interval.
			alerts, skipped, _, err := Due(cfg, ev, now.Add(-time.Minute), now)
			if err != nil {
				t.Fatal(err)
			}
			if len(alerts) != 1 || len(skipped) != 0 {
				t.Fatalf("got %d alerts, %d skipped; want 1 and 0: %+v", len(alerts), len(skipped), alerts)
			}
			a := alerts[0]
			want := watchers.Alert{
				Key: tt.key, Kind: kindOf(tt.key), Watcher: "deadlines", Event: tt.event,
				Tags: ev.Tags, At: now, Title: tt.title, Text: tt.text, Link: ev.Source,
				Fields: tt.fields, Severity: tt.severity,
			}
			if diff := cmp.Diff(want, a, timeEqual); diff != "" {
				t.Errorf("alert (-want +got):\n%s", diff)
			}
		})
	}
}

var timeEqual = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

func kindOf(key string) watchers.Kind {
	for _, k := range []watchers.Kind{watchers.KindReminder, watchers.KindWindowOpen, watchers.KindOverdue, watchers.KindChanged} {
		if strings.Contains(key, "/"+string(k)) {
			return k
		}
	}
	return ""
}

func mustWatcher(t testing.TB, cfg Config, src watchers.EventSource) watchers.Watcher {
	t.Helper()
	leads := make([]string, len(cfg.LeadTimes))
	for i, l := range cfg.LeadTimes {
		leads[i] = l.String()
	}
	w, err := New(watchers.Spec{ID: cfg.WatcherID, Kind: "countdown", Tags: cfg.Tags, LeadTimes: leads},
		watchers.Deps{Events: src, Defaults: watchers.Defaults{Location: cfg.Location, AlertTime: cfg.AlertTime, CatchUp: cfg.CatchUp}})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestDSTNewYork(t *testing.T) {
	cfg := exampleConfig(t) // default zone Tokyo; the events carry their own
	cfg.LeadTimes = mustLeads(t, "7d", "1d", "12h", "0d")
	tests := []struct {
		name string
		due  string
		want []fire
	}{
		{
			// Spring forward on 2025-03-09: -05:00 before, -04:00 after.
			name: "instant across spring forward", due: "2025-03-10T10:00",
			want: []fire{
				{"deadlines/dst/reminder/7d@2025-03-10T10:00", "2025-03-03T10:00:00-05:00"},
				{"deadlines/dst/reminder/1d@2025-03-10T10:00", "2025-03-09T10:00:00-04:00"},
				// 12h is an exact duration: 14:00Z - 12h = 02:00Z = 22:00 EDT.
				{"deadlines/dst/reminder/12h@2025-03-10T10:00", "2025-03-09T22:00:00-04:00"},
				{"deadlines/dst/reminder/0d@2025-03-10T10:00", "2025-03-10T10:00:00-04:00"},
				{"deadlines/dst/overdue@2025-03-10T10:00", "2025-03-11T09:00:00-04:00"},
			},
		},
		{
			name: "day on the spring-forward day", due: "2025-03-09",
			want: []fire{
				{"deadlines/dst/reminder/7d@2025-03-09", "2025-03-02T09:00:00-05:00"},
				{"deadlines/dst/reminder/1d@2025-03-09", "2025-03-08T09:00:00-05:00"},
				{"deadlines/dst/reminder/12h@2025-03-09", "2025-03-08T12:00:00-05:00"},
				{"deadlines/dst/reminder/0d@2025-03-09", "2025-03-09T09:00:00-04:00"},
				{"deadlines/dst/overdue@2025-03-09", "2025-03-10T09:00:00-04:00"},
			},
		},
		{
			// Fall back on 2025-11-02: the day has 25 hours.
			name: "day after fall back", due: "2025-11-03",
			want: []fire{
				{"deadlines/dst/reminder/7d@2025-11-03", "2025-10-27T09:00:00-04:00"},
				{"deadlines/dst/reminder/1d@2025-11-03", "2025-11-02T09:00:00-05:00"},
				{"deadlines/dst/reminder/12h@2025-11-03", "2025-11-02T12:00:00-05:00"},
				{"deadlines/dst/reminder/0d@2025-11-03", "2025-11-03T09:00:00-05:00"},
				{"deadlines/dst/overdue@2025-11-03", "2025-11-04T09:00:00-05:00"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := watchers.Event{ID: "dst", Title: "DST", Due: tt.due, Zone: "America/New_York"}
			ms, err := Plan(cfg, &ev)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, fires(ms, "deadlines", "dst")); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}

	// The 7d reminder is 167 hours before the instant and still reads
	// "in 7 days", fired at 10:00 local.
	ev := watchers.Event{ID: "dst", Title: "DST", Due: "2025-03-10T10:00", Zone: "America/New_York"}
	now := mustTime(t, "2025-03-03T10:00:00-05:00")
	alerts, _, next, err := Due(cfg, &ev, now.Add(-time.Second), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0].Text != "Due in 7 days: 10 March 2025 10:00 EDT." {
		t.Errorf("7d alert = %+v, want one reading \"Due in 7 days: 10 March 2025 10:00 EDT.\"", alerts)
	}
	if want := mustTime(t, "2025-03-09T10:00:00-04:00"); !next.Equal(want) {
		t.Errorf("next = %s, want %s", next, want)
	}
}

// TestCatchUpAfterLongGap: the bot was down from January to mid-July. Each
// event gets only its latest missed milestone, worded with the true time
// left, and only if it is at most a week old; the rest are skipped.
func TestCatchUpAfterLongGap(t *testing.T) {
	cfg := exampleConfig(t)
	evs := exampleEvents(t)
	evs = append(evs, watchers.Event{
		ID: "g7-summit", Title: "G7 summit", Due: "2025-07-18", Tags: []string{"summit"},
		CreatedAt: mustTime(t, "2024-12-01T00:00:00+09:00"),
	})
	since := mustTime(t, "2025-01-01T00:00:00+09:00")
	now := mustTime(t, "2025-07-16T12:00:00+09:00")

	type outcome struct {
		Sent    []string
		Texts   []string
		Skipped []string
	}
	want := map[string]outcome{
		"jp-fy2025-budget": {Skipped: []string{
			"deadlines/jp-fy2025-budget/reminder/30d@2025-03-31",
			"deadlines/jp-fy2025-budget/reminder/7d@2025-03-31",
			"deadlines/jp-fy2025-budget/reminder/1d@2025-03-31",
			"deadlines/jp-fy2025-budget/changed@2025-03-31T00:00:00Z",
		}},
		"ishiba-trump-summit": {Skipped: []string{
			"deadlines/ishiba-trump-summit/reminder/30d@2025-02",
			"deadlines/ishiba-trump-summit/reminder/7d@2025-02",
			"deadlines/ishiba-trump-summit/reminder/1d@2025-02",
			"deadlines/ishiba-trump-summit/window_open@2025-02",
			"deadlines/ishiba-trump-summit/changed@2025-02-07T00:00:00Z",
		}},
		"upper-house-election-2025": {
			Sent:  []string{"deadlines/upper-house-election-2025/reminder/7d@2025-07-20"},
			Texts: []string{"Due in 4 days: Sun 20 July 2025."},
			Skipped: []string{
				"deadlines/upper-house-election-2025/reminder/90d@2025-07",
				"deadlines/upper-house-election-2025/reminder/30d@2025-07",
				"deadlines/upper-house-election-2025/reminder/7d@2025-07",
				"deadlines/upper-house-election-2025/reminder/1d@2025-07",
				"deadlines/upper-house-election-2025/window_open@2025-07",
				"deadlines/upper-house-election-2025/changed@2025-07-03T00:00:00Z",
			},
		},
		"trump-inauguration": {Skipped: []string{
			"deadlines/trump-inauguration/reminder/7d@2025-01-20T12:00-05:00",
			"deadlines/trump-inauguration/reminder/1d@2025-01-20T12:00-05:00",
			"deadlines/trump-inauguration/changed@2025-01-20T17:00:00Z",
		}},
		"g7-summit": {
			Sent:    []string{"deadlines/g7-summit/reminder/7d@2025-07-18"},
			Texts:   []string{"Due in 2 days: Fri 18 July 2025."},
			Skipped: []string{"deadlines/g7-summit/reminder/30d@2025-07-18"},
		},
	}
	got := map[string]outcome{}
	for _, ev := range evs {
		alerts, skipped, _, err := Due(cfg, &ev, since, now)
		if err != nil {
			t.Fatal(err)
		}
		var o outcome
		for _, a := range alerts {
			o.Sent = append(o.Sent, a.Key)
			o.Texts = append(o.Texts, a.Text)
		}
		for _, a := range skipped {
			o.Skipped = append(o.Skipped, a.Key)
		}
		got[ev.ID] = o
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("catch-up (-want +got):\n%s", diff)
	}

	// The same through Check: one alert per event that has one to send.
	src := newFakeSource(evs...)
	for _, ev := range evs {
		src.seen[ev.ID], src.since[ev.ID], src.next[ev.ID] = true, since, since
	}
	res, err := mustWatcher(t, cfg, src).Check(context.Background(), watchers.Input{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, a := range res.Alerts {
		keys = append(keys, a.Key)
	}
	slices.Sort(keys)
	wantKeys := []string{"deadlines/g7-summit/reminder/7d@2025-07-18", "deadlines/upper-house-election-2025/reminder/7d@2025-07-20"}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Errorf("Check alerts (-want +got):\n%s", diff)
	}
	var skippedKeys, wantSkipped []string
	for _, a := range res.Skipped {
		skippedKeys = append(skippedKeys, a.Key)
	}
	for _, o := range want {
		wantSkipped = append(wantSkipped, o.Skipped...)
	}
	slices.Sort(skippedKeys)
	slices.Sort(wantSkipped)
	if diff := cmp.Diff(wantSkipped, skippedKeys); diff != "" {
		t.Errorf("Check skipped (-want +got):\n%s", diff)
	}
	if want := "5 events checked, 2 alerts, 19 missed and skipped"; res.Found != want {
		t.Errorf("Found = %q, want %q", res.Found, want)
	}
}

func TestCatchUpLimit(t *testing.T) {
	cfg := exampleConfig(t)
	ev := watchers.Event{ID: "vote", Title: "Vote", Due: "2025-07-20"}
	sevenD := mustTime(t, "2025-07-13T09:00:00+09:00") // the 7d reminder
	tests := []struct {
		name        string
		now         time.Time
		catchUp     time.Duration
		sent, skips int
	}{
		{"on time", sevenD, 7 * 24 * time.Hour, 1, 1},
		{"exactly catch_up late", sevenD.Add(24 * time.Hour), 24 * time.Hour, 1, 1},
		{"a second older than catch_up", sevenD.Add(24*time.Hour + time.Second), 24 * time.Hour, 0, 2},
		{"default catch_up is 7d: 6 days late", mustTime(t, "2025-07-19T08:59:00+09:00"), 0, 1, 1},
		{"long after everything", mustTime(t, "2025-09-01T00:00:00+09:00"), 7 * 24 * time.Hour, 0, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			c.CatchUp = tt.catchUp
			alerts, skipped, _, err := Due(c, &ev, time.Time{}, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if len(alerts) != tt.sent || len(skipped) != tt.skips {
				t.Errorf("sent %d, skipped %d; want %d and %d", len(alerts), len(skipped), tt.sent, tt.skips)
			}
			for _, a := range alerts {
				if a.Key != "deadlines/vote/reminder/7d@2025-07-20" {
					t.Errorf("sent %s, want the 7d reminder", a.Key)
				}
			}
		})
	}
}

// TestTiesSentTogether: milestones at the same instant are all sent.
func TestTiesSentTogether(t *testing.T) {
	cfg := exampleConfig(t)
	cfg.LeadTimes = mustLeads(t, "1d", "24h")
	ev := watchers.Event{ID: "talks", Title: "Talks", Due: "2025-06-10T15:00"}
	now := mustTime(t, "2025-06-09T15:00:00+09:00")
	alerts, skipped, _, err := Due(cfg, &ev, time.Time{}, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, a := range alerts {
		keys = append(keys, a.Key)
		// Sent a minute late, the text states the real time left, to the
		// minute (DESIGN §4).
		if a.Text != "Due in 23 hours 59 minutes: 10 June 2025 15:00 JST." {
			t.Errorf("%s text = %q", a.Key, a.Text)
		}
	}
	want := []string{"deadlines/talks/reminder/1d@2025-06-10T15:00", "deadlines/talks/reminder/24h@2025-06-10T15:00"}
	if diff := cmp.Diff(want, keys); diff != "" || len(skipped) != 0 {
		t.Errorf("sent (-want +got):\n%s\nskipped %d", diff, len(skipped))
	}
}

// tickLoop runs Check every step over [from, to] against src and returns
// every alert sent, failing on a key sent twice.
func tickLoop(t *testing.T, w watchers.Watcher, src *fakeSource, from, to time.Time, step time.Duration, sent map[string]time.Time) []watchers.Alert {
	t.Helper()
	var all []watchers.Alert
	for now := from; !now.After(to); now = now.Add(step) {
		res, err := w.Check(context.Background(), watchers.Input{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range res.Alerts {
			if at, dup := sent[a.Key]; dup {
				t.Errorf("%s sent again at %s (first at %s)", a.Key, now, at)
			}
			sent[a.Key] = now
			all = append(all, a)
		}
		src.record(now, res)
	}
	return all
}

// TestChangeReplans: an admin postpones an event after its 7d reminder went
// out. The change is announced once, the old date's reminders are not
// repeated, and the new date's reminders go out with new keys.
func TestChangeReplans(t *testing.T) {
	cfg := exampleConfig(t)
	ev := watchers.Event{
		ID: "diet-vote", Title: "Diet vote", Due: "2025-07-20",
		CreatedAt: mustTime(t, "2025-06-01T00:00:00+09:00"),
	}
	src := newFakeSource(ev)
	w := mustWatcher(t, cfg, src)
	sent := map[string]time.Time{}
	hour := time.Hour
	tickLoop(t, w, src, mustTime(t, "2025-07-12T00:00:00+09:00"), mustTime(t, "2025-07-14T09:00:00+09:00"), hour, sent)
	if _, ok := sent["deadlines/diet-vote/reminder/7d@2025-07-20"]; !ok || len(sent) != 1 {
		t.Fatalf("before the change sent %v, want only the 7d reminder", sent)
	}

	ev.Changes = []watchers.Change{{At: mustTime(t, "2025-07-14T09:30:00+09:00"), Due: "2025-07-27", Note: "postponed a week", By: "slack:U1"}}
	src.update(ev)
	tickLoop(t, w, src, mustTime(t, "2025-07-14T10:00:00+09:00"), mustTime(t, "2025-08-01T00:00:00+09:00"), hour, sent)

	want := map[string]string{
		"deadlines/diet-vote/reminder/7d@2025-07-20":       "2025-07-13T09:00:00+09:00",
		"deadlines/diet-vote/changed@2025-07-14T00:30:00Z": "2025-07-14T10:00:00+09:00", // first tick after it
		"deadlines/diet-vote/reminder/7d@2025-07-27":       "2025-07-20T09:00:00+09:00",
		"deadlines/diet-vote/reminder/1d@2025-07-27":       "2025-07-26T09:00:00+09:00",
		"deadlines/diet-vote/reminder/0d@2025-07-27":       "2025-07-27T09:00:00+09:00",
		"deadlines/diet-vote/overdue@2025-07-27":           "2025-07-28T09:00:00+09:00",
	}
	got := map[string]string{}
	for k, at := range sent {
		got[k] = at.Format(time.RFC3339)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
}

// TestInactiveStatusesStop: happened, postponed and cancelled stop
// reminders, window_open and overdue; a later new date revives them.
func TestInactiveStatusesStop(t *testing.T) {
	cfg := exampleConfig(t)
	created := mustTime(t, "2025-01-01T00:00:00+09:00")
	for _, st := range []watchers.Status{watchers.Happened, watchers.Postponed, watchers.Cancelled} {
		t.Run(string(st), func(t *testing.T) {
			ev := watchers.Event{
				ID: "e", Title: "E", Due: "2025-07-20", CreatedAt: created,
				Changes: []watchers.Change{{At: mustTime(t, "2025-07-15T12:00:00+09:00"), Status: st}},
			}
			ms, err := Plan(cfg, &ev)
			if err != nil {
				t.Fatal(err)
			}
			want := []fire{
				{"deadlines/e/reminder/30d@2025-07-20", "2025-06-20T09:00:00+09:00"},
				{"deadlines/e/reminder/7d@2025-07-20", "2025-07-13T09:00:00+09:00"},
				{"deadlines/e/changed@2025-07-15T03:00:00Z", "2025-07-15T12:00:00+09:00"},
			}
			if diff := cmp.Diff(want, fires(ms, "deadlines", "e")); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}

			// Set from the start: nothing at all.
			ev2 := watchers.Event{ID: "e", Title: "E", Due: "2025-07", Status: st, CreatedAt: created}
			if ms, err := Plan(cfg, &ev2); err != nil || len(ms) != 0 {
				t.Errorf("Plan of a %s event = %v, %v; want nothing", st, ms, err)
			}
		})
	}

	// Postponed, then a new date: the status re-defaults to scheduled and
	// reminders for the new date come back.
	ev := watchers.Event{
		ID: "e", Title: "E", Due: "2025-07-20", CreatedAt: created,
		Changes: []watchers.Change{
			{At: mustTime(t, "2025-07-15T12:00:00+09:00"), Status: watchers.Postponed},
			{At: mustTime(t, "2025-08-01T12:00:00+09:00"), Due: "2025-08-10"},
		},
	}
	ms, err := Plan(cfg, &ev)
	if err != nil {
		t.Fatal(err)
	}
	want := []fire{
		{"deadlines/e/reminder/30d@2025-07-20", "2025-06-20T09:00:00+09:00"},
		{"deadlines/e/reminder/7d@2025-07-20", "2025-07-13T09:00:00+09:00"},
		{"deadlines/e/changed@2025-07-15T03:00:00Z", "2025-07-15T12:00:00+09:00"},
		{"deadlines/e/changed@2025-08-01T03:00:00Z", "2025-08-01T12:00:00+09:00"},
		{"deadlines/e/reminder/7d@2025-08-10", "2025-08-03T09:00:00+09:00"},
		{"deadlines/e/reminder/1d@2025-08-10", "2025-08-09T09:00:00+09:00"},
		{"deadlines/e/reminder/0d@2025-08-10", "2025-08-10T09:00:00+09:00"},
		{"deadlines/e/overdue@2025-08-10", "2025-08-11T09:00:00+09:00"},
	}
	if diff := cmp.Diff(want, fires(ms, "deadlines", "e")); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	st, err := ev.StateAfter(2, cfg.Location)
	if err != nil || st.Status != watchers.Scheduled {
		t.Errorf("state after the new date = %v, %v; want scheduled", st.Status, err)
	}
}

// TestMonthWindowOpenOnce ticks hourly across a month window's opening: one
// window_open, no 0d reminder, and the overdue at the window's end.
func TestMonthWindowOpenOnce(t *testing.T) {
	cfg := exampleConfig(t)
	cfg.LeadTimes = mustLeads(t, "1d", "0d", "0w")
	ev := watchers.Event{ID: "apec", Title: "APEC leaders' meeting", Due: "2025-10"}
	src := newFakeSource(ev)
	w := mustWatcher(t, cfg, src)
	sent := map[string]time.Time{}
	all := tickLoop(t, w, src, mustTime(t, "2025-09-25T00:00:00+09:00"), mustTime(t, "2025-11-03T00:00:00+09:00"), time.Hour, sent)
	var got []fire
	for _, a := range all {
		got = append(got, fire{a.Key, sent[a.Key].Format(time.RFC3339)})
	}
	want := []fire{
		{"deadlines/apec/reminder/1d@2025-10", "2025-09-30T09:00:00+09:00"},
		{"deadlines/apec/window_open@2025-10", "2025-10-01T09:00:00+09:00"},
		{"deadlines/apec/overdue@2025-10", "2025-11-01T09:00:00+09:00"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	if src.next["apec"] != (time.Time{}) {
		t.Errorf("after overdue next = %s, want zero", src.next["apec"])
	}
}

func TestQuietAndHistoryChanges(t *testing.T) {
	cfg := exampleConfig(t)
	ev := watchers.Event{
		ID: "e", Title: "E", Due: "2025-07", CreatedAt: mustTime(t, "2025-05-01T00:00:00+09:00"),
		Changes: []watchers.Change{
			// Before the event entered the database: history.
			{At: mustTime(t, "2025-04-01T09:00:00+09:00"), Due: "2025-08"},
			// Announced by the calendar watcher: re-plans, no changed alert.
			{At: mustTime(t, "2025-07-10T09:00:00+09:00"), Due: "2025-08-20", Quiet: true},
			// Changes nothing that matters: no alert.
			{At: mustTime(t, "2025-07-11T09:00:00+09:00"), Due: "2025-08-20", Note: "confirmed"},
			{At: mustTime(t, "2025-07-12T09:00:00+09:00"), Title: "E (renamed)"},
		},
	}
	ms, err := Plan(cfg, &ev)
	if err != nil {
		t.Fatal(err)
	}
	want := []fire{
		// 2025-07 held only until April 1, before any of its milestones;
		// 2025-08 until July 10.
		{"deadlines/e/reminder/30d@2025-08", "2025-07-02T09:00:00+09:00"},
		{"deadlines/e/changed@2025-07-12T00:00:00Z", "2025-07-12T09:00:00+09:00"},
		{"deadlines/e/reminder/30d@2025-08-20", "2025-07-21T09:00:00+09:00"},
		{"deadlines/e/reminder/7d@2025-08-20", "2025-08-13T09:00:00+09:00"},
		{"deadlines/e/reminder/1d@2025-08-20", "2025-08-19T09:00:00+09:00"},
		{"deadlines/e/reminder/0d@2025-08-20", "2025-08-20T09:00:00+09:00"},
		{"deadlines/e/overdue@2025-08-20", "2025-08-21T09:00:00+09:00"},
	}
	if diff := cmp.Diff(want, fires(ms, "deadlines", "e")); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
}

// TestStateWalkMatchesStateAfter holds the planner's incremental state walk
// to Event.StateAfter over random change lists.
func TestStateWalkMatchesStateAfter(t *testing.T) {
	loc := mustLoc(t, "Asia/Tokyo")
	dues := []string{"", "", "2025-07", "2025-07-20", "2025-Q3", "JFY2025", "2025-07-20T10:00"}
	statuses := []watchers.Status{"", "", watchers.Tentative, watchers.Scheduled, watchers.Happened, watchers.Postponed, watchers.Cancelled}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		ev := watchers.Event{ID: "e", Title: "T", Due: dues[2+r.IntN(len(dues)-2)], Status: statuses[r.IntN(len(statuses))]}
		for j := range r.IntN(6) {
			c := watchers.Change{At: time.Date(2025, 1, 1+j, 0, 0, 0, 0, loc), Due: dues[r.IntN(len(dues))], Status: statuses[r.IntN(len(statuses))]}
			if r.IntN(3) == 0 {
				c.Title = fmt.Sprintf("T%d", j)
			}
			ev.Changes = append(ev.Changes, c)
		}
		cur := lite{rawStatus: ev.Status, title: ev.Title}
		d, err := watchers.ParseDue(ev.Due, loc)
		if err != nil {
			t.Fatal(err)
		}
		cur.due = d
		cur.status = ev.Status
		if cur.status == "" {
			cur.status = watchers.DefaultStatus(d.Precision)
		}
		for n := 0; n <= len(ev.Changes); n++ {
			if n > 0 {
				if err := cur.apply(&ev.Changes[n-1], loc, ev.ID); err != nil {
					t.Fatal(err)
				}
			}
			st, err := ev.StateAfter(n, loc)
			if err != nil {
				t.Fatal(err)
			}
			if st.Due.Raw != cur.due.Raw || st.Status != cur.status || st.Title != cur.title {
				t.Fatalf("case %d, state %d: walk (%s %s %q) != StateAfter (%s %s %q)", i, n, cur.due.Raw, cur.status, cur.title, st.Due.Raw, st.Status, st.Title)
			}
		}
	}
}

func TestRemainingText(t *testing.T) {
	tokyo := mustLoc(t, "Asia/Tokyo")
	day, _ := watchers.ParseDue("2025-07-20", tokyo)
	inst, _ := watchers.ParseDue("2025-07-20T15:00", tokyo)
	q, _ := watchers.ParseDue("2025-Q3", tokyo)
	tests := []struct {
		due  watchers.Due
		now  string
		want string
	}{
		{day, "2025-07-16T23:59:00+09:00", "in 4 days"},
		{day, "2025-07-19T00:00:00+09:00", "tomorrow"},
		{day, "2025-07-20T23:00:00+09:00", "today"},
		{day, "2025-07-21T01:00:00+09:00", "yesterday"},
		{day, "2025-07-23T01:00:00+09:00", "3 days ago"},
		{inst, "2025-07-20T12:00:00+09:00", "in 3 hours"},
		{inst, "2025-07-20T14:59:50+09:00", "now"},
		{inst, "2025-07-20T14:15:00+09:00", "in 45 minutes"},
		{inst, "2025-07-20T14:00:00+09:00", "in 1 hour"},
		{inst, "2025-07-18T15:00:00+09:00", "in 2 days"},
		{inst, "2025-07-20T17:00:00+09:00", "2 hours ago"},
	}
	for _, tt := range tests {
		if got := countdown(tt.due, mustTime(t, tt.now), tokyo); got != tt.want {
			t.Errorf("countdown(%s, %s) = %q, want %q", tt.due.Raw, tt.now, got, tt.want)
		}
	}
	if got, want := reminderText(q, mustTime(t, "2025-06-01T09:00:00+09:00"), tokyo),
		"Due: expected in Q3 2025 (July–September 2025) — exact date not set; the window opens in 30 days."; got != want {
		t.Errorf("quarter text = %q, want %q", got, want)
	}
}

func TestNewValidates(t *testing.T) {
	defaults := watchers.Defaults{Location: time.UTC, AlertTime: 9 * time.Hour, LeadTimes: []watchers.Lead{{N: 1, Unit: 'd'}}}
	tests := []struct {
		name  string
		spec  watchers.Spec
		field string // "" for a plain error
	}{
		{"bad lead", watchers.Spec{ID: "d", LeadTimes: []string{"7x"}}, "lead_times"},
		{"negative lead", watchers.Spec{ID: "d", LeadTimes: []string{"-1d"}}, "lead_times"},
		{"bad tag", watchers.Spec{ID: "d", Tags: []string{"Bad Tag"}}, "tags"},
		{"bad id", watchers.Spec{ID: "Deadlines!"}, "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.spec, watchers.Deps{Defaults: defaults})
			var fe *watchers.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Errorf("New = %v, want a FieldError on %s", err, tt.field)
			}
		})
	}
	if _, err := New(watchers.Spec{ID: "d"}, watchers.Deps{Defaults: watchers.Defaults{AlertTime: 25 * time.Hour}}); err == nil {
		t.Error("alert time 25h accepted")
	}
	cfg, err := NewConfig(watchers.Spec{ID: "d", LeadTimes: []string{"2w"}}, defaults)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]watchers.Lead{{N: 2, Unit: 'w'}}, cfg.LeadTimes); diff != "" || cfg.CatchUp != DefaultCatchUp {
		t.Errorf("spec leads did not override defaults (-want +got):\n%s; catch-up %s", diff, cfg.CatchUp)
	}

	// No event source: New succeeds (config check), Check fails clearly.
	w, err := New(watchers.Spec{ID: "d"}, watchers.Deps{Defaults: defaults})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Check(context.Background(), watchers.Input{Now: time.Now()}); err == nil || !strings.Contains(err.Error(), "no event source") {
		t.Errorf("Check without a source = %v", err)
	}
}

func TestCheckErrorsAndFilters(t *testing.T) {
	cfg := exampleConfig(t)
	now := mustTime(t, "2025-07-13T09:00:00+09:00")
	good := watchers.Event{ID: "good", Title: "Good", Due: "2025-07-20", Tags: []string{"japan"}}
	other := watchers.Event{ID: "other", Title: "Other", Due: "2025-07-20", Tags: []string{"us"}}
	badDue := watchers.Event{ID: "bad-due", Title: "Bad", Due: "2025-02-29", Tags: []string{"japan"}}
	badZone := watchers.Event{ID: "bad-zone", Title: "Bad", Due: "2025-07-20", Zone: "Mars/Olympus", Tags: []string{"japan"}}
	badChange := watchers.Event{ID: "bad-change", Title: "Bad", Due: "2025-07-20", Tags: []string{"japan"},
		Changes: []watchers.Change{{At: now, Due: "2025-13"}}}

	src := newFakeSource(good, other, badDue, badZone, badChange)
	cfg.Tags = []string{"japan"}
	res, err := mustWatcher(t, cfg, src).Check(context.Background(), watchers.Input{Now: now})
	if err != nil {
		t.Fatalf("one bad event failed the tick: %v", err)
	}
	if len(res.Alerts) != 1 || res.Alerts[0].Key != "deadlines/good/reminder/7d@2025-07-20" {
		t.Errorf("alerts = %+v, want the good event's 7d reminder", res.Alerts)
	}
	wantNext := []watchers.NextPlan{
		{Event: "good", At: mustTime(t, "2025-07-19T09:00:00+09:00")},
		{Event: "other"}, {Event: "bad-due"}, {Event: "bad-zone"}, {Event: "bad-change"},
	}
	if diff := cmp.Diff(wantNext, res.Next, timeEqual); diff != "" {
		t.Errorf("next (-want +got):\n%s", diff)
	}
	for _, s := range []string{"5 events checked, 1 alert", "3 events unreadable (bad-due, bad-zone, bad-change", "February 2025 has no day 29"} {
		if !strings.Contains(res.Found, s) {
			t.Errorf("Found = %q, want it to contain %q", res.Found, s)
		}
	}

	// The source failing fails the check.
	src.err = errors.New("database is locked")
	if _, err := mustWatcher(t, cfg, src).Check(context.Background(), watchers.Input{Now: now}); err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Errorf("Check with a failing source = %v", err)
	}

	// A cancelled context stops the tick.
	src.err = nil
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := mustWatcher(t, cfg, src).Check(ctx, watchers.Input{Now: now}); !errors.Is(err, context.Canceled) {
		t.Errorf("Check with a cancelled context = %v", err)
	}
}

// TestSameInstantChanges: changes at one instant make one changed alert
// (they would share its key), worded from before the first to after the
// last.
func TestSameInstantChanges(t *testing.T) {
	cfg := exampleConfig(t)
	at := mustTime(t, "2025-07-14T10:00:00+09:00")
	ev := watchers.Event{
		ID: "e", Title: "E", Due: "2025-07-20",
		Changes: []watchers.Change{
			{At: at, Due: "2025-07-27", Quiet: true},
			{At: at, Status: watchers.Postponed, Note: "typhoon"},
		},
	}
	alerts, _, next, err := Due(cfg, &ev, at.Add(-time.Minute), at)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0].Key != "deadlines/e/changed@2025-07-14T01:00:00Z" ||
		alerts[0].Text != "Due: Sun 20 July 2025 (scheduled) → Sun 27 July 2025 (postponed)\nNote: typhoon" {
		t.Errorf("alerts = %+v", alerts)
	}
	if !next.IsZero() {
		t.Errorf("next = %s, want none (postponed)", next)
	}
	// All quiet: no alert, but the new date is planned.
	ev.Changes[1].Quiet = true
	ev.Changes[1].Status = ""
	ms, err := Plan(cfg, &ev)
	if err != nil {
		t.Fatal(err)
	}
	want := []fire{
		{"deadlines/e/reminder/30d@2025-07-20", "2025-06-20T09:00:00+09:00"},
		{"deadlines/e/reminder/7d@2025-07-20", "2025-07-13T09:00:00+09:00"},
		{"deadlines/e/reminder/7d@2025-07-27", "2025-07-20T09:00:00+09:00"},
		{"deadlines/e/reminder/1d@2025-07-27", "2025-07-26T09:00:00+09:00"},
		{"deadlines/e/reminder/0d@2025-07-27", "2025-07-27T09:00:00+09:00"},
		{"deadlines/e/overdue@2025-07-27", "2025-07-28T09:00:00+09:00"},
	}
	if diff := cmp.Diff(want, fires(ms, "deadlines", "e")); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
}

// TestPlanInvariants checks random events against the definition: every
// reminder, window_open and overdue milestone is planned for the state in
// force at its own time, which is active; keys are unique; times sorted;
// Due agrees with Plan.
func TestPlanInvariants(t *testing.T) {
	cfg := exampleConfig(t)
	cfg.LeadTimes = mustLeads(t, "90d", "30d", "7d", "1d", "12h", "0d")
	loc := cfg.Location
	dues := []string{"", "2025-07", "2025-07-20", "2025-08-03", "2025-Q3", "JFY2025", "2025-07-20T10:00", "2025-07-20T10:00-05:00"}
	statuses := []watchers.Status{"", "", "", watchers.Tentative, watchers.Scheduled, watchers.Happened, watchers.Postponed, watchers.Cancelled}
	r := rand.New(rand.NewPCG(3, 4))
	base := time.Date(2025, 3, 1, 9, 0, 0, 0, loc)
	for i := range 300 {
		ev := watchers.Event{ID: "e", Title: "E", Due: dues[1+r.IntN(len(dues)-1)], Status: statuses[r.IntN(len(statuses))],
			CreatedAt: base.AddDate(0, 0, r.IntN(60))}
		at := base
		for range r.IntN(5) {
			if r.IntN(4) != 0 { // sometimes two changes share an instant
				at = at.Add(time.Duration(r.IntN(90*24)) * time.Hour)
			}
			ev.Changes = append(ev.Changes, watchers.Change{At: at, Due: dues[r.IntN(len(dues))], Status: statuses[r.IntN(len(statuses))], Quiet: r.IntN(4) == 0})
		}
		ms, err := Plan(cfg, &ev)
		if err != nil {
			t.Fatal(err)
		}
		keys := map[string]bool{}
		for j, m := range ms {
			key := m.Key("deadlines", ev.ID)
			if keys[key] {
				t.Fatalf("case %d: key %s twice in %+v", i, key, ev)
			}
			keys[key] = true
			if j > 0 && m.At.Before(ms[j-1].At) {
				t.Fatalf("case %d: not sorted at %d", i, j)
			}
			st, err := ev.StateAt(m.At, loc)
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind == watchers.KindChanged {
				if c := ev.Changes[m.Change-1]; !c.At.Equal(m.At) || c.At.Before(ev.CreatedAt) {
					t.Fatalf("case %d: changed milestone %+v does not match its change", i, m)
				}
				continue
			}
			if !st.Status.Active() || st.Due.Raw != m.Due {
				t.Fatalf("case %d: %s at %s, but the state then is %s %s", i, key, m.At, st.Due.Raw, st.Status)
			}
		}
		// Due over the whole span returns every milestone up to now.
		now := base.AddDate(1, 6, 0)
		alerts, skipped, _, err := Due(cfg, &ev, time.Time{}, now)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range ms {
			if !m.At.After(now) {
				n++
			}
		}
		if len(alerts)+len(skipped) != n {
			t.Fatalf("case %d: Due returned %d+%d, plan has %d up to now", i, len(alerts), len(skipped), n)
		}
	}
}

func TestMilestoneDescribe(t *testing.T) {
	cfg := exampleConfig(t)
	ev := exampleEvents(t)[2] // upper house: every kind but overdue
	ev.Changes = ev.Changes[:1]
	ms, err := Plan(cfg, &ev)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Describe())
	}
	want := []string{"90d reminder", "30d reminder", "7d reminder", "1d reminder", "window opens", "change notice",
		"7d reminder", "1d reminder", "0d reminder", "overdue notice"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Describe (-want +got):\n%s", diff)
	}
}
