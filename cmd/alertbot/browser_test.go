package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers"
)

var updateScreenshot = flag.Bool("update-screenshot", false,
	"write the README's screenshot of the status page to "+readmeScreenshot)

// readmeScreenshot is the picture the README shows, relative to this
// package.
const readmeScreenshot = "../../bot/web/testdata/status-page.png"

// seasonNow is the browser tests' clock: May 2025, inside the example's
// season, with the Upper House election still a tentative July window.
var seasonNow = time.Date(2025, 5, 20, 10, 0, 0, 0, tokyo)

// hostileTitle would run script or load an image if the page did not
// escape it; the title of the extra event of the browser test.
const hostileTitle = `<script>window.pwned=1</script><img src=x onerror="window.pwned=2">`

// chromium returns the browser to test with. Without one the test is
// skipped, except under CI (ALERTBOT_CI), which must never skip it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("ALERTBOT_CI") != "" {
		t.Fatal("chromium is not installed, and CI (ALERTBOT_CI) must run the browser test: .ci/run installs Debian's chromium")
	}
	t.Skip("chromium is not installed: skipping the browser test (apt-get install chromium to run it)")
	return ""
}

// browser is a headless Chromium tab that records what the page sent to
// its console and every request it made.
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	console  []string
	requests []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox refuses to start
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1024, 900),
		// Nothing but the loopback page: every other host resolves to
		// nothing and goes to a proxy that is not there (Chromium never
		// proxies loopback), and the features that phone home are off.
		chromedp.ProxyServer("http://127.0.0.1:9"),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"),
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,OptimizationHints,MediaRouter,DialMediaRouteProvider,AutofillServerCommunication,CertificateTransparencyComponentUpdater"),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
		chromedp.Flag("disable-gpu", true),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	b := &browser{ctx: ctx}
	// Subscribing starts the browser; the loops collect until cleanup.
	messages := chromedp.Console(ctx)
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				b.mu.Lock()
				b.console = append(b.console, fmt.Sprintf("%s (%s %s)", m, m.Source, m.URL))
				b.mu.Unlock()
			}
		}
	}()
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.requests = append(b.requests, ev.Request.URL)
			b.mu.Unlock()
		}
	}()
	return b
}

// open loads url and returns the page's state as the checks need it.
func (b *browser) open(t *testing.T, url string) pageState {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	st, err := chromedp.Run(ctx, chromedp.Evaluate[pageState](pageStateJS))
	if err != nil {
		t.Fatalf("read the page %s: %v", url, err)
	}
	return st
}

func (b *browser) screenshot(t *testing.T) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	return shot
}

// errors returns what the page logged as a warning or an error so far;
// a little later than the load, so late reports (CSP) are in.
func (b *browser) errors() []string {
	time.Sleep(300 * time.Millisecond)
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.console)
}

func (b *browser) requested() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.requests)
}

// pageState is what pageStateJS reads from the rendered page. Boxes are
// the browser's own geometry (getBBox), so fonts and layout are real.
type pageState struct {
	Title        string      `json:"title"`
	From         float64     `json:"from"`
	To           float64     `json:"to"`
	X0           float64     `json:"x0"`
	X1           float64     `json:"x1"`
	Now          float64     `json:"now"`
	NowX         float64     `json:"nowX"`
	SVGWidth     float64     `json:"svgWidth"`
	Marks        []markState `json:"marks"`
	Ticks        []tickState `json:"ticks"`
	Scripts      int         `json:"scripts"`
	Images       int         `json:"images"`
	Pwned        bool        `json:"pwned"`
	Text         string      `json:"text"`
	ScrollWidth  float64     `json:"scrollWidth"`
	ClientWidth  float64     `json:"clientWidth"`
	Background   string      `json:"background"`
	StyleApplied bool        `json:"styleApplied"`
}

type markState struct {
	Event  string  `json:"event"`
	Kind   string  `json:"kind"`
	Shapes int     `json:"shapes"`
	Shape  string  `json:"shape"`
	X      float64 `json:"x"`
	W      float64 `json:"w"`
	Label  string  `json:"label"`
	LX     float64 `json:"lx"`
	LY     float64 `json:"ly"`
	LW     float64 `json:"lw"`
	LH     float64 `json:"lh"`
}

type tickState struct {
	Label string  `json:"label"`
	X     float64 `json:"x"`
}

// pageStateJS runs in the page through DevTools (the page itself allows
// no script).
const pageStateJS = `(() => {
  const svg = document.querySelector('svg.timeline');
  const st = {
    title: document.title,
    scripts: document.scripts.length,
    images: document.images.length,
    pwned: typeof window.pwned !== 'undefined',
    text: document.body.innerText,
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
    background: getComputedStyle(document.body).backgroundColor,
    styleApplied: getComputedStyle(document.body).maxWidth === '1000px',
    marks: [], ticks: [],
  };
  if (!svg) return st;
  Object.assign(st, {from: +svg.dataset.from, to: +svg.dataset.to, x0: +svg.dataset.x0, x1: +svg.dataset.x1,
    now: +svg.dataset.now, nowX: svg.querySelector('line.now').getBBox().x, svgWidth: svg.width.baseVal.value});
  for (const a of svg.querySelectorAll('a.mark')) {
    const shapes = a.querySelectorAll('rect, circle');
    const s = shapes[0].getBBox(), l = a.querySelector('text.label');
    const lb = l.getBBox();
    st.marks.push({event: a.dataset.event, kind: a.dataset.kind, shapes: shapes.length, shape: shapes[0].tagName,
      x: s.x, w: s.width, label: l.textContent, lx: lb.x, ly: lb.y, lw: lb.width, lh: lb.height});
  }
  for (const t of svg.querySelectorAll('text.ticklabel')) st.ticks.push({label: t.textContent, x: t.getBBox().x});
  return st;
})()`

// expectedOpen works out, from the config alone, which events are open
// at now: what the timeline must draw.
func expectedOpen(t *testing.T, cfgText []byte, now time.Time) []string {
	t.Helper()
	cfg, err := bot.ParseConfig("test.yaml", cfgText, factories)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ce := range cfg.Events {
		rec := bot.EventRecord{Event: ce.Event}
		if err := bot.Materialize(&rec, now, cfg.Location); err != nil {
			t.Fatal(err)
		}
		if st := rec.Current.Status; st.Active() || st == watchers.Postponed {
			ids = append(ids, ce.Event.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// TestStatusPageInBrowser loads the page of the example config, plus an
// event with a hostile title, in headless Chromium.
func TestStatusPageInBrowser(t *testing.T) {
	b := newBrowser(t)
	cfgText := strings.Replace(string(exampleConfig), "\nevents:\n",
		"\nevents:\n  - id: hostile-title\n    title: '"+hostileTitle+"'\n    due: 2025-09\n    tags: [japan]\n", 1)
	cfgPath := filepath.Join(t.TempDir(), "c.yaml")
	writeFile(t, cfgPath, cfgText)
	s := serveWeb(t, "127.0.0.1:0", seasonNow, nil, "--config", cfgPath)
	want := expectedOpen(t, []byte(cfgText), seasonNow)
	if !slices.Contains(want, "upper-house-election-2025") || !slices.Contains(want, "hostile-title") || len(want) < 6 {
		t.Fatalf("the example's open events in May 2025 = %v; the test needs its tentative July window", want)
	}

	st := b.open(t, s.base+"/")
	if !st.StyleApplied {
		t.Errorf("the style sheet was not applied (blocked by the CSP?)")
	}
	// One bar or point per open event, and nothing else.
	var got []string
	for _, m := range st.Marks {
		got = append(got, m.Event)
		if m.Shapes != 1 {
			t.Errorf("%s has %d shapes, want one bar or point", m.Event, m.Shapes)
		}
		if (m.Kind == "bar") != (m.Shape == "rect") {
			t.Errorf("%s: kind %s drawn as %s", m.Event, m.Kind, m.Shape)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("timeline marks %v, want one per open event %v", got, want)
	}
	// The scale: the page's own numbers, checked against what it draws.
	xOf := func(tm time.Time) float64 {
		return st.X0 + (st.X1-st.X0)*(float64(tm.UnixMilli())-st.From)/(st.To-st.From)
	}
	if math.Abs(st.Now-float64(seasonNow.UnixMilli())) > 60e3 || math.Abs(st.NowX-xOf(time.UnixMilli(int64(st.Now)))) > 0.6 {
		t.Errorf("now line at x %.1f for %v, want %.1f", st.NowX, time.UnixMilli(int64(st.Now)), xOf(time.UnixMilli(int64(st.Now))))
	}
	for _, tk := range st.Ticks {
		if tk.Label == "2026" && math.Abs(tk.X-3-xOf(time.Date(2026, 1, 1, 0, 0, 0, 0, tokyo))) > 1.5 {
			t.Errorf("2026 label at %.1f, want 3 px after %.1f", tk.X, xOf(time.Date(2026, 1, 1, 0, 0, 0, 0, tokyo)))
		}
	}
	// The tentative election window is a bar over the whole of July
	// 2025 (Tokyo).
	for _, m := range st.Marks {
		if m.Event != "upper-house-election-2025" {
			continue
		}
		start, end := xOf(time.Date(2025, 7, 1, 0, 0, 0, 0, tokyo)), xOf(time.Date(2025, 8, 1, 0, 0, 0, 0, tokyo))
		if m.Kind != "bar" || math.Abs(m.X-start) > 0.6 || math.Abs(m.X+m.W-end) > 0.6 {
			t.Errorf("July 2025 is a %s over [%.1f, %.1f], want a bar over [%.1f, %.1f]", m.Kind, m.X, m.X+m.W, start, end)
		}
	}
	// Labels as rendered, in the browser's font, do not overlap and stay
	// inside the picture.
	for i, a := range st.Marks {
		if a.LX < 0 || a.LX+a.LW > st.SVGWidth+0.5 {
			t.Errorf("label of %s runs out of the picture: [%.1f, %.1f] of %.1f", a.Event, a.LX, a.LX+a.LW, st.SVGWidth)
		}
		for _, c := range st.Marks[i+1:] {
			if a.LX < c.LX+c.LW && c.LX < a.LX+a.LW && a.LY < c.LY+c.LH && c.LY < a.LY+a.LH {
				t.Errorf("labels of %s and %s overlap", a.Event, c.Event)
			}
		}
	}
	// The hostile title is text: no script, no image, nothing ran.
	if st.Scripts != 0 || st.Images != 0 || st.Pwned {
		t.Errorf("hostile title became markup: %d scripts, %d images, ran: %v", st.Scripts, st.Images, st.Pwned)
	}
	if !strings.Contains(st.Text, hostileTitle) {
		t.Errorf("the hostile title is not shown as text")
	}
	writeShot(t, b.screenshot(t), filepath.Join(t.TempDir(), "status-page.png"))

	// The event page, with the same title.
	ev := b.open(t, s.base+"/events/hostile-title")
	if ev.Title != hostileTitle+" — alertbot" || ev.Scripts != 0 || ev.Images != 0 || ev.Pwned || !strings.Contains(ev.Text, hostileTitle) {
		t.Errorf("event page: title %q, %d scripts, %d images, ran %v", ev.Title, ev.Scripts, ev.Images, ev.Pwned)
	}
	ev = b.open(t, s.base+"/events/upper-house-election-2025")
	if !strings.Contains(ev.Text, "election officially announced") || !strings.Contains(ev.Text, "(planned)") {
		t.Errorf("the election's page lacks its planned changes:\n%s", ev.Text)
	}

	// On a phone the page does not scroll sideways (the timeline and the
	// tables scroll in their own boxes), and dark mode is dark.
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatal(err)
	}
	st = b.open(t, s.base+"/")
	if st.ScrollWidth > st.ClientWidth {
		t.Errorf("on a 390 px phone the page is %.0f px wide", st.ScrollWidth)
	}
	if st.Background != "rgb(13, 17, 23)" {
		t.Errorf("dark mode background = %s", st.Background)
	}
	writeShot(t, b.screenshot(t), filepath.Join(t.TempDir(), "status-page-phone-dark.png"))

	if errs := b.errors(); len(errs) > 0 {
		t.Errorf("console errors and warnings:\n%s", strings.Join(errs, "\n"))
	}
	for _, u := range b.requested() {
		if !strings.HasPrefix(u, s.base+"/") {
			t.Errorf("the page made a request off the bot: %s", u)
		}
	}
}

// TestStatusPageScreenshot takes the README's picture: the embedded
// example in June 2025. With -update-screenshot it is written into the
// repository.
func TestStatusPageScreenshot(t *testing.T) {
	b := newBrowser(t)
	// 2 June: the election's 30-day reminder (1 June) is caught up at
	// start, so the picture has a delivery to show.
	now := time.Date(2025, 6, 2, 10, 0, 0, 0, tokyo)
	s := serveWeb(t, "127.0.0.1:0", now, nil)
	var st pageState
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		st = b.open(t, s.base+"/")
		if !strings.Contains(st.Text, "Nothing delivered yet.") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no delivery on the page after 15 s:\n%s", st.Text)
		}
	}
	if want := expectedOpen(t, exampleConfig, now); len(st.Marks) != len(want) {
		t.Errorf("%d marks, want %d", len(st.Marks), len(want))
	}
	shot := b.screenshot(t)
	if errs := b.errors(); len(errs) > 0 {
		t.Errorf("console errors and warnings:\n%s", strings.Join(errs, "\n"))
	}
	path := filepath.Join(t.TempDir(), "status-page.png")
	if *updateScreenshot {
		path = readmeScreenshot
	}
	writeShot(t, shot, path)
	t.Logf("screenshot: %s", path)
}

// writeShot checks that shot is a page-sized PNG and writes it to path.
func writeShot(t *testing.T, shot []byte, path string) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 600 {
		t.Errorf("screenshot is %dx%d", b.Dx(), b.Dy())
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
}
