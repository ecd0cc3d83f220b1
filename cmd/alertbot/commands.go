package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/console"
	"github.com/policyteam/alertbot/store"
	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/countdown"
	"github.com/policyteam/alertbot/watchers/fetch"
)

// replayLine is one line of `replay --json` (DESIGN §2).
type replayLine struct {
	At       string   `json:"at"`
	Kind     string   `json:"kind"`
	Watcher  string   `json:"watcher"`
	Event    string   `json:"event"`
	Channels []string `json:"channels"`
	Title    string   `json:"title"`
	Text     string   `json:"text"`
	// HeldFrom is set on a line of a channel whose quiet hours held the
	// alert: when it would have been posted; At is when it is (DESIGN §9).
	HeldFrom string `json:"held_from,omitempty"`
	// Items, on a digest line, are the keys of the alerts it lists.
	Items *[]string `json:"items,omitempty"`
}

func (m *Main) replay(ctx context.Context, args []string) error {
	var c common
	fs := m.flags("replay", &c, false)
	from := fs.String("from", "", "start of the period: YYYY-MM-DD (midnight in the config's zone) or RFC 3339")
	to := fs.String("to", "", "end of the period (exclusive), same forms")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return &exitError{2, "alertbot replay: --from and --to are required, e.g. --from 2024-12-01 --to 2025-09-01"}
	}
	cfg, err := m.loadConfig(c.config)
	if err != nil {
		return err
	}
	start, err := parseWhen(*from, cfg.Location)
	if err != nil {
		return &exitError{2, "alertbot replay: --from: " + err.Error()}
	}
	end, err := parseWhen(*to, cfg.Location)
	if err != nil {
		return &exitError{2, "alertbot replay: --to: " + err.Error()}
	}
	alerts, err := bot.Replay(ctx, cfg, factories, start, end)
	if err != nil {
		return &exitError{1, "alertbot: " + err.Error()}
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetEscapeHTML(false)
		for _, a := range alerts {
			chans := a.Channels
			if chans == nil {
				chans = []string{}
			}
			line := replayLine{
				At: a.At.In(cfg.Location).Format(time.RFC3339), Kind: string(a.Kind), Watcher: a.Watcher,
				Event: a.Event, Channels: chans, Title: a.Title, Text: a.Text,
			}
			if !a.HeldFrom.IsZero() {
				line.HeldFrom = a.HeldFrom.In(cfg.Location).Format(time.RFC3339)
			}
			if a.Kind == bot.KindDigest {
				items := a.Items
				if items == nil {
					items = []string{}
				}
				line.Items = &items
			}
			if err := enc.Encode(line); err != nil {
				return err
			}
		}
		return nil
	}
	if len(alerts) == 0 {
		fmt.Fprintf(m.Stdout, "No alerts between %s and %s.\n", start.Format(time.RFC3339), end.Format(time.RFC3339))
		return nil
	}
	for _, a := range alerts {
		to := strings.Join(a.Channels, ", ")
		if to == "" {
			to = "no subscribed channel"
		}
		if !a.HeldFrom.IsZero() {
			to += " (held by quiet hours from " + a.HeldFrom.In(cfg.Location).Format("2006-01-02 15:04") + ")"
		}
		fmt.Fprintf(m.Stdout, "%s  %-11s %s → %s\n", a.At.In(cfg.Location).Format("2006-01-02 15:04 MST"), a.Kind, a.Title, to)
		for _, line := range strings.Split(a.Text, "\n") {
			fmt.Fprintf(m.Stdout, "    %s\n", line)
		}
	}
	fmt.Fprintf(m.Stdout, "%s.\n", bot.Plural(len(alerts), "alert"))
	return nil
}

// nextAlert wires the countdown planner into "/alerts event".
func nextAlert(cfg *bot.Config) func(ev *watchers.Event, now time.Time) (time.Time, string, bool) {
	ccfg := countdown.Config{
		WatcherID: "deadlines",
		Location:  cfg.Location,
		AlertTime: cfg.AlertTime,
		LeadTimes: cfg.LeadTimes,
		CatchUp:   cfg.CatchUp,
	}
	return func(ev *watchers.Event, now time.Time) (time.Time, string, bool) {
		ms, err := countdown.Plan(ccfg, ev)
		if err != nil {
			return time.Time{}, "", false
		}
		for _, ms := range ms {
			if ms.At.After(now) {
				return ms.At, ms.Describe(), true
			}
		}
		return time.Time{}, "", false
	}
}

// planLeads plans a person's own reminders of an event (/alerts remind me
// event:<id> 3d) with the countdown planner, so they read as the
// channel's reminders do.
func planLeads(cfg *bot.Config) bot.LeadPlanner {
	ccfg := countdown.Config{WatcherID: "personal", Location: cfg.Location, AlertTime: cfg.AlertTime, CatchUp: cfg.CatchUp}
	return func(ev *watchers.Event, leads []watchers.Lead, now time.Time) ([]watchers.Alert, error) {
		return countdown.AtLeads(ccfg, ev, leads, now)
	}
}

// app is a bot wired on an open database: the engine and its router.
type app struct {
	db     *store.DB
	bot    *bot.Bot
	router *bot.Router
}

// wire builds the engine and the router on db; this and the factories
// table are the one place that knows every concrete type.
func wire(db *store.DB, o bot.Options) (*bot.Bot, *bot.Router, error) {
	o.Events, o.Watchers, o.Runs, o.Outbox, o.Channels, o.Audit, o.Entries, o.Later = db, db, db, db, db, db, db, db
	if o.Factories == nil {
		o.Factories = factories
	}
	if o.PlanLeads == nil {
		o.PlanLeads = planLeads(o.Config)
	}
	b, err := bot.New(o)
	if err != nil {
		return nil, nil, err
	}
	r, err := bot.NewRouter(bot.RouterOptions{
		Events: db, Watchers: db, History: db, Channels: db, Audit: db, Users: db, Proposals: db,
		Schedules: b, Config: b.Config, IsAdmin: b.IsAdmin, Factories: o.Factories,
		NextAlert: nextAlert(o.Config), Now: o.Now, Metrics: o.Metrics, Logger: o.Logger,
		Later: db, PlanLeads: planLeads(o.Config), Loading: b.Loading,
	})
	if err != nil {
		return nil, nil, err
	}
	return b, r, nil
}

// openBot opens the database and builds a bot on it (not started).
func (m *Main) openBot(ctx context.Context, c common, cfg *bot.Config, platforms []bot.Platform, opts func(*bot.Options)) (*app, error) {
	log, err := m.logger(c)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, c.db, store.WithLogger(log), store.WithNow(m.now))
	if err != nil {
		return nil, &exitError{1, "alertbot: " + err.Error()}
	}
	fo := fetch.DefaultOptions()
	fo.UserAgent = fetch.UserAgent(Version)
	fo.Logger = log.With("component", "fetch")
	o := bot.Options{
		Config: cfg, Factories: factories, Platforms: platforms, Fetcher: fetch.New(fo),
		Logger: log, Now: m.now, LocalAdmin: console.Address,
	}
	if opts != nil {
		opts(&o)
	}
	b, r, err := wire(db, o)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &app{db: db, bot: b, router: r}, nil
}

func (m *Main) exec(ctx context.Context, args []string) error {
	var c common
	fs := m.flags("exec", &c, false)
	as := fs.String("as", console.Address, "user address to run the command as, e.g. slack:U0123")
	channel := fs.String("channel", console.Address, "channel address the command applies to")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	text := execText(fs.Args())
	if text == "" {
		return &exitError{2, "alertbot exec: give the command after --, e.g. alertbot exec -- upcoming 400d"}
	}
	if err := requireDB("exec", c.db); err != nil {
		return err
	}
	cfg, err := m.loadConfig(c.config)
	if err != nil {
		return err
	}
	a, err := m.openBot(ctx, c, cfg, nil, nil)
	if err != nil {
		return err
	}
	defer a.db.Close()
	b, db := a.bot, a.db
	// Seed from an explicit config, or from the example into an empty
	// database, so `alertbot exec -- upcoming` works on a fresh checkout
	// without overwriting a database seeded from another file.
	seed := c.config != ""
	if !seed {
		n, err := db.CountEvents(ctx)
		if err != nil {
			return err
		}
		ws, err := db.Watchers(ctx)
		if err != nil {
			return err
		}
		seed = n == 0 && len(ws) == 0
	}
	if seed {
		if _, err := b.Seed(ctx); err != nil {
			return err
		}
	}
	reply := a.router.Handle(ctx, bot.Request{Platform: "exec", User: *as, Channel: *channel, Text: text})
	fmt.Fprintln(m.Stdout, reply.Text)
	if reply.Attachment != nil {
		// The timeline picture: into the working directory, as the
		// console does.
		path, err := console.SaveFile("", reply.Attachment)
		if err != nil {
			return &exitError{1, "alertbot: exec: writing the picture: " + err.Error()}
		}
		fmt.Fprintln(m.Stdout, "Picture: "+path)
	}
	return execExit(reply)
}

func (m *Main) backup(ctx context.Context, args []string) error {
	var c common
	fs := m.flags("backup", &c, false)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &exitError{2, "alertbot backup: give the backup file, e.g. alertbot backup alertbot-2026-11-25.db"}
	}
	if store.IsPostgres(c.db) {
		// Refused before connecting: opening would migrate the database
		// only to say no.
		return &exitError{1, "alertbot: backup: " + store.ErrBackupUnsupported.Error()}
	}
	log, err := m.logger(c)
	if err != nil {
		return err
	}
	if err := requireDB("backup", c.db); err != nil {
		return err
	}
	db, err := store.Open(ctx, c.db, store.WithLogger(log))
	if err != nil {
		return &exitError{1, "alertbot: " + err.Error()}
	}
	defer db.Close()
	if err := db.Backup(ctx, fs.Arg(0)); err != nil {
		return &exitError{1, "alertbot: backup: " + err.Error()}
	}
	fmt.Fprintf(m.Stdout, "backed up %s to %s\n", c.db, fs.Arg(0))
	return nil
}
