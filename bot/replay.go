package bot

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// ReplayAlert is one alert a replay would have posted.
type ReplayAlert struct {
	At       time.Time
	Kind     watchers.Kind
	Watcher  string
	Event    string
	Key      string
	Channels []string
	Title    string
	Text     string
}

// ReplayKinds are the watcher kinds a replay runs: the date-driven ones,
// which need no network.
var ReplayKinds = map[string]bool{"countdown": true}

// Replay runs the config's date-driven watchers on a virtual clock over
// [from, to), exactly as a bot started at from with an empty database and
// never down: at from it catches up, after that every alert is reported
// at its own due time. It touches no network and no database.
func Replay(ctx context.Context, cfg *Config, factories map[string]watchers.Factory, from, to time.Time) ([]ReplayAlert, error) {
	if !from.Before(to) {
		return nil, fmt.Errorf("replay: --from %s is not before --to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	src := &memEvents{next: map[[2]string]time.Time{}}
	for _, ce := range cfg.Events {
		ev := ce.Event
		ev.CreatedAt = from
		src.events = append(src.events, ev)
	}
	rt := &routeTable{}
	for _, cs := range cfg.Subscriptions {
		for _, t := range cs.To {
			rt.subs = append(rt.subs, Subscription{Channel: cs.Channel, Target: t, Origin: "config"})
		}
	}
	type running struct {
		id string
		w  watchers.Watcher
	}
	var ws []running
	deps := watchers.Deps{Defaults: cfg.Defaults(), Events: src}
	for _, cw := range cfg.Watchers {
		if !ReplayKinds[cw.Spec.Kind] || cw.Spec.Paused {
			continue
		}
		f, ok := factories[cw.Spec.Kind]
		if !ok {
			return nil, fmt.Errorf("replay: unknown watcher kind %q", cw.Spec.Kind)
		}
		w, err := f(cw.Spec, deps)
		if err != nil {
			return nil, fmt.Errorf("replay: watcher %s: %w", cw.Spec.ID, err)
		}
		ws = append(ws, running{cw.Spec.ID, w})
	}
	seen := map[string]bool{}
	var out []ReplayAlert
	now := from
	for steps := 0; now.Before(to); steps++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if steps > 10_000_000 {
			return nil, fmt.Errorf("replay: too many steps; is a watcher planning in a loop?")
		}
		for _, w := range ws {
			res, err := w.w.Check(ctx, watchers.Input{Now: now})
			if err != nil {
				return nil, fmt.Errorf("replay: watcher %s at %s: %w", w.id, now.Format(time.RFC3339), err)
			}
			for _, a := range res.Alerts {
				if seen[a.Key] {
					continue
				}
				seen[a.Key] = true
				out = append(out, ReplayAlert{At: now, Kind: a.Kind, Watcher: a.Watcher, Event: a.Event, Key: a.Key,
					Channels: rt.channels(a), Title: a.Title, Text: a.Text})
			}
			for _, a := range res.Skipped {
				seen[a.Key] = true
			}
			src.setNext(w.id, res.Next)
		}
		next, ok := src.earliest()
		if !ok {
			break
		}
		if !next.After(now) {
			// A watcher asked to look again at once; move on by a tick
			// rather than spin.
			next = now.Add(time.Second)
		}
		now = next
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].Event < out[j].Event
	})
	return out, nil
}

// memEvents is an in-memory EventSource with per-watcher next times.
type memEvents struct {
	mu     sync.Mutex
	events []watchers.Event
	next   map[[2]string]time.Time // (watcher, event) → next look; absent = now
	never  map[[2]string]bool
}

func (m *memEvents) DueEvents(_ context.Context, watcher string, now time.Time) ([]watchers.PlannedEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
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
		out = append(out, watchers.PlannedEvent{Event: ev, Since: n})
	}
	return out, nil
}

func (m *memEvents) setNext(watcher string, plans []watchers.NextPlan) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.never == nil {
		m.never = map[[2]string]bool{}
	}
	for _, p := range plans {
		k := [2]string{watcher, p.Event}
		if p.At.IsZero() {
			m.never[k] = true
			delete(m.next, k)
			continue
		}
		m.next[k] = p.At
	}
}

func (m *memEvents) earliest() (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var best time.Time
	for _, t := range m.next {
		if best.IsZero() || t.Before(best) {
			best = t
		}
	}
	return best, !best.IsZero()
}
