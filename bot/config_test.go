package bot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/policyteam/alertbot/watchers"
)

// nopWatcher is what the fake factories build; the loader never runs it.
type nopWatcher struct{}

func (nopWatcher) Check(context.Context, watchers.Input) (watchers.Result, error) {
	return watchers.Result{}, nil
}

// testFactories stands in for the real watcher kinds, which are written
// elsewhere: countdown accepts any spec; feed requires a url; page checks
// its selector; broken fails without naming a field; panicky panics.
func testFactories() map[string]watchers.Factory {
	return map[string]watchers.Factory{
		"countdown": func(watchers.Spec, watchers.Deps) (watchers.Watcher, error) { return nopWatcher{}, nil },
		"feed": func(s watchers.Spec, _ watchers.Deps) (watchers.Watcher, error) {
			if s.URL == "" {
				return nil, &watchers.FieldError{Field: "url", Err: errors.New("a feed needs a url")}
			}
			return nopWatcher{}, nil
		},
		"page": func(s watchers.Spec, _ watchers.Deps) (watchers.Watcher, error) {
			if strings.ContainsAny(s.Selector, "[(") {
				return nil, &watchers.FieldError{Field: "selector", Err: errors.New("bad selector")}
			}
			if s.Fetch.MaxBytes > 1<<30 {
				// Named without its "fetch." prefix, as a factory might.
				return nil, &watchers.FieldError{Field: "max_bytes", Err: errors.New("far too large")}
			}
			if s.Fetch.MaxBytes > 1<<20 {
				return nil, &watchers.FieldError{Field: "fetch.max_bytes", Err: errors.New("at most 1 MiB")}
			}
			return nopWatcher{}, nil
		},
		"broken": func(watchers.Spec, watchers.Deps) (watchers.Watcher, error) {
			return nil, errors.New("cannot be built")
		},
		"panicky": func(watchers.Spec, watchers.Deps) (watchers.Watcher, error) { panic("boom") },
	}
}

// mustFail parses src and returns its ConfigErrors, failing the test when
// it parses cleanly or fails some other way.
func mustFail(t *testing.T, src string) ConfigErrors {
	t.Helper()
	cfg, err := ParseConfig("test.yaml", []byte(src), testFactories())
	if err == nil {
		t.Fatalf("ParseConfig succeeded (%d events), want errors", len(cfg.Events))
	}
	if cfg != nil {
		t.Errorf("ParseConfig returned a config with its errors")
	}
	var errs ConfigErrors
	if !errors.As(err, &errs) {
		t.Fatalf("error %T %v, want ConfigErrors", err, err)
	}
	for _, e := range errs {
		if e.File != "test.yaml" {
			t.Errorf("error %v names file %q", e, e.File)
		}
	}
	return errs
}

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	cfg, err := ParseConfig("test.yaml", []byte(src), testFactories())
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	return cfg
}

// lines joins its arguments as lines of a file, so a case's line numbers
// can be read off its position.
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

// TestConfigMistakes has one case per class of mistake: each must give
// exactly one error, at the right line, saying what is wrong.
func TestConfigMistakes(t *testing.T) {
	event := func(extra ...string) string {
		return lines(append([]string{
			"events:",
			"  - id: budget",
			"    title: Budget",
			"    due: 2025-03-31",
		}, extra...)...)
	}
	watcher := func(extra ...string) string {
		return lines(append([]string{
			"watchers:",
			"  - id: deadlines",
			"    kind: countdown",
			"    schedule: \"@every 1m\"",
		}, extra...)...)
	}
	tests := []struct {
		name string
		src  string
		line int
		msg  string // a part of the message
	}{
		{"unknown top-level field", lines("timezone: UTC", "colour: blue"), 2, `unknown field "colour" in the config`},
		{"unknown event field", event("    colour: red"), 5, `unknown field "colour" in event`},
		{"unknown watcher field", watcher("    colour: red"), 5, `unknown field "colour" in watcher`},
		{"unknown change field", event("    changes:", "      - at: 2025-03-31", "        status: happened", "        colour: red"), 8, `unknown field "colour" in change`},
		{"unknown fetch field", watcher("    fetch:", "      max_bytes: 10", "      retries: 3"), 7, `unknown field "retries" in fetch`},
		{"unknown subscription field", lines("subscriptions:", "  - channel: console:local", "    to: [all]", "    mute: 1d"), 4, `unknown field "mute" in subscription`},
		{"duplicate key", event("    title: Budget again"), 5, `duplicate field "title" in event (first at line 3)`},
		{"bad date", lines("events:", "  - id: budget", "    title: Budget", "    due: 2025-02-30"), 4, `bad due date "2025-02-30"`},
		{"bad month", lines("events:", "  - id: budget", "    title: Budget", "    due: 2025-13"), 4, `month "13" out of range`},
		{"bad change due", event("    changes:", "      - at: 2025-03-31", "        due: 2025-Q5"), 7, `bad due date "2025-Q5"`},
		{"bad change at", event("    changes:", "      - at: next week", "        status: happened"), 6, `bad change time "next week"`},
		{"change without at", event("    changes:", "      - status: happened"), 6, "change has no at"},
		{"empty change", event("    changes:", "      - at: 2025-03-31"), 6, "change changes nothing"},
		{"change out of order", event("    changes:", "      - at: 2025-04-02", "        note: b", "      - at: 2025-04-01T23:00", "        note: a"), 8, "comes before the change at 2025-04-02 09:00 UTC (line 6)"},
		{"bad status", event("    status: done"), 5, `unknown status "done"`},
		{"bad tag", event("    tags: [japan, Budget]"), 5, `bad tag "Budget"`},
		{"bad source", event("    source: ftp://example.org/x"), 5, `bad URL "ftp://example.org/x"`},
		{"missing title", lines("events:", "  - id: budget", "    due: 2025-03-31"), 2, `event "budget" has no title`},
		{"missing due", lines("events:", "  - id: budget", "    title: Budget"), 2, `event "budget" has no due date`},
		{"empty event id", lines("events:", "  - id:", "    title: Budget", "    due: 2025"), 2, "event has no id"},
		{"merge key", lines("watchers:", "  - &w {id: a, kind: countdown, schedule: \"@hourly\"}", "  - <<: *w", "    id: b", "    kind: countdown", "    schedule: \"@hourly\""), 3, "merge keys (<<) are not supported in watcher"},
		{"bad event id", lines("events:", "  - id: Budget_2025", "    title: Budget", "    due: 2025"), 2, `bad event id "Budget_2025"`},
		{"duplicate event id", event("  - id: budget", "    title: Again", "    due: 2026-03-31"), 5, `duplicate event id "budget" (first defined at line 2)`},
		{"duplicate watcher id", watcher("  - id: deadlines", "    kind: countdown", "    schedule: \"@hourly\""), 5, `duplicate watcher id "deadlines" (first defined at line 2)`},
		{"bad cron spec", lines("watchers:", "  - id: deadlines", "    kind: countdown", "    schedule: \"61 * * * *\""), 4, `bad schedule "61 * * * *"`},
		{"cron zone without spec", lines("watchers:", "  - id: deadlines", "    kind: countdown", "    schedule: CRON_TZ=Asia/Tokyo"), 4, `bad schedule "CRON_TZ=Asia/Tokyo"`},
		{"missing schedule", lines("watchers:", "  - id: deadlines", "    kind: countdown"), 2, `watcher "deadlines" has no schedule`},
		{"unknown kind", lines("watchers:", "  - id: news", "    kind: rss", "    schedule: \"@hourly\""), 3, `unknown kind "rss" (want broken, countdown, feed, page, panicky)`},
		{"missing kind", lines("watchers:", "  - id: news", "    schedule: \"@hourly\""), 2, `watcher "news" has no kind`},
		{"wrong value type", watcher("    fail_after: often"), 5, `fail_after must be a whole number, not "often"`},
		{"scalar for list", watcher("    tags: news"), 5, "tags must be a list of values"},
		{"bad watcher timeout", watcher("    timeout: soon"), 5, `timeout: bad duration "soon"`},
		{"factory error at its field", lines("watchers:", "  - id: site", "    kind: page", "    schedule: \"@hourly\"", "    url: https://example.org/", "    selector: \"div[\""), 6, "selector: bad selector"},
		{"factory error at nested field", lines("watchers:", "  - id: site", "    kind: page", "    schedule: \"@hourly\"", "    fetch:", "      max_bytes: 99999999"), 6, "fetch.max_bytes: at most 1 MiB"},
		{"factory error at unprefixed nested field", lines("watchers:", "  - id: site", "    kind: page", "    schedule: \"@hourly\"", "    fetch:", "      timeout: 5s", "      max_bytes: 99999999999"), 7, "max_bytes: far too large"},
		{"factory error for a missing field", lines("watchers:", "  - id: news", "    kind: feed", "    schedule: \"@hourly\""), 2, "url: a feed needs a url"},
		{"factory error without field", lines("watchers:", "  - id: b", "    kind: broken", "    schedule: \"@hourly\""), 2, `watcher "b": cannot be built`},
		{"factory panic", lines("watchers:", "  - id: p", "    kind: panicky", "    schedule: \"@hourly\""), 2, "internal error: boom"},
		{"bad channel address", lines("subscriptions:", "  - channel: slack:#general", "    to: [all]"), 2, `bad channel address "slack:#general"`},
		{"bad discord channel", lines("subscriptions:", "  - channel: discord:general", "    to: [all]"), 2, "a Discord id is a number"},
		{"unknown platform", lines("subscriptions:", "  - channel: teams:C1", "    to: [all]"), 2, `bad channel address "teams:C1"`},
		{"unknown event target", event("subscriptions:", "  - channel: console:local", "    to: [event:budget, event:budjet]"), 7, `unknown subscription target "event:budjet"`},
		{"unknown watcher target", watcher("subscriptions:", "  - channel: console:local", "    to:", "      - all", "      - watcher:deadline"), 9, `unknown subscription target "watcher:deadline"`},
		{"bad target", lines("subscriptions:", "  - channel: console:local", "    to: [channel:x]"), 3, `bad target "channel:x"`},
		{"empty subscription", lines("subscriptions:", "  - channel: console:local", "    to: []"), 3, "subscription to nothing"},
		{"bad admin", lines("admins: [console:local, slack:u-lower]"), 1, `bad admin address "slack:u-lower"`},
		{"bad timezone", lines("timezone: Asia/Tokio"), 1, `unknown time zone "Asia/Tokio"`},
		{"local timezone", lines("timezone: Local"), 1, "not Local"},
		{"bad event timezone", event("    timezone: America/NewYork"), 5, `unknown time zone "America/NewYork"`},
		{"bad alert_time", lines("alert_time: \"24:00\""), 1, `bad alert_time "24:00"`},
		{"bad lead time", lines("lead_times: [30d, 7x, 0d]"), 1, `lead_times: bad duration "7x"`},
		{"bad event lead time", event("    lead_times:", "      - 90d", "      - soon"), 7, `lead_times: bad duration "soon"`},
		{"lead times not a list", lines("lead_times: 7d"), 1, "lead_times must be a list"},
		{"bad catch_up", lines("catch_up: 1y"), 1, `catch_up: bad duration "1y"`},
		{"events not a list", lines("events:", "  budget: 2025-03-31"), 2, "events must be a list"},
		{"event not a mapping", lines("events:", "  - budget"), 2, `event must be a mapping of key: value, not "budget"`},
		{"top level not a mapping", lines("- timezone: UTC"), 1, "the config must be a mapping"},
		{"yaml syntax", lines("watchers:", "  - id: a", "    kind: countdown", "    schedule: @every 1m"), 4, "yaml syntax: found character that cannot start any token"},
		{"second document", lines("timezone: UTC", "---", "timezone: UTC"), 2, "second YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := mustFail(t, tt.src)
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1:\n%v", len(errs), errs)
			}
			if errs[0].Line != tt.line || !strings.Contains(errs[0].Msg, tt.msg) {
				t.Errorf("got %v\nwant test.yaml:%d: …%s…", errs[0], tt.line, tt.msg)
			}
		})
	}
}

// TestConfigManyMistakes checks that every mistake of a file is reported,
// in line order, even those found only after the whole file is read.
func TestConfigManyMistakes(t *testing.T) {
	_, err := LoadConfig(filepath.Join("testdata", "config", "mistakes.yaml"), testFactories())
	var errs ConfigErrors
	if !errors.As(err, &errs) {
		t.Fatalf("LoadConfig: %v, want ConfigErrors", err)
	}
	want := []struct {
		line int
		msg  string
	}{
		{2, `bad channel address "slack:general?"`},
		{3, `unknown subscription target "event:nope"`},
		{4, `unknown time zone "Mars/Olympus"`},
		{5, `bad alert_time "9am"`},
		{7, `bad event id "Bad_ID"`},
		{9, `bad due date "2025-13"`},
		{10, `unknown field "colour" in event`},
		{17, "comes before the change at 2025-03-01 09:00 UTC (line 15)"},
		{21, `unknown kind "rss"`},
		{22, `bad schedule "every minute"`},
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for i, w := range want {
		if errs[i].Line != w.line || !strings.Contains(errs[i].Msg, w.msg) {
			t.Errorf("error %d: got %v, want line %d …%s…", i, errs[i], w.line, w.msg)
		}
	}
	// The whole error prints one "file:line: message" per line.
	got := strings.Split(err.Error(), "\n")
	if len(got) != len(want) {
		t.Fatalf("Error() has %d lines, want %d", len(got), len(want))
	}
	prefix := filepath.Join("testdata", "config", "mistakes.yaml") + ":2: "
	if !strings.HasPrefix(got[0], prefix) {
		t.Errorf("first line %q, want prefix %q", got[0], prefix)
	}
}

func TestConfigValid(t *testing.T) {
	var gotDeps []watchers.Deps
	factories := testFactories()
	countdown := factories["countdown"]
	factories["countdown"] = func(s watchers.Spec, d watchers.Deps) (watchers.Watcher, error) {
		gotDeps = append(gotDeps, d)
		return countdown(s, d)
	}
	path := filepath.Join("testdata", "config", "valid.yaml")
	cfg, err := LoadConfig(path, factories)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	newYork, _ := time.LoadLocation("America/New_York")

	if cfg.Path != path || cfg.Timezone != "Asia/Tokyo" || cfg.Location.String() != "Asia/Tokyo" ||
		cfg.AlertTime != 8*time.Hour+30*time.Minute || cfg.CatchUp != 3*24*time.Hour {
		t.Errorf("settings: path %q zone %q/%v alert_time %v catch_up %v", cfg.Path, cfg.Timezone, cfg.Location, cfg.AlertTime, cfg.CatchUp)
	}
	if diff := cmp.Diff([]watchers.Lead{{N: 14, Unit: 'd'}, {N: 1, Unit: 'd'}, {N: 0, Unit: 'd'}}, cfg.LeadTimes); diff != "" {
		t.Errorf("lead_times (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"slack:U0ADMIN1", "discord:80351110224678912", "console:local"}, cfg.Admins); diff != "" {
		t.Errorf("admins (-want +got):\n%s", diff)
	}

	wantEvents := []watchers.Event{
		{
			ID: "budget", Title: "Budget passes", Due: "2025-03-31", Tags: []string{"japan", "budget"},
			Source: "https://example.org/budget", Origin: "config",
			Changes: []watchers.Change{
				// A date means alert_time (08:30) that day in the config's zone.
				{At: time.Date(2025, 3, 31, 8, 30, 0, 0, tokyo), Status: watchers.Happened, Note: "enacted", By: "config"},
			},
		},
		{
			ID: "election", Title: "Election", Due: "2025-07", Status: watchers.Tentative, Origin: "config",
			LeadTimes: []watchers.Lead{{N: 90, Unit: 'd'}, {N: 7, Unit: 'd'}},
			Changes: []watchers.Change{
				{At: time.Date(2025, 7, 3, 10, 0, 0, 0, tokyo), Due: "2025-07-20", Status: watchers.Scheduled, By: "config"},
				{At: time.Date(2025, 7, 3, 10, 0, 0, 0, tokyo), Note: "confirmed", By: "config"},
				{At: time.Date(2025, 7, 21, 0, 0, 0, 0, time.UTC), Status: watchers.Happened, Source: "https://example.org/result", By: "config"},
			},
		},
		{
			ID: "inauguration", Title: "Inauguration", Due: "2025-01-20T12:00-05:00", Zone: "America/New_York",
			Tags: []string{"us"}, Origin: "config",
			Changes: []watchers.Change{
				// In the event's own zone, not the config's.
				{At: time.Date(2025, 1, 20, 8, 30, 0, 0, newYork), Title: "Inauguration of the President", By: "config"},
			},
		},
	}
	var gotEvents []watchers.Event
	var gotLines []int
	for _, e := range cfg.Events {
		gotEvents = append(gotEvents, e.Event)
		gotLines = append(gotLines, e.Line)
		if len(e.Hash()) != 64 {
			t.Errorf("event %s hash %q is not sha256 hex", e.Event.ID, e.Hash())
		}
	}
	if diff := cmp.Diff(wantEvents, gotEvents); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{10, 19, 33}, gotLines); diff != "" {
		t.Errorf("event lines (-want +got):\n%s", diff)
	}

	wantSpecs := []watchers.Spec{
		{ID: "deadlines", Kind: "countdown", Schedule: "@every 1m"},
		{
			ID: "news", Kind: "feed", Schedule: "CRON_TZ=Asia/Tokyo */30 * * * *", URL: "https://example.org/feed.rss",
			Match: []string{"Japan"}, Tags: []string{"news"}, Fetch: watchers.Fetch{MaxBytes: 1 << 20, Timeout: "10s"},
		},
	}
	var gotSpecs []watchers.Spec
	for _, w := range cfg.Watchers {
		gotSpecs = append(gotSpecs, w.Spec)
	}
	if diff := cmp.Diff(wantSpecs, gotSpecs); diff != "" {
		t.Errorf("watchers (-want +got):\n%s", diff)
	}
	if cfg.Watchers[0].Line != 43 || cfg.Watchers[1].Line != 46 {
		t.Errorf("watcher lines %d, %d; want 43, 46", cfg.Watchers[0].Line, cfg.Watchers[1].Line)
	}

	wantSubs := []ConfigSubscription{
		{Channel: "slack:C0123ABCD", To: []string{"tag:budget", "tag:us", "watcher:news", "event:election"}, Line: 57},
		{Channel: "console:local", To: []string{"all"}, Line: 59},
	}
	if diff := cmp.Diff(wantSubs, cfg.Subscriptions); diff != "" {
		t.Errorf("subscriptions (-want +got):\n%s", diff)
	}

	// The factory saw the config's defaults.
	if len(gotDeps) != 1 {
		t.Fatalf("countdown factory called %d times, want 1", len(gotDeps))
	}
	if diff := cmp.Diff(cfg.Defaults(), gotDeps[0].Defaults, cmp.Comparer(func(a, b *time.Location) bool { return a.String() == b.String() })); diff != "" {
		t.Errorf("deps defaults (-want +got):\n%s", diff)
	}
	if gotDeps[0].Events != nil || gotDeps[0].Fetcher != nil {
		t.Errorf("factory got Events or Fetcher; the loader has none to give")
	}

	// The resolved events apply as DESIGN §4 says.
	st, err := cfg.Events[1].Event.StateAt(time.Date(2025, 7, 4, 0, 0, 0, 0, tokyo), tokyo)
	if err != nil {
		t.Fatal(err)
	}
	if st.Due.Raw != "2025-07-20" || st.Status != watchers.Scheduled || st.Note != "confirmed" {
		t.Errorf("election on 4 July: %+v", st)
	}
}

func TestConfigDefaults(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "events:\nwatchers: ~\n", "timezone:\nlead_times:\n"} {
		cfg := mustParse(t, src)
		want := watchers.Defaults{
			Location:  time.UTC,
			AlertTime: 9 * time.Hour,
			LeadTimes: []watchers.Lead{{N: 30, Unit: 'd'}, {N: 7, Unit: 'd'}, {N: 1, Unit: 'd'}, {N: 0, Unit: 'd'}},
			CatchUp:   7 * 24 * time.Hour,
		}
		if diff := cmp.Diff(want, cfg.Defaults(), cmp.Comparer(func(a, b *time.Location) bool { return a == b })); diff != "" {
			t.Errorf("%q: defaults (-want +got):\n%s", src, diff)
		}
		if cfg.Timezone != "UTC" || len(cfg.Events)+len(cfg.Watchers)+len(cfg.Subscriptions)+len(cfg.Admins) != 0 {
			t.Errorf("%q: got %+v", src, cfg)
		}
	}
	// Defaults hands out a copy: a watcher changing it cannot change the config.
	cfg := mustParse(t, "")
	d := cfg.Defaults()
	d.LeadTimes[0].N = 99
	if cfg.LeadTimes[0].N != 30 {
		t.Errorf("Defaults shares LeadTimes with the config")
	}
}

func TestConfigEventDefaults(t *testing.T) {
	cfg := mustParse(t, lines(
		"events:",
		"  - id: a",
		"    title: A",
		"    due: jfy2027",
		"  - id: b",
		"    title: B",
		"    due: 2026-01-01",
		"    lead_times: []",
	))
	a, b := cfg.Events[0].Event, cfg.Events[1].Event
	if a.Due != "JFY2027" || a.Status != "" || a.LeadTimes != nil || a.Zone != "" {
		t.Errorf("a: %+v; want due normalised, status, lead times and zone left to the defaults", a)
	}
	if b.LeadTimes == nil || len(b.LeadTimes) != 0 {
		t.Errorf("b: lead_times [] gave %#v, want an empty list (no reminders)", b.LeadTimes)
	}
	if cfg.Events[0].Hash() == cfg.Events[1].Hash() {
		t.Errorf("two different events share a hash")
	}
}

func TestConfigHashes(t *testing.T) {
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join("testdata", "config", name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	hashes := func(src []byte) map[string]string {
		t.Helper()
		cfg, err := ParseConfig("valid.yaml", src, testFactories())
		if err != nil {
			t.Fatalf("ParseConfig: %v", err)
		}
		out := map[string]string{}
		for _, e := range cfg.Events {
			out["event:"+e.Event.ID] = e.Hash()
		}
		for _, w := range cfg.Watchers {
			out["watcher:"+w.Spec.ID] = w.Hash
		}
		return out
	}
	src := read("valid.yaml")
	base := hashes(src)
	if len(base) != 5 {
		t.Fatalf("got %d hashes, want 5", len(base))
	}
	if diff := cmp.Diff(base, hashes(src)); diff != "" {
		t.Errorf("hashes differ between two parses (-first +second):\n%s", diff)
	}

	edit := func(old, new string) []byte {
		if !strings.Contains(string(src), old) {
			t.Fatalf("valid.yaml has no %q", old)
		}
		return []byte(strings.Replace(string(src), old, new, 1))
	}
	tests := []struct {
		name    string
		src     []byte
		changed []string // entries whose hash must change; all others must not
	}{
		{"comments and layout only", edit("    tags: [japan, budget]\n", "    tags:         # reformatted\n      - japan\n      - budget\n"), nil},
		{"event title", edit("title: Budget passes", "title: Budget passes the Diet"), []string{"event:budget"}},
		{"change note", edit("note: confirmed", "note: confirmed by the cabinet"), []string{"event:election"}},
		{"change time", edit("at: 2025-07-21T00:00Z", "at: 2025-07-21T01:00Z"), []string{"event:election"}},
		{"event zone", edit("timezone: America/New_York", "timezone: America/Chicago"), []string{"event:inauguration"}},
		{"watcher schedule", edit(`schedule: "@every 1m"`, `schedule: "@every 2m"`), []string{"watcher:deadlines"}},
		{"watcher fetch option", edit("timeout: 10s", "timeout: 20s"), []string{"watcher:news"}},
		// A date-only change means alert_time that day, so every such
		// change moves, and its event must be re-seeded.
		{"alert_time", edit(`alert_time: "08:30"`, `alert_time: "09:00"`), []string{"event:budget", "event:inauguration"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hashes(tt.src)
			for k, h := range base {
				changed := got[k] != h
				want := false
				for _, c := range tt.changed {
					want = want || c == k
				}
				if changed != want {
					t.Errorf("%s: hash changed = %v, want %v", k, changed, want)
				}
			}
		})
	}
}

func TestNormalizeTarget(t *testing.T) {
	good := map[string]string{
		"all":                    "all",
		" all ":                  "all",
		"#budget":                "tag:budget",
		"tag:budget":             "tag:budget",
		"tag:us_japan":           "tag:us_japan",
		"watcher:deadlines":      "watcher:deadlines",
		"event:jp-fy2025-budget": "event:jp-fy2025-budget",
		"ALL":                    "all",
		"Tag:budget":             "tag:budget",
		"Watcher:deadlines":      "watcher:deadlines",
	}
	for in, want := range good {
		got, err := NormalizeTarget(in)
		if err != nil || got != want {
			t.Errorf("NormalizeTarget(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "#", "tag:", "#Budget", "tag:Budget", "everything", "alle", "channel:x", "watcher:Bad_Id", "event:", "event:a b", "tag:a:b"} {
		if got, err := NormalizeTarget(in); err == nil {
			t.Errorf("NormalizeTarget(%q) = %q, want an error", in, got)
		} else if !strings.Contains(err.Error(), "bad target") {
			t.Errorf("NormalizeTarget(%q): error %q does not say bad target", in, err)
		}
	}
}

// TestConfigOddYAML feeds shapes a hand-written file can take; none may
// panic, and each is either accepted or reported with a line.
func TestConfigOddYAML(t *testing.T) {
	tests := []struct {
		name string
		src  string
		ok   bool
	}{
		{"anchor and alias", lines("x-tags: &t [japan]", "events:", "  - id: a", "    title: A", "    due: 2025", "    tags: *t"), false}, // x-tags is unknown
		{"alias for a value", lines("events:", "  - id: a", "    title: &t A", "    due: 2025", "  - id: b", "    title: *t", "    due: 2026"), true},
		{"flow style", lines("events: [{id: a, title: A, due: 2025-Q3}]"), true},
		{"sections null", lines("events: ~", "watchers:", "subscriptions: null", "admins:"), true},
		{"list in scalar", lines("timezone: [UTC]"), false},
		{"mapping as title", lines("events:", "  - id: a", "    title: {x: 1}", "    due: 2025"), false},
		{"numeric id", lines("events:", "  - id: 2025", "    title: A", "    due: 2025"), true},
		{"null list item", lines("admins: [console:local, ~]"), false},
		{"tabs", "events:\n\t- id: a\n", false},
		{"binary", "\x00\x01\x02", false},
		{"fetch null", lines("watchers:", "  - id: a", "    kind: countdown", "    schedule: \"@hourly\"", "    fetch:"), true},
		{"fetch scalar", lines("watchers:", "  - id: a", "    kind: countdown", "    schedule: \"@hourly\"", "    fetch: yes"), false},
		{"to as scalar", lines("subscriptions:", "  - channel: console:local", "    to: \"#japan\""), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig("test.yaml", []byte(tt.src), testFactories())
			if tt.ok {
				if err != nil {
					t.Errorf("got %v, want no error", err)
				}
				return
			}
			var errs ConfigErrors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("got %v, want ConfigErrors", err)
			}
			for _, e := range errs {
				if e.Line == 0 && !strings.Contains(e.Msg, "yaml syntax") {
					t.Errorf("error without a line: %v", e)
				}
			}
		})
	}
}

func TestLoadConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadConfig(filepath.Join(dir, "missing.yaml"), testFactories()); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want a not-exist error", err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte(strings.Repeat("#", MaxConfigSize+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(big, testFactories())
	var errs ConfigErrors
	if !errors.As(err, &errs) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big file: got %v, want a size error", err)
	}
}

// TestExampleConfig loads the embedded example users see first.
func TestExampleConfig(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join("..", "cmd", "alertbot", "example.yaml"), testFactories())
	if err != nil {
		t.Fatalf("example.yaml: %v", err)
	}
	if cfg.Timezone != "Asia/Tokyo" || cfg.AlertTime != 9*time.Hour || cfg.CatchUp != 7*24*time.Hour {
		t.Errorf("settings: %q %v %v", cfg.Timezone, cfg.AlertTime, cfg.CatchUp)
	}
	if diff := cmp.Diff([]string{"console:local"}, cfg.Admins); diff != "" {
		t.Errorf("admins (-want +got):\n%s", diff)
	}
	if len(cfg.Watchers) != 1 || cfg.Watchers[0].Spec.Kind != "countdown" || cfg.Watchers[0].Spec.ID != "deadlines" || cfg.Watchers[0].Spec.Schedule != "@every 1m" {
		t.Errorf("watchers: %+v", cfg.Watchers)
	}
	if diff := cmp.Diff([]ConfigSubscription{{Channel: "console:local", To: []string{"all", "proposals"}, Line: cfg.Subscriptions[0].Line}}, cfg.Subscriptions); diff != "" {
		t.Errorf("subscriptions (-want +got):\n%s", diff)
	}
	ids := []string{
		"jp-fy2025-budget", "ishiba-trump-summit", "upper-house-election-2025", "trump-inauguration",
		"jp-fy2027-budget", "jp-defense-buildup-plan", "jp-defense-2pct-gdp", "upper-house-election-2028",
		"us-fy2028-appropriations", "us-presidential-election-2028",
	}
	byID := map[string]watchers.Event{}
	var gotIDs []string
	for _, e := range cfg.Events {
		byID[e.Event.ID] = e.Event
		gotIDs = append(gotIDs, e.Event.ID)
		if e.Event.Source == "" || len(e.Event.Tags) == 0 {
			t.Errorf("%s: no source or no tags", e.Event.ID)
		}
		// Every event names itself for date proposals (DESIGN §10), in
		// Japanese or English, and the names compile.
		if len(e.Event.Match) == 0 {
			t.Errorf("%s: no match words", e.Event.ID)
		} else if _, err := watchers.CompileMatch(e.Event.Match); err != nil {
			t.Errorf("%s: match: %v", e.Event.ID, err)
		}
	}
	if diff := cmp.Diff(ids, gotIDs); diff != "" {
		t.Errorf("event ids (-want +got):\n%s", diff)
	}

	tokyo := cfg.Location
	newYork, _ := time.LoadLocation("America/New_York")
	// Where each event stands long after the seed season, and on the
	// example's "today" (2026-11-25).
	tests := []struct {
		id     string
		at     time.Time
		due    string
		status watchers.Status
	}{
		{"jp-fy2025-budget", time.Date(2025, 3, 31, 8, 59, 0, 0, tokyo), "2025-03-31", watchers.Scheduled},
		{"jp-fy2025-budget", time.Date(2025, 3, 31, 9, 0, 0, 0, tokyo), "2025-03-31", watchers.Happened},
		{"ishiba-trump-summit", time.Date(2025, 1, 1, 0, 0, 0, 0, tokyo), "2025-02", watchers.Tentative},
		{"ishiba-trump-summit", time.Date(2025, 2, 7, 9, 0, 0, 0, tokyo), "2025-02-07", watchers.Happened},
		{"upper-house-election-2025", time.Date(2025, 7, 3, 9, 0, 0, 0, tokyo), "2025-07-20", watchers.Scheduled},
		{"upper-house-election-2025", time.Date(2025, 7, 20, 9, 0, 0, 0, tokyo), "2025-07-20", watchers.Happened},
		{"trump-inauguration", time.Date(2025, 1, 20, 11, 59, 0, 0, newYork), "2025-01-20T12:00-05:00", watchers.Scheduled},
		{"trump-inauguration", time.Date(2025, 1, 20, 12, 0, 0, 0, newYork), "2025-01-20T12:00-05:00", watchers.Happened},
		{"jp-fy2027-budget", time.Date(2026, 11, 25, 0, 0, 0, 0, tokyo), "2027-03-31", watchers.Scheduled},
		{"jp-defense-buildup-plan", time.Date(2026, 11, 25, 0, 0, 0, 0, tokyo), "JFY2027", watchers.Tentative},
		{"jp-defense-2pct-gdp", time.Date(2026, 11, 25, 0, 0, 0, 0, tokyo), "2027", watchers.Tentative},
		{"upper-house-election-2028", time.Date(2026, 11, 25, 0, 0, 0, 0, tokyo), "2028-07", watchers.Tentative},
		{"us-fy2028-appropriations", time.Date(2026, 11, 25, 0, 0, 0, 0, tokyo), "2027-09-30", watchers.Scheduled},
		{"us-presidential-election-2028", time.Date(2026, 11, 25, 0, 0, 0, 0, tokyo), "2028-11-07", watchers.Scheduled},
	}
	for _, tt := range tests {
		ev, ok := byID[tt.id]
		if !ok {
			continue // reported above
		}
		loc, err := ev.Location(tokyo)
		if err != nil {
			t.Fatal(err)
		}
		st, err := ev.StateAt(tt.at, loc)
		if err != nil {
			t.Errorf("%s: %v", tt.id, err)
			continue
		}
		if st.Due.Raw != tt.due || st.Status != tt.status {
			t.Errorf("%s at %v: due %s status %s; want %s %s", tt.id, tt.at, st.Due.Raw, st.Status, tt.due, tt.status)
		}
	}
	if d := byID["upper-house-election-2028"].LeadTimes; len(d) != 6 || d[0] != (watchers.Lead{N: 180, Unit: 'd'}) {
		t.Errorf("upper-house-election-2028 lead times %v", d)
	}
	if z := byID["us-presidential-election-2028"].Zone; z != "America/New_York" {
		t.Errorf("us-presidential-election-2028 zone %q", z)
	}
}

// FuzzParseConfig checks that no input makes the loader panic, and that
// every failure is a list of errors with a line or a syntax error.
func FuzzParseConfig(f *testing.F) {
	for _, name := range []string{"testdata/config/valid.yaml", "testdata/config/mistakes.yaml", "../cmd/alertbot/example.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("events: [{id: a, title: A, due: 2025, changes: [{at: 2025-01-01, note: x}]}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig("fuzz.yaml", data, testFactories())
		if err == nil {
			if cfg == nil || cfg.Location == nil {
				t.Fatalf("no error and no config")
			}
			return
		}
		var errs ConfigErrors
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("error %T %v, want ConfigErrors", err, err)
		}
	})
}

// BenchmarkParseConfig measures loading the example config and a large
// generated one (a reload must stay cheap with many events).
func BenchmarkParseConfig(b *testing.B) {
	example, err := os.ReadFile(filepath.Join("..", "cmd", "alertbot", "example.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	var big strings.Builder
	big.WriteString("timezone: Asia/Tokyo\nevents:\n")
	for i := range 5000 {
		fmt.Fprintf(&big, "  - id: event-%d\n    title: Event %d\n    due: 2027-%02d\n    tags: [japan, budget]\n    changes:\n      - at: 2027-01-01\n        due: 2027-%02d-15\n", i, i, i%12+1, i%12+1)
	}
	for _, bc := range []struct {
		name string
		data []byte
	}{{"example", example}, {"events=5000", []byte(big.String())}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.data)))
			for b.Loop() {
				if _, err := ParseConfig("bench.yaml", bc.data, testFactories()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestConfigLimits: `limits:` sets the platforms' rates, "off" turns one
// off, and a bad rate is an error at its line.
func TestConfigLimits(t *testing.T) {
	cfg, err := ParseConfig("t.yaml", []byte("limits:\n  slack_per_channel: 30/m\n  discord_global: off\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Limits.SlackPerChannel != 0.5 || cfg.Limits.DiscordGlobal != NoLimit {
		t.Errorf("limits = %+v, want 0.5/s and off", cfg.Limits)
	}
	if cfg, err := ParseConfig("t.yaml", nil, nil); err != nil || cfg.Limits != (Limits{}) {
		t.Errorf("no limits: %+v, %v; want the platforms' defaults (zero)", cfg.Limits, err)
	}
	for _, tt := range []struct{ yaml, want string }{
		{"limits:\n  slack_per_channel: fast\n", "t.yaml:2: limits.slack_per_channel: bad rate \"fast\""},
		{"limits:\n  slack_per_channel: 2/d\n", "the unit is s, m or h"},
		{"limits:\n  discord_global: -5/s\n", "bad rate"},
		{"limits:\n  teams: 1/s\n", `unknown field "teams" in limits`},
	} {
		_, err := ParseConfig("t.yaml", []byte(tt.yaml), nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.yaml, err, tt.want)
		}
	}
}
