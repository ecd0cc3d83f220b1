package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// SeedReport counts what Seed changed.
type SeedReport struct {
	EventsCreated, EventsUpdated     int
	WatchersCreated, WatchersUpdated int
	SubscriptionsAdded               int
	SubscriptionsRemoved             int // targets a changed entry of the file dropped
	ChannelSettingsApplied           int // channels entries new or changed in the file
}

// Seed applies the config file to the database: ids from the file are
// created, and updated only when their entry in the file changed since the
// last load (its hash differs), so a chat edit persists until someone edits
// that entry in the file. Nothing created in chat is deleted.
func (b *Bot) Seed(ctx context.Context) (SeedReport, error) {
	var rep SeedReport
	now := b.now()
	b.loading.done.Store(0)
	b.loading.total.Store(int64(len(b.Config().Events)))
	b.loading.active.Store(true)
	defer b.loading.active.Store(false)
	defaults := b.Config().Defaults()
	for _, cw := range b.Config().Watchers {
		old, err := b.watchers.Watcher(ctx, cw.Spec.ID)
		switch {
		case errors.Is(err, ErrNotFound):
			rep.WatchersCreated++
			err = b.watchers.SaveWatcher(ctx, WatcherRecord{Spec: cw.Spec, Origin: "config", Hash: cw.Hash, UpdatedAt: now, UpdatedBy: "config",
				Dated: Dated(b.factories, cw.Spec, defaults)})
		case err != nil:
		case old.Hash != cw.Hash:
			rep.WatchersUpdated++
			old.Spec, old.Origin, old.Hash, old.UpdatedAt, old.UpdatedBy = cw.Spec, "config", cw.Hash, now, "config"
			old.Dated = Dated(b.factories, cw.Spec, defaults)
			err = b.watchers.SaveWatcher(ctx, old)
		}
		if err != nil {
			return rep, fmt.Errorf("seed watcher %s: %w", cw.Spec.ID, err)
		}
	}
	// A database written before watchers recorded their capability, or a
	// kind that changed it, is brought up to date here.
	ws, err := b.watchers.Watchers(ctx)
	if err != nil {
		return rep, fmt.Errorf("seed: %w", err)
	}
	for _, w := range ws {
		if d := Dated(b.factories, w.Spec, defaults); d != w.Dated {
			w.Dated = d
			if err := b.watchers.SaveWatcher(ctx, w); err != nil {
				return rep, fmt.Errorf("seed watcher %s: %w", w.Spec.ID, err)
			}
		}
	}
	// Events after watchers: a new date watcher's schedule rows for the
	// file's events are then written with the events, in their load.
	if err := b.seedEvents(ctx, now, &rep); err != nil {
		return rep, err
	}
	if err := b.seedSubscriptions(ctx, now, &rep); err != nil {
		return rep, err
	}
	if err := b.seedChannelSettings(ctx, now, &rep); err != nil {
		return rep, err
	}
	if rep != (SeedReport{}) {
		after, _ := json.Marshal(rep)
		_ = b.audit.Audit(ctx, AuditEntry{At: now, Who: "config", Action: "seed", Target: b.Config().Path, After: string(after)})
	}
	return rep, nil
}

// seedBatch is how many events Seed saves at a time: in a transaction of
// their own, or one call of next in an EventLoader's.
const seedBatch = 2000

// seedEvents creates and updates the file's events in batches: a first
// start over 100,000 events costs a few statements per batch instead of
// 200,000 round trips, and a restart reads only the hashes. A store that
// is an EventLoader takes every batch in one transaction.
func (b *Bot) seedEvents(ctx context.Context, now time.Time, rep *SeedReport) error {
	hashes, err := b.events.EventHashes(ctx)
	if err != nil {
		return fmt.Errorf("seed events: %w", err)
	}
	events := b.Config().Events
	var (
		batch []EventRecord
		saved int  // records of earlier batches, counted as loaded
		read  bool // every entry is read
		i     int  // the next entry of the file to look at
	)
	var nextErr error // an entry's own error, returned as it is
	// next returns the next batch of records to save; none at the end.
	next := func() ([]EventRecord, error) {
		b.loading.done.Add(int64(saved))
		clear(batch) // the records are stored: let them go
		batch = batch[:0]
		for ; i < len(events) && len(batch) < seedBatch; i++ {
			ce := &events[i]
			hash := ce.Hash()
			h, exists := hashes[ce.Event.ID]
			if exists && h == hash {
				b.loading.done.Add(1)
				continue // unchanged in the file: nothing to read or write
			}
			rec, created, err := b.seedEvent(ctx, ce, hash, now, exists)
			if err != nil {
				nextErr = err
				return nil, err
			}
			if rec == nil {
				b.loading.done.Add(1)
				continue
			}
			if created {
				rep.EventsCreated++
			} else {
				rep.EventsUpdated++
			}
			batch = append(batch, *rec)
		}
		saved = len(batch)
		if i == len(events) && !read {
			// Every entry is read: let them go before the store's
			// work on the last batch (and its indexes) is done.
			events, i, read = nil, 0, true
			if b.seedRead != nil {
				b.seedRead()
			}
		}
		return batch, nil
	}
	if l, ok := b.events.(EventLoader); ok {
		err := l.LoadEvents(ctx, next)
		switch {
		case err == nil:
			return nil
		case nextErr == nil:
			err = fmt.Errorf("seed events: %w", err)
		}
		rep.EventsCreated, rep.EventsUpdated = 0, 0 // nothing was kept
		return err
	}
	for {
		evs, err := next()
		if err != nil || len(evs) == 0 {
			return err
		}
		if err := b.events.SaveEvents(ctx, evs); err != nil {
			return fmt.Errorf("seed events: %w", err)
		}
	}
}

// seedEvent returns the record to save for the file's entry ce, whose
// Hash is hash: a new event (exists false: the store has no such id), or
// the stored one updated because its entry changed; nil when the entry is
// unchanged.
func (b *Bot) seedEvent(ctx context.Context, ce *ConfigEvent, hash string, now time.Time, exists bool) (*EventRecord, bool, error) {
	var old EventRecord
	err := ErrNotFound
	if exists {
		old, err = b.events.Event(ctx, ce.Event.ID)
	}
	switch {
	case errors.Is(err, ErrNotFound):
		rec := EventRecord{Event: ce.Event, Hash: hash, UpdatedAt: now, UpdatedBy: "config"}
		rec.Origin = "config"
		rec.CreatedAt = now
		if err := Materialize(&rec, now, b.Config().Location); err != nil {
			return nil, false, err
		}
		return &rec, true, nil
	case err != nil:
		return nil, false, fmt.Errorf("seed event %s: %w", ce.Event.ID, err)
	case old.Hash == hash:
		return nil, false, nil
	}
	rec := old
	file := ce.Event
	// The file's own dated changes replace the ones it gave before; changes
	// made since (chat, calendar, earlier reloads) are kept.
	changes := slices.Clone(file.Changes)
	for _, c := range old.Changes {
		if c.By != "config" {
			changes = append(changes, c)
		}
	}
	// An edit of the top-level fields is history from now on, not a
	// rewrite of the past: record it as a change.
	loc, err := file.Location(b.Config().Location)
	if err != nil {
		return nil, false, err
	}
	if old.Origin == "config" {
		reload := watchers.Change{At: now, By: "config-reload", Note: "config file edited"}
		if file.Due != old.Due {
			reload.Due = file.Due
		}
		if file.Status != old.Status {
			reload.Status = file.Status
			if reload.Status == "" {
				// The file dropped its status: back to the default of its date.
				if d, err := watchers.ParseDue(file.Due, loc); err == nil {
					reload.Status = watchers.DefaultStatus(d.Precision)
				}
			}
		}
		if file.Title != old.Title {
			reload.Title = file.Title
		}
		if file.Source != old.Source {
			reload.Source = file.Source
		}
		if reload.Due != "" || reload.Status != "" || reload.Title != "" || reload.Source != "" {
			changes = append(changes, reload)
		}
	} else {
		// Made in chat, now defined in the file: the file takes over.
		rec.Due, rec.Status, rec.Title, rec.Source = file.Due, file.Status, file.Title, file.Source
		changes = append(changes, watchers.Change{At: now, By: "config-reload", Note: "now defined in the config file", Due: file.Due})
	}
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].At.Before(changes[j].At) })
	rec.Changes = changes
	rec.Zone, rec.Tags, rec.LeadTimes, rec.Match = file.Zone, file.Tags, file.LeadTimes, file.Match
	rec.Origin, rec.Hash, rec.UpdatedAt, rec.UpdatedBy = "config", hash, now, "config"
	if err := Materialize(&rec, now, b.Config().Location); err != nil {
		return nil, false, err
	}
	return &rec, false, nil
}

// subscriptionEntries merges the file's subscriptions by channel, in file
// order: a channel's entry is what Seed compares with its last load.
func subscriptionEntries(subs []ConfigSubscription) (channels []string, targets map[string][]string) {
	targets = map[string][]string{}
	for _, cs := range subs {
		if _, seen := targets[cs.Channel]; !seen {
			channels = append(channels, cs.Channel)
		}
		for _, t := range cs.To {
			if !slices.Contains(targets[cs.Channel], t) {
				targets[cs.Channel] = append(targets[cs.Channel], t)
			}
		}
	}
	return channels, targets
}

// seedSubscriptions applies the file's subscriptions as Seed applies
// events: a channel's entry is applied only when it changed since the
// last load (its hash differs), so an unsubscribe or subscribe from chat
// persists over restarts until someone edits that channel's entry. A
// changed entry subscribes to all its targets and drops the targets the
// previous entry had and this one lacks, if they are still the file's.
// Without a ConfigEntries store every entry is applied on every load.
func (b *Bot) seedSubscriptions(ctx context.Context, now time.Time, rep *SeedReport) error {
	channels, targets := subscriptionEntries(b.Config().Subscriptions)
	var current []Subscription
	for _, ch := range channels {
		to := targets[ch]
		sorted := slices.Sorted(slices.Values(to))
		hash := configHash(struct {
			Channel string   `json:"channel"`
			To      []string `json:"to"`
		}{ch, sorted})
		var prev ConfigEntry
		if b.entries != nil {
			e, ok, err := b.entries.ConfigEntry(ctx, "subscriptions", ch)
			if err != nil {
				return fmt.Errorf("seed subscriptions of %s: %w", ch, err)
			}
			if ok && e.Hash == hash {
				continue
			}
			prev = e
		}
		for _, t := range to {
			added, err := b.channels.Subscribe(ctx, Subscription{Channel: ch, Target: t, Origin: "config", Created: now})
			if err != nil {
				return fmt.Errorf("seed subscription %s → %s: %w", ch, t, err)
			}
			if added {
				rep.SubscriptionsAdded++
			}
		}
		for _, t := range prev.Items {
			if slices.Contains(to, t) {
				continue
			}
			if current == nil {
				var err error
				if current, err = b.channels.Subscriptions(ctx); err != nil {
					return fmt.Errorf("seed subscriptions of %s: %w", ch, err)
				}
			}
			// Only the file's own subscription goes; the same target
			// subscribed from chat stays.
			if !slices.ContainsFunc(current, func(s Subscription) bool {
				return s.Channel == ch && s.Target == t && s.Origin == "config"
			}) {
				continue
			}
			removed, err := b.channels.Unsubscribe(ctx, ch, t)
			if err != nil {
				return fmt.Errorf("seed: unsubscribe %s from %s: %w", ch, t, err)
			}
			if removed {
				rep.SubscriptionsRemoved++
			}
		}
		if b.entries != nil {
			if err := b.entries.SetConfigEntry(ctx, ConfigEntry{Kind: "subscriptions", Key: ch, Hash: hash, Items: sorted, At: now}); err != nil {
				return fmt.Errorf("seed subscriptions of %s: %w", ch, err)
			}
		}
	}
	return nil
}

// seedChannelSettings applies the file's `channels:` entries as Seed
// applies subscriptions: an entry is applied only when it changed since
// the last load, so settings changed in chat persist over restarts until
// someone edits that channel's entry in the file. Without a
// ConfigEntries store every entry is applied on every load.
func (b *Bot) seedChannelSettings(ctx context.Context, now time.Time, rep *SeedReport) error {
	st := b.channels
	if len(b.Config().Channels) == 0 {
		return nil
	}
	for _, cc := range b.Config().Channels {
		ch := cc.Settings.Channel
		if b.entries != nil {
			e, ok, err := b.entries.ConfigEntry(ctx, "channels", ch)
			if err != nil {
				return fmt.Errorf("seed settings of %s: %w", ch, err)
			}
			if ok && e.Hash == cc.Hash {
				continue
			}
		}
		s := cc.Settings
		s.Origin, s.UpdatedAt, s.UpdatedBy = "config", now, "config"
		if err := st.SetChannelSettings(ctx, s); err != nil {
			return fmt.Errorf("seed settings of %s: %w", ch, err)
		}
		if _, err := replanHeld(ctx, b.channels, s, b.Config().Location, now); err != nil {
			b.log.Error("held alerts not planned again for new settings", "channel", ch, "err", err)
		}
		rep.ChannelSettingsApplied++
		if b.entries != nil {
			if err := b.entries.SetConfigEntry(ctx, ConfigEntry{Kind: "channels", Key: ch, Hash: cc.Hash, At: now}); err != nil {
				return fmt.Errorf("seed settings of %s: %w", ch, err)
			}
		}
	}
	b.SettingsChanged()
	return nil
}
