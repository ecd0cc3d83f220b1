package bot_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

// commandsNow is the time of the command tests: the example's past season
// is history, its 2027–2028 events are ahead.
var commandsNow = time.Date(2026, 11, 25, 10, 0, 0, 0, tokyo)

// commandCase is one /alerts command against a fresh app seeded with the
// team config. setup commands run first, as the admin in the same channel,
// and must succeed: a case depends on nothing but its own setup.
type commandCase struct {
	name       string
	setup      []string
	user       string
	text       string
	want       []string // substrings of the reply
	notWant    []string
	wantErr    bool
	wantPublic bool
	// wantAudit is the one audit action the command writes; "" means it
	// writes none.
	wantAudit string
}

// runCommandCases runs each case as its own subtest on its own app.
func runCommandCases(t *testing.T, tests []commandCase) {
	t.Helper()
	cfg := teamConfig(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t, cfg, commandsNow)
			for _, s := range tt.setup {
				a.must(admin, channel, s)
			}
			before := len(a.auditLog())
			r := a.do(tt.user, channel, tt.text)
			for _, w := range tt.want {
				if !strings.Contains(r.Text, w) {
					t.Errorf("/alerts %s\nreply %q\nlacks %q", tt.text, r.Text, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(r.Text, w) {
					t.Errorf("/alerts %s\nreply %q\nhas %q", tt.text, r.Text, w)
				}
			}
			if r.Error != tt.wantErr {
				t.Errorf("/alerts %s: Error = %v, want %v (reply %q)", tt.text, r.Error, tt.wantErr, r.Text)
			}
			if r.Public != tt.wantPublic {
				t.Errorf("/alerts %s: Public = %v, want %v", tt.text, r.Public, tt.wantPublic)
			}
			log := a.auditLog()
			added := log[:len(log)-before] // newest first
			var actions []string
			for _, e := range added {
				actions = append(actions, e.Action)
			}
			var want []string
			if tt.wantAudit != "" {
				want = []string{tt.wantAudit}
			}
			if diff := cmp.Diff(want, actions); diff != "" {
				t.Fatalf("/alerts %s: audit actions (-want +got):\n%s", tt.text, diff)
			}
			if len(added) == 1 {
				checkAuditEntry(t, added[0], tt.user)
			}
		})
	}
}

// checkAuditEntry holds an entry to DESIGN §6: who, when, where, what,
// and before/after for changes.
func checkAuditEntry(t *testing.T, e bot.AuditEntry, user string) {
	t.Helper()
	if e.Who != user || e.Channel != channel || !e.At.Equal(commandsNow) {
		t.Errorf("audit entry %+v: want who %s, channel %s, at %s", e, user, channel, commandsNow)
	}
	switch e.Action {
	case "event set", "watcher set", "watcher pause", "watcher resume":
		if e.Before == "" || e.After == "" || e.Before == e.After {
			t.Errorf("%s audit lacks before/after: %+v", e.Action, e)
		}
	case "event add", "watcher add", "subscribe", "mute":
		if e.After == "" {
			t.Errorf("%s audit lacks after: %+v", e.Action, e)
		}
	case "event remove", "watcher remove", "unsubscribe", "unmute":
		if e.Before == "" {
			t.Errorf("%s audit lacks before: %+v", e.Action, e)
		}
	}
}

// TestReadCommands: help, upcoming, event, history and watchers, with
// their errors. They change nothing, so they audit nothing.
func TestReadCommands(t *testing.T) {
	runCommandCases(t, []commandCase{
		{name: "help", user: member, text: "help",
			want:    []string{"upcoming [#tag] [within]", "subscribe <target>", "Admins have more"},
			notWant: []string{"event add"}},
		{name: "help admin", user: admin, text: "help",
			want:    []string{"event add <id> <due> <title…> [#tag…]", "watcher pause <id>"},
			notWant: []string{"Admins have more"}},
		{name: "help one", user: member, text: "help mute",
			want: []string{"/alerts mute <target> <duration>", "e.g. /alerts mute #budget 1d"}},
		{name: "help group", user: member, text: "help watcher",
			want: []string{"/alerts watcher add <kind> <id> key=value…", "(admins only)", "/alerts watcher remove <id>"}},
		{name: "help unknown topic", user: member, text: "help frobnicate", want: []string{"alertbot commands:"}},
		{name: "empty is help", user: member, text: "", want: []string{"alertbot commands:"}},
		{name: "unknown", user: member, text: "frobnicate now",
			want: []string{`Unknown command "frobnicate now"`, "alertbot commands:"}, wantErr: true},
		{name: "unterminated", user: member, text: `event add x "oops`,
			want: []string{"unterminated quote"}, wantErr: true},
		{name: "command names ignore case", user: member, text: "UPCOMING 400d", want: []string{"Diet passes the FY2027 budget"}},

		{name: "upcoming default", user: member, text: "upcoming",
			want: []string{"Upcoming events within 90d:",
				"Japan's defense spending reaches 2% of GDP (target year) — expected in 2027 — exact date not set (window opens in 37 days) [tentative]"},
			notWant: []string{"FY2027 budget"}},
		{name: "upcoming none", user: member, text: "upcoming #election 30d",
			want: []string{"No upcoming events #election within 30d"}},
		{name: "upcoming long", user: member, text: "upcoming 400d",
			want:    []string{"Diet passes the FY2027 budget", "Wed 31 March 2027 (in 126 days)", "[scheduled]", "jp-fy2027-budget", "expected in 2027"},
			notWant: []string{"FY2025"}},
		{name: "upcoming tag", user: member, text: "upcoming #us 1000d",
			want: []string{"U.S. FY2028 appropriations", "U.S. presidential election"}, notWant: []string{"Diet"}},
		{name: "upcoming tag: form", user: member, text: "upcoming tag:budget 400d",
			want: []string{"Upcoming events #budget within 400d:", "Diet passes the FY2027 budget"}, notWant: []string{"defense"}},
		{name: "upcoming bad", user: member, text: "upcoming soon",
			want: []string{`Expected #tag or a duration like 90d or 2w3d, got "soon"`, "Usage: /alerts upcoming [#tag] [within]"}, wantErr: true},
		{name: "upcoming bad tag", user: member, text: "upcoming #", want: []string{`Bad tag "#"`}, wantErr: true},

		{name: "event", user: member, text: "event upper-house-election-2025",
			want: []string{"House of Councillors (Upper House) election (upper-house-election-2025)", "Status: happened",
				"due 2025-07 → 2025-07-20; status tentative → scheduled; election officially announced", "status scheduled → happened",
				"Defined in the config file", "Reminders: 90d, 30d, 7d, 1d, 0d before"}},
		{name: "event next", user: member, text: "event jp-fy2027-budget", want: []string{"Next alert:", "2027"}},
		{name: "event sources and zone", user: member, text: "event us-presidential-election-2028",
			want: []string{"Zone: America/New_York", "Tags: #us #election", "Sources: https://www.archives.gov/electoral-college",
				"Reminders: 30d, 7d, 1d, 0d before"}},
		{name: "event missing", user: member, text: "event nope",
			want: []string{`No event "nope"`, "Usage: /alerts event <id>"}, wantErr: true},
		{name: "event args", user: member, text: "event",
			want: []string{"Missing arguments.", "Usage: /alerts event <id>"}, wantErr: true},
		{name: "event too many args", user: member, text: "event a b", want: []string{`Too many arguments: "b"`}, wantErr: true},

		{name: "watchers", user: member, text: "watchers", want: []string{"deadlines — countdown", "@every 1m", "active", "last run never"}},
		{name: "watchers paused", setup: []string{"watcher pause deadlines"}, user: member, text: "watchers",
			want: []string{`deadlines — countdown, "@every 1m", paused`}},

		{name: "history empty", user: member, text: "history", want: []string{"No alerts were sent to this channel yet"}},
		{name: "history bad n", user: member, text: "history lots", want: []string{"n must be a number from 1 to 100"}, wantErr: true},
		{name: "history n too large", user: member, text: "history 101", want: []string{"n must be a number from 1 to 100"}, wantErr: true},
		{name: "history too many args", user: member, text: "history 1 2", want: []string{"Too many arguments"}, wantErr: true},
	})
}

// TestChannelCommands: subscriptions and mutes of a channel. Each case
// that needs an earlier subscribe or mute does it in its setup.
func TestChannelCommands(t *testing.T) {
	runCommandCases(t, []commandCase{
		{name: "subscribe", user: member, text: "subscribe #budget",
			want: []string{"This channel now receives #budget", "(subscribed by slack:U0MEMBER)"}, wantPublic: true, wantAudit: "subscribe"},
		{name: "subscribe all", user: member, text: "subscribe all", want: []string{"This channel now receives all alerts"}, wantPublic: true, wantAudit: "subscribe"},
		{name: "subscribe watcher", user: member, text: "subscribe watcher:deadlines",
			want: []string{"This channel now receives watcher:deadlines"}, wantPublic: true, wantAudit: "subscribe"},
		{name: "subscribe event", user: member, text: "subscribe event:jp-fy2027-budget",
			want: []string{"This channel now receives event:jp-fy2027-budget"}, wantPublic: true, wantAudit: "subscribe"},
		{name: "subscribe again", setup: []string{"subscribe #budget"}, user: member, text: "subscribe tag:budget",
			want: []string{"already receives #budget"}, wantPublic: true},
		{name: "subscribe bad", user: member, text: "subscribe budget", want: []string{"Usage: /alerts subscribe <target>"}, wantErr: true},
		{name: "subscribe missing event", user: member, text: "subscribe event:nope", want: []string{`No event "nope"`}, wantErr: true},
		{name: "subscribe missing watcher", user: member, text: "subscribe watcher:nope", want: []string{`No watcher "nope"`}, wantErr: true},
		{name: "subscribe no target", user: member, text: "subscribe", want: []string{"Missing arguments."}, wantErr: true},

		{name: "subscriptions", setup: []string{"subscribe #budget"}, user: member, text: "subscriptions",
			want: []string{"This channel receives:", "• #budget (chat)"}},
		{name: "subscriptions none", user: member, text: "subscriptions", want: []string{"This channel has no subscriptions."}},
		{name: "subscriptions muted", setup: []string{"subscribe #budget", "mute #budget 1d"}, user: member, text: "subscriptions",
			want: []string{"• #budget (chat)", "Muted: #budget until 2026-11-26 10:00 JST"}},

		{name: "mute", user: member, text: "mute #budget 1d",
			want: []string{"Muted #budget in this channel until 2026-11-26 10:00 JST"}, wantPublic: true, wantAudit: "mute"},
		{name: "mute all", user: member, text: "mute all 2h",
			want: []string{"Muted all alerts in this channel until 2026-11-25 12:00 JST"}, wantPublic: true, wantAudit: "mute"},
		{name: "mute bad duration", user: member, text: "mute #budget forever", want: []string{`Bad duration "forever"`}, wantErr: true},
		{name: "mute too long", user: member, text: "mute #budget 400d", want: []string{"Mutes last at most a year"}, wantErr: true},
		{name: "mute missing duration", user: member, text: "mute #budget", want: []string{"Missing arguments."}, wantErr: true},
		{name: "mute missing event", user: member, text: "mute event:nope 1d", want: []string{`No event "nope"`}, wantErr: true},

		{name: "unmute", setup: []string{"mute #budget 1d"}, user: member, text: "unmute #budget",
			want: []string{"Unmuted #budget"}, wantPublic: true, wantAudit: "unmute"},
		{name: "unmute again", setup: []string{"mute #budget 1d", "unmute #budget"}, user: member, text: "unmute #budget",
			want: []string{"#budget is not muted"}, wantErr: true},
		{name: "unmute bad target", user: member, text: "unmute budget", want: []string{"Usage: /alerts unmute <target>"}, wantErr: true},

		{name: "unsubscribe", setup: []string{"subscribe #budget"}, user: member, text: "unsubscribe #budget",
			want: []string{"no longer receives #budget"}, wantPublic: true, wantAudit: "unsubscribe"},
		{name: "unsubscribe again", setup: []string{"subscribe #budget", "unsubscribe #budget"}, user: member, text: "unsubscribe #budget",
			want: []string{"not subscribed to #budget"}, wantErr: true},
		{name: "unsubscribe bad target", user: member, text: "unsubscribe user:x", want: []string{"Usage: /alerts unsubscribe <target>"}, wantErr: true},
	})
}

// addDiet is the setup that creates the chat event the event commands
// work on.
const addDiet = `event add diet-2027 2027-01 "Ordinary Diet session convenes" #japan #diet`

// TestEventCommands: the admin's event add, set and remove.
func TestEventCommands(t *testing.T) {
	setDiet := `event set diet-2027 due=2027-01-23 note="convened by the Emperor"`
	runCommandCases(t, []commandCase{
		{name: "event add", user: admin, text: addDiet,
			want: []string{"Created event diet-2027: Ordinary Diet session convenes", "expected in January 2027", "[tentative]"}, wantAudit: "event add"},
		{name: "event add lowercases the id", user: admin, text: "event add Diet-2029 2029-01 Title",
			want: []string{"Created event diet-2029"}, wantAudit: "event add"},
		{name: "event add dup", setup: []string{addDiet}, user: admin, text: "event add diet-2027 2027-01 Again",
			want: []string{`Event "diet-2027" already exists`}, wantErr: true},
		{name: "event add config dup", user: admin, text: "event add jp-fy2027-budget 2027-03 Again",
			want: []string{`Event "jp-fy2027-budget" already exists`}, wantErr: true},
		{name: "event add bad due", user: admin, text: "event add x 2027-13 Title", want: []string{`Bad due date "2027-13"`}, wantErr: true},
		{name: "event add bad id", user: admin, text: "event add Bad_Id 2027-01 Title", want: []string{`bad event id "bad_id"`}, wantErr: true},
		{name: "event add no title", user: admin, text: "event add y 2027-01 #tag", want: []string{"The event needs a title."}, wantErr: true},
		{name: "event add bad tag", user: admin, text: "event add y 2027-01 Title #Bad!", want: []string{`Bad tag "#Bad!"`}, wantErr: true},
		{name: "event add missing args", user: admin, text: "event add y 2027-01", want: []string{"Missing arguments."}, wantErr: true},

		{name: "event set", setup: []string{addDiet}, user: admin, text: setDiet,
			want: []string{"Updated diet-2027", "Sat 23 January 2027", "[scheduled]"}, wantAudit: "event set"},
		{name: "event set config event", user: admin, text: "event set jp-fy2027-budget status=postponed",
			want: []string{"Updated jp-fy2027-budget", "[postponed]"}, wantAudit: "event set"},
		{name: "event set bad key", setup: []string{addDiet}, user: admin, text: "event set diet-2027 colour=red",
			want: []string{`Unknown field "colour"`}, wantErr: true},
		{name: "event set bad status", setup: []string{addDiet}, user: admin, text: "event set diet-2027 status=maybe",
			want: []string{`unknown status "maybe"`}, wantErr: true},
		{name: "event set bad due", user: admin, text: "event set jp-fy2027-budget due=2027-02-30", want: []string{"2027-02-30"}, wantErr: true},
		{name: "event set empty title", user: admin, text: `event set jp-fy2027-budget title=""`, want: []string{"The title cannot be empty."}, wantErr: true},
		{name: "event set bad source", user: admin, text: "event set jp-fy2027-budget source=ftp://x", want: []string{"The source must be an http(s) link"}, wantErr: true},
		{name: "event set bad tag", user: admin, text: "event set jp-fy2027-budget tags=ok,no!", want: []string{`Bad tag "no!"`}, wantErr: true},
		{name: "event set bad lead", user: admin, text: "event set jp-fy2027-budget lead_times=soon", want: []string{"soon"}, wantErr: true},
		{name: "event set twice", user: admin, text: "event set jp-fy2027-budget status=happened status=cancelled",
			want: []string{`Field "status" given twice.`}, wantErr: true},
		{name: "event set not key=value", user: admin, text: "event set jp-fy2027-budget happened",
			want: []string{`Expected key=value, got "happened"`}, wantErr: true},
		{name: "event set no fields", user: admin, text: "event set jp-fy2027-budget",
			want: []string{"Give the event id and at least one key=value."}, wantErr: true},
		{name: "event set missing", user: admin, text: "event set nope status=happened", want: []string{`No event "nope"`}, wantErr: true},

		{name: "event history", setup: []string{addDiet, setDiet}, user: member, text: "event diet-2027",
			want: []string{"due 2027-01 → 2027-01-23", "convened by the Emperor", "(by console:local)", "Created in chat"}},
		{name: "event tags and leads", setup: []string{"event set jp-fy2027-budget tags=japan,diet lead_times=14d,1d"},
			user: member, text: "event jp-fy2027-budget",
			want: []string{"Tags: #japan #diet", "Reminders: 14d, 1d before", "current state from console:local, 2026-11-25 10:00 JST"}},
		{name: "event business-day leads", setup: []string{"event set jp-fy2027-budget lead_times=5bd,1bd,0d"},
			user: member, text: "event jp-fy2027-budget", want: []string{"Reminders: 5bd, 1bd, 0d before"}},
		// The config's zone is Asia/Tokyo: Japan's holidays apply.
		{name: "event due on a holiday", setup: []string{"event add gw-2027 2027-05-04 Golden Week test"},
			user: member, text: "event gw-2027", want: []string{"Note: the due date falls on a public holiday in Japan (Greenery Day)"}},
		{name: "event due on a weekend", setup: []string{"event add sat-2027 2027-05-08 Saturday test"},
			user: member, text: "event sat-2027", want: []string{"Note: the due date falls on a Saturday"}},
		{name: "event due on a working day", setup: []string{"event add fri-2027 2027-05-07 Friday test"},
			user: member, text: "event fri-2027", want: []string{"Friday test (fri-2027)"}, notWant: []string{"Note: the due date"}},
		{name: "event coarse due has no day note", setup: []string{"event add may-2027 2027-05 Month test"},
			user: member, text: "event may-2027", want: []string{"Month test (may-2027)"}, notWant: []string{"Note: the due date"}},

		{name: "event remove", setup: []string{addDiet}, user: admin, text: "event remove diet-2027",
			want: []string{"Removed event diet-2027"}, notWant: []string{"config file"}, wantAudit: "event remove"},
		{name: "event remove config event", user: admin, text: "event remove jp-fy2027-budget",
			want: []string{"Removed event jp-fy2027-budget", "It is still in the config file"}, wantAudit: "event remove"},
		{name: "event remove missing", user: admin, text: "event remove nope", want: []string{`No event "nope"`}, wantErr: true},
		{name: "event gone after remove", setup: []string{addDiet, "event remove diet-2027"}, user: member, text: "event diet-2027",
			want: []string{`No event "diet-2027"`}, wantErr: true},
	})
}

// addBudgetOnly is the setup that creates the chat watcher the watcher
// commands work on.
const addBudgetOnly = `watcher add countdown budget-only schedule="@every 5m" tags=budget lead_times=14d,1d`

// TestWatcherCommands: the admin's watcher add, set, pause, resume, run
// and remove.
func TestWatcherCommands(t *testing.T) {
	runCommandCases(t, []commandCase{
		{name: "watcher add", user: admin, text: addBudgetOnly, want: []string{"Added countdown watcher budget-only"}, wantAudit: "watcher add"},
		{name: "watcher add bad kind", user: admin, text: `watcher add rss x schedule="@every 5m"`,
			want: []string{`unknown kind "rss" (want calendar, countdown, feed, jsonapi, page)`}, wantErr: true},
		{name: "watcher add bad cron", user: admin, text: `watcher add countdown y schedule="every day"`,
			want: []string{"Usage: /alerts watcher add"}, wantErr: true},
		{name: "watcher add no schedule", user: admin, text: "watcher add countdown y",
			want: []string{"schedule is required"}, wantErr: true},
		{name: "watcher add bad field", user: admin, text: `watcher add countdown z schedule="@every 5m" colour=red`,
			want: []string{"colour"}, wantErr: true},
		{name: "watcher add feed no url", user: admin, text: `watcher add feed f schedule="@every 5m"`, want: []string{"url"}, wantErr: true},
		{name: "watcher add dup", user: admin, text: `watcher add countdown deadlines schedule="@every 5m"`,
			want: []string{`Watcher "deadlines" already exists`}, wantErr: true},
		{name: "watcher add missing args", user: admin, text: "watcher add countdown",
			want: []string{"Missing arguments."}, wantErr: true},

		{name: "watcher set", setup: []string{addBudgetOnly}, user: admin, text: `watcher set budget-only schedule="@every 10m"`,
			want: []string{"Updated watcher budget-only"}, wantAudit: "watcher set"},
		{name: "watcher set shows", setup: []string{addBudgetOnly, `watcher set budget-only schedule="@every 10m"`}, user: member, text: "watchers",
			want: []string{`budget-only — countdown, "@every 10m", active`}},
		{name: "watcher set kind", user: admin, text: "watcher set deadlines kind=feed", want: []string{"cannot be changed"}, wantErr: true},
		{name: "watcher set bad cron", user: admin, text: `watcher set deadlines schedule="now and then"`, wantErr: true},
		{name: "watcher set missing", user: admin, text: `watcher set nope schedule="@every 5m"`, want: []string{`No watcher "nope"`}, wantErr: true},

		{name: "watcher pause", setup: []string{addBudgetOnly}, user: admin, text: "watcher pause budget-only",
			want: []string{"Watcher budget-only paused"}, wantAudit: "watcher pause"},
		{name: "watcher pause again", setup: []string{"watcher pause deadlines"}, user: admin, text: "watcher pause deadlines",
			want: []string{"Watcher deadlines is already paused."}},
		{name: "watcher paused run", setup: []string{addBudgetOnly, "watcher pause budget-only"}, user: admin, text: "watcher run budget-only",
			want: []string{"is paused"}, wantErr: true},
		{name: "watcher resume", setup: []string{addBudgetOnly, "watcher pause budget-only"}, user: admin, text: "watcher resume budget-only",
			want: []string{"Watcher budget-only resumed"}, wantAudit: "watcher resume"},
		{name: "watcher resume running", user: admin, text: "watcher resume deadlines", want: []string{"Watcher deadlines is already running."}},
		{name: "watcher run", setup: []string{addBudgetOnly}, user: admin, text: "watcher run budget-only",
			want: []string{"Watcher budget-only checked:"}, wantAudit: "watcher run"},
		{name: "watcher remove", setup: []string{addBudgetOnly}, user: admin, text: "watcher remove budget-only",
			want: []string{"Removed watcher budget-only"}, wantAudit: "watcher remove"},
		{name: "watcher gone after remove", setup: []string{addBudgetOnly, "watcher remove budget-only"}, user: member, text: "watchers",
			notWant: []string{"budget-only"}},
		{name: "watcher remove denied", user: member, text: "watcher remove deadlines", want: []string{"Only admins"}, wantErr: true, wantAudit: "denied: watcher remove"},
		{name: "watcher missing", user: admin, text: "watcher run nope", want: []string{`No watcher "nope"`}, wantErr: true},
	})
}

// TestEventSetFiresChanged: an admin's change is alerted once, with old →
// new, and re-plans the reminders.
func TestEventSetFiresChanged(t *testing.T) {
	a := newApp(t, teamConfig(t), commandsNow)
	a.tick("deadlines")
	a.drain()
	console := a.plat["console"]
	before := len(console.Sent())
	a.must(admin, admin, `event set jp-fy2027-budget due=2027-03-26 note="passed early"`)
	a.clock.Add(time.Minute)
	a.tick("deadlines")
	a.tick("deadlines") // a second tick adds nothing
	a.drain()
	sent := console.Sent()[before:]
	if len(sent) != 1 {
		t.Fatalf("sent %d messages after event set, want 1: %+v", len(sent), sent)
	}
	m := sent[0].Message
	if m.Kind != watchers.KindChanged || !strings.Contains(m.Text, "2027") || !strings.Contains(m.Text, "passed early") {
		t.Errorf("changed alert = %+v", m)
	}
	if n := len(a.plat["slack"].Sent()) + len(a.plat["discord"].Sent()); n != 0 {
		t.Errorf("%d messages to unsubscribed platforms", n)
	}
	// Re-planned: the next alert is the 30d reminder of the new date.
	r := a.must(member, channel, "event jp-fy2027-budget")
	if want := "Next alert: 30d reminder, Wed 24 Feb 2027 09:00 JST"; !strings.Contains(r.Text, want) {
		t.Errorf("event jp-fy2027-budget:\n%s\nlacks %q", r.Text, want)
	}
}

// TestAdminCommandsRefused: a member is refused every admin command, the
// refusal is audited with who tried what, and nothing changes.
func TestAdminCommandsRefused(t *testing.T) {
	tests := []struct {
		name string
		text string
	}{
		{name: "event add", text: "event add diet-2027 2027-01 Ordinary Diet session #japan"},
		{name: "event set", text: "event set jp-fy2027-budget status=cancelled"},
		{name: "event remove", text: "event remove jp-fy2027-budget"},
		{name: "watcher add", text: `watcher add countdown mine schedule="@every 5m"`},
		{name: "watcher set", text: `watcher set deadlines schedule="@every 5m"`},
		{name: "watcher pause", text: "watcher pause deadlines"},
		{name: "watcher resume", text: "watcher resume deadlines"},
		{name: "watcher run", text: "watcher run deadlines"},
		{name: "watcher remove", text: "watcher remove deadlines"},
	}
	cfg := teamConfig(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t, cfg, commandsNow)
			evBefore, wBefore := a.eventsAndWatchers()
			r := a.do(member, channel, tt.text)
			want := fmt.Sprintf("Only admins may use /alerts %s.", tt.name)
			if !r.Error || r.Public || !strings.Contains(r.Text, want) {
				t.Errorf("reply %+v, want an error saying %q", r, want)
			}
			log := a.auditLog()
			if len(log) == 0 {
				t.Fatal("no audit entry")
			}
			e := log[0]
			args := strings.TrimSpace(strings.TrimPrefix(tt.text, tt.name))
			args = strings.ReplaceAll(args, `"`, "") // as tokenized
			if e.Action != "denied: "+tt.name || e.Who != member || e.Channel != channel || e.Target != args {
				t.Errorf("audit entry %+v, want denied: %s by %s with target %q", e, tt.name, member, args)
			}
			evAfter, wAfter := a.eventsAndWatchers()
			if diff := cmp.Diff(evBefore, evAfter); diff != "" {
				t.Errorf("events changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(wBefore, wAfter); diff != "" {
				t.Errorf("watchers changed (-before +after):\n%s", diff)
			}
			if got := a.history("console:local"); len(got) != 0 {
				t.Errorf("refused command created deliveries: %+v", got)
			}
		})
	}
}

// eventsAndWatchers summarizes what admin commands change.
func (a *app) eventsAndWatchers() (events []string, ws []string) {
	a.t.Helper()
	ctx := context.Background()
	ids, err := a.db.AllEventIDs(ctx)
	if err != nil {
		a.t.Fatal(err)
	}
	for _, id := range ids {
		ev, err := a.db.Event(ctx, id)
		if err != nil {
			a.t.Fatal(err)
		}
		events = append(events, fmt.Sprintf("%s %s %s %v", ev.ID, ev.Current.Due.Raw, ev.Current.Status, ev.Tags))
	}
	list, err := a.db.Watchers(ctx)
	if err != nil {
		a.t.Fatal(err)
	}
	for _, w := range list {
		ws = append(ws, fmt.Sprintf("%s %s %q paused=%v run=%s", w.Spec.ID, w.Spec.Kind, w.Spec.Schedule, w.Spec.Paused, w.LastRun))
	}
	return events, ws
}

// TestAdminFromConfig: an admin named in the config (not only the local
// console) may use admin commands.
func TestAdminFromConfig(t *testing.T) {
	cfg := strings.Replace(teamConfig(t), "admins: [console:local]", "admins: [slack:U0ADMIN1]", 1)
	a := newApp(t, cfg, commandsNow)
	if r := a.do("slack:U0ADMIN1", channel, "event set jp-fy2027-budget status=postponed"); r.Error {
		t.Errorf("config admin refused: %s", r.Text)
	}
	if r := a.do(admin, channel, "event set jp-fy2027-budget status=scheduled"); r.Error {
		t.Errorf("local admin refused: %s", r.Text)
	}
	if r := a.do("slack:U0OTHER", channel, "event set jp-fy2027-budget status=cancelled"); !r.Error {
		t.Errorf("a member changed an event: %s", r.Text)
	}
}

// TestCommandArgsFromDiscord: pre-split words (Discord options) are used as
// they are, without tokenizing the text.
func TestCommandArgsFromDiscord(t *testing.T) {
	a := newApp(t, teamConfig(t), commandsNow)
	r := a.router.Handle(context.Background(), bot.Request{Platform: "discord", User: admin, Channel: "discord:1234",
		Text: "(ignored)", Args: []string{"event", "add", "diet-2027", "2027-01", `Ordinary "Diet" session`, "#diet"}})
	if r.Error || !strings.Contains(r.Text, `Created event diet-2027: Ordinary "Diet" session`) {
		t.Fatalf("reply %+v", r)
	}
	ev, err := a.db.Event(context.Background(), "diet-2027")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"diet"}, ev.Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
}

// TestCommandInternalError: a failing store is answered "Internal error."
// without its details.
func TestCommandInternalError(t *testing.T) {
	a := newApp(t, teamConfig(t), commandsNow)
	if err := a.db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"upcoming", "event jp-fy2027-budget", "subscriptions", "history"} {
		r := a.do(member, channel, text)
		if !r.Error || r.Text != "Internal error." {
			t.Errorf("/alerts %s on a closed store: %+v, want Internal error.", text, r)
		}
	}
}

func TestSlowAndComplete(t *testing.T) {
	a := newApp(t, teamConfig(t), commandsNow)
	for text, want := range map[string]bool{
		"watcher run deadlines":                      true,
		`watcher add feed x url=https://x.org/`:      true,
		"upcoming":                                   false,
		"event set jp-fy2027-budget status=happened": false,
		`event "unterminated`:                        false,
		"frobnicate":                                 false,
	} {
		if got := a.router.Slow(bot.Request{Text: text}); got != want {
			t.Errorf("Slow(%q) = %v, want %v", text, got, want)
		}
	}
	ctx := context.Background()
	for _, tt := range []struct {
		what, prefix string
		want         []string
	}{
		{what: "event", prefix: "upper", want: []string{"upper-house-election-2025", "upper-house-election-2028"}},
		{what: "event", prefix: "presidential", want: []string{"us-presidential-election-2028"}},
		{what: "watcher", prefix: "dead", want: []string{"deadlines"}},
		{what: "tag", prefix: "#bu", want: []string{"budget"}},
		{what: "tag", prefix: "zzz", want: nil},
		{what: "colour", prefix: "", want: nil},
	} {
		got := a.router.Complete(ctx, tt.what, tt.prefix)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Complete(%s, %q) (-want +got):\n%s", tt.what, tt.prefix, diff)
		}
	}
	if got := a.router.Complete(ctx, "event", ""); len(got) != 10 || !slices.IsSorted(got) {
		t.Errorf("Complete(event, \"\") = %v, want the 10 ids, sorted", got)
	}
}

// TestHistoryCommand: a channel's history lists its alerts with their
// delivery state: sent, retrying, failed with the error.
func TestHistoryCommand(t *testing.T) {
	const cfg = `
timezone: Asia/Tokyo
events:
  - id: e1
    title: Event one
    due: 2026-12-02
    lead_times: [7d]
subscriptions:
  - channel: slack:CSENT
    to: [all]
  - channel: slack:CRETRY
    to: [all]
  - channel: slack:CGONE
    to: [all]
watchers:
  - id: deadlines
    kind: countdown
    schedule: "@every 1m"
`
	a := newApp(t, cfg, time.Date(2026, 11, 25, 9, 0, 0, 0, tokyo))
	a.plat["slack"].failWith(func(out bot.Outgoing) error {
		switch out.Channel {
		case "CRETRY":
			return bot.Transient(errBoom, time.Minute)
		case "CGONE":
			return bot.Permanent(fmt.Errorf("channel_not_found"))
		}
		return nil
	})
	a.tick("deadlines")
	a.drain()
	for _, tt := range []struct {
		channel string
		want    string
	}{
		{channel: "slack:CSENT", want: "• 2026-11-25 09:00 JST  reminder  Event one — sent"},
		{channel: "slack:CRETRY", want: "• 2026-11-25 09:00 JST  reminder  Event one — retrying (attempt 2)"},
		{channel: "slack:CGONE", want: "• 2026-11-25 09:00 JST  reminder  Event one — failed: channel_not_found"},
	} {
		r := a.do(member, tt.channel, "history")
		if r.Error || !strings.Contains(r.Text, "in this channel:") || !strings.Contains(r.Text, tt.want) {
			t.Errorf("history in %s:\n%s\nwant %q", tt.channel, r.Text, tt.want)
		}
	}
	// The failure report went to the channels subscribed to all; the
	// newest first, and "history 1" shows only it.
	r := a.do(member, "slack:CSENT", "history 1")
	if !strings.Contains(r.Text, "Last 1 alert in this channel") || !strings.Contains(r.Text, "delivery_failed") || strings.Contains(r.Text, "Event one") {
		t.Errorf("history 1 in slack:CSENT:\n%s", r.Text)
	}
}

// TestEventShowsRecentAlerts: "event" lists the event's alerts, marking
// those that catch-up passed over.
func TestEventShowsRecentAlerts(t *testing.T) {
	const cfg = `
timezone: Asia/Tokyo
events:
  - id: e1
    title: Event one
    due: 2026-11-28
    lead_times: [7d, 3d, 1d]
watchers:
  - id: deadlines
    kind: countdown
    schedule: "@every 1m"
`
	a := newApp(t, cfg, commandsNow)
	a.tick("deadlines")
	r := a.must(member, channel, "event e1")
	for _, want := range []string{
		"Recent alerts:\n  2026-11-25 09:00 reminder\n  2026-11-21 09:00 reminder (skipped by catch-up)",
		"Next alert: 1d reminder, Fri 27 Nov 2026 09:00 JST (in 2 days)",
	} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("event e1:\n%s\nlacks %q", r.Text, want)
		}
	}
}

// TestEventSetWithPlannedChange: an admin may change an event that has a
// dated change still ahead; the change made now comes first in its
// history and the planned one stays planned.
func TestEventSetWithPlannedChange(t *testing.T) {
	a := newApp(t, seedConfig, seedNow)
	r := a.do(admin, channel, `event set e2 title="Event two, renamed"`)
	if r.Error || !strings.Contains(r.Text, "Updated e2: Event two, renamed") {
		t.Fatalf("event set on an event with a planned change: %+v", r)
	}
	r = a.must(member, channel, "event e2")
	for _, want := range []string{
		`2026-11-25 10:00 JST — title "Event two" → "Event two, renamed" (by console:local)`,
		"2027-01-15 09:00 JST (planned) — status scheduled → postponed; put off (by config)",
	} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("event e2:\n%s\nlacks %q", r.Text, want)
		}
	}
}
