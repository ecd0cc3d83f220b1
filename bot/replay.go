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
	p := newPipeline(mem, factories, nil, func() *Config { return cfg }, nil, NewMetrics(nil), slog.New(slog.DiscardHandler))
	var ids []string
	for _, cw := range cfg.Watchers {
		if _, ok := factories[cw.Spec.Kind]; !ok {
			return nil, fmt.Errorf("replay: unknown watcher kind %q", cw.Spec.Kind)
		}
		if !cw.Spec.Paused && p.dated(cw.Spec) {
			ids = append(ids, cw.Spec.ID)
		}
	}
	now := from
	for steps := 0; now.Before(to); steps++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if steps > 10_000_000 {
			return nil, fmt.Errorf("replay: too many steps; is a watcher planning in a loop?")
		}
		for _, id := range ids {
			for more := true; more; {
				out, err := p.run(ctx, id, now)
				if err != nil {
					return nil, fmt.Errorf("replay: watcher %s at %s: %w", id, now.Format(time.RFC3339), err)
				}
				more = out.More
			}
		}
		next, ok := mem.earliest()
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
	sort.SliceStable(mem.out, func(i, j int) bool {
		if !mem.out[i].At.Equal(mem.out[j].At) {
			return mem.out[i].At.Before(mem.out[j].At)
		}
		return mem.out[i].Event < mem.out[j].Event
	})
	return mem.out, nil
}
