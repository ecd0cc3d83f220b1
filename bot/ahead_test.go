package bot_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/store"
	"github.com/policyteam/alertbot/watchers"
)

// countingRuns is the database as a run store, counting how a date
// watcher's due events are read, and how often its next look is.
type countingRuns struct {
	*store.DB
	fromStart, after, nextLooks atomic.Int32
}

func (c *countingRuns) NextLook(ctx context.Context, watcher string) (time.Time, bool, error) {
	c.nextLooks.Add(1)
	return c.DB.NextLook(ctx, watcher)
}

func (c *countingRuns) DueEvents(ctx context.Context, watcher string, now time.Time, limit int) ([]watchers.PlannedEvent, error) {
	c.fromStart.Add(1)
	return c.DB.DueEvents(ctx, watcher, now, limit)
}

func (c *countingRuns) DueEventsAfter(ctx context.Context, watcher string, now time.Time, last watchers.PlannedEvent, limit int) ([]watchers.PlannedEvent, error) {
	c.after.Add(1)
	return c.DB.DueEventsAfter(ctx, watcher, now, last, limit)
}

// fromStartOnly is the database as a run store that cannot read on from a
// batch's last event (no DueEventsAfter).
type fromStartOnly struct{ bot.RunStore }

// TestRunReadsAhead: a first pass over 4,500 events, in batches of 50,
// 200, 1,000, 2,000 and 1,250, reads the first three batches from the
// start (a burst's first alerts go first) and each next one on from the
// last event of the one before (while that one is committed); it checks
// every event once and plans exactly what a pass reading each batch from
// the start does; it reads its next look once, after the last batch.
func TestRunReadsAhead(t *testing.T) {
	const n = 4500
	var cfg strings.Builder
	cfg.WriteString("timezone: Asia/Tokyo\nevents:\n")
	for i := range n {
		// Due dates on both sides of seedNow: some alerts, some skipped
		// milestones, all with a next look.
		fmt.Fprintf(&cfg, "  - id: ev-%04d\n    title: Event %d\n    due: %s\n", i, i, seedNow.AddDate(0, 0, i%400-100).Format("2006-01-02"))
	}
	cfg.WriteString("watchers:\n  - id: deadlines\n    kind: countdown\n    schedule: \"@every 1h\"\n")
	cfg.WriteString("subscriptions:\n  - channel: slack:C1\n    to: [all]\n")
	var counting *countingRuns
	ahead := openApp(t, cfg.String(), seedNow, appOptions{noSeed: true, runs: func(db *store.DB) bot.RunStore {
		counting = &countingRuns{DB: db}
		return counting
	}})
	plain := openApp(t, cfg.String(), seedNow, appOptions{noSeed: true, runs: func(db *store.DB) bot.RunStore {
		return fromStartOnly{db}
	}})
	type pass struct {
		Found  string
		Alerts int
		Due    [][]string // events due at later times
	}
	run := func(a *app) pass {
		t.Helper()
		a.seed()
		found, err := a.bot.RunWatcher(context.Background(), "deadlines", seedNow)
		if err != nil {
			t.Fatal(err)
		}
		var p pass
		p.Found = found
		counts, err := a.db.DeliveryCounts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range counts {
			p.Alerts += c
		}
		for _, days := range []int{0, 1, 30, 90, 300} {
			due, err := a.db.DueEvents(context.Background(), "deadlines", seedNow.AddDate(0, 0, days), watchers.DueBatch)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, pe := range due {
				ids = append(ids, pe.Event.ID)
			}
			p.Due = append(p.Due, ids)
		}
		return p
	}
	got, want := run(ahead), run(plain)
	if !strings.HasPrefix(got.Found, "5 batches; last: 1250 events checked") {
		t.Errorf("the pass: %q, want 5 batches, the last of 1,250 events", got.Found)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("a pass reading ahead differs from one that does not (-want +got):\n%s", diff)
	}
	if len(got.Due[0]) != 0 || len(got.Due[4]) == 0 || got.Alerts == 0 {
		t.Errorf("after the pass: %d due now, %d in 300 days, %d deliveries; want none now, some later, some alerts", len(got.Due[0]), len(got.Due[4]), got.Alerts)
	}
	if s, a := counting.fromStart.Load(), counting.after.Load(); s != 3 || a != 2 {
		t.Errorf("due events read %d times from the start and %d times on from a batch, want 3 and 2", s, a)
	}
	if n := counting.nextLooks.Load(); n != 1 {
		t.Errorf("the next look read %d times in a run of 5 batches, want once, after the last", n)
	}
}
