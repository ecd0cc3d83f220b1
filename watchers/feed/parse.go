package feed

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mmcdole/gofeed"
	"golang.org/x/net/html"
	"golang.org/x/text/encoding/charmap"

	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/fetch"
)

// textLimit is how many runes of an item's summary an alert carries.
const textLimit = 500

// parsed is a feed reduced to what the watcher needs.
type parsed struct {
	Title    string
	Encoding string // the encoding the body was read in
	Items    []item
}

// item is one feed entry, its text already reduced from HTML.
type item struct {
	Key       string // short hash of the identity below
	Title     string
	Text      string // summary as text, cut to textLimit runes
	Link      string
	Published time.Time // zero when the feed gives none
}

// parseFeed reads body (in whatever encoding ToUTF8 finds) as RSS, Atom or
// JSON Feed. base resolves relative item links. A body that is not a feed
// is an error, never an empty feed.
func parseFeed(body []byte, contentType, base string) (p *parsed, err error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errors.New("empty body")
	}
	text, enc := fetch.ToUTF8(body, contentType)
	defer func() {
		// gofeed is third-party code fed hostile input: a panic in it is
		// this feed being unreadable, not the process dying.
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("feed parser panicked: %v", r)
		}
	}()
	f, err := gofeed.NewParser().Parse(bytes.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("%w (read as %s)", err, enc)
	}
	baseURL, _ := url.Parse(base)
	p = &parsed{Title: toText(f.Title, true), Encoding: enc}
	seen := make(map[string]bool, len(f.Items))
	for _, it := range f.Items {
		if it == nil {
			continue
		}
		id := itemID(it)
		key := shortHash(id)
		if seen[key] {
			continue // the same item listed twice
		}
		seen[key] = true
		summary := it.Description
		if strings.TrimSpace(summary) == "" {
			summary = it.Content
		}
		text, _ := watchers.Truncate(toText(summary, false), textLimit)
		x := item{
			Key:   key,
			Title: toText(it.Title, true),
			Text:  text,
			Link:  resolve(baseURL, strings.TrimSpace(it.Link)),
		}
		switch {
		case it.PublishedParsed != nil:
			x.Published = *it.PublishedParsed
		case it.UpdatedParsed != nil:
			x.Published = *it.UpdatedParsed
		}
		p.Items = append(p.Items, x)
	}
	return p, nil
}

// itemID is an item's identity: its GUID (Atom id), else link, title and
// date together, so an item without GUID is still told apart from its
// neighbours and recognised again on the next poll.
func itemID(it *gofeed.Item) string {
	if g := strings.TrimSpace(it.GUID); g != "" {
		return "guid:" + g
	}
	date := it.Published
	if date == "" {
		date = it.Updated
	}
	return "item:" + strings.TrimSpace(it.Link) + "\n" + strings.TrimSpace(it.Title) + "\n" + strings.TrimSpace(date)
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

func resolve(base *url.URL, link string) string {
	if link == "" || base == nil {
		return link
	}
	u, err := url.Parse(link)
	if err != nil || u.IsAbs() {
		return link
	}
	return base.ResolveReference(u).String()
}

// blockTags end a line of text when reduced from HTML.
var blockTags = map[string]bool{
	"p": true, "div": true, "br": true, "li": true, "ul": true, "ol": true,
	"tr": true, "table": true, "h1": true, "h2": true, "h3": true, "h4": true,
	"h5": true, "h6": true, "blockquote": true, "pre": true, "hr": true,
	"section": true, "article": true, "header": true, "footer": true, "figure": true,
}

// toText reduces HTML to text: tags dropped (script and style with their
// content), entities decoded, whitespace collapsed. oneLine joins
// everything into one line, as a title must be; otherwise block elements
// end lines and empty lines are dropped.
func toText(s string, oneLine bool) string {
	if !strings.ContainsAny(s, "<&") {
		return collapse(s, oneLine)
	}
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(s))
	skip := 0 // depth inside script/style
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return collapse(b.String(), oneLine)
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			if tag == "script" || tag == "style" {
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			}
			if blockTags[tag] {
				b.WriteByte('\n')
			} else if tag == "td" || tag == "th" || tag == "img" {
				b.WriteByte(' ')
			}
		}
	}
}

// collapse trims and collapses whitespace within lines and drops empty
// lines; oneLine joins the lines with spaces.
func collapse(s string, oneLine bool) string {
	s = strings.Map(demoronize, strings.ToValidUTF8(s, "\uFFFD"))
	var lines []string
	for line := range strings.SplitSeq(s, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			lines = append(lines, strings.Join(f, " "))
		}
	}
	if oneLine {
		return strings.Join(lines, " ")
	}
	return strings.Join(lines, "\n")
}

// demoronize maps the C1 control characters, which in feeds are almost
// always Windows-1252 punctuation mislabelled as Latin-1 (0x92 for ’),
// to the characters meant.
func demoronize(r rune) rune {
	if r < 0x80 || r > 0x9F {
		return r
	}
	if m := charmap.Windows1252.DecodeByte(byte(r)); m != utf8.RuneError && m != r {
		return m
	}
	return -1 // an unassigned control: drop it
}
