package bot_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/fetch"
	"github.com/policyteam/alertbot/watchers/sourcetest"
)

const proposalConfig = `
timezone: Asia/Tokyo
admins: [console:local]
events:
  - id: upper-house-election-2025
    title: House of Councillors (Upper House) election
    due: 2025-07
    tags: [japan, election]
    match: [参院選, 参議院議員通常選挙, Upper House election]
  - id: jp-fy2027-budget
    title: Diet passes the FY2027 budget
    due: 2027-03-31
    tags: [budget]
watchers:
  - id: deadlines
    kind: countdown
    schedule: "@every 1m"
  - id: news
    kind: feed
    url: %s
    schedule: "@every 5m"
    fetch: {allow_private: true}
subscriptions:
  - channel: slack:CPROP
    to: [proposals]
  - channel: slack:CELECT
    to: [event:upper-house-election-2025]
  - channel: slack:CNEWS
    to: [all]
`

// rss is a feed of items, each [guid, title, description].
func rss(items ...[3]string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>News</title><link>https://news.example/</link>`)
	for _, it := range items {
		fmt.Fprintf(&b, `<item><title>%s</title><link>https://news.example/%s</link><guid>%s</guid>`+
			`<pubDate>Fri, 20 Jun 2025 09:00:00 +0900</pubDate><description>%s</description></item>`, it[1], it[0], it[0], it[2])
	}
	b.WriteString(`</channel></rss>`)
	return b.String()
}

var proposalIDRE = regexp.MustCompile(`\bp[0-9a-f]{8}\b`)

// sentKinds returns the kinds of the messages sent to ch.
func (a *app) sentKinds(ch string) []watchers.Kind {
	var out []watchers.Kind
	for _, o := range a.plat["slack"].Sent() {
		if "slack:"+o.Channel == ch || o.Channel == ch {
			out = append(out, o.Message.Kind)
		}
	}
	return out
}

func (a *app) sentOf(ch string, kind watchers.Kind) []bot.Outgoing {
	var out []bot.Outgoing
	for _, o := range a.plat["slack"].Sent() {
		if ("slack:"+o.Channel == ch || o.Channel == ch) && o.Message.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// TestDateProposals follows proposals from a feed through confirm and
// dismiss: one date_proposal per event and date, to the proposals
// channel only, with admin-only buttons; a member's confirm refused and
// audited; a confirm that changes the event and alerts changed to its
// subscribers; a dismissal remembered; a stale proposal refused.
func TestDateProposals(t *testing.T) {
	now := time.Date(2025, 6, 20, 10, 0, 0, 0, tokyo)
	src := sourcetest.New(t, "application/rss+xml", rss([3]string{"n0", "Cabinet meets", "閣議は6月24日に開かれる。"}))
	a := openApp(t, fmt.Sprintf(proposalConfig, src.URL+"/news.rss"), now, appOptions{fetcher: fetch.New(fetch.Options{})})
	const ev = "upper-house-election-2025"
	a.tick("deadlines")
	if found := a.tick("news"); !strings.Contains(found, "first run") {
		t.Fatalf("first feed check: %q", found)
	}
	a.drain()
	before := len(a.plat["slack"].Sent())

	// An announcement: one proposal, to the proposals channel alone.
	src.Set(rss([3]string{"n1", "参院選の日程決まる", "政府は参院選を7月20日投開票とする日程を決めた。"},
		[3]string{"n0", "Cabinet meets", "閣議は6月24日に開かれる。"}))
	a.clock.Add(5 * time.Minute)
	a.tick("news")
	a.drain()
	props := a.sentOf("slack:CPROP", watchers.KindDateProposal)
	if len(props) != 1 {
		t.Fatalf("proposals channel got %v, want one date_proposal", a.sentKinds("slack:CPROP"))
	}
	m := props[0].Message
	if !strings.Contains(m.Title, "House of Councillors") || !strings.Contains(m.Text, "July 2025 → Sun 20 July 2025") ||
		!strings.Contains(m.Text, "参院選を7月20日投開票") || m.Link != "https://news.example/n1" {
		t.Errorf("proposal message = %+v, want old → new due, the sentence and the item's link", m)
	}
	id := proposalIDRE.FindString(fieldValue(m.Fields, "Proposal"))
	if id == "" {
		t.Fatalf("proposal fields %+v carry no id", m.Fields)
	}
	wantButtons := []bot.Button{
		{Label: "Confirm", Command: "proposal confirm " + id, AdminOnly: true, ShownToAll: true},
		{Label: "Dismiss", Command: "proposal dismiss " + id, AdminOnly: true, ShownToAll: true},
	}
	// Confirm and Dismiss lead; Remind again follows as on every alert.
	if len(m.Buttons) < 2 || fmt.Sprint(m.Buttons[:2]) != fmt.Sprint(wantButtons) {
		t.Errorf("buttons = %+v, want %+v first", m.Buttons, wantButtons)
	}
	if got := a.sentOf("slack:CNEWS", watchers.KindDateProposal); len(got) != 0 {
		t.Errorf("a channel subscribed to all got the proposal: proposals go only to the proposals target")
	}
	if got := a.sentOf("slack:CNEWS", watchers.KindFeedItem); len(got) != 1 {
		t.Errorf("all channel got %d feed items, want 1 (the new one)", len(got))
	}
	if got := a.sentKinds("slack:CELECT"); len(got) != 0 {
		t.Errorf("event channel got %v before any confirm, want nothing", got)
	}

	// Anyone lists the open proposals.
	list := a.must(member, channel, "proposals").Text
	if !strings.Contains(list, id) || !strings.Contains(list, "2025-07 → 2025-07-20") || !strings.Contains(list, "https://news.example/n1") {
		t.Errorf("proposals = %q, want %s with old → new due and link", list, id)
	}

	// A member's confirm is refused and audited.
	r := a.do(member, channel, "proposal confirm "+id)
	if !r.Error || !strings.Contains(r.Text, "Only admins") {
		t.Fatalf("member's confirm: %+v, want refused", r)
	}
	if e := a.auditLog()[0]; e.Action != "denied: proposal confirm" || e.Who != member || !strings.Contains(e.Target, id) {
		t.Errorf("audit after a member's confirm = %+v, want a denied entry", e)
	}
	if got := a.must(admin, channel, "event "+ev).Text; !strings.Contains(got, "July 2025") {
		t.Fatalf("event after a refused confirm: %q, want it unchanged", got)
	}

	// An admin's confirm changes the event; changed goes to its subscribers.
	r = a.must(admin, channel, "proposal confirm "+id)
	if !strings.Contains(r.Text, "Confirmed "+id) || !strings.Contains(r.Text, "20 July 2025") {
		t.Errorf("confirm reply = %q", r.Text)
	}
	e := a.auditLog()[0]
	if e.Action != "proposal confirm" || e.Who != admin || !strings.Contains(e.Before, `"Due":"2025-07"`) || !strings.Contains(e.After, `"Due":"2025-07-20"`) {
		t.Errorf("audit of the confirm = %+v", e)
	}
	detail := a.must(member, channel, "event "+ev).Text
	if !strings.Contains(detail, "Sun 20 July 2025") || !strings.Contains(detail, "参院選を7月20日投開票") || !strings.Contains(detail, "https://news.example/n1") {
		t.Errorf("event after confirm = %q, want the new day and the sentence with its source as the note", detail)
	}
	a.clock.Add(time.Minute)
	a.tick("deadlines")
	a.drain()
	changed := a.sentOf("slack:CELECT", watchers.KindChanged)
	if len(changed) != 1 || !strings.Contains(changed[0].Message.Text+changed[0].Message.Title, "20 July 2025") {
		t.Fatalf("event channel got %v, want one changed alert to 20 July", a.sentKinds("slack:CELECT"))
	}
	r = a.do(admin, channel, "proposal confirm "+id)
	if !r.Error || !strings.Contains(r.Text, "no longer open: it was confirmed by console:local") {
		t.Errorf("second confirm = %q, want no longer open", r.Text)
	}
	if list := a.must(member, channel, "proposals").Text; strings.Contains(list, id) {
		t.Errorf("proposals after the confirm still lists %s: %q", id, list)
	}

	// Seen again, the item proposes nothing; a new date does, once.
	a.clock.Add(5 * time.Minute)
	src.Set(rss([3]string{"n2", "参院選、投開票日を変更", "参院選は7月27日投開票に変更された。"},
		[3]string{"n1", "参院選の日程決まる", "政府は参院選を7月20日投開票とする日程を決めた。"}))
	a.tick("news")
	a.drain()
	props = a.sentOf("slack:CPROP", watchers.KindDateProposal)
	if len(props) != 2 {
		t.Fatalf("proposals after a second date: %d, want 2", len(props))
	}
	id2 := proposalIDRE.FindString(fieldValue(props[1].Message.Fields, "Proposal"))
	if id2 == "" || id2 == id {
		t.Fatalf("second proposal id %q", id2)
	}
	if got := a.must(admin, channel, "proposal dismiss "+id2).Text; !strings.Contains(got, "Dismissed "+id2) {
		t.Errorf("dismiss reply = %q", got)
	}
	if e := a.auditLog()[0]; e.Action != "proposal dismiss" || e.Who != admin {
		t.Errorf("audit of the dismissal = %+v", e)
	}
	// Another item with the dismissed date: remembered, not proposed again.
	a.clock.Add(5 * time.Minute)
	src.Set(rss([3]string{"n3", "参院選", "Reports say the Upper House election will be held on July 27, 2025."},
		[3]string{"n2", "参院選、投開票日を変更", "参院選は7月27日投開票に変更された。"}))
	a.tick("news")
	a.drain()
	if n := len(a.sentOf("slack:CPROP", watchers.KindDateProposal)); n != 2 {
		t.Errorf("a dismissed date was proposed again: %d proposals, want 2", n)
	}
	if got := a.must(member, channel, "proposals").Text; !strings.Contains(got, "No open date proposals") {
		t.Errorf("proposals with none open = %q", got)
	}

	// A proposal whose event changed since cannot be confirmed.
	a.clock.Add(5 * time.Minute)
	src.Set(rss([3]string{"n4", "参院選", "参院選は8月3日投開票の見通し。"}))
	a.tick("news")
	a.drain()
	props = a.sentOf("slack:CPROP", watchers.KindDateProposal)
	if len(props) != 3 {
		t.Fatalf("proposals after a third date: %d, want 3", len(props))
	}
	id3 := proposalIDRE.FindString(fieldValue(props[2].Message.Fields, "Proposal"))
	a.must(admin, channel, "event set "+ev+" due=2025-08-10")
	if got := a.must(member, channel, "proposals").Text; !strings.Contains(got, id3) || !strings.Contains(got, "changed since") {
		t.Errorf("proposals with a stale one = %q, want it marked", got)
	}
	r = a.do(admin, channel, "proposal confirm "+id3)
	if !r.Error || !strings.Contains(r.Text, "no longer open") || !strings.Contains(r.Text, "2025-08-10 now") {
		t.Errorf("confirm of a stale proposal = %q, want refused naming the change", r.Text)
	}
	if got := a.must(admin, channel, "event "+ev).Text; !strings.Contains(got, "10 August 2025") {
		t.Errorf("a refused stale confirm changed the event: %q", got)
	}
	if before == len(a.plat["slack"].Sent()) {
		t.Error("nothing was sent")
	}
}

func fieldValue(fs []watchers.Field, name string) string {
	for _, f := range fs {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// TestProposalCommandErrors: each mistake gets its own sentence.
func TestProposalCommandErrors(t *testing.T) {
	a := newApp(t, teamConfig(t), time.Date(2025, 6, 20, 10, 0, 0, 0, tokyo))
	tests := []struct {
		user, text, want string
	}{
		{admin, "proposal confirm", "Missing arguments."},
		{admin, "proposal confirm nope", `Bad proposal id "nope"`},
		{admin, "proposal dismiss p00000000", "No proposal p00000000; /alerts proposals lists the open ones."},
		{admin, "proposal confirm p00000000 extra", "Too many arguments"},
		{member, "proposal dismiss p00000000", "Only admins may use /alerts proposal dismiss"},
		{admin, `event set upper-house-election-2025 match="参院選,/(/"`, "match: entry 2: bad regular expression \"/(/\""},
		{admin, `event set upper-house-election-2025 match=",,/x/,"`, ""},
	}
	for _, tt := range tests {
		r := a.do(tt.user, channel, tt.text)
		if tt.want == "" {
			if r.Error {
				t.Errorf("/alerts %s: %q, want success", tt.text, r.Text)
			}
			continue
		}
		if !r.Error || !strings.Contains(r.Text, tt.want) {
			t.Errorf("/alerts %s as %s = %q, want an error with %q", tt.text, tt.user, r.Text, tt.want)
		}
	}
	if got := a.must(member, channel, "proposals").Text; !strings.Contains(got, "No open date proposals") {
		t.Errorf("proposals = %q", got)
	}
	// Names set in chat show in the event, and an empty value clears them.
	a.must(admin, channel, `event set upper-house-election-2025 match="参院選, Upper House election"`)
	if got := a.must(member, channel, "event upper-house-election-2025").Text; !strings.Contains(got, "Names (match): 参院選, Upper House election") {
		t.Errorf("event after match= = %q", got)
	}
	a.must(admin, channel, `event set upper-house-election-2025 match=`)
	if got := a.must(member, channel, "event upper-house-election-2025").Text; strings.Contains(got, "Names (match)") {
		t.Errorf("event after clearing match = %q", got)
	}
	denied := 0
	for _, e := range a.auditLog() {
		if e.Action == "denied: proposal dismiss" {
			denied++
		}
	}
	if denied != 1 {
		t.Errorf("denied proposal dismiss audited %d times, want 1", denied)
	}
}

// TestConfigMatch: match entries are checked at load, each at its line.
func TestConfigMatch(t *testing.T) {
	cfg := `timezone: Asia/Tokyo
events:
  - id: upper-house-election-2025
    title: Upper House election
    due: 2025-07
    match:
      - 参院選
      - "/(/"
      - ""
`
	_, err := bot.ParseConfig("test.yaml", []byte(cfg), factories)
	if err == nil {
		t.Fatal("config with a bad regular expression loaded")
	}
	for _, want := range []string{`test.yaml:8: match: entry 2: bad regular expression "/(/"`, "test.yaml:9: match: entry 3: empty", "e.g. match: [参院選"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	good := strings.Replace(strings.Replace(cfg, `"/(/"`, `"/upper[- ]house/i"`, 1), `      - ""`+"\n", "", 1)
	c, err := bot.ParseConfig("test.yaml", []byte(good), factories)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Events[0].Event.Match; fmt.Sprint(got) != "[参院選 /upper[- ]house/i]" {
		t.Errorf("Match = %q", got)
	}
}

// TestProposalPlainText: the console shows a proposal's buttons as the
// commands they run.
func TestProposalPlainText(t *testing.T) {
	m := bot.MessageFor(watchers.Alert{
		Key: "proposals/upper-house-election-2025/date_proposal@2025-07-20", Kind: watchers.KindDateProposal,
		Watcher: "news", Event: "upper-house-election-2025", Title: "Date proposal: Upper House election",
		Text: "July 2025 → Sun 20 July 2025\n“参院選は7月20日投開票”", Link: "https://news.example/1",
	})
	got := bot.PlainText(m, tokyo)
	for _, want := range []string{
		"[date proposal] Date proposal: Upper House election",
		"  July 2025 → Sun 20 July 2025\n",
		"  source: https://news.example/1\n",
		"  [Confirm] /alerts proposal confirm p26871459 (admins)\n",
		"  [Dismiss] /alerts proposal dismiss p26871459 (admins)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("PlainText lacks %q:\n%s", want, got)
		}
	}
	// A key that is not a proposal's gives no buttons to run.
	m = bot.MessageFor(watchers.Alert{Key: "x/date_proposal@2025-07-20", Kind: watchers.KindDateProposal, Event: "upper-house-election-2025"})
	if len(m.Buttons) != 0 {
		t.Errorf("buttons from a foreign key: %+v", m.Buttons)
	}
}
