package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/bot"
)

// quietConfig has three events whose reminders fall in the night of
// 2026-12-01 (Tokyo): e1's at 22:30 and 23:30, e2's at 01:00, e3's at
// 06:30; a quiet channel (22:00-07:00), a digest channel (daily 08:00),
// a channel whose digest (06:00) falls inside its quiet hours, and a
// plain one, all subscribed to tag t.
const quietConfig = `
timezone: Asia/Tokyo
admins: [console:local]
events:
  - id: e1
    title: Event one
    due: 2026-12-01T23:30
    lead_times: [1h, 0m]
    tags: [t]
  - id: e2
    title: Event two
    due: 2026-12-02T01:00
    lead_times: [0m]
    tags: [t]
  - id: e3
    title: Event three
    due: 2026-12-02T06:30
    lead_times: [0m]
    tags: [t]
watchers:
  - id: deadlines
    kind: countdown
    schedule: "@every 1m"
subscriptions:
  - channel: slack:CQUIET
    to: [tag:t]
  - channel: slack:CDIGEST
    to: [tag:t]
  - channel: slack:CBOTH
    to: [tag:t]
  - channel: slack:CPLAIN
    to: [tag:t]
channels:
  - channel: slack:CQUIET
    quiet: "22:00-07:00"
  - channel: slack:CDIGEST
    digest: daily 08:00
    zone: Asia/Tokyo
  - channel: slack:CBOTH
    quiet: "22:00-07:00"
    digest: daily 06:00
`

// at is a Tokyo time on 2026-12-01 (day 1) or 2026-12-02 (day 2).
func at(day, hour, minute int) time.Time {
	return time.Date(2026, 12, day, hour, minute, 0, 0, tokyo)
}

// stepTo moves the clock to t, runs the countdown and the release there,
// and delivers what is due.
func (a *app) stepTo(t time.Time) {
	a.t.Helper()
	a.clock.Set(t)
	if _, err := a.bot.ReleaseHeld(context.Background(), t); err != nil {
		a.t.Fatalf("release at %s: %v", t, err)
	}
	a.tick("deadlines")
	a.drain()
}

// sentMessages returns what a slack channel received, in order.
func (p *recordingPlatform) sentMessages(ch string) []bot.Message {
	var out []bot.Message
	for _, o := range p.Sent() {
		if o.Channel == ch {
			out = append(out, o.Message)
		}
	}
	return out
}

const (
	e1Rem1h = "deadlines/e1/reminder/1h@2026-12-01T23:30"
	e1Rem0  = "deadlines/e1/reminder/0m@2026-12-01T23:30"
	e2Rem0  = "deadlines/e2/reminder/0m@2026-12-02T01:00"
	e3Rem0  = "deadlines/e3/reminder/0m@2026-12-02T06:30"
)

// TestQuietHoursSummary: alerts during quiet hours are held and released
// at the window's end as one summary listing them in order; the plain
// channel got each at once; nothing is posted twice.
func TestQuietHoursSummary(t *testing.T) {
	a := newApp(t, quietConfig, at(1, 21, 0))
	slack := a.plat["slack"]
	for _, ts := range []time.Time{at(1, 22, 30), at(1, 23, 30), at(2, 1, 0), at(2, 6, 30), at(2, 6, 59)} {
		a.stepTo(ts)
	}
	keys := []string{e1Rem1h, e1Rem0, e2Rem0, e3Rem0}
	if diff := cmp.Diff(keys, slack.sentTo("CPLAIN")); diff != "" {
		t.Errorf("plain channel (-want +got):\n%s", diff)
	}
	if got := slack.sentTo("CQUIET"); len(got) != 0 {
		t.Fatalf("quiet channel got %v during quiet hours", got)
	}
	for _, h := range a.history("slack:CQUIET") {
		if h.Delivery.State != bot.DeliveryHeld || !h.Delivery.NextTry.Equal(at(2, 7, 0)) {
			t.Errorf("during quiet hours: %s is %s until %s, want held until 07:00", h.Alert.Key, h.Delivery.State, h.Delivery.NextTry)
		}
	}
	a.stepTo(at(2, 7, 0))
	msgs := slack.sentMessages("CQUIET")
	if len(msgs) != 1 {
		t.Fatalf("quiet channel got %d messages at 07:00, want one summary: %+v", len(msgs), msgs)
	}
	m := msgs[0]
	if m.Kind != bot.KindQuietSummary || m.Title != "While the channel was quiet: 4 alerts" ||
		m.AlertKey != "quiet_summary/slack:CQUIET@2026-12-01T22:00:00Z" {
		t.Errorf("summary = %q %q %q", m.Kind, m.AlertKey, m.Title)
	}
	// In order, each with when it came.
	want := []string{
		"1. Event one: Due in 1 hour: 1 December 2026 23:30 JST. (Tue 1 Dec 22:30)",
		"2. Event one: Due now: 1 December 2026 23:30 JST. (Tue 1 Dec 23:30)",
		"3. Event two: Due now: 2 December 2026 01:00 JST. (Wed 2 Dec 01:00)",
		"4. Event three: Due now: 2 December 2026 06:30 JST. (Wed 2 Dec 06:30)",
	}
	if diff := cmp.Diff(want, strings.Split(m.Text, "\n")); diff != "" {
		t.Errorf("summary text (-want +got):\n%s", diff)
	}
	for _, h := range a.history("slack:CQUIET") {
		switch h.Alert.Kind {
		case bot.KindQuietSummary:
			if h.Delivery.State != bot.DeliverySent {
				t.Errorf("summary delivery %s", h.Delivery.State)
			}
		default:
			if h.Delivery.State != bot.DeliveryBundled {
				t.Errorf("%s is %s after the summary, want bundled", h.Alert.Key, h.Delivery.State)
			}
		}
	}
	// Later passes and a restart post nothing again.
	a.stepTo(at(2, 7, 1))
	b := openApp(t, quietConfig, at(2, 7, 2), appOptions{path: a.path, noSeed: true})
	b.stepTo(at(2, 7, 2))
	if n := len(slack.sentMessages("CQUIET")) + len(b.plat["slack"].sentMessages("CQUIET")); n != 1 {
		t.Errorf("quiet channel got %d messages in all, want 1", n)
	}
}

// TestQuietHoursSingleHeld: one held alert is posted as itself at the
// window's end, not as a summary.
func TestQuietHoursSingleHeld(t *testing.T) {
	const cfg = `
timezone: Asia/Tokyo
events:
  - id: e2
    title: Event two
    due: 2026-12-02T01:00
    lead_times: [0m]
    tags: [t]
watchers:
  - id: deadlines
    kind: countdown
    schedule: "@every 1m"
subscriptions:
  - channel: slack:CQUIET
    to: [tag:t]
channels:
  - channel: slack:CQUIET
    quiet: "22:00-07:00"
`
	a := newApp(t, cfg, at(1, 21, 0))
	a.stepTo(at(2, 1, 0))
	a.stepTo(at(2, 6, 0))
	slack := a.plat["slack"]
	if got := slack.sentTo("CQUIET"); len(got) != 0 {
		t.Fatalf("quiet channel got %v before 07:00", got)
	}
	a.clock.Set(at(2, 7, 0))
	if _, err := a.bot.ReleaseHeld(context.Background(), at(2, 7, 0)); err != nil {
		t.Fatal(err)
	}
	a.drain()
	if diff := cmp.Diff([]string{e2Rem0}, slack.sentTo("CQUIET")); diff != "" {
		t.Errorf("quiet channel at 07:00 (-want +got):\n%s", diff)
	}
	h := a.history("slack:CQUIET")
	if len(h) != 1 || h[0].Delivery.State != bot.DeliverySent {
		t.Errorf("history %+v", h)
	}
}

// TestDigest: routine alerts are collected and posted at the digest time
// as one message grouped by event and kind, followed by the agenda; an
// urgent alert (changed) bypasses the digest.
func TestDigest(t *testing.T) {
	a := newApp(t, quietConfig, at(1, 21, 0))
	slack := a.plat["slack"]
	a.stepTo(at(1, 22, 30))
	a.stepTo(at(1, 23, 30))
	// An admin moves e3: changed goes at once, also to the digest channel.
	a.clock.Set(at(1, 23, 40))
	a.must(admin, "console:local", "event set e3 due=2026-12-02T06:45")
	a.stepTo(at(1, 23, 40))
	got := slack.sentMessages("CDIGEST")
	if len(got) != 1 || got[0].Kind != "changed" {
		t.Fatalf("digest channel before the digest got %+v, want only the changed alert", got)
	}
	for _, ts := range []time.Time{at(2, 1, 0), at(2, 6, 45), at(2, 7, 59)} {
		a.stepTo(ts)
	}
	if n := len(slack.sentMessages("CDIGEST")); n != 1 {
		t.Fatalf("digest channel got %d messages before 08:00, want 1", n)
	}
	a.stepTo(at(2, 8, 0))
	msgs := slack.sentMessages("CDIGEST")
	if len(msgs) != 2 {
		t.Fatalf("digest channel got %d messages, want the changed alert and one digest", len(msgs))
	}
	d := msgs[1]
	if d.Kind != bot.KindDigest || d.AlertKey != "digest/slack:CDIGEST@2026-12-01T23:00:00Z" || d.Title != "Digest: 4 alerts" {
		t.Errorf("digest = %q %q %q", d.Kind, d.AlertKey, d.Title)
	}
	// Grouped by event, then kind, in the order they came; then the
	// agenda. e1 and e2 are past; e3 (now 06:45) too; nothing is open in
	// the next 7 days, so the agenda is absent.
	want := []string{
		"Event e1",
		"  reminder (2)",
		"    • Event one: Due in 1 hour: 1 December 2026 23:30 JST. (Tue 1 Dec 22:30)",
		"    • Event one: Due now: 1 December 2026 23:30 JST. (Tue 1 Dec 23:30)",
		"Event e2",
		"  reminder (1)",
		"    • Event two: Due now: 2 December 2026 01:00 JST. (Wed 2 Dec 01:00)",
		"Event e3",
		"  reminder (1)",
		"    • Event three: Due now: 2 December 2026 06:45 JST. (Wed 2 Dec 06:45)",
	}
	if diff := cmp.Diff(want, strings.Split(d.Text, "\n")); diff != "" {
		t.Errorf("digest text (-want +got):\n%s", diff)
	}
	if strings.Contains(d.Text, "changed") {
		t.Errorf("the changed alert went into the digest:\n%s", d.Text)
	}
	for _, h := range a.history("slack:CDIGEST") {
		if h.Alert.Kind == "reminder" && h.Delivery.State != bot.DeliveryBundled {
			t.Errorf("%s is %s, want bundled into the digest", h.Alert.Key, h.Delivery.State)
		}
	}
	// The next day's digest has nothing and no agenda: nothing is posted
	// (the overdue alerts of the past events go at once).
	a.stepTo(at(3, 8, 0))
	for _, m := range slack.sentMessages("CDIGEST")[2:] {
		if m.Kind != "overdue" {
			t.Errorf("after the digest: %s %q, want only overdue alerts", m.Kind, m.Title)
		}
	}
}

// TestDigestAgenda: a digest lists the events that open within 7 days or
// are open now, and is posted with the agenda alone when nothing was
// collected.
func TestDigestAgenda(t *testing.T) {
	const cfg = `
timezone: Asia/Tokyo
admins: [console:local]
events:
  - id: soon
    title: Budget vote
    due: 2026-12-05
    lead_times: [30d]
    tags: [t]
  - id: open-month
    title: Ordinary session
    due: 2026-12
    lead_times: [60d]
    tags: [t]
  - id: later
    title: Summit
    due: 2026-12-20
    lead_times: [30d]
    tags: [t]
watchers:
  - id: deadlines
    kind: countdown
    schedule: "@every 1m"
subscriptions:
  - channel: slack:CDIGEST
    to: [tag:t]
channels:
  - channel: slack:CDIGEST
    digest: weekly wed 08:00
`
	a := newApp(t, cfg, at(1, 21, 0)) // a Tuesday
	a.stepTo(at(1, 21, 0))
	a.stepTo(at(2, 8, 0)) // Wednesday
	msgs := a.plat["slack"].sentMessages("CDIGEST")
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want one digest", len(msgs))
	}
	d := msgs[0]
	// The window of the month opened at 09:00 before the bot started: its
	// caught-up window_open is routine and waits for the digest.
	if d.Title != "Digest: 1 alert" {
		t.Errorf("title %q", d.Title)
	}
	want := "Event open-month\n  window open (1)\n    • Ordinary session: The window is open: expected in December 2026 — exact date not set; its last day is in 30 days. (Tue 1 Dec 21:00)\n\n" +
		"Agenda, next 7 days:\n" +
		"  • Ordinary session (open-month) — December 2026, tentative, open now\n" +
		"  • Budget vote (soon) — Sat 5 December 2026, scheduled"
	if diff := cmp.Diff(want, d.Text); diff != "" {
		t.Errorf("digest (-want +got):\n%s", diff)
	}
}

// TestDigestInsideQuietHours: a digest time inside quiet hours moves to
// the window's end, and a routine alert between the nominal and the
// moved time still goes into it.
func TestDigestInsideQuietHours(t *testing.T) {
	a := newApp(t, quietConfig, at(2, 0, 30))
	slack := a.plat["slack"]
	for _, ts := range []time.Time{at(2, 1, 0), at(2, 6, 0), at(2, 6, 30), at(2, 6, 59)} {
		a.stepTo(ts)
	}
	if got := slack.sentTo("CBOTH"); len(got) != 0 {
		t.Fatalf("CBOTH got %v before 07:00", got)
	}
	a.stepTo(at(2, 7, 0))
	msgs := slack.sentMessages("CBOTH")
	if len(msgs) != 1 || msgs[0].AlertKey != "digest/slack:CBOTH@2026-12-01T22:00:00Z" {
		t.Fatalf("CBOTH got %+v, want one digest at 07:00", msgs)
	}
	for _, w := range []string{"Event two", "Event three"} {
		if !strings.Contains(msgs[0].Text, w) {
			t.Errorf("digest lacks %q:\n%s", w, msgs[0].Text)
		}
	}
}

// TestHeldSurviveRestart: held deliveries live in the outbox; a new
// process releases them once, and a crash after the summary was made but
// before it was sent sends it once.
func TestHeldSurviveRestart(t *testing.T) {
	a := newApp(t, quietConfig, at(1, 21, 0))
	for _, ts := range []time.Time{at(1, 22, 30), at(1, 23, 30)} {
		a.stepTo(ts)
	}
	// Restart in the night: the new process sees what is held.
	b := openApp(t, quietConfig, at(2, 1, 0), appOptions{path: a.path, noSeed: true})
	b.stepTo(at(2, 1, 0))
	b.stepTo(at(2, 6, 30))
	// At 07:00 the summary is made, and the process dies before sending.
	b.clock.Set(at(2, 7, 0))
	if n, err := b.bot.ReleaseHeld(context.Background(), at(2, 7, 0)); err != nil || n == 0 {
		t.Fatalf("release: %d, %v", n, err)
	}
	c := openApp(t, quietConfig, at(2, 7, 1), appOptions{path: a.path, noSeed: true})
	c.stepTo(at(2, 7, 1))
	c.stepTo(at(2, 7, 2))
	var all []string
	for _, x := range []*app{a, b, c} {
		all = append(all, x.plat["slack"].sentTo("CQUIET")...)
	}
	want := []string{"quiet_summary/slack:CQUIET@2026-12-01T22:00:00Z"}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("quiet channel over three processes (-want +got):\n%s", diff)
	}
	if got := c.plat["slack"].sentMessages("CQUIET"); len(got) == 1 && got[0].Title != "While the channel was quiet: 4 alerts" {
		t.Errorf("summary title %q", got[0].Title)
	}
}

// TestSettingsChangeReplansHeld: held alerts follow the channel's
// settings when they change: quiet hours turned off release what they
// held (one summary), a digest turned off posts what it collected, a new
// digest time moves the collected alerts to it.
func TestSettingsChangeReplansHeld(t *testing.T) {
	a := newApp(t, quietConfig, at(1, 21, 0))
	slack := a.plat["slack"]
	a.stepTo(at(1, 22, 30))
	a.stepTo(at(1, 23, 30))
	a.clock.Set(at(1, 23, 45))
	a.must(member, "slack:CQUIET", "settings quiet off")
	a.must(member, "slack:CDIGEST", "settings digest daily 00:30")
	a.must(member, "slack:CBOTH", "settings digest off")
	a.stepTo(at(1, 23, 45))
	if msgs := slack.sentMessages("CQUIET"); len(msgs) != 1 || msgs[0].Title != "While the channel was quiet: 2 alerts" {
		t.Errorf("CQUIET after quiet off: %+v", msgs)
	}
	// CBOTH is still in quiet hours: what its digest collected now waits
	// for their end as held alerts.
	if msgs := slack.sentMessages("CBOTH"); len(msgs) != 0 {
		t.Errorf("CBOTH got %d messages in quiet hours", len(msgs))
	}
	if got := slack.sentTo("CDIGEST"); len(got) != 0 {
		t.Errorf("CDIGEST got %v before its new digest time", got)
	}
	a.stepTo(at(2, 0, 30))
	if msgs := slack.sentMessages("CDIGEST"); len(msgs) != 1 || msgs[0].AlertKey != "digest/slack:CDIGEST@2026-12-01T15:30:00Z" ||
		!strings.Contains(msgs[0].Text, "reminder (2)") {
		t.Errorf("CDIGEST at its new time: %+v", msgs)
	}
	a.stepTo(at(2, 7, 0))
	// At 07:00 the two held reminders come as one summary; e2's and e3's,
	// which nobody ticked for in the night, are caught up after it.
	msgs := slack.sentMessages("CBOTH")
	if len(msgs) == 0 || msgs[0].Kind != bot.KindQuietSummary || msgs[0].Title != "While the channel was quiet: 2 alerts" {
		t.Errorf("CBOTH at the end of quiet hours: %+v", msgs)
	}
}

// TestAgendaDigestNotLate: a digest with nothing collected is not posted
// hours late after downtime; one a few minutes late still is.
func TestAgendaDigestNotLate(t *testing.T) {
	const cfg = `
timezone: Asia/Tokyo
events:
  - id: soon
    title: Budget vote
    due: 2026-12-05
    lead_times: [60d]
    tags: [t]
watchers:
  - id: deadlines
    kind: countdown
    schedule: "@every 1m"
subscriptions:
  - channel: slack:CDIGEST
    to: [tag:t]
channels:
  - channel: slack:CDIGEST
    digest: daily 08:00
`
	a := newApp(t, cfg, at(1, 21, 0))
	a.stepTo(at(2, 11, 0)) // down at 08:00, back at 11:00
	if n := len(a.plat["slack"].sentMessages("CDIGEST")); n != 0 {
		t.Errorf("a digest of the agenda alone came 3 hours late: %d messages", n)
	}
	a.stepTo(at(3, 8, 20)) // 20 minutes late
	msgs := a.plat["slack"].sentMessages("CDIGEST")
	if len(msgs) != 1 || msgs[0].AlertKey != "digest/slack:CDIGEST@2026-12-02T23:00:00Z" {
		t.Errorf("digest 20 minutes late: %+v", msgs)
	}
}

// TestRemindAgainInQuietHours: a Remind again press whose time falls in
// the channel's quiet hours is held like any alert and comes at the
// window's end, once.
func TestRemindAgainInQuietHours(t *testing.T) {
	const cfg = `
timezone: Asia/Tokyo
events:
  - id: e2
    title: Event two
    due: 2026-12-01T21:00
    lead_times: [0m]
    tags: [t]
watchers:
  - id: deadlines
    kind: countdown
    schedule: "@every 1m"
subscriptions:
  - channel: slack:CQUIET
    to: [tag:t]
channels:
  - channel: slack:CQUIET
    quiet: "22:00-07:00"
`
	a := newApp(t, cfg, at(1, 20, 0))
	a.stepTo(at(1, 21, 0))
	slack := a.plat["slack"]
	sent := slack.Sent()
	if len(sent) != 1 || sent[0].Channel != "CQUIET" {
		t.Fatalf("slack got %+v, want the reminder in CQUIET before the quiet hours", sent)
	}
	a.clock.Set(at(1, 21, 30))
	r := a.must(member, "slack:CQUIET", fmt.Sprintf("again %d 1h", sent[0].DeliveryID))
	if !strings.Contains(r.Text, "comes again") {
		t.Fatalf("press: %q", r.Text)
	}
	a.stepTo(at(1, 22, 40))
	a.stepTo(at(2, 6, 59))
	if n := len(slack.Sent()); n != 1 {
		t.Fatalf("%d messages during the quiet hours, want the repeat held", n)
	}
	h := a.history("slack:CQUIET")
	held := 0
	for _, d := range h {
		if d.Delivery.State == bot.DeliveryHeld {
			held++
		}
	}
	if held != 1 {
		t.Fatalf("history %+v: want the repeat held", h)
	}
	a.clock.Set(at(2, 7, 0))
	if _, err := a.bot.ReleaseHeld(context.Background(), at(2, 7, 0)); err != nil {
		t.Fatal(err)
	}
	a.drain()
	sent = slack.Sent()
	if len(sent) != 2 || !strings.Contains(sent[1].Message.AlertKey, "/again:slack:CQUIET@") {
		t.Fatalf("after the quiet hours: %+v, want the repeat once", sent)
	}
}
