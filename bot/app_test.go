package bot_test

// This file holds the shared helpers of bot's application tests: a settable
// clock, an in-memory platform that records what it was sent and can be
// told to fail, and newApp, which wires a Bot and its Router on the real
// SQLite store the way cmd/alertbot's wire() does.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/store"
	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/calendar"
	"github.com/policyteam/alertbot/watchers/countdown"
	"github.com/policyteam/alertbot/watchers/feed"
	"github.com/policyteam/alertbot/watchers/jsonapi"
	"github.com/policyteam/alertbot/watchers/page"
)

var tokyo = mustZone("Asia/Tokyo")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// Users and channels of the tests. The console user is the local admin.
const (
	admin   = "console:local"
	member  = "slack:U0MEMBER"
	channel = "slack:C0BUDGET"
)

// factories is the wiring table of cmd/alertbot: the real countdown, and
// the real source kinds, which validate watcher specs typed in chat (a
// feed needs a url) and name every kind in "unknown kind" errors. Nothing
// here fetches: the tests never run a source watcher.
var factories = map[string]watchers.Factory{
	"countdown": countdown.New,
	"feed":      feed.New,
	"page":      page.New,
	"calendar":  calendar.New,
	"jsonapi":   jsonapi.New,
}

// nextAlert plans an event's next alert with the countdown planner, as
// cmd/alertbot wires it into "/alerts event".
func nextAlert(cfg *bot.Config) func(ev *watchers.Event, now time.Time) (time.Time, string, bool) {
	ccfg := countdown.Config{WatcherID: "deadlines", Location: cfg.Location, AlertTime: cfg.AlertTime,
		LeadTimes: cfg.LeadTimes, CatchUp: cfg.CatchUp}
	return func(ev *watchers.Event, now time.Time) (time.Time, string, bool) {
		ms, err := countdown.Plan(ccfg, ev)
		if err != nil {
			return time.Time{}, "", false
		}
		for _, m := range ms {
			if m.At.After(now) {
				return m.At, m.Describe(), true
			}
		}
		return time.Time{}, "", false
	}
}

// planLeads plans a person's own reminders as cmd/alertbot wires them into
// "/alerts remind me".
func planLeads(cfg *bot.Config) bot.LeadPlanner {
	ccfg := countdown.Config{WatcherID: "personal", Location: cfg.Location, AlertTime: cfg.AlertTime, CatchUp: cfg.CatchUp}
	return func(ev *watchers.Event, leads []watchers.Lead, now time.Time) ([]watchers.Alert, error) {
		return countdown.AtLeads(ccfg, ev, leads, now)
	}
}

// clock is a settable test clock shared by the bot, the router and the
// store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// recordingPlatform is an in-memory platform: it records every attempt and
// every message it accepted, and fails a send when its fail func says so
// (bot.Transient or bot.Permanent errors, as real adapters return).
type recordingPlatform struct {
	name string

	mu       sync.Mutex
	attempts []bot.Outgoing
	sent     []bot.Outgoing
	fail     func(out bot.Outgoing) error
}

var _ bot.Platform = (*recordingPlatform)(nil)

func newPlatform(name string) *recordingPlatform { return &recordingPlatform{name: name} }

func (p *recordingPlatform) Name() string { return p.name }

func (p *recordingPlatform) Send(_ context.Context, out bot.Outgoing) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.attempts = append(p.attempts, out)
	if p.fail != nil {
		if err := p.fail(out); err != nil {
			return "", err
		}
	}
	p.sent = append(p.sent, out)
	return "m-" + bot.Nonce(out.DeliveryID), nil
}

// failWith makes later sends fail when fail returns an error.
func (p *recordingPlatform) failWith(fail func(out bot.Outgoing) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = fail
}

// Sent returns the messages the platform accepted, in order.
func (p *recordingPlatform) Sent() []bot.Outgoing {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]bot.Outgoing(nil), p.sent...)
}

// Attempts returns every send tried, failed ones included, in order.
func (p *recordingPlatform) Attempts() []bot.Outgoing {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]bot.Outgoing(nil), p.attempts...)
}

// sentTo returns the alert keys sent to a channel id (without the
// platform prefix), in order.
func (p *recordingPlatform) sentTo(ch string) []string {
	var keys []string
	for _, o := range p.Sent() {
		if o.Channel == ch {
			keys = append(keys, o.Message.AlertKey)
		}
	}
	return keys
}

var errBoom = errors.New("boom")

// app is a bot and its router wired on a real SQLite file, with a test
// clock and one recording platform per platform name.
type app struct {
	t      *testing.T
	path   string
	cfg    *bot.Config
	clock  *clock
	db     *store.DB
	bot    *bot.Bot
	router *bot.Router
	plat   map[string]*recordingPlatform // "console", "slack", "discord"
}

// appOptions change how newApp wires an app.
type appOptions struct {
	path      string           // database file; default a new file in t.TempDir()
	platforms []string         // recording platforms to enable; default console, slack and discord
	noSeed    bool             // leave the database as it is
	log       io.Writer        // the bot's log (text); default discarded
	fetcher   watchers.Fetcher // for source watchers; default none
	// beforeSave, when set, runs before each batch of events the bot
	// saves (SaveEvents, or a batch of LoadEvents) is stored; an error
	// fails that save.
	beforeSave func() error
	// afterSeedRead is bot.Options.AfterSeedRead.
	afterSeedRead func()
	// runs, when set, is the bot's run store, made from the database.
	runs func(db *store.DB) bot.RunStore
	// outbox, when set, is the bot's outbox, made from the database.
	outbox func(db *store.DB) bot.Outbox
}

// hookedEvents is the database as the bot's event store, with a hook run
// before each batch of events is stored.
type hookedEvents struct {
	*store.DB
	before func() error
}

func (h hookedEvents) SaveEvents(ctx context.Context, evs []bot.EventRecord) error {
	if err := h.before(); err != nil {
		return err
	}
	return h.DB.SaveEvents(ctx, evs)
}

func (h hookedEvents) LoadEvents(ctx context.Context, next func() ([]bot.EventRecord, error)) error {
	return h.DB.LoadEvents(ctx, func() ([]bot.EventRecord, error) {
		evs, err := next()
		if err == nil && len(evs) > 0 {
			err = h.before()
		}
		return evs, err
	})
}

// newApp parses configYAML (bot.ParseConfig with the real factories),
// opens a new database, wires a Bot and Router as cmd/alertbot does, and
// seeds the config into the database at now.
func newApp(t *testing.T, configYAML string, now time.Time) *app {
	t.Helper()
	return openApp(t, configYAML, now, appOptions{})
}

// openApp is newApp with options; reopening a path is a restart.
func openApp(t *testing.T, configYAML string, now time.Time, o appOptions) *app {
	t.Helper()
	cfg := parseConfig(t, configYAML)
	if o.path == "" {
		o.path = filepath.Join(t.TempDir(), "alertbot.db")
		if !o.noSeed {
			// A copy of the same database, seeded once: see seeded.
			if err := os.WriteFile(o.path, seeded(t, configYAML, now), 0o600); err != nil {
				t.Fatal(err)
			}
			o.noSeed = true
		}
	}
	if o.platforms == nil {
		o.platforms = []string{"console", "slack", "discord"}
	}
	clk := &clock{t: now}
	ctx := context.Background()
	db, err := store.Open(ctx, o.path, store.WithNow(clk.Now))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	a := &app{t: t, path: o.path, cfg: cfg, clock: clk, db: db, plat: map[string]*recordingPlatform{}}
	var platforms []bot.Platform
	for _, name := range o.platforms {
		p := newPlatform(name)
		a.plat[name] = p
		platforms = append(platforms, p)
	}
	var logger *slog.Logger
	if o.log != nil {
		logger = slog.New(slog.NewTextHandler(o.log, nil))
	}
	var runs bot.RunStore = db
	if o.runs != nil {
		runs = o.runs(db)
	}
	var outbox bot.Outbox = db
	if o.outbox != nil {
		outbox = o.outbox(db)
	}
	var events bot.EventStore = db
	if o.beforeSave != nil {
		events = hookedEvents{db, o.beforeSave}
	}
	a.bot, err = bot.New(bot.Options{
		Events: events, Watchers: db, Runs: runs, Outbox: outbox, Channels: db, Audit: db, Entries: db, Later: db, PlanLeads: planLeads(cfg),
		Config: cfg, Factories: factories, Platforms: platforms, Fetcher: o.fetcher,
		Now: clk.Now, LocalAdmin: "console:local", Logger: logger, AfterSeedRead: o.afterSeedRead,
	})
	if err != nil {
		t.Fatalf("bot.New: %v", err)
	}
	a.router, err = bot.NewRouter(bot.RouterOptions{
		Events: db, Watchers: db, History: db, Channels: db, Audit: db, Users: db, Proposals: db,
		Schedules: a.bot, Config: a.bot.Config, IsAdmin: a.bot.IsAdmin, Factories: factories,
		NextAlert: nextAlert(cfg), Now: clk.Now, Later: db, PlanLeads: planLeads(cfg), Loading: a.bot.Loading,
	})
	if err != nil {
		t.Fatalf("bot.NewRouter: %v", err)
	}
	if !o.noSeed {
		if _, err := a.bot.Seed(ctx); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	return a
}

// templates holds, by config and time, the file of a database that was
// opened (every migration run) and seeded at that time. Over a hundred
// tests start from a seeded database; copying one is several times
// faster than migrating and seeding each, and gives the same database.
var templates struct {
	mu    sync.Mutex
	files map[string][]byte
}

// seeded returns the bytes of a database file seeded from configYAML at
// now, building it on first use.
func seeded(t *testing.T, configYAML string, now time.Time) []byte {
	t.Helper()
	key := now.UTC().Format(time.RFC3339Nano) + "\n" + configYAML
	templates.mu.Lock()
	defer templates.mu.Unlock()
	if data, ok := templates.files[key]; ok {
		return data
	}
	dir := t.TempDir()
	a := openApp(t, configYAML, now, appOptions{path: filepath.Join(dir, "seed.db")})
	copyPath := filepath.Join(dir, "template.db")
	if err := a.db.Backup(context.Background(), copyPath); err != nil {
		t.Fatalf("template: %v", err)
	}
	data, err := os.ReadFile(copyPath)
	if err != nil {
		t.Fatal(err)
	}
	if templates.files == nil {
		templates.files = map[string][]byte{}
	}
	templates.files[key] = data
	return data
}

func parseConfig(t *testing.T, configYAML string) *bot.Config {
	t.Helper()
	cfg, err := bot.ParseConfig("test.yaml", []byte(configYAML), factories)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// teamConfig is the fixture config of the command tests.
func teamConfig(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "config", "team.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// do runs one command as user in ch.
func (a *app) do(user, ch, text string) bot.Reply {
	a.t.Helper()
	return a.router.Handle(context.Background(), bot.Request{Platform: "console", User: user, Channel: ch, Text: text})
}

// must runs one command that has to succeed.
func (a *app) must(user, ch, text string) bot.Reply {
	a.t.Helper()
	r := a.do(user, ch, text)
	if r.Error {
		a.t.Fatalf("/alerts %s as %s: %s", text, user, r.Text)
	}
	return r
}

// tick runs a watcher at the clock's time.
func (a *app) tick(id string) string {
	a.t.Helper()
	found, err := a.bot.RunWatcher(context.Background(), id, a.clock.Now())
	if err != nil {
		a.t.Fatalf("run %s: %v", id, err)
	}
	return found
}

// drain delivers everything due at the clock's time on every platform,
// pass after pass, until nothing is left to hand out.
func (a *app) drain() {
	a.t.Helper()
	for _, p := range a.plat {
		a.drainOn(p)
	}
}

func (a *app) drainOn(p bot.Platform) {
	a.t.Helper()
	for range 100 {
		n, err := a.bot.DeliverPending(context.Background(), p)
		if err != nil {
			a.t.Fatalf("deliver on %s: %v", p.Name(), err)
		}
		if n == 0 {
			return
		}
	}
	a.t.Fatalf("deliveries on %s never drained", p.Name())
}

// history returns a channel's deliveries, newest first.
func (a *app) history(ch string) []bot.HistoryItem {
	a.t.Helper()
	h, err := a.db.ChannelHistory(context.Background(), ch, 0)
	if err != nil {
		a.t.Fatal(err)
	}
	return h
}

// alerts returns the stored alerts of an event (skipped ones included),
// newest first.
func (a *app) alerts(event string) []bot.AlertRecord {
	a.t.Helper()
	as, err := a.db.AlertsForEvent(context.Background(), event, 0)
	if err != nil {
		a.t.Fatal(err)
	}
	return as
}

// auditLog returns the audit log, newest first.
func (a *app) auditLog() []bot.AuditEntry {
	a.t.Helper()
	log, err := a.db.AuditLog(context.Background(), 0)
	if err != nil {
		a.t.Fatal(err)
	}
	return log
}
