package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// source is a watched site whose body and health the test controls. It
// answers conditional requests with 304 when the body did not change.
type source struct {
	mu      sync.Mutex
	body    string
	failing bool
	hits    int
}

func (s *source) set(body string, failing bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.failing = body, failing
}

func (s *source) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits++
	if s.failing {
		http.Error(w, "upstream down", http.StatusBadGateway)
		return
	}
	etag := fmt.Sprintf(`"%x"`, sha256.Sum256([]byte(s.body)))
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	fmt.Fprint(w, s.body)
}

func rss(titles ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>CRS Japan</title>`)
	for i, t := range titles {
		fmt.Fprintf(&b, `<item><title>%s</title><link>https://example.org/%d</link><guid>g%d</guid></item>`, t, i, i)
	}
	b.WriteString(`</channel></rss>`)
	return b.String()
}

func ics(events ...string) string {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n")
	for i, e := range events {
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:ev%d@example.org\r\nSUMMARY:%s\r\nDTSTART;VALUE=DATE:202701%02d\r\nEND:VEVENT\r\n", i, e, 10+i)
	}
	b.WriteString("END:VCALENDAR\r\n")
	return b.String()
}

// TestSourceWatchersFromChat runs every source kind as an admin adds it in
// chat: first run, a change (one alert, delivered once), no change, three
// failures (one watcher_failing alert), a restart, recovery (one
// watcher_recovered alert, nothing re-posted).
func TestSourceWatchersFromChat(t *testing.T) {
	kinds := []struct {
		kind, fields    string
		v1, v2          string
		wantKind, title string
	}{
		{"feed", "match=Japan,Ishiba", rss("Japan budget passes"), rss("Japan budget passes", "Ishiba faces no-confidence motion", "Weather report"), "feed_item", "Ishiba faces no-confidence motion"},
		{"page", `selector=#schedule ignore="Updated \d+"`, `<html><body><div id="schedule">Diet session: January<p>Updated 1</p></div></body></html>`,
			`<html><body><div id="schedule">Diet session: January 23<p>Updated 2</p></div></body></html>`, "page_changed", ""},
		{"calendar", "timezone=Asia/Tokyo", ics("Diet convenes"), ics("Diet convenes", "Budget speech"), "calendar_changed", ""},
		{"jsonapi", `path=rates.JPY "condition=value > 160" label=USD/JPY unit=yen`, `{"rates":{"JPY":150.5}}`, `{"rates":{"JPY":161.2}}`, "threshold", ""},
	}
	for _, k := range kinds {
		t.Run(k.kind, func(t *testing.T) {
			src := &source{}
			src.set(k.v1, false)
			srv := httptest.NewServer(src)
			defer srv.Close()
			now := time.Date(2026, 11, 25, 10, 0, 0, 0, tokyo)
			path := filepath.Join(t.TempDir(), "a.db")
			tb := openTestBot(t, path, benchConfig, now)
			id := "src-" + k.kind
			add := fmt.Sprintf(`watcher add %s %s url=%s/x schedule="@every 1h" %s`, k.kind, id, srv.URL, k.fields)
			if r := tb.run(t, admin, admin, add); r.Error {
				t.Fatalf("%s\n%s", add, r.Text)
			}
			// The test site is on loopback, which only the operator may
			// allow (in the config file; chat may not): set it in the
			// store as a config edit would.
			w, err := tb.db.Watcher(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			w.Spec.Fetch.AllowPrivate = true
			if err := tb.db.SaveWatcher(context.Background(), w); err != nil {
				t.Fatal(err)
			}
			step := func(want string) {
				t.Helper()
				now = now.Add(time.Hour)
				tb.clock.Set(now)
				r := tb.run(t, admin, admin, "watcher run "+id)
				if !strings.Contains(r.Text, want) {
					t.Fatalf("watcher run: %q lacks %q", r.Text, want)
				}
				tb.drain(t, tb.plat)
			}
			kindsSent := func() map[string]int {
				n := map[string]int{}
				for _, o := range tb.plat.Sent() {
					n[string(o.Message.Kind)]++
				}
				return n
			}
			step("checked")
			if n := len(tb.plat.Sent()); n != 0 && k.kind != "jsonapi" {
				t.Fatalf("first run posted %d messages", n)
			}
			if k.kind == "calendar" {
				// Calendar events become events the countdown reminds about.
				if r := tb.run(t, member, channel, "upcoming 400d"); !strings.Contains(r.Text, "Diet convenes — Sun 10 January 2027") {
					t.Errorf("calendar event not in upcoming:\n%s", r.Text)
				}
			}
			src.set(k.v2, false)
			step("checked")
			if got := kindsSent()[k.wantKind]; got != 1 {
				t.Fatalf("after a change: %d %s alerts, want 1 (%v)", got, k.wantKind, kindsSent())
			}
			if k.title != "" && !strings.Contains(tb.plat.Sent()[len(tb.plat.Sent())-1].Message.Title, k.title) {
				t.Errorf("alert title %q lacks %q", tb.plat.Sent()[len(tb.plat.Sent())-1].Message.Title, k.title)
			}
			before := len(tb.plat.Sent())
			step("checked") // unchanged: 304
			if len(tb.plat.Sent()) != before {
				t.Fatalf("an unchanged source posted %d more", len(tb.plat.Sent())-before)
			}
			src.set(k.v2, true)
			for i := 0; i < 4; i++ {
				step("502")
			}
			if got := kindsSent()["watcher_failing"]; got != 1 {
				t.Fatalf("%d watcher_failing alerts after 4 failures, want 1", got)
			}
			if r := tb.run(t, member, channel, "watchers"); !strings.Contains(r.Text, "FAILING (4 in a row)") || !strings.Contains(r.Text, "502") {
				t.Errorf("watchers does not show the failure:\n%s", r.Text)
			}
			sentBefore := tb.plat.Sent()

			// Restart on the same database; the source comes back unchanged.
			tb = openTestBot(t, path, benchConfig, now)
			src.set(k.v2, false)
			step("checked")
			n := map[string]int{}
			for _, o := range append(sentBefore, tb.plat.Sent()...) {
				n[string(o.Message.Kind)]++
			}
			if n["watcher_recovered"] != 1 || n[k.wantKind] != 1 {
				t.Fatalf("after recovery: %v; want one watcher_recovered and still one %s", n, k.wantKind)
			}
			if r := tb.run(t, admin, admin, "watcher remove "+id); r.Error {
				t.Fatal(r.Text)
			}
			hist, err := tb.db.ChannelHistory(t.Context(), "console:local", 50)
			if err != nil || len(hist) < 3 {
				t.Errorf("history after remove: %d items, %v", len(hist), err)
			}
		})
	}
}

var _ http.Handler = (*source)(nil)
