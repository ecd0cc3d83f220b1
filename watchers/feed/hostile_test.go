package feed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoDoubleDecode: text the XML layer has decoded is not decoded again
// by the HTML rule for names without ";": "&amp;copy=2" reads "&copy=2",
// not "©=2". Whole references still decode.
func TestNoDoubleDecode(t *testing.T) {
	for in, want := range map[string]string{
		"?page=1&amp;copy=2":                             "?page=1&copy=2",
		"a?x=1&amp;lt=2&amp;reg=3&amp;amp=4":             "a?x=1&lt=2&reg=3&amp=4",
		"&lt;b&gt;Bold&lt;/b&gt; &amp;amp; more":         "Bold & more", // HTML in a title, escaped once more
		"caf&amp;eacute; &amp;#8217; &amp;#x2019;":       "café ’ ’",
		"&amp;ampx; &amp;copy &amp;; &amp;#; &amp;semi;": "&ampx; &copy &; &#; ;",
	} {
		body := `<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><guid>g</guid><title>` + in + `</title></item></channel></rss>`
		p, err := parseFeed([]byte(body), "", "https://example.org/")
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Items[0].Title; got != want {
			t.Errorf("title %q = %q, want %q", in, got, want)
		}
	}
	// gofeed's own case: a legacy prefix inside a URL's query stays.
	data, err := os.ReadFile(filepath.Join(testdataDir(t), "gofeed", "issue_320_legacy_entity_prefix.xml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := parseFeed(data, "", "https://example.org/")
	if err != nil {
		t.Fatal(err)
	}
	if want := "?page=1&copy=2;mode=x & done"; p.Title != want {
		t.Errorf("issue 320 title = %q, want %q", p.Title, want)
	}
}

// TestTruncatedFeedYieldsCompleteItems: a body cut short in transfer
// still yields the items complete before the cut, and the check says the
// feed was cut; with no complete item it fails as before.
func TestTruncatedFeedYieldsCompleteItems(t *testing.T) {
	src := newSource(t, rss(itemA))
	w := newWatcher(t, spec(src.URL))
	st := check(t, w, nil).State

	full := rss(itemA, itemB, itemC)
	cut := full[:strings.Index(full, "<guid>c</guid>")+20] // inside item C
	src.Set(cut)
	res := check(t, w, st)
	if len(res.Alerts) != 1 || res.Alerts[0].Title != itemB.title {
		t.Fatalf("alerts = %+v, want item B only", res.Alerts)
	}
	for _, want := range []string{"1 new items, 1 posted", "feed cut short or broken", "read the 2 complete items before it"} {
		if !strings.Contains(res.Found, want) {
			t.Errorf("Found = %q, want it to contain %q", res.Found, want)
		}
	}
	// Once whole, item C is new; A and B are not posted again.
	src.Set(full)
	res = check(t, w, res.State)
	if len(res.Alerts) != 1 || res.Alerts[0].Key != "crs-japan/feed_item/"+shortHash("guid:c") || strings.Contains(res.Found, "cut") {
		t.Errorf("after the whole feed: alerts %+v, found %q", res.Alerts, res.Found)
	}

	// feedparser's file cut at "</rss": its one item, link intact.
	data, err := os.ReadFile(filepath.Join(testdataDir(t), "feedparser", "illformed__rss_item_link_corrupted_ampersands.xml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := parseFeed(data, "", "https://example.org/")
	if err != nil || len(p.Items) != 1 || p.Items[0].Link != "http://link/get?a=1&b=2" || p.Cut == nil {
		t.Fatalf("parse = %+v, %v; want one item linking to http://link/get?a=1&b=2 and the cut reported", p, err)
	}

	// Cut before any item is complete: unreadable, as before.
	if _, err := parseFeed([]byte(full[:strings.Index(full, "</item>")]), "", "https://example.org/"); err == nil {
		t.Error("a feed cut inside its first item parsed")
	}
}

// TestUndatedItemsReported: an item left without a date is named in the
// check's summary with the reason.
func TestUndatedItemsReported(t *testing.T) {
	src := newSource(t, rss(itemA))
	w := newWatcher(t, spec(src.URL))
	st := check(t, w, nil).State
	src.Set(rss(itemA,
		rssItem{guid: "n", title: "No date", link: "https://example.org/n"},
		rssItem{guid: "u", title: "Bad date", link: "https://example.org/u", date: "the 5th of Nevember"}))
	res := check(t, w, st)
	if want := `; 2 undated (unreadable date "the 5th of Nevember")`; !strings.HasSuffix(res.Found, want) {
		t.Errorf("Found = %q, want it to end %q", res.Found, want)
	}
	for _, a := range res.Alerts {
		for _, f := range a.Fields {
			if f.Name == "Published" {
				t.Errorf("undated item %q has a Published field %q", a.Title, f.Value)
			}
		}
	}
}
