package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

// addSangiin is the setup that creates a chat event written in Japanese,
// with a Japanese tag.
const addSangiin = "event add sangiin-2028 令和10年7月 参議院議員通常選挙 #参院選 #japan"

// TestEventsCommand: /alerts events lists every event — open ones by
// window start, past ones newest first — by tag, scope and words in any
// script, with its errors. At commandsNow the team config has six open
// and four past events.
func TestEventsCommand(t *testing.T) {
	runCommandCases(t, []commandCase{
		{name: "open", user: member, text: "events",
			want: []string{"Open events (1–6 of 6):",
				"• Diet passes the FY2027 budget — Wed 31 March 2027 (in 126 days) [scheduled] (jp-fy2027-budget)",
				"(us-presidential-election-2028)"},
			notWant: []string{"jp-fy2025-budget", "More:"}},
		{name: "past newest first", user: member, text: "events past",
			want: []string{"Past events (1–4 of 4):\n" +
				"• House of Councillors (Upper House) election — Sun 20 July 2025 (493 days ago) [happened] (upper-house-election-2025)\n" +
				"• Diet passes the FY2025 budget (Japan's FY2025 starts April 1) — Mon 31 March 2025 (604 days ago) [happened] (jp-fy2025-budget)\n" +
				"• Ishiba–Trump summit — Fri 7 February 2025 (656 days ago) [happened] (ishiba-trump-summit)\n" +
				"• Inauguration of President Trump — 21 January 2025 02:00 JST (673 days ago) [happened] (trump-inauguration)"}},
		{name: "all: open then past", user: member, text: "events #budget all",
			want: []string{"Events #budget (1–3 of 3):\n• Diet passes the FY2027 budget", "(us-fy2028-appropriations)\nPast:\n• Diet passes the FY2025 budget"}},
		{name: "words", user: member, text: "events election",
			want:    []string{"Open events matching \"election\" (1–2 of 2):", "(upper-house-election-2028)", "(us-presidential-election-2028)"},
			notWant: []string{"upper-house-election-2025"}},
		{name: "words all must match, any case", user: member, text: "events all ELECTION house",
			want: []string{"(1–2 of 2)", "(upper-house-election-2028)", "Past:\n• House of Councillors (Upper House) election"}, notWant: []string{"presidential"}},
		{name: "words and past as a word", user: member, text: "events all past",
			want: []string{`No events matching "past". Try /alerts events all with fewer words or another tag.`}},
		{name: "Japanese words", setup: []string{addSangiin}, user: member, text: "events 通常選挙",
			want: []string{"• 参議院議員通常選挙 — expected in July 2028", "(sangiin-2028)"}},
		{name: "Japanese tag", setup: []string{addSangiin}, user: member, text: "events #参院選",
			want: []string{"Open events #参院選 (1–1 of 1):", "(sangiin-2028)"}},
		{name: "full-width hash", setup: []string{addSangiin}, user: member, text: "events ＃参院選",
			want: []string{"(sangiin-2028)"}},
		{name: "none", user: member, text: "events zzz",
			want: []string{`No open events matching "zzz". Try /alerts events all.`}},
		{name: "two tags", user: member, text: "events #us #japan",
			want: []string{`One #tag at a time, got #us and "#japan".`, "Usage: /alerts events [#tag] [past|all] [words…] [page=…]"}, wantErr: true},
		{name: "bad tag", user: member, text: "events #Bad!",
			want: []string{`Bad tag "#Bad!": a tag is 1-64 lowercase letters (any script)`}, wantErr: true},
		{name: "bad page", user: member, text: "events page=0", want: []string{"page must be a number from 1, e.g. page=2"}, wantErr: true},
		{name: "page past the end", user: member, text: "events page=3",
			want: []string{"Page 3 is past the end: 6 events match, on 1 page."}, wantErr: true},
		{name: "missing event hints events", user: member, text: "event nope",
			want: []string{`No event "nope". Find ids with /alerts events all`}, wantErr: true},
	})
}

// TestEventsPaging follows the More buttons of a long list to its end:
// every event comes once, in order, each page within Discord's content
// limit, and the last page has no button.
func TestEventsPaging(t *testing.T) {
	var b strings.Builder
	b.WriteString("timezone: Asia/Tokyo\nadmins: [console:local]\nevents:\n")
	for i := range 23 {
		// Titles long enough that cutting them matters for the limit.
		fmt.Fprintf(&b, "  - id: e%02d\n    title: %s %d\n    due: 2027-01-%02d\n    tags: [budget]\n", i, strings.Repeat("Long title ", 20), i, i+1)
	}
	b.WriteString("  - id: other\n    title: Not budget\n    due: 2027-02\n")
	a := newApp(t, b.String(), commandsNow)
	text := "events #budget"
	var seen []string
	for page := 1; ; page++ {
		r := a.must(member, channel, text)
		if n := len([]rune(r.Text)); n > 2000 {
			t.Errorf("page %d: %d characters, over Discord's 2000", page, n)
		}
		for _, line := range strings.Split(r.Text, "\n") {
			if strings.HasPrefix(line, "• ") {
				if !strings.Contains(line, "Long title Long title") || !strings.Contains(line, "…") {
					t.Errorf("page %d: line not cut as expected: %q", page, line)
				}
				seen = append(seen, line[strings.LastIndex(line, "(")+1:len(line)-1])
			}
		}
		if page == 3 {
			if len(r.Buttons) != 0 || strings.Contains(r.Text, "More:") {
				t.Errorf("last page has a More button: %+v", r.Buttons)
			}
			if !strings.HasPrefix(r.Text, "Open events #budget (21–23 of 23):") {
				t.Errorf("last page heading:\n%s", r.Text)
			}
			break
		}
		want := fmt.Sprintf("events #budget page=%d", page+1)
		if len(r.Buttons) != 1 || r.Buttons[0].Label != "More" || r.Buttons[0].Command != want || r.Buttons[0].AdminOnly {
			t.Fatalf("page %d buttons %+v, want More running %q", page, r.Buttons, want)
		}
		if !strings.Contains(r.Text, "More: /alerts "+want) {
			t.Errorf("page %d does not say how to go on without buttons:\n%s", page, r.Text)
		}
		text = r.Buttons[0].Command
	}
	var want []string
	for i := range 23 {
		want = append(want, fmt.Sprintf("e%02d", i))
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("events over all pages (-want +got):\n%s", diff)
	}
}

// TestEventsButtonKeepsTheQuery: the More command reads back as the same
// query, scope and words included.
func TestEventsButtonKeepsTheQuery(t *testing.T) {
	var b strings.Builder
	b.WriteString("timezone: Asia/Tokyo\nevents:\n")
	for i := range 12 {
		fmt.Fprintf(&b, "  - id: p%02d\n    title: Past election %d\n    due: 2025-01-%02d\n", i, i, i+1)
	}
	a := newApp(t, b.String(), commandsNow)
	for text, want := range map[string]string{
		"events past election":        "events past election page=2",
		`events "Past" past ELECTION`: "events past past election page=2", // the first past is the scope, the second a word
		"events all":                  "events all page=2",
	} {
		r := a.must(member, channel, text)
		if len(r.Buttons) == 0 {
			t.Errorf("%s: no More button:\n%s", text, r.Text)
			continue
		}
		if got := r.Buttons[0].Command; got != want {
			t.Errorf("%s: More runs %q, want %q", text, got, want)
		}
		if next := a.must(member, channel, r.Buttons[0].Command); !strings.Contains(next.Text, "(11–12 of 12)") {
			t.Errorf("%s, page 2:\n%s", text, next.Text)
		}
	}
}

// TestTzCommand: a user's zone applies to the times of their replies
// only, persists, and is never audited.
func TestTzCommand(t *testing.T) {
	a := newApp(t, teamConfig(t), commandsNow)
	const ny = "slack:U0NEWYORK"
	if r := a.must(ny, channel, "tz"); !strings.Contains(r.Text, "Times in your replies are in Asia/Tokyo, the bot's zone (now Wed 10:00 JST)") {
		t.Errorf("tz before setting:\n%s", r.Text)
	}
	if r := a.must(ny, channel, "tz america/new_york"); !strings.Contains(r.Text, "Times in your replies are now in America/New_York (now Tue 20:00 EST)") {
		t.Errorf("tz america/new_york:\n%s", r.Text)
	}
	if r := a.must(ny, channel, "tz"); !strings.Contains(r.Text, "Times in your replies are in America/New_York (now Tue 20:00 EST)") {
		t.Errorf("tz after setting:\n%s", r.Text)
	}
	// One zone per reply: the inauguration instant, its history and the
	// footer all in the reader's zone.
	r := a.must(ny, channel, "event trump-inauguration")
	for _, want := range []string{"Due: 20 January 2025 12:00 EST", "Zone: America/New_York\n", "2025-01-20 12:00 EST — status scheduled → happened"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("event trump-inauguration for New York lacks %q:\n%s", want, r.Text)
		}
	}
	if strings.Contains(r.Text, "JST") {
		t.Errorf("New York reply mixes in JST:\n%s", r.Text)
	}
	r = a.must(member, channel, "event trump-inauguration")
	for _, want := range []string{"Due: 21 January 2025 02:00 JST", "Zone: America/New_York (its dates); times here are Asia/Tokyo", "2025-01-21 02:00 JST — status"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("event trump-inauguration for Tokyo lacks %q:\n%s", want, r.Text)
		}
	}
	if strings.Contains(r.Text, "EST") {
		t.Errorf("Tokyo reply mixes in EST:\n%s", r.Text)
	}
	if r := a.must(ny, channel, "mute #budget 1d"); !strings.Contains(r.Text, "until 2026-11-25 20:00 EST") {
		t.Errorf("mute for New York:\n%s", r.Text)
	}
	// Persisted: a restart keeps it.
	b := openApp(t, teamConfig(t), commandsNow, appOptions{path: a.path, noSeed: true})
	if r := b.must(ny, channel, "subscriptions"); !strings.Contains(r.Text, "Muted: #budget until 2026-11-25 20:00 EST") {
		t.Errorf("subscriptions after a restart:\n%s", r.Text)
	}
	if r := b.must(ny, channel, "tz off"); !strings.Contains(r.Text, "back in the bot's zone, Asia/Tokyo") {
		t.Errorf("tz off:\n%s", r.Text)
	}
	if r := b.must(ny, channel, "subscriptions"); !strings.Contains(r.Text, "until 2026-11-26 10:00 JST") {
		t.Errorf("subscriptions after tz off:\n%s", r.Text)
	}
	for _, e := range b.auditLog() {
		if strings.Contains(e.Action, "tz") {
			t.Errorf("tz audited: %+v", e)
		}
	}
}

func TestTzErrors(t *testing.T) {
	runCommandCases(t, []commandCase{
		{name: "unknown zone", user: member, text: "tz Mars/Olympus",
			want: []string{`Unknown time zone "Mars/Olympus": use an IANA name such as Asia/Tokyo`, "e.g. /alerts tz America/New_York", "Usage: /alerts tz [zone]"}, wantErr: true},
		{name: "local refused", user: member, text: "tz Local", want: []string{`Unknown time zone "Local"`}, wantErr: true},
		{name: "too many", user: member, text: "tz Asia/Tokyo now", want: []string{`Too many arguments: "now".`}, wantErr: true},
		{name: "utc", user: member, text: "tz utc", want: []string{"now in UTC (now Wed 01:00 UTC)"}},
	})
}

// TestAuditCommand: admins read the audit log, newest first, filtered by
// words; members are refused and the refusal is itself audited.
func TestAuditCommand(t *testing.T) {
	setup := []string{"subscribe #budget", "mute #budget 1d", "event set jp-fy2027-budget status=postponed"}
	runCommandCases(t, []commandCase{
		{name: "last entries", setup: setup, user: admin, text: "audit",
			want: []string{"Last 4 audit entries, newest first:",
				"• 2026-11-25 10:00 JST  console:local in slack:C0BUDGET — event set jp-fy2027-budget",
				`"Status":"scheduled"`, `"Status":"postponed"`,
				"console:local in slack:C0BUDGET — mute tag:budget\n    — → until 2026-11-26T01:00:00Z",
				"— seed test.yaml"}},
		{name: "n", setup: setup, user: admin, text: "audit 1",
			want: []string{"Last 1 audit entry, newest first:", "event set"}, notWant: []string{"mute"}},
		{name: "words", setup: setup, user: admin, text: "audit budget MUTE",
			want: []string{`Last 1 audit entry matching "budget mute"`, "mute tag:budget"}, notWant: []string{"event set"}},
		{name: "no match", user: admin, text: "audit frobnicate", want: []string{`No audit entries matching "frobnicate".`}},
		{name: "bad n", user: admin, text: "audit 0", want: []string{"n must be a number from 1 to 100"}, wantErr: true},
		{name: "member refused", user: member, text: "audit",
			want: []string{"Only admins may use /alerts audit."}, wantErr: true, wantAudit: "denied: audit"},
	})
}

// TestFirstHourCommandFixes: the rough edges of issue 11's first hour,
// each as a reply.
func TestFirstHourCommandFixes(t *testing.T) {
	long := strings.Repeat("x", 500)
	runCommandCases(t, []commandCase{
		{name: "watcher alone shows its usage", user: admin, text: "watcher",
			want: []string{"/alerts watcher needs one of: add, set, pause, resume, run, remove.",
				"/alerts watcher add <kind> <id> key=value…", "/alerts watcher remove <id>"},
			notWant: []string{"Unknown command"}, wantErr: true},
		{name: "watcher with an unknown subcommand", user: admin, text: "watcher frobnicate x",
			want: []string{"/alerts watcher needs one of:"}, wantErr: true},
		{name: "title with spaces says to quote", user: admin, text: "event set jp-fy2027-budget title=New title with spaces",
			want: []string{`Expected key=value, got "title". A value with spaces needs quotes: title="New title with spaces".`}, wantErr: true},
		{name: "quote hint stops at the next key", user: admin, text: "event set jp-fy2027-budget title=New title note=why",
			want: []string{`title="New title"`}, wantErr: true},
		{name: "long input cut in echoes", user: member, text: "event " + long,
			want: []string{`No event "` + strings.Repeat("x", 59) + `…"`}, notWant: []string{strings.Repeat("x", 61)}, wantErr: true},
		{name: "long unknown command cut", user: member, text: long,
			want: []string{`Unknown command "` + strings.Repeat("x", 59) + `…"`}, notWant: []string{strings.Repeat("x", 61)}, wantErr: true},
		{name: "long due cut", user: admin, text: "event add y 2027-" + long + " Title",
			want: []string{`Bad due date "2027-` + strings.Repeat("x", 54) + `…": 505 bytes is too long for a date`}, notWant: []string{strings.Repeat("x", 61)}, wantErr: true},
		{name: "happened before its date asks to confirm", user: admin, text: "event set jp-fy2027-budget status=happened",
			want: []string{"jp-fy2027-budget is due Wed 31 March 2027 (in 126 days), so it cannot have happened yet. If it did, add confirm=yes"}, wantErr: true},
		{name: "happened confirmed", user: admin, text: "event set jp-fy2027-budget status=happened confirm=yes",
			want: []string{"Updated jp-fy2027-budget", "[happened]"}, wantAudit: "event set"},
		{name: "happened during the window needs no confirm", user: admin, text: "event set jp-defense-2pct-gdp due=2026 status=happened",
			want: []string{"[happened]"}, wantAudit: "event set"},
		{name: "past due asks to confirm", user: admin, text: "event set jp-fy2027-budget due=2026-03-31",
			want: []string{"The new due date 2026-03-31 is already past. Give a date ahead, set status=happened too, or add confirm=yes."}, wantErr: true},
		{name: "past due with happened", user: admin, text: "event set jp-fy2027-budget due=2026-03-31 status=happened",
			want: []string{"[happened]"}, wantAudit: "event set"},
		{name: "confirm only yes", user: admin, text: "event set jp-fy2027-budget status=happened confirm=sure",
			want: []string{`confirm takes only yes, e.g. confirm=yes; got "sure".`}, wantErr: true},
		{name: "watcher field of the wrong kind", user: admin, text: "watcher set deadlines fail_after=abc",
			want: []string{`fail_after must be a whole number, got "abc", e.g. fail_after=3.`}, notWant: []string{"int", "watchers."}, wantErr: true},
		{name: "watcher bool field", user: admin, text: "watcher set deadlines paused=maybe",
			want: []string{`paused must be true or false, got "maybe", e.g. paused=true.`}, wantErr: true},
		{name: "fetch option without its prefix", user: admin, text: "watcher set deadlines timeout=30s",
			want: []string{"Updated watcher deadlines."}, wantAudit: "watcher set"},
		{name: "fetch option named alone", user: admin, text: "watcher set deadlines max_bytes=10",
			want: []string{`Unknown watcher field "max_bytes"; the fetch options are written fetch.max_bytes=…`}, notWant: []string{"watchers.Spec"}, wantErr: true},
		{name: "unknown watcher field", user: admin, text: "watcher set deadlines colour=red",
			want: []string{`Unknown watcher field "colour"`}, notWant: []string{"watchers.Spec"}, wantErr: true},
		{name: "lead_times named", user: admin, text: "event set jp-fy2027-budget lead_times=soon",
			want: []string{`lead_times: bad duration "soon"`, "e.g. 7d, 12h, 1h30m or 2w3d"}, wantErr: true},
	})
}

// TestFriendlierInput: durations combine units, due dates take the
// Japanese forms (stored canonical, echoed as typed), tags take any
// script.
func TestFriendlierInput(t *testing.T) {
	runCommandCases(t, []commandCase{
		{name: "mute 1h30m", user: member, text: "mute #budget 1h30m",
			want: []string{"until 2026-11-25 11:30 JST"}, wantPublic: true, wantAudit: "mute"},
		{name: "upcoming 2w3d", user: member, text: "upcoming 2w3d", want: []string{"No upcoming events within 17d"}},
		{name: "lead times combined", user: admin, text: "event set jp-fy2027-budget lead_times=2w3d,1d12h,1h30m",
			want: []string{"Updated jp-fy2027-budget"}, wantAudit: "event set"},
		{name: "Japanese due", user: admin, text: "event add fy-2027-end 令和九年三月三十一日 End of JFY2026",
			want: []string{"Created event fy-2027-end: End of JFY2026 — Wed 31 March 2027 (in 126 days) [scheduled].",
				`Due "令和九年三月三十一日" is stored as 2027-03-31.`}, wantAudit: "event add"},
		{name: "Japanese fiscal year", user: admin, text: "event add defense-plan 令和9年度 Defense plan #防衛",
			want: []string{"expected in JFY2027 (April 2027 – March 2028)", `Due "令和9年度" is stored as JFY2027.`}, wantAudit: "event add"},
		{name: "canonical due echoes nothing", user: admin, text: "event add plain 2027-03 Plain",
			want: []string{"Created event plain"}, notWant: []string{"stored as"}, wantAudit: "event add"},
		{name: "Japanese due in event set", user: admin, text: "event set jp-fy2027-budget due=2027年3月26日",
			want: []string{"Fri 26 March 2027", `Due "2027年3月26日" is stored as 2027-03-26.`}, wantAudit: "event set"},
		{name: "Japanese due before its era", user: admin, text: "event add x 令和元年4月 Too early",
			want: []string{"令和元年4月 is before 令和 began on 2019-05-01"}, wantErr: true},
		{name: "Japanese tag subscribe", setup: []string{addSangiin}, user: member, text: "subscribe #参院選",
			want: []string{"This channel now receives #参院選"}, wantPublic: true, wantAudit: "subscribe"},
		{name: "Japanese tag upcoming", setup: []string{addSangiin}, user: member, text: "upcoming #参院選 1000d",
			want: []string{"Upcoming events #参院選 within 1000d:", "参議院議員通常選挙"}},
		{name: "Japanese tags in event set", user: admin, text: "event set jp-fy2027-budget tags=予算,japan",
			want: []string{"Updated jp-fy2027-budget"}, wantAudit: "event set"},
	})
	// Stored canonical: the history and the store hold 2027-03-31.
	a := newApp(t, teamConfig(t), commandsNow)
	a.must(admin, channel, "event add fy-2027-end 令和9年3月31日 End of JFY2026")
	if ev := a.event("fy-2027-end"); ev.Due != "2027-03-31" || ev.Current.Due.Raw != "2027-03-31" {
		t.Errorf("stored due %q, current %q; want 2027-03-31", ev.Due, ev.Current.Due.Raw)
	}
	a.must(admin, channel, "event set fy-2027-end due=令和9年3月")
	if r := a.must(member, channel, "event fy-2027-end"); !strings.Contains(r.Text, "due 2027-03-31 → 2027-03") {
		t.Errorf("event history:\n%s", r.Text)
	}
	if ev := a.event("jp-fy2027-budget"); ev.LeadTimes != nil {
		t.Fatalf("unexpected lead times %v", ev.LeadTimes)
	}
	a.must(admin, channel, "event set jp-fy2027-budget lead_times=2w3d,1h30m")
	if ev := a.event("jp-fy2027-budget"); !cmp.Equal(ev.LeadTimes, []watchers.Lead{{N: 17, Unit: 'd'}, {N: 90, Unit: 'm'}}) {
		t.Errorf("lead times %v, want 17d and 90m", ev.LeadTimes)
	}
}

// TestSubscriptionChangesPersist: a chat change to a subscription from
// the config file survives restarts and reloads of the same file; the
// file wins again only when that channel's entry changes, and a target
// its new entry drops goes.
func TestSubscriptionChangesPersist(t *testing.T) {
	cfg := seedConfig
	a := newApp(t, cfg, seedNow)
	r := a.must(member, "slack:C1", "unsubscribe #japan")
	if want := "This channel no longer receives #japan (unsubscribed by slack:U0MEMBER). It came from the config file: it stays off after restarts"; !strings.Contains(r.Text, want) {
		t.Errorf("unsubscribe reply:\n%s\nwant %q", r.Text, want)
	}
	if r := a.must(member, "slack:C1", "subscribe event:e2"); !strings.Contains(r.Text, "already receives event:e2 (from the config file)") {
		t.Errorf("subscribe to a subscription from the file:\n%s", r.Text)
	}
	r = a.must(member, "slack:C1", "subscribe all")
	r2 := a.must(member, "slack:C1", "unsubscribe all")
	if !strings.Contains(r.Text, "now receives all alerts") || !strings.Contains(r2.Text, "it was added in chat)") || strings.Contains(r2.Text, "config file") {
		t.Errorf("chat subscription replies:\n%s\n%s", r.Text, r2.Text)
	}
	want := []string{"console:local all config", "slack:C1 event:e2 config"}
	for i := range 2 {
		b := openApp(t, cfg, seedNow.Add(time.Duration(i+1)*time.Hour), appOptions{path: a.path, noSeed: true})
		if rep := b.seed(); rep != (bot.SeedReport{}) {
			t.Errorf("restart %d: seed changed %+v", i+1, rep)
		}
		if diff := cmp.Diff(want, b.subscriptions()); diff != "" {
			t.Errorf("restart %d: subscriptions (-want +got):\n%s", i+1, diff)
		}
		if _, err := b.bot.Reseed(context.Background(), parseConfig(t, cfg)); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, b.subscriptions()); diff != "" {
			t.Errorf("reload %d: subscriptions (-want +got):\n%s", i+1, diff)
		}
	}

	// The file's entry for slack:C1 changes: it wins — #japan comes back,
	// the new target is added, and event:e2, which it dropped, goes.
	v2 := strings.Replace(cfg, "to: [tag:japan, event:e2]", "to: [tag:japan, tag:us]", 1)
	b := openApp(t, v2, seedNow.Add(3*time.Hour), appOptions{path: a.path, noSeed: true})
	b.must(member, "slack:C1", "subscribe #budget") // from chat: the file leaves it
	if rep := b.seed(); rep != (bot.SeedReport{SubscriptionsAdded: 2, SubscriptionsRemoved: 1}) {
		t.Errorf("seed of the changed entry: %+v", rep)
	}
	want = []string{"console:local all config", "slack:C1 tag:budget chat", "slack:C1 tag:japan config", "slack:C1 tag:us config"}
	if diff := cmp.Diff(want, b.subscriptions()); diff != "" {
		t.Errorf("after the entry changed (-want +got):\n%s", diff)
	}
	// The console's entry did not change: its subscription stays as it was.
	b.must(admin, "console:local", "unsubscribe all")
	if rep := b.seed(); rep != (bot.SeedReport{}) {
		t.Errorf("reseed changed %+v", rep)
	}
	if subs := b.subscriptions(); subs[0] == "console:local all config" {
		t.Errorf("console's unsubscribe undone: %v", subs)
	}
}

// TestPlainTextFieldZone: a field whose value only restates its time in
// UTC (a feed item's) reads in the console's zone; a value that says more
// stays.
func TestPlainTextFieldZone(t *testing.T) {
	at := time.Date(2026, 11, 25, 1, 30, 0, 0, time.UTC)
	m := bot.Message{Kind: watchers.KindFeedItem, Title: "item", Fields: []watchers.Field{
		{Name: "Published", Value: "2026-11-25 01:30 UTC", Time: at},
		{Name: "Due", Value: "February 2027", Time: at},
		{Name: "Bare", Time: at},
	}}
	got := bot.PlainText(m, tokyo)
	for _, want := range []string{"Published: Wed 25 Nov 2026 10:30 JST", "Due: February 2027", "Bare: Wed 25 Nov 2026 10:30 JST"} {
		if !strings.Contains(got, want) {
			t.Errorf("PlainText lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "UTC") {
		t.Errorf("PlainText shows UTC:\n%s", got)
	}
}

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 alerts", 1: "1 alert", 2: "2 alerts"} {
		if got := bot.Plural(n, "alert"); got != want {
			t.Errorf("Plural(%d, alert) = %q, want %q", n, got, want)
		}
	}
	if got := bot.Plural(2, "entry"); got != "2 entries" {
		t.Errorf("Plural(2, entry) = %q", got)
	}
	if got := bot.Plural(2, "day"); got != "2 days" {
		t.Errorf("Plural(2, day) = %q", got)
	}
}
