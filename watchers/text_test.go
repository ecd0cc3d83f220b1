package watchers

import (
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	for _, tt := range []struct {
		name    string
		s       string
		max     int
		want    string
		wantCut bool
	}{
		{"ascii short", "hello", 10, "hello", false},
		{"ascii at limit", "hello", 5, "hello", false},
		{"ascii one over", "hello!", 5, "hell…", true},
		{"ascii long", "Diet passes the budget", 10, "Diet pass…", true},
		{"japanese short", "予算成立", 10, "予算成立", false},
		{"japanese at limit", "日本の予算", 5, "日本の予算", false},
		{"japanese cut", "日本の予算案が成立", 5, "日本の予…", true},
		{"four-byte runes", "😀😀😀", 2, "😀…", true},
		{"ellipsis already there", "wait…", 5, "wait…", false},
		{"empty", "", 3, "", false},
		{"max 1 cuts to the ellipsis", "abc", 1, "…", true},
		{"max 1 keeps one rune", "日", 1, "日", false},
		{"max 0", "abc", 0, "", true},
		{"max 0 empty", "", 0, "", false},
		{"negative max", "abc", -1, "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, cut := Truncate(tt.s, tt.max)
			if got != tt.want || cut != tt.wantCut {
				t.Errorf("Truncate(%q, %d) = %q, %v; want %q, %v", tt.s, tt.max, got, cut, tt.want, tt.wantCut)
			}
			if !utf8.ValidString(got) {
				t.Errorf("result %q is not valid UTF-8", got)
			}
			if n := utf8.RuneCountInString(got); tt.max >= 0 && n > tt.max {
				t.Errorf("result has %d runes, more than max %d", n, tt.max)
			}
		})
	}
}
