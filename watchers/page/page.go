// Package page is the watcher for a part of a web page: the text of the
// elements a CSS selector picks, normalised and with noise (dates,
// counters) removed by ignore regexes. A change posts page_changed with a
// short diff; a selector that matches nothing is a failure, not a change.
package page

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
	udiff "github.com/aymanbagabas/go-udiff"
	"golang.org/x/net/html"

	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/fetch"
)

// diffLimit is how many runes of diff an alert carries: well within
// Slack's 3000-character section and Discord's 4096-character embed
// description, leaving room for a code fence and escaping.
const diffLimit = 1500

// New builds a page watcher from spec; it is a watchers.Factory.
// deps.Fetcher may be nil when only validating a config.
func New(spec watchers.Spec, deps watchers.Deps) (watchers.Watcher, error) {
	if err := fetch.CheckSpec(spec); err != nil {
		return nil, err
	}
	if strings.TrimSpace(spec.Selector) == "" {
		return nil, &watchers.FieldError{Field: "selector", Err: errors.New("required")}
	}
	// goquery silently matches nothing on a bad selector, so compile it
	// here, where the error can point at the config line.
	sel, err := cascadia.Compile(spec.Selector)
	if err != nil {
		return nil, &watchers.FieldError{Field: "selector", Err: fmt.Errorf("bad CSS selector %q: %w", spec.Selector, err)}
	}
	ignore, err := compileIgnore(spec.Ignore)
	if err != nil {
		return nil, &watchers.FieldError{Field: "ignore", Err: err}
	}
	return &Watcher{spec: spec, fetcher: deps.Fetcher, sel: sel, ignore: ignore}, nil
}

func compileIgnore(entries []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for i, e := range entries {
		expr := e
		// Accept the /re/ form used by feed filters too.
		if len(expr) >= 2 && expr[0] == '/' && expr[len(expr)-1] == '/' {
			expr = expr[1 : len(expr)-1]
		}
		if expr == "" {
			return nil, fmt.Errorf("entry %d is empty", i+1)
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("entry %d: bad regular expression %q: %w", i+1, e, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// Watcher watches one page. It keeps nothing between checks: the last
// text travels in the Result's State.
type Watcher struct {
	spec    watchers.Spec
	fetcher watchers.Fetcher
	sel     cascadia.Selector
	ignore  []*regexp.Regexp
}

var _ watchers.Watcher = (*Watcher)(nil)

// state is what a page watcher keeps between checks.
type state struct {
	fetch.Validators
	Text string `json:"text"`
	Seq  int    `json:"seq"` // changes posted so far
}

// Check fetches the page (conditionally), extracts the selected text and
// compares it with the last one.
func (w *Watcher) Check(ctx context.Context, in watchers.Input) (watchers.Result, error) {
	var st state
	resp, first, err := fetch.Begin(ctx, w.fetcher, w.spec, in.State, &st)
	if err != nil {
		return watchers.Result{}, err
	}
	if resp.NotModified {
		return result(st, nil, "not modified")
	}
	text, title, err := extract(resp.Body, resp.ContentType, w.sel, w.ignore)
	if err != nil {
		return watchers.Result{}, fmt.Errorf("page %s: selector %q: %w", fetch.Redact(w.spec.URL), w.spec.Selector, err)
	}
	if first {
		st.Text = text
		return result(st, nil, fmt.Sprintf("first run: %d lines recorded", lineCount(text)))
	}
	if text == st.Text {
		return result(st, nil, "no change")
	}
	diff, added, removed := lineDiff(st.Text, text)
	st.Text = text
	st.Seq++
	name := title
	if name == "" {
		name = fetch.Redact(w.spec.URL)
	}
	a := watchers.Alert{
		Key:     w.spec.ID + "/page_changed/" + strconv.Itoa(st.Seq),
		Kind:    watchers.KindPageChanged,
		Watcher: w.spec.ID,
		Tags:    slices.Clone(w.spec.Tags),
		At:      in.Now,
		Title:   "Page changed: " + name,
		Text:    diff,
		Link:    cmpOr(resp.FinalURL, w.spec.URL),
		Fields: []watchers.Field{
			{Name: "Lines", Value: fmt.Sprintf("+%d −%d", added, removed)},
		},
	}
	return result(st, []watchers.Alert{a}, fmt.Sprintf("changed: +%d −%d lines", added, removed))
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func result(st state, alerts []watchers.Alert, found string) (watchers.Result, error) {
	b, err := fetch.SaveState(st)
	if err != nil {
		return watchers.Result{}, err
	}
	return watchers.Result{Alerts: alerts, State: b, Found: found}, nil
}

func lineCount(s string) int {
	if s == "" {
		return 0
	}
	return strings.Count(s, "\n") + 1
}

// errNoMatch is a selector that matches nothing on the page.
var errNoMatch = errors.New("matched nothing")

// extract parses body as HTML (transcoded to UTF-8 first) and returns the
// normalised text of every element sel matches, and the page's title.
func extract(body []byte, contentType string, sel cascadia.Selector, ignore []*regexp.Regexp) (text, title string, err error) {
	utf, _ := fetch.ToUTF8(body, contentType)
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(utf))
	if err != nil {
		return "", "", fmt.Errorf("parse html: %w", err)
	}
	matches := doc.FindMatcher(sel)
	if matches.Length() == 0 {
		return "", "", errNoMatch
	}
	var b strings.Builder
	taken := make(map[*html.Node]bool, len(matches.Nodes))
	for _, n := range matches.Nodes {
		// An element inside one already taken would repeat its text.
		if insideAny(n, taken) {
			continue
		}
		taken[n] = true
		nodeText(n, &b)
		b.WriteByte('\n')
	}
	text = normalise(b.String(), ignore)
	title = normalise(doc.Find("title").First().Text(), nil)
	title = strings.ReplaceAll(title, "\n", " ")
	return text, title, nil
}

func insideAny(n *html.Node, set map[*html.Node]bool) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if set[p] {
			return true
		}
	}
	return false
}

// blockTags end a line of text.
var blockTags = map[string]bool{
	"address": true, "article": true, "aside": true, "blockquote": true, "br": true,
	"dd": true, "div": true, "dl": true, "dt": true, "fieldset": true, "figcaption": true,
	"figure": true, "footer": true, "form": true, "h1": true, "h2": true, "h3": true,
	"h4": true, "h5": true, "h6": true, "header": true, "hr": true, "li": true, "main": true,
	"nav": true, "ol": true, "p": true, "pre": true, "section": true, "table": true,
	"tr": true, "ul": true, "option": true, "caption": true, "title": true,
}

// skipTags hold no visible text.
var skipTags = map[string]bool{"script": true, "style": true, "noscript": true, "template": true, "head": true}

// nodeText writes the visible text under n, with block elements on their
// own lines. It walks iteratively, so a deeply nested page cannot exhaust
// the stack.
func nodeText(n *html.Node, b *strings.Builder) {
	type frame struct {
		n     *html.Node
		after bool // the node's children are done
	}
	stack := []frame{{n: n}}
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		c := f.n
		if f.after {
			if c.Type == html.ElementNode && blockTags[c.Data] {
				b.WriteByte('\n')
			}
			continue
		}
		switch c.Type {
		case html.TextNode:
			b.WriteString(c.Data)
			continue
		case html.ElementNode:
			if skipTags[c.Data] {
				continue
			}
			switch {
			case blockTags[c.Data]:
				b.WriteByte('\n')
			case c.Data == "td" || c.Data == "th" || c.Data == "img":
				b.WriteByte(' ')
			}
		case html.DocumentNode:
		default:
			continue // comments, doctypes
		}
		stack = append(stack, frame{n: c, after: true})
		// Children pushed last-first so they come off in document order.
		var kids []*html.Node
		for k := c.FirstChild; k != nil; k = k.NextSibling {
			kids = append(kids, k)
		}
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, frame{n: kids[i]})
		}
	}
}

// normalise trims lines, collapses whitespace within them and drops empty
// ones; then removes what the ignore regexes match and does it again.
func normalise(s string, ignore []*regexp.Regexp) string {
	s = collapseLines(s)
	if len(ignore) == 0 {
		return s
	}
	for _, re := range ignore {
		s = re.ReplaceAllString(s, "")
	}
	return collapseLines(s)
}

func collapseLines(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var lines []string
	for line := range strings.SplitSeq(s, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			lines = append(lines, strings.Join(f, " "))
		}
	}
	return strings.Join(lines, "\n")
}

// lineDiff returns the removed ("-") and added ("+") lines between old
// and new, without context or headers, cut to diffLimit runes.
func lineDiff(old, new string) (diff string, added, removed int) {
	before, after := withNewline(old), withNewline(new)
	ud, err := udiff.ToUnifiedDiff("before", "after", before, udiff.Lines(before, after), 0)
	if err != nil {
		// Cannot happen with edits computed from the same text; fall back
		// to saying so rather than failing the check.
		return "(diff unavailable)", 0, 0
	}
	var b strings.Builder
	for _, h := range ud.Hunks {
		for _, l := range h.Lines {
			switch l.Kind {
			case udiff.Delete:
				removed++
				b.WriteString("-" + l.Content)
			case udiff.Insert:
				added++
				b.WriteString("+" + l.Content)
			}
		}
	}
	return cutLines(strings.TrimSuffix(b.String(), "\n"), diffLimit), added, removed
}

func withNewline(s string) string {
	if s == "" || strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

// cutLines cuts s to at most max runes by watchers.Truncate, but ends
// the cut at the last line end that fits when that keeps more than half
// of it, so that a diff does not stop in the middle of a line.
func cutLines(s string, max int) string {
	out, cut := watchers.Truncate(s, max)
	if !cut {
		return out
	}
	if nl := strings.LastIndexByte(out, '\n'); nl > len(out)/2 {
		// Keeping the runes up to and including that newline leaves
		// Truncate exactly one rune for its ellipsis.
		out, _ = watchers.Truncate(s, utf8.RuneCountInString(out[:nl+1])+1)
	}
	return out
}
