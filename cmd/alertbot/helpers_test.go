package main

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/store"
	"github.com/policyteam/alertbot/watchers/fetch"
)

var tokyo = mustZone("Asia/Tokyo")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// Users and channels of the tests; the console user is the local admin.
const (
	admin   = "console:local"
	member  = "slack:U0MEMBER"
	channel = "slack:C0BUDGET"
)

// memPlatform is an in-memory platform that records what it was sent and
// can be told to fail.
type memPlatform struct {
	name string
	mu   sync.Mutex
	sent []bot.Outgoing
	fail func(out bot.Outgoing) error
}

var _ bot.Platform = (*memPlatform)(nil)

func (p *memPlatform) Name() string { return p.name }

func (p *memPlatform) Send(ctx context.Context, out bot.Outgoing) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		if err := p.fail(out); err != nil {
			return "", err
		}
	}
	p.sent = append(p.sent, out)
	return "m" + bot.Nonce(out.DeliveryID), nil
}

func (p *memPlatform) Sent() []bot.Outgoing {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]bot.Outgoing(nil), p.sent...)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// testBot is a bot on a temp database with the given config text (or the
// embedded example when cfgText is "").
type testBot struct {
	*bot.Bot
	router *bot.Router
	db     *store.DB
	cfg    *bot.Config
	clock  *clock
	plat   *memPlatform
	path   string
}

func newTestBot(t testing.TB, cfgText string, now time.Time, platforms ...bot.Platform) *testBot {
	t.Helper()
	path := filepath.Join(t.TempDir(), "alertbot.db")
	return openTestBot(t, path, cfgText, now, platforms...)
}

func openTestBot(t testing.TB, path, cfgText string, now time.Time, platforms ...bot.Platform) *testBot {
	t.Helper()
	data := exampleConfig
	if cfgText != "" {
		data = []byte(cfgText)
	}
	cfg, err := bot.ParseConfig("test.yaml", data, factories)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	clk := &clock{t: now}
	db, err := store.Open(context.Background(), path, store.WithNow(clk.Now))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	plat := &memPlatform{name: "console"}
	if len(platforms) == 0 {
		platforms = []bot.Platform{plat}
	}
	b, r, err := wire(db, bot.Options{
		Config: cfg, Platforms: platforms,
		Now: clk.Now, LocalAdmin: "console:local",
		// No per-host pacing: tests poll one loopback server many times.
		Fetcher: fetch.New(fetch.Options{Timeout: 10 * time.Second}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Seed(context.Background()); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return &testBot{Bot: b, router: r, db: db, cfg: cfg, clock: clk, plat: plat, path: path}
}

// run runs a command as user in channel.
func (tb *testBot) run(t testing.TB, user, channel, text string) bot.Reply {
	t.Helper()
	return tb.router.Handle(context.Background(), bot.Request{Platform: "console", User: user, Channel: channel, Text: text})
}

// tick runs a watcher at the clock's time.
func (tb *testBot) tick(t testing.TB, id string) string {
	t.Helper()
	found, err := tb.RunWatcher(context.Background(), id, tb.clock.Now())
	if err != nil {
		t.Fatalf("run %s: %v", id, err)
	}
	return found
}

// drain delivers everything due on p.
func (tb *testBot) drain(t testing.TB, p bot.Platform) {
	t.Helper()
	for i := 0; i < 100; i++ {
		n, err := tb.DeliverPending(context.Background(), p)
		if err != nil {
			t.Fatalf("deliver: %v", err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("deliveries never drained")
}
