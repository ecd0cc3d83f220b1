package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/slack"
	"github.com/policyteam/alertbot/bot/slack/slacktest"
	"github.com/policyteam/alertbot/store"
	"github.com/policyteam/alertbot/store/pgtest"
	"github.com/policyteam/alertbot/watchers"
)

// BenchmarkReplicasDrain: deliveries per second from one PostgreSQL
// outbox through the Slack adapter to the fake Slack (limiter off), with
// 1 and 3 replicas delivering at once — bots in this process, each with
// its own database handle, owner and adapter, as separate processes
// would have — claiming channels from each other (DESIGN §8: 3 replicas
// at least the single-process SQLite figure, BenchmarkOutboxDrainSlack).
// On one 2-core machine the replicas, the server and the fake share the
// cores: the figure shows the cost of the claims, not the gain of more
// machines.
//
// sqlite is the same load on one SQLite process (its one owner's claims
// do not expire), for comparison.
func BenchmarkReplicasDrain(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchReplicas(b, filepath.Join(b.TempDir(), "a.db"), 1, 0) })
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("postgres/replicas=%d", n), func(b *testing.B) { benchReplicas(b, pgtest.URL(b), n, claimTTL) })
	}
}

func benchReplicas(b *testing.B, url string, replicas int, ttl time.Duration) {
	fake := slacktest.NewServer()
	defer fake.Close()
	cfg, err := bot.ParseConfig("bench.yaml", []byte(benchConfig), factories)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	type rep struct {
		b *bot.Bot
		p bot.Platform
	}
	var reps []rep
	var first *store.DB
	for i := range replicas {
		db, err := store.Open(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		if first == nil {
			first = db
		}
		a, err := slack.New(slack.Config{BotToken: "xoxb-bench", APIURL: fake.URL, ChannelRate: slack.NoLimit})
		if err != nil {
			b.Fatal(err)
		}
		bt, _, err := wire(db, bot.Options{Config: cfg, Platforms: []bot.Platform{a}, Owner: fmt.Sprint("replica-", i), ClaimTTL: ttl})
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			if _, err := bt.Seed(ctx); err != nil {
				b.Fatal(err)
			}
		}
		reps = append(reps, rep{bt, a})
	}
	const alertsPer, channels = 10, 96
	chans := make([]string, channels)
	for i := range chans {
		chans[i] = fmt.Sprintf("slack:C%03d", i)
	}
	total := 0
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		alerts := make([]bot.NewAlert, alertsPer)
		for j := range alerts {
			alerts[j] = bot.NewAlert{Alert: watchers.Alert{Key: fmt.Sprintf("bench/%d/%d", i, j), Kind: watchers.KindReminder,
				Watcher: "deadlines", Event: "e", At: now, Title: "Diet passes the budget", Text: "Due in 7 days."}, Channels: chans}
		}
		if _, err := first.CommitRun(ctx, bot.RunRecord{Watcher: "deadlines", At: now, Alerts: alerts}); err != nil {
			b.Fatal(err)
		}
		want := int64(alertsPer * channels)
		var done atomic.Int64
		b.StartTimer()
		var wg sync.WaitGroup
		for _, r := range reps {
			wg.Go(func() {
				for done.Load() < want {
					n, err := r.b.DeliverPending(ctx, r.p)
					if err != nil {
						b.Error(err)
						return
					}
					if n == 0 {
						// The rest is held by the other replicas.
						time.Sleep(time.Millisecond)
					}
					done.Add(int64(n))
				}
			})
		}
		wg.Wait()
		total += int(want)
	}
	b.StopTimer()
	counts, err := first.DeliveryCounts(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if counts[bot.DeliveryPending] != 0 || counts[bot.DeliverySent] != total {
		b.Fatalf("deliveries after the run: %v, want %d sent", counts, total)
	}
	if posts := len(fake.Posts()); posts != total {
		b.Fatalf("%d posts for %d deliveries", posts, total)
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "deliveries/s")
}
