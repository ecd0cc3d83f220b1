package feed

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/policyteam/alertbot/watchers"
	"github.com/policyteam/alertbot/watchers/fetch"
)

func FuzzFeedParse(f *testing.F) {
	f.Add([]byte(rss(itemA, itemB, itemC)), "application/rss+xml")
	f.Add([]byte(`<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>`+
		`<entry><id>urn:1</id><title type="html">&lt;b&gt;x&lt;/b&gt;</title><link href="/rel"/><updated>2025-01-01T00:00:00Z</updated></entry></feed>`), "")
	f.Add([]byte(`{"version":"https://jsonfeed.org/version/1.1","title":"j","items":[{"id":"1","content_html":"<p>hi</p>","url":"https://e/1"}]}`), "application/feed+json")
	f.Add([]byte("<rss><channel><item><title>\x8b\x4c\x8e\x96\x82\xaa\x94\xbd\x89\x66\x82\xb3\x82\xea</title></item></channel></rss>"), "")
	f.Add([]byte("\xff\xfe<\x00r\x00s\x00s\x00/\x00>\x00"), "text/xml")
	f.Add([]byte(`<?xml version="1.0" encoding="iso-8859-1"?><rss><channel><item><title>Not`+"\xed"+`cias</title></item></channel></rss>`), "text/xml; charset=utf-8")
	f.Add([]byte(`<rss><channel><item><title><![CD`), "")
	f.Add([]byte(""), "")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		p, err := parseFeed(body, contentType, "https://example.org/feed")
		if err != nil {
			if p != nil {
				t.Fatal("error with a result")
			}
			return
		}
		if !utf8.ValidString(p.Title) {
			t.Errorf("feed title not UTF-8: %q", p.Title)
		}
		keys := map[string]bool{}
		for _, it := range p.Items {
			if len(it.Key) != 16 || keys[it.Key] {
				t.Errorf("bad or duplicate key %q", it.Key)
			}
			keys[it.Key] = true
			if !utf8.ValidString(it.Title) || !utf8.ValidString(it.Text) || !utf8.ValidString(it.Link) {
				t.Errorf("invalid UTF-8 in %+v", it)
			}
			if strings.Contains(it.Title, "\n") {
				t.Errorf("title has a newline: %q", it.Title)
			}
			if n := utf8.RuneCountInString(it.Text); n > textLimit {
				t.Errorf("text has %d runes, limit %d", n, textLimit)
			}
		}
	})
}

// BenchmarkPoll304 polls 1,000 feed watchers once each against one
// loopback server answering 304; one op is the whole 1,000.
func BenchmarkPoll304(b *testing.B) {
	const n = 1000
	src := newSource(b, rss(itemA))
	src.SetETag(`"same"`)
	client := fetch.New(fetch.Options{}) // PerHostInterval 0: pacing off
	st, _ := json.Marshal(state{Validators: fetch.Validators{ETag: `"same"`}, Seen: []string{shortHash("guid:a")}})
	ws := make([]watchers.Watcher, n)
	for i := range ws {
		sp := spec(fmt.Sprintf("%s/feed/%d.rss", src.URL, i))
		sp.ID = fmt.Sprint("w", i)
		w, err := New(sp, watchers.Deps{Fetcher: client})
		if err != nil {
			b.Fatal(err)
		}
		ws[i] = w
	}
	ctx := context.Background()
	poll := func(w watchers.Watcher) {
		res, err := w.Check(ctx, watchers.Input{Now: now, State: st})
		if err != nil || res.Found != "not modified" {
			b.Fatalf("check: %v %q", err, res.Found)
		}
	}
	b.Run("sequential", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, w := range ws {
				poll(w)
			}
		}
	})
	b.Run("8-workers", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var wg sync.WaitGroup
			next := make(chan watchers.Watcher)
			for range 8 {
				wg.Go(func() {
					for w := range next {
						poll(w)
					}
				})
			}
			for _, w := range ws {
				next <- w
			}
			close(next)
			wg.Wait()
		}
	})
	if r, c := src.Requests(), src.Conditional(); r != c {
		b.Errorf("%d of %d requests were unconditional", r-c, r)
	}
}

// BenchmarkFeedParse measures decode and extraction of the 1.6 MB,
// 730-item Giant Bomb podcast feed.
func BenchmarkFeedParse(b *testing.B) {
	body, err := os.ReadFile(filepath.Join(testdataDir(b), "rss-parser", "giantbomb-podcast.rss"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := parseFeed(body, "application/rss+xml", "https://example.org/")
		if err != nil || len(p.Items) != 730 {
			b.Fatalf("%v, %d items", err, len(p.Items))
		}
	}
}
