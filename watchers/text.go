package watchers

import "unicode/utf8"

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
