package store

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

// contractChannelSettings: a channel's settings are stored, replaced,
// listed by channel and deleted when they set nothing.
func contractChannelSettings(t *testing.T, s backend) {
	ctx := testCtx(t)
	if got, err := s.ChannelSettings(ctx); err != nil || len(got) != 0 {
		t.Fatalf("ChannelSettings of an empty store = %v, %v", got, err)
	}
	b := bot.ChannelSettings{Channel: "slack:CB", Quiet: "22:00-07:00", Zone: "Asia/Tokyo", Origin: "config",
		UpdatedAt: testNow.Add(-time.Hour), UpdatedBy: "config"}
	a := bot.ChannelSettings{Channel: "discord:9", Digest: "weekly mon 08:00", Origin: "chat", UpdatedAt: testNow, UpdatedBy: "discord:1"}
	for _, cs := range []bot.ChannelSettings{b, a} {
		if err := s.SetChannelSettings(ctx, cs); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ChannelSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]bot.ChannelSettings{a, b}, got); diff != "" {
		t.Errorf("ChannelSettings (-want +got):\n%s", diff)
	}
	// Replaced as a whole.
	b2 := bot.ChannelSettings{Channel: "slack:CB", Digest: "daily 08:00", Origin: "chat", UpdatedAt: testNow, UpdatedBy: "slack:U1"}
	if err := s.SetChannelSettings(ctx, b2); err != nil {
		t.Fatal(err)
	}
	// Nothing set: the row goes.
	if err := s.SetChannelSettings(ctx, bot.ChannelSettings{Channel: "discord:9", Origin: "chat", UpdatedAt: testNow}); err != nil {
		t.Fatal(err)
	}
	got, err = s.ChannelSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]bot.ChannelSettings{b2}, got); diff != "" {
		t.Errorf("after replace and delete (-want +got):\n%s", diff)
	}
	if err := s.SetChannelSettings(ctx, bot.ChannelSettings{Channel: "nowhere", Quiet: "22:00-07:00"}); err == nil {
		t.Error("settings for a bad address were stored")
	}
}

// contractHeld: held deliveries are kept out of the send queue until
// released; a summary carries them (bundled) once, and a late one whose
// summary exists goes by itself; a release happens once.
func contractHeld(t *testing.T, s backend) {
	ctx := testCtx(t)
	if err := s.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
		t.Fatal(err)
	}
	t0 := testNow.Add(-time.Hour)
	quietEnd, digestAt := testNow.Add(time.Hour), testNow.Add(2*time.Hour)
	a1, a2, a3 := mkAlert("k/1", "ev"), mkAlert("k/2", "ev"), mkAlert("k/3", "ev")
	_, err := s.CommitRun(ctx, bot.RunRecord{Watcher: "deadlines", At: t0, Alerts: []bot.NewAlert{
		{Alert: a1, Channels: []string{"slack:C1", "slack:C2"}, Holds: []bot.Hold{{Channel: "slack:C1", Reason: bot.HoldQuiet, Until: quietEnd}}},
		{Alert: a2, Channels: []string{"slack:C1"}, Holds: []bot.Hold{{Channel: "slack:C1", Reason: bot.HoldQuiet, Until: quietEnd}}},
		{Alert: a3, Channels: []string{"slack:C1"}, Holds: []bot.Hold{{Channel: "slack:C1", Reason: bot.HoldDigest, Until: digestAt}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	far := testNow.Add(24 * time.Hour)
	pending, err := s.PendingDeliveries(ctx, "slack", far, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].Channel != "slack:C2" {
		t.Fatalf("pending %+v, want only slack:C2's (the held ones wait)", pending)
	}
	claimed, err := s.ClaimDue(ctx, bot.DueClaim{Platform: "slack", Owner: "w", Now: far})
	if err != nil || len(claimed) != 1 || claimed[0].Channel != "slack:C2" {
		t.Fatalf("ClaimDue = %+v, %v; want slack:C2's delivery only", claimed, err)
	}
	if next, ok, err := s.NextHeld(ctx); err != nil || !ok || !next.Equal(quietEnd) {
		t.Errorf("NextHeld = %s, %v, %v; want %s", next, ok, err, quietEnd)
	}
	if got, err := s.HeldDue(ctx, quietEnd.Add(-time.Millisecond)); err != nil || len(got) != 0 {
		t.Errorf("HeldDue before the end = %+v, %v", got, err)
	}
	held, err := s.HeldDue(ctx, quietEnd)
	if err != nil {
		t.Fatal(err)
	}
	want := []bot.HeldDelivery{
		{Channel: "slack:C1", Alert: a1, Reason: bot.HoldQuiet, Until: quietEnd, HeldFrom: t0},
		{Channel: "slack:C1", Alert: a2, Reason: bot.HoldQuiet, Until: quietEnd, HeldFrom: t0},
	}
	if diff := cmp.Diff(want, held, cmpIgnoreHeldID); diff != "" {
		t.Errorf("HeldDue (-want +got):\n%s", diff)
	}
	// The summary carries both.
	sum := watchers.Alert{Key: "quiet_summary/slack:C1@x", Kind: bot.KindQuietSummary, At: quietEnd, Title: "While the channel was quiet: 2 alerts"}
	created, err := s.CommitRun(ctx, bot.RunRecord{At: quietEnd, Alerts: []bot.NewAlert{
		{Alert: sum, Channels: []string{"slack:C1"}, Carries: []int64{held[0].ID, held[1].ID}}}})
	if err != nil || len(created) != 1 {
		t.Fatalf("summary commit = %v, %v", created, err)
	}
	states := func() map[string]string {
		t.Helper()
		h, err := s.ChannelHistory(ctx, "slack:C1", 0)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, it := range h {
			out[it.Alert.Key] = it.Delivery.State
		}
		return out
	}
	wantStates := map[string]string{"k/1": bot.DeliveryBundled, "k/2": bot.DeliveryBundled, "k/3": bot.DeliveryHeld, sum.Key: bot.DeliveryPending}
	if diff := cmp.Diff(wantStates, states()); diff != "" {
		t.Errorf("after the summary (-want +got):\n%s", diff)
	}
	if got, err := s.HeldDue(ctx, quietEnd); err != nil || len(got) != 0 {
		t.Errorf("HeldDue after the summary = %+v, %v", got, err)
	}
	// The same summary again (another pass) carrying the digest's row: the
	// summary exists, so the row goes by itself, and the bundled rows stay.
	digestRows, err := s.HeldDue(ctx, digestAt)
	if err != nil || len(digestRows) != 1 {
		t.Fatalf("HeldDue at the digest = %+v, %v", digestRows, err)
	}
	if _, err := s.CommitRun(ctx, bot.RunRecord{At: digestAt, Alerts: []bot.NewAlert{
		{Alert: sum, Channels: []string{"slack:C1"}, Carries: []int64{held[0].ID, digestRows[0].ID}}}}); err != nil {
		t.Fatal(err)
	}
	wantStates["k/3"] = bot.DeliveryPending
	if diff := cmp.Diff(wantStates, states()); diff != "" {
		t.Errorf("after a late summary (-want +got):\n%s", diff)
	}
	if _, ok, err := s.NextHeld(ctx); ok || err != nil {
		t.Errorf("NextHeld with nothing held = %v, %v", ok, err)
	}
	// Release: held → pending, once.
	if _, err := s.CommitRun(ctx, bot.RunRecord{Watcher: "deadlines", At: t0, Alerts: []bot.NewAlert{
		{Alert: mkAlert("k/4", "ev"), Channels: []string{"discord:9"}, Holds: []bot.Hold{{Channel: "discord:9", Reason: bot.HoldQuiet, Until: quietEnd}}}}}); err != nil {
		t.Fatal(err)
	}
	h4, err := s.HeldDue(ctx, quietEnd)
	if err != nil || len(h4) != 1 {
		t.Fatalf("HeldDue = %+v, %v", h4, err)
	}
	for range 2 {
		if _, err := s.CommitRun(ctx, bot.RunRecord{At: quietEnd, Release: []int64{h4[0].ID}}); err != nil {
			t.Fatal(err)
		}
	}
	pend, err := s.PendingDeliveries(ctx, "discord", quietEnd, 0)
	if err != nil || len(pend) != 1 || pend[0].Alert.Key != "k/4" {
		t.Errorf("discord pending after release = %+v, %v", pend, err)
	}
	if err := s.MarkSent(ctx, pend[0].ID, "m1", quietEnd); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitRun(ctx, bot.RunRecord{At: quietEnd, Release: []int64{h4[0].ID}}); err != nil {
		t.Fatal(err)
	}
	if pend, _ := s.PendingDeliveries(ctx, "discord", far, 0); len(pend) != 0 {
		t.Errorf("a sent delivery was released again: %+v", pend)
	}
}

var cmpIgnoreHeldID = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".ID" }, cmp.Ignore())

// contractReplan: a channel's held deliveries are listed by release time
// and moved; only those still held move.
func contractReplan(t *testing.T, s backend) {
	ctx := testCtx(t)
	if err := s.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
		t.Fatal(err)
	}
	late, early := testNow.Add(2*time.Hour), testNow.Add(time.Hour)
	_, err := s.CommitRun(ctx, bot.RunRecord{Watcher: "deadlines", At: testNow, Alerts: []bot.NewAlert{
		{Alert: mkAlert("k/1", "ev"), Channels: []string{"slack:C1", "slack:C2"}, Holds: []bot.Hold{
			{Channel: "slack:C1", Reason: bot.HoldDigest, Until: late}, {Channel: "slack:C2", Reason: bot.HoldQuiet, Until: late}}},
		{Alert: mkAlert("k/2", "ev"), Channels: []string{"slack:C1"}, Holds: []bot.Hold{{Channel: "slack:C1", Reason: bot.HoldQuiet, Until: early}}},
		{Alert: mkAlert("k/3", "ev"), Channels: []string{"slack:C1"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	held, err := s.HeldIn(ctx, "slack:C1")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, h := range held {
		keys = append(keys, h.Alert.Key+" "+h.Reason)
	}
	if diff := cmp.Diff([]string{"k/2 quiet", "k/1 digest"}, keys); diff != "" {
		t.Fatalf("HeldIn (-want +got):\n%s", diff)
	}
	held[0].Until = testNow
	held[1].Reason, held[1].Until = bot.HoldQuiet, testNow
	if err := s.RescheduleHeld(ctx, held); err != nil {
		t.Fatal(err)
	}
	due, err := s.HeldDue(ctx, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 2 || due[0].Reason != bot.HoldQuiet || due[1].Reason != bot.HoldQuiet || !due[0].Until.Equal(testNow) {
		t.Errorf("HeldDue after rescheduling = %+v", due)
	}
	// C2's delivery of k/1 did not move.
	if c2, err := s.HeldIn(ctx, "slack:C2"); err != nil || len(c2) != 1 || !c2[0].Until.Equal(late) || c2[0].Reason != bot.HoldQuiet {
		t.Errorf("HeldIn(slack:C2) = %+v, %v; want its quiet hold until %s", c2, err, late)
	}
}
