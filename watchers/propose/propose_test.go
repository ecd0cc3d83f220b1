package propose

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

var tokyo = mustZone("Asia/Tokyo")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func event(t *testing.T, due string, names ...string) Event {
	t.Helper()
	d, err := watchers.ParseDue(due, tokyo)
	if err != nil {
		t.Fatal(err)
	}
	res, err := watchers.CompileMatch(names)
	if err != nil {
		t.Fatal(err)
	}
	return Event{ID: "upper-house-election-2025", Due: d, Names: res, Loc: tokyo}
}

func TestDecide(t *testing.T) {
	ref := time.Date(2025, 6, 20, 10, 0, 0, 0, tokyo)
	names := []string{"参院選", "参議院議員通常選挙", "Upper House election"}
	tests := []struct {
		name     string
		due      string
		names    []string
		text     string
		ref, now time.Time
		want     string // proposed due; "" for none
		sentence string // expected sentence, when set
	}{
		{name: "finer precision, Japanese", due: "2025-07", text: "政府は参院選を7月20日投開票とする日程を決めた。", want: "2025-07-20",
			sentence: "政府は参院選を7月20日投開票とする日程を決めた。"},
		{name: "short Japanese headline", due: "2025-07", text: "参院選は7月20日投開票", want: "2025-07-20"},
		{name: "different date, same precision", due: "2025-07-20", text: "The Upper House election will be held on July 27, 2025.", want: "2025-07-27"},
		{name: "same date proposes nothing", due: "2025-07-20", text: "参院選は7月20日投開票。", want: ""},
		{name: "same date written otherwise proposes nothing", due: "2025-07-20", text: "参院選は令和7年7月20日に行われる。", want: ""},
		{name: "past date proposes nothing", due: "2025-07", text: "前回の参院選は2022年7月10日に行われた。", want: ""},
		{name: "past relative to the reference", due: "2025-07", text: "Upper House election: voting on June 1, 2025.", want: ""},
		{name: "past relative to now, though not to an old reference", due: "2025-07", text: "参院選は7月20日投開票",
			ref: time.Date(2025, 6, 1, 0, 0, 0, 0, tokyo), now: time.Date(2025, 7, 25, 0, 0, 0, 0, tokyo), want: ""},
		{name: "coarser date proposes nothing", due: "2025-07-20", text: "The Upper House election is expected in July 2025.", want: ""},
		{name: "coarser year proposes nothing", due: "2025-07", text: "参院選は2025年に行われる。", want: ""},
		{name: "month narrows a quarter", due: "2025-Q3", text: "Japan's Upper House election is expected in July 2025.", want: "2025-07"},
		{name: "no name, no proposal", due: "2025-07", text: "衆院選は7月20日投開票", want: ""},
		{name: "name in another sentence does not count", due: "2025-07", text: "参院選の情勢を分析した。党大会は7月20日に開く。", want: ""},
		{name: "English word boundary", due: "2025-07", text: "Upper House elections worldwide: July 20, 2025 vote.", want: ""},
		{name: "case-insensitive words", due: "2025-07", text: "UPPER HOUSE ELECTION SET FOR JULY 20, 2025.", want: "2025-07-20"},
		{name: "regex names", due: "2025-07", names: []string{`/参(議)?院(議員通常)?選(挙)?/`},
			text: "第27回参議院議員通常選挙は7月20日に投開票される。", want: "2025-07-20"},
		{name: "case-insensitive regex", due: "2025-07", names: []string{`/upper[- ]house (poll|election)/i`},
			text: "The upper-house poll is set for July 20, 2025.", want: "2025-07-20"},
		{name: "voting day wins over the announcement", due: "2025-07", text: "参院選は7月3日公示、7月20日投開票の日程で行われる。", want: "2025-07-20"},
		{name: "English: held on wins over announced on", due: "2025-07",
			text: "The Upper House election will be announced on July 3 and held on July 20, 2025.", want: "2025-07-20"},
		{name: "only a side step proposes nothing", due: "2025-07", text: "参院選の公示日は7月3日公示となる見通し。", want: ""},
		{name: "time makes an instant finer than a day", due: "2025-07-20", text: "参院選は7月20日午後8時に投票が締め切られる予定。",
			want: "2025-07-20T20:00+09:00"},
		{name: "kanji era date", due: "2025-07", text: "参議院議員通常選挙は令和七年七月二十日に行われる。", want: "2025-07-20"},
		{name: "another year's election is another event", due: "2028-07", text: "参院選は2025年7月20日に投開票される。", want: ""},
		{name: "a postponement within the year is proposed", due: "2025-07-20", text: "The Upper House election will be held on October 5, 2025.",
			want: "2025-10-05"},
		{name: "date without year takes the reference's year", due: "2026-07", text: "参院選は7月20日投開票",
			ref: time.Date(2026, 5, 1, 0, 0, 0, 0, tokyo), want: "2026-07-20"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nm := names
			if tt.names != nil {
				nm = tt.names
			}
			ev := event(t, tt.due, nm...)
			r, now := ref, ref
			if !tt.ref.IsZero() {
				r = tt.ref
				now = tt.ref
			}
			if !tt.now.IsZero() {
				now = tt.now
			}
			p, ok := Decide(ev, Input{Text: tt.text, Ref: r, Now: now})
			got := ""
			if ok {
				got = p.Due.Raw
			}
			if got != tt.want {
				t.Fatalf("Decide(%q) = %q (%+v), want %q", tt.text, got, p, tt.want)
			}
			if tt.sentence != "" && p.Sentence != tt.sentence {
				t.Errorf("sentence = %q, want %q", p.Sentence, tt.sentence)
			}
			if ok && p.Written == "" {
				t.Error("the date as written is empty")
			}
		})
	}
}

func TestDecideNothingWithoutNames(t *testing.T) {
	ev := event(t, "2025-07")
	if p, ok := Decide(ev, Input{Text: "参院選は7月20日投開票", Ref: time.Date(2025, 6, 1, 0, 0, 0, 0, tokyo)}); ok {
		t.Fatalf("an event without names got a proposal: %+v", p)
	}
}

func TestIDAndKey(t *testing.T) {
	a, b := ID("upper-house-election-2025", "2025-07-20"), ID("upper-house-election-2025", "2025-07-27")
	if a == b || len(a) != 9 || a[0] != 'p' {
		t.Fatalf("ids %q and %q: want distinct p+8 hex", a, b)
	}
	if a != ID("upper-house-election-2025", "2025-07-20") {
		t.Fatal("ID is not deterministic")
	}
	if got, want := Key("e", "2025-07-20"), "proposals/e/date_proposal@2025-07-20"; got != want {
		t.Fatalf("Key = %q, want %q", got, want)
	}
}

// FuzzDecide: no text makes Decide panic, and what it proposes is always
// a due date ParseDue reads back.
func FuzzDecide(f *testing.F) {
	f.Add("参院選は7月3日公示、7月20日投開票の日程で行われる。")
	f.Add("Upper House election İİİ held on July 20, 2025 ～ July 3")
	ev := Event{ID: "e", Names: mustCompile("参院選", "Upper House election", "/İ+/i"), Loc: tokyo}
	ev.Due, _ = watchers.ParseDue("2025-07", tokyo)
	ref := time.Date(2025, 6, 1, 0, 0, 0, 0, tokyo)
	f.Fuzz(func(t *testing.T, text string) {
		p, ok := Decide(ev, Input{Text: text, Ref: ref, Now: ref})
		if !ok {
			return
		}
		if _, err := watchers.ParseDue(p.Due.Raw, tokyo); err != nil {
			t.Fatalf("proposed %q does not parse: %v", p.Due.Raw, err)
		}
	})
}

func mustCompile(names ...string) []*regexp.Regexp {
	res, err := watchers.CompileMatch(names)
	if err != nil {
		panic(err)
	}
	return res
}

// BenchmarkDecide: one feed item of a few sentences against one event.
func BenchmarkDecide(b *testing.B) {
	ev := Event{ID: "e", Names: mustCompile("参院選", "参議院議員通常選挙", "Upper House election"), Loc: tokyo}
	ev.Due, _ = watchers.ParseDue("2025-07", tokyo)
	text := strings.Repeat("政府は臨時閣議で今後の国会日程を確認した。", 5) + "参院選は7月3日公示、7月20日投開票の日程で行われる。" +
		"The Upper House election will be held on July 20, 2025, officials said."
	in := Input{Text: text, Ref: time.Date(2025, 6, 20, 0, 0, 0, 0, tokyo), Now: time.Date(2025, 6, 20, 0, 0, 0, 0, tokyo)}
	for b.Loop() {
		if _, ok := Decide(ev, in); !ok {
			b.Fatal("no proposal")
		}
	}
}
