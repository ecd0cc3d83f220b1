package bot_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/store"
	"github.com/policyteam/alertbot/watchers"
)

// dispatchNow is 7 days before 2026-12-01 at 09:00: the 7d reminders of
// dispatchConfig's events are due.
var dispatchNow = time.Date(2026, 11, 24, 9, 0, 0, 0, tokyo)

// dispatchConfig has one event tagged t, reminded 7d and 1d before, and
// the channels the dispatch tests deliver to.
const dispatchConfig = `
timezone: Asia/Tokyo
admins: [console:local]
events:
  - id: e1
    title: Event one
    due: 2026-12-01
    lead_times: [7d, 1d]
    tags: [t]
watchers:
  - id: deadlines
    kind: countdown
    schedule: "@every 1m"
subscriptions:
  - channel: slack:CGOOD
    to: [tag:t]
  - channel: slack:CGONE
    to: [tag:t]
  - channel: slack:CADMIN
    to: [all]
`

// commitAlerts stores alerts the way a run does, each to its channels, in
// order, and returns their keys.
func (a *app) commitAlerts(alerts ...bot.NewAlert) {
	a.t.Helper()
	if _, err := a.db.CommitRun(context.Background(), bot.RunRecord{Watcher: "deadlines", At: a.clock.Now(), Alerts: alerts}); err != nil {
		a.t.Fatal(err)
	}
}

func newAlert(key string, channels ...string) bot.NewAlert {
	return bot.NewAlert{Alert: watchers.Alert{Key: key, Kind: watchers.KindReminder, Watcher: "deadlines", Title: key}, Channels: channels}
}

// parallelPlatform is a recording platform that sends to several channels
// at once, as Discord does.
type parallelPlatform struct{ *recordingPlatform }

func (parallelPlatform) ParallelSends() int { return 4 }

var _ bot.ParallelSender = parallelPlatform{}

// claimLog is the database as the bot's outbox, noting the claims of each
// batch of outbox writes.
type claimLog struct {
	*store.DB
	mu     sync.Mutex
	claims [][]int64
}

func (c *claimLog) RecordDeliveries(ctx context.Context, batch bot.DeliveryBatch) ([]int64, error) {
	if len(batch.Claims) > 0 {
		c.mu.Lock()
		c.claims = append(c.claims, batch.Claims)
		c.mu.Unlock()
	}
	return c.DB.RecordDeliveries(ctx, batch)
}

// TestClaimsByGroup: a platform that claims channel by channel and sends
// to several at once has the channels claimed two lanes' worth to a
// write, in order, each before its lane takes it, rather than one write
// per channel; every alert still goes once.
func TestClaimsByGroup(t *testing.T) {
	log := &claimLog{}
	a := openApp(t, dispatchConfig, dispatchNow, appOptions{outbox: func(db *store.DB) bot.Outbox {
		log.DB = db
		return log
	}})
	var want []string
	for i := range 9 {
		key := fmt.Sprintf("k%d", i)
		a.commitAlerts(newAlert(key, fmt.Sprintf("slack:C%d", i)))
		want = append(want, key)
	}
	p := parallelPlatform{a.plat["slack"]} // 4 lanes
	a.drainOn(p)
	var got []string
	for i := range 9 {
		got = append(got, p.sentTo(fmt.Sprintf("C%d", i))...)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	var sizes []int
	var claimed []int64
	for _, c := range log.claims {
		sizes = append(sizes, len(c))
		claimed = append(claimed, c...)
	}
	if diff := cmp.Diff([]int{8, 1}, sizes); diff != "" {
		t.Errorf("claims per write (-want +got):\n%s", diff)
	}
	if !slices.IsSorted(claimed) || len(slices.Compact(slices.Clone(claimed))) != 9 {
		t.Errorf("claimed %v, want the 9 deliveries once each, in order", claimed)
	}
}

// TestDeliveryOrderPerChannel: each channel gets its alerts in the order
// they were created, whether the platform sends one message at a time or
// several channels at once.
func TestDeliveryOrderPerChannel(t *testing.T) {
	for _, parallel := range []bool{false, true} {
		t.Run(fmt.Sprintf("parallel=%v", parallel), func(t *testing.T) {
			a := newApp(t, dispatchConfig, dispatchNow)
			a.commitAlerts(newAlert("k1", "slack:C1"), newAlert("k2", "slack:C2", "slack:C1"), newAlert("k3", "slack:C3"))
			a.clock.Add(time.Second)
			a.commitAlerts(newAlert("k4", "slack:C2"), newAlert("k5", "slack:C1", "slack:C3"))
			a.commitAlerts(newAlert("k6", "slack:C1"))
			p := a.plat["slack"]
			var plat bot.Platform = p
			if parallel {
				plat = parallelPlatform{p}
			}
			a.drainOn(plat)
			for ch, want := range map[string][]string{
				"C1": {"k1", "k2", "k5", "k6"},
				"C2": {"k2", "k4"},
				"C3": {"k3", "k5"},
			} {
				if diff := cmp.Diff(want, p.sentTo(ch)); diff != "" {
					t.Errorf("sent to %s (-want +got):\n%s", ch, diff)
				}
			}
			if got := len(p.Attempts()); got != 8 {
				t.Errorf("%d sends, want 8 (one per delivery)", got)
			}
			for _, h := range a.history("slack:C1") {
				if h.Delivery.State != bot.DeliverySent || h.Delivery.MessageID != "m-"+bot.Nonce(h.Delivery.ID) ||
					h.Delivery.Attempts != 1 || !h.Delivery.SentAt.Equal(a.clock.Now()) {
					t.Errorf("delivery after send: %+v", h.Delivery)
				}
			}
			// Everything sent: another pass sends nothing.
			if n, err := a.bot.DeliverPending(context.Background(), plat); err != nil || n != 0 {
				t.Errorf("second pass handled %d, %v; want 0", n, err)
			}
		})
	}
}

// TestDeliveryOrderAfterTransientFailure: after a failed send, the
// channel's later alerts wait for the retry (DeliverPending's contract),
// in a later pass as in the same one; other channels go on.
func TestDeliveryOrderAfterTransientFailure(t *testing.T) {
	a := newApp(t, dispatchConfig, dispatchNow)
	a.commitAlerts(newAlert("k1", "slack:C1"), newAlert("k2", "slack:C1", "slack:C2"), newAlert("k3", "slack:C1"))
	p := a.plat["slack"]
	failed := false
	p.failWith(func(out bot.Outgoing) error {
		if out.Message.AlertKey == "k1" && !failed {
			failed = true
			return bot.Transient(errBoom, 30*time.Second)
		}
		return nil
	})
	ctx := context.Background()
	if _, err := a.bot.DeliverPending(ctx, p); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"k2"}, p.sentTo("C2")); diff != "" {
		t.Errorf("C2 waited for C1's retry (-want +got):\n%s", diff)
	}
	// Before k1's retry is due, more passes must not send k2 or k3 to C1
	// ahead of it.
	a.clock.Add(10 * time.Second)
	if _, err := a.bot.DeliverPending(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got := p.sentTo("C1"); len(got) != 0 {
		t.Errorf("C1 got %v while k1 waits for its retry; want nothing before k1", got)
	}
	a.clock.Add(30 * time.Second)
	a.drainOn(p)
	if diff := cmp.Diff([]string{"k1", "k2", "k3"}, p.sentTo("C1")); diff != "" {
		t.Errorf("C1 order (-want +got):\n%s", diff)
	}
}

// TestTransientFailureRetriedWithBackoff: a transient failure keeps the
// delivery pending with its next try in the store, at exponential backoff
// or the platform's Retry-After, whichever is longer; it is not sent
// before then, and is sent once it is due.
func TestTransientFailureRetriedWithBackoff(t *testing.T) {
	a := newApp(t, dispatchConfig, dispatchNow)
	ctx := context.Background()
	a.commitAlerts(newAlert("k1", "slack:C1"))
	p := a.plat["slack"]
	errs := []error{bot.Transient(errBoom, 0), bot.Transient(errBoom, 0), bot.Transient(fmt.Errorf("429 too many requests"), 30*time.Second)}
	p.failWith(func(bot.Outgoing) error {
		if len(errs) == 0 {
			return nil
		}
		err := errs[0]
		errs = errs[1:]
		return err
	})
	delivery := func() bot.DeliveryRecord {
		t.Helper()
		h := a.history("slack:C1")
		if len(h) != 1 {
			t.Fatalf("history of C1 = %+v, want one delivery", h)
		}
		return h[0].Delivery
	}
	for _, tt := range []struct {
		attempts int
		lo, hi   time.Duration // next try after the failed attempt
		lastErr  string
	}{
		{attempts: 1, lo: 799 * time.Millisecond, hi: 1200 * time.Millisecond, lastErr: "boom"},
		{attempts: 2, lo: 1599 * time.Millisecond, hi: 2400 * time.Millisecond, lastErr: "boom"},
		{attempts: 3, lo: 30 * time.Second, hi: 30 * time.Second, lastErr: "429 too many requests (retry after 30s)"},
	} {
		failedAt := a.clock.Now()
		if n, err := a.bot.DeliverPending(ctx, p); err != nil || n != 1 {
			t.Fatalf("attempt %d: handled %d, %v", tt.attempts, n, err)
		}
		d := delivery()
		wait := d.NextTry.Sub(failedAt)
		if d.State != bot.DeliveryPending || d.Attempts != tt.attempts || d.LastError != tt.lastErr || wait < tt.lo || wait > tt.hi {
			t.Fatalf("after failed attempt %d: state %s, attempts %d, error %q, next try in %s; want pending, %d, %q, in [%s, %s]",
				tt.attempts, d.State, d.Attempts, d.LastError, wait, tt.attempts, tt.lastErr, tt.lo, tt.hi)
		}
		if next, ok, err := a.db.NextDelivery(ctx, bot.DueClaim{Platform: "slack"}); err != nil || !ok || !next.Equal(d.NextTry) {
			t.Errorf("NextDelivery = %s, %v, %v; want %s", next, ok, err, d.NextTry)
		}
		// Not before its time.
		a.clock.Set(d.NextTry.Add(-time.Millisecond))
		if n, err := a.bot.DeliverPending(ctx, p); err != nil || n != 0 {
			t.Fatalf("before the next try: handled %d, %v; want 0", n, err)
		}
		a.clock.Set(d.NextTry)
	}
	if n, err := a.bot.DeliverPending(ctx, p); err != nil || n != 1 {
		t.Fatalf("last attempt: handled %d, %v", n, err)
	}
	d := delivery()
	if d.State != bot.DeliverySent || d.Attempts != 4 || !d.SentAt.Equal(a.clock.Now()) || d.MessageID == "" {
		t.Errorf("after the retries: %+v; want sent on attempt 4 at %s", d, a.clock.Now())
	}
	if got := len(p.Sent()); got != 1 {
		t.Errorf("sent %d messages, want 1", got)
	}
}

// TestTransientFailureGivesUp: a delivery that keeps failing is given up
// after a bounded number of attempts, marked failed and reported.
func TestTransientFailureGivesUp(t *testing.T) {
	a := newApp(t, dispatchConfig, dispatchNow)
	ctx := context.Background()
	p := a.plat["slack"]
	p.failWith(func(out bot.Outgoing) error {
		if out.Channel == "CGOOD" {
			return bot.Transient(errBoom, 0)
		}
		return nil
	})
	a.tick("deadlines")
	for range 50 {
		a.drainOn(p)
		next, ok, err := a.db.NextDelivery(ctx, bot.DueClaim{Platform: "slack"})
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		a.clock.Set(next)
	}
	attempts := 0
	for _, o := range p.Attempts() {
		if o.Channel == "CGOOD" {
			attempts++
		}
	}
	h := a.history("slack:CGOOD")
	if len(h) != 1 || h[0].Delivery.State != bot.DeliveryFailed || h[0].Delivery.Attempts != attempts || attempts < 3 || attempts > 20 {
		t.Fatalf("after %d attempts: history %+v; want one failed delivery with every attempt counted", attempts, h)
	}
	if got := failureReports(a, "slack:CADMIN"); len(got) != 1 {
		t.Errorf("failure reports to CADMIN = %v, want one", got)
	}
}

// failureReports returns the delivery_failed alert keys delivered to ch.
func failureReports(a *app, ch string) []string {
	a.t.Helper()
	var keys []string
	for _, h := range a.history(ch) {
		if h.Alert.Kind == watchers.KindDeliveryFailed {
			keys = append(keys, h.Alert.Key)
		}
	}
	return keys
}

// TestDispatchRetriesAndPermanentFailure: transient errors are retried with
// backoff until sent; a permanent failure is not retried and is reported to
// the admins' channel once.
func TestDispatchRetriesAndPermanentFailure(t *testing.T) {
	a := newApp(t, dispatchConfig, dispatchNow)
	calls := map[string]int{}
	slack := a.plat["slack"]
	slack.failWith(func(out bot.Outgoing) error {
		calls[out.Channel]++
		switch {
		case out.Channel == "CGONE":
			return bot.Permanent(errBoom)
		case out.Channel == "CGOOD" && calls["CGOOD"] <= 2:
			return bot.Transient(errBoom, 3*time.Second)
		}
		return nil
	})
	a.tick("deadlines")
	a.drainOn(slack)
	// CGOOD failed once and waits for its retry; CGONE gave up at once.
	for step := 0; step < 10 && calls["CGOOD"] < 3; step++ {
		a.clock.Add(5 * time.Minute)
		a.drainOn(slack)
	}
	if calls["CGOOD"] != 3 {
		t.Errorf("CGOOD attempts = %d, want 3 (two transient failures, then sent)", calls["CGOOD"])
	}
	if calls["CGONE"] != 1 {
		t.Errorf("CGONE attempts = %d, want 1 (permanent: not retried)", calls["CGONE"])
	}
	var admins, good int
	for _, s := range slack.Sent() {
		switch s.Channel {
		case "CADMIN":
			admins++
		case "CGOOD":
			good++
		}
	}
	// CADMIN got the reminder and one failure report.
	if admins != 2 || good != 1 {
		t.Errorf("CADMIN got %d, CGOOD got %d; want 2 and 1", admins, good)
	}
	hist := a.history("slack:CGONE")
	if len(hist) != 1 || hist[0].Delivery.State != bot.DeliveryFailed {
		t.Errorf("CGONE history = %+v", hist)
	}
}

// TestPermanentFailureReportedOncePerDay: every permanent failure marks
// its delivery failed; the channels subscribed to all (not the failing one)
// get one delivery_failed alert per failing channel and day.
func TestPermanentFailureReportedOncePerDay(t *testing.T) {
	const cfg = `
timezone: Asia/Tokyo
admins: [console:local]
events:
  - id: e1
    title: Event one
    due: 2026-12-01
    lead_times: [7d, 6d, 1d]
    tags: [t]
watchers:
  - id: deadlines
    kind: countdown
    schedule: "@every 1m"
subscriptions:
  - channel: slack:CGONE
    to: [all]
  - channel: slack:CLOST
    to: [tag:t]
  - channel: slack:CADMIN
    to: [all]
  - channel: console:local
    to: [all]
  - channel: slack:CBUDGET
    to: [tag:budget]
`
	a := newApp(t, cfg, dispatchNow)
	slack := a.plat["slack"]
	slack.failWith(func(out bot.Outgoing) error {
		if out.Channel == "CGONE" || out.Channel == "CLOST" {
			return bot.Permanent(fmt.Errorf("channel_not_found"))
		}
		return nil
	})
	// Day one: the 7d reminder, and a second alert to the same channels an
	// hour later. 2026-11-24 09:00 and 10:00 JST are one UTC day.
	a.tick("deadlines")
	a.drain()
	a.commitAlerts(newAlert("extra", "slack:CGONE", "slack:CLOST"))
	a.clock.Add(time.Hour)
	a.drain()
	// Day two: the 6d reminder.
	a.clock.Set(dispatchNow.AddDate(0, 0, 1))
	a.tick("deadlines")
	a.drain()

	for _, ch := range []string{"slack:CGONE", "slack:CLOST"} {
		h := a.history(ch)
		var states []string
		for _, it := range h {
			states = append(states, it.Delivery.State+" "+it.Delivery.LastError)
		}
		want := []string{"failed channel_not_found", "failed channel_not_found", "failed channel_not_found"}
		if ch == "slack:CGONE" {
			// CGONE, subscribed to all, also got CLOST's reports, which
			// failed too and were not reported again about itself.
			want = append(want, "failed channel_not_found", "failed channel_not_found")
		}
		if diff := cmp.Diff(want, states); diff != "" {
			t.Errorf("%s deliveries (-want +got):\n%s", ch, diff)
		}
	}
	// Newest first.
	wantReports := []string{
		"system/delivery_failed/slack:CLOST@2026-11-25",
		"system/delivery_failed/slack:CGONE@2026-11-25",
		"system/delivery_failed/slack:CLOST@2026-11-24",
		"system/delivery_failed/slack:CGONE@2026-11-24",
	}
	for _, ch := range []string{"slack:CADMIN", "console:local"} {
		got := failureReports(a, ch)
		if diff := cmp.Diff(wantReports, sortedByDay(got)); diff != "" {
			t.Errorf("failure reports to %s (-want +got):\n%s", ch, diff)
		}
	}
	if got := failureReports(a, "slack:CGONE"); len(got) != 2 || strings.Contains(strings.Join(got, " "), "CGONE@") {
		t.Errorf("failure reports to CGONE = %v; want only CLOST's two", got)
	}
	if got := a.history("slack:CBUDGET"); len(got) != 0 {
		t.Errorf("a channel not subscribed to all got %+v", got)
	}
	// Every failed delivery was tried once.
	tries := map[string]int{}
	for _, o := range slack.Attempts() {
		tries[o.Channel+" "+o.Message.AlertKey]++
	}
	for k, n := range tries {
		if n != 1 {
			t.Errorf("%s tried %d times", k, n)
		}
	}
}

// sortedByDay orders report keys newest day first, and within a day by
// channel, descending — the order the test lists them in.
func sortedByDay(keys []string) []string {
	out := append([]string(nil), keys...)
	day := func(k string) string { _, d, _ := strings.Cut(k, "@"); return d }
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if day(out[j]) > day(out[i]) || day(out[j]) == day(out[i]) && out[j] > out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestMutesAndSubscriptionsRoute: an alert reaches the subscribed channels
// only: not a channel that muted its target (for any kind of target), not
// one that unsubscribed or subscribed to something else, not a channel on
// a platform the bot does not run; a mute ends on time.
func TestMutesAndSubscriptionsRoute(t *testing.T) {
	const cfg = `
timezone: Asia/Tokyo
admins: [console:local]
events:
  - id: e1
    title: Event one
    due: 2026-12-01
    lead_times: [7d, 1d]
    tags: [t]
watchers:
  - id: deadlines
    kind: countdown
    schedule: "@every 1m"
subscriptions:
  - channel: slack:CGOOD
    to: [tag:t]
  - channel: slack:CMUTED
    to: [tag:t]
  - channel: slack:CUNSUB
    to: [event:e1]
  - channel: slack:COTHER
    to: [tag:other]
  - channel: discord:4242
    to: [all]
`
	for _, target := range []string{"#t", "event:e1", "watcher:deadlines", "all"} {
		t.Run(target, func(t *testing.T) {
			a := openApp(t, cfg, dispatchNow, appOptions{platforms: []string{"console", "slack"}})
			a.must(member, "slack:CMUTED", "mute "+target+" 3d")
			a.must(member, "slack:CUNSUB", "unsubscribe event:e1")
			a.tick("deadlines")
			a.drain()
			slack := a.plat["slack"]
			want := []string{"deadlines/e1/reminder/7d@2026-12-01"}
			if diff := cmp.Diff(want, slack.sentTo("CGOOD")); diff != "" {
				t.Errorf("CGOOD (-want +got):\n%s", diff)
			}
			for _, ch := range []string{"slack:CMUTED", "slack:CUNSUB", "slack:COTHER", "discord:4242"} {
				if h := a.history(ch); len(h) != 0 {
					t.Errorf("%s has deliveries %+v, want none", ch, h)
				}
			}
			if got := len(slack.Sent()); got != 1 {
				t.Errorf("slack got %d messages, want 1", got)
			}
			// The mute ended before the 1d reminder.
			a.clock.Set(time.Date(2026, 11, 30, 9, 0, 0, 0, tokyo))
			a.tick("deadlines")
			a.drain()
			want1d := []string{"deadlines/e1/reminder/1d@2026-12-01"}
			if diff := cmp.Diff(want1d, slack.sentTo("CMUTED")); diff != "" {
				t.Errorf("CMUTED after the mute (-want +got):\n%s", diff)
			}
			if got := slack.sentTo("CUNSUB"); len(got) != 0 {
				t.Errorf("CUNSUB got %v after unsubscribing", got)
			}
		})
	}
}

// TestDeliveryOnlyOnItsPlatform: a platform's pass sends only its own
// channels' deliveries.
func TestDeliveryOnlyOnItsPlatform(t *testing.T) {
	a := newApp(t, dispatchConfig, dispatchNow)
	a.commitAlerts(newAlert("k1", "slack:C1", "discord:42", "console:local"))
	a.drainOn(a.plat["discord"])
	if got := len(a.plat["slack"].Attempts()) + len(a.plat["console"].Attempts()); got != 0 {
		t.Errorf("discord's pass sent %d messages elsewhere", got)
	}
	if diff := cmp.Diff([]string{"k1"}, a.plat["discord"].sentTo("42")); diff != "" {
		t.Errorf("discord (-want +got):\n%s", diff)
	}
	for _, o := range a.plat["discord"].Sent() {
		if o.Nonce != bot.Nonce(o.DeliveryID) {
			t.Errorf("nonce %q for delivery %d, want %q", o.Nonce, o.DeliveryID, bot.Nonce(o.DeliveryID))
		}
	}
}
