package bot_test

import (
	"context"
	"strings"
	"testing"
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
	a = openApp(t, seedConfig, seedNow, appOptions{noSeed: true, beforeSave: func() {
		done, total, active = a.bot.Loading()
		during = append(during, a.do(member, channel, "upcoming").Text)
		r := a.do(admin, channel, "subscribe all")
		if !r.Error {
			t.Errorf("subscribe while loading: %q, want it refused", r.Text)
		}
		during = append(during, r.Text)
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
