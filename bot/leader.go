package bot

import (
	"context"
	"errors"
	"strings"
	"time"
)

// This file holds what the bot needs to share a database with other
// processes (DESIGN §12): one leader runs the watchers' schedules under
// a lease, every process delivers, and they tell each other about
// changes.

// Fence names the lease a write is made under: the store commits a write
// whose context carries a fence (WithFence) only while the lease is still
// Holder's at Epoch, checked in the write's own transaction, so a leader
// that lost its lease (paused, cut off) cannot commit afterwards.
type Fence struct {
	Lease  string // lease name
	Holder string
	Epoch  int64
}

// ErrNotLeader is returned (wrapped) by a fenced write made after its
// lease passed to another holder.
var ErrNotLeader = errors.New("not the leader: the lease is held by another process")

type fenceKey struct{}

// WithFence returns a context whose transactional writes the store makes
// only while f still holds (see Fence).
func WithFence(ctx context.Context, f Fence) context.Context {
	return context.WithValue(ctx, fenceKey{}, f)
}

// FenceFrom returns the fence of ctx, if it has one.
func FenceFrom(ctx context.Context) (Fence, bool) {
	f, ok := ctx.Value(fenceKey{}).(Fence)
	return f, ok
}

// Topics of the notifications processes sharing a database send each
// other (Options.Announce; on PostgreSQL, NOTIFY).
const (
	// TopicWatchers: a watcher was added, changed or removed; the
	// schedules are read again from the database.
	TopicWatchers = "watchers"
	// TopicEvents: an event changed; the leader checks the date watchers
	// at once, so the `changed` alert does not wait for the schedule.
	TopicEvents = "events"
	// TopicAll: notifications may have been missed (the listener
	// reconnected); everything is looked at again.
	TopicAll = ""
)

// deliveriesTopic is the prefix of DeliveriesTopic.
const deliveriesTopic = "deliveries:"

// DeliveriesTopic is the topic that wakes the delivery workers of
// platform in every process: new deliveries were committed, or channel
// claims were released.
func DeliveriesTopic(platform string) string { return deliveriesTopic + platform }

// manualKey marks the context of a check asked for in chat ("watcher
// run"): it runs on the process that got the command, leader or not.
type manualKey struct{}

// Lead makes the bot the leader under f: from now on its scheduled checks
// run, their writes fenced by f (an empty f.Lease: unfenced), and the date
// watchers wake at their planned looks, so milestones that fell due while
// no process led are caught up at once. A bot leads, unfenced, until
// Follow is called.
func (b *Bot) Lead(ctx context.Context, f Fence) {
	b.leadMu.Lock()
	b.fence, b.following = f, false
	started := b.started
	b.leadMu.Unlock()
	b.metrics.SetLeader(true, f.Epoch)
	b.wakeRelease() // held deliveries are the leader's to release
	if started {
		if err := b.SyncSchedules(ctx); err != nil {
			b.log.Error("schedules not read after becoming leader", "err", err)
		}
		b.wakeDated(ctx, nil)
	}
}

// Follow makes the bot a follower: its scheduled checks are skipped (the
// leader runs them); checks asked for in chat still run, as does
// delivery.
func (b *Bot) Follow() {
	b.leadMu.Lock()
	b.fence, b.following = Fence{}, true
	b.leadMu.Unlock()
	b.metrics.SetLeader(false, 0)
}

// Leading reports whether the bot leads, and under which fence.
func (b *Bot) Leading() (Fence, bool) {
	b.leadMu.Lock()
	defer b.leadMu.Unlock()
	return b.fence, !b.following
}

// wakeDated wakes each date watcher at its earliest planned look; waking,
// when set, hears each id first.
func (b *Bot) wakeDated(ctx context.Context, waking func(id string)) {
	ws, err := b.watchers.Watchers(ctx)
	if err != nil {
		b.log.Error("date watchers not woken", "err", err)
		return
	}
	for _, w := range ws {
		if !w.Dated || w.Spec.Paused {
			continue
		}
		next, ok, err := b.pipe.store.NextLook(ctx, w.Spec.ID)
		if err != nil {
			b.log.Error("date watcher not woken", "watcher", w.Spec.ID, "err", err)
			continue
		}
		if ok {
			if waking != nil {
				waking(w.Spec.ID)
			}
			b.runner.WakeAt(w.Spec.ID, next)
		}
	}
}

// SyncSchedules reads the watchers from the database and brings the
// runner's schedules in line: watchers added or changed by another
// process are scheduled, removed ones unscheduled. A schedule that did
// not change is left alone, so its next run does not move.
func (b *Bot) SyncSchedules(ctx context.Context) error {
	ws, err := b.watchers.Watchers(ctx)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, w := range ws {
		seen[w.Spec.ID] = true
		if err := b.schedule(w.Spec.ID, w.Spec.Schedule, false); err != nil {
			b.log.Error("watcher not scheduled", "watcher", w.Spec.ID, "err", err)
		}
	}
	b.schedMu.Lock()
	var gone []string
	for id := range b.scheds {
		if !seen[id] {
			gone = append(gone, id)
		}
	}
	b.schedMu.Unlock()
	for _, id := range gone {
		b.unschedule(id)
	}
	return nil
}

// schedule puts watcher id on schedule; force replaces a schedule even
// when its text did not change.
func (b *Bot) schedule(id, schedule string, force bool) error {
	b.schedMu.Lock()
	defer b.schedMu.Unlock()
	if cur, ok := b.scheds[id]; ok && cur == schedule && !force {
		return nil
	}
	if err := b.runner.Add(id, schedule); err != nil {
		return err
	}
	b.scheds[id] = schedule
	return nil
}

// unschedule takes watcher id off the schedule.
func (b *Bot) unschedule(id string) {
	b.schedMu.Lock()
	delete(b.scheds, id)
	b.schedMu.Unlock()
	b.runner.Remove(id)
}

// announce tells the other processes on the database about topic.
func (b *Bot) announce(ctx context.Context, topic string) {
	if b.announcer == nil {
		return
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := b.announcer(actx, topic); err != nil {
		b.log.Warn("other processes not told of a change; they notice within their polling interval", "topic", topic, "err", err)
	}
}

// Notified handles a notification from another process (or this one)
// sharing the database: it wakes the delivery workers, reads the
// schedules again, or, as leader, checks the date watchers.
func (b *Bot) Notified(ctx context.Context, topic string) {
	if p, ok := strings.CutPrefix(topic, deliveriesTopic); ok {
		b.wake(p)
		return
	}
	switch topic {
	case TopicWatchers:
		b.syncLogged(ctx)
	case TopicEvents:
		b.nudgeIfLeading()
	case TopicAll:
		b.syncLogged(ctx)
		b.kick()
		b.nudgeIfLeading()
	}
}

func (b *Bot) syncLogged(ctx context.Context) {
	if err := b.SyncSchedules(ctx); err != nil {
		b.log.Warn("schedules not read after a notification", "err", err)
	}
}

// nudgeIfLeading asks for a prompt check of the date watchers when this
// process leads; a follower's would be skipped anyway.
func (b *Bot) nudgeIfLeading() {
	if _, leading := b.Leading(); leading {
		b.nudgeChecks()
	}
}
