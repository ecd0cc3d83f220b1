package page

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/andybalholm/cascadia"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/japanese"

	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/fetch"
	"github.com/policyteam/alertbot/watchers/sourcetest"
)

var now = time.Date(2025, 7, 3, 9, 0, 0, 0, time.UTC)

// newSite serves body as an HTML page from a loopback server.
func newSite(t *testing.T, body string) *sourcetest.Source {
	return sourcetest.New(t, "text/html; charset=utf-8", body)
}

func spec(url string) watchers.Spec {
	return watchers.Spec{
		ID:       "election-page",
		Kind:     "page",
		URL:      url,
		Selector: "#schedule",
		Tags:     []string{"japan", "election"},
		Fetch:    watchers.Fetch{AllowPrivate: true},
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

func page(schedule string) string {
	return `<!doctype html><html><head><title>House of Councillors election</title>
<style>.x{color:red}</style><script>var updated = Date.now();</script></head>
<body><nav>Home | About</nav>
<div id="schedule">
  <h2>Schedule</h2>
  <ul>` + schedule + `</ul>
  <p class="updated">Last updated: 2025-07-01 10:00 · 1234 views</p>
</div>
<footer>© 2025</footer></body></html>`
}

const (
	tentative = `<li>Election:   July 2025 (tentative)</li><li>Campaign   starts: TBD</li>`
	announced = `<li>Election: <b>July 20, 2025</b></li><li>Campaign starts: July 3, 2025</li>`
)

func TestFirstRunThenChange(t *testing.T) {
	s := newSite(t, page(tentative))
	w := newWatcher(t, spec(s.URL))

	res := check(t, w, nil)
	if len(res.Alerts) != 0 || res.Found != "first run: 4 lines recorded" {
		t.Fatalf("first run: %d alerts, found %q", len(res.Alerts), res.Found)
	}

	s.Set(page(announced))
	res = check(t, w, res.State)
	want := []watchers.Alert{{
		Key:     "election-page/page_changed/1",
		Kind:    watchers.KindPageChanged,
		Watcher: "election-page",
		Tags:    []string{"japan", "election"},
		At:      now,
		Title:   "Page changed: House of Councillors election",
		Text: "-Election: July 2025 (tentative)\n-Campaign starts: TBD\n" +
			"+Election: July 20, 2025\n+Campaign starts: July 3, 2025",
		Link:   s.URL,
		Fields: []watchers.Field{{Name: "Lines", Value: "+2 −2"}},
	}}
	if diff := cmp.Diff(want, res.Alerts); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}

	// Unchanged: nothing. Another change: the next sequence number.
	res = check(t, w, res.State)
	if len(res.Alerts) != 0 || res.Found != "no change" {
		t.Fatalf("unchanged: %d alerts, %q", len(res.Alerts), res.Found)
	}
	s.Set(page(announced + "<li>Results: July 21</li>"))
	res = check(t, w, res.State)
	if len(res.Alerts) != 1 || res.Alerts[0].Key != "election-page/page_changed/2" || res.Alerts[0].Text != "+Results: July 21" {
		t.Fatalf("second change: %+v", res.Alerts)
	}
}

func TestNoiseIgnored(t *testing.T) {
	s := newSite(t, page(tentative))
	sp := spec(s.URL)
	sp.Ignore = []string{`Last updated: \d{4}-\d{2}-\d{2} \d{2}:\d{2}`, `/\d+ views/`}
	w := newWatcher(t, sp)
	st := check(t, w, nil).State

	// Only the noise changes.
	noisy := strings.Replace(page(tentative), "2025-07-01 10:00 · 1234 views", "2025-07-02 18:45 · 98765 views", 1)
	s.Set(noisy)
	res := check(t, w, st)
	if len(res.Alerts) != 0 {
		t.Fatalf("noise posted: %+v", res.Alerts)
	}
	// Markup and whitespace changes alone are not changes either.
	s.Set(strings.ReplaceAll(noisy, "<li>", "<li class='new'>\n\n   "))
	if res = check(t, w, res.State); len(res.Alerts) != 0 {
		t.Fatalf("whitespace posted: %+v", res.Alerts)
	}
	// Without the ignore rules the same noise is a change.
	plain := newWatcher(t, spec(s.URL))
	s.Set(page(tentative))
	st = check(t, plain, nil).State
	s.Set(noisy)
	if res = check(t, plain, st); len(res.Alerts) != 1 {
		t.Fatalf("without ignore: %d alerts, want 1", len(res.Alerts))
	}
}

func TestSelectorNoLongerMatches(t *testing.T) {
	s := newSite(t, page(tentative))
	w := newWatcher(t, spec(s.URL))
	st := check(t, w, nil).State

	s.Set(strings.Replace(page(tentative), `id="schedule"`, `id="redesigned"`, 1))
	res, err := w.Check(t.Context(), watchers.Input{Now: now, State: st})
	if !errors.Is(err, errNoMatch) || !strings.Contains(err.Error(), `selector "#schedule": matched nothing`) {
		t.Fatalf("err = %v, want a no-match failure", err)
	}
	if res.State != nil || res.Alerts != nil {
		t.Errorf("failure returned %+v", res)
	}
	// Back as before: the kept state shows no change.
	s.Set(page(tentative))
	if res := check(t, w, st); len(res.Alerts) != 0 {
		t.Errorf("after recovery: %+v", res.Alerts)
	}
}

func TestNotModified(t *testing.T) {
	s := newSite(t, page(tentative))
	s.SetETag(`"e1"`)
	w := newWatcher(t, spec(s.URL))
	st := check(t, w, nil).State
	res := check(t, w, st)
	cond := s.Conditional()
	if len(res.Alerts) != 0 || res.Found != "not modified" || cond != 1 {
		t.Fatalf("304: %d alerts, %q, %d conditional", len(res.Alerts), res.Found, cond)
	}
	// The kept text and validators still catch the next real change.
	s.Set(page(announced))
	s.SetETag(`"e2"`)
	if res = check(t, w, res.State); len(res.Alerts) != 1 {
		t.Fatalf("change after 304: %d alerts", len(res.Alerts))
	}
}

func TestFetchFailure(t *testing.T) {
	s := newSite(t, page(tentative))
	w := newWatcher(t, spec(s.URL))
	st := check(t, w, nil).State
	s.Fail(503)
	if _, err := w.Check(t.Context(), watchers.Input{Now: now, State: st}); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("err = %v, want the status", err)
	}
}

func TestRestart(t *testing.T) {
	s := newSite(t, page(tentative))
	st := check(t, newWatcher(t, spec(s.URL)), nil).State
	s.Set(page(announced))
	res := check(t, newWatcher(t, spec(s.URL)), st)
	if len(res.Alerts) != 1 {
		t.Fatalf("%d alerts, want 1", len(res.Alerts))
	}
	if res = check(t, newWatcher(t, spec(s.URL)), res.State); len(res.Alerts) != 0 {
		t.Fatalf("restart reposted %d", len(res.Alerts))
	}
}

func TestShiftJISPage(t *testing.T) {
	html := `<html><head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS"><title>会期</title></head>` +
		`<body><table id="schedule"><tr><td>第217回</td><td>令和7年1月24日</td></tr></table></body></html>`
	sjis, err := japanese.ShiftJIS.NewEncoder().String(html)
	if err != nil {
		t.Fatal(err)
	}
	s := newSite(t, sjis)
	s.SetContentType("text/html") // charset only in the meta tag
	w := newWatcher(t, spec(s.URL))
	st := check(t, w, nil).State
	changed, _ := japanese.ShiftJIS.NewEncoder().String(strings.Replace(html, "1月24日", "1月27日", 1))
	s.Set(changed)
	res := check(t, w, st)
	if len(res.Alerts) != 1 || res.Alerts[0].Text != "-第217回 令和7年1月24日\n+第217回 令和7年1月27日" || res.Alerts[0].Title != "Page changed: 会期" {
		t.Fatalf("alerts %+v", res.Alerts)
	}
}

func TestNewValidates(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*watchers.Spec)
		field string
	}{
		{"no url", func(s *watchers.Spec) { s.URL = "" }, "url"},
		{"ftp url", func(s *watchers.Spec) { s.URL = "ftp://example.org/" }, "url"},
		{"no selector", func(s *watchers.Spec) { s.Selector = " " }, "selector"},
		{"bad selector", func(s *watchers.Spec) { s.Selector = "div[" }, "selector"},
		{"bad selector 2", func(s *watchers.Spec) { s.Selector = "#a >> p" }, "selector"},
		{"bad ignore", func(s *watchers.Spec) { s.Ignore = []string{"(["} }, "ignore"},
		{"empty ignore", func(s *watchers.Spec) { s.Ignore = []string{""} }, "ignore"},
		{"bad max bytes", func(s *watchers.Spec) { s.Fetch.MaxBytes = -5 }, "fetch"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			sp := spec("https://example.org/")
			tt.edit(&sp)
			_, err := New(sp, watchers.Deps{})
			var fe *watchers.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("err = %v, want FieldError on %q", err, tt.field)
			}
		})
	}
	w, err := New(spec("https://example.org/"), watchers.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Check(t.Context(), watchers.Input{Now: now}); err == nil {
		t.Error("check without a fetcher succeeded")
	}
}

func TestExtract(t *testing.T) {
	cases := []struct {
		name, html, sel string
		ignore          []string
		want            string
	}{
		{name: "nested matches once", html: `<div class="a">x<div class="a">y</div></div>`, sel: ".a", want: "x\ny"},
		{name: "several matches", html: `<p class="n">one</p><span>skip</span><p class="n">two  words</p>`, sel: ".n", want: "one\ntwo words"},
		{name: "table cells", html: `<table id="t"><tr><th>a</th><td>1</td></tr><tr><td>b</td><td>2</td></tr></table>`, sel: "#t", want: "a 1\nb 2"},
		{name: "br and entities", html: `<div id="d">a&amp;b<br>c&nbsp;&nbsp;d<!-- hidden --></div>`, sel: "#d", want: "a&b\nc d"},
		{name: "scripts dropped", html: `<div id="d">x<script>y()</script><style>z{}</style>w</div>`, sel: "#d", want: "xw"},
		{name: "ignore empties line", html: `<div id="d"><p>keep</p><p>views: 42</p></div>`, sel: "#d", ignore: []string{`views: \d+`}, want: "keep"},
		{name: "empty element", html: `<div id="d">  </div>`, sel: "#d", want: ""},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			var ignore []*regexp.Regexp
			for _, e := range tt.ignore {
				ignore = append(ignore, regexp.MustCompile(e))
			}
			got, _, err := extract([]byte(tt.html), "text/html", cascadia.MustCompile(tt.sel), ignore)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDiffCut(t *testing.T) {
	var old, new strings.Builder
	for i := range 400 {
		fmt.Fprintf(&old, "line %d 日本\n", i)
		fmt.Fprintf(&new, "row %d 日本\n", i)
	}
	diff, added, removed := lineDiff(old.String(), new.String())
	if added != 400 || removed != 400 {
		t.Errorf("+%d -%d, want +400 -400", added, removed)
	}
	if n := utf8.RuneCountInString(diff); n > diffLimit || !strings.HasSuffix(diff, "…") || !utf8.ValidString(diff) {
		t.Errorf("diff of %d runes, valid %v, ends %q", n, utf8.ValidString(diff), diff[len(diff)-10:])
	}
	// Cut at a line end, not inside a line.
	if !strings.HasSuffix(diff, "\n…") {
		t.Errorf("diff not cut at a line end: ends %q", diff[len(diff)-20:])
	}
	for _, l := range strings.Split(strings.TrimSuffix(diff, "…"), "\n") {
		if l != "" && l[0] != '+' && l[0] != '-' {
			t.Errorf("line %q is neither added nor removed", l)
		}
	}
}
