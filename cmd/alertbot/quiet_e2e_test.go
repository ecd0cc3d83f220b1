package main

import (
	"strings"
	"testing"
	"time"
)

// quietWindow returns quiet hours in Tokyo that started a minute before
// now and end about 100 minutes after it: e2eConfig's 2h reminders (due
// an hour after now) fall inside.
func quietWindow(now time.Time) string {
	tokyo := mustZone("Asia/Tokyo")
	return now.Add(-time.Minute).In(tokyo).Format("15:04") + "-" + now.Add(100*time.Minute).In(tokyo).Format("15:04")
}

// TestSlackSettingsQuietEndToEnd: `/alerts settings quiet …` typed in
// Slack (a signed slash command) holds the channel's alerts until the
// window ends, while a channel without settings gets them at once; the
// held one is then posted once.
func TestSlackSettingsQuietEndToEnd(t *testing.T) {
	e := newSlackE2E(t)
	for _, ch := range []string{"C0QUIET", "C0PLAIN"} {
		if r := slackCommand(t, e, e.srv, ch, "U0MEMBER", "subscribe #budget"); r.ResponseType != "in_channel" {
			t.Fatalf("subscribe: %+v", r)
		}
	}
	window := quietWindow(e.clk.Now())
	r := slackCommand(t, e, e.srv, "C0QUIET", "U0MEMBER", "settings quiet "+window+" Asia/Tokyo")
	if r.ResponseType != "in_channel" || !strings.Contains(r.Text, "Quiet hours: "+window+" Asia/Tokyo") {
		t.Fatalf("settings quiet: %+v", r)
	}
	e.clk.Advance(time.Hour + time.Minute) // the 2h reminder comes due, in quiet hours
	e2ePoll(t, e.ctx, "the budget reminder in C0PLAIN", func() bool {
		return len(slackPostsTo(e.fake, "C0PLAIN", e2eBudgetTitle)) > 0
	})
	e.srv.waitChecks(t, e.ctx, 2)
	if posts := slackPostsTo(e.fake, "C0QUIET", ""); len(posts) != 0 {
		t.Fatalf("the quiet channel got %d posts in quiet hours", len(posts))
	}
	r = slackCommand(t, e, e.srv, "C0QUIET", "U0MEMBER", "history")
	if !strings.Contains(r.Text, e2eBudgetTitle+" — held") {
		t.Errorf("history in quiet hours:\n%s", r.Text)
	}
	e.clk.Advance(45 * time.Minute) // past the window's end, before the 1h reminder
	e2ePoll(t, e.ctx, "the held reminder in C0QUIET", func() bool {
		return len(slackPostsTo(e.fake, "C0QUIET", "")) > 0
	})
	e.srv.waitChecks(t, e.ctx, 2)
	posts := slackPostsTo(e.fake, "C0QUIET", "")
	if len(posts) != 1 || slackPostTitle(posts[0]) != e2eBudgetTitle {
		t.Errorf("the quiet channel got %d posts (%v), want the held reminder once", len(posts), posts)
	}
}

// TestDiscordSettingsQuietEndToEnd: the same through a signed Discord
// interaction, whose options the command table defines.
func TestDiscordSettingsQuietEndToEnd(t *testing.T) {
	e := newDiscordE2E(t, nil)
	const plain = "1200000000000000101"
	for _, ch := range []string{e2eDiscordChan, plain} {
		r := e.interact(t, e.interaction(t, 2, "alerts", "subscribe", e2eDiscordUser, ch, discordStr("target", "#budget")))
		if r.Type != 4 || r.Data.Flags&discordEphemeral != 0 {
			t.Fatalf("subscribe: %+v", r)
		}
	}
	window := quietWindow(e.clk.Now())
	r := e.interact(t, e.interaction(t, 2, "alerts", "settings", e2eDiscordUser, e2eDiscordChan,
		discordStr("what", "quiet"), discordStr("value", window+" Asia/Tokyo")))
	if r.Type != 4 || r.Data.Flags&discordEphemeral != 0 || !strings.Contains(r.Data.Content, "Quiet hours: "+window+" Asia/Tokyo") {
		t.Fatalf("settings quiet: %+v", r)
	}
	e.clk.Advance(time.Hour + time.Minute)
	if _, err := e.fake.WaitMessages(e.ctx, plain, 1); err != nil {
		t.Fatal(err)
	}
	e.srv.waitChecks(t, e.ctx, 2)
	if n := len(e.fake.Messages(e2eDiscordChan)); n != 0 {
		t.Fatalf("the quiet channel got %d messages in quiet hours", n)
	}
	e.clk.Advance(45 * time.Minute)
	if _, err := e.fake.WaitMessages(e.ctx, e2eDiscordChan, 1); err != nil {
		t.Fatal(err)
	}
	e.srv.waitChecks(t, e.ctx, 2)
	msgs := e.fake.Messages(e2eDiscordChan)
	if len(msgs) != 1 || len(msgs[0].Embeds) == 0 || msgs[0].Embeds[0].Title != e2eBudgetTitle {
		t.Errorf("the quiet channel got %d messages, want the held reminder once", len(msgs))
	}
}
