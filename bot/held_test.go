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

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/store"
)

// errFull stands for the database refusing a write, as on a full disk.
var errFull = errors.New("database or disk is full")

// fullOutbox is the database as the bot's outbox, refusing every write of
// confirmed sends while full is set.
type fullOutbox struct {
	*store.DB
	full atomic.Bool
}

func (o *fullOutbox) RecordDeliveries(ctx context.Context, batch bot.DeliveryBatch) ([]int64, error) {
	if o.full.Load() && len(batch.Sent) > 0 {
		return nil, errFull
	}
	return o.DB.RecordDeliveries(ctx, batch)
}

// logSignal is a log that closes seen when a line holds want.
type logSignal struct {
	want string
	seen chan struct{}
	once sync.Once
}

func (l *logSignal) Write(p []byte) (int, error) {
	if strings.Contains(string(p), l.want) {
		l.once.Do(func() { close(l.seen) })
	}
	return len(p), nil
}

// gatedPlatform is a recording platform sending on several lanes whose
// sends after the first wait until open is closed: the other lanes are
// then all inside a send when the first confirmation's record is refused.
type gatedPlatform struct {
	*recordingPlatform
	ahead bool
	lanes int
	sends atomic.Int32
	open  chan struct{}
}

func (g *gatedPlatform) ClaimAhead() bool   { return g.ahead }
func (g *gatedPlatform) ParallelSends() int { return g.lanes }

func (g *gatedPlatform) Send(ctx context.Context, out bot.Outgoing) (string, error) {
	if g.sends.Add(1) > 1 {
		select {
		case <-g.open:
		case <-time.After(10 * time.Second):
			return "", errors.New("the bot never said it held an unrecorded send")
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	return g.recordingPlatform.Send(ctx, out)
}

// TestUnrecordedSendsHeld: when the outbox refuses to record sends the
// platform confirmed (DESIGN §5), the sends already under way finish and
// nothing else is sent, whether the platform claims a pass's deliveries
// ahead (Discord) or channel by channel (Slack). Passes while the writes
// fail send nothing; once they work, the held confirmations are recorded
// first and never sent again, and the rest go out: every alert once.
func TestUnrecordedSendsHeld(t *testing.T) {
	for _, ahead := range []bool{true, false} {
		t.Run(fmt.Sprintf("ahead=%v", ahead), func(t *testing.T) {
			out := &fullOutbox{}
			// The lanes' sends wait until the bot says it holds the
			// first confirmation.
			held := &logSignal{want: "sent but not recorded", seen: make(chan struct{})}
			a := openApp(t, dispatchConfig, dispatchNow, appOptions{log: held, outbox: func(db *store.DB) bot.Outbox {
				out.DB = db
				return out
			}})
			const n, lanes = 40, 4
			for i := range n {
				a.commitAlerts(newAlert(fmt.Sprintf("k%02d", i), fmt.Sprintf("slack:C%02d", i)))
			}
			p := &gatedPlatform{recordingPlatform: a.plat["slack"], ahead: ahead, lanes: lanes, open: held.seen}
			out.full.Store(true)
			ctx := context.Background()
			if _, err := a.bot.DeliverPending(ctx, p); err == nil {
				t.Fatal("a pass whose confirmations were not recorded returned no error")
			}
			during := len(p.Sent())
			if during == 0 || during > lanes {
				t.Fatalf("%d sends in the pass whose first record failed; want the first and those under way (1–%d)", during, lanes)
			}
			// Later passes while the writes still fail send nothing.
			for range 3 {
				if _, err := a.bot.DeliverPending(ctx, p); err == nil {
					t.Error("a pass with unrecorded confirmations returned no error")
				}
			}
			if got := len(p.Sent()); got != during {
				t.Errorf("%d sends while the confirmations waited for their records, want none", got-during)
			}

			out.full.Store(false)
			a.drainOn(p)
			for i := range n {
				ch, key := fmt.Sprintf("C%02d", i), fmt.Sprintf("k%02d", i)
				if got := p.sentTo(ch); len(got) != 1 || got[0] != key {
					t.Errorf("%s got %v, want [%s] once", ch, got, key)
				}
				h := a.history("slack:" + ch)
				if len(h) != 1 || h[0].Delivery.State != bot.DeliverySent || h[0].Delivery.MessageID == "" {
					t.Errorf("%s's delivery in the store: %+v, want sent with its message id", ch, h)
				}
			}
		})
	}
}
