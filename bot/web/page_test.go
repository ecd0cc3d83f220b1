package web_test

import (
	"crypto/sha256"
	"encoding/base64"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

// parseHTML parses a page; the checks below walk the tree a browser
// would build, not the text, so escaping is judged by its effect.
func parseHTML(t *testing.T, body string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	return slices.Contains(strings.Fields(attr(n, "class")), class)
}

// findAll returns the elements under n for which match is true.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func byTag(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == tag }
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			b.WriteString(n.Data)
		case html.ElementNode:
			b.WriteByte(' ') // <br>, chips and cells read as separate words
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// section returns the <section id=id>.
func section(t *testing.T, doc *html.Node, id string) *html.Node {
	t.Helper()
	s := findAll(doc, func(n *html.Node) bool { return n.Data == "section" && attr(n, "id") == id })
	if len(s) != 1 {
		t.Fatalf("%d sections %q, want 1", len(s), id)
	}
	return s[0]
}

// rows returns each body row of the first table under n, its cells'
// text joined with " | ".
func rows(n *html.Node) []string {
	var out []string
	tbodies := findAll(n, byTag("tbody"))
	if len(tbodies) == 0 {
		return nil
	}
	for _, tr := range findAll(tbodies[0], byTag("tr")) {
		var cells []string
		for _, c := range findAll(tr, func(n *html.Node) bool { return n.Data == "td" || n.Data == "th" }) {
			cells = append(cells, text(c))
		}
		out = append(out, strings.Join(cells, " | "))
	}
	return out
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return v
}

func TestStatusPage(t *testing.T) {
	m := seasonData(t)
	// Stored as open an hour ago, closed by a change a minute ago: the
	// page goes by the state now, not by the stored one.
	m.addEventAt(t, watchers.Event{ID: "just-happened", Title: "Just happened", Due: "2025-05-20", Tags: []string{"japan"},
		Changes: []watchers.Change{{At: testNow.Add(-time.Minute), Status: watchers.Happened}}}, testNow.Add(-time.Hour))
	m.settings = []bot.ChannelSettings{
		{Channel: "slack:C0GONE", Quiet: "22:00-07:00", Digest: "weekly mon 08:00", Zone: "America/New_York"},
		{Channel: "slack:C0DIGEST", Digest: "daily 08:00"},
	}
	ts := newServer(t, m)
	resp, body := get(t, ts, "/")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	doc := parseHTML(t, body)
	if got := text(findAll(doc, func(n *html.Node) bool { return hasClass(n, "meta") })[0]); !strings.Contains(got, "Times in Asia/Tokyo (JST)") ||
		!strings.Contains(got, "Tue 20 May 2025 10:00 JST") {
		t.Errorf("zone line = %q, want the zone named and the time in it", got)
	}

	// The timeline: one mark per open event, bars for windows, points
	// for days and instants, placed on the SVG's own scale.
	svgs := findAll(doc, func(n *html.Node) bool { return n.Data == "svg" && hasClass(n, "timeline") })
	if len(svgs) != 1 {
		t.Fatalf("%d timelines, want 1", len(svgs))
	}
	svg := svgs[0]
	from, to := num(t, attr(svg, "data-from")), num(t, attr(svg, "data-to"))
	x0, x1 := num(t, attr(svg, "data-x0")), num(t, attr(svg, "data-x1"))
	xOf := func(tm time.Time) float64 { return x0 + (x1-x0)*(float64(tm.UnixMilli())-from)/(to-from) }
	marks := findAll(svg, func(n *html.Node) bool { return n.Data == "a" && hasClass(n, "mark") })
	kinds := map[string]string{}
	for _, m := range marks {
		kinds[attr(m, "data-event")] = attr(m, "data-kind")
		if href := attr(m, "href"); href != "/events/"+attr(m, "data-event") {
			t.Errorf("mark %s links to %q", attr(m, "data-event"), href)
		}
	}
	if got := slices.Sorted(maps.Keys(kinds)); !slices.Equal(got, openEvents) || len(marks) != len(openEvents) {
		t.Errorf("timeline marks %v (%d), want one each for %v", got, len(marks), openEvents)
	}
	wantKinds := map[string]string{"diet-session-end": "point", "jp-fy2027-budget": "point", "us-fy2026-appropriations": "point",
		"g7-summit-2025": "bar", "ishiba-trump-summit": "bar", "jp-defense-buildup-plan": "bar", "jp-us-2plus2": "bar", "upper-house-election-2025": "bar"}
	if diff := cmp.Diff(wantKinds, kinds); diff != "" {
		t.Errorf("mark kinds (-want +got):\n%s", diff)
	}
	for _, m := range marks {
		if attr(m, "data-event") != "upper-house-election-2025" {
			continue
		}
		rect := findAll(m, byTag("rect"))[0]
		x, w := num(t, attr(rect, "x")), num(t, attr(rect, "width"))
		wantX, wantEnd := xOf(time.Date(2025, 7, 1, 0, 0, 0, 0, tokyo)), xOf(time.Date(2025, 8, 1, 0, 0, 0, 0, tokyo))
		if math.Abs(x-wantX) > 0.1 || math.Abs(x+w-wantEnd) > 0.1 {
			t.Errorf("July 2025 bar spans [%.1f, %.1f], want [%.1f, %.1f]", x, x+w, wantX, wantEnd)
		}
		if !hasClass(rect, "tentative") {
			t.Errorf("July 2025 bar classes %q lack tentative", attr(rect, "class"))
		}
	}
	now := findAll(svg, func(n *html.Node) bool { return n.Data == "line" && hasClass(n, "now") })
	if len(now) != 1 || math.Abs(num(t, attr(now[0], "x1"))-xOf(testNow)) > 0.1 {
		t.Errorf("now line missing or misplaced: %v, want x %.1f", now, xOf(testNow))
	}
	legend := text(findAll(doc, func(n *html.Node) bool { return hasClass(n, "legend") })[0])
	for _, want := range []string{"#budget (2)", "#summit (2)"} {
		if !strings.Contains(legend, want) {
			t.Errorf("legend %q lacks %q", legend, want)
		}
	}

	open := rows(section(t, doc, "events"))
	if len(open) != len(openEvents) || !strings.Contains(open[0], "Ishiba–Trump summit") || !strings.Contains(open[0], "(overdue)") {
		t.Errorf("open events table:\n%s", strings.Join(open, "\n"))
	}

	ws := rows(section(t, doc, "watchers"))
	wantWS := []string{
		"crs-japan failing | feed | */30 * * * * | Tue 20 May 2025 09:50 JST | Tue 20 May 2025 10:20 JST | 4 | fetch https://example.org/crs.rss: 503 Service Unavailable",
		"deadlines ok | countdown | @every 1m | Tue 20 May 2025 09:59 JST | Tue 20 May 2025 10:00 JST | 0 | ",
		"paused-page paused | page | @hourly | — | — | 0 | ",
	}
	if diff := cmp.Diff(wantWS, ws); diff != "" {
		t.Errorf("watchers (-want +got):\n%s", diff)
	}

	ds := rows(section(t, doc, "deliveries"))
	wantDS := []string{
		"Sun 18 May 2025 10:00 JST | slack:C0GONE | reminder: House of Councillors (Upper House) election | failed | channel_not_found",
		"Sun 18 May 2025 10:00 JST | console:local | reminder: House of Councillors (Upper House) election | sent | ",
	}
	if diff := cmp.Diff(wantDS, ds); diff != "" {
		t.Errorf("deliveries, newest first (-want +got):\n%s", diff)
	}

	chs := section(t, doc, "channels")
	wantCh := []string{
		"console:local | all | — | — | —",
		"slack:C0DIGEST |  | — | — | daily 08:00 Asia/Tokyo",
		"slack:C0GONE | event:jp-fy2027-budget tag:election | tag:budget until Tue 20 May 2025 13:00 JST | 22:00-07:00 America/New_York | weekly mon 08:00 America/New_York",
	}
	if diff := cmp.Diff(wantCh, rows(chs)); diff != "" {
		t.Errorf("channels, expired mute gone, with quiet hours and digests (-want +got):\n%s", diff)
	}
}

func TestEventPage(t *testing.T) {
	m := seasonData(t)
	m.change(t, "upper-house-election-2025", watchers.Change{At: testNow.Add(-time.Hour), Due: "2025-07-20", Note: "election officially announced", By: "slack:U0ADMIN"})
	m.change(t, "upper-house-election-2025", watchers.Change{At: testNow.Add(60 * 24 * time.Hour), Status: watchers.Happened, By: "config"})
	ts := newServer(t, m)
	resp, body := get(t, ts, "/events/upper-house-election-2025")
	if resp.StatusCode != 200 {
		t.Fatalf("GET event = %d", resp.StatusCode)
	}
	doc := parseHTML(t, body)
	if h1 := text(findAll(doc, byTag("h1"))[0]); h1 != "House of Councillors (Upper House) election" {
		t.Errorf("h1 = %q", h1)
	}
	facts := text(section(t, doc, "event"))
	for _, want := range []string{"Sun 20 July 2025 (in 61 days)", "scheduled", "Asia/Tokyo", "#election", "crsreports.congress.gov", "defined in the config file"} {
		if !strings.Contains(facts, want) {
			t.Errorf("event facts %q lack %q", facts, want)
		}
	}
	wantHist := []string{
		"Tue 20 May 2025 09:00 JST | due 2025-07 → 2025-07-20; status tentative → scheduled; election officially announced | slack:U0ADMIN",
		"Sat 19 Jul 2025 10:00 JST (planned) | status scheduled → happened | config",
	}
	if diff := cmp.Diff(wantHist, rows(section(t, doc, "history"))); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if got := rows(section(t, doc, "alerts")); len(got) != 1 || !strings.Contains(got[0], "reminder") || !strings.Contains(got[0], "The window opens in 42 days.") {
		t.Errorf("alerts = %q", got)
	}
	for _, path := range []string{"/events/no-such-event", "/events/BAD%20ID", "/events/"} {
		if resp, _ := get(t, ts, path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, resp.StatusCode)
		}
	}
}

// hostile is text from outside sources that would run or inject markup
// if it were not escaped.
const hostile = `<script>window.pwned=1</script><img src=x onerror="window.pwned=2">"'><svg onload=alert(1)>`

func TestHostileTextEscaped(t *testing.T) {
	m := seasonData(t)
	m.addEvent(t, watchers.Event{ID: "hostile", Title: hostile, Due: "2025-08", Tags: []string{`x"><script>alert(1)</script>`},
		Source: "javascript:alert(1)", Changes: []watchers.Change{{At: testNow.Add(-time.Hour), Note: hostile, By: "calendar:" + hostile}}})
	m.watchers = append(m.watchers, bot.WatcherRecord{Spec: watchers.Spec{ID: "evil", Kind: "page", Schedule: hostile}, LastError: hostile, Failures: 1})
	al := watchers.Alert{Key: "k", Kind: watchers.KindPageChanged, Event: "hostile", Title: hostile, Text: hostile}
	m.alerts = append(m.alerts, bot.AlertRecord{ID: 9, Alert: al})
	m.deliveries = append(m.deliveries, bot.DeliveryRecord{ID: 9, Alert: al, Channel: "slack:" + hostile, State: bot.DeliveryFailed, LastError: hostile})
	m.subs = append(m.subs, bot.Subscription{Channel: hostile, Target: hostile})
	ts := newServer(t, m)
	for _, path := range []string{"/", "/events/hostile"} {
		resp, body := get(t, ts, path)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d", path, resp.StatusCode)
		}
		doc := parseHTML(t, body)
		if n := findAll(doc, func(n *html.Node) bool { return n.Data == "script" || n.Data == "img" }); len(n) > 0 {
			t.Errorf("%s: hostile text became %d elements (%s)", path, len(n), n[0].Data)
		}
		for _, n := range findAll(doc, func(*html.Node) bool { return true }) {
			for _, a := range n.Attr {
				if strings.HasPrefix(a.Key, "on") {
					t.Errorf("%s: <%s> got an event handler attribute %s", path, n.Data, a.Key)
				}
				if (a.Key == "href" || a.Key == "src") && strings.Contains(strings.ToLower(a.Val), "javascript:") {
					t.Errorf("%s: <%s %s=%q>", path, n.Data, a.Key, a.Val)
				}
			}
		}
		// The text is all there, as text.
		if got := text(doc); !strings.Contains(got, `<script>window.pwned=1</script>`) {
			t.Errorf("%s: the hostile title is not shown as text", path)
		}
		if !strings.Contains(body, "&lt;script&gt;window.pwned=1&lt;/script&gt;") {
			t.Errorf("%s: title not escaped in the markup", path)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	ts := newServer(t, seasonData(t))
	for _, path := range []string{"/", "/events/jp-fy2027-budget", "/events/missing", "/calendar.ics", "/favicon.svg"} {
		resp, body := get(t, ts, path)
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP %q is not strict", path, csp)
		}
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options = %q", path, got)
		}
		if resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: no Referrer-Policy", path)
		}
		// The style sheet is allowed by its hash: the hash must be the
		// one of the <style> the page carries, or browsers drop it.
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			_, css, ok := strings.Cut(body, "<style>")
			css, _, ok2 := strings.Cut(css, "</style>")
			if !ok || !ok2 {
				t.Fatalf("%s: no <style>", path)
			}
			sum := sha256.Sum256([]byte(css))
			if want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q does not allow the page's style (%s)", path, csp, want)
			}
		}
	}
}

// TestStatusPageHidesDirectMessages: personal reminders are counted, not
// listed: the page shows no user ids of people who asked for them.
func TestStatusPageHidesDirectMessages(t *testing.T) {
	m := seasonData(t)
	m.subs = append(m.subs,
		bot.Subscription{Channel: "slack:dm:U0SECRET1", Target: "event:jp-fy2027-budget"},
		bot.Subscription{Channel: "slack:dm:U0SECRET1", Target: "tag:election"},
		bot.Subscription{Channel: "discord:dm:111222333444555666", Target: "all"})
	d := m.deliveries[len(m.deliveries)-1]
	d.ID, d.Channel, d.State = 99, "slack:dm:U0SECRET1", bot.DeliverySent
	m.deliveries = append(m.deliveries, d)
	ts := newServer(t, m)
	_, body := get(t, ts, "/")
	if strings.Contains(body, "U0SECRET1") || strings.Contains(body, "111222333444555666") {
		t.Errorf("the page shows a user id of a personal reminder")
	}
	doc := parseHTML(t, body)
	chs := section(t, doc, "channels")
	if got := text(chs); !strings.Contains(got, "2 people get personal reminders by direct message") {
		t.Errorf("channels section %q lacks the count of people with personal reminders", got)
	}
	if n := len(rows(chs)); n != 2 {
		t.Errorf("%d channel rows, want the 2 channels without the direct messages", n)
	}
	ds := rows(section(t, doc, "deliveries"))
	if len(ds) == 0 || !strings.Contains(ds[0], "| direct message |") {
		t.Errorf("newest delivery row %q, want its address shown as direct message", ds)
	}
}
