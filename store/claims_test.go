package store

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
)

// claimTTL is the channel claim lifetime of the tests.
const claimTTL = 10 * time.Second

// claimDue calls ClaimDue for owner and returns "channel/alert key" of
// each delivery, and the records.
func claimDue(t *testing.T, s backend, owner string, now time.Time, ttl time.Duration, channels int) ([]string, []bot.DeliveryRecord) {
	t.Helper()
	ds, err := s.ClaimDue(testCtx(t), bot.DueClaim{Platform: "slack", Owner: owner, Now: now, TTL: ttl, Limit: 100, Channels: channels})
	if err != nil {
		t.Fatalf("ClaimDue(%s): %v", owner, err)
	}
	var got []string
	for _, d := range ds {
		got = append(got, d.Channel+"/"+d.Alert.Key)
	}
	return got, ds
}

func deliveryIDs(ds []bot.DeliveryRecord) []int64 {
	var ids []int64
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}

// contractClaimDue: ClaimDue gives a channel's due deliveries, in order,
// to one owner at a time; another owner gets the channel once the claim
// expired or was released, not before (ExtendClaims keeps it); the
// deliveries' own claims show who may have posted them; a claim by an
// owner that lost its channel is refused; NextDelivery says when a held
// channel frees up; a sole owner (TTL 0) takes every channel.
func contractClaimDue(t *testing.T, s backend) {
	ctx := testCtx(t)
	if err := s.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
		t.Fatal(err)
	}
	run := bot.RunRecord{Watcher: "deadlines", At: testNow}
	for i, ch := range []string{"slack:C1", "slack:C2", "slack:C1", "slack:C3", "slack:C1", "discord:9"} {
		run.Alerts = append(run.Alerts, bot.NewAlert{Alert: mkAlert(fmt.Sprintf("k/%d", i), "ev"), Channels: []string{ch}})
	}
	if _, err := s.CommitRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	// C3's only delivery waits for a retry: the channel is not due.
	pend, err := s.PendingDeliveries(ctx, "slack", testNow, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MarkRetry(ctx, pend[3].ID, 1, testNow.Add(time.Hour), "later"); err != nil {
		t.Fatal(err)
	}
	t0 := testNow

	// p1 takes at most one channel: the one with the oldest delivery.
	got, ds := claimDue(t, s, "p1", t0, claimTTL, 1)
	if diff := cmp.Diff([]string{"slack:C1/k/0", "slack:C1/k/2", "slack:C1/k/4"}, got); diff != "" {
		t.Fatalf("ClaimDue(p1, 1 channel) (-want +got):\n%s", diff)
	}
	for _, d := range ds {
		if d.ClaimOwner != "" || !d.ClaimedAt.IsZero() {
			t.Errorf("delivery %d shows claim %q at %v before any was recorded", d.ID, d.ClaimOwner, d.ClaimedAt)
		}
	}
	// p2 gets what p1 does not hold; C3 is not due.
	if got, _ := claimDue(t, s, "p2", t0, claimTTL, 0); !cmp.Equal(got, []string{"slack:C2/k/1"}) {
		t.Errorf("ClaimDue(p2) = %v, want only C2 (C1 is p1's, C3 not due)", got)
	}
	if got, _ := claimDue(t, s, "p3", t0, claimTTL, 0); len(got) != 0 {
		t.Errorf("ClaimDue(p3) while p1 and p2 hold every due channel = %v", got)
	}
	// p1 again: its own channel, claimed anew.
	if got, _ := claimDue(t, s, "p1", t0.Add(time.Second), claimTTL, 0); len(got) != 3 {
		t.Errorf("ClaimDue(p1) again = %v, want C1's three", got)
	}
	// NextDelivery for p3: C1 frees up when p1's claim ends.
	p1Until := t0.Add(time.Second + claimTTL)
	if next, ok, err := s.NextDelivery(ctx, bot.DueClaim{Platform: "slack", Owner: "p3", TTL: claimTTL}); err != nil || !ok || !next.Equal(t0.Add(claimTTL)) {
		t.Errorf("NextDelivery(p3) = %v, %v, %v; want %v (the end of p2's claim on C2)", next, ok, err, t0.Add(claimTTL))
	}
	if next, ok, err := s.NextDelivery(ctx, bot.DueClaim{Platform: "slack", Owner: "p1", TTL: claimTTL}); err != nil || !ok || !next.Equal(t0) {
		t.Errorf("NextDelivery(p1) = %v, %v, %v; want %v (its own channel, due)", next, ok, err, t0)
	}

	// p1 claims the deliveries it is about to send; sends the first.
	c1 := deliveryIDs(ds)
	refused, err := s.RecordDeliveries(ctx, bot.DeliveryBatch{Owner: "p1", At: t0.Add(2 * time.Second), Claims: c1})
	if err != nil || len(refused) != 0 {
		t.Fatalf("RecordDeliveries(p1 claims) = %v, %v; want none refused", refused, err)
	}
	if _, err := s.RecordDeliveries(ctx, bot.DeliveryBatch{Owner: "p1", At: t0.Add(3 * time.Second),
		Sent: []bot.SentDelivery{{ID: c1[0], MessageID: "m0", At: t0.Add(3 * time.Second)}}}); err != nil {
		t.Fatal(err)
	}
	// A live owner extends its claim: at the first expiry C1 is still p1's.
	if n, err := s.ExtendClaims(ctx, "p1", t0.Add(5*time.Second), t0.Add(5*time.Second+claimTTL)); err != nil || n != 1 {
		t.Errorf("ExtendClaims(p1) = %d, %v; want 1 channel", n, err)
	}
	if got, _ := claimDue(t, s, "p3", p1Until, claimTTL, 0); !cmp.Equal(got, []string{"slack:C2/k/1"}) {
		t.Errorf("ClaimDue(p3) after p2's claim expired, p1's extended = %v, want C2 only", got)
	}
	// p1 dies: past the extended expiry nothing extends it any more, and
	// p3 takes C1, seeing p1's claims on what is left.
	late := t0.Add(5*time.Second + claimTTL)
	if n, err := s.ExtendClaims(ctx, "p1", late, late.Add(claimTTL)); err != nil || n != 0 {
		t.Errorf("ExtendClaims(p1) after expiry = %d, %v; want 0: an expired claim is not revived", n, err)
	}
	got, ds = claimDue(t, s, "p3", late, claimTTL, 0)
	if diff := cmp.Diff([]string{"slack:C2/k/1", "slack:C1/k/2", "slack:C1/k/4"}, got); diff != "" {
		t.Fatalf("ClaimDue(p3) after p1 died: its own C2 and p1's C1 (-want +got):\n%s", diff)
	}
	for _, d := range ds[1:] {
		if d.ClaimOwner != "p1" || !d.ClaimedAt.Equal(t0.Add(2*time.Second)) {
			t.Errorf("delivery %d after the takeover shows claim %q at %v; want p1's at %v", d.ID, d.ClaimOwner, d.ClaimedAt, t0.Add(2*time.Second))
		}
	}
	// p1 comes back: its claims are refused, p3's are not.
	if refused, err := s.RecordDeliveries(ctx, bot.DeliveryBatch{Owner: "p1", At: late.Add(time.Second), Claims: deliveryIDs(ds)}); err != nil || !cmp.Equal(refused, deliveryIDs(ds)) {
		t.Errorf("RecordDeliveries(p1) after losing C1 refused %v, %v; want all of %v", refused, err, deliveryIDs(ds))
	}
	if refused, err := s.RecordDeliveries(ctx, bot.DeliveryBatch{Owner: "p3", At: late.Add(time.Second), Claims: deliveryIDs(ds)}); err != nil || len(refused) != 0 {
		t.Errorf("RecordDeliveries(p3) refused %v, %v; want none", refused, err)
	}
	// Released claims free the channels at once.
	if err := s.ReleaseClaims(ctx, "p3"); err != nil {
		t.Fatal(err)
	}
	if got, _ := claimDue(t, s, "p4", late.Add(time.Second), claimTTL, 0); len(got) != 3 {
		t.Errorf("ClaimDue(p4) after p3 released = %v, want C1's two and C2's one", got)
	}
	// A sole owner (TTL 0) takes held channels, and keeps them.
	got, _ = claimDue(t, s, "sole", late.Add(time.Second), 0, 0)
	if diff := cmp.Diff([]string{"slack:C2/k/1", "slack:C1/k/2", "slack:C1/k/4"}, got); diff != "" {
		t.Errorf("ClaimDue(sole) while p4 holds the channels (-want +got):\n%s", diff)
	}
	// A year later C3's retry is due, for whoever asks; the sole owner's
	// channels are still its own.
	if got, _ := claimDue(t, s, "p5", late.AddDate(1, 0, 0), claimTTL, 0); !cmp.Equal(got, []string{"slack:C3/k/3"}) {
		t.Errorf("ClaimDue(p5) a year later = %v; want C3 only: a sole owner's claims do not expire", got)
	}
	// Other platforms are apart.
	dd, err := s.ClaimDue(ctx, bot.DueClaim{Platform: "discord", Owner: "p1", Now: late, TTL: claimTTL})
	if err != nil || len(dd) != 1 || dd[0].Channel != "discord:9" {
		t.Errorf("ClaimDue(discord) = %+v, %v; want discord:9's delivery", dd, err)
	}
}

// TestClaimDueConcurrent: workers of several processes (a handle on the
// database each) claim at the same moments; every channel is held by one
// of them at a time, and each delivery is handed out exactly once.
func TestClaimDueConcurrent(t *testing.T) { eachBackend(t, testClaimDueConcurrent) }

func testClaimDueConcurrent(t *testing.T, fresh func(testing.TB) string) {
	ctx := testCtx(t)
	name := fresh(t)
	const procs, channels, perChannel = 4, 24, 5
	db0 := openAt(t, name, testNow)
	if err := db0.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
		t.Fatal(err)
	}
	run := bot.RunRecord{Watcher: "deadlines", At: testNow}
	for i := range channels * perChannel {
		run.Alerts = append(run.Alerts, bot.NewAlert{Alert: mkAlert(fmt.Sprintf("k/%03d", i), "ev"),
			Channels: []string{fmt.Sprintf("slack:C%02d", i%channels)}})
	}
	if _, err := db0.CommitRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	dbs := make([]*DB, procs)
	for i := range dbs {
		dbs[i] = openAt(t, name, testNow)
	}
	var (
		mu     sync.Mutex
		handed = map[int64]int{}
		order  = map[string][]string{} // channel → keys in the order sent
	)
	for round := 0; ; round++ {
		if round > 50 {
			t.Fatal("deliveries never drained")
		}
		now := testNow.Add(time.Duration(round) * time.Second)
		got := make([][]bot.DeliveryRecord, procs)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, db := range dbs {
			wg.Go(func() {
				<-start
				ds, err := db.ClaimDue(ctx, bot.DueClaim{Platform: "slack", Owner: fmt.Sprint("p", i), Now: now, TTL: claimTTL, Limit: 7, Channels: 3})
				if err != nil {
					t.Errorf("ClaimDue(p%d): %v", i, err)
				}
				got[i] = ds
			})
		}
		close(start)
		wg.Wait()
		owners := map[string]int{}
		total := 0
		for i, ds := range got {
			for _, d := range ds {
				if o, ok := owners[d.Channel]; ok && o != i {
					t.Fatalf("round %d: channel %s handed to p%d and p%d at once", round, d.Channel, o, i)
				}
				owners[d.Channel] = i
				total++
			}
		}
		if total == 0 {
			break
		}
		// Each process sends what it got, in order, and gives the
		// channels back.
		for i, ds := range got {
			wg.Go(func() {
				var sent []bot.SentDelivery
				for _, d := range ds {
					sent = append(sent, bot.SentDelivery{ID: d.ID, MessageID: "m", At: now})
					mu.Lock()
					handed[d.ID]++
					order[d.Channel] = append(order[d.Channel], d.Alert.Key)
					mu.Unlock()
				}
				if _, err := dbs[i].RecordDeliveries(ctx, bot.DeliveryBatch{Owner: fmt.Sprint("p", i), At: now, Sent: sent}); err != nil {
					t.Errorf("p%d: %v", i, err)
				}
				if err := dbs[i].ReleaseClaims(ctx, fmt.Sprint("p", i)); err != nil {
					t.Errorf("p%d: %v", i, err)
				}
			})
		}
		wg.Wait()
	}
	if len(handed) != channels*perChannel {
		t.Errorf("%d deliveries handed out, want %d", len(handed), channels*perChannel)
	}
	for id, n := range handed {
		if n != 1 {
			t.Errorf("delivery %d handed out %d times", id, n)
		}
	}
	for ch, keys := range order {
		if !slices.IsSorted(keys) {
			t.Errorf("channel %s sent out of order: %v", ch, keys)
		}
	}
}

// contractClaimDueSole: the sole deliverer's batches (TTL 0) over more
// channels than one statement's list bucket: each batch holds at most the
// limit, in delivery order; a channel whose first delivery waits for a
// retry gives nothing, not even its due later deliveries; a channel with
// several deliveries gives them in order and none is skipped between
// batches; and every due delivery comes exactly once over the batches.
func contractClaimDueSole(t *testing.T, s backend) {
	ctx := testCtx(t)
	if err := s.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
		t.Fatal(err)
	}
	// 300 channels with one delivery each, then CMANY with five, then
	// CBLOCKED with two whose first will wait for a retry.
	run := bot.RunRecord{Watcher: "deadlines", At: testNow}
	for i := range 300 {
		run.Alerts = append(run.Alerts, bot.NewAlert{Alert: mkAlert(fmt.Sprintf("one/%03d", i), "ev"), Channels: []string{fmt.Sprintf("slack:C%03d", i)}})
	}
	for i := range 5 {
		run.Alerts = append(run.Alerts, bot.NewAlert{Alert: mkAlert(fmt.Sprintf("many/%d", i), "ev"), Channels: []string{"slack:CMANY"}})
	}
	for i := range 2 {
		run.Alerts = append(run.Alerts, bot.NewAlert{Alert: mkAlert(fmt.Sprintf("blocked/%d", i), "ev"), Channels: []string{"slack:CBLOCKED"}})
	}
	if _, err := s.CommitRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	pend, err := s.PendingDeliveries(ctx, "slack", testNow, 0)
	if err != nil {
		t.Fatal(err)
	}
	var blocked int64
	for _, d := range pend {
		if d.Alert.Key == "blocked/0" {
			blocked = d.ID
		}
	}
	if err := s.MarkRetry(ctx, blocked, 1, testNow.Add(time.Hour), "later"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	var manyOrder []string
	for batch := 0; ; batch++ {
		ds, err := s.ClaimDue(ctx, bot.DueClaim{Platform: "slack", Owner: "sole", Now: testNow, Limit: 100})
		if err != nil {
			t.Fatalf("batch %d: %v", batch, err)
		}
		if len(ds) == 0 {
			break
		}
		if batch > 10 {
			t.Fatalf("batch %d still gives %d deliveries", batch, len(ds))
		}
		if len(ds) > 100 {
			t.Errorf("batch %d has %d deliveries, limit 100", batch, len(ds))
		}
		var sent []bot.SentDelivery
		for i, d := range ds {
			if i > 0 && d.ID <= ds[i-1].ID {
				t.Errorf("batch %d out of order: %d after %d", batch, d.ID, ds[i-1].ID)
			}
			seen[d.Alert.Key]++
			if d.Channel == "slack:CMANY" {
				manyOrder = append(manyOrder, d.Alert.Key)
			}
			sent = append(sent, bot.SentDelivery{ID: d.ID, MessageID: "m", At: testNow})
		}
		if _, err := s.RecordDeliveries(ctx, bot.DeliveryBatch{Owner: "sole", At: testNow, Claims: deliveryIDs(ds)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RecordDeliveries(ctx, bot.DeliveryBatch{Owner: "sole", At: testNow, Sent: sent}); err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != 305 {
		t.Errorf("%d distinct deliveries over the batches, want 305 (300 + 5; CBLOCKED waits)", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s given %d times", k, n)
		}
		if strings.HasPrefix(k, "blocked/") {
			t.Errorf("%s given while its channel's first delivery waits for a retry", k)
		}
	}
	if want := []string{"many/0", "many/1", "many/2", "many/3", "many/4"}; !cmp.Equal(manyOrder, want) {
		t.Errorf("CMANY's deliveries came as %v, want %v", manyOrder, want)
	}
}

// TestChannelRowAfterRollback: a channel's claim row made by a transaction
// that rolled back is not taken as made (the cache that spares a burst
// the insert learns of rows only once committed); the next commit makes
// it, so the channel's deliveries can be claimed and sent. A subscription
// makes the row ahead of the first delivery.
func TestChannelRowAfterRollback(t *testing.T) {
	ctx := testCtx(t)
	db := openTest(t, testNow)
	if err := db.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
		t.Fatal(err)
	}
	// The second alert's bad address fails the run after the first one's
	// new channel was inserted.
	bad := bot.RunRecord{Watcher: "deadlines", At: testNow, Alerts: []bot.NewAlert{
		{Alert: mkAlert("k/1", "ev"), Channels: []string{"slack:CNEW"}},
		{Alert: mkAlert("k/2", "ev"), Channels: []string{"nowhere"}},
	}}
	if _, err := db.CommitRun(ctx, bad); err == nil {
		t.Fatal("CommitRun with a bad address succeeded")
	}
	if _, ok := db.channels.Load("slack:CNEW"); ok {
		t.Fatal("the channel of a rolled-back run is cached as having its claim row")
	}
	if _, err := db.Subscribe(ctx, bot.Subscription{Channel: "slack:CSUB", Target: "all"}); err != nil {
		t.Fatal(err)
	}
	good := bot.RunRecord{Watcher: "deadlines", At: testNow, Alerts: []bot.NewAlert{
		{Alert: mkAlert("k/1", "ev"), Channels: []string{"slack:CNEW", "slack:CSUB"}},
	}}
	if _, err := db.CommitRun(ctx, good); err != nil {
		t.Fatal(err)
	}
	ds, err := db.ClaimDue(ctx, bot.DueClaim{Platform: "slack", Owner: "w", Now: testNow, Limit: 10})
	if err != nil || len(ds) != 2 {
		t.Fatalf("ClaimDue = %d deliveries, %v; want both channels'", len(ds), err)
	}
	if refused, err := db.RecordDeliveries(ctx, bot.DeliveryBatch{Owner: "w", At: testNow, Claims: deliveryIDs(ds)}); err != nil || len(refused) != 0 {
		t.Fatalf("claims refused %v, %v; want none (each channel has its claim row)", refused, err)
	}
}

// contractClaimDueDeliveries: with DueClaim.Deliveries the deliveries
// returned are claimed in the same transaction, by a replica and by the
// sole deliverer taking over after it: the records show each claim as it
// was before, the store the new one, and a claim keeps its first time.
func contractClaimDueDeliveries(t *testing.T, s backend) {
	ctx := testCtx(t)
	if err := s.SaveWatcher(ctx, mkWatcher("deadlines", "dates")); err != nil {
		t.Fatal(err)
	}
	run := bot.RunRecord{Watcher: "deadlines", At: testNow, Alerts: []bot.NewAlert{
		{Alert: mkAlert("k/1", "ev"), Channels: []string{"slack:C1", "slack:C2"}},
		{Alert: mkAlert("k/2", "ev"), Channels: []string{"slack:C1"}},
	}}
	if _, err := s.CommitRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	for i, c := range []bot.DueClaim{
		{Platform: "slack", Owner: "replica", Now: testNow, TTL: claimTTL, Limit: 10, Deliveries: true},
		{Platform: "slack", Owner: "sole", Now: testNow.Add(time.Minute), Limit: 10, Deliveries: true},
	} {
		ds, err := s.ClaimDue(ctx, c)
		if err != nil || len(ds) != 3 {
			t.Fatalf("ClaimDue(%s) = %d deliveries, %v; want 3", c.Owner, len(ds), err)
		}
		for _, d := range ds {
			wantOwner, wantAt := "", time.Time{}
			if i == 1 {
				wantOwner, wantAt = "replica", testNow
			}
			if d.ClaimOwner != wantOwner || !d.ClaimedAt.Equal(wantAt) {
				t.Errorf("ClaimDue(%s) record %d shows claim %q at %v; want the one before (%q at %v)", c.Owner, d.ID, d.ClaimOwner, d.ClaimedAt, wantOwner, wantAt)
			}
		}
		for _, ch := range []string{"slack:C1", "slack:C2"} {
			hist, err := s.ChannelHistory(ctx, ch, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range hist {
				if h.Delivery.ClaimOwner != c.Owner || !h.Delivery.ClaimedAt.Equal(testNow) {
					t.Errorf("after ClaimDue(%s) delivery %d is claimed by %q at %v; want %s at the first claim (%v)",
						c.Owner, h.Delivery.ID, h.Delivery.ClaimOwner, h.Delivery.ClaimedAt, c.Owner, testNow)
				}
			}
		}
	}
}
