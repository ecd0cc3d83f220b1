package store

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

// TestClaimAlertsFromMemory: a claim gives each delivery the same record
// whether the claiming process made the alert (kept in memory) or another
// process did (read from the database), on both claim paths: the sole
// deliverer's and that of replicas sharing the outbox.
func TestClaimAlertsFromMemory(t *testing.T) {
	for _, bc := range backendCases {
		t.Run(bc.name, func(t *testing.T) {
			for _, ttl := range []time.Duration{0, time.Minute} {
				name := bc.fresh(t)
				maker, other := openAt(t, name, testNow), openAt(t, name, testNow)
				ctx := testCtx(t)
				if err := maker.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
					t.Fatal(err)
				}
				plain := mkAlert("deadlines/a/x", "a")
				bare := watchers.Alert{Key: "deadlines/b/x", Kind: watchers.KindReminder, Watcher: "deadlines",
					At: time.Date(2025, 3, 31, 9, 30, 0, 123456789, jst), Title: "Bare"}
				fancy := mkAlert("deadlines/c/x", "c")
				fancy.Fields = append(fancy.Fields, watchers.Field{Name: "Held", Value: "x", Time: time.Date(2025, 4, 1, 8, 0, 0, 987654321, jst)})
				fancy.Tags = []string{}
				// A process that does not claim keeps nothing.
				if _, err := other.CommitRun(ctx, bot.RunRecord{Watcher: "deadlines", At: testNow, Alerts: []bot.NewAlert{
					{Alert: mkAlert("deadlines/f/x", "f"), Channels: []string{"discord:123456789012345678"}},
				}}); err != nil {
					t.Fatal(err)
				}
				if got := len(other.recent.m); got != 0 {
					t.Errorf("a process that never claimed keeps %d alerts in memory, want none", got)
				}
				if _, err := maker.ClaimDue(ctx, bot.DueClaim{Platform: "slack", Owner: "p1", Now: testNow, TTL: ttl, Limit: 100}); err != nil {
					t.Fatal(err)
				}
				// Alerts with nothing to send now are not kept: for no
				// channel, or held.
				nowhere := mkAlert("deadlines/d/x", "d")
				held := mkAlert("deadlines/e/x", "e")
				if _, err := maker.CommitRun(ctx, bot.RunRecord{Watcher: "deadlines", At: testNow, Alerts: []bot.NewAlert{
					{Alert: plain, Channels: []string{"slack:C1"}},
					{Alert: bare, Channels: []string{"slack:C2"}},
					{Alert: nowhere},
					{Alert: fancy, Channels: []string{"slack:C3", "slack:C4"}},
					{Alert: held, Channels: []string{"slack:C5"}, Holds: []bot.Hold{{Channel: "slack:C5", Until: testNow.Add(time.Hour), Reason: bot.HoldQuiet}}},
				}}); err != nil {
					t.Fatal(err)
				}
				claim := func(db *DB) []bot.DeliveryRecord {
					t.Helper()
					ds, err := db.ClaimDue(ctx, bot.DueClaim{Platform: "slack", Owner: "p1", Now: testNow, TTL: ttl, Limit: 100})
					if err != nil {
						t.Fatal(err)
					}
					if len(ds) != 4 {
						t.Fatalf("claimed %d deliveries, want 4", len(ds))
					}
					return ds
				}
				read := claim(other) // not made there: read from the database
				if got := len(maker.recent.m); got != 3 {
					t.Fatalf("the maker keeps %d alerts in memory, want 3", got)
				}
				kept := claim(maker) // made there: from memory
				if diff := cmp.Diff(read, kept); diff != "" {
					t.Errorf("ttl %v: claimed records, read (-) and from memory (+):\n%s", ttl, diff)
				}
				if got := len(maker.recent.m); got != 0 {
					t.Errorf("%d alerts still in memory after their claim, want none", got)
				}
				kept[3].Alert.Fields[0].Name = "changed by a caller"
				if again := claim(maker); !cmp.Equal(read, again) {
					t.Errorf("ttl %v: a second claim, from the database, differs:\n%s", ttl, cmp.Diff(read, again))
				}
				if kept[2].Alert.Fields[0].Name != "Due" {
					t.Errorf("two deliveries of one alert share its fields: changing one changed the other to %q", kept[2].Alert.Fields[0].Name)
				}
			}
		})
	}
}
