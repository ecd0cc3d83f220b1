package slack

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/slack/slacktest"
)

// TestParallelSendsPacing sends to 8 channels at once, each channel's
// messages in order as the dispatcher does: each channel keeps its own
// pace, and the channels do not wait for each other.
func TestParallelSendsPacing(t *testing.T) {
	fake := slacktest.NewServer()
	defer fake.Close()
	const rate, perChannel = 4, 4 // gaps of 250 ms: far above the jitter of a loaded machine
	a, _ := newSendAdapter(t, fake, rate, 1)
	channels := a.ParallelSends()
	if channels < 2 {
		t.Fatalf("ParallelSends() = %d", channels)
	}
	start := time.Now()
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
	elapsed := time.Since(start)
	byChannel := map[string][]slacktest.Post{}
	for _, p := range fake.Posts() {
		byChannel[p.Channel] = append(byChannel[p.Channel], p)
	}
	// The limiter spaces the starts of requests; arrival at the fake adds
	// a jitter of its own, hence the slack in the checks.
	gap := time.Second / rate
	for ch, ps := range byChannel {
		if len(ps) != perChannel {
			t.Errorf("%s: %d posts, want %d", ch, len(ps), perChannel)
			continue
		}
		for i := 1; i < len(ps); i++ {
			if d := ps[i].At.Sub(ps[i-1].At); d < gap/2 {
				t.Errorf("%s: posts %d and %d %v apart, the limiter allows %v", ch, i-1, i, d, gap)
			}
		}
		if span, least := ps[len(ps)-1].At.Sub(ps[0].At), time.Duration(perChannel-1)*gap; span < least-gap/2 {
			t.Errorf("%s: %d posts within %v, the limiter allows no less than %v", ch, len(ps), span, least)
		}
	}
	// One channel after another would take channels × (perChannel-1) gaps.
	if serial := time.Duration(channels*(perChannel-1)) * gap; elapsed > serial/2 {
		t.Errorf("%d channels took %v; sent one after another they take %v", channels, elapsed, serial)
	}
}
