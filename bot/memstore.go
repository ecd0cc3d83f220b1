package bot

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
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

	settings []ChannelSettings
	mutes    []Mute
	held     []memHeld // deliveries held by channels' rules, in commit order
	nextID   int64
	alerts   map[string]ReplayAlert    // by key: each alert as first committed
	full     map[string]watchers.Alert // by key: the alerts themselves (preview's mute reasons)
}

// memHeld is a held delivery in memory; done once released or bundled.
type memHeld struct {
	HeldDelivery
	done bool
}

var (
	_ RunStore     = (*memStore)(nil)
	_ releaseStore = (*memStore)(nil)
)

func newMemStore(cfg *Config, from time.Time) *memStore {
	m := &memStore{watchers: map[string]WatcherRecord{}, next: map[[2]string]time.Time{},
		never: map[[2]string]bool{}, seen: map[string]bool{}, alerts: map[string]ReplayAlert{}, full: map[string]watchers.Alert{}}
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
	for _, cc := range cfg.Channels {
		s := cc.Settings
		s.UpdatedAt = from
		m.settings = append(m.settings, s)
	}
	return m
}

// ChannelSettings returns the channels' settings.
func (m *memStore) ChannelSettings(context.Context) ([]ChannelSettings, error) {
	return m.settings, nil
}

// hasSettings reports whether channel has settings: replay then gives it
// lines of its own.
func (m *memStore) hasSettings(channel string) bool {
	return slices.ContainsFunc(m.settings, func(s ChannelSettings) bool { return s.Channel == channel })
}

// HeldDue returns the held deliveries due by now, by channel, release
// time and id, as the database does.
func (m *memStore) HeldDue(_ context.Context, now time.Time) ([]HeldDelivery, error) {
	var out []HeldDelivery
	for _, h := range m.held {
		if !h.done && !h.Until.After(now) {
			out = append(out, h.HeldDelivery)
		}
	}
	slices.SortStableFunc(out, func(a, b HeldDelivery) int {
		if a.Channel != b.Channel {
			return strings.Compare(a.Channel, b.Channel)
		}
		if c := a.Until.Compare(b.Until); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// NextHeld returns the earliest end of a hold.
func (m *memStore) NextHeld(context.Context) (time.Time, bool, error) {
	var best time.Time
	for _, h := range m.held {
		if !h.done && (best.IsZero() || h.Until.Before(best)) {
			best = h.Until
		}
	}
	return best, !best.IsZero(), nil
}

// hold keeps a held delivery and returns its id.
func (m *memStore) hold(h HeldDelivery) {
	m.nextID++
	h.ID = m.nextID
	m.held = append(m.held, memHeld{HeldDelivery: h})
}

// take marks the held deliveries ids as done and returns them in the
// order of ids.
func (m *memStore) take(ids []int64) []HeldDelivery {
	var out []HeldDelivery
	for _, id := range ids {
		for i := range m.held {
			if m.held[i].ID == id && !m.held[i].done {
				m.held[i].done = true
				out = append(out, m.held[i].HeldDelivery)
			}
		}
	}
	return out
}

// released is the line of a held alert posted at at.
func released(h HeldDelivery, at time.Time) ReplayAlert {
	a := h.Alert
	return ReplayAlert{At: at, HeldFrom: h.HeldFrom, Kind: a.Kind, Watcher: a.Watcher, Event: a.Event, Key: a.Key,
		Channels: []string{h.Channel}, Title: a.Title, Text: a.Text}
}

// agenda is replay's digest agenda: the events' states at now.
func (m *memStore) agenda(def *time.Location) func(context.Context, time.Time) ([]EventRecord, error) {
	return func(_ context.Context, now time.Time) ([]EventRecord, error) {
		var evs []EventRecord
		for _, ev := range m.events {
			if err := Materialize(&ev, now, def); err != nil {
				continue
			}
			evs = append(evs, ev)
		}
		return agendaOf(evs, now), nil
	}
}

// DueEvents returns the events whose next look by watcher has come.
func (m *memStore) DueEvents(_ context.Context, watcher string, now time.Time, limit int) ([]watchers.PlannedEvent, error) {
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
		if len(out) == watchers.BatchLimit(limit) {
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

// Mutes returns the mutes in force at now (preview copies the database's).
func (m *memStore) Mutes(_ context.Context, now time.Time) ([]Mute, error) {
	var out []Mute
	for _, mu := range m.mutes {
		if mu.Until.After(now) {
			out = append(out, mu)
		}
	}
	return out, nil
}

// CommitRun applies a run to memory as the database would: new alert keys
// are reported at the run's time, known ones are ignored, skipped ones are
// only remembered; events and next looks are stored.
func (m *memStore) CommitRun(ctx context.Context, run RunRecord) ([]AlertRecord, error) {
	var created []AlertRecord
	for _, na := range run.Alerts {
		a := na.Alert
		if m.seen[a.Key] {
			// As in the database: a summary made before leaves these to
			// go by themselves.
			for _, h := range m.take(na.Carries) {
				m.out = append(m.out, released(h, run.At))
			}
			continue
		}
		m.seen[a.Key] = true
		if na.Skipped {
			continue
		}
		created = append(created, AlertRecord{Alert: a, Created: run.At})
		line := ReplayAlert{At: run.At, Kind: a.Kind, Watcher: a.Watcher, Event: a.Event, Key: a.Key,
			Title: a.Title, Text: a.Text}
		m.alerts[a.Key] = line
		m.full[a.Key] = a
		if a.Kind == KindDigest || a.Kind == KindQuietSummary {
			items := m.take(na.Carries)
			if a.Kind == KindQuietSummary {
				// Each held alert is a line at the time the channel
				// receives it, in the summary.
				for _, h := range items {
					m.out = append(m.out, released(h, run.At))
				}
				continue
			}
			line.Channels = slices.Clone(na.Channels)
			line.Items = []string{}
			for _, h := range items {
				line.Items = append(line.Items, h.Alert.Key)
			}
			m.out = append(m.out, line)
			continue
		}
		var plain []string
		for _, ch := range na.Channels {
			if h, ok := holdFor(na.Holds, ch); ok {
				m.hold(HeldDelivery{Channel: ch, Alert: a, Reason: h.Reason, Until: h.Until, HeldFrom: run.At})
				continue
			}
			if m.hasSettings(ch) {
				own := line
				own.Channels = []string{ch}
				m.out = append(m.out, own)
				continue
			}
			plain = append(plain, ch)
		}
		if len(plain) > 0 || len(na.Channels) == 0 || len(na.Muted) > 0 {
			line.Channels = plain
			line.Muted = slices.Clone(na.Muted)
			m.out = append(m.out, line)
		}
	}
	for _, h := range m.take(run.Release) {
		m.out = append(m.out, released(h, run.At))
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

// holdFor returns the hold for channel among holds.
func holdFor(holds []Hold, channel string) (Hold, bool) {
	for _, h := range holds {
		if h.Channel == channel {
			return h, true
		}
	}
	return Hold{}, false
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
