package discord

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/discord/discordtest"
)

// claim is when the sends under resolution began, by both clocks.
var claim = time.Date(2025, 7, 13, 9, 0, 0, 0, time.UTC)

// resolveEnv is an env whose fake Discord dates messages from the claim.
func resolveEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	e := newEnv(t, mod)
	e.fake.SetNow(claim)
	return e
}

// lost sends out with the response dropped, so the message is posted but
// the outcome unknown, and returns the id the fake gave the message.
func (e *env) lost(t *testing.T, out bot.Outgoing) string {
	t.Helper()
	e.fake.DropNextResponse()
	if _, err := e.adapter.Send(ctxTimeout(t), out); err == nil {
		t.Fatal("Send succeeded though the response was dropped")
	}
	msgs := e.fake.Messages(out.Channel)
	if len(msgs) == 0 {
		t.Fatal("the dropped send stored no message")
	}
	return msgs[len(msgs)-1].ID
}

// chatter posts n messages by a person to ch.
func (e *env) chatter(ch string, n int) {
	for i := range n {
		e.fake.Post(ch, discordtest.Message{Content: "chat " + strconv.Itoa(i)})
	}
}

// pages returns the queries of the message listings the fake served.
func (e *env) pages(ch string) []url.Values {
	var out []url.Values
	for _, r := range e.fake.Requests() {
		if r.Method == http.MethodGet && r.Path == "/api/v9/channels/"+ch+"/messages" {
			q, _ := url.ParseQuery(r.Query)
			out = append(out, q)
		}
	}
	return out
}

func unconfirmed(ch string, after time.Duration, deliveries ...int64) bot.Unconfirmed {
	return bot.Unconfirmed{Channel: ch, Since: claim, Now: claim.Add(after), Deliveries: deliveries}
}

// wantSnowflake is the snowflake of t by Discord's formula, written out
// here apart from the adapter's.
func wantSnowflake(t time.Time) string {
	return strconv.FormatInt((t.UnixMilli()-1420070400000)<<22, 10)
}

func TestSnowflake(t *testing.T) {
	// Discord's own example: 175928847299117063 was made at 1462015105796 ms.
	if got, want := snowflake(time.UnixMilli(1462015105796)), uint64(175928847299117063)>>22<<22; got != want {
		t.Errorf("snowflake = %d, want %d", got, want)
	}
	if got := snowflake(time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC)); got != 0 {
		t.Errorf("snowflake before Discord's epoch = %d, want 0", got)
	}
}

// TestResolveWithinNonceWindow: inside two minutes a resend with the same
// nonce is safe, so nothing is asked of Discord.
func TestResolveWithinNonceWindow(t *testing.T) {
	e := resolveEnv(t, nil)
	const ch = "700"
	e.lost(t, bot.Outgoing{DeliveryID: 42, Channel: ch, Message: alertMessage()})
	before := len(e.fake.Requests())
	for _, after := range []time.Duration{0, time.Second, 2*time.Minute - time.Millisecond, -time.Minute} {
		got, err := e.adapter.Resolve(ctxTimeout(t), unconfirmed(ch, after, 42))
		if err != nil {
			t.Fatalf("%v after the claim: %v", after, err)
		}
		if got == nil || len(got) != 0 {
			t.Errorf("%v after the claim: %v, want an empty map", after, got)
		}
	}
	if n := len(e.fake.Requests()) - before; n != 0 {
		t.Errorf("%d requests inside the nonce window, want 0", n)
	}
	// From two minutes on, Discord is asked.
	got, err := e.adapter.Resolve(ctxTimeout(t), unconfirmed(ch, 2*time.Minute, 42))
	if err != nil || len(got) != 1 || len(e.fake.Requests()) == before {
		t.Fatalf("at two minutes: %v, %v after %d requests; want the delivery found by asking", got, err, len(e.fake.Requests())-before)
	}
	// Inside the window, the resend it allows returns the first message.
	id, err := e.adapter.Send(ctxTimeout(t), bot.Outgoing{DeliveryID: 42, Channel: ch, Message: alertMessage(), Nonce: bot.Nonce(42)})
	if err != nil {
		t.Fatal(err)
	}
	if msgs := e.fake.Messages(ch); len(msgs) != 1 || msgs[0].ID != id {
		t.Errorf("resend posted again: %d messages", len(msgs))
	}
}

func TestResolveFinds(t *testing.T) {
	e := resolveEnv(t, nil)
	ctx := ctxTimeout(t)
	const ch = "701"
	e.chatter(ch, 3)
	id42 := e.lost(t, bot.Outgoing{DeliveryID: 42, Channel: ch, Message: alertMessage(), Nonce: bot.Nonce(42)})
	e.chatter(ch, 2)
	e.fake.SetNow(claim.Add(40 * time.Second))
	id43 := e.lost(t, bot.Outgoing{DeliveryID: 43, Channel: ch, Message: alertMessage(), Nonce: bot.Nonce(43)})
	e.fake.SetNow(claim.Add(3 * time.Minute))
	e.chatter(ch, 1)

	got, err := e.adapter.Resolve(ctx, unconfirmed(ch, 3*time.Minute, 42, 43, 44))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[int64]string{42: id42, 43: id43}, got); diff != "" {
		t.Errorf("found (-want +got):\n%s", diff)
	}
	pages := e.pages(ch)
	if len(pages) != 1 {
		t.Fatalf("%d listings, want 1", len(pages))
	}
	if a, l := pages[0].Get("after"), pages[0].Get("limit"); a != wantSnowflake(claim.Add(-5*time.Second)) || l != "100" {
		t.Errorf("listing after=%s limit=%s, want after=%s (claim − 5 s) limit=100", a, l, wantSnowflake(claim.Add(-5*time.Second)))
	}

	// The bot's user is looked up once.
	if _, err := e.adapter.Resolve(ctx, unconfirmed(ch, 4*time.Minute, 44)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range e.fake.Requests() {
		if r.Path == "/api/v9/users/@me" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("GET /users/@me %d times, want 1", n)
	}
}

// TestResolvePages: deliveries deep in a busy channel are found by paging
// forward from the claim.
func TestResolvePages(t *testing.T) {
	e := resolveEnv(t, func(c *Config) { c.GlobalRate = NoLimit })
	const ch = "702"
	// Older messages, some of them the bot's, come before the window.
	e.fake.SetNow(claim.Add(-time.Hour))
	e.chatter(ch, 150)
	e.lost(t, bot.Outgoing{DeliveryID: 41, Channel: ch, Message: alertMessage()})
	e.fake.SetNow(claim)
	e.chatter(ch, 130)
	id42 := e.lost(t, bot.Outgoing{DeliveryID: 42, Channel: ch, Message: alertMessage()})
	e.chatter(ch, 120)
	id43 := e.lost(t, bot.Outgoing{DeliveryID: 43, Channel: ch, Message: alertMessage()})
	e.chatter(ch, 47) // 299 after the claim in all: the third page is short

	got, err := e.adapter.Resolve(ctxTimeout(t), unconfirmed(ch, 10*time.Minute, 41, 42, 43))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[int64]string{42: id42, 43: id43}, got); diff != "" {
		t.Errorf("found (-want +got):\n%s", diff)
	}
	pages := e.pages(ch)
	if len(pages) != 3 {
		t.Fatalf("%d listings, want 3", len(pages))
	}
	// Each page starts after the newest message of the one before.
	msgs := e.fake.Messages(ch)[151:]
	for i, want := range []string{wantSnowflake(claim.Add(-5 * time.Second)), msgs[99].ID, msgs[199].ID} {
		if a := pages[i].Get("after"); a != want {
			t.Errorf("page %d after=%s, want %s", i+1, a, want)
		}
	}
}

// TestResolveIgnores: only the bot's own alerts count, and only for the
// deliveries asked about.
func TestResolveIgnores(t *testing.T) {
	e := resolveEnv(t, nil)
	const ch = "703"
	e.fake.SetNow(claim.Add(-time.Minute))
	e.lost(t, bot.Outgoing{DeliveryID: 46, Channel: ch, Message: alertMessage()}) // before claim − 5 s
	e.fake.SetNow(claim)
	row := []discordtest.Row{{Type: 1, Components: []discordtest.Component{{Type: 2, Style: 2, Label: "Mute", CustomID: "d45:mute event:x 1d"}}}}
	footer := []*discordgo.MessageEmbed{{Title: "t", Footer: &discordgo.MessageEmbedFooter{Text: "deadlines · reminder · delivery 45"}}}
	e.fake.Post(ch, discordtest.Message{AuthorID: "1250000000000000999", AuthorBot: true, Components: row, Embeds: footer})
	e.fake.Post(ch, discordtest.Message{Content: "look:\n-# delivery 45"})
	// The bot's answers to interactions and webhook posts: not Send's.
	e.fake.Post(ch, discordtest.Message{AuthorID: discordtest.BotUserID, AuthorBot: true, Type: 20, Content: "ran\n-# delivery 45"})
	e.fake.Post(ch, discordtest.Message{AuthorID: discordtest.BotUserID, AuthorBot: true, WebhookID: "77", Components: row})
	// An alert an older version posted, with no delivery id.
	e.fake.Post(ch, discordtest.Message{AuthorID: discordtest.BotUserID, AuthorBot: true, Embeds: []*discordgo.MessageEmbed{{Title: "old", Footer: &discordgo.MessageEmbedFooter{Text: "deadlines · reminder"}}},
		Components: []discordtest.Row{{Type: 1, Components: []discordtest.Component{{Type: 2, Style: 2, Label: "Mute", CustomID: "cmd:mute event:x 1d"}}}}})
	e.lost(t, bot.Outgoing{DeliveryID: 47, Channel: ch, Message: alertMessage()}) // not asked about

	got, err := e.adapter.Resolve(ctxTimeout(t), unconfirmed(ch, 5*time.Minute, 44, 45, 46))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("found %v, want nothing", got)
	}
}

// TestResolveWithoutButtons: a message whose buttons cannot carry the
// delivery carries it in its footer or its text, and is found by it.
func TestResolveWithoutButtons(t *testing.T) {
	e := resolveEnv(t, nil)
	const ch = "704"
	noButtons := alertMessage()
	noButtons.Buttons = nil
	longCommand := alertMessage() // fits as "cmd:…" but not as "d5100:…"
	longCommand.Buttons = []bot.Button{{Label: "Mute", Command: "mute event:" + strings.Repeat("x", MaxCustomID-len("cmd:mute event:"))}}
	text := bot.Message{Text: "Plain words."}
	ids := map[int64]string{
		50:   e.lost(t, bot.Outgoing{DeliveryID: 50, Channel: ch, Message: noButtons}),
		5100: e.lost(t, bot.Outgoing{DeliveryID: 5100, Channel: ch, Message: longCommand}),
		52:   e.lost(t, bot.Outgoing{DeliveryID: 52, Channel: ch, Message: text}),
	}
	msgs := e.fake.Messages(ch)
	if f := msgs[0].Embeds[0].Footer; f == nil || f.Text != "deadlines · reminder · delivery 50" {
		t.Errorf("footer %+v", f)
	}
	if c := msgs[1].Components[0].Components[0].CustomID; !strings.HasPrefix(c, "cmd:") {
		t.Errorf("custom_id %q, want the older form that fits", c)
	}
	if c := msgs[2].Content; c != "Plain words.\n-# delivery 52" {
		t.Errorf("content %q", c)
	}
	got, err := e.adapter.Resolve(ctxTimeout(t), unconfirmed(ch, 3*time.Minute, 50, 5100, 52))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids, got); diff != "" {
		t.Errorf("found (-want +got):\n%s", diff)
	}
}

// TestResolveTwiceKeepsFirst: a delivery posted twice (before this
// version) resolves to its first message.
func TestResolveTwiceKeepsFirst(t *testing.T) {
	e := resolveEnv(t, nil)
	const ch = "705"
	row := []discordtest.Row{{Type: 1, Components: []discordtest.Component{{Type: 2, Style: 2, Label: "Mute", CustomID: "d60:mute event:x 1d"}}}}
	first := e.fake.Post(ch, discordtest.Message{AuthorID: discordtest.BotUserID, AuthorBot: true, Components: row})
	e.chatter(ch, 2)
	e.fake.Post(ch, discordtest.Message{AuthorID: discordtest.BotUserID, AuthorBot: true, Components: row})
	got, err := e.adapter.Resolve(ctxTimeout(t), unconfirmed(ch, 3*time.Minute, 60))
	if err != nil {
		t.Fatal(err)
	}
	if got[60] != first.ID {
		t.Errorf("found %v, want 60 → %s", got, first.ID)
	}
}

// TestResolveNoHistory: a channel that shows no message at all may be
// hiding them (no Read Message History): Resolve cannot tell. One that
// shows older messages can tell that nothing was posted.
func TestResolveNoHistory(t *testing.T) {
	e := resolveEnv(t, nil)
	ctx := ctxTimeout(t)

	e.lost(t, bot.Outgoing{DeliveryID: 70, Channel: "706", Message: alertMessage()})
	e.fake.DenyHistory("706")
	e.fake.AddChannel("707")
	for _, ch := range []string{"706", "707"} {
		got, err := e.adapter.Resolve(ctx, unconfirmed(ch, 3*time.Minute, 70))
		if err == nil {
			t.Fatalf("channel %s: found %v, want an error", ch, got)
		}
		if se := sendErr(t, err); se.Retry || !strings.Contains(err.Error(), "Read Message History") {
			t.Errorf("channel %s: %v (retry %v), want a permanent error naming the permission", ch, err, se.Retry)
		}
	}

	e.fake.SetNow(claim.Add(-time.Hour))
	e.chatter("708", 1)
	got, err := e.adapter.Resolve(ctx, unconfirmed("708", 3*time.Minute, 70))
	if err != nil || len(got) != 0 {
		t.Errorf("quiet channel: %v, %v; want nothing found and no error", got, err)
	}
}

func TestResolveTooManyMessages(t *testing.T) {
	e := resolveEnv(t, func(c *Config) { c.GlobalRate = NoLimit })
	const ch = "709"
	e.chatter(ch, maxPages*pageSize+1)
	_, err := e.adapter.Resolve(ctxTimeout(t), unconfirmed(ch, 3*time.Minute, 80))
	if err == nil {
		t.Fatal("no error")
	}
	if se := sendErr(t, err); se.Retry {
		t.Errorf("%v: want permanent", err)
	}
	if n := len(e.pages(ch)); n != maxPages {
		t.Errorf("%d listings, want %d", n, maxPages)
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name      string
		fail      func(e *env)
		channel   string
		wantRetry bool
		minAfter  time.Duration
		wantText  string
	}{
		{"404 unknown channel", func(e *env) {}, "799", false, 0, "Unknown Channel (code 10003)"},
		{"403 missing access", func(e *env) { e.fake.FailNext(http.StatusForbidden) }, "710", false, 0, "Missing Access (code 50001)"},
		{"429", func(e *env) { e.fake.RateLimitNext(1.5, false) }, "710", true, 1500 * time.Millisecond, "rate limited"},
		{"global 429", func(e *env) { e.fake.RateLimitNext(2, true) }, "710", true, 2 * time.Second, "rate limited"},
		{"500", func(e *env) { e.fake.FailNext(http.StatusInternalServerError) }, "710", true, 0, "HTTP 500"},
		{"bad channel id", func(e *env) {}, "71/../0", false, 0, "bad channel id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := resolveEnv(t, nil)
			ctx := ctxTimeout(t)
			e.chatter("710", 1)
			// The bot's user is known, so the failure meets the listing.
			if _, err := e.adapter.Resolve(ctx, unconfirmed("710", 3*time.Minute, 1)); err != nil {
				t.Fatal(err)
			}
			before := len(e.fake.Requests())
			tt.fail(e)
			got, err := e.adapter.Resolve(ctx, unconfirmed(tt.channel, 3*time.Minute, 90))
			if err == nil {
				t.Fatalf("found %v, want an error", got)
			}
			se := sendErr(t, err)
			if se.Retry != tt.wantRetry || se.RetryAfter < tt.minAfter {
				t.Errorf("Retry %v after %v, want %v after ≥ %v (%v)", se.Retry, se.RetryAfter, tt.wantRetry, tt.minAfter, err)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not mention %q", err, tt.wantText)
			}
			if n := len(e.fake.Requests()) - before; n > 1 {
				t.Errorf("%d requests, want at most 1: no retries inside Resolve", n)
			}
		})
	}
}

// TestResolveUserLookupFails: without its own user id Resolve cannot tell
// its messages from others'.
func TestResolveUserLookupFails(t *testing.T) {
	e := resolveEnv(t, nil)
	e.chatter("711", 1)
	e.fake.FailNext(http.StatusUnauthorized)
	_, err := e.adapter.Resolve(ctxTimeout(t), unconfirmed("711", 3*time.Minute, 1))
	if se := sendErr(t, err); se.Retry {
		t.Errorf("%v: want permanent", err)
	}
	if len(e.pages("711")) != 0 {
		t.Error("listed messages without knowing the bot's user")
	}
}

// TestResolveRateLimitsApart: reading a channel has its own bucket; a
// listing held by it does not hold posting to the same channel, and is not
// sent while the bucket is empty.
func TestResolveRateLimitsApart(t *testing.T) {
	e := resolveEnv(t, nil)
	ctx := ctxTimeout(t)
	const ch = "712"
	e.chatter(ch, 1)
	if _, err := e.adapter.Resolve(ctx, unconfirmed(ch, 3*time.Minute, 1)); err != nil {
		t.Fatal(err)
	}
	e.fake.RateLimitNext(60, false)
	if _, err := e.adapter.Resolve(ctx, unconfirmed(ch, 3*time.Minute, 1)); err == nil {
		t.Fatal("no error on 429")
	}
	before := len(e.fake.Requests())
	_, err := e.adapter.Resolve(ctx, unconfirmed(ch, 3*time.Minute, 1))
	if se := sendErr(t, err); !se.Retry || se.RetryAfter < 50*time.Second {
		t.Errorf("listing with its bucket empty: %v, want transient after about 60 s", err)
	}
	if n := len(e.fake.Requests()) - before; n != 0 {
		t.Errorf("%d requests while the bucket was empty", n)
	}
	if _, err := e.adapter.Send(ctx, bot.Outgoing{DeliveryID: 2, Channel: ch, Message: alertMessage()}); err != nil {
		t.Errorf("send held by the listing's bucket: %v", err)
	}
}

// TestButtonWithDeliveryRuns: pressing a button of a message Send posted
// runs its command, as pressing one in the older form does.
func TestButtonWithDeliveryRuns(t *testing.T) {
	e := newEnv(t, nil)
	const ch = "400"
	if _, err := e.adapter.Send(ctxTimeout(t), bot.Outgoing{DeliveryID: 42, Channel: ch, Message: alertMessage()}); err != nil {
		t.Fatal(err)
	}
	posted := e.fake.Messages(ch)[0].Components[0].Components[0].CustomID
	if posted != "d42:mute event:upper-house-election-2025 1d" {
		t.Fatalf("custom_id %q", posted)
	}
	press := func(customID string) (string, []bot.Request) {
		t.Helper()
		n := len(e.handler.requests())
		body, err := json.Marshal(map[string]any{
			"id": "1201", "application_id": "1000", "type": 3, "token": "btn", "channel_id": ch, "version": 1,
			"member": map[string]any{"user": map[string]any{"id": "501"}},
			"data":   map[string]any{"custom_id": customID, "component_type": 2},
		})
		if err != nil {
			t.Fatal(err)
		}
		_, b := e.signedPost(t, body)
		r := decodeResponse(t, b)
		if r.Type != 4 || r.Data == nil || r.Data.Flags != 64 {
			t.Fatalf("response %s, want ephemeral type 4", b)
		}
		return r.Data.Content, e.handler.requests()[n:]
	}
	for _, id := range []string{posted, "cmd:mute event:upper-house-election-2025 1d"} {
		content, reqs := press(id)
		if len(reqs) != 1 || reqs[0].Text != "mute event:upper-house-election-2025 1d" || reqs[0].User != "discord:501" || reqs[0].Channel != "discord:"+ch {
			t.Errorf("%q: handler got %+v", id, reqs)
		}
		if content != "ran: mute event:upper-house-election-2025 1d" {
			t.Errorf("%q: answer %q", id, content)
		}
	}
	for _, id := range []string{"d42:", "d42: ", "d:mute x", "d042:mute x", "d0:mute x", "dx:mute x", "d42", "cmd:", "mute x", ""} {
		content, reqs := press(id)
		if len(reqs) != 0 || content != "This button is no longer supported." {
			t.Errorf("%q: answer %q, handler got %+v", id, content, reqs)
		}
	}
}
