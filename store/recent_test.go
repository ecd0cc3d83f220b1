package store

import (
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
)

func TestRecentDeliveries(t *testing.T) {
	db := openTest(t, testNow)
	ctx := testCtx(t)
	if err := db.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
		t.Fatal(err)
	}
	if got, err := db.RecentDeliveries(ctx, 50); err != nil || len(got) != 0 {
		t.Fatalf("RecentDeliveries on an empty outbox = %v, %v; want none", got, err)
	}
	a1, a2 := mkAlert("k/1", "ev1"), mkAlert("k/2", "ev2")
	if _, err := db.CommitRun(ctx, bot.RunRecord{Watcher: "deadlines", At: testNow.Add(-time.Hour), Alerts: []bot.NewAlert{
		{Alert: a1, Channels: []string{"slack:C1", "discord:9"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CommitRun(ctx, bot.RunRecord{Watcher: "deadlines", At: testNow, Alerts: []bot.NewAlert{
		{Alert: a2, Channels: []string{"slack:C2"}}}}); err != nil {
		t.Fatal(err)
	}
	all, err := db.RecentDeliveries(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("RecentDeliveries(0) = %d deliveries, want 3", len(all))
	}
	// Newest first, across channels and platforms, each with its alert.
	if all[0].Channel != "slack:C2" || all[0].Alert.Key != "k/2" {
		t.Errorf("newest = %s %s, want slack:C2 k/2", all[0].Channel, all[0].Alert.Key)
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID >= all[i-1].ID {
			t.Errorf("not newest first: id %d after %d", all[i].ID, all[i-1].ID)
		}
	}
	if err := db.MarkFailed(ctx, all[2].ID, 1, "channel_not_found"); err != nil {
		t.Fatal(err)
	}
	two, err := db.RecentDeliveries(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(two) != 2 || two[0].ID != all[0].ID || two[1].ID != all[1].ID {
		t.Errorf("RecentDeliveries(2) = %v, want the two newest", two)
	}
	all, _ = db.RecentDeliveries(ctx, 0)
	if all[2].State != bot.DeliveryFailed || all[2].LastError != "channel_not_found" {
		t.Errorf("oldest = %s %q, want failed with its error", all[2].State, all[2].LastError)
	}
}
