package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
)

var tokyo = mustZone("Asia/Tokyo")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

const (
	admin   = "console:local"
	member  = "slack:U0MEMBER"
	channel = "slack:C0BUDGET"
)

// TestRouterCommands runs every command of DESIGN §6 against the example
// config, with its success and its errors.
func TestRouterCommands(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, tokyo)
	tb := newTestBot(t, "", now)
	tests := []struct {
		name     string
		user     string
		text     string
		want     []string // substrings of the reply
		notWant  []string
		wantErr  bool
		wantPubl bool
	}{
		{"help", member, "help", []string{"upcoming [#tag] [within]", "subscribe <target>", "Admins have more"}, []string{"event add"}, false, false},
		{"help admin", admin, "help", []string{"event add <id> <due> <title…> [#tag…]", "watcher pause <id>"}, nil, false, false},
		{"help one", member, "help mute", []string{"/alerts mute <target> <duration>", "e.g. /alerts mute #budget 1d"}, nil, false, false},
		{"empty is help", member, "", []string{"alertbot commands:"}, nil, false, false},
		{"unknown", member, "frobnicate now", []string{`Unknown command "frobnicate now"`, "alertbot commands:"}, nil, true, false},
		{"unterminated", member, `event add x "oops`, []string{"unterminated quote"}, nil, true, false},
		{"upcoming default", member, "upcoming", []string{"Upcoming events within 90d:", "Japan's defense spending reaches 2% of GDP (target year) — expected in 2027 — exact date not set (window opens in 37 days) [tentative]"}, []string{"FY2027 budget"}, false, false},
		{"upcoming none", member, "upcoming #election 30d", []string{"No upcoming events #election within 30d"}, nil, false, false},
		{"upcoming long", member, "upcoming 400d", []string{"Diet passes the FY2027 budget", "Wed 31 March 2027 (in 126 days)", "[scheduled]", "jp-fy2027-budget", "expected in 2027"}, []string{"FY2025"}, false, false},
		{"upcoming tag", member, "upcoming #us 1000d", []string{"U.S. FY2028 appropriations", "U.S. presidential election"}, []string{"Diet"}, false, false},
		{"upcoming bad", member, "upcoming soon", []string{`Expected #tag or a duration like 90d, got "soon"`, "Usage: /alerts upcoming [#tag] [within]"}, nil, true, false},
		{"event", member, "event upper-house-election-2025", []string{"House of Councillors (Upper House) election (upper-house-election-2025)", "Status: happened",
			"due 2025-07 → 2025-07-20; status tentative → scheduled; election officially announced", "status scheduled → happened", "Defined in the config file", "Reminders: 90d, 30d, 7d, 1d, 0d before"}, nil, false, false},
		{"event next", member, "event jp-fy2027-budget", []string{"Next alert:", "2027"}, nil, false, false},
		{"event missing", member, "event nope", []string{`No event "nope"`, "Usage: /alerts event <id>"}, nil, true, false},
		{"event args", member, "event", []string{"Missing arguments.", "Usage: /alerts event <id>"}, nil, true, false},
		{"watchers", member, "watchers", []string{"deadlines — countdown", "@every 1m"}, nil, false, false},
		{"history empty", member, "history", []string{"No alerts were sent to this channel yet"}, nil, false, false},
		{"history bad n", member, "history lots", []string{"n must be a number from 1 to 100"}, nil, true, false},
		{"subscribe", member, "subscribe #budget", []string{"This channel now receives #budget"}, nil, false, true},
		{"subscribe again", member, "subscribe tag:budget", []string{"already receives #budget"}, nil, false, true},
		{"subscribe bad", member, "subscribe budget", []string{"Usage: /alerts subscribe <target>"}, nil, true, false},
		{"subscribe missing event", member, "subscribe event:nope", []string{`No event "nope"`}, nil, true, false},
		{"subscriptions", member, "subscriptions", []string{"• #budget (chat)"}, nil, false, false},
		{"mute", member, "mute #budget 1d", []string{"Muted #budget in this channel until 2026-11-26 10:00 JST"}, nil, false, true},
		{"mute bad duration", member, "mute #budget forever", []string{`Bad duration "forever"`}, nil, true, false},
		{"subscriptions muted", member, "subscriptions", []string{"Muted: #budget until 2026-11-26 10:00 JST"}, nil, false, false},
		{"unmute", member, "unmute #budget", []string{"Unmuted #budget"}, nil, false, true},
		{"unmute again", member, "unmute #budget", []string{"#budget is not muted"}, nil, true, false},
		{"unsubscribe", member, "unsubscribe #budget", []string{"no longer receives #budget"}, nil, false, true},
		{"unsubscribe again", member, "unsubscribe #budget", []string{"not subscribed to #budget"}, nil, true, false},
		{"event add denied", member, "event add diet-2027 2027-01 Ordinary Diet session #japan", []string{"Only admins may use /alerts event add"}, nil, true, false},
		{"event add", admin, `event add diet-2027 2027-01 "Ordinary Diet session convenes" #japan #diet`, []string{"Created event diet-2027: Ordinary Diet session convenes", "expected in January 2027", "[tentative]"}, nil, false, false},
		{"event add dup", admin, "event add diet-2027 2027-01 Again", []string{`Event "diet-2027" already exists`}, nil, true, false},
		{"event add bad due", admin, "event add x 2027-13 Title", []string{`bad due date "2027-13"`}, nil, true, false},
		{"event add bad id", admin, "event add Bad_Id 2027-01 Title", []string{`bad event id "bad_id"`}, nil, true, false},
		{"event add no title", admin, "event add y 2027-01 #tag", []string{"The event needs a title."}, nil, true, false},
		{"event set", admin, `event set diet-2027 due=2027-01-23 note="convened by the Emperor"`, []string{"Updated diet-2027", "Sat 23 January 2027", "[scheduled]"}, nil, false, false},
		{"event set bad key", admin, "event set diet-2027 colour=red", []string{`Unknown field "colour"`}, nil, true, false},
		{"event set bad status", admin, "event set diet-2027 status=maybe", []string{`unknown status "maybe"`}, nil, true, false},
		{"event history", member, "event diet-2027", []string{"due 2027-01 → 2027-01-23", "convened by the Emperor", "(by console:local)", "Created in chat"}, nil, false, false},
		{"event remove", admin, "event remove diet-2027", []string{"Removed event diet-2027"}, nil, false, false},
		{"watcher add", admin, `watcher add countdown budget-only schedule="@every 5m" tags=budget lead_times=14d,1d`, []string{"Added countdown watcher budget-only"}, nil, false, false},
		{"watcher add bad kind", admin, `watcher add rss x schedule="@every 5m"`, []string{`unknown kind "rss" (want calendar, countdown, feed, jsonapi, page)`}, nil, true, false},
		{"watcher add bad cron", admin, `watcher add countdown y schedule="every day"`, []string{"Usage: /alerts watcher add"}, nil, true, false},
		{"watcher add bad field", admin, `watcher add countdown z schedule="@every 5m" colour=red`, []string{"colour"}, nil, true, false},
		{"watcher add feed no url", admin, `watcher add feed f schedule="@every 5m"`, []string{"url"}, nil, true, false},
		{"watcher set", admin, `watcher set budget-only schedule="@every 10m"`, []string{"Updated watcher budget-only"}, nil, false, false},
		{"watcher pause", admin, "watcher pause budget-only", []string{"Watcher budget-only paused"}, nil, false, false},
		{"watcher paused run", admin, "watcher run budget-only", []string{"is paused"}, nil, true, false},
		{"watcher resume", admin, "watcher resume budget-only", []string{"Watcher budget-only resumed"}, nil, false, false},
		{"watcher run", admin, "watcher run budget-only", []string{"Watcher budget-only checked:"}, nil, false, false},
		{"watcher remove", admin, "watcher remove budget-only", []string{"Removed watcher budget-only"}, nil, false, false},
		{"watcher remove denied", member, "watcher remove deadlines", []string{"Only admins"}, nil, true, false},
		{"watcher missing", admin, "watcher run nope", []string{`No watcher "nope"`}, nil, true, false},
	}
	for _, tt := range tests {
		r := tb.run(t, tt.user, channel, tt.text)
		for _, w := range tt.want {
			if !strings.Contains(r.Text, w) {
				t.Errorf("%s: /alerts %s\nreply %q\nlacks %q", tt.name, tt.text, r.Text, w)
			}
		}
		for _, w := range tt.notWant {
			if strings.Contains(r.Text, w) {
				t.Errorf("%s: /alerts %s\nreply %q\nhas %q", tt.name, tt.text, r.Text, w)
			}
		}
		if r.Error != tt.wantErr {
			t.Errorf("%s: /alerts %s: Error = %v, want %v (reply %q)", tt.name, tt.text, r.Error, tt.wantErr, r.Text)
		}
		if !tt.wantErr && r.Public != tt.wantPubl {
			t.Errorf("%s: /alerts %s: Public = %v, want %v", tt.name, tt.text, r.Public, tt.wantPubl)
		}
	}

	// Every admin command and subscription change is audited, refusals too.
	log, err := tb.db.AuditLog(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, e := range log {
		actions[e.Action]++
	}
	for _, a := range []string{"subscribe", "unsubscribe", "mute", "unmute", "event add", "event set", "event remove",
		"watcher add", "watcher set", "watcher pause", "watcher resume", "watcher run", "watcher remove",
		"denied: event add", "denied: watcher remove"} {
		if actions[a] == 0 {
			t.Errorf("no audit entry %q; have %v", a, actions)
		}
	}
	for _, e := range log {
		if e.Action == "denied: event add" && e.Who != member {
			t.Errorf("denied entry names %q, want %q", e.Who, member)
		}
		if e.Action == "event set" && (e.Before == "" || e.After == "" || e.Before == e.After) {
			t.Errorf("event set audit lacks before/after: %+v", e)
		}
	}
}

// TestEventSetFiresChanged: an admin's change is alerted once, with old →
// new, and re-plans the reminders.
func TestEventSetFiresChanged(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, tokyo)
	tb := newTestBot(t, "", now)
	tb.tick(t, "deadlines")
	tb.drain(t, tb.plat)
	before := len(tb.plat.Sent())
	if r := tb.run(t, admin, admin, "event set jp-fy2027-budget due=2027-03-26 note=\"passed early\""); r.Error {
		t.Fatal(r.Text)
	}
	tb.clock.Set(now.Add(time.Minute))
	tb.tick(t, "deadlines")
	tb.tick(t, "deadlines") // a second tick adds nothing
	tb.drain(t, tb.plat)
	sent := tb.plat.Sent()[before:]
	if len(sent) != 1 {
		t.Fatalf("sent %d messages after event set, want 1: %+v", len(sent), sent)
	}
	m := sent[0].Message
	if m.Kind != "changed" || !strings.Contains(m.Text, "2027") || !strings.Contains(m.Text, "passed early") {
		t.Errorf("changed alert = %+v", m)
	}
}

// TestDispatchRetriesAndPermanentFailure: transient errors are retried with
// backoff until sent; a permanent failure is not retried and is reported to
// the admins' channel once.
func TestDispatchRetriesAndPermanentFailure(t *testing.T) {
	const cfg = `
timezone: Asia/Tokyo
admins: [console:local]
events:
  - id: e1
    title: Event one
    due: 2026-12-01
    lead_times: [7d]
    tags: [t]
watchers:
  - id: deadlines
    kind: countdown
    schedule: "@every 1m"
subscriptions:
  - channel: slack:CGOOD
    to: [tag:t]
  - channel: slack:CGONE
    to: [tag:t]
  - channel: slack:CADMIN
    to: [all]
`
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, tokyo) // 7d before at 09:00
	calls := map[string]int{}
	slack := &memPlatform{name: "slack"}
	slack.fail = func(out bot.Outgoing) error {
		calls[out.Channel]++
		switch {
		case out.Channel == "CGONE":
			return bot.Permanent(errBoom)
		case out.Channel == "CGOOD" && calls["CGOOD"] <= 2:
			return bot.Transient(errBoom, 3*time.Second)
		}
		return nil
	}
	tb := newTestBot(t, cfg, now, slack)
	tb.tick(t, "deadlines")
	tb.drain(t, slack)
	// CGOOD failed once and waits for its retry; CGONE gave up at once.
	for step := 0; step < 10 && calls["CGOOD"] < 3; step++ {
		tb.clock.Set(tb.clock.Now().Add(5 * time.Minute))
		tb.drain(t, slack)
	}
	if calls["CGOOD"] != 3 {
		t.Errorf("CGOOD attempts = %d, want 3 (two transient failures, then sent)", calls["CGOOD"])
	}
	if calls["CGONE"] != 1 {
		t.Errorf("CGONE attempts = %d, want 1 (permanent: not retried)", calls["CGONE"])
	}
	var admins, good int
	for _, s := range slack.Sent() {
		switch s.Channel {
		case "CADMIN":
			admins++
		case "CGOOD":
			good++
		}
	}
	// CADMIN got the reminder and one failure report.
	if admins != 2 || good != 1 {
		t.Errorf("CADMIN got %d, CGOOD got %d; want 2 and 1", admins, good)
	}
	hist, err := tb.db.ChannelHistory(context.Background(), "slack:CGONE", 5)
	if err != nil || len(hist) != 1 || hist[0].Delivery.State != bot.DeliveryFailed {
		t.Errorf("CGONE history = %+v, %v", hist, err)
	}
}
