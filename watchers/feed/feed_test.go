package feed

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/fetch"
	"github.com/policyteam/alertbot/watchers/sharedtest"
	"github.com/policyteam/alertbot/watchers/sourcetest"
)

var now = time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)

// newSource serves body as an RSS feed from a loopback server.
func newSource(t testing.TB, body string) *sourcetest.Source {
	return sourcetest.New(t, "application/rss+xml", body)
}

func spec(url string) watchers.Spec {
	return watchers.Spec{
		ID:    "crs-japan",
		Kind:  "feed",
		URL:   url,
		Tags:  []string{"japan"},
		Fetch: watchers.Fetch{AllowPrivate: true},
	}
}

func newWatcher(t *testing.T, sp watchers.Spec) watchers.Watcher {
	t.Helper()
	w, err := New(sp, watchers.Deps{Fetcher: fetch.New(fetch.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func check(t *testing.T, w watchers.Watcher, state []byte) watchers.Result {
	t.Helper()
	return sourcetest.Check(t, w, now, state)
}

type rssItem struct{ guid, title, link, desc, date string }

func rss(items ...rssItem) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>CRS Japan</title><link>https://example.org/</link>`)
	for _, it := range items {
		b.WriteString("<item>")
		if it.guid != "" {
			fmt.Fprintf(&b, "<guid>%s</guid>", it.guid)
		}
		fmt.Fprintf(&b, "<title>%s</title><link>%s</link><description>%s</description>", it.title, it.link, it.desc)
		if it.date != "" {
			fmt.Fprintf(&b, "<pubDate>%s</pubDate>", it.date)
		}
		b.WriteString("</item>")
	}
	b.WriteString("</channel></rss>")
	return b.String()
}

var (
	itemA = rssItem{"a", "Diet passes FY2025 budget", "https://example.org/a", "The budget passed.", "Mon, 31 Mar 2025 06:00:00 GMT"}
	itemB = rssItem{"b", "Upper House election set", "https://example.org/b", "Election on July 20.", "Thu, 03 Jul 2025 01:00:00 GMT"}
	itemC = rssItem{"c", "Ishiba &amp; Trump &lt;b&gt;meet&lt;/b&gt;", "https://example.org/c",
		"&lt;p&gt;The leaders met at the &lt;a href='x'&gt;White House&lt;/a&gt;.&lt;/p&gt;&lt;p&gt;Tariffs   were   discussed&amp;nbsp;too.&lt;/p&gt;",
		"Fri, 07 Feb 2025 15:30:00 GMT"}
)

func TestFirstRunThenNewItem(t *testing.T) {
	src := newSource(t, rss(itemB, itemA))
	w := newWatcher(t, spec(src.URL))

	res := check(t, w, nil)
	if len(res.Alerts) != 0 || res.Found != "first run: 2 items recorded" {
		t.Fatalf("first run: %d alerts, found %q", len(res.Alerts), res.Found)
	}

	src.Set(rss(itemC, itemB, itemA))
	res = check(t, w, res.State)
	if res.Found != "1 new items, 1 posted" {
		t.Errorf("found %q", res.Found)
	}
	published := time.Date(2025, 2, 7, 15, 30, 0, 0, time.UTC)
	want := []watchers.Alert{{
		Key:     "crs-japan/feed_item/" + shortHash("guid:c"),
		Kind:    watchers.KindFeedItem,
		Watcher: "crs-japan",
		Tags:    []string{"japan"},
		At:      now,
		Title:   "Ishiba & Trump meet",
		Text:    "The leaders met at the White House.\nTariffs were discussed too.",
		Link:    "https://example.org/c",
		Fields: []watchers.Field{
			{Name: "Feed", Value: "CRS Japan"},
			{Name: "Published", Value: "2025-02-07 15:30 UTC", Time: published},
		},
	}}
	if diff := cmp.Diff(want, res.Alerts, cmpTime); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}

	// The same feed again: nothing new.
	res = check(t, w, res.State)
	if len(res.Alerts) != 0 || res.Found != "no new items" {
		t.Errorf("unchanged feed: %d alerts, found %q", len(res.Alerts), res.Found)
	}
}

var cmpTime = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

func TestNewItemsOldestFirst(t *testing.T) {
	src := newSource(t, rss(itemA))
	w := newWatcher(t, spec(src.URL))
	st := check(t, w, nil).State
	src.Set(rss(itemB, itemC, itemA)) // not in date order
	res := check(t, w, st)
	var got []string
	for _, a := range res.Alerts {
		got = append(got, a.Link)
	}
	if want := []string{"https://example.org/c", "https://example.org/b"}; !cmp.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestNotModified(t *testing.T) {
	src := newSource(t, rss(itemA))
	src.SetETag(`"v1"`)
	w := newWatcher(t, spec(src.URL))
	st := check(t, w, nil).State
	if !strings.Contains(string(st), `"etag":"\"v1\""`) {
		t.Fatalf("state does not keep the ETag: %s", st)
	}

	res := check(t, w, st)
	if len(res.Alerts) != 0 || res.Found != "not modified" {
		t.Fatalf("304: %d alerts, found %q", len(res.Alerts), res.Found)
	}
	if cond := src.Conditional(); cond != 1 {
		t.Errorf("%d conditional requests, want 1", cond)
	}
	// The validators survive a 304, so the next change is still seen.
	src.Set(rss(itemB, itemA))
	src.SetETag(`"v2"`)
	res = check(t, w, res.State)
	if len(res.Alerts) != 1 || res.Alerts[0].Link != itemB.link {
		t.Fatalf("after 304 a new item was missed: %+v", res.Alerts)
	}
}

func TestUnchangedBodyWithoutValidators(t *testing.T) {
	src := newSource(t, rss(itemB, itemA))
	w := newWatcher(t, spec(src.URL))
	st := check(t, w, nil).State
	for range 3 {
		res := check(t, w, st)
		if len(res.Alerts) != 0 {
			t.Fatalf("unchanged body posted %d alerts", len(res.Alerts))
		}
		st = res.State
	}
	if cond := src.Conditional(); cond != 0 {
		t.Errorf("sent If-None-Match without an ETag %d times", cond)
	}
}

func TestFailures(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		ctype  string
		want   string
	}{
		{name: "server error", status: 500, want: "http status 500"},
		{name: "not found", status: 404, want: "http status 404"},
		{name: "garbage", body: "\x00\x01garbage\xff\xfe not a feed", want: "unreadable feed"},
		{name: "html page", body: "<!doctype html><html><body>Moved</body></html>", ctype: "text/html", want: "unreadable feed"},
		{name: "empty", body: "", want: "unreadable feed"},
		{name: "truncated", body: rss(itemA, itemB)[:150], want: "unreadable feed"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			src := newSource(t, rss(itemA))
			w := newWatcher(t, spec(src.URL))
			st := check(t, w, nil).State

			if tt.status != 0 {
				src.Fail(tt.status)
			} else {
				src.Set(tt.body)
				if tt.ctype != "" {
					src.SetContentType(tt.ctype)
				}
			}
			res, err := w.Check(t.Context(), watchers.Input{Now: now, State: st})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if res.State != nil || res.Alerts != nil {
				t.Errorf("a failed check returned state or alerts: %+v", res)
			}
			// Recovery: the old state still works and nothing is reposted.
			src.Set(rss(itemA))
			if res := check(t, w, st); len(res.Alerts) != 0 {
				t.Errorf("after recovery %d alerts", len(res.Alerts))
			}
		})
	}
}

func TestRestartPostsNothingTwice(t *testing.T) {
	src := newSource(t, rss(itemA))
	src.SetETag(`"1"`)
	st := check(t, newWatcher(t, spec(src.URL)), nil).State

	src.Set(rss(itemB, itemA))
	src.SetETag(`"2"`)
	res := check(t, newWatcher(t, spec(src.URL)), st)
	if len(res.Alerts) != 1 {
		t.Fatalf("second instance: %d alerts, want 1", len(res.Alerts))
	}
	// Round-trip the state as a store would, into a third instance.
	var raw json.RawMessage
	if err := json.Unmarshal(res.State, &raw); err != nil {
		t.Fatal(err)
	}
	src.SetETag(`"3"`) // new ETag, same items
	res = check(t, newWatcher(t, spec(src.URL)), raw)
	if len(res.Alerts) != 0 {
		t.Fatalf("third instance reposted %d alerts", len(res.Alerts))
	}
}

func TestUntitledItem(t *testing.T) {
	long := strings.Repeat("予算 ", 30) + "\n" + strings.Repeat("budget ", 20)
	src := newSource(t, rss())
	w := newWatcher(t, spec(src.URL))
	st := check(t, w, nil).State
	src.Set(rss(rssItem{guid: "u", link: "https://example.org/u", desc: long}, rssItem{guid: "v", link: "https://example.org/v"}))
	res := check(t, w, st)
	titles := map[string]string{}
	for _, a := range res.Alerts {
		titles[a.Link] = a.Title
	}
	if len(titles) != 2 {
		t.Fatalf("alerts %+v, want 2", res.Alerts)
	}
	// The text stands in for a missing title, on one line and cut by the
	// one rule; without text, the link does.
	want, _ := watchers.Truncate(strings.ReplaceAll(strings.TrimSpace(long), "\n", " "), untitledLimit)
	if got := titles["https://example.org/u"]; got != want || utf8.RuneCountInString(got) != untitledLimit {
		t.Errorf("title %q, want %q", got, want)
	}
	if got := titles["https://example.org/v"]; got != "https://example.org/v" {
		t.Errorf("title without text %q, want the link", got)
	}
}

func TestItemWithoutGUID(t *testing.T) {
	noGUID := func(title, date string) rssItem {
		return rssItem{title: title, link: "https://example.org/same", desc: "d", date: date}
	}
	src := newSource(t, rss(noGUID("Budget vote", "Mon, 31 Mar 2025 06:00:00 GMT")))
	w := newWatcher(t, spec(src.URL))
	st := check(t, w, nil).State

	// Same link, different title: a different item.
	src.Set(rss(noGUID("Budget passed", "Mon, 31 Mar 2025 08:00:00 GMT"), noGUID("Budget vote", "Mon, 31 Mar 2025 06:00:00 GMT")))
	res := check(t, w, st)
	if len(res.Alerts) != 1 || res.Alerts[0].Title != "Budget passed" {
		t.Fatalf("alerts %+v, want the one new item", res.Alerts)
	}
	wantKey := "crs-japan/feed_item/" + shortHash("item:https://example.org/same\nBudget passed\nMon, 31 Mar 2025 08:00:00 GMT")
	if res.Alerts[0].Key != wantKey {
		t.Errorf("key %q, want %q (link+title+date)", res.Alerts[0].Key, wantKey)
	}
	if res = check(t, w, res.State); len(res.Alerts) != 0 {
		t.Errorf("item without GUID posted again: %+v", res.Alerts)
	}
}

func TestMatchExclude(t *testing.T) {
	items := []rssItem{
		{guid: "1", title: "Japan and US agree", desc: "tariffs"},
		{guid: "2", title: "Japanese cuisine", desc: "sushi"},
		{guid: "3", title: "Korea update", desc: "nothing on JAPAN here? yes JAPAN"},
		{guid: "4", title: "石破首相が訪米", desc: "首脳会談"},
		{guid: "5", title: "Ishiba interview", desc: "opinion piece"},
		{guid: "6", title: "Budget FY2025", desc: "no match"},
	}
	cases := []struct {
		name           string
		match, exclude []string
		want           []string // guids posted
	}{
		{name: "all", want: []string{"1", "2", "3", "4", "5", "6"}},
		{name: "word", match: []string{"japan"}, want: []string{"1", "3"}},
		{name: "words", match: []string{"Japan", "石破"}, want: []string{"1", "3", "4"}},
		{name: "regex", match: []string{`/Japan(ese)?\b/`}, want: []string{"1", "2"}},
		{name: "regex i", match: []string{`/^japan/i`}, want: []string{"1", "2"}},
		{name: "exclude", match: []string{"japan", "ishiba"}, exclude: []string{"opinion"}, want: []string{"1", "3"}},
		{name: "exclude regex", exclude: []string{`/FY\d{4}/`, "korea"}, want: []string{"1", "2", "4", "5"}},
		{name: "phrase", match: []string{"us  agree"}, want: []string{"1"}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			src := newSource(t, rss())
			sp := spec(src.URL)
			sp.Match, sp.Exclude = tt.match, tt.exclude
			w := newWatcher(t, sp)
			st := check(t, w, nil).State
			src.Set(rss(items...))
			res := check(t, w, st)
			got := map[string]bool{}
			for _, a := range res.Alerts {
				got[a.Key] = true
			}
			want := map[string]bool{}
			for _, g := range tt.want {
				want["crs-japan/feed_item/"+shortHash("guid:"+g)] = true
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("posted (-want +got):\n%s", diff)
			}
			// Filtered-out items are still recorded: nothing on the next run.
			if res := check(t, w, res.State); len(res.Alerts) != 0 {
				t.Errorf("next run posted %d", len(res.Alerts))
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*watchers.Spec)
		field string
	}{
		{"no url", func(s *watchers.Spec) { s.URL = "" }, "url"},
		{"file url", func(s *watchers.Spec) { s.URL = "file:///etc/passwd" }, "url"},
		{"relative url", func(s *watchers.Spec) { s.URL = "feeds/crs.rss" }, "url"},
		{"bad regex", func(s *watchers.Spec) { s.Match = []string{"/(unclosed/"} }, "match"},
		{"empty match", func(s *watchers.Spec) { s.Match = []string{"  "} }, "match"},
		{"bad exclude", func(s *watchers.Spec) { s.Exclude = []string{"/a{2,1}/"} }, "exclude"},
		{"bad timeout", func(s *watchers.Spec) { s.Fetch.Timeout = "fast" }, "fetch"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			sp := spec("https://example.org/feed")
			tt.edit(&sp)
			_, err := New(sp, watchers.Deps{})
			var fe *watchers.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("err = %v, want FieldError on %q", err, tt.field)
			}
		})
	}
	// Valid without a fetcher (config check), but Check needs one.
	w, err := New(spec("https://example.org/feed"), watchers.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Check(t.Context(), watchers.Input{Now: now}); err == nil || !strings.Contains(err.Error(), "no fetcher") {
		t.Errorf("check without fetcher: %v", err)
	}
}

func TestBadState(t *testing.T) {
	w := newWatcher(t, spec("http://127.0.0.1:1/"))
	if _, err := w.Check(t.Context(), watchers.Input{Now: now, State: []byte("{not json")}); err == nil || !strings.Contains(err.Error(), "read state") {
		t.Errorf("err = %v, want a state error", err)
	}
}

func TestSeenSetBounded(t *testing.T) {
	src := newSource(t, rss(itemA, itemB))
	old := state{}
	for i := range 2500 {
		old.Seen = append(old.Seen, shortHash(fmt.Sprint("old", i)))
	}
	st, _ := json.Marshal(old)
	res := check(t, newWatcher(t, spec(src.URL)), st)
	var got state
	if err := json.Unmarshal(res.State, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Seen) != 2+maxSeen {
		t.Fatalf("seen has %d keys, want %d", len(got.Seen), 2+maxSeen)
	}
	// The feed's own items first, then the most recent old ones.
	if got.Seen[0] != shortHash("guid:a") || got.Seen[2] != old.Seen[0] || got.Seen[len(got.Seen)-1] != old.Seen[maxSeen-1] {
		t.Errorf("unexpected order: %v … %v", got.Seen[:3], got.Seen[len(got.Seen)-1])
	}
}

func TestTextReduction(t *testing.T) {
	long := strings.Repeat("日本の予算。", 200) // 1200 runes
	p, err := parseFeed([]byte(rss(rssItem{guid: "long", title: "t", desc: "&lt;p&gt;" + long + "&lt;/p&gt;"})), "", "https://example.org/")
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("parse: %v", err)
	}
	if cutText := p.Items[0].Text; utf8.RuneCountInString(cutText) != textLimit || !strings.HasSuffix(cutText, "…") || !utf8.ValidString(cutText) {
		t.Errorf("cut to %d runes, valid %v", utf8.RuneCountInString(cutText), utf8.ValidString(cutText))
	}
	for in, want := range map[string]string{
		"  plain   text ":                           "plain text",
		"AT&amp;T &lt;tag&gt; &#8217; &eacute;":     "AT&T <tag> ’ é",
		"<b>bold</b><script>alert(1)</script> tail": "bold tail",
		"a<br>b<div>c</div>":                        "a b c",
		"don\u0092t":                                "don’t",
	} {
		if got := toText(in, true); got != want {
			t.Errorf("toText(%q) = %q, want %q", in, got, want)
		}
	}
}

// testdataDir is ../shared/testdata/feeds from the repo root.
func testdataDir(t testing.TB) string {
	return sharedtest.Path(t, "feeds")
}

// parseBounded runs parseFeed with a time bound, so a hang fails the test
// instead of stalling the suite.
func parseBounded(t *testing.T, body []byte, contentType string) (*parsed, error) {
	t.Helper()
	type out struct {
		p   *parsed
		err error
	}
	ch := make(chan out, 1)
	go func() {
		p, err := parseFeed(body, contentType, "https://example.org/")
		ch <- out{p, err}
	}()
	select {
	case o := <-ch:
		return o.p, o.err
	case <-time.After(30 * time.Second):
		t.Fatal("parse did not finish within 30s")
		return nil, nil
	}
}

func TestRealWorldFeeds(t *testing.T) {
	dir := testdataDir(t)
	const fail = -1
	want := map[string]int{
		"rss-parser/guardian.rss":           55,
		"rss-parser/heise.atom":             15,
		"rss-parser/craigslist.rss":         25,
		"rss-parser/heraldsun.rss":          2,
		"rss-parser/encoding.rss":           40,
		"rss-parser/uolNoticias.rss":        15,
		"rss-parser/latin2.rss":             1,
		"rss-parser/encoding-gb2312.xml":    1,
		"rss-parser/giantbomb-podcast.rss":  730,
		"rss-parser/feedburner.atom":        25,
		"rss-parser/reddit-atom.rss":        24,
		"rss-parser/content-encoded.rss":    7,
		"rss-parser/missing-fields.atom":    1,
		"rss-parser/incomplete-fields.atom": 1,
		"rss-parser/unrecognized.rss":       fail,

		"feedparser/illformed__rss_incomplete_cdata.xml":                    fail,
		"feedparser/illformed__rss_item_link_corrupted_ampersands.xml":      1, // cut at "</rss": its one item is complete
		"feedparser/illformed__undeclared_namespace.xml":                    0,
		"feedparser/illformed__aaa_illformed.xml":                           fail,
		"feedparser/illformed__rss_empty_document.xml":                      fail,
		"feedparser/illformed__http_high_bit_date.xml":                      0,
		"feedparser/illformed__chardet__shiftjis.xml":                       1,
		"feedparser/illformed__chardet__eucjp.xml":                          1,
		"feedparser/encoding__utf-16le-bom.xml":                             0,
		"feedparser/encoding__utf-32be-autodetect.xml":                      0,
		"feedparser/encoding__bozo_bogus_encoding.xml":                      0,
		"feedparser/encoding__bozo_invalid-bytes-with-bom.xml":              fail,
		"feedparser/encoding__bozo_linenoise.xml":                           1,
		"feedparser/encoding__demoronize-1.xml":                             1,
		"feedparser/encoding__http_text_xml_charset_overrides_encoding.xml": 0,
		"feedparser/entities__aacute.xml":                                   0,
		"feedparser/entities__8217.xml":                                     fail,
		"feedparser/wellformed__atom10__relative_uri_inherit_2.xml":         0,

		"gofeed/issue_305_bare_ampersand.xml":                       0,
		"gofeed/issue_320_legacy_entity_prefix.xml":                 0,
		"gofeed/feed_item_published_-_rss_channel_item_pubDate.xml": 1,
		"gofeed/universal_empty_feed.xml":                           fail,
		"gofeed/universal_rss_feed_bom.xml":                         0,
		"gofeed/universal_rss_feed_leading_spaces.xml":              0,
		"gofeed/universal_unknown_feed.xml":                         fail,
	}
	files, err := filepath.Glob(filepath.Join(dir, "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	tested := 0
	for _, f := range files {
		rel := filepath.ToSlash(strings.TrimPrefix(f, dir+string(filepath.Separator)))
		if strings.HasSuffix(rel, ".json") {
			continue
		}
		n, ok := want[rel]
		if !ok {
			t.Errorf("%s: no expectation for this file", rel)
			continue
		}
		tested++
		t.Run(rel, func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ct := ""
			if strings.Contains(rel, "charset_overrides_encoding") {
				ct = "text/xml;charset = us-ascii"
			}
			p, err := parseBounded(t, body, ct)
			if n == fail {
				if err == nil {
					t.Fatalf("parsed with %d items, want unreadable", len(p.Items))
				}
				return
			}
			if err != nil {
				t.Fatalf("unreadable: %v", err)
			}
			if len(p.Items) != n {
				t.Errorf("%d items, want %d", len(p.Items), n)
			}
			for _, it := range p.Items {
				if !utf8.ValidString(it.Title) || !utf8.ValidString(it.Text) || strings.ContainsRune(it.Title+it.Text, utf8.RuneError) && !strings.Contains(rel, "linenoise") {
					t.Errorf("item %q: text not cleanly decoded: %q", it.Title, it.Text)
				}
			}
		})
	}
	if tested != len(want) {
		t.Errorf("tested %d files, expected %d (files missing?)", tested, len(want))
	}
}

func TestRealWorldEncodings(t *testing.T) {
	dir := testdataDir(t)
	cases := []struct {
		file, contentType string
		encoding          string
		title, text       string // substrings of the first item, or of the feed title when no items
	}{
		{file: "feedparser/illformed__chardet__shiftjis.xml", encoding: "shift_jis", title: "DrecomRSSに記事投稿が反映されない", text: "サポートしていないことが判明"},
		{file: "feedparser/illformed__chardet__eucjp.xml", encoding: "euc-jp", title: "ゲーム三昧な正月", text: "ガンダム"},
		{file: "feedparser/encoding__utf-16le-bom.xml", encoding: "utf-16le"},
		{file: "feedparser/encoding__utf-32be-autodetect.xml", encoding: "utf-32be"},
		{file: "rss-parser/uolNoticias.rss", encoding: "windows-1252", title: "simulações"},
		{file: "rss-parser/encoding.rss", encoding: "windows-1252", text: "profissional na área"},
		{file: "rss-parser/latin2.rss", encoding: "iso-8859-2", title: "ZAŻÓŁĆ GĘSLĄ JAŹŃ"},
		{file: "feedparser/encoding__demoronize-1.xml", encoding: "utf-8", text: "don’t"},
		{file: "feedparser/encoding__http_text_xml_charset_overrides_encoding.xml", contentType: "text/xml;charset = us-ascii", encoding: "windows-1252"},
		{file: "feedparser/illformed__http_high_bit_date.xml", encoding: "iso-8859-7"},
	}
	for _, tt := range cases {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			// Through the real fetcher and watcher, as served.
			src := newSource(t, string(body))
			src.SetContentType(cmpOr(tt.contentType, "application/xml"))
			w := newWatcher(t, spec(src.URL))
			if res := check(t, w, nil); !strings.HasPrefix(res.Found, "first run: ") {
				t.Errorf("found %q", res.Found)
			}
			p, err := parseBounded(t, body, tt.contentType)
			if err != nil {
				t.Fatal(err)
			}
			if p.Encoding != tt.encoding {
				t.Errorf("read as %s, want %s", p.Encoding, tt.encoding)
			}
			if tt.title == "" && tt.text == "" {
				return
			}
			if len(p.Items) == 0 {
				t.Fatal("no items")
			}
			if !strings.Contains(p.Items[0].Title, tt.title) || !strings.Contains(p.Items[0].Text, tt.text) {
				t.Errorf("first item %q / %q, want %q / %q", p.Items[0].Title, p.Items[0].Text, tt.title, tt.text)
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestJapaneseFeedEndToEnd(t *testing.T) {
	dir := testdataDir(t)
	body, err := os.ReadFile(filepath.Join(dir, "feedparser/illformed__chardet__shiftjis.xml"))
	if err != nil {
		t.Fatal(err)
	}
	src := newSource(t, rss())
	src.SetContentType("application/atom+xml") // no charset: sniffed
	sp := spec(src.URL)
	sp.Match = []string{"記事投稿"}
	w := newWatcher(t, sp)
	st := check(t, w, nil).State
	src.Set(string(body))
	res := check(t, w, st)
	if len(res.Alerts) != 1 || !strings.Contains(res.Alerts[0].Title, "記事投稿が反映されない") {
		t.Fatalf("alerts %+v", res.Alerts)
	}
}

func TestGiantFeedThroughWatcher(t *testing.T) {
	dir := testdataDir(t)
	body, err := os.ReadFile(filepath.Join(dir, "rss-parser/giantbomb-podcast.rss"))
	if err != nil {
		t.Fatal(err)
	}
	src := newSource(t, string(body))
	w := newWatcher(t, spec(src.URL))
	res := check(t, w, nil)
	if res.Found != "first run: 730 items recorded" || len(res.Alerts) != 0 {
		t.Fatalf("found %q, %d alerts", res.Found, len(res.Alerts))
	}
	if res = check(t, w, res.State); len(res.Alerts) != 0 {
		t.Fatalf("second run posted %d", len(res.Alerts))
	}
}
