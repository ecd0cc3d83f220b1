package bot

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
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
	// HeldFrom, for an alert a channel's quiet hours held, is when it
	// would have been posted; At is when the channel receives it.
	HeldFrom time.Time
	// Items, for a digest (Kind KindDigest), are the keys of the alerts
	// it lists, in order.
	Items []string
	// Muted are the subscribed channels a mute kept the alert from
	// (preview only).
	Muted []string
}

// Replay runs the config's date-driven watchers (watchers.DateDriven) on a
// virtual clock over [from, to), exactly as a bot started at from with an
// empty database and never down: the same run pipeline as serve, over a
// memory store instead of the database. At from it catches up; after that
// every alert is reported at its own due time. It touches no network and
// no database.
func Replay(ctx context.Context, cfg *Config, factories map[string]watchers.Factory, from, to time.Time) ([]ReplayAlert, error) {
	if !from.Before(to) {
		return nil, fmt.Errorf("replay: --from %s is not before --to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	mem := newMemStore(cfg, from)
	if err := replayOn(ctx, mem, cfg, factories, from, to, false); err != nil {
		return nil, err
	}
	return mem.sorted(), nil
}

// replayOn runs mem's date-driven watchers and releases its held
// deliveries on a virtual clock over [from, to): at each instant the
// holds that end are released first, then the watchers run. withMuted
// makes the runs list the channels mutes kept each alert from.
func replayOn(ctx context.Context, mem *memStore, cfg *Config, factories map[string]watchers.Factory, from, to time.Time, withMuted bool) error {
	log := slog.New(slog.DiscardHandler)
	config := func() *Config { return cfg }
	p := newPipeline(mem, factories, nil, config, nil, NewMetrics(nil), log)
	p.withMuted = withMuted
	rel := newReleaser(mem, config, mem.agenda(cfg.Location), log)
	var ids []string
	for _, cw := range cfg.Watchers {
		if _, ok := factories[cw.Spec.Kind]; !ok {
			return fmt.Errorf("replay: unknown watcher kind %q", cw.Spec.Kind)
		}
		if !cw.Spec.Paused && p.dated(cw.Spec) {
			ids = append(ids, cw.Spec.ID)
		}
	}
	now := from
	for steps := 0; now.Before(to); steps++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if steps > 10_000_000 {
			return fmt.Errorf("replay: too many steps; is a watcher planning in a loop?")
		}
		if _, err := rel.release(ctx, now); err != nil {
			return fmt.Errorf("replay: at %s: %w", now.Format(time.RFC3339), err)
		}
		for _, id := range ids {
			for more := true; more; {
				out, err := p.run(ctx, id, now, &batchScope{batch: watchers.DueBatch})
				if err != nil {
					return fmt.Errorf("replay: watcher %s at %s: %w", id, now.Format(time.RFC3339), err)
				}
				more = out.More
			}
		}
		next, ok := mem.earliest()
		if held, found, err := rel.next(ctx, now); err != nil {
			return fmt.Errorf("replay: %w", err)
		} else if found && (!ok || held.Before(next)) {
			next, ok = held, true
		}
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
	return nil
}

// sorted returns the replayed lines in time order.
func (m *memStore) sorted() []ReplayAlert {
	sort.SliceStable(m.out, func(i, j int) bool {
		if !m.out[i].At.Equal(m.out[j].At) {
			return m.out[i].At.Before(m.out[j].At)
		}
		return m.out[i].Event < m.out[j].Event
	})
	return m.out
}
