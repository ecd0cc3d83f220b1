package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/slack"
	"github.com/policyteam/alertbot/bot/slack/slacktest"
	"github.com/policyteam/alertbot/store"
	"github.com/policyteam/alertbot/watchers/sharedtest"
)

// These tests run the whole program (Main.Run "serve") against the fake
// Slack of bot/slack/slacktest: real HTTP server, real SQLite file, real
// slack-go client pointed at the fake by SLACK_API_URL.

const (
	e2eBound       = 30 * time.Second // upper bound on any one wait: a hang, not a timing
	e2eSlackToken  = "xoxb-test-e2e-token"
	e2eSlackSecret = "e2e-signing-secret"
	// Event titles of e2eConfig; alerts carry them as their title.
	e2eBudgetTitle = "Diet budget vote"
	e2eSummitTitle = "Leaders summit"
	e2eLaterTitle  = "Upper House election"
)

// e2eClock is the bot's clock in these tests: real time plus an offset the
// test moves forward, so checks (scheduled @every 1s in real time) see
// milestones come due when the test says so.
type e2eClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *e2eClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *e2eClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// e2eEnv is a Getenv over a map.
func e2eEnv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// e2eServer is an in-process `alertbot serve`.
type e2eServer struct {
	addr    string
	log     *sharedtest.Buffer
	cancel  context.CancelFunc
	done    chan error
	once    sync.Once
	secrets []string // must never appear in the log
}

// startServe runs `alertbot serve` with cfg on db and waits until it
// listens. The server is stopped at cleanup if the test did not stop it.
func startServe(t *testing.T, cfg, db string, env map[string]string, clk *e2eClock, secrets ...string) *e2eServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	s := &e2eServer{log: &sharedtest.Buffer{}, cancel: cancel, done: make(chan error, 1), secrets: secrets}
	m := &Main{
		Args:   []string{"serve", "--config", cfg, "--db", db, "--http", "127.0.0.1:0", "--log-level", "debug"},
		Stdout: s.log, Stderr: s.log,
		Getenv: e2eEnv(env),
		Ready:  ready,
		Now:    clk.Now,
	}
	go func() { s.done <- m.Run(ctx) }()
	select {
	case s.addr = <-ready:
	case err := <-s.done:
		cancel()
		t.Fatalf("serve ended before listening: %v\nlog:\n%s", err, s.log)
	case <-time.After(e2eBound):
		cancel()
		t.Fatalf("serve did not listen within %s\nlog:\n%s", e2eBound, s.log)
	}
	t.Cleanup(func() {
		s.stop(t)
		if t.Failed() {
			t.Logf("alertbot log:\n%s", s.log)
		}
	})
	return s
}

// stop cancels the server's context and checks that Run returned nil and
// that no secret reached the log.
func (s *e2eServer) stop(t *testing.T) {
	t.Helper()
	s.once.Do(func() {
		s.cancel()
		select {
		case err := <-s.done:
			if err != nil {
				t.Errorf("serve returned %v after cancel", err)
			}
		case <-time.After(e2eBound):
			t.Errorf("serve did not stop within %s", e2eBound)
		}
		out := s.log.String()
		for _, sec := range s.secrets {
			if sec != "" && strings.Contains(out, sec) {
				t.Errorf("a secret (%d chars) appears in the log", len(sec))
			}
		}
	})
}

var e2eHTTP = &http.Client{Timeout: e2eBound}

// post sends body to the server and returns the status and response body.
func (s *e2eServer) post(t *testing.T, ctx context.Context, path, contentType string, body []byte, header http.Header) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.addr+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := e2eHTTP.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: read: %v", path, err)
	}
	return resp.StatusCode, data
}

// countdownChecks is how many successful countdown checks the server has
// run, read from its /metrics.
func (s *e2eServer) countdownChecks(t *testing.T, ctx context.Context) int {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.addr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e2eHTTP.Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "alertbot_watcher_runs_total{") ||
			!strings.Contains(line, `kind="countdown"`) || !strings.Contains(line, `result="ok"`) {
			continue
		}
		f, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		return int(f)
	}
	return 0
}

// waitChecks waits until n more countdown checks have run: after it, a
// check that started after the call has committed what it found.
func (s *e2eServer) waitChecks(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	base := s.countdownChecks(t, ctx)
	e2ePoll(t, ctx, fmt.Sprintf("%d more countdown checks", n), func() bool {
		return s.countdownChecks(t, ctx) >= base+n
	})
}

// e2ePoll waits until cond is true, checking every 20 ms, failing when ctx
// ends.
func e2ePoll(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// e2eConfig is the config of the platform tests: two events due in 3 h with
// reminders 2 h and 1 h before (so advancing the clock by 1 h then 2 h makes
// each come due in turn), and one event two months out for upcoming.
// Channels subscribe from chat.
func e2eConfig(t0 time.Time) string {
	due := t0.Add(3 * time.Hour).UTC().Format("2006-01-02T15:04:05Z")
	later := t0.AddDate(0, 0, 60).In(mustZone("Asia/Tokyo")).Format("2006-01-02")
	return `timezone: Asia/Tokyo
admins: [slack:U0ADMIN1, discord:80351110224678912]
events:
  - id: budget-vote
    title: ` + e2eBudgetTitle + `
    due: ` + due + `
    lead_times: [2h, 1h]
    tags: [japan, budget]
  - id: summit-meeting
    title: ` + e2eSummitTitle + `
    due: ` + due + `
    lead_times: [2h, 1h]
    tags: [us, summit]
  - id: upper-house-election
    title: ` + e2eLaterTitle + `
    due: ` + later + `
    lead_times: [1d]
    tags: [japan, election]
watchers:
  - id: deadlines
    kind: countdown
    schedule: "@every 1s"
`
}

// e2eEventIDs are the ids of e2eConfig.
var e2eEventIDs = []string{"budget-vote", "summit-meeting", "upper-house-election"}

// slackEnv is a Slack running in HTTP mode against fake.
func slackEnv(fake *slacktest.Server) map[string]string {
	return map[string]string{
		"SLACK_BOT_TOKEN":      e2eSlackToken,
		"SLACK_SIGNING_SECRET": e2eSlackSecret,
		"SLACK_API_URL":        fake.URL,
	}
}

// slackE2E is one Slack end-to-end setup.
type slackE2E struct {
	ctx  context.Context
	fake *slacktest.Server
	clk  *e2eClock
	srv  *e2eServer
	db   string
}

func newSlackE2E(t *testing.T) *slackE2E {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eBound)
	t.Cleanup(cancel)
	dir := t.TempDir()
	fake := slacktest.NewServer()
	fake.Token = e2eSlackToken // posts with another token fail as invalid_auth
	t.Cleanup(fake.Close)
	clk := &e2eClock{}
	// Message timestamps by the bot's clock, as on Slack, where they and
	// the bot's claims read the same time: a lookup from a claim finds
	// the messages posted after it.
	fake.Now = clk.Now
	cfg := filepath.Join(dir, "alertbot.yaml")
	writeFile(t, cfg, e2eConfig(clk.Now()))
	db := filepath.Join(dir, "alertbot.db")
	srv := startServe(t, cfg, db, slackEnv(fake), clk, e2eSlackToken, e2eSlackSecret)
	return &slackE2E{ctx: ctx, fake: fake, clk: clk, srv: srv, db: db}
}

// slackReply is the JSON of a slash command's inline answer.
type slackReply struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

// slackHeader signs body for Slack at the bot's clock.
func slackHeader(secret string, now time.Time, body []byte) http.Header {
	ts := now.Unix()
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("X-Slack-Signature", slack.Sign(secret, ts, body))
	return h
}

func slackCommandForm(channel, user, text, responseURL string) []byte {
	return []byte(url.Values{
		"team_id":      {"T0TEAM"},
		"channel_id":   {channel},
		"channel_name": {"budget"},
		"user_id":      {user},
		"user_name":    {"member"},
		"command":      {"/alerts"},
		"text":         {text},
		"response_url": {responseURL},
		"trigger_id":   {"1.2.3"},
		"api_app_id":   {"A0APP"},
	}.Encode())
}

// slackCommand runs a signed `/alerts text` as user in channel and returns
// the inline reply, failing unless it is a 200 with JSON.
func slackCommand(t *testing.T, e *slackE2E, srv *e2eServer, channel, user, text string) slackReply {
	t.Helper()
	body := slackCommandForm(channel, user, text, e.fake.ResponseURL("cmd"))
	status, data := srv.post(t, e.ctx, "/slack/commands", "application/x-www-form-urlencoded", body,
		slackHeader(e2eSlackSecret, e.clk.Now(), body))
	if status != http.StatusOK {
		t.Fatalf("/alerts %s: status %d: %s", text, status, data)
	}
	var r slackReply
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("/alerts %s: reply is not JSON: %v: %s", text, err, data)
	}
	return r
}

// slackPostsTo returns fake's posts to channel whose first text line (the
// title) is title; "" matches any.
func slackPostsTo(fake *slacktest.Server, channel, title string) []slacktest.Post {
	var out []slacktest.Post
	for _, p := range fake.Posts() {
		if p.Channel == channel && (title == "" || slackPostTitle(p) == title) {
			out = append(out, p)
		}
	}
	return out
}

// slackPostTitle is the alert title: the first line of the fallback text.
func slackPostTitle(p slacktest.Post) string {
	title, _, _ := strings.Cut(p.Text, "\n")
	return title
}

// TestSlackCommandsEndToEnd: a signed /alerts upcoming gets an discordEphemeral
// reply listing the config's events; unsigned, wrongly signed and stale
// requests get 401.
func TestSlackCommandsEndToEnd(t *testing.T) {
	e := newSlackE2E(t)
	r := slackCommand(t, e, e.srv, "C0BUDGET", "U0MEMBER", "upcoming 400d")
	if r.ResponseType != "ephemeral" {
		t.Errorf("upcoming: response_type %q, want ephemeral", r.ResponseType)
	}
	for _, want := range []string{e2eBudgetTitle, e2eSummitTitle, e2eLaterTitle} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("upcoming reply lacks %q:\n%s", want, r.Text)
		}
	}
	// A shorter window leaves the far event out: the reply comes from the
	// database, not a canned text.
	r = slackCommand(t, e, e.srv, "C0BUDGET", "U0MEMBER", "upcoming 1d")
	if !strings.Contains(r.Text, e2eBudgetTitle) || strings.Contains(r.Text, e2eLaterTitle) {
		t.Errorf("upcoming 1d:\n%s", r.Text)
	}

	body := slackCommandForm("C0BUDGET", "U0MEMBER", "upcoming 400d", e.fake.ResponseURL("x"))
	now := e.clk.Now()
	tampered := append(bytes.Clone(body), "&text=event+remove+budget-vote"...)
	cases := []struct {
		name   string
		body   []byte
		header http.Header
	}{
		{"unsigned", body, nil},
		{"wrong secret", body, slackHeader("not-the-secret", now, body)},
		{"tampered body", tampered, slackHeader(e2eSlackSecret, now, body)},
		{"stale timestamp", body, slackHeader(e2eSlackSecret, now.Add(-6*time.Minute), body)},
		{"future timestamp", body, slackHeader(e2eSlackSecret, now.Add(6*time.Minute), body)},
	}
	for _, c := range cases {
		for _, path := range []string{"/slack/commands", "/slack/interactions"} {
			status, data := e.srv.post(t, e.ctx, path, "application/x-www-form-urlencoded", c.body, c.header)
			if status != http.StatusUnauthorized {
				t.Errorf("%s to %s: status %d, want 401: %s", c.name, path, status, data)
			}
		}
	}
	if n := len(e.fake.Responses()); n != 0 {
		t.Errorf("refused requests still answered at response_url %d times", n)
	}
}

// TestSlackSubscribeThenAlertOnce: /alerts subscribe #budget is answered
// in the channel; the budget reminder then reaches that channel exactly
// once (and the summit reminder, due at the same time, does not), and the
// message ts Slack returned is stored with the delivery.
func TestSlackSubscribeThenAlertOnce(t *testing.T) {
	e := newSlackE2E(t)
	r := slackCommand(t, e, e.srv, "C0BUDGET", "U0MEMBER", "subscribe #budget")
	if r.ResponseType != "in_channel" || !strings.Contains(r.Text, "budget") {
		t.Fatalf("subscribe: %+v", r)
	}
	r = slackCommand(t, e, e.srv, "C0BUDGET", "U0MEMBER", "history")
	if !strings.Contains(r.Text, "No alerts") {
		t.Fatalf("history before any alert: %q", r.Text)
	}

	// The 2h reminders of both events come due.
	e.clk.Advance(time.Hour + time.Minute)
	e2ePoll(t, e.ctx, "the budget reminder in C0BUDGET", func() bool {
		return len(slackPostsTo(e.fake, "C0BUDGET", e2eBudgetTitle)) > 0
	})
	// Two more checks run; neither may post it again.
	e.srv.waitChecks(t, e.ctx, 2)
	posts := slackPostsTo(e.fake, "C0BUDGET", "")
	if len(posts) != 1 {
		t.Fatalf("C0BUDGET got %d posts, want 1 (the budget reminder): %+v", len(posts), posts)
	}
	p := posts[0]
	if slackPostTitle(p) != e2eBudgetTitle || p.Token != e2eSlackToken || p.TS == "" || len(p.Blocks) == 0 {
		t.Errorf("post: title %q token ok %v ts %q blocks %d bytes", slackPostTitle(p), p.Token == e2eSlackToken, p.TS, len(p.Blocks))
	}

	r = slackCommand(t, e, e.srv, "C0BUDGET", "U0MEMBER", "history")
	if !strings.Contains(r.Text, e2eBudgetTitle+" — sent") || strings.Contains(r.Text, e2eSummitTitle) {
		t.Errorf("history after the alert:\n%s", r.Text)
	}

	e.srv.stop(t)
	db, err := store.Open(context.Background(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	items, err := db.ChannelHistory(context.Background(), "slack:C0BUDGET", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Delivery.State != bot.DeliverySent || items[0].Delivery.MessageID != p.TS {
		t.Fatalf("stored history %+v, want one sent delivery with message id %q", items, p.TS)
	}
}

// slackMuteButton returns the value of the "Mute 1 day" button in a
// post's blocks.
func slackMuteButton(t *testing.T, p slacktest.Post) string {
	t.Helper()
	var blocks []struct {
		Type     string `json:"type"`
		Elements []struct {
			Type  string `json:"type"`
			Value string `json:"value"`
			// A button's text is an object; other elements' is a string.
			Text json.RawMessage `json:"text"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(p.Blocks, &blocks); err != nil {
		t.Fatalf("blocks: %v", err)
	}
	for _, b := range blocks {
		if b.Type != "actions" {
			continue
		}
		for _, el := range b.Elements {
			var label struct {
				Text string `json:"text"`
			}
			if el.Type == "button" && json.Unmarshal(el.Text, &label) == nil && label.Text == "Mute 1 day" {
				return el.Value
			}
		}
	}
	t.Fatalf("no Mute 1 day button in %s", p.Blocks)
	return ""
}

// TestSlackMuteButton presses the alert's Mute 1 day button; the mute is
// stored and the event's next reminder skips that channel while a control
// channel subscribed the same way still gets it.
func TestSlackMuteButton(t *testing.T) {
	e := newSlackE2E(t)
	for _, ch := range []string{"C0BUDGET", "C0CONTROL"} {
		if r := slackCommand(t, e, e.srv, ch, "U0MEMBER", "subscribe #budget"); r.ResponseType != "in_channel" {
			t.Fatalf("subscribe in %s: %+v", ch, r)
		}
	}
	e.clk.Advance(time.Hour + time.Minute) // the 2h reminder
	e2ePoll(t, e.ctx, "the first reminder in both channels", func() bool {
		return len(slackPostsTo(e.fake, "C0BUDGET", e2eBudgetTitle)) == 1 && len(slackPostsTo(e.fake, "C0CONTROL", e2eBudgetTitle)) == 1
	})
	value := slackMuteButton(t, slackPostsTo(e.fake, "C0BUDGET", e2eBudgetTitle)[0])
	if !strings.Contains(value, "event:budget-vote") {
		t.Fatalf("mute button value %q does not name the event", value)
	}

	payload, err := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": "U0MEMBER", "username": "member"},
		"api_app_id": "A0APP", "trigger_id": "1.2.3",
		"container":    map[string]any{"type": "message", "message_ts": slackPostsTo(e.fake, "C0BUDGET", "")[0].TS, "channel_id": "C0BUDGET"},
		"channel":      map[string]any{"id": "C0BUDGET", "name": "budget"},
		"response_url": e.fake.ResponseURL("mute"),
		"actions": []map[string]any{{"action_id": "alertbot_button_0", "block_id": "alertbot_actions_0", "type": "button",
			"value": value, "text": map[string]any{"type": "plain_text", "text": "Mute 1 day"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(url.Values{"payload": {string(payload)}}.Encode())
	status, data := e.srv.post(t, e.ctx, "/slack/interactions", "application/x-www-form-urlencoded", body,
		slackHeader(e2eSlackSecret, e.clk.Now(), body))
	if status != http.StatusOK {
		t.Fatalf("interaction: status %d: %s", status, data)
	}
	resps, err := e.fake.WaitResponses(e.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if resps[0].ID != "mute" || !strings.Contains(resps[0].Text, "Muted") || resps[0].ReplaceOriginal == nil || *resps[0].ReplaceOriginal {
		t.Fatalf("button reply at response_url: %+v", resps[0])
	}
	r := slackCommand(t, e, e.srv, "C0BUDGET", "U0MEMBER", "subscriptions")
	if !strings.Contains(r.Text, "Muted: event:budget-vote") {
		t.Fatalf("subscriptions after the button:\n%s", r.Text)
	}

	e.clk.Advance(time.Hour) // the 1h reminder
	e2ePoll(t, e.ctx, "the second reminder in the control channel", func() bool {
		return len(slackPostsTo(e.fake, "C0CONTROL", e2eBudgetTitle)) == 2
	})
	e.srv.waitChecks(t, e.ctx, 2)
	if got := slackPostsTo(e.fake, "C0BUDGET", ""); len(got) != 1 {
		t.Errorf("muted channel got %d posts, want only the one before the mute", len(got))
	}
	r = slackCommand(t, e, e.srv, "C0BUDGET", "U0MEMBER", "history")
	if n := strings.Count(r.Text, e2eBudgetTitle); n != 1 {
		t.Errorf("muted channel's history lists %d budget alerts, want 1:\n%s", n, r.Text)
	}
}

// TestSlackCrashWhilePosting kills a posting alertbot with SIGKILL and
// restarts it on the same database: every alert arrives exactly once. The
// sends in flight at the kill are looked up in the channels' history
// (message metadata) before any resend, since Slack has no idempotency
// key. TestKillNineSlack does the same over 1,000 alerts and many kills.
func TestSlackCrashWhilePosting(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), e2eBound)
	defer cancel()
	dir := t.TempDir()
	fake := slacktest.NewServer()
	fake.Token = e2eSlackToken
	defer fake.Close()

	const channels, perChannel = 4, 5
	due := time.Now().Add(30 * time.Minute).UTC().Format("2006-01-02T15:04:05Z")
	var cfg strings.Builder
	cfg.WriteString("timezone: Asia/Tokyo\nevents:\n")
	want := map[string]string{} // title → channel
	for i := 0; i < channels*perChannel; i++ {
		ch := fmt.Sprintf("C0CRASH%d", i%channels)
		title := fmt.Sprintf("Crash test event %02d", i)
		want[title] = ch
		fmt.Fprintf(&cfg, "  - id: crash-%02d\n    title: %s\n    due: %s\n    lead_times: [1h]\n    tags: [c%d]\n", i, title, due, i%channels)
	}
	cfg.WriteString("watchers:\n  - id: deadlines\n    kind: countdown\n    schedule: \"@every 1s\"\nsubscriptions:\n")
	for c := 0; c < channels; c++ {
		fmt.Fprintf(&cfg, "  - channel: slack:C0CRASH%d\n    to: [tag:c%d]\n", c, c)
	}
	cfgPath := filepath.Join(dir, "crash.yaml")
	writeFile(t, cfgPath, cfg.String())
	db := filepath.Join(dir, "a.db")
	env := []string{"SLACK_BOT_TOKEN=" + e2eSlackToken, "SLACK_API_URL=" + fake.URL}
	args := []string{"--config", cfgPath, "--db", db, "--http", "127.0.0.1:0"}

	p := startProc(t, env, args...)
	if _, err := fake.WaitPosts(ctx, 1); err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, p.stderr())
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := p.wait(t)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("first run ended with %v, want SIGKILL\nstderr:\n%s", err, p.stderr())
	}
	before := len(fake.Posts())
	if before >= len(want) {
		t.Fatalf("all %d alerts were posted before the kill; the limiter should have spread them over seconds", before)
	}
	t.Logf("killed after %d of %d posts", before, len(want))

	p2 := startProc(t, env, args...)
	seen := func() map[string]int {
		n := map[string]int{}
		for _, post := range fake.Posts() {
			n[post.Channel+"|"+slackPostTitle(post)]++
		}
		return n
	}
	e2ePoll(t, ctx, "every alert after the restart", func() bool {
		n := seen()
		for title, ch := range want {
			if n[ch+"|"+title] == 0 {
				return false
			}
		}
		return true
	})
	if err := p2.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := p2.wait(t); err != nil {
		t.Fatalf("second run: %v\nstderr:\n%s", err, p2.stderr())
	}

	dups := 0
	perChan := map[string]int{}
	var keys []string
	for k, n := range seen() {
		keys = append(keys, k)
		ch, title, _ := strings.Cut(k, "|")
		if want[title] != ch {
			t.Errorf("unexpected post %q in %s", title, ch)
		}
		if n > 1 {
			dups += n - 1
			perChan[ch] += n - 1
		}
	}
	sort.Strings(keys)
	t.Logf("%d posts for %d alerts: %d duplicates after one kill (per channel: %v)", len(fake.Posts()), len(want), dups, perChan)
	if dups > 0 {
		t.Errorf("%d duplicates from one kill; want none", dups)
	}
	if len(keys) != len(want) {
		t.Errorf("posted %d distinct alerts, want %d: %v", len(keys), len(want), keys)
	}
}
