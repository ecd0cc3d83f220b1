package bot

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// parseBothWays parses data with the `events:` list read entry by entry
// and with the whole file's YAML tree, and fails unless both give the
// same config or the same errors.
func parseBothWays(t *testing.T, name string, data []byte) (*Config, error) {
	t.Helper()
	defer func(old bool) { fastEvents = old }(fastEvents)
	fastEvents = true
	fast, fastErr := ParseConfig(name, data, testFactories())
	fastEvents = false
	slow, slowErr := ParseConfig(name, data, testFactories())
	if fmt.Sprint(fastErr) != fmt.Sprint(slowErr) {
		t.Fatalf("%s: errors differ\nentry by entry: %v\nwhole file:     %v", name, fastErr, slowErr)
	}
	if slowErr != nil {
		return nil, slowErr
	}
	zone := cmp.Comparer(func(a, b *time.Location) bool { return a.String() == b.String() })
	if d := cmp.Diff(slow, fast, zone); d != "" {
		t.Fatalf("%s: configs differ (-whole file +entry by entry):\n%s", name, d)
	}
	return fast, nil
}

// TestFastEventsSameAsLibrary: reading the events list entry by entry
// gives the same config, lines included, and the same errors as the
// YAML tree of the whole file, over the repository's configs and shapes
// chosen to trip a hand-written reader.
func TestFastEventsSameAsLibrary(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "config", "*.yaml"))
	files = append(files, filepath.Join("..", "cmd", "alertbot", "example.yaml"), filepath.Join("..", "cmd", "alertbot", "init.yaml"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		parseBothWays(t, f, data)
	}
	const tail = "watchers:\n  - id: deadlines\n    kind: countdown\n    schedule: \"@every 1h\"\nsubscriptions:\n  - channel: console:local\n    to: [event:a, tag:japan]\n"
	cases := map[string]string{
		"common": "timezone: Asia/Tokyo\nevents:\n  - id: a\n    title: Budget passes\n    due: 2026-03-31\n    tags: [japan, budget]\n" +
			"  - id: b\n    title: Election\n    due: 2026-07\n    status: tentative\n" + tail,
		"comments and blank lines": "events: # the list\n# before\n  - id: a # an id\n\n    title: A#1\n      # deeper comment\n    due: 2026-01-02\n# between\n  - id: b\n    title: B\n    due: 2026-02\n\n" + tail,
		"crlf":                     strings.ReplaceAll("events:\n  - id: a\n    title: A\n    due: 2026-01-02\n    tags: [japan]\n"+tail, "\n", "\r\n"),
		"indent 0":                 "events:\n- id: a\n  title: A\n  due: 2026-01-02\n- id: b\n  title: B\n  due: 2026-03\n" + tail,
		"deep indent":              "events:\n      - id: a\n        title: A\n        due: 2026-01-02\n" + tail,
		"wide dash":                "events:\n  -   id: a\n      title: A\n      due: 2026-01-02\n" + tail,
		"quoted":                   "events:\n  - id: a\n    title: \"A: the 'quoted' one\"\n    due: '2026-01-02'\n    tags: [\"japan\", 'us']\n" + tail,
		"block scalar":             "events:\n  - id: a\n    title: |\n      Two\n      lines\n    due: 2026-01-02\n  - id: b\n    title: >-\n      folded\n\n      - not an entry\n    due: 2026-01\n" + tail,
		"plain text":               "events:\n  - id: a\n    title: Japan's budget — 予算 #1 (yes) 100% true\n    due: 2026-01-02\n  - id: b\n    title: 2026\n    due: 2026-02\n  - id: c\n    title: true\n    due: 2026-03\n" + tail,
		"spaces":                   "events:\n  - id:     a   \n    title:   A  \n    due:   2026-01-02 \n    tags: [ japan ,us ]  \n" + tail,
		"multi-line":               "events:\n  - id: a\n    title: a title\n      that goes on\n    due: 2026-01-02\n" + tail,
		"flow entry":               "events:\n  - {id: a, title: A, due: 2026-01-02}\n  - id: b\n    title: B\n    due: 2026-02\n" + tail,
		"changes":                  "events:\n  - id: a\n    title: A\n    due: 2026-01\n    lead_times: [30d, 0d]\n    match: [予算, budget bill]\n    changes:\n      - at: 2026-01-05\n        due: 2026-01-20\n" + tail,
		"empty lists":              "events:\n  - id: a\n    title: A\n    due: 2026-01\n    tags: []\n    lead_times: []\n" + tail,
		"anchor inside":            "events:\n  - id: a\n    title: &t Anchored\n    due: 2026-01\n    tags: [x]\n  - id: b\n    title: *t\n    due: 2026-02\n" + tail,
		"anchor before":            "x-title: &t Anchored\nevents:\n  - id: a\n    title: *t\n    due: 2026-01\n" + tail,
		"no newline":               "timezone: UTC\nevents:\n  - id: a\n    title: A\n    due: 2026-01-02",
		"document mark":            "---\nevents:\n  - id: a\n    title: A\n    due: 2026-01-02\n...\n",
		"events last":              tail + "events:\n  - id: a\n    title: A\n    due: 2026-01-02\n    tags: [japan]\n",
		"events empty":             "events:\n" + tail,
		"events twice":             "events:\n  - id: a\n    title: A\n    due: 2026-01-02\nevents:\n  - id: b\n    title: B\n    due: 2026-01-02\n",
		"null title":               "events:\n  - id: a\n    title: null\n    due: 2026-01-02\n" + tail,
		"null status":              "events:\n  - id: a\n    title: A\n    status: Null\n    due: 2026-01-02\n" + tail,
		"tilde source":             "events:\n  - id: a\n    title: A\n    source: ~\n    due: 2026-01-02\n" + tail,
		"no value":                 "events:\n  - id: a\n    title:\n    due: 2026-01-02\n" + tail,
		"bad entries":              "events:\n  - id: a\n    title: A\n    due: 2026-13-45\n  - id: a\n    title: A again\n    due: 2026-01\n    colour: red\n  - just text\n" + tail,
		"bad tags":                 "events:\n  - id: a\n    title: A\n    due: 2026-01\n    tags: [Bad Tag, ok, ok]\n" + tail,
		"dedent":                   "events:\n    - id: a\n      title: A\n      due: 2026-01\n  - id: b\n    title: B\n    due: 2026-02\n" + tail,
		"tab":                      "events:\n  - id: a\n    title:\tA\n    due: 2026-01\n" + tail,
		"control char":             "events:\n  - id: a\n    title: A\x01B\n    due: 2026-01\n" + tail,
		"bad utf-8":                "events:\n  - id: a\n    title: A\xffB\n    due: 2026-01\n" + tail,
		"separators":               "events:\n  - id: a\n    title: A\u2028B\n    due: 2026-01\n" + tail,
		"directive":                "%YAML 1.1\n---\nevents:\n  - id: a\n    title: A\n    due: 2026-01\n",
		"quoted key":               "\"events\":\n  - id: a\n    title: A\n    due: 2026-01\n",
		"merge":                    "events:\n  - <<: {title: A}\n    id: a\n    due: 2026-01\n" + tail,
	}
	// Runs of entries the library reads, longer than libraryGroup, between
	// plain ones; an anchor used within a run.
	var runs strings.Builder
	runs.WriteString("events:\n")
	for i := range 700 {
		if i%300 == 299 {
			fmt.Fprintf(&runs, "  - id: e%d\n    title: Plain %d\n    due: 2026-01\n", i, i)
		} else {
			fmt.Fprintf(&runs, "  - id: e%d\n    title: \"Quoted %d\"\n    due: &d%d 2026-02\n    changes:\n      - at: 2026-01-01\n        due: *d%d\n", i, i, i, i)
		}
	}
	cases["library runs"] = runs.String()
	// The cases with mistakes; every other one is a valid config.
	bad := []string{"events twice", "events empty", "null title", "no value", "bad entries", "bad tags", "control char",
		"bad utf-8", "separators", "merge", "dedent", "anchor before"}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := parseBothWays(t, name+".yaml", []byte(text))
			if wantErr := slices.Contains(bad, name); (err != nil) != wantErr {
				t.Errorf("error %v, want one: %v", err, wantErr)
			}
		})
	}
}

// TestFastEventsReadsCommonShape: entries of the common shape are read
// without the YAML library, with the lines of their fields, so a large
// generated config does not fall back to the slow path unnoticed.
func TestFastEventsReadsCommonShape(t *testing.T) {
	data := []byte("timezone: Asia/Tokyo\nevents:\n  - id: ev-1\n    title: Event 1\n    due: 2026-01-02\n    tags: [t1, t2]\n" +
		"  - id: ev-2\n    title: Event 2\n    due: 2026-01-02T10:00\n    status: tentative\n    source: https://example.org/a?b=c#d\nwatchers: []\n")
	blk, ok := splitEventsBlock(data)
	if !ok || len(blk.entries) != 2 || blk.indent != 2 {
		t.Fatalf("split: ok=%v, %d entries at indent %d; want 2 entries at 2", ok, len(blk.entries), blk.indent)
	}
	if got := strings.Count(string(blk.rest), "\n"); got != strings.Count(string(data), "\n") {
		t.Errorf("the rest of the file has %d lines, want %d (lines keep their numbers)", got, strings.Count(string(data), "\n"))
	}
	for i, want := range []struct{ line, fields int }{{3, 4}, {7, 5}} {
		n, ok := plainEntry(data, blk.entries[i], blk.indent, &nodeArena{})
		if !ok {
			t.Fatalf("entry %d not read by plainEntry", i)
		}
		if n.Line != want.line || len(n.Content) != 2*want.fields {
			t.Errorf("entry %d: line %d with %d fields, want line %d with %d", i, n.Line, len(n.Content)/2, want.line, want.fields)
		}
	}
	cfg, err := parseBothWays(t, "t.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Events[1].Line != 7 || cfg.Events[1].Event.Source != "https://example.org/a?b=c#d" || len(cfg.Events[0].Event.Tags) != 2 {
		t.Errorf("events = %+v", cfg.Events)
	}
}
