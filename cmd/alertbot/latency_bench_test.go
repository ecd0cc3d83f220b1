package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot/discord/discordtest"
	"github.com/policyteam/alertbot/bot/slack"
	"github.com/policyteam/alertbot/bot/slack/slacktest"
)

// serveForBench runs the whole program in-process with env and more
// arguments (default: the embedded example config) and returns its HTTP
// address and a stop function.
func serveForBench(b *testing.B, env map[string]string, args ...string) (string, func()) {
	b.Helper()
	ready := make(chan string, 1)
	m := &Main{
		Args:   append([]string{"serve", "--db", filepath.Join(b.TempDir(), "a.db"), "--http", "127.0.0.1:0", "--log-level", "error"}, args...),
		Stdout: io.Discard, Stderr: io.Discard, Ready: ready,
		Getenv: func(k string) string { return env[k] },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	select {
	case addr := <-ready:
		return addr, func() {
			cancel()
			if err := <-done; err != nil {
				b.Errorf("serve: %v", err)
			}
		}
	case err := <-done:
		cancel()
		b.Fatalf("serve ended: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		b.Fatal("serve did not start")
	}
	return "", nil
}

// pacedLatency sends n requests open-loop at rate per second (each on its
// own goroutine, so a slow answer does not delay the next request) and
// reports p50, p99 and max latency.
func pacedLatency(b *testing.B, rate, n int, do func() error) {
	b.Helper()
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := 0; i < n; i++ {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			err := do()
			lat[i] = time.Since(start)
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(lat[n/2]), "p50-ms")
	b.ReportMetric(ms(lat[n*99/100]), "p99-ms")
	b.ReportMetric(ms(lat[n-1]), "max-ms")
}

var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 10 * time.Second}

func postCheck(req *http.Request, want string) error {
	resp, err := benchClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), want) {
		return &benchErr{resp.StatusCode, string(data)}
	}
	return nil
}

type benchErr struct {
	code int
	body string
}

func (e *benchErr) Error() string { return strconv.Itoa(e.code) + ": " + e.body }

// BenchmarkSlashCommandEndToEnd: a signed Slack `/alerts upcoming 400d`
// through the real HTTP server, router and SQLite, 1,000 requests paced at
// 500/s (DESIGN §8: p99 ≤ 10 ms).
func BenchmarkSlashCommandEndToEnd(b *testing.B) {
	fake := slacktest.NewServer()
	defer fake.Close()
	const secret = "bench-signing-secret"
	addr, stop := serveForBench(b, map[string]string{
		"SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": secret, "SLACK_API_URL": fake.URL,
	})
	defer stop()
	// Each request from its own user: one user's commands are rate
	// limited (bot.DefaultCommandRate), and this measures the bot, not
	// its limiter.
	var users atomic.Int64
	for b.Loop() {
		pacedLatency(b, 500, 1000, func() error {
			form := url.Values{"team_id": {"T1"}, "channel_id": {"C0BENCH"}, "user_id": {fmt.Sprintf("U0B%07d", users.Add(1))},
				"command": {"/alerts"}, "text": {"upcoming 400d"}, "response_url": {fake.ResponseURL("bench")}}
			body := []byte(form.Encode())
			ts := time.Now().Unix()
			req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/slack/commands", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
			req.Header.Set("X-Slack-Signature", slack.Sign(secret, ts, body))
			return postCheck(req, "Diet passes the FY2027 budget")
		})
	}
}

// BenchmarkInteractionEndToEnd: a signed Discord `/alerts upcoming`
// interaction through the real HTTP server, router and SQLite, paced at
// 500/s.
func BenchmarkInteractionEndToEnd(b *testing.B) {
	fake := discordtest.NewServer()
	defer fake.Close()
	pub, priv, _ := ed25519.GenerateKey(nil)
	addr, stop := serveForBench(b, map[string]string{
		"DISCORD_BOT_TOKEN": "bench", "DISCORD_APP_ID": "1100000000000000001",
		"DISCORD_PUBLIC_KEY": hex.EncodeToString(pub), "DISCORD_API_URL": fake.URL,
	})
	defer stop()
	var users atomic.Int64 // each request from its own user, as above
	for b.Loop() {
		pacedLatency(b, 500, 1000, func() error {
			body := []byte(`{"id":"1300000000000000001","application_id":"1100000000000000001","type":2,"token":"t","version":1,` +
				`"guild_id":"1200000000000000002","channel_id":"1200000000000000009","member":{"user":{"id":"` +
				strconv.FormatInt(users.Add(1), 10) + `","username":"m"},"roles":[]},` +
				`"data":{"id":"1200000000000000003","name":"alerts","type":1,"options":[{"name":"upcoming","type":1,"options":[{"name":"within","type":3,"value":"400d"}]}]}}`)
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/discord/interactions", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Signature-Timestamp", ts)
			req.Header.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(priv, append([]byte(ts), body...))))
			return postCheck(req, "Diet passes the FY2027 budget")
		})
	}
}

// BenchmarkFiringPrecision: how late alerts reach Slack after their due
// instants, end to end (countdown plan → runner wake-up → check → outbox
// → slack adapter → fake Slack's receipt). 60 events fall due over 6 s,
// 10 at each second, each to its own channel; the countdown is on
// "@every 1h", so only the planned wake-ups can be on time (DESIGN §5 "On
// time": within 1 s at p99). One run per call: b.N is not used.
func BenchmarkFiringPrecision(b *testing.B) {
	const perSecond, seconds = 10, 6
	fake := slacktest.NewServer()
	fake.Token = "xoxb-bench"
	defer fake.Close()
	first := time.Now().Add(4 * time.Second).Truncate(time.Second)
	due := map[string]time.Time{} // title → instant
	var cfg strings.Builder
	cfg.WriteString("timezone: Asia/Tokyo\nevents:\n")
	for i := range perSecond * seconds {
		at := first.Add(time.Duration(i/perSecond) * time.Second)
		title := fmt.Sprintf("Firing %02d", i)
		due[title] = at
		fmt.Fprintf(&cfg, "  - id: fire-%02d\n    title: %s\n    due: %s\n    lead_times: [0m]\n",
			i, title, at.UTC().Format("2006-01-02T15:04:05Z"))
	}
	cfg.WriteString("watchers:\n  - id: deadlines\n    kind: countdown\n    schedule: \"@every 1h\"\nsubscriptions:\n")
	for i := range perSecond * seconds {
		fmt.Fprintf(&cfg, "  - channel: slack:C0FIRE%02d\n    to: [event:fire-%02d]\n", i, i)
	}
	path := filepath.Join(b.TempDir(), "fire.yaml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	_, stop := serveForBench(b, map[string]string{"SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_API_URL": fake.URL}, "--config", path)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Until(first.Add(seconds*time.Second+30*time.Second)))
	defer cancel()
	posts, err := fake.WaitPosts(ctx, len(due))
	if err != nil {
		b.Fatal(err)
	}
	var late []time.Duration
	for _, p := range posts {
		title, _, _ := strings.Cut(p.Text, "\n")
		at, ok := due[title]
		if !ok {
			b.Fatalf("unexpected post %q", title)
		}
		late = append(late, p.At.Sub(at))
	}
	slices.Sort(late)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(late[0]), "min-ms")
	b.ReportMetric(ms(late[len(late)/2]), "p50-ms")
	b.ReportMetric(ms(late[len(late)*99/100]), "p99-ms")
	b.ReportMetric(ms(late[len(late)-1]), "max-ms")
	if late[0] < 0 {
		b.Errorf("an alert was posted %v before its instant", -late[0])
	}
}
