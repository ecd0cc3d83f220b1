package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

// alertKeys counts the stored alerts of the config's events by key.
func alertKeys(t *testing.T, tb *testBot) map[string]int {
	t.Helper()
	keys := map[string]int{}
	for _, cf := range tb.cfg.Events {
		as, err := tb.db.AlertsForEvent(context.Background(), cf.Event.ID, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			keys[a.Alert.Key]++
		}
	}
	return keys
}

// TestNoDuplicateAlerts: a second tick, a restart and two runners on the
// same database at once create each alert once.
func TestNoDuplicateAlerts(t *testing.T) {
	// 2025-07-13 09:00 JST: the election's 7d reminder is due, and the
	// window_open of 07-01 and the change of 07-03 are in the past week.
	now := time.Date(2025, 7, 13, 9, 0, 30, 0, tokyo)
	path := filepath.Join(t.TempDir(), "a.db")
	a := openTestBot(t, path, "", now)
	b := openTestBot(t, path, "", now) // a second process on the same file

	var wg sync.WaitGroup
	for _, tb := range []*testBot{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := tb.RunWatcher(context.Background(), "deadlines", now); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	a.tick(t, "deadlines") // and once more
	first := alertKeys(t, a)
	for k, n := range first {
		if n != 1 {
			t.Errorf("alert %s stored %d times", k, n)
		}
	}
	want := "deadlines/upper-house-election-2025/reminder/7d@2025-07-20"
	if first[want] != 1 {
		t.Fatalf("no %s among %v", want, first)
	}

	// Deliveries: each alert reaches the console once although both bots
	// drain the same outbox.
	a.drain(t, a.plat)
	b.drain(t, b.plat)
	sent := map[string]int{}
	for _, o := range append(a.plat.Sent(), b.plat.Sent()...) {
		sent[o.Message.AlertKey]++
	}
	if sent[want] != 1 {
		t.Errorf("%s delivered %d times", want, sent[want])
	}

	// A restart: a new bot on the same file, a minute later.
	c := openTestBot(t, path, "", now.Add(time.Minute))
	c.tick(t, "deadlines")
	if diff := len(alertKeys(t, c)) - len(first); diff != 0 {
		t.Errorf("restart created %d new alerts", diff)
	}
}

// TestSeedTwiceChangesNothing: seeding an unchanged config again writes
// nothing; an edited entry is updated as a change, keeping chat edits of
// other entries.
func TestSeedTwiceChangesNothing(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, tokyo)
	tb := newTestBot(t, "", now)
	rep, err := tb.Seed(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.EventsCreated+rep.EventsUpdated+rep.WatchersCreated+rep.WatchersUpdated+rep.SubscriptionsAdded != 0 {
		t.Errorf("second seed changed %+v", rep)
	}
	// A chat edit survives a reseed of the unchanged file.
	if r := tb.run(t, admin, admin, "event set jp-fy2027-budget status=postponed"); r.Error {
		t.Fatal(r.Text)
	}
	if _, err := tb.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev, err := tb.db.Event(context.Background(), "jp-fy2027-budget")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Current.Status != "postponed" {
		t.Errorf("chat edit lost on reseed: status %s", ev.Current.Status)
	}
	// Chat-made events are never deleted by the file.
	if r := tb.run(t, admin, admin, "event add chat-only 2027-05 Made in chat"); r.Error {
		t.Fatal(r.Text)
	}
	if _, err := tb.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.db.Event(context.Background(), "chat-only"); err != nil {
		t.Errorf("chat event gone after seed: %v", err)
	}
}

// TestConfigEditIsAChange: editing an entry in the file updates it from the
// file as a dated change (history kept, `changed` alerted).
func TestConfigEditIsAChange(t *testing.T) {
	const v1 = `
timezone: Asia/Tokyo
admins: [console:local]
events:
  - id: e1
    title: Event one
    due: 2027-02
watchers:
  - id: deadlines
    kind: countdown
    schedule: "@every 1m"
subscriptions:
  - channel: console:local
    to: [all]
`
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, tokyo)
	path := filepath.Join(t.TempDir(), "a.db")
	tb := openTestBot(t, path, v1, now)
	tb.tick(t, "deadlines")
	later := now.Add(time.Hour)
	v2 := strings.Replace(v1, "due: 2027-02", "due: 2027-02-10", 1)
	tb3 := openTestBot(t, path, v2, later)
	ev, err := tb3.db.Event(context.Background(), "e1")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Current.Due.Raw != "2027-02-10" || ev.Current.Status != "scheduled" || len(ev.Changes) != 1 || ev.Changes[0].By != "config-reload" {
		t.Fatalf("after the edit: current %+v, changes %+v", ev.Current, ev.Changes)
	}
	tb3.tick(t, "deadlines")
	tb3.drain(t, tb3.plat)
	var changed int
	for _, o := range tb3.plat.Sent() {
		if o.Message.Kind == "changed" {
			changed++
		}
	}
	if changed != 1 {
		t.Errorf("%d changed alerts after the file edit, want 1", changed)
	}
}

// TestCountdownBatches: one check over more events than fit in a batch
// still alerts every one of them, once.
func TestCountdownBatches(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, tokyo)
	tb := newTestBot(t, benchConfig, now)
	n := 2*watchers.DueBatch + 7
	recs := make([]bot.EventRecord, n)
	for i := range recs {
		recs[i] = bot.EventRecord{Event: watchers.Event{
			ID: fmt.Sprintf("b-%05d", i), Title: "Batch", Due: now.Add(30 * time.Minute).Format("2006-01-02T15:04"),
			LeadTimes: []watchers.Lead{{N: 1, Unit: 'h'}}, Origin: "chat", CreatedAt: now,
		}}
		if err := tb.Materialize(&recs[i], now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tb.db.CommitRun(context.Background(), bot.RunRecord{Watcher: "deadlines", At: now, Events: recs}); err != nil {
		t.Fatal(err)
	}
	// The batches grow as watchers.CheckBatches says; the last one is
	// the first that comes back short.
	batches, left := 0, n
	for i := 0; ; i++ {
		batches++
		b := watchers.CheckBatches[min(i, len(watchers.CheckBatches)-1)]
		if left < b {
			break
		}
		left -= b
	}
	found := tb.tick(t, "deadlines")
	if want := fmt.Sprintf("%d batches", batches); !strings.Contains(found, want) {
		t.Errorf("found %q, want %s", found, want)
	}
	tb.tick(t, "deadlines")
	tb.drain(t, tb.plat)
	if got := len(tb.plat.Sent()); got != n {
		t.Errorf("sent %d reminders, want %d", got, n)
	}
}
