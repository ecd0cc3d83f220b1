package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot/slack/slacktest"
)

// newsFeed is a watched RSS feed on loopback whose items the test sets.
type newsFeed struct {
	mu       sync.Mutex
	body     string
	requests int
}

func (f *newsFeed) set(body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.body = body
}

func (f *newsFeed) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

func (f *newsFeed) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	f.requests++
	body := f.body
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	_, _ = w.Write([]byte(body))
}

// newsRSS is an RSS feed of items, each {guid, title, description},
// published at pub.
func newsRSS(pub time.Time, items ...[3]string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>政治ニュース</title><link>https://news.example/</link>`)
	for _, it := range items {
		fmt.Fprintf(&b, `<item><title>%s</title><link>https://news.example/%s</link><guid>%s</guid><pubDate>%s</pubDate><description>%s</description></item>`,
			it[1], it[0], it[0], pub.Format(time.RFC1123Z), it[2])
	}
	b.WriteString(`</channel></rss>`)
	return b.String()
}

// slackButtonValue returns the value of the button labelled label in a
// post's blocks, or "".
func slackButtonValue(t *testing.T, p slacktest.Post, label string) string {
	t.Helper()
	var blocks []struct {
		Type     string `json:"type"`
		Elements []struct {
			Type  string          `json:"type"`
			Value string          `json:"value"`
			Text  json.RawMessage `json:"text"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(p.Blocks, &blocks); err != nil {
		t.Fatalf("blocks: %v", err)
	}
	for _, b := range blocks {
		for _, el := range b.Elements {
			var l struct {
				Text string `json:"text"`
			}
			if b.Type == "actions" && el.Type == "button" && json.Unmarshal(el.Text, &l) == nil && l.Text == label {
				return el.Value
			}
		}
	}
	return ""
}

// slackPress sends a signed block_actions interaction: user pressed the
// button whose value is value on a post in channel; the reply goes to
// the fake's response_url with id respID.
func slackPress(t *testing.T, ctx context.Context, srv *e2eServer, fake *slacktest.Server, clk *e2eClock, channel, ts, user, label, value, respID string) {
	t.Helper()
	payload, err := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user, "username": strings.ToLower(user)},
		"api_app_id": "A0APP", "trigger_id": "1.2.3",
		"container":    map[string]any{"type": "message", "message_ts": ts, "channel_id": channel},
		"channel":      map[string]any{"id": channel, "name": "proposals"},
		"response_url": fake.ResponseURL(respID),
		"actions": []map[string]any{{"action_id": "alertbot_button_0", "block_id": "alertbot_actions_0", "type": "button",
			"value": value, "text": map[string]any{"type": "plain_text", "text": label}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(url.Values{"payload": {string(payload)}}.Encode())
	status, data := srv.post(t, ctx, "/slack/interactions", "application/x-www-form-urlencoded", body,
		slackHeader(e2eSlackSecret, clk.Now(), body))
	if status != http.StatusOK {
		t.Fatalf("interaction: status %d: %s", status, data)
	}
}

// slackResponse waits for the response_url reply with id.
func slackResponse(t *testing.T, ctx context.Context, fake *slacktest.Server, id string) slacktest.Response {
	t.Helper()
	var got slacktest.Response
	e2ePoll(t, ctx, "the reply "+id, func() bool {
		for _, r := range fake.Responses() {
			if r.ID == id {
				got = r
				return true
			}
		}
		return false
	})
	return got
}

// TestSlackDateProposalEndToEnd: a feed item announcing the Upper House
// election's day gives one date_proposal in the proposals channel; a
// member's Confirm is refused and audited; an admin's signed Confirm sets
// the day, posts changed to the event's channel and is audited; the same
// item seen again, and republished, proposes nothing.
func TestSlackDateProposalEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*e2eBound)
	defer cancel()
	dir := t.TempDir()
	fake := slacktest.NewServer()
	fake.Token = e2eSlackToken
	t.Cleanup(fake.Close)
	feed := &newsFeed{}
	feedSrv := httptest.NewServer(feed)
	t.Cleanup(feedSrv.Close)

	clk := &e2eClock{}
	tokyo := mustZone("Asia/Tokyo")
	pub := clk.Now().In(tokyo).Add(-time.Hour).Truncate(time.Second)
	day := pub.AddDate(0, 0, 40)
	feed.set(newsRSS(pub, [3]string{"n0", "閣議", "閣議が開かれた。"}))
	cfg := filepath.Join(dir, "alertbot.yaml")
	writeFile(t, cfg, `timezone: Asia/Tokyo
admins: [slack:U0ADMIN1]
events:
  - id: upper-house-election
    title: House of Councillors (Upper House) election
    due: `+day.Format("2006-01")+`
    lead_times: []
    tags: [japan, election]
    match: [参院選, 参議院議員通常選挙, Upper House election]
watchers:
  - id: deadlines
    kind: countdown
    schedule: "@every 1s"
  - id: news
    kind: feed
    url: `+feedSrv.URL+`/news.rss
    schedule: "@every 1s"
    fetch: {allow_private: true}
subscriptions:
  - channel: slack:C0PROPOSALS
    to: [proposals]
  - channel: slack:C0ELECTION
    to: [event:upper-house-election]
  - channel: slack:C0NEWS
    to: [watcher:news]
`)
	srv := startServe(t, cfg, filepath.Join(dir, "alertbot.db"), slackEnv(fake), clk, e2eSlackToken, e2eSlackSecret)
	// Two fetches: the first check (which records the feed) has committed.
	e2ePoll(t, ctx, "two feed checks", func() bool { return feed.count() >= 2 })

	sentence := fmt.Sprintf("政府は参院選を%d月%d日投開票とする日程を決めた。", day.Month(), day.Day())
	item := [3]string{"n1", "参院選の日程決まる", sentence}
	feed.set(newsRSS(pub, item, [3]string{"n0", "閣議", "閣議が開かれた。"}))
	e2ePoll(t, ctx, "the date proposal", func() bool { return len(slackPostsTo(fake, "C0PROPOSALS", "")) >= 1 })
	post := slackPostsTo(fake, "C0PROPOSALS", "")[0]
	if !strings.Contains(post.Text, "Date proposal: House of Councillors") || !strings.Contains(post.Text, sentence) ||
		!strings.Contains(post.Text, day.Format("Mon 2 January 2006")) {
		t.Errorf("proposal text:\n%s", post.Text)
	}
	if !strings.Contains(string(post.Blocks), "https://news.example/n1") {
		t.Errorf("proposal blocks lack the item's link: %s", post.Blocks)
	}
	confirm, dismiss := slackButtonValue(t, post, "Confirm"), slackButtonValue(t, post, "Dismiss")
	id := regexp.MustCompile(`^proposal confirm (p[0-9a-f]{8})$`).FindStringSubmatch(confirm)
	if id == nil || dismiss != "proposal dismiss "+id[1] {
		t.Fatalf("buttons: confirm %q, dismiss %q", confirm, dismiss)
	}

	// A member presses Confirm: refused, audited, nothing changes.
	slackPress(t, ctx, srv, fake, clk, "C0PROPOSALS", post.TS, "U0MEMBER", "Confirm", confirm, "member")
	if r := slackResponse(t, ctx, fake, "member"); !strings.Contains(r.Text, "Only admins may use /alerts proposal confirm") {
		t.Errorf("member's Confirm: %+v", r)
	}
	// An admin presses Confirm.
	slackPress(t, ctx, srv, fake, clk, "C0PROPOSALS", post.TS, "U0ADMIN1", "Confirm", confirm, "admin")
	if r := slackResponse(t, ctx, fake, "admin"); !strings.Contains(r.Text, "Confirmed "+id[1]) {
		t.Fatalf("admin's Confirm: %+v", r)
	}
	e2ePoll(t, ctx, "the changed alert", func() bool {
		for _, p := range slackPostsTo(fake, "C0ELECTION", "") {
			if strings.Contains(string(p.Blocks), "changed") && strings.Contains(p.Text+string(p.Blocks), day.Format("2 January 2006")) {
				return true
			}
		}
		return false
	})
	ev := slackCommand(t, &slackE2E{ctx: ctx, fake: fake, clk: clk, srv: srv}, srv, "C0ELECTION", "U0MEMBER", "event upper-house-election")
	if !strings.Contains(ev.Text, day.Format("Mon 2 January 2006")) || !strings.Contains(ev.Text, sentence) {
		t.Errorf("event after the confirm:\n%s", ev.Text)
	}
	audit := slackCommand(t, &slackE2E{ctx: ctx, fake: fake, clk: clk, srv: srv}, srv, "C0PROPOSALS", "U0ADMIN1", "audit 10 proposal")
	for _, want := range []string{"slack:U0MEMBER", "denied: proposal confirm", "slack:U0ADMIN1", "proposal confirm " + id[1]} {
		if !strings.Contains(audit.Text, want) {
			t.Errorf("audit lacks %q:\n%s", want, audit.Text)
		}
	}

	// The same item seen again, and the news republished under a new
	// guid, propose nothing: the event already has that day.
	feed.set(newsRSS(pub, [3]string{"n2", "参院選の日程決まる（再掲）", sentence}, item))
	e2ePoll(t, ctx, "the republished item in the news channel", func() bool {
		return len(slackPostsTo(fake, "C0NEWS", "参院選の日程決まる（再掲）")) == 1
	})
	before := feed.count()
	e2ePoll(t, ctx, "two more feed checks", func() bool { return feed.count() >= before+2 })
	if got := slackPostsTo(fake, "C0PROPOSALS", ""); len(got) != 1 {
		t.Errorf("proposals channel got %d posts, want the one proposal", len(got))
	}
	r := slackCommand(t, &slackE2E{ctx: ctx, fake: fake, clk: clk, srv: srv}, srv, "C0PROPOSALS", "U0MEMBER", "proposals")
	if !strings.Contains(r.Text, "No open date proposals") {
		t.Errorf("proposals after the confirm:\n%s", r.Text)
	}
}
