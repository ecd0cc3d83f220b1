package bot_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/store"
)

// targetCounting is the database as a run store, recording how a run
// reads the subscriptions: all of them, or those of given targets.
type targetCounting struct {
	*store.DB
	mu      sync.Mutex
	all     int        // Subscriptions calls
	targets [][]string // SubscriptionsFor calls' targets
}

func (c *targetCounting) Subscriptions(ctx context.Context) ([]bot.Subscription, error) {
	c.mu.Lock()
	c.all++
	c.mu.Unlock()
	return c.DB.Subscriptions(ctx)
}

func (c *targetCounting) SubscriptionsFor(ctx context.Context, targets []string) ([]bot.Subscription, error) {
	c.mu.Lock()
	c.targets = append(c.targets, slices.Clone(targets))
	c.mu.Unlock()
	return c.DB.SubscriptionsFor(ctx, targets)
}

// allSubscriptions is the database as a run store that can only read
// every subscription (no bot.TargetReader).
type allSubscriptions struct{ bot.RunStore }

// TestRunRoutesByTarget: a run over 600 events due at once, in batches of
// 50, 200 and 350, reads for its first two batches only the subscriptions
// of the targets their alerts match, and for the third, which needs more
// targets than a lookup by target serves well, every subscription once;
// it routes each alert exactly as a run that reads every subscription at
// the start: to its event's channel, its tag's, and the channel that
// follows everything, not to the 200 channels that follow events not due.
func TestRunRoutesByTarget(t *testing.T) {
	const n = 600
	due := seedNow.UTC().Format("2006-01-02T15:04:05Z")
	var cfg strings.Builder
	cfg.WriteString("timezone: Asia/Tokyo\nevents:\n")
	for i := range n {
		tags := ""
		if i < 10 {
			tags = "\n    tags: [budget]"
		}
		fmt.Fprintf(&cfg, "  - id: e%03d\n    title: Event %d\n    due: %s\n    lead_times: [0m]%s\n", i, i, due, tags)
	}
	for i := range 200 { // followed, but not due
		fmt.Fprintf(&cfg, "  - id: x%03d\n    title: Later %d\n    due: 2027-12-01\n    lead_times: [0m]\n", i, i)
	}
	cfg.WriteString("watchers:\n  - id: deadlines\n    kind: countdown\n    schedule: \"@every 1h\"\n")
	cfg.WriteString("subscriptions:\n  - channel: slack:CADMIN\n    to: [all]\n  - channel: slack:CBUDGET\n    to: [tag:budget]\n")
	for i := range 300 { // events 300–599 only go to CADMIN
		fmt.Fprintf(&cfg, "  - channel: slack:C%03d\n    to: [event:e%03d]\n", i, i)
	}
	for i := range 200 {
		fmt.Fprintf(&cfg, "  - channel: slack:CX%03d\n    to: [event:x%03d]\n", i, i)
	}
	var counting *targetCounting
	byTarget := openApp(t, cfg.String(), seedNow, appOptions{noSeed: true, runs: func(db *store.DB) bot.RunStore {
		counting = &targetCounting{DB: db}
		return counting
	}})
	byAll := openApp(t, cfg.String(), seedNow, appOptions{noSeed: true, runs: func(db *store.DB) bot.RunStore {
		return allSubscriptions{db}
	}})
	routed := func(a *app) map[string][]string {
		t.Helper()
		a.seed()
		if _, err := a.bot.RunWatcher(context.Background(), "deadlines", seedNow); err != nil {
			t.Fatal(err)
		}
		ds, err := a.db.PendingDeliveries(context.Background(), "slack", seedNow, 0)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{} // alert key → channels
		for _, d := range ds {
			out[d.Alert.Key] = append(out[d.Alert.Key], d.Channel)
		}
		for _, chs := range out {
			slices.Sort(chs)
		}
		return out
	}
	got, want := routed(byTarget), routed(byAll)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("routing by target differs from routing by every subscription (-want +got):\n%s", diff)
	}
	if len(got) != n {
		t.Fatalf("%d alerts with deliveries, want %d", len(got), n)
	}
	for key, chs := range got {
		var i int
		if _, err := fmt.Sscanf(key, "deadlines/e%03d", &i); err != nil {
			t.Fatalf("alert key %q: %v", key, err)
		}
		wantChs := []string{"slack:CADMIN"}
		if i < 10 {
			wantChs = append(wantChs, "slack:CBUDGET")
		}
		if i < 300 {
			wantChs = append(wantChs, fmt.Sprintf("slack:C%03d", i))
		}
		slices.Sort(wantChs)
		if !slices.Equal(chs, wantChs) {
			t.Errorf("%s went to %v, want %v", key, chs, wantChs)
		}
	}
	counting.mu.Lock()
	defer counting.mu.Unlock()
	if counting.all != 1 {
		t.Errorf("the run read every subscription %d times, want once (for its third batch)", counting.all)
	}
	if len(counting.targets) != 2 {
		t.Errorf("the run read subscriptions by target %d times, want once for each of its first two batches", len(counting.targets))
	}
	seen := map[string]bool{}
	for _, ts := range counting.targets {
		for _, tgt := range ts {
			if seen[tgt] {
				t.Errorf("target %s read twice in one run", tgt)
			}
			seen[tgt] = true
			if strings.HasPrefix(tgt, "event:x") {
				t.Errorf("the run read target %s, which none of its alerts matches", tgt)
			}
		}
	}
	wantTargets := map[string]bool{"all": true, "tag:budget": true, "watcher:deadlines": true}
	for i := range 250 {
		wantTargets[fmt.Sprintf("event:e%03d", i)] = true
	}
	if diff := cmp.Diff(wantTargets, seen); diff != "" {
		t.Errorf("targets read (-want +got):\n%s", diff)
	}
}
