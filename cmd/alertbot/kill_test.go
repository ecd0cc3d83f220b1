package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/discord/discordtest"
	"github.com/policyteam/alertbot/bot/slack/slacktest"
	"github.com/policyteam/alertbot/store"
)

// killRun is one platform's side of a kill -9 test: how to count what the
// fake platform holds.
type killRun struct {
	env    []string
	want   map[string]string     // title → channel address
	posted func() map[string]int // "channel|title" → posts, from the fake
}

// distinct counts the wanted alerts the fake holds at least once.
func (k *killRun) distinct() int {
	got := k.posted()
	n := 0
	for title, ch := range k.want {
		if got[ch+"|"+title] > 0 {
			n++
		}
	}
	return n
}

// killLoop runs `serve` on db and kills it with SIGKILL at random points
// while it posts, restarting it each time, until every wanted alert has
// been posted; then one last process runs until the store has nothing
// pending. It returns the number of kills.
func killLoop(t *testing.T, db string, k *killRun) int {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	cfg := writeTemp(t, faultConfig)
	args := []string{"--config", cfg, "--db", db, "--http", "127.0.0.1:0"}
	deadline := time.Now().Add(3 * time.Minute) // a hang, not a timing
	kills := 0
	for k.distinct() < len(k.want) {
		if time.Now().After(deadline) {
			t.Fatalf("after %d kills only %d of %d alerts posted", kills, k.distinct(), len(k.want))
		}
		p := startProc(t, k.env, args...)
		// Kill after a random number of further posts (5–100), or at a
		// random moment of start-up when the number is small.
		target := min(k.distinct()+5+rng.IntN(96), len(k.want))
		if rng.IntN(8) == 0 {
			time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		} else {
			for k.distinct() < target && time.Now().Before(deadline) {
				select {
				case <-p.done:
					t.Fatalf("serve ended by itself\nstderr:\n%s", p.stderr())
				case <-time.After(2 * time.Millisecond):
				}
			}
		}
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err := p.wait(t)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("serve ended with %v, want SIGKILL\nstderr:\n%s", err, p.stderr())
		}
		kills++
	}
	// The last kill may have left sends unrecorded: one more process
	// resolves them, then stops cleanly.
	p := startProc(t, k.env, args...)
	p.httpAddr(t) // up, with its signal handlers set
	for pendingDeliveries(t, db) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("deliveries still pending after the last restart\nstderr:\n%s", p.stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	if err := p.wait(t); err != nil {
		t.Fatalf("last serve: %v\nstderr:\n%s", err, p.stderr())
	}
	return kills
}

// pendingDeliveries counts the pending deliveries in db.
func pendingDeliveries(t *testing.T, db string) int {
	t.Helper()
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	counts, err := s.DeliveryCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return counts[bot.DeliveryPending]
}

// TestKillNineDiscord posts 1,000 alerts to 250 channels of the fake
// Discord while the process is killed with SIGKILL at random points and
// restarted: every alert arrives exactly once and is recorded as sent.
func TestKillNineDiscord(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "a.db")
	const n, channels = 1000, 250
	channel := func(i int) string { return fmt.Sprintf("discord:9%017d", i%channels) }
	want := prefill(t, db, "Kill test alert", n, channel)
	fake := discordtest.NewServer()
	defer fake.Close()
	k := &killRun{
		env:  []string{"DISCORD_BOT_TOKEN=" + e2eDiscordToken, "DISCORD_APP_ID=" + e2eDiscordApp, "DISCORD_API_URL=" + fake.URL},
		want: want,
		posted: func() map[string]int {
			got := map[string]int{}
			for c := range channels {
				ch := channel(c)
				_, id, _ := bot.SplitAddress(ch)
				for _, m := range fake.Messages(id) {
					title := m.Content
					if len(m.Embeds) > 0 {
						title = m.Embeds[0].Title
					}
					got[ch+"|"+title]++
				}
			}
			return got
		},
	}
	kills := killLoop(t, db, k)
	got := k.posted()
	t.Logf("%d kills while posting %d alerts", kills, n)
	checkOnce(t, want, got)
	checkStoreSent(t, db, want)
}

// TestKillNineSlack posts 1,000 alerts to 250 channels of the fake Slack
// while the process is killed with SIGKILL at random points and
// restarted. Sends cut off by a kill are looked up in the channel's
// history (message metadata) before any resend: every alert arrives
// exactly once and is recorded as sent.
func TestKillNineSlack(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "a.db")
	const n, channels = 1000, 250
	want := prefill(t, db, "Kill test alert", n, func(i int) string { return fmt.Sprintf("slack:C0KILL%03d", i%channels) })
	fake := slacktest.NewServer()
	fake.Token = e2eSlackToken
	defer fake.Close()
	k := &killRun{
		env:    []string{"SLACK_BOT_TOKEN=" + e2eSlackToken, "SLACK_API_URL=" + fake.URL},
		want:   want,
		posted: func() map[string]int { return countPosts(fake) },
	}
	kills := killLoop(t, db, k)
	t.Logf("%d kills while posting %d alerts", kills, n)
	checkOnce(t, want, countPosts(fake))
	checkStoreSent(t, db, want)
}
