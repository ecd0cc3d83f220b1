package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// RunStore is what one run of a watcher reads and commits to: the database
// when serving, replay's memory on a virtual clock. Methods return
// ErrNotFound (wrapped) for unknown ids.
type RunStore interface {
	watchers.EventSource
	eventReader
	routeReader
	settingsReader
	HoldStore
	Watcher(ctx context.Context, id string) (WatcherRecord, error)
	// ProposalEvents returns the events that have match words, with their
	// current state: those a source's text may propose dates for.
	ProposalEvents(ctx context.Context) ([]EventRecord, error)
	// NextLook returns the earliest time a date watcher planned to look
	// at any event; false when it planned none.
	NextLook(ctx context.Context, watcher string) (time.Time, bool, error)
	// CommitRun stores a run in one transaction: the watcher's status, its
	// new alerts with their deliveries (alerts whose key exists are left
	// alone), events and next looks. It returns the alerts it created.
	CommitRun(ctx context.Context, run RunRecord) ([]AlertRecord, error)
}

// pipeline turns one check of a watcher into a run record — alerts with
// their channels, skipped milestones, state, next looks, events — and
// commits it to its RunStore. serve and replay both run watchers through
// it, so "replay is exactly the bot" holds by construction.
type pipeline struct {
	store     RunStore
	factories map[string]watchers.Factory
	fetcher   watchers.Fetcher
	config    func() *Config
	enabled   map[string]bool // platforms that get deliveries; nil: all
	metrics   *Metrics
	log       *slog.Logger
	// wrote, when set, hears whether each commit worked (the bot's health).
	wrote func(what string, err error)
	// withMuted makes runs list the channels a mute kept each alert from
	// (NewAlert.Muted), for preview.
	withMuted bool
	// early, when set, hears of alerts a run committed ahead of the rest
	// of it (commit), so their deliveries start at once.
	early func(created []AlertRecord)

	// ahead is the event source of the date watchers it builds: the
	// store's, reading a run's next batch while one is committed.
	ahead *ahead

	mu        sync.Mutex
	instances map[string]instance // built watchers by id
}

type instance struct {
	spec string // JSON of the spec it was built from
	w    watchers.Watcher
}

// outcome is what one run did.
type outcome struct {
	Found   string        // one-line summary for "/alerts watcher run"
	More    bool          // the check stopped at a batch limit: run again
	Created []AlertRecord // alerts that did not exist before
	Next    time.Time     // a date watcher's earliest planned look, once the run is over (not More); zero: none
	Held    bool          // a channel's rules held some of the deliveries back
}

func newPipeline(st RunStore, factories map[string]watchers.Factory, fetcher watchers.Fetcher, config func() *Config,
	enabled map[string]bool, metrics *Metrics, log *slog.Logger) *pipeline {
	return &pipeline{store: st, factories: factories, fetcher: fetcher, config: config, enabled: enabled,
		metrics: metrics, log: log, ahead: newAhead(st), instances: map[string]instance{}}
}

func specJSON(s watchers.Spec) string {
	data, _ := json.Marshal(s)
	return string(data)
}

// instance returns the built watcher for spec, rebuilding it when the spec
// changed.
func (p *pipeline) instance(spec watchers.Spec) (watchers.Watcher, error) {
	key := specJSON(spec)
	p.mu.Lock()
	defer p.mu.Unlock()
	if in, ok := p.instances[spec.ID]; ok && in.spec == key {
		return in.w, nil
	}
	f, ok := p.factories[spec.Kind]
	if !ok {
		return nil, fmt.Errorf("unknown watcher kind %q", spec.Kind)
	}
	w, err := f(spec, watchers.Deps{Defaults: p.config().Defaults(), Events: p.ahead, Fetcher: p.fetcher})
	if err != nil {
		return nil, err
	}
	p.instances[spec.ID] = instance{spec: key, w: w}
	return w, nil
}

// dated reports whether spec's watcher plans by dates (watchers.DateDriven).
func (p *pipeline) dated(spec watchers.Spec) bool {
	w, err := p.instance(spec)
	if err != nil {
		return false
	}
	_, ok := w.(watchers.DateDriven)
	return ok
}

func keyTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999Z07:00") }

// check runs one check of rec's watcher at now and returns the run record
// to commit. A failed check is a record too (its error, the failure
// streak, and a watcher_failing alert when the streak reaches fail_after);
// the returned error is only for what stops the run itself.
func (p *pipeline) check(ctx context.Context, rec WatcherRecord, now time.Time, sc *batchScope) (RunRecord, watchers.Result, error) {
	id := rec.Spec.ID
	run := RunRecord{Watcher: id, At: now}
	var res watchers.Result
	w, err := p.instance(rec.Spec)
	if err == nil {
		if _, ok := w.(watchers.DateDriven); ok {
			// Changes that came due since the last look change what
			// "current" means for upcoming and event; refresh them first.
			if rerr := refreshEvents(ctx, p.store, now, p.config().Location, p.log); rerr != nil {
				return run, res, rerr
			}
		}
		res, err = w.Check(ctx, watchers.Input{Now: now, State: rec.State, Batch: sc.batch})
	}
	p.metrics.WatcherRun(rec.Spec.Kind, err)
	if sc.routes == nil {
		routes, rerr := runRoutes(ctx, p.store, now, p.enabled)
		if rerr != nil {
			return run, res, rerr
		}
		rules, rerr := loadRules(ctx, p.store, p.config().Location, p.log)
		if rerr != nil {
			return run, res, rerr
		}
		sc.routes, sc.rules = routes, rules
	}
	routes, rules := sc.routes, sc.rules
	// route loads the subscriptions alerts match, all in one read, then
	// adds them to the run with their channels.
	route := func(alerts ...watchers.Alert) error {
		if err := routes.load(ctx, alerts...); err != nil {
			return err
		}
		for _, a := range alerts {
			na := NewAlert{Alert: a, Channels: routes.channels(a)}
			na.Holds = rules.holds(a.Kind, now, na.Channels)
			if p.withMuted {
				na.Muted = routes.mutedChannels(a)
			}
			run.Alerts = append(run.Alerts, na)
		}
		return nil
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
			if rerr := route(watchers.Alert{
				Key:      fmt.Sprintf("%s/watcher_failing@%s", id, keyTime(now)),
				Kind:     watchers.KindWatcherFailing,
				Watcher:  id,
				At:       now,
				Title:    fmt.Sprintf("Watcher %s is failing", id),
				Text:     fmt.Sprintf("%s in a row failed. Last error: %s", watchers.Plural(run.Failures, "check"), err),
				Severity: watchers.Warning,
			}); rerr != nil {
				return run, res, rerr
			}
		}
		p.log.Warn("watcher check failed", "watcher", id, "failures", run.Failures, "err", err)
		return run, res, nil
	}
	run.UpdateState = true
	run.State = res.State
	if rec.Failing {
		if rerr := route(watchers.Alert{
			Key:      fmt.Sprintf("%s/watcher_recovered@%s", id, keyTime(now)),
			Kind:     watchers.KindWatcherRecovered,
			Watcher:  id,
			At:       now,
			Title:    fmt.Sprintf("Watcher %s recovered", id),
			Text:     fmt.Sprintf("It works again after %d failed checks.", rec.Failures),
			Severity: watchers.Notice,
		}); rerr != nil {
			return run, res, rerr
		}
	}
	if rerr := route(res.Alerts...); rerr != nil {
		return run, res, rerr
	}
	proposed, props := p.proposals(ctx, res, now)
	if rerr := route(proposed...); rerr != nil {
		return run, res, rerr
	}
	run.Proposals = props
	// Record as skipped only what was really missed (within catch_up); an
	// event's older history never was going to be sent, and writing it
	// would make a first start over many events slow.
	catchUp := p.config().CatchUp
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
		er, err := mergeSourceEvent(ctx, p.store, ev, now, p.config().Location)
		if err != nil {
			p.log.Warn("watcher event not saved", "watcher", id, "event", ev.ID, "err", err)
			continue
		}
		run.Events = append(run.Events, er)
	}
	return run, res, nil
}

// aheadFrom is the smallest batch after which the next one is read while
// it commits. A burst's first, small batches are not: their alerts go out
// first, and a read beside their commit would hold them up.
const aheadFrom = 1000

// batchScope is what the batches of one watcher run share: how many
// events this batch takes (watchers.Input.Batch), and the routing and
// channel rules read for the first batch, so that a burst checked in many
// batches reads the subscriptions once. A change made meanwhile applies
// from the next run.
type batchScope struct {
	batch  int
	next   int // how many the batch after this one takes
	routes *routeTable
	rules  channelRuleSet
}

// run checks watcher id at now and commits what it found. A paused
// watcher is not checked.
func (p *pipeline) run(ctx context.Context, id string, now time.Time, sc *batchScope) (outcome, error) {
	rec, err := p.store.Watcher(ctx, id)
	if err != nil {
		return outcome{}, fmt.Errorf("watcher %s: %w", id, err)
	}
	if rec.Spec.Paused {
		return outcome{Found: "paused"}, nil
	}
	run, res, err := p.check(ctx, rec, now, sc)
	if err != nil {
		return outcome{}, err
	}
	if res.More && sc.next > 0 && sc.batch >= aheadFrom {
		// The next batch is read while this one is written.
		p.ahead.readAhead(ctx, id, now, sc.next)
	}
	created, err := p.commit(ctx, run)
	if p.wrote != nil && !errors.Is(err, ErrNotLeader) {
		// A leader's commit refused after it lost the lease is no
		// failing write: the database is fine, another process leads.
		p.wrote("watcher runs", err)
	}
	for _, a := range created {
		p.metrics.AlertCreated(a.Alert.Kind)
	}
	if err != nil {
		// Chunks committed before the failure stay: their alerts are
		// delivered, and the next run does not create them again.
		return outcome{Created: created}, fmt.Errorf("watcher %s: commit: %w", id, err)
	}
	out := outcome{Found: res.Found, More: res.More, Created: created}
	for _, na := range run.Alerts {
		out.Held = out.Held || len(na.Holds) > 0
	}
	// The next look matters once the run is over: the batches before the
	// last are followed at once, and a read between them would hold the
	// burst's later alerts up.
	if w, err := p.instance(rec.Spec); err == nil && (!res.More || run.Err != "") {
		if _, ok := w.(watchers.DateDriven); ok {
			next, ok, err := p.store.NextLook(ctx, id)
			if err != nil {
				return out, fmt.Errorf("watcher %s: %w", id, err)
			}
			if ok {
				out.Next = next
			}
		}
	}
	if run.Err != "" {
		out.Found, out.More = "check failed: "+run.Err, false
		return out, errors.New(run.Err)
	}
	return out, nil
}

// Chunks of a run's alerts committed ahead of the rest (commit).
const (
	firstChunk = 32  // small, so the first deliveries start within milliseconds
	maxChunk   = 128 // short, so the delivery workers' claims do not wait long behind one
)

// commit commits run. A run with many alerts (a burst of deadlines falling
// due at one instant) commits them in chunks, each in its own transaction
// and announced through early, so the first deliveries go out while the
// rest are written, and the delivery workers' short writes interleave
// with the chunks instead of waiting behind one long transaction (SQLite
// has one writer at a time). The last chunk carries the watcher's state,
// events and next looks, as a run of few alerts does; the chunks before it
// write alerts alone (no watcher row), so a run stopped between chunks (a
// crash, a lost leader lease) leaves alerts that the next run finds under
// their keys and does not create twice, and the watcher's state as it was.
func (p *pipeline) commit(ctx context.Context, run RunRecord) ([]AlertRecord, error) {
	if len(run.Alerts) <= 2*firstChunk {
		return p.store.CommitRun(ctx, run)
	}
	var created []AlertRecord
	for size := firstChunk; len(run.Alerts) > size; size = min(4*size, maxChunk) {
		head := RunRecord{At: run.At, Alerts: run.Alerts[:size]}
		c, err := p.store.CommitRun(ctx, head)
		if err != nil {
			return created, err
		}
		run.Alerts = run.Alerts[size:]
		created = append(created, c...)
		if len(c) > 0 && p.early != nil {
			p.early(c)
		}
	}
	c, err := p.store.CommitRun(ctx, run)
	return append(created, c...), err
}
