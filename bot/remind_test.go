package bot_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

// other is a second member, whose personal reminders member must not
// reach.
const other = "slack:U0OTHER"

func TestPersonalReminderCommands(t *testing.T) {
	runCommandCases(t, []commandCase{
		{name: "remind me", user: member, text: "remind me #election",
			want: []string{"You will get #election by direct message.", "/alerts forget #election"}, wantAudit: "remind me"},
		{name: "remind me event", user: member, text: "remind me event:jp-fy2027-budget",
			want: []string{"You will get event:jp-fy2027-budget by direct message."}, wantAudit: "remind me"},
		{name: "remind me with leads", user: member, text: "remind me event:jp-fy2027-budget 45d 7d 3d",
			want: []string{"Your own reminders of jp-fy2027-budget:", "2027-02-14 09:00 JST", "2027-03-28 09:00 JST",
				"Already among the event's own reminders: 7d."},
			notWant: []string{"2027-03-24"}, wantAudit: "remind me"},
		{name: "remind me leads past", user: member, text: "remind me event:jp-fy2027-budget 400d",
			want: []string{"None of your leads (400d) is still ahead"}, wantAudit: "remind me"},
		{name: "remind me twice", setup: nil, user: member, text: "remind me all",
			want: []string{"You will get all alerts by direct message."}, wantAudit: "remind me"},
		{name: "remind me bad target", user: member, text: "remind me budget",
			want: []string{`bad target "budget"`, "Usage: /alerts remind me <target> [leads…]"}, wantErr: true},
		{name: "remind me unknown event", user: member, text: "remind me event:nope",
			want: []string{`No event "nope"`}, wantErr: true},
		{name: "remind me bad lead", user: member, text: "remind me event:jp-fy2027-budget 3x",
			want: []string{`Bad lead "3x"`, "e.g. 3d"}, wantErr: true},
		{name: "remind me leads need an event", user: member, text: "remind me #budget 3d",
			want: []string{"Leads of your own need one event", "remind me event:upper-house-election-2028 3d 1d"}, wantErr: true},
		{name: "remind me from the console", user: admin, text: "remind me #budget",
			want: []string{"by direct message on Slack or Discord"}, notWant: []string{"Usage:"}, wantErr: true},
		{name: "remind me missing target", user: member, text: "remind me",
			want: []string{"Missing arguments."}, wantErr: true},
		{name: "reminders none", user: member, text: "reminders",
			want: []string{"You have no personal reminders."}},
		{name: "forget unknown", user: member, text: "forget #budget",
			want: []string{"You have no personal reminder for #budget; see /alerts reminders."}, wantErr: true},
		{name: "forget bad target", user: member, text: "forget nope:x",
			want: []string{"bad target"}, wantErr: true},
		{name: "again bad delivery", user: member, text: "again x 1h",
			want: []string{"The delivery must be a number", "/alerts again 42 1h"}, wantErr: true},
		{name: "again unknown delivery", user: member, text: "again 999 1h",
			want: []string{"No alert was delivered with number 999."}, wantErr: true},
	})
}

// TestRemindersAreEachUsersOwn: a user lists and forgets only their own
// personal reminders; another user's stay.
func TestRemindersAreEachUsersOwn(t *testing.T) {
	a := newApp(t, teamConfig(t), commandsNow)
	a.must(member, channel, "remind me event:jp-fy2027-budget 45d")
	a.must(member, channel, "remind me #election")
	r := a.must(member, channel, "reminders")
	for _, want := range []string{"#election", "event:jp-fy2027-budget", "2027-02-14 09:00 JST: Diet passes the FY2027 budget"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("reminders:\n%s\nlacks %q", r.Text, want)
		}
	}
	if r.Public {
		t.Error("reminders is shown to the channel")
	}
	// The other user sees none of them and cannot forget them.
	if r := a.must(other, channel, "reminders"); !strings.Contains(r.Text, "You have no personal reminders.") {
		t.Errorf("another user's reminders:\n%s", r.Text)
	}
	if r := a.do(other, channel, "forget event:jp-fy2027-budget"); !r.Error || !strings.Contains(r.Text, "no personal reminder") {
		t.Errorf("forget of another user's reminder: %+v", r)
	}
	if r := a.must(member, channel, "reminders"); !strings.Contains(r.Text, "event:jp-fy2027-budget") || !strings.Contains(r.Text, "2027-02-14") {
		t.Errorf("member's reminders after the other's forget:\n%s", r.Text)
	}
	// Forgetting the event ends the subscription and its own leads.
	r = a.must(member, channel, "forget event:jp-fy2027-budget")
	if want := "1 reminder of your own cancelled"; !strings.Contains(r.Text, want) {
		t.Errorf("forget: %q lacks %q", r.Text, want)
	}
	r = a.must(member, channel, "reminders")
	if strings.Contains(r.Text, "jp-fy2027-budget") || strings.Contains(r.Text, "2027-02-14") || !strings.Contains(r.Text, "#election") {
		t.Errorf("reminders after forget:\n%s", r.Text)
	}
	if r := a.do(member, channel, "forget event:jp-fy2027-budget"); !r.Error {
		t.Errorf("second forget: %+v", r)
	}
}

// TestPersonalRemindersByDM: the user's direct messages get the
// subscribed event's own alerts, and a reminder at the user's own lead
// at its time, worded for that time; nobody else gets that one.
func TestPersonalRemindersByDM(t *testing.T) {
	a := newApp(t, teamConfig(t), commandsNow)
	a.must(member, channel, "remind me event:jp-fy2027-budget 45d")
	// The event's own change alert goes to the subscribed DM.
	a.must(admin, admin, `event set jp-fy2027-budget title="Diet passes the FY2027 budget (revised)"`)
	a.clock.Add(time.Minute)
	a.tick("deadlines")
	a.drain()
	slack := a.plat["slack"]
	if got := slack.sentTo("dm:U0MEMBER"); len(got) != 1 || !strings.Contains(got[0], "changed") {
		t.Fatalf("DM got %v, want the changed alert", got)
	}
	// The 45d reminder: not before its time …
	at := time.Date(2027, 2, 14, 9, 0, 0, 0, tokyo)
	a.clock.Set(at.Add(-time.Second))
	a.drain()
	if got := slack.sentTo("dm:U0MEMBER"); len(got) != 1 {
		t.Fatalf("DM before the 45d reminder: %v", got)
	}
	// … and at it, once, to the DM only.
	a.clock.Set(at)
	a.drain()
	a.drain()
	got := slack.sentTo("dm:U0MEMBER")
	want := "personal/slack:dm:U0MEMBER/jp-fy2027-budget/reminder/45d@2027-03-31"
	if len(got) != 2 || got[1] != want {
		t.Fatalf("DM got %v, want the 45d reminder %s", got, want)
	}
	var m bot.Message
	for _, o := range slack.Sent() {
		if o.Message.AlertKey == want {
			m = o.Message
		}
	}
	if !strings.Contains(m.Text, "in 45 days") || m.Title == "" || m.Kind != watchers.KindReminder {
		t.Errorf("45d reminder reads %q / %q, want the countdown at its time", m.Title, m.Text)
	}
	for _, p := range []string{"console", "discord"} {
		for _, k := range a.plat[p].sentTo("local") {
			if strings.HasPrefix(k, "personal/") {
				t.Errorf("%s got the personal reminder %s", p, k)
			}
		}
	}
	if r := a.must(member, channel, "reminders"); strings.Contains(r.Text, "Coming:") {
		t.Errorf("reminders still lists the posted reminder:\n%s", r.Text)
	}
}

// TestRemindAgain: every alert carries the Remind again buttons; pressing
// one posts the alert again in that channel at that time, once however
// often it is pressed, and only where the alert went.
func TestRemindAgain(t *testing.T) {
	a := newApp(t, teamConfig(t), commandsNow)
	a.must(admin, channel, "subscribe event:jp-fy2027-budget")
	a.must(admin, admin, `event set jp-fy2027-budget status=postponed`)
	a.clock.Add(time.Minute)
	a.tick("deadlines")
	a.drain()
	slack := a.plat["slack"]
	sent := slack.Sent()
	if len(sent) != 1 || sent[0].Channel != "C0BUDGET" {
		t.Fatalf("slack got %+v, want the changed alert in C0BUDGET", sent)
	}
	first := sent[0]
	var commands []string
	for _, b := range first.Message.Buttons {
		commands = append(commands, b.Command)
	}
	hour := fmt.Sprintf("again %d 1h", first.DeliveryID)
	tomorrow := fmt.Sprintf("again %d tomorrow", first.DeliveryID)
	if strings.Join(commands, "|") != "mute event:jp-fy2027-budget 1d|"+hour+"|"+tomorrow {
		t.Fatalf("buttons run %q, want mute, %q and %q", commands, hour, tomorrow)
	}

	pressed := a.clock.Now() // 10:01 JST
	r := a.must(member, channel, hour)
	if want := "comes again in this channel at 2026-11-25 11:05 JST (today, in 1h 04m)"; !strings.Contains(r.Text, want) || r.Public {
		t.Fatalf("press: %+v, want the ephemeral %q", r, want)
	}
	if r := a.must(member, channel, hour); !strings.Contains(r.Text, "Already set") {
		t.Errorf("second press: %q, want Already set", r.Text)
	}
	r = a.must(member, channel, tomorrow)
	if want := "2026-11-26 09:00 JST"; !strings.Contains(r.Text, want) {
		t.Errorf("tomorrow: %q lacks %q", r.Text, want)
	}
	// Elsewhere: refused, nothing scheduled.
	if r := a.do(member, "slack:C0ELSEWHERE", hour); !r.Error || !strings.Contains(r.Text, "was not posted here") {
		t.Errorf("press from another channel: %+v", r)
	}
	if r := a.do(member, channel, fmt.Sprintf("again %d 2x", first.DeliveryID)); !r.Error || !strings.Contains(r.Text, "When must be tomorrow") {
		t.Errorf("bad when: %+v", r)
	}

	// Nothing before its time, and it holds up nothing meanwhile.
	a.clock.Set(pressed.Add(63 * time.Minute))
	a.drain()
	if n := len(slack.Sent()); n != 1 {
		t.Fatalf("%d messages before the time asked for", n)
	}
	a.clock.Set(time.Date(2026, 11, 25, 11, 5, 0, 0, tokyo))
	a.drain()
	sent = slack.Sent()
	if len(sent) != 2 {
		t.Fatalf("%d messages at the time asked for, want 2", len(sent))
	}
	again := sent[1]
	if again.Channel != "C0BUDGET" || again.DeliveryID == first.DeliveryID ||
		!strings.HasPrefix(again.Message.AlertKey, first.Message.AlertKey+"/again:slack:C0BUDGET@") ||
		again.Message.Title != first.Message.Title || !strings.Contains(again.Message.Text, "Again, as slack:U0MEMBER asked") {
		t.Errorf("posted again: %+v", again)
	}
	hasCountdown := func(m bot.Message) bool {
		for _, f := range m.Fields {
			if f.Name == "Countdown" {
				return true
			}
		}
		return false
	}
	if !hasCountdown(first.Message) || hasCountdown(again.Message) {
		t.Errorf("Countdown field: first %v, repeat %v; want it only on the first (it would be stale)", hasCountdown(first.Message), hasCountdown(again.Message))
	}
	// Pressed again for the same time once it was posted: still once.
	a.clock.Set(pressed)
	if r := a.must(member, channel, hour); !strings.Contains(r.Text, "Already set") {
		t.Errorf("press after the post: %q, want Already set", r.Text)
	}
	a.clock.Set(time.Date(2026, 11, 26, 9, 0, 0, 0, tokyo))
	a.drain()
	sent = slack.Sent()
	if len(sent) != 3 || sent[2].Message.AlertKey == again.Message.AlertKey {
		t.Fatalf("after tomorrow 09:00: %d messages, want 3 (the tomorrow repeat)", len(sent))
	}
	// A repeat of a repeat keeps the original key, not a longer one.
	r = a.must(member, channel, fmt.Sprintf("again %d 1h", sent[2].DeliveryID))
	if !strings.Contains(r.Text, "comes again") {
		t.Fatalf("repeat of a repeat: %q", r.Text)
	}
	a.clock.Add(time.Hour)
	a.drain()
	last := slack.Sent()[3].Message
	if strings.Count(last.AlertKey, "/again:") != 1 || strings.Count(last.Text, "Again, as") != 1 {
		t.Errorf("repeat of a repeat: key %s, text %q", last.AlertKey, last.Text)
	}
	if first.Message.Kind != watchers.KindChanged {
		t.Errorf("first alert kind %s", first.Message.Kind)
	}
}

// TestPersonalReminderFollowsTheEvent: a reminder at the user's own lead
// is checked against the event when it comes due: after the date moved,
// the old one is dropped and the new date's comes at its time; after the
// event happened, none comes.
func TestPersonalReminderFollowsTheEvent(t *testing.T) {
	a := newApp(t, teamConfig(t), commandsNow)
	a.must(member, channel, "remind me event:jp-fy2027-budget 45d 40d")
	a.must(admin, admin, `event set jp-fy2027-budget due=2027-04-10 note="slipped"`)
	slack := a.plat["slack"]
	personal := func() []string {
		var out []string
		for _, k := range slack.sentTo("dm:U0MEMBER") {
			if strings.HasPrefix(k, "personal/") {
				out = append(out, k)
			}
		}
		return out
	}
	// The old date's 45d (14 Feb): dropped; its replacement, 45d before
	// 10 April (24 Feb), comes then.
	a.clock.Set(time.Date(2027, 2, 14, 9, 0, 0, 0, tokyo))
	a.drain()
	if got := personal(); len(got) != 0 {
		t.Fatalf("stale reminders sent: %v", got)
	}
	a.clock.Set(time.Date(2027, 2, 24, 9, 0, 0, 0, tokyo))
	a.drain()
	a.drain()
	want := "personal/slack:dm:U0MEMBER/jp-fy2027-budget/reminder/45d@2027-04-10"
	if got := personal(); len(got) != 1 || got[0] != want {
		t.Fatalf("after the move: %v, want %s", got, want)
	}
	// The event happens before the 40d reminder: none.
	a.must(admin, admin, `event set jp-fy2027-budget status=happened confirm=yes`)
	a.clock.Set(time.Date(2027, 3, 1, 9, 0, 0, 0, tokyo))
	a.drain()
	a.clock.Set(time.Date(2027, 3, 2, 9, 0, 0, 0, tokyo))
	a.drain()
	if got := personal(); len(got) != 1 {
		t.Errorf("reminders after the event happened: %v", got)
	}
	if r := a.must(member, channel, "reminders"); strings.Contains(r.Text, "Coming:") {
		t.Errorf("reminders still lists posts:\n%s", r.Text)
	}
}

// TestPersonalReminderMovesEarlier: when the event's date moves earlier,
// the user's own reminder moves with it at once (the change replans it),
// rather than being found stale at its old, later time.
func TestPersonalReminderMovesEarlier(t *testing.T) {
	a := newApp(t, teamConfig(t), commandsNow)
	a.must(member, channel, "remind me event:jp-fy2027-budget 45d")
	a.must(admin, admin, `event set jp-fy2027-budget due=2027-03-10 note="early"`)
	a.clock.Add(time.Minute)
	a.tick("deadlines") // the changed alert
	r := a.must(member, channel, "reminders")
	if !strings.Contains(r.Text, "2027-01-24 09:00 JST") || strings.Contains(r.Text, "2027-02-14") {
		t.Fatalf("reminders after the move:\n%s", r.Text)
	}
	a.clock.Set(time.Date(2027, 1, 24, 9, 0, 0, 0, tokyo))
	a.drain()
	var got []string
	for _, k := range a.plat["slack"].sentTo("dm:U0MEMBER") {
		if strings.HasPrefix(k, "personal/") {
			got = append(got, k)
		}
	}
	if want := "personal/slack:dm:U0MEMBER/jp-fy2027-budget/reminder/45d@2027-03-10"; len(got) != 1 || got[0] != want {
		t.Fatalf("sent %v, want %s", got, want)
	}
}

// TestRemindMeReplacesLeads: asking again with other leads replaces the
// user's own reminders of that event.
func TestRemindMeReplacesLeads(t *testing.T) {
	a := newApp(t, teamConfig(t), commandsNow)
	a.must(member, channel, "remind me event:jp-fy2027-budget 45d")
	r := a.must(member, channel, "remind me event:jp-fy2027-budget 40d")
	if !strings.Contains(r.Text, "You already get event:jp-fy2027-budget") || !strings.Contains(r.Text, "2027-02-19 09:00 JST") {
		t.Fatalf("second remind me:\n%s", r.Text)
	}
	r = a.must(member, channel, "reminders")
	if !strings.Contains(r.Text, "2027-02-19 09:00 JST") || strings.Contains(r.Text, "2027-02-14") {
		t.Errorf("reminders after replacing the leads:\n%s", r.Text)
	}
}
