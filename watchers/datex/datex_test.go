package datex

import (
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/policyteam/alertbot/watchers"
)

var (
	tokyoLoc = mustZone("Asia/Tokyo")
	nyLoc    = mustZone("America/New_York")
)

// brief is what a test compares of a Match.
type brief struct {
	Text, Due, Precision, Context string
	Offset                        int
}

func briefs(ms []Match) []brief {
	var out []brief
	for _, m := range ms {
		out = append(out, brief{Text: m.Text, Due: m.Due.Raw, Precision: PrecisionName(m.Due.Precision), Context: m.Context, Offset: m.Offset})
	}
	return out
}

func TestExtractFields(t *testing.T) {
	text := "【お知らせ】\n参議院議員通常選挙は、7月3日（木）公示、7月20日（日）投開票です。\nThe Upper House election is on July 20.  Polls close at 8 p.m."
	got := briefs(Extract(text, Options{Ref: corpusRef}))
	want := []brief{
		{Text: "7月3日", Due: "2025-07-03", Precision: "day", Offset: strings.Index(text, "7月3日"), Context: "参議院議員通常選挙は、7月3日（木）公示、7月20日（日）投開票です。"},
		{Text: "7月20日", Due: "2025-07-20", Precision: "day", Offset: strings.Index(text, "7月20日"), Context: "参議院議員通常選挙は、7月3日（木）公示、7月20日（日）投開票です。"},
		{Text: "July 20", Due: "2025-07-20", Precision: "day", Offset: strings.Index(text, "July 20"), Context: "The Upper House election is on July 20."},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Extract (-want +got):\n%s", diff)
	}
}

// TestForms holds each form of DESIGN §10 and issue 12 to its due.
func TestForms(t *testing.T) {
	for _, tc := range []struct{ text, match, due, precision string }{
		{"2025-07-20", "2025-07-20", "2025-07-20", "day"},
		{"2025/7/20", "2025/7/20", "2025-07-20", "day"},
		{"7/20/2025", "7/20/2025", "2025-07-20", "day"},
		{"20/7/2025", "20/7/2025", "2025-07-20", "day"},
		{"2025年7月20日", "2025年7月20日", "2025-07-20", "day"},
		{"令和7年7月20日", "令和7年7月20日", "2025-07-20", "day"},
		{"平成31年4月30日", "平成31年4月30日", "2019-04-30", "day"},
		{"令和元年5月1日", "令和元年5月1日", "2019-05-01", "day"},
		{"令和七年七月二十日", "令和七年七月二十日", "2025-07-20", "day"},
		{"令和七年十二月三十一日", "令和七年十二月三十一日", "2025-12-31", "day"},
		{"令和七年十月十日", "令和七年十月十日", "2025-10-10", "day"},
		{"２０２５年７月２０日", "２０２５年７月２０日", "2025-07-20", "day"},
		{"R7.7.20", "R7.7.20", "2025-07-20", "day"},
		{"令和7年度", "令和7年度", "JFY2025", "fiscal_year"},
		{"2025年度", "2025年度", "JFY2025", "fiscal_year"},
		{"7月20日", "7月20日", "2025-07-20", "day"},
		{"July 20", "July 20", "2025-07-20", "day"},
		{"7月20日午後2時", "7月20日午後2時", "2025-07-20T14:00+09:00", "instant"},
		{"7月20日14時30分", "7月20日14時30分", "2025-07-20T14:30+09:00", "instant"},
		{"July 20, 2025, 2:00 p.m. ET", "July 20, 2025, 2:00 p.m. ET", "2025-07-20T14:00-04:00", "instant"},
		{"January 20, 2025, 2:00 p.m. ET", "January 20, 2025, 2:00 p.m. ET", "2025-01-20T14:00-05:00", "instant"},
		{"2025-07-20 10:30 JST", "2025-07-20 10:30 JST", "2025-07-20T10:30+09:00", "instant"},
		{"2025-07-20T10:30", "2025-07-20T10:30", "2025-07-20T10:30+09:00", "instant"},
		{"2025-07-20T01:30:15Z", "2025-07-20T01:30:15Z", "2025-07-20T01:30:15Z", "instant"},
		{"July 20, 2025", "July 20, 2025", "2025-07-20", "day"},
		{"20 July 2025", "20 July 2025", "2025-07-20", "day"},
		{"Jul. 20", "Jul. 20", "2025-07-20", "day"},
		{"July 2025", "July 2025", "2025-07", "month"},
		{"2025-07", "2025-07", "2025-07", "month"},
		{"2025年7月", "2025年7月", "2025-07", "month"},
		{"fiscal year 2026", "fiscal year 2026", "USFY2026", "fiscal_year"},
		{"FY2026", "FY2026", "USFY2026", "fiscal_year"},
		{"Q3 2026", "Q3 2026", "2026-Q3", "quarter"},
		{"2026-Q3", "2026-Q3", "2026-Q3", "quarter"},
		{"2026年第3四半期", "2026年第3四半期", "2026-Q3", "quarter"},
		{"the first half of 2026", "the first half of 2026", "2026-H1", "half"},
		{"2026-H2", "2026-H2", "2026-H2", "half"},
		{"early July 2025", "early July 2025", "2025-07", "month"},
		{"mid-July 2025", "mid-July 2025", "2025-07", "month"},
		{"late July 2025", "late July 2025", "2025-07", "month"},
		{"7月下旬", "7月下旬", "2025-07", "month"},
		{"7月末", "7月末", "2025-07-31", "day"},
		{"2月末", "2月末", "2026-02-28", "day"},
		{"2025年", "2025年", "2025", "year"},
		{"by 2027", "2027", "2027", "year"},
		{"JFY2025", "JFY2025", "JFY2025", "fiscal_year"},
		{"USFY2025", "USFY2025", "USFY2025", "fiscal_year"},
	} {
		t.Run(tc.text, func(t *testing.T) {
			ref := time.Date(2025, 6, 1, 0, 0, 0, 0, tokyoLoc)
			if tc.text == "2月末" {
				ref = time.Date(2025, 11, 1, 0, 0, 0, 0, tokyoLoc)
			}
			ms := Extract(tc.text, Options{Ref: ref})
			if len(ms) != 1 {
				t.Fatalf("got %d matches %v, want 1", len(ms), briefs(ms))
			}
			m := ms[0]
			if m.Text != tc.match || m.Due.Raw != tc.due || PrecisionName(m.Due.Precision) != tc.precision {
				t.Errorf("got %q => %s (%s), want %q => %s (%s)", m.Text, m.Due.Raw, PrecisionName(m.Due.Precision), tc.match, tc.due, tc.precision)
			}
		})
	}
}

// TestParts: early/mid/late and 上旬/中旬/下旬 are month dues narrowed by
// From and Until to days 1–10, 11–20 and 21–end.
func TestParts(t *testing.T) {
	day := func(m time.Month, d int) time.Time { return time.Date(2025, m, d, 0, 0, 0, 0, tokyoLoc) }
	for _, tc := range []struct {
		text        string
		from, until time.Time
	}{
		{"early July 2025", day(7, 1), day(7, 11)},
		{"mid-July 2025", day(7, 11), day(7, 21)},
		{"late July 2025", day(7, 21), day(8, 1)},
		{"2025年2月上旬", day(2, 1), day(2, 11)},
		{"2025年2月中旬", day(2, 11), day(2, 21)},
		{"2025年2月下旬", day(2, 21), day(3, 1)},
		{"July 2025", day(7, 1), day(8, 1)},
	} {
		ms := Extract(tc.text, Options{Ref: corpusRef})
		if len(ms) != 1 {
			t.Fatalf("%s: got %v", tc.text, briefs(ms))
		}
		if m := ms[0]; !m.From.Equal(tc.from) || !m.Until.Equal(tc.until) || m.Due.Precision != watchers.Month {
			t.Errorf("%s: %s [%v, %v), want month [%v, %v)", tc.text, m.Due.Raw, m.From, m.Until, tc.from, tc.until)
		}
	}
}

// TestNearestYear: a month and day without a year take the year nearest
// to Ref, across a year's end both ways.
func TestNearestYear(t *testing.T) {
	for _, tc := range []struct {
		ref        time.Time
		text, want string
	}{
		{time.Date(2025, 12, 20, 0, 0, 0, 0, tokyoLoc), "1月5日", "2026-01-05"},
		{time.Date(2025, 1, 10, 0, 0, 0, 0, tokyoLoc), "12月25日", "2024-12-25"},
		{time.Date(2025, 1, 10, 0, 0, 0, 0, tokyoLoc), "December 25", "2024-12-25"},
		{time.Date(2025, 6, 1, 0, 0, 0, 0, tokyoLoc), "2月29日", "2024-02-29"},
		{time.Date(2027, 6, 1, 0, 0, 0, 0, tokyoLoc), "2月29日", "2028-02-29"},
		{time.Date(2025, 12, 30, 0, 0, 0, 0, tokyoLoc), "首相は2日、", "2026-01-02"},
		{time.Date(2025, 12, 30, 0, 0, 0, 0, tokyoLoc), "12月28日公示、1月4日投開票", "2025-12-28 2026-01-04"},
		// The reference instant counts in Location: 15:30 UTC on 31
		// December is already 1 January in Tokyo.
		{time.Date(2025, 12, 31, 15, 30, 0, 0, time.UTC), "今年", "2026"},
	} {
		var got []string
		for _, m := range Extract(tc.text, Options{Ref: tc.ref}) {
			got = append(got, m.Due.Raw)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s with ref %s: got %v, want %s", tc.text, tc.ref.Format(time.DateOnly), got, tc.want)
		}
	}
}

// TestNoRef: without a reference date, dates without a year are left out
// and written ones are kept.
func TestNoRef(t *testing.T) {
	got := briefs(Extract("7月3日公示、2025年7月20日投開票。来年度予算。", Options{}))
	if len(got) != 1 || got[0].Due != "2025-07-20" {
		t.Errorf("got %v, want only 2025-07-20", got)
	}
}

// TestLocation: times without a zone are in Options.Location, except
// Japanese ones, which are Japan time; windows are in Location.
func TestLocation(t *testing.T) {
	ms := Extract("The vote is July 20, 2025 at 2 p.m. 投票は7月20日午後2時まで。", Options{Ref: corpusRef, Location: nyLoc})
	var got []string
	for _, m := range ms {
		got = append(got, m.Due.Raw)
	}
	if want := []string{"2025-07-20T14:00-04:00", "2025-07-20T14:00+09:00"}; !cmp.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	day := Extract("2025年7月20日", Options{Location: nyLoc})[0]
	if want := time.Date(2025, 7, 20, 0, 0, 0, 0, nyLoc); !day.Due.Start.Equal(want) {
		t.Errorf("window starts %v, want %v", day.Due.Start, want)
	}
}

// TestContext: each match carries its own sentence; a sentence without an
// end is cut to a bounded window marked with "…".
func TestContext(t *testing.T) {
	text := "First sentence, no date. The U.S. delegation arrives Jul. 20 at 10 a.m. ET. Talks follow on July 21! 次は8月1日。「7月20日に行う。」と述べた。"
	var got []string
	for _, m := range Extract(text, Options{Ref: corpusRef}) {
		got = append(got, m.Context)
	}
	want := []string{
		"The U.S. delegation arrives Jul. 20 at 10 a.m. ET.",
		"Talks follow on July 21!",
		"次は8月1日。",
		"「7月20日に行う。」と述べた。",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("contexts (-want +got):\n%s", diff)
	}

	long := strings.Repeat("あ", 1000) + "7月20日" + strings.Repeat("い", 1000)
	ms := Extract(long, Options{Ref: corpusRef})
	if len(ms) != 1 {
		t.Fatalf("got %v", briefs(ms))
	}
	c := ms[0].Context
	// An absolute bound, not one in ctxMax: the bound is what keeps a text
	// full of dates in one endless sentence linear.
	if !strings.HasPrefix(c, "…") || !strings.HasSuffix(c, "…") || !strings.Contains(c, "7月20日") || len(c) > 1000 || !utf8.ValidString(c) {
		t.Errorf("long context %d bytes: %.60q…", len(c), c)
	}
	wrapped := "The election will be held on\nJuly 20, 2025, the ministry\nsaid."
	if c := Extract(wrapped, Options{})[0].Context; c != "The election will be held on July 20, 2025, the ministry said." {
		t.Errorf("wrapped context = %q", c)
	}
}

// TestHostile: input over MaxInput is cut, matches stop at MaxMatches, and
// neither the scanning per byte nor the memory per match grows with the
// input.
func TestHostile(t *testing.T) {
	big := strings.Repeat("x", MaxInput-3) + "é7月20日" // the cut falls inside é
	if ms := Extract(big, Options{Ref: corpusRef}); len(ms) != 0 {
		t.Errorf("date past MaxInput found: %v", briefs(ms)[0])
	}
	many := strings.Repeat("7月、", MaxMatches+50)
	if ms := Extract(many, Options{Ref: corpusRef}); len(ms) != MaxMatches {
		t.Errorf("got %d matches, want MaxMatches %d", len(ms), MaxMatches)
	}

	// Text full of dates: the bytes allocated per match stay the same from
	// 4 KiB to 36 KiB (under MaxMatches). Counted, not timed, so that it
	// holds on a busy machine; the time the collector then spends on the
	// matches kept grows with them, up to MaxMatches.
	for _, unit := range []string{"7月", "1日、", "July 20, ", "2025年（", "令和7年7月20日午後2時、", "mid-July 2025 "} {
		perMatch := func(n int) float64 {
			s := strings.Repeat(unit, n/len(unit))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			ms := Extract(s, Options{Ref: corpusRef})
			runtime.ReadMemStats(&after)
			if len(ms) < n/len(unit)/2 {
				t.Fatalf("%q: %d matches in %d bytes", unit, len(ms), len(s))
			}
			return float64(after.TotalAlloc-before.TotalAlloc) / float64(len(ms))
		}
		if small, large := perMatch(4<<10), perMatch(36<<10); large > 2*small {
			t.Errorf("%q repeated: %.0f bytes per match at 36 KiB, %.0f at 4 KiB", unit, large, small)
		}
	}

	// The time per byte on text that looks like dates and is none is a
	// benchmark (BenchmarkNearMisses), not a timed test.
}

func TestPrecisionName(t *testing.T) {
	var got []string
	for p := watchers.Instant; p <= watchers.FiscalYear; p++ {
		got = append(got, PrecisionName(p))
	}
	if want := []string{"instant", "day", "month", "quarter", "half", "year", "fiscal_year"}; !cmp.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
