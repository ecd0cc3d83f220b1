package page

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/andybalholm/cascadia"
)

func FuzzPageExtract(f *testing.F) {
	f.Add([]byte(page(tentative)))
	f.Add([]byte(`<div id="schedule"><div id="schedule">nested</div></div>`))
	f.Add([]byte(`<table id="schedule"><tr><td>a<td>b</table>`))
	f.Add([]byte("<meta charset=shift_jis><p id=schedule>\x93\xfa\x96\x7b</p>"))
	f.Add([]byte("\xff\xfe<\x00p\x00 \x00i\x00d\x00=\x00s\x00c\x00h\x00e\x00d\x00u\x00l\x00e\x00>\x00x\x00"))
	f.Add([]byte(`<p id="schedule">views: 12<br>` + strings.Repeat("<b>", 50) + "deep</p>"))
	f.Add([]byte(""))
	sel := cascadia.MustCompile("#schedule, .updated")
	ignore := []*regexp.Regexp{regexp.MustCompile(`views: \d+`)}
	f.Fuzz(func(t *testing.T, body []byte) {
		text, title, err := extract(body, "text/html", sel, ignore)
		if err != nil {
			return
		}
		if !utf8.ValidString(text) || !utf8.ValidString(title) || strings.Contains(title, "\n") {
			t.Fatalf("bad text %q or title %q", text, title)
		}
		for _, line := range strings.Split(text, "\n") {
			if text != "" && (line == "" || line != strings.Join(strings.Fields(line), " ")) {
				t.Fatalf("line not normalised: %q", line)
			}
		}
		if again := normalise(text, ignore); again != text && !ignoreMatchesAcrossJoin(text, ignore) {
			t.Fatalf("normalise not idempotent: %q -> %q", text, again)
		}
		// A diff against the empty page lists every line as added.
		diff, added, removed := lineDiff("", text)
		if removed != 0 || (text != "" && added != strings.Count(text, "\n")+1) || !utf8.ValidString(diff) {
			t.Fatalf("diff from empty: +%d -%d %q", added, removed, diff)
		}
	})
}

// ignoreMatchesAcrossJoin reports whether removing ignore matches from
// text can produce new matches (e.g. "views: 1views: 22"), in which case
// normalising again may legitimately remove more.
func ignoreMatchesAcrossJoin(text string, ignore []*regexp.Regexp) bool {
	for _, re := range ignore {
		if re.MatchString(text) {
			return true
		}
	}
	return false
}
