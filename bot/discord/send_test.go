package discord

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/sharedtest"
)

func alertMessage() bot.Message {
	return bot.Message{
		Kind:     watchers.KindReminder,
		Severity: watchers.Notice,
		Title:    "House of Councillors (Upper House) election",
		Text:     "In 7 days.",
		Fields: []watchers.Field{
			{Name: "Due", Value: "2025-07-20", Time: time.Date(2025, 7, 20, 0, 0, 0, 0, time.FixedZone("JST", 9*3600))},
			{Name: "Status", Value: "scheduled (day)"},
		},
		Link:    "https://www.soumu.go.jp/senkyo/",
		Tags:    []string{"japan", "election"},
		Footer:  "deadlines · reminder",
		Buttons: []bot.Button{{Label: "Mute 1 day", Command: "mute event:upper-house-election-2025 1d"}},
		Event:   "upper-house-election-2025",
	}
}

func sendErr(t *testing.T, err error) *bot.SendError {
	t.Helper()
	var se *bot.SendError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *bot.SendError", err, err)
	}
	return se
}

func TestSend(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxTimeout(t)
	out := bot.Outgoing{DeliveryID: 42, Channel: "80351110224678912", Message: alertMessage()}
	id, err := e.adapter.Send(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	msgs := e.fake.Messages(out.Channel)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if id == "" || id != m.ID {
		t.Errorf("Send returned id %q, the fake stored %q", id, m.ID)
	}
	if want := bot.Nonce(out.DeliveryID); m.Nonce != want || len(m.Nonce) == 0 || len(m.Nonce) > 25 || !m.EnforceNonce {
		t.Errorf("nonce %q enforce %v, want %q enforced", m.Nonce, m.EnforceNonce, want)
	}
	if m.AllowedMentions == nil || m.AllowedMentions.Parse == nil || len(m.AllowedMentions.Parse) != 0 {
		t.Errorf("allowed_mentions %s, want parse: []", m.Raw)
	}
	if !strings.Contains(string(m.Raw), `"allowed_mentions":{"parse":[]`) {
		t.Errorf("body %s lacks an explicit empty parse list", m.Raw)
	}
	if len(m.Embeds) != 1 {
		t.Fatalf("%d embeds, want 1", len(m.Embeds))
	}
	em := m.Embeds[0]
	if em.Title != out.Message.Title || em.URL != out.Message.Link || em.Timestamp != "2025-07-13T00:00:00Z" {
		t.Errorf("embed title %q url %q timestamp %q", em.Title, em.URL, em.Timestamp)
	}
	if em.Fields[0].Value != "<t:1752937200:F> (<t:1752937200:R>)" {
		t.Errorf("due field %q", em.Fields[0].Value)
	}
	if len(m.Components) != 1 || len(m.Components[0].Components) != 1 ||
		m.Components[0].Components[0].CustomID != "d42:mute event:upper-house-election-2025 1d" ||
		m.Components[0].Components[0].Label != "Mute 1 day" {
		t.Errorf("components %+v", m.Components)
	}
	reqs := e.fake.Requests()
	if len(reqs) != 1 || reqs[0].Auth != "Bot test-token" || reqs[0].Path != "/api/v9/channels/80351110224678912/messages" {
		t.Errorf("requests %+v", reqs)
	}
}

// TestSendIdempotent: the fake stores the message but the response is
// lost; the retry carries the same nonce and no second message appears.
func TestSendIdempotent(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxTimeout(t)
	out := bot.Outgoing{DeliveryID: 7, Channel: "555", Message: alertMessage()}
	e.fake.DropNextResponse()
	_, err := e.adapter.Send(ctx, out)
	if err == nil {
		t.Fatal("Send succeeded though the response was dropped")
	}
	if se := sendErr(t, err); !se.Retry {
		t.Fatalf("lost response gave a permanent error: %v", err)
	}
	if n := len(e.fake.Messages("555")); n != 1 {
		t.Fatalf("the fake holds %d messages after the dropped response, want 1", n)
	}
	id, err := e.adapter.Send(ctx, out)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	msgs := e.fake.Messages("555")
	if len(msgs) != 1 {
		t.Fatalf("channel holds %d messages after the retry, want 1", len(msgs))
	}
	if id != msgs[0].ID {
		t.Errorf("retry returned %q, want the first message %q", id, msgs[0].ID)
	}
	var nonces []string
	for _, r := range e.fake.Requests() {
		var b struct {
			Nonce        string `json:"nonce"`
			EnforceNonce bool   `json:"enforce_nonce"`
		}
		if err := json.Unmarshal(r.Body, &b); err != nil {
			t.Fatal(err)
		}
		if !b.EnforceNonce {
			t.Errorf("request without enforce_nonce: %s", r.Body)
		}
		nonces = append(nonces, b.Nonce)
	}
	if len(nonces) != 2 || nonces[0] != nonces[1] || nonces[0] == "" {
		t.Errorf("nonces %q, want two equal ones", nonces)
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name      string
		fail      func(e *env)
		wantRetry bool
		minAfter  time.Duration
		wantText  string
	}{
		{"429 retry_after 1.5", func(e *env) { e.fake.RateLimitNext(1.5, false) }, true, 1500 * time.Millisecond, "rate limited"},
		{"global 429", func(e *env) { e.fake.RateLimitNext(2, true) }, true, 2 * time.Second, "rate limited"},
		{"403 missing access", func(e *env) { e.fake.FailNext(http.StatusForbidden) }, false, 0, "Missing Access (code 50001)"},
		{"404 unknown channel", func(e *env) { e.fake.FailNext(http.StatusNotFound) }, false, 0, "Unknown Channel (code 10003)"},
		{"401 bad token", func(e *env) { e.fake.FailNext(http.StatusUnauthorized) }, false, 0, "HTTP 401"},
		{"400 other client error", func(e *env) { e.fake.FailNext(http.StatusBadRequest) }, false, 0, "HTTP 400"},
		{"500", func(e *env) { e.fake.FailNext(http.StatusInternalServerError) }, true, 0, "HTTP 500"},
		{"502", func(e *env) { e.fake.FailNext(http.StatusBadGateway) }, true, 0, "502"},
		{"503", func(e *env) { e.fake.FailNext(http.StatusServiceUnavailable) }, true, 0, "HTTP 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			tt.fail(e)
			_, err := e.adapter.Send(ctxTimeout(t), bot.Outgoing{DeliveryID: 1, Channel: "9", Message: alertMessage()})
			if err == nil {
				t.Fatal("Send succeeded")
			}
			se := sendErr(t, err)
			if se.Retry != tt.wantRetry {
				t.Errorf("Retry = %v, want %v (%v)", se.Retry, tt.wantRetry, err)
			}
			if se.RetryAfter < tt.minAfter {
				t.Errorf("RetryAfter = %v, want ≥ %v", se.RetryAfter, tt.minAfter)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not mention %q", err, tt.wantText)
			}
			if strings.Contains(err.Error(), "test-token") {
				t.Errorf("error leaks the token: %v", err)
			}
			if n := len(e.fake.Requests()); n != 1 {
				t.Errorf("the fake saw %d requests, want exactly 1 (no retries inside Send)", n)
			}
			if n := len(e.fake.Messages("9")); n != 0 {
				t.Errorf("%d messages stored by a failed send", n)
			}
		})
	}
}

// TestSendBucketExhausted: after a response saying the bucket is empty for
// a minute, the next Send does not hit Discord but asks to come back later.
func TestSendBucketExhausted(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxTimeout(t)
	e.fake.SetRateLimitHeaders(0, 60)
	out := bot.Outgoing{DeliveryID: 1, Channel: "77", Message: alertMessage()}
	if _, err := e.adapter.Send(ctx, out); err != nil {
		t.Fatal(err)
	}
	out.DeliveryID = 2
	_, err := e.adapter.Send(ctx, out)
	se := sendErr(t, err)
	if !se.Retry || se.RetryAfter < 55*time.Second {
		t.Fatalf("second send: %v (retry %v after %v), want transient with ~60s", err, se.Retry, se.RetryAfter)
	}
	if n := len(e.fake.Requests()); n != 1 {
		t.Fatalf("the fake saw %d requests, want 1", n)
	}
	// Another channel has its own bucket.
	out.Channel = "78"
	if _, err := e.adapter.Send(ctx, out); err != nil {
		t.Fatalf("other channel: %v", err)
	}
}

// TestSendGlobal429Blocks: a global 429 holds every route.
func TestSendGlobal429Blocks(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxTimeout(t)
	e.fake.RateLimitNext(30, true)
	if _, err := e.adapter.Send(ctx, bot.Outgoing{DeliveryID: 1, Channel: "1", Message: alertMessage()}); err == nil {
		t.Fatal("want the 429")
	}
	_, err := e.adapter.Send(ctx, bot.Outgoing{DeliveryID: 2, Channel: "2", Message: alertMessage()})
	if se := sendErr(t, err); !se.Retry || se.RetryAfter < 25*time.Second {
		t.Fatalf("send to another channel during a global limit: %v", err)
	}
	if n := len(e.fake.Requests()); n != 1 {
		t.Fatalf("the fake saw %d requests, want 1", n)
	}
}

func TestSendBadChannel(t *testing.T) {
	e := newEnv(t, nil)
	for _, ch := range []string{"", "12/../../users/@me", "a?b", strings.Repeat("1", 65)} {
		_, err := e.adapter.Send(ctxTimeout(t), bot.Outgoing{DeliveryID: 1, Channel: ch, Message: alertMessage()})
		if se := sendErr(t, err); se.Retry {
			t.Errorf("channel %q: %v is transient, want permanent", ch, err)
		}
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Fatalf("bad channels reached the fake %d times", n)
	}
}

func TestSendLogsCuts(t *testing.T) {
	var buf bytes.Buffer
	e := newEnv(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&buf, nil)) })
	msg := alertMessage()
	msg.Title = strings.Repeat("x", MaxEmbedTitle+10)
	if _, err := e.adapter.Send(ctxTimeout(t), bot.Outgoing{DeliveryID: 42, Channel: "9", Message: msg}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"part=title", "limit=256", "runes=266", "kept=256", "delivery=42", "platform=discord"} {
		if !strings.Contains(out, want) {
			t.Errorf("cut not logged with %s: %s", want, out)
		}
	}
}

func TestNonce(t *testing.T) {
	nonceOf := func(out bot.Outgoing) string {
		t.Helper()
		n, err := nonce(out)
		if err != nil {
			t.Fatalf("nonce(%+v): %v", out, err)
		}
		return n
	}
	a := nonceOf(bot.Outgoing{DeliveryID: 1})
	b := nonceOf(bot.Outgoing{DeliveryID: 2})
	if a == b || a != nonceOf(bot.Outgoing{DeliveryID: 1}) {
		t.Errorf("nonces %q %q: want stable and distinct", a, b)
	}
	if a != bot.Nonce(1) {
		t.Errorf("nonce of delivery 1 is %q, want bot.Nonce(1) = %q", a, bot.Nonce(1))
	}
	for _, n := range []string{a, b, nonceOf(bot.Outgoing{DeliveryID: 1<<63 - 1})} {
		if len(n) == 0 || len(n) > maxNonce {
			t.Errorf("nonce %q has %d characters", n, len(n))
		}
	}
	if got := nonceOf(bot.Outgoing{DeliveryID: 1, Nonce: "d-1"}); got != "d-1" {
		t.Errorf("explicit nonce became %q", got)
	}
	if got := nonceOf(bot.Outgoing{}); got != "" {
		t.Errorf("nonce without delivery %q", got)
	}
	// Discord refuses a nonce over 25 characters; so does the adapter,
	// before sending anything.
	if n, err := nonce(bot.Outgoing{Nonce: strings.Repeat("x", 40)}); err == nil {
		t.Errorf("40-character nonce accepted as %q", n)
	}
	e := newEnv(t, nil)
	_, err := e.adapter.Send(ctxTimeout(t), bot.Outgoing{DeliveryID: 1, Channel: "9", Message: alertMessage(), Nonce: strings.Repeat("x", 40)})
	if se := sendErr(t, err); se.Retry {
		t.Errorf("long nonce: %v is transient, want permanent", err)
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("a long nonce reached the fake %d times", n)
	}
}

func TestRegister(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxTimeout(t)
	if err := e.adapter.Register(ctx, "300"); err != nil {
		t.Fatal(err)
	}
	if err := e.adapter.Register(ctx, ""); err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(Commands(testSpecs))
	if err != nil {
		t.Fatal(err)
	}
	for _, guild := range []string{"300", ""} {
		got := e.fake.Commands(guild)
		if len(got) != 2 {
			t.Fatalf("guild %q: %d commands registered", guild, len(got))
		}
		for _, c := range got {
			c.ID, c.ApplicationID, c.GuildID, c.Version = "", "", "", ""
		}
		gotJSON, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), string(gotJSON)); diff != "" {
			t.Errorf("guild %q registration (-want +got):\n%s", guild, diff)
		}
	}
	var paths []string
	for _, r := range e.fake.Requests() {
		paths = append(paths, r.Method+" "+r.Path)
	}
	wantPaths := []string{"PUT /api/v9/applications/1000/guilds/300/commands", "PUT /api/v9/applications/1000/commands"}
	if diff := cmp.Diff(wantPaths, paths); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}

	noApp := newEnv(t, func(c *Config) { c.AppID = "" })
	if err := noApp.adapter.Register(ctx, ""); err == nil || !strings.Contains(err.Error(), "DISCORD_APP_ID") {
		t.Errorf("Register without app id: %v", err)
	}
	e.fake.FailNext(http.StatusForbidden)
	if err := e.adapter.Register(ctx, "300"); err == nil {
		t.Error("Register ignored a 403")
	}
}

func TestNewChecksConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no token", Config{}, "bot token is empty"},
		{"bad public key", Config{BotToken: "t", PublicKey: "zz"}, "not hex"},
		{"short public key", Config{BotToken: "t", PublicKey: "abcd"}, "2 bytes"},
		{"bad api url", Config{BotToken: "t", APIURL: "ftp://x"}, "api url"},
		{"bad gateway url", Config{BotToken: "t", Gateway: true, GatewayURL: "http://x"}, "gateway url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an error about %q", err, tt.want)
			}
		})
	}
	a, err := New(Config{BotToken: "Bot secret"})
	if err != nil {
		t.Fatal(err)
	}
	if a.session.Token != "Bot secret" || a.Name() != "discord" || a.session.ShouldRetryOnRateLimit {
		t.Errorf("session token %q name %q retry %v", a.session.Token, a.Name(), a.session.ShouldRetryOnRateLimit)
	}
	if a.session.Identify.Intents != discordgo.IntentsGuilds {
		t.Errorf("intents %v, want guilds only", a.session.Identify.Intents)
	}
}

// TestSecretsNotLogged runs sends, failures, interactions and a follow-up
// with debug logging and checks that neither the bot token nor an
// interaction token appears in the log or in errors.
func TestSecretsNotLogged(t *testing.T) {
	var buf sharedtest.Buffer
	e := newEnv(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ctx := ctxTimeout(t)
	var errs []string
	for _, fail := range []int{0, http.StatusForbidden, http.StatusInternalServerError, http.StatusTooManyRequests} {
		if fail != 0 {
			e.fake.FailNext(fail)
		}
		if _, err := e.adapter.Send(ctx, bot.Outgoing{DeliveryID: int64(fail + 1), Channel: "3", Message: alertMessage()}); err != nil {
			errs = append(errs, err.Error())
		}
	}
	e.fake.DropNextResponse()
	// Another channel: channel 3's bucket is held by the 429 above.
	if _, err := e.adapter.Send(ctx, bot.Outgoing{DeliveryID: 99, Channel: "4", Message: alertMessage()}); err != nil {
		errs = append(errs, err.Error())
	}
	// A deferred answer whose follow-up fails.
	e.fake.FailNext(http.StatusNotFound)
	e.signedPost(t, commandBody(t, 2, "alerts-admin", "watcher-run", strOpt("id", "x")))
	e.adapter.bg.Drain(e.adapter.log, shutdownWait)
	e.post(t, []byte(`{"type":1}`), nil) // unsigned: logs a refusal
	if len(errs) != 4 {
		t.Fatalf("%d errors, want 4: %q", len(errs), errs)
	}
	all := buf.String() + strings.Join(errs, "\n")
	if !strings.Contains(buf.String(), "deferred answer failed") || !strings.Contains(buf.String(), "interaction refused") {
		t.Fatalf("expected log lines missing:\n%s", buf.String())
	}
	for _, secret := range []string{"test-token", "itoken-watcher-run"} {
		if strings.Contains(all, secret) {
			t.Errorf("%q appears in the log or errors:\n%s", secret, all)
		}
	}
}
