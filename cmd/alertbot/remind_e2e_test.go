package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot/discord/discordtest"
	"github.com/policyteam/alertbot/bot/slack/slacktest"
)

// These tests run `alertbot serve` against the fake Slack and Discord for
// DESIGN §9's Remind again buttons and personal reminders by direct
// message. Time moves by the e2e clock, never by waiting.

// slackRemindPress presses a button whose value is value under the message ts
// in channel, as user, with a signed block_actions interaction, and
// returns the answer posted to its response_url.
func slackRemindPress(t *testing.T, e *slackE2E, channel, ts, user, value, respID string) slacktest.Response {
	t.Helper()
	payload, err := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user, "username": "member"},
		"api_app_id": "A0APP", "trigger_id": "1.2.3",
		"container":    map[string]any{"type": "message", "message_ts": ts, "channel_id": channel},
		"channel":      map[string]any{"id": channel, "name": "budget"},
		"response_url": e.fake.ResponseURL(respID),
		"actions": []map[string]any{{"action_id": "alertbot_button_1", "block_id": "alertbot_actions_0", "type": "button",
			"value": value, "text": map[string]any{"type": "plain_text", "text": "Remind again"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	n := len(e.fake.Responses())
	body := []byte(url.Values{"payload": {string(payload)}}.Encode())
	status, data := e.srv.post(t, e.ctx, "/slack/interactions", "application/x-www-form-urlencoded", body,
		slackHeader(e2eSlackSecret, e.clk.Now(), body))
	if status != http.StatusOK {
		t.Fatalf("interaction: status %d: %s", status, data)
	}
	resps, err := e.fake.WaitResponses(e.ctx, n+1)
	if err != nil {
		t.Fatal(err)
	}
	return resps[n]
}

// againPosts are the posts in channel that repeat an alert.
func againPosts(fake *slacktest.Server, channel string) []slacktest.Post {
	var out []slacktest.Post
	for _, p := range slackPostsTo(fake, channel, e2eBudgetTitle) {
		if strings.Contains(p.Text, "Again, as slack:U0MEMBER asked") {
			out = append(out, p)
		}
	}
	return out
}

// TestSlackRemindAgainButton: the alert's "Remind again in 1 hour"
// button, pressed twice through signed interactions, posts the alert
// again in its channel once, when the clock reaches the time, as a new
// message; the presser is told when.
func TestSlackRemindAgainButton(t *testing.T) {
	e := newSlackE2E(t)
	if r := slackCommand(t, e, e.srv, "C0BUDGET", "U0MEMBER", "subscribe #budget"); r.ResponseType != "in_channel" {
		t.Fatalf("subscribe: %+v", r)
	}
	e.clk.Advance(time.Hour + time.Minute) // the 2h reminder
	e2ePoll(t, e.ctx, "the budget reminder", func() bool { return len(slackPostsTo(e.fake, "C0BUDGET", e2eBudgetTitle)) == 1 })
	first := slackPostsTo(e.fake, "C0BUDGET", e2eBudgetTitle)[0]
	value := slackButtonValue(t, first, "Remind again in 1 hour")
	if !strings.HasPrefix(value, "again ") || !strings.HasSuffix(value, " 1h") || slackButtonValue(t, first, "Remind again tomorrow") == "" {
		t.Fatalf("Remind again buttons: %q in %s", value, first.Blocks)
	}

	r := slackRemindPress(t, e, "C0BUDGET", first.TS, "U0MEMBER", value, "again1")
	if !strings.Contains(r.Text, "comes again in this channel at") || r.ResponseType == "in_channel" {
		t.Fatalf("first press answered %+v", r)
	}
	r = slackRemindPress(t, e, "C0BUDGET", first.TS, "U0MEMBER", value, "again2")
	if !strings.Contains(r.Text, "Already set") {
		t.Fatalf("second press answered %+v", r)
	}

	// Not before the time: the 1h reminder comes 59 minutes later, alone.
	e.clk.Advance(59 * time.Minute)
	e2ePoll(t, e.ctx, "the 1h reminder", func() bool { return len(slackPostsTo(e.fake, "C0BUDGET", e2eBudgetTitle)) == 2 })
	e.srv.waitChecks(t, e.ctx, 2)
	if n := len(againPosts(e.fake, "C0BUDGET")); n != 0 {
		t.Fatalf("%d repeats before their time", n)
	}
	// At the time (rounded up to five minutes: at most 1h05m after the press).
	e.clk.Advance(6 * time.Minute)
	e2ePoll(t, e.ctx, "the repeat", func() bool { return len(againPosts(e.fake, "C0BUDGET")) == 1 })
	e.srv.waitChecks(t, e.ctx, 2)
	again := againPosts(e.fake, "C0BUDGET")
	if len(again) != 1 {
		t.Fatalf("%d repeats, want 1", len(again))
	}
	if again[0].TS == first.TS || slackButtonValue(t, again[0], "Remind again in 1 hour") == value {
		t.Errorf("the repeat is not a new delivery: ts %s, button %q", again[0].TS, slackButtonValue(t, again[0], "Remind again in 1 hour"))
	}
	if n := len(e.fake.Posts()); n != 3 {
		t.Errorf("%d posts in all, want the two reminders and one repeat", n)
	}
}

// TestSlackPersonalReminderDM: /alerts remind me #budget sends the budget
// reminder by direct message: conversations.open for the user, then
// chat.postMessage to the IM it returned. The post fails with a 5xx
// after Slack accepted it; the retry looks it up in the IM's history
// (metadata) and does not post it again.
func TestSlackPersonalReminderDM(t *testing.T) {
	e := newSlackE2E(t)
	r := slackCommand(t, e, e.srv, "C0BUDGET", "U0MEMBER", "remind me #budget")
	if r.ResponseType != "ephemeral" || !strings.Contains(r.Text, "You will get #budget by direct message.") {
		t.Fatalf("remind me: %+v", r)
	}
	r = slackCommand(t, e, e.srv, "C0BUDGET", "U0MEMBER", "reminders")
	if !strings.Contains(r.Text, "#budget") {
		t.Fatalf("reminders: %q", r.Text)
	}
	im := slacktest.IMChannel("U0MEMBER")
	// Slack posts it, then the answer is a 500: the outcome is unknown.
	e.fake.FailNext(slacktest.Failure{Status: http.StatusInternalServerError, Posted: true})
	e.clk.Advance(time.Hour + time.Minute) // the 2h reminder
	e2ePoll(t, e.ctx, "the DM lookup", func() bool {
		for _, q := range e.fake.HistoryRequests() {
			if q.Channel == im {
				return true
			}
		}
		return false
	})
	e.srv.waitChecks(t, e.ctx, 3)
	posts := slackPostsTo(e.fake, im, e2eBudgetTitle)
	if len(posts) != 1 {
		t.Fatalf("the DM got %d budget reminders, want 1: %+v", len(posts), posts)
	}
	if opens := e.fake.Opens(); len(opens) == 0 || opens[0] != "U0MEMBER" {
		t.Fatalf("conversations.open calls %v, want U0MEMBER", opens)
	}
	if n := len(slackPostsTo(e.fake, "C0BUDGET", "")); n != 0 {
		t.Errorf("the channel got %d posts; only the DM subscribed", n)
	}
	attempts := 0
	for _, p := range e.fake.Attempts() {
		if p.Channel == im {
			attempts++
		}
	}
	if attempts != 1 {
		t.Errorf("%d posts tried to the DM, want 1 (the retry looked it up)", attempts)
	}

	// The 1h reminder reuses the open IM.
	e.clk.Advance(time.Hour)
	e2ePoll(t, e.ctx, "the second DM", func() bool { return len(slackPostsTo(e.fake, im, e2eBudgetTitle)) == 2 })
	if opens := e.fake.Opens(); len(opens) != 1 {
		t.Errorf("conversations.open %d times, want once (cached)", len(opens))
	}
	r = slackCommand(t, e, e.srv, "C0BUDGET", "U0MEMBER", "forget #budget")
	if !strings.Contains(r.Text, "no longer get #budget") {
		t.Errorf("forget: %q", r.Text)
	}
}

// discordButton returns the custom_id of the button labelled label in a
// message, "" when there is none.
func discordButton(m discordtest.Message, label string) string {
	for _, row := range m.Components {
		for _, c := range row.Components {
			if c.Label == label {
				return c.CustomID
			}
		}
	}
	return ""
}

// press sends a signed button interaction (type 3) with customID, as user
// in channel.
func (e *discordE2E) press(t *testing.T, user, channel, customID string) discordResponse {
	t.Helper()
	id := e.ids.Add(1)
	body, err := json.Marshal(map[string]any{
		"id": strconv.FormatInt(1300000000000000000+id, 10), "application_id": e2eDiscordApp, "type": 3,
		"token": "button-token-" + strconv.FormatInt(id, 10), "version": 1, "guild_id": "1200000000000000002",
		"channel_id": channel,
		"member":     map[string]any{"user": map[string]any{"id": user, "username": "member"}, "roles": []string{}},
		"data":       map[string]any{"custom_id": customID, "component_type": 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e.interact(t, body)
}

// TestDiscordRemindAgainAndDM: on Discord the Remind again button posts
// the alert again once at its time, and /alerts remind-me sends the
// reminder by direct message through POST /users/@me/channels.
func TestDiscordRemindAgainAndDM(t *testing.T) {
	e := newDiscordE2E(t, nil)
	r := e.interact(t, e.interaction(t, 2, "alerts", "subscribe", e2eDiscordUser, e2eDiscordChan, discordStr("target", "#budget")))
	if !strings.Contains(r.Data.Content, "budget") {
		t.Fatalf("subscribe: %+v", r)
	}
	r = e.interact(t, e.interaction(t, 2, "alerts", "remind-me", e2eDiscordUser, e2eDiscordChan, discordStr("target", "event:budget-vote")))
	if r.Data.Flags&discordEphemeral == 0 || !strings.Contains(r.Data.Content, "You will get event:budget-vote by direct message.") {
		t.Fatalf("remind-me: %+v", r)
	}

	e.clk.Advance(time.Hour + time.Minute) // the 2h reminder
	msgs, err := e.fake.WaitMessages(e.ctx, e2eDiscordChan, 1)
	if err != nil {
		t.Fatal(err)
	}
	e2ePoll(t, e.ctx, "the DM", func() bool {
		dm := e.fake.DMChannel(e2eDiscordUser)
		return dm != "" && len(e.fake.Messages(dm)) == 1
	})
	dm := e.fake.DMChannel(e2eDiscordUser)
	opened := 0
	for _, q := range e.fake.Requests() {
		if q.Method == http.MethodPost && q.Path == "/api/v9/users/@me/channels" {
			opened++
			if !strings.Contains(string(q.Body), `"recipient_id":"`+e2eDiscordUser+`"`) {
				t.Errorf("DM opened with %s", q.Body)
			}
		}
	}
	if opened != 1 {
		t.Errorf("DM channel opened %d times, want 1", opened)
	}
	if d := e.fake.Messages(dm)[0]; len(d.Embeds) == 0 || d.Embeds[0].Title != e2eBudgetTitle || !d.EnforceNonce {
		t.Errorf("DM message: %s", d.Raw)
	}

	hour := discordButton(msgs[0], "Remind again in 1 hour")
	// From here on, one send's answer is lost after Discord posted it: the
	// resend carries the same nonce and gets the first message back.
	if !strings.Contains(hour, ":again ") || discordButton(msgs[0], "Remind again tomorrow") == "" {
		t.Fatalf("Remind again buttons: %q in %s", hour, msgs[0].Raw)
	}
	r = e.press(t, e2eDiscordUser, e2eDiscordChan, hour)
	if r.Data.Flags&discordEphemeral == 0 || !strings.Contains(r.Data.Content, "comes again in this channel at") {
		t.Fatalf("press: %+v", r)
	}
	if r = e.press(t, e2eDiscordUser, e2eDiscordChan, hour); !strings.Contains(r.Data.Content, "Already set") {
		t.Fatalf("second press: %+v", r)
	}
	e.fake.DropNextResponse()
	e.clk.Advance(65 * time.Minute) // the 1h reminder, then the repeat
	repeats := func() int {
		n := 0
		for _, m := range e.fake.Messages(e2eDiscordChan) {
			if len(m.Embeds) > 0 && strings.Contains(m.Embeds[0].Description, "Again, as discord:"+e2eDiscordUser+" asked") {
				n++
			}
		}
		return n
	}
	e2ePoll(t, e.ctx, "the repeat", func() bool { return repeats() == 1 })
	e.srv.waitChecks(t, e.ctx, 2)
	if n := repeats(); n != 1 {
		t.Errorf("%d repeats, want 1", n)
	}
	if n := len(e.fake.Messages(e2eDiscordChan)); n != 3 {
		t.Errorf("channel got %d messages, want the two reminders and the repeat", n)
	}
	if n := len(e.fake.Messages(dm)); n != 2 {
		t.Errorf("DM got %d messages, want both reminders", n)
	}
}
