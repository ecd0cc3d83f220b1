package watchers

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Truncate cuts s to at most max runes on a rune boundary, ending with an
// ellipsis ("…", counted in max) when it cut, and reports whether it cut.
// It is the one rule for shortening text to a limit: source watchers use it
// for titles and summaries, platform adapters for their message limits.
func Truncate(s string, max int) (string, bool) {
	if max <= 0 {
		return "", s != ""
	}
	if utf8.RuneCountInString(s) <= max {
		return s, false
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return s[:i] + "…", true
		}
		n++
	}
	return s, false
}

// Plural writes a count with its noun, singular for one: "1 alert",
// "3 alerts", "2 entries". It knows the regular English plurals, which
// are all the nouns alertbot counts; watchers and the bot both use it.
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if stem, ok := strings.CutSuffix(noun, "y"); ok && stem != "" && !strings.ContainsAny(stem[len(stem)-1:], "aeiou") {
		return strconv.Itoa(n) + " " + stem + "ies"
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
