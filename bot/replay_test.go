package bot_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

// replayConfig has a month-precision event with its own lead times and a
// dated change that sets the day, subscribed by tag and by all, and a
// channel that wants something else.
const replayConfig = `
timezone: Asia/Tokyo
alert_time: "09:00"
catch_up: 7d
events:
  - id: election
    title: Upper House election
    due: 2025-07
    lead_times: [30d, 7d, 0d]
    tags: [japan, election]
    changes:
      - at: 2025-07-03
        due: 2025-07-20
        status: scheduled
        note: election officially announced
watchers:
  - id: deadlines
    kind: countdown
    schedule: "@hourly"
subscriptions:
  - channel: slack:CELECT
    to: [tag:election]
  - channel: console:local
    to: [all]
  - channel: slack:COTHER
    to: [tag:budget]
`

// The replayed period: the bot starts two days after the 30d reminder of
// the July window (2025-06-01 09:00), so it catches that one up at once.
var (
	replayFrom = time.Date(2025, 6, 3, 0, 0, 0, 0, tokyo)
	replayTo   = time.Date(2025, 8, 1, 0, 0, 0, 0, tokyo)
)

// replayed is what the comparisons look at in an alert.
type replayed struct {
	At       time.Time
	Kind     watchers.Kind
	Key      string
	Channels []string
}

func jst(month time.Month, day, hour int) time.Time {
	return time.Date(2025, month, day, hour, 0, 0, 0, tokyo)
}

// TestReplay: the alerts of DESIGN §4 for a month window whose day is set
// by a dated change: the missed 30d reminder caught up at --from, the 7d
// reminder and window_open of the month, the change, and after it the
// milestones of the new day (its 30d reminder, already past at the change,
// is covered by the change), then overdue, since nothing marked the
// election as happened.
func TestReplay(t *testing.T) {
	cfg := parseConfig(t, replayConfig)
	got, err := bot.Replay(context.Background(), cfg, factories, replayFrom, replayTo)
	if err != nil {
		t.Fatal(err)
	}
	both := []string{"console:local", "slack:CELECT"}
	want := []replayed{
		{At: replayFrom, Kind: watchers.KindReminder, Key: "deadlines/election/reminder/30d@2025-07", Channels: both},
		{At: jst(6, 24, 9), Kind: watchers.KindReminder, Key: "deadlines/election/reminder/7d@2025-07", Channels: both},
		{At: jst(7, 1, 9), Kind: watchers.KindWindowOpen, Key: "deadlines/election/window_open@2025-07", Channels: both},
		{At: jst(7, 3, 9), Kind: watchers.KindChanged, Key: "deadlines/election/changed@2025-07-03T00:00:00Z", Channels: both},
		{At: jst(7, 13, 9), Kind: watchers.KindReminder, Key: "deadlines/election/reminder/7d@2025-07-20", Channels: both},
		{At: jst(7, 20, 9), Kind: watchers.KindReminder, Key: "deadlines/election/reminder/0d@2025-07-20", Channels: both},
		{At: jst(7, 21, 9), Kind: watchers.KindOverdue, Key: "deadlines/election/overdue@2025-07-20", Channels: both},
	}
	var gotR []replayed
	for _, a := range got {
		gotR = append(gotR, replayed{At: a.At, Kind: a.Kind, Key: a.Key, Channels: a.Channels})
		if a.Watcher != "deadlines" || a.Event != "election" {
			t.Errorf("%s: watcher %q, event %q", a.Key, a.Watcher, a.Event)
		}
	}
	if diff := cmp.Diff(want, gotR, timeEqual); diff != "" {
		t.Fatalf("replay (-want +got):\n%s", diff)
	}
	// Texts state the time left when the alert is sent.
	for i, want := range map[int]string{4: "in 7 days", 3: "July 2025 (tentative) → Sun 20 July 2025 (scheduled)", 6: "Overdue"} {
		if !strings.Contains(got[i].Text, want) {
			t.Errorf("%s text %q lacks %q", got[i].Key, got[i].Text, want)
		}
	}

	// A replay that starts later catches up only the latest missed
	// milestone, and only within catch_up.
	late, err := bot.Replay(context.Background(), cfg, factories, jst(7, 2, 0), jst(7, 4, 0))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, a := range late {
		keys = append(keys, a.At.Format(time.RFC3339)+" "+a.Key)
	}
	wantKeys := []string{
		"2025-07-02T00:00:00+09:00 deadlines/election/window_open@2025-07",
		"2025-07-03T09:00:00+09:00 deadlines/election/changed@2025-07-03T00:00:00Z",
	}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Errorf("replay from 2025-07-02 (-want +got):\n%s", diff)
	}
	if _, err := bot.Replay(context.Background(), cfg, factories, replayTo, replayFrom); err == nil {
		t.Error("replay with --from after --to succeeded")
	}
}

// TestReplayIsTheBot: a bot started at --from on an empty database, its
// watcher run on its own schedule (@hourly) by a clock stepped through the
// period, creates exactly the alerts replay reports: the same keys, at the
// same times, to the same channels, with the same texts — and delivers
// them.
func TestReplayIsTheBot(t *testing.T) {
	cfg := parseConfig(t, replayConfig)
	replay, err := bot.Replay(context.Background(), cfg, factories, replayFrom, replayTo)
	if err != nil {
		t.Fatal(err)
	}
	if len(replay) == 0 {
		t.Fatal("replay reported nothing")
	}

	a := openApp(t, replayConfig, replayFrom, appOptions{platforms: []string{"console", "slack"}})
	sched, err := watchers.ParseSchedule(cfg.Watchers[0].Spec.Schedule)
	if err != nil {
		t.Fatal(err)
	}
	for now := replayFrom; now.Before(replayTo); now = sched.Next(now) {
		a.clock.Set(now)
		a.tick("deadlines")
	}

	channels := map[string][]string{} // alert key → channels with a delivery
	for _, ch := range []string{"console:local", "slack:CELECT", "slack:COTHER"} {
		for _, h := range a.history(ch) {
			channels[h.Alert.Key] = append(channels[h.Alert.Key], ch)
		}
	}
	type alert struct {
		At          time.Time
		Kind        watchers.Kind
		Key         string
		Channels    []string
		Title, Text string
	}
	var served []alert
	for _, rec := range a.alerts("election") {
		if rec.Skipped {
			continue
		}
		chs := slices.Sorted(slices.Values(channels[rec.Alert.Key]))
		served = append(served, alert{At: rec.Created, Kind: rec.Alert.Kind, Key: rec.Alert.Key, Channels: chs, Title: rec.Alert.Title, Text: rec.Alert.Text})
	}
	slices.SortFunc(served, func(x, y alert) int { return x.At.Compare(y.At) })
	var fromReplay []alert
	for _, r := range replay {
		fromReplay = append(fromReplay, alert{At: r.At, Kind: r.Kind, Key: r.Key, Channels: r.Channels, Title: r.Title, Text: r.Text})
	}
	if diff := cmp.Diff(fromReplay, served, timeEqual); diff != "" {
		t.Errorf("replay (-) and the served bot (+) differ:\n%s", diff)
	}

	a.drain()
	for ch, p := range map[string]*recordingPlatform{"local": a.plat["console"], "CELECT": a.plat["slack"]} {
		var want []string
		for _, r := range replay {
			want = append(want, r.Key)
		}
		if diff := cmp.Diff(want, p.sentTo(ch)); diff != "" {
			t.Errorf("delivered to %s (-replay +sent):\n%s", ch, diff)
		}
	}
	if got := a.plat["slack"].sentTo("COTHER"); len(got) != 0 {
		t.Errorf("COTHER got %v", got)
	}
}
