// Package bot is alertbot's application layer: configuration, seeding,
// running watchers, routing their alerts to subscribed channels through an
// outbox, and answering /alerts commands. It talks to storage and chat
// platforms only through the Store and Platform interfaces.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// DefaultFailAfter is how many consecutive failed checks raise a
// watcher_failing alert when a watcher does not set fail_after.
const DefaultFailAfter = 3

// Options wire a Bot.
type Options struct {
	Store     Store
	Config    *Config
	Factories map[string]watchers.Factory
	Fetcher   watchers.Fetcher
	Platforms []Platform
	Logger    *slog.Logger
	Now       func() time.Time
	Metrics   *Metrics
	// LocalAdmin is the user address of the console operator, who is an
	// admin of a local bot ("console:local").
	LocalAdmin string
	// RunTimeout bounds one watcher check (default 2m).
	RunTimeout time.Duration
	// NextAlert, when set, tells "/alerts event" the next alert planned
	// for an event (wired by cmd to the countdown planner).
	NextAlert func(ev *watchers.Event, now time.Time) (at time.Time, what string, ok bool)
	// AfterCommit, when set, is called after a check committed new
	// deliveries; tests use it to crash the process at that moment.
	AfterCommit func(created int)
}

// Bot runs watchers, delivers alerts and answers commands.
type Bot struct {
	store      Store
	cfgMu      sync.RWMutex // guards cfg and admins, replaced on reload
	cfg        *Config
	factories  map[string]watchers.Factory
	fetcher    watchers.Fetcher
	platforms  map[string]Platform
	log        *slog.Logger
	now        func() time.Time
	metrics    *Metrics
	admins     map[string]bool
	runner     *watchers.Runner
	router     *Router
	after      func(int)
	nextAlert  func(ev *watchers.Event, now time.Time) (time.Time, string, bool)
	nudge      chan struct{}
	localAdmin string

	mu        sync.Mutex
	instances map[string]instance // built watchers by id
	found     map[string]string   // last check summary by watcher id

	wakes   map[string]chan struct{} // per platform worker
	workers sync.WaitGroup
}

type instance struct {
	spec string // JSON of the spec it was built from
	w    watchers.Watcher
}

// New builds a Bot; call Seed, then Start.
func New(opts Options) (*Bot, error) {
	if opts.Store == nil || opts.Config == nil {
		return nil, errors.New("bot: store and config are required")
	}
	b := &Bot{
		store:     opts.Store,
		cfg:       opts.Config,
		factories: opts.Factories,
		fetcher:   opts.Fetcher,
		platforms: map[string]Platform{},
		log:       opts.Logger,
		now:       opts.Now,
		metrics:   opts.Metrics,
		admins:    map[string]bool{},
		after:     opts.AfterCommit,
		nextAlert: opts.NextAlert,
		nudge:     make(chan struct{}, 1),
		instances: map[string]instance{},
		found:     map[string]string{},
		wakes:     map[string]chan struct{}{},
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.now == nil {
		b.now = time.Now
	}
	if b.metrics == nil {
		b.metrics = NewMetrics(nil)
	}
	for _, p := range opts.Platforms {
		b.platforms[p.Name()] = p
		b.wakes[p.Name()] = make(chan struct{}, 1)
	}
	for _, a := range opts.Config.Admins {
		b.admins[a] = true
	}
	if opts.LocalAdmin != "" {
		b.admins[opts.LocalAdmin] = true
		b.localAdmin = opts.LocalAdmin
	}
	timeout := opts.RunTimeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	b.runner = watchers.NewRunner(b.runJob, b.log, watchers.WithRunTimeout(timeout), watchers.WithClock(b.now), watchers.WithLocation(opts.Config.Location))
	b.router = newRouter(b)
	return b, nil
}

// Router returns the command router, a Handler for every platform.
func (b *Bot) Router() *Router { return b.router }

// Location returns the config's zone.
func (b *Bot) Location() *time.Location { return b.config().Location }

// IsAdmin reports whether user (an address) is an admin.
func (b *Bot) IsAdmin(user string) bool {
	b.cfgMu.RLock()
	defer b.cfgMu.RUnlock()
	return b.admins[user]
}

func (b *Bot) config() *Config {
	b.cfgMu.RLock()
	defer b.cfgMu.RUnlock()
	return b.cfg
}

// Reseed switches to a reloaded config (SIGHUP): new admins, then the
// file's entries are seeded as at start, and the schedules of watchers
// are refreshed.
func (b *Bot) Reseed(ctx context.Context, cfg *Config) (SeedReport, error) {
	b.cfgMu.Lock()
	admins := map[string]bool{}
	for a := range b.admins {
		if b.localAdmin == a {
			admins[a] = true
		}
	}
	for _, a := range cfg.Admins {
		admins[a] = true
	}
	b.cfg, b.admins = cfg, admins
	b.cfgMu.Unlock()
	rep, err := b.Seed(ctx)
	if err != nil {
		return rep, err
	}
	ws, err := b.store.Watchers(ctx)
	if err != nil {
		return rep, err
	}
	for _, w := range ws {
		if err := b.runner.Add(w.Spec.ID, w.Spec.Schedule); err != nil {
			b.log.Error("watcher not rescheduled", "watcher", w.Spec.ID, "err", err)
		}
	}
	return rep, nil
}

// Runner returns the cron runner.
func (b *Bot) Runner() *watchers.Runner { return b.runner }

// deps are what watcher factories get.
func (b *Bot) deps() watchers.Deps {
	return watchers.Deps{Defaults: b.config().Defaults(), Events: b.store, Fetcher: b.fetcher}
}

// Start schedules every watcher and starts one delivery worker per
// platform. It returns at once; Stop ends both.
func (b *Bot) Start(ctx context.Context) error {
	ws, err := b.store.Watchers(ctx)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	for _, w := range ws {
		if err := b.runner.Add(w.Spec.ID, w.Spec.Schedule); err != nil {
			return fmt.Errorf("start: watcher %s: %w", w.Spec.ID, err)
		}
	}
	b.runner.Start(ctx)
	b.workers.Add(1)
	go func() {
		defer b.workers.Done()
		b.nudgeLoop(ctx)
	}()
	for _, p := range b.platforms {
		b.workers.Add(1)
		go func() {
			defer b.workers.Done()
			b.deliverLoop(ctx, p)
		}()
	}
	return nil
}

// Stop stops scheduling checks, waits for running checks, and waits for the
// delivery workers, which finish in-flight sends (bounded by sendGrace).
// The caller cancels the context given to Start first.
func (b *Bot) Stop() {
	<-b.runner.Stop().Done()
	b.workers.Wait()
}

// runJob is the runner's job: one check of one watcher.
func (b *Bot) runJob(ctx context.Context, id string, now time.Time) error {
	_, err := b.RunWatcher(ctx, id, now)
	return err
}

// RunWatcher checks one watcher now and commits what it found. It returns
// the check's one-line summary. A check that stopped at a batch limit is
// run again, batch after batch, each committed on its own.
func (b *Bot) RunWatcher(ctx context.Context, id string, now time.Time) (string, error) {
	var found []string
	for batch := 0; ; batch++ {
		f, more, err := b.runOnce(ctx, id, now)
		found = append(found, f)
		if err != nil || !more || batch >= 10_000 {
			if len(found) > 1 {
				f = fmt.Sprintf("%d batches; last: %s", len(found), f)
				b.mu.Lock()
				b.found[id] = f
				b.mu.Unlock()
			}
			return f, err
		}
	}
}

func (b *Bot) runOnce(ctx context.Context, id string, now time.Time) (string, bool, error) {
	rec, err := b.store.Watcher(ctx, id)
	if err != nil {
		return "", false, fmt.Errorf("watcher %s: %w", id, err)
	}
	if rec.Spec.Paused {
		return "paused", false, nil
	}
	if rec.Spec.Kind == "countdown" {
		// Changes that came due since the last look change what "current"
		// means for upcoming and event; refresh them before planning.
		if err := b.refresh(ctx, now); err != nil {
			return "", false, err
		}
	}
	run := RunRecord{Watcher: id, At: now}
	var res watchers.Result
	w, err := b.instance(rec.Spec)
	if err == nil {
		res, err = w.Check(ctx, watchers.Input{Now: now, State: rec.State})
	}
	b.metrics.WatcherRun(rec.Spec.Kind, err)
	routes, rerr := b.routes(ctx, now)
	if rerr != nil {
		return "", false, rerr
	}
	if err != nil {
		run.Err = err.Error()
		run.Failures = rec.Failures + 1
		run.Failing = rec.Failing
		limit := rec.Spec.FailAfter
		if limit <= 0 {
			limit = DefaultFailAfter
		}
		if run.Failures >= limit && !rec.Failing {
			run.Failing = true
			a := watchers.Alert{
				Key:      fmt.Sprintf("%s/watcher_failing@%s", id, keyTime(now)),
				Kind:     watchers.KindWatcherFailing,
				Watcher:  id,
				At:       now,
				Title:    fmt.Sprintf("Watcher %s is failing", id),
				Text:     fmt.Sprintf("%d checks in a row failed. Last error: %s", run.Failures, err),
				Severity: watchers.Warning,
			}
			run.Alerts = append(run.Alerts, NewAlert{Alert: a, Channels: routes.channels(a)})
		}
		b.log.Warn("watcher check failed", "watcher", id, "failures", run.Failures, "err", err)
	} else {
		run.UpdateState = true
		run.State = res.State
		if rec.Failing {
			a := watchers.Alert{
				Key:      fmt.Sprintf("%s/watcher_recovered@%s", id, keyTime(now)),
				Kind:     watchers.KindWatcherRecovered,
				Watcher:  id,
				At:       now,
				Title:    fmt.Sprintf("Watcher %s recovered", id),
				Text:     fmt.Sprintf("It works again after %d failed checks.", rec.Failures),
				Severity: watchers.Notice,
			}
			run.Alerts = append(run.Alerts, NewAlert{Alert: a, Channels: routes.channels(a)})
		}
		for _, a := range res.Alerts {
			run.Alerts = append(run.Alerts, NewAlert{Alert: a, Channels: routes.channels(a)})
		}
		// Record as skipped only what was really missed (within catch_up);
		// an event's older history never was going to be sent, and writing
		// it would make a first start over many events slow.
		catchUp := b.config().CatchUp
		if catchUp <= 0 {
			catchUp = 7 * 24 * time.Hour
		}
		for _, a := range res.Skipped {
			if now.Sub(a.At) <= catchUp {
				run.Alerts = append(run.Alerts, NewAlert{Alert: a, Skipped: true})
			}
		}
		run.Next = res.Next
		for _, ev := range res.Events {
			er, err := b.mergeSourceEvent(ctx, ev, now)
			if err != nil {
				b.log.Warn("watcher event not saved", "watcher", id, "event", ev.ID, "err", err)
				continue
			}
			run.Events = append(run.Events, er)
		}
	}
	created, err := b.store.CommitRun(ctx, run)
	if err != nil {
		return "", false, fmt.Errorf("watcher %s: commit: %w", id, err)
	}
	for _, a := range created {
		b.metrics.AlertCreated(a.Alert.Kind)
	}
	if len(created) > 0 {
		if b.after != nil {
			b.after(len(created))
		}
		b.kick()
	}
	found := res.Found
	if run.Err != "" {
		found = "check failed: " + run.Err
	}
	b.mu.Lock()
	b.found[id] = found
	b.mu.Unlock()
	if run.Err != "" {
		return found, false, errors.New(run.Err)
	}
	return found, res.More, nil
}

// LastFound returns the summary of the watcher's last check in this process.
func (b *Bot) LastFound(id string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.found[id]
}

func keyTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999Z07:00") }

// instance returns the built watcher for spec, rebuilding it when the spec
// changed.
func (b *Bot) instance(spec watchers.Spec) (watchers.Watcher, error) {
	key := specJSON(spec)
	b.mu.Lock()
	defer b.mu.Unlock()
	if in, ok := b.instances[spec.ID]; ok && in.spec == key {
		return in.w, nil
	}
	f, ok := b.factories[spec.Kind]
	if !ok {
		return nil, fmt.Errorf("unknown watcher kind %q", spec.Kind)
	}
	w, err := f(spec, b.deps())
	if err != nil {
		return nil, err
	}
	b.instances[spec.ID] = instance{spec: key, w: w}
	return w, nil
}

// nudgeDateWatchers asks for a prompt countdown check after an admin
// changed an event, so its `changed` alert does not wait for the schedule.
func (b *Bot) nudgeDateWatchers() {
	select {
	case b.nudge <- struct{}{}:
	default:
	}
}

func (b *Bot) nudgeLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.nudge:
		}
		ws, err := b.store.Watchers(ctx)
		if err != nil {
			continue
		}
		for _, w := range ws {
			if w.Spec.Kind == "countdown" && !w.Spec.Paused {
				if err := b.runner.RunNow(ctx, w.Spec.ID); err != nil {
					b.log.Debug("nudged check failed", "watcher", w.Spec.ID, "err", err)
				}
			}
		}
	}
}

// kick wakes the delivery workers.
func (b *Bot) kick() {
	for _, w := range b.wakes {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

// Materialize sets rec's current state and next change as of now, as the
// bot does before storing an event.
func (b *Bot) Materialize(rec *EventRecord, now time.Time) error { return b.materialize(rec, now) }

// materialize sets rec's current state and next change as of now.
func (b *Bot) materialize(rec *EventRecord, now time.Time) error {
	loc, err := rec.Location(b.config().Location)
	if err != nil {
		return err
	}
	st, err := rec.StateAt(now, loc)
	if err != nil {
		return err
	}
	rec.Current = st
	rec.NextChange = time.Time{}
	for _, c := range rec.Changes {
		if c.At.After(now) {
			rec.NextChange = c.At
			break
		}
	}
	return nil
}

// localize puts rec's current window back into the event's zone (the
// store keeps instants in UTC), so dates read as the event's local dates.
func (b *Bot) localize(rec *EventRecord) {
	loc, err := rec.Location(b.config().Location)
	if err != nil {
		return
	}
	rec.Current.Due.Start = rec.Current.Due.Start.In(loc)
	rec.Current.Due.End = rec.Current.Due.End.In(loc)
}

// refresh re-materializes events whose next change came due by now.
func (b *Bot) refresh(ctx context.Context, now time.Time) error {
	evs, err := b.store.EventsChangingBy(ctx, now)
	if err != nil {
		return fmt.Errorf("refresh events: %w", err)
	}
	for i := range evs {
		if err := b.materialize(&evs[i], now); err != nil {
			b.log.Warn("event state not refreshed", "event", evs[i].ID, "err", err)
			continue
		}
		if err := b.store.SaveEvent(ctx, evs[i]); err != nil {
			return fmt.Errorf("refresh event %s: %w", evs[i].ID, err)
		}
	}
	return nil
}

// mergeSourceEvent turns an event reported by a source watcher into the
// record to store: new events are created as reported; for known events
// the reported changes are appended to the history.
func (b *Bot) mergeSourceEvent(ctx context.Context, ev watchers.Event, now time.Time) (EventRecord, error) {
	rec, err := b.store.Event(ctx, ev.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		rec = EventRecord{Event: ev}
		rec.CreatedAt = now
	case err != nil:
		return EventRecord{}, err
	default:
		rec.Changes = append(slices.Clone(rec.Changes), ev.Changes...)
		sort.SliceStable(rec.Changes, func(i, j int) bool { return rec.Changes[i].At.Before(rec.Changes[j].At) })
		rec.Tags = ev.Tags
	}
	rec.UpdatedAt, rec.UpdatedBy = now, ev.Origin
	if err := b.materialize(&rec, now); err != nil {
		return EventRecord{}, err
	}
	return rec, nil
}

// routeTable matches alerts to channels: subscriptions minus mutes.
type routeTable struct {
	subs  []Subscription
	mutes []Mute
	// enabled platforms; nil means every platform (replay)
	enabled map[string]Platform
}

func (b *Bot) routes(ctx context.Context, now time.Time) (*routeTable, error) {
	subs, err := b.store.Subscriptions(ctx)
	if err != nil {
		return nil, fmt.Errorf("load subscriptions: %w", err)
	}
	mutes, err := b.store.Mutes(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("load mutes: %w", err)
	}
	return &routeTable{subs: subs, mutes: mutes, enabled: b.platforms}, nil
}

// TargetMatches reports whether a subscription or mute target covers a.
func TargetMatches(target string, a watchers.Alert) bool {
	kind, val, _ := strings.Cut(target, ":")
	switch kind {
	case "all":
		return true
	case "tag":
		return slices.Contains(a.Tags, val)
	case "watcher":
		return a.Watcher == val
	case "event":
		return a.Event != "" && a.Event == val
	}
	return false
}

// channels returns the subscribed, un-muted channels for a, in a stable
// order, on platforms this bot runs.
func (rt *routeTable) channels(a watchers.Alert) []string {
	var out []string
	for _, s := range rt.subs {
		if slices.Contains(out, s.Channel) || !TargetMatches(s.Target, a) {
			continue
		}
		if rt.enabled != nil {
			p, _, _ := strings.Cut(s.Channel, ":")
			if _, ok := rt.enabled[p]; !ok {
				continue
			}
		}
		muted := false
		for _, m := range rt.mutes {
			if m.Channel == s.Channel && TargetMatches(m.Target, a) {
				muted = true
				break
			}
		}
		if !muted {
			out = append(out, s.Channel)
		}
	}
	sort.Strings(out)
	return out
}
