package bot_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/policyteam/alertbot/bot"
)

// claimCheckingPlatform is a parallel, resolving platform that, at each
// send, reads the outbox: the delivery must be claimed already, and it
// notes how many deliveries are claimed and not yet posted.
type claimCheckingPlatform struct {
	*resolvingPlatform
	a *app

	mu          sync.Mutex
	unclaimed   []int64
	mostClaimed int
}

func (p *claimCheckingPlatform) ParallelSends() int { return 4 }

func (p *claimCheckingPlatform) Send(ctx context.Context, out bot.Outgoing) (string, error) {
	ds, err := p.a.db.PendingDeliveries(ctx, "slack", p.a.clock.Now(), 0)
	if err != nil {
		return "", err
	}
	p.resolvingPlatform.mu.Lock()
	claimed, mine := 0, false
	for _, d := range ds {
		if d.ClaimedAt.IsZero() {
			continue
		}
		if _, posted := p.posted[d.ID]; !posted {
			claimed++
		}
		mine = mine || d.ID == out.DeliveryID
	}
	p.resolvingPlatform.mu.Unlock()
	p.mu.Lock()
	if !mine {
		p.unclaimed = append(p.unclaimed, out.DeliveryID)
	}
	p.mostClaimed = max(p.mostClaimed, claimed)
	p.mu.Unlock()
	return p.resolvingPlatform.Send(ctx, out)
}

// TestClaimsWrittenAhead: a parallel platform that can look sends up gets
// its claims written a chunk of channels ahead of the sends (so a send
// does not wait for its own claim), yet every delivery is claimed in the
// outbox before it is sent, and no more than two chunks' deliveries (and
// the sends in flight) are claimed and unsent at any moment (what a crash leaves to look up).
func TestClaimsWrittenAhead(t *testing.T) {
	a := newApp(t, dispatchConfig, dispatchNow)
	var alerts []bot.NewAlert
	for i := range 40 {
		alerts = append(alerts, newAlert(fmt.Sprintf("k%02d", i), fmt.Sprintf("slack:C%02d", i)))
	}
	a.commitAlerts(alerts...)
	p := &claimCheckingPlatform{resolvingPlatform: newResolvingPlatform(a.plat["slack"]), a: a}
	a.drainOn(p)
	for i := range 40 {
		if got := p.sentTo(fmt.Sprintf("C%02d", i)); len(got) != 1 {
			t.Errorf("C%02d got %v, want one message", i, got)
		}
	}
	if len(p.unclaimed) > 0 {
		t.Errorf("deliveries %v sent before their claim was written", p.unclaimed)
	}
	// Chunks of 2 × 4 channels: the one being sent and the next, and the
	// sends of the chunk before still in flight (at most 4).
	if p.mostClaimed > 20 {
		t.Errorf("%d deliveries claimed and unsent at once, want at most 20 of the 40", p.mostClaimed)
	}
	if p.mostClaimed <= 4 {
		t.Errorf("at most %d deliveries claimed at once: claims not written ahead of the sends", p.mostClaimed)
	}
	if qs := p.Queries(); len(qs) != 0 {
		t.Errorf("lookups %+v; this process's own claims need none", qs)
	}
	ds, err := a.db.ChannelHistory(context.Background(), "slack:C39", 1)
	if err != nil || len(ds) != 1 || ds[0].Delivery.State != bot.DeliverySent || ds[0].Delivery.MessageID == "" {
		t.Fatalf("C39's delivery %+v, %v; want it recorded as sent", ds, err)
	}
}
