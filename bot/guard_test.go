package bot_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
)

// slackDo runs text as a Slack user would send it: rate limits apply.
func (a *app) slackDo(user, text string) bot.Reply {
	a.t.Helper()
	return a.router.Handle(context.Background(), bot.Request{Platform: "slack", User: user, Channel: channel, Text: text})
}

// TestAuditFlooding: a non-admin sending admin commands with huge
// arguments cannot grow the database: over-long commands are refused
// before anything is stored, stored arguments are cut, repeated refusals
// are collapsed, and a flood is slowed down.
func TestAuditFlooding(t *testing.T) {
	a := newApp(t, seedConfig, seedNow)
	size := func() int64 {
		t.Helper()
		var n int64
		for _, suffix := range []string{"", "-wal"} {
			if fi, err := os.Stat(a.path + suffix); err == nil {
				n += fi.Size()
			}
		}
		return n
	}
	before := size()
	huge := "watcher add feed x url=https://example.org/" + strings.Repeat("a", 1<<20)
	for range 50 {
		if r := a.slackDo(member, huge); !r.Error {
			t.Fatalf("a 1 MB admin command from a member: %+v", r)
		}
	}
	if grown := size() - before; grown > 64<<10 {
		t.Errorf("50 refused 1 MB commands grew the database by %d bytes, want under 64 KiB", grown)
	}
	if r := a.slackDo("slack:U0OTHER", huge); !strings.Contains(r.Text, "too long") {
		t.Errorf("a 1 MB command: %q, want it refused as too long", r.Text)
	}

	// A long argument under the command limit is stored cut, marked.
	long := "watcher add feed y url=https://example.org/" + strings.Repeat("b", 6000)
	if r := a.slackDo("slack:U0LONG", long); !r.Error || !strings.Contains(r.Text, "Only admins") {
		t.Fatalf("admin command from a member: %+v", r)
	}
	var denied []bot.AuditEntry
	for _, e := range a.auditLog() {
		if strings.HasPrefix(e.Action, "denied:") && e.Who == "slack:U0LONG" {
			denied = append(denied, e)
		}
	}
	if len(denied) != 1 || len(denied[0].Target) > 1024 || !strings.Contains(denied[0].Target, "[cut from ") {
		t.Fatalf("audit of the refusal: %+v, want one entry, its arguments cut and marked", denied)
	}

	// Repeats within 10 minutes are counted, not stored; the next entry
	// after that says how many there were.
	countDenied := func(user string) (n int, last bot.AuditEntry) {
		for _, e := range a.auditLog() {
			if strings.HasPrefix(e.Action, "denied:") && e.Who == user {
				n++
				if e.At.After(last.At) || last.At.IsZero() {
					last = e
				}
			}
		}
		return n, last
	}
	for range 5 {
		a.slackDo("slack:U0REPEAT", "event remove e1")
	}
	if n, _ := countDenied("slack:U0REPEAT"); n != 1 {
		t.Errorf("5 refusals in a row stored %d entries, want 1", n)
	}
	a.clock.Add(11 * time.Minute)
	a.slackDo("slack:U0REPEAT", "event remove e1")
	if n, last := countDenied("slack:U0REPEAT"); n != 2 || !strings.Contains(last.Target, "[4 more refusals not logged]") {
		t.Errorf("after the window: %d entries, last %+v; want 2, the last counting the 4 not logged", n, last)
	}
	if _, err := a.db.Event(context.Background(), "e1"); err != nil {
		t.Errorf("event e1 after refused removals: %v", err)
	}
}

// TestCommandRateLimit: one chat user gets a burst of commands, then a
// friendly "slow down" until the bucket refills; other users and the
// console are not affected.
func TestCommandRateLimit(t *testing.T) {
	a := newApp(t, seedConfig, seedNow)
	for i := range bot.DefaultCommandBurst {
		if r := a.slackDo(member, "upcoming"); r.Error {
			t.Fatalf("command %d of the burst: %q", i+1, r.Text)
		}
	}
	r := a.slackDo(member, "upcoming")
	if !r.Error || !strings.Contains(r.Text, "Slow down") || !strings.Contains(r.Text, "Try again in a second") {
		t.Errorf("command past the burst: %+v, want a slow-down reply", r)
	}
	if r := a.slackDo("slack:U0SOMEONE", "upcoming"); r.Error {
		t.Errorf("another user was limited too: %q", r.Text)
	}
	if r := a.do(member, channel, "upcoming"); r.Error {
		t.Errorf("the console was limited: %q", r.Text)
	}
	a.clock.Add(2 * time.Second)
	if r := a.slackDo(member, "upcoming"); r.Error {
		t.Errorf("after the bucket refilled: %q", r.Text)
	}
}

// TestChatCannotWidenFetch: fetch.allow_private and fetch.max_bytes are
// the operator's, set only in the config file; chat gets a clear refusal
// and the watcher is not stored. An unknown field is named in the user's
// terms, not Go's.
func TestChatCannotWidenFetch(t *testing.T) {
	a := newApp(t, seedConfig, seedNow)
	for _, field := range []string{"fetch.allow_private=true", "fetch.max_bytes=99999999"} {
		r := a.do(admin, channel, `watcher add feed intranet url=http://10.0.0.1/feed schedule="@every 1h" `+field)
		key, _, _ := strings.Cut(field, "=")
		if !r.Error || !strings.Contains(r.Text, key+" can be set only in the config file") {
			t.Errorf("%s from chat: %q", field, r.Text)
		}
	}
	if _, err := a.db.Watcher(context.Background(), "intranet"); err == nil {
		t.Error("the refused watcher was stored")
	}
	r := a.do(admin, channel, `watcher add feed news url=https://example.org/feed schedule="@every 1h" allow_private=true`)
	if !r.Error || !strings.Contains(r.Text, `Unknown watcher field "allow_private"`) || strings.Contains(r.Text, "watchers.Spec") {
		t.Errorf("unknown field: %q", r.Text)
	}
}
