// Package bot is alertbot's application layer: configuration, seeding,
// running watchers through one run pipeline, routing their alerts to
// subscribed channels through an outbox, and answering /alerts commands.
// It talks to storage through small interfaces declared next to their
// consumers, and to chat platforms through Platform.
package bot

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// DefaultFailAfter is how many consecutive failed checks raise a
// watcher_failing alert when a watcher does not set fail_after.
const DefaultFailAfter = 3

// WatcherStore keeps watchers; the engine, the seeder and the commands use
// it. Lookups of unknown ids return ErrNotFound (wrapped).
type WatcherStore interface {
	SaveWatcher(ctx context.Context, w WatcherRecord) error
	Watcher(ctx context.Context, id string) (WatcherRecord, error)
	Watchers(ctx context.Context) ([]WatcherRecord, error)
	DeleteWatcher(ctx context.Context, id string) error
}

// Options wire a Bot.
type Options struct {
	Events   EventStore
	Watchers WatcherStore
	Runs     RunStore
	Outbox   Outbox
	Channels ChannelStore
	Audit    AuditLog
	// Later, when set, keeps posts scheduled for later ("Remind again",
	// personal reminders); the delivery workers post them when due,
	// checking personal reminders against their event with PlanLeads.
	Later     LaterStore
	PlanLeads LeadPlanner
	// Entries, when set, remembers the config's subscription entries as
	// last seeded, so chat changes to them persist over restarts.
	Entries ConfigEntries

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
	// Owner names this process on its delivery claims (the lease holder,
	// say); a claim by any other owner is resolved before a resend.
	// Default: a random name, new with each process.
	Owner string
	// ClaimTTL is how long a channel stays claimed by this process's
	// workers unless they extend it, when several processes deliver from
	// one outbox (replicas on PostgreSQL, DESIGN §12): a dead process's
	// channels are taken over after it. Zero, the default, means this
	// process is the outbox's only deliverer (SQLite's one owner): its
	// claims do not expire and other owners' are stale.
	ClaimTTL time.Duration
	// Announce, when set, tells the other processes sharing the database
	// about a change (a topic such as TopicWatchers); they hand it to
	// Notified. PostgreSQL's NOTIFY, say.
	Announce func(ctx context.Context, topic string) error
	// RunTimeout bounds one watcher check (default 2m).
	RunTimeout time.Duration
	// AfterCommit, when set, is called after a check committed new
	// deliveries; crash tests use it to kill the process at that moment.
	AfterCommit func(created int)
	// AfterSeedRead, when set, is called once Seed (or Reseed) has read
	// the last of the config's events, before the store has finished
	// saving them: a server drops them then (ForgetConfigEvents), so the
	// 40 MB of a 100,000-event file are not held while the store builds
	// its indexes.
	AfterSeedRead func()
	// AfterFirstPass, when set, is called once after Start, in a worker
	// of its own, when every date watcher woken at Start has finished
	// its first run (at once when there is none): a server builds then
	// what a first start left for later (the lists' indexes), so it does
	// not hold up the planning. ctx is Start's.
	AfterFirstPass func(ctx context.Context)
}

// Bot is the engine: it schedules watchers, runs them through the run
// pipeline and delivers their alerts. Commands are answered by a Router
// built beside it.
type Bot struct {
	events   EventStore
	watchers WatcherStore
	outbox   Outbox
	channels ChannelStore
	audit    AuditLog
	entries  ConfigEntries
	later    LaterStore
	plan     LeadPlanner
	pipe     *pipeline

	cfgMu      sync.RWMutex // guards cfg and admins, replaced on reload
	cfg        *Config
	admins     map[string]bool
	localAdmin string

	factories map[string]watchers.Factory
	platforms map[string]Platform
	enabled   map[string]bool
	log       *slog.Logger
	now       func() time.Time
	metrics   *Metrics
	runner    *watchers.Runner
	after     func(int)
	seedRead  func() // Options.AfterSeedRead
	firstPass firstPass
	nudge     chan struct{}

	mu    sync.Mutex
	found map[string]string // last check summary by watcher id

	wakes   map[string]chan struct{} // per platform worker
	workers sync.WaitGroup

	heldMu  sync.Mutex
	held    map[string][]heldSend // per platform: sends confirmed but not yet recorded
	unknown map[int64]bool        // deliveries sent with no known outcome
	warned  map[string]bool       // warnings given once per process
	// serialOnly are platforms sending one message at a time again: they
	// cannot look up sends of unknown outcome.
	serialOnly map[string]bool
	owner      string // this process's name on its delivery claims
	health     health
	loading    loading // Seed's progress, for commands answered meanwhile

	claimTTL time.Duration // Options.ClaimTTL
	claimMu  sync.Mutex
	terms    map[*claimTerm]bool // delivery passes in progress

	announcer func(ctx context.Context, topic string) error

	leadMu    sync.Mutex
	fence     Fence // the leader lease's, while leading
	following bool  // a follower: scheduled checks are skipped
	started   bool

	schedMu sync.Mutex
	scheds  map[string]string // watcher id → the schedule the runner has

	rel     *releaser     // nil when the run store keeps no holds
	relWake chan struct{} // SettingsChanged
}

var _ Schedules = (*Bot)(nil)

// New builds a Bot; call Seed, then Start.
func New(opts Options) (*Bot, error) {
	if opts.Events == nil || opts.Watchers == nil || opts.Runs == nil || opts.Outbox == nil ||
		opts.Channels == nil || opts.Audit == nil || opts.Config == nil {
		return nil, errors.New("bot: every store and the config are required")
	}
	b := &Bot{
		events:     opts.Events,
		watchers:   opts.Watchers,
		outbox:     opts.Outbox,
		channels:   opts.Channels,
		audit:      opts.Audit,
		entries:    opts.Entries,
		later:      opts.Later,
		plan:       opts.PlanLeads,
		cfg:        opts.Config,
		factories:  opts.Factories,
		platforms:  map[string]Platform{},
		enabled:    map[string]bool{},
		log:        opts.Logger,
		now:        opts.Now,
		metrics:    opts.Metrics,
		admins:     map[string]bool{},
		after:      opts.AfterCommit,
		seedRead:   opts.AfterSeedRead,
		firstPass:  firstPass{fn: opts.AfterFirstPass},
		nudge:      make(chan struct{}, 1),
		found:      map[string]string{},
		wakes:      map[string]chan struct{}{},
		held:       map[string][]heldSend{},
		unknown:    map[int64]bool{},
		warned:     map[string]bool{},
		serialOnly: map[string]bool{},
		owner:      opts.Owner,
		claimTTL:   opts.ClaimTTL,
		terms:      map[*claimTerm]bool{},
		announcer:  opts.Announce,
		scheds:     map[string]string{},
	}
	if b.owner == "" {
		b.owner = "bot-" + randomID()
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
		b.enabled[p.Name()] = true
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
	b.pipe = newPipeline(opts.Runs, opts.Factories, opts.Fetcher, b.Config, b.enabled, b.metrics, b.log)
	b.pipe.wrote = b.health.set
	b.relWake = make(chan struct{}, 1)
	b.rel = newReleaser(opts.Runs, b.Config, b.storeAgenda, b.log)
	b.pipe.early = func([]AlertRecord) { b.kick() }
	b.runner = watchers.NewRunner(b.runJob, b.log, watchers.WithRunTimeout(timeout), watchers.WithClock(b.now), watchers.WithLocation(opts.Config.Location))
	return b, nil
}

// Config returns the config in force (it changes on reload).
func (b *Bot) Config() *Config {
	b.cfgMu.RLock()
	defer b.cfgMu.RUnlock()
	return b.cfg
}

// Location returns the config's zone.
func (b *Bot) Location() *time.Location { return b.Config().Location }

// IsAdmin reports whether user (an address) is an admin.
func (b *Bot) IsAdmin(user string) bool {
	b.cfgMu.RLock()
	defer b.cfgMu.RUnlock()
	return b.admins[user]
}

// Reseed switches to a reloaded config (SIGHUP): new admins, then the
// file's entries are seeded as at start, and the schedules of watchers
// are refreshed.
func (b *Bot) Reseed(ctx context.Context, cfg *Config) (SeedReport, error) {
	b.cfgMu.Lock()
	admins := map[string]bool{}
	if b.localAdmin != "" {
		admins[b.localAdmin] = true
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
	ws, err := b.watchers.Watchers(ctx)
	if err != nil {
		return rep, err
	}
	for _, w := range ws {
		if err := b.schedule(w.Spec.ID, w.Spec.Schedule, true); err != nil {
			b.log.Error("watcher not rescheduled", "watcher", w.Spec.ID, "err", err)
		}
	}
	b.announce(ctx, TopicWatchers)
	b.announce(ctx, TopicEvents)
	return rep, nil
}

// Runner returns the cron runner.
func (b *Bot) Runner() *watchers.Runner { return b.runner }

// Start schedules every watcher and starts one delivery worker per
// platform. It returns at once; Stop ends both. Every process schedules
// the watchers, but only the leader's scheduled checks run (Lead,
// Follow).
func (b *Bot) Start(ctx context.Context) error {
	ws, err := b.watchers.Watchers(ctx)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	for _, w := range ws {
		if err := b.schedule(w.Spec.ID, w.Spec.Schedule, true); err != nil {
			return fmt.Errorf("start: watcher %s: %w", w.Spec.ID, err)
		}
	}
	b.runner.Start(ctx)
	b.leadMu.Lock()
	b.started = true
	b.leadMu.Unlock()
	// Date watchers wake at their next planned look from the start, not
	// at their first tick, which may be an hour away.
	if _, leading := b.Leading(); leading {
		b.wakeDated(ctx, b.firstPass.expect)
	}
	b.firstPass.begin(func(fn func(context.Context)) {
		b.workers.Add(1)
		go func() {
			defer b.workers.Done()
			fn(ctx)
		}()
	})
	b.workers.Add(1)
	go func() {
		defer b.workers.Done()
		b.nudgeLoop(ctx)
	}()
	b.workers.Add(1)
	go func() {
		defer b.workers.Done()
		b.releaseLoop(ctx)
	}()
	for _, p := range b.platforms {
		b.workers.Add(1)
		go func() {
			defer b.workers.Done()
			b.deliverLoop(ctx, p)
		}()
	}
	if b.claimTTL > 0 {
		b.workers.Add(1)
		go func() {
			defer b.workers.Done()
			b.keepClaims(ctx)
		}()
	}
	if b.announcer != nil {
		b.workers.Add(1)
		go func() {
			defer b.workers.Done()
			b.pollSchedules(ctx)
		}()
	}
	return nil
}

// Stop stops scheduling checks, waits for running checks, and waits for the
// delivery workers, which finish in-flight sends (bounded by sendGrace);
// then it gives up this process's channel claims, so other processes take
// the channels at once. The caller cancels the context given to Start
// first.
func (b *Bot) Stop() {
	<-b.runner.Stop().Done()
	b.workers.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := b.outbox.ReleaseClaims(ctx, b.owner); err != nil {
		b.log.Warn("channel claims not released; other processes take them when they expire", "err", err)
	}
}

// runJob is the runner's job: one check of one watcher. A scheduled
// check runs only on the leader, its writes fenced by the leader's lease;
// a check asked for in chat runs wherever it was asked.
func (b *Bot) runJob(ctx context.Context, id string, now time.Time) error {
	if ctx.Value(manualKey{}) == nil {
		f, leading := b.Leading()
		if !leading {
			return nil
		}
		if f.Lease != "" {
			ctx = WithFence(ctx, f)
		}
	}
	_, err := b.RunWatcher(ctx, id, now)
	b.firstPass.ran(id)
	b.wakeDuePosts(ctx, now)
	if errors.Is(err, ErrNotLeader) {
		b.log.Warn("watcher check not committed: this process lost the leader lease", "watcher", id, "err", err)
	}
	return err
}

// schedulePoll is how often a process sharing the database reads the
// watchers' schedules again, in case a notification was lost.
const schedulePoll = 30 * time.Second

// pollSchedules reads the schedules again every schedulePoll until ctx
// ends.
func (b *Bot) pollSchedules(ctx context.Context) {
	t := time.NewTicker(schedulePoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.syncLogged(ctx)
		}
	}
}

// RunWatcher checks one watcher now and commits what it found. It returns
// the check's one-line summary. A check that stopped at a batch limit is
// run again, batch after batch, each committed on its own.
func (b *Bot) RunWatcher(ctx context.Context, id string, now time.Time) (string, error) {
	batches := 0
	start := time.Now()
	var sc batchScope
	defer b.pipe.ahead.drop(id)
	for {
		// A burst's first batch is small, so its first alerts go out
		// while the rest are checked (watchers.CheckBatches).
		sc.batch = watchers.CheckBatches[min(batches, len(watchers.CheckBatches)-1)]
		sc.next = watchers.CheckBatches[min(batches+1, len(watchers.CheckBatches)-1)]
		out, err := b.pipe.run(ctx, id, now, &sc)
		batches++
		if len(out.Created) > 0 {
			if b.after != nil {
				b.after(len(out.Created))
			}
			b.kick()
			for _, a := range out.Created {
				if a.Alert.Kind == watchers.KindChanged && a.Alert.Event != "" {
					b.replanPersonal(ctx, a.Alert.Event, now)
				}
			}
		}
		if out.Held {
			b.wakeRelease()
		}
		found := out.Found
		if batches > 1 {
			found = fmt.Sprintf("%d batches; last: %s", batches, found)
		}
		if found != "" {
			b.mu.Lock()
			b.found[id] = found
			b.mu.Unlock()
		}
		if err != nil || !out.More || batches > 10_000 {
			b.log.Debug("watcher checked", "watcher", id, "batches", batches, "took", time.Since(start).Round(time.Millisecond), "found", found)
			// Wake again when the next planned milestone comes, not only
			// at the next cron tick (DESIGN §5 "On time").
			if err == nil {
				at := out.Next
				if out.More {
					// Stopped at the batch limit with events left to
					// check: go on shortly.
					at = now
				}
				if !at.IsZero() && !at.After(now) {
					// An event changed while the check ran: look again
					// shortly rather than at the next tick.
					at = now.Add(time.Second)
				}
				b.runner.WakeAt(id, at)
			}
			return found, err
		}
	}
}

// LastFound returns the summary of the watcher's last check in this process.
func (b *Bot) LastFound(id string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.found[id]
}

// Schedule (re)schedules watcher id (Schedules), here and, through
// Announce, in the other processes sharing the database.
func (b *Bot) Schedule(id, schedule string) error {
	if err := b.schedule(id, schedule, true); err != nil {
		return err
	}
	b.announce(context.Background(), TopicWatchers)
	return nil
}

// Unschedule stops scheduling watcher id (Schedules), here and in the
// other processes sharing the database.
func (b *Bot) Unschedule(id string) {
	b.unschedule(id)
	b.announce(context.Background(), TopicWatchers)
}

// RunNow checks watcher id at once through the runner, so a scheduled run
// and this one never overlap, and returns what it found (Schedules). It
// runs on this process whether it leads or not: an admin asked here.
func (b *Bot) RunNow(ctx context.Context, id string) (string, error) {
	err := b.runner.RunNow(context.WithValue(ctx, manualKey{}, true), id)
	return b.LastFound(id), err
}

// NextRun returns the watcher's next scheduled run, if it is scheduled
// (Schedules).
func (b *Bot) NextRun(id string) (time.Time, bool) {
	st, ok := b.runner.Status(id)
	if !ok || st.Next.IsZero() {
		return time.Time{}, false
	}
	return st.Next, true
}

// EventsChanged asks for a prompt check of the date watchers after an
// event changed, so its `changed` alert does not wait for the schedule
// (Schedules); the leader makes it, wherever the change was made.
func (b *Bot) EventsChanged() {
	b.nudgeChecks()
	b.announce(context.Background(), TopicEvents)
}

// nudgeChecks asks this process for a prompt check of the date watchers
// (skipped unless it leads).
func (b *Bot) nudgeChecks() {
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
		ws, err := b.watchers.Watchers(ctx)
		if err != nil {
			continue
		}
		for _, w := range ws {
			if w.Dated && !w.Spec.Paused {
				if err := b.runner.RunNow(ctx, w.Spec.ID); err != nil {
					b.log.Debug("nudged check failed", "watcher", w.Spec.ID, "err", err)
				}
			}
		}
	}
}

// kick wakes the delivery workers.
func (b *Bot) kick() {
	for name := range b.wakes {
		b.wake(name)
	}
}

// wake wakes platform's delivery worker, if this process has one.
func (b *Bot) wake(platform string) {
	select {
	case b.wakes[platform] <- struct{}{}:
	default:
	}
}

// Materialize sets rec's current state and next change as of now in the
// config's zone, as the bot does before storing an event.
func (b *Bot) Materialize(rec *EventRecord, now time.Time) error {
	return Materialize(rec, now, b.Config().Location)
}

// Dated reports whether a watcher built from spec plans by dates
// (watchers.DateDriven); false for a spec no factory accepts.
func Dated(factories map[string]watchers.Factory, spec watchers.Spec, d watchers.Defaults) bool {
	f, ok := factories[spec.Kind]
	if !ok {
		return false
	}
	w, err := f(spec, watchers.Deps{Defaults: d})
	if err != nil {
		return false
	}
	_, ok = w.(watchers.DateDriven)
	return ok
}

// randomID returns 16 random hex digits, for names that must differ
// between processes.
func randomID() string {
	var b [8]byte
	_, _ = cryptorand.Read(b[:]) // never fails (crypto/rand docs)
	return hex.EncodeToString(b[:])
}
