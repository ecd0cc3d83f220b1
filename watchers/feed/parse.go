package feed

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
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
	// Cut is why the body could not be read whole, when it was cut short
	// or broken after some complete items, which Items then holds.
	Cut error
}

// item is one feed entry, its text already reduced from HTML.
type item struct {
	Key       string // short hash of the identity below
	Title     string
	Text      string // summary as text, cut to textLimit runes
	Link      string
	Published time.Time // zero when the feed gives none
	Undated   string    // why Published is zero; "" when it is not
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
	var cut error
	if err != nil {
		// A body cut short in transfer (or broken part way) still holds
		// the items before the cut: read those, and report the cut.
		short, ok := salvage(text)
		if !ok {
			return nil, fmt.Errorf("%w (read as %s)", err, enc)
		}
		g, serr := gofeed.NewParser().Parse(bytes.NewReader(short))
		if serr != nil || len(g.Items) == 0 {
			return nil, fmt.Errorf("%w (read as %s)", err, enc)
		}
		f, cut = g, err
	}
	baseURL, _ := url.Parse(base)
	p = &parsed{Title: toText(f.Title, true), Encoding: enc, Cut: cut}
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
		x.Published, x.Undated = itemDate(it)
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
				b.WriteString(unescape(string(z.Raw())))
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

// unescape decodes the character references of s that end in ";"
// (&amp;, &#8217;, &eacute;) and leaves every other "&" as written. The
// HTML rule also decodes a few names without ";" (&copy, &amp, &lt),
// which in feed text is nearly always a URL's query that the XML layer
// has decoded once already: "?page=1&amp;copy=2" must read "&copy=2",
// not "©=2".
func unescape(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i:]
		if j := strings.IndexByte(s, ';'); j > 1 && j <= maxRefLen && refName(s[1:j]) {
			ref := s[:j+1]
			// html.UnescapeString also decodes a legacy prefix ("&ampx;"
			// becomes "&x;"), which leaves the ";" at the end: only a
			// whole reference counts. &semi; is the one that decodes to ";".
			if d := html.UnescapeString(ref); d != ref && (!strings.HasSuffix(d, ";") || ref == "&semi;") {
				b.WriteString(d)
				s = s[j+1:]
				continue
			}
		}
		b.WriteByte('&')
		s = s[1:]
	}
}

// maxRefLen is the longest character reference unescape looks for: the
// longest HTML entity name has 31 letters.
const maxRefLen = 33

// refName reports whether s can name a character reference: #123, #x1F
// or letters and digits starting with a letter.
func refName(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '#' {
		n := s[1:]
		hex := len(n) > 0 && (n[0] == 'x' || n[0] == 'X')
		if hex {
			n = n[1:]
		}
		for i := 0; i < len(n); i++ {
			c := n[i]
			if !(c >= '0' && c <= '9' || hex && (c|0x20) >= 'a' && (c|0x20) <= 'f') {
				return false
			}
		}
		return n != ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !(c >= 'a' && c <= 'z' || i > 0 && s[i] >= '0' && s[i] <= '9') {
			return false
		}
	}
	return true
}

// salvage returns the part of an XML feed up to the end of its last
// complete item or entry, with the elements still open there closed, so
// that a body cut short still yields the items it holds. ok is false when
// no item is complete. The scan is lenient (unknown entities, unquoted
// attributes), as feeds are.
func salvage(text []byte) (out []byte, ok bool) {
	d := xml.NewDecoder(bytes.NewReader(text))
	d.Strict = false
	// The text is UTF-8 already, whatever its declaration says.
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var stack, open []string
	end := -1
	for {
		tok, err := d.RawToken()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxSalvageDepth {
				return nil, false
			}
			stack = append(stack, qualified(t.Name))
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			if l := strings.ToLower(t.Name.Local); (l == "item" || l == "entry") && len(stack) > 0 {
				end, open = int(d.InputOffset()), slices.Clone(stack)
			}
		}
	}
	if end < 0 {
		return nil, false
	}
	out = append(out, text[:end]...)
	for i := len(open) - 1; i >= 0; i-- {
		out = append(out, "</"+open[i]+">"...)
	}
	return out, true
}

// maxSalvageDepth bounds the elements salvage keeps open: feeds nest a
// handful deep.
const maxSalvageDepth = 64

// qualified writes an element name as it stood: prefix:local.
func qualified(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
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
