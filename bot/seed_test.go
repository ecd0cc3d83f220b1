package bot_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

var seedNow = time.Date(2026, 11, 25, 10, 0, 0, 0, tokyo)

// seedConfig has two events (one with a dated change still ahead), two
// watchers and three subscriptions in two channels.
const seedConfig = `
timezone: Asia/Tokyo
admins: [console:local]
events:
  - id: e1
    title: Event one
    due: 2027-02
    tags: [japan]
  - id: e2
    title: Event two
    due: 2027-06-30
    changes:
      - at: 2027-01-15
        status: postponed
        note: put off
watchers:
  - id: deadlines
    kind: countdown
    schedule: "@every 1m"
  - id: japan-only
    kind: countdown
    schedule: "@every 1h"
    tags: [japan]
subscriptions:
  - channel: console:local
    to: [all]
  - channel: slack:C1
    to: [tag:japan, event:e2]
`

// seed runs Seed and returns its report.
func (a *app) seed() bot.SeedReport {
	a.t.Helper()
	rep, err := a.bot.Seed(context.Background())
	if err != nil {
		a.t.Fatalf("seed: %v", err)
	}
	return rep
}

func (a *app) event(id string) bot.EventRecord {
	a.t.Helper()
	ev, err := a.db.Event(context.Background(), id)
	if err != nil {
		a.t.Fatalf("event %s: %v", id, err)
	}
	return ev
}

func (a *app) watcher(id string) bot.WatcherRecord {
	a.t.Helper()
	w, err := a.db.Watcher(context.Background(), id)
	if err != nil {
		a.t.Fatalf("watcher %s: %v", id, err)
	}
	return w
}

func (a *app) subscriptions() []string {
	a.t.Helper()
	subs, err := a.db.Subscriptions(context.Background())
	if err != nil {
		a.t.Fatal(err)
	}
	var out []string
	for _, s := range subs {
		out = append(out, s.Channel+" "+s.Target+" "+s.Origin)
	}
	return out
}

// TestSeedCreates: the first Seed creates every event, watcher and
// subscription of the file, marked as from the config, and audits it.
func TestSeedCreates(t *testing.T) {
	a := openApp(t, seedConfig, seedNow, appOptions{noSeed: true})
	rep := a.seed()
	want := bot.SeedReport{EventsCreated: 2, WatchersCreated: 2, SubscriptionsAdded: 3}
	if rep != want {
		t.Errorf("report %+v, want %+v", rep, want)
	}
	for i, id := range []string{"e1", "e2"} {
		ev := a.event(id)
		if ev.Origin != "config" || ev.Hash != a.cfg.Events[i].Hash() || ev.UpdatedBy != "config" ||
			!ev.UpdatedAt.Equal(seedNow) || !ev.CreatedAt.Equal(seedNow) {
			t.Errorf("event %s: origin %q hash %q by %q at %s created %s", id, ev.Origin, ev.Hash, ev.UpdatedBy, ev.UpdatedAt, ev.CreatedAt)
		}
	}
	// Materialized: the current state, and the next dated change.
	e1, e2 := a.event("e1"), a.event("e2")
	if e1.Current.Due.Raw != "2027-02" || e1.Current.Status != watchers.Tentative || !e1.NextChange.IsZero() {
		t.Errorf("e1 current %+v, next change %s", e1.Current, e1.NextChange)
	}
	if e2.Current.Status != watchers.Scheduled || !e2.NextChange.Equal(time.Date(2027, 1, 15, 9, 0, 0, 0, tokyo)) {
		t.Errorf("e2 current %+v, next change %s; want scheduled until 2027-01-15 09:00 JST", e2.Current, e2.NextChange)
	}
	for i, id := range []string{"deadlines", "japan-only"} {
		w := a.watcher(id)
		if w.Origin != "config" || w.Hash != a.cfg.Watchers[i].Hash || !w.Dated || w.UpdatedBy != "config" {
			t.Errorf("watcher %s: %+v", id, w)
		}
	}
	if diff := cmp.Diff(a.cfg.Watchers[1].Spec, a.watcher("japan-only").Spec); diff != "" {
		t.Errorf("japan-only spec (-config +stored):\n%s", diff)
	}
	wantSubs := []string{"console:local all config", "slack:C1 event:e2 config", "slack:C1 tag:japan config"}
	if diff := cmp.Diff(wantSubs, a.subscriptions()); diff != "" {
		t.Errorf("subscriptions (-want +got):\n%s", diff)
	}
	log := a.auditLog()
	if len(log) != 1 || log[0].Action != "seed" || log[0].Who != "config" || log[0].Target != "test.yaml" {
		t.Fatalf("audit log %+v, want one seed entry", log)
	}
	var logged bot.SeedReport
	if err := json.Unmarshal([]byte(log[0].After), &logged); err != nil || logged != want {
		t.Errorf("audited report %q (%v), want %+v", log[0].After, err, want)
	}
	// The seeded objects answer commands.
	if r := a.must(member, "slack:C1", "subscriptions"); !strings.Contains(r.Text, "• #japan (config)") {
		t.Errorf("subscriptions:\n%s", r.Text)
	}
	if r := a.must(member, channel, "event e2"); !strings.Contains(r.Text, "2027-01-15 09:00 JST (planned) — status scheduled → postponed; put off (by config)") {
		t.Errorf("event e2:\n%s", r.Text)
	}
}

// TestSeedAgainChangesNothing: seeding the same file again — at once, or
// after a restart — writes nothing, and keeps what chat changed.
func TestSeedAgainChangesNothing(t *testing.T) {
	a := newApp(t, seedConfig, seedNow)
	auditLen := len(a.auditLog())
	a.clock.Add(time.Hour)
	if rep := a.seed(); rep != (bot.SeedReport{}) {
		t.Errorf("second seed changed %+v", rep)
	}
	if ev := a.event("e1"); !ev.UpdatedAt.Equal(seedNow) {
		t.Errorf("e1 rewritten at %s", ev.UpdatedAt)
	}
	if w := a.watcher("deadlines"); !w.UpdatedAt.Equal(seedNow) {
		t.Errorf("deadlines rewritten at %s", w.UpdatedAt)
	}
	if got := len(a.auditLog()); got != auditLen {
		t.Errorf("second seed wrote %d audit entries", got-auditLen)
	}

	// A chat edit survives a reseed of the unchanged file, and a restart.
	a.must(admin, admin, "event set e1 status=postponed")
	a.must(admin, admin, `watcher set japan-only schedule="@every 2h"`)
	if rep := a.seed(); rep != (bot.SeedReport{}) {
		t.Errorf("seed after chat edits changed %+v", rep)
	}
	b := openApp(t, seedConfig, seedNow.Add(2*time.Hour), appOptions{path: a.path, noSeed: true})
	if rep := b.seed(); rep != (bot.SeedReport{}) {
		t.Errorf("seed after a restart changed %+v", rep)
	}
	if ev := b.event("e1"); ev.Current.Status != watchers.Postponed {
		t.Errorf("chat edit lost on reseed: status %s", ev.Current.Status)
	}
	if w := b.watcher("japan-only"); w.Spec.Schedule != "@every 2h" {
		t.Errorf("chat edit of a watcher lost on reseed: schedule %q", w.Spec.Schedule)
	}
	if r := b.must(member, channel, "event e1"); !strings.Contains(r.Text, "Defined in the config file; current state from console:local") {
		t.Errorf("event e1 does not say where its state came from:\n%s", r.Text)
	}
}

// TestSeedEditedEntry: editing an entry in the file updates it from the
// file at the next load, as a dated config-reload change: history is
// kept, chat changes are kept, and `changed` is alerted once.
func TestSeedEditedEntry(t *testing.T) {
	a := newApp(t, seedConfig, seedNow)
	a.tick("deadlines")
	a.drain()
	if got := len(a.plat["console"].Sent()); got != 0 {
		t.Fatalf("first tick sent %v", a.plat["console"].Sent())
	}
	a.must(admin, admin, `event set e1 note="checked with the ministry"`)

	later := seedNow.Add(time.Hour)
	v2 := strings.Replace(seedConfig, "due: 2027-02\n", "due: 2027-02-10\n", 1)
	v2 = strings.Replace(v2, "    title: Event two\n", "    title: Event two (renamed)\n", 1)
	v2 = strings.Replace(v2, `schedule: "@every 1h"`, `schedule: "@every 30m"`, 1)
	b := openApp(t, v2, later, appOptions{path: a.path, noSeed: true})
	rep := b.seed()
	if want := (bot.SeedReport{EventsUpdated: 2, WatchersUpdated: 1}); rep != want {
		t.Errorf("report %+v, want %+v", rep, want)
	}

	// e1: the chat note, then the reload with the file's new due.
	e1 := b.event("e1")
	wantE1 := []watchers.Change{
		{At: seedNow, By: "console:local", Note: "checked with the ministry"},
		{At: later, By: "config-reload", Note: "config file edited", Due: "2027-02-10"},
	}
	if diff := cmp.Diff(wantE1, e1.Changes, timeEqual); diff != "" {
		t.Errorf("e1 changes (-want +got):\n%s", diff)
	}
	if e1.Current.Due.Raw != "2027-02-10" || e1.Current.Status != watchers.Scheduled || e1.Due != "2027-02" {
		t.Errorf("e1: due %s, current %s [%s]; want the file's first due kept, 2027-02-10 scheduled now", e1.Due, e1.Current.Due.Raw, e1.Current.Status)
	}
	// e2: the reload's new title, then the file's own planned change.
	e2 := b.event("e2")
	wantE2 := []watchers.Change{
		{At: later, By: "config-reload", Note: "config file edited", Title: "Event two (renamed)"},
		{At: time.Date(2027, 1, 15, 9, 0, 0, 0, tokyo), By: "config", Note: "put off", Status: watchers.Postponed},
	}
	if diff := cmp.Diff(wantE2, e2.Changes, timeEqual); diff != "" {
		t.Errorf("e2 changes (-want +got):\n%s", diff)
	}
	if e2.Current.Title != "Event two (renamed)" || e2.Hash != b.cfg.Events[1].Hash() {
		t.Errorf("e2 after the edit: title %q, hash %q", e2.Current.Title, e2.Hash)
	}
	if w := b.watcher("japan-only"); w.Spec.Schedule != "@every 30m" || w.Hash != b.cfg.Watchers[1].Hash || !w.UpdatedAt.Equal(later) {
		t.Errorf("japan-only after the edit: %+v", w)
	}

	b.tick("deadlines")
	b.tick("deadlines") // a second tick adds nothing
	b.drain()
	var changed []string
	for _, o := range b.plat["console"].Sent() {
		if o.Message.Kind == watchers.KindChanged {
			changed = append(changed, o.Message.AlertKey)
		}
	}
	wantKeys := []string{"deadlines/e1/changed@2026-11-25T02:00:00Z", "deadlines/e2/changed@2026-11-25T02:00:00Z"}
	if diff := cmp.Diff(wantKeys, slices.Sorted(slices.Values(changed))); diff != "" {
		t.Errorf("changed alerts after the file edit (-want +got):\n%s", diff)
	}
}

// TestSeedFileTakesOverChatEvent: an event made in chat and later defined
// in the file is taken over by the file, as a change.
func TestSeedFileTakesOverChatEvent(t *testing.T) {
	a := newApp(t, seedConfig, seedNow)
	a.must(admin, admin, "event add e3 2027-09 Made in chat")
	later := seedNow.Add(time.Hour)
	v2 := strings.Replace(seedConfig, "watchers:", `  - id: e3
    title: Now in the file
    due: 2027-09-15
watchers:`, 1)
	b := openApp(t, v2, later, appOptions{path: a.path, noSeed: true})
	if rep := b.seed(); rep != (bot.SeedReport{EventsUpdated: 1}) {
		t.Errorf("report %+v, want one event updated", rep)
	}
	ev := b.event("e3")
	if ev.Origin != "config" || ev.Current.Title != "Now in the file" || ev.Current.Due.Raw != "2027-09-15" {
		t.Errorf("e3 after the file took over: origin %q, current %+v", ev.Origin, ev.Current)
	}
	if n := len(ev.Changes); n == 0 || ev.Changes[n-1].By != "config-reload" || ev.Changes[n-1].Note != "now defined in the config file" {
		t.Errorf("e3 changes %+v", ev.Changes)
	}
}

// TestSeedKeepsChatObjects: what chat created — events, watchers,
// subscriptions — survives seeding any file, even one that no longer
// lists some entries.
func TestSeedKeepsChatObjects(t *testing.T) {
	a := newApp(t, seedConfig, seedNow)
	a.must(admin, admin, "event add chat-only 2027-05 Made in chat #japan")
	a.must(admin, admin, `watcher add countdown chat-watcher schedule="@every 5m"`)
	a.must(member, "slack:C9", "subscribe event:chat-only")
	a.must(member, "slack:C1", "subscribe all")

	// The file drops e2, japan-only and the slack:C1 subscriptions.
	v2 := `
timezone: Asia/Tokyo
events:
  - id: e1
    title: Event one
    due: 2027-02
    tags: [japan]
watchers:
  - id: deadlines
    kind: countdown
    schedule: "@every 1m"
subscriptions:
  - channel: console:local
    to: [all]
`
	for _, restart := range []bool{false, true} {
		var b *app
		if restart {
			b = openApp(t, v2, seedNow.Add(time.Hour), appOptions{path: a.path})
		} else {
			if _, err := a.bot.Reseed(context.Background(), parseConfig(t, v2)); err != nil {
				t.Fatal(err)
			}
			b = a
		}
		for _, id := range []string{"chat-only", "e1", "e2"} {
			b.event(id)
		}
		if ev := b.event("chat-only"); ev.Origin != "chat" || ev.Current.Title != "Made in chat" {
			t.Errorf("restart=%v: chat event %+v", restart, ev)
		}
		if w := b.watcher("chat-watcher"); w.Origin != "chat" || w.Spec.Schedule != "@every 5m" {
			t.Errorf("restart=%v: chat watcher %+v", restart, w)
		}
		b.watcher("japan-only")
		want := []string{"console:local all config", "slack:C1 all chat", "slack:C1 event:e2 config", "slack:C1 tag:japan config", "slack:C9 event:chat-only chat"}
		if diff := cmp.Diff(want, b.subscriptions()); diff != "" {
			t.Errorf("restart=%v: subscriptions (-want +got):\n%s", restart, diff)
		}
	}
}

// TestReseedNewAdmins: a reloaded config changes who is an admin at once,
// for the router too; the console operator stays one. Its entries are
// seeded and its watchers scheduled.
func TestReseedNewAdmins(t *testing.T) {
	v1 := strings.Replace(seedConfig, "admins: [console:local]", "admins: [slack:U0OLD]", 1)
	a := newApp(t, v1, seedNow)
	const set = "event set e1 status=postponed"
	if r := a.do("slack:U0OLD", channel, set); r.Error {
		t.Fatalf("old admin refused before the reload: %s", r.Text)
	}
	if r := a.do("slack:U0NEW", channel, set); !r.Error {
		t.Fatalf("new admin accepted before the reload: %s", r.Text)
	}

	v2 := strings.Replace(seedConfig, "admins: [console:local]", "admins: [slack:U0NEW]", 1)
	v2 = strings.Replace(v2, "subscriptions:", `  - id: weekly
    kind: countdown
    schedule: "@every 1h"
subscriptions:`, 1)
	v2 = strings.Replace(v2, "watchers:", `  - id: e-new
    title: Added on reload
    due: 2027-08
watchers:`, 1)
	cfg2 := parseConfig(t, v2)
	rep, err := a.bot.Reseed(context.Background(), cfg2)
	if err != nil {
		t.Fatal(err)
	}
	if want := (bot.SeedReport{EventsCreated: 1, WatchersCreated: 1}); rep != want {
		t.Errorf("reseed report %+v, want %+v", rep, want)
	}
	if a.bot.Config() != cfg2 {
		t.Error("Config() is not the reloaded config")
	}
	for user, want := range map[string]bool{"slack:U0NEW": true, "slack:U0OLD": false, "console:local": true, "slack:U0MEMBER": false} {
		if got := a.bot.IsAdmin(user); got != want {
			t.Errorf("IsAdmin(%s) = %v, want %v", user, got, want)
		}
		r := a.do(user, channel, "event set e1 status=scheduled")
		if r.Error == want {
			t.Errorf("after the reload, %s: %s", user, r.Text)
		}
		if help := a.do(user, channel, "help"); strings.Contains(help.Text, "event add") != want {
			t.Errorf("after the reload, help for %s:\n%s", user, help.Text)
		}
	}
	if r := a.must(member, channel, "event e-new"); !strings.Contains(r.Text, "Added on reload (e-new)") {
		t.Errorf("event e-new:\n%s", r.Text)
	}
	next, ok := a.bot.NextRun("weekly")
	if !ok || !next.Equal(seedNow.Add(time.Hour)) {
		t.Errorf("NextRun(weekly) = %s, %v; want %s", next, ok, seedNow.Add(time.Hour))
	}
	if r := a.must(member, channel, "watchers"); !strings.Contains(r.Text, "next run 2026-11-25 11:00 JST") {
		t.Errorf("watchers does not show the reseeded schedule:\n%s", r.Text)
	}
}

var timeEqual = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })
