package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers/sharedtest"
)

// resolvingPlatform is a recording platform that can look up what it
// posted, as Slack (message metadata) and Discord (recent messages) can.
// lost makes a send post its message and then fail as if the response
// were lost; lookupErr makes Resolve fail.
type resolvingPlatform struct {
	*recordingPlatform

	mu        sync.Mutex
	posted    map[int64]string // delivery id → message id, as the platform holds them
	lost      func(out bot.Outgoing) bool
	lookupErr error
	queries   []bot.Unconfirmed
}

var _ bot.Resolver = (*resolvingPlatform)(nil)

func newResolvingPlatform(p *recordingPlatform) *resolvingPlatform {
	return &resolvingPlatform{recordingPlatform: p, posted: map[int64]string{}}
}

func (p *resolvingPlatform) Send(ctx context.Context, out bot.Outgoing) (string, error) {
	id, err := p.recordingPlatform.Send(ctx, out)
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.posted[out.DeliveryID] = id
	if p.lost != nil && p.lost(out) {
		return "", errors.New("read tcp: i/o timeout")
	}
	return id, nil
}

func (p *resolvingPlatform) Resolve(_ context.Context, q bot.Unconfirmed) (map[int64]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queries = append(p.queries, q)
	if p.lookupErr != nil {
		return nil, p.lookupErr
	}
	found := map[int64]string{}
	for _, id := range q.Deliveries {
		if m, ok := p.posted[id]; ok {
			found[id] = m
		}
	}
	return found, nil
}

func (p *resolvingPlatform) Queries() []bot.Unconfirmed {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]bot.Unconfirmed(nil), p.queries...)
}

// claimAsDeadProcess claims every due slack delivery for another process,
// as a process that died before sending or recording them left them.
func (a *app) claimAsDeadProcess() []bot.DeliveryRecord {
	a.t.Helper()
	ctx := context.Background()
	ds, err := a.db.PendingDeliveries(ctx, "slack", a.clock.Now(), 0)
	if err != nil {
		a.t.Fatal(err)
	}
	var ids []int64
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	if err := a.db.ClaimDeliveries(ctx, "dead-process", a.clock.Now(), ids); err != nil {
		a.t.Fatal(err)
	}
	return ds
}

// TestLostResponseResolvedNotResent: the platform posted a message but its
// answer was lost (a timeout). The retry looks the delivery up first,
// finds it and records it: the channel sees it once.
func TestLostResponseResolvedNotResent(t *testing.T) {
	a := newApp(t, dispatchConfig, dispatchNow)
	a.commitAlerts(newAlert("k1", "slack:C1"), newAlert("k2", "slack:C1"))
	p := newResolvingPlatform(a.plat["slack"])
	lostOnce := true
	p.lost = func(out bot.Outgoing) bool {
		if out.Message.AlertKey == "k1" && lostOnce {
			lostOnce = false
			return true
		}
		return false
	}
	ctx := context.Background()
	claimedAt := a.clock.Now()
	if _, err := a.bot.DeliverPending(ctx, p); err != nil {
		t.Fatal(err)
	}
	// k1 waits for its retry, and k2 behind it.
	if diff := cmp.Diff([]string{"k1"}, p.sentTo("C1")); diff != "" {
		t.Fatalf("first pass (-want +got):\n%s", diff)
	}
	a.clock.Add(time.Hour)
	a.drainOn(p)
	if diff := cmp.Diff([]string{"k1", "k2"}, p.sentTo("C1")); diff != "" {
		t.Errorf("C1 got (-want +got):\n%s", diff)
	}
	qs := p.Queries()
	if len(qs) != 1 || qs[0].Channel != "C1" || len(qs[0].Deliveries) != 1 || !qs[0].Since.Equal(claimedAt) {
		t.Errorf("lookups = %+v, want one for k1's delivery in C1 since %v", qs, claimedAt)
	}
	h := a.history("slack:C1")
	k1 := h[len(h)-1].Delivery
	if k1.State != bot.DeliverySent || k1.MessageID != "m-"+bot.Nonce(k1.ID) {
		t.Errorf("k1 after the lookup: %+v, want sent with the message id the platform had", k1)
	}
}

// TestDeadProcessClaimsResolved: deliveries another process claimed (it
// died mid-send) are looked up before any resend: the one it posted is
// recorded, the ones it did not are sent, each exactly once, in order.
func TestDeadProcessClaimsResolved(t *testing.T) {
	a := newApp(t, dispatchConfig, dispatchNow)
	a.commitAlerts(newAlert("k1", "slack:C1"), newAlert("k2", "slack:C1", "slack:C2"))
	p := newResolvingPlatform(a.plat["slack"])
	ds := a.claimAsDeadProcess()
	// The dead process posted k1 to C1 and nothing else.
	p.posted[ds[0].ID] = "m-posted-before"
	claimedAt := a.clock.Now()
	a.clock.Add(3 * time.Minute)
	a.drainOn(p)
	if diff := cmp.Diff([]string{"k2"}, p.sentTo("C1")); diff != "" {
		t.Errorf("C1 got (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"k2"}, p.sentTo("C2")); diff != "" {
		t.Errorf("C2 got (-want +got):\n%s", diff)
	}
	for _, q := range p.Queries() {
		if !q.Since.Equal(claimedAt) || !q.Now.Equal(a.clock.Now()) {
			t.Errorf("lookup %+v: want since the claim (%v) at now (%v)", q, claimedAt, a.clock.Now())
		}
	}
	if n := len(p.Queries()); n != 2 {
		t.Errorf("%d lookups, want one per channel (2)", n)
	}
	for _, h := range append(a.history("slack:C1"), a.history("slack:C2")...) {
		if h.Delivery.State != bot.DeliverySent {
			t.Errorf("delivery %d is %s, want sent", h.Delivery.ID, h.Delivery.State)
		}
		if h.Alert.Key == "k1" && h.Delivery.MessageID != "m-posted-before" {
			t.Errorf("k1 recorded as %q, want the message the dead process posted", h.Delivery.MessageID)
		}
	}
}

// TestLookupFailures: when the platform cannot answer now (429, 5xx) the
// channel's deliveries wait and nothing is sent; when it can never answer
// (the app lacks the history scope) they are sent again rather than lost.
func TestLookupFailures(t *testing.T) {
	t.Run("transient", func(t *testing.T) {
		a := newApp(t, dispatchConfig, dispatchNow)
		a.commitAlerts(newAlert("k1", "slack:C1"), newAlert("k2", "slack:C1"))
		p := newResolvingPlatform(a.plat["slack"])
		a.claimAsDeadProcess()
		p.lookupErr = bot.Transient(errors.New("ratelimited"), 30*time.Second)
		if _, err := a.bot.DeliverPending(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		if got := p.Attempts(); len(got) != 0 {
			t.Fatalf("sent %d while the lookup failed, want none", len(got))
		}
		for _, h := range a.history("slack:C1") {
			d := h.Delivery
			if d.State != bot.DeliveryPending || !d.NextTry.After(a.clock.Now().Add(29*time.Second)) || d.Attempts != 1 {
				t.Errorf("delivery after a failed lookup: %+v, want pending, retried after 30 s", d)
			}
		}
		p.lookupErr = nil
		a.clock.Add(time.Hour)
		a.drainOn(p)
		if diff := cmp.Diff([]string{"k1", "k2"}, p.sentTo("C1")); diff != "" {
			t.Errorf("C1 got (-want +got):\n%s", diff)
		}
	})
	t.Run("transient, several channels at once", func(t *testing.T) {
		// A platform that sends to several channels at once has each
		// group of channels claimed before its lanes take them; a
		// channel the dead process may have posted to is looked up
		// first, and after a failed lookup looked up again, not taken
		// for this process's own unsent delivery.
		a := newApp(t, dispatchConfig, dispatchNow)
		a.commitAlerts(newAlert("k1", "slack:C1"), newAlert("k2", "slack:C1", "slack:C2"))
		p := &parallelResolver{resolvingPlatform: newResolvingPlatform(a.plat["slack"])}
		ds := a.claimAsDeadProcess()
		p.posted[ds[0].ID] = "m-posted-before" // k1 to C1 went out before the crash
		p.lookupErr = bot.Transient(errors.New("ratelimited"), 30*time.Second)
		if _, err := a.bot.DeliverPending(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		if got := p.Attempts(); len(got) != 0 {
			t.Fatalf("sent %d while the lookups failed, want none", len(got))
		}
		p.lookupErr = nil
		a.clock.Add(time.Hour)
		a.drainOn(p)
		if diff := cmp.Diff([]string{"k2"}, p.sentTo("C1")); diff != "" {
			t.Errorf("C1 got (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"k2"}, p.sentTo("C2")); diff != "" {
			t.Errorf("C2 got (-want +got):\n%s", diff)
		}
		if n := len(p.Queries()); n != 4 {
			t.Errorf("%d lookups, want 4: each channel's failed, then each channel's again", n)
		}
	})
	t.Run("permanent", func(t *testing.T) {
		a := newApp(t, dispatchConfig, dispatchNow)
		a.commitAlerts(newAlert("k1", "slack:C1"))
		p := newResolvingPlatform(a.plat["slack"])
		a.claimAsDeadProcess()
		p.lookupErr = bot.Permanent(errors.New("missing_scope"))
		a.drainOn(p)
		if diff := cmp.Diff([]string{"k1"}, p.sentTo("C1")); diff != "" {
			t.Errorf("C1 got (-want +got):\n%s", diff)
		}
	})
	t.Run("platform without lookups", func(t *testing.T) {
		a := newApp(t, dispatchConfig, dispatchNow)
		a.commitAlerts(newAlert("k1", "slack:C1"))
		a.claimAsDeadProcess()
		p := a.plat["slack"]
		a.drainOn(p)
		if diff := cmp.Diff([]string{"k1"}, p.sentTo("C1")); diff != "" {
			t.Errorf("C1 got (-want +got):\n%s", diff)
		}
	})
}

// TestOwnClaimsNotLookedUp: deliveries this process claimed but did not
// get to send (the channel waited behind a failure) need no lookup.
func TestOwnClaimsNotLookedUp(t *testing.T) {
	a := newApp(t, dispatchConfig, dispatchNow)
	a.commitAlerts(newAlert("k1", "slack:C1"), newAlert("k2", "slack:C1"))
	p := newResolvingPlatform(a.plat["slack"])
	failed := false
	p.failWith(func(out bot.Outgoing) error {
		if !failed {
			failed = true
			return bot.Transient(errors.New("ratelimited"), time.Minute)
		}
		return nil
	})
	if _, err := a.bot.DeliverPending(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	a.clock.Add(time.Hour)
	a.drainOn(p)
	if diff := cmp.Diff([]string{"k1", "k2"}, p.sentTo("C1")); diff != "" {
		t.Errorf("C1 got (-want +got):\n%s", diff)
	}
	if qs := p.Queries(); len(qs) != 0 {
		t.Errorf("lookups %+v; a 429 was not posted and k2 was never sent, so none is needed", qs)
	}
}

// parallelResolver is a resolving platform that sends to several channels
// at once and records how many sends overlapped.
type parallelResolver struct {
	*resolvingPlatform
	inFlight, most atomic.Int32
}

func (p *parallelResolver) ParallelSends() int { return 4 }

func (p *parallelResolver) Send(ctx context.Context, out bot.Outgoing) (string, error) {
	n := p.inFlight.Add(1)
	defer p.inFlight.Add(-1)
	for {
		m := p.most.Load()
		if n <= m || p.most.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(5 * time.Millisecond) // long enough for overlapping sends to show
	return p.resolvingPlatform.Send(ctx, out)
}

// TestMissingPermissionWarnsOnceAndSerializes: when the platform can never
// answer a lookup (Slack without the history scope), the bot says so once,
// resends, and from then on sends one message at a time, so a crash can
// repeat at most the one in flight.
func TestMissingPermissionWarnsOnceAndSerializes(t *testing.T) {
	var log sharedtest.Buffer
	a := openApp(t, dispatchConfig, dispatchNow, appOptions{log: &log})
	var alerts []bot.NewAlert
	for i := range 8 {
		alerts = append(alerts, newAlert(fmt.Sprintf("k%d", i), fmt.Sprintf("slack:C%d", i)))
	}
	a.commitAlerts(alerts...)
	a.claimAsDeadProcess()
	a.clock.Add(time.Minute)
	a.commitAlerts(newAlert("k8", "slack:C8"), newAlert("k9", "slack:C9"), newAlert("k10", "slack:C10"))
	p := &parallelResolver{resolvingPlatform: newResolvingPlatform(a.plat["slack"])}
	p.lookupErr = bot.Permanent(errors.New("missing_scope: channels:history"))
	a.drainOn(p)
	if got := len(p.Sent()); got != 11 {
		t.Errorf("sent %d, want all 11 (resent rather than lost)", got)
	}
	if n := strings.Count(log.String(), "cannot look up whether deliveries were posted"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, log.String())
	}
	// The first pass looked up 8 channels and sent them; from the next
	// pass on, sends do not overlap.
	p.most.Store(0)
	a.commitAlerts(newAlert("k11", "slack:C1"), newAlert("k12", "slack:C2"), newAlert("k13", "slack:C3"))
	a.drainOn(p)
	if m := p.most.Load(); m != 1 {
		t.Errorf("%d sends at once after the lookup failed for good, want 1", m)
	}
}

// aheadPlatform is a resolving platform whose deliveries a pass claims
// when it picks them up (bot.ClaimAhead), as Discord's are.
type aheadPlatform struct{ *resolvingPlatform }

func (aheadPlatform) ClaimAhead() bool   { return true }
func (aheadPlatform) ParallelSends() int { return 4 }

var _ bot.ClaimAhead = aheadPlatform{}

// TestClaimAhead: on a platform that claims ahead, a pass claims every
// delivery it picks up, sent or not. A send whose answer was lost stops
// its channel; the channel's next delivery stays claimed but this process,
// knowing it never sent it, does not look it up. After a restart (another
// owner) every delivery left claimed is looked up before any resend: the
// one the platform has is recorded, the other sent, each once, in order.
func TestClaimAhead(t *testing.T) {
	a := newApp(t, dispatchConfig, dispatchNow)
	a.commitAlerts(newAlert("k1", "slack:C1"), newAlert("k2", "slack:C1"), newAlert("k3", "slack:C2"), newAlert("k4", "slack:C3"))
	p := aheadPlatform{newResolvingPlatform(a.plat["slack"])}
	p.lost = func(out bot.Outgoing) bool { return out.Message.AlertKey == "k1" }
	passAt := a.clock.Now()
	if _, err := a.bot.DeliverPending(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []string{"C2", "C3"} {
		if got := p.sentTo(ch); len(got) != 1 {
			t.Errorf("%s got %v, want its one alert", ch, got)
		}
	}
	c1 := a.history("slack:C1") // newest first: k2, k1
	if len(c1) != 2 {
		t.Fatalf("C1 has %d deliveries, want 2", len(c1))
	}
	for _, h := range c1 {
		d := h.Delivery
		if d.State != bot.DeliveryPending || !d.ClaimedAt.Equal(passAt) || d.ClaimOwner == "" {
			t.Errorf("%s after the pass: state %s, claimed by %q at %v; want pending, claimed by the pass at %v",
				h.Alert.Key, d.State, d.ClaimOwner, d.ClaimedAt, passAt)
		}
	}
	k1, k2 := c1[1].Delivery, c1[0].Delivery

	// A restart: the deliveries left claimed belong to a process that is
	// gone, and are looked up.
	b := openApp(t, dispatchConfig, a.clock.Now(), appOptions{path: a.path, noSeed: true})
	q := aheadPlatform{newResolvingPlatform(b.plat["slack"])}
	q.posted[k1.ID] = p.posted[k1.ID]
	b.clock.Add(time.Hour)
	b.drainOn(q)
	if diff := cmp.Diff([]string{"k2"}, q.sentTo("C1")); diff != "" {
		t.Errorf("C1 after the restart (-want +got):\n%s", diff)
	}
	qs := q.Queries()
	if len(qs) != 1 || qs[0].Channel != "C1" || !cmp.Equal(qs[0].Deliveries, []int64{k1.ID, k2.ID}) {
		t.Errorf("lookups %+v, want one for C1's two claimed deliveries", qs)
	}
	for _, h := range b.history("slack:C1") {
		if h.Delivery.State != bot.DeliverySent {
			t.Errorf("%s is %s, want sent", h.Alert.Key, h.Delivery.State)
		}
		if h.Delivery.ID == k1.ID && h.Delivery.MessageID != p.posted[k1.ID] {
			t.Errorf("k1 recorded as %q, want the message posted before the restart (%q)", h.Delivery.MessageID, p.posted[k1.ID])
		}
	}
}
