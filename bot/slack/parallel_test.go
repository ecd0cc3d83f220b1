package slack

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/slack/slacktest"
)

// TestParallelSendsPacing: sends to several channels at once keep each
// channel's pacing, and channels do not wait for each other. The limiter's
// clock stands still and its sleeps are recorded instead of slept, so the
// check does not depend on the machine's load: with a frozen clock each
// channel's n sends wait 0, 1, …, n-1 intervals — a shared limiter would
// make them wait up to channels × n intervals.
func TestParallelSendsPacing(t *testing.T) {
	fake := slacktest.NewServer()
	defer fake.Close()
	const rate, perChannel = 20, 4
	a, _ := newSendAdapter(t, fake, rate, 1)
	frozen := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var (
		mu     sync.Mutex
		sleeps []time.Duration
	)
	a.clock = func() time.Time { return frozen }
	a.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		sleeps = append(sleeps, d)
		return ctx.Err()
	}
	channels := a.ParallelSends()
	if channels < 2 {
		t.Fatalf("ParallelSends() = %d", channels)
	}
	var wg sync.WaitGroup
	for c := range channels {
		wg.Go(func() {
			for i := range perChannel {
				id := int64(c*perChannel + i + 1)
				if _, err := a.Send(testCtx(t), bot.Outgoing{DeliveryID: id, Channel: fmt.Sprintf("C%d", c+1), Message: bot.Message{Title: fmt.Sprint(id)}}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n := len(fake.Posts()); n != channels*perChannel {
		t.Fatalf("%d posts, want %d", n, channels*perChannel)
	}
	gap := time.Second / rate
	var want []time.Duration
	for range channels {
		for i := 1; i < perChannel; i++ {
			want = append(want, time.Duration(i)*gap)
		}
	}
	slices.Sort(sleeps)
	slices.Sort(want)
	if !slices.Equal(sleeps, want) {
		t.Errorf("limiter waits %v, want %v (each channel paced on its own)", sleeps, want)
	}
}
