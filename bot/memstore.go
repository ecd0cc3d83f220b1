package bot

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// memStore is replay's RunStore: the config's events, watchers and
// subscriptions in memory, and the alerts a run commits collected as
// ReplayAlerts. Alert keys are unique here as in the database.
type memStore struct {
	events   []EventRecord
	watchers map[string]WatcherRecord
	subs     []Subscription
	next     map[[2]string]time.Time // (watcher, event) → next look; absent = now
	never    map[[2]string]bool
	seen     map[string]bool // alert keys committed
	out      []ReplayAlert
}

var _ RunStore = (*memStore)(nil)

func newMemStore(cfg *Config, from time.Time) *memStore {
	m := &memStore{watchers: map[string]WatcherRecord{}, next: map[[2]string]time.Time{},
		never: map[[2]string]bool{}, seen: map[string]bool{}}
	for _, ce := range cfg.Events {
		rec := EventRecord{Event: ce.Event}
		rec.CreatedAt = from
		m.events = append(m.events, rec)
	}
	for _, cw := range cfg.Watchers {
		m.watchers[cw.Spec.ID] = WatcherRecord{Spec: cw.Spec, Origin: "config"}
	}
	for _, cs := range cfg.Subscriptions {
		for _, t := range cs.To {
			m.subs = append(m.subs, Subscription{Channel: cs.Channel, Target: t, Origin: "config"})
		}
	}
	return m
}

// DueEvents returns the events whose next look by watcher has come.
func (m *memStore) DueEvents(_ context.Context, watcher string, now time.Time) ([]watchers.PlannedEvent, error) {
	var out []watchers.PlannedEvent
	for _, ev := range m.events {
		k := [2]string{watcher, ev.ID}
		if m.never[k] {
			continue
		}
		n, ok := m.next[k]
		if ok && n.After(now) {
			continue
		}
		out = append(out, watchers.PlannedEvent{Event: ev.Event, Since: n})
		if len(out) == watchers.DueBatch {
			break
		}
	}
	return out, nil
}

func (m *memStore) Watcher(_ context.Context, id string) (WatcherRecord, error) {
	w, ok := m.watchers[id]
	if !ok {
		return w, fmt.Errorf("watcher %q: %w", id, ErrNotFound)
	}
	return w, nil
}

func (m *memStore) Event(_ context.Context, id string) (EventRecord, error) {
	for _, ev := range m.events {
		if ev.ID == id {
			return ev, nil
		}
	}
	return EventRecord{}, fmt.Errorf("event %q: %w", id, ErrNotFound)
}

// EventsChangingBy returns nothing: replay keeps no materialized states,
// which only serve's queries read.
func (m *memStore) EventsChangingBy(context.Context, time.Time) ([]EventRecord, error) {
	return nil, nil
}

func (m *memStore) SaveEvent(_ context.Context, ev EventRecord) error {
	for i := range m.events {
		if m.events[i].ID == ev.ID {
			m.events[i] = ev
			return nil
		}
	}
	m.events = append(m.events, ev)
	return nil
}

func (m *memStore) Subscriptions(context.Context) ([]Subscription, error) { return m.subs, nil }

func (m *memStore) Mutes(context.Context, time.Time) ([]Mute, error) { return nil, nil }

// CommitRun applies a run to memory as the database would: new alert keys
// are reported at the run's time, known ones are ignored, skipped ones are
// only remembered; events and next looks are stored.
func (m *memStore) CommitRun(ctx context.Context, run RunRecord) ([]AlertRecord, error) {
	var created []AlertRecord
	for _, na := range run.Alerts {
		a := na.Alert
		if m.seen[a.Key] {
			continue
		}
		m.seen[a.Key] = true
		if na.Skipped {
			continue
		}
		created = append(created, AlertRecord{Alert: a, Created: run.At})
		m.out = append(m.out, ReplayAlert{At: run.At, Kind: a.Kind, Watcher: a.Watcher, Event: a.Event, Key: a.Key,
			Channels: slices.Clone(na.Channels), Title: a.Title, Text: a.Text})
	}
	for _, ev := range run.Events {
		_ = m.SaveEvent(ctx, ev)
	}
	if w, ok := m.watchers[run.Watcher]; ok && run.UpdateState {
		w.State = run.State
		m.watchers[run.Watcher] = w
	}
	for _, p := range run.Next {
		k := [2]string{run.Watcher, p.Event}
		if p.At.IsZero() {
			m.never[k] = true
			delete(m.next, k)
			continue
		}
		delete(m.never, k)
		m.next[k] = p.At
	}
	return created, nil
}

// NextLook returns watcher's first planned look.
func (m *memStore) NextLook(_ context.Context, watcher string) (time.Time, bool, error) {
	var best time.Time
	for k, t := range m.next {
		if k[0] == watcher && (best.IsZero() || t.Before(best)) {
			best = t
		}
	}
	return best, !best.IsZero(), nil
}

// earliest returns the first planned look of any watcher.
func (m *memStore) earliest() (time.Time, bool) {
	var best time.Time
	for _, t := range m.next {
		if best.IsZero() || t.Before(best) {
			best = t
		}
	}
	return best, !best.IsZero()
}

// ProposalEvents returns the events with match words. Replay runs only
// date watchers, which propose nothing, but the pipeline asks the same.
func (m *memStore) ProposalEvents(context.Context) ([]EventRecord, error) {
	var out []EventRecord
	for _, ev := range m.events {
		if len(ev.Match) > 0 {
			out = append(out, ev)
		}
	}
	return out, nil
}
