package bot_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/policyteam/alertbot/bot"
)

// TestCommandsWhileSeeding: while Seed stores the file's events, commands
// are answered, reads with a note saying how far loading is and changes
// refused for now; once it is done the note is gone and the refused
// command works.
func TestCommandsWhileSeeding(t *testing.T) {
	var a *app
	var during []string
	var active bool
	var done, total int
	a = openApp(t, seedConfig, seedNow, appOptions{noSeed: true, beforeSave: func() error {
		done, total, active = a.bot.Loading()
		during = append(during, a.do(member, channel, "upcoming").Text)
		r := a.do(admin, channel, "subscribe all")
		if !r.Error {
			t.Errorf("subscribe while loading: %q, want it refused", r.Text)
		}
		during = append(during, r.Text)
		return nil
	}})
	if _, _, active := a.bot.Loading(); active {
		t.Fatal("loading before Seed")
	}
	a.seed()
	if !active || done != 0 || total != 2 {
		t.Errorf("Loading() during the seed = %d, %d, %v; want 0 of 2, active", done, total, active)
	}
	if len(during) != 2 {
		t.Fatalf("%d replies during the seed, want 2", len(during))
	}
	if !strings.HasPrefix(during[0], "(Still loading the config, 0 of 2 events stored: this answer may be incomplete.)\n") {
		t.Errorf("upcoming while loading:\n%s", during[0])
	}
	if !strings.Contains(during[1], "still loading its config (0 of 2 events stored); /alerts subscribe changes things, so it waits") {
		t.Errorf("subscribe while loading:\n%s", during[1])
	}
	if _, _, active := a.bot.Loading(); active {
		t.Error("still loading after Seed")
	}
	if r := a.must(member, channel, "upcoming"); strings.Contains(r.Text, "loading") || !strings.Contains(r.Text, "Event one") {
		t.Errorf("upcoming after the seed:\n%s", r.Text)
	}
	a.must(admin, channel, "subscribe all")
}

// TestForgetConfigEvents: once seeded, the file's events can be dropped
// from the config in force; they stay in the database, and a reload of
// the file (Reseed) reads them again.
func TestForgetConfigEvents(t *testing.T) {
	a := newApp(t, seedConfig, seedNow)
	a.bot.ForgetConfigEvents()
	if n := len(a.bot.Config().Events); n != 0 {
		t.Fatalf("%d events in the config after ForgetConfigEvents", n)
	}
	if r := a.must(member, channel, "upcoming"); !strings.Contains(r.Text, "Event one") {
		t.Errorf("upcoming after the events were forgotten:\n%s", r.Text)
	}
	edited := strings.Replace(seedConfig, "title: Event one", "title: Event one, edited", 1)
	rep, err := a.bot.Reseed(context.Background(), parseConfig(t, edited))
	if err != nil || rep.EventsUpdated != 1 {
		t.Fatalf("reseed: %+v, %v; want one event updated", rep, err)
	}
	if ev := a.event("e1"); ev.Current.Title != "Event one, edited" {
		t.Errorf("e1 after the reload: %q", ev.Current.Title)
	}
}

// TestSeedAfterCrash: a start that dies while seeding (here the second
// batch of events fails) stores none of the file's events: they go in one
// transaction (the watcher, seeded before them, stays). The next start
// stores them all, each to be looked at by the watcher, and the one after
// changes nothing.
func TestSeedAfterCrash(t *testing.T) {
	const n = 4500 // three batches
	var cfg strings.Builder
	cfg.WriteString("timezone: Asia/Tokyo\nevents:\n")
	for i := range n {
		fmt.Fprintf(&cfg, "  - id: ev-%d\n    title: Event %d\n    due: 2027-%02d\n    tags: [t%d]\n", i, i, i%12+1, i%7)
	}
	cfg.WriteString("watchers:\n  - id: deadlines\n    kind: countdown\n    schedule: \"@every 1h\"\n")
	path := filepath.Join(t.TempDir(), "a.db")
	saves := 0
	crashed := openApp(t, cfg.String(), seedNow, appOptions{path: path, noSeed: true, beforeSave: func() error {
		if saves++; saves == 2 {
			return errors.New("killed")
		}
		return nil
	}})
	rep, err := crashed.bot.Seed(context.Background())
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("seed with a failing batch: %v, want the batch's error", err)
	}
	if rep.EventsCreated != 0 {
		t.Errorf("the failed seed reports %d events created, want 0: none were kept", rep.EventsCreated)
	}
	if got, err := crashed.db.CountEvents(context.Background()); err != nil || got != 0 {
		t.Fatalf("%d events stored after the failed seed (%v), want none", got, err)
	}
	next := openApp(t, cfg.String(), seedNow, appOptions{path: path, noSeed: true})
	if rep := next.seed(); rep.EventsCreated != n || rep.EventsUpdated != 0 || rep.WatchersCreated != 0 {
		t.Errorf("the next start: %+v, want %d events created and the watcher as it was", rep, n)
	}
	// Batches of 50, 200, 1,000, 2,000 and the last 1,250.
	if found, err := next.bot.RunWatcher(context.Background(), "deadlines", seedNow); err != nil || !strings.HasPrefix(found, "5 batches; last: 1250 events checked") {
		t.Errorf("the watcher's first check: %q, %v; want all %d events looked at", found, err, n)
	}
	if got, err := next.db.CountEvents(context.Background()); err != nil || got != n {
		t.Errorf("%d events after the next start (%v), want %d", got, err, n)
	}
	if ev := next.event("ev-4499"); ev.Title != "Event 4499" || len(ev.Tags) != 1 || ev.Tags[0] != "t5" {
		t.Errorf("the last event: %+v", ev.Event)
	}
	if rep := next.seed(); rep != (bot.SeedReport{}) {
		t.Errorf("a third start: %+v, want nothing changed", rep)
	}
}

// TestAfterSeedRead: Options.AfterSeedRead is called once, when the seed
// has read the last of the file's events and before they are stored (the
// load is one transaction, still open); the events it drops from the
// config then (as serve does) are stored all the same.
func TestAfterSeedRead(t *testing.T) {
	const n = 4500 // three batches
	var cfg strings.Builder
	cfg.WriteString("timezone: Asia/Tokyo\nevents:\n")
	for i := range n {
		fmt.Fprintf(&cfg, "  - id: ev-%d\n    title: Event %d\n    due: 2027-%02d\n", i, i, i%12+1)
	}
	var a *app
	calls, storedThen := 0, -1
	a = openApp(t, cfg.String(), seedNow, appOptions{noSeed: true, afterSeedRead: func() {
		calls++
		n, err := a.db.CountEvents(context.Background())
		if err != nil {
			t.Error(err)
		}
		storedThen = n
		a.bot.ForgetConfigEvents()
	}})
	if rep := a.seed(); rep.EventsCreated != n {
		t.Errorf("seed: %+v, want %d events created", rep, n)
	}
	if calls != 1 || storedThen != 0 {
		t.Errorf("AfterSeedRead called %d times, with %d events stored; want once, with none stored yet", calls, storedThen)
	}
	if got, err := a.db.CountEvents(context.Background()); err != nil || got != n {
		t.Errorf("%d events stored (%v), want %d", got, err, n)
	}
	if len(a.bot.Config().Events) != 0 {
		t.Error("the config still holds its events")
	}
}
