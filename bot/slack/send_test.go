package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/slack/slacktest"
	"github.com/policyteam/alertbot/watchers/sharedtest"
)

const testToken = "xoxb-1234-secret-token"

func newSendAdapter(t *testing.T, fake *slacktest.Server, lim rate.Limit, burst int) (*Adapter, *sharedtest.Buffer) {
	t.Helper()
	log, buf := testLogger()
	a, err := New(Config{BotToken: testToken, APIURL: strings.TrimSuffix(fake.URL, "/"), Logger: log, ChannelRate: lim, ChannelBurst: burst})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if strings.Contains(buf.String(), testToken) {
			t.Error("the bot token was logged")
		}
	})
	return a, buf
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSendPostsBlocks(t *testing.T) {
	fake := slacktest.NewServer()
	defer fake.Close()
	fake.Token = testToken
	a, _ := newSendAdapter(t, fake, NoLimit, 0)
	msg := goldenMessages()["reminder"]
	ts, err := a.Send(testCtx(t), bot.Outgoing{DeliveryID: 7, Channel: "C0123ABCD", Message: msg})
	if err != nil {
		t.Fatal(err)
	}
	posts := fake.Posts()
	if len(posts) != 1 {
		t.Fatalf("%d posts, want 1", len(posts))
	}
	p := posts[0]
	if ts == "" || p.TS != ts {
		t.Errorf("Send returned ts %q, the fake answered %q", ts, p.TS)
	}
	if p.Token != testToken || p.Channel != "C0123ABCD" {
		t.Errorf("token %q channel %q", p.Token, p.Channel)
	}
	blocks, fallback := Render(msg)
	if p.Text != fallback {
		t.Errorf("text %q, want fallback %q", p.Text, fallback)
	}
	want, _ := json.Marshal(blocks)
	var gotV, wantV any
	_ = json.Unmarshal(p.Blocks, &gotV)
	_ = json.Unmarshal(want, &wantV)
	if fmt.Sprint(gotV) != fmt.Sprint(wantV) {
		t.Errorf("blocks posted differ from Render:\n got %s\nwant %s", p.Blocks, want)
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name      string
		fail      slacktest.Failure
		retry     bool
		minAfter  time.Duration
		wantInErr string
	}{
		{"429 with Retry-After", slacktest.RateLimited(2), true, 2 * time.Second, "rate limit"},
		{"429 without Retry-After", slacktest.TooManyRequests, true, 0, "429"},
		{"500", slacktest.InternalError, true, 0, "500"},
		{"channel_not_found", slacktest.ChannelNotFound, false, 0, "channel_not_found"},
		{"not_in_channel", slacktest.SlackError("not_in_channel"), false, 0, "not_in_channel"},
		{"is_archived", slacktest.SlackError("is_archived"), false, 0, "is_archived"},
		{"invalid_auth", slacktest.SlackError("invalid_auth"), false, 0, "invalid_auth"},
		{"account_inactive", slacktest.SlackError("account_inactive"), false, 0, "account_inactive"},
		{"msg_too_long", slacktest.SlackError("msg_too_long"), false, 0, "msg_too_long"},
		{"token_revoked", slacktest.SlackError("token_revoked"), false, 0, "token_revoked"},
		{"other ok:false", slacktest.SlackError("internal_error"), true, 0, "internal_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := slacktest.NewServer()
			defer fake.Close()
			a, _ := newSendAdapter(t, fake, NoLimit, 0)
			fake.FailNext(tt.fail)
			ts, err := a.Send(testCtx(t), bot.Outgoing{Channel: "C1", Message: bot.Message{Title: "t"}})
			var se *bot.SendError
			if !errors.As(err, &se) {
				t.Fatalf("err %v (%T), want *bot.SendError", err, err)
			}
			if ts != "" {
				t.Errorf("ts %q on failure", ts)
			}
			if se.Retry != tt.retry {
				t.Errorf("Retry = %v, want %v (%v)", se.Retry, tt.retry, err)
			}
			if se.RetryAfter < tt.minAfter {
				t.Errorf("RetryAfter = %v, want ≥ %v", se.RetryAfter, tt.minAfter)
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("error %q does not mention %q", err, tt.wantInErr)
			}
			if n := len(fake.Attempts()); n != 1 {
				t.Errorf("fake saw %d requests, want exactly 1", n)
			}
		})
	}
}

func TestSendRetryAfterPausesChannel(t *testing.T) {
	fake := slacktest.NewServer()
	defer fake.Close()
	a, _ := newSendAdapter(t, fake, NoLimit, 0)
	fake.FailNext(slacktest.RateLimited(2))
	if _, err := a.Send(testCtx(t), bot.Outgoing{Channel: "C1", Message: bot.Message{Title: "t"}}); err == nil {
		t.Fatal("429 not reported")
	}
	// Within the 2 s Slack asked for, the channel is left alone: a send
	// with a shorter deadline fails at once without a request.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := a.Send(ctx, bot.Outgoing{Channel: "C1", Message: bot.Message{Title: "t"}})
	var se *bot.SendError
	if !errors.As(err, &se) || !se.Retry {
		t.Fatalf("err %v, want a transient SendError", err)
	}
	if n := len(fake.Attempts()); n != 1 {
		t.Errorf("fake saw %d requests during the pause, want 1", n)
	}
	// Other channels are not held up.
	if _, err := a.Send(ctx, bot.Outgoing{Channel: "C2", Message: bot.Message{Title: "t"}}); err != nil {
		t.Errorf("other channel: %v", err)
	}
}

func TestSendConnectionRefused(t *testing.T) {
	fake := slacktest.NewServer()
	a, _ := newSendAdapter(t, fake, NoLimit, 0)
	fake.Close()
	_, err := a.Send(testCtx(t), bot.Outgoing{Channel: "C1", Message: bot.Message{Title: "t"}})
	var se *bot.SendError
	if !errors.As(err, &se) || !se.Retry {
		t.Fatalf("err %v, want a transient SendError", err)
	}
	_, err = a.Send(testCtx(t), bot.Outgoing{Channel: "", Message: bot.Message{Title: "t"}})
	if !errors.As(err, &se) || se.Retry {
		t.Fatalf("empty channel: err %v, want a permanent SendError", err)
	}
}

func TestSendBadChannel(t *testing.T) {
	fake := slacktest.NewServer()
	defer fake.Close()
	a, _ := newSendAdapter(t, fake, NoLimit, 0)
	for _, ch := range []string{"", "general", "C1&text=x", "C1:x", strings.Repeat("C", 33)} {
		_, err := a.Send(testCtx(t), bot.Outgoing{Channel: ch, Message: bot.Message{Title: "t"}})
		var se *bot.SendError
		if !errors.As(err, &se) || se.Retry {
			t.Errorf("channel %q: err %v, want a permanent SendError", ch, err)
		}
	}
	if n := len(fake.Attempts()); n != 0 {
		t.Errorf("bad channels reached the fake %d times", n)
	}
}

// TestLimiterMath drives the limiter with a virtual clock: the sleeps it
// asks for are exactly the token-bucket schedule.
func TestLimiterMath(t *testing.T) {
	fake := slacktest.NewServer()
	defer fake.Close()
	a, _ := newSendAdapter(t, fake, 1, 3)
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	var sleeps []time.Duration
	a.clock = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		sleeps = append(sleeps, d)
		now = now.Add(d)
		return nil
	}
	for i := range 8 {
		if _, err := a.Send(testCtx(t), bot.Outgoing{Channel: "C1", Message: bot.Message{Title: fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	// Burst 3 goes at once; then one per second.
	want := []time.Duration{time.Second, time.Second, time.Second, time.Second, time.Second}
	if fmt.Sprint(sleeps) != fmt.Sprint(want) {
		t.Errorf("sleeps %v, want %v", sleeps, want)
	}
	// A second channel has its own bucket.
	sleeps = nil
	if _, err := a.Send(testCtx(t), bot.Outgoing{Channel: "C2", Message: bot.Message{Title: "x"}}); err != nil {
		t.Fatal(err)
	}
	if len(sleeps) != 0 {
		t.Errorf("first message to C2 waited %v", sleeps)
	}
	// A 429 with Retry-After pauses the channel for that long first.
	fake.FailNext(slacktest.RateLimited(2))
	if _, err := a.Send(testCtx(t), bot.Outgoing{Channel: "C2", Message: bot.Message{Title: "y"}}); err == nil {
		t.Fatal("429 not reported")
	}
	sleeps = nil
	if _, err := a.Send(testCtx(t), bot.Outgoing{Channel: "C2", Message: bot.Message{Title: "z"}}); err != nil {
		t.Fatal(err)
	}
	if len(sleeps) == 0 || sleeps[0] != 2*time.Second {
		t.Errorf("after Retry-After: 2, sleeps %v, want 2s first", sleeps)
	}
	if n := len(fake.Posts()); n != 10 {
		t.Errorf("%d posts, want 10", n)
	}
}

// TestLimiterRealTime sends 30 messages at once to one channel through a
// 20/s limiter: every one arrives exactly once, and they took at least
// the 29 intervals the limiter allows.
func TestLimiterRealTime(t *testing.T) {
	fake := slacktest.NewServer()
	defer fake.Close()
	a, _ := newSendAdapter(t, fake, 20, 1)
	const n = 30
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := a.Send(testCtx(t), bot.Outgoing{DeliveryID: int64(i), Channel: "C1", Message: bot.Message{Title: fmt.Sprintf("alert %d", i)}})
			errs <- err
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	seen := map[string]int{}
	for _, p := range fake.Posts() {
		seen[p.Text]++
	}
	for i := range n {
		if c := seen[fmt.Sprintf("alert %d", i)]; c != 1 {
			t.Errorf("alert %d posted %d times", i, c)
		}
	}
	if min := time.Duration(n-1) * time.Second / 20; elapsed < min-10*time.Millisecond {
		t.Errorf("%d sends took %v, the limiter allows no less than %v", n, elapsed, min)
	}
}

func TestSendContextCancelledWhileWaiting(t *testing.T) {
	fake := slacktest.NewServer()
	defer fake.Close()
	a, _ := newSendAdapter(t, fake, 0.01, 1) // one message per 100 s
	if _, err := a.Send(testCtx(t), bot.Outgoing{Channel: "C1", Message: bot.Message{Title: "a"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := a.Send(ctx, bot.Outgoing{Channel: "C1", Message: bot.Message{Title: "b"}})
	var se *bot.SendError
	if !errors.As(err, &se) || !se.Retry {
		t.Fatalf("err %v, want transient", err)
	}
	if n := len(fake.Attempts()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestSendLogsCuts(t *testing.T) {
	fake := slacktest.NewServer()
	defer fake.Close()
	a, buf := newSendAdapter(t, fake, NoLimit, 0)
	if _, err := a.Send(testCtx(t), bot.Outgoing{DeliveryID: 42, Channel: "C1", Message: bot.Message{Title: strings.Repeat("x", 400)}}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "part=header") || !strings.Contains(out, "delivery_id=42") {
		t.Errorf("cut not logged: %s", out)
	}
}

func TestNewConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no token", Config{}, "bot token is required"},
		{"app token as bot token", Config{BotToken: "xapp-1"}, "app-level token"},
		{"bad app token", Config{BotToken: "xoxb-1", AppToken: "xoxb-2"}, "app-level token"},
		{"bad url", Config{BotToken: "xoxb-1", APIURL: "ftp://x"}, "API URL"},
		{"relative url", Config{BotToken: "xoxb-1", APIURL: "slack.com/api"}, "API URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want it to mention %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "xoxb-2") {
				t.Error("token in error")
			}
		})
	}
	a, err := New(Config{BotToken: "xoxb-1"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Name() != "slack" || a.apiURL != DefaultAPIURL || a.limit != DefaultChannelRate || a.burst != DefaultChannelBurst {
		t.Errorf("defaults: name %q url %q rate %v burst %d", a.Name(), a.apiURL, a.limit, a.burst)
	}
	a, _ = New(Config{BotToken: "xoxb-1", ChannelRate: rate.Inf, APIURL: "http://127.0.0.1:1/api"})
	if a.limit != 0 || a.apiURL != "http://127.0.0.1:1/api/" {
		t.Errorf("rate.Inf: limit %v; url %q", a.limit, a.apiURL)
	}
}
