package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/discord/discordtest"
	"github.com/policyteam/alertbot/bot/slack/slacktest"
	"github.com/policyteam/alertbot/store"
	"github.com/policyteam/alertbot/watchers/sharedtest"
)

// BenchmarkEndToEnd is what a user gets: N events fall due at one instant,
// each subscribed by its own channel, and the clock stops when the fake
// platform has received every message. Everything the running bot does is
// inside: the countdown's wake-up and check, creating the alerts, routing,
// the outbox transaction, claims, sends over loopback HTTP through the
// production adapter, and recording each send. Platform rate limits are
// lifted (`limits:` in the config). It reports notifications/s (N over
// due instant → last receipt) and each message's latency after the due
// instant (first, p50, p99), and the process's CPU time from 200 ms before
// the due instant to the last receipt per alert (bot, fake platform and
// this loop together). ALERTBOT_BENCH_BURST_PROFILE=file writes a CPU
// profile of that window. One run per call: b.N is not used.
func BenchmarkEndToEnd(b *testing.B) {
	for _, platform := range []string{"slack", "discord"} {
		for _, n := range []int{1000, 5000} {
			b.Run(fmt.Sprintf("%s/N=%d", platform, n), func(b *testing.B) {
				benchEndToEnd(b, platform, n)
			})
		}
	}
}

func benchEndToEnd(b *testing.B, platform string, n int) {
	var (
		env      map[string]string
		channel  func(i int) string // address
		count    func() int         // messages received so far, polled
		received func() []time.Time // receipt times, read once at the end
	)
	switch platform {
	case "slack":
		fake := slacktest.NewServer()
		fake.Token = "xoxb-bench"
		b.Cleanup(fake.Close)
		env = map[string]string{"SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_API_URL": fake.URL}
		channel = func(i int) string { return fmt.Sprintf("slack:C0E%05d", i) }
		count = fake.PostCount
		received = func() []time.Time {
			var out []time.Time
			for _, p := range fake.Posts() {
				out = append(out, p.At)
			}
			return out
		}
	case "discord":
		fake := discordtest.NewServer()
		b.Cleanup(fake.Close)
		env = map[string]string{"DISCORD_BOT_TOKEN": "bench", "DISCORD_APP_ID": "1100000000000000001", "DISCORD_API_URL": fake.URL}
		channel = func(i int) string { return fmt.Sprintf("discord:9%017d", i) }
		count = fake.MessageCount
		received = fake.MessageTimes
	}
	// Far enough ahead that start-up and the first planning pass are done.
	due := time.Now().Add(3*time.Second + time.Duration(n)*time.Millisecond).Truncate(time.Second).Add(time.Second)
	var cfg strings.Builder
	cfg.WriteString("timezone: Asia/Tokyo\nlimits:\n  slack_per_channel: off\n  discord_global: off\nevents:\n")
	stamp := due.UTC().Format("2006-01-02T15:04:05Z")
	for i := range n {
		fmt.Fprintf(&cfg, "  - id: e%05d\n    title: Event %05d\n    due: %s\n    lead_times: [0m]\n", i, i, stamp)
	}
	cfg.WriteString("watchers:\n  - id: deadlines\n    kind: countdown\n    schedule: \"@every 1h\"\nsubscriptions:\n")
	for i := range n {
		fmt.Fprintf(&cfg, "  - channel: %s\n    to: [event:e%05d]\n", channel(i), i)
	}
	path := filepath.Join(b.TempDir(), "bench.yaml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	_, stop := serveForBench(b, env, "--config", path)
	defer stop()
	if wait := time.Until(due); wait < 500*time.Millisecond {
		b.Fatalf("start-up took until %v before the due instant; give it more time", wait)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Until(due)+2*time.Minute)
	defer cancel()
	// The CPU the whole process (bot, fake platform, this loop) spends from
	// shortly before the due instant to the last receipt: a cost that other
	// load on the machine does not inflate the way it does wall time.
	time.Sleep(time.Until(due) - 200*time.Millisecond)
	cpu0 := sharedtest.ProcessCPU()
	if path := os.Getenv("ALERTBOT_BENCH_BURST_PROFILE"); path != "" {
		// A CPU profile of the burst alone, without start-up and seeding
		// (use instead of -cpuprofile).
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	// The loop polls a count: copying every message received so far each
	// time would cost the process more as the burst goes on.
	for {
		got := count()
		if got >= n {
			break
		}
		select {
		case <-ctx.Done():
			b.Fatalf("%d of %d messages received", got, n)
		case <-time.After(20 * time.Millisecond):
		}
	}
	cpu := sharedtest.ProcessCPU() - cpu0
	got := received()
	if len(got) != n {
		b.Fatalf("%d messages for %d alerts", len(got), n)
	}
	late := make([]time.Duration, n)
	for i, at := range got {
		late[i] = at.Sub(due)
	}
	slices.Sort(late)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(float64(n)/late[n-1].Seconds(), "notifications/s")
	b.ReportMetric(ms(late[0]), "first-ms")
	b.ReportMetric(ms(late[n/2]), "p50-ms")
	b.ReportMetric(ms(late[n*99/100]), "p99-ms")
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/alert")
	if late[0] < 0 {
		b.Errorf("a message arrived %v before its due instant", -late[0])
	}
}

// firstStartConfig is a config of n events around now, in the three forms
// of due date, and a countdown watcher.
func firstStartConfig(n int, now time.Time) string {
	var cfg strings.Builder
	cfg.WriteString("timezone: Asia/Tokyo\nevents:\n")
	for i := range n {
		at := now.AddDate(0, 0, -365+(i*1100)/n)
		due := at.Format("2006-01-02")
		switch i % 3 {
		case 1:
			due = at.Format("2006-01")
		case 2:
			due = at.Format("2006-01-02T15:04")
		}
		fmt.Fprintf(&cfg, "  - id: ev-%06d\n    title: Event %d\n    due: %s\n    tags: [t%d]\n", i, i, due, i%50)
	}
	cfg.WriteString("watchers:\n  - id: deadlines\n    kind: countdown\n    schedule: \"@every 1h\"\n")
	return cfg.String()
}

// BenchmarkLoadAndSeed100k: the work of a first start over 100,000
// events in this process, for profiles (-cpuprofile, -memprofile): the
// config file read and validated, then seeded into a new database. Each
// iteration starts from an empty database.
func BenchmarkLoadAndSeed100k(b *testing.B) {
	const n = 100_000
	dir := b.TempDir()
	now := time.Now()
	path := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(path, []byte(firstStartConfig(n, now)), 0o600); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		cfg, err := bot.LoadConfig(path, factories)
		if err != nil {
			b.Fatal(err)
		}
		db, err := store.Open(ctx, filepath.Join(dir, fmt.Sprintf("a%d.db", i)), store.WithNow(func() time.Time { return now }))
		if err != nil {
			b.Fatal(err)
		}
		i++
		bt, _, err := wire(db, bot.Options{Config: cfg, Platforms: []bot.Platform{&memPlatform{name: "console"}}, Now: func() time.Time { return now }})
		if err != nil {
			b.Fatal(err)
		}
		rep, err := bt.Seed(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if rep.EventsCreated != n {
			b.Fatalf("%d events created, want %d", rep.EventsCreated, n)
		}
		db.Close()
	}
}

// BenchmarkFirstStart100k: `alertbot serve` started for the first time on
// a config of 100,000 events, as a separate process. It reports when the
// process answers (/healthz 200: commands are served), when the countdown's
// first planning pass over every event is done, when the lists' indexes
// left for after it are built, and the process's peak resident memory
// then (DESIGN §8: ready ≤ 2 s, first pass ≤ 5 s, peak ≤ 100 MB). One run
// per call: b.N is not used.
func BenchmarkFirstStart100k(b *testing.B) {
	const n = 100_000
	dir := b.TempDir()
	cfg := firstStartConfig(n, time.Now())
	path := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(cfg))/(1<<20), "config-MiB")
	start := time.Now()
	p := startProc(b, nil, "--config", path, "--db", filepath.Join(dir, "a.db"), "--http", "127.0.0.1:0", "--log-level", "debug")
	defer func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		_ = p.wait(b)
	}()
	var addr string
	for {
		if m := listenAddr.FindStringSubmatch(p.stderr()); m != nil && addr == "" {
			addr = m[1]
		}
		if addr != "" {
			if code, _ := healthz(addr); code == 200 {
				break
			}
		}
		if time.Since(start) > 2*time.Minute {
			b.Fatalf("not ready\nstderr:\n%s", p.stderr())
		}
		time.Sleep(5 * time.Millisecond)
	}
	ready := time.Since(start)
	for !strings.Contains(p.stderr(), `msg="watcher checked" watcher=deadlines`) {
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("first pass not done\nstderr:\n%s", p.stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
	firstPass := time.Since(start)
	// Then the lists' indexes, left for after the first pass.
	for !strings.Contains(p.stderr(), `msg="indexes built"`) {
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("indexes not built\nstderr:\n%s", p.stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
	indexed := time.Since(start)
	b.ReportMetric(ready.Seconds(), "ready-s")
	b.ReportMetric(firstPass.Seconds(), "first-pass-s")
	b.ReportMetric(indexed.Seconds(), "indexed-s")
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				var kb float64
				if _, err := fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb); err == nil {
					b.ReportMetric(kb/1024, "peak-rss-MB")
				}
			}
		}
	}
}
